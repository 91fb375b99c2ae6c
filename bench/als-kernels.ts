/**
 * Benchmark of the ALS kernels (not a test): one CG solve side (all users given the item factors,
 * cgSteps 3, warm start) and one Gram matrix, the JS kernels (solveRange, gramRange of
 * local/ml/als.ts) against the WASM SIMD ones (local/ml/wasm/als-kernels.ts), one thread, on a
 * power-law problem with planted genres (bench/als-topn.ts's generator).
 *
 *   npx ts-node --transpile-only bench/als-kernels.ts [--users 200000] [--items 20000] [--rank 32] [--runs 5] [--fit 0] [--threads 1]
 *
 * Prints the median of `--runs` timings of each, the GFLOP/s (the solve counts (cgSteps + 1) (4 rank
 * nnz_e + 2 rank^2) per entity with ratings: a dot and an axpy per rating and G times a vector per
 * step; the Gram rank (rank + 1) per entity: the upper triangle's multiply-adds), the speed-up, and
 * the largest relative difference of the solved rows (Float32 vectors in WASM, doubles in JS). With
 * `--fit N`, also one trainImplicitAls of N iterations (alpha 40, regParam 0.1) on `--threads`, with
 * the WASM kernels and with SHOPSIGHT_ALS_KERNELS=js, and the final losses.
 */
import { Random } from '../local/generate/random';
import { arg, ratings } from './als-ratings';
import { alsJsKernels, shutdownAlsWorkers, trainImplicitAls } from '../local/ml/als';
import { alsWasm, gram32Length, solveScratchBytes, writeGram32 } from '../local/ml/wasm/als-kernels';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timeRuns(runs: number, before: () => void, body: () => void): number {
  const ms: number[] = [];
  for (let k = 0; k < runs; k++) {
    before();
    const t0 = process.hrtime.bigint();
    body();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms);
}

function main(): void {
  const users = arg('users', 200000);
  const items = arg('items', 20000);
  const rank = arg('rank', 32);
  const runs = arg('runs', 5);
  const cgSteps = 3;
  const lambda = 0.1;
  const alpha = 40;
  const wasm = alsWasm();
  if (!wasm) throw new Error('WebAssembly SIMD with shared memory is not available here');
  const { arena, kernels } = wasm;
  const rt = ratings(users, items);
  const nnz = rt.itemIdx.length;
  // Factors: unit-norm random rows (the fit's init), the same values for both kernels.
  const r = new Random(7);
  const Y = new Float32Array(items * rank);
  for (let k = 0; k < Y.length; k++) Y[k] = (r.next() - 0.5) / Math.sqrt(rank / 12);
  const X0 = new Float32Array(users * rank);
  for (let k = 0; k < X0.length; k++) X0[k] = (r.next() - 0.5) / Math.sqrt(rank / 12);
  const G = new Float64Array(rank * rank);
  alsJsKernels.gramRange(Y, 0, items, rank, G, 0);
  for (let a = 0; a < rank; a++) for (let b = 0; b < a; b++) G[a * rank + b] = G[b * rank + a];

  let solveFlops = 0;
  for (let u = 0; u < users; u++) {
    const n = rt.userPtr[u + 1] - rt.userPtr[u];
    if (n > 0) solveFlops += (cgSteps + 1) * (4 * rank * n + 2 * rank * rank);
  }
  const gramFlops = users * rank * (rank + 1);

  // JS on plain arrays (as training on one thread without WASM).
  const Xjs = new Float32Array(users * rank);
  const jsSolve = timeRuns(runs, () => Xjs.set(X0), () =>
    alsJsKernels.solveRange(rt.userPtr, rt.itemIdx, rt.values, Xjs, Y, G, rank, lambda, alpha, cgSteps, false, 0, users),
  );
  const gOut = new Float64Array(rank * rank);
  const jsGram = timeRuns(runs, () => undefined, () => alsJsKernels.gramRange(X0, 0, users, rank, gOut, 0));

  // WASM on arena copies.
  const mark = arena.mark();
  const ptr = arena.i32(users + 1);
  ptr.set(rt.userPtr);
  const idx = arena.i32(nnz);
  idx.set(rt.itemIdx);
  const val = arena.f32(nnz);
  val.set(rt.values);
  const Yw = arena.f32(Y.length);
  Yw.set(Y);
  const Xw = arena.f32(X0.length);
  const g32 = arena.f32(gram32Length(rank));
  writeGram32(G, rank, g32);
  const scratch = arena.f32(solveScratchBytes(rank) / 4);
  const wSolve = timeRuns(runs, () => Xw.set(X0), () =>
    kernels.solve(ptr.byteOffset, idx.byteOffset, val.byteOffset, Xw.byteOffset, Yw.byteOffset, g32.byteOffset, rank, lambda, alpha, cgSteps, 0, 0, users, scratch.byteOffset),
  );
  const Xg = arena.f32(X0.length);
  Xg.set(X0);
  const gw = arena.f64(rank * rank);
  const wGram = timeRuns(runs, () => undefined, () => kernels.gram(Xg.byteOffset, 0, users, rank, gw.byteOffset));

  let maxRel = 0;
  for (let u = 0; u < users; u++) {
    let d = 0;
    let n = 0;
    for (let k = 0; k < rank; k++) {
      d = Math.max(d, Math.abs(Xw[u * rank + k] - Xjs[u * rank + k]));
      n = Math.max(n, Math.abs(Xjs[u * rank + k]));
    }
    if (n > 0) maxRel = Math.max(maxRel, d / n);
  }
  let gramDiff = 0;
  for (let a = 0; a < rank; a++) for (let b = a; b < rank; b++) gramDiff = Math.max(gramDiff, Math.abs(gw[a * rank + b] - gOut[a * rank + b]));
  arena.release(mark);

  const gf = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(2);
  console.log(`${users} users x ${items} items, ${nnz} ratings, rank ${rank}, cgSteps ${cgSteps}; median of ${runs}, one thread`);
  console.log(`solve side  JS ${jsSolve.toFixed(0)} ms (${gf(solveFlops, jsSolve)} GFLOP/s)  WASM ${wSolve.toFixed(0)} ms (${gf(solveFlops, wSolve)} GFLOP/s)  x${(jsSolve / wSolve).toFixed(2)}  max row rel diff ${maxRel.toExponential(2)}`);
  console.log(`gram        JS ${jsGram.toFixed(1)} ms (${gf(gramFlops, jsGram)} GFLOP/s)  WASM ${wGram.toFixed(1)} ms (${gf(gramFlops, wGram)} GFLOP/s)  x${(jsGram / wGram).toFixed(2)}  max abs diff ${gramDiff}`);
  const iters = arg('fit', 0);
  if (iters > 0) {
    const threads = arg('threads', 1);
    for (const kernels of ['wasm', 'js']) {
      if (kernels === 'js') process.env.SHOPSIGHT_ALS_KERNELS = 'js';
      else delete process.env.SHOPSIGHT_ALS_KERNELS;
      const t0 = process.hrtime.bigint();
      const m = trainImplicitAls(rt, { rank, regParam: lambda, alpha, maxIter: iters, seed: 1, cgSteps, threads });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      console.log(`fit ${iters} iterations, ${threads} thread(s), ${kernels}: ${ms.toFixed(0)} ms, final loss ${m.lossHistory[iters]}`);
    }
    delete process.env.SHOPSIGHT_ALS_KERNELS;
    void shutdownAlsWorkers();
  }
}

main();
