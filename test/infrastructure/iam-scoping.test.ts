import { Stack } from 'aws-cdk-lib';
import { OUTPUT_TABLES } from '../../core/contract';
import { synthStage } from '../support/stack';
import { AslDefinition, AslState, FAKE_ACCOUNT, fakeArn, resolveIntrinsics, synthesizedStateMachine, TemplateJson } from '../support/synth';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

const asList = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** IAM's wildcard match (ArnLike, StringLike): `*` any run of characters, `?` one character. */
const globMatches = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value);

type RequestContext = Record<string, string | string[]>;

/**
 * Whether a statement's Condition holds for a request, for the operators this app uses; any other
 * operator fails the test instead of being taken as satisfied.
 */
function conditionHolds(condition: Record<string, Record<string, unknown>> | undefined, request: RequestContext): boolean {
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, allowed]) => {
      const patterns = asList(allowed as string | string[]);
      const value = request[key];
      switch (operator) {
        case 'StringEquals':
          return typeof value === 'string' && patterns.includes(value);
        case 'StringLike':
        case 'ArnLike':
          return typeof value === 'string' && patterns.some((p) => globMatches(p, value));
        case 'ForAllValues:StringEquals':
          return asList(value ?? []).every((v) => patterns.includes(v));
        default:
          throw new Error(`conditionHolds: operator ${operator} is not modelled`);
      }
    }),
  );
}

/** Every Task state of a definition, into Parallel branches and Map item processors. */
function taskStates(definition: AslDefinition): Array<[string, AslState]> {
  return Object.entries(definition.States).flatMap(([name, state]): Array<[string, AslState]> => [
    ...(state.Type === 'Task' ? [[name, state] as [string, AslState]] : []),
    ...(state.Branches ?? []).flatMap(taskStates),
    ...(['ItemProcessor', 'Iterator'] as const).flatMap((k) => (state[k] ? taskStates(state[k] as AslDefinition) : [])),
  ]);
}

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

  describe('with every intrinsic resolved (test/support/synth.ts fake account, region and IDs)', () => {
    const { definition, template: smTemplate } = synthesizedStateMachine();
    const json = smTemplate.toJSON() as TemplateJson;
    const [appId] = Object.keys(smTemplate.findResources('AWS::EMRServerless::Application'));
    const appArn = fakeArn(appId, 'AWS::EMRServerless::Application');
    const jobRunArn = `${appArn}/jobruns/00fgh1ijkl2mnop3`;
    const resolvedStatements = (rolePrefix: string): Statement[] =>
      Object.values(smTemplate.findResources('AWS::IAM::Policy'))
        .filter((p) => asList(p.Properties.Roles).some((r: { Ref: string }) => r.Ref.startsWith(rolePrefix)))
        .flatMap((p) => (resolveIntrinsics(p.Properties.PolicyDocument, json) as { Statement: Statement[] }).Statement);

    /** Whether the role's policies allow the action on the resource for this request. */
    const allows = (rolePrefix: string, action: string, resource: string, request: RequestContext): boolean =>
      resolvedStatements(rolePrefix).some(
        (s) =>
          s.Effect === 'Allow' &&
          asList(s.Action).some((a) => globMatches(a, action)) &&
          asList(s.Resource as string | string[]).some((r) => globMatches(r, resource)) &&
          conditionHolds(s.Condition as Record<string, Record<string, unknown>>, request),
      );

    test('every EMR task that sends Tags may tag the job run it starts with them (StartJobRun tags on create)', () => {
      const tagging = taskStates(definition).filter(([, s]) => String(s.Resource).includes(':emr-serverless:startJobRun') && s.Parameters?.Tags);
      expect(tagging.map(([name]) => name)).toEqual(expect.arrayContaining(['PrepareJob', 'RecommendationsJob']));
      for (const [name, state] of tagging) {
        const tags = state.Parameters!.Tags as Record<string, string>;
        // A key ending in ".$" is a JSONPath: its value comes from the input; a run id here.
        const request: RequestContext = { 'aws:TagKeys': Object.keys(tags).map((k) => k.replace(/\.\$$/, '')) };
        for (const [key, value] of Object.entries(tags)) request[`aws:RequestTag/${key.replace(/\.\$$/, '')}`] = key.endsWith('.$') ? 'oct-2019' : value;
        expect({ name, startJobRun: allows('PipelineStateMachineRole', 'emr-serverless:StartJobRun', appArn, {}) }).toEqual({ name, startJobRun: true });
        expect({ name, tagResource: allows('PipelineStateMachineRole', 'emr-serverless:TagResource', jobRunArn, request) }).toEqual({
          name,
          tagResource: true,
        });
      }
    });

    test('tagging is scoped: not another application\'s runs, not other tag keys', () => {
      const request = { 'aws:TagKeys': ['shopsight:job'], 'aws:RequestTag/shopsight:job': 'prepare' };
      expect(allows('PipelineStateMachineRole', 'emr-serverless:TagResource', jobRunArn, request)).toBe(true);
      expect(allows('PipelineStateMachineRole', 'emr-serverless:TagResource', jobRunArn.replace('app123', 'other'), request)).toBe(false);
      expect(allows('PipelineStateMachineRole', 'emr-serverless:TagResource', jobRunArn, { ...request, 'aws:TagKeys': ['shopsight:job', 'owner'] })).toBe(false);
      expect(allows('PipelineStateMachineRole', 'emr-serverless:TagResource', appArn, request)).toBe(false);
    });

    test('the job role trusts EMR Serverless for this application\'s job runs (the SourceArn EMR sends), and nothing else', () => {
      const roles = smTemplate.findResources('AWS::IAM::Role');
      const [roleId] = Object.keys(roles).filter((id) => id.startsWith('ProcessingJobExecutionRole'));
      const trust = resolveIntrinsics(roles[roleId].Properties.AssumeRolePolicyDocument, json) as { Statement: Statement[] };
      const trusted = (sourceArn: string, account = FAKE_ACCOUNT): boolean =>
        trust.Statement.some(
          (s) =>
            s.Effect === 'Allow' &&
            asList(s.Action).includes('sts:AssumeRole') &&
            (s as unknown as { Principal: { Service: string } }).Principal.Service === 'emr-serverless.amazonaws.com' &&
            conditionHolds(s.Condition as Record<string, Record<string, unknown>>, { 'aws:SourceAccount': account, 'aws:SourceArn': sourceArn }),
        );
      expect(trusted(jobRunArn)).toBe(true);
      expect(trusted(appArn)).toBe(true);
      expect(trusted(jobRunArn.replace('/applications/app123/', '/applications/other/'))).toBe(false);
      expect(trusted(`${appArn}x/jobruns/1`)).toBe(false);
      expect(trusted(jobRunArn, '999999999999')).toBe(false);
    });
  });
});
