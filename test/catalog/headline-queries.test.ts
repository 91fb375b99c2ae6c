/**
 * The saved Athena queries run on DuckDB over tables created from the contract: proof that each
 * is valid SQL in the subset Athena (Trino) and DuckDB share, binds its run with the `?`
 * parameter, and answers what its name says on a small hand-made dataset of two runs.
 */
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { HEADLINE_QUERIES } from '../../core/catalog/headline-queries';
import { MISSING_LABEL, OUTPUT_TABLES, RUN_ID_PARTITION, glueType } from '../../core/contract';

let instance: DuckDBInstance;
let db: DuckDBConnection;

const sqlOf = (id: string): string => {
  const query = HEADLINE_QUERIES.find((q) => q.id === id);
  if (!query) throw new Error(`no headline query ${id}`);
  return query.sql;
};

async function run(id: string, runId: string): Promise<Record<string, string | null>[]> {
  const prepared = await db.prepare(sqlOf(id));
  // Every parameter is the run id (one per table read).
  for (let i = 1; i <= prepared.parameterCount; i++) prepared.bindVarchar(i, runId);
  const reader = await prepared.runAndReadAll();
  return reader.getRowObjects().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)])));
}

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  for (const table of OUTPUT_TABLES) {
    const columns = [...table.columns, RUN_ID_PARTITION, ...table.partitionKeys].map((c) => `${c.name} ${glueType(c.type)}`);
    await db.run(`CREATE TABLE ${table.name} (${columns.join(', ')})`);
  }
  // Run "a": two days. Run "b" only exists to prove that the parameter keeps runs apart.
  await db.run(`INSERT INTO userid_date VALUES
    ('2019-10-01', 3, 4, 10, 'a'), ('2019-10-02', 2, 2, 5, 'a'), ('2019-10-01', 99, 99, 99, 'b')`);
  await db.run(`INSERT INTO v_date VALUES ('2019-10-01', 8, 3, 'a'), ('2019-10-02', 5, 2, 'a'), ('2019-10-01', 50, 9, 'b')`);
  await db.run(`INSERT INTO c_date VALUES ('2019-10-01', 1, 1, 'a')`);
  await db.run(`INSERT INTO purch_date VALUES ('2019-10-01', 2, 1, 30.50, 'a')`);
  await db.run(`INSERT INTO purchase_c_s_b VALUES
    ('electronics', 'smartphone', 'apple', 1, 20.00, 'a'),
    ('electronics', 'audio.headphone', 'apple', 1, 5.00, 'a'),
    ('appliances', 'kitchen.washer', 'bosch', 2, 22.00, 'a'),
    ('${MISSING_LABEL}', '${MISSING_LABEL}', '${MISSING_LABEL}', 5, 900.00, 'a'),
    ('electronics', 'smartphone', 'samsung', 9, 9999.00, 'b')`);
  await db.run(`INSERT INTO customer_count_purchase VALUES
    (1, 1, 10.00, '2019-10-01 10:00:00', '2019-10-01 10:00:00', 'a'),
    (2, 3, 80.00, '2019-10-01 09:00:00', '2019-10-02 11:00:00', 'a')`);
  await db.run(`INSERT INTO p_v_c_day VALUES (2, 'Tuesday', 2, 8, 1, 'a'), (3, 'Wednesday', 0, 5, 0, 'a'), (1, 'Monday', 7, 7, 7, 'b')`);
  await db.run(`INSERT INTO rejects VALUES
    ('f1.csv', 7, 'bad_price', 'price: "x"', 'l', 'a'), ('f1.csv', 3, 'bad_price', 'price: "y"', 'l', 'a'),
    ('f2.csv', 2, 'unknown_event_type', 'event_type: "click"', 'l', 'a')`);
  const event = (t: string, user: number, type: string) =>
    `('${t}', 0, 2, '${type}', 1, NULL, NULL, NULL, NULL, NULL, 1.00, ${user}, 's', NULL, 'f', 2, 'a', DATE '2019-10-01')`;
  await db.run(`INSERT INTO events VALUES
    ${[event('2019-10-01 00:00:00', 1, 'view'), event('2019-10-01 00:01:00', 1, 'view'), event('2019-10-01 00:02:00', 2, 'view'),
      event('2019-10-01 00:03:00', 1, 'cart'), event('2019-10-01 00:04:00', 1, 'purchase')].join(',\n')}`);
});

afterAll(() => {
  db.closeSync();
  instance.closeSync();
});

/** The curated tables a query reads (FROM and JOIN), each with the name the query calls it by. */
function tablesRead(sql: string): Array<{ table: string; alias: string }> {
  const curated = new Set(OUTPUT_TABLES.map((t) => t.name));
  const keywords = new Set(['on', 'where', 'left', 'right', 'inner', 'full', 'cross', 'join', 'group', 'order', 'limit', 'using']);
  return [...sql.matchAll(/\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)(?:\s+(?:AS\s+)?([a-z_][a-z0-9_]*))?/gi)]
    .map((m) => ({ table: m[1].toLowerCase(), alias: m[2] && !keywords.has(m[2].toLowerCase()) ? m[2] : m[1] }))
    .filter((t) => curated.has(t.table));
}

/**
 * The tables of `sql` that lack their own `run_id = ?`: `<alias>.run_id = ?`, or a bare
 * `run_id = ?` when the query reads one table. A join condition such as `v.run_id = u.run_id` does not count.
 */
function tablesWithoutRunId(sql: string): Array<{ table: string; alias: string }> {
  const tables = tablesRead(sql);
  const bare = /(?<![.\w])run_id\s*=\s*\?/i;
  return tables.filter(({ alias }) => !(new RegExp(`\\b${alias}\\.run_id\\s*=\\s*\\?`, 'i').test(sql) || (tables.length === 1 && bare.test(sql))));
}

test('every curated table a saved query reads has its own run_id = ? (injected projection), and no other parameter', () => {
  for (const q of HEADLINE_QUERIES) {
    expect({ id: q.id, readsSomething: tablesRead(q.sql).length > 0 }).toEqual({ id: q.id, readsSomething: true });
    expect({ id: q.id, missing: tablesWithoutRunId(q.sql) }).toEqual({ id: q.id, missing: [] });
    const parameters = q.sql.split('?').length - 1;
    const runIdParameters = (q.sql.match(/\brun_id\s*=\s*\?/gi) ?? []).length;
    expect({ id: q.id, parameters }).toEqual({ id: q.id, parameters: runIdParameters });
  }
});

test('the check sees a join that constrains run_id on one table only', () => {
  const sql = 'SELECT 1 FROM userid_date u LEFT JOIN v_date v ON v.event_date = u.event_date AND v.run_id = u.run_id WHERE u.run_id = ?';
  expect(tablesWithoutRunId(sql)).toEqual([{ table: 'v_date', alias: 'v' }]);
  expect(tablesWithoutRunId('SELECT 1 FROM events WHERE run_id = ?')).toEqual([]);
});

test('daily KPIs join the schemas per date, with zeros where a schema has no row', async () => {
  const rows = await run('DailyKpis', 'a');
  expect(rows).toEqual([
    { event_date: '2019-10-01', users: '3', sessions: '4', views: '8', carts: '1', purchases: '2', revenue: '30.50', view_to_purchase_rate: '0.25' },
    { event_date: '2019-10-02', users: '2', sessions: '2', views: '5', carts: '0', purchases: '0', revenue: '0.00', view_to_purchase_rate: '0' },
  ]);
});

test('the funnel counts distinct users and events of each step', async () => {
  expect(await run('Funnel', 'a')).toEqual([{ viewers: '2', carters: '1', buyers: '1', views: '3', carts: '1', purchases: '1' }]);
});

test('top brands add up sub-categories and leave out the missing brand', async () => {
  expect(await run('TopBrands', 'a')).toEqual([
    { brand: 'apple', purchases: '2', revenue: '25.00' },
    { brand: 'bosch', purchases: '2', revenue: '22.00' },
  ]);
});

test('top customers, weekday activity and rejects come back ordered, for the named run only', async () => {
  expect((await run('TopCustomers', 'a')).map((r) => r.user_id)).toEqual(['2', '1']);
  expect((await run('Weekday', 'a')).map((r) => r.day_name)).toEqual(['Tuesday', 'Wednesday']);
  expect(await run('Rejects', 'a')).toEqual([
    { reason: 'bad_price', source_file: 'f1.csv', rows_rejected: '2', first_line: '3' },
    { reason: 'unknown_event_type', source_file: 'f2.csv', rows_rejected: '1', first_line: '2' },
  ]);
  expect(await run('Weekday', 'b')).toEqual([{ day_of_week: '1', day_name: 'Monday', views: '7', carts: '7', purchases: '7' }]);
});
