import { Match } from 'aws-cdk-lib/assertions';
import { synthStage } from '../support/stack';

describe('orchestration, triggers and monitoring', () => {
  const { template } = synthStage();

  test('a standard state machine with execution logging (ALL, with data) and X-Ray tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true, Destinations: [Match.anyValue()] },
    });
  });

  test('Lambdas run Node.js 22 on ARM64 with tracing and their own log group', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.NODE_OPTIONS,
    );
    // validate-input, data-quality-gate, load-serving, the serving-schema custom resource handler and the recommendations API.
    expect(functions).toHaveLength(5);
    for (const f of functions) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
      });
    }
  });

  test('notifications go to one encrypted topic; an e-mail subscription only when configured', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    synthStage({ alertEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  test('alarms on failed, timed-out and aborted executions and on failed Spark jobs notify the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const metrics = alarms.map((a) => `${a.Namespace}/${a.MetricName}`).sort();
    expect(metrics).toEqual(
      ['AWS/EMRServerless/FailedJobs', 'AWS/States/ExecutionsAborted', 'AWS/States/ExecutionsFailed', 'AWS/States/ExecutionsTimedOut'].sort(),
    );
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Notifications/) }]);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('triggers are opt-in: a _READY marker rule and a schedule, both starting the state machine', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
    const { template: t } = synthStage({ triggerOnReadyMarker: 'true', triggerSchedule: 'cron(0 3 * * ? *)' });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { object: { key: [{ suffix: '_READY' }] } },
      },
      Targets: [Match.objectLike({ InputTransformer: Match.objectLike({ InputTemplate: '{"inputPrefix":<detail-object-key>}' }) })],
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      Targets: [Match.objectLike({ Input: '{"inputPrefix":"rees46/"}' })],
    });
  });

  test('stack outputs give a user everything needed next', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    for (const name of [
      'RawBucketName',
      'CuratedBucketName',
      'ExportBucketName',
      'StateMachineArn',
      'StartExecutionConsoleUrl',
      'AuroraEndpoint',
      'AuroraSecretArn',
      'AuroraClusterArn',
      'AthenaWorkGroupName',
      'GlueDatabaseName',
    ]) {
      expect(outputs).toContain(name);
    }
  });
});
