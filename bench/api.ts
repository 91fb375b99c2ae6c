/**
 * Benchmark of the recommendations API (not a test): the Lambda handler with the exact SQL of
 * core/api/queries.ts, wrapped in a loopback HTTP server (local/serving/
 * api-http-server.ts) over a private MariaDB (test/support/mariadb.ts) loaded with a generated run
 * through the serving loader, driven by autocannon.
 *
 *   npx ts-node --transpile-only bench/api.ts [--users 50000] [--products 5000] [--seconds 10] [--connections 50] [--runs 3]
 *
 * The server runs in a child process (this file with --serve) so that autocannon does not share its
 * event loop. Each route is run `--runs` times for `--seconds` with `--connections` connections,
 * capped at 2 000 000 requests; the JSON keeps every run and the medians. Random ids per request:
 * users over the whole range (10 % without recommendations, i.e. the popular fallback), products
 * over the whole range (a third without bought-together rows). Results: bench/results/api.json.
 *
 * What it measures: handler + SQL + MariaDB on one machine. On AWS, each call also pays API
 * Gateway (~5–15 ms) and a Data API round trip (~10–30 ms) per query, and Lambda scales out per
 * request instead of sharing one process.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRecommendationsApi } from '../core/api/api';
import { startApiServer } from '../local/serving/api-http-server';
import { loadServingLocal } from '../local/serving/mysql-loader';
import { mysqlPoolRunner } from '../local/serving/mysql-pool-runner';
import { productId, userId, writeApiRun } from '../test/support/api-run';
import { startMariaDb } from '../test/support/mariadb';

// autocannon ships no types; the part used here.
interface AutocannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const RESULTS = path.join(__dirname, 'results', 'api.json');
const DB = 'shopsight';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Child mode: the handler over a mysql2 pool, on loopback; prints its URL. */
async function serve(): Promise<void> {
  const runner = mysqlPoolRunner({ socketPath: process.env.BENCH_SOCKET!, user: 'root', password: '', database: DB, connectionLimit: 16 });
  const server = await startApiServer(createRecommendationsApi(runner, { log: () => undefined }));
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => {
    void server.close().then(() => runner.end()).then(() => process.exit(0));
  });
}

const SESSION = {
  views: 14, carts: 2, remove_from_carts: 1, distinct_products: 9, distinct_categories: 2, duration_seconds: 812.5,
  start_hour: 21, day_of_week: 6, avg_view_price: 199.9, max_view_price: 420, min_view_price: 15.5, cart_value: 389.8,
};

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve();
  const users = arg('users', 50_000);
  const products = arg('products', 5_000);
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 50);
  const runs = arg('runs', 3);

  const db = await startMariaDb();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-api-'));
  let child: ChildProcess | undefined;
  try {
    await db.exec(`CREATE DATABASE ${DB}`);
    const dir = path.join(work, 'run');
    const started = Date.now();
    const rows = writeApiRun(dir, 'bench-run', { users, products });
    const load = await loadServingLocal(db.url('root', '', DB), dir);
    const loadSeconds = (Date.now() - started) / 1000;
    console.log(`loaded ${JSON.stringify(rows)} in ${loadSeconds.toFixed(1)} s (${load.status})`);

    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, '--serve'], {
      env: { ...process.env, BENCH_SOCKET: db.socketPath },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child!.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });

    const pick = (n: number): number => Math.floor(Math.random() * n);
    const routes: Record<string, AutocannonRequest> = {
      recommendations: { method: 'GET', setupRequest: (r) => ({ ...r, path: `/users/${userId(pick(users))}/recommendations?limit=10` }) },
      'bought-together': { method: 'GET', setupRequest: (r) => ({ ...r, path: `/products/${productId(pick(products))}/bought-together?limit=10` }) },
      score: { method: 'POST', path: '/sessions/score', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SESSION) },
    };

    const results: Record<string, { runs: { p50Ms: number; p99Ms: number; requestsPerSecond: number; requests: number; non2xx: number; errors: number }[]; median: { p50Ms: number; p99Ms: number; requestsPerSecond: number } }> = {};
    for (const [name, request] of Object.entries(routes)) {
      // A short warm-up: pool connections, InnoDB pages, JIT.
      await autocannon({ url, connections, duration: 2, requests: [request] });
      const measured = [];
      for (let i = 0; i < runs; i++) {
        const r = await autocannon({ url, connections, duration: seconds, maxOverallRequests: 2_000_000, requests: [request] });
        measured.push({ p50Ms: r.latency.p50, p99Ms: r.latency.p99, requestsPerSecond: r.requests.average, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts });
        console.log(`${name} run ${i + 1}: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${r.requests.average} req/s, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts}`);
      }
      results[name] = {
        runs: measured,
        median: {
          p50Ms: median(measured.map((m) => m.p50Ms)),
          p99Ms: median(measured.map((m) => m.p99Ms)),
          requestsPerSecond: median(measured.map((m) => m.requestsPerSecond)),
        },
      };
    }

    const report = {
      createdAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
      database: String(((await db.exec('SELECT VERSION() AS v')) as { v: string }[])[0].v),
      data: { users, products, rows, loadSeconds },
      load: { secondsPerRun: seconds, connections, runs, warmupSeconds: 2, maxOverallRequests: 2_000_000, serverPoolConnections: 16 },
      routes: results,
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${RESULTS}`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await db.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
