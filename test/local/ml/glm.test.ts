/**
 * local/ml/glm.ts (IRLS as MLlib's GeneralizedLinearRegression) and local/ml/least-squares.ts against
 * references written here, independent of both modules:
 * - the shared cases core/cases/glm_cases.json (also run by the Spark side on MLlib), each
 *   expected value re-derived here: Newton with a finite-difference Jacobian on the stationarity
 *   equations of MLlib's IRLS fixed point, Σᵢ wᵢ x̃ᵢ (yᵢ − μᵢ)/(g'V) = regParam·(Σᵢ wᵢ/(g'²V))·[0, β],
 *   and the standardised-ridge normal equations for gaussian/identity, solved by Gaussian elimination;
 * - closed forms on group indicators, OLS on random data, a 1-D Newton for a penalised gamma fit,
 *   weights as replicated rows, collinear columns, maxIter, and the errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fitGlm, GlmFamily, GlmLink, predictGlm } from '../../../local/ml/glm';
import { fitLeastSquares, leverage } from '../../../local/ml/least-squares';
import { Random } from '../../../local/generate/random';

interface GlmCase {
  readonly name: string;
  readonly description: string;
  readonly family: GlmFamily;
  readonly link: GlmLink;
  readonly X: number[][];
  readonly y: number[];
  readonly weights?: number[];
  readonly reg_param: number;
  readonly max_iter: number;
  readonly expected: { readonly intercept: number; readonly coefficients: number[] };
  readonly tolerance: number;
}
const CASES: { about: string; description: string; cases: GlmCase[] } = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '../../../core/cases/glm_cases.json'), 'utf8'),
);

/** Seeded uniform draws from the project's one PRNG (local/generate/random.ts), not from the code under test. */
function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}
const normal = (u: () => number) => (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());

/** Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

const flat = (rows: number[][]): Float64Array => Float64Array.from(rows.flat());

// Per family: mean from η, the score factor 1/(g'V) and the IRLS weight 1/(g'²V), for the canonical-ish links used.
const REF: Record<string, { mean: (eta: number) => number; score: (mu: number) => number; weight: (mu: number) => number }> = {
  'binomial/logit': { mean: (e) => 1 / (1 + Math.exp(-e)), score: () => 1, weight: (m) => m * (1 - m) },
  'poisson/log': { mean: Math.exp, score: () => 1, weight: (m) => m },
  'gamma/log': { mean: Math.exp, score: (m) => 1 / m, weight: () => 1 },
};

/** The fixed point of MLlib's IRLS by Newton on its stationarity equations; zero-variance columns get 0. */
function fixedPointReference(c: Pick<GlmCase, 'family' | 'link' | 'X' | 'y' | 'weights' | 'reg_param'>): number[] {
  const f = REF[`${c.family}/${c.link}`];
  const w = c.weights ?? c.y.map(() => 1);
  const d = c.X[0]?.length ?? 0;
  const varying = Array.from({ length: d }, (_, j) => c.X.some((r) => r[j] !== c.X[0][j]));
  const cols = varying.flatMap((v, j) => (v ? [j] : []));
  const p = cols.length + 1;
  const F = (b: number[]): number[] => {
    const out = new Array<number>(p).fill(0);
    let W = 0;
    c.X.forEach((row, i) => {
      const xt = [1, ...cols.map((j) => row[j])];
      const mu = f.mean(xt.reduce((s, v, k) => s + v * b[k], 0));
      W += w[i] * f.weight(mu);
      for (let k = 0; k < p; k++) out[k] += w[i] * xt[k] * (c.y[i] - mu) * f.score(mu);
    });
    return out.map((v, k) => (k === 0 ? v : v - c.reg_param * W * b[k]));
  };
  let b = new Array<number>(p).fill(0);
  if (c.family !== 'binomial') b[0] = Math.log(c.y.reduce((s, y, i) => s + w[i] * y, 0) / w.reduce((s, v) => s + v, 0));
  for (let it = 0; it < 100; it++) {
    const f0 = F(b);
    const J = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let j = 0; j < p; j++) {
      const bb = [...b];
      bb[j] += 1e-7;
      const fj = F(bb);
      for (let i = 0; i < p; i++) J[i][j] = (fj[i] - f0[i]) / 1e-7;
    }
    const step = solve(J, f0.map((v) => -v));
    b = b.map((v, k) => v + step[k]);
    if (Math.max(...step.map(Math.abs)) < 1e-13) break;
  }
  const full = [b[0], ...new Array<number>(d).fill(0)];
  cols.forEach((j, k) => (full[j + 1] = b[k + 1]));
  return full;
}

/** MLlib's gaussian/identity: (Cov_w + regParam/sd_w(y)·diag(Var_w)) β = Cov_w(X, y), weighted population moments. */
function gaussianReference(X: number[][], y: number[], w: number[], regParam: number): number[] {
  const W = w.reduce((a, b) => a + b, 0);
  const d = X[0].length;
  const xb = Array.from({ length: d }, (_, j) => X.reduce((s, r, i) => s + w[i] * r[j], 0) / W);
  const yb = y.reduce((s, v, i) => s + w[i] * v, 0) / W;
  const C = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => X.reduce((s, r, i) => s + w[i] * (r[a] - xb[a]) * (r[b] - xb[b]), 0) / W));
  const cy = Array.from({ length: d }, (_, a) => X.reduce((s, r, i) => s + w[i] * (r[a] - xb[a]) * (y[i] - yb), 0) / W);
  const sy = Math.sqrt(y.reduce((s, v, i) => s + w[i] * (v - yb) ** 2, 0) / W);
  const beta = solve(C.map((row, a) => row.map((v, b) => (a === b ? v + (regParam / sy) * C[a][a] : v))), cy);
  return [yb - beta.reduce((s, v, j) => s + v * xb[j], 0), ...beta];
}

const fitCase = (c: GlmCase) =>
  fitGlm(flat(c.X), c.y, c.X[0]?.length ?? 0, { family: c.family, link: c.link, regParam: c.reg_param, maxIter: c.max_iter }, c.weights);

describe('the shared GLM cases (glm_cases.json)', () => {
  it('has cases, each with a description', () => {
    expect(CASES.cases.length).toBeGreaterThanOrEqual(10);
    for (const c of CASES.cases) expect(c.description.length).toBeGreaterThan(10);
  });

  for (const c of CASES.cases) {
    it(`${c.name}: fitGlm gives the expected coefficients`, () => {
      const m = fitCase(c);
      expect(Math.abs(m.intercept - c.expected.intercept)).toBeLessThanOrEqual(c.tolerance);
      expect(m.coefficients.length).toBe(c.expected.coefficients.length);
      c.expected.coefficients.forEach((v, j) => expect(Math.abs(m.coefficients[j] - v)).toBeLessThanOrEqual(c.tolerance));
      expect(m.iterations).toBeLessThanOrEqual(c.max_iter);
      if (c.max_iter > 1) expect(m.converged).toBe(true);
    });

    if (c.max_iter > 1) {
      it(`${c.name}: the expected values are the independent reference's`, () => {
        const ref = c.family === 'gaussian' ? gaussianReference(c.X, c.y, c.weights ?? c.y.map(() => 1), c.reg_param) : fixedPointReference(c);
        expect(ref[0]).toBeCloseTo(c.expected.intercept, 8);
        c.expected.coefficients.forEach((v, j) => expect(ref[j + 1]).toBeCloseTo(v, 8));
      });
    }
  }
});

describe('fitGlm against closed forms and references made here', () => {
  const groups = (shares: number[][]): { X: number[][]; y: number[] } => {
    // shares[g] = labels of group g; indicators for groups 1.. (group 0 is the reference)
    const X: number[][] = [];
    const y: number[] = [];
    shares.forEach((labels, g) => labels.forEach((v) => {
      X.push(shares.slice(1).map((_, k) => (g === k + 1 ? 1 : 0)));
      y.push(v);
    }));
    return { X, y };
  };

  it('binomial/logit on group indicators, unpenalised: logit of each group share', () => {
    const { X, y } = groups([[1, 0, 0, 0, 0], [1, 1, 0], [1, 1, 1, 0, 0, 0, 0, 1]]);
    const m = fitGlm(flat(X), y, 2, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 50 });
    const logit = (p: number) => Math.log(p / (1 - p));
    expect(m.intercept).toBeCloseTo(logit(1 / 5), 6);
    expect(m.coefficients[0]).toBeCloseTo(logit(2 / 3) - logit(1 / 5), 6);
    expect(m.coefficients[1]).toBeCloseTo(logit(4 / 8) - logit(1 / 5), 6);
    const p = predictGlm(m, Float64Array.from([0, 0, 1, 0, 0, 1]), 2);
    expect(Array.from(p).map((v) => +v.toFixed(6))).toEqual([0.2, +(2 / 3).toFixed(6), 0.5]);
  });

  it('gamma/log and poisson/log on group indicators, unpenalised: log of each group mean', () => {
    const { X, y } = groups([[3, 9, 6], [20, 40], [1.5, 2.5, 2, 4]]);
    for (const family of ['gamma', 'poisson'] as const) {
      const m = fitGlm(flat(X), y, 2, { family, link: 'log', regParam: 0, maxIter: 50 });
      expect(m.intercept).toBeCloseTo(Math.log(6), 6);
      expect(m.coefficients[0]).toBeCloseTo(Math.log(30 / 6), 6);
      expect(m.coefficients[1]).toBeCloseTo(Math.log(2.5 / 6), 6);
    }
  });

  it('gaussian/identity unpenalised is OLS: the normal equations solved here', () => {
    const u = rng(11);
    const z = normal(u);
    const n = 200;
    const X = Array.from({ length: n }, () => [z(), z() * 3 + 1, u()]);
    const y = X.map((r) => 2 - 1.5 * r[0] + 0.25 * r[1] + 4 * r[2] + z() * 0.5);
    const m = fitGlm(flat(X), y, 3, { family: 'gaussian', link: 'identity', regParam: 0, maxIter: 25 });
    const A = [0, 1, 2, 3].map((a) => [0, 1, 2, 3].map((b) => X.reduce((s, r) => s + [1, ...r][a] * [1, ...r][b], 0)));
    const beta = solve(A, [0, 1, 2, 3].map((a) => X.reduce((s, r, i) => s + [1, ...r][a] * y[i], 0)));
    expect(m.intercept).toBeCloseTo(beta[0], 9);
    m.coefficients.forEach((v, j) => expect(v).toBeCloseTo(beta[j + 1], 9));
    expect(m.iterations).toBe(1);
  });

  it('gamma/log with one standardised feature and regParam 0.3: the 1-D Newton optimum', () => {
    // Fixed point (weights 1): Σ (y e^(−b0−βx) − 1) = 0 gives e^b0 = mean(y e^(−βx)); then
    // g(β) = Σ x (y e^(−b0(β)−βx) − 1) − regParam·n·β = 0, solved by Newton with a numeric derivative.
    const u = rng(5);
    const raw = Array.from({ length: 60 }, () => u() * 10);
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / (raw.length - 1));
    const x = raw.map((v) => (v - mean) / sd);
    const y = x.map((v) => Math.exp(1 + 0.6 * v) * (0.5 + u()));
    const lambda = 0.3;
    const b0 = (beta: number) => Math.log(y.reduce((s, v, i) => s + v * Math.exp(-beta * x[i]), 0) / y.length);
    const g = (beta: number) => x.reduce((s, v, i) => s + v * (y[i] * Math.exp(-b0(beta) - beta * v) - 1), 0) - lambda * y.length * beta;
    let beta = 0;
    for (let it = 0; it < 50; it++) beta -= g(beta) / ((g(beta + 1e-7) - g(beta - 1e-7)) / 2e-7);
    expect(Math.abs(g(beta))).toBeLessThan(1e-9);
    const m = fitGlm(Float64Array.from(x), y, 1, { family: 'gamma', link: 'log', regParam: lambda, maxIter: 100 });
    expect(m.converged).toBe(true);
    expect(m.coefficients[0]).toBeCloseTo(beta, 5);
    expect(m.intercept).toBeCloseTo(b0(beta), 5);
    // and the penalty shrinks: the unpenalised slope is larger
    const free = fitGlm(Float64Array.from(x), y, 1, { family: 'gamma', link: 'log', regParam: 0, maxIter: 100 });
    expect(free.coefficients[0]).toBeGreaterThan(m.coefficients[0] + 0.05);
  });

  it('binomial with two random features and regParam 0.05: the fixed-point reference', () => {
    const u = rng(3);
    const z = normal(u);
    const X = Array.from({ length: 300 }, () => [z(), z()]);
    const y = X.map((r) => (u() < 1 / (1 + Math.exp(-(0.3 + 1.2 * r[0] - 0.7 * r[1]))) ? 1 : 0));
    const ref = fixedPointReference({ family: 'binomial', link: 'logit', X, y, reg_param: 0.05 });
    const m = fitGlm(flat(X), y, 2, { family: 'binomial', link: 'logit', regParam: 0.05, maxIter: 25 });
    expect(m.intercept).toBeCloseTo(ref[0], 5);
    expect(m.coefficients[0]).toBeCloseTo(ref[1], 5);
    expect(m.coefficients[1]).toBeCloseTo(ref[2], 5);
  });

  it('integer weights are replicated rows, penalised or not, for every family', () => {
    const u = rng(9);
    const X = Array.from({ length: 40 }, () => [u() * 2 - 1, u()]);
    const w = X.map(() => 1 + Math.floor(u() * 3));
    const labels: Record<string, number[]> = {
      binomial: X.map((r) => (u() < 0.3 + 0.4 * r[1] ? 1 : 0)),
      poisson: X.map((r) => Math.floor(u() * 4 * (1 + r[0] ** 2))),
      gamma: X.map((r) => 0.5 + u() * 3 * (1 + r[1])),
    };
    const links: Record<string, GlmLink> = { binomial: 'logit', poisson: 'log', gamma: 'log' };
    for (const family of ['binomial', 'poisson', 'gamma'] as const) {
      for (const regParam of [0, 0.2]) {
        const y = labels[family];
        const params = { family, link: links[family], regParam, maxIter: 100, tol: 1e-10 };
        const weighted = fitGlm(flat(X), y, 2, params, w);
        const repX = X.flatMap((r, i) => new Array(w[i]).fill(r));
        const repY = y.flatMap((v, i) => new Array(w[i]).fill(v));
        const replicated = fitGlm(flat(repX), repY, 2, params);
        expect(weighted.intercept).toBeCloseTo(replicated.intercept, 8);
        expect(weighted.coefficients[0]).toBeCloseTo(replicated.coefficients[0], 8);
        expect(weighted.coefficients[1]).toBeCloseTo(replicated.coefficients[1], 8);
      }
    }
  });

  it('a zero weight drops its row', () => {
    const X = [[0], [0], [1], [1], [1], [5]];
    const y = [1, 4, 2, 6, 4, 1000];
    const m = fitGlm(flat(X), y, 1, { family: 'gamma', link: 'log', regParam: 0, maxIter: 50 }, [1, 1, 1, 1, 1, 0]);
    expect(m.intercept).toBeCloseTo(Math.log(2.5), 6);
    expect(m.coefficients[0]).toBeCloseTo(Math.log(4 / 2.5), 6);
  });

  it('stops at maxIter, and converges in few iterations within tol', () => {
    const u = rng(21);
    const X = Array.from({ length: 100 }, () => [u() * 4 - 2]);
    const y = X.map((r) => (u() < 1 / (1 + Math.exp(-2 * r[0])) ? 1 : 0));
    const full = fitGlm(flat(X), y, 1, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 25 });
    expect(full.converged).toBe(true);
    expect(full.iterations).toBeLessThan(15);
    const one = fitGlm(flat(X), y, 1, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 1 });
    expect(one.iterations).toBe(1);
    expect(one.converged).toBe(false);
    expect(Math.abs(one.coefficients[0] - full.coefficients[0])).toBeGreaterThan(1e-3);
    // one more iteration than needed changes nothing beyond tol
    const more = fitGlm(flat(X), y, 1, { family: 'binomial', link: 'logit', regParam: 0, maxIter: full.iterations + 5 });
    expect(more.iterations).toBe(full.iterations);
    expect(Math.abs(more.coefficients[0] - fixedPointReference({ family: 'binomial', link: 'logit', X, y, reg_param: 0 })[1])).toBeLessThan(1e-5);
  });

  it('a constant column gets coefficient 0; a duplicated column unpenalised fits the same means', () => {
    const u = rng(4);
    const X = Array.from({ length: 80 }, () => [u() * 2 - 1]);
    const y = X.map((r) => (u() < 0.5 + 0.3 * r[0] ? 1 : 0));
    const single = fitGlm(flat(X), y, 1, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 50 });
    const withConstant = fitGlm(flat(X.map((r) => [r[0], 7])), y, 2, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 50 });
    expect(withConstant.coefficients[1]).toBe(0);
    expect(withConstant.coefficients[0]).toBeCloseTo(single.coefficients[0], 8);
    const doubled = fitGlm(flat(X.map((r) => [r[0], r[0]])), y, 2, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 50 });
    const a = predictGlm(single, flat(X), 1);
    const b = predictGlm(doubled, flat(X.map((r) => [r[0], r[0]])), 2);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
    expect(doubled.coefficients[0]).toBeCloseTo(doubled.coefficients[1], 6); // minimum norm splits it evenly
  });

  it('refuses labels outside the family, bad weights and unsupported links', () => {
    const x = Float64Array.from([0, 1]);
    expect(() => fitGlm(x, [0, 2], 1, { family: 'binomial', link: 'logit', regParam: 0, maxIter: 5 })).toThrow(/\[0, 1\]/);
    expect(() => fitGlm(x, [0, 2], 1, { family: 'gamma', link: 'log', regParam: 0, maxIter: 5 })).toThrow(/positive/);
    expect(() => fitGlm(x, [-1, 2], 1, { family: 'poisson', link: 'log', regParam: 0, maxIter: 5 })).toThrow(/non-negative/);
    expect(() => fitGlm(x, [1, 2], 1, { family: 'gamma', link: 'logit', regParam: 0, maxIter: 5 })).toThrow(/unsupported/);
    expect(() => fitGlm(x, [1, 2], 1, { family: 'gamma', link: 'log', regParam: 0, maxIter: 5 }, [1, -1])).toThrow(/weight/);
    expect(() => fitGlm(x, [1, 2], 1, { family: 'gamma', link: 'log', regParam: 0, maxIter: 5 }, [0, 0])).toThrow(/sum of weights/);
  });
});

describe('fitLeastSquares', () => {
  it('recovers an exact line and gives (XᵀX)⁻¹ of a known design', () => {
    // x = 0, 1, 2, 3 with intercept: XᵀX = [[4, 6], [6, 14]], inverse = [[0.7, -0.3], [-0.3, 0.2]]
    const x = Float64Array.from([1, 0, 1, 1, 1, 2, 1, 3]);
    const fit = fitLeastSquares(x, [5, 7, 9, 11], 2);
    expect(fit.beta[0]).toBeCloseTo(5, 12);
    expect(fit.beta[1]).toBeCloseTo(2, 12);
    expect(fit.rss).toBeCloseTo(0, 20);
    [0.7, -0.3, -0.3, 0.2].forEach((v, i) => expect(fit.xtxInverse[i]).toBeCloseTo(v, 12));
    expect(leverage(fit, [1, 4])).toBeCloseTo(0.7 - 2 * 0.3 * 4 + 0.2 * 16, 12);
  });

  it('refuses collinear columns', () => {
    expect(() => fitLeastSquares(Float64Array.from([1, 2, 1, 2, 1, 2]), [1, 2, 3], 2)).toThrow(/collinear/);
  });
});
