/**
 * The RetailRocket reader of the local engine (local/engine/retailrocket-reader.ts) on DuckDB: the
 * real sample (read in place from ../shared/data, never copied) checked against figures computed
 * here independently from the gunzipped file, then generated data against the generator's truth,
 * then handmade files with every fault, the session-gap boundary and the category rules.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { RowCounts, reconcileRunSummary } from '../../core/contract';
import { generate, GenerateResult } from '../../local/generate';
import { loadRetailRocket, RETAILROCKET_HEADER, RetailRocketLoadResult } from '../../local/engine/retailrocket-reader';
import { checkAgainstContract } from '../../local/engine/sql';

const DATA = path.resolve(__dirname, '../../../shared/data/retailrocket');
const SAMPLE = path.join(DATA, 'events_sample_5000visitors.csv.gz');
const TREE = path.join(DATA, 'category_tree.csv.gz');
for (const f of [SAMPLE, TREE]) {
  if (!fs.existsSync(f)) throw new Error(`Real data sample missing: ${f}`);
}

const GAP_MS = 30 * 60_000;
const H = RETAILROCKET_HEADER.join(',');

/** Lines of a (possibly gzipped) CSV, trailing newline dropped; read in the test only, to check the engine independently. */
const fileLines = (file: string): string[] => {
  const raw = fs.readFileSync(file);
  const text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return text.replace(/\n$/, '').split('\n');
};

interface Row {
  line: number;
  ts: number;
  visitor: string;
  event: string;
  item: string;
  tx: string;
  key: string;
}
/** Data rows (plain comma split: the files checked with it have no quotes), with the first-copy-only flag. */
const parseEvents = (lines: string[]): { rows: Row[]; duplicates: Row[] } => {
  const seen = new Set<string>();
  const rows: Row[] = [];
  const duplicates: Row[] = [];
  lines.slice(1).forEach((l, i) => {
    const [ts, visitor, event, item, tx] = l.split(',');
    const row = { line: i + 2, ts: Number(ts), visitor, event, item, tx, key: [ts, visitor, event, item, tx].join(',') };
    if (seen.has(row.key)) duplicates.push(row);
    else {
      seen.add(row.key);
      rows.push(row);
    }
  });
  return { rows, duplicates };
};
/** Sessions by the rule, in plain JS: per visitor in (time, line) order, a gap > 30 min starts one. */
const countSessions = (rows: Row[]): number => {
  const byVisitor = new Map<string, Row[]>();
  for (const r of rows) byVisitor.set(r.visitor, [...(byVisitor.get(r.visitor) ?? []), r]);
  let sessions = 0;
  for (const list of byVisitor.values()) {
    list.sort((a, b) => a.ts - b.ts || a.line - b.line);
    list.forEach((r, i) => {
      if (i === 0 || r.ts - list[i - 1].ts > GAP_MS) sessions++;
    });
  }
  return sessions;
};
/** Root-to-category path of a category_tree, in plain JS. */
const treePaths = (lines: string[]): Map<string, string> => {
  const parent = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const [c, p] = l.split(',');
    parent.set(c, p);
  }
  const paths = new Map<string, string>();
  for (const c of parent.keys()) {
    const chain = [c];
    while (parent.get(chain[0])) chain.unshift(parent.get(chain[0])!);
    paths.set(c, chain.join('.'));
  }
  return paths;
};

const reconciles = (r: RetailRocketLoadResult): string[] =>
  reconcileRunSummary({ runId: 't', dataset: 'retailrocket', files: r.perFile, totals: r.totals, stages: [] });

let instance: DuckDBInstance;
let db: DuckDBConnection;
let dir: string;

const one = async (sql: string): Promise<Record<string, unknown>> => (await db.runAndReadAll(sql)).getRowObjectsJson()[0] as Record<string, unknown>;
const all = async (sql: string): Promise<Record<string, unknown>[]> => (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
const load = (events: string[], extra: { categoryTree?: string; itemProperties?: string[] } = {}) =>
  loadRetailRocket(db, { events, categoryTree: extra.categoryTree, itemProperties: extra.itemProperties ?? [] }, { sessionGapMinutes: 30 });

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-retailrocket-'));
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the real sample (5,000 visitors) with the real category tree', () => {
  let result: RetailRocketLoadResult;
  const lines = fileLines(SAMPLE);
  const { rows, duplicates } = parseEvents(lines);

  beforeAll(async () => {
    result = await load([SAMPLE], { categoryTree: TREE });
  });

  test('9,385 rows read (README); 3 exact 5-column duplicates found independently, so 9,382 accepted; counts reconcile', () => {
    expect(lines[0]).toBe(`${H},datetime`); // the sample's extra column
    expect(lines.some((l) => l.includes('"'))).toBe(false); // no quoting: a plain split is exact here
    expect(lines.slice(1)).toHaveLength(9_385);
    expect(duplicates).toHaveLength(3);
    const expected: RowCounts = { rowsRead: 9_385, accepted: 9_382, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 3 };
    expect(result.perFile).toEqual([{ source: SAMPLE, ...expected }]);
    expect(result.totals).toEqual(expected);
    expect(reconciles(result)).toEqual([]);
  });

  test('README counts are of the raw rows: accepted per type plus the removed duplicates give view 9,076, addtocart 263, transaction 46', async () => {
    const dupOf = (event: string) => duplicates.filter((d) => d.event === event).length;
    const byType = Object.fromEntries(
      (await all(`SELECT event_type, count(*) AS n FROM events GROUP BY event_type`)).map((r) => [r.event_type, Number(r.n)]),
    );
    expect(byType).toEqual({ view: 9_076 - dupOf('view'), cart: 263 - dupOf('addtocart'), purchase: 46 - dupOf('transaction') });
    expect(byType).toEqual({ view: 9_075, cart: 261, purchase: 46 });
  });

  test('5,000 visitors, 6,610 items; every transaction has its transaction_id (from the "N.0" float form)', async () => {
    const c = await one(`SELECT count(DISTINCT user_id) AS users, count(DISTINCT product_id) AS items,
      count(*) FILTER (WHERE event_type = 'purchase' AND transaction_id IS NULL) AS tx_missing,
      count(*) FILTER (WHERE event_type <> 'purchase' AND transaction_id IS NOT NULL) AS tx_elsewhere,
      count(*) FILTER (WHERE price IS NOT NULL OR brand IS NOT NULL) AS priced FROM events`);
    expect(c).toEqual({ users: '5000', items: '6610', tx_missing: '0', tx_elsewhere: '0', priced: '0' });
    const tx = rows.filter((r) => r.event === 'transaction');
    expect(tx.every((r) => /^\d+\.0$/.test(r.tx))).toBe(true);
    const got = await all(`SELECT source_line, CAST(transaction_id AS VARCHAR) AS tx FROM events WHERE event_type = 'purchase' ORDER BY source_line`);
    expect(got.map((r) => [Number(r.source_line), r.tx])).toEqual(tx.map((r) => [r.line, r.tx.replace(/\.0$/, '')]).sort((a, b) => Number(a[0]) - Number(b[0])));
  });

  test('event_time is the epoch milliseconds; the file is not sorted by time, yet sessions match a plain-JS 30-minute sessionisation (6,229)', async () => {
    let unsorted = 0;
    for (let i = 1; i < rows.length; i++) if (rows[i].ts < rows[i - 1].ts) unsorted++;
    expect(unsorted).toBeGreaterThan(0);
    const expectedSessions = countSessions(rows);
    expect(expectedSessions).toBe(6_229);
    const s = await one(`SELECT count(DISTINCT session_id) AS sessions,
      count(*) FILTER (WHERE NOT regexp_full_match(session_id, CAST(user_id AS VARCHAR) || '-[1-9][0-9]*')) AS bad_ids FROM events`);
    expect(s).toEqual({ sessions: String(expectedSessions), bad_ids: '0' });
    const t = await all(`SELECT source_line, CAST(epoch_ms(event_time) AS VARCHAR) AS ms FROM events WHERE source_line IN (2, 5000, 9386) ORDER BY 1`);
    expect(t.map((r) => r.ms)).toEqual([2, 5000, 9386].map((n) => lines[n - 1].split(',')[0]));
  });

  test('the real tree: 1,669 categories (README), no bad rows; without item_properties category_id is NULL', async () => {
    expect(result.categories).toMatchObject({ treeCategories: 1_669, treeRowsRejected: 0, unrootedCategories: 0, itemsWithCategory: 0, eventsWithoutCategory: 9_382 });
    expect(await one(`SELECT count(*) AS n FROM events WHERE category_id IS NOT NULL OR category_code IS NOT NULL`)).toEqual({ n: '0' });
  });

  test('events and rejects have the contract columns and DuckDB types', async () => {
    expect(await checkAgainstContract(db, 'events', 'events')).toEqual([]);
    expect(await checkAgainstContract(db, 'rejects', 'rejects')).toEqual([]);
  });

  test('with an item_properties file, sample items get the real tree path (25 roots, depth up to 5)', async () => {
    const tree = fileLines(TREE);
    const paths = treePaths(tree);
    expect(tree.slice(1).filter((l) => l.endsWith(',')).length).toBe(25);
    const deepest = [...paths.entries()].reduce((a, b) => (b[1].split('.').length > a[1].split('.').length ? b : a));
    expect(deepest[1].split('.')).toHaveLength(6); // depth 5 below the root: 6 ids on the path
    const root = tree.slice(1).find((l) => l.endsWith(','))!.split(',')[0];
    const [itemA, itemB] = [rows[0].item, rows[1].item];
    const props = path.join(dir, 'sample_props.csv');
    fs.writeFileSync(props, `timestamp,itemid,property,value\n1430000000000,${itemA},categoryid,${deepest[0]}\n1430000000000,${itemB},categoryid,${root}\n`);
    const r = await load([SAMPLE], { categoryTree: TREE, itemProperties: [props] });
    expect(r.categories).toMatchObject({ treeCategories: 1_669, categoryRows: 2, itemsInProperties: 2, itemsWithCategory: 2 });
    const got = await all(`SELECT DISTINCT CAST(product_id AS VARCHAR) AS item, category_code, category, sub_category FROM events WHERE category_id IS NOT NULL ORDER BY item`);
    const parts = deepest[1].split('.');
    expect(got).toEqual(
      [
        { item: itemA, category_code: deepest[1], category: parts[0], sub_category: parts.slice(1).join('.') },
        { item: itemB, category_code: root, category: root, sub_category: null },
      ].sort((a, b) => a.item.localeCompare(b.item)),
    );
  });
});

describe('generated data (20,000 events, seed 7) against the generator truth', () => {
  let gen: GenerateResult;
  let result: RetailRocketLoadResult;
  let eventsFile: string;
  let treeFile: string;
  let propsFile: string;

  beforeAll(async () => {
    eventsFile = path.join(dir, 'gen', 'events.csv');
    gen = await generate({ dataset: 'retailrocket', events: 20_000, seed: 7, out: eventsFile });
    treeFile = path.join(dir, 'gen', 'category_tree.csv');
    propsFile = path.join(dir, 'gen', 'item_properties_part1.csv');
    result = await load([eventsFile], { categoryTree: treeFile, itemProperties: [propsFile] });
  });

  test("every generated row accepted; type counts equal the truth's; sessions equal truth.sessions", async () => {
    const { truth } = gen;
    expect(result.totals).toEqual({ rowsRead: truth.events, accepted: truth.events, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 0 });
    expect(reconciles(result)).toEqual([]);
    const byType = Object.fromEntries((await all(`SELECT event_type, count(*) AS n FROM events GROUP BY 1`)).map((r) => [r.event_type, Number(r.n)]));
    expect(byType).toEqual(truth.counts);
    const s = await one(`SELECT count(DISTINCT session_id) AS n FROM events`);
    expect(Number(s.n)).toBe(truth.sessions);
  });

  test('every event has a category_id and the tree path of it', async () => {
    const paths = treePaths(fileLines(treeFile));
    expect(result.categories).toMatchObject({ treeCategories: paths.size, treeRowsRejected: 0, propertyRowsRejected: 0, eventsWithoutCategory: 0, unrootedCategories: 0 });
    expect(await one(`SELECT count(*) AS n FROM events WHERE category_id IS NULL`)).toEqual({ n: '0' });
    const codes = await all(`SELECT DISTINCT CAST(category_id AS VARCHAR) AS c, category_code, category, sub_category FROM events`);
    for (const c of codes) {
      expect(c.category_code).toBe(paths.get(String(c.c)));
      expect(c.category).toBe(String(c.category_code).split('.')[0]);
      expect(c.sub_category).toBe(String(c.category_code).split('.').slice(1).join('.') || null);
    }
  });

  test("an item's category change is honoured: events before the change get the old category, after it the new one", async () => {
    const props = fileLines(propsFile).slice(1).map((l) => l.split(','));
    const byItem = new Map<string, Array<{ ts: number; cat: string }>>();
    for (const [ts, item, prop, value] of props) if (prop === 'categoryid') byItem.set(item, [...(byItem.get(item) ?? []), { ts: Number(ts), cat: value }]);
    const changed = [...byItem.entries()].filter(([, v]) => v.length === 2 && v[0].cat !== v[1].cat);
    expect(changed.length).toBe(gen.truth.categoryChanges);
    expect(changed.length).toBeGreaterThan(0);
    const { rows } = parseEvents(fileLines(eventsFile));
    const sides = changed.map(([item, [first, second]]) => {
      const ev = rows.filter((r) => r.item === item);
      return { item, first, second, before: ev.filter((r) => r.ts < second.ts).length, after: ev.filter((r) => r.ts >= second.ts).length };
    });
    const both = sides.filter((s) => s.before > 0 && s.after > 0);
    expect(both.length).toBeGreaterThan(0);
    for (const s of both) {
      const got = await one(`SELECT
        count(*) FILTER (WHERE epoch_ms(event_time) < ${s.second.ts} AND category_id = ${s.first.cat}) AS old_ok,
        count(*) FILTER (WHERE epoch_ms(event_time) >= ${s.second.ts} AND category_id = ${s.second.cat}) AS new_ok
        FROM events WHERE product_id = ${s.item}`);
      expect(got).toEqual({ old_ok: String(s.before), new_ok: String(s.after) });
    }
  });
});

describe('sessions: a gap strictly greater than 30 minutes starts a new one', () => {
  test('29 min and exactly 30 min stay in the session, 31 min starts a new one; unsorted input and two files', async () => {
    const t0 = Date.UTC(2015, 5, 1, 10, 0, 0);
    const m = 60_000;
    // Visitor 7: 0, +29, +59 (30 exactly), +90 (31) → sessions 1,1,1,2. Visitor 8: 0 and +31 → 1,2. Lines out of time order.
    const a = path.join(dir, 'sess_a.csv');
    const b = path.join(dir, 'sess_b.csv');
    fs.writeFileSync(a, [H, `${t0 + 90 * m},7,view,1,`, `${t0},7,view,1,`, `${t0 + 31 * m},8,view,2,`].join('\n') + '\n');
    fs.writeFileSync(b, [H, `${t0 + 59 * m},7,addtocart,1,`, `${t0 + 29 * m},7,view,3,`, `${t0},8,view,2,`].join('\n') + '\n');
    await load([a, b]);
    const got = await all(`SELECT CAST(epoch_ms(event_time) AS BIGINT) - ${t0} AS dt, user_id, session_id FROM events ORDER BY user_id, dt`);
    expect(got.map((r) => [Number(r.user_id), Number(r.dt) / m, r.session_id])).toEqual([
      [7, 0, '7-1'],
      [7, 29, '7-1'],
      [7, 59, '7-1'],
      [7, 90, '7-2'],
      [8, 0, '8-1'],
      [8, 31, '8-2'],
    ]);
    // The same events with a 29-minute limit: 29 stays, 30 and 31 split.
    await loadRetailRocket(db, { events: [a, b], itemProperties: [] }, { sessionGapMinutes: 29 });
    const g29 = await all(`SELECT session_id FROM events WHERE user_id = 7 ORDER BY event_time`);
    expect(g29.map((r) => r.session_id)).toEqual(['7-1', '7-1', '7-2', '7-3']);
  });
});

describe('malformed files', () => {
  const T = 1_433_193_100_123; // 2015-06-01 21:11:40.123 UTC
  /** Physical lines of file A (header = 1); CRLF line ends, a UTF-8 BOM, no newline after the last line. */
  const fileA: string[] = [
    H, //                                                 1
    `${T},100,view,200,`, //                              2 accepted
    `${T},100,view,200`, //                               3 wrong_column_count (4 fields)
    `2015-06-01,100,view,200,`, //                        4 bad_timestamp (not epoch ms)
    `946684799999,100,view,200,`, //                      5 bad_timestamp (1999-12-31T23:59:59.999Z)
    `${T},100,click,200,`, //                             6 unknown_event_type
    `${T},100,view,x12,`, //                              7 bad_product_id
    `${T},,view,200,`, //                                 8 bad_user_id
    `${T + 1},100,transaction,200,12.0`, //               9 accepted: transaction_id 12
    `${T + 2},100,transaction,200,12.5`, //              10 bad_transaction_id
    `"${T + 3}","101","addtocart","201",""`, //          11 accepted: every field quoted
    `${T},100,"view,x",200,`, //                         12 unknown_event_type, a quoted comma
    `${T},100,view,200,`, //                             13 duplicate of line 2
    '', //                                               14 blank: not a row
    `${T},100,"view,200,`, //                            15 unterminated_quote
    `${T + 4},100,transaction,201,8693`, //              16 accepted: integer transaction id
    `4102444800000,100,view,200,`, //                    17 accepted: 2100-01-01, in range
    `4133980800000,100,view,200,`, //                    18 bad_timestamp: 2101-01-01
    `${T},100,view,99999999999999999999,`, //            19 bad_product_id (does not fit BIGINT)
    `14331931`, //                                       20 truncated last line (no line break after it)
  ];
  /** File B, gzip, LF, with the sample's trailing datetime column. */
  const fileB: string[] = [
    `${H},datetime`,
    `${T},100,view,200,,2015-06-01 21:11:40.123`, //     2 duplicate of A's line 2 (datetime ignored)
    `${T},100,view,200,,something else`, //              3 duplicate again: datetime is not compared
    `${T + 5},102,view,202,,2015-06-01 21:11:40.128`, // 4 accepted
    `${T + 6},102,view,202,`, //                         5 wrong_column_count: 5 fields in a 6-column file
  ];

  let result: RetailRocketLoadResult;
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = path.join(dir, 'a.csv');
    b = path.join(dir, 'b.csv.gz');
    fs.writeFileSync(a, '\uFEFF' + fileA.join('\r\n'));
    fs.writeFileSync(b, zlib.gzipSync(fileB.join('\n') + '\n'));
    result = await load([a, b]);
  });

  test('each fault is rejected with its reason, detail and physical line; the raw line is kept', async () => {
    const rejects = await all(`SELECT source_file, source_line, reason, detail, raw_line FROM rejects`);
    expect(rejects.map((r) => [r.source_file, Number(r.source_line), r.reason])).toEqual([
      [a, 3, 'wrong_column_count'],
      [a, 4, 'bad_timestamp'],
      [a, 5, 'bad_timestamp'],
      [a, 6, 'unknown_event_type'],
      [a, 7, 'bad_product_id'],
      [a, 8, 'bad_user_id'],
      [a, 10, 'bad_transaction_id'],
      [a, 12, 'unknown_event_type'],
      [a, 15, 'unterminated_quote'],
      [a, 18, 'bad_timestamp'],
      [a, 19, 'bad_product_id'],
      [a, 20, 'wrong_column_count'],
      [b, 5, 'wrong_column_count'],
    ]);
    for (const r of rejects) expect(r.raw_line).toBe((r.source_file === a ? fileA : fileB)[Number(r.source_line) - 1]);
    const detail = Object.fromEntries(rejects.filter((r) => r.source_file === a).map((r) => [Number(r.source_line), r.detail]));
    expect(detail[3]).toBe(`expected 5 fields (${H}), found 4`);
    expect(detail[4]).toMatch(/^timestamp: "2015-06-01"/);
    expect(detail[6]).toBe('event: "click"');
    expect(detail[7]).toBe('itemid: "x12"');
    expect(detail[8]).toBe('visitorid: (empty)');
    expect(detail[10]).toBe('transactionid: "12.5"');
    expect(detail[12]).toBe('event: "view,x"');
    expect(detail[20]).toMatch(/found 1$/);
    expect((await one(`SELECT detail FROM rejects WHERE source_file = '${b}'`)).detail).toBe(`expected 6 fields (${H},datetime), found 5`);
  });

  test('BOM, CRLF, quoted fields, float transactionid, gzip, datetime column: accepted with the right values and lines', async () => {
    const events = await all(`SELECT source_file, source_line, event_type, CAST(transaction_id AS VARCHAR) AS tx, CAST(user_id AS VARCHAR) AS u,
        session_id, strftime(event_time, '%Y-%m-%d %H:%M:%S.%g') AS t FROM events`);
    expect(events.map((e) => [e.source_file, Number(e.source_line), e.event_type, e.tx])).toEqual([
      [a, 2, 'view', null],
      [a, 9, 'purchase', '12'],
      [a, 11, 'cart', null],
      [a, 16, 'purchase', '8693'],
      [a, 17, 'view', null],
      [b, 4, 'view', null],
    ]);
    expect(events[0]).toMatchObject({ u: '100', session_id: '100-1', t: '2015-06-01 21:11:40.123' });
    expect(events[2]).toMatchObject({ u: '101', session_id: '101-1' });
    expect(events[4]).toMatchObject({ session_id: '100-2', t: '2100-01-01 00:00:00.000' });
  });

  test('counts reconcile exactly, per file and in total; duplicates counted in the file they are in', () => {
    expect(result.perFile).toEqual([
      {
        source: a,
        rowsRead: 18, // 19 lines after the header, one of them blank
        accepted: 5,
        rejected: 12,
        rejectedByReason: {
          bad_product_id: 2,
          bad_timestamp: 3,
          bad_transaction_id: 1,
          bad_user_id: 1,
          unknown_event_type: 2,
          unterminated_quote: 1,
          wrong_column_count: 2,
        },
        duplicatesRemoved: 1,
      },
      { source: b, rowsRead: 4, accepted: 1, rejected: 1, rejectedByReason: { wrong_column_count: 1 }, duplicatesRemoved: 2 },
    ]);
    expect(result.totals).toMatchObject({ rowsRead: 22, accepted: 6, rejected: 13, duplicatesRemoved: 3 });
    expect(reconciles(result)).toEqual([]);
  });

  test('a header-only file gives 0 rows and no error', async () => {
    const empty = path.join(dir, 'header-only.csv');
    fs.writeFileSync(empty, H + '\n');
    const r = await load([empty]);
    expect(r.totals).toEqual({ rowsRead: 0, accepted: 0, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 0 });
    expect(await one(`SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM rejects) AS r`)).toEqual({ e: '0', r: '0' });
  });

  test('a wrong header or a 0-byte file throws, naming the file', async () => {
    const other = path.join(dir, 'rees.csv');
    fs.writeFileSync(other, 'event_time,event_type,product_id\n1,2,3\n');
    await expect(load([other])).rejects.toThrow(`${other}: not a RetailRocket events file: header is "event_time,event_type,product_id", expected "${H}"`);
    const zero = path.join(dir, 'zero.csv');
    fs.writeFileSync(zero, '');
    await expect(load([zero])).rejects.toThrow(`${zero}: not a RetailRocket events file: header is null`);
  });
});

describe('categories: ASOF at the event time, first-row fallback, tree paths, bad rows counted', () => {
  const T = Date.UTC(2015, 5, 10);
  const day = 86_400_000;
  let result: RetailRocketLoadResult;
  let tree: string;
  let props: string;
  let events: string;

  beforeAll(async () => {
    events = path.join(dir, 'cat_events.csv');
    tree = path.join(dir, 'cat_tree.csv');
    props = path.join(dir, 'cat_props.csv.gz');
    fs.writeFileSync(
      events,
      [
        H,
        `${T - day},1,view,200,`, //      2 before item 200's first row → first row's category 3
        `${T},1,view,200,`, //            3 at the first row (≤) → 3
        `${T + 2 * day},1,view,200,`, //  4 after the change at T+2d (≤) → 2
        `${T + 3 * day},1,view,200,`, //  5 → 2
        `${T},2,view,300,`, //            6 category 99, not in the tree → code "99"
        `${T},2,view,400,`, //            7 category 10, in a cycle → no throw
        `${T},2,view,500,`, //            8 no categoryid row → NULL
      ].join('\n') + '\n',
    );
    // 1 root; 2 under 1; 3 under 2 (a later line giving 3 another parent loses: first line wins); 10 ↔ 11 a cycle; two bad rows.
    fs.writeFileSync(tree, ['categoryid,parentid', '3,2', '1,', '2,1', '10,11', '11,10', 'x,1', '5,y', '3,1'].join('\r\n') + '\r\n');
    fs.writeFileSync(
      props,
      zlib.gzipSync(
        [
          'timestamp,itemid,property,value',
          `${T + 2 * day},200,categoryid,2`,
          `${T},200,categoryid,3`,
          `${T},200,available,1`, // another property: ignored
          `${T},300,categoryid,99`,
          `${T},400,categoryid,10`,
          `${T},500,790,n1234.000 n5.000`, // hashed property with spaces: ignored
          `abc,200,categoryid,3`, // bad timestamp
          `${T},200,categoryid,x`, // bad value
          `1,2,3`, // wrong field count
        ].join('\n') + '\n',
      ),
    );
    result = await load([events], { categoryTree: tree, itemProperties: [props] });
  });

  test('the category valid at the event time, and the first row for earlier events', async () => {
    const got = await all(`SELECT source_line, CAST(category_id AS VARCHAR) AS c, category_code, category, sub_category FROM events`);
    expect(got.map((r) => [Number(r.source_line), r.c, r.category_code, r.category, r.sub_category])).toEqual([
      [2, '3', '1.2.3', '1', '2.3'],
      [3, '3', '1.2.3', '1', '2.3'],
      [4, '2', '1.2', '1', '2'],
      [5, '2', '1.2', '1', '2'],
      [6, '99', '99', '99', null],
      [7, '10', expect.stringMatching(/^(1[01]\.){31}10$/), expect.any(String), expect.any(String)],
      [8, null, null, null, null],
    ]);
  });

  test('bad tree and property rows are counted, not thrown; the cycle is cut at depth 32 and counted', () => {
    expect(result.categories).toEqual({
      treeCategories: 5, // 1, 2, 3, 10, 11
      itemsWithCategory: 3, // 200, 300, 400
      treeRowsRejected: 2,
      unrootedCategories: 2, // 10 and 11
      categoryRows: 4,
      propertyRowsRejected: 3,
      itemsInProperties: 3,
      eventsWithoutCategory: 1,
    });
    expect(result.totals).toMatchObject({ rowsRead: 7, accepted: 7 });
  });

  test('a bad header in category_tree or item_properties throws, naming the file, and leaves the tables alone', async () => {
    const badTree = path.join(dir, 'bad_tree.csv');
    fs.writeFileSync(badTree, 'id,parent\n1,\n');
    await expect(load([events], { categoryTree: badTree })).rejects.toThrow(`${badTree}: not a RetailRocket category_tree file`);
    const badProps = path.join(dir, 'bad_props.csv');
    fs.writeFileSync(badProps, 'timestamp,itemid,value\n');
    await expect(load([events], { itemProperties: [badProps] })).rejects.toThrow(`${badProps}: not a RetailRocket item_properties file`);
    // Headers are checked before any table is replaced: the last good load's events are still there.
    expect(await one(`SELECT count(*) AS n FROM events`)).toEqual({ n: '7' });
  });
});
