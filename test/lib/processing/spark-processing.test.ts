/**
 * SparkProcessing on a bare stack: the EMR Serverless application (ARM64, capped, auto stop), the
 * job role assumable by EMR Serverless for this application's job runs and scoped to the lake's
 * prefixes, the code deployment, grantStartJobRuns, and every wildcard acknowledged where it is
 * granted (the job role, the BucketDeployment handler's role, the caller of grantStartJobRuns).
 */
import { CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { OUTPUT_TABLES } from '../../../core/contract';
import { SparkProcessing } from '../../../lib/processing/spark-processing';
import { acknowledgementsOn, bareStack, findingsAt, placeholderSparkCode, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const bucket = (id: string) => new s3.Bucket(t.stack, id, { enforceSSL: true });
const [raw, curated, exportsBucket, artifacts] = [bucket('Raw'), bucket('Curated'), bucket('Exports'), bucket('Artifacts')];
const glueArns = {
  catalog: 'arn:aws:glue:eu-west-1:123456789012:catalog',
  database: 'arn:aws:glue:eu-west-1:123456789012:database/shopsight_test',
  tables: 'arn:aws:glue:eu-west-1:123456789012:table/shopsight_test/*',
};
const processing = new SparkProcessing(t.stack, 'Processing', {
  rawBucket: raw,
  curatedBucket: curated,
  exportBucket: exportsBucket,
  artifactsBucket: artifacts,
  glueArns,
  maxVcpu: 8,
  idleTimeoutMinutes: 3,
  codeDirectory: placeholderSparkCode(),
});
const caller = new iam.Role(t.stack, 'Caller', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
processing.grantStartJobRuns(caller);
const { template, findings } = synthesize(t);
const r = (v: unknown) => JSON.parse(JSON.stringify(t.stack.resolve(v)));
const id = (c: CfnElement | { node: { defaultChild?: unknown } }) => t.stack.getLogicalId((c instanceof CfnElement ? c : c.node.defaultChild) as CfnElement);
const join = (b: s3.IBucket, suffix: string) => ({ 'Fn::Join': ['', [r(b.bucketArn), suffix]] });
const jobStatements = statementsOf(template, t.stack, processing.jobRole);
const resourcesWith = (action: string) =>
  jobStatements.filter((s) => ([] as string[]).concat(s.Action as string[]).includes(action)).flatMap((s) => ([] as unknown[]).concat(s.Resource));

describe('SparkProcessing', () => {
  test('the application: Spark on ARM64, auto start and stop, capped capacity, logs to S3 and CloudWatch', () => {
    template.hasResourceProperties('AWS::EMRServerless::Application', {
      Type: 'SPARK',
      Architecture: 'ARM64',
      AutoStartConfiguration: { Enabled: true },
      AutoStopConfiguration: { Enabled: true, IdleTimeoutMinutes: 3 },
      MaximumCapacity: { Cpu: '8 vCPU', Memory: '64 GB', Disk: '400 GB' },
      MonitoringConfiguration: { S3MonitoringConfiguration: { LogUri: r(artifacts.s3UrlForObject('emr-logs/')) } },
    });
  });

  test('the job role is assumable by EMR Serverless for this application and its job runs, in this account', () => {
    const role = template.findResources('AWS::IAM::Role')[id(processing.jobRole)];
    const [statement] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(statement.Principal).toEqual({ Service: 'emr-serverless.amazonaws.com' });
    expect(statement.Condition.ArnLike['aws:SourceArn']).toEqual([r(processing.application.attrArn), { 'Fn::Join': ['', [r(processing.application.attrArn), '/jobruns/*']] }]);
  });

  test('the job role: reads raw and code, writes logs, tables, run summaries and exports under their prefixes only', () => {
    expect(resourcesWith('s3:GetObject*')).toEqual(expect.arrayContaining([join(raw, '/*'), join(artifacts, '/spark-jobs/*')]));
    const puts = resourcesWith('s3:PutObject');
    expect(puts).toEqual(expect.arrayContaining([join(artifacts, '/emr-logs/*'), join(curated, '/_runs/*'), join(exportsBucket, '/runs/*')]));
    for (const table of OUTPUT_TABLES) expect(puts).toContainEqual(join(curated, `/${table.name}/*`));
    for (const wide of [join(curated, '/*'), join(exportsBucket, '/*'), join(artifacts, '/*'), join(raw, '/*')]) expect(puts).not.toContainEqual(wide);
    const glue = jobStatements.find((s) => s.Sid === 'ReadCatalog')!;
    expect(glue.Resource).toEqual(expect.arrayContaining([glueArns.tables, glueArns.database]));
  });

  test('grantStartJobRuns: start on the application, watch its job runs, pass only the job role to EMR Serverless', () => {
    const statements = statementsOf(template, t.stack, caller);
    expect(statements.find((s) => s.Sid === 'StartSparkJobs')!.Resource).toEqual(r(processing.application.attrArn));
    expect(statements.find((s) => s.Sid === 'WatchSparkJobs')!.Resource).toEqual({ 'Fn::Join': ['', [r(processing.application.attrArn), '/jobruns/*']] });
    expect(statements.find((s) => s.Sid === 'PassSparkJobRole')).toMatchObject({
      Resource: r(processing.jobRole.roleArn),
      Condition: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
    });
  });

  test('the wildcards are acknowledged where granted, with reasons', () => {
    const job = acknowledgementsOn(processing.jobRole);
    expect(job[`IAM5[Resource::<${id(processing.logGroup)}.Arn>:*]`]).toMatch(/per job run/);
    expect(job['IAM5[Resource::arn:aws:glue:eu-west-1:123456789012:table/shopsight_test/*]']).toMatch(/Glue database/);
    expect(job[`IAM5[Resource::<${id(artifacts)}.Arn>/spark-jobs/*]`]).toMatch(/code/);
    expect(Object.keys(acknowledgementsOn(caller))).toEqual([`IAM5[Resource::<${id(processing.application)}.Arn>/jobruns/*]`]);
    const deployer = acknowledgementsOn(processing.codeDeployment.handlerRole);
    expect(Object.keys(deployer).sort()).toEqual(
      [`IAM5[Resource::<${id(artifacts)}.Arn>/*]`, 'IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]'].sort(),
    );
  });

  test('cdk-nag finds nothing left on the processing, the code deployment\'s handler or the caller', () => {
    const handler = processing.codeDeployment.handlerRole.node.scope!.node.path;
    expect(findingsAt(findings, 'Test/Processing', handler, 'Test/Caller')).toEqual([]);
  });
});
