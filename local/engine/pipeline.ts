/**
 * The local engine: every stage of the cloud pipeline on one machine, in the cloud run's order.
 *   validate → prepare (stages/prepare.ts: reader → canonical events + rejects, then the seven schemas → insights) →
 *   association rules → recommendations → purchase intent → segments → spend forecast → contract check →
 *   Parquet tables → serving CSVs + manifest → run summary → report → (optional) MySQL load.
 * DuckDB holds the data in an on-disk database under a memory limit, spilling to disk; the ML
 * stages take only aggregates into typed arrays.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { PipelineParameters } from '../../core/config/pipeline-params';
import { DatasetKind } from '../../core/config/execution-input';
import { OUTPUT_TABLES, RunSummary, assertRunId, reconcileRunSummary } from '../../core/contract';
import { writeReport } from '../report';
import { countRows, openEngineDatabase } from './duck';
import { EXIT } from './exit-codes';
import { InputError, resolveInputs } from './inputs';
import { checkTables, writeParquet, writeRunSummary, writeServing } from './outputs';
import { checkRunFolderOutsideInputs, stageRunFolder } from './run-folder';
import { runAssociationRules } from './stages/association-rules';
import { buildInsightTables, buildSchemaTables, readPrepareInputs } from './stages/prepare';
import { runPurchaseIntent } from './stages/purchase-intent';
import { runRecommendations } from './stages/recommendations';
import { runSegments } from './stages/segments';
import { runSpendForecast } from './stages/spend-forecast';

/** What the pipeline tells the user as it goes (the CLI draws it; tests collect it). */
export interface ProgressReporter {
  stageStart(stage: string): void;
  stageEnd(stage: string, seconds: number, rows: number | undefined, note?: string): void;
  log(message: string): void;
}

export const SILENT_PROGRESS: ProgressReporter = { stageStart: () => undefined, stageEnd: () => undefined, log: () => undefined };

export interface RunOptions {
  /**
   * Input files, folders or globs; or a function that writes the inputs into the run folder being
   * made (its argument) and returns their paths (the demo's generated data).
   */
  readonly inputs: readonly string[] | ((runFolder: string) => Promise<string[]>);
  readonly dataset: DatasetKind | 'auto';
  /** The run folder (see run-folder.ts): missing, empty, or an earlier run's, which a successful run replaces. */
  readonly out: string;
  readonly params: PipelineParameters;
  /** @default local-<UTC timestamp> */
  readonly runId?: string;
  /** DuckDB memory limit, e.g. "4GB". @default defaultMemoryLimit: from the machine's memory and the event files' sizes */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /**
   * ALS early stop (AlsParams.lossTolerance): training ends once an iteration lowers the loss by no
   * more than this fraction. @default off (every recommendations.maxIter iteration runs, as on Spark)
   */
  readonly alsLossTolerance?: number;
  /** Serving database URL (mysql://user:pass@host:port/db or with ?socket=); loads the serving tables after the run. */
  readonly mysql?: string;
  /** @default true */
  readonly report?: boolean;
  readonly progress?: ProgressReporter;
}

export interface RunResult {
  readonly summary: RunSummary;
  readonly reportPath?: string;
  readonly tableRows: Record<string, number>;
}

export const STAGES = [
  'validate',
  'prepare',
  'schemas',
  'insights',
  'association-rules',
  'recommendations',
  'purchase-intent',
  'segments',
  'spend-forecast',
  'write-tables',
  'serving-export',
  'report',
  'mysql-load',
] as const;

export function defaultRunId(now = new Date()): string {
  return `local-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').toLowerCase()}`;
}

const MIB = 1024 ** 2;
export const MEMORY_BUDGET_SHARE = 0.6;
export const MEMORY_LIMIT_MIN = 512 * MIB;
export const MEMORY_LIMIT_MAX = 4 * 1024 * MIB;
const JS_RESERVE_BASE = 256 * MIB;
const JS_BYTES_PER_EVENT = 100;

/**
 * DuckDB's memory limit when none is given, from the machine and the input (bench/README.md, "Memory").
 * The run as a whole (DuckDB plus the ML stages' arrays, which live outside DuckDB's limit) is kept
 * within MEMORY_BUDGET_SHARE of the machine's memory: DuckDB gets that budget minus what the ML
 * stages are expected to hold at their peak, at least MEMORY_LIMIT_MIN and at most MEMORY_LIMIT_MAX.
 * The run's peak RSS over DuckDB's limit (the ML stages' arrays, Node included) was measured at 84
 * bytes per event at 10M events and 101 at 42M; the reserve is JS_RESERVE_BASE plus
 * JS_BYTES_PER_EVENT per event, and the events are estimated from the event files' sizes at 20
 * bytes per event gzipped and 40 plain, at or below every input measured (gzip: RetailRocket's
 * sample 19.2, REES46's 34, generated REES46 24–31; plain: RetailRocket 58, REES46 133), so the
 * estimate errs towards more events and less DuckDB.
 */
export function defaultMemoryLimit(machineBytes: number = os.totalmem(), eventFiles: readonly { bytes: number; gzip: boolean }[] = []): string {
  const events = eventFiles.reduce((n, f) => n + f.bytes / (f.gzip ? 20 : 40), 0);
  const reserve = JS_RESERVE_BASE + JS_BYTES_PER_EVENT * events;
  const bytes = Math.max(MEMORY_LIMIT_MIN, Math.min(MEMORY_LIMIT_MAX, machineBytes * MEMORY_BUDGET_SHARE - reserve));
  return `${Math.floor(bytes / MIB)}MiB`;
}

/**
 * Runs every stage into a staging folder beside `out` and moves it into place when all
 * succeeded; then loads MySQL (`options.mysql`) from the published folder. Refuses, before any
 * stage, an `out` that is not ours or overlaps the inputs (OutputFolderError) and a serving
 * database the load could not use (MysqlLoadError).
 */
export async function runPipeline(options: RunOptions): Promise<RunResult> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const runId = options.runId ?? defaultRunId();
  assertRunId(runId);
  const target = path.resolve(options.out);
  const given = typeof options.inputs === 'function' ? [] : options.inputs;
  checkRunFolderOutsideInputs(target, given);
  const folder = stageRunFolder(target, { log: (line) => progress.log(line) });
  try {
    if (options.mysql) await checkMysql(options.mysql);
    const inputs = typeof options.inputs === 'function' ? await options.inputs(folder.staging) : options.inputs;
    let result: RunResult;
    try {
      result = await runStages({ ...options, inputs }, runId, folder.staging, target, progress);
    } catch (error) {
      if (!(error instanceof NoUsableRowsError)) throw error;
      // Nothing lost: the rejects and the reconciled summary are kept, where no earlier run is replaced.
      const where = folder.publishKeepingPrevious(runId);
      throw new InputError(`${error.message}; rejected rows are in ${path.join(where, 'rejects')}`, EXIT.inputUnusable);
    }
    folder.publish(runId);
    let { summary } = result;
    if (options.mysql) {
      const started = process.hrtime.bigint();
      progress.stageStart('mysql-load');
      await loadIntoMysql(options.mysql, path.join(target, 'serving'));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      progress.stageEnd('mysql-load', seconds, undefined);
      // The summary in the published folder gets the load's timing too.
      summary = { ...summary, stages: [...summary.stages, { name: 'mysql-load', seconds }] };
      writeRunSummary(target, summary);
    }
    return { ...result, summary, reportPath: result.reportPath && path.join(target, path.relative(folder.staging, result.reportPath)) };
  } finally {
    folder.discard();
  }
}

async function runStages(options: RunOptions & { inputs: readonly string[] }, runId: string, out: string, target: string, progress: ProgressReporter): Promise<RunResult> {
  const stages: { name: string; seconds: number; rows?: number }[] = [];
  const timed = async <T>(name: string, body: () => Promise<T>, rowsOf: (t: T) => number | undefined, note?: (t: T) => string | undefined): Promise<T> => {
    progress.stageStart(name);
    const started = process.hrtime.bigint();
    const value = await body();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rows = rowsOf(value);
    stages.push(rows === undefined ? { name, seconds } : { name, seconds, rows });
    progress.stageEnd(name, seconds, rows, note?.(value));
    return value;
  };

  const inputs = await timed('validate', () => resolveInputs(options.inputs, options.dataset), () => undefined, (r) => `${r.files.length} file(s), ${r.dataset}`);
  checkRunFolderOutsideInputs(target, inputs.files.map((f) => f.path));
  const memoryLimit = options.memoryLimit ?? defaultMemoryLimit(os.totalmem(), inputs.files.filter((f) => inputs.events.includes(f.path)));
  progress.log(`DuckDB memory limit ${memoryLimit}${options.memoryLimit ? '' : ' (from the machine and the input size; --memory-limit to set it)'}`);
  const db = await openEngineDatabase({ workDir: path.join(out, '.work'), memoryLimit, threads: options.threads });
  const { connection } = db;
  try {
    const loaded = await timed(
      'prepare',
      () => readPrepareInputs(connection, inputs, options.params),
      (r) => r.totals.rowsRead,
      (r) => `${r.totals.accepted.toLocaleString('en-US')} accepted, ${r.totals.rejected.toLocaleString('en-US')} rejected, ${r.totals.duplicatesRemoved.toLocaleString('en-US')} duplicates removed`,
    );
    const files = loaded.perFile;
    const totals = loaded.totals;
    const summaryBase = { runId, dataset: inputs.dataset, files, totals };

    if (totals.accepted === 0) {
      // Nothing to analyse: keep what was read (rejects + summary) and say why in one line.
      await writeParquet(connection, OUTPUT_TABLES.find((t) => t.name === 'rejects')!, out);
      writeRunSummary(out, { ...summaryBase, stages, engine: 'local', createdAt: new Date().toISOString() });
      const reasons = Object.entries(totals.rejectedByReason).map(([k, v]) => `${k} ${v}`).join(', ');
      throw new NoUsableRowsError(`${inputs.events.join(', ')}: no usable event rows (${totals.rowsRead} read${reasons ? `, rejected: ${reasons}` : ''})`);
    }

    await timed('schemas', () => buildSchemaTables(connection), (n) => n);
    await timed('insights', () => buildInsightTables(connection), (n) => n);
    await timed('association-rules', () => runAssociationRules(connection, options.params), (r) => r.baskets.product + r.baskets.sub_category,
      (r) => `${r.rules.sub_category} sub-category rules, ${r.rules.product} product rules`);
    await timed('recommendations', () => runRecommendations(connection, options.params, { lossTolerance: options.alsLossTolerance }), (r) => r.interactions,
      (r) => `${r.recommendedUsers.toLocaleString('en-US')} users recommended, ${r.evaluatedUsers.toLocaleString('en-US')} evaluated` +
        (options.alsLossTolerance ? `, ALS ${r.lossHistory.length - 1} of ${options.params.recommendations.maxIter} iterations` : ''));
    await timed('purchase-intent', () => runPurchaseIntent(connection, options.params), (r) => r.sessions, (r) => `${r.train} train / ${r.test} test sessions`);
    await timed('segments', () => runSegments(connection, options.params), (r) => r.customers, (r) => r.names.join(', '));
    await timed('spend-forecast', () => runSpendForecast(connection, options.params), (r) => r.customers,
      (r) => `${r.horizonDays}-day customer horizon, ${r.revenueDays} days of revenue`);

    const tableRows: Record<string, number> = {};
    await timed('write-tables', async () => {
      await checkTables(connection, OUTPUT_TABLES);
      let rows = 0;
      for (const table of OUTPUT_TABLES) {
        await writeParquet(connection, table, out);
        tableRows[table.name] = await countRows(connection, table.name);
        rows += tableRows[table.name];
      }
      return rows;
    }, (n) => n);
    const createdAt = new Date().toISOString();
    await timed('serving-export', () => writeServing(connection, out, runId, createdAt, tableRows), (m) => Object.values(m.tables).reduce((a, t) => a + t.rowCount, 0));

    const summary: RunSummary = { ...summaryBase, stages, engine: 'local', createdAt, tableRows };
    const problems = reconcileRunSummary(summary);
    if (problems.length > 0) throw new Error(`run summary does not reconcile: ${problems.join('; ')}`);
    writeRunSummary(out, summary);
    db.close();

    let reportPath: string | undefined;
    if (options.report !== false) {
      reportPath = await timed('report', () => writeReport(out, { shownAs: target }), () => undefined);
    }
    // The summary on disk gets the timing of the report too.
    const final: RunSummary = { ...summary, stages };
    writeRunSummary(out, final);
    return { summary: final, reportPath, tableRows };
  } finally {
    db.close();
  }
}

/** Every row was rejected: the run folder holds only the rejects and the summary. */
class NoUsableRowsError extends Error {}

/** Loading the serving tables into MySQL/MariaDB failed (or cannot work): exit code `EXIT.mysqlLoad`. */
export class MysqlLoadError extends Error {
  readonly exitCode = EXIT.mysqlLoad;
}

/** Fails before the first stage when the load at the end could not work (mysql-loader.checkServingDatabase). */
async function checkMysql(url: string): Promise<void> {
  const { checkServingDatabase } = await import('../serving/mysql-loader');
  try {
    await checkServingDatabase(url);
  } catch (error) {
    throw new MysqlLoadError(`--mysql: ${(error as Error).message} (checked before the run; nothing was run)`);
  }
}

async function loadIntoMysql(url: string, servingDir: string): Promise<void> {
  // Loaded on demand: mysql2 is only needed with --mysql.
  const { loadServingLocal } = await import('../serving/mysql-loader');
  try {
    await loadServingLocal(url, servingDir);
  } catch (error) {
    throw new MysqlLoadError(`--mysql: ${(error as Error).message}`);
  }
}
