import { assertRunId, READY_MARKER } from '../contract/layout';
import { PipelineParameters, resolvePipelineParameters } from './pipeline-params';

/**
 * The state machine's execution input, as a user types it in the Step Functions console:
 *
 *   { "dataset": "rees46", "inputPrefix": "rees46/2019-Oct/", "runId": "oct-2019",
 *     "parameters": { "recommendations": { "rank": 64 } } }
 *
 * Only `inputPrefix` is required. `dataset` defaults to "auto" (recognised from the files' headers);
 * `runId` defaults to the execution name; `parameters` overrides DEFAULT_PIPELINE_PARAMETERS.
 */
export const DATASET_KINDS = ['rees46', 'retailrocket'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface ExecutionInput {
  readonly dataset?: DatasetKind | 'auto';
  readonly inputPrefix: string;
  readonly runId?: string;
  readonly parameters?: unknown;
}

export interface ResolvedExecutionInput {
  readonly dataset: DatasetKind | 'auto';
  /** Key prefix inside the raw bucket, without a leading slash. */
  readonly inputPrefix: string;
  readonly runId: string;
  readonly parameters: PipelineParameters;
}

const KNOWN_KEYS = ['dataset', 'inputPrefix', 'runId', 'parameters'];

/** Execution names may hold upper case and characters an S3 folder or Athena value should not. */
export function runIdFromExecutionName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 63);
  return cleaned || 'run';
}

/**
 * Validates the input and fills its defaults. Throws an Error naming the field and what is allowed;
 * the validate-input Lambda turns that into the execution's failure cause.
 */
export function resolveExecutionInput(raw: unknown, rawBucketName: string, executionName: string): ResolvedExecutionInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error('The execution input must be a JSON object such as {"inputPrefix": "rees46/"}');
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw new Error(`Unknown execution input field "${key}"; allowed: ${KNOWN_KEYS.join(', ')}`);
    }
  }

  const dataset = input.dataset ?? 'auto';
  if (dataset !== 'auto' && !DATASET_KINDS.includes(dataset as DatasetKind)) {
    throw new Error(`dataset must be one of auto, ${DATASET_KINDS.join(', ')}; got ${JSON.stringify(dataset)}`);
  }

  if (typeof input.inputPrefix !== 'string' || input.inputPrefix.trim() === '') {
    throw new Error('inputPrefix is required: the folder (key prefix) in the raw bucket that holds the input files, e.g. "rees46/"');
  }
  let inputPrefix = input.inputPrefix.trim();
  const s3Uri = /^s3:\/\/([^/]+)\/?(.*)$/.exec(inputPrefix);
  if (s3Uri) {
    if (s3Uri[1] !== rawBucketName) {
      throw new Error(`inputPrefix ${inputPrefix} is not in the raw bucket ${rawBucketName}; upload the files there`);
    }
    inputPrefix = s3Uri[2];
  }
  // The `_READY` trigger passes the marker's key: the run reads the marker's folder.
  inputPrefix = inputPrefix.replace(/^\/+/, '');
  if (inputPrefix === READY_MARKER || inputPrefix.endsWith(`/${READY_MARKER}`)) {
    inputPrefix = inputPrefix.slice(0, -READY_MARKER.length);
  }

  let runId: string;
  if (input.runId === undefined) {
    runId = runIdFromExecutionName(executionName);
  } else if (typeof input.runId === 'string') {
    runId = input.runId;
  } else {
    throw new Error(`runId must be a string, got ${JSON.stringify(input.runId)}`);
  }
  assertRunId(runId);

  return { dataset: dataset as DatasetKind | 'auto', inputPrefix, runId, parameters: resolvePipelineParameters(input.parameters) };
}
