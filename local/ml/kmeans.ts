/**
 * k-means clustering, the local counterpart of Spark MLlib's `org.apache.spark.ml.clustering.KMeans`
 * (Euclidean distance measure), plus the squared-Euclidean silhouette of MLlib's `ClusteringEvaluator`.
 *
 * Method. Lloyd iterations: assign every point to its nearest centroid (squared Euclidean distance,
 * ties to the lowest cluster index), then move every centroid to the mean of its points. Stops after
 * maxIter iterations or once no centroid moved farther than tol (Euclidean distance; MLlib's default
 * tol is 1e-4 and MLlib's test is the same, squared distance ≤ tol²).
 * Initialisation: seeded k-means++ (Arthur & Vassilvitskii 2007: first centre uniform, each next one
 * drawn with probability ∝ D², the squared distance to the nearest centre chosen so far), in its
 * greedy form (scikit-learn's default): 2 + ⌊ln k⌋ candidates per centre, keep the one that lowers
 * Σ D² most. Single-draw k-means++ merged two of k well-separated blobs on 1–13% of seeds in our
 * tests; the greedy form cuts that sharply for (2 + ⌊ln k⌋)× the seeding cost. MLlib's
 * default is k-means|| (Bahmani et al. 2012), a parallel, oversampling approximation of k-means++
 * meant for a cluster; on one machine plain k-means++ is the thing it approximates.
 * Empty clusters: MLlib keeps an empty cluster's old centre; here an empty cluster is re-seeded with
 * the point farthest from its assigned centroid (taken from a cluster with more than one point), so
 * every iteration keeps k non-empty clusters when n ≥ k.
 * Deterministic for a seed (the engine's sfc32 generator, local/ml/random.ts, seeded through splitmix32;
 * no Math.random).
 * The returned assignments and wssse (within-set sum of squared errors, MLlib's trainingCost) are for
 * the final centroids, i.e. the same as `assign(model, x)`.
 *
 * Silhouette (Rousseeuw 1987) with squared Euclidean distance, as MLlib's `ClusteringEvaluator`
 * (metricName "silhouette", distanceMeasure "squaredEuclidean") computes it, in O(n·k·d): with, per
 * cluster C, N_C points, Y_C = Σ_{c∈C} c and Ψ_C = Σ_{c∈C} ||c||², the mean squared distance of x to
 * C's points (x itself included if x ∈ C, at distance 0) is ||x||² + Ψ_C/N_C − 2·x·Y_C/N_C.
 * a(x) = that for x's own cluster times N/(N − 1) (so x itself is excluded), b(x) = the minimum over
 * the other non-empty clusters, s = 1 − a/b if a < b, b/a − 1 if a > b, 0 if equal, and s = 0 for a
 * point alone in its cluster; the score is the mean of s over all points. The data are centred on the
 * global mean first (distances unchanged) to limit cancellation in ||x||² + Ψ/N − 2x·Y/N.
 *
 * Complexity. Greedy k-means++: O(n·k·d·(2 + ln k)). Each Lloyd iteration: O(n·k·d) time, O(k·d) extra memory beyond
 * the O(n) assignment/distance arrays. silhouette: O(n·k·d). standardize: O(n·d).
 */

import { Sfc32, splitmixSeedWords } from './random';

export interface KMeansParams {
  k: number;
  maxIter: number;
  seed: number;
  tol?: number;
}

export interface KMeansModel {
  k: number;
  d: number;
  /** k×d row-major. */
  centroids: Float64Array;
  /** Lloyd iterations performed (≤ maxIter). */
  iterations: number;
  /** Sum of squared distances of the training points to their nearest final centroid. */
  wssse: number;
}

const DEFAULT_TOL = 1e-4;

/** k-means++'s uniform draws in [0, 1): the engine's sfc32 (./random), seeded by splitmix32 from `seed`. */
function makeRandom(seed: number): () => number {
  const rng = new Sfc32(splitmixSeedWords(seed), 12);
  return () => rng.next();
}

function rowCount(x: Float64Array, d: number, what: string): number {
  if (!Number.isInteger(d) || d < 1) throw new Error(`${what}: d must be a positive integer, got ${d}`);
  if (x.length % d !== 0) throw new Error(`${what}: x has ${x.length} values, not a multiple of d = ${d}`);
  return x.length / d;
}

function squaredDistance(x: Float64Array, xi: number, c: Float64Array, ci: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = x[xi + j] - c[ci + j];
    s += diff * diff;
  }
  return s;
}

/** Nearest centroid of every point (ties → lowest index); fills `labels` and `dist` (squared). */
function assignInto(
  x: Float64Array,
  n: number,
  d: number,
  centroids: Float64Array,
  k: number,
  labels: Int32Array,
  dist: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const dd = squaredDistance(x, i * d, centroids, c * d, d);
      if (dd < bestD) {
        bestD = dd;
        best = c;
      }
    }
    labels[i] = best;
    dist[i] = bestD;
  }
}

/**
 * Seeded greedy k-means++: each new centre is the best (lowest resulting potential Σ D²) of
 * `trials` candidates drawn ∝ D² — the variant scikit-learn uses, with trials = 2 + ⌊ln k⌋.
 */
function kMeansPlusPlus(x: Float64Array, n: number, d: number, k: number, random: () => number): Float64Array {
  const trials = 2 + Math.floor(Math.log(k));
  const centroids = new Float64Array(k * d);
  const first = Math.min(n - 1, Math.floor(random() * n));
  centroids.set(x.subarray(first * d, first * d + d), 0);
  let d2 = new Float64Array(n);
  for (let i = 0; i < n; i++) d2[i] = squaredDistance(x, i * d, x, first * d, d);
  let candD2 = new Float64Array(n);
  let bestD2 = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += d2[i];
    let bestPick = -1;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      let pick = -1;
      if (total > 0) {
        const r = random() * total;
        let acc = 0;
        for (let i = 0; i < n; i++) {
          if (d2[i] === 0) continue;
          acc += d2[i];
          pick = i;
          if (acc > r) break;
        }
      } else {
        // Fewer distinct points than k: every point already coincides with a centre.
        pick = Math.min(n - 1, Math.floor(random() * n));
      }
      let potential = 0;
      for (let i = 0; i < n; i++) {
        const dd = Math.min(d2[i], squaredDistance(x, i * d, x, pick * d, d));
        candD2[i] = dd;
        potential += dd;
      }
      if (potential < bestPotential) {
        bestPotential = potential;
        bestPick = pick;
        [bestD2, candD2] = [candD2, bestD2];
      }
    }
    centroids.set(x.subarray(bestPick * d, bestPick * d + d), c * d);
    [d2, bestD2] = [bestD2, d2];
  }
  return centroids;
}

export function trainKMeans(
  x: Float64Array,
  d: number,
  params: KMeansParams,
): { model: KMeansModel; assignments: Int32Array } {
  const n = rowCount(x, d, 'k-means');
  const { k, maxIter, seed } = params;
  const tol = params.tol ?? DEFAULT_TOL;
  if (!Number.isInteger(k) || k < 1) throw new Error(`k-means: k must be a positive integer, got ${k}`);
  if (!Number.isInteger(maxIter) || maxIter < 0) {
    throw new Error(`k-means: maxIter must be a non-negative integer, got ${maxIter}`);
  }
  if (!(tol >= 0)) throw new Error(`k-means: tol must be ≥ 0, got ${tol}`);
  if (!Number.isFinite(seed)) throw new Error(`k-means: seed must be a finite number, got ${seed}`);
  if (n < k) {
    throw new Error(`k-means: only ${n} point(s) for k = ${k} clusters; lower k to at most ${n}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new Error(`k-means: x[${i}] = ${x[i]} is not finite`);
  }

  let centroids: Float64Array = kMeansPlusPlus(x, n, d, k, makeRandom(seed));
  let next: Float64Array = new Float64Array(k * d);
  const labels = new Int32Array(n);
  const dist = new Float64Array(n);
  const counts = new Int32Array(k);
  let iterations = 0;
  while (iterations < maxIter) {
    assignInto(x, n, d, centroids, k, labels, dist);
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[labels[i]]++;
    for (let c = 0; c < k; c++) {
      if (counts[c] > 0) continue;
      // Re-seed with the point farthest from its centroid whose cluster can spare it.
      let far = -1;
      for (let i = 0; i < n; i++) {
        if (counts[labels[i]] > 1 && (far < 0 || dist[i] > dist[far])) far = i;
      }
      counts[labels[far]]--;
      labels[far] = c;
      dist[far] = 0;
      counts[c] = 1;
    }
    next.fill(0);
    for (let i = 0; i < n; i++) {
      const row = i * d;
      const cRow = labels[i] * d;
      for (let j = 0; j < d; j++) next[cRow + j] += x[row + j];
    }
    let maxMove2 = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) next[c * d + j] /= counts[c];
      maxMove2 = Math.max(maxMove2, squaredDistance(next, c * d, centroids, c * d, d));
    }
    [centroids, next] = [next, centroids];
    iterations++;
    if (maxMove2 <= tol * tol) break;
  }
  assignInto(x, n, d, centroids, k, labels, dist);
  let wssse = 0;
  for (let i = 0; i < n; i++) wssse += dist[i];
  return { model: { k, d, centroids, iterations, wssse }, assignments: labels };
}

/** Nearest centroid (squared Euclidean; ties → lowest index) of every row of x (n×model.d). */
export function assign(model: KMeansModel, x: Float64Array): Int32Array {
  const n = rowCount(x, model.d, 'assign');
  const labels = new Int32Array(n);
  assignInto(x, n, model.d, model.centroids, model.k, labels, new Float64Array(n));
  return labels;
}

/** Mean silhouette with squared Euclidean distance, computed in O(n·k·d) as Spark's ClusteringEvaluator does (precomputed per-cluster sums and squared norms). */
export function silhouette(x: Float64Array, d: number, assignments: Int32Array, k: number): number {
  const n = rowCount(x, d, 'silhouette');
  if (assignments.length !== n) {
    throw new Error(`silhouette: ${assignments.length} assignments for ${n} points`);
  }
  if (!Number.isInteger(k) || k < 1) throw new Error(`silhouette: k must be a positive integer, got ${k}`);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    if (c < 0 || c >= k) throw new Error(`silhouette: assignment ${i} is ${c}, outside 0..${k - 1}`);
    counts[c]++;
  }
  const present: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] > 0) present.push(c);
  if (present.length < 2) {
    throw new Error(`silhouette: needs at least 2 non-empty clusters, got ${present.length}`);
  }
  // Centre on the global mean: distances are unchanged, cancellation is smaller.
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const sums = new Float64Array(k * d); // Y_C
  const sqNormSums = new Float64Array(k); // Ψ_C
  const sqNorms = new Float64Array(n);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j] - mean[j];
      sums[c * d + j] += v;
      sq += v * v;
    }
    sqNorms[i] = sq;
    sqNormSums[c] += sq;
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const own = assignments[i];
    const nOwn = counts[own];
    if (nOwn === 1) continue; // s = 0 for a singleton cluster.
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    const meanSqDist = (c: number): number => {
      let dotY = 0;
      for (let j = 0; j < d; j++) dotY += row[j] * sums[c * d + j];
      return sqNorms[i] + sqNormSums[c] / counts[c] - (2 * dotY) / counts[c];
    };
    let b = Infinity;
    for (const c of present) if (c !== own) b = Math.min(b, meanSqDist(c));
    const a = (meanSqDist(own) * nOwn) / (nOwn - 1);
    if (a < b) total += 1 - a / b;
    else if (a > b) total += b / a - 1;
  }
  return total / n;
}

/**
 * z = (x − mean)/std per column with the sample std (n − 1), as MLlib's StandardScaler computes it
 * (StandardScaler defaults to withMean = false; here the columns are also centred). Columns with
 * std 0 (constant, or n = 1) become 0.
 */
export function standardize(x: Float64Array, d: number): { z: Float64Array; means: Float64Array; stds: Float64Array } {
  const n = rowCount(x, d, 'standardize');
  if (n === 0) throw new Error('standardize: no rows (n = 0)');
  const means = new Float64Array(d);
  const stds = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[j] += x[i * d + j];
  for (let j = 0; j < d; j++) means[j] /= n;
  if (n >= 2) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const dev = x[i * d + j] - means[j];
        stds[j] += dev * dev;
      }
    }
    for (let j = 0; j < d; j++) stds[j] = Math.sqrt(stds[j] / (n - 1));
  }
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) if (stds[j] > 0) z[i * d + j] = (x[i * d + j] - means[j]) / stds[j];
  }
  return { z, means, stds };
}
