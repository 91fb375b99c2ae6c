/**
 * Generalized linear models fitted by iteratively reweighted least squares, the local counterpart of
 * Spark MLlib's `org.apache.spark.ml.regression.GeneralizedLinearRegression` with solver "irls" and
 * fitIntercept = true. Families and links: binomial/logit, poisson/log|identity, gamma/log|identity,
 * gaussian/identity|log.
 *
 * What is matched, read in Spark's source (ml/regression/GeneralizedLinearRegression.scala,
 * ml/optim/IterativelyReweightedLeastSquares.scala, ml/optim/WeightedLeastSquares.scala; the
 * snapshot read carries Spark 4's logging keys, and these parts have the same arithmetic in 3.5):
 * - Initial model: μ₀ = family.initialize(y, w) (binomial (w·y + 0.5)/(w + 1), poisson max(y, 0.1),
 *   gamma and gaussian y), η₀ = link(project(μ₀)), then ONE weighted least squares of η₀ on the
 *   features with the instance weights and standardizeFeatures = standardizeLabel = true.
 * - Each iteration from the previous model: η = xβ + b, μ = project(unlink(η)), working label
 *   z = η + (y − μ)·g'(μ), working weight w / (g'(μ)²·V(μ)); then weighted least squares of z with
 *   standardizeFeatures = standardizeLabel = false. Stop when max(|Δβ_j|, |Δb|) < tol (1e-6) or after
 *   maxIter iterations; `iterations` counts the WLS solves after the initial one, as MLlib's does.
 * - project: binomial clamps μ to [1e-16, 1 − 1e-16]; poisson and gamma (Tweedie) raise μ < 1e-16 to
 *   1e-16 and +∞ to the largest double; gaussian maps ±∞ to ∓/± the largest double.
 * - Weighted least squares minimises (1/(2·Σw)) Σ wᵢ (zᵢ − b − xᵢ·β)² + penalty: the loss is
 *   NORMALISED BY THE SUM OF THE (working) WEIGHTS. It is solved in the scaled space (features over
 *   their weighted population std σⱼ, label over its weighted population std δ) with λ added to the
 *   diagonal as MLlib does, which in original units is a penalty of
 *     standardize false: (regParam/2)·Σⱼ βⱼ²   (the IRLS iterations),
 *     standardize true:  (regParam/(2δ))·Σⱼ σⱼ²·βⱼ²   (the initial model, and gaussian/identity).
 *   The intercept is never penalised. So IRLS's fixed point is not the penalised likelihood's optimum
 *   but Σᵢ wᵢ xᵢ (yᵢ − μᵢ)/(g'V) = regParam · (Σᵢ wᵢ/(g'²V)) · β (core/cases/glm_cases.json).
 * - A feature with weighted σⱼ = 0 gets coefficient 0; a label with δ = 0 gives coefficients 0 and the
 *   label's mean as intercept (MLlib returns early in both cases). Here σⱼ ≤ 1e-12·max(1, |mean|)
 *   counts as 0: a constant column other than 0 or 1 has a round-off σ under IRLS weights, which MLlib
 *   would take as a (meaningless) feature.
 * - gaussian/identity is not iterated: one weighted least squares with standardizeFeatures =
 *   standardizeLabel = true, iterations 1 (MLlib's special case).
 * Not matched: when the penalised system is singular (regParam 0 and collinear features) MLlib falls
 * back to L-BFGS in the scaled space; this takes the minimum-norm solution in that space (what
 * gradient steps from 0 tend to), so such fits agree only approximately.
 *
 * Complexity. O(n·d²) per iteration to build the weighted moments, O(d³) to solve: O(maxIter·n·d²).
 */
import { cholesky, choleskySolve } from './least-squares';

export type GlmFamily = 'binomial' | 'poisson' | 'gamma' | 'gaussian';
export type GlmLink = 'logit' | 'log' | 'identity';

export interface GlmParams {
  readonly family: GlmFamily;
  readonly link: GlmLink;
  /** L2 penalty (see the note above for its scale). */
  readonly regParam: number;
  readonly maxIter: number;
  /** @default 1e-6 (MLlib's default) */
  readonly tol?: number;
}

export interface GlmModel {
  readonly family: GlmFamily;
  readonly link: GlmLink;
  readonly intercept: number;
  /** On the scale of the features given (standardise them first if the penalty should be on that scale). */
  readonly coefficients: Float64Array;
  /** IRLS iterations run (1 for gaussian/identity). */
  readonly iterations: number;
  readonly converged: boolean;
}

const EPSILON = 1e-16;
const DEFAULT_TOL = 1e-6;
/** A feature whose weighted σ is below this (relative to its mean, at least absolute) is constant. */
const CONSTANT_STD = 1e-12;
/** Tweedie's delta: poisson's initial mean is max(y, 0.1). */
const POISSON_DELTA = 0.1;

interface Family {
  initialize(y: number, w: number): number;
  variance(mu: number): number;
  project(mu: number): number;
  checkLabel(y: number): boolean;
  readonly labelRule: string;
}

const projectPositive = (mu: number): number => (mu < EPSILON ? EPSILON : mu === Infinity ? Number.MAX_VALUE : mu);

const FAMILIES: Record<GlmFamily, Family> = {
  binomial: {
    initialize: (y, w) => (w * y + 0.5) / (w + 1),
    variance: (mu) => mu * (1 - mu),
    project: (mu) => (mu < EPSILON ? EPSILON : mu > 1 - EPSILON ? 1 - EPSILON : mu),
    checkLabel: (y) => y >= 0 && y <= 1,
    labelRule: 'in [0, 1]',
  },
  poisson: {
    initialize: (y) => Math.max(y, POISSON_DELTA),
    variance: (mu) => mu,
    project: projectPositive,
    checkLabel: (y) => y >= 0,
    labelRule: 'non-negative',
  },
  gamma: {
    initialize: (y) => y,
    variance: (mu) => mu * mu,
    project: projectPositive,
    checkLabel: (y) => y > 0,
    labelRule: 'positive',
  },
  gaussian: {
    initialize: (y) => y,
    variance: () => 1,
    project: (mu) => (mu === Infinity ? Number.MAX_VALUE : mu === -Infinity ? -Number.MAX_VALUE : mu),
    checkLabel: () => true,
    labelRule: 'finite',
  },
};

interface Link {
  link(mu: number): number;
  deriv(mu: number): number;
  unlink(eta: number): number;
}

const LINKS: Record<GlmLink, Link> = {
  logit: { link: (mu) => Math.log(mu / (1 - mu)), deriv: (mu) => 1 / (mu * (1 - mu)), unlink: (eta) => 1 / (1 + Math.exp(-eta)) },
  log: { link: Math.log, deriv: (mu) => 1 / mu, unlink: Math.exp },
  identity: { link: (mu) => mu, deriv: () => 1, unlink: (eta) => eta },
};

/** The family/link pairs of MLlib's supportedFamilyAndLinkPairs that this module implements. */
const SUPPORTED: Record<GlmFamily, readonly GlmLink[]> = {
  binomial: ['logit'],
  poisson: ['log', 'identity'],
  gamma: ['log', 'identity'],
  gaussian: ['identity', 'log'],
};

/**
 * Fits the GLM on n rows of d features (x row-major, n × d), labels y and optional instance weights
 * (default 1). Throws on an unsupported family/link, a label outside the family's range, a negative
 * or non-finite weight, or a zero weight sum.
 */
export function fitGlm(x: Float64Array, y: ArrayLike<number>, d: number, params: GlmParams, weights?: ArrayLike<number>): GlmModel {
  const { family: familyName, link: linkName, regParam, maxIter } = params;
  const tol = params.tol ?? DEFAULT_TOL;
  if (!SUPPORTED[familyName]?.includes(linkName)) throw new RangeError(`unsupported GLM family/link ${familyName}/${linkName}`);
  if (!(regParam >= 0)) throw new RangeError(`regParam must be >= 0, got ${regParam}`);
  if (!(Number.isInteger(maxIter) && maxIter >= 1)) throw new RangeError(`maxIter must be a positive integer, got ${maxIter}`);
  const n = y.length;
  if (x.length !== n * d) throw new RangeError(`x has ${x.length} values, expected ${n} rows × ${d} features`);
  const family = FAMILIES[familyName];
  const link = LINKS[linkName];
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const wi = weights === undefined ? 1 : weights[i];
    if (!(wi >= 0 && Number.isFinite(wi))) throw new RangeError(`weight ${i} must be finite and >= 0, got ${wi}`);
    w[i] = wi;
    if (!(Number.isFinite(y[i]) && family.checkLabel(y[i]))) throw new RangeError(`label ${i} of the ${familyName} family must be ${family.labelRule}, got ${y[i]}`);
  }
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new RangeError(`feature value ${i} is not finite: ${x[i]}`);

  if (familyName === 'gaussian' && linkName === 'identity') {
    const m = weightedLeastSquares(x, Float64Array.from(y), w, d, regParam, true);
    return { family: familyName, link: linkName, ...m, iterations: 1, converged: true };
  }

  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = link.link(family.project(family.initialize(y[i], w[i])));
  let model = weightedLeastSquares(x, z, w, d, regParam, true);
  const working = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter && !converged) {
    for (let i = 0; i < n; i++) {
      let eta = model.intercept;
      for (let j = 0; j < d; j++) eta += x[i * d + j] * model.coefficients[j];
      const mu = family.project(link.unlink(eta));
      const g = link.deriv(mu);
      z[i] = eta + (y[i] - mu) * g;
      working[i] = w[i] / (g * g * family.variance(mu));
    }
    const next = weightedLeastSquares(x, z, working, d, regParam, false);
    let change = Math.abs(next.intercept - model.intercept);
    for (let j = 0; j < d; j++) change = Math.max(change, Math.abs(next.coefficients[j] - model.coefficients[j]));
    converged = change < tol;
    model = next;
    iterations++;
  }
  return { family: familyName, link: linkName, ...model, iterations, converged };
}

/** The fitted mean project(unlink(b + x·β)) of every row of x (n × d row-major). */
export function predictGlm(model: GlmModel, x: Float64Array, d: number): Float64Array {
  const n = x.length / d;
  const family = FAMILIES[model.family];
  const link = LINKS[model.link];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let eta = model.intercept;
    for (let j = 0; j < d; j++) eta += x[i * d + j] * model.coefficients[j];
    out[i] = family.project(link.unlink(eta));
  }
  return out;
}

/**
 * Weighted least squares with intercept as MLlib's WeightedLeastSquares (Cholesky solver, no elastic
 * net): weighted population moments, solved in the scaled space; `standardize` sets both
 * standardizeFeatures and standardizeLabel (IRLS uses both true for its start, both false after).
 */
function weightedLeastSquares(
  x: Float64Array,
  b: Float64Array,
  w: Float64Array,
  d: number,
  regParam: number,
  standardize: boolean,
): { intercept: number; coefficients: Float64Array } {
  const n = b.length;
  let wSum = 0;
  let bBar = 0;
  const aBar = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    wSum += w[i];
    bBar += w[i] * b[i];
    for (let j = 0; j < d; j++) aBar[j] += w[i] * x[i * d + j];
  }
  if (!(wSum > 0)) throw new RangeError('weighted least squares: the sum of weights is 0');
  bBar /= wSum;
  for (let j = 0; j < d; j++) aBar[j] /= wSum;
  // Centred weighted moments (two passes: a constant column or label gives exactly 0).
  const cov = new Float64Array(d * d);
  const cab = new Float64Array(d);
  let bVar = 0;
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const db = b[i] - bBar;
    bVar += wi * db * db;
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - aBar[j];
    for (let j = 0; j < d; j++) {
      cab[j] += wi * row[j] * db;
      for (let k = 0; k <= j; k++) cov[j * d + k] += wi * row[j] * row[k];
    }
  }
  const coefficients = new Float64Array(d);
  const bStd = Math.sqrt(Math.max(bVar / wSum, 0));
  if (bStd === 0) return { intercept: bBar, coefficients };
  const active: number[] = [];
  const aStd = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    aStd[j] = Math.sqrt(Math.max(cov[j * d + j] / wSum, 0));
    // A constant column's weighted mean is not always exact under IRLS weights: round-off σ counts as 0.
    if (aStd[j] > CONSTANT_STD * Math.max(1, Math.abs(aBar[j]))) active.push(j);
  }
  const p = active.length;
  if (p > 0) {
    // Scaled space: features / σ_j, label / δ. MLlib's diagonal term is regParam/δ (standardised)
    // or regParam/σ_j² (not standardised) there.
    const s = new Float64Array(p * p);
    const rhs = new Float64Array(p);
    for (let u = 0; u < p; u++) {
      const j = active[u];
      rhs[u] = cab[j] / wSum / (aStd[j] * bStd);
      for (let v = 0; v <= u; v++) {
        const k = active[v];
        const value = cov[j * d + k] / wSum / (aStd[j] * aStd[k]);
        s[u * p + v] = value;
        s[v * p + u] = value;
      }
      s[u * p + u] += standardize ? regParam / bStd : regParam / (aStd[j] * aStd[j]);
    }
    const l = cholesky(s, p);
    const scaled = l === null ? minimumNormSolve(s, p, rhs) : choleskySolve(l, p, rhs);
    for (let u = 0; u < p; u++) coefficients[active[u]] = (scaled[u] * bStd) / aStd[active[u]];
  }
  let intercept = bBar;
  for (let j = 0; j < d; j++) intercept -= aBar[j] * coefficients[j];
  return { intercept, coefficients };
}

/** Minimum-norm solution of a singular symmetric positive semi-definite system (cyclic Jacobi eigenvalues). */
function minimumNormSolve(a: Float64Array, p: number, rhs: Float64Array): Float64Array {
  const m = Float64Array.from(a);
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) off += m[i * p + j] * m[i * p + j];
    if (off < 1e-30) break;
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        const aij = m[i * p + j];
        if (aij === 0) continue;
        const theta = (m[j * p + j] - m[i * p + i]) / (2 * aij);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < p; k++) {
          const mki = m[k * p + i];
          const mkj = m[k * p + j];
          m[k * p + i] = c * mki - sn * mkj;
          m[k * p + j] = sn * mki + c * mkj;
        }
        for (let k = 0; k < p; k++) {
          const mik = m[i * p + k];
          const mjk = m[j * p + k];
          m[i * p + k] = c * mik - sn * mjk;
          m[j * p + k] = sn * mik + c * mjk;
        }
        for (let k = 0; k < p; k++) {
          const vki = v[k * p + i];
          const vkj = v[k * p + j];
          v[k * p + i] = c * vki - sn * vkj;
          v[k * p + j] = sn * vki + c * vkj;
        }
      }
    }
  }
  let largest = 0;
  for (let i = 0; i < p; i++) largest = Math.max(largest, Math.abs(m[i * p + i]));
  const out = new Float64Array(p);
  for (let e = 0; e < p; e++) {
    const lambda = m[e * p + e];
    if (!(lambda > 1e-10 * largest)) continue;
    let proj = 0;
    for (let k = 0; k < p; k++) proj += v[k * p + e] * rhs[k];
    for (let k = 0; k < p; k++) out[k] += (v[k * p + e] * proj) / lambda;
  }
  return out;
}
