/**
 * local/ml/kmeans.ts: k-means (k-means++ init, Lloyd) on seeded Gaussian blobs with known centres,
 * WSSSE and the O(n·k·d) silhouette against direct / brute-force O(n²) recomputations written here.
 */
import { assign, KMeansModel, silhouette, standardize, trainKMeans } from '../../../local/ml/kmeans';

/** mulberry32, independent of the module's generator. */
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
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

interface Blobs {
  x: Float64Array;
  blob: Int32Array;
  centres: number[][];
  n: number;
  d: number;
}

/** k blobs of `per` points, centres on a scaled simplex-like grid (≥ 20 apart), noise σ. */
function makeBlobs(seed: number, k: number, d: number, per: number, sigma: number): Blobs {
  const u = rng(seed);
  const g = gaussian(u);
  const centres = Array.from({ length: k }, (_, c) =>
    Array.from({ length: d }, (_, j) => (j === c % d ? 20 * (1 + Math.floor(c / d)) : 0) + 3 * (u() - 0.5)),
  );
  const n = k * per;
  const x = new Float64Array(n * d);
  const blob = new Int32Array(n);
  // Interleave the blobs so that cluster order is not the input order.
  for (let i = 0; i < n; i++) {
    const c = i % k;
    blob[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = centres[c][j] + sigma * g();
  }
  return { x, blob, centres, n, d };
}

const sqDist = (x: Float64Array, i: number, y: ArrayLike<number>, yi: number, d: number): number => {
  let s = 0;
  for (let j = 0; j < d; j++) s += (x[i * d + j] - y[yi * d + j]) ** 2;
  return s;
};

/** Σ_i min_c ||x_i − c||², straight from the definition. */
function directWssse(model: KMeansModel, x: Float64Array): number {
  const n = x.length / model.d;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let c = 0; c < model.k; c++) best = Math.min(best, sqDist(x, i, model.centroids, c, model.d));
    total += best;
  }
  return total;
}

/**
 * Brute-force O(n²·d) silhouette with squared Euclidean distance.
 * Spark's ClusteringEvaluator computes, for each cluster C, the mean squared distance of x to all of
 * C's points, D(x, C) = Σ_{c∈C} ||x − c||² / N_C, and for x's own cluster A multiplies by N_A/(N_A − 1).
 * Since x ∈ A contributes ||x − x||² = 0 to the sum, D(x, A)·N_A/(N_A − 1) = Σ_{c∈A, c≠x} ||x − c||²/(N_A − 1):
 * exactly the textbook a(x), the mean over the *other* points of the cluster. So here:
 *   a = Σ_{j∈A, j≠i} ||x_i − x_j||² / (N_A − 1),   b = min_{B≠A, N_B>0} Σ_{j∈B} ||x_i − x_j||² / N_B,
 *   s = (b − a)/max(a, b)  (Spark's 1 − a/b or b/a − 1 branches are the same number), s = 0 if N_A = 1,
 * and the result is the mean of s over all points (singletons included as 0).
 */
function bruteSilhouette(x: Float64Array, d: number, labels: Int32Array, k: number): number {
  const n = labels.length;
  const counts = new Array<number>(k).fill(0);
  for (const c of labels) counts[c]++;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sums = new Array<number>(k).fill(0);
    for (let j = 0; j < n; j++) if (j !== i) sums[labels[j]] += sqDist(x, i, x, j, d);
    const own = labels[i];
    if (counts[own] === 1) continue;
    const a = sums[own] / (counts[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[c] / counts[c]);
    const m = Math.max(a, b);
    total += m === 0 ? 0 : (b - a) / m;
  }
  return total / n;
}

describe('trainKMeans on well-separated blobs', () => {
  test.each([
    [1, 4, 3, 250],
    [2, 5, 2, 200],
    [3, 3, 6, 400],
    [4, 8, 4, 100],
  ])('seed %i: k = %i, d = %i, %i points per blob', (seed, k, d, per) => {
    const b = makeBlobs(seed, k, d, per, 1);
    const { model, assignments } = trainKMeans(b.x, d, { k, maxIter: 50, seed });
    expect(model.k).toBe(k);
    expect(model.d).toBe(d);
    // Every blob maps to exactly one cluster and every cluster to exactly one blob.
    const blobToCluster = new Map<number, number>();
    for (let i = 0; i < b.n; i++) {
      const seen = blobToCluster.get(b.blob[i]);
      if (seen === undefined) blobToCluster.set(b.blob[i], assignments[i]);
      else expect(assignments[i]).toBe(seen);
    }
    expect(new Set(blobToCluster.values()).size).toBe(k);
    // Centroid = the blob's sample mean (exactly, up to rounding) and close to the true centre.
    for (const [blob, cluster] of blobToCluster) {
      const mean = new Array<number>(d).fill(0);
      let m = 0;
      for (let i = 0; i < b.n; i++) {
        if (b.blob[i] !== blob) continue;
        m++;
        for (let j = 0; j < d; j++) mean[j] += b.x[i * d + j];
      }
      for (let j = 0; j < d; j++) {
        const c = model.centroids[cluster * d + j];
        expect(Math.abs(c - mean[j] / m)).toBeLessThan(1e-9);
        // σ/√m ≤ 0.1 here; 5 standard errors.
        expect(Math.abs(c - b.centres[blob][j])).toBeLessThan(5 / Math.sqrt(m));
      }
    }
    expect(model.iterations).toBeLessThan(50);
    expect(model.wssse).toBeCloseTo(directWssse(model, b.x), 8);
    expect(Array.from(assign(model, b.x))).toEqual(Array.from(assignments));
    // The silhouette of clean blobs is high.
    expect(silhouette(b.x, d, assignments, k)).toBeGreaterThan(0.9);
  });

  test('deterministic for a seed', () => {
    const b = makeBlobs(9, 6, 3, 150, 4); // overlapping enough that the seed matters
    const r1 = trainKMeans(b.x, 3, { k: 6, maxIter: 30, seed: 42 });
    const r2 = trainKMeans(b.x, 3, { k: 6, maxIter: 30, seed: 42 });
    expect(Array.from(r1.model.centroids)).toEqual(Array.from(r2.model.centroids));
    expect(Array.from(r1.assignments)).toEqual(Array.from(r2.assignments));
    expect(r1.model.iterations).toBe(r2.model.iterations);
    expect(r1.model.wssse).toBe(r2.model.wssse);
    // Other seeds start elsewhere (at least one of several differs).
    const others = [1, 2, 3, 4, 5].map((s) => trainKMeans(b.x, 3, { k: 6, maxIter: 0, seed: s }).model.centroids);
    const init42 = trainKMeans(b.x, 3, { k: 6, maxIter: 0, seed: 42 }).model.centroids;
    expect(others.some((c) => c.some((v, i) => v !== init42[i]))).toBe(true);
  });
});

describe('wssse and iteration limits', () => {
  test('wssse equals a direct recomputation on overlapping data', () => {
    const u = rng(77);
    const x = Float64Array.from({ length: 900 * 5 }, () => u() * 10);
    const { model, assignments } = trainKMeans(x, 5, { k: 7, maxIter: 100, seed: 3 });
    expect(model.wssse).toBeCloseTo(directWssse(model, x), 8);
    let viaLabels = 0;
    for (let i = 0; i < 900; i++) viaLabels += sqDist(x, i, model.centroids, assignments[i], 5);
    expect(model.wssse).toBeCloseTo(viaLabels, 8);
  });

  test('maxIter is respected; maxIter = 0 returns the k-means++ centres (data points)', () => {
    const u = rng(5);
    const x = Float64Array.from({ length: 2000 * 2 }, () => u());
    for (const maxIter of [1, 2, 3]) {
      const { model } = trainKMeans(x, 2, { k: 10, maxIter, seed: 1, tol: 0 });
      expect(model.iterations).toBe(maxIter);
    }
    const { model } = trainKMeans(x, 2, { k: 10, maxIter: 0, seed: 1 });
    expect(model.iterations).toBe(0);
    for (let c = 0; c < 10; c++) {
      let isRow = false;
      for (let i = 0; i < 2000 && !isRow; i++) isRow = sqDist(x, i, model.centroids, c, 2) === 0;
      expect(isRow).toBe(true);
    }
    // A larger budget keeps lowering the cost and stops on tol before maxIter.
    const long = trainKMeans(x, 2, { k: 10, maxIter: 500, seed: 1 });
    expect(long.model.iterations).toBeLessThan(500);
    expect(long.model.wssse).toBeLessThan(model.wssse);
  });

  test('k > n throws a clear error naming both; bad inputs are rejected', () => {
    const x = Float64Array.of(0, 0, 1, 1, 2, 2);
    expect(() => trainKMeans(x, 2, { k: 5, maxIter: 10, seed: 1 })).toThrow(
      'k-means: only 3 point(s) for k = 5 clusters; lower k to at most 3',
    );
    expect(() => trainKMeans(x, 4, { k: 1, maxIter: 10, seed: 1 })).toThrow(/not a multiple of d = 4/);
    expect(() => trainKMeans(x, 2, { k: 0, maxIter: 10, seed: 1 })).toThrow(/k must be a positive integer/);
    expect(() => trainKMeans(Float64Array.of(0, NaN), 1, { k: 1, maxIter: 10, seed: 1 })).toThrow(/not finite/);
  });

  test('duplicate points: an empty cluster is re-seeded, no NaN centroids, zero cost', () => {
    const x = Float64Array.of(0, 0, 0, 7);
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { model, assignments } = trainKMeans(x, 1, { k: 3, maxIter: 10, seed });
      model.centroids.forEach((c) => expect([0, 7]).toContain(c));
      expect(model.wssse).toBe(0);
      expect(assignments[3]).not.toBe(assignments[0]);
    }
    // k = n: every point its own cluster.
    const { model } = trainKMeans(Float64Array.of(1, 5, 9), 1, { k: 3, maxIter: 10, seed: 8 });
    expect(Array.from(model.centroids).sort((a, b) => a - b)).toEqual([1, 5, 9]);
    expect(model.wssse).toBe(0);
  });
});

describe('silhouette (squared Euclidean, Spark ClusteringEvaluator formula)', () => {
  test('equals the brute-force O(n²) computation on k-means output', () => {
    const b = makeBlobs(13, 4, 3, 120, 6); // overlapping blobs: silhouette well below 1
    const { assignments } = trainKMeans(b.x, 3, { k: 4, maxIter: 50, seed: 2 });
    const fast = silhouette(b.x, 3, assignments, 4);
    expect(fast).toBeLessThan(0.9);
    expect(Math.abs(fast - bruteSilhouette(b.x, 3, assignments, 4))).toBeLessThan(1e-10);
  });

  test('equals brute force on arbitrary labels with a singleton and an empty cluster id', () => {
    const u = rng(17);
    const n = 300;
    const d = 4;
    const x = Float64Array.from({ length: n * d }, () => 1000 + 5 * u()); // offset data: tests cancellation
    const labels = Int32Array.from({ length: n }, () => Math.floor(u() * 3));
    labels[0] = 4; // singleton cluster 4; cluster 3 is empty
    const fast = silhouette(x, d, labels, 5);
    const brute = bruteSilhouette(x, d, labels, 5);
    expect(Math.abs(fast - brute)).toBeLessThan(1e-10);
    expect(fast).toBeLessThan(0.2); // random labels: near 0 or negative
  });

  test('small hand-checked case', () => {
    // 1-D points 0, 1 (cluster 0) and 10 (cluster 1, singleton).
    // Point 0: a = 1, b = 100 → 0.99; point 1: a = 1, b = 81 → 80/81; point 10: singleton → 0.
    const s = silhouette(Float64Array.of(0, 1, 10), 1, Int32Array.of(0, 0, 1), 2);
    expect(s).toBeCloseTo((0.99 + 80 / 81) / 3, 12);
  });

  test('rejects fewer than two non-empty clusters and bad labels', () => {
    expect(() => silhouette(Float64Array.of(0, 1), 1, Int32Array.of(0, 0), 2)).toThrow(/at least 2 non-empty clusters/);
    expect(() => silhouette(Float64Array.of(0, 1), 1, Int32Array.of(0, 2), 2)).toThrow(/outside 0..1/);
    expect(() => silhouette(Float64Array.of(0, 1), 1, Int32Array.of(0), 2)).toThrow(/1 assignments for 2 points/);
  });
});

describe('standardize', () => {
  test('sample std (n − 1), centred columns, constant column → 0', () => {
    const x = Float64Array.of(1, 5, 10, 2, 5, 20, 3, 5, 30, 4, 5, 40);
    const { z, means, stds } = standardize(x, 3);
    expect(Array.from(means)).toEqual([2.5, 5, 25]);
    expect(stds[0]).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(stds[1]).toBe(0);
    expect(stds[2]).toBeCloseTo(10 * Math.sqrt(5 / 3), 12);
    for (let i = 0; i < 4; i++) {
      expect(z[i * 3]).toBeCloseTo((x[i * 3] - 2.5) / Math.sqrt(5 / 3), 12);
      expect(z[i * 3 + 1]).toBe(0);
      expect(z[i * 3 + 2]).toBeCloseTo(z[i * 3], 12);
    }
    expect(() => standardize(new Float64Array(0), 3)).toThrow(/n = 0/);
  });
});
