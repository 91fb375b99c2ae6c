/**
 * Runs an ASL definition with aws-local-stepfunctions, every Task state replaced by a local handler
 * that records its (Parameters-rendered) input, so that no test ever calls AWS.
 *
 * Node 20: aws-local-stepfunctions 3.0.0 declares node >= 22 and uses Promise.withResolvers (Node
 * 22+) for every Task state's timeout. On Node 20 each Task then fails with a TypeError, which the
 * definition's `States.ALL` catchers swallow into the failure branch. `installPromiseWithResolvers`
 * adds the standard method when it is missing; it is the only Node 22 API the library uses
 * (AbortSignal.any exists since Node 20.3).
 *
 * Errors: the library matches Retry/Catch on a thrown error's `name` and puts its `message` in the
 * caught error's `Cause`; a Fail state's Error/Cause come back as `name`/`message` of the
 * `ExecutionError`'s `cause`. `lambdaError` and `serviceError` build errors shaped like the ones
 * Step Functions reports for a Lambda function error and a service integration error.
 */
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';

export function installPromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: () => unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
// The library looks the method up when a Task state runs, so installing it on import is early enough.
installPromiseWithResolvers();

/** A state machine's ASL, as far as the tests need to type it. */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Parameters?: Record<string, any>;
  readonly ResultPath?: string | null;
  readonly Retry?: ReadonlyArray<{
    ErrorEquals: string[];
    IntervalSeconds?: number;
    MaxAttempts?: number;
    BackoffRate?: number;
    MaxDelaySeconds?: number;
    JitterStrategy?: string;
  }>;
  readonly Catch?: ReadonlyArray<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  readonly Branches?: ReadonlyArray<AslDefinition>;
  readonly ErrorPath?: string;
  readonly CausePath?: string;
  readonly [field: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly Comment?: string;
  readonly TimeoutSeconds?: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type TaskHandler = (input: any) => Promise<unknown> | unknown;

/**
 * What a Node.js Lambda function's error looks like to Step Functions: Error is the error's type
 * (its `name`), Cause the runtime's JSON error object as a string.
 */
export function lambdaError(errorType: string, errorMessage: string): Error {
  const trace = [`${errorType}: ${errorMessage}`, '    at handler (/var/task/index.js:1:1)'];
  const error = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  error.name = errorType;
  return error;
}

/** A service integration error (EMR Serverless, SNS): Error is the name, Cause the message. */
export function serviceError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/** Every Task state of a definition, in its branches too. */
/**
 * A deep copy made in this realm. Not structuredClone: under Jest that builds objects with the outer
 * realm's Object.prototype, which the library's isPlainObj() rejects, so it would silently leave
 * nested Parameters such as SNS `Message: { "error.$": … }` unrendered.
 */
export const jsonCopy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function taskStateNames(definition: AslDefinition): string[] {
  const names: string[] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') names.push(name);
    for (const branch of state.Branches ?? []) names.push(...taskStateNames(branch));
    const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
    if (processor) names.push(...taskStateNames(processor));
  }
  return names;
}

export interface TaskCall {
  readonly state: string;
  /** The input the task's service would have received: after InputPath and Parameters. */
  readonly input: any;
}

export type ExecutionOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: any }
  | { readonly status: 'FAILED'; readonly error: string; readonly cause: string };

export interface LocalExecution {
  readonly calls: TaskCall[];
  readonly outcome: ExecutionOutcome;
  /** The library's execution event log (StateEntered, StateRetried, StateCaught, ExecutionFailed…). */
  readonly events: any[];
  callsTo(state: string): TaskCall[];
}

export interface LocalRunOptions {
  /** Per Task state name; a state without one returns `defaults[state]` (or {}) and is still recorded. */
  readonly handlers?: Record<string, TaskHandler>;
  readonly defaults?: Record<string, unknown>;
  /** Milliseconds to wait before each retry, per state (overrides IntervalSeconds, BackoffRate, jitter). */
  readonly retryIntervalOverrides?: Record<string, number>;
  /** Context object fields besides Input and StartTime (which the library sets). */
  readonly execution: { readonly Id: string; readonly Name: string };
  /** Called with each event of the execution log as it happens (the rehearsal prints them). */
  readonly onEvent?: (event: any) => void;
}

/**
 * A Task state without TimeoutSeconds runs for up to 99999999 s on AWS; aws-local-stepfunctions
 * 3.0.0 defaults to 60 s instead, which would time out every Spark job of a rehearsal. This writes
 * the longest timeout Node's setTimeout can hold (2^31-1 ms, 24.8 days) into such states (of a copy).
 */
export const AWS_DEFAULT_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
function withAwsTaskTimeoutDefault(definition: AslDefinition): void {
  for (const state of Object.values(definition.States) as Record<string, unknown>[]) {
    if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
      state.TimeoutSeconds = AWS_DEFAULT_TASK_TIMEOUT_SECONDS;
    }
    for (const branch of (state.Branches as AslDefinition[] | undefined) ?? []) withAwsTaskTimeoutDefault(branch);
    const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
    if (processor) withAwsTaskTimeoutDefault(processor);
  }
}

export async function runLocally(definition: AslDefinition, input: unknown, options: LocalRunOptions): Promise<LocalExecution> {
  const tasks = taskStateNames(definition);
  const unknown = Object.keys(options.handlers ?? {}).filter((name) => !tasks.includes(name));
  if (unknown.length > 0) throw new Error(`handlers for states that are not Task states of the definition: ${unknown.join(', ')}`);

  const calls: TaskCall[] = [];
  const taskResourceLocalHandlers = Object.fromEntries(
    tasks.map((state) => [
      state,
      async (taskInput: Json): Promise<Json> => {
        calls.push({ state, input: jsonCopy(taskInput) });
        const handler = options.handlers?.[state];
        const result = handler ? await handler(taskInput) : (options.defaults?.[state] ?? {});
        return (result ?? null) as Json;
      },
    ]),
  );

  // The definition is copied: the library and its validator may annotate the object they get.
  const copy = jsonCopy(definition);
  withAwsTaskTimeoutDefault(copy);
  const machine = new StateMachine(copy as never);
  const execution = machine.run(input as Json, {
    context: { Execution: { Id: options.execution.Id, Name: options.execution.Name, RedriveCount: 0 } },
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides: options.retryIntervalOverrides },
  });
  const events: any[] = [];
  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      options.onEvent?.(event);
    }
  })();

  let outcome: ExecutionOutcome;
  try {
    outcome = { status: 'SUCCEEDED', output: await execution.result };
  } catch (e) {
    if (!(e instanceof ExecutionError)) throw e;
    const failure = e.cause as Error;
    outcome = { status: 'FAILED', error: failure.name, cause: failure.message };
  }
  await logging;
  return { calls, outcome, events, callsTo: (state) => calls.filter((c) => c.state === state) };
}
