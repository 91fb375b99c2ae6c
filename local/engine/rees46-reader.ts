/**
 * The REES46 reader of the local engine: raw month files (plain or gzip) → the canonical `events`
 * table and the `rejects` table in DuckDB, with per-file row accounting that reconciles:
 * rows read = accepted + rejected + duplicates removed.
 *
 * How it reads. DuckDB reads each file as physical lines (one VARCHAR column, no quoting, one
 * sequential scan, `WITH ORDINALITY`), so the line number of every row is exact (header = line 1)
 * and the raw line is kept as it was. Each line is then split into the 9 CSV fields in SQL by one
 * anchored RFC 4180 pattern (quoted fields with commas and doubled quotes included); a line that
 * does not match is a reject (wrong_column_count, or unterminated_quote when its quotes are
 * unbalanced), and so is a value that does not type (TRY_CAST, checked in SQL). Why not read_csv's
 * parser with store_rejects: see the note below; the test suite keeps those findings
 * honest. A CSV field spanning several lines (a newline inside quotes) is not supported: REES46 never
 * writes one, and such a line is rejected, never silently merged.
 *
 * Blank lines (e.g. a trailing empty line) are not rows: they are neither read nor rejected.
 * Exact duplicates (all 9 fields equal, within and across files) are dropped from the accepted rows,
 * keeping the first by (file order, line); rejected lines are all kept in `rejects`.
 * No event row ever comes into the JS heap: only counts do.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { EVENT_TYPES, FileRowCounts, RAW_TABLES, RowCounts, outputTable } from '../../lib/contract';
import { readAccounting } from './accounting';
import { duckType, materialisedColumns } from './sql';

export const REES46_HEADER: readonly string[] = RAW_TABLES.find((t) => t.name === 'raw_rees46_events')!.header;

/*
 * What read_csv(store_rejects = true) does and does not do (DuckDB 1.5.5), found while building this
 * reader and checked by test/local/rees46-reader.test.ts:
 * - does: rows with too many / too few columns go to reject_errors with the file (via reject_scans),
 *   the physical line number and the raw line;
 * - does not: give a line number for the rows it accepts (so events could not carry source_line);
 *   an unterminated quote swallows the rest of the file with no reject at all (rows silently lost);
 *   a truncated line yields one reject_errors row per missing column; csv_line carries the previous
 *   line's line break; the sniffer fails on a file with an unbalanced quote unless auto_detect=false.
 */

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** One CSV field: quoted (doubled quotes inside) or unquoted without commas or quotes. */
const FIELD = '("(?:[^"]|"")*"|[^,"]*)';
/** The 9 fields, the whole line as group 1 (`line`): one regexp_extract both splits and tells a match (line <> '' on a non-empty line). */
const LINE_PATTERN = `^(${REES46_HEADER.map(() => FIELD).join(',')})$`;
/** Orders rows by (file order, line) with one BIGINT: files hold far fewer than 10^12 lines. */
const ROW_KEY = 'file_idx * 1000000000000 + source_line';

/** The field's value: unquoted, doubled quotes undone; empty → NULL (as REES46 writes a missing value). */
const unquote = (x: string): string =>
  `NULLIF(CASE WHEN left(${x}, 1) = '"' THEN replace(substr(${x}, 2, length(${x}) - 2), '""', '"') ELSE ${x} END, '')`;

/** `column: "value"`, or `column: (empty)`, for a reject's detail. */
const detail = (column: string): string =>
  `'${column}: ' || CASE WHEN ${column} IS NULL THEN '(empty)' ELSE '"' || ${column} || '"' END`;

const ID = (column: string): string => `CASE WHEN regexp_full_match(${column}, '[0-9]{1,19}') THEN TRY_CAST(${column} AS BIGINT) END`;

export interface Rees46LoadResult {
  perFile: FileRowCounts[];
  totals: RowCounts;
}

/**
 * Reads the files (in the order given: that order decides which copy of a duplicate is kept) into
 * the tables `events` and `rejects` of the connection's database, replacing them if present.
 */
export async function loadRees46(connection: DuckDBConnection, files: string[]): Promise<Rees46LoadResult> {
  if (files.length === 0) throw new Error('loadRees46: no input files');
  const run = (sql: string) => connection.run(sql);

  // 1. Physical lines of every file, numbered from 1 (the header). One sequential scan per file.
  await run(`CREATE OR REPLACE TEMP TABLE _rees46_lines (file_idx INTEGER, source_file VARCHAR, source_line BIGINT, raw_line VARCHAR)`);
  for (const [idx, file] of files.entries()) {
    await run(`INSERT INTO _rees46_lines
      SELECT ${idx}, ${sqlString(file)}, ordinality, rtrim(l, chr(13))
      FROM read_csv(${sqlString(file)}, columns = {'l': 'VARCHAR'}, header = false, auto_detect = false,
                    delim = '\u001f', quote = '', escape = '', parallel = false) WITH ORDINALITY`);
    const header = await connection.runAndReadAll(
      `SELECT raw_line FROM _rees46_lines WHERE file_idx = ${idx} AND source_line = 1`,
    );
    const first = header.getRows()[0]?.[0];
    const got = typeof first === 'string' ? first.replace(/^\uFEFF/, '') : null;
    if (got !== REES46_HEADER.join(',')) {
      throw new Error(`${file}: not a REES46 events file: header is ${JSON.stringify(got)}, expected "${REES46_HEADER.join(',')}"`);
    }
  }

  // 2. Fields split in SQL; values typed with TRY_CAST; the first failing check is the reason.
  const names = REES46_HEADER.map((h) => `'${h}'`).join(', ');
  const fields = REES46_HEADER.map((h) => `${unquote(`f.${h}`)} AS ${h}`).join(',\n        ');
  const eventTypes = EVENT_TYPES.map(sqlString).join(', ');
  await run(`CREATE OR REPLACE TEMP TABLE _rees46_rows AS
    WITH split AS (
      SELECT file_idx, source_file, source_line, raw_line,
        regexp_extract(raw_line, ${sqlString(LINE_PATTERN)}, ['line', ${names}]) AS f
      FROM _rees46_lines
      WHERE source_line > 1 AND raw_line IS NOT NULL AND raw_line <> ''
    ), fields AS (
      SELECT file_idx, source_file, source_line, raw_line, f.line <> '' AS well_formed,
        ${fields}
      FROM split
    ), typed AS (
      SELECT *,
        CASE WHEN regexp_full_match(event_time, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)? UTC')
             THEN TRY_CAST(substr(event_time, 1, length(event_time) - 4) AS TIMESTAMP) END AS t_time,
        ${ID('product_id')} AS t_product_id,
        ${ID('category_id')} AS t_category_id,
        ${ID('user_id')} AS t_user_id,
        CASE WHEN regexp_full_match(price, '-?[0-9]+(\\.[0-9]{1,2})?') THEN TRY_CAST(price AS DECIMAL(12, 2)) END AS t_price
      FROM fields
    )
    SELECT *,
      CASE
        WHEN NOT well_formed THEN
          CASE WHEN (length(raw_line) - length(replace(raw_line, '"', ''))) % 2 = 1 THEN 'unterminated_quote' ELSE 'wrong_column_count' END
        WHEN t_time IS NULL THEN 'bad_timestamp'
        WHEN event_type IS NULL OR event_type NOT IN (${eventTypes}) THEN 'unknown_event_type'
        WHEN t_product_id IS NULL THEN 'bad_product_id'
        WHEN category_id IS NOT NULL AND t_category_id IS NULL THEN 'bad_category_id'
        WHEN t_price IS NULL THEN 'bad_price'
        WHEN t_price < 0 THEN 'negative_price'
        WHEN t_user_id IS NULL THEN 'bad_user_id'
        WHEN user_session IS NULL THEN 'missing_session'
      END AS reason
    FROM typed`);

  // 3. Rejects, with the contract's columns and types.
  const rejectsDef = outputTable('rejects');
  await run(`CREATE OR REPLACE TABLE rejects (${materialisedColumns(rejectsDef).map((c) => `${c.name} ${duckType(c.type)}`).join(', ')})`);
  await run(`INSERT INTO rejects
    SELECT source_file, source_line, reason,
      CASE reason
        WHEN 'wrong_column_count' THEN 'expected ${REES46_HEADER.length} fields (' || ${sqlString(REES46_HEADER.join(','))} || '), found ' ||
          CAST(length(regexp_replace(raw_line, '"(?:[^"]|"")*"', '', 'g')) - length(replace(regexp_replace(raw_line, '"(?:[^"]|"")*"', '', 'g'), ',', '')) + 1 AS VARCHAR)
        WHEN 'unterminated_quote' THEN 'a quoted field is not closed on its line'
        WHEN 'bad_timestamp' THEN ${detail('event_time')}
        WHEN 'unknown_event_type' THEN ${detail('event_type')}
        WHEN 'bad_product_id' THEN ${detail('product_id')}
        WHEN 'bad_category_id' THEN ${detail('category_id')}
        WHEN 'bad_price' THEN ${detail('price')}
        WHEN 'negative_price' THEN ${detail('price')}
        WHEN 'bad_user_id' THEN ${detail('user_id')}
        WHEN 'missing_session' THEN ${detail('user_session')}
      END,
      raw_line
    FROM _rees46_rows WHERE reason IS NOT NULL
    ORDER BY file_idx, source_line`);

  // 4. Exact duplicates among the typed rows: the first by (file order, line) stays.
  const raw = REES46_HEADER.join(', ');
  // Grouping finds the first copy far faster than a window over the 9 columns.
  await run(`CREATE OR REPLACE TEMP TABLE _rees46_kept AS
    SELECT min(${ROW_KEY}) AS row_key FROM _rees46_rows WHERE reason IS NULL GROUP BY ${raw}`);

  // 5. The canonical events table: contract columns in order, then event_date.
  const eventsDef = outputTable('events');
  const eventColumns = materialisedColumns(eventsDef);
  await run(`CREATE OR REPLACE TABLE events (${eventColumns.map((c) => `${c.name} ${duckType(c.type)}`).join(', ')})`);
  const select: Record<string, string> = {
    event_time: 't_time',
    event_hour: 'CAST(hour(t_time) AS INTEGER)',
    day_of_week: 'CAST(isodow(t_time) AS INTEGER)',
    event_type: 'event_type',
    product_id: 't_product_id',
    category_id: 't_category_id',
    category_code: 'category_code',
    category: `CASE WHEN category_code IS NOT NULL THEN NULLIF(split_part(category_code, '.', 1), '') END`,
    sub_category: `CASE WHEN strpos(category_code, '.') > 0 THEN NULLIF(substr(category_code, strpos(category_code, '.') + 1), '') END`,
    brand: 'brand',
    price: 't_price',
    user_id: 't_user_id',
    session_id: 'user_session',
    transaction_id: 'CAST(NULL AS BIGINT)',
    source_file: 'source_file',
    source_line: 'source_line',
    event_date: 'CAST(t_time AS DATE)',
  };
  const missing = eventColumns.filter((c) => !(c.name in select)).map((c) => c.name);
  if (missing.length > 0) throw new Error(`rees46 reader does not fill events columns: ${missing.join(', ')}`);
  await run(`INSERT INTO events
    SELECT ${eventColumns.map((c) => `${select[c.name]} AS ${c.name}`).join(', ')}
    FROM _rees46_rows WHERE reason IS NULL AND ${ROW_KEY} IN (SELECT row_key FROM _rees46_kept)
    ORDER BY ${ROW_KEY}`);

  // 6. Accounting: only counts leave DuckDB.
  // Duplicates = typed rows - kept rows: the kept table holds one row per distinct typed row.
  const { perFile, totals } = await readAccounting(
    connection,
    files,
    `SELECT r.file_idx, r.rows_read, coalesce(k.accepted, 0) AS accepted, r.rejected,
       r.rows_read - r.rejected - coalesce(k.accepted, 0) AS duplicates
     FROM (SELECT file_idx, count(*) AS rows_read, count(*) FILTER (WHERE reason IS NOT NULL) AS rejected FROM _rees46_rows GROUP BY file_idx) r
     LEFT JOIN (SELECT CAST(row_key // 1000000000000 AS INTEGER) AS file_idx, count(*) AS accepted FROM _rees46_kept GROUP BY 1) k USING (file_idx)`,
    `SELECT file_idx, reason, count(*) AS n FROM _rees46_rows WHERE reason IS NOT NULL GROUP BY file_idx, reason`,
  );
  for (const t of ['_rees46_lines', '_rees46_rows', '_rees46_kept']) await run(`DROP TABLE IF EXISTS ${t}`);
  return { perFile, totals };
}
