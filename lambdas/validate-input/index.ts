/**
 * validate-input: the state machine's first state. Resolves the execution input, lists the input
 * files under `inputPrefix` in the raw bucket and checks, from the first 64 KiB of each, that every
 * file is CSV text with the header of one raw table of the contract and that together they make one
 * dataset. Fails fast with InputValidationError (named object, named problem) so that a wrong
 * upload costs seconds here instead of a failed Spark job later.
 *
 * Event: { "input": <execution input>, "executionName": <$$.Execution.Name> }
 * Environment: RAW_BUCKET. Locally, AWS_ENDPOINT_URL_S3 points the SDK at another S3 (the tests'
 * s3rver); the SDK addresses an IP-address endpoint path-style by itself.
 */
import { GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { resolveExecutionInput, ResolvedExecutionInput } from '../../core/config/execution-input';
import { RawTableDef } from '../../core/contract';
import { InputValidationError, s3Uri } from '../../core/input/errors';
import { mapLimit } from '../shared/map-limit';
import { buildValidatedRun, ValidatedFile, ValidatedRun } from './output';
import { checkDatasetConsistency, decodeSample, isIgnoredKey, recogniseSample, SAMPLE_BYTES } from '../../core/input/recognise';

export { InputValidationError } from '../../core/input/errors';
export type { ValidatedFile, ValidatedRun } from './output';

export interface ValidateInputEvent {
  readonly input: unknown;
  readonly executionName: string;
}

/** Objects read at once: enough to hide S3 latency, few enough for the SDK's socket pool and the Lambda's memory. */
const READ_CONCURRENCY = 8;
/** Per-file problems quoted in one failure; the rest are counted, keeping the cause readable. */
const MAX_REPORTED_PROBLEMS = 5;

let client: S3Client | undefined;
/** Created on first use, not at import, so that tests can set the endpoint variables first. */
const s3 = (): S3Client => (client ??= new S3Client({}));

interface ListedObject {
  readonly key: string;
  readonly bytes: number;
}

async function listInputObjects(bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  for await (const page of paginateListObjectsV2({ client: s3() }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined || isIgnoredKey(object.Key)) continue;
      objects.push({ key: object.Key, bytes: object.Size ?? 0 });
    }
  }
  return objects;
}

async function readSample(bucket: string, key: string, bytes: number): Promise<Uint8Array> {
  const length = Math.min(bytes, SAMPLE_BYTES);
  const response = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${length - 1}` }));
  if (!response.Body) throw new Error(`GetObject ${s3Uri(bucket, key)} returned no body`);
  return response.Body.transformToByteArray();
}

type Inspection = { readonly file: ValidatedFile; readonly table: RawTableDef } | { readonly problem: string };

/** One object's verdict; only validation problems are caught, S3 errors reject the whole run. */
async function inspectObject(bucket: string, object: ListedObject): Promise<Inspection> {
  const uri = s3Uri(bucket, object.key);
  try {
    if (object.bytes === 0) throw new InputValidationError(`${uri} is empty (0 bytes)`);
    const sample = await readSample(bucket, object.key, object.bytes);
    const decoded = await decodeSample(sample, uri, object.bytes <= SAMPLE_BYTES);
    const table = recogniseSample(decoded.text, uri);
    return { file: { key: object.key, uri, bytes: object.bytes, table: table.name, gzip: decoded.gzip }, table };
  } catch (error) {
    if (error instanceof InputValidationError) return { problem: error.message };
    throw error;
  }
}

function resolveInput(event: ValidateInputEvent, bucket: string): ResolvedExecutionInput {
  if (typeof event?.executionName !== 'string') {
    // A wiring bug in the state machine, not the user's input: keep it a plain Error.
    throw new Error('validate-input expects the event {"input": <execution input>, "executionName": <execution name>}');
  }
  try {
    return resolveExecutionInput(event.input, bucket, event.executionName);
  } catch (error) {
    throw new InputValidationError((error as Error).message);
  }
}

async function validate(event: ValidateInputEvent, bucket: string): Promise<ValidatedRun> {
  const input = resolveInput(event, bucket);
  const inputUri = s3Uri(bucket, input.inputPrefix);

  const objects = await listInputObjects(bucket, input.inputPrefix);
  if (objects.length === 0) {
    throw new InputValidationError(
      `No input files under ${inputUri}: upload the dataset's CSV files (plain or gzip) there, or fix inputPrefix`,
    );
  }

  const inspections = await mapLimit(objects, READ_CONCURRENCY, (object) => inspectObject(bucket, object));
  const problems = inspections.flatMap((i) => ('problem' in i ? [i.problem] : []));
  if (problems.length === 1) throw new InputValidationError(problems[0]);
  if (problems.length > 1) {
    const more = problems.length - MAX_REPORTED_PROBLEMS;
    throw new InputValidationError(
      `${problems.length} of ${objects.length} input files under ${inputUri} are not valid: ` +
        problems.slice(0, MAX_REPORTED_PROBLEMS).join(' | ') +
        (more > 0 ? ` | and ${more} more` : ''),
    );
  }

  const recognised = inspections.flatMap((i) => ('file' in i ? [i] : []));
  const dataset = checkDatasetConsistency(
    recognised.map((r) => ({ uri: r.file.uri, table: r.table })),
    input.dataset,
    inputUri,
  );
  return buildValidatedRun({
    runId: input.runId,
    dataset,
    inputPrefix: input.inputPrefix,
    inputUri,
    parameters: input.parameters,
    files: recognised.map((r) => r.file),
  });
}

export async function handler(event: ValidateInputEvent): Promise<ValidatedRun> {
  const bucket = process.env.RAW_BUCKET;
  if (!bucket) throw new Error('RAW_BUCKET is not set');
  const started = Date.now();
  try {
    const run = await validate(event, bucket);
    log({
      outcome: 'accepted',
      runId: run.runId,
      dataset: run.dataset,
      inputUri: run.inputUri,
      fileCount: run.fileCount,
      totalBytes: run.totalBytes,
      tableFileCounts: run.tableFileCounts,
      durationMs: Date.now() - started,
    });
    return run;
  } catch (error) {
    const rejected = error instanceof InputValidationError;
    log({
      outcome: rejected ? 'rejected' : 'error',
      executionName: event?.executionName,
      errorName: (error as Error)?.name,
      message: (error as Error)?.message,
      durationMs: Date.now() - started,
    });
    throw error;
  }
}

/** One JSON line per invocation, for CloudWatch Logs Insights. */
const log = (fields: Record<string, unknown>): void => console.log(JSON.stringify({ message: 'validate-input', ...fields }));
