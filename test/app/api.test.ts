/**
 * `shopsight app`'s JSON API on real runs of the shared samples (made by the real command in a
 * child process): every answer is checked against the data README's counts, an independent
 * DuckDB query over the run's Parquet or the raw CSV, or the logistic formula computed here.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { startApp } from '../../local/app/server';

const ROOT = path.join(__dirname, '..', '..');
const DATA = path.join(ROOT, '..', 'shared', 'data');
const BIN = path.join(ROOT, 'local', 'cli', 'bin.js');
const OCT = path.join(DATA, 'rees46', '2019-Oct_head_17434rows.csv.gz');

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let tmp: string;
let app: Awaited<ReturnType<typeof startApp>>;
let duck: DuckDBConnection;
let instance: DuckDBInstance;
let rees: string;
let rr: string;
let reesId: string;
let rrId: string;
let demoJob: string;
let uploadRun: string;
const BAD_LINES = [
  'not-a-time,view,1,2,,x,1.00,5,abc',
  '2019-11-01 00:00:00 UTC,teleport,1,2,,x,1.00,5,abc',
  '2019-11-01 00:00:00 UTC,view,1,2,,x,cheap,5,abc',
];

function shopsight(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`shopsight ${args.join(' ')} exited ${code}\n${err}`))));
  });
}

/** An independent query: rows as objects, BIGINTs as numbers. */
async function q(sql: string): Promise<Record<string, Json>[]> {
  const reader = await duck.runAndReadAll(sql);
  return reader.getRowObjectsJson().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])));
}
const pq = (dir: string, table: string): string => `read_parquet('${dir}/${table}/**/*.parquet', hive_partitioning = true)`;

async function api(p: string, init?: RequestInit): Promise<{ status: number; body: Json; headers: Headers }> {
  const r = await fetch(new URL(p, app.url), init);
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}
const post = (p: string, body: unknown) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-app-api-'));
  const header = zlib.gunzipSync(fs.readFileSync(OCT)).toString('utf8').split('\n')[0];
  fs.writeFileSync(path.join(tmp, 'bad.csv'), [header, ...BAD_LINES, ''].join('\n'));
  rees = path.join(tmp, 'rees');
  rr = path.join(tmp, 'rr');
  // Both at once, a core each; then which is newer (by the summary's mtime) is made certain.
  await Promise.all([
    shopsight(['run', '--input', path.join(DATA, 'rees46'), '--input', path.join(tmp, 'bad.csv'), '--out', rees, '--run-id', 'rees-samples', '--no-report', '--threads', '1']),
    shopsight(['run', '--input', path.join(DATA, 'retailrocket'), '--out', rr, '--run-id', 'rr-samples', '--no-report', '--threads', '1']),
  ]);
  const now = Date.now() / 1000;
  fs.utimesSync(path.join(rees, 'run-summary.json'), now - 60, now - 60);
  fs.utimesSync(path.join(rr, 'run-summary.json'), now, now);
  app = await startApp({ runDirs: [rees, rr], port: 0, host: '127.0.0.1', workdir: path.join(tmp, 'work'), maxUploadMb: 5 });
  instance = await DuckDBInstance.create(':memory:');
  duck = await instance.connect();
  await duck.run(`SET TimeZone = 'UTC'`);
  const runs = (await api('/api/runs')).body.runs as Json[];
  reesId = runs.find((r) => r.dataset === 'rees46').id;
  rrId = runs.find((r) => r.dataset === 'retailrocket').id;
}, 120_000);

afterAll(async () => {
  await app?.close();
  duck?.closeSync();
  instance?.closeSync();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('health, and the runs newest first with their currency: USD for REES46, none for RetailRocket', async () => {
  expect((await api('/api/health')).body).toEqual({ status: 'ok' });
  const { runs } = (await api('/api/runs')).body;
  expect(runs.map((r: Json) => r.id)).toEqual(['rr-samples', 'rees-samples']);
  const [r2, r1] = runs;
  const [e1] = await q(`SELECT count(*) AS n, count(DISTINCT user_id) AS u FROM ${pq(rees, 'events')}`);
  expect(r1).toMatchObject({ runId: 'rees-samples', dataset: 'rees46', folder: fs.realpathSync(rees), currency: 'USD', pricesKnown: true, events: e1.n, users: e1.u, firstDate: '2019-10-01', lastDate: '2019-11-01' });
  // README: 5,000 RetailRocket visitors, 2015-05-03 to 2015-09-18, no prices.
  expect(r2).toMatchObject({ dataset: 'retailrocket', currency: null, pricesKnown: false, users: 5000, firstDate: '2015-05-03', lastDate: '2015-09-18' });
  expect(typeof r1.createdAt).toBe('string');
});

test('overview of 2019-10-01 matches the README and the raw October file without its exact duplicates', async () => {
  const raw = `read_csv('${OCT}', all_varchar = true)`;
  // The README's counts are of the raw rows; the run removes exact duplicate rows.
  const rawCounts = await q(`SELECT event_type, count(*) AS n FROM ${raw} GROUP BY 1 ORDER BY 1`);
  expect(rawCounts).toEqual([{ event_type: 'cart', n: 165 }, { event_type: 'purchase', n: 214 }, { event_type: 'view', n: 17055 }]);
  const distinct = `(SELECT DISTINCT * FROM ${raw})`;
  const [d] = await q(`SELECT count(*) FILTER (WHERE event_type = 'view') AS views, count(*) FILTER (WHERE event_type = 'cart') AS carts,
      count(*) FILTER (WHERE event_type = 'purchase') AS purchases, CAST(sum(CAST(price AS DECIMAL(12,2))) FILTER (WHERE event_type = 'purchase') AS VARCHAR) AS revenue
    FROM ${distinct}`);
  const { status, body } = await api(`/api/runs/${reesId}/overview?from=2019-10-01&to=2019-10-01`);
  expect(status).toBe(200);
  expect(body.kpis).toMatchObject({ users: 4504, sessions: 5066, products: 6493, views: d.views, carts: d.carts, purchases: d.purchases, revenue: Number(d.revenue), firstDate: '2019-10-01', lastDate: '2019-10-01', days: 1 });
  expect(body.daily).toEqual([{ date: '2019-10-01', views: d.views, carts: d.carts, purchases: d.purchases, revenue: Number(d.revenue), users: 4504 }]);
  expect(body.currency).toBe('USD');
  expect(body.kpis.conversion).toBeCloseTo(body.kpis.buyers / 4504, 12);
  expect(body.categories).toContain('electronics');
});

test('overview by category, and bad filters refused with 400', async () => {
  const { body } = await api(`/api/runs/${reesId}/overview?category=electronics`);
  const [e] = await q(`SELECT count(*) AS events, count(DISTINCT user_id) AS users, count(*) FILTER (WHERE event_type = 'purchase') AS purchases
    FROM ${pq(rees, 'events')} WHERE category = 'electronics'`);
  expect(body.kpis).toMatchObject(e);
  const top = await q(`SELECT product_id, count(*) AS purchases FROM ${pq(rees, 'events')} WHERE category = 'electronics' AND event_type = 'purchase'
    GROUP BY 1 ORDER BY 2 DESC, sum(price) DESC, 1 LIMIT 3`);
  expect(body.topProducts.slice(0, 3).map((p: Json) => ({ product_id: p.product_id, purchases: p.purchases }))).toEqual(top);
  for (const bad of ['from=2019-13-01', 'to=yesterday', 'from=2019-10-02&to=2019-10-01']) {
    const r = await api(`/api/runs/${reesId}/overview?${bad}`);
    expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
    expect(typeof r.body.error).toBe('string');
  }
});

test('RetailRocket has no prices: revenue is null, never 0', async () => {
  const { body } = await api(`/api/runs/${rrId}/overview`);
  expect(body.pricesKnown).toBe(false);
  expect(body.currency).toBeNull();
  expect(body.kpis.revenue).toBeNull();
  expect(body.daily.every((d: Json) => d.revenue === null)).toBe(true);
  const [e] = await q(`SELECT count(*) FILTER (WHERE event_type = 'view') AS views, count(*) FILTER (WHERE event_type = 'purchase') AS purchases FROM ${pq(rr, 'events')}`);
  expect(body.kpis).toMatchObject({ users: 5000, ...e });
  // README: 9,385 rows; the run removed its exact duplicates.
  const summary = JSON.parse(fs.readFileSync(path.join(rr, 'run-summary.json'), 'utf8'));
  expect(body.kpis.events + summary.totals.duplicatesRemoved + summary.totals.rejected).toBe(9385);
});

test('funnel: both readings, step by step never over 100%, purchases that skipped the cart counted', async () => {
  const { body } = await api(`/api/runs/${reesId}/funnel`);
  const [u] = await q(`WITH u AS (SELECT user_id, min(event_time) FILTER (WHERE event_type = 'cart') AS c, max(event_time) FILTER (WHERE event_type = 'purchase') AS p,
      bool_or(event_type = 'view') AS v FROM ${pq(rees, 'events')} GROUP BY 1)
    SELECT count(*) FILTER (WHERE v) AS viewUsers, count(c) AS cartUsers, count(p) AS purchaseUsers,
      count(*) FILTER (WHERE p >= c) AS cartThenPurchaseUsers, count(*) FILTER (WHERE p IS NOT NULL AND c IS NULL) AS purchaseWithoutCartUsers FROM u`);
  expect(body.readings).toMatchObject(u);
  expect(body.readings.cartThenPurchaseUsers).toBeLessThanOrEqual(body.readings.cartUsers);
  expect(body.readings.purchaseWithoutCartUsers).toBeGreaterThan(0);
  const stages = await q(`SELECT event_type AS stage, count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions, count(*) AS events
    FROM ${pq(rees, 'events')} GROUP BY 1 ORDER BY CASE event_type WHEN 'view' THEN 1 WHEN 'cart' THEN 2 ELSE 3 END`);
  expect(body.stages).toEqual(stages);
  const byCat = await q(`SELECT category, view_users FROM ${pq(rees, 'funnel_by_category')} ORDER BY view_users DESC, category`);
  expect(body.byCategory.map((c: Json) => ({ category: c.category, view_users: c.view_users }))).toEqual(byCat);
});

test('products: search by brand / category (case-insensitive) and by exact id; a product page; unknown id 404', async () => {
  const { body } = await api(`/api/runs/${reesId}/products?q=SAMSUNG&limit=500`);
  const [n] = await q(`SELECT count(*) AS n FROM ${pq(rees, 'products')} WHERE lower(brand) LIKE '%samsung%' OR lower(category) LIKE '%samsung%' OR lower(sub_category) LIKE '%samsung%'`);
  expect(body.total).toBe(n.n);
  expect(body.products.length).toBe(Math.min(500, n.n));
  expect(body.products.every((p: Json) => [p.brand, p.category, p.sub_category].some((v) => String(v).includes('samsung')))).toBe(true);
  const [best] = await q(`SELECT b.product_id, count(*) AS n FROM ${pq(rees, 'bought_together')} b GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`);
  const byId = (await api(`/api/runs/${reesId}/products?q=${best.product_id}`)).body;
  expect(byId.total).toBe(1);
  expect(byId.products[0].product_id).toBe(best.product_id);
  const page = (await api(`/api/runs/${reesId}/products/${best.product_id}`)).body;
  const together = await q(`SELECT other_product_id, rank FROM ${pq(rees, 'bought_together')} WHERE product_id = ${best.product_id} ORDER BY rank`);
  expect(page.boughtTogether.map((b: Json) => ({ other_product_id: b.other_product_id, rank: b.rank }))).toEqual(together);
  const similar = await q(`SELECT similar_product_id FROM ${pq(rees, 'similar_products')} WHERE product_id = ${best.product_id} ORDER BY rank LIMIT 20`);
  expect(page.similar.map((s: Json) => ({ similar_product_id: s.similar_product_id }))).toEqual(similar);
  const [views] = await q(`SELECT count(*) AS n FROM ${pq(rees, 'events')} WHERE product_id = ${best.product_id} AND event_type = 'view'`);
  expect(page.daily.reduce((a: number, d: Json) => a + d.views, 0)).toBe(views.n);
  expect((await api(`/api/runs/${reesId}/products/1`)).status).toBe(404);
});

test('a user: totals, newest-first history, segment, recommendations with why, purchase probability', async () => {
  const [u] = await q(`SELECT t.user_id FROM ${pq(rees, 'top_customers')} t WHERE t.user_id IN (SELECT user_id FROM ${pq(rees, 'user_recommendations')}) ORDER BY spend_rank LIMIT 1`);
  const { status, body } = await api(`/api/users/${u.user_id}?run=${reesId}`);
  expect(status).toBe(200);
  expect((await api(`/api/runs/${reesId}/users/${u.user_id}`)).body).toEqual(body);
  const [t] = await q(`SELECT count(*) AS events, count(*) FILTER (WHERE event_type = 'purchase') AS purchases, count(DISTINCT session_id) AS sessions,
      CAST(sum(price) FILTER (WHERE event_type = 'purchase') AS VARCHAR) AS spend FROM ${pq(rees, 'events')} WHERE user_id = ${u.user_id}`);
  expect(body.user_id).toBe(u.user_id);
  expect(body.totals).toMatchObject({ events: t.events, purchases: t.purchases, sessions: t.sessions, spend: Number(t.spend) });
  expect(body.history.length).toBe(Math.min(100, t.events));
  const times = body.history.map((h: Json) => Date.parse(h.event_time));
  expect([...times].sort((a, b) => b - a)).toEqual(times);
  expect(body.history[0].event_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
  const recs = await q(`SELECT rank, product_id FROM ${pq(rees, 'user_recommendations')} WHERE user_id = ${u.user_id} ORDER BY rank`);
  expect(body.recommendations.map((r: Json) => ({ rank: r.rank, product_id: r.product_id }))).toEqual(recs);
  // Each recommended product carries what names it (category_code and sub-category too), as the products table has it,
  // so a page names it as the why sentence names the user's own products.
  const named = await q(`SELECT r.product_id, p.category_code, p.category, p.sub_category, p.brand FROM ${pq(rees, 'user_recommendations')} r
      JOIN ${pq(rees, 'products')} p USING (product_id) WHERE r.user_id = ${u.user_id} ORDER BY r.rank`);
  expect(body.recommendations.map((r: Json) => ({ product_id: r.product_id, category_code: r.category_code, category: r.category, sub_category: r.sub_category, brand: r.brand }))).toEqual(named);
  expect(body.history[0]).toEqual(expect.objectContaining({ category_code: expect.anything(), sub_category: expect.anything() }));
  // Each "why" is true of this user's data.
  const mine = new Set((await q(`SELECT DISTINCT product_id FROM ${pq(rees, 'events')} WHERE user_id = ${u.user_id}`)).map((r) => r.product_id));
  for (const r of body.recommendations) {
    const m = /^Similar to the .*\(#(\d+)\) you (bought|added to your cart|viewed)$/.exec(r.why) ?? /^Similar to the Product (\d+) you/.exec(r.why);
    if (m) {
      expect(mine.has(Number(m[1]))).toBe(true);
      expect((await q(`SELECT 1 FROM ${pq(rees, 'similar_products')} WHERE product_id = ${m[1]} AND similar_product_id = ${r.product_id}`)).length).toBe(1);
    } else {
      expect(r.why).toMatch(/^In .+, a category you viewed$|^Popular with customers like you$/);
    }
  }
  // This top customer's recommendations are explained by their own products, at least in part.
  expect(body.recommendations.some((r: Json) => r.why.startsWith('Similar to'))).toBe(true);
  const [seg] = await q(`SELECT segment_id, segment_name FROM ${pq(rees, 'customer_segments')} WHERE user_id = ${u.user_id}`);
  expect(body.segment).toMatchObject(seg);
  expect(body.segment.label).not.toMatch(/_/);
  const probs = await q(`SELECT session_id, probability FROM ${pq(rees, 'intent_predictions')} WHERE user_id = ${u.user_id}`);
  expect(probs).toContainEqual(body.purchaseProbability);
  expect(body.forecast).toMatchObject({ horizon_days: expect.any(Number) });
  expect((await api(`/api/users/1?run=${reesId}`)).status).toBe(404);
  expect((await api(`/api/users/${u.user_id}?run=no-such-run`)).status).toBe(404);
});

test('what-if equals the logistic formula on the stored coefficients; missing features take the median', async () => {
  const coef = await q(`SELECT feature, position, coefficient, mean, stddev FROM ${pq(rees, 'intent_coefficients')} ORDER BY position`);
  const intent = (await api(`/api/runs/${reesId}/intent`)).body;
  expect(intent.intercept).toBe(coef[0].coefficient);
  expect(intent.features.map((f: Json) => f.feature)).toEqual(coef.slice(1).map((c) => c.feature));
  const [median] = await q(`SELECT median(views) AS views, median(duration_seconds) AS duration_seconds FROM ${pq(rees, 'session_features')}`);
  expect(intent.features.find((f: Json) => f.feature === 'views').typical).toBe(median.views);
  const given: Record<string, number> = { views: 7, carts: 2, duration_seconds: 300 };
  const { body } = await post(`/api/runs/${reesId}/what-if`, { features: given });
  let linear = coef[0].coefficient;
  for (const c of coef.slice(1)) {
    const x = given[c.feature] ?? intent.features.find((f: Json) => f.feature === c.feature).typical;
    if (c.stddev > 0) linear += (c.coefficient * (x - c.mean)) / c.stddev;
  }
  expect(body.linear).toBeCloseTo(linear, 10);
  expect(body.probability).toBeCloseTo(1 / (1 + Math.exp(-linear)), 12);
  expect(body.contributions.find((c: Json) => c.feature === 'views')).toMatchObject({ value: 7 });
  expect(body.contributions.filter((c: Json) => coef.find((k) => k.feature === c.feature)!.stddev === 0).every((c: Json) => c.contribution === 0)).toBe(true);
  expect((await post(`/api/runs/${reesId}/what-if`, { features: { nonsense: 1 } })).status).toBe(400);
  expect((await post(`/api/runs/${reesId}/what-if`, { features: { views: 'many' } })).status).toBe(400);
});

test('rules: a rule from a single basket only when asked for; sorting and filters', async () => {
  // Every rule of the RetailRocket sample comes from one basket: none by default.
  const [all] = await q(`SELECT count(*) AS n, count(*) FILTER (WHERE baskets >= 2) AS two, median(lift) AS lift FROM ${pq(rr, 'association_rules')}`);
  expect(all.n).toBeGreaterThan(0);
  expect((await api(`/api/runs/${rrId}/rules`)).body).toEqual({ rules: [], total: all.two });
  const asked = (await api(`/api/runs/${rrId}/rules?minBaskets=1&kind=product&minLift=${all.lift}`)).body;
  const [p] = await q(`SELECT count(*) AS n FROM ${pq(rr, 'association_rules')} WHERE basket_kind = 'product' AND lift >= ${all.lift}`);
  expect(asked.total).toBe(p.n);
  expect(asked.rules.length).toBe(p.n);
  const lifts = asked.rules.map((r: Json) => r.lift);
  expect([...lifts].sort((a, b) => b - a)).toEqual(lifts);
  const asc = (await api(`/api/runs/${rrId}/rules?minBaskets=1&sort=confidence&order=asc&limit=5`)).body;
  expect(asc.rules.length).toBe(Math.min(5, all.n));
  const conf = asc.rules.map((r: Json) => r.confidence);
  expect([...conf].sort((a, b) => a - b)).toEqual(conf);
  expect(Object.keys(asc.rules[0]).sort()).toEqual(['antecedent', 'basket_kind', 'baskets', 'confidence', 'consequent', 'lift', 'support']);
  expect((await api(`/api/runs/${rrId}/rules?sort=price`)).status).toBe(400);
  expect((await api(`/api/runs/${rrId}/rules?minLift=-1`)).status).toBe(400);
});

test("tables: the run's tables with row counts, columns and a description", async () => {
  const { tables } = (await api(`/api/runs/${reesId}/tables`)).body;
  const folders = fs.readdirSync(rees).filter((d) => !['input', 'report', 'serving'].includes(d) && fs.statSync(path.join(rees, d)).isDirectory()).sort();
  expect(tables.map((t: Json) => t.name)).toEqual(folders);
  const events = tables.find((t: Json) => t.name === 'events');
  const [n] = await q(`SELECT count(*) AS n FROM ${pq(rees, 'events')}`);
  expect(events.rows).toBe(n.n);
  expect(events.columns).toContainEqual({ name: 'event_date', type: 'DATE' });
  expect(tables.every((t: Json) => typeof t.description === 'string' && t.description.length > 0)).toBe(true);
});

test('rejects: file, line, reason and raw text of the bad rows', async () => {
  const { body } = await api(`/api/runs/${reesId}/rejects`);
  expect(body.total).toBe(3);
  expect(body.byReason).toEqual({ bad_timestamp: 1, unknown_event_type: 1, bad_price: 1 });
  expect(body.rows.map((r: Json) => [path.basename(r.source_file), r.source_line, r.raw_line])).toEqual(BAD_LINES.map((l, i) => ['bad.csv', i + 2, l]));
  const one = (await api(`/api/runs/${reesId}/rejects?reason=bad_price&limit=1`)).body;
  expect(one).toMatchObject({ total: 1, rows: [{ reason: 'bad_price', raw_line: BAD_LINES[2] }] });
  expect((await api(`/api/runs/${reesId}/rejects?limit=0`)).status).toBe(400);
});

test('query: JSON numbers for BIGINT and DECIMAL, CSV download', async () => {
  const { body } = await post('/api/query', { sql: `SELECT count(*) AS n, sum(price) AS total FROM events WHERE event_type = 'purchase'`, run: reesId });
  const [e] = await q(`SELECT count(*) AS n, CAST(sum(price) AS VARCHAR) AS total FROM ${pq(rees, 'events')} WHERE event_type = 'purchase'`);
  expect(body).toMatchObject({ columns: ['n', 'total'], rows: [[e.n, Number(e.total)]], truncated: false });
  expect(typeof body.elapsedMs).toBe('number');
  const csv = await post('/api/query', { sql: `SELECT 'a,b' AS x, 2 AS y UNION ALL SELECT NULL, 3 ORDER BY y`, run: reesId, format: 'csv' });
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  expect(csv.headers.get('content-disposition')).toBe('attachment; filename="query.csv"');
  expect(csv.body).toBe('x,y\r\n"a,b",2\r\n,3\r\n');
  // No run named: the newest (RetailRocket, no prices).
  expect((await post('/api/query', { sql: 'SELECT count(DISTINCT user_id) AS u FROM events' })).body.rows).toEqual([[5000]]);
});

test('jobs: an uploaded .csv.gz runs to completion with its stages, then is the newest run', async () => {
  const form = new FormData();
  form.append('file', new Blob([fs.readFileSync(path.join(DATA, 'rees46', '2019-Nov_head_683rows.csv.gz'))]), 'my events.csv.gz');
  const started = await api('/api/jobs', { method: 'POST', body: form });
  expect(started.status).toBe(202);
  const id = started.body.job.id;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  // A job started meanwhile waits for this one: one run at a time.
  const demo = await post('/api/jobs', { demo: { events: 1000 } });
  expect(demo.status).toBe(202);
  expect(demo.body.job).toMatchObject({ status: 'running', log: [expect.stringMatching(/waiting/)] });
  expect(demo.body.job.stages.every((s: Json) => s.status === 'pending')).toBe(true);
  demoJob = demo.body.job.id;
  const uploads = fs.readdirSync(path.join(tmp, 'work', 'uploads'));
  expect(uploads).toEqual([expect.stringMatching(/^[0-9a-f-]{36}\.csv\.gz$/)]);
  const job = await finished(id);
  expect(job).toMatchObject({ status: 'succeeded', exitCode: 0 });
  expect(job.stages.map((s: Json) => s.name)).toEqual(expect.arrayContaining(['validate', 'prepare', 'recommendations', 'write-tables']));
  expect(job.stages.every((s: Json) => s.status === 'done' && typeof s.seconds === 'number')).toBe(true);
  expect(job.stages.find((s: Json) => s.name === 'prepare').rows).toBe(683);
  const runs = (await api('/api/runs')).body.runs;
  expect(runs[0]).toMatchObject({ id: job.runId, events: 683 });
  expect((await api('/api/jobs')).body.jobs.map((j: Json) => j.id)).toEqual([demoJob, id]);
  uploadRun = job.runId;
  expect((await api(`/api/jobs/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
}, 90_000);

async function finished(id: string): Promise<Json> {
  for (let i = 0; i < 120; i++) {
    const job = (await api(`/api/jobs/${id}`)).body;
    if (job.status !== 'running') return job;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`job ${id} still running`);
}

test('jobs: a generated demo runs with its generate stage first; out-of-range sizes are refused', async () => {
  for (const events of [10, 999, 1_000_001, 1.5]) expect((await post('/api/jobs', { demo: { events } })).status).toBe(400);
  expect((await post('/api/jobs', {})).status).toBe(400);
  const job = await finished(demoJob);
  expect(job).toMatchObject({ status: 'succeeded', exitCode: 0 });
  expect(job.stages[0]).toMatchObject({ name: 'generate', status: 'done', rows: 1000 });
  expect(job.stages.every((s: Json) => s.status === 'done')).toBe(true);
  const [newest, before] = (await api('/api/runs')).body.runs;
  expect([newest.id, before.id]).toEqual([job.runId, uploadRun]);
  expect(newest).toMatchObject({ dataset: 'rees46', currency: 'USD' });
  const folder = path.join(tmp, 'work', 'runs', job.id);
  expect(newest.folder).toBe(fs.realpathSync(folder));
  const [n] = await q(`SELECT count(*) AS n FROM ${pq(folder, 'events')}`);
  expect(newest.events).toBe(n.n);
}, 90_000);

test('OpenAPI lists every route, each path parameter with its pattern', async () => {
  const { body } = await api('/api/openapi.json');
  expect(body.openapi).toMatch(/^3\./);
  const paths = Object.keys(body.paths);
  for (const p of ['/api/health', '/api/runs', '/api/runs/{run}/overview', '/api/runs/{run}/funnel', '/api/runs/{run}/products', '/api/runs/{run}/products/{productId}',
    '/api/users/{userId}', '/api/runs/{run}/users/{userId}', '/api/runs/{run}/intent', '/api/runs/{run}/what-if', '/api/runs/{run}/rules', '/api/runs/{run}/tables',
    '/api/query', '/api/runs/{run}/rejects', '/api/jobs', '/api/jobs/{jobId}']) expect(paths).toContain(p);
  // The two named endpoints document their answers.
  expect(Object.keys(body.paths['/api/query'].post.responses['200'].content['application/json'].schema.properties)).toEqual(['columns', 'types', 'rows', 'truncated', 'elapsedMs']);
  expect(body.paths['/api/users/{userId}'].get.responses['200'].content['application/json'].schema.properties.recommendations.items.properties.why).toEqual({ type: 'string' });
  for (const [p, ops] of Object.entries(body.paths as Record<string, Record<string, Json>>)) {
    for (const op of Object.values(ops)) {
      for (const param of (op.parameters ?? []).filter((x: Json) => x.in === 'path')) expect({ p, name: param.name, pattern: typeof param.schema.pattern }).toEqual({ p, name: param.name, pattern: 'string' });
    }
  }
});
