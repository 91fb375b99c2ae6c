/**
 * PipelineFunction on a bare stack: Node.js 22 on ARM64 with X-Ray, bundled from lambdas/<folder>,
 * its own log group with the given retention, and a role that may write to that log group only
 * (no AWSLambdaBasicExecutionRole); logical ids of the log group and role beside the function.
 */
import { CfnElement, Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { PipelineFunction } from '../../../lib/lambda/pipeline-function';
import { bareStack, findingsAt, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const fn = new PipelineFunction(t.stack, 'ValidateInput', {
  folder: 'validate-input',
  description: 'Test function',
  environment: { RAW_BUCKET: 'raw' },
  timeout: Duration.minutes(2),
  logRetention: logs.RetentionDays.ONE_MONTH,
});
const { template, findings } = synthesize(t);
const id = (c: { node: { defaultChild?: unknown } }) => t.stack.getLogicalId(c.node.defaultChild as CfnElement);

describe('PipelineFunction', () => {
  test('Node.js 22 on ARM64, X-Ray, its timeout and environment with source maps on', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 120,
      MemorySize: 512,
      TracingConfig: { Mode: 'Active' },
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', RAW_BUCKET: 'raw' } },
      LoggingConfig: { LogGroup: t.stack.resolve(fn.logGroup.logGroupName) },
    });
  });

  test('its own log group, retained for the given days, beside the function (ids <id>Logs, <id>Role)', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    expect(id(fn.logGroup as logs.LogGroup)).toMatch(/^ValidateInputLogs[0-9A-F]{8}$/);
    expect(id(fn.role as never)).toMatch(/^ValidateInputRole[0-9A-F]{8}$/);
  });

  test('the role writes to that log group only and has no managed policy', () => {
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const logWrites = statementsOf(template, t.stack, fn.role!).filter((s) => JSON.stringify(s.Action).includes('logs:'));
    expect(logWrites).toHaveLength(1);
    expect(logWrites[0].Resource).toEqual(t.stack.resolve((fn.logGroup as logs.LogGroup).logGroupArn));
  });

  test('cdk-nag finds nothing beyond the app-wide acknowledgements (runtime, X-Ray)', () => {
    expect(findingsAt(findings, 'Test')).toEqual([]);
  });
});
