/**
 * The RetailRocket reader of the local engine, twin of the REES46 reader (./rees46-reader.ts): raw
 * `events.csv` files (plain or gzip) → the canonical `events` table and the `rejects` table in DuckDB,
 * with per-file row accounting that reconciles: rows read = accepted + rejected + duplicates removed.
 * `category_tree.csv` and `item_properties_part*.csv` give the events their category.
 *
 * How it reads events. Exactly as the REES46 reader: DuckDB reads each file as physical lines (one
 * VARCHAR column, no quoting, one sequential scan, `WITH ORDINALITY`), so source_line is exact (header
 * = line 1) and the raw line is kept for the rejects; each line is split into its CSV fields in SQL (on
 * its commas when it has no `"`, else by one anchored RFC 4180 pattern, the same fields); values are
 * typed with TRY_CAST behind a strict pattern; the first failing check is the reject reason. Lines: the REES46 reader's rule (readPhysicalLines there): split on LF only,
 * one trailing CR removed (CRLF), any other CR is content (the line then fails its field checks), a
 * UTF-8 BOM at the start of the file dropped; the same for category_tree and item_properties. Blank
 * lines are not rows, but count in the line numbers. A file's header is `timestamp,visitorid,event,itemid,transactionid`, optionally
 * followed by `datetime` (the shared sample has it): the header decides how many fields the file's
 * lines must have; `datetime` is only a rendering of `timestamp` and is ignored.
 *
 * Values. timestamp: epoch milliseconds, digits only, from 2000-01-01 up to (not including)
 * 2101-01-01 UTC (years 2000..2100), else bad_timestamp. event: view → view, addtocart → cart,
 * transaction → purchase, anything else unknown_event_type. itemid / visitorid: digits that fit a
 * BIGINT, else bad_product_id / bad_user_id. transactionid: empty, digits, or digits followed by `.0`
 * (`8693.0`, the float rendering some exports write), else bad_transaction_id. price and brand: NULL
 * (RetailRocket has neither). Before all of these, a line holding a control character is a
 * control_character reject (the REES46 reader's rule and detail); detail and raw_line are cut as there.
 * No RetailRocket field feeds a bounded string column directly (ids are digits, events a fixed
 * list), so there is no field_too_long here; a category path longer than events.category_code's
 * 255 characters (a tree deeper than 12 levels of 19-digit ids) is caught by the contract check.
 *
 * Exact duplicates: rows whose 5 original columns are all equal (the `datetime` column is ignored),
 * within and across files; the first by (file order, line) stays, the others are counted per file.
 *
 * Sessions. RetailRocket has no session id, and its files are not sorted by time. Per visitor the
 * accepted rows are ordered by (timestamp, file order, line); a new session starts at the visitor's
 * first event and whenever the gap to the visitor's previous event is STRICTLY GREATER than
 * `sessionGapMinutes` (a gap of exactly the limit stays in the session). session_id is
 * `<visitorid>-<n>`, n = 1, 2, … per visitor in time order.
 *
 * Categories. The category of an event is the item's `categoryid` property valid at the event time:
 * the latest `categoryid` row of item_properties with timestamp ≤ event time (DuckDB ASOF JOIN). An
 * event earlier than the item's first `categoryid` row gets that first row's category: the public
 * property snapshot starts after the first events (it begins in May 2015 with one row per item and
 * records later changes), so the first known value is the best estimate of the category before it,
 * and leaving those events uncategorised would drop most of the early weeks from category analyses.
 * Without item_properties, category_id is NULL. category_code is the category_tree path from the root
 * down to the category, ids joined by dots (walk capped at 32 levels so a cycle in the tree cannot
 * loop; such a category is counted in `categories.unrootedCategories`); an id missing from the tree
 * has just itself as the path. category = the root id, sub_category = the path after the first dot
 * (NULL for a one-element path). Lines of category_tree / item_properties that do not parse are not
 * events: they are counted in `categories` and never throw; only a wrong header throws.
 *
 * category_tree lines: exactly `digits,digits` or `digits,` (1..19 digits fitting a BIGINT, no quotes,
 * no spaces); anything else is counted in treeRowsRejected. A category listed twice keeps its first line.
 *
 * item_properties lines, exactly (for the Spark reader to match):
 * 1. physical lines as above; the first line must be the header `timestamp,itemid,property,value`;
 *    every line equal to that header (after the BOM is dropped) is skipped wherever it is (files
 *    concatenated with their headers are fine); blank lines are skipped;
 * 2. each other line is split into exactly 4 fields by the same anchored RFC 4180 pattern as the
 *    events (a field is `"…"` with `""` for a quote inside, or unquoted text without `,` or `"`):
 *    `1,2,categoryid,"1 2,3"` is 4 fields (value `1 2,3`), `1,2,categoryid,1 2,3` is 5; a line
 *    that does not split into 4 fields (too many or too few, an unterminated quote, a stray quote in an
 *    unquoted field) is counted in propertyRowsRejected, whatever its property;
 * 3. fields are unquoted (`""` → `"`, empty → NULL); only rows whose property is exactly `categoryid`
 *    (case-sensitive) are used, every other property is ignored (not counted);
 * 4. a categoryid row needs timestamp, itemid and value each of 1..19 digits fitting a BIGINT (after
 *    unquoting, so `"1338"` is 1338; `1338.0`, ` 1338`, `-1` are not), else it is counted in
 *    propertyRowsRejected; timestamp is epoch milliseconds (no range check here);
 * 5. two rows for the same (itemid, timestamp) with different values: the larger categoryid wins.
 *
 * No event row ever comes into the JS heap: only counts do.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { FileRowCounts, RAW_TABLES, RowCounts, outputTable } from '../../core/contract';
import { readAccounting } from './accounting';
import { CONTROL_DETAIL, FIELD_OF_SPLIT, readPhysicalLines, REJECT_DETAIL, REJECT_RAW_LINE, SHAPE_REASONS, unquote } from './rees46-reader';
import { duckType, materialisedColumns } from './sql';

const rawTable = (name: string) => RAW_TABLES.find((t) => t.name === name)!;
export const RETAILROCKET_HEADER: readonly string[] = rawTable('raw_retailrocket_events').header;
/** Columns an events file may carry after RETAILROCKET_HEADER (the sample's `datetime`). */
export const RETAILROCKET_TRAILING: readonly string[] = rawTable('raw_retailrocket_events').optionalTrailingColumns ?? [];
export const CATEGORY_TREE_HEADER: readonly string[] = rawTable('raw_retailrocket_category_tree').header;
export const ITEM_PROPERTIES_HEADER: readonly string[] = rawTable('raw_retailrocket_item_properties').header;

/** Longest category path walked up the tree: a guard against cycles. */
export const MAX_CATEGORY_DEPTH = 32;

export interface RetailRocketInput {
  /** events files, in the order that decides which copy of a duplicate is kept. */
  events: string[];
  categoryTree?: string;
  /** item_properties_part*.csv files; may be empty (then category_id is NULL). */
  itemProperties: string[];
}

export interface RetailRocketCategories {
  /** Distinct valid category ids in category_tree (0 without the file). */
  treeCategories: number;
  /** Distinct items of the accepted events that got a category_id. */
  itemsWithCategory: number;
  /** Data lines of category_tree that do not parse (wrong field count, non-integer ids). */
  treeRowsRejected: number;
  /** Tree categories whose walk to a root hits the depth cap (a cycle, or deeper than MAX_CATEGORY_DEPTH). */
  unrootedCategories: number;
  /** Valid `categoryid` rows read from item_properties. */
  categoryRows: number;
  /** item_properties lines that do not parse (any property), plus `categoryid` rows with a non-integer timestamp, itemid or value. */
  propertyRowsRejected: number;
  /** Distinct items that have at least one valid `categoryid` row. */
  itemsInProperties: number;
  /** Accepted events left without a category_id (their item has no `categoryid` row, or no item_properties given). */
  eventsWithoutCategory: number;
}

export interface RetailRocketLoadResult {
  perFile: FileRowCounts[];
  totals: RowCounts;
  categories: RetailRocketCategories;
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** One CSV field: quoted (doubled quotes inside) or unquoted without commas or quotes. */
const FIELD = '("(?:[^"]|"")*"|[^,"]*)';
/** A line of n fields, the whole line as group 1 (`line`): one regexp_extract both splits and tells a match (line <> '' on a non-empty line). */
const wholeLinePattern = (n: number): string => `^(${Array.from({ length: n }, () => FIELD).join(',')})$`;
const P5 = wholeLinePattern(RETAILROCKET_HEADER.length);
const P6 = wholeLinePattern(RETAILROCKET_HEADER.length + RETAILROCKET_TRAILING.length);

/** `column: "value"`, or `column: (empty)`, for a reject's detail. */
const detail = (column: string): string =>
  `'${column}: ' || CASE WHEN ${column} IS NULL THEN '(empty)' ELSE '"' || ${column} || '"' END`;

const ID = (column: string): string => `CASE WHEN regexp_full_match(${column}, '[0-9]{1,19}') THEN TRY_CAST(${column} AS BIGINT) END`;

/** Epoch ms of 2000-01-01 and 2101-01-01 UTC: the accepted timestamp range [MIN, MAX). */
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2101, 0, 1);

/**
 * First line of a file, BOM dropped; null for a 0-byte file. A single-threaded scan keeps the file's
 * order, so LIMIT 1 is line 1 (and stops early; a WHERE on ordinality would scan the whole file).
 */
async function headerOf(connection: DuckDBConnection, file: string): Promise<string | null> {
  const reader = await readPhysicalLines(connection, file, (lines) => connection.runAndReadAll(`SELECT l FROM ${lines} LIMIT 1`));
  const first = reader.getRows()[0]?.[0];
  return typeof first === 'string' ? first.replace(/^\uFEFF/, '') : null;
}

const headerError = (file: string, what: string, got: string | null, expected: string): Error =>
  new Error(`${file}: not a RetailRocket ${what} file: header is ${JSON.stringify(got)}, expected ${expected}`);

/** The events header without and with the optional trailing `datetime`, and the other two files' headers, as text. */
const EVENTS_HEADER_TEXT = RETAILROCKET_HEADER.join(',');
const EVENTS_HEADER_WITH_TRAILING = [...RETAILROCKET_HEADER, ...RETAILROCKET_TRAILING].join(',');
const TREE_HEADER_TEXT = CATEGORY_TREE_HEADER.join(',');
const PROPERTIES_HEADER_TEXT = ITEM_PROPERTIES_HEADER.join(',');

/** The connection, with its two ways of running SQL here: for effect, and for one count. */
interface Db {
  connection: DuckDBConnection;
  run(sql: string): Promise<unknown>;
  count(sql: string): Promise<number>;
}

/**
 * Reads the files into the tables `events` and `rejects` of the connection's database, replacing
 * them if present. Temporary tables `_rr_*` are dropped before returning.
 */
export async function loadRetailRocket(
  connection: DuckDBConnection,
  input: RetailRocketInput,
  options: { sessionGapMinutes: number },
): Promise<RetailRocketLoadResult> {
  const files = input.events;
  if (files.length === 0) throw new Error('loadRetailRocket: no events files');
  if (!(options.sessionGapMinutes > 0)) throw new Error(`loadRetailRocket: sessionGapMinutes must be positive, got ${options.sessionGapMinutes}`);
  const run = (sql: string) => connection.run(sql);
  const count = async (sql: string): Promise<number> => Number((await connection.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
  const db: Db = { connection, run, count };

  await checkCategoryHeaders(connection, input);
  await readEventLines(db, files);
  await splitAndTypeEvents(db);
  await writeRejects(db);
  await run(`DROP TABLE _rr_lines`);
  await findDuplicateCopies(db);
  await numberSessions(db, options.sessionGapMinutes);
  await countRows(db);
  const treeRowsRejected = await readCategoryTree(db, input.categoryTree);
  const propertyRowsRejected = await readItemCategories(db, input.itemProperties);
  await writeEvents(db);

  // 9. Accounting: only counts leave DuckDB.
  const { perFile, totals } = await readAccounting(connection, files, `SELECT * FROM _rr_counts`, `SELECT * FROM _rr_reasons`);
  const categories: RetailRocketCategories = {
    treeCategories: await count(`SELECT count(*) FROM _rr_tree`),
    itemsWithCategory: await count(`SELECT count(DISTINCT product_id) FROM events WHERE category_id IS NOT NULL`),
    treeRowsRejected,
    unrootedCategories: await count(`SELECT count(*) FROM _rr_paths WHERE unrooted`),
    categoryRows: await count(`SELECT count(*) FROM _rr_itemcat`),
    propertyRowsRejected,
    itemsInProperties: await count(`SELECT count(*) FROM _rr_itemfirst`),
    eventsWithoutCategory: await count(`SELECT count(*) FROM events WHERE category_id IS NULL`),
  };
  const temps = ['_rr_files', '_rr_counts', '_rr_reasons', '_rr_kept', '_rr_tree', '_rr_tree_lines', '_rr_paths', '_rr_itemcat', '_rr_itemcat1', '_rr_itemfirst', '_rr_prop_lines'];
  for (const t of temps) await run(`DROP TABLE IF EXISTS ${t}`);
  return { perFile, totals, categories };
}

/** 0. Every header first, so that a wrong file fails before any table is replaced. */
async function checkCategoryHeaders(connection: DuckDBConnection, input: RetailRocketInput): Promise<void> {
  if (input.categoryTree !== undefined) {
    const got = await headerOf(connection, input.categoryTree);
    if (got !== TREE_HEADER_TEXT) throw headerError(input.categoryTree, 'category_tree', got, `"${TREE_HEADER_TEXT}"`);
  }
  for (const file of input.itemProperties) {
    const got = await headerOf(connection, file);
    if (got !== PROPERTIES_HEADER_TEXT) throw headerError(file, 'item_properties', got, `"${PROPERTIES_HEADER_TEXT}"`);
  }
}

/**
 * 1. Physical lines of every events file, numbered from 1 (the header), into `_rr_lines`; the files
 * into `_rr_files`. One sequential scan per file; an events file with a wrong header throws.
 * No filter here: DuckDB 1.5 scans several times slower with a WHERE on top of WITH ORDINALITY (measured).
 */
async function readEventLines({ connection, run }: Db, files: string[]): Promise<void> {
  const base = EVENTS_HEADER_TEXT;
  const withTrailing = EVENTS_HEADER_WITH_TRAILING;
  // The file name is joined in at the end from _rr_files: rows carry only its index.
  await run(`CREATE OR REPLACE TEMP TABLE _rr_files (file_idx INTEGER, source_file VARCHAR)`);
  await run(`CREATE OR REPLACE TEMP TABLE _rr_lines (file_idx INTEGER, has_datetime BOOLEAN, source_line BIGINT, raw_line VARCHAR)`);
  for (const [idx, file] of files.entries()) {
    const got = await headerOf(connection, file);
    if (got !== base && got !== withTrailing) {
      throw headerError(file, 'events', got, `"${base}" (optionally followed by ",${RETAILROCKET_TRAILING.join(',')}")`);
    }
    await run(`INSERT INTO _rr_files VALUES (${idx}, ${sqlString(file)})`);
    await readPhysicalLines(connection, file, (lines) =>
      run(`INSERT INTO _rr_lines SELECT ${idx}, ${got === withTrailing}, ordinality, l FROM ${lines}`));
  }
}

/**
 * 2. `_rr_rows`: fields split in SQL; values typed behind strict patterns; the first failing check is
 * the reason. A line without a `"` is split on its commas (well formed exactly when it has the header's
 * field count, which is what the pattern would say, at a fraction of the cost); only a line with a quote
 * goes through the pattern. The raw line is kept for rejects only.
 */
async function splitAndTypeEvents({ run }: Db): Promise<void> {
  const names = ['line', ...RETAILROCKET_HEADER].map((h) => `'${h}'`).join(', ');
  const fields = RETAILROCKET_HEADER.map(
    (h, i) => `${FIELD_OF_SPLIT(h, i + 1)} AS ${h}`,
  ).join(',\n        ');
  const fieldCount = (withDatetime: number) => RETAILROCKET_HEADER.length + withDatetime * RETAILROCKET_TRAILING.length;
  await run(`CREATE OR REPLACE TEMP TABLE _rr_rows AS
    WITH split AS (
      SELECT file_idx, source_line, raw_line, has_datetime, quoted,
        CASE WHEN NOT quoted THEN string_split(raw_line, ',') END AS parts,
        CASE WHEN NOT quoted THEN NULL
             WHEN has_datetime THEN regexp_extract(raw_line, ${sqlString(P6)}, [${names}])
             ELSE regexp_extract(raw_line, ${sqlString(P5)}, [${names}]) END AS f
      FROM (SELECT *, strpos(raw_line, '"') > 0 AS quoted FROM _rr_lines
            WHERE source_line > 1 AND raw_line IS NOT NULL AND raw_line <> '')
    ), fields AS (
      SELECT file_idx, source_line, raw_line, has_datetime, well_formed,
        ${fields}
      FROM (SELECT *, CASE WHEN quoted THEN f.line <> ''
                           ELSE len(parts) = CASE WHEN has_datetime THEN ${fieldCount(1)} ELSE ${fieldCount(0)} END END AS well_formed
            FROM split)
    ), typed AS (
      SELECT *,
        CASE WHEN regexp_full_match(timestamp, '[0-9]{1,19}') THEN TRY_CAST(timestamp AS BIGINT) END AS t_ms,
        ${ID('visitorid')} AS t_user_id,
        ${ID('itemid')} AS t_product_id,
        CASE WHEN regexp_full_match(transactionid, '[0-9]{1,19}(\\.0+)?') THEN TRY_CAST(split_part(transactionid, '.', 1) AS BIGINT) END AS t_tx,
        CASE event WHEN 'view' THEN 'view' WHEN 'addtocart' THEN 'cart' WHEN 'transaction' THEN 'purchase' END AS t_event
      FROM fields
    ), checked AS (
      SELECT *,
        CASE
          ${SHAPE_REASONS}
          WHEN t_ms IS NULL OR t_ms < ${MIN_MS} OR t_ms >= ${MAX_MS} THEN 'bad_timestamp'
          WHEN t_event IS NULL THEN 'unknown_event_type'
          WHEN t_product_id IS NULL THEN 'bad_product_id'
          WHEN t_user_id IS NULL THEN 'bad_user_id'
          WHEN transactionid IS NOT NULL AND t_tx IS NULL THEN 'bad_transaction_id'
        END AS reason
      FROM typed
    )
    SELECT * REPLACE (CASE WHEN reason IS NOT NULL THEN raw_line END AS raw_line) FROM checked`);
}

/** 3. The `rejects` table, with the contract's columns and types, in (file, line) order. */
async function writeRejects({ run }: Db): Promise<void> {
  const base = EVENTS_HEADER_TEXT;
  const withTrailing = EVENTS_HEADER_WITH_TRAILING;
  const rejectsDef = outputTable('rejects');
  await run(`CREATE OR REPLACE TABLE rejects (${materialisedColumns(rejectsDef).map((c) => `${c.name} ${duckType(c.type)}`).join(', ')})`);
  const stripQuoted = `regexp_replace(raw_line, '"(?:[^"]|"")*"', '', 'g')`;
  await run(`INSERT INTO rejects
    SELECT source_file, source_line, reason, ${REJECT_DETAIL(`CASE reason
        WHEN 'control_character' THEN ${CONTROL_DETAIL('raw_line')}
        WHEN 'wrong_column_count' THEN 'expected ' || CASE WHEN has_datetime THEN '${RETAILROCKET_HEADER.length + RETAILROCKET_TRAILING.length} fields (' || ${sqlString(withTrailing)}
                                                          ELSE '${RETAILROCKET_HEADER.length} fields (' || ${sqlString(base)} END || '), found ' ||
          CAST(length(${stripQuoted}) - length(replace(${stripQuoted}, ',', '')) + 1 AS VARCHAR)
        WHEN 'unterminated_quote' THEN 'a quoted field is not closed on its line'
        WHEN 'bad_timestamp' THEN ${detail('timestamp')} || ' (epoch milliseconds, years 2000..2100)'
        WHEN 'unknown_event_type' THEN ${detail('event')}
        WHEN 'bad_product_id' THEN ${detail('itemid')}
        WHEN 'bad_user_id' THEN ${detail('visitorid')}
        WHEN 'bad_transaction_id' THEN ${detail('transactionid')}
      END`)},
      ${REJECT_RAW_LINE('raw_line')}
    FROM _rr_rows JOIN _rr_files USING (file_idx) WHERE reason IS NOT NULL
    ORDER BY file_idx, source_line`);
}

/**
 * 4. `_rr_dropped`: exact duplicates (the 5 original columns) among the typed rows: the first by (file
 * order, line) stays, the keys of the other copies are listed. Grouping a 64-bit hash of the 5 columns
 * finds the few rows that may have a copy (a hash seen twice); the exact comparison runs on those only.
 */
async function findDuplicateCopies({ run }: Db): Promise<void> {
  const raw = RETAILROCKET_HEADER.join(', ');
  const key = `CAST(file_idx AS BIGINT) * ${2 ** 40} + source_line`;
  await run(`CREATE OR REPLACE TEMP TABLE _rr_dropped AS
    WITH hashed AS (SELECT *, hash(${raw}) AS h FROM _rr_rows WHERE reason IS NULL)
    SELECT row_key FROM (
      SELECT ${key} AS row_key, min(${key}) OVER (PARTITION BY ${raw}) AS first_key
      FROM hashed WHERE h IN (SELECT h FROM hashed GROUP BY h HAVING count(*) > 1))
    WHERE row_key > first_key`);
}

/** 5. `_rr_kept`: sessions over the kept rows: per visitor in (timestamp, file, line) order; a gap > the limit starts one. */
async function numberSessions({ run }: Db, sessionGapMinutes: number): Promise<void> {
  const gapMs = Math.round(sessionGapMinutes * 60_000);
  await run(`CREATE OR REPLACE TEMP TABLE _rr_kept AS
    WITH ordered AS (
      SELECT file_idx, source_line, t_ms, t_event, t_product_id, t_user_id, t_tx,
        t_ms - lag(t_ms) OVER (PARTITION BY t_user_id ORDER BY t_ms, file_idx, source_line) AS gap
      FROM _rr_rows ANTI JOIN _rr_dropped ON row_key = CAST(file_idx AS BIGINT) * ${2 ** 40} + source_line
      WHERE reason IS NULL
    )
    SELECT *,
      sum(CASE WHEN gap IS NULL OR gap > ${gapMs} THEN 1 ELSE 0 END)
        OVER (PARTITION BY t_user_id ORDER BY t_ms, file_idx, source_line ROWS UNBOUNDED PRECEDING) AS session_n
    FROM ordered`);
}

/** `_rr_counts` and `_rr_reasons`: counts of the rows, then the wide row tables go (memory): rows read = accepted + rejected + duplicates. */
async function countRows({ run }: Db): Promise<void> {
  await run(`CREATE OR REPLACE TEMP TABLE _rr_counts AS
    SELECT r.file_idx, r.rows_read, coalesce(k.accepted, 0) AS accepted, r.rejected,
      r.rows_read - r.rejected - coalesce(k.accepted, 0) AS duplicates
    FROM (SELECT file_idx, count(*) AS rows_read, count(*) FILTER (WHERE reason IS NOT NULL) AS rejected FROM _rr_rows GROUP BY file_idx) r
    LEFT JOIN (SELECT file_idx, count(*) AS accepted FROM _rr_kept GROUP BY file_idx) k USING (file_idx)`);
  await run(`CREATE OR REPLACE TEMP TABLE _rr_reasons AS
    SELECT file_idx, reason, count(*) AS n FROM _rr_rows WHERE reason IS NOT NULL GROUP BY file_idx, reason`);
  await run(`DROP TABLE _rr_rows`);
  await run(`DROP TABLE _rr_dropped`);
}

/**
 * 6. Category tree (`_rr_tree`, `_rr_paths`): each valid category's path from its root, ids joined by
 * dots. Returns the data lines that do not parse.
 */
async function readCategoryTree({ connection, run, count }: Db, categoryTree: string | undefined): Promise<number> {
  await run(`CREATE OR REPLACE TEMP TABLE _rr_tree (categoryid BIGINT, parentid BIGINT)`);
  let treeRowsRejected = 0;
  if (categoryTree !== undefined) {
    const file = categoryTree;
    await readPhysicalLines(connection, file, (lines) => run(`CREATE OR REPLACE TEMP TABLE _rr_tree_lines AS
      WITH f AS (
        SELECT ordinality, regexp_extract(l, '^([0-9]{1,19}),([0-9]{0,19})$', ['c', 'p']) AS s,
          regexp_full_match(l, '^([0-9]{1,19}),([0-9]{0,19})$') AS ok
        FROM ${lines} WHERE ordinality > 1 AND l IS NOT NULL AND l <> ''
      )
      SELECT ordinality, ok, s.p AS s_p, TRY_CAST(s.c AS BIGINT) AS categoryid, TRY_CAST(NULLIF(s.p, '') AS BIGINT) AS parentid FROM f`));
    treeRowsRejected = await count(`SELECT count(*) FROM _rr_tree_lines WHERE NOT ok OR categoryid IS NULL OR (s_p <> '' AND parentid IS NULL)`);
    // A category listed twice keeps its first line's parent (arg_min_null: an empty parent on that line counts).
    await run(`INSERT INTO _rr_tree
      SELECT categoryid, arg_min_null(parentid, ordinality) FROM _rr_tree_lines
      WHERE ok AND categoryid IS NOT NULL AND (s_p = '' OR parentid IS NOT NULL) GROUP BY categoryid`);
  }
  await run(`CREATE OR REPLACE TEMP TABLE _rr_paths AS
    WITH RECURSIVE up(categoryid, ancestor, parent, depth) AS (
      SELECT categoryid, categoryid, parentid, 1 FROM _rr_tree
      UNION ALL
      SELECT up.categoryid, up.parent, t.parentid, up.depth + 1
      FROM up LEFT JOIN _rr_tree t ON t.categoryid = up.parent
      WHERE up.parent IS NOT NULL AND up.depth < ${MAX_CATEGORY_DEPTH}
    )
    SELECT categoryid, string_agg(CAST(ancestor AS VARCHAR), '.' ORDER BY depth DESC) AS category_code,
      bool_or(depth = ${MAX_CATEGORY_DEPTH} AND parent IS NOT NULL) AS unrooted
    FROM up GROUP BY categoryid`);
  return treeRowsRejected;
}

/**
 * 7. Item categories over time from item_properties (`_rr_itemcat`, one value per item and time in
 * `_rr_itemcat1`, each item's first in `_rr_itemfirst`): only `categoryid` rows. Returns the lines
 * rejected.
 */
async function readItemCategories({ connection, run, count }: Db, itemProperties: string[]): Promise<number> {
  await run(`CREATE OR REPLACE TEMP TABLE _rr_itemcat (itemid BIGINT, ts BIGINT, categoryid BIGINT)`);
  let propertyRowsRejected = 0;
  const propPattern = wholeLinePattern(ITEM_PROPERTIES_HEADER.length);
  const propNames = ['line', ...ITEM_PROPERTIES_HEADER].map((h) => `'${h}'`).join(', ');
  for (const file of itemProperties) {
    // Only malformed lines and categoryid rows are kept (the other properties are most of the file).
    // No line numbers are needed here, so the scan may run in parallel; the header line is recognised by its text.
    await readPhysicalLines(connection, file, (lines) => run(`CREATE OR REPLACE TEMP TABLE _rr_prop_lines AS
      WITH lines AS (SELECT l FROM ${lines}), split AS (
        SELECT regexp_extract(l, ${sqlString(propPattern)}, [${propNames}]) AS f
        FROM lines WHERE l IS NOT NULL AND l <> '' AND ltrim(l, chr(65279)) <> ${sqlString(PROPERTIES_HEADER_TEXT)}
      ), fields AS (
        SELECT f.line <> '' AS ok, ${ITEM_PROPERTIES_HEADER.map((h) => `${unquote(`f.${h}`)} AS ${h}`).join(', ')} FROM split
      )
      SELECT ok,
        CASE WHEN regexp_full_match(timestamp, '[0-9]{1,19}') THEN TRY_CAST(timestamp AS BIGINT) END AS ts,
        ${ID('itemid')} AS itemid, ${ID('value')} AS categoryid
      FROM fields WHERE NOT ok OR property = 'categoryid'`), { parallel: true });
    propertyRowsRejected += await count(`SELECT count(*) FROM _rr_prop_lines WHERE NOT ok OR ts IS NULL OR itemid IS NULL OR categoryid IS NULL`);
    await run(`INSERT INTO _rr_itemcat SELECT itemid, ts, categoryid FROM _rr_prop_lines
      WHERE ok AND ts IS NOT NULL AND itemid IS NOT NULL AND categoryid IS NOT NULL`);
  }
  // One value per (item, time): two different values at the same instant keep the larger id (deterministic).
  await run(`CREATE OR REPLACE TEMP TABLE _rr_itemcat1 AS SELECT itemid, ts, max(categoryid) AS categoryid FROM _rr_itemcat GROUP BY itemid, ts`);
  await run(`CREATE OR REPLACE TEMP TABLE _rr_itemfirst AS SELECT itemid, arg_min(categoryid, ts) AS categoryid FROM _rr_itemcat1 GROUP BY itemid`);
  return propertyRowsRejected;
}

/**
 * 8. The canonical events table: contract columns in order, then event_date. The category at the
 * event time: ASOF (the item's latest categoryid row at or before it), else the item's first row.
 */
async function writeEvents({ run }: Db): Promise<void> {
  const eventsDef = outputTable('events');
  const eventColumns = materialisedColumns(eventsDef);
  await run(`CREATE OR REPLACE TABLE events (${eventColumns.map((c) => `${c.name} ${duckType(c.type)}`).join(', ')})`);
  const time = 'make_timestamp(k.t_ms * 1000)';
  const code = `CASE WHEN k.category_id IS NOT NULL THEN coalesce(p.category_code, CAST(k.category_id AS VARCHAR)) END`;
  const select: Record<string, string> = {
    event_time: time,
    event_hour: `CAST(hour(${time}) AS INTEGER)`,
    day_of_week: `CAST(isodow(${time}) AS INTEGER)`,
    event_type: 'k.t_event',
    product_id: 'k.t_product_id',
    category_id: 'k.category_id',
    category_code: code,
    category: `split_part(${code}, '.', 1)`,
    sub_category: `CASE WHEN strpos(${code}, '.') > 0 THEN substr(${code}, strpos(${code}, '.') + 1) END`,
    brand: 'CAST(NULL AS VARCHAR)',
    price: 'NULL',
    user_id: 'k.t_user_id',
    session_id: `CAST(k.t_user_id AS VARCHAR) || '-' || CAST(k.session_n AS VARCHAR)`,
    transaction_id: 'k.t_tx',
    source_file: 'fl.source_file',
    source_line: 'k.source_line',
    event_date: `CAST(${time} AS DATE)`,
  };
  const missing = eventColumns.filter((c) => !(c.name in select)).map((c) => c.name);
  if (missing.length > 0) throw new Error(`retailrocket reader does not fill events columns: ${missing.join(', ')}`);
  await run(`INSERT INTO events
    SELECT ${eventColumns.map((c) => `${select[c.name]} AS ${c.name}`).join(', ')}
    FROM (SELECT e.*, coalesce(a.categoryid, f.categoryid) AS category_id
          FROM _rr_kept e
          ASOF LEFT JOIN _rr_itemcat1 a ON e.t_product_id = a.itemid AND e.t_ms >= a.ts
          LEFT JOIN _rr_itemfirst f ON f.itemid = e.t_product_id) k
    JOIN _rr_files fl ON fl.file_idx = k.file_idx
    LEFT JOIN _rr_paths p ON p.categoryid = k.category_id
    ORDER BY k.file_idx, k.source_line`);
}
