/**
 * The REES46 reader of the local engine (local/engine/rees46-reader.ts) on DuckDB: the real samples
 * (read in place from ../shared/data, never copied), then malformed files written here, then what
 * DuckDB's own read_csv(store_rejects = true) does with the same faults (why the reader splits lines
 * itself).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { RowCounts, reconcileRunSummary } from '../../core/contract';
import { loadRees46, REES46_HEADER, Rees46LoadResult } from '../../local/engine/rees46-reader';
import { checkAgainstContract } from '../../local/engine/sql';

const DATA = path.resolve(__dirname, '../../../shared/data');
const OCT = path.join(DATA, 'rees46/2019-Oct_head_17434rows.csv.gz');
const NOV = path.join(DATA, 'rees46/2019-Nov_head_683rows.csv.gz');

for (const f of [OCT, NOV]) {
  if (!fs.existsSync(f)) throw new Error(`Real data sample missing: ${f} (the shared samples must be at ${DATA})`);
}

/** Data lines of a sample (header dropped), read in the test only, to check the engine independently. */
const sampleLines = (file: string): string[] => {
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  return text.replace(/\n$/, '').split('\n').slice(1);
};

const reconciles = (r: Rees46LoadResult): string[] =>
  reconcileRunSummary({ runId: 't', dataset: 'rees46', files: r.perFile, totals: r.totals, stages: [] });

let instance: DuckDBInstance;
let db: DuckDBConnection;
let dir: string;

const one = async (sql: string): Promise<Record<string, unknown>> => (await db.runAndReadAll(sql)).getRowObjectsJson()[0] as Record<string, unknown>;
const all = async (sql: string): Promise<Record<string, unknown>[]> => (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-rees46-'));
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the real October sample', () => {
  let result: Rees46LoadResult;
  const lines = sampleLines(OCT);
  // Exact duplicate lines, counted independently: every copy after the first.
  const seen = new Set<string>();
  const duplicates = lines.filter((l) => (seen.has(l) ? true : (seen.add(l), false)));

  beforeAll(async () => {
    result = await loadRees46(db, [OCT]);
  });

  test('17,434 rows read; the sample holds 5 exact duplicate rows, so 17,429 accepted; counts reconcile', () => {
    expect(lines).toHaveLength(17_434);
    expect(lines.some((l) => l.includes('"'))).toBe(false); // no quoting in this sample: a plain split is exact below
    expect(duplicates).toHaveLength(5);
    const expected: RowCounts = { rowsRead: 17_434, accepted: 17_429, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 5 };
    expect(result.perFile).toEqual([{ source: OCT, ...expected }]);
    expect(result.totals).toEqual(expected);
    expect(reconciles(result)).toEqual([]);
  });

  test("README counts are of the raw rows: accepted counts plus the removed duplicates give them back", async () => {
    const dupOf = (type: string) => duplicates.filter((l) => l.split(',')[1] === type).length;
    const byType = Object.fromEntries(
      (await all(`SELECT event_type, count(*) AS n FROM events GROUP BY event_type`)).map((r) => [r.event_type, Number(r.n)]),
    );
    expect(byType).toEqual({ view: 17_051, cart: 164, purchase: 214 });
    // README: view 17,055 / cart 165 / purchase 214, counted over raw rows; 4 views and 1 cart are exact repeats.
    expect(byType.view + dupOf('view')).toBe(17_055);
    expect(byType.cart + dupOf('cart')).toBe(165);
    expect(byType.purchase + dupOf('purchase')).toBe(214);

    const c = await one(`SELECT count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions,
      count(DISTINCT product_id) AS products, count(*) FILTER (WHERE category_code IS NULL) AS no_code,
      count(*) FILTER (WHERE brand IS NULL) AS no_brand FROM events`);
    expect(Number(c.users)).toBe(4_504);
    expect(Number(c.sessions)).toBe(5_066);
    expect(Number(c.products)).toBe(6_493);
    // README: category_code empty on 5,746 and brand on 2,477 raw rows; one duplicate (a sofa view) has no brand.
    const dupNoCode = duplicates.filter((l) => l.split(',')[4] === '').length;
    const dupNoBrand = duplicates.filter((l) => l.split(',')[5] === '').length;
    expect([dupNoCode, dupNoBrand]).toEqual([0, 1]);
    expect(Number(c.no_code) + dupNoCode).toBe(5_746);
    expect(Number(c.no_brand) + dupNoBrand).toBe(2_477);
  });

  test('the kept copy of a duplicate is the first; the removed copies are not in events', async () => {
    const lines3831 = await all(`SELECT source_line FROM events WHERE source_line BETWEEN 3831 AND 3834 ORDER BY source_line`);
    expect(lines3831.map((r) => Number(r.source_line))).toEqual([3831]); // lines 3831-3834 are one row, four times
    expect(lines[3831 - 2]).toBe(lines[3834 - 2]);
  });

  test('source_line is the physical line (checked with zcat | sed), and category_id round-trips as its 19 digits', async () => {
    for (const n of [2, 3, 3830, 9999, 17_435]) {
      const physical = execFileSync('sh', ['-c', `zcat '${OCT}' | sed -n '${n}p'`]).toString().replace(/\r?\n$/, '');
      const row = await one(`SELECT strftime(event_time, '%Y-%m-%d %H:%M:%S') || ' UTC' AS t, event_type, CAST(product_id AS VARCHAR) AS p,
          CAST(category_id AS VARCHAR) AS c, coalesce(category_code, '') AS cc, coalesce(brand, '') AS b, CAST(price AS VARCHAR) AS price,
          CAST(user_id AS VARCHAR) AS u, session_id FROM events WHERE source_line = ${n}`);
      expect(Object.values(row).join(',')).toBe(physical);
      expect(String(row.c)).toMatch(/^\d{19}$/);
    }
  });

  test('events and rejects have the contract columns and DuckDB types; derived columns are right', async () => {
    expect(await checkAgainstContract(db, 'events', 'events')).toEqual([]);
    expect(await checkAgainstContract(db, 'rejects', 'rejects')).toEqual([]);
    const r = await one(`SELECT count(*) FILTER (WHERE day_of_week <> 2) AS not_tuesday,
      count(*) FILTER (WHERE event_hour <> hour(event_time)) AS bad_hour,
      count(*) FILTER (WHERE event_date <> DATE '2019-10-01') AS other_day,
      count(*) FILTER (WHERE category_code IS NOT NULL AND category || coalesce('.' || sub_category, '') <> category_code) AS bad_split,
      count(*) FILTER (WHERE transaction_id IS NOT NULL) AS with_tx,
      max(event_hour) AS last_hour FROM events`);
    expect(r).toEqual({ not_tuesday: '0', bad_hour: '0', other_day: '0', bad_split: '0', with_tx: '0', last_hour: 2 });
    const split = await one(`SELECT category, sub_category FROM events WHERE category_code = 'appliances.environment.water_heater' LIMIT 1`);
    expect(split).toEqual({ category: 'appliances', sub_category: 'environment.water_heater' });
  });

  test('October + November together: per-file counts add up to the totals (683 November rows)', async () => {
    const both = await loadRees46(db, [OCT, NOV]);
    expect(both.perFile[1]).toEqual({ source: NOV, rowsRead: 683, accepted: 683, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 0 });
    expect(both.totals).toEqual({ rowsRead: 18_117, accepted: 18_112, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 5 });
    expect(reconciles(both)).toEqual([]);
    const perDate = await all(`SELECT CAST(event_date AS VARCHAR) AS d, count(*) AS n FROM events GROUP BY ALL ORDER BY d`);
    expect(perDate).toEqual([{ d: '2019-10-01', n: '17429' }, { d: '2019-11-01', n: '683' }]);
  });
});

describe('malformed files', () => {
  const H = REES46_HEADER.join(',');
  const ok = (t: string, type = 'view', extra: Partial<Record<'product' | 'category' | 'code' | 'brand' | 'price' | 'user' | 'session', string>> = {}) =>
    [
      t,
      type,
      extra.product ?? '1004856',
      extra.category ?? '2100000000000000001',
      extra.code ?? 'electronics.smartphone',
      extra.brand ?? 'samsung',
      extra.price ?? '130.76',
      extra.user ?? '900000001',
      extra.session ?? '00000000-0000-4000-8000-000000000002',
    ].join(',');
  const T = '2019-10-01 00:00:00 UTC';
  const first = ok(T);

  /** Physical lines of file A (header = 1); CRLF line ends, a UTF-8 BOM, no newline after the last line. */
  const fileA: string[] = [
    H, //                                                     1
    first, //                                                 2 accepted
    ok(T, 'view').split(',').slice(0, 8).join(','), //        3 wrong_column_count (8 fields)
    ok('2019-10-01 25:61:00 UTC'), //                         4 bad_timestamp
    ok(T, 'view', { price: 'abc' }), //                       5 bad_price
    ok(T, 'cart', { price: '-1.00' }), //                     6 negative_price
    ok(T, 'click'), //                                        7 unknown_event_type
    ok(T, 'purchase', { brand: '"acme, ""the"" shop"' }), //  8 accepted: quoted comma and doubled quotes
    first, //                                                 9 duplicate of line 2
    '', //                                                   10 blank: not a row
    ok(T, 'remove_from_cart'), //                            11 accepted (contract EVENT_TYPES)
    ok(T, 'view', { product: '12x' }), //                    12 bad_product_id
    ok(T, 'view', { category: '2.0530135556e18' }), //      13 bad_category_id (would go through DOUBLE)
    ok(T, 'view', { user: '' }), //                          14 bad_user_id
    ok(T, 'view', { session: '' }), //                       15 missing_session
    ok(T, 'view', { code: '"unterminated' }), //             16 unterminated_quote
    ok(T, 'view', { code: '', brand: '', category: '' }), // 17 accepted: no code, brand or category id
    ok('2019-10-01 01:02:03 UTC', 'cart', { code: 'kids' }), // 18 accepted: one-segment code
    ok(T, 'view').slice(0, 40), //                           19 truncated last line (no line break after it)
  ];
  /** File B, gzip, LF: a cross-file duplicate of A's line 2, and a new row. */
  const fileB: string[] = [H, first, ok('2019-10-02 23:59:59 UTC', 'purchase', { price: '0.00' })];

  let result: Rees46LoadResult;
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = path.join(dir, 'a.csv');
    b = path.join(dir, 'b.csv.gz');
    fs.writeFileSync(a, '\uFEFF' + fileA.join('\r\n'));
    fs.writeFileSync(b, zlib.gzipSync(fileB.join('\n') + '\n'));
    result = await loadRees46(db, [a, b]);
  });

  test('each fault is rejected with its reason, detail and physical line; the raw line is kept', async () => {
    const rejects = await all(`SELECT source_file, source_line, reason, detail, raw_line FROM rejects ORDER BY source_file, source_line`);
    expect(rejects.map((r) => [r.source_file, Number(r.source_line), r.reason])).toEqual([
      [a, 3, 'wrong_column_count'],
      [a, 4, 'bad_timestamp'],
      [a, 5, 'bad_price'],
      [a, 6, 'negative_price'],
      [a, 7, 'unknown_event_type'],
      [a, 12, 'bad_product_id'],
      [a, 13, 'bad_category_id'],
      [a, 14, 'bad_user_id'],
      [a, 15, 'missing_session'],
      [a, 16, 'unterminated_quote'],
      [a, 19, 'wrong_column_count'],
    ]);
    for (const r of rejects) expect(r.raw_line).toBe(fileA[Number(r.source_line) - 1]);
    const detail = Object.fromEntries(rejects.map((r) => [Number(r.source_line), r.detail]));
    expect(detail[3]).toMatch(/expected 9 fields .* found 8$/);
    expect(detail[4]).toBe('event_time: "2019-10-01 25:61:00 UTC"');
    expect(detail[5]).toBe('price: "abc"');
    expect(detail[6]).toBe('price: "-1.00"');
    expect(detail[7]).toBe('event_type: "click"');
    expect(detail[12]).toBe('product_id: "12x"');
    expect(detail[13]).toBe('category_id: "2.0530135556e18"');
    expect(detail[14]).toBe('user_id: (empty)');
    expect(detail[15]).toBe('user_session: (empty)');
    expect(detail[19]).toMatch(/found 4$/);
  });

  test('BOM, CRLF, quoted fields, gzip: accepted with the right values and lines; duplicates within and across files removed', async () => {
    const events = await all(`SELECT source_file, source_line, event_type, brand, category_code, category, sub_category,
        CAST(category_id AS VARCHAR) AS category_id, CAST(price AS VARCHAR) AS price, session_id, day_of_week, event_hour
      FROM events ORDER BY source_file, source_line`);
    expect(events.map((e) => [e.source_file, Number(e.source_line), e.event_type])).toEqual([
      [a, 2, 'view'],
      [a, 8, 'purchase'],
      [a, 11, 'remove_from_cart'],
      [a, 17, 'view'],
      [a, 18, 'cart'],
      [b, 3, 'purchase'],
    ]);
    const at = (file: string, line: number) => events.find((e) => e.source_file === file && Number(e.source_line) === line)!;
    expect(at(a, 2).session_id).toBe('00000000-0000-4000-8000-000000000002'); // no \r left from CRLF
    expect(at(a, 2).category_id).toBe('2100000000000000001');
    expect(at(a, 8).brand).toBe('acme, "the" shop');
    expect(at(a, 17)).toMatchObject({ brand: null, category_code: null, category: null, sub_category: null, category_id: null });
    expect(at(a, 18)).toMatchObject({ category_code: 'kids', category: 'kids', sub_category: null, event_hour: 1 });
    expect(at(b, 3)).toMatchObject({ price: '0.00', day_of_week: 3, event_hour: 23 });
  });

  test('counts reconcile exactly, per file and in total', () => {
    expect(result.perFile).toEqual([
      {
        source: a,
        rowsRead: 17, // 18 lines after the header, one of them blank
        accepted: 5,
        rejected: 11,
        rejectedByReason: {
          bad_category_id: 1,
          bad_price: 1,
          bad_product_id: 1,
          bad_timestamp: 1,
          bad_user_id: 1,
          missing_session: 1,
          negative_price: 1,
          unknown_event_type: 1,
          unterminated_quote: 1,
          wrong_column_count: 2,
        },
        duplicatesRemoved: 1,
      },
      { source: b, rowsRead: 2, accepted: 1, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 1 },
    ]);
    expect(result.totals).toMatchObject({ rowsRead: 19, accepted: 6, rejected: 11, duplicatesRemoved: 2 });
    expect(reconciles(result)).toEqual([]);
  });

  test('a file that is not a REES46 export fails loudly', async () => {
    const other = path.join(dir, 'other.csv');
    fs.writeFileSync(other, 'timestamp,visitorid,event,itemid,transactionid\n1,2,view,3,\n');
    await expect(loadRees46(db, [other])).rejects.toThrow(/not a REES46 events file/);
  });
});

describe("DuckDB's read_csv(store_rejects = true) on the same faults (why the reader splits lines in SQL)", () => {
  test('reports column-count errors with line and raw text (once per missing column), but an unterminated quote silently swallows the rest of the file', async () => {
    const file = path.join(dir, 'store-rejects.csv');
    const H = REES46_HEADER.join(',');
    const good = '2019-10-01 00:00:00 UTC,view,1,2,a.b,x,1.00,5,s';
    fs.writeFileSync(file, [H, good, 'x,y', good.replace('a.b', '"a.b'), good.replace(',s', ',s2'), good.replace(',s', ',s3')].join('\n') + '\n');
    const columns = `{${REES46_HEADER.map((h) => `'${h}': 'VARCHAR'`).join(', ')}}`;
    const rows = await all(`SELECT user_session FROM read_csv('${file}', columns = ${columns}, header = true, auto_detect = false,
      delim = ',', quote = '"', escape = '"', store_rejects = true, parallel = false)`);
    const errors = await all(`SELECT CAST(line AS INTEGER) AS line, error_type, csv_line FROM reject_errors ORDER BY line`);
    // One reject_errors row per missing column (7 for a 2-field line): group by line to count rejected rows.
    expect(errors).toHaveLength(7);
    expect(new Set(errors.map((e) => `${e.line} ${e.error_type} ${e.csv_line}`))).toEqual(new Set(['3 MISSING COLUMNS x,y']));
    // Lines 5 and 6 are good rows, yet neither comes back nor is reported: the quote on line 4 ate them.
    expect(rows.map((r) => r.user_session)).toEqual(['s']);
  });
});

describe('bounded strings and control characters (issue 9: bad values are rows, not files)', () => {
  const row = (brand: string, session = 'aaaaaaaa-0000-4000-8000-000000000001'): string =>
    `2019-10-01 00:00:00 UTC,view,1001,2100000000000000017,electronics.smartphone,${brand},130.76,500000001,${session}`;

  test('a 1 MiB brand, otherwise valid, is a field_too_long reject; detail and raw_line are cut to the rejects bounds; the contract check passes', async () => {
    const huge = 'b'.repeat(1 << 20);
    const file = path.join(dir, 'huge-brand.csv');
    fs.writeFileSync(file, [REES46_HEADER.join(','), row('acme'), row(huge)].map((l) => `${l}\n`).join(''));
    const result = await loadRees46(db, [file]);
    expect(result.totals).toMatchObject({ rowsRead: 2, accepted: 1, rejected: 1, duplicatesRemoved: 0 });
    const r = await one(`SELECT source_line, reason, detail, length(raw_line) AS n, raw_line = left(${`'${row(huge)}'`}, 65535) AS prefix FROM rejects`);
    expect(r).toEqual({ source_line: '3', reason: 'field_too_long', detail: `brand: ${1 << 20} characters, events.brand allows 128`, n: '65535', prefix: true });
    expect(await checkAgainstContract(db, 'events', 'events')).toEqual([]);
    expect(await checkAgainstContract(db, 'rejects', 'rejects')).toEqual([]);
  });

  test('a bad value longer than the rejects detail allows is cut at 1024 characters', async () => {
    const file = path.join(dir, 'huge-price.csv');
    const price = '9'.repeat(2000);
    fs.writeFileSync(file, `${REES46_HEADER.join(',')}\n${row('acme').replace('130.76', price)}\n`);
    await loadRees46(db, [file]);
    const r = await one(`SELECT reason, detail FROM rejects`);
    expect(r).toEqual({ reason: 'bad_price', detail: `price: "${price}"`.slice(0, 1024) });
  });

  test('invalid UTF-8 and a NUL in later rows do not refuse the file: the NUL row is control_character, the invalid bytes read as U+FFFD', async () => {
    const file = path.join(dir, 'bytes.csv');
    const bytes = Buffer.concat([
      Buffer.from(`${REES46_HEADER.join(',')}\n${row('acme')}\n`),
      // Line 3: brand "ac" followed by two bytes that are not UTF-8.
      Buffer.from('2019-10-01 00:00:00 UTC,view,1001,2100000000000000017,electronics.smartphone,ac'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`,130.76,500000001,aaaaaaaa-0000-4000-8000-000000000001\n${row('a\u0000b')}\n`),
    ]);
    fs.writeFileSync(file, bytes);
    const result = await loadRees46(db, [file]);
    expect(result.totals).toMatchObject({ rowsRead: 3, accepted: 2, rejected: 1 });
    expect(await all(`SELECT source_line, brand FROM events ORDER BY source_line`)).toEqual([
      { source_line: '2', brand: 'acme' },
      { source_line: '3', brand: 'ac\uFFFD\uFFFD' },
    ]);
    expect(await all(`SELECT source_line, reason, detail FROM rejects`)).toEqual([
      { source_line: '4', reason: 'control_character', detail: `U+0000 at character ${'2019-10-01 00:00:00 UTC,view,1001,2100000000000000017,electronics.smartphone,a'.length + 1}` },
    ]);
  });

  test('the contract check fails on a string longer than its maxLength, naming table, column, longest found and limit; at the bound it passes', async () => {
    await db.run(`CREATE OR REPLACE TABLE long_brand AS SELECT * FROM events LIMIT 0`);
    await db.run(`INSERT INTO long_brand SELECT * REPLACE (repeat('ü', 128) AS brand) FROM events LIMIT 1`);
    expect(await checkAgainstContract(db, 'long_brand', 'events')).toEqual([]);
    await db.run(`INSERT INTO long_brand SELECT * REPLACE (repeat('x', 200) AS brand, repeat('s', 65) AS session_id) FROM events LIMIT 1`);
    expect(await checkAgainstContract(db, 'long_brand', 'events')).toEqual([
      'events.brand: longest value has 200 characters, the contract allows 128',
      'events.session_id: longest value has 65 characters, the contract allows 64',
    ]);
    expect(await checkAgainstContract(db, 'SELECT * FROM long_brand', 'events')).toHaveLength(2);
  });
});
