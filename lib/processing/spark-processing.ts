import * as fs from 'fs';
import * as path from 'path';
import { Aws, DefaultStackSynthesizer, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as emrs from 'aws-cdk-lib/aws-emrserverless';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { EMR_LOGS_PREFIX, SPARK_CODE_PREFIX } from '../../core/contract/layout';
import { acknowledgeGrantedWildcard, acknowledgeWildcardResource } from '../nag-acknowledgements';
import { grantContractTables, grantObjects, grantRawRead, grantRunExports, grantRunSummaries } from '../storage/data-lake-storage';
import { ALL_SPARK_JOBS, PY_FILES_ARCHIVE, SparkJobDef } from '../../core/config/spark-jobs';
import { sharedWorkerShapes, WorkerSize } from '../../core/config/worker-sizing';

export interface SparkProcessingProps {
  readonly rawBucket: s3.IBucket;
  readonly curatedBucket: s3.IBucket;
  readonly exportBucket: s3.IBucket;
  readonly artifactsBucket: s3.IBucket;
  /** Glue database and table ARNs the jobs may read (the catalog's `catalogArns`). */
  readonly glueArns: { readonly catalog: string; readonly database: string; readonly tables: string };
  /** @default 'emr-7.12.0' */
  readonly releaseLabel?: string;
  /** @default 16 */
  readonly maxVcpu?: number;
  /** @default 64 */
  readonly maxMemoryGb?: number;
  /** @default 400 */
  readonly maxDiskGb?: number;
  /** @default 5 */
  readonly idleTimeoutMinutes?: number;
  /** Warm executors (plus one warm driver) kept while the application is started; 0 = none. @default 0 */
  readonly preInitializedExecutors?: number;
  /** @default RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (logs only) */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Folder holding the deployable Spark code (entry scripts, SQL, the --py-files archive).
   * @default dist/spark-jobs (built by `npm run build:spark`, which `npm ci` runs)
   */
  readonly codeDirectory?: string;
}

/** An application worker configuration of the given size. */
const workerConfiguration = (w: WorkerSize): emrs.CfnApplication.WorkerConfigurationProperty => ({
  cpu: `${w.vcpu} vCPU`,
  memory: `${w.memoryGb} GB`,
  disk: `${w.diskGb} GB`,
});

/**
 * Tags the state machine puts on every job run (StartJobRun `Tags`): the job's id and the run id.
 * The state machine role may tag job runs with these keys only.
 */
export const JOB_RUN_TAG_KEYS = ['shopsight:job', 'shopsight:run-id'] as const;

/**
 * The EMR Serverless Spark application (ARM64, auto-start, auto-stop, capped capacity), its job
 * execution role scoped to the buckets and prefixes the jobs use, job logs in S3 and CloudWatch,
 * and the Spark code deployed to the artifacts bucket. Outside any VPC: the jobs never talk to Aurora.
 */
export class SparkProcessing extends Construct {
  readonly application: emrs.CfnApplication;
  readonly jobRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly codeDeployment: s3deploy.BucketDeployment;
  private readonly artifactsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: SparkProcessingProps) {
    super(scope, id);
    this.artifactsBucket = props.artifactsBucket;
    const stack = Stack.of(this);

    this.logGroup = new logs.LogGroup(this, 'JobLogs', {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    const preInitialized = props.preInitializedExecutors ?? 0;
    const workers = sharedWorkerShapes();
    this.application = new emrs.CfnApplication(this, 'Application', {
      name: `${stack.stackName}-spark`.slice(0, 64),
      releaseLabel: props.releaseLabel ?? 'emr-7.12.0',
      type: 'SPARK',
      architecture: 'ARM64',
      autoStartConfiguration: { enabled: true },
      autoStopConfiguration: { enabled: true, idleTimeoutMinutes: props.idleTimeoutMinutes ?? 5 },
      maximumCapacity: {
        cpu: `${props.maxVcpu ?? 16} vCPU`,
        memory: `${props.maxMemoryGb ?? 64} GB`,
        disk: `${props.maxDiskGb ?? 400} GB`,
      },
      initialCapacity:
        preInitialized > 0
          ? [
              { key: 'Driver', value: { workerCount: 1, workerConfiguration: workerConfiguration(workers.driver) } },
              { key: 'Executor', value: { workerCount: preInitialized, workerConfiguration: workerConfiguration(workers.executor) } },
            ]
          : undefined,
      monitoringConfiguration: {
        s3MonitoringConfiguration: { logUri: props.artifactsBucket.s3UrlForObject(EMR_LOGS_PREFIX) },
        cloudWatchLoggingConfiguration: {
          enabled: true,
          logGroupName: this.logGroup.logGroupName,
          logStreamNamePrefix: 'shopsight',
        },
      },
      runtimeConfiguration: [
        {
          classification: 'spark-defaults',
          properties: {
            // As the jobs' own sessions (SPARK_SETTINGS in spark-jobs/shopsight_jobs/runtime.py), so a job
            // started by hand behaves the same: static, because a run's folder is replaced whole
            // (dynamic would keep a stale event_date partition of an earlier attempt).
            'spark.sql.sources.partitionOverwriteMode': 'static',
            'spark.sql.session.timeZone': 'UTC',
          },
        },
      ],
    });

    this.jobRole = new iam.Role(this, 'JobExecutionRole', {
      description: 'EMR Serverless job runtime role for the ShopSight Spark jobs',
      assumedBy: new iam.ServicePrincipal('emr-serverless.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          // EMR Serverless assumes the role for a job run: the source is the job run's ARN
          // (<application ARN>/jobruns/<id>), which the application ARN alone does not match.
          ArnLike: { 'aws:SourceArn': [this.application.attrArn, `${this.application.attrArn}/jobruns/*`] },
        },
      }),
    });

    // Inputs: any raw folder the execution names; code; logs.
    grantRawRead(props.rawBucket, this.jobRole);
    grantObjects(props.artifactsBucket, this.jobRole, `${SPARK_CODE_PREFIX}*`, 'read', 'The Spark jobs read their code (entry scripts, SQL, the --py-files archive).');
    grantObjects(props.artifactsBucket, this.jobRole, `${EMR_LOGS_PREFIX}*`, 'put', 'EMR Serverless writes job logs here for the job role.');
    // Outputs: each contract table's folder and the run summaries; the serving exports.
    grantContractTables(props.curatedBucket, this.jobRole, 'readWrite');
    grantRunSummaries(props.curatedBucket, this.jobRole, 'readWrite');
    grantRunExports(props.exportBucket, this.jobRole, 'readWrite');

    this.jobRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCatalog',
        actions: ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          props.glueArns.catalog,
          props.glueArns.database,
          props.glueArns.tables,
          // Spark's Glue metastore client looks up the "default" database at start-up.
          `arn:${Aws.PARTITION}:glue:${stack.region}:${stack.account}:database/default`,
        ],
      }),
    );
    acknowledgeWildcardResource(this.jobRole, props.glueArns.tables, "Read-only access to this app's own Glue database's tables, all generated from the table contract.");
    this.jobRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteJobLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:*`],
      }),
    );
    acknowledgeWildcardResource(this.jobRole, `${this.logGroup.logGroupArn}:*`, 'Log streams of the Spark job log group are created per job run.');
    this.jobRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FindJobLogGroup',
        // DescribeLogGroups has no resource-level permissions.
        actions: ['logs:DescribeLogGroups'],
        resources: ['*'],
      }),
    );

    const codeDirectory = props.codeDirectory ?? path.join(__dirname, '..', '..', 'dist', 'spark-jobs');
    if (!fs.existsSync(path.join(codeDirectory, PY_FILES_ARCHIVE))) {
      throw new Error(`${codeDirectory}/${PY_FILES_ARCHIVE} is missing: run "npm run build:spark" (npm ci runs it too)`);
    }
    this.codeDeployment = new s3deploy.BucketDeployment(this, 'SparkCode', {
      sources: [s3deploy.Source.asset(codeDirectory)],
      destinationBucket: props.artifactsBucket,
      destinationKeyPrefix: SPARK_CODE_PREFIX,
      prune: true,
      retainOnDelete: false,
      memoryLimit: 512,
      logGroup: new logs.LogGroup(this, 'SparkCodeDeploymentLogs', {
        retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    // CDK's BucketDeployment handler (one per stack) syncs the code with its own role.
    const deployer = this.codeDeployment.handlerRole;
    acknowledgeWildcardResource(
      deployer,
      props.artifactsBucket.arnForObjects('*'),
      "CDK's BucketDeployment handler syncs the Spark code; its grant covers the destination bucket, which holds only code and logs.",
    );
    acknowledgeWildcardResource(
      deployer,
      `arn:${stack.partition}:s3:::cdk-${DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-${stack.account}-${stack.region}/*`,
      'BucketDeployment reads the Spark code asset from the CDK bootstrap assets bucket (the asset key is only known at deploy time).',
    );
  }

  /** S3 URI of a job's entry script. */
  entryPointUri(job: SparkJobDef): string {
    return this.artifactsBucket.s3UrlForObject(`${SPARK_CODE_PREFIX}${job.entryPoint}`);
  }

  /** `spark-submit` parameters of a job: its Spark settings and the shared Python package. */
  sparkSubmitParameters(job: SparkJobDef): string {
    const conf: Record<string, string> = {
      ...job.sparkConf,
      'spark.submit.pyFiles': this.artifactsBucket.s3UrlForObject(`${SPARK_CODE_PREFIX}${PY_FILES_ARCHIVE}`),
    };
    return Object.entries(conf)
      .map(([k, v]) => `--conf ${k}=${v}`)
      .join(' ');
  }

  /** What a caller (the state machine) needs to start job runs and wait for them (.sync). */
  grantStartJobRuns(grantee: iam.IGrantable): void {
    const applicationArn = this.application.attrArn;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'StartSparkJobs', actions: ['emr-serverless:StartJobRun'], resources: [applicationArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WatchSparkJobs',
        actions: ['emr-serverless:GetJobRun', 'emr-serverless:CancelJobRun'],
        resources: [`${applicationArn}/jobruns/*`],
      }),
    );
    acknowledgeGrantedWildcard(grantee, `${applicationArn}/jobruns/*`, 'The state machine watches and cancels the job runs it starts (.sync); job run ids exist only at run time.');
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TagSparkJobRuns',
        // StartJobRun with Tags is also a TagResource on the new job run: only this application's
        // runs, only the pipeline's tag keys, and a job tag naming one of the pipeline's jobs.
        actions: ['emr-serverless:TagResource'],
        resources: [`${applicationArn}/jobruns/*`],
        conditions: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': [...JOB_RUN_TAG_KEYS] },
          StringEquals: { 'aws:RequestTag/shopsight:job': ALL_SPARK_JOBS.map((job) => job.id) },
        },
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SyncJobRunEvents',
        // Step Functions' managed rule that reports job-run completion for .sync.
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [`arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/StepFunctionsGetEventsForEMRServerlessJobRule`],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassSparkJobRole',
        actions: ['iam:PassRole'],
        resources: [this.jobRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
      }),
    );
  }
}
