/**
 * THE serving loader's SQL, used by the load-serving Lambda on Aurora (through the Data API) and by
 * the local engine on MySQL/MariaDB (through mysql2); the steps that run it are in load-steps.ts.
 * Only the LOAD statement's source clause differs between the two (`FROM S3 PREFIX` against
 * `LOCAL INFILE`).
 *
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
import type { SqlStatement, SqlValue } from './sql-runner';

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


export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
