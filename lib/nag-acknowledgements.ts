import { CfnElement, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { OUTPUT_TABLES } from '../core/contract';
import { CURATED_RUNS_PREFIX, curatedTablePrefix, EMR_LOGS_PREFIX, EXPORT_RUNS_PREFIX, SPARK_CODE_PREFIX } from '../core/contract/layout';
import type { ShopSightStack } from './shopsight-stack';

/**
 * Every cdk-nag (AwsSolutions) acknowledgement of the app, each with the reason a reviewer can check.
 * cdk-nag v3 acknowledges each finding by its exact id, so the ids of prefix-scoped grants are
 * built here from the same contract and layout that the grants use. The nag test fails on any
 * finding that is not acknowledged.
 */
export function acknowledgeNagFindings(stack: ShopSightStack): void {
  const ack = (id: string, reason: string): void =>
    Validations.of(stack).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });
  const arn = (c: IConstruct): string =>
    `<${stack.getLogicalId((c instanceof CfnElement ? c : c.node.defaultChild) as CfnElement)}.Arn>`;
  const { storage } = stack;

  // --- Wildcards that are prefix scopes of our own buckets ---------------------------------------
  const curated = arn(storage.curatedBucket);
  for (const table of OUTPUT_TABLES) {
    ack(
      `IAM5[Resource::${curated}/${curatedTablePrefix(table.name)}*]`,
      `Objects of the contract table "${table.name}" (one folder per run under it); the Spark jobs write them and the data-quality gate reads them through Athena.`,
    );
  }
  ack(`IAM5[Resource::${curated}/${CURATED_RUNS_PREFIX}*]`, 'Run summaries, one object per run id, written by the prepare job and read by the gate.');
  ack(`IAM5[Resource::${arn(storage.exportBucket)}/${EXPORT_RUNS_PREFIX}*]`, 'Serving CSV exports and manifests, one folder per run id.');
  ack(
    `IAM5[Resource::${arn(storage.exportBucket)}/*]`,
    "The Aurora S3 import role (created by the RDS construct for s3ImportBuckets) reads the export bucket: LOAD DATA FROM S3 runs with the cluster's role, and the bucket holds nothing but exports.",
  );
  ack(
    `IAM5[Resource::${arn(storage.rawBucket)}/*]`,
    'A run reads whatever raw folder its execution input names, so the Spark jobs and validate-input may read the whole raw bucket (read-only).',
  );
  ack(`IAM5[Resource::${arn(storage.artifactsBucket)}/${SPARK_CODE_PREFIX}*]`, 'The Spark jobs read their code (entry scripts, SQL, the --py-files archive).');
  ack(`IAM5[Resource::${arn(storage.artifactsBucket)}/${EMR_LOGS_PREFIX}*]`, 'EMR Serverless writes job logs here for the job role.');
  ack(
    `IAM5[Resource::${arn(storage.artifactsBucket)}/*]`,
    "CDK's BucketDeployment handler syncs the Spark code; its grant covers the destination bucket, which holds only code and logs.",
  );
  ack(`IAM5[Resource::${arn(storage.athenaResultsBucket)}/results/*]`, 'Athena writes query results for the data-quality gate under the workgroup\'s results/ prefix.');
  ack(
    'IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
    "BucketDeployment reads the Spark code asset from the CDK bootstrap assets bucket (the asset key is only known at deploy time).",
  );
  ack(
    `IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${stack.catalog.databaseName}/*]`,
    "Read-only access to this app's own Glue database's tables, all generated from the table contract.",
  );

  // --- Wildcards that are sub-resources created at run time ----------------------------------------
  ack(
    `IAM5[Resource::${arn(stack.processing.application)}/jobruns/*]`,
    'The state machine watches and cancels the job runs it starts (.sync); job run ids exist only at run time.',
  );
  ack(`IAM5[Resource::${arn(stack.processing.logGroup)}:*]`, 'Log streams of the Spark job log group are created per job run.');
  ack(
    `IAM5[Resource::${arn(stack.servingSchema.handler)}:*]`,
    "The custom-resources Provider framework invokes the serving-schema handler (CDK's invoke grant on the function ARN and ARN:*).",
  );
  for (const fn of Object.values(stack.functions)) {
    ack(`IAM5[Resource::${arn(fn)}:*]`, 'Step Functions invokes the function\'s versions and aliases (CDK LambdaInvoke grant on function ARN and ARN:*).');
  }

  // --- Action wildcards of CDK grant helpers, always on the resources above ------------------------
  for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']) {
    ack(`IAM5[Action::${action}]`, `${action} comes from CDK's bucket grant helpers, applied only to the bucket prefixes acknowledged above.`);
  }
  ack(
    'IAM5[Resource::*]',
    'Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords (tracing), CloudWatch Logs delivery APIs of Step Functions logging, logs:DescribeLogGroups for EMR Serverless, and the handlers CDK itself adds.',
  );

  // --- Runtime and CDK-managed helpers ------------------------------------------------------------
  ack('L1', 'Node.js 22 is the runtime the project targets (an active LTS); CDK-managed handlers (BucketDeployment) pick their own runtime.');
  ack(
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "Only CDK's own handlers (BucketDeployment, bucket notifications, log retention) use the basic execution role; the app's functions have their own roles scoped to their log groups.",
  );

  // --- Aurora --------------------------------------------------------------------------------------
  if (!stack.config.aurora.deletionProtection) {
    ack('RDS10', `Deletion protection is off in the ${stack.config.stage} stage so the stack can be torn down; prod turns it on (auroraDeletionProtection).`);
  }
  ack('RDS11', 'The default port is kept: the cluster has no ingress rule and is reached through the Data API, so a non-default port hides nothing.');
  ack('RDS14', 'Backtrack is not available for Aurora Serverless v2; point-in-time restore from backups covers recovery.');
  ack(
    'SMG4',
    'The admin, BI and loader secrets are used through the Data API and by BI clients; rotation would need a rotation Lambda inside the isolated VPC with a Secrets Manager interface endpoint (no NAT). The serving-schema custom resource re-applies the BI and loader passwords from their secrets on every deploy, so a new secret value takes effect by redeploying.',
  );
}
