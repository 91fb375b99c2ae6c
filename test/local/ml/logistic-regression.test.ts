/**
 * local/ml/logistic-regression.ts (L-BFGS, MLlib-style L2 logistic regression) against an independent
 * reference written here: Newton/IRLS on the same standardised, L2-penalised objective, with the
 * d×d (+ intercept) Newton system solved by Gaussian elimination with partial pivoting. Training on a
 * matrix standardised in place gives the same model bit for bit.
 */
import {
  featureStats,
  LogisticModel,
  predictAll,
  predictAllStandardized,
  predictProbability,
  standardizeInPlace,
  trainLogisticRegression,
  trainStandardized,
} from '../../../local/ml/logistic-regression';

/** mulberry32: a small seeded PRNG, independent of the module under test. */
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

function gaussian(u: () => number): () => number {
  return () => {
    const u1 = 1 - u();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u());
  };
}

interface Dataset {
  x: Float64Array;
  y: Uint8Array;
  n: number;
  d: number;
}

/** Features with assorted means and scales; labels Bernoulli(sigmoid(linear score)). */
function makeDataset(seed: number, n: number, d: number, constantColumn = -1): Dataset {
  const u = rng(seed);
  const g = gaussian(u);
  const scale = Array.from({ length: d }, () => 0.1 + 20 * u());
  const shift = Array.from({ length: d }, () => 50 * (u() - 0.5));
  const beta = Array.from({ length: d }, () => 2 * (u() - 0.5));
  const x = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let m = 0.3;
    for (let j = 0; j < d; j++) {
      const v = g();
      x[i * d + j] = j === constantColumn ? 3.25 : shift[j] + scale[j] * v;
      if (j !== constantColumn) m += beta[j] * v;
    }
    y[i] = u() < 1 / (1 + Math.exp(-m)) ? 1 : 0;
  }
  return { x, y, n, d };
}

/** Solves A·s = b in place (A row-major dim×dim) by Gaussian elimination with partial pivoting. */
function gaussSolve(a: number[][], b: number[]): number[] {
  const dim = b.length;
  for (let c = 0; c < dim; c++) {
    let piv = c;
    for (let r = c + 1; r < dim; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
    [a[c], a[piv]] = [a[piv], a[c]];
    [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < dim; r++) {
      const factor = a[r][c] / a[c][c];
      for (let k = c; k < dim; k++) a[r][k] -= factor * a[c][k];
      b[r] -= factor * b[c];
    }
  }
  const s = new Array<number>(dim).fill(0);
  for (let r = dim - 1; r >= 0; r--) {
    let acc = b[r];
    for (let k = r + 1; k < dim; k++) acc -= a[r][k] * s[k];
    s[r] = acc / a[r][r];
  }
  return s;
}

interface Reference {
  intercept: number;
  coefficients: number[];
  means: number[];
  stds: number[];
}

/**
 * Newton/IRLS reference. Standardises with the sample std (n − 1), drops constant columns (their
 * coefficient is 0 by definition), and iterates θ ← θ − H⁻¹∇f with
 *   ∇f = (1/n) Σ (p_i − y_i)(1, z_i) + λ(0, w),  H = (1/n) Σ p_i(1−p_i)(1, z_i)(1, z_i)ᵀ + λ·diag(0, 1, …, 1),
 * halving the step if the objective does not decrease, until the step is below 1e-13.
 */
function newtonReference(ds: Dataset, lambda: number): Reference {
  const { x, y, n, d } = ds;
  const means = new Array<number>(d).fill(0);
  const stds = new Array<number>(d).fill(0);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + j];
    means[j] = s / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (x[i * d + j] - means[j]) ** 2;
    stds[j] = Math.sqrt(ss / (n - 1));
  }
  const cols = [...Array(d).keys()].filter((j) => stds[j] > 1e-12);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push([1, ...cols.map((j) => (x[i * d + j] - means[j]) / stds[j])]);
  const dim = cols.length + 1;
  const objective = (t: number[]): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let k = 0; k < dim; k++) m += t[k] * rows[i][k];
      f += Math.log(1 + Math.exp(m)) - y[i] * m;
    }
    let pen = 0;
    for (let k = 1; k < dim; k++) pen += t[k] * t[k];
    return f / n + (lambda / 2) * pen;
  };
  let theta = new Array<number>(dim).fill(0);
  for (let iter = 0; iter < 100; iter++) {
    const grad = new Array<number>(dim).fill(0);
    const hess = Array.from({ length: dim }, () => new Array<number>(dim).fill(0));
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let k = 0; k < dim; k++) m += theta[k] * rows[i][k];
      const p = 1 / (1 + Math.exp(-m));
      const w = p * (1 - p);
      for (let k = 0; k < dim; k++) {
        grad[k] += (p - y[i]) * rows[i][k];
        for (let l = 0; l < dim; l++) hess[k][l] += w * rows[i][k] * rows[i][l];
      }
    }
    for (let k = 0; k < dim; k++) {
      grad[k] /= n;
      for (let l = 0; l < dim; l++) hess[k][l] /= n;
    }
    for (let k = 1; k < dim; k++) {
      grad[k] += lambda * theta[k];
      hess[k][k] += lambda;
    }
    const step = gaussSolve(hess, grad);
    let t = 1;
    const f0 = objective(theta);
    let next = theta.map((v, k) => v - t * step[k]);
    while (objective(next) > f0 + 1e-15 && t > 1e-8) {
      t /= 2;
      next = theta.map((v, k) => v - t * step[k]);
    }
    theta = next;
    if (Math.max(...step.map(Math.abs)) * t < 1e-13) break;
  }
  const coefficients = new Array<number>(d).fill(0);
  cols.forEach((j, k) => (coefficients[j] = theta[k + 1]));
  return { intercept: theta[0], coefficients, means, stds };
}

/** Gradient of the objective at the model's solution, computed from scratch on raw features. */
function gradientAt(model: LogisticModel, ds: Dataset, lambda: number): number[] {
  const { x, y, n, d } = ds;
  const g = new Array<number>(d + 1).fill(0);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, (_, j) =>
      model.stds[j] > 0 ? (x[i * d + j] - model.means[j]) / model.stds[j] : 0,
    );
    let m = model.intercept;
    for (let j = 0; j < d; j++) m += model.coefficients[j] * z[j];
    const r = 1 / (1 + Math.exp(-m)) - y[i];
    g[0] += r / n;
    for (let j = 0; j < d; j++) g[j + 1] += (r * z[j]) / n;
  }
  for (let j = 0; j < d; j++) if (model.stds[j] > 0) g[j + 1] += lambda * model.coefficients[j];
  return g;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('trainLogisticRegression against Newton/IRLS', () => {
  const cases: Array<[number, number, number, number]> = [
    // seed, n, d, regParam
    [1, 200, 3, 0.01],
    [2, 500, 5, 0.1],
    [3, 1000, 8, 1],
    [4, 2000, 12, 0.01],
    [5, 2000, 12, 0.1],
    [6, 300, 10, 1],
    [7, 800, 4, 0.01],
  ];
  test.each(cases)('seed %i, n = %i, d = %i, regParam = %f', (seed, n, d, regParam) => {
    const ds = makeDataset(seed, n, d);
    const model = trainLogisticRegression(ds.x, ds.y, d, { regParam, maxIter: 200 });
    const ref = newtonReference(ds, regParam);
    expect(maxAbsDiff(model.means, ref.means)).toBeLessThan(1e-9);
    expect(maxAbsDiff(model.stds, ref.stds)).toBeLessThan(1e-9);
    // Default tol (1e-6): measured ≤ 3.5e-7 from Newton and a gradient ≤ 2.1e-7 on these seeds
    // (≤ 1.8e-6 and ≤ 5.7e-7 over a sweep of 60 other random datasets).
    expect(Math.abs(model.intercept - ref.intercept)).toBeLessThan(1e-5);
    expect(maxAbsDiff(model.coefficients, ref.coefficients)).toBeLessThan(1e-5);
    expect(Math.max(...gradientAt(model, ds, regParam).map(Math.abs))).toBeLessThan(5e-6);
    expect(model.iterations).toBeGreaterThan(0);
    expect(model.iterations).toBeLessThanOrEqual(200);
    expect(Number.isFinite(model.loss)).toBe(true);
  });

  test('a tight tol reaches the Newton solution to ~1e-8 and a ~0 gradient', () => {
    const ds = makeDataset(11, 1500, 9);
    const model = trainLogisticRegression(ds.x, ds.y, 9, { regParam: 0.01, maxIter: 500, tol: 1e-12 });
    const ref = newtonReference(ds, 0.01);
    expect(maxAbsDiff(model.coefficients, ref.coefficients)).toBeLessThan(1e-7);
    expect(Math.abs(model.intercept - ref.intercept)).toBeLessThan(1e-7);
    expect(Math.max(...gradientAt(model, ds, 0.01).map(Math.abs))).toBeLessThan(1e-8);
  });

  test('the reported loss is the penalised objective at the returned solution', () => {
    const ds = makeDataset(12, 400, 5);
    const lambda = 0.1;
    const model = trainLogisticRegression(ds.x, ds.y, 5, { regParam: lambda, maxIter: 100 });
    const p = predictAll(model, ds.x, 5);
    let f = 0;
    for (let i = 0; i < ds.n; i++) f -= ds.y[i] ? Math.log(p[i]) : Math.log(1 - p[i]);
    f = f / ds.n + (lambda / 2) * model.coefficients.reduce((s, w) => s + w * w, 0);
    expect(model.loss).toBeCloseTo(f, 10);
  });
});

describe('edge cases', () => {
  test('a constant feature gets weight 0 and the rest matches the reference', () => {
    const ds = makeDataset(21, 600, 6, 2);
    const model = trainLogisticRegression(ds.x, ds.y, 6, { regParam: 0.1, maxIter: 200 });
    expect(model.stds[2]).toBe(0);
    expect(model.coefficients[2]).toBe(0);
    const ref = newtonReference(ds, 0.1);
    expect(maxAbsDiff(model.coefficients, ref.coefficients)).toBeLessThan(1e-4);
    // The constant column's value does not matter at prediction time.
    const row = Array.from(ds.x.subarray(0, 6));
    const other = [...row];
    other[2] = 1e6;
    expect(predictProbability(model, other)).toBe(predictProbability(model, row));
  });

  test('one-class labels: zero coefficients, intercept = logit((n1 + 0.5)/(n + 1))', () => {
    const ds = makeDataset(22, 50, 3);
    const ones = new Uint8Array(50).fill(1);
    const m1 = trainLogisticRegression(ds.x, ones, 3, { regParam: 0.1, maxIter: 100 });
    expect(Array.from(m1.coefficients)).toEqual([0, 0, 0]);
    expect(m1.intercept).toBeCloseTo(Math.log(101), 12); // (50.5/51)/(0.5/51) = 101
    expect(m1.iterations).toBe(0);
    const zeros = new Uint8Array(50);
    const m0 = trainLogisticRegression(ds.x, zeros, 3, { regParam: 0.1, maxIter: 100 });
    expect(m0.intercept).toBeCloseTo(-Math.log(101), 12);
    expect(predictProbability(m0, [0, 0, 0])).toBeCloseTo(0.5 / 51, 12);
  });

  test('n = 0 throws a clear error; malformed inputs are rejected', () => {
    expect(() => trainLogisticRegression(new Float64Array(0), new Uint8Array(0), 3, { regParam: 0.1, maxIter: 10 })).toThrow(
      /no training rows \(n = 0\)/,
    );
    expect(() => trainLogisticRegression(new Float64Array(5), new Uint8Array(2), 3, { regParam: 0.1, maxIter: 10 })).toThrow(
      /x has 5 values/,
    );
    expect(() => trainLogisticRegression(new Float64Array(2), Uint8Array.of(0, 2), 1, { regParam: 0.1, maxIter: 10 })).toThrow(
      /expected 0 or 1/,
    );
    expect(() => trainLogisticRegression(new Float64Array(2), Uint8Array.of(0, 1), 1, { regParam: -1, maxIter: 10 })).toThrow(
      /regParam/,
    );
  });

  test('separable data with regParam > 0 stays finite and matches the reference', () => {
    const n = 400;
    const d = 2;
    const u = rng(31);
    const x = new Float64Array(n * d);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const a = 10 * (u() - 0.5);
      const b = 10 * (u() - 0.5);
      x[i * d] = a;
      x[i * d + 1] = b;
      y[i] = a + 0.5 * b > 0.2 ? 1 : 0; // perfectly separable
    }
    const model = trainLogisticRegression(x, y, d, { regParam: 0.01, maxIter: 500 });
    expect(Number.isFinite(model.intercept)).toBe(true);
    model.coefficients.forEach((w) => expect(Number.isFinite(w)).toBe(true));
    expect(Number.isFinite(model.loss)).toBe(true);
    const ref = newtonReference({ x, y, n, d }, 0.01);
    expect(maxAbsDiff(model.coefficients, ref.coefficients)).toBeLessThan(1e-3);
    const p = predictAll(model, x, d);
    let correct = 0;
    for (let i = 0; i < n; i++) correct += (p[i] > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
    expect(correct / n).toBeGreaterThan(0.97);
  });

  test('maxIter bounds the iteration count', () => {
    const ds = makeDataset(41, 500, 6);
    const model = trainLogisticRegression(ds.x, ds.y, 6, { regParam: 0.01, maxIter: 3 });
    expect(model.iterations).toBe(3);
    const none = trainLogisticRegression(ds.x, ds.y, 6, { regParam: 0.01, maxIter: 0 });
    expect(none.iterations).toBe(0);
    expect(Array.from(none.coefficients)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('prediction', () => {
  test('predictProbability and predictAll match p = 1/(1 + exp(−(b0 + Σ w_j (x_j − mean_j)/std_j)))', () => {
    const ds = makeDataset(51, 300, 4);
    const model = trainLogisticRegression(ds.x, ds.y, 4, { regParam: 0.1, maxIter: 100 });
    const all = predictAll(model, ds.x, 4);
    for (let i = 0; i < ds.n; i++) {
      const row = Array.from(ds.x.subarray(i * 4, i * 4 + 4));
      let m = model.intercept;
      for (let j = 0; j < 4; j++) m += (model.coefficients[j] * (row[j] - model.means[j])) / model.stds[j];
      const manual = 1 / (1 + Math.exp(-m));
      expect(predictProbability(model, row)).toBeCloseTo(manual, 14);
      expect(all[i]).toBeCloseTo(manual, 14);
    }
    expect(() => predictProbability(model, [1, 2])).toThrow(/row has 2 features, model expects 4/);
  });

  test('extreme margins give probabilities in [0, 1] without NaN', () => {
    const model: LogisticModel = {
      intercept: 0,
      coefficients: Float64Array.of(1),
      means: Float64Array.of(0),
      stds: Float64Array.of(1),
      iterations: 0,
      loss: 0,
    };
    expect(predictProbability(model, [1000])).toBe(1);
    expect(predictProbability(model, [-1000])).toBe(0);
  });
});

describe('training on a matrix standardised in place (one copy of the features)', () => {
  // Features on different scales, one constant column, labels from a known logistic model.
  const n = 3000;
  const d = 4;
  const x = new Float64Array(n * d);
  const y = new Uint8Array(n);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    x[i * d] = Math.floor(rnd() * 20);
    x[i * d + 1] = rnd() * 1000;
    x[i * d + 2] = 5;
    x[i * d + 3] = rnd() < 0.3 ? 1 : 0;
    const m = -1 + 0.1 * x[i * d] - 0.001 * x[i * d + 1] + 1.5 * x[i * d + 3];
    y[i] = rnd() < 1 / (1 + Math.exp(-m)) ? 1 : 0;
  }
  const train = 2400;
  const params = { regParam: 0.01, maxIter: 100 };

  test('gives the model of trainLogisticRegression bit for bit, and its predictions up to rounding', () => {
    const reference = trainLogisticRegression(x.slice(0, train * d), y.subarray(0, train), d, params);
    const z = x.slice();
    const stats = featureStats(z, train, d);
    standardizeInPlace(z, d, stats);
    // Every row standardised with the training rows' statistics; the constant column is 0.
    expect(z[2]).toBe(0);
    expect(z[(n - 1) * d + 1]).toBe((x[(n - 1) * d + 1] - stats.means[1]) / stats.stds[1]);
    const model = trainStandardized(z.subarray(0, train * d), y.subarray(0, train), d, params, stats);
    expect(model.intercept).toBe(reference.intercept);
    expect(Array.from(model.coefficients)).toEqual(Array.from(reference.coefficients));
    expect(Array.from(model.means)).toEqual(Array.from(reference.means));
    expect(Array.from(model.stds)).toEqual(Array.from(reference.stds));
    expect(model.iterations).toBe(reference.iterations);
    expect(model.iterations).toBeGreaterThan(0);
    const raw = predictAll(reference, x, d);
    const standardised = predictAllStandardized(model, z, d);
    for (let i = 0; i < n; i++) expect(Math.abs(standardised[i] - raw[i])).toBeLessThanOrEqual(1e-14);
  });

  test('refuses statistics of another width and a matrix too short for them', () => {
    const z = x.slice();
    const stats = featureStats(z, train, d);
    expect(() => trainStandardized(z.subarray(0, train * d), y.subarray(0, train), 3, params, stats)).toThrow();
    expect(() => featureStats(new Float64Array(7), 2, 4)).toThrow('featureStats: x has 7 values, 2 rows × d = 4 need 8');
    expect(() => trainStandardized(z.subarray(0, train * d), y.subarray(0, train), d, params, { means: new Float64Array(3), stds: new Float64Array(3) })).toThrow(
      'logistic regression: stats for 3 features, d = 4',
    );
  });
});
