/**
 * The pure half of validate-input: which listed keys are input files, how the first bytes of a file
 * decode to its header, which raw table a header belongs to, and whether a set of recognised files
 * makes one usable dataset. No S3 here; the handler feeds it bytes and keys.
 */
import * as zlib from 'zlib';
import { DatasetKind } from '../config/execution-input';
import { RAW_TABLES, RawTableDef } from '../contract';
import { InputValidationError } from './errors';

/** Bytes read from the start of each object: a header line is far shorter, and 64 KiB is one cheap ranged GET. */
export const SAMPLE_BYTES = 64 * 1024;

/**
 * Cap on the text decompressed from a gzip sample. 64 KiB of CSV inflates to ~300 KiB, but a
 * highly compressible object (long runs of one byte) can inflate ~1000:1; with several objects read
 * at once that would exhaust the Lambda's memory for nothing, since only the first line matters.
 */
export const MAX_DECOMPRESSED_SAMPLE_BYTES = 1024 * 1024;

/** Header text shown in an error message: enough to recognise the file, short enough for the failure cause. */
const SHOWN_HEADER_CHARS = 200;

/**
 * Keys that are not input files: "folder" placeholders the console creates (ending in "/"), and
 * hidden or marker files whose base name starts with "_" or "." (READY_MARKER `_READY`, Spark's
 * `_SUCCESS`, editors' dot files). Athena and Spark skip the same names when they read a folder.
 */
export function isIgnoredKey(key: string): boolean {
  if (key.endsWith('/')) return true;
  const baseName = key.slice(key.lastIndexOf('/') + 1);
  return baseName.startsWith('_') || baseName.startsWith('.');
}

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Decompresses as much of a gzip stream's beginning as `compressed` holds, up to `maxBytes`.
 * Z_SYNC_FLUSH as the finishing flush makes zlib hand over what it has instead of failing with
 * "unexpected end of file" when the stream is cut short, which a ranged read always does.
 * `complete` is false when the output was cut at `maxBytes`.
 */
export function gunzipPrefix(compressed: Uint8Array, maxBytes: number): Promise<{ bytes: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const gunzip = zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (complete: boolean): void => {
      if (settled) return;
      settled = true;
      resolve({ bytes: Buffer.concat(chunks).subarray(0, maxBytes), complete });
    };
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) {
        settle(false);
        gunzip.destroy();
      }
    });
    gunzip.on('end', () => settle(true));
    gunzip.on('error', (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
    gunzip.end(compressed);
  });
}

export interface DecodedSample {
  /** Text of the sample, without a byte order mark. */
  readonly text: string;
  readonly gzip: boolean;
}

/**
 * Turns the first bytes of an object into text, gunzipping them if they start with the gzip magic.
 * `wholeObject` says whether `sample` is the entire object: when it is not, a multi-byte UTF-8
 * character cut in two at the end of the sample is expected and is not a decoding error.
 * Throws InputValidationError naming `uri` for binary content (a NUL byte or invalid UTF-8 in the
 * header line, the text up to the first LF) or a corrupt gzip stream.
 */
export async function decodeSample(sample: Uint8Array, uri: string, wholeObject: boolean): Promise<DecodedSample> {
  const gzip = isGzip(sample);
  let bytes: Uint8Array = sample;
  let complete = wholeObject;
  if (gzip) {
    try {
      const inflated = await gunzipPrefix(sample, MAX_DECOMPRESSED_SAMPLE_BYTES);
      bytes = inflated.bytes;
      complete = wholeObject && inflated.complete;
    } catch (error) {
      throw new InputValidationError(
        `${uri} starts like a gzip file but cannot be decompressed (${(error as Error).message}); upload it again or uncompressed`,
      );
    }
  }
  const binary = (): InputValidationError =>
    new InputValidationError(`${uri} is not a CSV text file (binary content)${gzip ? ' after gunzip' : ''}`);
  // Only the header line decides: UTF-8 text never holds a NUL byte, and UTF-16 and most binary
  // formats have one (or bytes that are not UTF-8) in their first line. A NUL, another control byte
  // or invalid UTF-8 in a later line is one bad row, which the readers reject (control_character),
  // not a reason to refuse the file.
  const lf = bytes.indexOf(0x0a);
  const header = lf === -1 ? bytes : bytes.subarray(0, lf);
  if (header.includes(0)) throw binary();
  let text: string;
  try {
    // The decoder drops a leading UTF-8 byte order mark (ignoreBOM defaults to false), as Excel writes one.
    // `stream` keeps a character cut at the end of a partial sample pending instead of rejecting it.
    text = new TextDecoder('utf-8', { fatal: true }).decode(header, { stream: lf === -1 && !complete });
  } catch {
    throw binary();
  }
  // The rest as the local reader decodes a line it reads in Node: invalid UTF-8 → U+FFFD.
  if (lf !== -1) text += new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes.subarray(lf), { stream: !complete });
  return { text, gzip };
}

/**
 * The first line of `text` as both engines' readers split lines: at LF only, one trailing CR
 * removed (CRLF files). A lone CR is content, so a CR-only file is one long line and is refused
 * here, before any Spark job starts, rather than by prepare.
 */
export function firstLine(text: string): string {
  const end = text.indexOf('\n');
  const line = end === -1 ? text : text.slice(0, end);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * Column names of a CSV header line, exactly as written: the readers compare the header text
 * exactly (core/contract/types.ts), so a quoted or padded name is not the dataset's header and must
 * not pass validation only to fail in prepare.
 */
export function parseHeaderLine(line: string): string[] {
  return line.split(',');
}

/**
 * The raw table whose header `columns` is: the table's `header`, followed by none or a leading
 * part of its `optionalTrailingColumns` (the RetailRocket sample's extra `datetime`). Names match
 * exactly, case included, as the public datasets write them.
 */
export function recogniseHeader(columns: readonly string[], tables: readonly RawTableDef[] = RAW_TABLES): RawTableDef | undefined {
  return tables.find((table) => {
    const allowed = [...table.header, ...(table.optionalTrailingColumns ?? [])];
    return (
      columns.length >= table.header.length &&
      columns.length <= allowed.length &&
      columns.every((name, i) => name === allowed[i])
    );
  });
}

/** The layouts a header may have, for error messages: `table: col,col[,optional]`. */
export function describeRawLayouts(tables: readonly RawTableDef[] = RAW_TABLES): string {
  return tables
    .map((t) => {
      const optional = (t.optionalTrailingColumns ?? []).map((c) => `[,${c}]`).join('');
      return `${t.name}: ${t.header.join(',')}${optional}`;
    })
    .join('; ');
}

/** Recognises the decoded sample of `uri`, or throws InputValidationError naming the header found and the layouts expected. */
export function recogniseSample(text: string, uri: string): RawTableDef {
  const line = firstLine(text);
  const table = recogniseHeader(parseHeaderLine(line));
  if (table) return table;
  const shown = line.length > SHOWN_HEADER_CHARS ? `${line.slice(0, SHOWN_HEADER_CHARS)}…` : line;
  const found = line.trim() === '' ? 'an empty first line' : `header "${shown}"`;
  throw new InputValidationError(
    `${uri} has an unrecognised header: found ${found}; expected the header line of one of ${describeRawLayouts()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Dataset consistency.
// ---------------------------------------------------------------------------------------------

export interface RecognisedFile {
  readonly uri: string;
  readonly table: RawTableDef;
}

interface FileCountRule {
  readonly table: string;
  readonly min: number;
  readonly max: number;
}

/**
 * How many files of each raw table one run may have. The prepare stage joins RetailRocket events
 * to one category tree (a second would be ambiguous); item properties are optional because the
 * full files are 900 MB and the pipeline must work without them. REES46 is one table, month files.
 */
export const FILE_COUNT_RULES: Readonly<Record<DatasetKind, readonly FileCountRule[]>> = {
  rees46: [{ table: 'raw_rees46_events', min: 1, max: Infinity }],
  retailrocket: [
    { table: 'raw_retailrocket_events', min: 1, max: Infinity },
    { table: 'raw_retailrocket_category_tree', min: 0, max: 1 },
    { table: 'raw_retailrocket_item_properties', min: 0, max: Infinity },
  ],
};

const describeFile = (f: RecognisedFile): string => `${f.uri} (${f.table.name})`;
const listUris = (files: readonly RecognisedFile[], max = 5): string =>
  files.slice(0, max).map((f) => f.uri).join(', ') + (files.length > max ? ` and ${files.length - max} more` : '');

/**
 * How the messages name the settings the user can change: the execution input's fields for the
 * state machine (the default), the CLI's flags for `shopsight run` (local/engine/inputs.ts).
 */
export interface InputVocabulary {
  /** The requested dataset as the user wrote it: `dataset "rees46"`, `--dataset rees46`. */
  readonly requested: (dataset: string) => string;
  /** Advice to ask for another dataset: `set dataset to "rees46" or "auto"`. */
  readonly askFor: (dataset: string) => string;
  /** The input location setting: `inputPrefix`, `--input`. */
  readonly input: string;
  /** Advice when the input mixes datasets. */
  readonly onePerRun: string;
}

export const EXECUTION_INPUT_VOCABULARY: InputVocabulary = {
  requested: (dataset) => `dataset "${dataset}"`,
  askFor: (dataset) => `set dataset to "${dataset}" or "auto"`,
  input: 'inputPrefix',
  onePerRun: 'put each dataset under its own prefix and start one run per dataset',
};

export const CLI_VOCABULARY: InputVocabulary = {
  requested: (dataset) => `--dataset ${dataset}`,
  askFor: (dataset) => `use --dataset ${dataset} or --dataset auto`,
  input: '--input',
  onePerRun: 'give each dataset its own --input and run once per dataset',
};

/**
 * The dataset that `files` (all of one run's input, non-empty) make up. Throws InputValidationError
 * when they mix datasets, are not the `requested` dataset, or break FILE_COUNT_RULES; its message
 * names the settings in `vocabulary`'s words.
 */
export function checkDatasetConsistency(
  files: readonly RecognisedFile[],
  requested: DatasetKind | 'auto',
  inputUri: string,
  vocabulary: InputVocabulary = EXECUTION_INPUT_VOCABULARY,
): DatasetKind {
  if (files.length === 0) throw new InputValidationError(`No input files under ${inputUri}`);
  const first = files[0];
  const dataset = first.table.dataset;
  const other = files.find((f) => f.table.dataset !== dataset);
  if (other) {
    throw new InputValidationError(
      `${inputUri} mixes datasets: ${describeFile(first)} is ${dataset} but ${describeFile(other)} is ${other.table.dataset}; ` +
        vocabulary.onePerRun,
    );
  }
  if (requested !== 'auto' && requested !== dataset) {
    throw new InputValidationError(
      `${vocabulary.requested(requested)} was requested but the files under ${inputUri} are ${dataset} files, e.g. ${describeFile(first)}; ` +
        `${vocabulary.askFor(dataset)}, or point ${vocabulary.input} at ${requested} files`,
    );
  }
  for (const rule of FILE_COUNT_RULES[dataset]) {
    const matching = files.filter((f) => f.table.name === rule.table);
    if (matching.length < rule.min) {
      const header = RAW_TABLES.find((t) => t.name === rule.table)?.header.join(',') ?? '';
      throw new InputValidationError(
        `${dataset} input under ${inputUri} has no ${rule.table} file (header ${header}); ` +
          `found only ${files.slice(0, 5).map(describeFile).join(', ')}${files.length > 5 ? ` and ${files.length - 5} more` : ''}`,
      );
    }
    if (matching.length > rule.max) {
      throw new InputValidationError(
        `${dataset} input under ${inputUri} has ${matching.length} ${rule.table} files, at most ${rule.max} allowed: ${listUris(matching)}`,
      );
    }
  }
  return dataset;
}
