/**
 * The run triggers on a bare stack: the `_READY` marker rule (S3 Object Created in the raw bucket,
 * key suffix _READY, the key as the execution's inputPrefix) and the scheduled rule (its expression,
 * a fixed inputPrefix), both starting the given state machine with retries, with the logical ids of
 * the construct (the rule is its Default child).
 */
import { CfnElement } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ReadyMarkerTrigger, ScheduledTrigger } from '../../../lib/orchestration/pipeline-triggers';
import { bareStack, findingsAt, synthesize } from '../bare-stack';

const t = bareStack();
const raw = new s3.Bucket(t.stack, 'Raw', { eventBridgeEnabled: true });
const stateMachine = new sfn.StateMachine(t.stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(t.stack, 'Nothing')) });
const ready = new ReadyMarkerTrigger(t.stack, 'ReadyMarkerTrigger', { stateMachine, rawBucket: raw });
const scheduled = new ScheduledTrigger(t.stack, 'ScheduledTrigger', { stateMachine, schedule: 'cron(0 3 * * ? *)', inputPrefix: 'rees46/' });
const { template, findings } = synthesize(t);
const rules = template.findResources('AWS::Events::Rule');
const rule = (trigger: { rule: { node: { defaultChild?: unknown } } }) => rules[t.stack.getLogicalId(trigger.rule.node.defaultChild as CfnElement)];

describe('pipeline triggers', () => {
  test('ReadyMarkerTrigger: Object Created in the raw bucket with a _READY key, the key becomes inputPrefix', () => {
    const { EventPattern, Targets } = rule(ready).Properties;
    expect(EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [t.stack.resolve(raw.bucketName)] }, object: { key: [{ suffix: '_READY' }] } },
    });
    expect(Targets).toHaveLength(1);
    expect(Targets[0].Arn).toEqual(t.stack.resolve(stateMachine.stateMachineArn));
    expect(Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 4 });
    expect(Targets[0].InputTransformer).toEqual({ InputPathsMap: { 'detail-object-key': '$.detail.object.key' }, InputTemplate: '{"inputPrefix":<detail-object-key>}' });
  });

  test('ScheduledTrigger: its schedule, a fixed inputPrefix, the same state machine', () => {
    const { ScheduleExpression, Targets } = rule(scheduled).Properties;
    expect(ScheduleExpression).toBe('cron(0 3 * * ? *)');
    expect(Targets[0].Arn).toEqual(t.stack.resolve(stateMachine.stateMachineArn));
    expect(JSON.parse(Targets[0].Input)).toEqual({ inputPrefix: 'rees46/' });
  });

  test('the rules may start the state machine and nothing else', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const start = policies.filter((s) => s.Action === 'states:StartExecution');
    expect(start).toHaveLength(1);
    expect(start[0].Resource).toEqual(t.stack.resolve(stateMachine.stateMachineArn));
  });

  test('logical ids are the constructs\' own (the rule is the Default child)', () => {
    expect(t.stack.getLogicalId(ready.rule.node.defaultChild as CfnElement)).toMatch(/^ReadyMarkerTrigger[0-9A-F]{8}$/);
    expect(t.stack.getLogicalId(scheduled.rule.node.defaultChild as CfnElement)).toMatch(/^ScheduledTrigger[0-9A-F]{8}$/);
    expect(Object.keys(rules)).toHaveLength(2);
  });

  test('cdk-nag finds nothing on the triggers', () => {
    expect(findingsAt(findings, 'Test/ReadyMarkerTrigger', 'Test/ScheduledTrigger')).toEqual([]);
  });
});
