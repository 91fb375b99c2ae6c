/**
 * ALS for implicit feedback: the local twin of Spark MLlib `ALS(implicitPrefs = true)`.
 *
 * Method
 * - Hu, Koren, Volinsky 2008, "Collaborative Filtering for Implicit Feedback Datasets" (ICDM):
 *   preference p_ui = 1 if r_ui > 0 else 0, confidence c_ui = 1 + alpha * r_ui, and the objective
 *     L = sum over ALL (u, i) of c_ui (p_ui - x_u . y_i)^2 + lambda (sum_u n_u |x_u|^2 + sum_i n_i |y_i|^2)
 *   with the ALS-WR weighting Spark uses (lambda scaled by n_u / n_i, the number of positive ratings of
 *   the user / item). The unobserved entries (c = 1, p = 0) are summed with the Gram trick:
 *   sum_i (x_u . y_i)^2 = x_u^T (Y^T Y) x_u.
 * - Takacs, Pilaszy, Tikk 2011, "Applications of the conjugate gradient method for implicit feedback
 *   collaborative filtering" (RecSys): instead of a Cholesky solve per user, `cgSteps` conjugate-gradient
 *   steps warm-started from the current factor, on
 *     (G + Y^T (C_u - I) Y + lambda n_u I) x = Y^T C_u p_u,   G = Y^T Y,
 *   with the matrix never formed: A v = G v + sum_{i in I_u} (c_ui - 1)(y_i . v) y_i + lambda n_u v.
 *   CG from a warm start lowers the (convex) per-user quadratic at every step, and that quadratic is
 *   exactly the part of L that depends on x_u, so L never increases (up to Float32 rounding of the
 *   stored factors).
 *
 * One iteration = users (given items), then items (given users). Spark's loop updates items first;
 * the order only changes which initial factors matter. Entities with no positive rating get the zero
 * vector (the minimiser of x^T G x). Loss is evaluated after init and after every iteration.
 *
 * Parameters: rank, regParam (lambda), alpha, maxIter, seed, cgSteps (default 3), lossTolerance (early
 * stop once an iteration lowers the loss by no more than that fraction; default off, as in Spark).
 * Complexity per iteration: O(nnz * rank * (cgSteps + 1) + (users + items) * rank^2 * (cgSteps + 1))
 * time — i.e. O(nnz·rank·cgSteps + (users+items)·rank²) — and O(users + items + nnz) memory besides
 * the factors (one item-major copy of the ratings). The loss after each iteration costs another
 * O(nnz·rank + (users + items)·rank²): its unobserved part is trace((X^T X)(Y^T Y)).
 *
 * Init (like Spark's ALS.initialize): each factor vector is rank draws of a standard normal (Box-Muller
 * on a seeded sfc32 stream), scaled to unit Euclidean norm; no abs. User and item factors come from two
 * independent streams derived from `seed` (streams 1 and 2), so the result is a pure function of the
 * inputs and the seed.
 *
 * Layout: Float32Array factors (entity-major, `rank` floats per entity), CSR (Int32Array pointers and
 * indices, Float32Array values) user-major as given and item-major built here by counting sort. In the
 * JS kernels all arithmetic on scalars is in doubles; only the stored factors are Float32.
 *
 * Kernels: the CG solve, the Gram, the loss and the top-n dot block run as WebAssembly SIMD (f32x4 /
 * f64x2) where available (./wasm/als-kernels.ts, built by our own emitter ./wasm/emit.ts; the solve ~9x
 * and the Gram ~10x the JS kernels on bench/als-kernels.ts, top-n ~2.3x on bench/als-topn.ts), else as
 * the JS kernels below, behind the same tasks. The WASM kernels need their arrays in one shared
 * WebAssembly.Memory, so a training call (trainImplicitAls, foldInUsers, implicitLoss) allocates its
 * ratings copies, factors and Gram partials from that arena (a bump allocator released when the call
 * ends) instead of plain or SharedArrayBuffer arrays, on any thread count; returned factors are plain
 * copies. The WASM solve keeps the CG vectors in Float32 (the reductions in f64): its rows are within
 * ~1e-5 relative of the JS solve's, not bit-identical (the Gram is bit-identical). Chosen per call: the
 * WASM kernels when WebAssembly.validate accepts the SIMD module, a shared Memory can be made and the
 * arena can hold the call's arrays; otherwise the JS kernels. `SHOPSIGHT_ALS_KERNELS=js` (environment,
 * read at every call) forces the JS kernels. Results stay bit-identical for any thread count either
 * way. The WASM loss is bit-identical to the JS one. The top-n heaps and pruning are JS; the WASM top-n
 * scores (sums in double in the JS order) are bit-identical to the JS ones, so scoring output is
 * identical on both paths (from SCORE_WASM_MIN_PAIRS queries x candidates, where copying the query
 * factors into the arena pays).
 *
 * Scoring: scores are x_u . y_i summed in double in order k = 0..rank-1, then rounded to Float32;
 * ranking is by the Float32 score, ties by lower item index, so the output is consistent with the
 * returned scores. Exact norm-bound pruning: the candidate rows are copied once per call in descending
 * norm ‖y‖, each query scans them in that order with a size-n binary min-heap (ordered by score, then
 * item, so arrival order does not matter) and stops at the first row where ‖x‖·‖y‖, widened by a
 * rounding margin, is below the Float32 predecessor of the heap's threshold: by Cauchy-Schwarz no
 * later row can enter or tie (see topNRange). The output is the exhaustive scan's, bit for bit; the
 * work per query is the rows scanned until the bound drops below its n-th best score, which depends on
 * how skewed the norms are (ScoringOptions.stats reports it).
 *
 * Fold-in (foldInUsers): user factors for a new ratings matrix over the same items, by one zero-start
 * user half-step against fixed item factors (our serving shortcut; Spark has none).
 *
 * Threads (AlsParams.threads / ScoringOptions.threads, default os.availableParallelism() capped at 8):
 * the user and item half-steps, the Gram matrices, the loss and the top-n scoring are split into tasks
 * (entity / query ranges) that the persistent worker pool of local/ml/worker-pool.ts and the main
 * thread take from a shared counter, over SharedArrayBuffer-backed factors and ratings. The API stays
 * synchronous: the main thread takes tasks itself and then blocks in Atomics.wait until the workers
 * report; workers report errors through shared memory, so a failure is a thrown Error, not a hang (a
 * worker that dies outright is reported after two minutes without progress). Results are bit-identical for any thread count
 * (with either kernels): each solve / score depends only on its own row and the other side's factors,
 * and the Gram and loss sums are formed per fixed block of SUM_BLOCK entities and added in block order
 * in the main thread. Small problems (< PARALLEL_MIN_RATINGS ratings, scoring < PARALLEL_MIN_SCORE_WORK
 * multiply-adds) stay in the main thread, where worker start-up and copies would dominate.
 *
 * Why the workers (local/ml/pool-worker.js) run `Function.prototype.toString()` of the kernels rather
 * than importing this module: it runs transpiled per file by ts-jest, through the CLI's esbuild require
 * hook (main thread only) and as plain JavaScript, and a worker cannot load a .ts file in the first
 * two. After any of these transpilations the kernels' source text is plain JavaScript, so
 * one copy of the kernels serves both the main thread and the workers, with nothing to keep in sync.
 * The kernels (between "Kernels" and KERNELS below) therefore use only their arguments, each other and
 * built-ins. If their text is not self-contained (istanbul coverage counters), threads are switched off.
 */

import { mix32, Sfc32, streamSeedWords } from './random';
import { resolveThreads, WorkerPool } from './worker-pool';
import { alsWasm, AlsWasmKernels, gram32Length, solveScratchBytes, WasmArena, writeCandidatePairs, writeGram32 } from './wasm/als-kernels';

export interface ImplicitRatings {
  users: number;
  items: number;
  userPtr: Int32Array /* users+1 */;
  itemIdx: Int32Array /* nnz */;
  values: Float32Array /* r_ui > 0 */;
}

export interface AlsParams {
  rank: number;
  regParam: number;
  alpha: number;
  maxIter: number;
  seed: number;
  cgSteps?: number;
  /** CG steps of foldInUsers (zero start, single pass); default min(rank, 3 * cgSteps). */
  foldInCgSteps?: number;
  /**
   * Early stop: training ends after the first iteration t whose loss fell by no more than
   * lossTolerance · L(t-1) (relative decrease ≤ lossTolerance), even before maxIter. Unset or 0:
   * off, every one of maxIter iterations runs, as Spark's ALS (which has no convergence test) does.
   */
  lossTolerance?: number;
  /**
   * Threads (the main thread included) for training, fold-in and the loss; default
   * os.availableParallelism() capped at 8. Problems under PARALLEL_MIN_RATINGS ratings stay
   * single-threaded. Results are bit-identical for any value.
   */
  threads?: number;
}

export interface AlsModel {
  rank: number;
  users: number;
  items: number;
  userFactors: Float32Array;
  itemFactors: Float32Array;
  /** Loss after init and after each full iteration run: maxIter + 1 entries, fewer when lossTolerance stopped training early. */
  lossHistory: number[];
}

// ---------------------------------------------------------------------------------------------
// Seeded normals: the engine's sfc32 (./random) per (seed, mixed stream), Box-Muller on (0, 1].

class SeededNormals extends Sfc32 {
  private spare = NaN;

  constructor(seed: number, stream: number) {
    super(streamSeedWords(seed, mix32(stream)), 12);
  }

  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.nextOpen()));
    const th = 2 * Math.PI * this.nextOpen();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
}

function initFactors(n: number, rank: number, seed: number, stream: number): Float32Array {
  const rng = new SeededNormals(seed, stream);
  const f = new Float32Array(n * rank);
  const tmp = new Float64Array(rank);
  for (let e = 0; e < n; e++) {
    let nrm = 0;
    for (let k = 0; k < rank; k++) {
      const v = rng.normal();
      tmp[k] = v;
      nrm += v * v;
    }
    const inv = nrm > 0 ? 1 / Math.sqrt(nrm) : 0;
    const o = e * rank;
    for (let k = 0; k < rank; k++) f[o + k] = tmp[k] * inv;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Ratings.

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
}

/**
 * CSR ratings from (user, item, value) triples. Duplicate (u, i) pairs are summed; pairs whose summed
 * value is not > 0 (or not finite) are dropped, since implicit preference needs r > 0. Items within a
 * user are sorted ascending. Out-of-range indices throw.
 */
export function ratingsFromTriples(
  users: number,
  items: number,
  u: Int32Array,
  i: Int32Array,
  r: Float32Array,
): ImplicitRatings {
  checkCount('users', users);
  checkCount('items', items);
  const n = u.length;
  if (i.length !== n || r.length !== n) throw new RangeError('u, i and r must have the same length');
  // Counting sort by user.
  const cnt = new Int32Array(users + 1);
  for (let k = 0; k < n; k++) {
    const uu = u[k];
    const ii = i[k];
    if (uu < 0 || uu >= users) throw new RangeError(`user index ${uu} out of range [0, ${users})`);
    if (ii < 0 || ii >= items) throw new RangeError(`item index ${ii} out of range [0, ${items})`);
    cnt[uu + 1]++;
  }
  for (let k = 0; k < users; k++) cnt[k + 1] += cnt[k];
  const pos = cnt.slice(0, users);
  const byUserItem = new Int32Array(n);
  const byUserVal = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const p = pos[u[k]]++;
    byUserItem[p] = i[k];
    byUserVal[p] = r[k];
  }
  // Per user: sort by item (index permutation), sum duplicates, drop non-positive.
  const userPtr = new Int32Array(users + 1);
  const outItem = new Int32Array(n);
  const outVal = new Float32Array(n);
  let w = 0;
  let order = new Int32Array(16);
  for (let uu = 0; uu < users; uu++) {
    const s = cnt[uu];
    const e = cnt[uu + 1];
    const len = e - s;
    if (order.length < len) order = new Int32Array(Math.max(len, order.length * 2));
    for (let k = 0; k < len; k++) order[k] = s + k;
    const view = order.subarray(0, len);
    view.sort((a, b) => byUserItem[a] - byUserItem[b] || a - b);
    let k = 0;
    while (k < len) {
      const it = byUserItem[view[k]];
      let sum = 0;
      while (k < len && byUserItem[view[k]] === it) sum += byUserVal[view[k++]];
      if (sum > 0 && Number.isFinite(sum)) {
        outItem[w] = it;
        outVal[w] = sum;
        w++;
      }
    }
    userPtr[uu + 1] = w;
  }
  return { users, items, userPtr, itemIdx: outItem.slice(0, w), values: outVal.slice(0, w) };
}

function checkRatings(rt: ImplicitRatings): void {
  checkCount('users', rt.users);
  checkCount('items', rt.items);
  if (rt.userPtr.length !== rt.users + 1) throw new RangeError('userPtr must have users+1 entries');
  const nnz = rt.itemIdx.length;
  if (rt.values.length !== nnz) throw new RangeError('itemIdx and values must have the same length');
  if (rt.userPtr[0] !== 0 || rt.userPtr[rt.users] !== nnz) throw new RangeError('userPtr must run from 0 to nnz');
  for (let u = 0; u < rt.users; u++) {
    if (rt.userPtr[u + 1] < rt.userPtr[u]) throw new RangeError('userPtr must be non-decreasing');
  }
  for (let k = 0; k < nnz; k++) {
    const it = rt.itemIdx[k];
    if (it < 0 || it >= rt.items) throw new RangeError(`item index ${it} out of range [0, ${rt.items})`);
    if (!(rt.values[k] > 0)) throw new RangeError(`values must be > 0 (got ${rt.values[k]} at ${k})`);
  }
}

/** Whether `x` is a value AlsParams.lossTolerance accepts: a number in [0, 1). */
export function isLossTolerance(x: unknown): x is number {
  return typeof x === 'number' && x >= 0 && x < 1;
}

function checkParams(p: AlsParams): number {
  if (!Number.isInteger(p.rank) || p.rank < 1) throw new RangeError(`rank must be a positive integer, got ${p.rank}`);
  if (!(p.regParam >= 0) || !Number.isFinite(p.regParam)) throw new RangeError(`regParam must be >= 0, got ${p.regParam}`);
  if (!(p.alpha >= 0) || !Number.isFinite(p.alpha)) throw new RangeError(`alpha must be >= 0, got ${p.alpha}`);
  checkCount('maxIter', p.maxIter);
  if (!Number.isFinite(p.seed)) throw new RangeError(`seed must be finite, got ${p.seed}`);
  const cg = p.cgSteps ?? 3;
  if (!Number.isInteger(cg) || cg < 1) throw new RangeError(`cgSteps must be a positive integer, got ${cg}`);
  if (!isLossTolerance(p.lossTolerance ?? 0)) throw new RangeError(`lossTolerance must be in [0, 1), got ${p.lossTolerance}`);
  return cg;
}

// ---------------------------------------------------------------------------------------------
// Kernels. Everything from here to `KERNELS` runs both in the main thread and, as source text, in the
// worker threads: each is a plain function (or class) that uses only its arguments, the other kernels
// named in `KERNELS` and JavaScript built-ins — no imports, no module state, no exports.

/** sum_k f[fo + k] * d[k], four accumulators (breaks the add-latency chain). */
function dotFD(f: Float32Array, fo: number, d: Float64Array, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += f[fo + k] * d[k];
    s1 += f[fo + k + 1] * d[k + 1];
    s2 += f[fo + k + 2] * d[k + 2];
    s3 += f[fo + k + 3] * d[k + 3];
  }
  for (; k < n; k++) s0 += f[fo + k] * d[k];
  return s0 + s1 + (s2 + s3);
}

/** sum_k g[go + k] * d[k] on doubles, four accumulators. */
function dotDD(g: Float64Array, go: number, d: Float64Array, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += g[go + k] * d[k];
    s1 += g[go + k + 1] * d[k + 1];
    s2 += g[go + k + 2] * d[k + 2];
    s3 += g[go + k + 3] * d[k + 3];
  }
  for (; k < n; k++) s0 += g[go + k] * d[k];
  return s0 + s1 + (s2 + s3);
}

/** out += c * f[fo .. fo + n) */
function axpyF(c: number, f: Float32Array, fo: number, out: Float64Array, n: number): void {
  for (let k = 0; k < n; k++) out[k] += c * f[fo + k];
}

/**
 * Rows [from, to) of `dst` (entities of the CSR ptr/idx/val) re-solved given `src` and its Gram matrix
 * G, by cgSteps CG steps started from the current row (or from zero when zeroStart). Each row depends
 * only on its own ratings, `src` and G, never on another row of `dst`.
 */
function solveRange(
  ptr: Int32Array,
  idx: Int32Array,
  val: Float32Array,
  dst: Float32Array,
  src: Float32Array,
  G: Float64Array,
  rank: number,
  lambda: number,
  alpha: number,
  cgSteps: number,
  zeroStart: boolean,
  from: number,
  to: number,
): void {
  const x = new Float64Array(rank);
  const r = new Float64Array(rank);
  const p = new Float64Array(rank);
  const ap = new Float64Array(rank);
  for (let e = from; e < to; e++) {
    const s = ptr[e];
    const t = ptr[e + 1];
    const o = e * rank;
    if (s === t) {
      for (let k = 0; k < rank; k++) dst[o + k] = 0;
      continue;
    }
    const reg = lambda * (t - s);
    for (let k = 0; k < rank; k++) {
      x[k] = zeroStart ? 0 : dst[o + k];
      r[k] = 0;
    }
    // r = b - A x = sum_i (c_ui - (c_ui - 1)(y_i . x)) y_i - G x - reg x
    for (let q = s; q < t; q++) {
      const yo = idx[q] * rank;
      const c1 = alpha * val[q];
      axpyF(1 + c1 - c1 * dotFD(src, yo, x, rank), src, yo, r, rank);
    }
    let rr = 0;
    for (let a = 0; a < rank; a++) {
      const ra = r[a] - dotDD(G, a * rank, x, rank) - reg * x[a];
      r[a] = ra;
      p[a] = ra;
      rr += ra * ra;
    }
    for (let step = 0; step < cgSteps; step++) {
      if (!(rr > 0)) break;
      // ap = A p
      for (let a = 0; a < rank; a++) ap[a] = dotDD(G, a * rank, p, rank) + reg * p[a];
      for (let q = s; q < t; q++) {
        const yo = idx[q] * rank;
        const coef = alpha * val[q] * dotFD(src, yo, p, rank);
        if (coef !== 0) axpyF(coef, src, yo, ap, rank);
      }
      let pap = 0;
      for (let k = 0; k < rank; k++) pap += p[k] * ap[k];
      if (!(pap > 0)) break;
      const stepA = rr / pap;
      let rrNew = 0;
      for (let k = 0; k < rank; k++) {
        x[k] += stepA * p[k];
        const rk = r[k] - stepA * ap[k];
        r[k] = rk;
        rrNew += rk * rk;
      }
      const beta = rrNew / rr;
      rr = rrNew;
      for (let k = 0; k < rank; k++) p[k] = r[k] + beta * p[k];
    }
    for (let k = 0; k < rank; k++) dst[o + k] = x[k];
  }
}

/** Upper triangle of F[from..to)^T F[from..to) into out[oo .. oo + rank^2) (zeroed first). */
function gramRange(f: Float32Array, from: number, to: number, rank: number, out: Float64Array, oo: number): void {
  out.fill(0, oo, oo + rank * rank);
  for (let e = from; e < to; e++) {
    const o = e * rank;
    for (let a = 0; a < rank; a++) {
      const fa = f[o + a];
      if (fa === 0) continue;
      const row = oo + a * rank;
      for (let b = a; b < rank; b++) out[row + b] += fa * f[o + b];
    }
  }
}

/**
 * The user-dependent part of the loss for users [from, to): sum_u [ sum_{i in I_u} (c_ui (1 - d)^2 - d^2)
 * + lambda n_u |x_u|^2 ], d = x_u . y_i (the unobserved-pair sum is added from the Gram matrices).
 */
function lossRange(
  ptr: Int32Array,
  idx: Int32Array,
  val: Float32Array,
  X: Float32Array,
  Y: Float32Array,
  rank: number,
  lambda: number,
  alpha: number,
  from: number,
  to: number,
): number {
  const x = new Float64Array(rank);
  let total = 0;
  for (let u = from; u < to; u++) {
    const o = u * rank;
    let nx = 0;
    for (let k = 0; k < rank; k++) {
      const v = X[o + k];
      x[k] = v;
      nx += v * v;
    }
    let obs = 0;
    const s = ptr[u];
    const t = ptr[u + 1];
    for (let q = s; q < t; q++) {
      const d = dotFD(Y, idx[q] * rank, x, rank);
      const c = 1 + alpha * val[q];
      const e = 1 - d;
      obs += c * e * e - d * d;
    }
    total += obs + lambda * (t - s) * nx;
  }
  return total;
}

function contains(sorted: Int32Array | undefined, v: number): boolean {
  if (!sorted) return false;
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = sorted[mid];
    if (m === v) return true;
    if (m < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Bounded min-heap of (score, item): root is the worst kept (lowest score, then highest index). */
class TopN {
  readonly score: Float64Array;
  readonly item: Int32Array;
  readonly n: number;
  size = 0;
  exclude: Int32Array | undefined = undefined;
  self = -1;

  constructor(n: number) {
    this.n = n;
    this.score = new Float64Array(Math.max(n, 1));
    this.item = new Int32Array(Math.max(n, 1));
  }

  reset(exclude: Int32Array | undefined, self: number): void {
    this.size = 0;
    this.exclude = exclude;
    this.self = self;
  }

  worse(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa < sb || (sa === sb && this.item[a] > this.item[b]);
  }

  swap(a: number, b: number): void {
    const s = this.score[a];
    this.score[a] = this.score[b];
    this.score[b] = s;
    const i = this.item[a];
    this.item[a] = this.item[b];
    this.item[b] = i;
  }

  /**
   * Offer a (Float32-rounded) score. Items may arrive in any order: a newcomer replaces the root when it
   * is better in the order (score desc, item asc), so the kept set is the same for any arrival order.
   * Returns the new threshold: the root's score (-Infinity until full).
   */
  offer(score: number, item: number): number {
    const n = this.n;
    if (n === 0) return Infinity;
    if (item === this.self || contains(this.exclude, item)) return this.size < n ? -Infinity : this.score[0];
    if (this.size < n) {
      let c = this.size++;
      this.score[c] = score;
      this.item[c] = item;
      while (c > 0) {
        const par = (c - 1) >> 1;
        if (!this.worse(c, par)) break;
        this.swap(c, par);
        c = par;
      }
      return this.size < n ? -Infinity : this.score[0];
    }
    if (!(score > this.score[0] || (score === this.score[0] && item < this.item[0]))) return this.score[0];
    this.score[0] = score;
    this.item[0] = item;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= n) break;
      let m = l;
      if (l + 1 < n && this.worse(l + 1, l)) m = l + 1;
      if (!this.worse(m, c)) break;
      this.swap(m, c);
      c = m;
    }
    return this.score[0];
  }

  /** Writes the kept entries best first (ties by lower index) at items/scores[o ..); returns the count. */
  writeTo(items: Int32Array, scores: Float32Array, o: number): number {
    const k = this.size;
    const order: number[] = [];
    for (let j = 0; j < k; j++) order.push(j);
    const sc = this.score;
    const it = this.item;
    order.sort((a, b) => sc[b] - sc[a] || it[a] - it[b]);
    for (let j = 0; j < k; j++) {
      items[o + j] = it[order[j]];
      scores[o + j] = sc[order[j]];
    }
    return k;
  }
}

/** A top-n scoring job: query q (position in qRows) is row qRows[q] of Q. */
interface TopNJob {
  kind: 'topn';
  Q: Float32Array;
  qRows: Int32Array;
  /** m x rank candidate rows in descending norm: row j is item candItem[j], of norm (as computed) cNorm[j]. */
  C: Float32Array;
  m: number;
  candItem: Int32Array;
  cNorm: Float64Array;
  rank: number;
  n: number;
  /** Per query q: excluded items exIdx[exPtr[q] .. exPtr[q + 1]), sorted ascending. */
  exPtr: Int32Array | null;
  exIdx: Int32Array | null;
  /** Similar items: a query never returns its own row, and rows with valid[row] = 0 return nothing. */
  selfIsRow: boolean;
  valid: Uint8Array | null;
  block: number;
  outItems: Int32Array /* qRows.length x n */;
  outScores: Float32Array;
  outCount: Int32Array;
  /** Per query: candidate rows scored before the norm bound stopped the scan. */
  outScored: Int32Array;
  /**
   * Set when Q is in the WASM arena: the candidates as the score kernel's pairs of doubles (address
   * c2), and per task a slot of `slot` doubles of `scores` (chunk rows x 4 queries, then 4 rank of scratch).
   */
  wasm: { c2: number; scores: Float64Array; slot: number; chunk: number } | null;
}

/**
 * A double at or below the Float32 predecessor of the Float32 `t`: a score s < belowF32(t) rounds to a
 * Float32 below t (Math.fround is monotone), so it can neither beat nor tie the threshold t.
 * ulp(t) <= max(|t| 2^-23, 2^-149), so subtracting |t| 2^-22 + 2^-149 is enough with room for the
 * rounding of this very expression. -Infinity stays -Infinity (heap not full: everything passes).
 */
function belowF32(t: number): number {
  if (t === Infinity) return 3.4028234663852886e38;
  return t - Math.abs(t) * 2.384185791015625e-7 - 1.401298464324817e-45;
}

/**
 * Top-n for queries [qFrom, qTo) of a TopNJob, with exact norm-bound pruning: the candidates come in
 * descending norm, and a query's scan stops at the first row j whose bound |x| |y_j| (1 + eps) is below
 * belowF32(threshold) — every later row has a smaller norm, so by Cauchy-Schwarz none of them can reach
 * the heap. eps = (rank + 8) 2^-50 covers the rounding of the dot product (its products of Float32s are
 * exact in double, the rank - 1 additions err by at most (rank - 1) 2^-53 sum |x_k y_k| <= that times
 * |x| |y|) and of the two norms and the bound's products, with a factor of four to spare. Until the
 * heap is full the threshold is -Infinity and nothing stops. Every query's heap is its own and rows
 * it scores past its stop cannot enter it, so the grouping by four never changes a result. Four per
 * pass rather than one: 2.2x faster on the bench (bench/als-topn.ts) though each group scans until
 * its last query stops (35% of rows scored there instead of 30%).
 */
function topNRange(job: TopNJob, qFrom: number, qTo: number, wasm: AlsWasmKernels | null, task: number): void {
  const { Q, qRows, C, m, candItem, cNorm, rank, n, exPtr, exIdx, selfIsRow, valid, outItems, outScores, outCount, outScored } = job;
  // WASM: the four queries' scores of `chunk` rows at a time, computed ahead into sc (the same doubles
  // as the loops below; rows past a stop are scored but never offered).
  const ws = wasm && job.wasm ? job.wasm : null;
  const sc = ws ? ws.scores.subarray(task * ws.slot, (task + 1) * ws.slot) : null;
  const chunk = ws ? ws.chunk : 0;
  const heaps = [new TopN(n), new TopN(n), new TopN(n), new TopN(n)];
  const margin = 1 + (rank + 8) * 8.881784197001252e-16;
  const nxs = [0, 0, 0, 0];
  const offs = [0, 0, 0, 0];
  const live = [false, false, false, false];
  const m2 = m & ~1;
  // Four queries per pass (each candidate row loaded once for four), each with its own stop; the pass
  // ends when all four have stopped. A stopped query's l is NaN, so nothing more enters its heap.
  for (let b = qFrom; b < qTo; b += 4) {
    let alive = 0;
    for (let s = 0; s < 4; s++) {
      const qi = b + s < qTo ? b + s : -1;
      const row = qi >= 0 ? qRows[qi] : qRows[b];
      heaps[s].reset(qi >= 0 && exPtr && exIdx ? exIdx.subarray(exPtr[qi], exPtr[qi + 1]) : undefined, selfIsRow ? row : -1);
      live[s] = qi >= 0 && n > 0 && m > 0 && (valid === null || valid[row] === 1);
      if (live[s]) alive++;
      const o = row * rank;
      offs[s] = o;
      let xx = 0;
      for (let k = 0; k < rank; k++) xx += Q[o + k] * Q[o + k];
      nxs[s] = Math.sqrt(xx) * margin;
    }
    const o0 = offs[0];
    const o1 = offs[1];
    const o2 = offs[2];
    const o3 = offs[3];
    const n0 = nxs[0];
    const n1 = nxs[1];
    const n2 = nxs[2];
    const n3 = nxs[3];
    // t: the heap's threshold (Float32, -Infinity until full); l = belowF32(t), NaN once stopped (or
    // not live): a score below l cannot enter, and a bound below l stops the query.
    let t0 = -Infinity;
    let t1 = -Infinity;
    let t2 = -Infinity;
    let t3 = -Infinity;
    let l0 = live[0] ? -Infinity : NaN;
    let l1 = live[1] ? -Infinity : NaN;
    let l2 = live[2] ? -Infinity : NaN;
    let l3 = live[3] ? -Infinity : NaN;
    const h0 = heaps[0];
    const h1 = heaps[1];
    const h2 = heaps[2];
    const h3 = heaps[3];
    let cFrom = 0;
    let cTo = 0;
    let j = 0;
    for (; alive > 0 && j < m; j += 2) {
      const c = cNorm[j]; // >= cNorm[j + 1]: one test covers both rows of the step
      if (n0 * c < l0) {
        l0 = NaN;
        alive--;
      }
      if (n1 * c < l1) {
        l1 = NaN;
        alive--;
      }
      if (n2 * c < l2) {
        l2 = NaN;
        alive--;
      }
      if (n3 * c < l3) {
        l3 = NaN;
        alive--;
      }
      if (alive === 0) break;
      const co = j * rank;
      if (ws && sc && wasm && j >= cTo) {
        cFrom = j;
        cTo = Math.min(m, j + chunk);
        const qb = Q.byteOffset;
        wasm.score(qb + 4 * o0, qb + 4 * o1, qb + 4 * o2, qb + 4 * o3, rank, ws.c2, cFrom >> 1, (cTo + 1) >> 1, sc.byteOffset, sc.byteOffset + chunk * 32);
      }
      if (sc && j < m2) {
        const w = (j - cFrom) * 4;
        const ia = candItem[j];
        const ib = candItem[j + 1];
        if (sc[w] >= l0 && Math.fround(sc[w]) >= t0) l0 = belowF32((t0 = h0.offer(Math.fround(sc[w]), ia)));
        if (sc[w + 2] >= l1 && Math.fround(sc[w + 2]) >= t1) l1 = belowF32((t1 = h1.offer(Math.fround(sc[w + 2]), ia)));
        if (sc[w + 4] >= l2 && Math.fround(sc[w + 4]) >= t2) l2 = belowF32((t2 = h2.offer(Math.fround(sc[w + 4]), ia)));
        if (sc[w + 6] >= l3 && Math.fround(sc[w + 6]) >= t3) l3 = belowF32((t3 = h3.offer(Math.fround(sc[w + 6]), ia)));
        if (sc[w + 1] >= l0 && Math.fround(sc[w + 1]) >= t0) l0 = belowF32((t0 = h0.offer(Math.fround(sc[w + 1]), ib)));
        if (sc[w + 3] >= l1 && Math.fround(sc[w + 3]) >= t1) l1 = belowF32((t1 = h1.offer(Math.fround(sc[w + 3]), ib)));
        if (sc[w + 5] >= l2 && Math.fround(sc[w + 5]) >= t2) l2 = belowF32((t2 = h2.offer(Math.fround(sc[w + 5]), ib)));
        if (sc[w + 7] >= l3 && Math.fround(sc[w + 7]) >= t3) l3 = belowF32((t3 = h3.offer(Math.fround(sc[w + 7]), ib)));
      } else if (sc) {
        // The last row of an odd m (lane 0 of its pair).
        const w = (j - cFrom) * 4;
        const ia = candItem[j];
        if (sc[w] >= l0 && Math.fround(sc[w]) >= t0) h0.offer(Math.fround(sc[w]), ia);
        if (sc[w + 2] >= l1 && Math.fround(sc[w + 2]) >= t1) h1.offer(Math.fround(sc[w + 2]), ia);
        if (sc[w + 4] >= l2 && Math.fround(sc[w + 4]) >= t2) h2.offer(Math.fround(sc[w + 4]), ia);
        if (sc[w + 6] >= l3 && Math.fround(sc[w + 6]) >= t3) h3.offer(Math.fround(sc[w + 6]), ia);
      } else if (j < m2) {
        // Two candidates x four queries per k: 6 loads for 8 multiply-adds, 8 independent sums.
        let s0a = 0;
        let s0b = 0;
        let s1a = 0;
        let s1b = 0;
        let s2a = 0;
        let s2b = 0;
        let s3a = 0;
        let s3b = 0;
        for (let k = 0; k < rank; k++) {
          const ya = C[co + k];
          const yb = C[co + rank + k];
          const qv0 = Q[o0 + k];
          const qv1 = Q[o1 + k];
          const qv2 = Q[o2 + k];
          const qv3 = Q[o3 + k];
          s0a += qv0 * ya;
          s0b += qv0 * yb;
          s1a += qv1 * ya;
          s1b += qv1 * yb;
          s2a += qv2 * ya;
          s2b += qv2 * yb;
          s3a += qv3 * ya;
          s3b += qv3 * yb;
        }
        const ia = candItem[j];
        const ib = candItem[j + 1];
        if (s0a >= l0 && Math.fround(s0a) >= t0) l0 = belowF32((t0 = h0.offer(Math.fround(s0a), ia)));
        if (s1a >= l1 && Math.fround(s1a) >= t1) l1 = belowF32((t1 = h1.offer(Math.fround(s1a), ia)));
        if (s2a >= l2 && Math.fround(s2a) >= t2) l2 = belowF32((t2 = h2.offer(Math.fround(s2a), ia)));
        if (s3a >= l3 && Math.fround(s3a) >= t3) l3 = belowF32((t3 = h3.offer(Math.fround(s3a), ia)));
        if (s0b >= l0 && Math.fround(s0b) >= t0) l0 = belowF32((t0 = h0.offer(Math.fround(s0b), ib)));
        if (s1b >= l1 && Math.fround(s1b) >= t1) l1 = belowF32((t1 = h1.offer(Math.fround(s1b), ib)));
        if (s2b >= l2 && Math.fround(s2b) >= t2) l2 = belowF32((t2 = h2.offer(Math.fround(s2b), ib)));
        if (s3b >= l3 && Math.fround(s3b) >= t3) l3 = belowF32((t3 = h3.offer(Math.fround(s3b), ib)));
      } else {
        // The last row of an odd m.
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let k = 0; k < rank; k++) {
          const y = C[co + k];
          s0 += Q[o0 + k] * y;
          s1 += Q[o1 + k] * y;
          s2 += Q[o2 + k] * y;
          s3 += Q[o3 + k] * y;
        }
        const ia = candItem[j];
        if (s0 >= l0 && Math.fround(s0) >= t0) h0.offer(Math.fround(s0), ia);
        if (s1 >= l1 && Math.fround(s1) >= t1) h1.offer(Math.fround(s1), ia);
        if (s2 >= l2 && Math.fround(s2) >= t2) h2.offer(Math.fround(s2), ia);
        if (s3 >= l3 && Math.fround(s3) >= t3) h3.offer(Math.fround(s3), ia);
      }
    }
    // Rows scored for each live query of the group: up to where the last of the four stopped.
    const scanned = Math.min(j, m);
    for (let s = 0; s < 4 && b + s < qTo; s++) {
      const q = b + s;
      outScored[q] = live[s] ? scanned : 0;
      outCount[q] = live[s] ? heaps[s].writeTo(outItems, outScores, q * n) : 0;
    }
  }
}

interface SolveJob {
  kind: 'solve';
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  dst: Float32Array;
  src: Float32Array;
  G: Float64Array;
  rank: number;
  lambda: number;
  alpha: number;
  cgSteps: number;
  zeroStart: boolean;
  /** Task t solves entities [bounds[t], bounds[t + 1]). */
  bounds: Int32Array;
  /** Set when every array is in the WASM arena: G as Float32 (wasm/als-kernels.ts) and per-task scratch, by address. */
  wasm: { g32: number; scratch: number; scratchBytes: number } | null;
}

interface GramJob {
  kind: 'gram';
  f: Float32Array;
  count: number;
  rank: number;
  block: number;
  out: Float64Array /* one rank x rank partial per block */;
  /** f and out are in the WASM arena: run the WASM kernel. */
  wasm: boolean;
}

interface LossJob {
  kind: 'loss';
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  X: Float32Array;
  Y: Float32Array;
  users: number;
  rank: number;
  lambda: number;
  alpha: number;
  block: number;
  out: Float64Array /* one partial sum per block */;
  /** Set when every array is in the WASM arena: per-task scratch of `slot` bytes (x_u as doubles), by address. */
  wasm: { scratch: number; slot: number } | null;
}

interface FailJob {
  kind: 'fail';
  message: string;
}

type Job = SolveJob | GramJob | LossJob | TopNJob | FailJob;

/** Task t of a job (the unit handed to threads); `wasm`: this thread's instance of the WASM kernels, if any. */
function runTask(job: Job, t: number, inWorker: boolean, wasm: AlsWasmKernels | null): void {
  if ((job.kind === 'solve' || job.kind === 'gram' || job.kind === 'loss') && job.wasm && !wasm) throw new Error('the ALS WASM kernels are not instantiated in this thread');
  switch (job.kind) {
    case 'solve':
      if (job.wasm && wasm) {
        wasm.solve(
          job.ptr.byteOffset, job.idx.byteOffset, job.val.byteOffset, job.dst.byteOffset, job.src.byteOffset, job.wasm.g32, job.rank,
          job.lambda, job.alpha, job.cgSteps, job.zeroStart ? 1 : 0, job.bounds[t], job.bounds[t + 1], job.wasm.scratch + t * job.wasm.scratchBytes,
        );
        return;
      }
      solveRange(
        job.ptr, job.idx, job.val, job.dst, job.src, job.G, job.rank, job.lambda, job.alpha, job.cgSteps, job.zeroStart,
        job.bounds[t], job.bounds[t + 1],
      );
      return;
    case 'gram':
      if (job.wasm && wasm) {
        wasm.gram(job.f.byteOffset, t * job.block, Math.min(job.count, (t + 1) * job.block), job.rank, job.out.byteOffset + t * job.rank * job.rank * 8);
        return;
      }
      gramRange(job.f, t * job.block, Math.min(job.count, (t + 1) * job.block), job.rank, job.out, t * job.rank * job.rank);
      return;
    case 'loss':
      if (job.wasm && wasm) {
        job.out[t] = wasm.loss(
          job.ptr.byteOffset, job.idx.byteOffset, job.val.byteOffset, job.X.byteOffset, job.Y.byteOffset, job.rank, job.lambda, job.alpha,
          t * job.block, Math.min(job.users, (t + 1) * job.block), job.wasm.scratch + t * job.wasm.slot,
        );
        return;
      }
      job.out[t] = lossRange(
        job.ptr, job.idx, job.val, job.X, job.Y, job.rank, job.lambda, job.alpha, t * job.block, Math.min(job.users, (t + 1) * job.block),
      );
      return;
    case 'topn':
      if (job.wasm && !wasm) throw new Error('the ALS WASM kernels are not instantiated in this thread');
      topNRange(job, t * job.block, Math.min(job.qRows.length, (t + 1) * job.block), wasm, t);
      return;
    case 'fail':
      if (inWorker) throw new Error(job.message);
      return;
  }
}

/** The worker-thread copy of the kernels is built from these functions' source text. */
const KERNELS: ReadonlyArray<{ toString(): string }> = [
  dotFD, dotDD, axpyF, solveRange, gramRange, lossRange, contains, TopN, belowF32, topNRange, runTask,
];

/** The JS kernels, for tests that hold the WASM kernels (wasm/als-kernels.ts) against them. Internal. */
export const alsJsKernels = { solveRange, gramRange, lossRange } as const;

// ---------------------------------------------------------------------------------------------
// Thread pool (local/ml/worker-pool.ts): the kernels above as source text, and the WASM kernels'
// module and memory, which each worker instantiates once.

function kernelSource(): string {
  return `'use strict';\n${KERNELS.map((k) => k.toString()).join('\n')}\nreturn runTask;`;
}

const alsPool = new WorkerPool<Job, AlsWasmKernels>({
  name: 'ALS',
  source: kernelSource,
  runTask,
  wasm: () => {
    const wk = alsWasm();
    return wk ? { bytes: wk.bytes, memory: wk.memory, exports: wk.kernels } : null;
  },
});

/** False when the kernels' source cannot run in a worker (e.g. coverage instrumentation): threads off. */
function threadsUsable(): boolean {
  return alsPool.usable();
}

/** Terminates the ALS worker threads (they are unref'd, so this is only needed for a tidy shutdown). */
export async function shutdownAlsWorkers(): Promise<void> {
  await alsPool.shutdown();
}

/**
 * Runs tasks 0..tasks-1 of `job` on up to `threads` threads (the main thread included) and returns when
 * all are done. Which thread runs which task never changes a result: tasks write disjoint outputs.
 */
function runJob(job: Job, tasks: number, threads: number, mainHelps = true): void {
  alsPool.run(job, tasks, threads, mainHelps);
}

/**
 * Health check of the worker pool: runs a trivial job on `threads - 1` workers (all of them when
 * `failWith` is given: each then throws Error(failWith), which must surface here as a thrown Error).
 */
export function checkAlsWorkers(options: { threads?: number; failWith?: string } = {}): void {
  const threads = resolveThreads(options.threads);
  runJob({ kind: 'fail', message: options.failWith ?? '' }, options.failWith === undefined ? 0 : threads - 1, threads, false);
  if (options.failWith === undefined && threads > 1 && threadsUsable()) alsPool.ensure(threads - 1);
}

// ---------------------------------------------------------------------------------------------
// Shared buffers.

/** Below this many ratings training stays in the main thread (worker start-up and copies dominate). */
export const PARALLEL_MIN_RATINGS = 200_000;
/** Below this many multiply-adds (queries x candidates x rank) scoring stays in the main thread. */
export const PARALLEL_MIN_SCORE_WORK = 2.5e8;

function sharedF32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}

function sharedCopyF32(a: Float32Array): Float32Array {
  const out = sharedF32(a.length);
  out.set(a);
  return out;
}

function sharedCopyI32(a: Int32Array): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(a.length * 4));
  out.set(a);
  return out;
}

/** Whether a view is on a SharedArrayBuffer (tag test: works across realms, e.g. jest's sandbox). */
function isShared(a: ArrayBufferView): boolean {
  return Object.prototype.toString.call(a.buffer) === '[object SharedArrayBuffer]';
}

/**
 * Where a training call's arrays live: plain arrays (one thread, JS kernels), SharedArrayBuffers
 * (threads, JS kernels), or the WASM arena (the WASM kernels, any thread count; shared too).
 * `holds(a)`: the array can be used as is (else it is copied in).
 */
interface Buffers {
  shared: boolean;
  arena: WasmArena | null;
  f32(n: number): Float32Array;
  i32(n: number): Int32Array;
  f64(n: number): Float64Array;
  holds(a: ArrayBufferView): boolean;
  /** Frees what the call allocated (arena only). */
  release(): void;
}

const plainBuffers: Buffers = {
  shared: false,
  arena: null,
  f32: (n) => new Float32Array(n),
  i32: (n) => new Int32Array(n),
  f64: (n) => new Float64Array(n),
  holds: () => true,
  release: () => undefined,
};

const sharedBuffers: Buffers = {
  shared: true,
  arena: null,
  f32: sharedF32,
  i32: (n) => new Int32Array(new SharedArrayBuffer(n * 4)),
  f64: (n) => new Float64Array(new SharedArrayBuffer(n * 8)),
  holds: isShared,
  release: () => undefined,
};

function arenaBuffers(arena: WasmArena): Buffers {
  const mark = arena.mark();
  return {
    shared: true,
    arena,
    f32: (n) => arena.f32(n),
    i32: (n) => arena.i32(n),
    f64: (n) => arena.f64(n),
    holds: (a) => arena.owns(a),
    release: () => arena.release(mark),
  };
}

/** `SHOPSIGHT_ALS_KERNELS=js` forces the JS kernels (read at every call). */
function wasmWanted(): boolean {
  return process.env.SHOPSIGHT_ALS_KERNELS !== 'js';
}

/**
 * Buffers of a training-sized call needing about `bytes`: the WASM arena when the kernels are usable
 * (module validated, not forced off) and the arena can hold it, else shared iff threads > 1.
 */
function trainingBuffers(threads: number, bytes: number): Buffers {
  const wasm = wasmWanted() ? alsWasm() : null;
  if (wasm && wasm.arena.available() > bytes) return arenaBuffers(wasm.arena);
  return threads > 1 ? sharedBuffers : plainBuffers;
}

/** Arena bytes of a call: ratings both ways, factors, Gram partials, solve scratch (with room to spare). */
function trainingBytes(users: number, items: number, nnz: number, rank: number): number {
  const blocks = Math.ceil(Math.max(users, items) / SUM_BLOCK) + 1;
  return 1.25 * (8 * (users + items + 2) + 16 * nnz + 8 * rank * (users + items) + 8 * rank * rank * blocks + 4096 * solveScratchBytes(rank)) + (1 << 20);
}

function copyF32(buf: Buffers, a: Float32Array): Float32Array {
  const out = buf.f32(a.length);
  out.set(a);
  return out;
}

function copyI32(buf: Buffers, a: Int32Array): Int32Array {
  const out = buf.i32(a.length);
  out.set(a);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training.

interface Csr {
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
}

/** Item-major CSR from the user-major one (counting sort; users ascending within an item). */
function transpose(rt: ImplicitRatings, buf: Buffers): Csr {
  const nnz = rt.itemIdx.length;
  const ptr = buf.i32(rt.items + 1);
  for (let k = 0; k < nnz; k++) ptr[rt.itemIdx[k] + 1]++;
  for (let i = 0; i < rt.items; i++) ptr[i + 1] += ptr[i];
  const pos = ptr.slice(0, rt.items);
  const idx = buf.i32(nnz);
  const val = buf.f32(nnz);
  for (let u = 0; u < rt.users; u++) {
    for (let k = rt.userPtr[u], e = rt.userPtr[u + 1]; k < e; k++) {
      const p = pos[rt.itemIdx[k]]++;
      idx[p] = u;
      val[p] = rt.values[k];
    }
  }
  return { ptr, idx, val };
}

function byUserCsr(rt: ImplicitRatings, buf: Buffers): Csr {
  return {
    ptr: buf.holds(rt.userPtr) ? rt.userPtr : copyI32(buf, rt.userPtr),
    idx: buf.holds(rt.itemIdx) ? rt.itemIdx : copyI32(buf, rt.itemIdx),
    val: buf.holds(rt.values) ? rt.values : copyF32(buf, rt.values),
  };
}

/**
 * Entity ranges for the solve tasks, balanced on the approximate cost (rank + 2 nnz_e per entity and CG
 * step, in units of rank multiply-adds): about 256 tasks, so dynamic scheduling evens out the threads.
 * The split only affects scheduling, never a result.
 */
function solveBounds(ptr: Int32Array, n: number, rank: number): Int32Array {
  const total = 2 * ptr[n] + n * rank;
  const target = Math.max(total / 256, 1);
  const out: number[] = [0];
  let acc = 0;
  for (let e = 0; e < n; e++) {
    acc += 2 * (ptr[e + 1] - ptr[e]) + rank;
    if (acc >= target && e + 1 < n) {
      out.push(e + 1);
      acc = 0;
    }
  }
  if (n > 0) out.push(n);
  return Int32Array.from(out);
}

/** Fixed block of entities per Gram / loss task: partial sums are added in block order, so the result is the same for any thread count. */
const SUM_BLOCK = 8192;

/** G = F^T F (rank x rank, full symmetric, double), from per-block partials summed in block order. */
function gramOf(f: Float32Array, count: number, rank: number, threads: number, buf: Buffers): Float64Array {
  const blocks = Math.ceil(count / SUM_BLOCK);
  const rr = rank * rank;
  const t = threads > 1 && buf.shared && isShared(f) ? threads : 1;
  const mark = buf.arena?.mark();
  const out = buf.f64(Math.max(blocks, 1) * rr);
  const wasm = buf.arena !== null && buf.arena.owns(f);
  runJob({ kind: 'gram', f, count, rank, block: SUM_BLOCK, out, wasm }, blocks, t);
  const g = new Float64Array(rr);
  for (let b = 0; b < blocks; b++) for (let k = 0; k < rr; k++) g[k] += out[b * rr + k];
  if (mark !== undefined) buf.arena?.release(mark);
  for (let a = 0; a < rank; a++) for (let b = 0; b < a; b++) g[a * rank + b] = g[b * rank + a];
  return g;
}

/** The objective, given the Gram matrices of X and Y. */
function lossOf(
  byUser: Csr,
  users: number,
  items: number,
  itemCounts: Int32Array,
  X: Float32Array,
  Y: Float32Array,
  GX: Float64Array,
  GY: Float64Array,
  rank: number,
  lambda: number,
  alpha: number,
  threads: number,
): number {
  // sum_u x_u^T G_Y x_u = trace(G_X G_Y) = sum_ab G_X[a,b] G_Y[a,b].
  let total = 0;
  for (let k = 0; k < rank * rank; k++) total += GX[k] * GY[k];
  const blocks = Math.ceil(users / SUM_BLOCK);
  const shared = threads > 1 && isShared(X) && isShared(Y) && isShared(byUser.ptr) && isShared(byUser.idx) && isShared(byUser.val);
  const out = shared ? new Float64Array(new SharedArrayBuffer(Math.max(blocks, 1) * 8)) : new Float64Array(Math.max(blocks, 1));

  const arena = wasmWanted() ? alsWasm()?.arena ?? null : null;
  const mark = arena?.mark();
  let wasm: LossJob['wasm'] = null;
  if (arena && [X, Y, byUser.ptr, byUser.idx, byUser.val].every((a) => arena.owns(a))) {
    const slot = 16 * Math.ceil(rank / 2);
    wasm = { scratch: arena.f64((Math.max(blocks, 1) * slot) / 8).byteOffset, slot };
  }
  try {
    runJob({ kind: 'loss', ptr: byUser.ptr, idx: byUser.idx, val: byUser.val, X, Y, users, rank, lambda, alpha, block: SUM_BLOCK, out, wasm }, blocks, shared ? threads : 1);
  } finally {
    if (mark !== undefined) arena?.release(mark);
  }
  for (let b = 0; b < blocks; b++) total += out[b];
  for (let i = 0; i < items; i++) {
    const n = itemCounts[i];
    if (n === 0) continue;
    const o = i * rank;
    let ny = 0;
    for (let k = 0; k < rank; k++) ny += Y[o + k] * Y[o + k];
    total += lambda * n * ny;
  }
  return total;
}

function countsOf(rt: ImplicitRatings): Int32Array {
  const c = new Int32Array(rt.items);
  for (let k = 0; k < rt.itemIdx.length; k++) c[rt.itemIdx[k]]++;
  return c;
}

function solveSide(
  csr: Csr,
  n: number,
  dst: Float32Array,
  src: Float32Array,
  G: Float64Array,
  rank: number,
  lambda: number,
  alpha: number,
  cgSteps: number,
  zeroStart: boolean,
  threads: number,
  buf: Buffers,
): void {
  const bounds = solveBounds(csr.ptr, n, rank);
  const tasks = bounds.length - 1;
  const arena = buf.arena;
  const mark = arena?.mark();
  let wasm: SolveJob['wasm'] = null;
  if (arena && [csr.ptr, csr.idx, csr.val, dst, src].every((a) => arena.owns(a))) {
    const g32 = arena.f32(gram32Length(rank));
    writeGram32(G, rank, g32);
    const scratchBytes = solveScratchBytes(rank);
    wasm = { g32: g32.byteOffset, scratch: arena.f32((tasks * scratchBytes) / 4).byteOffset, scratchBytes };
  }
  try {
    runJob(
      { kind: 'solve', ptr: csr.ptr, idx: csr.idx, val: csr.val, dst, src, G, rank, lambda, alpha, cgSteps, zeroStart, bounds, wasm },
      tasks,
      threads,
    );
  } finally {
    if (mark !== undefined) arena?.release(mark);
  }
}

/** Threads for a training-sized problem: 1 below PARALLEL_MIN_RATINGS or when workers cannot run the kernels. */
function trainingThreads(params: AlsParams, nnz: number): number {
  const t = resolveThreads(params.threads);
  return t > 1 && nnz >= PARALLEL_MIN_RATINGS && threadsUsable() ? t : 1;
}

/** A plain (non-shared) copy of a factor array that was shared during the computation. */
function unshare(a: Float32Array): Float32Array {
  return isShared(a) ? a.slice() : a;
}

export function trainImplicitAls(
  ratings: ImplicitRatings,
  params: AlsParams,
  onIteration?: (iter: number, loss: number) => void,
): AlsModel {
  checkRatings(ratings);
  const cgSteps = checkParams(params);
  const { rank, regParam: lambda, alpha } = params;
  const { users, items } = ratings;
  const nnz = ratings.itemIdx.length;
  const threads = trainingThreads(params, nnz);
  const buf = trainingBuffers(threads, trainingBytes(users, items, nnz, rank));
  try {
    let userFactors = initFactors(users, rank, params.seed, 1);
    let itemFactors = initFactors(items, rank, params.seed, 2);
    if (buf.shared) {
      userFactors = copyF32(buf, userFactors);
      itemFactors = copyF32(buf, itemFactors);
    }
    const byUser = byUserCsr(ratings, buf);
    const byItem = transpose(ratings, buf);
    const itemCounts = countsOf(ratings);
    let GY = gramOf(itemFactors, items, rank, threads, buf);
    let GX = gramOf(userFactors, users, rank, threads, buf);
    const lossHistory = [lossOf(byUser, users, items, itemCounts, userFactors, itemFactors, GX, GY, rank, lambda, alpha, threads)];
    const tolerance = params.lossTolerance ?? 0;
    for (let it = 1; it <= params.maxIter; it++) {
      solveSide(byUser, users, userFactors, itemFactors, GY, rank, lambda, alpha, cgSteps, false, threads, buf);
      GX = gramOf(userFactors, users, rank, threads, buf);
      solveSide(byItem, items, itemFactors, userFactors, GX, rank, lambda, alpha, cgSteps, false, threads, buf);
      GY = gramOf(itemFactors, items, rank, threads, buf);
      const loss = lossOf(byUser, users, items, itemCounts, userFactors, itemFactors, GX, GY, rank, lambda, alpha, threads);
      lossHistory.push(loss);
      if (onIteration) onIteration(it, loss);
      const previous = lossHistory[it - 1];
      if (tolerance > 0 && previous - loss <= tolerance * previous) break;
    }
    return { rank, users, items, userFactors: unshare(userFactors), itemFactors: unshare(itemFactors), lossHistory };
  } finally {
    buf.release();
  }
}

/**
 * CG steps of a fold-in solve: `params.foldInCgSteps`, else min(rank, 3 * cgSteps). The fitted user
 * factors had cgSteps warm-started steps in each of maxIter iterations; a fold-in starts from zero
 * and gets a single pass, so it needs more steps to reach the same accuracy (see foldInUsers).
 */
function foldInSteps(params: AlsParams, cgSteps: number, rank: number): number {
  const s = params.foldInCgSteps ?? Math.min(rank, 3 * cgSteps);
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`foldInCgSteps must be a positive integer, got ${s}`);
  return s;
}

/**
 * Fold-in: a model with `model`'s item factors and user factors solved for `ratings` by one user
 * half-step (the per-user normal equations given the fixed item factors), from a zero start with
 * foldInCgSteps CG steps (default min(rank, 3 * cgSteps) — 9 at the default cgSteps = 3; CG from zero
 * on these well-regularised rank-sized systems is then within about 1e-3 relative of the exact solve,
 * as good as or better than the warm-started factors of the fit, at about 2.5 user half-steps of cost).
 * Spark has no fold-in; this is our shortcut for serving: the engine fits on the pre-holdout data
 * (for evaluation) and folds the full data's users in instead of a second full fit.
 *
 * `ratings` must be over the SAME item index space as the model (ratings.items === model.items; items
 * the fitted model has never seen must be mapped out by the caller — their factors would be zero
 * anyway); its user index space is its own (ratings.users rows). Users with no ratings get zero
 * factors. lossHistory holds one entry: the objective on `ratings` with the folded-in users.
 * `params.rank` must equal the model's rank; `params.threads` is honoured like in training.
 */
export function foldInUsers(model: AlsModel, ratings: ImplicitRatings, params: AlsParams): AlsModel {
  checkRatings(ratings);
  checkModel(undefined, model);
  const cgSteps = checkParams(params);
  if (params.rank !== model.rank) throw new RangeError(`params.rank ${params.rank} differs from the model rank ${model.rank}`);
  if (ratings.items !== model.items) {
    throw new RangeError(`ratings cover ${ratings.items} items but the model has ${model.items}: map unseen items out first`);
  }
  const rank = model.rank;
  const { regParam: lambda, alpha } = params;
  const steps = foldInSteps(params, cgSteps, rank);
  const threads = trainingThreads(params, ratings.itemIdx.length);
  const items = model.items;
  const users = ratings.users;
  const buf = trainingBuffers(threads, trainingBytes(users, items, ratings.itemIdx.length, rank));
  try {
    const itemFactors = buf.holds(model.itemFactors) ? model.itemFactors : copyF32(buf, model.itemFactors);
    const userFactors = buf.f32(users * rank);
    const byUser = byUserCsr(ratings, buf);
    const GY = gramOf(itemFactors, items, rank, threads, buf);
    solveSide(byUser, users, userFactors, itemFactors, GY, rank, lambda, alpha, steps, true, threads, buf);
    const GX = gramOf(userFactors, users, rank, threads, buf);
    const loss = lossOf(byUser, users, items, countsOf(ratings), userFactors, itemFactors, GX, GY, rank, lambda, alpha, threads);
    return { rank, users, items, userFactors: unshare(userFactors), itemFactors: model.itemFactors, lossHistory: [loss] };
  } finally {
    buf.release();
  }
}

function checkModel(rt: ImplicitRatings | undefined, m: AlsModel): void {
  if (!Number.isInteger(m.rank) || m.rank < 1) throw new RangeError('model rank must be a positive integer');
  if (m.userFactors.length !== m.users * m.rank) throw new RangeError('userFactors must hold users*rank floats');
  if (m.itemFactors.length !== m.items * m.rank) throw new RangeError('itemFactors must hold items*rank floats');
  if (rt && (rt.users !== m.users || rt.items !== m.items)) throw new RangeError('ratings and model sizes differ');
}

export function implicitLoss(ratings: ImplicitRatings, model: AlsModel, params: AlsParams): number {
  checkRatings(ratings);
  checkModel(ratings, model);
  if (!(params.regParam >= 0) || !(params.alpha >= 0)) throw new RangeError('regParam and alpha must be >= 0');
  const rank = model.rank;
  const threads = trainingThreads(params, ratings.itemIdx.length);
  const buf = trainingBuffers(threads, trainingBytes(model.users, model.items, ratings.itemIdx.length, rank));
  try {
    const X = buf.holds(model.userFactors) ? model.userFactors : copyF32(buf, model.userFactors);
    const Y = buf.holds(model.itemFactors) ? model.itemFactors : copyF32(buf, model.itemFactors);
    const byUser = byUserCsr(ratings, buf);
    const GX = gramOf(X, model.users, rank, threads, buf);
    const GY = gramOf(Y, model.items, rank, threads, buf);
    return lossOf(byUser, model.users, model.items, countsOf(ratings), X, Y, GX, GY, rank, params.regParam, params.alpha, threads);
  } finally {
    buf.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Scoring: blocked top-n.

/** Work done by a scoring call, added to by each call that is given it. */
export interface ScoringStats {
  /** Queries scored. */
  queries: number;
  /** Queries x candidate rows: what an exhaustive scan would score. */
  pairs: number;
  /** Candidate rows actually scored (the norm bound stops each query's scan early). */
  scored: number;
}

/** Options of the scoring functions. */
export interface ScoringOptions {
  /** Threads (main included); default as AlsParams.threads. Small problems stay single-threaded. */
  threads?: number;
  /** When given, the call adds its work to it. */
  stats?: ScoringStats;
}

/** Sorted, de-duplicated, range-checked copy of a candidate list. */
function normaliseCandidates(c: Int32Array, items: number): Int32Array {
  const s = Int32Array.from(c).sort();
  let w = 0;
  for (let k = 0; k < s.length; k++) {
    const v = s[k];
    if (v < 0 || v >= items) throw new RangeError(`candidate item ${v} out of range [0, ${items})`);
    if (w === 0 || s[w - 1] !== v) s[w++] = v;
  }
  return s.slice(0, w);
}

/**
 * The rows `items` of F as a candidate matrix in descending norm (ties by lower item), with the norms:
 * the order the pruned scan needs, built once per scoring call.
 */
function byDescendingNorm(F: Float32Array, items: Int32Array, rank: number, shared: boolean): { C: Float32Array; candItem: Int32Array; cNorm: Float64Array } {
  const m = items.length;
  const norm = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const o = items[j] * rank;
    let s = 0;
    for (let k = 0; k < rank; k++) s += F[o + k] * F[o + k];
    norm[j] = Math.sqrt(s);
  }
  const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => norm[b] - norm[a] || items[a] - items[b]);
  const C = shared ? sharedF32(m * rank) : new Float32Array(m * rank);
  const candItem = i32(m, shared);
  const cNorm = shared ? new Float64Array(new SharedArrayBuffer(m * 8)) : new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const it = items[order[j]];
    C.set(F.subarray(it * rank, it * rank + rank), j * rank);
    candItem[j] = it;
    cNorm[j] = norm[order[j]];
  }
  return { C, candItem, cNorm };
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
}

/** Queries per scoring task (a multiple of 4) and per chunk whose outputs are buffered before streaming. */
const SCORE_BLOCK = 64;
const SCORE_CHUNK = 1 << 15;
/**
 * WASM scoring (the score kernel, a chunk of rows scored ahead per group of four queries) from this
 * many queries x candidates: the query factors are copied into the arena and the candidates into
 * pairs of doubles once per call, which a few queries would not repay.
 */
const SCORE_WASM_MIN_PAIRS = 1 << 20;
const SCORE_WASM_ROWS = 64;

function scoringThreads(options: ScoringOptions | undefined, queries: number, m: number, rank: number): number {
  const t = resolveThreads(options?.threads);
  return t > 1 && queries * m * rank >= PARALLEL_MIN_SCORE_WORK && threadsUsable() ? t : 1;
}

function i32(n: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(n * 4)) : new Int32Array(n);
}

/** A top-n job without its per-chunk parts (queries, exclusions, outputs, WASM set-up). */
type TopNBase = Omit<TopNJob, 'qRows' | 'exPtr' | 'exIdx' | 'block' | 'outItems' | 'outScores' | 'outCount' | 'outScored' | 'wasm'>;

/**
 * Scores the queries chunk by chunk: `exclusions(from, to)` gives the chunk's exclusion CSR (or null),
 * then `emit` streams each query's result in order.
 */
function scoreAll(
  base: TopNBase,
  queries: Int32Array,
  threads: number,
  stats: ScoringStats | undefined,
  exclusions: ((from: number, to: number) => { ptr: Int32Array; idx: Int32Array } | null) | null,
  emit: (q: number, items: Int32Array, scores: Float32Array) => void,
): void {
  const chunk = Math.min(SCORE_CHUNK, Math.max(queries.length, 1));
  const arena = wasmWanted() && queries.length * base.m >= SCORE_WASM_MIN_PAIRS ? alsWasm()?.arena ?? null : null;
  const mark = arena?.mark();
  try {
    let wasm: TopNJob['wasm'] = null;
    let Q = base.Q;
    const rank = base.rank;
    const c2Length = ((base.m + 1) >> 1) * rank * 2;
    const slot = SCORE_WASM_ROWS * 4 + 4 * rank;
    const bytes = 4 * Q.length + 8 * (c2Length + Math.ceil(chunk / SCORE_BLOCK) * slot);
    if (arena && arena.available() > 2 * bytes) {
      if (!arena.owns(Q)) {
        Q = arena.f32(Q.length);
        Q.set(base.Q);
      }
      const c2 = arena.f64(c2Length);
      writeCandidatePairs(base.C, base.m, rank, c2);
      wasm = { c2: c2.byteOffset, scores: arena.f64(Math.ceil(chunk / SCORE_BLOCK) * slot), slot, chunk: SCORE_WASM_ROWS };
    }
    scoreChunks({ ...base, Q }, wasm, queries, threads, stats, exclusions, emit);
  } finally {
    if (mark !== undefined) arena?.release(mark);
  }
}

/** scoreAll's loop over chunks of queries, on the given WASM set-up (or none). */
function scoreChunks(
  base: TopNBase,
  wasm: TopNJob['wasm'],
  queries: Int32Array,
  threads: number,
  stats: ScoringStats | undefined,
  exclusions: ((from: number, to: number) => { ptr: Int32Array; idx: Int32Array } | null) | null,
  emit: (q: number, items: Int32Array, scores: Float32Array) => void,
): void {
  const shared = threads > 1;
  const n = base.n;
  const chunk = Math.min(SCORE_CHUNK, Math.max(queries.length, 1));
  const outItems = i32(chunk * n, shared);
  const outScores = shared ? sharedF32(chunk * n) : new Float32Array(chunk * n);
  const outCount = i32(chunk, shared);
  const outScored = i32(chunk, shared);
  for (let from = 0; from < queries.length; from += chunk) {
    const to = Math.min(queries.length, from + chunk);
    const qRows = shared ? sharedCopyI32(queries.subarray(from, to)) : queries.subarray(from, to);
    const ex = exclusions ? exclusions(from, to) : null;
    const job: TopNJob = {
      ...base,
      qRows,
      exPtr: ex ? ex.ptr : null,
      exIdx: ex ? ex.idx : null,
      block: SCORE_BLOCK,
      outItems,
      outScores,
      outCount,
      outScored,
      wasm,
    };
    runJob(job, Math.ceil((to - from) / SCORE_BLOCK), threads);
    if (stats) {
      stats.queries += to - from;
      stats.pairs += (to - from) * base.m;
      for (let q = 0; q < to - from; q++) stats.scored += outScored[q];
    }
    for (let q = 0; q < to - from; q++) {
      const c = outCount[q];
      emit(from + q, outItems.slice(q * n, q * n + c), outScores.slice(q * n, q * n + c));
    }
  }
}

/** Top-n items for one user by score x_u·y_i, skipping `exclude` (sorted ascending item indices) and items not in `candidates` (if given). Returns item indices and scores, best first, ties by lower index. */
export function recommendForUser(
  model: AlsModel,
  user: number,
  n: number,
  exclude?: Int32Array,
  candidates?: Int32Array,
): { items: Int32Array; scores: Float32Array } {
  let out: { items: Int32Array; scores: Float32Array } = { items: new Int32Array(0), scores: new Float32Array(0) };
  recommendForUsers(
    model,
    Int32Array.of(user),
    n,
    () => exclude,
    (_u, items, scores) => {
      out = { items, scores };
    },
    candidates,
    { threads: 1 },
  );
  return out;
}

/**
 * Streams top-n for many users, in the order given (each user's scan over the candidates in descending
 * norm stops once the norm bound cannot beat its n-th best; a small binary heap per user). `excludeFor` (sorted ascending
 * item indices) is called for a chunk of up to 32768 users before their `onUser` calls. On large
 * problems (users x candidates x rank >= PARALLEL_MIN_SCORE_WORK) the users are split over
 * worker threads; the output is identical for any thread count.
 */
export function recommendForUsers(
  model: AlsModel,
  users: Int32Array,
  n: number,
  excludeFor: (user: number) => Int32Array | undefined,
  onUser: (user: number, items: Int32Array, scores: Float32Array) => void,
  candidates?: Int32Array,
  options?: ScoringOptions,
): void {
  checkModel(undefined, model);
  checkN(n);
  const rank = model.rank;
  for (let k = 0; k < users.length; k++) {
    const u = users[k];
    if (!Number.isInteger(u) || u < 0 || u >= model.users) throw new RangeError(`user ${u} out of range [0, ${model.users})`);
  }
  const candItem = candidates ? normaliseCandidates(candidates, model.items) : null;
  const m = candItem ? candItem.length : model.items;
  const threads = scoringThreads(options, users.length, m, rank);
  const shared = threads > 1;
  const cand = byDescendingNorm(model.itemFactors, candItem ?? Int32Array.from({ length: m }, (_, j) => j), rank, shared);
  const Q = shared && !isShared(model.userFactors) ? sharedCopyF32(model.userFactors) : model.userFactors;
  scoreAll(
    { kind: 'topn', Q, ...cand, m, rank, n, selfIsRow: false, valid: null },
    users,
    threads,
    options?.stats,
    (from, to) => {
      const lists: (Int32Array | undefined)[] = [];
      let total = 0;
      for (let q = from; q < to; q++) {
        const ex = excludeFor(users[q]);
        lists.push(ex);
        if (ex) total += ex.length;
      }
      if (total === 0) return null;
      const ptr = i32(to - from + 1, shared);
      const idx = i32(total, shared);
      for (let q = 0, w = 0; q < to - from; q++) {
        const ex = lists[q];
        if (ex) {
          idx.set(ex, w);
          w += ex.length;
        }
        ptr[q + 1] = w;
      }
      return { ptr, idx };
    },
    (q, items, scores) => onUser(users[q], items, scores),
  );
}

/** Top-n most similar items by cosine similarity of item factors (zero vectors have no neighbours), ties by lower index; streams like recommendForUsers (threads likewise). */
export function similarItems(
  model: AlsModel,
  items: Int32Array,
  n: number,
  onItem: (item: number, similar: Int32Array, similarity: Float32Array) => void,
  candidates?: Int32Array,
  options?: ScoringOptions,
): void {
  checkModel(undefined, model);
  checkN(n);
  const rank = model.rank;
  const F = model.itemFactors;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    if (!Number.isInteger(it) || it < 0 || it >= model.items) throw new RangeError(`item ${it} out of range [0, ${model.items})`);
  }
  const cand = candidates ? normaliseCandidates(candidates, model.items) : undefined;
  const total = cand ? cand.length : model.items;
  const threads = scoringThreads(options, items.length, total, rank);
  const shared = threads > 1;
  // Unit-normalised copies of the item factors; zero vectors flagged.
  const unit = shared ? sharedF32(F.length) : new Float32Array(F.length);
  const nonZero = shared ? new Uint8Array(new SharedArrayBuffer(Math.max(model.items, 1))) : new Uint8Array(model.items);
  for (let i = 0; i < model.items; i++) {
    const o = i * rank;
    let s = 0;
    for (let k = 0; k < rank; k++) s += F[o + k] * F[o + k];
    if (s > 0) {
      nonZero[i] = 1;
      const inv = 1 / Math.sqrt(s);
      for (let k = 0; k < rank; k++) unit[o + k] = F[o + k] * inv;
    }
  }
  let cnt = 0;
  for (let j = 0; j < total; j++) if (nonZero[cand ? cand[j] : j]) cnt++;
  const candItem = i32(cnt, shared);
  for (let j = 0, w = 0; j < total; j++) {
    const it = cand ? cand[j] : j;
    if (nonZero[it]) candItem[w++] = it;
  }
  scoreAll(
    { kind: 'topn', Q: unit, ...byDescendingNorm(unit, candItem, rank, shared), m: cnt, rank, n, selfIsRow: true, valid: nonZero },
    items,
    threads,
    options?.stats,
    null,
    (q, similar, similarity) => onItem(items[q], similar, similarity),
  );
}
