/**
 * THE serving loader: its SQL and its steps, used by the load-serving Lambda on Aurora (through
 * the Data API) and by the local engine on MySQL/MariaDB (through mysql2). Only the LOAD
 * statement's source clause differs between the two (`FROM S3 PREFIX` against `LOCAL INFILE`).
 *
 * A run, for each served table t of the contract:
 *   DROP TABLE IF EXISTS t__staging; CREATE TABLE t__staging LIKE t; LOAD … INTO TABLE t__staging;
 *   SELECT COUNT(*) FROM t__staging  — must equal the manifest's rowCount;
 * then, once every table passed, DROP TABLE IF EXISTS t__previous, … and ONE
 *   RENAME TABLE t TO t__previous, t__staging TO t, …  for all tables of the run
 * (a single RENAME is atomic in MySQL and MariaDB: readers see all old or all new tables, never a
 * missing one). The run is recorded in `load_runs`; a run already `loaded` is not loaded again.
 * Any failure before the RENAME leaves the served tables untouched and raises ServingLoadError
 * (a failure between dropping the old __previous tables and the RENAME loses only that rollback copy).
 * Strictness: Aurora's LOAD DATA FROM S3 is a server-side load, so the default strict sql_mode of
 * Aurora MySQL 3 (STRICT_TRANS_TABLES; the tables are InnoDB) makes a bad row fail the statement;
 * LOCAL loads turn bad rows into warnings, so the local runner fails on any warning.
 *
 * Identifiers (table and column names) cannot be bound: they come only from the contract and pass
 * `quoteIdentifier`'s strict pattern. Every value (run id, paths, S3 URIs, counts, errors) is bound
 * as a `:name` parameter, Data API style; `toPositional` converts for mysql2.
 */
import { assertRunId, OutputTableDef, servedTables, servingColumns } from '../contract';
import { LOAD_RUNS_TABLE, LoadStatus, quoteIdentifier } from './mysql-schema';

export type SqlValue = string | number | boolean | null;

export interface SqlStatement {
  readonly sql: string;
  /** Values for the `:name` placeholders of `sql`. */
  readonly parameters: Readonly<Record<string, SqlValue>>;
}

export type SqlRow = Record<string, unknown>;

/** What the loader needs from a connection; implemented over mysql2 locally and the Data API on Aurora. */
export interface SqlRunner {
  query(statement: SqlStatement): Promise<SqlRow[]>;
  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(work: (tx: Pick<SqlRunner, 'query'>) => Promise<T>): Promise<T>;
}

/**
 * Runs one table's load statements and returns when they have finished. Separate from `query`
 * because it is the one engine-specific step: Aurora's LOAD may outlive the Data API call
 * (continueAfterTimeout), the local one streams files from disk.
 */
export type LoadExecutor = (table: string, statements: readonly SqlStatement[]) => Promise<void>;

/** A failed step of a load, naming the table (or `manifest`, `load_runs`, `swap`), the step and the cause. */
export class ServingLoadError extends Error {
  constructor(
    readonly table: string,
    readonly step: string,
    readonly causeText: string,
  ) {
    super(`${table}: ${step}: ${causeText}`);
    this.name = 'ServingLoadError';
  }
}

/**
 * How the serving CSVs are written, so that Spark's and the local engine's writers and both LOAD
 * statements agree:
 * - UTF-8, no header, fields separated by `,`, lines ended by `\n`, in `servingColumns` order.
 * - NULL is the bare word `NULL`, never quoted. (With `ESCAPED BY ''` MySQL reads an unquoted NULL
 *   as NULL and `"NULL"` as the four-letter string; `\N` would need an escape character, and then
 *   every backslash in the data would have to be doubled.)
 * - A string value is enclosed in double quotes, a `"` inside it doubled (RFC 4180). The quotes
 *   are required for the empty string, for the text NULL, and when the value holds `,` `"` CR or
 *   LF; writers here always quote strings, which is simplest.
 * - Numbers are never quoted: integers as digits, decimals with `.` and no exponent, doubles as
 *   JavaScript/Java print them (exponent allowed); booleans as 1/0; dates `YYYY-MM-DD`; timestamps
 *   `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC without a zone (MariaDB rejects a `T` or a `Z`).
 */
export const SERVING_CSV_FORMAT = {
  fieldSeparator: ',',
  quote: '"',
  lineTerminator: '\n',
  nullToken: 'NULL',
  header: false,
  encoding: 'utf-8',
} as const;

/** The FIELDS/LINES clause both LOAD statements share (see SERVING_CSV_FORMAT). */
export const LOAD_FORMAT_CLAUSE = `CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n'`;

/** One CSV field per SERVING_CSV_FORMAT. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return SERVING_CSV_FORMAT.nullToken;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`CSV: ${value} has no MySQL representation`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  return `"${value.replace(/"/g, '""')}"`;
}

export const csvLine = (values: readonly (string | number | boolean | null | undefined)[]): string =>
  values.map(csvField).join(SERVING_CSV_FORMAT.fieldSeparator) + SERVING_CSV_FORMAT.lineTerminator;

export const STAGING_SUFFIX = '__staging';
export const PREVIOUS_SUFFIX = '__previous';
export const stagingTable = (table: string): string => `${table}${STAGING_SUFFIX}`;
export const previousTable = (table: string): string => `${table}${PREVIOUS_SUFFIX}`;

/** Where a table's rows come from: an S3 prefix on Aurora, local files elsewhere. */
export type LoadSource = { readonly kind: 's3-prefix'; readonly uri: string } | { readonly kind: 'local-files'; readonly paths: readonly string[] };

/** The served table of the contract, refusing anything else (the only source of identifiers here). */
function servedTable(name: string): OutputTableDef {
  const table = servedTables().find((t) => t.name === name);
  if (!table) throw new Error(`"${name}" is not a served table of the contract`);
  return table;
}

const q = (name: string): string => quoteIdentifier(name);

/**
 * A comment with the run and table, so that a LOAD still running on the server can be found in the
 * process list. Dots, not colons: the Data API might read `:name` inside a comment as a placeholder.
 */
export const loadMarker = (runId: string, table: string): string => `shopsight-load.${runId}.${table}`;

export const loaderSql = {
  dropStaging: (table: string): SqlStatement => ({ sql: `DROP TABLE IF EXISTS ${q(stagingTable(servedTable(table).name))}`, parameters: {} }),

  createStaging: (table: string): SqlStatement => ({
    sql: `CREATE TABLE ${q(stagingTable(servedTable(table).name))} LIKE ${q(table)}`,
    parameters: {},
  }),

  /**
   * The LOAD statements of one table; one per local file, one for the whole S3 prefix.
   *
   * Aurora uses PREFIX rather than MANIFEST: every object of `runs/<run>/<table>/` belongs to the
   * table (load-serving has checked that the manifest's files all lie there), Spark's `_SUCCESS`
   * marker is empty, and the count check below catches any stray data file. A MANIFEST would need
   * an Aurora-format manifest object written first, i.e. S3 write access for the loader.
   */
  load: (table: string, source: LoadSource, runId: string): SqlStatement[] => {
    const def = servedTable(table);
    const into = `INTO TABLE ${q(stagingTable(def.name))} ${LOAD_FORMAT_CLAUSE} (${servingColumns(def).map((c) => q(c.name)).join(', ')})`;
    // The marker is a comment built from a checked run id and a contract name: nothing to escape.
    const marker = `/* ${loadMarker(runId, def.name)} */`;
    if (!/^[a-z0-9._-]+$/.test(loadMarker(runId, def.name))) throw new Error(`run id "${runId}" cannot be used in a load marker`);
    if (source.kind === 's3-prefix') {
      return [{ sql: `LOAD DATA FROM S3 PREFIX :source ${into} ${marker}`, parameters: { source: source.uri } }];
    }
    return source.paths.map((path) => ({ sql: `LOAD DATA LOCAL INFILE :source ${into} ${marker}`, parameters: { source: path } }));
  },

  countStaging: (table: string): SqlStatement => ({ sql: `SELECT COUNT(*) AS \`row_count\` FROM ${q(stagingTable(servedTable(table).name))}`, parameters: {} }),

  /** Drops the previous versions that the swap is about to replace (one previous version is kept). */
  dropPrevious: (tables: readonly string[]): SqlStatement => ({
    sql: `DROP TABLE IF EXISTS ${tables.map((t) => q(previousTable(servedTable(t).name))).join(', ')}`,
    parameters: {},
  }),

  /** One RENAME for every table of the run: atomic, so readers never see a mix of runs or a missing table. */
  swap: (tables: readonly string[]): SqlStatement => ({
    sql: `RENAME TABLE ${tables
      .map((t) => `${q(servedTable(t).name)} TO ${q(previousTable(t))}, ${q(stagingTable(t))} TO ${q(t)}`)
      .join(', ')}`,
    parameters: {},
  }),

  /** Locks the run's row (if any) for the claim transaction. */
  selectRunForUpdate: (runId: string): SqlStatement => ({
    sql: `SELECT \`status\` FROM \`${LOAD_RUNS_TABLE}\` WHERE \`run_id\` = :runId FOR UPDATE`,
    parameters: { runId },
  }),

  /** Other runs loading right now (started within `staleSeconds`): two loads would share the staging tables. */
  selectOtherLoading: (runId: string, staleSeconds: number): SqlStatement => ({
    sql: `SELECT \`run_id\` FROM \`${LOAD_RUNS_TABLE}\` WHERE \`status\` = 'loading' AND \`run_id\` <> :runId AND \`started_at\` > UTC_TIMESTAMP(6) - INTERVAL :staleSeconds SECOND FOR UPDATE`,
    parameters: { runId, staleSeconds },
  }),

  markLoading: (runId: string): SqlStatement => ({
    sql: `INSERT INTO \`${LOAD_RUNS_TABLE}\` (\`run_id\`, \`status\`, \`tables\`, \`started_at\`, \`finished_at\`, \`error\`)
VALUES (:runId, 'loading', NULL, UTC_TIMESTAMP(6), NULL, NULL)
ON DUPLICATE KEY UPDATE \`status\` = 'loading', \`tables\` = NULL, \`started_at\` = UTC_TIMESTAMP(6), \`finished_at\` = NULL, \`error\` = NULL`,
    parameters: { runId },
  }),

  markFinished: (runId: string, status: Exclude<LoadStatus, 'loading'>, tables: unknown, error: string | null): SqlStatement => ({
    sql: `UPDATE \`${LOAD_RUNS_TABLE}\` SET \`status\` = :status, \`tables\` = :tables, \`finished_at\` = UTC_TIMESTAMP(6), \`error\` = :error WHERE \`run_id\` = :runId`,
    parameters: { runId, status, tables: JSON.stringify(tables), error: error === null ? null : error.slice(0, 60000) },
  }),

  selectRun: (runId: string): SqlStatement => ({
    sql: `SELECT \`run_id\`, \`status\`, \`tables\`, \`started_at\`, \`finished_at\`, \`error\` FROM \`${LOAD_RUNS_TABLE}\` WHERE \`run_id\` = :runId`,
    parameters: { runId },
  }),
};

/** Converts `:name` placeholders to mysql2's `?` and an ordered values array. Quoted text and back-quoted names are left alone. */
export function toPositional(statement: SqlStatement): { sql: string; values: SqlValue[] } {
  const values: SqlValue[] = [];
  // Strings, identifiers and comments are matched first so that a ":x" inside them is not a placeholder.
  const sql = statement.sql.replace(/('(?:[^'\\]|\\.|'')*'|`[^`]*`|"(?:[^"\\]|\\.)*"|\/\*[\s\S]*?\*\/)|:([A-Za-z_][A-Za-z0-9_]*)/g, (match, quoted: string | undefined, name: string | undefined) => {
    if (quoted !== undefined || name === undefined) return match;
    if (!(name in statement.parameters)) throw new Error(`No value for :${name} in ${statement.sql}`);
    values.push(statement.parameters[name]);
    return '?';
  });
  return { sql, values };
}

export interface TableToLoad {
  readonly name: string;
  readonly expectedRows: number;
  readonly source: LoadSource;
}

export interface LoadResult {
  readonly runId: string;
  /** `already-loaded`: the run was loaded before and nothing was changed. */
  readonly status: 'loaded' | 'already-loaded';
  readonly tables: Record<string, { readonly rowCount: number; readonly seconds: number }>;
}

export interface LoadOptions {
  /** A 'loading' run older than this is taken to have died. @default 1200 (above the Lambda's 15 minutes) */
  readonly staleLoadingSeconds?: number;
  /** Injected clock for timings. */
  readonly now?: () => number;
}

const firstNumber = (rows: SqlRow[], column: string): number => Number(rows[0]?.[column]);

/**
 * Loads one run: claims it in `load_runs`, loads and checks every table into staging, swaps all
 * tables in one RENAME and records the outcome. Every served table of the contract must be given.
 */
export async function loadServingRun(
  db: SqlRunner,
  executeLoad: LoadExecutor,
  runId: string,
  tables: readonly TableToLoad[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  const now = options.now ?? Date.now;
  try {
    assertRunId(runId);
  } catch (e) {
    throw new ServingLoadError('manifest', 'check run', errorText(e));
  }
  const expected = servedTables().map((t) => t.name);
  const given = tables.map((t) => t.name);
  if ([...given].sort().join(',') !== [...expected].sort().join(',')) {
    throw new ServingLoadError('manifest', 'check tables', `the run must load exactly the served tables (${expected.join(', ')}), got (${given.join(', ')})`);
  }

  const claim = await db
    .transaction(async (tx) => {
      const rows = await tx.query(loaderSql.selectRunForUpdate(runId));
      if (rows[0]?.status === 'loaded') return 'already-loaded' as const;
      const others = await tx.query(loaderSql.selectOtherLoading(runId, options.staleLoadingSeconds ?? 1200));
      if (others.length > 0) throw new Error(`run "${String(others[0].run_id)}" is loading; two loads would share the staging tables`);
      await tx.query(loaderSql.markLoading(runId));
      return 'claimed' as const;
    })
    .catch((e: unknown) => {
      throw new ServingLoadError(LOAD_RUNS_TABLE, 'claim run', errorText(e));
    });
  if (claim === 'already-loaded') {
    const rows = await db.query(loaderSql.selectRun(runId));
    return { runId, status: 'already-loaded', tables: parseTablesJson(rows[0]?.tables) };
  }

  const results: Record<string, { rowCount: number; seconds: number }> = {};
  let table = '';
  let step = '';
  try {
    for (const t of tables) {
      table = t.name;
      const started = now();
      step = 'create staging';
      await db.query(loaderSql.dropStaging(t.name));
      await db.query(loaderSql.createStaging(t.name));
      step = 'load';
      await executeLoad(t.name, loaderSql.load(t.name, t.source, runId));
      step = 'count';
      const rowCount = firstNumber(await db.query(loaderSql.countStaging(t.name)), 'row_count');
      if (rowCount !== t.expectedRows) throw new Error(`staging has ${rowCount} rows, the manifest says ${t.expectedRows}`);
      results[t.name] = { rowCount, seconds: (now() - started) / 1000 };
    }
    table = 'swap';
    step = 'drop previous';
    await db.query(loaderSql.dropPrevious(given));
    step = 'rename';
    await db.query(loaderSql.swap(given));
  } catch (e) {
    const failure = e instanceof ServingLoadError ? e : new ServingLoadError(table, step, errorText(e));
    // Staging tables are left for inspection; the next load drops them first.
    await db.query(loaderSql.markFinished(runId, 'failed', results, failure.message)).catch(() => undefined);
    throw failure;
  }
  // After the swap: were this record lost, a retry would load and swap the same data again, harmlessly.
  await db.query(loaderSql.markFinished(runId, 'loaded', results, null)).catch((e: unknown) => {
    throw new ServingLoadError(LOAD_RUNS_TABLE, 'record loaded', errorText(e));
  });
  return { runId, status: 'loaded', tables: results };
}

function parseTablesJson(value: unknown): LoadResult['tables'] {
  if (value === null || value === undefined) return {};
  return (typeof value === 'string' ? JSON.parse(value) : value) as LoadResult['tables'];
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
