/**
 * Benchmark of the local ALS top-N scoring (not a test): recommendForUsers and similarItems of
 * local/ml/als.ts on factors from a real trainImplicitAls fit (the recommendations stage's
 * parameters: rank 32, regParam 0.1, alpha 40, maxIter 10) on synthetic power-law ratings with
 * planted genres (the data generator's Random and ZipfSampler).
 *
 *   npx ts-node --transpile-only bench/als-topn.ts [--users 50000] [--items 20000] [--candidates 10000] [--runs 3] [--threads 1]
 *
 * Like the stage: top 20 per user over the `--candidates` most popular items, the user's rated items
 * excluded; 10 similar items per candidate over the same candidates. The fit is cached in the OS
 * temporary folder (keyed by the sizes), so runs before and after a change to the scoring score the
 * same factors. Prints the median of `--runs` timings, a SHA-256 of every output (equal hashes =
 * identical results), and, where the scoring reports it (ScoringOptions.stats), the fraction of
 * users x candidates rows scored. To compare with another version of local/ml/als.ts, run this file
 * from a copy of the tree at that version: the fit is cached, so both score the same factors.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { arg, ratings } from './als-ratings';
import { AlsModel, recommendForUsers, ScoringStats, shutdownAlsWorkers, similarItems, trainImplicitAls } from '../local/ml/als';

function main(): void {
  const users = arg('users', 50000);
  const items = arg('items', 20000);
  const nCand = arg('candidates', 10000);
  const runs = arg('runs', 3);
  const threads = arg('threads', 1);
  const rt = ratings(users, items);
  const cache = path.join(os.tmpdir(), `shopsight-als-topn-v2-${users}-${items}.bin`);
  let model: AlsModel;
  const rank = 32;
  if (fs.existsSync(cache)) {
    const b = fs.readFileSync(cache);
    const f = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    model = { rank, users, items, userFactors: f.slice(0, users * rank), itemFactors: f.slice(users * rank), lossHistory: [] };
  } else {
    const t0 = Date.now();
    model = trainImplicitAls(rt, { rank, regParam: 0.1, alpha: 40, maxIter: 10, seed: 42 });
    console.log(`fit ${rt.itemIdx.length} ratings in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const all = new Float32Array(model.userFactors.length + model.itemFactors.length);
    all.set(model.userFactors);
    all.set(model.itemFactors, model.userFactors.length);
    fs.writeFileSync(cache, Buffer.from(all.buffer));
  }
  const pop = new Int32Array(items);
  for (let k = 0; k < rt.itemIdx.length; k++) pop[rt.itemIdx[k]]++;
  const candidates = Int32Array.from([...pop.keys()].sort((a, b) => pop[b] - pop[a] || a - b).slice(0, nCand));
  const userList = Int32Array.from({ length: users }, (_, u) => u);
  const exclude = (u: number) => rt.itemIdx.subarray(rt.userPtr[u], rt.userPtr[u + 1]);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = (label: string, pairs: number, body: (stats: ScoringStats) => string) => {
    const ts: number[] = [];
    let hash = '';
    let stats: ScoringStats = { queries: 0, pairs: 0, scored: 0 };
    for (let k = 0; k < runs; k++) {
      stats = { queries: 0, pairs: 0, scored: 0 };
      const t0 = process.hrtime.bigint();
      hash = body(stats);
      ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const scored = stats.queries > 0 ? ` scored ${(stats.scored / pairs * 100).toFixed(2)}% of ${pairs} pairs` : '';
    console.log(`${label}: median ${median(ts).toFixed(2)} s of [${ts.map((t) => t.toFixed(2)).join(', ')}]${scored} sha256 ${hash.slice(0, 16)}`);
  };
  console.log(`users ${users} items ${items} candidates ${candidates.length} rank ${rank} threads ${threads} load ${os.loadavg()[0].toFixed(2)}`);
  time('recommendForUsers top20', users * candidates.length, (stats) => {
    const h = createHash('sha256');
    recommendForUsers(model, userList, 20, exclude, (u, it, sc) => {
      h.update(Int32Array.of(u, it.length));
      h.update(it);
      h.update(sc);
    }, candidates, { threads, stats });
    return h.digest('hex');
  });
  time('similarItems top10', candidates.length * candidates.length, (stats) => {
    const h = createHash('sha256');
    similarItems(model, candidates, 10, (i, it, sc) => {
      h.update(Int32Array.of(i, it.length));
      h.update(it);
      h.update(sc);
    }, candidates, { threads, stats });
    return h.digest('hex');
  });
}

main();
void shutdownAlsWorkers();
