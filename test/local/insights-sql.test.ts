/**
 * The insight and feature SELECTs (core/sql/prepare/insights/*.sql and the analytics stages' files,
 * core/sql/<stage>/*.sql, the files Spark SQL runs too) on DuckDB:
 * - over the real REES46 October and November samples read by the local reader: contract columns
 *   and types, and numbers reconciled with the schema tables, with plain queries written here and
 *   with counts made here in TypeScript from the gzipped files themselves;
 * - over small handmade `events` tables where the answer is known by construction: no feature of
 *   session_features uses an event at or after the session's first purchase; the interactions'
 *   weighted ratings and their `before` cut-off; seconds across midnight, a year end and a leap day.
 * And the placeholder rule (readSql) against the cases shared with the Python twin (load_sql).
 *
 * Independent figures used: ../shared/data/README.md says the October sample has 6,493 products;
 * 2019-10-01 was a Tuesday and 2019-11-01 a Friday.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { INSIGHT_TABLE_NAMES, MISSING_LABEL, outputTable, POPULAR_PRODUCTS_LIMIT, SCHEMA_TABLE_NAMES, TOP_CUSTOMERS_LIMIT } from '../../core/contract';
import { loadRees46 } from '../../local/engine/rees46-reader';
import {
  checkAgainstContract,
  duckType,
  JsonRow,
  materialisedColumns,
  readSql,
  runSchema,
  runSql,
  SQL_DIR,
  SqlParams,
  substituteSql,
} from '../../local/engine/sql';

const DATA = path.resolve(__dirname, '../../../shared/data');
const OCT = path.join(DATA, 'rees46/2019-Oct_head_17434rows.csv.gz');
const NOV = path.join(DATA, 'rees46/2019-Nov_head_683rows.csv.gz');
for (const f of [OCT, NOV]) if (!fs.existsSync(f)) throw new Error(`Real data sample missing: ${f} (the shared samples must be at ${DATA})`);

const WEIGHTS = { view_weight: 1, cart_weight: 4, purchase_weight: 10 };
const FEATURE_PARAMS: Record<string, SqlParams> = {
  'recommendations/interactions.sql': { ...WEIGHTS, before: null },
  'recommendations/popular_products.sql': WEIGHTS,
  // 2019-10-15 (day 18184), 10 days: the spend forecast's windows (docs/spend-forecast.md)
  'spend-forecast/spend_features.sql': { cutoff_day: 18184, horizon_days: 10 },
};
/** The analytics stages' SQL, core/sql/<stage>/<name>.sql. */
const FEATURE_FILES = [
  'association-rules/sub_category_baskets.sql',
  'association-rules/product_baskets.sql',
  'recommendations/interactions.sql',
  'recommendations/popular_products.sql',
  'purchase-intent/session_features.sql',
  'segments/customer_features.sql',
  'spend-forecast/spend_features.sql',
];

// ---------------------------------------------------------------------------------------------
// The raw files, parsed here without DuckDB.
// ---------------------------------------------------------------------------------------------

interface RawRow {
  time: string;
  type: string;
  product: string;
  code: string;
  brand: string;
  price: string;
  user: string;
  session: string;
  file: number;
  line: number;
}
/** Rows of a sample, exact duplicate lines dropped (first kept), with their line number (header = 1). */
const rawRows = (file: string, fileIdx: number): RawRow[] => {
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').replace(/\n$/, '').split('\n');
  const seen = new Set<string>();
  const rows: RawRow[] = [];
  lines.forEach((l, i) => {
    if (i === 0 || seen.has(l)) return;
    seen.add(l);
    if (l.includes('"')) throw new Error('sample now has quoted fields: use a CSV parser here');
    const f = l.split(',');
    rows.push({ time: f[0], type: f[1], product: f[2], code: f[4], brand: f[5], price: f[6], user: f[7], session: f[8], file: fileIdx, line: i + 1 });
  });
  return rows;
};
const octRows = rawRows(OCT, 0);
const allRows = [...octRows, ...rawRows(NOV, 1)];

/** "123.4" → 12340n: decimal-exact money in integer cents. */
const cents = (price: string): bigint => {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(price);
  if (!m) throw new Error(`unexpected price ${price}`);
  return BigInt(m[1]) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
};
const toCents = (money: unknown): bigint => cents(String(money));
const sumCents = (rows: JsonRow[], column: string): bigint => rows.reduce((a, r) => a + toCents(r[column]), 0n);
const total = (rows: JsonRow[], column: string): number => rows.reduce((a, r) => a + Number(r[column]), 0);
const byKey = (rows: JsonRow[], key: string): Map<string, JsonRow> => new Map(rows.map((r) => [String(r[key]), r]));

// ---------------------------------------------------------------------------------------------
// DuckDB: October alone, October + November, and a handmade table.
// ---------------------------------------------------------------------------------------------

const instances: DuckDBInstance[] = [];
const connections: DuckDBConnection[] = [];
const open = async (): Promise<DuckDBConnection> => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  instances.push(instance);
  connections.push(connection);
  return connection;
};
let oct: DuckDBConnection;
let all: DuckDBConnection;
/** Results over October + November, by file name without .sql ("products", "interactions", …). */
const out: Record<string, JsonRow[]> = {};
const schema: Record<string, JsonRow[]> = {};
const query = async (connection: DuckDBConnection, sql: string): Promise<JsonRow[]> =>
  (await connection.runAndReadAll(sql)).getRowObjectsJson() as JsonRow[];

beforeAll(async () => {
  oct = await open();
  all = await open();
  await loadRees46(oct, [OCT]);
  await loadRees46(all, [OCT, NOV]);
  for (const table of INSIGHT_TABLE_NAMES) out[table] = await runSql(all, `prepare/insights/${table}.sql`);
  for (const file of FEATURE_FILES) out[path.basename(file, '.sql')] = await runSql(all, file, FEATURE_PARAMS[file]);
  for (const table of SCHEMA_TABLE_NAMES) schema[table] = await runSchema(all, table);
});
afterAll(() => {
  for (const c of connections) c.closeSync();
  for (const i of instances) i.closeSync();
});

// ---------------------------------------------------------------------------------------------
// Files and contract.
// ---------------------------------------------------------------------------------------------

test('there is one insight file per contract insight table and the seven feature files', () => {
  const list = (folder: string) => fs.readdirSync(path.join(SQL_DIR, folder)).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4)).sort();
  expect(list('prepare/insights')).toEqual([...INSIGHT_TABLE_NAMES].sort());
  const analytics = ['association-rules', 'recommendations', 'purchase-intent', 'segments', 'spend-forecast'];
  expect(analytics.flatMap((stage) => list(stage).map((name) => `${stage}/${name}.sql`)).sort()).toEqual([...FEATURE_FILES].sort());
});

test.each([...INSIGHT_TABLE_NAMES.map((t) => `prepare/insights/${t}.sql`), ...FEATURE_FILES])(
  '%s: a header comment, one statement, no construct that Spark and DuckDB read differently',
  (file) => {
    const sql = readSql(file, FEATURE_PARAMS[file]);
    expect(sql.startsWith(`-- ${path.basename(file, '.sql')}:`)).toBe(true);
    const body = sql.replace(/--[^\n]*\n/g, '');
    expect(body).not.toMatch(/;/);
    expect(body).not.toMatch(
      /\bQUALIFY\b|::|\bLIMIT\b|\bmax_by\b|\bmin_by\b|\bepoch\b|\bdatediff\b|\bdate_diff\b|\bisodow\b|\bstrftime\b|\bdate_format\b|\bVARCHAR\b|\[\d|\bNULLS\s+(FIRST|LAST)\b/i,
    );
    // Every ORDER BY ranks inside a window: none orders a result (Spark and DuckDB would not keep it anyway).
    const orderBys = body.match(/\bORDER BY\b/gi) ?? [];
    const windowed = body.match(/\bOVER\s*\(\s*(PARTITION BY [^)]*?)?ORDER BY\b/gi) ?? [];
    expect(orderBys.length).toBe(windowed.length);
  },
);

test.each([...INSIGHT_TABLE_NAMES, 'popular_products', 'session_features'])('%s: DuckDB columns and types match the contract', async (table) => {
  const file = outputTable(table).sql!;
  expect(await checkAgainstContract(all, readSql(file, FEATURE_PARAMS[file]), table)).toEqual([]);
});

test('customer_features has the columns of customer_segments without segment_id and segment_name', async () => {
  const expected = materialisedColumns(outputTable('customer_segments'))
    .filter((c) => c.name !== 'segment_id' && c.name !== 'segment_name')
    .map((c) => `${c.name} ${duckType(c.type)}`);
  const described = await query(all, `DESCRIBE ${readSql('segments/customer_features.sql')}`);
  expect(described.map((r) => `${r.column_name} ${r.column_type}`)).toEqual(expected);
});

test('the feature tables that are not in the contract have the columns their headers document', async () => {
  const describe = async (file: string) =>
    (await query(all, `DESCRIBE ${readSql(file, FEATURE_PARAMS[file])}`)).map((r) => `${r.column_name} ${r.column_type}`);
  expect(await describe('association-rules/sub_category_baskets.sql')).toEqual(['basket_id VARCHAR', 'item VARCHAR']);
  expect(await describe('association-rules/product_baskets.sql')).toEqual(['basket_id VARCHAR', 'item BIGINT']);
  expect(await describe('recommendations/interactions.sql')).toEqual([
    'user_id BIGINT', 'product_id BIGINT', 'rating DOUBLE', 'views BIGINT', 'carts BIGINT', 'purchases BIGINT', 'last_event_time TIMESTAMP',
  ]);
});

// ---------------------------------------------------------------------------------------------
// Real samples: numbers.
// ---------------------------------------------------------------------------------------------

describe('products', () => {
  test('October: 6,493 products (../shared/data/README.md), one row each', async () => {
    const rows = await runSql(oct, 'prepare/insights/products.sql');
    expect(rows).toHaveLength(6493);
    expect(new Set(rows.map((r) => r.product_id)).size).toBe(6493);
    expect(new Set(octRows.map((r) => r.product)).size).toBe(6493);
  });

  test('latest metadata equals the last raw line with a value, found here in TypeScript (time, then line, then the larger value; never the file)', () => {
    /** The raw row with the greatest (time, line, value) among those with a value; `after(a, b)`: value a ranks above b. */
    const latest = (rows: RawRow[], value: (r: RawRow) => string, after: (a: string, b: string) => boolean) => {
      const best = new Map<string, RawRow>();
      for (const r of rows) {
        if (value(r) === '') continue;
        const b = best.get(r.product);
        if (!b || r.time > b.time || (r.time === b.time && (r.line > b.line || (r.line === b.line && after(value(r), value(b)))))) best.set(r.product, r);
      }
      return best;
    };
    const text = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;
    const code = latest(allRows, (r) => r.code, text);
    const brand = latest(allRows, (r) => r.brand, text);
    const price = latest(allRows, (r) => r.price, (a, b) => cents(a) > cents(b));
    const rows = out.products;
    expect(rows).toHaveLength(new Set(allRows.map((r) => r.product)).size);
    const got = rows.map((p) => [p.product_id, p.category_code, p.category, p.sub_category, p.brand, toCents(p.price)]);
    const want = rows.map((p) => {
      const id = String(p.product_id);
      const c = code.get(id)?.code ?? null;
      const sub = c === null || !c.includes('.') ? null : c.slice(c.indexOf('.') + 1);
      return [p.product_id, c, c === null ? null : c.split('.')[0], sub, brand.get(id)?.brand ?? null, cents(price.get(id)!.price)];
    });
    expect(got).toEqual(want);
  });

  test('a tie in (event_time, source_line) across files breaks on the values, the same whatever the files are called', async () => {
    const results: JsonRow[][] = [];
    for (const [first, second] of [['s3://raw/rees46/a.csv', '/tmp/b.csv'], ['/tmp/b.csv', 's3://raw/rees46/a.csv']]) {
      const T = '2019-10-03 10:00:00';
      const c = await handmade([
        { t: T, type: 'view', product: 7, user: 1, session: 's1', price: '5.00', code: 'a.b', line: 2 },
        { t: T, type: 'view', product: 7, user: 2, session: 's2', price: '3.00', code: 'z.y', line: 2 },
      ]);
      await c.run(`UPDATE events SET source_file = CASE WHEN user_id = 1 THEN '${first}' ELSE '${second}' END,
                     brand = CASE WHEN user_id = 1 THEN 'acme' ELSE 'zeta' END,
                     category_id = CASE WHEN user_id = 1 THEN 20 ELSE 10 END`);
      results.push(await runSql(c, 'prepare/insights/products.sql'));
    }
    expect(results[1]).toEqual(results[0]);
    const p = results[0][0];
    // The larger value of each column wins the tie: category_id 20, code z.y, brand zeta, price 5.00.
    expect([p.category_id, p.category_code, p.category, p.sub_category, p.brand, toCents(p.price)]).toEqual(['20', 'z.y', 'z', 'y', 'zeta', 500n]);
  });

  test('each value comes from the latest event that has one, even when later events have none and it ties at its own time', async () => {
    // Product 8: the latest event (10:09) has no code, brand or price; the code is at 10:05 on two
    // lines (the later line wins), the brand at 10:07, the price at 10:03 (over 10:01's); each at a
    // time of its own, so each must be found on its own.
    // Product 9: no event ever has a code or a brand, so those stay NULL.
    const c = await handmade([
      { t: '2019-10-03 10:01:00', type: 'view', product: 8, user: 1, session: 's1', price: '9.00', code: 'old.code', line: 2 },
      { t: '2019-10-03 10:03:00', type: 'view', product: 8, user: 1, session: 's1', price: '4.00', code: null, line: 8 },
      { t: '2019-10-03 10:05:00', type: 'view', product: 8, user: 1, session: 's1', price: null, code: 'a.first', line: 3 },
      { t: '2019-10-03 10:05:00', type: 'cart', product: 8, user: 2, session: 's2', price: null, code: 'b.second', line: 4 },
      { t: '2019-10-03 10:07:00', type: 'view', product: 8, user: 2, session: 's2', price: null, code: null, line: 5 },
      { t: '2019-10-03 10:09:00', type: 'purchase', product: 8, user: 3, session: 's3', price: null, code: null, line: 6 },
      { t: '2019-10-03 10:02:00', type: 'purchase', product: 9, user: 3, session: 's3', price: '2.50', code: null, line: 7 },
    ]);
    await c.run(`UPDATE events SET brand = 'acme', category_id = 5 WHERE source_line = 5`);
    await c.run(`UPDATE events SET category_id = 6 WHERE source_line = 2`);
    const products = byKey(await runSql(c, 'prepare/insights/products.sql'), 'product_id');
    const p8 = products.get('8')!;
    // category_id is the latest event's (10:09, NULL), not the latest non-null one.
    expect([p8.category_id, p8.category_code, p8.category, p8.sub_category, p8.brand, toCents(p8.price)]).toEqual([null, 'b.second', 'b', 'second', 'acme', 400n]);
    expect([p8.views, p8.carts, p8.purchases, toCents(p8.revenue), p8.users]).toEqual(['4', '1', '1', 0n, '3']);
    const p9 = products.get('9')!;
    expect([p9.category_code, p9.brand, toCents(p9.price), toCents(p9.revenue)]).toEqual([null, null, 250n, 250n]);
  });

  test('activity adds up to the schema tables and the events', async () => {
    expect(total(out.products, 'views')).toBe(total(schema.v_date, 'view_events'));
    expect(total(out.products, 'carts')).toBe(total(schema.c_date, 'cart_events'));
    expect(total(out.products, 'purchases')).toBe(total(schema.purch_date, 'purchases'));
    expect(sumCents(out.products, 'revenue')).toBe(sumCents(schema.purch_date, 'revenue'));
    const users = await query(all, `SELECT CAST(product_id AS VARCHAR) AS p, COUNT(DISTINCT user_id) AS n FROM events GROUP BY product_id`);
    const products = byKey(out.products, 'product_id');
    for (const u of users) expect(products.get(String(u.p))!.users).toBe(String(u.n));
  });
});

test('daily_kpis: per date, the schema tables agree; Σ revenue = Σ purch_date.revenue', () => {
  const rows = out.daily_kpis;
  expect(rows.map((r) => r.event_date).sort()).toEqual(['2019-10-01', '2019-11-01']);
  const users = byKey(schema.userid_date, 'event_date');
  const views = byKey(schema.v_date, 'event_date');
  const carts = byKey(schema.c_date, 'event_date');
  const purchases = byKey(schema.purch_date, 'event_date');
  for (const r of rows) {
    const d = String(r.event_date);
    expect(r.users).toBe(users.get(d)!.users);
    expect(r.sessions).toBe(users.get(d)!.sessions);
    expect(r.views).toBe(views.get(d)!.view_events);
    expect(r.carts).toBe(carts.get(d)?.cart_events ?? '0');
    expect(r.purchases).toBe(purchases.get(d)?.purchases ?? '0');
    expect(r.buyers).toBe(purchases.get(d)?.purchase_users ?? '0');
    expect(toCents(r.revenue)).toBe(toCents(purchases.get(d)?.revenue ?? '0'));
    expect(r.conversion_rate).toBeCloseTo(Number(r.buyers) / Number(r.users), 12);
    if (Number(r.buyers) > 0) expect(r.revenue_per_buyer).toBeCloseTo(Number(r.revenue) / Number(r.buyers), 9);
    else expect(r.revenue_per_buyer).toBeNull();
  }
  expect(sumCents(rows, 'revenue')).toBe(sumCents(schema.purch_date, 'revenue'));
  expect(rows.find((r) => r.event_date === '2019-10-01')).toMatchObject({ users: '4504', sessions: '5066', views: '17051', carts: '164', purchases: '214' });
});

test('revenue_by_weekday: Tuesday (2019-10-01) and Friday (2019-11-01), one day each, revenue = purch_date of that date', () => {
  const purchases = byKey(schema.purch_date, 'event_date');
  const rows = [...out.revenue_by_weekday].sort((a, b) => Number(a.day_of_week) - Number(b.day_of_week));
  expect(rows.map((r) => [r.day_of_week, r.day_name, r.days])).toEqual([
    [2, 'Tuesday', '1'],
    [5, 'Friday', '1'],
  ]);
  for (const [r, d] of [
    [rows[0], '2019-10-01'],
    [rows[1], '2019-11-01'],
  ] as const) {
    expect(toCents(r.revenue)).toBe(toCents(purchases.get(d)?.revenue ?? '0'));
    expect(r.purchases).toBe(purchases.get(d)?.purchases ?? '0');
    expect(r.avg_daily_revenue).toBeCloseTo(Number(r.revenue), 9);
  }
});

test('activity_by_hour: hours 0, 1, 2 (the samples span 00:00–02:50); users per hour from the raw times', () => {
  const rows = [...out.activity_by_hour].sort((a, b) => Number(a.event_hour) - Number(b.event_hour));
  expect(rows.map((r) => r.event_hour)).toEqual([0, 1, 2]);
  for (const r of rows) {
    const hour = String(r.event_hour).padStart(2, '0');
    const inHour = allRows.filter((x) => x.time.slice(11, 13) === hour);
    expect(r.users).toBe(String(new Set(inHour.map((x) => x.user)).size));
    expect(r.views).toBe(String(inHour.filter((x) => x.type === 'view').length));
    expect(toCents(r.revenue)).toBe(inHour.filter((x) => x.type === 'purchase').reduce((a, x) => a + cents(x.price), 0n));
  }
  expect(sumCents(rows, 'revenue')).toBe(sumCents(schema.purch_date, 'revenue'));
});

test('top_brands: every bought brand once; ranks are 1…n in the order computed here; totals = purchases with a brand', () => {
  const rows = out.top_brands;
  const bought = allRows.filter((r) => r.type === 'purchase' && r.brand !== '');
  expect(new Set(rows.map((r) => r.brand))).toEqual(new Set(bought.map((r) => r.brand)));
  expect(total(rows, 'purchases')).toBe(bought.length);
  expect(sumCents(rows, 'revenue')).toBe(bought.reduce((a, r) => a + cents(r.price), 0n));
  const text = (a: unknown, b: unknown) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);
  const byRevenue = [...rows].sort((a, b) => (toCents(b.revenue) > toCents(a.revenue) ? 1 : toCents(b.revenue) < toCents(a.revenue) ? -1 : text(a.brand, b.brand)));
  expect(byRevenue.map((r) => r.revenue_rank)).toEqual(rows.map((_, i) => i + 1));
  const byPurchases = [...rows].sort((a, b) => Number(b.purchases) - Number(a.purchases) || text(a.brand, b.brand));
  expect(byPurchases.map((r) => r.purchases_rank)).toEqual(rows.map((_, i) => i + 1));
  for (const r of rows) expect(r.brand).not.toBe(MISSING_LABEL);
});

test('top_customers: the first 100 of customer_count_purchase ordered by spend, purchases, user id', () => {
  const ranked = [...schema.customer_count_purchase].sort((a, b) => {
    const s = toCents(b.spend) - toCents(a.spend);
    if (s !== 0n) return s > 0n ? 1 : -1;
    const p = Number(b.purchases) - Number(a.purchases);
    if (p !== 0) return p;
    return BigInt(String(a.user_id)) < BigInt(String(b.user_id)) ? -1 : 1;
  });
  expect(ranked.length).toBeGreaterThan(TOP_CUSTOMERS_LIMIT);
  const rows = [...out.top_customers].sort((a, b) => Number(a.spend_rank) - Number(b.spend_rank));
  expect(rows).toHaveLength(TOP_CUSTOMERS_LIMIT);
  rows.forEach((r, i) => {
    const c = ranked[i];
    expect(r.spend_rank).toBe(i + 1);
    expect([r.user_id, r.purchases, r.spend, r.first_purchase_time, r.last_purchase_time]).toEqual([
      c.user_id, c.purchases, c.spend, c.first_purchase_time, c.last_purchase_time,
    ]);
    const bought = allRows.filter((x) => x.type === 'purchase' && x.user === String(r.user_id));
    expect(r.distinct_products).toBe(String(new Set(bought.map((x) => x.product)).size));
  });
});

test('funnel: per stage, users, sessions and events equal plain COUNT(DISTINCT …) queries', async () => {
  const plain = await query(
    all,
    `SELECT event_type, COUNT(DISTINCT user_id) AS users, COUNT(DISTINCT session_id) AS sessions, COUNT(*) AS events FROM events GROUP BY event_type`,
  );
  const p = byKey(plain, 'event_type');
  const rows = [...out.funnel].sort((a, b) => Number(a.stage_order) - Number(b.stage_order));
  expect(rows.map((r) => [r.stage_order, r.stage])).toEqual([
    [1, 'view'],
    [2, 'cart'],
    [3, 'purchase'],
  ]);
  for (const r of rows) {
    const s = p.get(String(r.stage))!;
    expect([r.users, r.sessions, r.events]).toEqual([String(s.users), String(s.sessions), String(s.events)]);
  }
  const users = rows.map((r) => Number(r.users));
  expect(rows.map((r) => r.users_from_view_rate)).toEqual([1, users[1] / users[0], users[2] / users[0]]);
  expect(rows.map((r) => r.users_from_previous_rate)).toEqual([1, users[1] / users[0], users[2] / users[1]]);
  expect(rows[0].events).toBe(String(allRows.filter((r) => r.type === 'view').length));
});

test('funnel_by_category: totals reconcile; purchases per category add up purchase_c_s_b; missing category labelled', () => {
  const rows = out.funnel_by_category;
  expect(total(rows, 'views')).toBe(allRows.filter((r) => r.type === 'view').length);
  expect(total(rows, 'carts')).toBe(allRows.filter((r) => r.type === 'cart').length);
  const perCategory = new Map<string, number>();
  for (const r of schema.purchase_c_s_b) perCategory.set(String(r.category), (perCategory.get(String(r.category)) ?? 0) + Number(r.purchases));
  for (const r of rows) expect(Number(r.purchases)).toBe(perCategory.get(String(r.category)) ?? 0);
  const missing = rows.find((r) => r.category === MISSING_LABEL)!;
  expect(missing.views).toBe(String(allRows.filter((r) => r.type === 'view' && r.code === '').length));
  expect(missing.view_users).toBe(String(new Set(allRows.filter((r) => r.type === 'view' && r.code === '').map((r) => r.user)).size));
  for (const r of rows) {
    if (Number(r.view_users) > 0) expect(r.view_to_cart_rate).toBeCloseTo(Number(r.cart_users) / Number(r.view_users), 12);
    if (Number(r.cart_users) === 0) expect(r.cart_to_purchase_rate).toBeNull();
  }
});

test('cart_abandonment equals a count made here from the gunzipped files', () => {
  interface S { carts: number; bought: boolean; firstCart: string; value: bigint }
  const sessions = new Map<string, S>();
  for (const r of allRows) {
    const s = sessions.get(r.session) ?? { carts: 0, bought: false, firstCart: '', value: 0n };
    if (r.type === 'cart') {
      s.carts += 1;
      s.value += cents(r.price);
      if (s.firstCart === '' || r.time < s.firstCart) s.firstCart = r.time;
    }
    if (r.type === 'purchase') s.bought = true;
    sessions.set(r.session, s);
  }
  const expected = new Map<string, { cart: number; converted: number; abandoned: number; events: number; value: bigint }>();
  for (const s of sessions.values()) {
    if (s.carts === 0) continue;
    const d = s.firstCart.slice(0, 10);
    const e = expected.get(d) ?? { cart: 0, converted: 0, abandoned: 0, events: 0, value: 0n };
    e.cart += 1;
    if (s.bought) e.converted += 1;
    else {
      e.abandoned += 1;
      e.events += s.carts;
      e.value += s.value;
    }
    expected.set(d, e);
  }
  expect(out.cart_abandonment).toHaveLength(expected.size);
  for (const r of out.cart_abandonment) {
    const e = expected.get(String(r.event_date))!;
    expect([r.cart_sessions, r.converted_sessions, r.abandoned_sessions, r.abandoned_cart_events]).toEqual(
      [e.cart, e.converted, e.abandoned, e.events].map(String),
    );
    expect(toCents(r.abandoned_value)).toBe(e.value);
    expect(r.abandonment_rate).toBe(e.abandoned / e.cart);
  }
  // The October sample alone: 164 carts after the duplicate is dropped (test/local/schemas-sql.test.ts).
  const oct1 = out.cart_abandonment.find((r) => r.event_date === '2019-10-01')!;
  expect(Number(oct1.abandoned_cart_events)).toBeLessThanOrEqual(164);
});

test('popular_products (weights 1/4/10): score from the products table, ranked by score then id, at most 1000', () => {
  const products = out.products.map((p) => ({ id: BigInt(String(p.product_id)), score: Number(p.views) + 4 * Number(p.carts) + 10 * Number(p.purchases), p }));
  products.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  const top = products.slice(0, POPULAR_PRODUCTS_LIMIT);
  const rows = [...out.popular_products].sort((a, b) => Number(a.rank) - Number(b.rank));
  expect(products.length).toBeGreaterThan(POPULAR_PRODUCTS_LIMIT);
  expect(rows).toHaveLength(POPULAR_PRODUCTS_LIMIT);
  rows.forEach((r, i) => {
    expect(r.rank).toBe(i + 1);
    expect(r.product_id).toBe(String(top[i].id));
    expect(r.score).toBe(top[i].score);
    expect(r.purchases).toBe(top[i].p.purchases);
    expect(r.users).toBe(top[i].p.users); // the samples have no remove_from_cart: users of weighted events = all users
  });
});

test('session_features on the samples: one row per session; labels = sessions with a purchase; the first event gives user and start', async () => {
  const rows = out.session_features;
  const sessions = new Set(allRows.map((r) => r.session));
  expect(rows).toHaveLength(sessions.size);
  const buying = new Set(allRows.filter((r) => r.type === 'purchase').map((r) => r.session));
  expect(total(rows, 'label')).toBe(buying.size);
  expect(total(rows, 'label')).toBe(Number(out.funnel.find((r) => r.stage === 'purchase')!.sessions));
  const first = new Map<string, RawRow>();
  for (const r of allRows) {
    const f = first.get(r.session);
    if (!f || r.time < f.time || (r.time === f.time && (r.file < f.file || (r.file === f.file && r.line < f.line)))) first.set(r.session, r);
  }
  const firstPurchase = new Map<string, string>();
  for (const r of allRows) if (r.type === 'purchase' && !(firstPurchase.get(r.session)! <= r.time)) firstPurchase.set(r.session, r.time);
  const views = new Map<string, number>();
  for (const r of allRows) {
    const limit = firstPurchase.get(r.session);
    if (r.type === 'view' && (limit === undefined || r.time < limit)) views.set(r.session, (views.get(r.session) ?? 0) + 1);
  }
  expect(rows.map((r) => [r.session_id, r.user_id, r.session_start, r.start_hour, Number(r.views), r.label])).toEqual(
    rows.map((r) => {
      const s = String(r.session_id);
      const f = first.get(s)!;
      return [s, f.user, f.time.replace(' UTC', ''), Number(f.time.slice(11, 13)), views.get(s) ?? 0, buying.has(s) ? 1 : 0];
    }),
  );
});

test('customer_features on the samples: one row per user; totals reconcile; recency 0 for the run\'s last event', () => {
  const rows = out.customer_features;
  expect(rows).toHaveLength(new Set(allRows.map((r) => r.user)).size);
  expect(total(rows, 'purchases')).toBe(total(schema.purch_date, 'purchases'));
  expect(sumCents(rows, 'monetary')).toBe(sumCents(schema.purch_date, 'revenue'));
  expect(total(rows, 'views')).toBe(total(schema.v_date, 'view_events'));
  const last = allRows.reduce((m, r) => (r.time > m ? r.time : m), '');
  const lastUsers = new Set(allRows.filter((r) => r.time === last).map((r) => r.user));
  const toSeconds = (t: string) => Date.parse(t.replace(' UTC', 'Z').replace(' ', 'T')) / 1000;
  const userLast = new Map<string, string>();
  for (const r of allRows) if (r.time > (userLast.get(r.user) ?? '')) userLast.set(r.user, r.time);
  const buyingSessions = new Map<string, Set<string>>();
  for (const r of allRows) if (r.type === 'purchase') buyingSessions.set(r.user, (buyingSessions.get(r.user) ?? new Set()).add(r.session));
  for (const r of rows) if (lastUsers.has(String(r.user_id))) expect(r.recency_days).toBe(0);
  expect(rows.map((r) => [r.user_id, r.recency_days, Number(r.frequency)])).toEqual(
    rows.map((r) => {
      const u = String(r.user_id);
      return [r.user_id, (toSeconds(last) - toSeconds(userLast.get(u)!)) / 86400, buyingSessions.get(u)?.size ?? 0];
    }),
  );
});

test('baskets: sub_category baskets (user × date) and product baskets (session) equal the distinct pairs counted here', () => {
  const purchases = allRows.filter((r) => r.type === 'purchase');
  const sub = new Set(
    purchases.filter((r) => r.code.includes('.')).map((r) => `${r.user}/${r.time.slice(0, 10)}\t${r.code.slice(r.code.indexOf('.') + 1)}`),
  );
  expect(new Set(out.sub_category_baskets.map((r) => `${r.basket_id}\t${r.item}`))).toEqual(sub);
  expect(out.sub_category_baskets).toHaveLength(sub.size);
  const prod = new Set(purchases.map((r) => `${r.session}\t${r.product}`));
  expect(new Set(out.product_baskets.map((r) => `${r.basket_id}\t${r.item}`))).toEqual(prod);
  expect(out.product_baskets).toHaveLength(prod.size);
});

// ---------------------------------------------------------------------------------------------
// Handmade events: answers known by construction.
// ---------------------------------------------------------------------------------------------

interface Ev {
  t: string; // 'YYYY-MM-DD HH:MM:SS', UTC
  type: 'view' | 'cart' | 'purchase' | 'remove_from_cart';
  product: number;
  user: number;
  session: string;
  price?: string | null;
  code?: string | null;
  line: number;
}
const lit = (v: string | number | null | undefined): string => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
/** A connection whose `events` table (the contract's columns) holds exactly these events. */
const handmade = async (events: Ev[]): Promise<DuckDBConnection> => {
  const c = await open();
  const columns = materialisedColumns(outputTable('events'));
  await c.run(`CREATE TABLE events (${columns.map((col) => `${col.name} ${duckType(col.type)}`).join(', ')})`);
  const values = events.map((e) => {
    const d = new Date(`${e.t.replace(' ', 'T')}Z`);
    const code = e.code ?? null;
    const row: Record<string, string> = {
      event_time: `TIMESTAMP '${e.t}'`,
      event_hour: String(d.getUTCHours()),
      day_of_week: String(((d.getUTCDay() + 6) % 7) + 1),
      event_type: lit(e.type),
      product_id: String(e.product),
      category_id: 'NULL',
      category_code: lit(code),
      category: lit(code === null ? null : code.split('.')[0]),
      sub_category: lit(code === null || !code.includes('.') ? null : code.slice(code.indexOf('.') + 1)),
      brand: 'NULL',
      price: e.price === undefined || e.price === null ? 'NULL' : e.price,
      user_id: String(e.user),
      session_id: lit(e.session),
      transaction_id: 'NULL',
      source_file: `'handmade.csv'`,
      source_line: String(e.line),
      event_date: `DATE '${e.t.slice(0, 10)}'`,
    };
    return `(${columns.map((col) => row[col.name]).join(', ')})`;
  });
  await c.run(`INSERT INTO events VALUES ${values.join(',\n')}`);
  return c;
};

describe('session_features on a handmade table: only events strictly before the first purchase', () => {
  const events: Ev[] = [
    // s1: three views, a cart and a removal before the purchase at 10:05:00; then, at the purchase's
    // very timestamp and after it, events with prices and products that must not count.
    { t: '2019-10-07 10:00:00', type: 'view', product: 1, user: 11, session: 's1', price: '10.00', code: null, line: 2 },
    { t: '2019-10-07 10:01:00', type: 'view', product: 2, user: 11, session: 's1', price: '30.00', code: 'a.x', line: 3 },
    { t: '2019-10-07 10:01:30', type: 'view', product: 2, user: 11, session: 's1', price: null, code: 'a.x', line: 4 },
    { t: '2019-10-07 10:02:00', type: 'cart', product: 2, user: 11, session: 's1', price: '30.00', code: 'a.x', line: 5 },
    { t: '2019-10-07 10:02:30', type: 'remove_from_cart', product: 2, user: 11, session: 's1', price: '30.00', code: 'b', line: 6 },
    { t: '2019-10-07 10:05:00', type: 'view', product: 3, user: 11, session: 's1', price: '1000.00', code: 'z.y', line: 7 },
    { t: '2019-10-07 10:05:00', type: 'purchase', product: 2, user: 11, session: 's1', price: '30.00', code: 'a.x', line: 8 },
    { t: '2019-10-07 10:06:00', type: 'cart', product: 3, user: 11, session: 's1', price: '1000.00', code: 'z.y', line: 9 },
    { t: '2019-10-07 10:07:00', type: 'purchase', product: 3, user: 11, session: 's1', price: '1000.00', code: 'z.y', line: 10 },
    { t: '2019-10-07 11:00:00', type: 'view', product: 4, user: 11, session: 's1', price: '5000.00', code: 'q', line: 11 },
    // s2: starts with its purchase.
    { t: '2019-10-08 12:00:00', type: 'purchase', product: 5, user: 22, session: 's2', price: '7.00', line: 12 },
    { t: '2019-10-08 12:01:00', type: 'view', product: 6, user: 22, session: 's2', price: '9.00', line: 13 },
    // s3: no purchase, across a year end; the first event's user (33) is the session's, not the later 34.
    { t: '2019-12-31 23:59:30', type: 'view', product: 7, user: 33, session: 's3', price: null, line: 14 },
    { t: '2020-01-01 00:00:10', type: 'cart', product: 7, user: 34, session: 's3', price: '5.00', line: 15 },
    // s4: across the leap day 2020-02-29; two events at the first timestamp: the lower line is first.
    { t: '2020-02-28 23:00:00', type: 'view', product: 8, user: 45, session: 's4', price: '2.50', line: 17 },
    { t: '2020-02-28 23:00:00', type: 'view', product: 9, user: 44, session: 's4', price: '1.50', line: 16 },
    { t: '2020-03-01 01:00:00', type: 'view', product: 9, user: 44, session: 's4', price: '2.00', line: 18 },
    // s5: its first second holds lines of two files (renamed below): the file decides before the line.
    { t: '2020-03-02 08:00:00', type: 'view', product: 1, user: 51, session: 's5', price: '1.00', line: 30 },
    { t: '2020-03-02 08:00:00', type: 'view', product: 2, user: 52, session: 's5', price: '1.00', line: 3 },
    { t: '2020-03-02 08:00:05', type: 'view', product: 3, user: 53, session: 's5', price: '1.00', line: 1 },
  ];
  let rows: Map<string, JsonRow>;
  beforeAll(async () => {
    const c = await handmade(events);
    await c.run(`UPDATE events SET source_file = CASE user_id WHEN 51 THEN 'a.csv' ELSE 'b.csv' END WHERE session_id = 's5'`);
    rows = byKey(await runSql(c, 'purchase-intent/session_features.sql'), 'session_id');
    expect(await checkAgainstContract(c, readSql('purchase-intent/session_features.sql'), 'session_features')).toEqual([]);
  });

  test('s1: the view at the purchase timestamp, the cart and purchase after it and the late view do not count', () => {
    expect(rows.get('s1')).toEqual({
      session_id: 's1', user_id: '11', session_start: '2019-10-07 10:00:00',
      views: '3', carts: '1', remove_from_carts: '1', distinct_products: '2', distinct_categories: '2',
      duration_seconds: 150, start_hour: 10, day_of_week: 1,
      avg_view_price: 20, max_view_price: 30, min_view_price: 10, cart_value: 30, label: 1,
    });
  });

  test('s2: a session starting with its purchase has zero counts, zero prices and duration 0, and is kept', () => {
    expect(rows.get('s2')).toEqual({
      session_id: 's2', user_id: '22', session_start: '2019-10-08 12:00:00',
      views: '0', carts: '0', remove_from_carts: '0', distinct_products: '0', distinct_categories: '0',
      duration_seconds: 0, start_hour: 12, day_of_week: 2,
      avg_view_price: 0, max_view_price: 0, min_view_price: 0, cart_value: 0, label: 1,
    });
  });

  test('s3 and s4: no purchase uses every event; seconds across a year end and a leap day (checked with Date.UTC)', () => {
    const seconds = (a: string, b: string) => (Date.parse(`${b.replace(' ', 'T')}Z`) - Date.parse(`${a.replace(' ', 'T')}Z`)) / 1000;
    expect(rows.get('s3')).toMatchObject({
      user_id: '33', views: '1', carts: '1', distinct_products: '1', distinct_categories: '0',
      duration_seconds: seconds('2019-12-31 23:59:30', '2020-01-01 00:00:10'), start_hour: 23, day_of_week: 2,
      avg_view_price: 0, max_view_price: 0, min_view_price: 0, cart_value: 5, label: 0,
    });
    expect(seconds('2019-12-31 23:59:30', '2020-01-01 00:00:10')).toBe(40);
    expect(rows.get('s4')).toMatchObject({
      user_id: '44', views: '3', duration_seconds: 26 * 3600, start_hour: 23, day_of_week: 5,
      avg_view_price: 2, max_view_price: 2.5, min_view_price: 1.5, label: 0,
    });
    expect(seconds('2020-02-28 23:00:00', '2020-03-01 01:00:00')).toBe(26 * 3600);
  });

  test('s5: the first event is the earliest (time, file, line): the line 30 of a.csv before the line 3 of b.csv', () => {
    expect(rows.get('s5')).toMatchObject({ user_id: '51', session_start: '2020-03-02 08:00:00', views: '3', duration_seconds: 5, distinct_products: '3' });
  });

  test('labels = sessions with a purchase', () => {
    expect([...rows.values()].reduce((a, r) => a + Number(r.label), 0)).toBe(new Set(events.filter((e) => e.type === 'purchase').map((e) => e.session)).size);
  });
});

describe('interactions on a handmade table: weights 1/4/10 and the before cut-off', () => {
  const events: Ev[] = [
    { t: '2019-10-01 09:00:00', type: 'view', product: 1, user: 1, session: 'a', line: 2 },
    { t: '2019-10-01 09:01:00', type: 'view', product: 1, user: 1, session: 'a', line: 3 },
    { t: '2019-10-01 09:02:00', type: 'cart', product: 1, user: 1, session: 'a', line: 4 },
    { t: '2019-10-01 09:03:00', type: 'remove_from_cart', product: 1, user: 1, session: 'a', line: 5 },
    { t: '2019-10-01 10:00:00', type: 'purchase', product: 1, user: 1, session: 'a', line: 6 },
    { t: '2019-10-01 10:00:00', type: 'view', product: 2, user: 1, session: 'a', line: 7 },
    { t: '2019-10-02 08:00:00', type: 'cart', product: 2, user: 2, session: 'b', line: 8 },
    { t: '2019-10-02 08:30:00', type: 'purchase', product: 2, user: 2, session: 'b', line: 9 },
    { t: '2019-10-02 08:31:00', type: 'purchase', product: 2, user: 2, session: 'b', line: 10 },
    { t: '2019-10-03 00:00:00', type: 'remove_from_cart', product: 3, user: 3, session: 'c', line: 11 },
  ];
  const weight = { view: 1, cart: 4, purchase: 10 } as Record<string, number>;
  /** The expected rows, computed in TypeScript from the event list. */
  const expected = (before: string | null) => {
    const pairs = new Map<string, { user_id: string; product_id: string; rating: number; views: string; carts: string; purchases: string; last_event_time: string }>();
    for (const e of events) {
      if (!(e.type in weight) || (before !== null && !(e.t < before))) continue;
      const k = `${e.user}/${e.product}`;
      const p = pairs.get(k) ?? { user_id: String(e.user), product_id: String(e.product), rating: 0, views: '0', carts: '0', purchases: '0', last_event_time: e.t };
      p.rating += weight[e.type];
      const col = `${e.type}s` as 'views' | 'carts' | 'purchases';
      p[col] = String(Number(p[col]) + 1);
      if (e.t > p.last_event_time) p.last_event_time = e.t;
      pairs.set(k, p);
    }
    return [...pairs.values()].sort((a, b) => (a.user_id + a.product_id < b.user_id + b.product_id ? -1 : 1));
  };
  let c: DuckDBConnection;
  const run = async (before: string | null) =>
    (await runSql(c, 'recommendations/interactions.sql', { ...WEIGHTS, before })).sort((a, b) =>
      String(a.user_id) + String(a.product_id) < String(b.user_id) + String(b.product_id) ? -1 : 1,
    );
  beforeAll(async () => {
    c = await handmade(events);
  });

  test('before = NULL: every view, cart and purchase; remove_from_cart has no weight', async () => {
    const rows = await run(null);
    expect(rows).toEqual(expected(null));
    expect(rows.find((r) => r.user_id === '1' && r.product_id === '1')!.rating).toBe(1 + 1 + 4 + 10);
    expect(rows.find((r) => r.user_id === '2')!.rating).toBe(4 + 10 + 10);
    expect(rows.some((r) => r.user_id === '3')).toBe(false);
  });

  test('before = a timestamp: events at or after it are left out', async () => {
    const rows = await run('2019-10-01 10:00:00');
    expect(rows).toEqual(expected('2019-10-01 10:00:00'));
    expect(rows).toEqual([{ user_id: '1', product_id: '1', rating: 6, views: '2', carts: '1', purchases: '0', last_event_time: '2019-10-01 09:02:00' }]);
    expect(await run('2019-10-02 08:31:00')).toEqual(expected('2019-10-02 08:31:00'));
  });

  test('popular_products and customer_features agree with the same weights on the same events', async () => {
    const popular = await runSql(c, 'recommendations/popular_products.sql', WEIGHTS);
    expect(popular).toEqual([
      { rank: 1, product_id: '2', score: 1 + 4 + 10 + 10, users: '2', purchases: '2' },
      { rank: 2, product_id: '1', score: 16, users: '1', purchases: '1' },
    ]);
    const customers = byKey(await runSql(c, 'segments/customer_features.sql'), 'user_id');
    expect(customers.get('3')).toMatchObject({ recency_days: 0, frequency: '0', sessions: '1', views: '0', cart_to_view_rate: null, purchase_to_cart_rate: null });
    expect(customers.get('1')).toMatchObject({ recency_days: 38 / 24, frequency: '1', views: '3', carts: '1', cart_to_view_rate: 1 / 3, purchase_to_cart_rate: 1 });
  });
});

// ---------------------------------------------------------------------------------------------
// The placeholder rule, shared with the Python twin.
// ---------------------------------------------------------------------------------------------

describe('placeholders', () => {
  const casesFile = path.resolve(__dirname, '../../core/cases/sql_placeholder_cases.json');
  const cases = (JSON.parse(fs.readFileSync(casesFile, 'utf8')) as { cases: { name: string; sql: string; params: Record<string, unknown>; expected?: string; error?: string }[] }).cases;
  const decode = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && '$number' in v ? Number((v as { $number: string }).$number) : v;
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return '(no error)';
  };

  test.each(cases.map((c) => [c.name, c]))('shared case: %s', (_, c) => {
    const params = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, decode(v)])) as SqlParams;
    if (c.error !== undefined) expect(message(() => substituteSql(c.sql, params, 'case.sql'))).toBe(c.error);
    else expect(substituteSql(c.sql, params, 'case.sql')).toBe(c.expected);
  });

  test('readSql names the file and every placeholder without a value', () => {
    expect(message(() => readSql('recommendations/interactions.sql'))).toBe(
      'recommendations/interactions.sql: placeholder {{before}} has no value; placeholder {{cart_weight}} has no value; placeholder {{purchase_weight}} has no value; placeholder {{view_weight}} has no value',
    );
    expect(message(() => readSql('prepare/insights/daily_kpis.sql', { before: null }))).toBe('prepare/insights/daily_kpis.sql: parameter before has no placeholder');
    expect(message(() => readSql('prepare/insights/nope.sql'))).toBe('prepare/insights/nope.sql: no such SQL file under core/sql');
    for (const bad of ['../sql/schemas/c_date.sql', '/etc/passwd.sql', 'schemas\\c_date.sql', 'schemas/c_date', '', 'schemas//c_date.sql']) {
      expect(message(() => readSql(bad))).toBe(`SQL file path must be relative to core/sql, like "prepare/insights/daily_kpis.sql": got ${JSON.stringify(bad)}`);
    }
  });

  test('the schema files read through readSql as before: the file, trimmed', () => {
    for (const table of SCHEMA_TABLE_NAMES) {
      expect(readSql(`prepare/schemas/${table}.sql`)).toBe(fs.readFileSync(path.join(SQL_DIR, 'prepare', 'schemas', `${table}.sql`), 'utf8').trim());
    }
  });
});
