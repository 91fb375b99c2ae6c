/**
 * Serving runs for the loader tests: contract-shaped rows for every served table, written as the
 * serving CSVs (SERVING_CSV_FORMAT) with a manifest. Strings carry the awkward cases — quotes,
 * commas, a newline, accents, an emoji, the text "NULL", the empty string — and nullable columns
 * are NULL on every third row.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ColumnDef, OutputTableDef, servedTables, servingColumns, ServingManifest } from '../../core/contract';
import { csvField, SERVING_CSV_FORMAT } from '../../core/serving/loader-sql';
import { KEY_LENGTH_OVERRIDES } from '../../core/serving/mysql-schema';

const AWKWARD = ['plain', 'NULL', 'say "hi", ok', '', 'ünïcödé ✓ 😀', 'line\nbreak', 'a,b,,c', 'back\\slash'];

/** A value of the column for row i (i ≥ 0); `salt` makes runs differ. */
export function sampleValue(table: OutputTableDef, column: ColumnDef, i: number, salt: number): string | number | null {
  const key = table.primaryKey.includes(column.name);
  if (column.nullable && i % 3 === 2) return null;
  const t = column.type;
  switch (t.kind) {
    case 'string': {
      const max = KEY_LENGTH_OVERRIDES[table.name]?.[column.name] ?? t.maxLength ?? 100;
      // Keys start with the row number so they stay unique after cutting to the column's length.
      const text = key ? `${i}|${AWKWARD[(i + salt) % AWKWARD.length]}` : AWKWARD[(i + salt) % AWKWARD.length];
      return Array.from(text).slice(0, max).join('');
    }
    case 'int':
      return key ? i + 1 : (i * 7 + salt) % 1000;
    case 'bigint':
      return key ? 1_000_000_000_000 + i : i * 1_000_003 + salt;
    case 'double':
      return i % 2 === 0 ? i + 0.25 + salt : 1.5e-7 * (i + 1);
    case 'decimal':
      return Number((i * 1234.56 + salt).toFixed(t.scale));
    case 'date':
      return `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`;
    case 'timestamp':
      return `2026-11-${String(1 + (i % 28)).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}:00.123456`;
    case 'boolean':
      return i % 2;
  }
}

/** One CSV line; only strings are quoted (numbers, dates and timestamps are bare, NULL is bare). */
export function servingCsvLine(table: OutputTableDef, values: readonly (string | number | null)[]): string {
  const columns = servingColumns(table);
  return (
    values
      .map((v, index) => (v === null ? SERVING_CSV_FORMAT.nullToken : columns[index].type.kind === 'string' ? csvField(v) : String(v)))
      .join(',') + '\n'
  );
}

export interface ServingRunOptions {
  /** Rows per table. @default 4 */
  readonly rows?: number;
  readonly salt?: number;
  /** Changes a table's CSV text before it is written. */
  readonly editCsv?: (table: string, csv: string) => string;
  /** Changes the manifest before it is written. */
  readonly editManifest?: (manifest: { tables: Record<string, { rowCount: number; columns: string[]; files: string[] }> }) => void;
}

/** Writes `dir/manifest.json` and `dir/<table>/part-00000.csv` for every served table; returns the rows written. */
export function writeServingRun(dir: string, runId: string, options: ServingRunOptions = {}): Record<string, (string | number | null)[][]> {
  const rows = options.rows ?? 4;
  const salt = options.salt ?? 0;
  fs.mkdirSync(dir, { recursive: true });
  const manifest = { runId, createdAt: '2026-11-23T00:00:00Z', tables: {} as Record<string, { rowCount: number; columns: string[]; files: string[] }> };
  const written: Record<string, (string | number | null)[][]> = {};
  for (const table of servedTables()) {
    const columns = servingColumns(table);
    const data = Array.from({ length: rows }, (_, i) => columns.map((c) => sampleValue(table, c, i, salt)));
    written[table.name] = data;
    let csv = data.map((values) => servingCsvLine(table, values)).join('');
    if (options.editCsv) csv = options.editCsv(table.name, csv);
    const file = `${table.name}/part-00000.csv`;
    fs.mkdirSync(path.join(dir, table.name), { recursive: true });
    fs.writeFileSync(path.join(dir, file), csv);
    manifest.tables[table.name] = { rowCount: rows, columns: columns.map((c) => c.name), files: [file] };
  }
  options.editManifest?.(manifest);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest satisfies ServingManifest, null, 2));
  return written;
}
