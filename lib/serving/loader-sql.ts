/**
 * THE serving loader: its SQL and its steps, used by the load-serving Lambda on Aurora (through
 * the Data API, one step per Step Functions state) and by the local engine on MySQL/MariaDB
 * (through mysql2, all steps in one process: `loadServingRun`). Only the LOAD statement's source
 * clause differs between the two (`FROM S3 PREFIX` against `LOCAL INFILE`).
 *
 * A load is one run's exports as one manifest wrote them: (run id, manifest createdAt), its "load
 * key". Rerunning a run id writes a new manifest, so a new load; the same manifest again is
 * `already-loaded`. The steps:
 * 1. claim (`claimLoad`): in one transaction, the load's row in `load_runs` becomes `loading` with
 *    the caller's claim token (one per execution: a retried or redriven step of that execution
 *    holds the same claim). Refused while another claim is live (a heartbeat within
 *    `staleClaimSeconds`) or any loader LOAD still runs in the database: every load shares the
 *    staging tables, so at most one claim exists at a time — two invocations of one run included.
 * 2. per served table (`startTableLoad`, then `checkTableLoad` until it is loaded):
 *    DROP TABLE IF EXISTS t__staging; CREATE TABLE t__staging LIKE t; ALTER TABLE … COMMENT = marker;
 *    LOAD … INTO TABLE t__staging (marker comment); SELECT COUNT(*) — must equal the manifest's rowCount.
 *    The marker (`shopsight-load.<load key>.<table>`) names the load in the process list and on the
 *    staging table itself, so a retried step never starts a second LOAD of the table while one
 *    runs, never reloads a staging table that already holds this load's rows, and the swap never
 *    takes a staging table of another load.
 *    A LOAD that fails in its call raises its own error. One that failed in the background (after
 *    the Data API's 45 s) leaves an empty staging table (an InnoDB LOAD is one atomic statement)
 *    and no error anywhere we can read, so the check runs that LOAD once more, in a call: its
 *    error, if it fails again within the call, is the one reported; a second silent background
 *    failure reports the count with a note that the LOAD failed out of sight.
 * 3. swap (`swapLoad`): every staging table must carry this load's marker; then, in one session
 *    with a short `lock_wait_timeout`, DROP TABLE IF EXISTS t__previous, … and ONE
 *    RENAME TABLE t TO t__previous, t__staging TO t, …  for all tables (atomic in MySQL and
 *    MariaDB: readers see all old or all new tables, never a missing one). An open reader
 *    transaction makes the RENAME wait, and new readers queue behind it, so it gives up after
 *    `lockWaitSeconds` and is tried again with backoff a few times. Then the load is `loaded` and
 *    the one it replaced `replaced`: exactly one row is `loaded`, the one being served. A swap
 *    retried after it happened finds the live tables carrying its marker and only records it.
 * 4. on failure (`failLoad`): the claim's own background LOADs are killed and the load `failed`, so
 *    the next claim need not wait for the heartbeat to go stale.
 * Any failure before the RENAME leaves the served tables untouched and raises ServingLoadError
 * (a failure between dropping the old __previous tables and the RENAME loses only that rollback copy).
 * Strictness: Aurora's LOAD DATA FROM S3 is a server-side load, so strict sql_mode (set by the
 * cluster parameter group, serving-database.ts) makes a bad row fail the statement; LOCAL loads
 * turn bad rows into warnings, so the local runner fails on any warning.
 *
 * Identifiers (table and column names) cannot be bound: they come only from the contract and pass
 * `quoteIdentifier`'s strict pattern. Neither can the file name of LOAD DATA (MySQL takes a string
 * literal only): the S3 URI must match `S3_URI_PATTERN`, a local path may hold no quote-breaking
 * character, and both are inlined with `sqlStringLiteral`. Every other value (run id, counts,
 * errors) is bound as a `:name` parameter, Data API style; `toPositional` converts for mysql2.
 */
import { assertRunId, OutputTableDef, servedTables, servingColumns } from '../contract';
import { LOAD_RUNS_TABLE, quoteIdentifier, sqlStringLiteral } from './mysql-schema';

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
 * Runs one table's load statements. Separate from `query` because it is the one engine-specific
 * step: Aurora's LOAD may outlive the Data API call (continueAfterTimeout) and then goes on in the
 * background (`'running'`), the local one streams files from disk and always finishes (`'done'`).
 * A statement that fails in the call throws its real error.
 */
export type LoadExecutor = (table: string, statements: readonly LoadStatement[]) => Promise<'done' | 'running'>;

/** A LOAD statement and the file or S3 prefix it reads (for messages). */
export interface LoadStatement extends SqlStatement {
  readonly source: string;
}

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

/** `s3://bucket/key/` with a DNS-style bucket name and a key of plain path characters (no quote, no backslash). */
export const S3_URI_PATTERN = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[A-Za-z0-9._=\/-]*$/;

/** The manifest's creation time as the writers give it (ISO 8601 with a zone). */
export const MANIFEST_CREATED_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Claim tokens: what the state machine's MD5 of the execution id and a random UUID look like. */
export const CLAIM_TOKEN_PATTERN = /^[A-Za-z0-9-]{8,64}$/;

/** One load: a run's exports as one manifest wrote them, claimed by one execution. */
export interface LoadClaim {
  readonly runId: string;
  /** The manifest's `createdAt`: a rerun of the run id has another one. */
  readonly manifestCreatedAt: string;
  readonly claimToken: string;
}

/** `<run id>.<createdAt in lower-case letters and digits>`: marker-safe, one per manifest. */
export function loadKey(load: Pick<LoadClaim, 'runId' | 'manifestCreatedAt'>): string {
  assertRunId(load.runId);
  if (!MANIFEST_CREATED_AT_PATTERN.test(load.manifestCreatedAt)) {
    throw new Error(`manifest createdAt "${load.manifestCreatedAt}" is not an ISO 8601 time with a zone`);
  }
  return `${load.runId}.${load.manifestCreatedAt.toLowerCase().replace(/[^0-9a-z]/g, '')}`;
}

/**
 * A comment with the load and table, so that a LOAD still running on the server can be found in
 * the process list, and the same text as the staging table's COMMENT. Dots, not colons: the Data
 * API might read `:name` inside a comment as a placeholder.
 */
export const loadMarker = (key: string, table: string): string => {
  const marker = `shopsight-load.${key}.${table}`;
  if (!/^[a-z0-9._-]+$/.test(marker)) throw new Error(`"${marker}" cannot be used as a load marker`);
  return marker;
};
/** The LIKE pattern of every marker of a load (`key`) or of every load (no key). */
const markerPattern = (key?: string): string => `%shopsight-load.${key === undefined ? '' : `${key}.`}%`;

const checkedInt = (n: number, what: string): number => {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a whole number ≥ 0, got ${n}`);
  return n;
};

const claimWhere = '`run_id` = :runId AND `manifest_created_at` = :createdAt';
const claimParameters = (load: Pick<LoadClaim, 'runId' | 'manifestCreatedAt'>) => ({ runId: load.runId, createdAt: load.manifestCreatedAt });

export const loaderSql = {
  dropStaging: (table: string): SqlStatement => ({ sql: `DROP TABLE IF EXISTS ${q(stagingTable(servedTable(table).name))}`, parameters: {} }),

  createStaging: (table: string): SqlStatement => ({
    sql: `CREATE TABLE ${q(stagingTable(servedTable(table).name))} LIKE ${q(table)}`,
    parameters: {},
  }),

  /** Marks the staging table as this load's (a COMMENT is metadata only: instant in InnoDB). */
  markStaging: (table: string, key: string): SqlStatement => ({
    sql: `ALTER TABLE ${q(stagingTable(servedTable(table).name))} COMMENT = '${loadMarker(key, table)}'`,
    parameters: {},
  }),

  /** The COMMENT of every served table and its staging table that exists. */
  tableMarkers: (tables: readonly string[]): SqlStatement => {
    const names = tables.flatMap((t) => [servedTable(t).name, stagingTable(t)]);
    return {
      sql: `SELECT \`TABLE_NAME\` AS \`name\`, \`TABLE_COMMENT\` AS \`comment\` FROM information_schema.TABLES WHERE \`TABLE_SCHEMA\` = DATABASE() AND \`TABLE_NAME\` IN (${names.map((_, i) => `:t${i}`).join(', ')})`,
      parameters: Object.fromEntries(names.map((n, i) => [`t${i}`, n])),
    };
  },

  /**
   * The LOAD statements of one table; one per local file, one for the whole S3 prefix.
   *
   * Aurora uses PREFIX rather than MANIFEST: every object of `runs/<run>/<table>/` belongs to the
   * table (load-serving has checked that the manifest's files all lie there), Spark's `_SUCCESS`
   * marker is empty, and the count check catches any stray data file. A MANIFEST would need an
   * Aurora-format manifest object written first, i.e. S3 write access for the loader.
   */
  load: (table: string, source: LoadSource, key: string): LoadStatement[] => {
    const def = servedTable(table);
    const into = `INTO TABLE ${q(stagingTable(def.name))} ${LOAD_FORMAT_CLAUSE} (${servingColumns(def).map((c) => q(c.name)).join(', ')})`;
    // The marker is a comment built from a checked load key and a contract name: nothing to escape.
    const marker = `/* ${loadMarker(key, def.name)} */`;
    if (source.kind === 's3-prefix') {
      if (!S3_URI_PATTERN.test(source.uri)) throw new Error(`"${source.uri}" is not an S3 prefix the loader accepts (${S3_URI_PATTERN})`);
      return [{ sql: `LOAD DATA FROM S3 PREFIX ${sqlStringLiteral(source.uri, 'S3 URI')} ${into} ${marker}`, parameters: {}, source: source.uri }];
    }
    return source.paths.map((path) => ({ sql: `LOAD DATA LOCAL INFILE ${sqlStringLiteral(path, 'file path')} ${into} ${marker}`, parameters: {}, source: path }));
  },

  countStaging: (table: string): SqlStatement => ({ sql: `SELECT COUNT(*) AS \`row_count\` FROM ${q(stagingTable(servedTable(table).name))}`, parameters: {} }),

  /** LOADs running in other sessions of this user: of one load (`key`) or of any. Own sessions need no PROCESS privilege. */
  runningLoads: (key?: string): SqlStatement => ({
    sql: "SELECT `ID` AS `id`, `INFO` AS `info` FROM information_schema.PROCESSLIST WHERE `ID` <> CONNECTION_ID() AND `INFO` LIKE 'LOAD DATA%' AND `INFO` LIKE :pattern",
    parameters: { pattern: markerPattern(key) },
  }),

  /** Stops a statement of this user (KILL takes a literal id). */
  killQuery: (id: number): SqlStatement => ({ sql: `KILL QUERY ${checkedInt(id, 'process id')}`, parameters: {} }),

  /** Readers' open transactions make a RENAME wait; this session waits `seconds` at most. */
  setLockWaitTimeout: (seconds: number): SqlStatement => ({ sql: `SET SESSION lock_wait_timeout = ${checkedInt(seconds, 'lock_wait_timeout')}`, parameters: {} }),
  resetLockWaitTimeout: (): SqlStatement => ({ sql: 'SET SESSION lock_wait_timeout = DEFAULT', parameters: {} }),

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

  /** The load's row, locked for the claim transaction. */
  selectLoadForUpdate: (load: Pick<LoadClaim, 'runId' | 'manifestCreatedAt'>): SqlStatement => ({
    sql: `SELECT \`status\`, \`claim_token\` FROM \`${LOAD_RUNS_TABLE}\` WHERE ${claimWhere} FOR UPDATE`,
    parameters: claimParameters(load),
  }),

  /** Other live claims (heartbeat within `staleSeconds`), locked: they would share the staging tables. */
  selectOtherLoading: (load: Pick<LoadClaim, 'runId' | 'manifestCreatedAt'>, staleSeconds: number): SqlStatement => ({
    sql: `SELECT \`run_id\`, \`manifest_created_at\` FROM \`${LOAD_RUNS_TABLE}\` WHERE \`status\` = 'loading' AND NOT (${claimWhere}) AND COALESCE(\`heartbeat_at\`, \`started_at\`) > UTC_TIMESTAMP(6) - INTERVAL :staleSeconds SECOND FOR UPDATE`,
    parameters: { ...claimParameters(load), staleSeconds },
  }),

  /** Seconds since the load's last heartbeat, with its status and token. */
  selectClaim: (load: Pick<LoadClaim, 'runId' | 'manifestCreatedAt'>): SqlStatement => ({
    sql: `SELECT \`status\`, \`claim_token\`, TIMESTAMPDIFF(SECOND, COALESCE(\`heartbeat_at\`, \`started_at\`), UTC_TIMESTAMP(6)) AS \`idle_seconds\`, \`tables\` FROM \`${LOAD_RUNS_TABLE}\` WHERE ${claimWhere}`,
    parameters: claimParameters(load),
  }),

  /** The run's load that this token claims and that is loading, if any. */
  selectLoadingByToken: (claim: Pick<LoadClaim, 'runId' | 'claimToken'>): SqlStatement => ({
    sql: `SELECT \`manifest_created_at\` FROM \`${LOAD_RUNS_TABLE}\` WHERE \`run_id\` = :runId AND \`claim_token\` = :token AND \`status\` = 'loading'`,
    parameters: { runId: claim.runId, token: claim.claimToken },
  }),

  markLoading: (load: LoadClaim): SqlStatement => ({
    sql: `INSERT INTO \`${LOAD_RUNS_TABLE}\` (\`run_id\`, \`manifest_created_at\`, \`status\`, \`claim_token\`, \`tables\`, \`started_at\`, \`heartbeat_at\`, \`finished_at\`, \`error\`)
VALUES (:runId, :createdAt, 'loading', :token, NULL, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), NULL, NULL)
ON DUPLICATE KEY UPDATE \`status\` = 'loading', \`claim_token\` = :token, \`tables\` = NULL, \`started_at\` = UTC_TIMESTAMP(6), \`heartbeat_at\` = UTC_TIMESTAMP(6), \`finished_at\` = NULL, \`error\` = NULL`,
    parameters: { ...claimParameters(load), token: load.claimToken },
  }),

  heartbeat: (load: LoadClaim): SqlStatement => ({
    sql: `UPDATE \`${LOAD_RUNS_TABLE}\` SET \`heartbeat_at\` = UTC_TIMESTAMP(6) WHERE ${claimWhere} AND \`claim_token\` = :token AND \`status\` = 'loading'`,
    parameters: { ...claimParameters(load), token: load.claimToken },
  }),

  /** The load that was served until this swap. */
  markReplaced: (): SqlStatement => ({ sql: `UPDATE \`${LOAD_RUNS_TABLE}\` SET \`status\` = 'replaced' WHERE \`status\` = 'loaded'`, parameters: {} }),

  markFinished: (load: LoadClaim, status: 'loaded' | 'failed', tables: unknown, error: string | null): SqlStatement => ({
    sql: `UPDATE \`${LOAD_RUNS_TABLE}\` SET \`status\` = :status, \`tables\` = :tables, \`finished_at\` = UTC_TIMESTAMP(6), \`error\` = :error WHERE ${claimWhere} AND \`claim_token\` = :token AND \`status\` = 'loading'`,
    parameters: { ...claimParameters(load), token: load.claimToken, status, tables: JSON.stringify(tables), error: error === null ? null : error.slice(0, 60000) },
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

export type TableRowCounts = Record<string, { readonly rowCount: number; readonly seconds?: number }>;

export interface LoadResult {
  readonly runId: string;
  readonly manifestCreatedAt: string;
  /** `already-loaded`: this manifest was loaded before and nothing was changed. */
  readonly status: 'loaded' | 'already-loaded';
  readonly tables: TableRowCounts;
}

/** One table's progress: `running` while its LOAD goes on in the background. */
export interface TableLoadProgress {
  readonly table: string;
  readonly status: 'loaded' | 'running';
  /** Staging rows once loaded, else null. */
  readonly rowCount: number | null;
  /** The check has run the LOAD a second time to see its error (see the header). */
  readonly rerun: boolean;
}

export interface ClaimOptions {
  /** A `loading` claim without a heartbeat for this long is taken to have died. @default 600 */
  readonly staleClaimSeconds?: number;
}

export interface SwapOptions {
  /** The swap session's lock_wait_timeout. @default 5 */
  readonly lockWaitSeconds?: number;
  /** RENAME attempts when readers hold the tables. @default 4 */
  readonly attempts?: number;
  /** Wait before the second attempt, doubled after each. @default 2000 */
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const firstNumber = (rows: SqlRow[], column: string): number => Number(rows[0]?.[column]);
const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const isLockWaitTimeout = (e: unknown): boolean => /Lock wait timeout exceeded|\b1205\b/.test(errorText(e));

/** Wraps any failure of `work` as ServingLoadError(table, step, cause). */
async function step<T>(table: string, name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw e instanceof ServingLoadError ? e : new ServingLoadError(table, name, errorText(e));
  }
}

/**
 * Step 1: claims the load for `claimToken`. `already-loaded` when this manifest is the one loaded
 * (served) now; then nothing else may be done.
 */
export async function claimLoad(db: SqlRunner, load: LoadClaim, options: ClaimOptions = {}): Promise<'claimed' | 'already-loaded'> {
  const key = await step('manifest', 'check run', async () => {
    if (!CLAIM_TOKEN_PATTERN.test(load.claimToken)) throw new Error(`claim token "${load.claimToken}" is not one the loader issues`);
    return loadKey(load);
  });
  return step(LOAD_RUNS_TABLE, 'claim run', () =>
    db.transaction(async (tx) => {
      const [row] = await tx.query(loaderSql.selectLoadForUpdate(load));
      if (row?.status === 'loaded') return 'already-loaded' as const;
      const others = await tx.query(loaderSql.selectOtherLoading(load, options.staleClaimSeconds ?? 600));
      if (others.length > 0) {
        throw new Error(`run "${String(others[0].run_id)}" (manifest of ${String(others[0].manifest_created_at)}) is loading; two loads would share the staging tables`);
      }
      const claim = (await tx.query(loaderSql.selectClaim(load)))[0];
      if (claim?.status === 'loading' && claim.claim_token !== load.claimToken && Number(claim.idle_seconds) <= (options.staleClaimSeconds ?? 600)) {
        throw new Error(`run "${load.runId}" (manifest of ${load.manifestCreatedAt}) is being loaded by another execution`);
      }
      // An orphaned LOAD (of a died claim) still holds its staging table; ours may go on (a redrive).
      const running = (await tx.query(loaderSql.runningLoads())).filter((r) => !String(r.info).includes(`shopsight-load.${key}.`));
      if (running.length > 0) throw new Error(`a LOAD of another load is still running in the database (process ${String(running[0].id)}); wait for it or kill it`);
      await tx.query(loaderSql.markLoading(load));
      return 'claimed' as const;
    }),
  );
}

/** The load must still be claimed by this token (a `failed` claim of the same token, from a redrive, is taken again). */
async function assertClaim(db: SqlRunner, load: LoadClaim, table: string): Promise<void> {
  const [row] = await step(table, 'check claim', () => db.query(loaderSql.selectClaim(load)));
  if (row?.claim_token !== load.claimToken) throw new ServingLoadError(table, 'check claim', `run "${load.runId}" is not claimed by this execution`);
  if (row.status === 'failed') {
    if ((await claimLoad(db, load)) === 'already-loaded') throw new ServingLoadError(table, 'check claim', `run "${load.runId}" is loaded already`);
    return;
  }
  if (row.status !== 'loading') throw new ServingLoadError(table, 'check claim', `the load of run "${load.runId}" is ${String(row.status)}, not loading`);
  await step(table, 'check claim', () => db.query(loaderSql.heartbeat(load)));
}

async function stagingMarker(db: SqlRunner, table: string): Promise<string | undefined> {
  const rows = await db.query(loaderSql.tableMarkers([table]));
  return rows.find((r) => r.name === stagingTable(table))?.comment as string | undefined;
}

async function countMatches(db: SqlRunner, t: Pick<TableToLoad, 'name' | 'expectedRows'>): Promise<number> {
  return step(t.name, 'count', async () => firstNumber(await db.query(loaderSql.countStaging(t.name)), 'row_count'));
}

const mismatch = (rowCount: number, t: Pick<TableToLoad, 'expectedRows'>): string => `staging has ${rowCount} rows, the manifest says ${t.expectedRows}`;

/** Fresh staging table with this load's marker, then the LOAD; the outcome as progress. */
async function loadIntoFreshStaging(db: SqlRunner, executeLoad: LoadExecutor, key: string, t: TableToLoad, rerun: boolean): Promise<TableLoadProgress> {
  await step(t.name, 'create staging', async () => {
    await db.query(loaderSql.dropStaging(t.name));
    await db.query(loaderSql.createStaging(t.name));
    await db.query(loaderSql.markStaging(t.name, key));
  });
  const outcome = await step(t.name, 'load', () => executeLoad(t.name, loaderSql.load(t.name, t.source, key))).catch(async (e: unknown) => {
    // A LOCAL load fails on warnings after its rows went in: never leave them to be resumed.
    await db.query(loaderSql.dropStaging(t.name)).catch(() => undefined);
    throw e;
  });
  if (outcome === 'running') return { table: t.name, status: 'running', rowCount: null, rerun };
  const rowCount = await countMatches(db, t);
  if (rowCount !== t.expectedRows) throw new ServingLoadError(t.name, 'count', mismatch(rowCount, t));
  return { table: t.name, status: 'loaded', rowCount, rerun };
}

/**
 * Step 2a: starts (or resumes) one table's load. A retried start never runs a second LOAD while
 * this load's LOAD of the table runs, and never reloads a staging table already holding its rows.
 */
export async function startTableLoad(db: SqlRunner, executeLoad: LoadExecutor, load: LoadClaim, t: TableToLoad): Promise<TableLoadProgress> {
  const key = loadKey(load);
  servedTable(t.name);
  await assertClaim(db, load, t.name);
  if ((await step(t.name, 'check running', () => db.query(loaderSql.runningLoads(key)))).some((r) => String(r.info).includes(`${loadMarker(key, t.name)} */`))) {
    return { table: t.name, status: 'running', rowCount: null, rerun: false };
  }
  if ((await step(t.name, 'check staging', () => stagingMarker(db, t.name))) === loadMarker(key, t.name)) {
    const rowCount = await countMatches(db, t);
    if (rowCount === t.expectedRows) return { table: t.name, status: 'loaded', rowCount, rerun: false };
  }
  return loadIntoFreshStaging(db, executeLoad, key, t, false);
}

/**
 * Step 2b: once a background LOAD may have ended, its outcome: still `running`, `loaded`, or —
 * for a staging table short of rows — the LOAD run again to see its error (see the header).
 */
export async function checkTableLoad(
  db: SqlRunner,
  executeLoad: LoadExecutor,
  load: LoadClaim,
  t: TableToLoad,
  previous: Pick<TableLoadProgress, 'rerun'>,
): Promise<TableLoadProgress> {
  const key = loadKey(load);
  await assertClaim(db, load, t.name);
  const running = await step(t.name, 'check running', () => db.query(loaderSql.runningLoads(key)));
  if (running.some((r) => String(r.info).includes(`${loadMarker(key, t.name)} */`))) return { table: t.name, status: 'running', rowCount: null, rerun: previous.rerun };
  const marker = await step(t.name, 'check staging', () => stagingMarker(db, t.name));
  if (marker !== loadMarker(key, t.name)) throw new ServingLoadError(t.name, 'check staging', `the staging table is not this load's (its marker is "${marker ?? 'missing'}")`);
  const rowCount = await countMatches(db, t);
  if (rowCount === t.expectedRows) return { table: t.name, status: 'loaded', rowCount, rerun: previous.rerun };
  if (previous.rerun) {
    throw new ServingLoadError(
      t.name,
      'load',
      `${mismatch(rowCount, t)}: LOAD DATA ran past the Data API call twice and ended without its rows; a statement that outlives its call reports no error, so load the table by hand to see it`,
    );
  }
  return loadIntoFreshStaging(db, executeLoad, key, t, true);
}

/** Step 3: the atomic swap of every served table, then the load recorded. Retried after it happened, it only records. */
export async function swapLoad(db: SqlRunner, load: LoadClaim, expected: TableRowCounts, options: SwapOptions = {}): Promise<LoadResult> {
  const key = loadKey(load);
  const names = servedTables().map((t) => t.name);
  const given = Object.keys(expected);
  if ([...given].sort().join(',') !== [...names].sort().join(',')) {
    throw new ServingLoadError('manifest', 'check tables', `the run must load exactly the served tables (${names.join(', ')}), got (${given.join(', ')})`);
  }
  const [row] = await step(LOAD_RUNS_TABLE, 'check claim', () => db.query(loaderSql.selectClaim(load)));
  if (row?.status === 'loaded') return { runId: load.runId, manifestCreatedAt: load.manifestCreatedAt, status: 'already-loaded', tables: parseTablesJson(row.tables) };
  await assertClaim(db, load, 'swap');

  const markers = new Map((await step('swap', 'check staging', () => db.query(loaderSql.tableMarkers(names)))).map((r) => [String(r.name), String(r.comment)]));
  const swapped = names.every((t) => markers.get(t) === loadMarker(key, t) && !markers.has(stagingTable(t)));
  if (!swapped) {
    const foreign = names.filter((t) => markers.get(stagingTable(t)) !== loadMarker(key, t));
    if (foreign.length > 0) throw new ServingLoadError('swap', 'check staging', `staging table(s) of ${foreign.join(', ')} missing or not of this load`);
    const attempts = options.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        await db.transaction(async (tx) => {
          await tx.query(loaderSql.setLockWaitTimeout(options.lockWaitSeconds ?? 5));
          await tx.query(loaderSql.dropPrevious(names));
          await tx.query(loaderSql.swap(names));
          await tx.query(loaderSql.resetLockWaitTimeout());
        });
        break;
      } catch (e) {
        if (!isLockWaitTimeout(e) || attempt >= attempts) {
          throw new ServingLoadError('swap', 'rename', isLockWaitTimeout(e) ? `readers held the served tables through ${attempts} attempts: ${errorText(e)}` : errorText(e));
        }
        await (options.sleep ?? sleepMs)((options.backoffMs ?? 2000) * 2 ** (attempt - 1));
      }
    }
  }
  await step(LOAD_RUNS_TABLE, 'record loaded', () =>
    db.transaction(async (tx) => {
      await tx.query(loaderSql.markReplaced());
      await tx.query(loaderSql.markFinished(load, 'loaded', expected, null));
    }),
  );
  return { runId: load.runId, manifestCreatedAt: load.manifestCreatedAt, status: 'loaded', tables: expected };
}

/**
 * Step 4: after a failure, kills this claim's LOADs still running and records the failure, if the
 * run is still claimed by this token (found by run id and token: a failed claim step returned no
 * manifest time). Does nothing for a claim that is not, or no longer, its own.
 */
export async function failLoad(db: SqlRunner, claim: Pick<LoadClaim, 'runId' | 'claimToken'>, error: string): Promise<{ released: boolean; killed: number }> {
  const [row] = await db.query(loaderSql.selectLoadingByToken(claim));
  if (!row) return { released: false, killed: 0 };
  const load: LoadClaim = { ...claim, manifestCreatedAt: String(row.manifest_created_at) };
  const running = await db.query(loaderSql.runningLoads(loadKey(load)));
  for (const r of running) await db.query(loaderSql.killQuery(Number(r.id))).catch(() => undefined);
  await db.query(loaderSql.markFinished(load, 'failed', {}, error));
  return { released: true, killed: running.length };
}

/**
 * Every step in one process (the local engine): claims the load with a fresh token, loads and
 * checks every table into staging, swaps all tables in one RENAME and records the outcome. Every
 * served table of the contract must be given.
 */
export async function loadServingRun(
  db: SqlRunner,
  executeLoad: LoadExecutor,
  manifest: { readonly runId: string; readonly createdAt: string },
  tables: readonly TableToLoad[],
  options: ClaimOptions & SwapOptions & { readonly claimToken?: string; readonly now?: () => number } = {},
): Promise<LoadResult> {
  const now = options.now ?? Date.now;
  const load: LoadClaim = { runId: manifest.runId, manifestCreatedAt: manifest.createdAt, claimToken: options.claimToken ?? randomToken() };
  const expected = servedTables().map((t) => t.name);
  const given = tables.map((t) => t.name);
  if ([...given].sort().join(',') !== [...expected].sort().join(',')) {
    throw new ServingLoadError('manifest', 'check tables', `the run must load exactly the served tables (${expected.join(', ')}), got (${given.join(', ')})`);
  }
  if ((await claimLoad(db, load, options)) === 'already-loaded') {
    const [row] = await db.query(loaderSql.selectClaim(load));
    return { runId: load.runId, manifestCreatedAt: load.manifestCreatedAt, status: 'already-loaded', tables: parseTablesJson(row?.tables) };
  }
  try {
    const results: Record<string, { rowCount: number; seconds: number }> = {};
    for (const t of tables) {
      const started = now();
      let progress = await startTableLoad(db, executeLoad, load, t);
      while (progress.status === 'running') progress = await checkTableLoad(db, executeLoad, load, t, progress);
      results[t.name] = { rowCount: progress.rowCount ?? 0, seconds: (now() - started) / 1000 };
    }
    return await swapLoad(db, load, results, options);
  } catch (e) {
    const failure = e instanceof ServingLoadError ? e : new ServingLoadError('load', 'run', errorText(e));
    // Staging tables are left for inspection; the next load drops them first.
    await failLoad(db, load, failure.message).catch(() => undefined);
    throw failure;
  }
}

const randomToken = (): string => `local-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

function parseTablesJson(value: unknown): TableRowCounts {
  if (value === null || value === undefined) return {};
  return (typeof value === 'string' ? JSON.parse(value) : value) as TableRowCounts;
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
