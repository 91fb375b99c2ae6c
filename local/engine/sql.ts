/**
 * The shared transformation SQL (spark-jobs/sql/…) run on DuckDB, and the check that what DuckDB
 * produces has the contract's columns and types. Spark runs the very same files with spark.sql.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { ColumnDef, ColumnType, OutputTableDef, outputTable, SCHEMA_TABLE_NAMES } from '../../lib/contract';

/** Folder of the seven schema SELECTs: one file per contract table, one SELECT over `events` each. */
export const SCHEMA_SQL_DIR = path.resolve(__dirname, '../../spark-jobs/sql/schemas');

/** Rows as DuckDB's JSON-safe rendering: BIGINT and DECIMAL as strings, DATE as 'YYYY-MM-DD'. */
export type JsonRow = Record<string, unknown>;

/** The SELECT of a schema table, comments kept, a trailing semicolon dropped (so it nests in DESCRIBE, CREATE … AS). */
export function readSqlFile(table: string): string {
  if (!SCHEMA_TABLE_NAMES.includes(table)) {
    throw new Error(`"${table}" is not one of the schema tables: ${SCHEMA_TABLE_NAMES.join(', ')}`);
  }
  const file = path.join(SCHEMA_SQL_DIR, `${table}.sql`);
  return fs.readFileSync(file, 'utf8').trim().replace(/;\s*$/, '');
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
    const wantType = duckType(want.type);
    if (got.type !== wantType) problems.push(`${contractTable}.${want.name}: DuckDB type ${got.type}, contract type ${wantType}`);
  }
  return problems;
}
