/**
 * Evaluation metrics of the local engine, defined exactly as Spark MLlib defines them so that the
 * local and the Spark model-quality tables agree.
 *
 * Ranking (MLlib `org.apache.spark.mllib.evaluation.RankingMetrics`, binary relevance), for one user
 * with recommendation list `rec` (best first) and relevant set `rel`, n = min(|rec|, k):
 * - precision@k = |{i < n : rec[i] ∈ rel}| / k — always divided by k, even if |rec| < k.
 * - recall@k    = |{i < n : rec[i] ∈ rel}| / |rel|.
 * - AP@k        = Σ_{i < n, rec[i] ∈ rel} precision@(i+1) / min(|rel|, k); MAP@k is its mean.
 * - NDCG@k      = DCG / IDCG, DCG = Σ_{i < n, rec[i] ∈ rel} 1/log(i+2), IDCG = Σ_{i < min(|rel|,k)}
 *   1/log(i+2). The base of the log cancels in the ratio; natural log is used because MLlib uses it,
 *   which keeps the results bit-identical rather than merely equal.
 * A recommended item listed twice counts twice, as in MLlib (the lists are expected to be distinct).
 *
 * Users with an empty relevant set must be skipped by the caller: MLlib logs a warning and scores
 * them 0, which only says "this user had no holdout"; the pipeline evaluates users with at least one
 * held-out interaction. The per-user functions return 0 for them (MLlib's value) and
 * `RankingAccumulator.add` ignores them (and counts them in `skipped`).
 *
 * Binary classification (MLlib `BinaryClassificationMetrics`): ROC AUC is exact — the trapezoidal
 * area under the ROC curve over all distinct scores, which equals the Mann-Whitney statistic
 * P(score⁺ > score⁻) + ½·P(score⁺ = score⁻). The confusion counts predict positive when
 * score ≥ threshold (the contract's `predicted` column and MLlib's by-threshold metrics).
 */

function checkK(k: number): void {
  if (!(Number.isInteger(k) && k > 0)) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/** Hits among the first min(|recommended|, k) entries. */
function hitsAt(recommended: ArrayLike<number>, relevant: Set<number>, k: number): number {
  const n = Math.min(recommended.length, k);
  let hits = 0;
  for (let i = 0; i < n; i++) if (relevant.has(recommended[i])) hits++;
  return hits;
}

/** precision@k = hits in the first k / k (MLlib divides by k even when fewer were recommended). */
export function precisionAtK(recommended: ArrayLike<number>, relevant: Set<number>, k: number): number {
  checkK(k);
  if (relevant.size === 0) return 0;
  return hitsAt(recommended, relevant, k) / k;
}

/** recall@k = hits in the first k / |relevant|. */
export function recallAtK(recommended: ArrayLike<number>, relevant: Set<number>, k: number): number {
  checkK(k);
  if (relevant.size === 0) return 0;
  return hitsAt(recommended, relevant, k) / relevant.size;
}

/** AP@k = Σ over hit positions i < k of precision@(i+1), divided by min(|relevant|, k). */
export function averagePrecisionAtK(recommended: ArrayLike<number>, relevant: Set<number>, k: number): number {
  checkK(k);
  if (relevant.size === 0) return 0;
  const n = Math.min(recommended.length, k);
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (relevant.has(recommended[i])) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / Math.min(relevant.size, k);
}

/** NDCG@k with binary relevance (loop shaped as MLlib's `ndcgAt`, so the sums round identically). */
export function ndcgAtK(recommended: ArrayLike<number>, relevant: Set<number>, k: number): number {
  checkK(k);
  if (relevant.size === 0) return 0;
  const n = Math.min(Math.max(recommended.length, relevant.size), k);
  let dcg = 0;
  let idcg = 0;
  for (let i = 0; i < n; i++) {
    const gain = 1 / Math.log(i + 2);
    if (i < recommended.length && relevant.has(recommended[i])) dcg += gain;
    if (i < relevant.size) idcg += gain;
  }
  return dcg / idcg;
}

export interface RankingSummary {
  /** Means over `users`; null when no user was added (as spark-jobs' `ranking_means`). */
  precisionAtK: number | null;
  recallAtK: number | null;
  mapAtK: number | null;
  ndcgAtK: number | null;
  /** Users averaged (non-empty relevant set). */
  users: number;
  /** Users ignored because their relevant set was empty. */
  skipped: number;
}

/**
 * Streaming means of the ranking metrics: one user at a time, so the caller never holds all users'
 * lists. With no user added the means are null (the Spark job writes None: there is no mean).
 */
export class RankingAccumulator {
  private precisionSum = 0;
  private recallSum = 0;
  private apSum = 0;
  private ndcgSum = 0;
  private users = 0;
  private skipped = 0;

  constructor(readonly k: number) {
    checkK(k);
  }

  /** Add one user; returns false (and counts the user as skipped) when `relevant` is empty. */
  add(recommended: ArrayLike<number>, relevant: Set<number>): boolean {
    if (relevant.size === 0) {
      this.skipped++;
      return false;
    }
    this.precisionSum += precisionAtK(recommended, relevant, this.k);
    this.recallSum += recallAtK(recommended, relevant, this.k);
    this.apSum += averagePrecisionAtK(recommended, relevant, this.k);
    this.ndcgSum += ndcgAtK(recommended, relevant, this.k);
    this.users++;
    return true;
  }

  result(): RankingSummary {
    const n = this.users;
    return {
      precisionAtK: n > 0 ? this.precisionSum / n : null,
      recallAtK: n > 0 ? this.recallSum / n : null,
      mapAtK: n > 0 ? this.apSum / n : null,
      ndcgAtK: n > 0 ? this.ndcgSum / n : null,
      users: n,
      skipped: this.skipped,
    };
  }
}

function checkBinary(scores: Float64Array, labels: Uint8Array): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 1) throw new RangeError(`labels must be 0 or 1, got ${labels[i]} at ${i}`);
    if (Number.isNaN(scores[i])) throw new RangeError(`score at ${i} is NaN`);
  }
}

/**
 * Exact ROC AUC: (Σ over positives of #negatives scored lower + ½ #negatives scored equal) / (P·N).
 * Null when either class is absent (the area is undefined). O(n log n): both classes are sorted
 * with the native typed-array sort and merged with two pointers.
 */
export function aucRoc(scores: Float64Array, labels: Uint8Array): number | null {
  checkBinary(scores, labels);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  let p = 0;
  let q = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  pos.sort();
  neg.sort();
  // below = #neg < s, notAbove = #neg ≤ s; comparisons (not positions) decide, so -0 and +0,
  // which the sort orders but which compare equal, are a tie as they should be.
  let below = 0;
  let notAbove = 0;
  let u2 = 0; // twice the Mann-Whitney U: integral, exact in a double up to 2^53
  for (let i = 0; i < positives; i++) {
    const s = pos[i];
    while (below < negatives && neg[below] < s) below++;
    if (notAbove < below) notAbove = below;
    while (notAbove < negatives && neg[notAbove] <= s) notAbove++;
    u2 += 2 * below + (notAbove - below);
  }
  return u2 / 2 / (positives * negatives);
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** (tp + tn) / n; null when there are no rows. */
  accuracy: number | null;
  /** tp / (tp + fp); null when nothing is predicted positive. */
  precision: number | null;
  /** tp / (tp + fn); null when there are no positives. */
  recall: number | null;
}

/** Confusion counts with "predicted positive" = score ≥ threshold. */
export function confusionAt(scores: Float64Array, labels: Uint8Array, threshold: number): Confusion {
  checkBinary(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const n = scores.length;
  return {
    tp,
    fp,
    tn,
    fn,
    accuracy: n > 0 ? (tp + tn) / n : null,
    precision: tp + fp > 0 ? tp / (tp + fp) : null,
    recall: tp + fn > 0 ? tp / (tp + fn) : null,
  };
}

/**
 * Catalogue coverage: share of the catalogue that appears in at least one recommendation list;
 * null for an empty catalogue (as spark-jobs' `coverage`).
 */
export function coverage(distinctRecommended: number, catalogueSize: number): number | null {
  if (!(Number.isInteger(catalogueSize) && catalogueSize >= 0)) {
    throw new RangeError(`catalogueSize must be a non-negative integer, got ${catalogueSize}`);
  }
  if (catalogueSize === 0) return null;
  if (!(Number.isInteger(distinctRecommended) && distinctRecommended >= 0 && distinctRecommended <= catalogueSize)) {
    throw new RangeError(`distinctRecommended must be an integer in [0, ${catalogueSize}], got ${distinctRecommended}`);
  }
  return distinctRecommended / catalogueSize;
}

/**
 * Regression metrics of the spend and revenue forecasts (docs/spend-forecast.md): mean absolute
 * error and root mean squared error; null when there are no rows.
 */
export function meanAbsoluteError(predicted: ArrayLike<number>, actual: ArrayLike<number>): number | null {
  checkPairs(predicted, actual);
  if (actual.length === 0) return null;
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(predicted[i] - actual[i]);
  return s / actual.length;
}

export function rootMeanSquaredError(predicted: ArrayLike<number>, actual: ArrayLike<number>): number | null {
  checkPairs(predicted, actual);
  if (actual.length === 0) return null;
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += (predicted[i] - actual[i]) ** 2;
  return Math.sqrt(s / actual.length);
}

/**
 * Spearman rank correlation: the Pearson correlation of the ranks, ties given their average rank
 * (1-based). Null with fewer than two rows or when either side is constant.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  checkPairs(a, b);
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const n = ra.length;
  if (n < 2) return null;
  const mean = (n + 1) / 2; // the average rank, ties or not
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) ** 2;
    sbb += (rb[i] - mean) ** 2;
  }
  return saa === 0 || sbb === 0 ? null : sab / Math.sqrt(saa * sbb);
}

/** 1-based ranks by value, each group of ties given the mean of the ranks it spans. */
function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

function checkPairs(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`the two sides differ in length (${a.length} and ${b.length})`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) throw new RangeError(`value at ${i} is NaN`);
  }
}
