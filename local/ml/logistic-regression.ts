/**
 * Binary logistic regression, the local counterpart of Spark MLlib's
 * `org.apache.spark.ml.classification.LogisticRegression` with elasticNetParam = 0 (pure L2),
 * standardization = true and fitIntercept = true.
 *
 * Method. Minimises
 *   f(b0, w) = (1/n) Σ_i logloss(y_i, b0 + w·z_i) + (regParam/2) ||w||²,
 *   logloss(y, m) = log(1 + e^m) − y·m  (evaluated as max(m, 0) + log1p(e^−|m|) − y·m),
 * where z_ij = (x_ij − mean_j) / std_j. As in MLlib, std_j is the *sample* standard deviation
 * (denominator n − 1: MLlib takes it from its summarizer's unbiased variance), the penalty acts on the
 * coefficients of the standardised features and the intercept is not penalised. A feature with
 * std_j = 0 (constant, or n = 1) gets coefficient 0 and contributes nothing, as in MLlib.
 * MLlib scales by 1/std and deals with the means through the intercept (no explicit centring, or a
 * virtual one in recent versions); because the intercept is free and unpenalised, centring gives the
 * same optimum for w, only b0 is re-parametrised. The model here
 * keeps coefficients on the standardised scale together with the means and stds, so the original
 * scale coefficient of feature j is w_j / std_j and its intercept is b0 − Σ_j w_j·mean_j / std_j.
 *
 * Solver. L-BFGS (memory m = 10, MLlib's setting) with a weak-Wolfe bracketing line search
 * (Armijo c1 = 1e-4, curvature c2 = 0.9, safeguarded quadratic interpolation on backtracking,
 * doubling on expansion), started from w = 0 and b0 = logit of the label rate (MLlib's start).
 * Stopping follows Breeze's `FirstOrderMinimizer.defaultConvergenceCheck`, which MLlib's LBFGS uses
 * with tol (MLlib default 1e-6): after maxIter iterations; or when the relative loss change over a
 * window of the last 20 iterates is small, |f_k − max(f_{k−19..k})| ≤ tol·|f_0| (before 20 iterates
 * exist the window still holds Breeze's +∞ sentinel, so this test cannot fire); or when
 * ||∇f||₂ ≤ max(tol·|f|, 1e-8) (gradient test, also checked at the start); or when the line search
 * cannot decrease f any further. A single-iteration relative change test (|f_{k−1} − f_k| ≤ tol·|f_k|)
 * was tried first and stopped 1e-4..3e-4 away from the optimum on the test data.
 *
 * Edge cases. n = 0 throws. If every label is the same class there is nothing to fit: the
 * coefficients are 0 and the intercept is the logit of the smoothed rate (n1 + 0.5) / (n + 1)
 * (MLlib instead returns an infinite intercept, which predicts probability exactly 0 or 1; the
 * smoothed value keeps the model finite and its log-loss bounded). iterations = 0 in that case.
 *
 * Complexity. O(n·d) memory for the standardised copy; O(n·d) per loss/gradient evaluation, a few
 * evaluations per iteration, O(m·d) per two-loop recursion: O(maxIter·n·d) time overall.
 */

export interface LogisticParams {
  regParam: number;
  maxIter: number;
  tol?: number;
}

export interface LogisticModel {
  intercept: number;
  /** Coefficients on the standardised scale (0 for features with std 0). */
  coefficients: Float64Array;
  means: Float64Array;
  /** Sample standard deviations (denominator n − 1); 0 marks a feature that is ignored. */
  stds: Float64Array;
  iterations: number;
  /** Objective value (mean log-loss + L2 penalty) at the returned solution. */
  loss: number;
}

const LBFGS_MEMORY = 10;
const DEFAULT_TOL = 1e-6;
/** Breeze's fvalMemory: length of the loss history of the function-value convergence test. */
const FVAL_MEMORY = 20;

/** Numerically stable log(1 + e^m) − y·m. */
function logLoss(y: number, m: number): number {
  return Math.max(m, 0) + Math.log1p(Math.exp(-Math.abs(m))) - y * m;
}

function sigmoid(m: number): number {
  if (m >= 0) return 1 / (1 + Math.exp(-m));
  const e = Math.exp(m);
  return e / (1 + e);
}

/** Column means and sample standard deviations (n − 1; 0 when n < 2 or the column is constant). */
function columnStats(x: Float64Array, n: number, d: number): { means: Float64Array; stds: Float64Array } {
  const means = new Float64Array(d);
  const stds = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[j] += x[i * d + j];
  for (let j = 0; j < d; j++) means[j] /= n;
  if (n >= 2) {
    // Two-pass variance: exact for constant columns (every deviation is exactly 0).
    const ss = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const dev = x[i * d + j] - means[j];
        ss[j] += dev * dev;
      }
    }
    for (let j = 0; j < d; j++) stds[j] = Math.sqrt(ss[j] / (n - 1));
  }
  return { means, stds };
}

interface Objective {
  /** Writes the gradient into g (length d + 1, index 0 = intercept) and returns the loss. */
  (theta: Float64Array, g: Float64Array): number;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Weak-Wolfe line search along p from theta (loss f0, directional derivative dphi0 < 0).
 * On success theta/g/f hold the accepted point; returns the step length or 0 when no decrease was found.
 */
function lineSearch(
  fg: Objective,
  theta0: Float64Array,
  f0: number,
  dphi0: number,
  p: Float64Array,
  alphaInit: number,
  thetaOut: Float64Array,
  gOut: Float64Array,
): { alpha: number; f: number } {
  const c1 = 1e-4;
  const c2 = 0.9;
  let lo = 0;
  let fLo = f0;
  let dLo = dphi0;
  let hi = Infinity;
  let alpha = alphaInit;
  let best = { alpha: 0, f: f0 };
  const gBest = new Float64Array(gOut.length);
  for (let trial = 0; trial < 40; trial++) {
    for (let i = 0; i < theta0.length; i++) thetaOut[i] = theta0[i] + alpha * p[i];
    const f = fg(thetaOut, gOut);
    const dphi = dot(gOut, p);
    if (!Number.isFinite(f) || f > f0 + c1 * alpha * dphi0 || f >= fLo) {
      hi = alpha;
      // Safeguarded minimiser of the quadratic through (lo, fLo, dLo) and (hi, f).
      const width = hi - lo;
      let next = lo + width / 2;
      if (Number.isFinite(f)) {
        const denom = 2 * (f - fLo - dLo * width);
        if (denom > 0) next = lo - (dLo * width * width) / denom;
      }
      alpha = Math.min(Math.max(next, lo + 0.1 * width), hi - 0.1 * width);
    } else {
      if (f < best.f) {
        best = { alpha, f };
        gBest.set(gOut);
      }
      if (dphi >= c2 * dphi0) return { alpha, f }; // Armijo + curvature: accepted (thetaOut, gOut current).
      lo = alpha;
      fLo = f;
      dLo = dphi;
      alpha = Number.isFinite(hi) ? (lo + hi) / 2 : 2 * alpha;
    }
    if (Number.isFinite(hi) && hi - lo <= 1e-16 * Math.max(1, hi)) break;
  }
  // No Wolfe point: fall back to the best sufficient-decrease point seen (if any).
  if (best.alpha > 0) {
    for (let i = 0; i < theta0.length; i++) thetaOut[i] = theta0[i] + best.alpha * p[i];
    gOut.set(gBest);
  }
  return best;
}

/**
 * L-BFGS with memory m. `active[i]` false pins coordinate i at its start value (gradient masked).
 */
function lbfgs(
  fg: Objective,
  theta: Float64Array,
  active: Uint8Array,
  maxIter: number,
  tol: number,
): { theta: Float64Array; f: number; iterations: number } {
  const dim = theta.length;
  const masked: Objective = (t, g) => {
    const f = fg(t, g);
    for (let i = 0; i < dim; i++) if (!active[i]) g[i] = 0;
    return f;
  };
  let g: Float64Array = new Float64Array(dim);
  let f = masked(theta, g);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const p = new Float64Array(dim);
  const alphas = new Float64Array(LBFGS_MEMORY);
  let thetaNew: Float64Array = new Float64Array(dim);
  let gNew: Float64Array = new Float64Array(dim);
  let iterations = 0;
  const f0 = f;
  const gradientConverged = (): boolean => Math.sqrt(dot(g, g)) <= Math.max(tol * Math.abs(f), 1e-8);
  // Breeze keeps the last FVAL_MEMORY values, seeded with +∞.
  const history: number[] = [Infinity];
  if (gradientConverged()) return { theta, f, iterations };
  while (iterations < maxIter) {
    // Two-loop recursion: p = −H·g.
    p.set(g);
    for (let k = sList.length - 1; k >= 0; k--) {
      const a = rhoList[k] * dot(sList[k], p);
      alphas[k] = a;
      const yk = yList[k];
      for (let i = 0; i < dim; i++) p[i] -= a * yk[i];
    }
    if (sList.length > 0) {
      const last = sList.length - 1;
      const gamma = dot(sList[last], yList[last]) / dot(yList[last], yList[last]);
      for (let i = 0; i < dim; i++) p[i] *= gamma;
    }
    for (let k = 0; k < sList.length; k++) {
      const b = rhoList[k] * dot(yList[k], p);
      const sk = sList[k];
      const a = alphas[k];
      for (let i = 0; i < dim; i++) p[i] += (a - b) * sk[i];
    }
    for (let i = 0; i < dim; i++) p[i] = -p[i];
    let dphi0 = dot(g, p);
    if (!(dphi0 < 0)) {
      // Not a descent direction (should not happen with positive curvature pairs): restart on −g.
      sList.length = 0;
      yList.length = 0;
      rhoList.length = 0;
      for (let i = 0; i < dim; i++) p[i] = -g[i];
      dphi0 = dot(g, p);
    }
    const alphaInit = sList.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(p, p))) : 1;
    const { alpha, f: fNew } = lineSearch(masked, theta, f, dphi0, p, alphaInit, thetaNew, gNew);
    if (alpha === 0) break; // Line search failed: no decrease possible at machine precision.
    iterations++;
    const s = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      s[i] = thetaNew[i] - theta[i];
      yv[i] = gNew[i] - g[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (sList.length === LBFGS_MEMORY) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(yv);
      rhoList.push(1 / sy);
    }
    [theta, thetaNew] = [thetaNew, theta];
    [g, gNew] = [gNew, g];
    f = fNew;
    history.push(f);
    if (history.length > FVAL_MEMORY) history.shift();
    if (Math.abs(f - Math.max(...history)) <= tol * Math.abs(f0)) break;
    if (gradientConverged()) break;
  }
  return { theta, f, iterations };
}

function validate(x: Float64Array, y: Uint8Array, d: number, params: LogisticParams): number {
  if (!Number.isInteger(d) || d < 0) throw new Error(`logistic regression: d must be a non-negative integer, got ${d}`);
  const n = y.length;
  if (n === 0) throw new Error('logistic regression: no training rows (n = 0); cannot fit a model');
  if (x.length !== n * d) {
    throw new Error(`logistic regression: x has ${x.length} values but ${n} labels × d = ${d} needs ${n * d}`);
  }
  if (!(params.regParam >= 0) || !Number.isFinite(params.regParam)) {
    throw new Error(`logistic regression: regParam must be finite and ≥ 0, got ${params.regParam}`);
  }
  if (!Number.isInteger(params.maxIter) || params.maxIter < 0) {
    throw new Error(`logistic regression: maxIter must be a non-negative integer, got ${params.maxIter}`);
  }
  if (params.tol !== undefined && !(params.tol >= 0)) {
    throw new Error(`logistic regression: tol must be ≥ 0, got ${params.tol}`);
  }
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new Error(`logistic regression: label ${i} is ${y[i]}, expected 0 or 1`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new Error(`logistic regression: x[${i}] = ${x[i]} is not finite`);
  }
  return n;
}

export function trainLogisticRegression(
  x: Float64Array,
  y: Uint8Array,
  d: number,
  params: LogisticParams,
): LogisticModel {
  const n = validate(x, y, d, params);
  const stats = columnStats(x, n, d);
  // Standardised copy; ignored (std 0) columns stay 0.
  const z = x.slice();
  standardizeInPlace(z, d, stats);
  return fitStandardized(z, y, n, d, params, stats);
}

/**
 * The column means and sample standard deviations the fit standardises with (n − 1; 0 for a constant
 * column or n < 2), of the first n rows of a row-major matrix.
 */
export function featureStats(x: Float64Array, n: number, d: number): { means: Float64Array; stds: Float64Array } {
  if (x.length < n * d) throw new Error(`featureStats: x has ${x.length} values, ${n} rows × d = ${d} need ${n * d}`);
  return columnStats(x, n, d);
}

/** z = (x − mean) / std per column, in place, for every row; columns with std 0 become 0 (ignored). */
export function standardizeInPlace(x: Float64Array, d: number, stats: { means: Float64Array; stds: Float64Array }): void {
  const { means, stds } = stats;
  const n = x.length / d;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = stds[j] > 0 ? (x[i * d + j] - means[j]) / stds[j] : 0;
  }
}

/**
 * trainLogisticRegression without its standardised copy: `z` holds the training rows already
 * standardised by standardizeInPlace with `stats` (featureStats of the raw training rows), so a
 * caller that keeps one matrix standardises it in place. The same model, bit for bit.
 */
export function trainStandardized(
  z: Float64Array,
  y: Uint8Array,
  d: number,
  params: LogisticParams,
  stats: { means: Float64Array; stds: Float64Array },
): LogisticModel {
  const n = validate(z, y, d, params);
  if (stats.means.length !== d || stats.stds.length !== d) throw new Error(`logistic regression: stats for ${stats.means.length} features, d = ${d}`);
  return fitStandardized(z, y, n, d, params, stats);
}

function fitStandardized(
  z: Float64Array,
  y: Uint8Array,
  n: number,
  d: number,
  params: LogisticParams,
  stats: { means: Float64Array; stds: Float64Array },
): LogisticModel {
  const tol = params.tol ?? DEFAULT_TOL;
  const lambda = params.regParam;
  const means = stats.means.slice();
  const stds = stats.stds.slice();
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];

  if (positives === 0 || positives === n) {
    const rate = (positives + 0.5) / (n + 1);
    const intercept = Math.log(rate / (1 - rate));
    let loss = 0;
    for (let i = 0; i < n; i++) loss += logLoss(y[i], intercept);
    return { intercept, coefficients: new Float64Array(d), means, stds, iterations: 0, loss: loss / n };
  }

  const dim = d + 1;
  const active = new Uint8Array(dim);
  active[0] = 1;
  for (let j = 0; j < d; j++) active[j + 1] = stds[j] > 0 ? 1 : 0;

  const fg: Objective = (theta, g) => {
    g.fill(0);
    let loss = 0;
    const b0 = theta[0];
    for (let i = 0; i < n; i++) {
      const row = i * d;
      let m = b0;
      for (let j = 0; j < d; j++) m += theta[j + 1] * z[row + j];
      // logLoss(y, m) and sigmoid(m) with their one exp(−|m|) shared: the same values, one exp fewer per row.
      const e = Math.exp(-Math.abs(m));
      loss += Math.max(m, 0) + Math.log1p(e) - y[i] * m;
      const r = (m >= 0 ? 1 / (1 + e) : e / (1 + e)) - y[i];
      g[0] += r;
      for (let j = 0; j < d; j++) g[j + 1] += r * z[row + j];
    }
    loss /= n;
    let penalty = 0;
    for (let j = 0; j < dim; j++) g[j] /= n;
    for (let j = 1; j < dim; j++) {
      penalty += theta[j] * theta[j];
      g[j] += lambda * theta[j];
    }
    return loss + (lambda / 2) * penalty;
  };

  const theta0 = new Float64Array(dim);
  theta0[0] = Math.log(positives / (n - positives));
  const { theta, f, iterations } = lbfgs(fg, theta0, active, params.maxIter, tol);
  return { intercept: theta[0], coefficients: theta.slice(1), means, stds, iterations, loss: f };
}

/** Margin b0 + Σ w_j (x_j − mean_j)/std_j over the features with std > 0. */
function margin(model: LogisticModel, row: ArrayLike<number>, offset: number): number {
  let m = model.intercept;
  const { coefficients: w, means, stds } = model;
  for (let j = 0; j < w.length; j++) {
    if (stds[j] > 0) m += (w[j] * (row[offset + j] - means[j])) / stds[j];
  }
  return m;
}

/** P(y = 1 | row) for one row of raw (unstandardised) features. */
export function predictProbability(model: LogisticModel, row: ArrayLike<number>): number {
  const d = model.coefficients.length;
  if (row.length !== d) throw new Error(`predictProbability: row has ${row.length} features, model expects ${d}`);
  return sigmoid(margin(model, row, 0));
}

/**
 * P(y = 1) for every row of a matrix standardised by standardizeInPlace with the model's means and
 * stds: sigmoid(b0 + Σ w_j z_j). Equal to predictAll on the raw rows up to rounding (the division by
 * std_j happens before the product with w_j here, after it there).
 */
export function predictAllStandardized(model: LogisticModel, z: Float64Array, d: number): Float64Array {
  if (d !== model.coefficients.length) throw new Error(`predictAllStandardized: d = ${d}, model expects ${model.coefficients.length}`);
  if (d === 0 || z.length % d !== 0) throw new Error(`predictAllStandardized: z has ${z.length} values, not a multiple of d = ${d}`);
  const n = z.length / d;
  const w = model.coefficients;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = model.intercept;
    for (let j = 0; j < d; j++) if (model.stds[j] > 0) m += w[j] * z[i * d + j];
    out[i] = sigmoid(m);
  }
  return out;
}

/** P(y = 1) for every row of an n×d row-major matrix of raw features. */
export function predictAll(model: LogisticModel, x: Float64Array, d: number): Float64Array {
  if (d !== model.coefficients.length) throw new Error(`predictAll: d = ${d}, model expects ${model.coefficients.length}`);
  if (d === 0) throw new Error('predictAll: d = 0 leaves the row count undefined');
  if (x.length % d !== 0) throw new Error(`predictAll: x has ${x.length} values, not a multiple of d = ${d}`);
  const n = x.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sigmoid(margin(model, x, i * d));
  return out;
}
