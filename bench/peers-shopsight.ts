/**
 * ShopSight's side of bench/peers.py (a measurement, not a test): reads the ratings, evaluation
 * lists and baskets that peers.py exported from a `shopsight run` (raw little-endian arrays and
 * meta.json in --data) and times the engine's own ML on them, through the exported APIs only:
 * - trainImplicitAls (local/ml/als.ts) with the recommendations stage's parameters, once per thread
 *   count in --threads: total fit time and each iteration's time (the gap between onIteration calls;
 *   an iteration includes the loss ShopSight always evaluates);
 * - the stage's evaluation on the holdout: recommendForUsers over the candidates, purchased items
 *   excluded, into RankingAccumulator (local/ml/metrics.ts), exactly as evaluate() in
 *   local/engine/stages/recommendations.ts; the top-k lists are written for peers.py to re-check its
 *   own metric code;
 * - fpGrowth (local/ml/fpgrowth.ts) on each basket kind at minCountFor(minSupport, baskets), three
 *   calls (the first as the stage makes it, cold JIT; the median of the other two, warm); the
 *   itemsets are written as item texts for the comparison with mlxtend;
 * - a fixed scalar multiply-add loop, the in-run baseline of this process.
 * It writes the fitted factors (final_user/final_item.float32) for peers.py's objective check.
 * With --write-init it also writes the initial factors (trainImplicitAls with maxIter 0) that
 * peers.py hands to implicit, so both ALS start from the same point.
 *
 *   npx ts-node --transpile-only bench/peers-shopsight.ts --data bench/.data/peers-1000000 --threads 1,2 --out result.json [--write-init]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PIPELINE_PARAMETERS } from '../core/config/pipeline-params';
import { AlsModel, PARALLEL_MIN_RATINGS, ratingsFromTriples, recommendForUsers, shutdownAlsWorkers, trainImplicitAls } from '../local/ml/als';
import { fpGrowth, minCountFor } from '../local/ml/fpgrowth';
import { RankingAccumulator, coverage } from '../local/ml/metrics';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const data = option('data');
const out = option('out');
if (!data || !out) throw new Error('usage: peers-shopsight.ts --data <folder> --out <file> [--threads 1,2] [--write-init]');
const threadCounts = (option('threads') ?? '1').split(',').map(Number);
const meta = JSON.parse(fs.readFileSync(path.join(data, 'meta.json'), 'utf8'));

function readArray<T>(name: string, make: (b: ArrayBuffer) => T): T {
  const buf = fs.readFileSync(path.join(data!, name));
  return make(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}
const i32 = (name: string) => readArray(`${name}.int32`, (b) => new Int32Array(b));
const f32 = (name: string) => readArray(`${name}.float32`, (b) => new Float32Array(b));

const r = DEFAULT_PIPELINE_PARAMETERS.recommendations;
const alsParams = { rank: r.rank, regParam: r.regParam, alpha: r.alpha, maxIter: r.maxIter, seed: r.seed };

/** ~1e8 scalar multiply-adds on Float64Arrays: how fast this process's core is right now. */
function baselineLoop(): number {
  const a = new Float64Array(1 << 12).map((_, j) => (j % 7) * 0.25);
  const b = new Float64Array(1 << 12).map((_, j) => (j % 5) * 0.5);
  const times: number[] = [];
  let sink = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    for (let pass = 0; pass < 24_000; pass++) {
      let s = 0;
      for (let j = 0; j < a.length; j++) s += a[j] * b[j];
      sink += s;
    }
    times.push((performance.now() - t0) / 1000);
  }
  if (sink === 42) console.log(sink);
  return median(times);
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main(): void {
  const result: Record<string, unknown> = { baselineLoopSeconds: baselineLoop() };
  const users: number = meta.users;
  const items: number = meta.items;
  const u = i32('ratings_u');
  const it = i32('ratings_i');
  const rating = f32('ratings_r');
  const purchases = i32('ratings_p');
  const ratings = ratingsFromTriples(users, items, u, it, rating);

  if (process.argv.includes('--write-init')) {
    const init = trainImplicitAls(ratings, { ...alsParams, maxIter: 0, threads: 1 });
    fs.writeFileSync(path.join(data!, 'init_user.float32'), Buffer.from(init.userFactors.buffer, init.userFactors.byteOffset, init.userFactors.byteLength));
    fs.writeFileSync(path.join(data!, 'init_item.float32'), Buffer.from(init.itemFactors.buffer, init.itemFactors.byteOffset, init.itemFactors.byteLength));
  }

  // Exclusions as the stage's fitted(): per user, the sorted items with a purchase (rows are (u, i)-sorted).
  const purchasedPtr = new Int32Array(users + 1);
  for (let k = 0; k < u.length; k++) if (purchases[k] > 0) purchasedPtr[u[k] + 1]++;
  for (let x = 0; x < users; x++) purchasedPtr[x + 1] += purchasedPtr[x];
  const purchasedIdx = new Int32Array(purchasedPtr[users]);
  const fill = purchasedPtr.slice(0, users);
  for (let k = 0; k < u.length; k++) if (purchases[k] > 0) purchasedIdx[fill[u[k]]++] = it[k];
  const exclude = (x: number): Int32Array | undefined =>
    r.excludePurchased && purchasedPtr[x + 1] > purchasedPtr[x] ? purchasedIdx.subarray(purchasedPtr[x], purchasedPtr[x + 1]) : undefined;

  // One short fit first, so that no timed fit pays for the JIT warming up (the stage's first fit does).
  const w0 = performance.now();
  trainImplicitAls(ratings, { ...alsParams, maxIter: 2, threads: 1 });
  result.warmupSeconds = (performance.now() - w0) / 1000;

  const als: Record<string, unknown> = {};
  let model: AlsModel | undefined;
  for (const threads of threadCounts) {
    const stamps: number[] = [];
    const t0 = performance.now();
    const fitted = trainImplicitAls(ratings, { ...alsParams, threads }, () => stamps.push(performance.now()));
    const fitSeconds = (performance.now() - t0) / 1000;
    // Iteration 1 starts at the call (it includes the init, the item-major copy and the first loss): setup.
    const iterationSeconds = stamps.map((s, j) => (s - (j === 0 ? t0 : stamps[j - 1])) / 1000);
    als[String(threads)] = {
      threads,
      // trainImplicitAls keeps problems under PARALLEL_MIN_RATINGS ratings in the main thread.
      threadsUsed: ratings.itemIdx.length >= PARALLEL_MIN_RATINGS ? threads : 1,
      fitSeconds,
      iterationSeconds,
      perIterationMedian: median(iterationSeconds.slice(1)),
      loss: fitted.lossHistory[fitted.lossHistory.length - 1],
    };
    if (model) {
      const same = model.userFactors.every((v, j) => v === fitted.userFactors[j]) && model.itemFactors.every((v, j) => v === fitted.itemFactors[j]);
      if (!same) throw new Error(`factors differ between thread counts (${threads})`);
    }
    model ??= fitted;
  }
  result.als = als;
  const m = model!;
  fs.writeFileSync(path.join(data!, 'final_user.float32'), Buffer.from(m.userFactors.buffer, m.userFactors.byteOffset, m.userFactors.byteLength));
  fs.writeFileSync(path.join(data!, 'final_item.float32'), Buffer.from(m.itemFactors.buffer, m.itemFactors.byteOffset, m.itemFactors.byteLength));

  // Evaluation, as evaluate() in the stage.
  const k = r.evaluationK;
  const relU = i32('relevant_u');
  const relI = i32('relevant_i');
  const relevant = new Map<number, Set<number>>();
  for (let j = 0; j < relU.length; j++) {
    let set = relevant.get(relU[j]);
    if (!set) relevant.set(relU[j], (set = new Set()));
    set.add(relI[j]);
  }
  const evalUsers = i32('eval_users');
  const candidates = i32('candidates');
  const acc = new RankingAccumulator(k);
  const recommended = new Set<number>();
  const lists = new Int32Array(evalUsers.length * k).fill(-1);
  const rowOf = new Map<number, number>();
  evalUsers.forEach((x, j) => rowOf.set(x, j));
  const t1 = performance.now();
  recommendForUsers(model!, evalUsers, k, exclude, (x, recs) => {
    acc.add(recs, relevant.get(x)!);
    lists.set(recs, rowOf.get(x)! * k);
    for (const i of recs) recommended.add(i);
  }, candidates, { threads: threadCounts[0] });
  const scoringSeconds = (performance.now() - t1) / 1000;
  fs.writeFileSync(path.join(data!, 'shopsight_recs.int32'), Buffer.from(lists.buffer));
  result.evaluation = { ...acc.result(), catalogueCoverage: coverage(recommended.size, items), scoringSeconds };

  // FP-Growth on each basket kind.
  const fp: Record<string, unknown> = {};
  for (const kind of Object.keys(meta.baskets)) {
    const b = i32(`baskets_${kind}_b`);
    const bi = i32(`baskets_${kind}_i`);
    const texts: string[] = JSON.parse(fs.readFileSync(path.join(data!, `baskets_${kind}_items.json`), 'utf8'));
    const arrays: Int32Array[] = [];
    let start = 0;
    for (let row = 1; row <= b.length; row++) {
      if (row === b.length || b[row] !== b[start]) {
        arrays.push(bi.subarray(start, row));
        start = row;
      }
    }
    const minCount = minCountFor(meta.baskets[kind].minSupport, meta.baskets[kind].baskets);
    const seconds: number[] = [];
    let found: ReturnType<typeof fpGrowth> = [];
    for (let rep = 0; rep < 3; rep++) {
      const t2 = performance.now();
      found = fpGrowth(arrays, { minCount });
      seconds.push((performance.now() - t2) / 1000);
    }
    fs.writeFileSync(
      path.join(data!, `shopsight_itemsets_${kind}.json`),
      JSON.stringify(found.map((s) => ({ items: s.items.map((i) => texts[i]).sort(), count: s.count }))),
    );
    fp[kind] = { minCount, itemsets: found.length, seconds, firstCall: seconds[0], warm: median(seconds.slice(1)) };
  }
  result.fpGrowth = fp;
  fs.writeFileSync(out!, JSON.stringify(result, null, 2));
}

main();
shutdownAlsWorkers().catch(() => undefined);
