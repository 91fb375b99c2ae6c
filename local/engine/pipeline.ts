/**
 * The local engine: every stage of the cloud pipeline on one machine, in the cloud run's order.
 *   validate → prepare (reader: canonical events + rejects) → the seven schemas → insights →
 *   association rules → recommendations → purchase intent → segments → contract check →
 *   Parquet tables → serving CSVs + manifest → run summary → report → (optional) MySQL load.
 * DuckDB holds the data in an on-disk database under a memory limit, spilling to disk; the ML
 * stages take only aggregates into typed arrays.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { PipelineParameters } from '../../lib/config/pipeline-params';
import { DatasetKind } from '../../lib/config/execution-input';
import { INSIGHT_TABLE_NAMES, OUTPUT_TABLES, RunSummary, SCHEMA_TABLE_NAMES, assertRunId, reconcileRunSummary } from '../../lib/contract';
import { writeReport } from '../report';
import { countRows, createTableFromQuery, openEngineDatabase } from './duck';
import { EXIT_INPUT_UNUSABLE, InputError, resolveInputs } from './inputs';
import { checkTables, clearOutputs, writeParquet, writeRunSummary, writeServing } from './outputs';
import { loadRees46 } from './rees46-reader';
import { loadRetailRocket } from './retailrocket-reader';
import { readSql } from './sql';
import { runAssociationRules } from './stages/association-rules';
import { runPurchaseIntent } from './stages/purchase-intent';
import { runRecommendations } from './stages/recommendations';
import { runSegments } from './stages/segments';

/** What the pipeline tells the user as it goes (the CLI draws it; tests collect it). */
export interface ProgressReporter {
  stageStart(stage: string): void;
  stageEnd(stage: string, seconds: number, rows: number | undefined, note?: string): void;
  log(message: string): void;
}

export const SILENT_PROGRESS: ProgressReporter = { stageStart: () => undefined, stageEnd: () => undefined, log: () => undefined };

export interface RunOptions {
  readonly inputs: readonly string[];
  readonly dataset: DatasetKind | 'auto';
  readonly out: string;
  readonly params: PipelineParameters;
  /** @default local-<UTC timestamp> */
  readonly runId?: string;
  /** DuckDB memory limit, e.g. "4GB". @default 40% of the machine's memory, at most 4 GB */
  readonly memoryLimit?: string;
  readonly threads?: number;
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
  'write-tables',
  'serving-export',
  'report',
  'mysql-load',
] as const;

export function defaultRunId(now = new Date()): string {
  return `local-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').toLowerCase()}`;
}

export function defaultMemoryLimit(): string {
  const gb = Math.max(0.5, Math.min(4, (os.totalmem() / 1024 ** 3) * 0.4));
  return `${Math.floor(gb * 1024)}MB`;
}

export async function runPipeline(options: RunOptions): Promise<RunResult> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const runId = options.runId ?? defaultRunId();
  assertRunId(runId);
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
  clearOutputs(options.out);
  const db = await openEngineDatabase({
    workDir: path.join(options.out, '.work'),
    memoryLimit: options.memoryLimit ?? defaultMemoryLimit(),
    threads: options.threads,
  });
  const { connection } = db;
  try {
    const loaded = await timed(
      'prepare',
      async () =>
        inputs.dataset === 'rees46'
          ? loadRees46(connection, [...inputs.events])
          : loadRetailRocket(connection, { events: [...inputs.events], categoryTree: inputs.categoryTree, itemProperties: [...inputs.itemProperties] }, { sessionGapMinutes: options.params.sessionGapMinutes }),
      (r) => r.totals.rowsRead,
      (r) => `${r.totals.accepted.toLocaleString('en-US')} accepted, ${r.totals.rejected.toLocaleString('en-US')} rejected, ${r.totals.duplicatesRemoved.toLocaleString('en-US')} duplicates removed`,
    );
    const files = loaded.perFile;
    const totals = loaded.totals;
    const summaryBase = { runId, dataset: inputs.dataset, files, totals };

    if (totals.accepted === 0) {
      // Nothing to analyse: keep what was read (rejects + summary) and say why in one line.
      await writeParquet(connection, OUTPUT_TABLES.find((t) => t.name === 'rejects')!, options.out);
      writeRunSummary(options.out, { ...summaryBase, stages, engine: 'local', createdAt: new Date().toISOString() });
      const reasons = Object.entries(totals.rejectedByReason).map(([k, v]) => `${k} ${v}`).join(', ');
      throw new InputError(
        `${inputs.events.join(', ')}: no usable event rows (${totals.rowsRead} read${reasons ? `, rejected: ${reasons}` : ''}); rejected rows are in ${path.join(options.out, 'rejects')}`,
        EXIT_INPUT_UNUSABLE,
      );
    }

    await timed('schemas', async () => {
      let rows = 0;
      for (const table of SCHEMA_TABLE_NAMES) rows += await createTableFromQuery(connection, table, readSql(`schemas/${table}.sql`));
      return rows;
    }, (n) => n);
    await timed('insights', async () => {
      let rows = 0;
      for (const table of INSIGHT_TABLE_NAMES) rows += await createTableFromQuery(connection, table, readSql(`insights/${table}.sql`));
      return rows;
    }, (n) => n);
    await timed('association-rules', () => runAssociationRules(connection, options.params), (r) => r.baskets.product + r.baskets.sub_category,
      (r) => `${r.rules.sub_category} sub-category rules, ${r.rules.product} product rules`);
    await timed('recommendations', () => runRecommendations(connection, options.params), (r) => r.interactions,
      (r) => `${r.recommendedUsers.toLocaleString('en-US')} users recommended, ${r.evaluatedUsers.toLocaleString('en-US')} evaluated`);
    await timed('purchase-intent', () => runPurchaseIntent(connection, options.params), (r) => r.sessions, (r) => `${r.train} train / ${r.test} test sessions`);
    await timed('segments', () => runSegments(connection, options.params), (r) => r.customers, (r) => r.names.join(', '));

    const tableRows: Record<string, number> = {};
    await timed('write-tables', async () => {
      await checkTables(connection, OUTPUT_TABLES);
      let rows = 0;
      for (const table of OUTPUT_TABLES) {
        await writeParquet(connection, table, options.out);
        tableRows[table.name] = await countRows(connection, table.name);
        rows += tableRows[table.name];
      }
      return rows;
    }, (n) => n);
    const createdAt = new Date().toISOString();
    await timed('serving-export', () => writeServing(connection, options.out, runId, createdAt, tableRows), (m) => Object.values(m.tables).reduce((a, t) => a + t.rowCount, 0));

    const summary: RunSummary = { ...summaryBase, stages, engine: 'local', createdAt, tableRows };
    const problems = reconcileRunSummary(summary);
    if (problems.length > 0) throw new Error(`run summary does not reconcile: ${problems.join('; ')}`);
    writeRunSummary(options.out, summary);
    db.close();

    let reportPath: string | undefined;
    if (options.report !== false) {
      reportPath = await timed('report', () => writeReport(options.out), () => undefined);
    }
    if (options.mysql) {
      await timed('mysql-load', () => loadIntoMysql(options.mysql!, path.join(options.out, 'serving')), () => undefined);
    }
    // The summary on disk gets the timings of the report and the load too.
    const final: RunSummary = { ...summary, stages };
    writeRunSummary(options.out, final);
    return { summary: final, reportPath, tableRows };
  } finally {
    db.close();
  }
}

/** Exit code when loading the serving tables into MySQL/MariaDB fails (README, "Exit codes"). */
export const EXIT_MYSQL_LOAD = 5;

export class MysqlLoadError extends Error {
  readonly exitCode = EXIT_MYSQL_LOAD;
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
