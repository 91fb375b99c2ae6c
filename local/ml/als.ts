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
 * Parameters: rank, regParam (lambda), alpha, maxIter, seed, cgSteps (default 3).
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
 * indices, Float32Array values) user-major as given and item-major built here by counting sort. All
 * arithmetic on scalars is in doubles; only the stored factors are Float32.
 *
 * Scoring: scores are x_u . y_i summed in double in order k = 0..rank-1, then rounded to Float32;
 * ranking is by the Float32 score, ties by lower item index, so the output is consistent with the
 * returned scores. Users are scored four at a time against a contiguous candidate matrix (each candidate
 * factor loaded once for four users), with a size-n binary min-heap per user and a threshold test so
 * that almost no score touches the heap.
 */

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
}

export interface AlsModel {
  rank: number;
  users: number;
  items: number;
  userFactors: Float32Array;
  itemFactors: Float32Array;
  lossHistory: number[] /* loss after init and after each full iteration */;
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: sfc32 seeded through splitmix32, normals by Box-Muller.

function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  private spare = NaN;

  constructor(seed: number, stream: number) {
    const s = mix32(seed | 0) ^ mix32(Math.floor(seed / 4294967296) | 0);
    this.a = mix32(s ^ 0x1234567);
    this.b = mix32(this.a ^ mix32(stream));
    this.c = mix32(this.b + 0x6a09e667);
    for (let k = 0; k < 12; k++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in (0, 1]. */
  nextOpen(): number {
    return (this.nextU32() + 1) / 4294967296;
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
  const rng = new Sfc32(seed, stream);
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

interface Csr {
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
}

/** Item-major CSR from the user-major one (counting sort; users ascending within an item). */
function transpose(rt: ImplicitRatings): Csr {
  const nnz = rt.itemIdx.length;
  const ptr = new Int32Array(rt.items + 1);
  for (let k = 0; k < nnz; k++) ptr[rt.itemIdx[k] + 1]++;
  for (let i = 0; i < rt.items; i++) ptr[i + 1] += ptr[i];
  const pos = ptr.slice(0, rt.items);
  const idx = new Int32Array(nnz);
  const val = new Float32Array(nnz);
  for (let u = 0; u < rt.users; u++) {
    for (let k = rt.userPtr[u], e = rt.userPtr[u + 1]; k < e; k++) {
      const p = pos[rt.itemIdx[k]]++;
      idx[p] = u;
      val[p] = rt.values[k];
    }
  }
  return { ptr, idx, val };
}

function checkParams(p: AlsParams): number {
  if (!Number.isInteger(p.rank) || p.rank < 1) throw new RangeError(`rank must be a positive integer, got ${p.rank}`);
  if (!(p.regParam >= 0) || !Number.isFinite(p.regParam)) throw new RangeError(`regParam must be >= 0, got ${p.regParam}`);
  if (!(p.alpha >= 0) || !Number.isFinite(p.alpha)) throw new RangeError(`alpha must be >= 0, got ${p.alpha}`);
  checkCount('maxIter', p.maxIter);
  if (!Number.isFinite(p.seed)) throw new RangeError(`seed must be finite, got ${p.seed}`);
  const cg = p.cgSteps ?? 3;
  if (!Number.isInteger(cg) || cg < 1) throw new RangeError(`cgSteps must be a positive integer, got ${cg}`);
  return cg;
}

// ---------------------------------------------------------------------------------------------
// Training.

/** G = F^T F (rank x rank, full symmetric, double). */
function gram(f: Float32Array, n: number, rank: number, g: Float64Array): void {
  g.fill(0);
  for (let e = 0; e < n; e++) {
    const o = e * rank;
    for (let a = 0; a < rank; a++) {
      const fa = f[o + a];
      if (fa === 0) continue;
      const row = a * rank;
      for (let b = a; b < rank; b++) g[row + b] += fa * f[o + b];
    }
  }
  for (let a = 0; a < rank; a++) for (let b = 0; b < a; b++) g[a * rank + b] = g[b * rank + a];
}

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
 * One half-iteration: every row of `dst` (entities of `csr`) re-solved given `src`, by cgSteps CG steps
 * warm-started from its current value.
 */
function updateSide(
  csr: Csr,
  nDst: number,
  dst: Float32Array,
  src: Float32Array,
  nSrc: number,
  rank: number,
  lambda: number,
  alpha: number,
  cgSteps: number,
): void {
  const G = new Float64Array(rank * rank);
  gram(src, nSrc, rank, G);
  const x = new Float64Array(rank);
  const r = new Float64Array(rank);
  const p = new Float64Array(rank);
  const ap = new Float64Array(rank);
  const { ptr, idx, val } = csr;
  for (let e = 0; e < nDst; e++) {
    const s = ptr[e];
    const t = ptr[e + 1];
    const o = e * rank;
    if (s === t) {
      for (let k = 0; k < rank; k++) dst[o + k] = 0;
      continue;
    }
    const reg = lambda * (t - s);
    for (let k = 0; k < rank; k++) {
      x[k] = dst[o + k];
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
      const step_a = rr / pap;
      let rrNew = 0;
      for (let k = 0; k < rank; k++) {
        x[k] += step_a * p[k];
        const rk = r[k] - step_a * ap[k];
        r[k] = rk;
        rrNew += rk * rk;
      }
      const beta = rrNew / rr;
      for (let k = 0; k < rank; k++) p[k] = r[k] + beta * p[k];
      rr = rrNew;
    }
    for (let k = 0; k < rank; k++) dst[o + k] = x[k];
  }
}

function lossOf(
  rt: ImplicitRatings,
  itemCounts: Int32Array,
  X: Float32Array,
  Y: Float32Array,
  rank: number,
  lambda: number,
  alpha: number,
): number {
  const G = new Float64Array(rank * rank);
  gram(Y, rt.items, rank, G);
  const { userPtr, itemIdx, values } = rt;
  // sum_u x_u^T G_Y x_u = trace(G_X G_Y) = sum_ab G_X[a,b] G_Y[a,b]: O(users * rank^2 / 2).
  const GX = new Float64Array(rank * rank);
  gram(X, rt.users, rank, GX);
  let total = 0;
  for (let k = 0; k < rank * rank; k++) total += GX[k] * G[k];
  const x = new Float64Array(rank);
  for (let u = 0; u < rt.users; u++) {
    const o = u * rank;
    let nx = 0;
    for (let k = 0; k < rank; k++) {
      const v = X[o + k];
      x[k] = v;
      nx += v * v;
    }
    let obs = 0;
    const s = userPtr[u];
    const t = userPtr[u + 1];
    for (let q = s; q < t; q++) {
      const d = dotFD(Y, itemIdx[q] * rank, x, rank);
      const c = 1 + alpha * values[q];
      const e = 1 - d;
      obs += c * e * e - d * d;
    }
    total += obs + lambda * (t - s) * nx;
  }
  for (let i = 0; i < rt.items; i++) {
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

export function trainImplicitAls(
  ratings: ImplicitRatings,
  params: AlsParams,
  onIteration?: (iter: number, loss: number) => void,
): AlsModel {
  checkRatings(ratings);
  const cgSteps = checkParams(params);
  const { rank, regParam: lambda, alpha } = params;
  const { users, items } = ratings;
  const userFactors = initFactors(users, rank, params.seed, 1);
  const itemFactors = initFactors(items, rank, params.seed, 2);
  const byUser: Csr = { ptr: ratings.userPtr, idx: ratings.itemIdx, val: ratings.values };
  const byItem = transpose(ratings);
  const itemCounts = countsOf(ratings);
  const lossHistory = [lossOf(ratings, itemCounts, userFactors, itemFactors, rank, lambda, alpha)];
  for (let it = 1; it <= params.maxIter; it++) {
    updateSide(byUser, users, userFactors, itemFactors, items, rank, lambda, alpha, cgSteps);
    updateSide(byItem, items, itemFactors, userFactors, users, rank, lambda, alpha, cgSteps);
    const loss = lossOf(ratings, itemCounts, userFactors, itemFactors, rank, lambda, alpha);
    lossHistory.push(loss);
    if (onIteration) onIteration(it, loss);
  }
  return { rank, users, items, userFactors, itemFactors, lossHistory };
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
  return lossOf(ratings, countsOf(ratings), model.userFactors, model.itemFactors, model.rank, params.regParam, params.alpha);
}

// ---------------------------------------------------------------------------------------------
// Scoring: blocked top-n.

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
  size = 0;
  exclude: Int32Array | undefined = undefined;
  self = -1;

  constructor(readonly n: number) {
    this.score = new Float64Array(Math.max(n, 1));
    this.item = new Int32Array(Math.max(n, 1));
  }

  reset(exclude: Int32Array | undefined, self: number): void {
    this.size = 0;
    this.exclude = exclude;
    this.self = self;
  }

  private worse(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa < sb || (sa === sb && this.item[a] > this.item[b]);
  }

  private swap(a: number, b: number): void {
    const s = this.score[a];
    this.score[a] = this.score[b];
    this.score[b] = s;
    const i = this.item[a];
    this.item[a] = this.item[b];
    this.item[b] = i;
  }

  /**
   * Offer a (Float32-rounded) score; items arrive in ascending index order, so a newcomer beats the
   * root only with a strictly greater score. Returns the new threshold (-Infinity until full).
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
    if (!(score > this.score[0])) return this.score[0];
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

  /** Best first, ties by lower index. */
  result(): { items: Int32Array; scores: Float32Array } {
    const k = this.size;
    const order = Array.from({ length: k }, (_, j) => j);
    order.sort((a, b) => this.score[b] - this.score[a] || this.item[a] - this.item[b]);
    const items = new Int32Array(k);
    const scores = new Float32Array(k);
    for (let j = 0; j < k; j++) {
      items[j] = this.item[order[j]];
      scores[j] = this.score[order[j]];
    }
    return { items, scores };
  }
}

/**
 * Top-n of query rows (Q, rows qRows[]) against candidate rows C (m x rank, candidate j = item
 * candItem[j], ascending). Four queries per pass over C.
 */
function topNBlocked(
  Q: Float32Array,
  qRows: Int32Array,
  C: Float32Array,
  m: number,
  candItem: Int32Array | undefined,
  rank: number,
  n: number,
  prepare: (slot: number, heap: TopN, query: number) => boolean,
  emit: (query: number, heap: TopN) => void,
): void {
  const heaps = [new TopN(n), new TopN(n), new TopN(n), new TopN(n)];
  const active = [false, false, false, false];
  const nq = qRows.length;
  for (let b = 0; b < nq; b += 4) {
    const offs = [0, 0, 0, 0];
    for (let s = 0; s < 4; s++) {
      const qi = b + s < nq ? b + s : -1;
      heaps[s].reset(undefined, -1);
      active[s] = qi >= 0 && n > 0 && m > 0 && prepare(s, heaps[s], qi);
      offs[s] = (qi >= 0 ? qRows[qi] : qRows[b]) * rank;
    }
    const o0 = offs[0];
    const o1 = offs[1];
    const o2 = offs[2];
    const o3 = offs[3];
    let t0 = active[0] ? -Infinity : Infinity;
    let t1 = active[1] ? -Infinity : Infinity;
    let t2 = active[2] ? -Infinity : Infinity;
    let t3 = active[3] ? -Infinity : Infinity;
    if (t0 !== Infinity || t1 !== Infinity || t2 !== Infinity || t3 !== Infinity) {
      const h0 = heaps[0];
      const h1 = heaps[1];
      const h2 = heaps[2];
      const h3 = heaps[3];
      // Two candidates x four queries per k: 6 loads for 8 multiply-adds, 8 independent sums.
      const m2 = m & ~1;
      for (let j = 0, co = 0; j < m2; j += 2, co += 2 * rank) {
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
        if (s0a >= t0) {
          const f = Math.fround(s0a);
          if (f > t0 || t0 === -Infinity) t0 = h0.offer(f, candItem ? candItem[j] : j);
        }
        if (s1a >= t1) {
          const f = Math.fround(s1a);
          if (f > t1 || t1 === -Infinity) t1 = h1.offer(f, candItem ? candItem[j] : j);
        }
        if (s2a >= t2) {
          const f = Math.fround(s2a);
          if (f > t2 || t2 === -Infinity) t2 = h2.offer(f, candItem ? candItem[j] : j);
        }
        if (s3a >= t3) {
          const f = Math.fround(s3a);
          if (f > t3 || t3 === -Infinity) t3 = h3.offer(f, candItem ? candItem[j] : j);
        }
        if (s0b >= t0) {
          const f = Math.fround(s0b);
          if (f > t0 || t0 === -Infinity) t0 = h0.offer(f, candItem ? candItem[j + 1] : j + 1);
        }
        if (s1b >= t1) {
          const f = Math.fround(s1b);
          if (f > t1 || t1 === -Infinity) t1 = h1.offer(f, candItem ? candItem[j + 1] : j + 1);
        }
        if (s2b >= t2) {
          const f = Math.fround(s2b);
          if (f > t2 || t2 === -Infinity) t2 = h2.offer(f, candItem ? candItem[j + 1] : j + 1);
        }
        if (s3b >= t3) {
          const f = Math.fround(s3b);
          if (f > t3 || t3 === -Infinity) t3 = h3.offer(f, candItem ? candItem[j + 1] : j + 1);
        }
      }
      for (let j = m2, co = m2 * rank; j < m; j++, co += rank) {
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
        if (s0 >= t0) {
          const f = Math.fround(s0);
          if (f > t0 || t0 === -Infinity) t0 = h0.offer(f, candItem ? candItem[j] : j);
        }
        if (s1 >= t1) {
          const f = Math.fround(s1);
          if (f > t1 || t1 === -Infinity) t1 = h1.offer(f, candItem ? candItem[j] : j);
        }
        if (s2 >= t2) {
          const f = Math.fround(s2);
          if (f > t2 || t2 === -Infinity) t2 = h2.offer(f, candItem ? candItem[j] : j);
        }
        if (s3 >= t3) {
          const f = Math.fround(s3);
          if (f > t3 || t3 === -Infinity) t3 = h3.offer(f, candItem ? candItem[j] : j);
        }
      }
    }
    for (let s = 0; s < 4 && b + s < nq; s++) emit(b + s, heaps[s]);
  }
}

function gatherRows(F: Float32Array, rows: Int32Array, rank: number): Float32Array {
  const out = new Float32Array(rows.length * rank);
  for (let j = 0; j < rows.length; j++) out.set(F.subarray(rows[j] * rank, rows[j] * rank + rank), j * rank);
  return out;
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
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
  );
  return out;
}

/** Streams top-n for many users (blocked: compute scores for a block of users against all candidate items with a tight loop, keep a small binary heap per user) */
export function recommendForUsers(
  model: AlsModel,
  users: Int32Array,
  n: number,
  excludeFor: (user: number) => Int32Array | undefined,
  onUser: (user: number, items: Int32Array, scores: Float32Array) => void,
  candidates?: Int32Array,
): void {
  checkModel(undefined, model);
  checkN(n);
  const rank = model.rank;
  for (let k = 0; k < users.length; k++) {
    const u = users[k];
    if (!Number.isInteger(u) || u < 0 || u >= model.users) throw new RangeError(`user ${u} out of range [0, ${model.users})`);
  }
  let C = model.itemFactors;
  let m = model.items;
  let candItem: Int32Array | undefined;
  if (candidates) {
    candItem = normaliseCandidates(candidates, model.items);
    C = gatherRows(model.itemFactors, candItem, rank);
    m = candItem.length;
  }
  topNBlocked(
    model.userFactors,
    users,
    C,
    m,
    candItem,
    rank,
    n,
    (_slot, heap, q) => {
      heap.reset(excludeFor(users[q]), -1);
      return true;
    },
    (q, heap) => {
      const r = heap.result();
      onUser(users[q], r.items, r.scores);
    },
  );
}

/** Top-n most similar items by cosine similarity of item factors (zero vectors have no neighbours), ties by lower index; streams like recommendForUsers. */
export function similarItems(
  model: AlsModel,
  items: Int32Array,
  n: number,
  onItem: (item: number, similar: Int32Array, similarity: Float32Array) => void,
  candidates?: Int32Array,
): void {
  checkModel(undefined, model);
  checkN(n);
  const rank = model.rank;
  const F = model.itemFactors;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    if (!Number.isInteger(it) || it < 0 || it >= model.items) throw new RangeError(`item ${it} out of range [0, ${model.items})`);
  }
  // Unit-normalised copies of the item factors; zero vectors flagged.
  const unit = new Float32Array(F.length);
  const nonZero = new Uint8Array(model.items);
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
  const cand = candidates ? normaliseCandidates(candidates, model.items) : undefined;
  let cnt = 0;
  const all = cand ?? null;
  const total = all ? all.length : model.items;
  for (let j = 0; j < total; j++) if (nonZero[all ? all[j] : j]) cnt++;
  const candItem = new Int32Array(cnt);
  for (let j = 0, w = 0; j < total; j++) {
    const it = all ? all[j] : j;
    if (nonZero[it]) candItem[w++] = it;
  }
  const C = gatherRows(unit, candItem, rank);
  topNBlocked(
    unit,
    items,
    C,
    cnt,
    candItem,
    rank,
    n,
    (_slot, heap, q) => {
      const it = items[q];
      heap.reset(undefined, it);
      return nonZero[it] === 1;
    },
    (q, heap) => {
      const r = heap.result();
      onItem(items[q], r.items, r.scores);
    },
  );
}
