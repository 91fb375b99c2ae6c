/**
 * The app's run registry: the run folders it serves, each under an id that a request may name
 * (never a path). A run folder holds `.shopsight-run.json` and `run-summary.json`; its id is the
 * summary's runId, made unique with `-2`, `-3`… Newest first by the summary file's mtime.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FOLDER_MARKER } from '../engine/run-folder';

/** Ids a request may carry (docs/app.md): the OpenAPI pattern of every `{run}` parameter. */
export const RUN_ID_PATTERN = '^[A-Za-z0-9._-]{1,100}$';
const RUN_ID_RE = new RegExp(RUN_ID_PATTERN);

/** Subfolders that are not tables. */
const NOT_TABLES = new Set(['input', 'report', 'serving']);
/** A table folder's name is used as a view name: plain identifiers only. */
const TABLE_NAME_RE = /^[a-z_][a-z0-9_]{0,63}$/;

export interface RunTable {
  readonly name: string;
  /** Absolute folder of the table's Parquet files. */
  readonly folder: string;
}

export interface RunEntry {
  readonly id: string;
  readonly runId: string;
  readonly dataset: string;
  /** Absolute, real path of the run folder. */
  readonly folder: string;
  readonly createdAt: string | null;
  /** mtime of run-summary.json (ms), the registry's order. */
  readonly summaryMtime: number;
  readonly tables: readonly RunTable[];
}

export class NotARunFolderError extends Error {}

/** Why `dir` is not a run folder, or null when it is one. */
export function runFolderProblem(dir: string): string | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return `${dir}: no such folder`;
  }
  if (!stat.isDirectory()) return `${dir}: not a folder`;
  for (const file of [RUN_FOLDER_MARKER, 'run-summary.json']) {
    if (!fs.existsSync(path.join(dir, file))) return `${dir}: not a shopsight run folder (no ${file}); make one with "shopsight run" or "shopsight demo"`;
  }
  return null;
}

function hasParquet(folder: string): boolean {
  try {
    return fs.readdirSync(folder, { recursive: true, encoding: 'utf8' }).some((e) => e.endsWith('.parquet'));
  } catch {
    return false;
  }
}

/** Every subfolder of a run folder holding Parquet files (events and model_metrics are Hive-partitioned). */
export function findRunTables(folder: string): RunTable[] {
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !NOT_TABLES.has(e.name) && TABLE_NAME_RE.test(e.name))
    .map((e) => ({ name: e.name, folder: path.join(folder, e.name) }))
    .filter((t) => hasParquet(t.folder))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function readSummary(folder: string): { runId: string; dataset: string; createdAt: string | null } {
  let parsed: Record<string, unknown> = {};
  try {
    const raw: unknown = JSON.parse(fs.readFileSync(path.join(folder, 'run-summary.json'), 'utf8'));
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) parsed = raw as Record<string, unknown>;
  } catch {
    // A summary we cannot read still names the run by its folder.
  }
  const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
  return {
    runId: str(parsed.runId) ?? path.basename(folder),
    dataset: str(parsed.dataset) ?? 'unknown',
    createdAt: str(parsed.createdAt),
  };
}

/** An id for `runId` matching RUN_ID_PATTERN: other characters become `_`. */
function baseId(runId: string): string {
  const id = runId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 90);
  return id.length > 0 ? id : 'run';
}

export class RunRegistry {
  private readonly byId = new Map<string, RunEntry>();
  private readonly byFolder = new Map<string, RunEntry>();

  /** Adds (or refreshes) a run folder; throws NotARunFolderError when it is not one. */
  add(dir: string): RunEntry {
    const problem = runFolderProblem(dir);
    if (problem) throw new NotARunFolderError(problem);
    const folder = fs.realpathSync(dir);
    const previous = this.byFolder.get(folder);
    if (previous) this.byId.delete(previous.id);
    const summary = readSummary(folder);
    let id = previous?.id ?? baseId(summary.runId);
    for (let n = 2; this.byId.has(id); n++) id = `${baseId(summary.runId)}-${n}`;
    const entry: RunEntry = {
      id,
      ...summary,
      folder,
      summaryMtime: fs.statSync(path.join(folder, 'run-summary.json')).mtimeMs,
      tables: findRunTables(folder),
    };
    this.byId.set(id, entry);
    this.byFolder.set(folder, entry);
    return entry;
  }

  /** Newest first. */
  list(): RunEntry[] {
    return [...this.byId.values()].sort((a, b) => b.summaryMtime - a.summaryMtime || a.id.localeCompare(b.id));
  }

  /** The run named by `id`, the newest when `id` is undefined; undefined when there is none. */
  get(id: string | undefined): RunEntry | undefined {
    if (id === undefined) return this.list()[0];
    if (!RUN_ID_RE.test(id)) return undefined;
    return this.byId.get(id);
  }
}
