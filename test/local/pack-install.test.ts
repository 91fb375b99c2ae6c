/**
 * The command is the product: `npm pack` of this repository, `npm install <tarball>` into an empty
 * folder, and the installed `shopsight` (node_modules/.bin/shopsight, a real child process) runs
 * `demo`, `generate`, `run`, `report` and `app` with nothing from the checkout. Proves that what the
 * command loads at run time is in package.json "dependencies" (DuckDB, esbuild for bin.js, mysql2)
 * and that "files" holds every module and SQL file those commands read, and nothing of the
 * repository's tests, benches, Python environment or build output.
 *
 * The install resolves modules from the temp folder only (Node walks up from
 * <tmp>/app/node_modules/shopsight, never into this checkout); `--prefer-offline` takes the
 * packages from the npm cache that `npm ci` filled, so no network is needed once it is warm.
 */
import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { builtinModules } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunSummary, reconcileRunSummary } from '../../core/contract';

const ROOT = path.resolve(__dirname, '../..');

// Packing, installing (DuckDB's native binding is tens of MB) and a demo run: measured at well
// under a minute on two cores; the timeout leaves room for a loaded machine.
jest.setTimeout(600_000);

/** The child's environment: without the npm_* variables `npx jest` / `npm test` set (they name this
 * checkout as the local prefix and package), without NODE_PATH; the npm cache and config kept. */
function childEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.has(k.toLowerCase())) continue;
    if (k === 'NODE_PATH' || k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return env;
}

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> & { seconds: number } {
  const started = Date.now();
  const r = spawnSync(command, args, { cwd, env: childEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (Date.now() - started) / 1000;
  if (r.error) throw r.error;
  return Object.assign(r, { seconds });
}

/** Fails with the command's output when it did not exit 0. */
function expectOk(r: SpawnSyncReturns<string>, what: string): void {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status} (signal ${r.signal})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

let tmp: string;
let tarball: string;
let tarEntries: string[];
let app: string;
let pkgDir: string;
let shopsight: string;
const timings: Record<string, number> = {};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-pack-'));
  const packDir = path.join(tmp, 'pack');
  fs.mkdirSync(packDir);
  // npm runs the "prepare" script (the Spark archive build) on pack: it must not break it.
  const pack = run('npm', ['pack', '--pack-destination', packDir], ROOT);
  expectOk(pack, 'npm pack');
  timings.pack = pack.seconds;
  const tgz = fs.readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toHaveLength(1);
  tarball = path.join(packDir, tgz[0]);
  const list = run('tar', ['-tzf', tarball], tmp);
  expectOk(list, 'tar -tzf');
  tarEntries = list.stdout.split('\n').filter(Boolean);

  // An empty folder, as a user's: no package.json; --prefix pins npm to it.
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  const install = run('npm', ['install', tarball, '--prefix', app, '--no-audit', '--no-fund', '--prefer-offline'], app);
  expectOk(install, 'npm install <tarball>');
  timings.install = install.seconds;
  pkgDir = path.join(app, 'node_modules', 'shopsight');
  shopsight = path.join(app, 'node_modules', '.bin', 'shopsight');
});

afterAll(() => {
  // Printed so the cost of this test stays visible in CI logs.
  process.stdout.write(`pack-install timings (s): ${JSON.stringify(timings)}; tarball ${tarball ? fs.statSync(tarball).size : '?'} bytes, ${tarEntries?.length ?? '?'} entries\n`);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the npm tarball', () => {
  test('holds the command, its modules and the shared SQL, and none of the repository around them', () => {
    expect(tarEntries.every((e) => e.startsWith('package/'))).toBe(true);
    const files = tarEntries.map((e) => e.slice('package/'.length));
    for (const needed of ['package.json', 'README.md', 'local/cli/bin.js', 'local/cli/main.ts', 'local/engine/pipeline.ts', 'core/contract/index.ts', 'core/sql/prepare/schemas/v_date.sql']) {
      expect(files).toContain(needed);
    }
    const unwanted = files.filter((f) =>
      /^(test|bench|\.venv-spark|node_modules|dist|test-artifacts|cdk\.out|scripts|bin|\.ci|spark-jobs\/(tests|shopsight_jobs)|local\/rehearse)\//.test(f) ||
      /(^|\/)(__pycache__|\.pytest_cache)\//.test(f) ||
      /\.test\.ts$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  test('installs into an empty folder with only the run-time dependencies', () => {
    expect(fs.existsSync(shopsight)).toBe(true);
    expect(fs.existsSync(path.join(pkgDir, 'test'))).toBe(false);
    expect(fs.existsSync(path.join(pkgDir, '.venv-spark'))).toBe(false);
    const installed = (name: string): boolean => fs.existsSync(path.join(app, 'node_modules', name, 'package.json'));
    for (const dep of ['@duckdb/node-api', 'esbuild', 'mysql2', 'fastify', 'preact', 'chart.js']) expect({ dep, installed: installed(dep) }).toEqual({ dep, installed: true });
    // The CDK app is deployed from a clone: its libraries and the test tools stay out of the command's install.
    for (const dev of ['aws-cdk-lib', 'constructs', 'cdk-nag', 'jest', 'typescript', 'ts-node', 'aws-cdk']) {
      expect({ dev, installed: installed(dev) }).toEqual({ dev, installed: false });
    }
  });

  test("every module the four commands can load is in the package or its dependencies (run --mysql's loader included)", async () => {
    // Bundle the installed CLI with the installed esbuild: a relative import of a file left out of
    // "files" fails the build. `rehearse` (lazy, needs the whole checkout) is left out on purpose.
    const esbuild = require(require.resolve('esbuild', { paths: [pkgDir] })) as typeof import('esbuild');
    const builtins = new Set(builtinModules);
    const externals = new Set<string>();
    const result = await esbuild.build({
      entryPoints: [path.join(pkgDir, 'local/cli/main.ts')],
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      outfile: path.join(tmp, 'bundle-check.js'),
      logLevel: 'silent',
      plugins: [
        {
          name: 'externals',
          setup(build) {
            build.onResolve({ filter: /^\.\.\/rehearse$/ }, (a) => (a.importer.endsWith(path.join('cli', 'main.ts')) ? { path: a.path, external: true } : undefined));
            build.onResolve({ filter: /^[^./]/ }, (a) => {
              if (!a.path.startsWith('node:') && !builtins.has(a.path)) externals.add(a.path);
              return { path: a.path, external: true };
            });
          },
        },
      ],
    });
    expect(result.errors).toEqual([]);
    const loaded = Object.keys(result.metafile!.inputs);
    expect(loaded).toEqual(expect.arrayContaining([expect.stringMatching(/local\/serving\/mysql-loader\.ts$/), expect.stringMatching(/local\/engine\/pipeline\.ts$/)]));
    expect(loaded.filter((f) => !path.resolve(f).startsWith(pkgDir + path.sep))).toEqual([]);
    // Each bare import resolves from the installed package, to the temp folder's node_modules.
    const unresolved = [...externals].filter((m) => {
      try {
        return !require.resolve(m, { paths: [path.join(pkgDir, 'local/engine')] }).startsWith(path.join(app, 'node_modules') + path.sep);
      } catch {
        return true;
      }
    });
    expect([...externals].sort()).toEqual(expect.arrayContaining(['@duckdb/node-api', 'mysql2/promise']));
    expect(unresolved).toEqual([]);
  });
});

describe('the installed shopsight', () => {
  let demoDir: string;
  let summary: RunSummary;

  test('demo: generates, runs the pipeline and writes the report, exit 0', () => {
    demoDir = path.join(tmp, 'demo');
    const r = run(shopsight, ['demo', '--events', '20000', '--out', demoDir], app);
    timings.demo = r.seconds;
    expectOk(r, 'shopsight demo');
    summary = JSON.parse(fs.readFileSync(path.join(demoDir, 'run-summary.json'), 'utf8')) as RunSummary;
    expect(reconcileRunSummary(summary)).toEqual([]);
    const t = summary.totals;
    expect(t.rowsRead).toBe(t.accepted + t.rejected + t.duplicatesRemoved);
    expect(t.accepted).toBeGreaterThan(0);
    const reportPath = path.join(demoDir, 'report', 'index.html');
    expect(r.stdout).toContain(`Report: ${reportPath}`);
    const html = fs.readFileSync(reportPath, 'utf8');
    expect(html).toContain(`<title>ShopSight run report — ${summary.runId}</title>`);
  });

  test('report DIR: rebuilds the report of the demo run folder', () => {
    const reportPath = path.join(demoDir, 'report', 'index.html');
    fs.rmSync(path.join(demoDir, 'report'), { recursive: true, force: true });
    const r = run(shopsight, ['report', demoDir], app);
    timings.report = r.seconds;
    expectOk(r, 'shopsight report');
    expect(r.stdout).toContain(`Report: ${reportPath}`);
    expect(fs.readFileSync(reportPath, 'utf8')).toContain(summary.runId);
  });

  test('generate, then run on what it wrote (RetailRocket, the other reader)', () => {
    const gen = path.join(tmp, 'rr', 'events.csv.gz');
    fs.mkdirSync(path.dirname(gen), { recursive: true });
    const g = run(shopsight, ['generate', '--dataset', 'retailrocket', '--events', '5000', '--seed', '7', '--out', gen], app);
    timings.generate = g.seconds;
    expectOk(g, 'shopsight generate');
    for (const f of ['events.csv.gz', 'category_tree.csv.gz', 'item_properties_part1.csv.gz', 'events.truth.json']) {
      expect({ f, exists: fs.existsSync(path.join(tmp, 'rr', f)) }).toEqual({ f, exists: true });
    }
    const out = path.join(tmp, 'rr-out');
    const r = run(shopsight, ['run', '--input', path.dirname(gen), '--out', out, '--no-report'], app);
    timings.run = r.seconds;
    expectOk(r, 'shopsight run');
    const s = JSON.parse(fs.readFileSync(path.join(out, 'run-summary.json'), 'utf8')) as RunSummary;
    expect(s.dataset).toBe('retailrocket');
    expect(reconcileRunSummary(s)).toEqual([]);
    expect(s.totals.rowsRead).toBe(5000);
  });

  test('run --mysql: the lazily imported MySQL loader and mysql2 load from the install (a refused connection is exit 5, not an internal error)', async () => {
    // A port nothing listens on: bound, then closed.
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
      server.on('error', reject);
    });
    const r = run(shopsight, ['run', '--input', path.join(tmp, 'rr'), '--out', path.join(tmp, 'rr-mysql'), '--no-report', '--mysql', `mysql://shopsight@127.0.0.1:${port}/shopsight`], app);
    timings.mysql = r.seconds;
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 5, stderr: expect.stringMatching(/^shopsight: --mysql: .*ECONNREFUSED/m) });
    expect(r.stderr).not.toMatch(/internal error|ERR_MODULE_NOT_FOUND|Cannot find module/);
  });

  test('app DIR after demo: the installed command serves the demo run and its front end, bundled from the install with no network', async () => {
    const child = spawn(shopsight, ['app', demoDir, '--port', '0', '--workdir', path.join(tmp, 'app-runs')], { cwd: app, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed in 60 s\n${out}\n${err}`)), 60_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ShopSight app: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`app exited ${code} before printing its URL\n${out}\n${err}`)));
      });
      const runs = (await (await fetch(`${url}api/runs`)).json()) as { runs: { runId: string }[] };
      expect(runs.runs.map((r) => r.runId)).toContain(summary.runId);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/assets/app.js');
      const js = await fetch(`${url}assets/app.js`);
      expect(js.status).toBe(200);
      // The bundle carries Preact and Chart.js from the install's node_modules: no CDN reference.
      const code = await js.text();
      expect(code.length).toBeGreaterThan(50_000);
      expect(code).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs|jsdelivr)/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  test('--version, and rehearse (which needs a clone of the repository) says so in one line, exit 2', () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(run(shopsight, ['--version'], app).stdout).toBe(`shopsight ${version}\n`);
    const r = run(shopsight, ['rehearse', '--input', path.join(tmp, 'rr')], app);
    expect({ status: r.status, lines: r.stderr.trim().split('\n').length }).toEqual({ status: 2, lines: 2 });
    expect(r.stderr).toMatch(/^shopsight: rehearse runs from a clone of the ShopSight repository/);
  });
});
