/**
 * `shopsight app` in a real browser (issue 13's proof): one real run of the REES46 samples made by
 * the real command (`node local/cli/bin.js run`, a child process), the app started on it with
 * startApp on a free port, and Debian's Chromium driven by playwright-core.
 *
 * Checks, against the run's own Parquet tables read here with DuckDB (not through the app):
 * - every page renders with data, with no console error or warning, no failed request and no HTTP
 *   error; the overview chart is drawn with one point per day of the data (2 days, not a month);
 *   the funnel shows no percentage over 100%;
 * - a user looked up through the form shows exactly that user's user_recommendations rows;
 * - the what-if answer for values typed in the form equals the logistic formula computed here from
 *   intent_coefficients;
 * - a query typed in the workbench shows DuckDB's answer, and its CSV download is that answer;
 * - a CSV uploaded on the runs page (the first 2,000 lines of a sample plus two bad lines) runs to
 *   completion with its stages' progress visible, the new run opens, and its data-quality page lists
 *   the two rejected lines with reason, file, line and raw text.
 * Every page screenshot is taken after checking that its inputs have labels, it has one h1 and its
 * tables have column headers. A screenshot of every page goes to test-artifacts/app/.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Browser, chromium, Page } from 'playwright-core';
import { startApp } from '../../local/app/server';
import { formatCount, formatPercent } from '../../local/present';

const ROOT = path.resolve(__dirname, '../..');
const SAMPLES = path.resolve(ROOT, '../shared/data/rees46');
const OCT = path.join(SAMPLES, '2019-Oct_head_17434rows.csv.gz');
if (!fs.existsSync(OCT)) throw new Error(`Real data sample missing: ${OCT} (the shared samples must be at ${SAMPLES})`);
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'app');

const BAD_LINES = ['2019-10-01 12:00:02 UTC,click,1,2,a.b,x,1.00,5,fixture-session-2', 'too,few,columns'];

let tmp: string;
let runDir: string;
let app: { url: string; close(): Promise<void> };
let runId: string;
let browser: Browser;
let page: Page;
let instance: DuckDBInstance;
let db: DuckDBConnection;
const problems: string[] = [];

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const table = (dir: string, name: string): string => `read_parquet(${q(path.join(dir, name, '**', '*.parquet'))}, hive_partitioning = true)`;

async function rows(sql: string): Promise<Record<string, string | number | boolean | null>[]> {
  const reader = await db.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Record<string, string | number | boolean | null>[];
}

async function api<T>(p: string): Promise<T> {
  const res = await fetch(`${app.url.replace(/\/$/, '')}${p}`);
  if (!res.ok) throw new Error(`${p}: ${res.status}`);
  return (await res.json()) as T;
}

/** Opens a hash route of the run (or another run) and waits for `ready`. */
async function visit(route: string, ready: string, run = runId): Promise<void> {
  await page.goto(`${app.url}#/${route}?run=${encodeURIComponent(run)}`);
  await page.locator(ready).first().waitFor({ state: 'visible', timeout: 20_000 });
  await page.waitForLoadState('networkidle');
}

/** Every form control has a label, the page has one h1, and every table has column headers. */
async function expectAccessible(): Promise<void> {
  const found = await page.evaluate(() => ({
    unlabelled: [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 80)),
    h1: document.querySelectorAll('main h1').length,
    headerless: [...document.querySelectorAll('main table')].filter((t) => t.querySelectorAll('thead th[scope=col], thead th').length === 0).length,
  }));
  expect(found).toEqual({ unlabelled: [], h1: 1, headerless: 0 });
}

async function shot(name: string): Promise<void> {
  await expectAccessible();
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(10_000);
}

/** The text of every cell of a table's body, row by row. */
async function cells(selector: string): Promise<string[][]> {
  return page.locator(`${selector} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-app-browser-'));
  runDir = path.join(tmp, 'run');
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'local/cli/bin.js'), 'run', '--input', `${SAMPLES}/`, '--out', runDir], { cwd: tmp, timeout: 90_000 });
  runId = (JSON.parse(fs.readFileSync(path.join(runDir, 'run-summary.json'), 'utf8')) as { runId: string }).runId;
  app = await startApp({ runDirs: [runDir], port: 0, host: '127.0.0.1', workdir: path.join(tmp, 'work'), maxUploadMb: 16 });
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  db?.closeSync();
  instance?.closeSync();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  const seen = problems.splice(0);
  expect(seen).toEqual([]);
});

test('every page renders with data from the run', async () => {
  const [counts] = await rows(`SELECT count(*) AS events, count(DISTINCT event_date) AS days FROM ${table(runDir, 'events')}`);

  await visit('overview', '[data-testid=daily-chart]');
  await expect(page.locator('.kpi', { hasText: 'Events' }).locator('.kpi-value').first().textContent()).resolves.toBe(formatCount(Number(counts.events)));
  const chart = await page.locator('[data-testid=daily-chart]').evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn += 1;
    return { points: Number(canvas.dataset.points), drawn, width: canvas.getBoundingClientRect().width };
  });
  // The samples cover 1 Oct and 1 Nov 2019: two points, not the month between them.
  expect(chart.points).toBe(Number(counts.days));
  expect(chart.points).toBe(2);
  expect(chart.width).toBeGreaterThan(500);
  expect(chart.drawn).toBeGreaterThan(5_000);
  await expect(page.getByText('$', { exact: false }).count()).resolves.toBeGreaterThan(0);
  await shot('overview');
  // The category filter: the tiles answer for that category's events only.
  const [electronics] = await rows(`SELECT count(*) AS n FROM ${table(runDir, 'events')} WHERE category = 'electronics'`);
  await page.getByLabel('Category').selectOption('electronics');
  const eventsTile = page.locator('.kpi', { hasText: 'Events' }).locator('.kpi-value').first();
  await page.waitForFunction((want) => document.querySelector('.kpi .kpi-value')?.textContent === want, formatCount(Number(electronics.n)));
  await expect(eventsTile.textContent()).resolves.toBe(formatCount(Number(electronics.n)));
  await page.waitForLoadState('networkidle');
  await shot('overview-electronics');

  await visit('funnel', '[data-testid=step-rate]');
  const funnelText = await page.locator('main').innerText();
  const percents = [...funnelText.matchAll(/(\d+(?:\.\d+)?)%/g)].map((m) => Number(m[1]));
  expect(percents.length).toBeGreaterThan(10);
  expect(Math.max(...percents)).toBeLessThanOrEqual(100);
  await expect(page.getByText('n/a (purchases skip the cart)').count()).resolves.toBeGreaterThan(0);
  await shot('funnel');

  await visit('products', '[data-testid=products-table] tbody tr');
  await page.getByLabel('Search').fill('samsung');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('matching “samsung”').waitFor();
  const samsung = await cells('[data-testid=products-table]');
  expect(samsung.length).toBeGreaterThan(0);
  for (const r of samsung) expect(r[4]).toBe('Samsung');
  await shot('products');

  const [product] = await rows(
    `SELECT b.product_id, count(DISTINCT b.rank) AS together, (SELECT count(*) FROM ${table(runDir, 'similar_products')} s WHERE s.product_id = b.product_id) AS similar
     FROM ${table(runDir, 'bought_together')} b WHERE b.product_id IN (SELECT product_id FROM ${table(runDir, 'similar_products')})
     GROUP BY b.product_id ORDER BY together DESC, b.product_id LIMIT 1`,
  );
  await page.getByLabel('Search').fill(String(product.product_id));
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText(`1 product matching “${product.product_id}”`).waitFor();
  await page.locator('[data-testid=products-table] tbody a', { hasText: String(product.product_id) }).click();
  await page.locator('[data-testid=similar] tbody tr').first().waitFor();
  expect(await page.locator('[data-testid=bought-together] tbody tr').count()).toBe(Math.min(20, Number(product.together)));
  expect(await page.locator('[data-testid=similar] tbody tr').count()).toBe(Math.min(20, Number(product.similar)));
  await shot('product');

  await visit('customers', 'main table tbody tr');
  await shot('customers');

  await visit('rules', '[data-testid=rule-count]');
  const [rules] = await rows(`SELECT count(*) AS all_rules, count(*) FILTER (WHERE baskets >= 2) AS multi FROM ${table(runDir, 'association_rules')}`);
  expect(Number(rules.all_rules)).toBeGreaterThan(0);
  if (Number(rules.multi) === 0) await page.getByRole('button', { name: 'Show rules from a single basket too' }).click();
  else {
    await page.getByLabel('Min baskets').fill('1');
    await page.getByRole('button', { name: 'Apply' }).click();
  }
  await page.locator('[data-testid=rules-table] tbody tr').first().waitFor();
  expect(await page.locator('[data-testid=rules-table] tbody tr').count()).toBe(Math.min(200, Number(rules.all_rules)));
  await page.getByRole('button', { name: 'Confidence' }).click();
  await page.getByText('sorted by confidence (highest first)').waitFor();
  const [best] = await rows(`SELECT max(confidence) AS c FROM ${table(runDir, 'association_rules')}`);
  expect((await cells('[data-testid=rules-table]'))[0][4]).toBe(formatPercent(Number(best.c)));
  await shot('rules');

  const [rejects] = await rows(`SELECT count(*) AS n FROM ${table(runDir, 'rejects')}`);
  expect(Number(rejects.n)).toBe(0); // the samples are clean: the upload below brings rejects
  await visit('quality', '[data-testid=no-rejects]');
  await shot('quality');

  await visit('runs', '[data-testid=runs-table] tbody tr');
  await expect(page.locator('[data-testid=runs-table]').innerText()).resolves.toContain(runId);
  await shot('runs');
});

test('a user lookup shows exactly that user\'s recommendations', async () => {
  const [user] = await rows(`SELECT user_id FROM ${table(runDir, 'user_recommendations')} GROUP BY user_id ORDER BY count(*) DESC, user_id DESC LIMIT 1`);
  const expected = await rows(`SELECT rank, product_id FROM ${table(runDir, 'user_recommendations')} WHERE user_id = ${Number(user.user_id)} ORDER BY rank`);
  expect(expected.length).toBeGreaterThan(0);

  await visit('customers', 'main table tbody tr');
  await page.getByLabel('User id').fill(String(user.user_id));
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.locator('[data-testid=recommendations] tbody tr').first().waitFor();
  await page.getByRole('heading', { name: `Customer ${user.user_id}` }).waitFor();
  const shown = (await cells('[data-testid=recommendations]')).map((r) => ({ rank: r[0], product_id: r[1], why: r[r.length - 1] }));
  expect(shown.map((r) => [r.rank, r.product_id])).toEqual(expected.map((r) => [String(r.rank), String(r.product_id)]));
  for (const r of shown) expect(r.why.length).toBeGreaterThan(5);
  await expect(page.locator('[data-testid=segment]').innerText()).resolves.not.toMatch(/_\d|_/);
  await page.locator('[data-testid=history] tbody tr').first().waitFor();
  await shot('customer');
});

test('the what-if answer equals the logistic formula on the stored coefficients', async () => {
  const typed: Record<string, number> = {
    views: 12, carts: 2, remove_from_carts: 1, distinct_products: 7, distinct_categories: 2, duration_seconds: 640,
    start_hour: 14, day_of_week: 5, avg_view_price: 250.5, max_view_price: 899.99, min_view_price: 19.9, cart_value: 499.99,
  };
  const coefficients = await rows(`SELECT feature, coefficient, mean, stddev FROM ${table(runDir, 'intent_coefficients')} ORDER BY position`);
  let z = 0;
  for (const c of coefficients) {
    if (c.feature === '(intercept)') {
      z += Number(c.coefficient);
      continue;
    }
    const x = typed[String(c.feature)];
    expect({ feature: c.feature, typed: x !== undefined }).toEqual({ feature: c.feature, typed: true });
    if (Number(c.stddev) !== 0) z += (Number(c.coefficient) * (x - Number(c.mean))) / Number(c.stddev);
  }
  const probability = 1 / (1 + Math.exp(-z));

  await visit('what-if', '[data-testid=probability]');
  for (const [feature, value] of Object.entries(typed)) await page.locator(`input[data-feature="${feature}"]`).fill(String(value));
  await page.getByRole('button', { name: 'Compute' }).click();
  const answer = page.locator('[data-testid=probability]');
  await page.waitForFunction((want) => document.querySelector('[data-testid=probability]')?.getAttribute('data-features') === want, JSON.stringify(typed));
  expect(Number(await answer.getAttribute('data-value'))).toBeCloseTo(probability, 12);
  await expect(answer.textContent()).resolves.toBe(formatPercent(probability, 2));
  await shot('what-if');
});

test('a query runs in the workbench and its CSV download is the same answer', async () => {
  const sql = 'SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users FROM events GROUP BY event_type ORDER BY event_type';
  const expected = await rows(`SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users FROM ${table(runDir, 'events')} GROUP BY event_type ORDER BY event_type`);

  await visit('query', '[data-testid=query-results] tbody tr');
  await page.locator('[data-testid=schema] button', { hasText: 'user_recommendations' }).click();
  await page.getByText('user_id', { exact: true }).first().waitFor();
  await page.getByLabel('SQL').fill(sql);
  await page.getByRole('button', { name: 'Run query' }).click();
  await page.getByText(`${expected.length} rows in`).waitFor();
  expect(await cells('[data-testid=query-results]')).toEqual(expected.map((r) => [String(r.event_type), String(r.events), String(r.users)]));
  await shot('query');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  expect(download.suggestedFilename()).toBe('query.csv');
  const csv = fs.readFileSync(await download.path(), 'utf8');
  expect(csv.split(/\r?\n/).filter((l) => l.length > 0)).toEqual(['event_type,events,users', ...expected.map((r) => `${r.event_type},${r.events},${r.users}`)]);
});

test('an uploaded CSV runs to completion with progress, then the new run opens', async () => {
  const lines = zlib.gunzipSync(fs.readFileSync(OCT)).toString('utf8').split('\n').slice(0, 2000);
  const upload = path.join(tmp, 'oct-first-2000-lines.csv');
  fs.writeFileSync(upload, `${[...lines, ...BAD_LINES].join('\n')}\n`);

  await visit('runs', '[data-testid=runs-table] tbody tr');
  await page.getByLabel('Events file (.csv or .csv.gz)').setInputFiles(upload);
  await page.getByRole('button', { name: 'Upload and run' }).click();
  // Progress: a stage done while the job still runs, and the progress bar moving.
  await page.locator('[data-testid=job][data-status=running] .stage.done').first().waitFor({ timeout: 60_000 });
  expect(Number(await page.locator('[data-testid=job] progress').getAttribute('value'))).toBeGreaterThan(0);
  await shot('runs-progress');
  await page.locator('[data-testid=job][data-status=succeeded]').waitFor({ timeout: 90_000 });
  expect(await page.locator('[data-testid=job] .stage.done').count()).toBe(await page.locator('[data-testid=job] .stage').count());
  await shot('runs-done');

  const open = page.getByTestId('open-run');
  const newRun = ((await open.textContent()) ?? '').replace(/^Open run /, '');
  expect(newRun).not.toBe(runId);
  await open.click();
  await page.locator('[data-testid=daily-chart]').waitFor();
  await page.waitForLoadState('networkidle');
  expect(new URL(page.url()).hash).toBe(`#/overview?run=${encodeURIComponent(newRun)}`);
  await expect(page.getByTestId('run-picker').inputValue()).resolves.toBe(newRun);
  const listed = (await api<{ runs: { id: string; folder: string }[] }>('/api/runs')).runs;
  expect(listed[0].id).toBe(newRun);
  const [events] = await rows(`SELECT count(*) AS n FROM ${table(listed[0].folder, 'events')}`);
  expect(Number(events.n)).toBeGreaterThan(1_900);
  await expect(page.locator('.kpi', { hasText: 'Events' }).locator('.kpi-value').first().textContent()).resolves.toBe(formatCount(Number(events.n)));
  await shot('new-run-overview');

  await visit('quality', '[data-testid=rejects] tbody tr', newRun);
  const rejected = await cells('[data-testid=rejects]');
  const byRaw = Object.fromEntries(rejected.map((r) => [r[4], { reason: r[0], file: r[2], line: r[3] }]));
  expect(Object.keys(byRaw).sort()).toEqual([...BAD_LINES].sort());
  expect(byRaw[BAD_LINES[0]].line).toBe(formatCount(2001));
  expect(byRaw[BAD_LINES[1]].line).toBe(formatCount(2002));
  for (const r of Object.values(byRaw)) {
    expect(r.reason.length).toBeGreaterThan(0);
    expect(r.file).toMatch(/\.csv$/);
  }
  await shot('new-run-quality');
});
