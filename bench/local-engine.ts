/**
 * Benchmark of the local engine (not a test): end-to-end wall time, rows/s per stage and peak RSS
 * of `shopsight run` on generated REES46 data, next to a DuckDB single scan of the same file
 * (`SELECT count(*) FROM read_csv(…)`) measured in the same session as the baseline.
 *
 *   npx ts-node --transpile-only bench/local-engine.ts [--sizes 1000000,10000000] [--runs 3]
 *     [--memory-limit 8GiB] [--als-tolerance 0.005]
 *
 * The last two are passed to `shopsight run`; with either, a size's result is kept under
 * "<events> --memory-limit … --als-tolerance …" next to the default runs' "<events>".
 *
 * Each measurement is a fresh child process (`/usr/bin/time -f %M` gives its peak RSS), run
 * `--runs` times; the JSON keeps every run and the README table shows medians. Generated inputs
 * are cached under bench/.data (git-ignored). Results: bench/results/local-engine.json.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate } from '../local/generate';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.join(__dirname, '.data');
const RESULTS = path.join(__dirname, 'results', 'local-engine.json');
const BIN = path.join(ROOT, 'local/cli/bin.js');

interface Measured {
  seconds: number;
  peakRssMiB: number;
}

function timed(args: string[], cwd = ROOT): Measured & { stdout: string } {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const lines = r.stderr.trim().split('\n');
  return { seconds, peakRssMiB: Number(lines[lines.length - 1]) / 1024, stdout: r.stdout };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function input(events: number): Promise<string> {
  const file = path.join(DATA, `rees46-${events}.csv.gz`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(DATA, { recursive: true });
    await generate({ dataset: 'rees46', events, seed: 42, out: file });
  }
  return file;
}

/** The recommendations' model_metrics of a run (P@k, NDCG@k, …: the model's and the popularity baseline's), read from its Parquet. */
async function quality(out: string): Promise<Record<string, { value: number | null; baseline: number | null }>> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const rows = (await c.runAndReadAll(`SELECT metric, value, baseline_value FROM read_parquet('${path.join(out, 'model_metrics', '**', '*.parquet')}', hive_partitioning = true)
      WHERE model = 'als' ORDER BY metric`)).getRows();
    return Object.fromEntries(rows.map(([metric, value, baseline]) => [String(metric), { value: value === null ? null : Number(value), baseline: baseline === null ? null : Number(baseline) }]));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const SCAN = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await db.runAndReadAll("SELECT count(*) FROM read_csv('" + process.argv[1] + "', header = true, all_varchar = true)");
  console.log(String(r.getRows()[0][0]));
})();`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const sizes = option('sizes', '1000000,10000000').split(',').map(Number);
  const runs = Number(option('runs', '3'));
  const runArgs = ['memory-limit', 'als-tolerance'].flatMap((name) => (args.includes(`--${name}`) ? [`--${name}`, option(name, '')] : []));
  const previous = fs.existsSync(RESULTS) ? (JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as { results: Record<string, unknown> }).results : {};
  const results: Record<string, unknown> = { ...previous };
  for (const events of sizes) {
    const file = await input(events);
    const scans: Measured[] = [];
    const pipelines: (Measured & { loadBefore: number[]; stages: { name: string; seconds: number; rows?: number }[]; quality: Record<string, unknown> })[] = [];
    for (let run = 0; run < runs; run++) {
      // The 1/5/15-minute load averages before the run: on a shared machine, a run that shared its cores shows here.
      const loadBefore = os.loadavg().map((l) => Math.round(l * 100) / 100);
      const scan = timed([process.execPath, '-e', SCAN, file]);
      if (Number(scan.stdout.trim()) !== events) throw new Error(`scan counted ${scan.stdout.trim()} rows, expected ${events}`);
      scans.push({ seconds: scan.seconds, peakRssMiB: scan.peakRssMiB });
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-bench-'));
      const r = timed([process.execPath, BIN, 'run', '--input', file, '--out', out, '--run-id', `bench-${events}`, ...runArgs]);
      const summary = JSON.parse(fs.readFileSync(path.join(out, 'run-summary.json'), 'utf8')) as { stages: { name: string; seconds: number; rows?: number }[] };
      pipelines.push({ seconds: r.seconds, peakRssMiB: r.peakRssMiB, loadBefore, stages: summary.stages, quality: await quality(out) });
      fs.rmSync(out, { recursive: true, force: true });
      console.error(`${events} events, run ${run + 1}/${runs}: pipeline ${r.seconds.toFixed(1)} s, ${r.peakRssMiB.toFixed(0)} MiB; scan ${scan.seconds.toFixed(1)} s; load before ${loadBefore.join(' ')}`);
    }
    const stageNames = pipelines[0].stages.map((s) => s.name);
    results[[String(events), ...runArgs].join(' ')] = {
      events,
      runs,
      runArgs,
      inputBytes: fs.statSync(file).size,
      medianSeconds: median(pipelines.map((p) => p.seconds)),
      medianPeakRssMiB: median(pipelines.map((p) => p.peakRssMiB)),
      medianScanSeconds: median(scans.map((s) => s.seconds)),
      ratioToScan: median(pipelines.map((p) => p.seconds)) / median(scans.map((s) => s.seconds)),
      // The same for every run (the fit is seeded and bit-identical for any thread count).
      recommendationsQuality: pipelines[0].quality,
      gitCommit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
      stages: stageNames.map((name) => {
        const seconds = median(pipelines.map((p) => p.stages.find((s) => s.name === name)?.seconds ?? 0));
        const rows = pipelines[0].stages.find((s) => s.name === name)?.rows;
        return { name, medianSeconds: seconds, rows, rowsPerSecond: rows !== undefined && seconds > 0 ? rows / seconds : undefined };
      }),
      all: { pipelines, scans },
    };
  }
  const doc = {
    benchmark: 'local engine end to end (shopsight run) vs a DuckDB single scan of the same gzip CSV',
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version, loadAverage: os.loadavg() },
    measuredAt: new Date().toISOString(),
    results,
  };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(RESULTS);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
