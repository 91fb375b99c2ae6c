/**
 * What validate-input returns. The state machine stores it as `$.run` and passes it to every later
 * state, so it must stay well under Step Functions' 256 KiB payload limit whatever the file count.
 */
import { DatasetKind } from '../../core/config/execution-input';
import { PipelineParameters } from '../../core/config/pipeline-params';

export interface ValidatedFile {
  readonly key: string;
  readonly uri: string;
  readonly bytes: number;
  /** Raw table (RAW_TABLES name) recognised from the header. */
  readonly table: string;
  readonly gzip: boolean;
}

export interface ValidatedRun {
  readonly runId: string;
  readonly dataset: DatasetKind;
  readonly inputPrefix: string;
  readonly inputUri: string;
  readonly parameters: PipelineParameters;
  /** The same parameters as one string, ready to pass as a Spark job argument. */
  readonly parametersJson: string;
  /** Every input file, even when `files` is cut short. */
  readonly fileCount: number;
  readonly totalBytes: number;
  /** Number of files of each raw table, e.g. to tell whether RetailRocket item properties were given. */
  readonly tableFileCounts: Readonly<Record<string, number>>;
  /** The first files in key order, at most MAX_LISTED_FILES and FILES_JSON_BUDGET_BYTES of JSON. */
  readonly files: readonly ValidatedFile[];
  /** True when `files` holds fewer than `fileCount` entries. */
  readonly filesTruncated: boolean;
}

export const MAX_LISTED_FILES = 1000;

/**
 * JSON size the file list may take, so that the whole run stays under ~190 KB: 1000 entries with
 * typical keys (~180 bytes each) fit, 1000 entries with long keys would pass Step Functions' 256 KiB
 * on their own. What later states add beside `$.run` has to fit in the remaining ~65 KiB.
 */
export const FILES_JSON_BUDGET_BYTES = 180 * 1024;

/** The leading files that fit both caps. */
export function capFileList(
  files: readonly ValidatedFile[],
  maxEntries: number = MAX_LISTED_FILES,
  budgetBytes: number = FILES_JSON_BUDGET_BYTES,
): ValidatedFile[] {
  const kept: ValidatedFile[] = [];
  let used = 2; // the array's brackets
  for (const file of files) {
    if (kept.length === maxEntries) break;
    const entryBytes = Buffer.byteLength(JSON.stringify(file)) + 1; // and its comma
    if (used + entryBytes > budgetBytes) break;
    used += entryBytes;
    kept.push(file);
  }
  return kept;
}

export function buildValidatedRun(args: {
  runId: string;
  dataset: DatasetKind;
  inputPrefix: string;
  inputUri: string;
  parameters: PipelineParameters;
  files: readonly ValidatedFile[];
}): ValidatedRun {
  const { files, parameters } = args;
  const listed = capFileList(files);
  const tableFileCounts: Record<string, number> = {};
  for (const f of files) tableFileCounts[f.table] = (tableFileCounts[f.table] ?? 0) + 1;
  return {
    runId: args.runId,
    dataset: args.dataset,
    inputPrefix: args.inputPrefix,
    inputUri: args.inputUri,
    parameters,
    parametersJson: JSON.stringify(parameters),
    fileCount: files.length,
    totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    tableFileCounts,
    files: listed,
    filesTruncated: listed.length < files.length,
  };
}
