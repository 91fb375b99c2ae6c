/**
 * The local engine's validate stage: turns the user's `--input` arguments (files, folders, globs)
 * into the run's input files, each recognised by its header, and the dataset they make up. The
 * recognition rules are the validate-input Lambda's (core/input/recognise.ts), so a
 * file the cloud run would refuse is refused here for the same reason, its message naming the CLI's
 * flags (`--dataset`, `--input`) where the Lambda names execution-input fields.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetKind } from '../../core/config/execution-input';
import { RawTableDef } from '../../core/contract';
import { InputValidationError } from '../../core/input/errors';
import { EXIT, ExitCode } from './exit-codes';
import {
  checkDatasetConsistency,
  CLI_VOCABULARY,
  decodeSample,
  isIgnoredKey,
  recogniseSample,
  SAMPLE_BYTES,
} from '../../core/input/recognise';

/** A user's input that cannot be used at all; the CLI prints the message and exits with `exitCode`. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export interface RecognisedInput {
  readonly path: string;
  readonly table: RawTableDef;
  readonly gzip: boolean;
  readonly bytes: number;
}

export interface ResolvedInputs {
  readonly dataset: DatasetKind;
  readonly files: readonly RecognisedInput[];
  /** REES46 month files, or RetailRocket events files, in the order they are read. */
  readonly events: readonly string[];
  readonly categoryTree?: string;
  readonly itemProperties: readonly string[];
}

const CSV_NAME = /\.csv(\.gz)?$/i;
const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/** `*`, `?` and `[…]` within one path segment, `**` across segments. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end === -1) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (isIgnoredKey(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Files named by one `--input` argument: the file itself, the CSV files under a folder, or a glob's matches. */
export function expandInput(arg: string): string[] {
  if (hasGlob(arg)) {
    const absolute = path.resolve(arg);
    const firstGlob = absolute.search(/[*?[]/);
    const base = absolute.slice(0, absolute.lastIndexOf(path.sep, firstGlob));
    const matcher = globToRegExp(absolute.split(path.sep).join('/'));
    const matches = fs.existsSync(base) ? walk(base).filter((f) => matcher.test(f.split(path.sep).join('/'))) : [];
    if (matches.length === 0) throw new InputError(`${arg}: no file matches this pattern`, EXIT.inputNotFound);
    return matches;
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(arg);
  } catch {
    throw new InputError(`${arg}: no such file or directory`, EXIT.inputNotFound);
  }
  if (stat.isDirectory()) {
    const files = walk(arg).filter((f) => CSV_NAME.test(f));
    if (files.length === 0) throw new InputError(`${arg}: the folder holds no .csv or .csv.gz file`, EXIT.inputNotFound);
    return files;
  }
  return [arg];
}

/** Reads the first bytes of a file and recognises its header (throws InputError naming the file and the problem). */
export async function recogniseFile(file: string): Promise<RecognisedInput> {
  const handle = await fs.promises.open(file, 'r');
  let sample: Buffer;
  let size: number;
  try {
    size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(SAMPLE_BYTES, size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    sample = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (size === 0) throw new InputError(`${file}: the file is empty (0 bytes); expected a CSV with a header line`, EXIT.inputUnusable);
  try {
    const decoded = await decodeSample(sample, file, size <= SAMPLE_BYTES);
    if (decoded.text.trim() === '') throw new InputValidationError(`${file}: the file holds no text, not even a header line`);
    const table = recogniseSample(decoded.text, file);
    return { path: file, table, gzip: decoded.gzip, bytes: size };
  } catch (error) {
    if (error instanceof InputValidationError) throw new InputError(error.message, EXIT.inputUnusable);
    throw error;
  }
}

/** The whole validate stage: expand, recognise, check that the files make one dataset. */
export async function resolveInputs(args: readonly string[], requested: DatasetKind | 'auto'): Promise<ResolvedInputs> {
  if (args.length === 0) throw new InputError('no --input given', EXIT.inputNotFound);
  const seen = new Set<string>();
  const paths: string[] = [];
  for (const arg of args) {
    for (const file of expandInput(arg)) {
      const key = path.resolve(file);
      if (!seen.has(key)) {
        seen.add(key);
        paths.push(file);
      }
    }
  }
  const files: RecognisedInput[] = [];
  for (const file of paths) files.push(await recogniseFile(file));
  let dataset: DatasetKind;
  try {
    dataset = checkDatasetConsistency(
      files.map((f) => ({ uri: f.path, table: f.table })),
      requested,
      args.join(' '),
      CLI_VOCABULARY,
    );
  } catch (error) {
    if (error instanceof InputValidationError) throw new InputError(error.message, EXIT.inputUnusable);
    throw error;
  }
  const of = (table: string) => files.filter((f) => f.table.name === table).map((f) => f.path);
  if (dataset === 'rees46') return { dataset, files, events: of('raw_rees46_events'), itemProperties: [] };
  return {
    dataset,
    files,
    events: of('raw_retailrocket_events'),
    categoryTree: of('raw_retailrocket_category_tree')[0],
    itemProperties: of('raw_retailrocket_item_properties'),
  };
}
