/**
 * The shared transformation SQL (core/sql/…) run on DuckDB, and the check that what DuckDB
 * produces has the contract's columns and types. Spark runs the very same files with spark.sql.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { ColumnDef, ColumnType, OutputTableDef, outputTable, SCHEMA_TABLE_NAMES, tableSql } from '../../core/contract';

/**
 * Root of the shared transformation SQL, one folder per stage (the files Spark SQL runs too):
 * prepare/schemas/, prepare/insights/, association-rules/, recommendations/, purchase-intent/, segments/, spend-forecast/.
 */
export const SQL_DIR = path.resolve(__dirname, '../../core/sql');

/** Folder of the seven schema SELECTs: one file per contract table, one SELECT over `events` each. */
export const SCHEMA_SQL_DIR = path.join(SQL_DIR, 'prepare', 'schemas');

/** Rows as DuckDB's JSON-safe rendering: BIGINT and DECIMAL as strings, DATE as 'YYYY-MM-DD'. */
export type JsonRow = Record<string, unknown>;

/** A value for a `{{name}}` placeholder: a finite number, a TIMESTAMP 'YYYY-MM-DD HH:MM:SS' text, or null. */
export type SqlParam = number | string | null;
export type SqlParams = Record<string, SqlParam>;

/*
 * The placeholder rule. spark-jobs/shopsight_jobs/sql.py implements the very same rule with the
 * same error texts; core/cases/sql_placeholder_cases.json holds the cases both test suites run.
 * - A placeholder is `{{name}}`, name = [A-Za-z_][A-Za-z0-9_]*, anywhere in the text (comments too).
 * - Any other `{{` or `}}` is an error (a misspelt placeholder must not reach the engine).
 * - number → String(n) (JavaScript's shortest round-trip form); it must be finite.
 * - string → TIMESTAMP 'value'; only 'YYYY-MM-DD HH:MM:SS' (ASCII digits) is allowed.
 * - null → NULL.
 * - Every placeholder needs a value and every value a placeholder; all such problems are reported
 *   in one error, sorted by name.
 */
const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;
const TIMESTAMP_TEXT = /^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$/;
const RELATIVE_SQL_PATH = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\.sql$/;

/** How a parameter value is written into the SQL text; throws on a value the rule does not allow. */
function sqlLiteral(source: string, name: string, value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${source}: parameter ${name} must be a finite number, got ${String(value)}`);
    return String(value);
  }
  if (typeof value === 'string') {
    if (!TIMESTAMP_TEXT.test(value)) {
      throw new Error(`${source}: parameter ${name} must be a timestamp text 'YYYY-MM-DD HH:MM:SS', got ${JSON.stringify(value)}`);
    }
    return `TIMESTAMP '${value}'`;
  }
  throw new Error(`${source}: parameter ${name} must be a number, a timestamp text or null, got ${JSON.stringify(value)}`);
}

/**
 * Fills the `{{name}}` placeholders of SQL text with params (see the rule above). `source` names
 * the text in error messages (the relative path for a file).
 */
export function substituteSql(text: string, params: SqlParams, source: string): string {
  const used = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) used.add(m[1]);
  const stray = text.replace(PLACEHOLDER, '');
  if (stray.includes('{{') || stray.includes('}}')) {
    throw new Error(`${source}: malformed placeholder: only {{name}} with name [A-Za-z_][A-Za-z0-9_]* is allowed`);
  }
  const given = Object.keys(params);
  const problems: string[] = [];
  for (const name of [...new Set([...used, ...given])].sort()) {
    if (!given.includes(name)) problems.push(`placeholder {{${name}}} has no value`);
    else if (!used.has(name)) problems.push(`parameter ${name} has no placeholder`);
  }
  if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}`);
  const literals = new Map(given.map((name) => [name, sqlLiteral(source, name, params[name])] as const));
  return text.replace(PLACEHOLDER, (_, name: string) => literals.get(name)!);
}

/**
 * The SELECT of a shared SQL file, relative to core/sql (e.g. 'prepare/insights/daily_kpis.sql'),
 * comments kept, surrounding whitespace and a trailing semicolon dropped (so it nests in DESCRIBE,
 * CREATE … AS), placeholders filled from params. shopsight_jobs.sql.load_sql is its Python twin.
 */
export function readSql(relativePath: string, params: SqlParams = {}): string {
  if (!RELATIVE_SQL_PATH.test(relativePath)) {
    throw new Error(`SQL file path must be relative to core/sql, like "prepare/insights/daily_kpis.sql": got ${JSON.stringify(relativePath)}`);
  }
  const file = path.join(SQL_DIR, ...relativePath.split('/'));
  if (!fs.existsSync(file)) throw new Error(`${relativePath}: no such SQL file under core/sql`);
  const text = fs.readFileSync(file, 'utf8').trim().replace(/;\s*$/, '');
  return substituteSql(text, params, relativePath);
}

/** The SELECT that computes a contract table: the file its contract `sql` names, placeholders filled from params. */
export function readTableSql(table: string, params: SqlParams = {}): string {
  return readSql(tableSql(table), params);
}

/** The SELECT of a schema table (its contract `sql`, under prepare/schemas/; no parameters). */
export function readSqlFile(table: string): string {
  if (!SCHEMA_TABLE_NAMES.includes(table)) {
    throw new Error(`"${table}" is not one of the schema tables: ${SCHEMA_TABLE_NAMES.join(', ')}`);
  }
  return readTableSql(table);
}

/** Runs a shared SQL file's SELECT over the connection's `events` table or view. */
export async function runSql(connection: DuckDBConnection, relativePath: string, params: SqlParams = {}): Promise<JsonRow[]> {
  const reader = await connection.runAndReadAll(readSql(relativePath, params));
  return reader.getRowObjectsJson() as JsonRow[];
}

/** Runs a schema table's SELECT over the connection's `events` table or view. */
export async function runSchema(connection: DuckDBConnection, table: string): Promise<JsonRow[]> {
  const reader = await connection.runAndReadAll(readSqlFile(table));
  return reader.getRowObjectsJson() as JsonRow[];
}

/** DuckDB's name (as DESCRIBE prints it) for a contract column type: the local engine's one type map. */
export function duckType(type: ColumnType): string {
  switch (type.kind) {
    case 'string':
      return 'VARCHAR';
    case 'int':
      return 'INTEGER';
    case 'bigint':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'boolean':
      return 'BOOLEAN';
  }
}

/** Columns a table has where it is materialised: its columns, then its partition keys (never run_id: a local run's tables hold one run). */
export function materialisedColumns(table: OutputTableDef): ColumnDef[] {
  return [...table.columns, ...table.partitionKeys];
}

/**
 * Compares the columns DuckDB reports for a table name or a SELECT with the contract table's, by
 * position: name and type. Returns the problems; empty when they match.
 */
export async function checkAgainstContract(
  connection: DuckDBConnection,
  tableOrQuery: string,
  contractTable: string,
  /** `parquet`: the table as read back from the written files, where a `timestamp` is an instant (TIMESTAMPTZ, see outputs.ts). */
  as: 'engine' | 'parquet' = 'engine',
  /** `lengths: false`: the columns and types only, from DESCRIBE, so a query is planned but not run. */
  options: { lengths?: boolean } = {},
): Promise<string[]> {
  const expected = materialisedColumns(outputTable(contractTable));
  const isQuery = /^\s*(--|select\b|with\b|\()/i.test(tableOrQuery) || /\s/.test(tableOrQuery.trim());
  const target = isQuery ? tableOrQuery : `"${tableOrQuery.replace(/"/g, '""')}"`;
  const reader = await connection.runAndReadAll(`DESCRIBE ${target}`);
  const actual = reader.getRowObjectsJson().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  const problems: string[] = [];
  if (actual.length !== expected.length) {
    problems.push(`${contractTable}: ${actual.length} columns (${actual.map((c) => c.name).join(', ')}), contract has ${expected.length} (${expected.map((c) => c.name).join(', ')})`);
  }
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
    const want = expected[i];
    const got = actual[i];
    if (got.name !== want.name) problems.push(`${contractTable} column ${i + 1}: named "${got.name}", contract says "${want.name}"`);
    const wantType = as === 'parquet' && want.type.kind === 'timestamp' ? 'TIMESTAMP WITH TIME ZONE' : duckType(want.type);
    if (got.type !== wantType) problems.push(`${contractTable}.${want.name}: DuckDB type ${got.type}, contract type ${wantType}`);
  }
  if (problems.length === 0 && options.lengths !== false) {
    problems.push(...(await checkLengths(connection, isQuery ? `(${tableOrQuery}\n) AS _checked` : target, contractTable, expected)));
  }
  return problems;
}

/**
 * The contract's string maxLength, checked with one aggregate over the table: each bounded string
 * column whose longest value (in characters: code points, DuckDB's length(), as MySQL counts
 * utf8mb4 VARCHAR) is longer than the contract allows, named with the longest found and the limit.
 */
async function checkLengths(connection: DuckDBConnection, target: string, contractTable: string, columns: readonly ColumnDef[]): Promise<string[]> {
  const bounded = columns.filter((c) => c.type.kind === 'string' && c.type.maxLength !== undefined);
  if (bounded.length === 0) return [];
  const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;
  const reader = await connection.runAndReadAll(`SELECT ${bounded.map((c) => `max(length(${quoted(c.name)}))`).join(', ')} FROM ${target}`);
  const longest = reader.getRows()[0] ?? [];
  return bounded.flatMap((c, i) => {
    const found = longest[i] === null || longest[i] === undefined ? 0 : Number(longest[i]);
    const limit = c.type.kind === 'string' ? c.type.maxLength! : 0;
    return found > limit ? [`${contractTable}.${c.name}: longest value has ${found} characters, the contract allows ${limit}`] : [];
  });
}
