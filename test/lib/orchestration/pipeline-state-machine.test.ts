/**
 * PipelineStateMachine on a bare stack, with inline functions and a plain topic as collaborators:
 * a standard, traced, fully logged state machine bounded by twice the job timeout plus an hour,
 * whose role invokes exactly the three functions, publishes to the topic and starts the Spark jobs,
 * with the invoke wildcards acknowledged on the construct. (test/orchestration/ runs its ASL.)
 */
import { CfnElement } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PipelineStateMachine, STATE_NAMES } from '../../../lib/orchestration/pipeline-state-machine';
import { SparkProcessing } from '../../../lib/processing/spark-processing';
import { acknowledgementsOn, bareStack, findingsAt, placeholderSparkCode, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const bucket = (id: string) => new s3.Bucket(t.stack, id, { enforceSSL: true });
const [raw, curated, exportsBucket, artifacts] = [bucket('Raw'), bucket('Curated'), bucket('Exports'), bucket('Artifacts')];
const processing = new SparkProcessing(t.stack, 'Processing', {
  rawBucket: raw,
  curatedBucket: curated,
  exportBucket: exportsBucket,
  artifactsBucket: artifacts,
  glueArns: { catalog: 'arn:aws:glue:eu-west-1:1:catalog', database: 'arn:aws:glue:eu-west-1:1:database/d', tables: 'arn:aws:glue:eu-west-1:1:table/d/*' },
  codeDirectory: placeholderSparkCode(),
});
const fn = (id: string) =>
  new lambda.Function(t.stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
const [validate, quality, load] = [fn('Validate'), fn('Quality'), fn('Load')];
const topic = new sns.Topic(t.stack, 'Topic');
const pipeline = new PipelineStateMachine(t.stack, 'Pipeline', {
  processing,
  validateInputFunction: validate,
  dataQualityFunction: quality,
  loadServingFunction: load,
  notificationTopic: topic,
  curatedUri: curated.s3UrlForObject(),
  exportUri: exportsBucket.s3UrlForObject(),
  jobTimeoutMinutes: 30,
});
const { template, findings } = synthesize(t);
const r = (v: unknown) => JSON.parse(JSON.stringify(t.stack.resolve(v)));
const statements = statementsOf(template, t.stack, pipeline.stateMachine.role);
const logicalId = (c: { node: { defaultChild?: unknown } }) => t.stack.getLogicalId(c.node.defaultChild as CfnElement);

describe('PipelineStateMachine', () => {
  test('standard, traced, logging everything to its log group, bounded by 2 × job timeout + 60 minutes', () => {
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: r(pipeline.logGroup.logGroupArn) } }] },
    });
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    expect(definition).toContain('\\"TimeoutSeconds\\":7200');
    for (const state of [STATE_NAMES.validate, STATE_NAMES.quality, STATE_NAMES.swap, STATE_NAMES.notifyFailure]) expect(definition).toContain(`\\"${state}\\"`);
  });

  test('the role invokes exactly the three functions (and their versions), publishes to the topic, starts Spark jobs', () => {
    const invoked = statements.filter((s) => s.Action === 'lambda:InvokeFunction').flatMap((s) => s.Resource as unknown[]);
    const expected = [validate, quality, load].flatMap((f) => [r(f.functionArn), { 'Fn::Join': ['', [r(f.functionArn), ':*']] }]);
    expect(invoked).toHaveLength(expected.length);
    expect(invoked).toEqual(expect.arrayContaining(expected));
    expect(statements.find((s) => s.Action === 'sns:Publish')!.Resource).toEqual(r(topic.topicArn));
    expect(statements.find((s) => s.Sid === 'StartSparkJobs')!.Resource).toEqual(r(processing.application.attrArn));
  });

  test('the invoke wildcards are acknowledged on the construct, one per function; the job-run one on its role', () => {
    const acks = acknowledgementsOn(pipeline);
    expect(Object.keys(acks).sort()).toEqual([validate, quality, load].map((f) => `IAM5[Resource::<${logicalId(f)}.Arn>:*]`).sort());
    expect(Object.values(acks)[0]).toMatch(/versions and aliases/);
    expect(Object.keys(acknowledgementsOn(pipeline.stateMachine.role))).toEqual([`IAM5[Resource::<${t.stack.getLogicalId(processing.application)}.Arn>/jobruns/*]`]);
  });

  test('cdk-nag finds nothing left on the state machine', () => {
    expect(findingsAt(findings, 'Test/Pipeline')).toEqual([]);
  });
});
