/**
 * The pipeline state machine as the stack synthesizes it: its definition made concrete (fake ARNs
 * and names for the template's Refs and GetAtts), checked by asl-validator, checked structurally,
 * and executed with aws-local-stepfunctions, every Task state (Lambda, EMR Serverless, SNS)
 * replaced by a recording local handler.
 *
 * What aws-local-stepfunctions 3.0.0 does here: it applies each state's Parameters, including the
 * intrinsics States.Format, States.Array and States.UUID and $$ context paths, before calling the
 * local handler, so handlers see what the service would receive; it runs Parallel branches with the
 * same overrides; it honours Retry (ErrorEquals, MaxAttempts) and Catch (ErrorEquals, ResultPath),
 * matching a thrown error by its `name`; retry pauses can be overridden (0 ms here). What it does
 * not do: anything of the .sync protocol (the handler's return is the finished job run), the real
 * IntervalSeconds/BackoffRate/jitter timing once overridden, IAM, or payload size limits.
 */
import { runIdFromExecutionName } from '../../core/config/execution-input';
import { DEFAULT_PIPELINE_PARAMETERS } from '../../core/config/pipeline-params';
import { ALL_SPARK_JOBS, ANALYTICS_JOBS } from '../../core/config/spark-jobs';
import { buildValidatedRun, ValidatedRun } from '../../lambdas/validate-input/output';
import {
  AslDefinition,
  AslState,
  FAKE_ACCOUNT,
  FAKE_EMR_APPLICATION_ID,
  FAKE_REGION,
  fakeArn,
  fakeRef,
  logicalIdOf,
  synthesizedStateMachine,
} from '../support/synth';
import { jsonCopy, lambdaError, LocalExecution, runLocally, serviceError, TaskHandler, taskStateNames } from './local-execution';

// asl-validator ships no type declarations; this is the part of its API used here.
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: unknown[]; errorsText: (separator?: string) => string };

const EMR_SYNC = 'arn:aws:states:::emr-serverless:startJobRun.sync';
const SNS_PUBLISH = 'arn:aws:states:::sns:publish';

/** State names as the README and the operators know them (not read from lib/, so a rename fails here). */
const S = {
  validate: 'ValidateInput',
  prepare: 'PrepareJob',
  analytics: 'AnalyticsJobs',
  quality: 'DataQualityGate',
  load: 'LoadServingTables',
  claimLoad: 'ClaimServingLoad',
  loadTable: 'LoadServingTable',
  tableLoaded: 'ServingTableLoaded?',
  waitForTable: 'WaitForServingTable',
  checkTable: 'CheckServingTable',
  tableDone: 'ServingTableDone',
  swap: 'SwapServingTables',
  releaseLoad: 'ReleaseServingLoad',
  notifySuccess: 'NotifySuccess',
  notifyFailure: 'NotifyFailure',
  failed: 'PipelineFailed',
  succeeded: 'PipelineSucceeded',
} as const;
/** Each EMR job state and the Spark job (id in core/config/spark-jobs.ts) it must run. */
const JOB_OF_STATE: Record<string, string> = {
  PrepareJob: 'prepare',
  AssociationRulesJob: 'association-rules',
  RecommendationsJob: 'recommendations',
  PurchaseIntentJob: 'purchase-intent',
  SegmentsJob: 'segments',
  SpendForecastJob: 'spend-forecast',
};
const ANALYTICS_STATES = ['AssociationRulesJob', 'PurchaseIntentJob', 'RecommendationsJob', 'SegmentsJob', 'SpendForecastJob'];
/** An MD5 digest in hex: within StartJobRun's 64-character ClientToken limit. */
const MD5_HEX = /^[0-9a-f]{32}$/;
/** The serving load's claim: one per execution, the same for its retries and redrives. */
const CLAIM_TOKEN = "States.Hash($$.Execution.Id, 'MD5')";
/** Top-level states of the serving load, in order (LoadServingTables is the Map). */
const LOAD_STATES = [S.claimLoad, S.load, S.swap];

/** Every state of a definition with its name, branch states included. */
function allStates(definition: AslDefinition, inBranch = false): { name: string; state: AslState; inBranch: boolean }[] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    { name, state, inBranch },
    ...(state.Branches ?? []).flatMap((branch) => allStates(branch, true)),
  ]);
}

/** States one transition away: Next, Catch targets, Choice rules and Default. */
function successors(state: AslState): string[] {
  const next: string[] = [];
  if (state.Next) next.push(state.Next);
  for (const c of state.Catch ?? []) next.push(c.Next);
  for (const choice of (state.Choices as { Next: string }[] | undefined) ?? []) next.push(choice.Next);
  if (typeof state.Default === 'string') next.push(state.Default);
  return next;
}

/** Names of the states reachable from `start` (itself included) within one States map. */
function reachableFrom(definition: AslDefinition, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    const state = definition.States[name];
    if (!state) throw new Error(`transition to unknown state ${name}`);
    seen.add(name);
    queue.push(...successors(state));
  }
  return seen;
}

const { definition, stack } = synthesizedStateMachine();
const RAW_BUCKET = fakeRef(logicalIdOf(stack.storage.rawBucket), 'AWS::S3::Bucket');
const CURATED_BUCKET = fakeRef(logicalIdOf(stack.storage.curatedBucket), 'AWS::S3::Bucket');
const EXPORT_BUCKET = fakeRef(logicalIdOf(stack.storage.exportBucket), 'AWS::S3::Bucket');
const TOPIC_ARN = fakeRef(logicalIdOf(stack.topic), 'AWS::SNS::Topic');
const JOB_ROLE_ARN = fakeArn(logicalIdOf(stack.processing.jobRole), 'AWS::IAM::Role');
const FUNCTION_ARN = {
  validate: fakeArn(logicalIdOf(stack.functions.validateInput), 'AWS::Lambda::Function'),
  quality: fakeArn(logicalIdOf(stack.functions.dataQuality), 'AWS::Lambda::Function'),
  load: fakeArn(logicalIdOf(stack.functions.loadServing), 'AWS::Lambda::Function'),
};
const emrStates = allStates(definition).filter(({ name }) => name in JOB_OF_STATE);

describe('pipeline state machine: synthesized definition', () => {
  test('every intrinsic of the DefinitionString was resolved', () => {
    const text = JSON.stringify(definition);
    expect(text).not.toMatch(/"Ref"|"Fn::|\$\{Token|AWS::/);
  });

  test('is valid Amazon States Language (asl-validator, paths and ARNs checked)', () => {
    const result = aslValidator(jsonCopy(definition), { checkPaths: true, checkArn: true });
    // Listing the errors makes a failure say what is wrong.
    expect(result.isValid ? [] : result.errorsText('\n').split('\n')).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  test('runs validate → prepare → the five analytics jobs in parallel → quality gate → load → success notice', () => {
    expect(definition.StartAt).toBe(S.validate);
    const chain: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = definition.States[name].Next) chain.push(name);
    expect(chain).toEqual([S.validate, S.prepare, S.analytics, S.quality, ...LOAD_STATES, S.notifySuccess, S.succeeded]);
    expect(definition.States[S.succeeded].Type).toBe('Succeed');

    const analytics = definition.States[S.analytics];
    expect(analytics.Type).toBe('Parallel');
    // The branches' results are dropped: $.run must survive for the gate and the load.
    expect(analytics.ResultPath).toBeNull();
    const branchStarts = (analytics.Branches ?? []).map((b) => b.StartAt).sort();
    expect(branchStarts).toEqual(ANALYTICS_STATES);
    expect(ANALYTICS_JOBS.map((j) => j.id).sort()).toEqual(ANALYTICS_STATES.map((s) => JOB_OF_STATE[s]).sort());
    for (const branch of analytics.Branches ?? []) {
      expect(Object.keys(branch.States)).toEqual([branch.StartAt]);
      expect(branch.States[branch.StartAt].End).toBe(true);
    }
  });

  test('LoadServingTables is a Map over the claimed tables, a few at a time: each table is started, then waited for and checked until loaded', () => {
    const map = definition.States[S.load];
    expect(map.Type).toBe('Map');
    expect(map.ItemsPath).toBe('$.loadClaim.tables');
    expect(map.MaxConcurrency).toBeGreaterThanOrEqual(2);
    expect(map.MaxConcurrency).toBeLessThanOrEqual(8);
    expect(map.ResultPath).toBeNull();
    expect(map.ItemSelector).toEqual({
      'runId.$': '$.loadClaim.runId',
      'manifestCreatedAt.$': '$.loadClaim.manifestCreatedAt',
      'claimToken.$': '$.loadClaim.claimToken',
      'table.$': '$$.Map.Item.Value.table',
      'expectedRows.$': '$$.Map.Item.Value.expectedRows',
    });
    const processor = map.ItemProcessor as AslDefinition;
    expect(processor.StartAt).toBe(S.loadTable);
    const st = processor.States;
    expect(Object.keys(st).sort()).toEqual([S.loadTable, S.tableLoaded, S.waitForTable, S.checkTable, S.tableDone].sort());
    expect(st[S.loadTable].Next).toBe(S.tableLoaded);
    expect(st[S.tableLoaded]).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.progress.status', StringEquals: 'loaded', Next: S.tableDone }], Default: S.waitForTable });
    expect(st[S.waitForTable]).toMatchObject({ Type: 'Wait', Next: S.checkTable });
    expect(st[S.waitForTable].Seconds).toBeGreaterThanOrEqual(5);
    expect(st[S.checkTable].Next).toBe(S.tableLoaded);
    expect(st[S.tableDone].Type).toBe('Succeed');
    const fields = { 'runId.$': '$.runId', 'manifestCreatedAt.$': '$.manifestCreatedAt', 'claimToken.$': '$.claimToken', 'table.$': '$.table', 'expectedRows.$': '$.expectedRows' };
    expect(st[S.loadTable].Parameters).toEqual({ ...fields, action: 'load-table' });
    expect(st[S.checkTable].Parameters).toEqual({ ...fields, action: 'check-table', 'rerun.$': '$.progress.rerun', 'polls.$': '$.progress.polls' });
    for (const name of [S.loadTable, S.checkTable]) {
      expect(st[name]).toMatchObject({ Resource: FUNCTION_ARN.load, ResultPath: '$.progress' });
      // Both actions resume, so a timed-out call is retried; a ServingLoadError is not.
      for (const r of st[name].Retry ?? []) for (const e of r.ErrorEquals) expect(e).toMatch(/^(Lambda\.|Sandbox\.Timedout$|States\.Timeout$)/);
      expect(st[name].Catch).toBeUndefined();
    }
  });

  test('every EMR state starts a .sync job run with an idempotency token per execution and job, a run timeout and throttling retries with backoff', () => {
    expect(emrStates.map((s) => s.name).sort()).toEqual(Object.keys(JOB_OF_STATE).sort());
    for (const { name, state } of emrStates) {
      const p = state.Parameters ?? {};
      expect({ name, resource: state.Resource }).toEqual({ name, resource: EMR_SYNC });
      expect(p.ClientToken).toBeUndefined();
      expect(p['ClientToken.$']).toBe(
        `States.Hash(States.Format('${JOB_OF_STATE[name]}/{}/{}', $$.Execution.RedriveCount, $$.Execution.Id), 'MD5')`,
      );
      expect({ name, timeout: p.ExecutionTimeoutMinutes }).toEqual({ name, timeout: stack.config.emr.jobTimeoutMinutes });
      expect(typeof p.ExecutionTimeoutMinutes).toBe('number');
      expect(p.ApplicationId).toBe(FAKE_EMR_APPLICATION_ID);
      expect(p.ExecutionRoleArn).toBe(JOB_ROLE_ARN);
      // The job's outcome is not state data: nothing overwrites $.
      expect(state.ResultPath).toBeNull();

      const throttling = (state.Retry ?? []).filter((r) => r.ErrorEquals.some((e) => /^(EMR|Emr)Serverless\.ThrottlingException$/.test(e)));
      expect({ name, throttlingRetriers: throttling.length }).toEqual({ name, throttlingRetriers: 1 });
      const [retrier] = throttling;
      expect(retrier.BackoffRate).toBeGreaterThan(1);
      expect(retrier.IntervalSeconds).toBeGreaterThan(0);
      expect(retrier.MaxAttempts).toBeGreaterThanOrEqual(2);
      // A failed or timed-out Spark job is final: only transient API errors are retried.
      for (const r of state.Retry ?? []) {
        for (const e of r.ErrorEquals) expect(e).toMatch(/^(EMR|Emr)Serverless\.(Throttling|InternalServer)Exception$/);
      }
    }
  });

  test("EMR job states run their own job's script and take the run from $.run (name, arguments, tags)", () => {
    for (const { name, state } of emrStates) {
      const job = ALL_SPARK_JOBS.find((j) => j.id === JOB_OF_STATE[name])!;
      const p = state.Parameters ?? {};
      const submit = p.JobDriver.SparkSubmit;
      expect(submit.EntryPoint).toMatch(new RegExp(`^s3://[a-z0-9.-]+/spark-jobs/${job.entryPoint.replace('.', '\\.')}$`));
      expect(p['Name.$']).toBe(`States.Format('{}-${job.id}', $.run.runId)`);
      const args: string = submit['EntryPointArguments.$'];
      expect(args).toMatch(/^States\.Array\(/);
      expect(args).toContain("'--run-id', $.run.runId");
      expect(args).toContain("'--dataset', $.run.dataset");
      expect(args).toContain("'--input', $.run.inputUri");
      expect(args).toContain("'--params', $.run.parametersJson");
      expect(p.Tags).toEqual({ 'shopsight:job': job.id, 'shopsight:run-id.$': '$.run.runId' });
    }
  });

  test("Lambda states invoke the stack's functions with the documented payloads and keep their results apart", () => {
    const expected = [
      [S.validate, FUNCTION_ARN.validate, { 'input.$': '$$.Execution.Input', 'executionName.$': '$$.Execution.Name' }, '$.run'],
      [S.quality, FUNCTION_ARN.quality, { 'runId.$': '$.run.runId' }, '$.quality'],
      [S.claimLoad, FUNCTION_ARN.load, { action: 'claim', 'runId.$': '$.run.runId', 'claimToken.$': CLAIM_TOKEN }, '$.loadClaim'],
      [
        S.swap,
        FUNCTION_ARN.load,
        { action: 'swap', 'runId.$': '$.loadClaim.runId', 'manifestCreatedAt.$': '$.loadClaim.manifestCreatedAt', 'claimToken.$': '$.loadClaim.claimToken' },
        '$.load',
      ],
      [S.releaseLoad, FUNCTION_ARN.load, { action: 'fail', 'runId.$': '$.run.runId', 'claimToken.$': CLAIM_TOKEN, 'error.$': '$.error' }, null],
    ] as const;
    for (const [name, arn, parameters, resultPath] of expected) {
      const state = definition.States[name];
      expect({ name, resource: state.Resource, parameters: state.Parameters, resultPath: state.ResultPath }).toEqual({
        name,
        resource: arn,
        parameters,
        resultPath,
      });
      // Only Lambda service hiccups are retried; a function's own error (InputValidationError,
      // DataQualityError) fails the run at once.
      for (const r of state.Retry ?? []) for (const e of r.ErrorEquals) expect(e).toMatch(/^Lambda\./);
    }
  });

  test('every Task, Parallel and Map state but NotifyFailure catches States.ALL: into NotifyFailure under $.error, the load\'s states first into ReleaseServingLoad', () => {
    const catching = Object.entries(definition.States).filter(
      ([name, state]) => ['Task', 'Parallel', 'Map'].includes(state.Type) && name !== S.notifyFailure,
    );
    expect(catching.map(([name]) => name).sort()).toEqual(
      [S.validate, S.prepare, S.analytics, S.quality, ...LOAD_STATES, S.releaseLoad, S.notifySuccess].sort(),
    );
    for (const [name, state] of catching) {
      const catchers = state.Catch ?? [];
      expect({ name, catchesAll: catchers.some((c) => c.ErrorEquals.includes('States.ALL')) }).toEqual({ name, catchesAll: true });
      const expected = (LOAD_STATES as readonly string[]).includes(name)
        ? { next: S.releaseLoad, resultPath: '$.error' }
        : name === S.releaseLoad
          ? { next: S.notifyFailure, resultPath: '$.releaseError' }
          : { next: S.notifyFailure, resultPath: '$.error' };
      for (const c of catchers) expect({ name, next: c.Next, resultPath: c.ResultPath }).toEqual({ name, ...expected });
    }
    // The release then goes on to the notice, with the run's own error still in $.error.
    expect(definition.States[S.releaseLoad]).toMatchObject({ Next: S.notifyFailure, ResultPath: null });
    expect(definition.States[S.notifyFailure].Catch).toBeUndefined();
  });

  test('states inside the analytics branches catch nothing: a failed job fails the whole Parallel', () => {
    for (const { name, state, inBranch } of allStates(definition)) {
      if (inBranch) expect({ name, catch: state.Catch }).toEqual({ name, catch: undefined });
    }
  });

  test('from NotifyFailure only PipelineFailed is reachable; no catch target leads to LoadServingTables', () => {
    // The walk itself reaches the load on the happy path (so the checks below are not vacuous).
    expect(reachableFrom(definition, definition.StartAt).has(S.load)).toBe(true);
    expect([...reachableFrom(definition, S.notifyFailure)].sort()).toEqual([S.notifyFailure, S.failed].sort());

    const catchTargets = new Set(allStates(definition).flatMap(({ state }) => (state.Catch ?? []).map((c) => c.Next)));
    expect([...catchTargets].sort()).toEqual([S.notifyFailure, S.releaseLoad].sort());
    expect([...reachableFrom(definition, S.releaseLoad)].sort()).toEqual([S.releaseLoad, S.notifyFailure, S.failed].sort());
    for (const target of catchTargets) expect(reachableFrom(definition, target).has(S.load)).toBe(false);

    const failed = definition.States[S.failed];
    expect(failed).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  test("both notices publish to the stack's topic", () => {
    for (const name of [S.notifySuccess, S.notifyFailure]) {
      const state = definition.States[name];
      expect({ name, resource: state.Resource, topic: state.Parameters?.TopicArn }).toEqual({ name, resource: SNS_PUBLISH, topic: TOPIC_ARN });
      // The notice never replaces the state data the next state needs ($.error for PipelineFailed).
      expect(state.ResultPath).toBeNull();
    }
    expect(definition.States[S.notifyFailure].Parameters?.Message).toEqual({
      status: 'FAILED',
      'execution.$': '$$.Execution.Id',
      // The whole caught error, so an error without a Cause cannot break the notice.
      'error.$': '$.error',
    });
  });

  test('every Task state is overridable by name for the local runs (no name collides across branches)', () => {
    const names = taskStateNames(definition);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(
      [S.validate, S.prepare, ...ANALYTICS_STATES, S.quality, S.claimLoad, S.loadTable, S.checkTable, S.swap, S.releaseLoad, S.notifySuccess, S.notifyFailure].sort(),
    );
  });
});

describe('pipeline state machine: local executions (aws-local-stepfunctions)', () => {
  const RUN_ID = 'oct-2019';
  const INPUT = { inputPrefix: 'rees46/2019-Oct/', runId: RUN_ID };
  const EXECUTION_NAME = 'oct-2019-manual';
  const EXECUTION_ID = `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:execution:ShopSight-dev-Pipeline:${EXECUTION_NAME}`;

  const run: ValidatedRun = buildValidatedRun({
    runId: RUN_ID,
    dataset: 'rees46',
    inputPrefix: INPUT.inputPrefix,
    inputUri: `s3://${RAW_BUCKET}/${INPUT.inputPrefix}`,
    parameters: DEFAULT_PIPELINE_PARAMETERS,
    files: [
      {
        key: 'rees46/2019-Oct/2019-Oct.csv.gz',
        uri: `s3://${RAW_BUCKET}/rees46/2019-Oct/2019-Oct.csv.gz`,
        bytes: 1_798_123_456,
        table: 'raw_rees46_events',
        gzip: true,
      },
    ],
  });
  const QUALITY = { runId: RUN_ID, passed: true, checks: 14 };
  const MANIFEST_CREATED_AT = '2026-11-23T00:00:00.000Z';
  const CLAIM = {
    runId: RUN_ID,
    manifestCreatedAt: MANIFEST_CREATED_AT,
    claimToken: 'claim-token-of-the-execution',
    status: 'claimed',
    tables: [
      { table: 'products', expectedRows: 120, files: 1 },
      { table: 'user_recommendations', expectedRows: 120_000, files: 3 },
    ],
  };
  const TABLE_LOADED = { table: 'products', status: 'loaded', rowCount: 120, rerun: false, polls: 0 };
  const LOAD = { runId: RUN_ID, manifestCreatedAt: MANIFEST_CREATED_AT, status: 'loaded', tables: { products: { rowCount: 120 }, user_recommendations: { rowCount: 120_000 } } };
  const jobRun = (state: string) => ({
    ApplicationId: FAKE_EMR_APPLICATION_ID,
    JobRunId: `jr-${JOB_OF_STATE[state]}`,
    State: 'SUCCESS',
  });
  const DEFAULTS: Record<string, unknown> = {
    [S.validate]: run,
    ...Object.fromEntries(Object.keys(JOB_OF_STATE).map((state) => [state, jobRun(state)])),
    [S.quality]: QUALITY,
    [S.claimLoad]: CLAIM,
    [S.loadTable]: TABLE_LOADED,
    [S.swap]: LOAD,
    [S.releaseLoad]: { runId: RUN_ID, released: true, killed: 0 },
    [S.notifySuccess]: { MessageId: 'msg-success' },
    [S.notifyFailure]: { MessageId: 'msg-failure' },
  };
  // No real pauses between retries (the structure tests pin the configured intervals); a retry
  // that should not happen then costs milliseconds and shows up as an extra call.
  const NO_RETRY_PAUSES = Object.fromEntries(allStates(definition).filter(({ state }) => state.Retry).map(({ name }) => [name, 0]));

  const execute = (
    handlers: Record<string, TaskHandler> = {},
    { input = INPUT as unknown, name = EXECUTION_NAME } = {},
  ): Promise<LocalExecution> =>
    runLocally(definition, input, {
      handlers,
      defaults: DEFAULTS,
      retryIntervalOverrides: NO_RETRY_PAUSES,
      execution: { Id: EXECUTION_ID.replace(EXECUTION_NAME, name), Name: name },
    });

  /** A handler that fails the first `times` calls with `error`, then returns `result`. */
  const failingTimes = (times: number, error: () => Error, result: unknown): TaskHandler => {
    let calls = 0;
    return () => {
      calls += 1;
      if (calls <= times) throw error();
      return result;
    };
  };

  const failureNotice = (execution: LocalExecution) => {
    const notices = execution.callsTo(S.notifyFailure);
    expect(notices).toHaveLength(1);
    expect(notices[0].input).toMatchObject({ TopicArn: TOPIC_ARN, Subject: 'ShopSight pipeline failed' });
    const message = notices[0].input.Message as { status: string; execution: string; error: { Error: string; Cause: string } };
    return { status: message.status, execution: message.execution, error: message.error.Error, cause: message.error.Cause };
  };

  test('a: the success path calls every stage once, in order, with the run rendered into each request', async () => {
    const execution = await execute();
    expect(execution.outcome.status).toBe('SUCCEEDED');

    const order = execution.calls.map((c) => c.state);
    expect(order).toHaveLength(8 + ANALYTICS_STATES.length);
    expect(order.slice(0, 2)).toEqual([S.validate, S.prepare]);
    expect(order.slice(2, 2 + ANALYTICS_STATES.length).sort()).toEqual(ANALYTICS_STATES);
    expect(order.slice(2 + ANALYTICS_STATES.length)).toEqual([S.quality, S.claimLoad, S.loadTable, S.loadTable, S.swap, S.notifySuccess]);
    expect(execution.callsTo(S.notifyFailure)).toEqual([]);

    expect(execution.callsTo(S.validate)[0].input).toEqual({ input: INPUT, executionName: EXECUTION_NAME });

    // The library renders Parameters (States.Format, States.Array, States.UUID) before the handler:
    // each EMR handler gets the StartJobRun request, not the state input.
    const tokens = new Set<string>();
    for (const state of Object.keys(JOB_OF_STATE)) {
      const calls = execution.callsTo(state);
      expect({ state, calls: calls.length }).toEqual({ state, calls: 1 });
      const request = calls[0].input;
      const jobId = JOB_OF_STATE[state];
      expect(request.Name).toBe(`${RUN_ID}-${jobId}`);
      expect(request.JobDriver.SparkSubmit.EntryPointArguments).toEqual([
        '--run-id', RUN_ID,
        '--dataset', 'rees46',
        '--input', run.inputUri,
        '--curated', `s3://${CURATED_BUCKET}`,
        '--exports', `s3://${EXPORT_BUCKET}`,
        '--params', run.parametersJson,
      ]);
      expect(JSON.parse(request.JobDriver.SparkSubmit.EntryPointArguments[11])).toEqual(DEFAULT_PIPELINE_PARAMETERS);
      expect(request.Tags).toEqual({ 'shopsight:job': jobId, 'shopsight:run-id': RUN_ID });
      expect(request).toMatchObject({ ApplicationId: FAKE_EMR_APPLICATION_ID, ExecutionRoleArn: JOB_ROLE_ARN, ExecutionTimeoutMinutes: 120 });
      expect(request.ClientToken).toMatch(MD5_HEX);
      tokens.add(request.ClientToken);
    }
    expect(tokens.size).toBe(Object.keys(JOB_OF_STATE).length);

    expect(execution.callsTo(S.quality)[0].input).toEqual({ runId: RUN_ID });
    const claim = execution.callsTo(S.claimLoad)[0].input;
    expect(claim).toEqual({ action: 'claim', runId: RUN_ID, claimToken: expect.stringMatching(MD5_HEX) });
    // The Map gives each table's step the claim and its table.
    expect(execution.callsTo(S.loadTable).map((c) => c.input)).toEqual(
      CLAIM.tables.map((t) => ({
        action: 'load-table',
        runId: RUN_ID,
        manifestCreatedAt: MANIFEST_CREATED_AT,
        claimToken: CLAIM.claimToken,
        table: t.table,
        expectedRows: t.expectedRows,
      })),
    );
    expect(execution.callsTo(S.swap)[0].input).toEqual({ action: 'swap', runId: RUN_ID, manifestCreatedAt: MANIFEST_CREATED_AT, claimToken: CLAIM.claimToken });
    expect(execution.callsTo(S.releaseLoad)).toEqual([]);
    expect(execution.callsTo(S.notifySuccess)[0].input).toEqual({
      TopicArn: TOPIC_ARN,
      Subject: 'ShopSight pipeline succeeded',
      Message: { status: 'SUCCEEDED', execution: EXECUTION_ID, runId: RUN_ID, dataset: 'rees46', quality: QUALITY, load: LOAD },
    });

    // The final state data: the input, the run and the two Lambda results; job runs and notices dropped.
    if (execution.outcome.status !== 'SUCCEEDED') throw new Error('unreachable');
    expect(execution.outcome.output).toEqual({ ...INPUT, run, quality: QUALITY, loadClaim: CLAIM, load: LOAD });
  });

  test("every later stage takes the run ID from ValidateInput's result ($.run), not from the execution input", async () => {
    // No runId in the input: validate-input derives it from the execution name.
    const name = 'Nightly-2019-10-31T03:00';
    const derivedRunId = runIdFromExecutionName(name);
    const execution = await execute(
      { ValidateInput: () => ({ ...run, runId: derivedRunId }) },
      { input: { inputPrefix: INPUT.inputPrefix }, name },
    );
    expect(execution.outcome.status).toBe('SUCCEEDED');
    expect(execution.callsTo(S.validate)[0].input).toEqual({ input: { inputPrefix: INPUT.inputPrefix }, executionName: name });
    for (const state of Object.keys(JOB_OF_STATE)) {
      const request = execution.callsTo(state)[0].input;
      const runIdArg = request.JobDriver.SparkSubmit.EntryPointArguments.slice(0, 2);
      expect({ state, name: request.Name, runIdArg, tag: request.Tags['shopsight:run-id'] }).toEqual({
        state,
        name: `${derivedRunId}-${JOB_OF_STATE[state]}`,
        runIdArg: ['--run-id', derivedRunId],
        tag: derivedRunId,
      });
    }
    expect(execution.callsTo(S.quality)[0].input).toEqual({ runId: derivedRunId });
    expect(execution.callsTo(S.claimLoad)[0].input).toMatchObject({ action: 'claim', runId: derivedRunId });
    expect(execution.callsTo(S.notifySuccess)[0].input.Message.runId).toBe(derivedRunId);
  });

  test('b: a failed analytics job is not retried, never reaches the gate or the load, is notified once and fails the run', async () => {
    const execution = await execute({
      RecommendationsJob: () => {
        throw serviceError('EMRServerless.JobFailed', 'Spark job failed');
      },
    });
    expect(execution.outcome).toEqual({ status: 'FAILED', error: 'EMRServerless.JobFailed', cause: 'Spark job failed' });
    expect(execution.callsTo('RecommendationsJob')).toHaveLength(1);
    for (const state of [S.quality, S.claimLoad, S.loadTable, S.swap, S.releaseLoad, S.notifySuccess]) expect({ state, calls: execution.callsTo(state) }).toEqual({ state, calls: [] });
    expect(failureNotice(execution)).toEqual({
      status: 'FAILED',
      execution: EXECUTION_ID,
      error: 'EMRServerless.JobFailed',
      cause: 'Spark job failed',
    });
    expect(execution.events.filter((e) => e.type === 'StateCaught').map((e) => e.state.name)).toEqual([S.analytics]);
    expect(execution.events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'EMRServerless.JobFailed', Cause: 'Spark job failed' });
  });

  test('c: invalid input fails fast: no job runs, the notice quotes the problem, the run fails with InputValidationError', async () => {
    const problem = 's3://raw/rees46/x.csv is empty';
    const execution = await execute({
      ValidateInput: () => {
        throw lambdaError('InputValidationError', problem);
      },
    });
    // Validated once (not retried), then straight to the notice: no EMR job, gate or load.
    expect(execution.calls.map((c) => c.state)).toEqual([S.validate, S.notifyFailure]);
    const notice = failureNotice(execution);
    expect(notice.error).toBe('InputValidationError');
    expect(JSON.parse(notice.cause)).toMatchObject({ errorType: 'InputValidationError', errorMessage: problem });

    expect(execution.outcome).toMatchObject({ status: 'FAILED', error: 'InputValidationError' });
    if (execution.outcome.status !== 'FAILED') throw new Error('unreachable');
    expect(execution.outcome.cause).toBe(notice.cause);
  });

  test('d: a failed data-quality gate never loads the serving tables', async () => {
    const execution = await execute({
      DataQualityGate: () => {
        throw lambdaError('DataQualityError', 'events: 41 rows in curated, 42 in the export manifest');
      },
    });
    expect(execution.callsTo(S.quality)).toHaveLength(1);
    for (const state of [S.claimLoad, S.loadTable, S.releaseLoad]) expect(execution.callsTo(state)).toEqual([]);
    expect(execution.callsTo(S.notifySuccess)).toEqual([]);
    expect(failureNotice(execution).error).toBe('DataQualityError');
    expect(execution.outcome).toMatchObject({ status: 'FAILED', error: 'DataQualityError' });
  });

  test.each(['EMRServerless.ThrottlingException', 'EmrServerless.ThrottlingException', 'EMRServerless.InternalServerException'])(
    'e: PrepareJob throttled once (%s) is retried and the run succeeds',
    async (errorName) => {
      const execution = await execute({
        PrepareJob: failingTimes(1, () => serviceError(errorName, 'Rate exceeded'), jobRun(S.prepare)),
      });
      expect(execution.outcome.status).toBe('SUCCEEDED');
      expect(execution.callsTo(S.prepare)).toHaveLength(2);
      expect(execution.callsTo(S.swap)).toHaveLength(1);
      expect(execution.callsTo(S.notifyFailure)).toEqual([]);
      expect(execution.events.filter((e) => e.type === 'StateRetried').map((e) => e.state.name)).toEqual([S.prepare]);
      // A retried StartJobRun carries the same token, so EMR never starts a second run for it.
      const [first, second] = execution.callsTo(S.prepare).map((c) => c.input.ClientToken);
      expect(first).toMatch(MD5_HEX);
      expect(second).toBe(first);
    },
  );

  test('e: a throttled analytics job inside the Parallel is retried on its own and the run succeeds', async () => {
    const execution = await execute({
      SegmentsJob: failingTimes(2, () => serviceError('EMRServerless.ThrottlingException', 'Rate exceeded'), jobRun('SegmentsJob')),
    });
    expect(execution.outcome.status).toBe('SUCCEEDED');
    expect(execution.callsTo('SegmentsJob')).toHaveLength(3);
    for (const state of ANALYTICS_STATES.filter((s) => s !== 'SegmentsJob')) expect(execution.callsTo(state)).toHaveLength(1);
    expect(execution.callsTo(S.swap)).toHaveLength(1);
  });

  test('e: throttling that never ends gives up after MaxAttempts retries and fails the run through the notice', async () => {
    const maxAttempts = definition.States[S.prepare].Retry![0].MaxAttempts!;
    const execution = await execute({
      PrepareJob: () => {
        throw serviceError('EMRServerless.ThrottlingException', 'Rate exceeded');
      },
    });
    expect(execution.callsTo(S.prepare)).toHaveLength(1 + maxAttempts);
    expect(ANALYTICS_STATES.flatMap((s) => execution.callsTo(s))).toEqual([]);
    expect(failureNotice(execution).error).toBe('EMRServerless.ThrottlingException');
    expect(execution.outcome).toMatchObject({ status: 'FAILED', error: 'EMRServerless.ThrottlingException' });
  });

  test('a throttled Lambda invocation is retried; the gate then passes and the load runs', async () => {
    const execution = await execute({
      DataQualityGate: failingTimes(1, () => serviceError('Lambda.TooManyRequestsException', 'Rate Exceeded.'), QUALITY),
    });
    expect(execution.outcome.status).toBe('SUCCEEDED');
    expect(execution.callsTo(S.quality)).toHaveLength(2);
    expect(execution.callsTo(S.swap)).toHaveLength(1);
  });

  test('a failed table load releases the claim, is notified with its own error and fails the run; nothing is swapped', async () => {
    const execution = await execute({
      LoadServingTable: (input: { table: string }) => {
        if (input.table === 'user_recommendations') throw lambdaError('ServingLoadError', 'user_recommendations: load: Error 1366: Incorrect integer value');
        return TABLE_LOADED;
      },
    });
    expect(execution.callsTo(S.swap)).toEqual([]);
    expect(execution.callsTo(S.notifySuccess)).toEqual([]);
    const [release] = execution.callsTo(S.releaseLoad);
    expect(release.input).toMatchObject({ action: 'fail', runId: RUN_ID, claimToken: execution.callsTo(S.claimLoad)[0].input.claimToken });
    expect(release.input.error.Error).toBe('ServingLoadError');
    const notice = failureNotice(execution);
    expect(notice.error).toBe('ServingLoadError');
    expect(JSON.parse(notice.cause).errorMessage).toMatch(/^user_recommendations: load: Error 1366/);
    expect(execution.outcome).toMatchObject({ status: 'FAILED', error: 'ServingLoadError' });
  });

  test('a refused claim and a failed release still end in the failure notice with the first error', async () => {
    const execution = await execute({
      ClaimServingLoad: () => {
        throw lambdaError('ServingLoadError', 'load_runs: claim run: run "x" is loading');
      },
      ReleaseServingLoad: () => {
        throw lambdaError('Error', 'database unreachable');
      },
    });
    expect(execution.callsTo(S.loadTable)).toEqual([]);
    expect(execution.callsTo(S.releaseLoad)).toHaveLength(1);
    expect(failureNotice(execution).error).toBe('ServingLoadError');
    expect(execution.outcome).toMatchObject({ status: 'FAILED', error: 'ServingLoadError' });
  });
});
