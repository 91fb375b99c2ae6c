/**
 * Implicit-feedback ALS (local/ml/als.ts): the objective against a brute-force evaluation, monotone
 * loss, the CG solve against an exact dense solve, planted-preference recovery against a popularity
 * baseline, determinism, the top-n / similar-items streams against brute-force scoring, user fold-in
 * against exact solves, and bit-identical results for one and two threads.
 */
import {
  AlsModel,
  AlsParams,
  checkAlsWorkers,
  foldInUsers,
  ImplicitRatings,
  implicitLoss,
  PARALLEL_MIN_RATINGS,
  PARALLEL_MIN_SCORE_WORK,
  ratingsFromTriples,
  recommendForUser,
  recommendForUsers,
  shutdownAlsWorkers,
  similarItems,
  trainImplicitAls,
} from '../../../local/ml/als';

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

function randomRatings(users: number, items: number, density: number, seed: number): ImplicitRatings {
  const r = rng(seed);
  const uu: number[] = [];
  const ii: number[] = [];
  const vv: number[] = [];
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < items; i++) {
      if (r() < density) {
        uu.push(u);
        ii.push(i);
        vv.push(1 + Math.floor(r() * 5));
      }
    }
  }
  return ratingsFromTriples(users, items, Int32Array.from(uu), Int32Array.from(ii), Float32Array.from(vv));
}

function dense(rt: ImplicitRatings): number[][] {
  const m = Array.from({ length: rt.users }, () => new Array<number>(rt.items).fill(0));
  for (let u = 0; u < rt.users; u++) {
    for (let k = rt.userPtr[u]; k < rt.userPtr[u + 1]; k++) m[u][rt.itemIdx[k]] = rt.values[k];
  }
  return m;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** The objective written out over every (u, i) pair. */
function bruteLoss(rt: ImplicitRatings, m: AlsModel, p: AlsParams): number {
  const R = dense(rt);
  const k = m.rank;
  let loss = 0;
  const nI = new Array<number>(rt.items).fill(0);
  for (let u = 0; u < rt.users; u++) {
    let nu = 0;
    for (let i = 0; i < rt.items; i++) {
      const r = R[u][i];
      const pr = r > 0 ? 1 : 0;
      const c = 1 + p.alpha * r;
      const e = pr - dot(m.userFactors, u * k, m.itemFactors, i * k, k);
      loss += c * e * e;
      if (r > 0) {
        nu++;
        nI[i]++;
      }
    }
    loss += p.regParam * nu * dot(m.userFactors, u * k, m.userFactors, u * k, k);
  }
  for (let i = 0; i < rt.items; i++) loss += p.regParam * nI[i] * dot(m.itemFactors, i * k, m.itemFactors, i * k, k);
  return loss;
}

/** Solve A x = b by Gaussian elimination with partial pivoting (A dense, copied). */
function gaussSolve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/** Users who like one or two of ten genres (90% of picks), 4 held-out items each. */
function plantedGenres() {
  const r = rng(2024);
  const users = 800;
  const genres = 10;
  const perGenre = 30;
  const items = genres * perGenre;
  const train: [number, number][] = [];
  const held: Set<number>[] = [];
  const seen: Set<number>[] = [];
  for (let u = 0; u < users; u++) {
    const g1 = Math.floor(r() * genres);
    const g2 = r() < 0.5 ? Math.floor(r() * genres) : g1;
    const chosen = new Set<number>();
    const count = 12 + Math.floor(r() * 8);
    while (chosen.size < count) {
      let it: number;
      if (r() < 0.9) {
        const g = r() < 0.5 ? g1 : g2;
        it = g * perGenre + Math.floor(perGenre * Math.pow(r(), 1.5)); // mildly skewed within the genre
      } else {
        it = Math.floor(r() * items);
      }
      chosen.add(it);
    }
    const list = [...chosen];
    const h = new Set<number>();
    while (h.size < 4) h.add(list[Math.floor(r() * list.length)]);
    held.push(h);
    const s = new Set<number>();
    for (const it of list) {
      if (!h.has(it)) {
        train.push([u, it]);
        s.add(it);
      }
    }
    seen.push(s);
  }
  const rt = ratingsFromTriples(
    users,
    items,
    Int32Array.from(train.map((t) => t[0])),
    Int32Array.from(train.map((t) => t[1])),
    new Float32Array(train.length).fill(1),
  );
  return { users, items, train, held, seen, rt };
}

/** Precision@10 on the held-out items of ALS (recommendForUsers, seen items excluded) and of popularity. */
function precisionAt10(m: AlsModel, g: ReturnType<typeof plantedGenres>): { pAls: number; pPop: number } {
  const { users, items, train, held, seen } = g;
  const pop = new Array<number>(items).fill(0);
  for (const [, it] of train) pop[it]++;
  const byPop = [...pop.keys()].sort((a, b) => pop[b] - pop[a] || a - b);
  let hitsAls = 0;
  let hitsPop = 0;
  const allUsers = Int32Array.from({ length: users }, (_, u) => u);
  recommendForUsers(
    m,
    allUsers,
    10,
    (u) => Int32Array.from([...seen[u]].sort((a, b) => a - b)),
    (u, recs) => {
      expect(recs.length).toBe(10);
      for (const it of recs) if (held[u].has(it)) hitsAls++;
    },
  );
  for (let u = 0; u < users; u++) {
    const recs = byPop.filter((it) => !seen[u].has(it)).slice(0, 10);
    for (const it of recs) if (held[u].has(it)) hitsPop++;
  }
  return { pAls: hitsAls / (users * 10), pPop: hitsPop / (users * 10) };
}

describe('ratingsFromTriples', () => {
  it('sums duplicates, sorts items within a user, handles empty users', () => {
    const rt = ratingsFromTriples(
      4,
      5,
      Int32Array.from([2, 0, 2, 0, 2, 0]),
      Int32Array.from([4, 3, 1, 1, 4, 3]),
      Float32Array.from([1, 2, 3, 4, 5, 0.5]),
    );
    expect(Array.from(rt.userPtr)).toEqual([0, 2, 2, 4, 4]);
    expect(Array.from(rt.itemIdx)).toEqual([1, 3, 1, 4]);
    expect(Array.from(rt.values)).toEqual([4, 2.5, 3, 6]);
    expect(rt.users).toBe(4);
    expect(rt.items).toBe(5);
  });

  it('handles no ratings at all and rejects out-of-range indices', () => {
    const rt = ratingsFromTriples(3, 2, new Int32Array(0), new Int32Array(0), new Float32Array(0));
    expect(Array.from(rt.userPtr)).toEqual([0, 0, 0, 0]);
    expect(rt.itemIdx.length).toBe(0);
    const m = trainImplicitAls(rt, { rank: 2, regParam: 0.1, alpha: 1, maxIter: 2, seed: 1 });
    expect(Array.from(m.userFactors).every((v) => v === 0)).toBe(true);
    expect(() => ratingsFromTriples(1, 1, Int32Array.of(1), Int32Array.of(0), Float32Array.of(1))).toThrow(RangeError);
    expect(() => ratingsFromTriples(1, 1, Int32Array.of(0), Int32Array.of(-1), Float32Array.of(1))).toThrow(RangeError);
  });
});

describe('training', () => {
  const params: AlsParams = { rank: 4, regParam: 0.05, alpha: 2, maxIter: 12, seed: 3 };

  it('implicitLoss equals the brute-force objective over all pairs', () => {
    const rt = randomRatings(23, 17, 0.2, 11);
    for (const iters of [0, 3]) {
      const m = trainImplicitAls(rt, { ...params, maxIter: iters });
      const brute = bruteLoss(rt, m, params);
      expect(implicitLoss(rt, m, params)).toBeCloseTo(brute, 6);
      expect(Math.abs(m.lossHistory[iters] - brute) / brute).toBeLessThan(1e-12);
    }
  });

  it('the loss never increases', () => {
    const rt = randomRatings(150, 120, 0.06, 5);
    const seen: number[] = [];
    const m = trainImplicitAls(rt, { rank: 8, regParam: 0.1, alpha: 5, maxIter: 15, seed: 9 }, (it, loss) => {
      expect(it).toBe(seen.length + 1);
      seen.push(loss);
    });
    expect(m.lossHistory.length).toBe(16);
    expect(m.lossHistory.slice(1)).toEqual(seen);
    for (let t = 1; t < m.lossHistory.length; t++) {
      expect(m.lossHistory[t]).toBeLessThanOrEqual(m.lossHistory[t - 1] * (1 + 1e-6));
    }
    expect(m.lossHistory[15]).toBeLessThan(m.lossHistory[0]);
  });

  it('lossTolerance stops after the first iteration whose relative loss decrease is at most the tolerance', () => {
    const rt = randomRatings(150, 120, 0.06, 5);
    const p: AlsParams = { rank: 8, regParam: 0.1, alpha: 5, maxIter: 30, seed: 9 };
    const all = trainImplicitAls(rt, p).lossHistory;
    expect(all).toHaveLength(31);
    const decrease = (h: number[], t: number) => (h[t - 1] - h[t]) / h[t - 1];
    // A tolerance between two iterations' decreases, so that some but not all iterations run.
    const tolerance = decrease(all, 4) * 0.999;
    const expected = all.findIndex((_, t) => t > 0 && decrease(all, t) <= tolerance);
    expect(expected).toBeGreaterThan(4);
    expect(expected).toBeLessThan(30);
    const seen: number[] = [];
    const early = trainImplicitAls(rt, { ...p, lossTolerance: tolerance }, (_, loss) => seen.push(loss));
    expect(early.lossHistory).toEqual(all.slice(0, expected + 1));
    expect(seen).toEqual(all.slice(1, expected + 1));
    // The model is the one maxIter = expected gives, bit for bit (the stop only ends the loop).
    const capped = trainImplicitAls(rt, { ...p, maxIter: expected });
    expect(Buffer.from(early.userFactors.buffer).equals(Buffer.from(capped.userFactors.buffer))).toBe(true);
    expect(Buffer.from(early.itemFactors.buffer).equals(Buffer.from(capped.itemFactors.buffer))).toBe(true);
    // 0 is off, like unset; outside [0, 1) is refused.
    expect(trainImplicitAls(rt, { ...p, lossTolerance: 0 }).lossHistory).toEqual(all);
    for (const bad of [-0.1, 1, Number.NaN]) expect(() => trainImplicitAls(rt, { ...p, lossTolerance: bad })).toThrow(/lossTolerance must be in \[0, 1\)/);
  });

  it('CG with cgSteps = rank gives the exact normal-equation solution', () => {
    const rank = 5;
    const p: AlsParams = { rank, regParam: 0.3, alpha: 3, maxIter: 1, seed: 21, cgSteps: rank };
    const rt = randomRatings(40, 25, 0.15, 8);
    const m = trainImplicitAls(rt, p);
    // After one iteration, every item vector solves its normal equations given the final user vectors.
    const R = dense(rt);
    const X = m.userFactors;
    let checked = 0;
    for (let i = 0; i < rt.items; i++) {
      const A = Array.from({ length: rank }, () => new Array<number>(rank).fill(0));
      const b = new Array<number>(rank).fill(0);
      let n = 0;
      for (let u = 0; u < rt.users; u++) {
        const r = R[u][i];
        const c = 1 + p.alpha * r;
        if (r > 0) n++;
        for (let a = 0; a < rank; a++) {
          if (r > 0) b[a] += c * X[u * rank + a];
          for (let bb = 0; bb < rank; bb++) A[a][bb] += c * X[u * rank + a] * X[u * rank + bb];
        }
      }
      const y = m.itemFactors.subarray(i * rank, i * rank + rank);
      if (n === 0) {
        expect(Array.from(y)).toEqual(new Array<number>(rank).fill(0));
        continue;
      }
      for (let a = 0; a < rank; a++) A[a][a] += p.regParam * n;
      const exact = gaussSolve(A, b);
      const scale = Math.max(...exact.map(Math.abs));
      for (let a = 0; a < rank; a++) expect(Math.abs(y[a] - exact[a])).toBeLessThan(1e-4 * scale + 1e-6);
      checked++;
    }
    expect(checked).toBeGreaterThan(15);
    // With the default 3 steps the same item vectors are only approximate (the test is not vacuous).
    const m3 = trainImplicitAls(rt, { ...p, cgSteps: 1 });
    let maxDiff = 0;
    for (let k = 0; k < m.userFactors.length; k++) maxDiff = Math.max(maxDiff, Math.abs(m.userFactors[k] - m3.userFactors[k]));
    expect(maxDiff).toBeGreaterThan(1e-3);
  });

  it('is deterministic in the seed', () => {
    const rt = randomRatings(60, 40, 0.1, 2);
    const a = trainImplicitAls(rt, params);
    const b = trainImplicitAls(rt, params);
    const c = trainImplicitAls(rt, { ...params, seed: 4 });
    expect(Buffer.from(a.userFactors.buffer).equals(Buffer.from(b.userFactors.buffer))).toBe(true);
    expect(Buffer.from(a.itemFactors.buffer).equals(Buffer.from(b.itemFactors.buffer))).toBe(true);
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(Buffer.from(a.userFactors.buffer).equals(Buffer.from(c.userFactors.buffer))).toBe(false);
    expect(Buffer.from(a.itemFactors.buffer).equals(Buffer.from(c.itemFactors.buffer))).toBe(false);
  });

  it('recovers planted genre preferences far better than popularity', () => {
    const g = plantedGenres();
    const m = trainImplicitAls(g.rt, { rank: 12, regParam: 0.05, alpha: 20, maxIter: 10, seed: 1 });
    const { pAls, pPop } = precisionAt10(m, g);
    if (process.env.ALS_TEST_VERBOSE) console.log(`precision@10 ALS ${pAls} popularity ${pPop}`);
    expect(pAls).toBeGreaterThanOrEqual(0.1);
    expect(pAls).toBeGreaterThanOrEqual(3 * pPop);
  });
});

describe('scoring', () => {
  const rt = randomRatings(37, 53, 0.12, 77);
  const model = trainImplicitAls(rt, { rank: 6, regParam: 0.1, alpha: 4, maxIter: 4, seed: 5 });
  const k = model.rank;

  function bruteTop(user: number, n: number, exclude: Set<number>, cand?: Set<number>): { items: number[]; scores: number[] } {
    const rows: { i: number; s: number }[] = [];
    for (let i = 0; i < model.items; i++) {
      if (exclude.has(i) || (cand && !cand.has(i))) continue;
      rows.push({ i, s: Math.fround(dot(model.userFactors, user * k, model.itemFactors, i * k, k)) });
    }
    rows.sort((a, b) => b.s - a.s || a.i - b.i);
    const top = rows.slice(0, n);
    return { items: top.map((x) => x.i), scores: top.map((x) => x.s) };
  }

  it('recommendForUser matches brute force, honouring exclusions and candidates', () => {
    const r = rng(3);
    for (let u = 0; u < model.users; u++) {
      const ex = [...new Set(Array.from({ length: 6 }, () => Math.floor(r() * model.items)))].sort((a, b) => a - b);
      const cand = Array.from({ length: 30 }, () => Math.floor(r() * model.items)); // unsorted, duplicates
      const exp1 = bruteTop(u, 7, new Set());
      const got1 = recommendForUser(model, u, 7);
      expect(Array.from(got1.items)).toEqual(exp1.items);
      expect(Array.from(got1.scores)).toEqual(exp1.scores);
      const exp2 = bruteTop(u, 5, new Set(ex), new Set(cand));
      const got2 = recommendForUser(model, u, 5, Int32Array.from(ex), Int32Array.from(cand));
      expect(Array.from(got2.items)).toEqual(exp2.items);
      expect(Array.from(got2.scores)).toEqual(exp2.scores);
      for (const it of got2.items) {
        expect(ex).not.toContain(it);
        expect(cand).toContain(it);
      }
    }
    // n larger than the candidate pool returns the whole pool.
    expect(recommendForUser(model, 0, 10, undefined, Int32Array.of(4, 2)).items.length).toBe(2);
    expect(recommendForUser(model, 0, 0).items.length).toBe(0);
  });

  it('recommendForUsers streams the same answers for any number of users (blocking remainder)', () => {
    const users = Int32Array.from([5, 0, 36, 12, 12, 7, 3]);
    const cand = Int32Array.from({ length: 40 }, (_, j) => (j * 7) % model.items);
    const got: [number, number[], number[]][] = [];
    recommendForUsers(
      model,
      users,
      4,
      (u) => (u % 2 === 0 ? Int32Array.of(u % model.items, 20) : undefined),
      (u, items, scores) => got.push([u, Array.from(items), Array.from(scores)]),
      cand,
    );
    expect(got.map((g) => g[0])).toEqual(Array.from(users));
    for (const [u, items, scores] of got) {
      const ex = u % 2 === 0 ? new Set([u % model.items, 20]) : new Set<number>();
      const exp = bruteTop(u, 4, ex, new Set(cand));
      expect(items).toEqual(exp.items);
      expect(scores).toEqual(exp.scores);
    }
  });

  it('similarItems matches brute-force cosine; zero vectors have no neighbours', () => {
    const m2: AlsModel = { ...model, itemFactors: Float32Array.from(model.itemFactors) };
    m2.itemFactors.fill(0, 3 * k, 4 * k); // item 3 becomes a zero vector
    const norm = (i: number) => Math.sqrt(dot(m2.itemFactors, i * k, m2.itemFactors, i * k, k));
    const cos = (a: number, b: number) => dot(m2.itemFactors, a * k, m2.itemFactors, b * k, k) / (norm(a) * norm(b));
    const queries = Int32Array.from({ length: model.items }, (_, i) => i);
    for (const cand of [undefined, Int32Array.from({ length: 25 }, (_, j) => j * 2)]) {
      const out = new Map<number, [number[], number[]]>();
      similarItems(m2, queries, 5, (it, sim, s) => out.set(it, [Array.from(sim), Array.from(s)]), cand);
      expect(out.size).toBe(model.items);
      expect(out.get(3)![0]).toEqual([]);
      for (let q = 0; q < model.items; q++) {
        if (q === 3) continue;
        const pool = [...Array(model.items).keys()].filter((i) => i !== q && i !== 3 && (!cand || cand.includes(i)));
        const exp = pool.map((i) => ({ i, s: cos(q, i) })).sort((a, b) => b.s - a.s || a.i - b.i);
        const [items, sims] = out.get(q)!;
        expect(items.length).toBe(Math.min(5, pool.length));
        expect(items).not.toContain(q);
        expect(items).not.toContain(3);
        for (let j = 0; j < items.length; j++) {
          expect(sims[j]).toBeCloseTo(cos(q, items[j]), 5);
          expect(sims[j]).toBeCloseTo(exp[j].s, 5); // the j-th best similarity, up to rounding ties
          if (j > 0) expect(sims[j]).toBeLessThanOrEqual(sims[j - 1]);
        }
        if (exp.length > 1 && exp[0].s - exp[1].s > 1e-5) expect(items[0]).toBe(exp[0].i);
      }
    }
  });
});

describe('foldInUsers', () => {
  it('with many CG steps equals the exact per-user normal-equation solution given the item factors', () => {
    const rank = 6;
    const p: AlsParams = { rank, regParam: 0.2, alpha: 3, maxIter: 4, seed: 13, foldInCgSteps: 3 * rank };
    const fitted = trainImplicitAls(randomRatings(50, 30, 0.15, 4), p);
    const rt = randomRatings(35, 30, 0.2, 99); // other users, same items; some may have no ratings
    const m = foldInUsers(fitted, rt, p);
    expect(m.users).toBe(35);
    expect(m.items).toBe(30);
    expect(m.itemFactors).toBe(fitted.itemFactors);
    expect(m.lossHistory.length).toBe(1);
    expect(Math.abs(m.lossHistory[0] - bruteLoss(rt, m, p)) / m.lossHistory[0]).toBeLessThan(1e-10);
    const R = dense(rt);
    const Y = fitted.itemFactors;
    let checked = 0;
    for (let u = 0; u < rt.users; u++) {
      const x = m.userFactors.subarray(u * rank, u * rank + rank);
      const A = Array.from({ length: rank }, () => new Array<number>(rank).fill(0));
      const b = new Array<number>(rank).fill(0);
      let n = 0;
      for (let i = 0; i < rt.items; i++) {
        const r = R[u][i];
        const c = 1 + p.alpha * r;
        if (r > 0) n++;
        for (let a = 0; a < rank; a++) {
          if (r > 0) b[a] += c * Y[i * rank + a];
          for (let bb = 0; bb < rank; bb++) A[a][bb] += c * Y[i * rank + a] * Y[i * rank + bb];
        }
      }
      if (n === 0) {
        expect(Array.from(x)).toEqual(new Array<number>(rank).fill(0));
        continue;
      }
      for (let a = 0; a < rank; a++) A[a][a] += p.regParam * n;
      const exact = gaussSolve(A, b);
      const scale = Math.max(...exact.map(Math.abs));
      for (let a = 0; a < rank; a++) expect(Math.abs(x[a] - exact[a])).toBeLessThan(1e-4 * scale + 1e-6);
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
    // The default step count is close to exact too; a single step is not (the check is not vacuous).
    const rel = (q: AlsModel) => {
      let num = 0;
      let den = 0;
      for (let k = 0; k < m.userFactors.length; k++) {
        num += (q.userFactors[k] - m.userFactors[k]) ** 2;
        den += m.userFactors[k] ** 2;
      }
      return Math.sqrt(num / den);
    };
    expect(rel(foldInUsers(fitted, rt, { ...p, foldInCgSteps: undefined }))).toBeLessThan(1e-2);
    expect(rel(foldInUsers(fitted, rt, { ...p, foldInCgSteps: 1 }))).toBeGreaterThan(1e-2);
  });

  it('rejects ratings over another item space or rank', () => {
    const p: AlsParams = { rank: 3, regParam: 0.1, alpha: 1, maxIter: 1, seed: 1 };
    const fitted = trainImplicitAls(randomRatings(10, 8, 0.3, 1), p);
    expect(() => foldInUsers(fitted, randomRatings(10, 9, 0.3, 2), p)).toThrow(RangeError);
    expect(() => foldInUsers(fitted, randomRatings(10, 8, 0.3, 2), { ...p, rank: 4 })).toThrow(RangeError);
  });

  it('after fitting on earlier data, folded-in users keep precision far above popularity', () => {
    const g = plantedGenres();
    // "Pre-holdout" fit: a random 60% of the training pairs (every item still present), then the
    // users of the full training data folded in for serving.
    const r = rng(77);
    const early = g.train.filter(() => r() < 0.6);
    const pre = ratingsFromTriples(
      g.users,
      g.items,
      Int32Array.from(early.map((t) => t[0])),
      Int32Array.from(early.map((t) => t[1])),
      new Float32Array(early.length).fill(1),
    );
    const params: AlsParams = { rank: 12, regParam: 0.05, alpha: 20, maxIter: 10, seed: 1 };
    const fitted = trainImplicitAls(pre, params);
    const folded = foldInUsers(fitted, g.rt, params);
    const full = trainImplicitAls(g.rt, params);
    const a = precisionAt10(folded, g);
    const b = precisionAt10(full, g);
    if (process.env.ALS_TEST_VERBOSE) console.log(`precision@10 fold-in ${a.pAls} full fit ${b.pAls} popularity ${a.pPop}`);
    expect(a.pAls).toBeGreaterThanOrEqual(0.1);
    expect(a.pAls).toBeGreaterThanOrEqual(3 * a.pPop);
    expect(a.pAls).toBeGreaterThanOrEqual(0.8 * b.pAls);
  });
});

describe('threads', () => {
  // Above the single-thread thresholds: >= PARALLEL_MIN_RATINGS ratings, scoring >= PARALLEL_MIN_SCORE_WORK.
  const rt = (() => {
    // About 20 random items per user (duplicates summed), generated sparsely.
    const r = rng(31);
    const n = 12000 * 20;
    const u = Int32Array.from({ length: n }, (_, k) => Math.floor(k / 20));
    const i = Int32Array.from({ length: n }, () => Math.floor(4000 * r() * r()));
    const v = Float32Array.from({ length: n }, () => 1 + Math.floor(r() * 5));
    return ratingsFromTriples(12000, 4000, u, i, v);
  })();
  const p: AlsParams = { rank: 16, regParam: 0.05, alpha: 5, maxIter: 2, seed: 8 };
  const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

  it('the problem is above the thresholds', () => {
    expect(rt.itemIdx.length).toBeGreaterThanOrEqual(PARALLEL_MIN_RATINGS);
    expect(rt.users * rt.items * p.rank).toBeGreaterThanOrEqual(PARALLEL_MIN_SCORE_WORK);
    expect(rt.items * rt.items * p.rank).toBeGreaterThanOrEqual(PARALLEL_MIN_SCORE_WORK);
  });

  it('one and two threads give bit-identical training, fold-in, recommendations and similar items', () => {
    const m1 = trainImplicitAls(rt, { ...p, threads: 1 });
    const m2 = trainImplicitAls(rt, { ...p, threads: 2 });
    expect(same(m1.userFactors, m2.userFactors)).toBe(true);
    expect(same(m1.itemFactors, m2.itemFactors)).toBe(true);
    expect(m1.lossHistory).toEqual(m2.lossHistory);
    expect(Object.prototype.toString.call(m2.userFactors.buffer)).toBe('[object ArrayBuffer]'); // not left on shared memory
    expect(implicitLoss(rt, m1, { ...p, threads: 2 })).toBe(implicitLoss(rt, m1, { ...p, threads: 1 }));

    const f1 = foldInUsers(m1, rt, { ...p, threads: 1 });
    const f2 = foldInUsers(m1, rt, { ...p, threads: 2 });
    expect(same(f1.userFactors, f2.userFactors)).toBe(true);
    expect(f1.lossHistory).toEqual(f2.lossHistory);

    const users = Int32Array.from({ length: rt.users }, (_, u) => (u * 7919) % rt.users);
    const exclude = (u: number) => (u % 3 === 0 ? rt.itemIdx.subarray(rt.userPtr[u], rt.userPtr[u + 1]) : undefined);
    const recs = (threads: number) => {
      const out: number[] = [];
      recommendForUsers(m1, users, 10, exclude, (u, items, scores) => {
        out.push(u, items.length, ...items, ...Array.from(scores));
      }, undefined, { threads });
      return out;
    };
    const r1 = recs(1);
    expect(recs(2)).toEqual(r1);
    expect(r1.length).toBe(rt.users * 22);

    const items = Int32Array.from({ length: rt.items }, (_, i) => i);
    const sims = (threads: number) => {
      const out: number[] = [];
      similarItems(m1, items, 5, (it, s, v) => out.push(it, s.length, ...s, ...Array.from(v)), undefined, { threads });
      return out;
    };
    expect(sims(2)).toEqual(sims(1));
  });

  it('a failing worker surfaces as a thrown Error, and the pool keeps working', () => {
    expect(() => checkAlsWorkers({ threads: 2, failWith: 'planted worker failure' })).toThrow(/planted worker failure/);
    expect(() => checkAlsWorkers({ threads: 2 })).not.toThrow();
    const a = trainImplicitAls(rt, { ...p, maxIter: 1, threads: 2 });
    const b = trainImplicitAls(rt, { ...p, maxIter: 1, threads: 1 });
    expect(same(a.userFactors, b.userFactors)).toBe(true);
  });
});
