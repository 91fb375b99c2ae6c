/**
 * Dense least squares on the normal equations: the symmetric positive-definite solves that the GLM's
 * weighted least squares (glm.ts) and the daily revenue model (stages/spend-forecast.ts) both need.
 *
 * Method. XᵀX β = Xᵀy by Cholesky (LLᵀ), as MLlib's WeightedLeastSquares does with LAPACK dppsv;
 * (XᵀX)⁻¹ column by column from the same factor, for prediction intervals. A pivot at or below
 * 1e-10 × its diagonal entry counts as singular (collinear columns): Cholesky returns null and the
 * caller decides. Matrices are row-major Float64Array, p × p.
 *
 * Complexity. Building XᵀX is O(n·p²); the factorisation O(p³/3); the inverse O(p³). p is at most
 * a few dozen here.
 */

const SINGULAR_PIVOT = 1e-10;

/** Lower-triangular L with A = LLᵀ (row-major), or null when A is not numerically positive definite. */
export function cholesky(a: Float64Array, p: number): Float64Array | null {
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let diag = a[j * p + j];
    for (let k = 0; k < j; k++) diag -= l[j * p + k] * l[j * p + k];
    if (!(diag > SINGULAR_PIVOT * Math.abs(a[j * p + j]))) return null;
    const root = Math.sqrt(diag);
    l[j * p + j] = root;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j];
      for (let k = 0; k < j; k++) s -= l[i * p + k] * l[j * p + k];
      l[i * p + j] = s / root;
    }
  }
  return l;
}

/** Solves LLᵀ x = b for a factor from `cholesky`. */
export function choleskySolve(l: Float64Array, p: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < p; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= l[i * p + k] * x[k];
    x[i] = s / l[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < p; k++) s -= l[k * p + i] * x[k];
    x[i] = s / l[i * p + i];
  }
  return x;
}

export interface LeastSquaresFit {
  /** Coefficients, one per column of the design. */
  readonly beta: Float64Array;
  /** (XᵀX)⁻¹, p × p row-major. */
  readonly xtxInverse: Float64Array;
  /** Residual sum of squares. */
  readonly rss: number;
  readonly n: number;
  readonly p: number;
}

/**
 * Ordinary least squares of y on the design rows x (n × p row-major; put the intercept's column of 1s
 * in yourself). Throws when XᵀX is singular (the design's columns are collinear).
 */
export function fitLeastSquares(x: Float64Array, y: ArrayLike<number>, p: number): LeastSquaresFit {
  const n = y.length;
  if (x.length !== n * p) throw new RangeError(`design has ${x.length} values, expected ${n} rows × ${p} columns`);
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p);
  for (let r = 0; r < n; r++) {
    const o = r * p;
    for (let i = 0; i < p; i++) {
      xty[i] += x[o + i] * y[r];
      for (let j = 0; j <= i; j++) xtx[i * p + j] += x[o + i] * x[o + j];
    }
  }
  for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) xtx[j * p + i] = xtx[i * p + j];
  const l = cholesky(xtx, p);
  if (l === null) throw new RangeError(`least squares: the ${p} design columns are collinear on ${n} rows`);
  const beta = choleskySolve(l, p, xty);
  const xtxInverse = new Float64Array(p * p);
  const unit = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    unit.fill(0);
    unit[j] = 1;
    const column = choleskySolve(l, p, unit);
    for (let i = 0; i < p; i++) xtxInverse[i * p + j] = column[i];
  }
  let rss = 0;
  for (let r = 0; r < n; r++) {
    const e = y[r] - dot(x, r * p, beta, p);
    rss += e * e;
  }
  return { beta, xtxInverse, rss, n, p };
}

/** x·β for the row starting at `offset` of x. */
export function dot(x: ArrayLike<number>, offset: number, beta: ArrayLike<number>, p: number): number {
  let s = 0;
  for (let j = 0; j < p; j++) s += x[offset + j] * beta[j];
  return s;
}

/** x (XᵀX)⁻¹ xᵀ for one design row: the leverage term of a prediction interval. */
export function leverage(fit: LeastSquaresFit, row: ArrayLike<number>): number {
  const { p, xtxInverse } = fit;
  let s = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) s += row[i] * xtxInverse[i * p + j] * row[j];
  return s;
}
