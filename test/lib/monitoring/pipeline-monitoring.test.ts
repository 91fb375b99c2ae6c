/**
 * PipelineMonitoring on a bare stack: an alarm on failed, timed-out and aborted executions and on
 * failed Spark jobs, each to the given topic; the dashboard with its name, and the Aurora widget
 * only when a cluster is given.
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { PipelineMonitoring } from '../../../lib/monitoring/pipeline-monitoring';
import { bareStack, findingsAt, synthesize } from '../bare-stack';

const t = bareStack();
const topic = new sns.Topic(t.stack, 'Topic');
const stateMachine = new sfn.StateMachine(t.stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(t.stack, 'Nothing')) });
const fn = new lambda.Function(t.stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });
const monitoring = new PipelineMonitoring(t.stack, 'Monitoring', {
  stateMachine,
  emrApplicationId: 'app-123',
  functions: { 'validate-input': fn },
  alarmTopic: topic,
  dashboardName: 'ShopSight-test',
});
const { template, findings } = synthesize(t);
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);

describe('PipelineMonitoring', () => {
  test('four alarms, each at one occurrence in 5 minutes, each to the topic', () => {
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsTimedOut', 'FailedJobs']);
    for (const a of alarms) {
      expect(a).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, Period: 300, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      expect(a.AlarmActions).toEqual([t.stack.resolve(topic.topicArn)]);
    }
    expect(monitoring.alarms).toHaveLength(4);
  });

  test('executions are watched on this state machine, Spark jobs on this application', () => {
    const failed = alarms.find((a) => a.MetricName === 'ExecutionsFailed')!;
    expect(failed.Namespace).toBe('AWS/States');
    expect(failed.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: t.stack.resolve(stateMachine.stateMachineArn) }]);
    const spark = alarms.find((a) => a.MetricName === 'FailedJobs')!;
    expect(spark).toMatchObject({ Namespace: 'AWS/EMRServerless', Statistic: 'Maximum', Dimensions: [{ Name: 'ApplicationId', Value: 'app-123' }] });
  });

  test('the dashboard: its name, the Lambda panels by label, no Aurora panel without a cluster', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'ShopSight-test' });
    const body = JSON.stringify(t.stack.resolve(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody));
    expect(body).toContain('validate-input');
    expect(body).toContain('Lambda errors');
    expect(body).not.toContain('Aurora capacity');
  });

  test('cdk-nag finds nothing on the monitoring', () => {
    expect(findingsAt(findings, 'Test/Monitoring')).toEqual([]);
  });
});
