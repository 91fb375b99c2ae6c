/**
 * `shopsight rehearse` as a user runs it: the real bin as a child process, on the real REES46
 * samples (read in place from ../shared/data), four executions in one rehearsal folder, in order,
 * as four executions in one account:
 *   1. the success path on both samples (run r1);
 *   2. --fail-at an analytics job (run r2): the failure notice, r1 still served, its rows unchanged;
 *   3. a rerun of r1 with changed input (the October sample only): the new data is served;
 *   4. --fail-at LoadServingTables (run r3) after those: the failure notice, r1 (its new data) still served.
 * Served rows are read from the rehearsal's MariaDB after each run and checked against the run's
 * own serving manifest (in the persisted emulated bucket) and, for the October-only run, against the
 * counts the data's README gives for that sample (an independent source).
 *
 * Slow (the Spark jobs run for real on local[2]): this file holds the suite's only rehearsals.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { servedTables, ServingManifest } from '../../core/contract';
import { EXIT } from '../../local/engine/exit-codes';
import type { RehearsalReport } from '../../local/rehearse';
import { MariaDbServer, startMariaDbServer } from '../../local/rehearse/mariadb';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'local/cli/bin.js');
const REES46 = path.resolve(ROOT, '../shared/data/rees46');
const OCT = path.join(REES46, '2019-Oct_head_17434rows.csv.gz');
for (const f of [REES46, OCT]) if (!fs.existsSync(f)) throw new Error(`Real data sample missing: ${f}`);

/** ../shared/data/README.md, "October sample counts" (of the raw rows, exact duplicates included). */
const OCTOBER = { rows: 17_434, views: 17_055, carts: 165, purchases: 214, users: 4_504, sessions: 5_066, products: 6_493 };

const MINUTES = 60_000;
jest.setTimeout(40 * MINUTES);

let tmp: string;
let dir: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-rehearsal-test-'));
  dir = path.join(tmp, 'rehearsal');
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly report: RehearsalReport;
}

function rehearse(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, 'rehearse', '--out', dir, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 35 * MINUTES });
  const reportFile = path.join(dir, 'rehearsal.json');
  if (!fs.existsSync(reportFile)) throw new Error(`no rehearsal.json (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, report: JSON.parse(fs.readFileSync(reportFile, 'utf8')) as RehearsalReport };
}

/** The run's serving manifest, from the emulated export bucket as the rehearsal persisted it. */
function manifestOf(runId: string): ServingManifest {
  const s3 = path.join(dir, 's3');
  for (const bucket of fs.readdirSync(s3)) {
    const file = path.join(s3, bucket, 'runs', runId, 'manifest.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as ServingManifest;
  }
  throw new Error(`no manifest of ${runId} under ${s3}`);
}

/** The run's run-summary.json from the emulated curated bucket. */
function runSummaryOf(runId: string): unknown {
  const s3 = path.join(dir, 's3');
  for (const bucket of fs.readdirSync(s3)) {
    const file = path.join(s3, bucket, '_runs', runId, 'run-summary.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  }
  throw new Error(`no run summary of ${runId} under ${s3}`);
}

/** Rows of every served table and the load_runs rows, read as root from the rehearsal's database. */
async function database<T>(work: (query: (sql: string) => Promise<any[]>) => Promise<T>): Promise<T> {
  let server: MariaDbServer | undefined;
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reh-db-'));
  try {
    server = await startMariaDbServer({ dataDir: path.join(dir, 'mysql'), runDir });
    const c = await server.connect({ database: 'shopsight' });
    try {
      return await work(async (sql) => (await c.query(sql))[0] as any[]);
    } finally {
      await c.end();
    }
  } finally {
    await server?.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

const servedRows = (): Promise<Record<string, number>> =>
  database(async (q) => {
    const counts: Record<string, number> = {};
    for (const t of servedTables()) counts[t.name] = Number((await q(`SELECT COUNT(*) AS n FROM \`${t.name}\``))[0].n);
    return counts;
  });

const manifestRows = (m: ServingManifest): Record<string, number> => Object.fromEntries(servedTables().map((t) => [t.name, m.tables[t.name].rowCount]));

const TOP_LEVEL = ['ValidateInput', 'PrepareJob', 'AnalyticsJobs', 'DataQualityGate', 'LoadServingTables', 'NotifySuccess', 'NotifyFailure'];
const names = (report: RehearsalReport): string[] => report.states.map((s) => s.name);

let firstServed: Record<string, number>;
let octoberServed: Record<string, number>;

test('the success path on the REES46 samples: every state runs, every served table holds its manifest rows, the API answers from them', async () => {
  const run = rehearse('--input', REES46, '--run-id', 'r1');
  expect(run.stderr).not.toContain('internal error');
  expect({ code: run.code, status: run.report.status, asExpected: run.report.asExpected }).toEqual({ code: EXIT.ok, status: 'SUCCEEDED', asExpected: true });
  expect(run.report.runId).toBe('r1');
  expect(run.report.servedRunId).toBe('r1');
  expect(names(run.report).filter((n) => TOP_LEVEL.includes(n))).toEqual(['ValidateInput', 'PrepareJob', 'AnalyticsJobs', 'DataQualityGate', 'LoadServingTables', 'NotifySuccess']);
  expect(run.report.states.every((s) => s.status === 'SUCCEEDED')).toBe(true);
  // Every Spark job ran (as a Task of its own), each Lambda action too.
  for (const job of ['PrepareJob', 'AssociationRulesJob', 'RecommendationsJob', 'PurchaseIntentJob', 'SegmentsJob', 'SpendForecastJob']) {
    expect(run.report.tasks.filter((t) => t.name === job).map((t) => t.status)).toEqual(['SUCCEEDED']);
  }
  expect(run.report.notices.map((n) => (n.message as { status: string }).status)).toEqual(['SUCCEEDED']);
  // The states print as they run.
  expect(run.stderr).toMatch(/✓ PrepareJob \d+\.\d s/);

  const manifest = manifestOf('r1');
  firstServed = await servedRows();
  expect(firstServed).toEqual(manifestRows(manifest));
  expect(run.report.served).toEqual(firstServed);
  // The samples span 2019-10-01..2019-11-01 (32 days): a 10-day customer horizon and 14 forecast days.
  for (const t of ['daily_kpis', 'products', 'user_recommendations', 'customer_segments', 'association_rules', 'customer_spend_forecast', 'revenue_forecast']) {
    expect({ table: t, rows: firstServed[t] > 0 }).toEqual({ table: t, rows: true });
  }
  // Both sample days are served (2019-10-01 and 2019-11-01).
  const days = await database((q) => q('SELECT CAST(`event_date` AS CHAR) AS d FROM `daily_kpis` ORDER BY 1'));
  expect(days.map((r) => r.d)).toEqual(['2019-10-01', '2019-11-01']);

  const api = run.report.api as { health: { statusCode: number; body: any }; sample?: { statusCode: number; items: number } };
  expect(api.health.statusCode).toBe(200);
  expect(api.health.body.servedRun.runId).toBe('r1');
  expect(api.sample?.statusCode).toBe(200);
  expect(api.sample?.items).toBeGreaterThan(0);
});

test('--fail-at an analytics job: the execution ends in the failure notice and r1 is still served, row for row', async () => {
  const run = rehearse('--input', REES46, '--run-id', 'r2', '--fail-at', 'SegmentsJob');
  expect({ code: run.code, status: run.report.status, asExpected: run.report.asExpected }).toEqual({ code: EXIT.ok, status: 'FAILED', asExpected: true });
  expect(run.report.tasks.find((t) => t.name === 'SegmentsJob')?.status).toBe('FAILED');
  expect(names(run.report)).toContain('NotifyFailure');
  expect(names(run.report)).not.toContain('LoadServingTables');
  expect(run.report.notices.map((n) => (n.message as { status: string }).status)).toEqual(['FAILED']);
  expect(run.report.servedRunId).toBe('r1');
  expect(await servedRows()).toEqual(firstServed);
});

test('a rerun of r1 with changed input (October only) serves the new data, which matches the sample\'s own counts', async () => {
  const run = rehearse('--input', OCT, '--run-id', 'r1');
  expect({ code: run.code, status: run.report.status, asExpected: run.report.asExpected }).toEqual({ code: EXIT.ok, status: 'SUCCEEDED', asExpected: true });
  expect(run.report.servedRunId).toBe('r1');
  octoberServed = await servedRows();
  expect(octoberServed).toEqual(manifestRows(manifestOf('r1')));
  expect(octoberServed).not.toEqual(firstServed);
  expect(octoberServed.products).toBe(OCTOBER.products);
  const [day] = await database((q) => q('SELECT CAST(`event_date` AS CHAR) AS d, `users`, `sessions`, `views`, `carts`, `purchases` FROM `daily_kpis`'));
  expect({ d: day.d, users: Number(day.users), sessions: Number(day.sessions), purchases: Number(day.purchases) }).toEqual({
    d: '2019-10-01',
    users: OCTOBER.users,
    sessions: OCTOBER.sessions,
    purchases: OCTOBER.purchases,
  });
  // Every raw row is a served event or an exact duplicate the run summary counts as removed.
  const summary = runSummaryOf('r1') as { totals: { duplicatesRemoved: number; rejected: number } };
  expect(summary.totals.rejected).toBe(0);
  expect(Number(day.views) + Number(day.carts) + Number(day.purchases) + summary.totals.duplicatesRemoved).toBe(OCTOBER.rows);
  expect(Number(day.views)).toBeLessThanOrEqual(OCTOBER.views);
  expect(Number(day.carts)).toBeLessThanOrEqual(OCTOBER.carts);
  // One served load of r1: the first one replaced, not kept beside it.
  const runs = await database((q) => q("SELECT `run_id`, `status` FROM `load_runs` WHERE `run_id` = 'r1' ORDER BY `started_at`"));
  expect(runs.map((r) => r.status)).toEqual(['replaced', 'loaded']);
});

test('--fail-at LoadServingTables after those: the failure notice, and r1 with its new rows still served', async () => {
  const run = rehearse('--input', OCT, '--run-id', 'r3', '--fail-at', 'LoadServingTables');
  expect({ code: run.code, status: run.report.status, asExpected: run.report.asExpected }).toEqual({ code: EXIT.ok, status: 'FAILED', asExpected: true });
  expect(run.report.states.find((s) => s.name === 'LoadServingTables')?.status).toBe('FAILED');
  expect(run.report.notices.map((n) => (n.message as { status: string }).status)).toEqual(['FAILED']);
  expect(run.report.servedRunId).toBe('r1');
  expect(run.report.previousServedRunId).toBe('r1');
  expect(await servedRows()).toEqual(octoberServed);
});

test('a folder the rehearsal did not create is refused with one line and exit 2; so is an unknown --fail-at state', () => {
  const foreign = path.join(tmp, 'foreign');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
  const refused = spawnSync(process.execPath, [BIN, 'rehearse', '--input', OCT, '--out', foreign], { cwd: ROOT, encoding: 'utf8' });
  expect(refused.status).toBe(EXIT.usage);
  expect(refused.stderr).toContain(`${foreign} is not empty and is not a rehearsal folder`);
  expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
  const unknown = spawnSync(process.execPath, [BIN, 'rehearse', '--input', OCT, '--out', dir, '--fail-at', 'NoSuchState'], { cwd: ROOT, encoding: 'utf8' });
  expect(unknown.status).toBe(EXIT.usage);
  expect(unknown.stderr).toContain('--fail-at NoSuchState: no such state');
});
