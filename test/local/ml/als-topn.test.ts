/**
 * The pruned top-n scoring of local/ml/als.ts (candidates in descending norm, each query's scan
 * stopped by the Cauchy-Schwarz bound) against a brute-force reference written here: every candidate
 * scored in double, rounded to Float32, sorted by score desc then item asc, the first n kept. Factors
 * are quantised so that many scores tie exactly, with zero and negative vectors, exclusions, candidate
 * lists of 0, 1, n, n + 1 and all items, ranks 1, 7 and 32, one and two threads; and a skewed norm
 * distribution proves the scan really stops early.
 */
import { Random } from '../../../local/generate/random';
import {
  AlsModel,
  PARALLEL_MIN_SCORE_WORK,
  recommendForUsers,
  ScoringStats,
  shutdownAlsWorkers,
  similarItems,
} from '../../../local/ml/als';

afterAll(() => shutdownAlsWorkers());

/** Uniform [0, 1) draws from the project's seeded generator. */
function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}

/**
 * Factor rows with entries in {-1, -0.5, 0, 0.5, 1} (many exact ties), every `zeroEvery`-th row zero,
 * each row scaled by scale(row) (a power of two keeps ties exact).
 */
function factors(rows: number, rank: number, r: () => number, zeroEvery: number, scale: (row: number) => number): Float32Array {
  const f = new Float32Array(rows * rank);
  for (let i = 0; i < rows; i++) {
    if (i % zeroEvery === zeroEvery - 1) continue;
    for (let k = 0; k < rank; k++) f[i * rank + k] = (Math.floor(r() * 5) - 2) * 0.5 * scale(i);
  }
  return f;
}

function model(users: number, items: number, rank: number, seed: number, itemScale: (i: number) => number = () => 1): AlsModel {
  const r = rng(seed);
  return {
    rank,
    users,
    items,
    userFactors: factors(users, rank, r, 7, (u) => (u % 3 === 0 ? 0.25 : 1)),
    itemFactors: factors(items, rank, r, 5, itemScale),
    lossHistory: [],
  };
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** The reference: score all, Float32, sort (score desc, item asc), first n. */
function bruteTop(Q: Float32Array, q: number, F: Float32Array, pool: number[], rank: number, n: number): [number[], number[]] {
  const rows = pool.map((i) => ({ i, s: Math.fround(dot(Q, q * rank, F, i * rank, rank)) }));
  rows.sort((a, b) => (a.s === b.s ? a.i - b.i : b.s - a.s));
  const top = rows.slice(0, n);
  return [top.map((x) => x.i), top.map((x) => x.s)];
}

type Result = Map<number, [number[], number[]]>;

function recs(m: AlsModel, users: Int32Array, n: number, exclude: (u: number) => Int32Array | undefined, cand: Int32Array | undefined, threads: number, stats?: ScoringStats): Result {
  const out: Result = new Map();
  recommendForUsers(m, users, n, exclude, (u, items, scores) => out.set(u, [Array.from(items), Array.from(scores)]), cand, { threads, stats });
  return out;
}

/** Sorted random exclusions for about half of the users. */
function exclusions(items: number, seed: number): (u: number) => Int32Array | undefined {
  return (u) => {
    if (u % 2 === 1) return undefined;
    const r = rng(seed * 1000 + u);
    return Int32Array.from(new Set(Array.from({ length: 1 + (u % 9) }, () => Math.floor(r() * items)))).sort();
  };
}

function candidateLists(items: number, n: number, r: () => number): (Int32Array | undefined)[] {
  const pick = (count: number) => Int32Array.from(Array.from({ length: count }, () => Math.floor(r() * items)));
  const distinct = (count: number) => {
    const all = Array.from({ length: items }, (_, i) => i);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return Int32Array.from(all.slice(0, count));
  };
  return [undefined, new Int32Array(0), pick(1), distinct(n), distinct(n + 1), pick(items)];
}

function distinctSorted(c: Int32Array | undefined, items: number): number[] {
  return c ? [...new Set(c)].sort((a, b) => a - b) : Array.from({ length: items }, (_, i) => i);
}

describe('recommendForUsers: pruned top-n equals the brute-force reference', () => {
  for (const rank of [1, 7, 32]) {
    for (const seed of [1, 2, 3]) {
      it(`rank ${rank}, seed ${seed}: ties, zero and negative vectors, exclusions, candidate lists`, () => {
        const users = 60;
        const items = 90;
        const m = model(users, items, rank, seed * 10 + rank, (i) => 2 ** -(i % 4));
        const r = rng(seed);
        const userList = Int32Array.from({ length: users }, (_, u) => u);
        for (const n of [1, 5, 12]) {
          const ex = exclusions(items, seed);
          for (const cand of candidateLists(items, n, r)) {
            const pool = distinctSorted(cand, items);
            const got = recs(m, userList, n, ex, cand, 1);
            for (let u = 0; u < users; u++) {
              const skip = new Set(ex(u) ?? []);
              const expected = bruteTop(m.userFactors, u, m.itemFactors, pool.filter((i) => !skip.has(i)), rank, n);
              expect([u, got.get(u)]).toEqual([u, expected]);
            }
          }
        }
      });
    }
  }

  it('one and two threads (above the threshold) give the reference, with heavy ties', () => {
    const rank = 32;
    const users = 4200;
    const items = 2000;
    expect(users * items * rank).toBeGreaterThanOrEqual(PARALLEL_MIN_SCORE_WORK);
    const m = model(users, items, rank, 99, (i) => 2 ** -(i % 3));
    const userList = Int32Array.from({ length: users }, (_, u) => (u * 7919) % users);
    const ex = exclusions(items, 4);
    const one = recs(m, userList, 10, ex, undefined, 1);
    const two = recs(m, userList, 10, ex, undefined, 2);
    expect([...two]).toEqual([...one]);
    const pool = Array.from({ length: items }, (_, i) => i);
    for (let u = 0; u < users; u += 37) {
      const skip = new Set(ex(u) ?? []);
      expect([u, one.get(u)]).toEqual([u, bruteTop(m.userFactors, u, m.itemFactors, pool.filter((i) => !skip.has(i)), rank, 10)]);
    }
  });
});

describe('similarItems: pruned top-n equals the brute-force cosine reference', () => {
  /** The module's documented cosine: unit rows rounded to Float32, their dot product rounded to Float32. */
  function unitRows(F: Float32Array, items: number, rank: number): { unit: Float32Array; nonZero: boolean[] } {
    const unit = new Float32Array(F.length);
    const nonZero: boolean[] = [];
    for (let i = 0; i < items; i++) {
      const s = dot(F, i * rank, F, i * rank, rank);
      nonZero.push(s > 0);
      if (s > 0) for (let k = 0; k < rank; k++) unit[i * rank + k] = F[i * rank + k] * (1 / Math.sqrt(s));
    }
    return { unit, nonZero };
  }

  for (const rank of [1, 7, 32]) {
    for (const threads of [1, 2]) {
      it(`rank ${rank}, threads ${threads}: never itself, zero vectors neither query nor neighbour, ties by lower index`, () => {
        const items = rank === 32 && threads === 2 ? 2900 : 120;
        const m = model(1, items, rank, 500 + rank, (i) => 2 ** -(i % 5));
        const { unit, nonZero } = unitRows(m.itemFactors, items, rank);
        const r = rng(rank);
        const queries = Int32Array.from({ length: items }, (_, i) => i);
        const lists = threads === 2 ? [undefined] : candidateLists(items, 6, r);
        for (const cand of lists) {
          const out: Result = new Map();
          similarItems(m, queries, 6, (i, s, v) => out.set(i, [Array.from(s), Array.from(v)]), cand, { threads });
          const pool = distinctSorted(cand, items).filter((i) => nonZero[i]);
          for (let q = 0; q < items; q += threads === 2 ? 13 : 1) {
            const expected: [number[], number[]] = nonZero[q] ? bruteTop(unit, q, unit, pool.filter((i) => i !== q), rank, 6) : [[], []];
            expect([q, out.get(q)]).toEqual([q, expected]);
          }
        }
      });
    }
  }
});

describe('pruning', () => {
  it('on a skewed norm distribution, far fewer than queries x candidates rows are scored, exactly', () => {
    const rank = 32;
    const users = 500;
    const items = 5000;
    const r = rng(7);
    // Popularity-like norms: item i scaled by (1 + i)^-1, in random item order.
    const scaleOf = Float64Array.from({ length: items }, () => 1 / (1 + Math.floor(r() * items)));
    const m = model(users, items, rank, 8, (i) => scaleOf[i]);
    const nonZeroUsers = Int32Array.from({ length: users }, (_, u) => u).filter((u) => u % 7 !== 6);
    const stats: ScoringStats = { queries: 0, pairs: 0, scored: 0 };
    const got = recs(m, nonZeroUsers, 10, () => undefined, undefined, 1, stats);
    expect(stats.queries).toBe(nonZeroUsers.length);
    expect(stats.pairs).toBe(nonZeroUsers.length * items);
    expect(stats.scored).toBeLessThan(0.05 * stats.pairs);
    const pool = Array.from({ length: items }, (_, i) => i);
    for (const u of nonZeroUsers) expect([u, got.get(u)]).toEqual([u, bruteTop(m.userFactors, u, m.itemFactors, pool, rank, 10)]);
    // A zero query ties every candidate at 0: it must scan them all, and the lowest items win.
    const zeroStats: ScoringStats = { queries: 0, pairs: 0, scored: 0 };
    const zero = recs(m, Int32Array.of(6), 10, () => undefined, undefined, 1, zeroStats);
    expect(zeroStats.scored).toBe(items);
    expect(zero.get(6)).toEqual(bruteTop(m.userFactors, 6, m.itemFactors, pool, rank, 10));
    expect(zero.get(6)![0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('does not stop before a candidate whose double score is below the threshold but rounds to it, with a lower index', () => {
    // Query x = (3, 0); item 1 = (y0, 1) arrives before item 0 (larger norm; item 2 is first, with a
    // negative score, item 3 last) with Float32 score t = fround(3 y0); item 0 = (y0, 0) has the same
    // Float32 score and bound 3 y0 < t in double: it must still be scored and win the tie.
    let y0 = 0;
    for (let k = 0; k < 1000 && y0 === 0; k++) {
      const y = Math.fround(1.4 + k * 2 ** -23);
      if (Math.fround(3 * y) > 3 * y * (1 + 1e-12)) y0 = y;
    }
    expect(y0).toBeGreaterThan(0);
    const m: AlsModel = { rank: 2, users: 1, items: 4, userFactors: Float32Array.of(3, 0), itemFactors: Float32Array.of(y0, 0, y0, 1, -1, 9, 0.1, 0), lossHistory: [] };
    for (const cand of [undefined, Int32Array.of(0, 1, 2)]) {
      const got = recs(m, Int32Array.of(0), 1, () => undefined, cand, 1);
      expect(got.get(0)).toEqual([[0], [Math.fround(3 * y0)]]);
    }
  });
});
