/**
 * The WASM SIMD kernels of the local ALS (local/ml/wasm/): the binary emitter (a tiny module, LEB128
 * edge cases), each kernel against its JS twin (local/ml/als.ts solveRange / gramRange) on random
 * inputs of odd sizes, a full fit with the WASM kernels against SHOPSIGHT_ALS_KERNELS=js, and one
 * against two threads with the WASM kernels.
 */
import {
  AlsModel,
  AlsParams,
  alsJsKernels,
  foldInUsers,
  ImplicitRatings,
  implicitLoss,
  PARALLEL_MIN_RATINGS,
  ratingsFromTriples,
  recommendForUsers,
  ScoringStats,
  shutdownAlsWorkers,
  similarItems,
  trainImplicitAls,
} from '../../../local/ml/als';
import { alsKernelModuleBytes, alsWasm, gram32Length, solveScratchBytes, writeGram32 } from '../../../local/ml/wasm/als-kernels';
import { Code, ModuleBuilder, sleb, uleb, ValType } from '../../../local/ml/wasm/emit';

afterAll(() => shutdownAlsWorkers());

/** Test-local PRNG (mulberry32), independent of the one in the module. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `body` with SHOPSIGHT_ALS_KERNELS set to `value` (read by als.ts at every call). */
function withKernels<T>(value: string | undefined, body: () => T): T {
  const before = process.env.SHOPSIGHT_ALS_KERNELS;
  if (value === undefined) delete process.env.SHOPSIGHT_ALS_KERNELS;
  else process.env.SHOPSIGHT_ALS_KERNELS = value;
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env.SHOPSIGHT_ALS_KERNELS;
    else process.env.SHOPSIGHT_ALS_KERNELS = before;
  }
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** max over rows of max_k |a - b| / max_k |b| (rows of b that are all zero: the absolute difference). */
function maxRowRelDiff(a: Float32Array, b: Float32Array, rank: number): number {
  let worst = 0;
  for (let o = 0; o < b.length; o += rank) {
    let d = 0;
    let n = 0;
    for (let k = 0; k < rank; k++) {
      d = Math.max(d, Math.abs(a[o + k] - b[o + k]));
      n = Math.max(n, Math.abs(b[o + k]));
    }
    worst = Math.max(worst, n > 0 ? d / n : d);
  }
  return worst;
}

describe('WASM emitter', () => {
  it('encodes LEB128 at the byte boundaries', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(16383)).toEqual([0xff, 0x7f]);
    expect(uleb(16384)).toEqual([0x80, 0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0x00]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]); // bit 6 set: needs a second byte to stay positive
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(2147483647)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(sleb(-2147483648)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => uleb(1.5)).toThrow(RangeError);
  });

  it('builds a module (add two i32, i32 constants at the extremes) that validates and runs', () => {
    const add = new Code([ValType.i32, ValType.i32], [ValType.i32]);
    add.get(0).get(1).i32Add();
    const bytes = new ModuleBuilder()
      .func('add', add)
      .func('min', new Code([], [ValType.i32]).i32Const(-2147483648))
      .func('max', new Code([], [ValType.i32]).i32Const(2147483647))
      .func('minus64', new Code([], [ValType.i32]).i32Const(-64))
      .func('plus64', new Code([], [ValType.i32]).i32Const(64))
      .encode();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as Record<string, (...a: number[]) => number>;
    expect(e.add(2, 3)).toBe(5);
    expect(e.add(2147483647, 1)).toBe(-2147483648); // i32 wraps
    expect(e.min()).toBe(-2147483648);
    expect(e.max()).toBe(2147483647);
    expect(e.minus64()).toBe(-64);
    expect(e.plus64()).toBe(64);
  });

  it('builds the kernel module with SIMD, and an unbalanced body is refused', () => {
    expect(WebAssembly.validate(alsKernelModuleBytes())).toBe(true);
    expect(alsWasm()).not.toBeNull();
    const broken = new Code([], []);
    expect(() => broken.block(() => broken.encode())).toThrow(/unbalanced/);
  });
});

/** Random CSR with every 5th entity empty, values 1..5, factors in [-0.5, 0.5). */
function randomProblem(rank: number, seed: number) {
  const r = rng(seed);
  const n = 61;
  const m = 47;
  const ptr: number[] = [0];
  const idx: number[] = [];
  const val: number[] = [];
  for (let e = 0; e < n; e++) {
    if (e % 5 !== 2) for (let i = 0; i < m; i++) if (r() < 0.25) {
      idx.push(i);
      val.push(1 + Math.floor(r() * 5));
    }
    ptr.push(idx.length);
  }
  const src = Float32Array.from({ length: m * rank }, () => r() - 0.5);
  const dst = Float32Array.from({ length: n * rank }, () => r() - 0.5);
  return { n, m, ptr: Int32Array.from(ptr), idx: Int32Array.from(idx), val: Float32Array.from(val), src, dst };
}

function jsGram(f: Float32Array, count: number, rank: number): Float64Array {
  const G = new Float64Array(rank * rank);
  alsJsKernels.gramRange(f, 0, count, rank, G, 0);
  for (let a = 0; a < rank; a++) for (let b = 0; b < a; b++) G[a * rank + b] = G[b * rank + a];
  return G;
}

describe('WASM kernels against the JS kernels', () => {
  const wasm = alsWasm()!;
  const { arena, kernels } = wasm;
  const inArena = <T extends Float32Array | Int32Array>(a: T): T => {
    const out = (a instanceof Float32Array ? arena.f32(a.length) : arena.i32(a.length)) as T;
    out.set(a as never);
    return out;
  };
  let mark = 0;
  beforeEach(() => {
    mark = arena.mark();
  });
  afterEach(() => arena.release(mark));

  // Tolerance of a solved row, relative to its largest entry: the WASM CG keeps x, r, p, Ap in Float32
  // (unit roundoff 2^-24 = 6e-8) where the JS one uses doubles; each of the 4 passes (residual, 3
  // steps) rounds every dot product and axpy (rank + ratings ~ 50 terms) and CG amplifies the
  // residual's error by the condition of the small system, so ~1e-6..1e-5 is expected (measured: up to
  // 4e-6 here, 9e-6 on other seeds); 1e-4 leaves room, and a solve that differed in any step (one CG step fewer, below) is off
  // by more than 1e-2 (for rank 1, where one step is exact: no step at all).
  const SOLVE_TOL = 1e-4;

  for (const rank of [1, 7, 32, 33]) {
    for (const zeroStart of [false, true]) {
      it(`solve, rank ${rank}${zeroStart ? ', zero start' : ''}: rows within ${SOLVE_TOL} of solveRange, empty rows zero`, () => {
        const pr = randomProblem(rank, 100 + rank);
        const G = jsGram(pr.src, pr.m, rank);
        const [lambda, alpha, steps] = [0.1, 10, 3];
        const js = pr.dst.slice();
        alsJsKernels.solveRange(pr.ptr, pr.idx, pr.val, js, pr.src, G, rank, lambda, alpha, steps, zeroStart, 0, pr.n);
        const fewer = pr.dst.slice();
        // One step fewer (none for rank 1, where CG is exact after one step).
        alsJsKernels.solveRange(pr.ptr, pr.idx, pr.val, fewer, pr.src, G, rank, lambda, alpha, Math.min(steps, rank) - 1, zeroStart, 0, pr.n);

        const dst = inArena(pr.dst);
        const g32 = arena.f32(gram32Length(rank));
        writeGram32(G, rank, g32);
        const scratch = arena.f32(solveScratchBytes(rank) / 4).fill(NaN); // the kernel must clear its scratch
        // Two calls over a split range (as two tasks would), the second after a gap row left alone.
        const cut = 20;
        kernels.solve(inArena(pr.ptr).byteOffset, inArena(pr.idx).byteOffset, inArena(pr.val).byteOffset, dst.byteOffset, inArena(pr.src).byteOffset,
          g32.byteOffset, rank, lambda, alpha, steps, zeroStart ? 1 : 0, 0, cut, scratch.byteOffset);
        const untouched = dst.slice(cut * rank, (cut + 1) * rank);
        expect(same(untouched, pr.dst.subarray(cut * rank, (cut + 1) * rank))).toBe(true);
        kernels.solve(inArena(pr.ptr).byteOffset, inArena(pr.idx).byteOffset, inArena(pr.val).byteOffset, dst.byteOffset, inArena(pr.src).byteOffset,
          g32.byteOffset, rank, lambda, alpha, steps, zeroStart ? 1 : 0, cut, pr.n, scratch.byteOffset);

        for (let e = 0; e < pr.n; e++) {
          if (pr.ptr[e] === pr.ptr[e + 1]) expect(Array.from(dst.subarray(e * rank, (e + 1) * rank))).toEqual(new Array(rank).fill(0));
        }
        const diff = maxRowRelDiff(dst, js, rank);
        if (process.env.ALS_TEST_VERBOSE) console.log(`solve rank ${rank} zeroStart ${zeroStart}: max row rel diff ${diff.toExponential(2)}`);
        expect(diff).toBeLessThan(SOLVE_TOL);
        expect(maxRowRelDiff(fewer, js, rank)).toBeGreaterThan(1e-2);
      });
    }

    it(`loss, rank ${rank}: bit-identical to lossRange`, () => {
      const pr = randomProblem(rank, 300 + rank);
      const [lambda, alpha] = [0.1, 10];
      const want = alsJsKernels.lossRange(pr.ptr, pr.idx, pr.val, pr.dst, pr.src, rank, lambda, alpha, 0, pr.n);
      const args = [inArena(pr.ptr), inArena(pr.idx), inArena(pr.val), inArena(pr.dst), inArena(pr.src)].map((a) => a.byteOffset);
      const xbuf = arena.f64(rank).fill(NaN);
      const whole = kernels.loss(args[0], args[1], args[2], args[3], args[4], rank, lambda, alpha, 0, pr.n, xbuf.byteOffset);
      expect(whole).toBe(want);
      const part = kernels.loss(args[0], args[1], args[2], args[3], args[4], rank, lambda, alpha, 7, 30, xbuf.byteOffset);
      expect(part).toBe(alsJsKernels.lossRange(pr.ptr, pr.idx, pr.val, pr.dst, pr.src, rank, lambda, alpha, 7, 30));
      expect(part).not.toBe(whole);
    });

    it(`gram, rank ${rank}: F^T F within 1e-6 relative of gramRange (in fact bit-identical)`, () => {
      const r = rng(7 + rank);
      for (const count of [0, 1, 3, 4, 9, 301]) {
        const f = Float32Array.from({ length: count * rank }, () => (r() < 0.1 ? 0 : r() - 0.5));
        const G = jsGram(f, count, rank);
        const out = arena.f64(rank * rank).fill(NaN); // the kernel must zero its output
        kernels.gram(inArena(f).byteOffset, 0, count, rank, out.byteOffset);
        for (let a = 0; a < rank; a++) {
          for (let b = a; b < rank; b++) {
            const want = G[a * rank + b];
            const got = out[a * rank + b];
            expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(want), 1e-30));
            expect(got).toBe(want);
          }
        }
      }
    });
  }
});

/** Users who like one or two of ten genres (90% of picks), as in als.test.ts. */
function plantedGenres(): ImplicitRatings {
  const r = rng(2024);
  const users = 800;
  const genres = 10;
  const perGenre = 30;
  const items = genres * perGenre;
  const uu: number[] = [];
  const ii: number[] = [];
  for (let u = 0; u < users; u++) {
    const g1 = Math.floor(r() * genres);
    const g2 = r() < 0.5 ? Math.floor(r() * genres) : g1;
    const chosen = new Set<number>();
    const count = 12 + Math.floor(r() * 8);
    while (chosen.size < count) {
      const g = r() < 0.5 ? g1 : g2;
      chosen.add(r() < 0.9 ? g * perGenre + Math.floor(perGenre * Math.pow(r(), 1.5)) : Math.floor(r() * items));
    }
    for (const it of chosen) {
      uu.push(u);
      ii.push(it);
    }
  }
  return ratingsFromTriples(users, items, Int32Array.from(uu), Int32Array.from(ii), new Float32Array(uu.length).fill(1));
}

function topLists(m: AlsModel, rt: ImplicitRatings): number[][] {
  const out: number[][] = [];
  const users = Int32Array.from({ length: m.users }, (_, u) => u);
  recommendForUsers(m, users, 10, (u) => rt.itemIdx.subarray(rt.userPtr[u], rt.userPtr[u + 1]), (_u, items) => out.push(Array.from(items)), undefined, { threads: 1 });
  return out;
}

function relFrobenius(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < a.length; k++) {
    num += (a[k] - b[k]) ** 2;
    den += b[k] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('training with the WASM kernels', () => {
  it('fits like the JS kernels: factors close, top-10 lists overlapping >= 95%, the arena released', () => {
    const rt = plantedGenres();
    const p: AlsParams = { rank: 12, regParam: 0.05, alpha: 20, maxIter: 10, seed: 1, threads: 1 };
    const arena = alsWasm()!.arena;
    const before = arena.mark();
    const w = withKernels(undefined, () => trainImplicitAls(rt, p));
    expect(arena.mark()).toBe(before);
    const j = withKernels('js', () => trainImplicitAls(rt, p));
    // Different arithmetic (Float32 CG vectors), so not bit-identical: proof that the WASM path ran.
    expect(same(w.userFactors, j.userFactors)).toBe(false);
    expect(relFrobenius(w.userFactors, j.userFactors)).toBeLessThan(1e-3);
    expect(relFrobenius(w.itemFactors, j.itemFactors)).toBeLessThan(1e-3);
    for (let k = 0; k < w.lossHistory.length; k++) expect(Math.abs(w.lossHistory[k] - j.lossHistory[k])).toBeLessThan(1e-5 * j.lossHistory[k]);
    expect(w.lossHistory[0]).toBe(j.lossHistory[0]); // same init, bit-identical Gram and loss
    expect(withKernels(undefined, () => implicitLoss(rt, j, p))).toBe(withKernels('js', () => implicitLoss(rt, j, p)));
    const lw = topLists(w, rt);
    const lj = topLists(j, rt);
    let common = 0;
    for (let u = 0; u < lw.length; u++) {
      const s = new Set(lj[u]);
      common += lw[u].filter((it) => s.has(it)).length;
    }
    if (process.env.ALS_TEST_VERBOSE) {
      console.log(`fit: user ${relFrobenius(w.userFactors, j.userFactors).toExponential(2)} item ${relFrobenius(w.itemFactors, j.itemFactors).toExponential(2)} top-10 overlap ${common / (10 * rt.users)}`);
    }
    expect(common / (10 * rt.users)).toBeGreaterThanOrEqual(0.95);
    // The returned factors are plain arrays, not views on the arena.
    expect(Object.prototype.toString.call(w.userFactors.buffer)).toBe('[object ArrayBuffer]');

    const fw = withKernels(undefined, () => foldInUsers(j, rt, p));
    const fj = withKernels('js', () => foldInUsers(j, rt, p));
    expect(same(fw.userFactors, fj.userFactors)).toBe(false);
    expect(relFrobenius(fw.userFactors, fj.userFactors)).toBeLessThan(1e-3);
  });

  it('gives bit-identical results on one and two threads', () => {
    const r = rng(31);
    const n = 12000 * 20;
    const u = Int32Array.from({ length: n }, (_, k) => Math.floor(k / 20));
    const i = Int32Array.from({ length: n }, () => Math.floor(4000 * r() * r()));
    const v = Float32Array.from({ length: n }, () => 1 + Math.floor(r() * 5));
    const rt = ratingsFromTriples(12000, 4000, u, i, v);
    expect(rt.itemIdx.length).toBeGreaterThanOrEqual(PARALLEL_MIN_RATINGS);
    const p: AlsParams = { rank: 33, regParam: 0.05, alpha: 5, maxIter: 2, seed: 8 };
    const m1 = trainImplicitAls(rt, { ...p, threads: 1 });
    const m2 = trainImplicitAls(rt, { ...p, threads: 2 });
    expect(same(m1.userFactors, m2.userFactors)).toBe(true);
    expect(same(m1.itemFactors, m2.itemFactors)).toBe(true);
    expect(m1.lossHistory).toEqual(m2.lossHistory);
    const js = withKernels('js', () => trainImplicitAls(rt, { ...p, threads: 2 }));
    expect(same(m2.userFactors, js.userFactors)).toBe(false);
    expect(relFrobenius(m2.userFactors, js.userFactors)).toBeLessThan(1e-3);
  });
});

describe('scoring with the WASM kernel', () => {
  // Above the WASM scoring threshold (2^20 queries x candidates), odd rank and odd candidate count.
  const r = rng(5);
  const rank = 33;
  const users = 2500;
  const items = 901;
  // Power-law norms, so the norm bound stops scans early; a few exact zeros and repeated rows for ties.
  const factors = (rows: number) => {
    const f = Float32Array.from({ length: rows * rank }, () => r() - 0.5);
    for (let e = 0; e < rows; e++) {
      const scale = 1 / (1 + 20 * r() * r());
      for (let k = 0; k < rank; k++) f[e * rank + k] *= scale;
    }
    f.fill(0, 3 * rank, 4 * rank);
    f.copyWithin(10 * rank, 11 * rank, 12 * rank);
    return f;
  };
  const model: AlsModel = { rank, users, items, userFactors: factors(users), itemFactors: factors(items), lossHistory: [] };
  const candidates = Int32Array.from({ length: 899 }, (_, j) => (j * 7) % items);

  const run = (kernels: string | undefined, threads: number) =>
    withKernels(kernels, () => {
      const arena = alsWasm()!.arena;
      const before = arena.mark();
      let inArena = false;
      const out: number[] = [];
      const stats: ScoringStats = { queries: 0, pairs: 0, scored: 0 };
      const qs = Int32Array.from({ length: users }, (_, u) => (u * 31) % users);
      recommendForUsers(model, qs, 10, (u) => (u % 4 === 0 ? Int32Array.of(u % items, (u * 3) % items).sort() : undefined), (u, it, sc) => {
        inArena ||= arena.mark() > before;
        out.push(u, it.length, ...it, ...Array.from(sc));
      }, candidates, { threads, stats });
      const sims: number[] = [];
      similarItems(model, Int32Array.from({ length: items }, (_, i) => i), 7, (i, it, sc) => {
        inArena ||= arena.mark() > before;
        sims.push(i, it.length, ...it, ...Array.from(sc));
      }, undefined, { threads, stats });
      expect(arena.mark()).toBe(before);
      return { out, sims, stats, inArena };
    });

  it('top-n and similar items are bit-identical to the JS scoring, pruning included', () => {
    expect(users * candidates.length).toBeGreaterThanOrEqual(1 << 20);
    const w = run(undefined, 1);
    const j = run('js', 1);
    expect(w.inArena).toBe(true); // the WASM set-up ran
    expect(j.inArena).toBe(false);
    expect(w.out).toEqual(j.out);
    expect(w.sims).toEqual(j.sims);
    expect(w.stats).toEqual(j.stats);
    expect(w.stats.scored).toBeLessThan(0.9 * w.stats.pairs); // the bound did stop scans
    expect(run(undefined, 2).out).toEqual(j.out);
  });
});
