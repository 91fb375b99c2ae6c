/**
 * The seven schema SELECTs (core/sql/prepare/schemas/*.sql, the files Spark SQL runs too) on DuckDB
 * over the real October sample read by the local REES46 reader: contract columns and types, and
 * numbers checked against counts made here from the raw file in TypeScript.
 *
 * The sample holds 5 exact duplicate rows (4 views, 1 cart) that the reader removes, so the view and
 * cart totals are the README's 17,055 and 165 minus those: 17,051 and 164.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { MISSING_LABEL, SCHEMA_TABLE_NAMES } from '../../core/contract';
import { loadRees46 } from '../../local/engine/rees46-reader';
import { checkAgainstContract, JsonRow, readSqlFile, runSchema } from '../../local/engine/sql';

const DATA = path.resolve(__dirname, '../../../shared/data');
const OCT = path.join(DATA, 'rees46/2019-Oct_head_17434rows.csv.gz');
if (!fs.existsSync(OCT)) throw new Error(`Real data sample missing: ${OCT} (the shared samples must be at ${DATA})`);

/** The raw rows, exact duplicates dropped (first kept), split on commas (the sample has no quotes). */
const rawRows = (): string[][] => {
  const lines = zlib.gunzipSync(fs.readFileSync(OCT)).toString('utf8').replace(/\n$/, '').split('\n').slice(1);
  if (lines.some((l) => l.includes('"'))) throw new Error('sample now has quoted fields: use a CSV parser here');
  return [...new Set(lines)].map((l) => l.split(','));
};
const TYPE = 1;
const PRICE = 6;
const USER = 7;
/** "123.4" → 12340n: decimal-exact money in integer cents. */
const cents = (price: string): bigint => {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(price);
  if (!m) throw new Error(`unexpected price ${price}`);
  return BigInt(m[1]) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
};
const toCents = (money: unknown): bigint => cents(String(money));
const total = (rows: JsonRow[], column: string): number => rows.reduce((a, r) => a + Number(r[column]), 0);

let instance: DuckDBInstance;
let db: DuckDBConnection;
const out: Record<string, JsonRow[]> = {};
const rows = rawRows();
const purchases = rows.filter((r) => r[TYPE] === 'purchase');

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  await loadRees46(db, [OCT]);
  for (const table of SCHEMA_TABLE_NAMES) out[table] = await runSchema(db, table);
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
});

test('there is one SQL file per schema table, each a single SELECT with a comment header', () => {
  expect(SCHEMA_TABLE_NAMES).toHaveLength(7);
  for (const table of SCHEMA_TABLE_NAMES) {
    const sql = readSqlFile(table);
    expect(sql.startsWith(`-- ${table}:`)).toBe(true);
    const body = sql.replace(/--[^\n]*\n/g, '');
    expect(body).not.toMatch(/;/);
    expect(body.match(/\bSELECT\b/gi)).toHaveLength(1);
    expect(body).not.toMatch(/\bORDER BY\b|\[\d|\bdayofweek\b|\bdate_format\b|\bstrftime\b|\bisodow\b/i);
  }
});

test.each(SCHEMA_TABLE_NAMES.map((t) => [t]))('%s: DuckDB columns and types match the contract', async (table) => {
  expect(await checkAgainstContract(db, readSqlFile(table), table)).toEqual([]);
});

test('checkAgainstContract reports wrong names, types and column counts', async () => {
  const problems = await checkAgainstContract(db, `SELECT event_date, CAST(1 AS INTEGER) AS carts FROM events`, 'c_date');
  expect(problems).toEqual([
    'c_date: 2 columns (event_date, carts), contract has 3 (event_date, cart_events, cart_users)',
    'c_date column 2: named "carts", contract says "cart_events"',
    'c_date.cart_events: DuckDB type INTEGER, contract type BIGINT',
  ]);
});

test('daily totals: views 17,051, carts 164, purchases 214 on 2019-10-01; users 4,504', () => {
  expect(out.v_date).toEqual([{ event_date: '2019-10-01', view_events: '17051', view_users: expect.any(String) }]);
  expect(total(out.v_date, 'view_events')).toBe(17_055 - 4);
  expect(total(out.c_date, 'cart_events')).toBe(165 - 1);
  expect(total(out.purch_date, 'purchases')).toBe(214);
  const usersOf = (type: string) => String(new Set(rows.filter((r) => r[TYPE] === type).map((r) => r[USER])).size);
  expect(out.v_date[0].view_users).toBe(usersOf('view'));
  expect(out.c_date[0].cart_users).toBe(usersOf('cart'));
  expect(out.purch_date[0].purchase_users).toBe(usersOf('purchase'));
  expect(out.userid_date).toEqual([{ event_date: '2019-10-01', users: '4504', sessions: '5066', events: '17429' }]);
});

test('revenue is decimal-exact: purch_date equals the sum of purchase prices parsed here in integer cents', () => {
  const expected = purchases.reduce((a, r) => a + cents(r[PRICE]), 0n);
  expect(out.purch_date).toHaveLength(1);
  expect(toCents(out.purch_date[0].revenue)).toBe(expected);
});

test('purchase_c_s_b adds up to purch_date; missing parts are grouped under the contract label', () => {
  expect(total(out.purchase_c_s_b, 'purchases')).toBe(214);
  expect(out.purchase_c_s_b.reduce((a, r) => a + toCents(r.revenue), 0n)).toBe(toCents(out.purch_date[0].revenue));
  for (const r of out.purchase_c_s_b) for (const k of ['category', 'sub_category', 'brand']) expect(r[k]).not.toBeNull();
  const missingCode = purchases.filter((r) => r[4] === '').length;
  const labelled = out.purchase_c_s_b.filter((r) => r.category === MISSING_LABEL).reduce((a, r) => a + Number(r.purchases), 0);
  expect(labelled).toBe(missingCode);
  const keys = out.purchase_c_s_b.map((r) => `${r.category}|${r.sub_category}|${r.brand}`);
  expect(new Set(keys).size).toBe(keys.length);
});

test('p_v_c_day: 2019-10-01 was a Tuesday; its three counts equal the type totals', () => {
  expect(out.p_v_c_day).toEqual([{ day_of_week: 2, day_name: 'Tuesday', purchases: '214', views: '17051', carts: '164' }]);
});

test('customer_count_purchase: one row per distinct buyer, spend and purchases add up', () => {
  const buyers = new Set(purchases.map((r) => r[USER]));
  expect(out.customer_count_purchase).toHaveLength(buyers.size);
  expect(new Set(out.customer_count_purchase.map((r) => r.user_id))).toEqual(buyers);
  expect(total(out.customer_count_purchase, 'purchases')).toBe(214);
  expect(out.customer_count_purchase.reduce((a, r) => a + toCents(r.spend), 0n)).toBe(toCents(out.purch_date[0].revenue));
  for (const r of out.customer_count_purchase) expect(String(r.first_purchase_time) <= String(r.last_purchase_time)).toBe(true);
});
