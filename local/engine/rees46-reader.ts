/**
 * The REES46 reader of the local engine: raw month files (plain or gzip) → the canonical `events`
 * table and the `rejects` table in DuckDB, with per-file row accounting that reconciles:
 * rows read = accepted + rejected + duplicates removed.
 *
 * How it reads. Each file is read as physical lines (`readPhysicalLines` below: DuckDB's CSV scanner
 * as a line splitter, one VARCHAR column, no quoting, one sequential scan, `WITH ORDINALITY`), so the
 * line number of every row is exact (header = line 1) and the raw line is kept as it was (for the rejects).
 * Each line is then split into the 9 CSV fields in SQL: a line without a `"` on its commas, any other by
 * one anchored RFC 4180 pattern (quoted fields with commas and doubled quotes included), which gives the
 * same fields on a line without quotes; a line that does not match is a reject (wrong_column_count, or
 * unterminated_quote when its quotes are unbalanced), and so is a value that does not type (checked
 * in SQL). Why not read_csv's parser with store_rejects: see the note below; the test suite keeps
 * those findings honest. A CSV field spanning several lines (a newline inside quotes) is not
 * supported: REES46 never writes one, and such a line is rejected, never silently merged.
 *
 * Lines (the same rule in both readers and on Spark). A file is split into lines on LF (`\n`) only.
 * One CR (`\r`) at the end of a line is removed (CRLF files); any other CR is content: it stays in
 * the line, which then fails its field checks or keeps the CR inside a value (e.g. in user_session).
 * A UTF-8 BOM at the start of the file is dropped. A file with CR-only line ends is therefore one
 * line (its header does not match: the file is refused). Blank lines (e.g. a trailing empty line)
 * are not rows: they are neither read nor rejected, but they count in the line numbers.
 *
 * Control characters. A line holding any of CONTROL_CHARACTERS (core/contract/rejects.ts: U+0000–U+0008,
 * U+000B, U+000C, U+000E–U+001F, U+007F; TAB is content) is a control_character reject before any
 * other check, detail `U+XXXX at character N` (its first one; N in code points, 1-based). Invalid
 * UTF-8 is not refused: the line is read with U+FFFD in its place (Node fallback) and checked as usual.
 *
 * Values (the first failing check, in this order, is the reason; detail `column: "value"` or
 * `column: (empty)`; an empty field is missing):
 * - event_time: exactly `YYYY-MM-DD HH:MM:SS[.f…] UTC` with hour 00..23, minute and second 00..59
 *   (`24:00:00` and a leap second `23:59:60` are bad_timestamp), a real calendar date of year
 *   2000..2100, the range of the Glue event_date projection and of the RetailRocket reader (Feb 30,
 *   month 13, day 00, year 1999 or 2101 are bad_timestamp). The fraction, when present, is
 *   1 or more digits; digits beyond the 6th (microseconds) are TRUNCATED, not rounded
 *   (`.1234567` and `.9999999` → .123456 and .999999 s); a `.` without digits is bad_timestamp.
 * - event_type: view, cart, purchase or remove_from_cart, else unknown_event_type.
 * - product_id, user_id: 1..19 digits (no sign, no spaces) that fit a BIGINT (≤ 9223372036854775807),
 *   else bad_product_id / bad_user_id. category_id: empty (NULL) or the same, else bad_category_id.
 * - category_code longer than events.category_code's maxLength (255), its first segment (events.category)
 *   longer than 128, or brand longer than 128: field_too_long, detail e.g. `brand: 129 characters,
 *   events.brand allows 128`. Lengths are in characters as MySQL counts utf8mb4 VARCHAR (code points:
 *   DuckDB's length()), the bounds are the contract's, so Aurora's strict load never meets a longer one.
 * - price: `-?digits[.d or .dd]`, within DECIMAL(12,2), else bad_price; below 0 negative_price;
 *   0.00 is a valid price.
 * - user_session: empty → missing_session; longer than events.session_id's 64 → field_too_long.
 *   category_code and brand may be empty (NULL).
 *
 * A reject's detail and raw_line are cut to the rejects table's maxLength (1024 and 65535 characters).
 *
 * Exact duplicates (all 9 fields equal after unquoting, within and across files) are dropped from the
 * accepted rows, keeping the first by (file order, line); rejected lines are all kept in `rejects`.
 * No event row ever comes into the JS heap: only counts do (but see readPhysicalLines for files
 * DuckDB's scanner refuses).
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DuckDBConnection } from '@duckdb/node-api';
import { CONTROL_CHARACTERS, EVENT_TYPES, FileRowCounts, maxLengthOf, RAW_TABLES, RowCounts, outputTable } from '../../core/contract';
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

/*
 * What DuckDB's CSV scanner does with line ends (DuckDB 1.5.5; delim 0x1F, quote '', escape '',
 * strict mode, the settings used here; checked by test/local/reader-cases.test.ts):
 * - new_line auto-detected: LF files and CRLF files are split right (the CR of a CRLF is removed, a
 *   BOM too); a file whose FIRST line ends with a bare CR is read as CR-separated lines (against the
 *   rule above); a bare CR inside a line, a file mixing LF and CRLF lines, a 0x1F byte, or invalid
 *   UTF-8 make the whole scan throw "Invalid Input Error: The CSV Parser state machine reached an
 *   invalid state" / "CSV Error on Line: N".
 * - new_line = '\n' set explicitly: a CRLF file throws too; new_line = '\r\n': an LF file throws.
 * - strict_mode = true written out (it is the default) together with new_line = '\r\n' silently
 *   returns wrong lines (a CRLF file comes back as one NULL line): so it is left at its default.
 * - strict_mode = false: a bare CR always ends a line (there is no option that makes a CR outside
 *   quotes content), and with new_line = '\n' every CRLF yields an extra empty line (line numbers
 *   shift); with '\r\n' the character after a bare CR is lost.
 * So the scanner can only be used where it is exact: the file's first line (read in Node) decides
 * new_line ('\r\n' when it ends in CRLF, '\n' when it has no CR at all), strict mode then throws on
 * any deviation later in the file, and every file it throws on, or whose first line carries a bare CR,
 * is read by the Node fallback below, which applies the rule itself.
 */

/** Bytes of (decompressed) input looked at to choose new_line: enough for any header line. */
const SNIFF_BYTES = 1 << 20;

const isGzip = (head: Buffer): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/** The first up to SNIFF_BYTES bytes of the file's content (gunzipped when it is gzip). */
async function contentHead(file: string): Promise<Buffer> {
  const fd = fs.openSync(file, 'r');
  const magic = Buffer.alloc(2);
  const got = fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  const stream: NodeJS.ReadableStream = isGzip(magic.subarray(0, got))
    ? fs.createReadStream(file).pipe(zlib.createGunzip())
    : fs.createReadStream(file, { end: SNIFF_BYTES - 1 });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= SNIFF_BYTES) break; // leaving the loop destroys the stream
  }
  return Buffer.concat(chunks).subarray(0, SNIFF_BYTES);
}

/** new_line for DuckDB from the first line, or null when only the Node fallback reads the file right. */
function newLineOf(head: Buffer): '\\n' | '\\r\\n' | null {
  const lf = head.indexOf(0x0a);
  const cr = head.indexOf(0x0d);
  if (cr < 0) return '\\n';
  if (lf >= 0 && cr === lf - 1) return '\\r\\n';
  return null; // a bare CR in or at the end of the first line
}

/** Lines of the rule, in Node: split on LF, one trailing CR and a leading BOM removed, invalid UTF-8 → U+FFFD. */
async function appendLinesInNode(connection: DuckDBConnection, file: string, table: string): Promise<void> {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  const got = fs.readSync(fd, head, 0, 2, 0);
  fs.closeSync(fd);
  const raw = fs.createReadStream(file);
  const stream: NodeJS.ReadableStream = isGzip(head.subarray(0, got)) ? raw.pipe(zlib.createGunzip()) : raw;
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const appender = await connection.createAppender(table);
  let line = 0n;
  let carry: Buffer = Buffer.alloc(0);
  const emit = (bytes: Buffer): void => {
    line += 1n;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
    let text = decoder.decode(bytes.subarray(0, end));
    if (line === 1n && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    appender.appendBigInt(line);
    if (text === '') appender.appendNull();
    else appender.appendVarchar(text);
    appender.endRow();
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      for (let lf = data.indexOf(0x0a, start); lf >= 0; lf = data.indexOf(0x0a, start)) {
        emit(data.subarray(start, lf));
        start = lf + 1;
      }
      carry = Buffer.from(data.subarray(start));
      data = carry;
    }
    if (carry.length > 0) emit(carry);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

let nodeLinesSeq = 0;

/**
 * Runs `use` with a relation of the file's physical lines `(ordinality BIGINT, l VARCHAR)` as the rule
 * in the header says (l NULL for a blank line). Normally that relation is DuckDB's CSV scanner over the
 * file (a subquery, read while `use` runs); when the scanner cannot read the file exactly (see the note
 * above), the lines are streamed through Node into a temp table first (slower, and the lines pass
 * through the JS heap one at a time). `use` must be one statement (all or nothing), since it may run
 * twice. `parallel`: let the scanner run in parallel (only when line numbers are not needed).
 */
export async function readPhysicalLines<T>(
  connection: DuckDBConnection,
  file: string,
  use: (lines: string) => Promise<T>,
  options: { parallel?: boolean } = {},
): Promise<T> {
  const newLine = newLineOf(await contentHead(file));
  if (newLine !== null) {
    const scan = `(SELECT ordinality, l
      FROM read_csv(${sqlString(file)}, columns = {'l': 'VARCHAR'}, header = false, auto_detect = false,
                    delim = '\u001f', quote = '', escape = '', new_line = '${newLine}',
                    parallel = ${options.parallel === true}) WITH ORDINALITY)`;
    try {
      return await use(scan);
    } catch (e) {
      // Not `instanceof Error`: DuckDB's native errors come from another realm under jest's VM contexts.
      const message = (e as { message?: unknown } | null)?.message;
      if (typeof message !== 'string' || !message.startsWith('Invalid Input Error')) throw e;
    }
  }
  const table = `_node_lines_${++nodeLinesSeq}`;
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${table} (ordinality BIGINT, l VARCHAR)`);
  try {
    await appendLinesInNode(connection, file, table);
    return await use(`(SELECT ordinality, l FROM ${table})`);
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** One CSV field: quoted (doubled quotes inside) or unquoted without commas or quotes. */
const FIELD = '("(?:[^"]|"")*"|[^,"]*)';
/** The 9 fields, the whole line as group 1 (`line`): one regexp_extract both splits and tells a match (line <> '' on a non-empty line). */
const LINE_PATTERN = `^(${REES46_HEADER.map(() => FIELD).join(',')})$`;
/** event_time's shape: hour 00..23, minute and second 00..59, optional fraction of 1+ digits. */
const TIME_PATTERN = '[0-9]{4}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)? UTC';
/** Orders rows by (file order, line) with one BIGINT: files hold far fewer than 10^12 lines. */
const ROW_KEY = 'file_idx * 1000000000000 + source_line';

/** The field's value: unquoted, doubled quotes undone; empty → NULL (as REES46 writes a missing value). */
export const unquote = (x: string): string =>
  `NULLIF(CASE WHEN left(${x}, 1) = '"' THEN replace(substr(${x}, 2, length(${x}) - 2), '""', '"') ELSE ${x} END, '')`;

/**
 * Field `name` (position i, 1-based) of a split line, unquoted, empty → NULL: from `parts` (the line
 * split on its commas) when the line has no quote, else from `f` (the pattern's groups). Both readers.
 */
export const FIELD_OF_SPLIT = (name: string, i: number): string =>
  `CASE WHEN quoted THEN ${unquote(`f.${name}`)} WHEN well_formed THEN NULLIF(parts[${i}], '') END`;

/** `column: "value"`, or `column: (empty)`, for a reject's detail. */
const detail = (column: string): string =>
  `'${column}: ' || CASE WHEN ${column} IS NULL THEN '(empty)' ELSE '"' || ${column} || '"' END`;

const ID = (column: string): string => `CASE WHEN regexp_full_match(${column}, '[0-9]{1,19}') THEN TRY_CAST(${column} AS BIGINT) END`;

/** A line holding a control character (CONTROL_CHARACTERS): the reject's detail names the first one and its position in the line. */
export const HAS_CONTROL = (line: string): string => `regexp_matches(${line}, ${sqlString(CONTROL_CHARACTERS)})`;
export const CONTROL_DETAIL = (line: string): string =>
  `printf('U+%04X at character %d', unicode(regexp_extract(${line}, ${sqlString(CONTROL_CHARACTERS)})), strpos(${line}, regexp_extract(${line}, ${sqlString(CONTROL_CHARACTERS)})))`;

/** The first reasons of both readers, from the line's shape alone (`raw_line`, `well_formed`): CASE branches. */
export const SHAPE_REASONS = `WHEN ${HAS_CONTROL('raw_line')} THEN 'control_character'
          WHEN NOT well_formed THEN
            CASE WHEN (length(raw_line) - length(replace(raw_line, '"', ''))) % 2 = 1 THEN 'unterminated_quote' ELSE 'wrong_column_count' END`;

/** field_too_long's detail: the input column, its length in characters, the events column it feeds and that column's maxLength. */
export const TOO_LONG_DETAIL = (what: string, length: string, column: string): string =>
  `'${what} ' || CAST(${length} AS VARCHAR) || ' characters, events.${column} allows ${maxLengthOf('events', column)}'`;

/** The rejects' detail and raw_line cut to the contract's maxLength (a 1 MiB field must not make the rejects table break it). */
export const REJECT_DETAIL = (detail: string): string => `left(${detail}, ${maxLengthOf('rejects', 'detail')})`;
export const REJECT_RAW_LINE = (line: string): string => `left(${line}, ${maxLengthOf('rejects', 'raw_line')})`;

/** Lengths in characters (code points; DuckDB's length) that REES46 values may have for the events columns they feed, in column order. */
const REES46_LIMITS: readonly { column: string; value: string; what: string }[] = [
  { column: 'category_code', value: 'category_code', what: 'category_code:' },
  { column: 'category', value: "split_part(category_code, '.', 1)", what: 'category_code: its first segment has' },
  { column: 'brand', value: 'brand', what: 'brand:' },
  { column: 'session_id', value: 'user_session', what: 'user_session:' },
];
const tooLong = (column: string): string => {
  const limit = REES46_LIMITS.find((l) => l.column === column)!;
  return `length(${limit.value}) > ${maxLengthOf('events', column)}`;
};

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
    await readPhysicalLines(connection, file, (lines) =>
      run(`INSERT INTO _rees46_lines SELECT ${idx}, ${sqlString(file)}, ordinality, l FROM ${lines}`));
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
  // A line without a `"` is split on its commas (it is well formed exactly when it has 9 fields,
  // which is what the pattern would say, at a fraction of the cost); only a line with a quote goes
  // through the pattern. The raw line is kept for rejects only, and `h` hashes the 9 fields for step 4.
  const names = REES46_HEADER.map((h) => `'${h}'`).join(', ');
  const fields = REES46_HEADER.map(
    (h, i) => `${FIELD_OF_SPLIT(h, i + 1)} AS ${h}`,
  ).join(',\n        ');
  const eventTypes = EVENT_TYPES.map(sqlString).join(', ');
  await run(`CREATE OR REPLACE TEMP TABLE _rees46_rows AS
    WITH split AS (
      SELECT file_idx, source_file, source_line, raw_line, quoted,
        CASE WHEN NOT quoted THEN string_split(raw_line, ',') END AS parts,
        CASE WHEN quoted THEN regexp_extract(raw_line, ${sqlString(LINE_PATTERN)}, ['line', ${names}]) END AS f
      FROM (SELECT *, strpos(raw_line, '"') > 0 AS quoted FROM _rees46_lines
            WHERE source_line > 1 AND raw_line IS NOT NULL AND raw_line <> '')
    ), fields AS (
      SELECT file_idx, source_file, source_line, raw_line, well_formed,
        ${fields}
      FROM (SELECT *, CASE WHEN quoted THEN f.line <> '' ELSE len(parts) = ${REES46_HEADER.length} END AS well_formed FROM split)
    ), typed AS (
      SELECT *,
        -- The pattern enforces hour 00..23 and minute/second 00..59 (TRY_CAST alone takes 24:00:00 as the
        -- next day); TRY_CAST then rejects impossible dates and truncates the fraction to microseconds.
        CASE WHEN regexp_full_match(event_time, ${sqlString(TIME_PATTERN)}) AND substr(event_time, 1, 4) BETWEEN '2000' AND '2100'
             THEN TRY_CAST(substr(event_time, 1, length(event_time) - 4) AS TIMESTAMP) END AS t_time,
        ${ID('product_id')} AS t_product_id,
        ${ID('category_id')} AS t_category_id,
        ${ID('user_id')} AS t_user_id,
        CASE WHEN regexp_full_match(price, '-?[0-9]+(\\.[0-9]{1,2})?') THEN TRY_CAST(price AS DECIMAL(12, 2)) END AS t_price
      FROM fields
    ), checked AS (
      SELECT *,
        CASE
          ${SHAPE_REASONS}
          WHEN t_time IS NULL THEN 'bad_timestamp'
          WHEN event_type IS NULL OR event_type NOT IN (${eventTypes}) THEN 'unknown_event_type'
          WHEN t_product_id IS NULL THEN 'bad_product_id'
          WHEN category_id IS NOT NULL AND t_category_id IS NULL THEN 'bad_category_id'
          WHEN ${tooLong('category_code')} OR ${tooLong('category')} OR ${tooLong('brand')} THEN 'field_too_long'
          WHEN t_price IS NULL THEN 'bad_price'
          WHEN t_price < 0 THEN 'negative_price'
          WHEN t_user_id IS NULL THEN 'bad_user_id'
          WHEN user_session IS NULL THEN 'missing_session'
          WHEN ${tooLong('session_id')} THEN 'field_too_long'
        END AS reason
      FROM typed
    )
    SELECT * REPLACE (CASE WHEN reason IS NOT NULL THEN raw_line END AS raw_line),
      CASE WHEN reason IS NULL THEN hash(${REES46_HEADER.join(', ')}) END AS h, reason IS NULL AS kept
    FROM checked`);
  await run(`DROP TABLE _rees46_lines`);

  // 3. Rejects, with the contract's columns and types.
  const rejectsDef = outputTable('rejects');
  await run(`CREATE OR REPLACE TABLE rejects (${materialisedColumns(rejectsDef).map((c) => `${c.name} ${duckType(c.type)}`).join(', ')})`);
  await run(`INSERT INTO rejects
    SELECT source_file, source_line, reason, ${REJECT_DETAIL(`CASE reason
        WHEN 'control_character' THEN ${CONTROL_DETAIL('raw_line')}
        WHEN 'field_too_long' THEN CASE ${REES46_LIMITS.map((l) => `WHEN ${tooLong(l.column)} THEN ${TOO_LONG_DETAIL(l.what, `length(${l.value})`, l.column)}`).join(' ')} END
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
      END`)},
      ${REJECT_RAW_LINE('raw_line')}
    FROM _rees46_rows WHERE reason IS NOT NULL
    ORDER BY file_idx, source_line`);

  // 4. Exact duplicates among the typed rows: the first by (file order, line) stays. Grouping the
  // 64-bit hash of the 9 fields finds the few rows that may have a copy (a hash seen twice); the exact
  // comparison of the 9 fields runs on those rows only, and the copies are marked not kept in place,
  // so step 5 is a plain filtered scan that keeps the rows' order (no join, no sort of all rows).
  const raw = REES46_HEADER.join(', ');
  await run(`CREATE OR REPLACE TEMP TABLE _rees46_shared_h AS
    SELECT h FROM _rees46_rows WHERE reason IS NULL GROUP BY h HAVING count(*) > 1`);
  await run(`CREATE OR REPLACE TEMP TABLE _rees46_dropped AS
    SELECT row_key FROM (
      SELECT ${ROW_KEY} AS row_key, min(${ROW_KEY}) OVER (PARTITION BY ${raw}) AS first_key
      FROM _rees46_rows
      WHERE reason IS NULL AND h IN (SELECT h FROM _rees46_shared_h))
    WHERE row_key > first_key`);
  await run(`UPDATE _rees46_rows SET kept = false
    WHERE h IN (SELECT h FROM _rees46_shared_h) AND ${ROW_KEY} IN (SELECT row_key FROM _rees46_dropped)`);

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
  // In (file order, line) order with no sort: _rees46_rows was written in that order and a filtered
  // scan keeps it (preserve_insertion_order, set by openEngineDatabase).
  await run(`INSERT INTO events
    SELECT ${eventColumns.map((c) => `${select[c.name]} AS ${c.name}`).join(', ')}
    FROM _rees46_rows WHERE kept`);

  // 6. Accounting: only counts leave DuckDB.
  // Duplicates: the dropped copies, counted in the file they are in.
  const { perFile, totals } = await readAccounting(
    connection,
    files,
    `SELECT r.file_idx, r.rows_read, r.rows_read - r.rejected - coalesce(d.duplicates, 0) AS accepted, r.rejected,
       coalesce(d.duplicates, 0) AS duplicates
     FROM (SELECT file_idx, count(*) AS rows_read, count(*) FILTER (WHERE reason IS NOT NULL) AS rejected FROM _rees46_rows GROUP BY file_idx) r
     LEFT JOIN (SELECT CAST(row_key // 1000000000000 AS INTEGER) AS file_idx, count(*) AS duplicates FROM _rees46_dropped GROUP BY 1) d USING (file_idx)`,
    `SELECT file_idx, reason, count(*) AS n FROM _rees46_rows WHERE reason IS NOT NULL GROUP BY file_idx, reason`,
  );
  for (const t of ['_rees46_lines', '_rees46_rows', '_rees46_shared_h', '_rees46_dropped']) await run(`DROP TABLE IF EXISTS ${t}`);
  return { perFile, totals };
}
