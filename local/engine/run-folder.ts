/**
 * Run folders are owned: a run never removes or overwrites anything it did not create.
 *
 * - A run writes into a fresh staging folder beside its target (`.<name>.shopsight-tmp-XXXXXX`,
 *   same file system) and moves it into place only when every stage has succeeded. A failed or
 *   killed run leaves the previous run folder as it was; its staging folder is removed when it
 *   fails, and by the next run on the same target when the process was killed.
 * - A published run folder carries `.shopsight-run.json` (RunFolderMarker): the run id, the
 *   engine version and the top-level entries the run wrote.
 * - The target may be missing, an empty folder, or a run folder whose entries are all the run's
 *   own: then the new run replaces it. Anything else (a file, a non-empty folder without the
 *   marker, a run folder holding entries the run did not write) is refused before any work, and so
 *   is a target that contains or lies inside an input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from './exit-codes';

export const RUN_FOLDER_MARKER = '.shopsight-run.json';
const STAGING_FILE = '.shopsight-staging.json';

/** An output folder refused: exit code `EXIT.usage`, the same as a bad argument (README, "Exit codes"). */
export class OutputFolderError extends Error {
  readonly exitCode = EXIT.usage;
}

export interface RunFolderMarker {
  readonly tool: 'shopsight';
  readonly kind: 'run';
  readonly runId: string;
  readonly engineVersion: string;
  readonly createdAt: string;
  /** Top-level names the run wrote (the marker itself excluded). */
  readonly entries: readonly string[];
}

export const ENGINE_VERSION: string = (JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

/** The marker of `dir`, or undefined when it has none (or one that is not ours). */
export function readRunFolderMarker(dir: string): RunFolderMarker | undefined {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, RUN_FOLDER_MARKER), 'utf8')) as Partial<RunFolderMarker>;
    if (marker.tool !== 'shopsight' || marker.kind !== 'run' || !Array.isArray(marker.entries)) return undefined;
    return marker as RunFolderMarker;
  } catch {
    return undefined;
  }
}

const stagingPrefix = (target: string): string => `.${path.basename(target)}.shopsight-`;

const list = (names: readonly string[], max = 5): string =>
  names.slice(0, max).join(', ') + (names.length > max ? ` and ${names.length - max} more` : '');

/**
 * Throws OutputFolderError unless `target` may receive a run: missing, an empty folder, or a run
 * folder holding only its own entries. `flag` names the option in messages.
 */
export function checkRunFolderTarget(target: string, flag = '--out'): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new OutputFolderError(`${flag} ${target}: a parent of it is a file, not a folder; choose another ${flag}`);
    throw new OutputFolderError(`${flag} ${target}: cannot be read (${code ?? (error as Error).message}); choose another ${flag}`);
  }
  if (!stat.isDirectory()) throw new OutputFolderError(`${flag} ${target} is a file, not a folder; choose a new folder for the run (the file was not changed)`);
  const entries = fs.readdirSync(target);
  if (entries.length === 0) return;
  const marker = readRunFolderMarker(target);
  if (!marker) {
    throw new OutputFolderError(
      `${flag} ${target} is not empty and is not a shopsight run folder (no ${RUN_FOLDER_MARKER}); choose a new or empty folder (nothing in it was changed)`,
    );
  }
  // The marker's own temporary copy (addRunFolderEntries) is ours too, should a rewrite have been cut short.
  const own = new Set([...marker.entries, RUN_FOLDER_MARKER, `${RUN_FOLDER_MARKER}.tmp`]);
  const foreign = entries.filter((e) => !own.has(e)).sort();
  if (foreign.length > 0) {
    throw new OutputFolderError(
      `${flag} ${target} is a run folder but also holds ${list(foreign)}, which the run did not write; move them out or choose another ${flag} (nothing was changed)`,
    );
  }
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest when it does not exist yet. */
function realPathOf(p: string): string {
  const absolute = path.resolve(p);
  const rest: string[] = [];
  let at = absolute;
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return absolute;
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);

/**
 * Throws OutputFolderError when `target` contains, is, or lies inside one of `inputs`: a file, a
 * folder (every CSV under it is an input, so a run folder inside would be read by the next run), or
 * a `**` glob (by the folder before its first wildcard); a glob within one folder (`data/*.csv`)
 * names only its matches, which are checked as files once expanded. A run folder is replaced as a
 * whole, inputs never are; a rehearsal folder holds the emulated buckets the inputs are uploaded into.
 */
export function checkRunFolderOutsideInputs(target: string, inputs: readonly string[], flag = '--out'): void {
  const out = realPathOf(target);
  for (const input of inputs) {
    const literal = input.split(/[*?[]/)[0];
    if (literal !== input && !input.includes('**')) continue;
    const where = realPathOf(literal === input ? input : path.dirname(literal + 'x'));
    if (within(where, out) || within(out, where)) {
      throw new OutputFolderError(
        within(where, out)
          ? `${flag} ${target} contains the input ${input}; choose an ${flag} outside the inputs`
          : `${flag} ${target} is inside the input ${input}; choose an ${flag} outside the inputs`,
      );
    }
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Cleans what a killed run left beside `target`: staging folders of dead processes are removed; a
 * previous run folder set aside for the swap (`…-old-…`) is put back when the target is missing.
 */
function recoverLeftovers(target: string, log: (line: string) => void): void {
  const parent = path.dirname(target);
  const prefix = stagingPrefix(target);
  let names: string[];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(parent, name);
    if (name.startsWith(`${prefix}old-`)) {
      if (readRunFolderMarker(dir)) {
        if (!fs.existsSync(target)) {
          fs.renameSync(dir, target);
          log(`restored the previous run folder ${target} (a run was stopped while replacing it)`);
        } else {
          fs.rmSync(dir, { recursive: true, force: true }); // the swap had completed
        }
      } else if (fs.readdirSync(dir).length === 0) {
        fs.rmdirSync(dir);
      }
      continue;
    }
    let pid: number | undefined;
    try {
      pid = (JSON.parse(fs.readFileSync(path.join(dir, STAGING_FILE), 'utf8')) as { pid?: number }).pid;
    } catch {
      continue; // not a staging folder of ours: leave it
    }
    if (typeof pid === 'number' && !isAlive(pid)) {
      fs.rmSync(dir, { recursive: true, force: true });
      log(`removed ${dir}, left by an interrupted run (process ${pid})`);
    }
  }
}

export interface StagedRunFolder {
  /** Where the run writes; becomes `target` on publish. */
  readonly staging: string;
  readonly target: string;
  /** Writes the marker and moves the staging folder into place (replacing the previous run folder). */
  publish(runId: string): void;
  /**
   * Publishes at the target when it holds no earlier run; otherwise beside it, as
   * `<target>-<runId>` (or with a counter), leaving the earlier run in place. Returns where.
   */
  publishKeepingPrevious(runId: string): string;
  /** Removes the staging folder (the target is untouched). */
  discard(): void;
}

/**
 * Checks `target` (checkRunFolderTarget), cleans leftovers of killed runs, and creates the staging
 * folder beside it. Throws OutputFolderError when the target is refused or its parent is not writable.
 */
export function stageRunFolder(target: string, options: { flag?: string; log?: (line: string) => void } = {}): StagedRunFolder {
  const flag = options.flag ?? '--out';
  const log = options.log ?? (() => undefined);
  recoverLeftovers(target, log);
  checkRunFolderTarget(target, flag);
  const parent = path.dirname(target);
  let staging: string;
  try {
    fs.mkdirSync(parent, { recursive: true });
    staging = fs.mkdtempSync(path.join(parent, `${stagingPrefix(target)}tmp-`));
    fs.writeFileSync(path.join(staging, STAGING_FILE), `${JSON.stringify({ pid: process.pid, target, startedAt: new Date().toISOString() })}\n`);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new OutputFolderError(`${flag} ${target}: cannot write beside it in ${parent} (${e.code ?? e.message}); choose another ${flag}`);
  }
  let done = false;
  // An exit before publishing (process.exit, as the CLI does on Ctrl-C) takes the staging folder with it.
  const onExit = (): void => {
    if (!done) fs.rmSync(staging, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const finish = (): void => {
    done = true;
    process.off('exit', onExit);
  };
  return {
    staging,
    target,
    publishKeepingPrevious(runId: string): string {
      if (!fs.existsSync(target) || fs.readdirSync(target).length === 0) {
        this.publish(runId);
        return target;
      }
      let beside = `${target}-${runId}`;
      for (let i = 2; fs.existsSync(beside); i++) beside = `${target}-${runId}-${i}`;
      writeMarker(staging, runId);
      fs.renameSync(staging, beside);
      finish();
      return beside;
    },
    publish(runId: string): void {
      if (done) throw new Error('run folder already published or discarded');
      // The target may have changed while the run worked: check it again before replacing it.
      try {
        checkRunFolderTarget(target, flag);
      } catch (error) {
        finish(); // keep the finished run where it is
        fs.rmSync(path.join(staging, STAGING_FILE), { force: true });
        throw new OutputFolderError(`${(error as Error).message}; the finished run is in ${staging}`);
      }
      writeMarker(staging, runId);
      const previous = fs.existsSync(target) && fs.readdirSync(target).length > 0;
      if (!previous) {
        fs.renameSync(staging, target); // replaces a missing or empty folder in one step
      } else {
        const old = fs.mkdtempSync(path.join(parent, `${stagingPrefix(target)}old-`));
        fs.renameSync(target, old); // onto the empty folder just made
        fs.renameSync(staging, target);
        fs.rmSync(old, { recursive: true, force: true });
      }
      finish();
    },
    discard(): void {
      if (done) return;
      finish();
      fs.rmSync(staging, { recursive: true, force: true });
    },
  };
}

/** Replaces the staging file of `dir` with the run folder marker listing what the run wrote. */
function writeMarker(dir: string, runId: string): void {
  fs.rmSync(path.join(dir, STAGING_FILE), { force: true });
  const marker: RunFolderMarker = {
    tool: 'shopsight',
    kind: 'run',
    runId,
    engineVersion: ENGINE_VERSION,
    createdAt: new Date().toISOString(),
    entries: fs.readdirSync(dir).sort(),
  };
  fs.writeFileSync(path.join(dir, RUN_FOLDER_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
}

/** Records `names` as the run's own entries in the marker of `dir` (a report rebuilt later, say). */
export function addRunFolderEntries(dir: string, names: readonly string[]): void {
  const marker = readRunFolderMarker(dir);
  if (!marker) return;
  const entries = [...new Set([...marker.entries, ...names])].sort();
  if (entries.length === marker.entries.length) return;
  const file = path.join(dir, RUN_FOLDER_MARKER);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...marker, entries }, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}
