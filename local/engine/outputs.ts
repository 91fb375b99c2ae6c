/**
 * What a local run leaves in its output folder, laid out as the cloud run lays out its buckets:
 * - `<table>/` Parquet for every contract table (Hive folders for partitioned tables: events by
 *   event_date, model_metrics by stage), `rejects/` included;
 * - `serving/<table>/part-00000.csv` headerless CSV of every served table, in the contract's
 *   serving column order, and `serving/manifest.json` (ServingManifest, paths relative to it);
 * - `run-summary.json` (RunSummary).
 *
 * CSV convention of the serving files: SERVING_CSV_FORMAT of core/serving/loader-sql.ts, which the
 * Aurora and MySQL loaders' LOAD DATA clause reads: comma-separated, LF line ends, NULL as the bare
 * word NULL, every string in double quotes with quotes doubled (so an empty string and the text
 * "NULL" stay strings), numbers bare, timestamps `YYYY-MM-DD HH:MM:SS.ffffff` in UTC.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { OutputTableDef, RunSummary, ServingManifest, servedTables, servingColumns } from '../../core/contract';
import { SERVING_CSV_FORMAT } from '../../core/serving/loader-sql';
import { countRows, sqlString } from './duck';
import { checkAgainstContract } from './sql';

export const SERVING_DIR = 'serving';
export const MANIFEST_FILE = 'manifest.json';
export const RUN_SUMMARY_FILE = 'run-summary.json';

/** Checks every contract table the run made against the contract; throws naming each mismatch. */
export async function checkTables(connection: DuckDBConnection, tables: readonly OutputTableDef[]): Promise<void> {
  const problems: string[] = [];
  for (const table of tables) problems.push(...(await checkAgainstContract(connection, table.name, table.name)));
  if (problems.length > 0) throw new Error(`output tables do not match the table contract: ${problems.join('; ')}`);
}

/**
 * The SELECT a table is written from: every column as it is, but `timestamp` columns as
 * TIMESTAMPTZ in UTC, so the Parquet type is an instant (isAdjustedToUTC, as Spark writes the
 * contract's `timestamp`), not a wall-clock time that Spark and Athena would read as timestamp_ntz.
 */
function parquetSelect(table: OutputTableDef): string {
  const columns = [...table.columns, ...table.partitionKeys].map((c) =>
    c.type.kind === 'timestamp' ? `timezone('UTC', ${c.name}) AS ${c.name}` : c.name,
  );
  return `SELECT ${columns.join(', ')} FROM ${table.name}`;
}

/** Writes one table as Parquet under `out/<table>/`, partitioned as the curated bucket is. */
export async function writeParquet(connection: DuckDBConnection, table: OutputTableDef, out: string): Promise<void> {
  const target = path.join(out, table.name);
  fs.rmSync(target, { recursive: true, force: true });
  const select = parquetSelect(table);
  if (table.partitionKeys.length > 0) {
    const keys = table.partitionKeys.map((k) => k.name).join(', ');
    await connection.run(`COPY (${select}) TO ${sqlString(target)} (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (${keys}), OVERWRITE_OR_IGNORE)`);
  } else {
    fs.mkdirSync(target, { recursive: true });
    await connection.run(`COPY (${select}) TO ${sqlString(path.join(target, 'part-00000.parquet'))} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  }
}

/** Writes the serving CSVs and their manifest (row counts as the tables were written); returns the manifest. */
export async function writeServing(
  connection: DuckDBConnection,
  out: string,
  runId: string,
  createdAt: string,
  tableRows: Readonly<Record<string, number>>,
): Promise<ServingManifest> {
  const dir = path.join(out, SERVING_DIR);
  fs.rmSync(dir, { recursive: true, force: true });
  const tables: Record<string, ServingManifest['tables'][string]> = {};
  for (const table of servedTables()) {
    const columns = servingColumns(table).map((c) => c.name);
    const strings = servingColumns(table).filter((c) => c.type.kind === 'string').map((c) => c.name);
    const relative = `${table.name}/part-00000.csv`;
    fs.mkdirSync(path.join(dir, table.name), { recursive: true });
    await connection.run(`COPY (SELECT ${columns.join(', ')} FROM ${table.name}) TO ${sqlString(path.join(dir, relative))}
      (FORMAT CSV, HEADER false, DELIMITER ${sqlString(SERVING_CSV_FORMAT.fieldSeparator)}, QUOTE '"', ESCAPE '"',
       NULLSTR ${sqlString(SERVING_CSV_FORMAT.nullToken)}${strings.length ? `, FORCE_QUOTE (${strings.join(', ')})` : ''},
       DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S.%f')`);
    tables[table.name] = { columns, rowCount: tableRows[table.name] ?? (await countRows(connection, table.name)), files: [relative] };
  }
  const manifest: ServingManifest = { runId, createdAt, tables };
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export function writeRunSummary(out: string, summary: RunSummary): void {
  fs.writeFileSync(path.join(out, RUN_SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
}
