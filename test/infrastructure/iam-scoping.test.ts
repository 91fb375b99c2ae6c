import { Stack } from 'aws-cdk-lib';
import { OUTPUT_TABLES } from '../../lib/contract';
import { synthStage } from '../support/stack';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

const asList = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** Actions that IAM offers only on "*" (no resource-level permissions). */
const NO_RESOURCE_LEVEL = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  // CDK's own bucket-notification handler configures the raw bucket's EventBridge switch.
  's3:PutBucketNotification',
]);

describe('IAM is scoped to ARNs and prefixes', () => {
  const { template, stack } = synthStage();
  const policies = template.findResources('AWS::IAM::Policy');
  const resolved = (x: unknown): string => JSON.stringify(Stack.of(stack).resolve(x));

  /** Every statement of the policies attached to a role whose logical id starts with the prefix. */
  function statementsOf(rolePrefix: string): Statement[] {
    return Object.values(policies)
      .filter((p) => asList(p.Properties.Roles).some((r: { Ref: string }) => r.Ref.startsWith(rolePrefix)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  }

  test('a "*" resource only ever carries actions that have no resource-level permissions', () => {
    const offenders: string[] = [];
    for (const [id, policy] of Object.entries(policies)) {
      // CDK's LogRetention handler sets retention on the log groups Aurora creates itself
      // (error, slowquery); its policy is CDK's, not ours.
      if (id.startsWith('LogRetention')) continue;
      for (const s of policy.Properties.PolicyDocument.Statement as Statement[]) {
        if (!asList(s.Resource).includes('*')) continue;
        for (const action of asList(s.Action)) if (!NO_RESOURCE_LEVEL.has(action)) offenders.push(`${id}: ${action}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('no statement allows a service-wide action such as s3:* or glue:*', () => {
    const actions = Object.values(policies).flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => asList(s.Action)));
    expect(actions.filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a))).toEqual([]);
  });

  test('the Spark job role writes only contract table folders, run summaries, exports and its logs', () => {
    const writes = statementsOf('ProcessingJobExecutionRole').filter((s) => asList(s.Action).some((a) => a.startsWith('s3:Put')));
    const prefixes = writes
      .flatMap((s) => asList(s.Resource))
      .map((r) => resolved(r).match(/\/([^/"]*)\/\*"/)?.[1])
      .sort();
    const expected = [...OUTPUT_TABLES.map((t) => t.name), '_runs', 'runs', 'emr-logs'].sort();
    expect(prefixes).toEqual(expected);
  });

  test('the state machine starts jobs on this application only and passes the job role only to EMR Serverless', () => {
    const statements = statementsOf('PipelineStateMachineRole');
    const byAction = (action: string): Statement | undefined => statements.find((s) => asList(s.Action).includes(action));
    expect(resolved(byAction('emr-serverless:StartJobRun')!.Resource)).toMatch(/ProcessingApplication[A-Z0-9]+","Arn"/);
    expect(resolved(byAction('emr-serverless:GetJobRun')!.Resource)).toMatch(/\/jobruns\/\*/);
    expect(resolved(byAction('events:PutRule')!.Resource)).toContain('rule/StepFunctionsGetEventsForEMRServerlessJobRule');
    const passRole = byAction('iam:PassRole')!;
    expect(passRole.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } });
    expect(resolved(passRole.Resource)).toMatch(/ProcessingJobExecutionRole[A-Z0-9]+","Arn"/);
    // It can invoke exactly the three pipeline functions.
    const invoked = asList(byAction('lambda:InvokeFunction')!.Resource).map(resolved).join(' ');
    for (const fn of ['ValidateInput', 'DataQualityGate', 'LoadServing']) expect(invoked).toContain(fn);
  });

  test('validate-input can only read the raw bucket', () => {
    const statements = statementsOf('ValidateInputRole').filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      expect(asList(s.Action).every((a) => /^s3:(Get|List)/.test(a))).toBe(true);
      expect(resolved(s.Resource)).toMatch(/StorageRaw/);
      expect(resolved(s.Resource)).not.toMatch(/StorageCurated|StorageExports/);
    }
  });

  test('the data-quality gate queries Athena in its own workgroup only', () => {
    const athena = statementsOf('DataQualityGateRole').find((s) => asList(s.Action).includes('athena:StartQueryExecution'))!;
    expect(resolved(athena.Resource)).toContain(':workgroup/shopsight-dev');
  });
});
