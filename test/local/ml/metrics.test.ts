/**
 * Evaluation metrics (local/ml/metrics) with MLlib's definitions: ranking metrics on hand-computed
 * cases, ROC AUC against an O(n²) pairwise count, confusion counts by hand.
 */
import {
  aucRoc,
  averagePrecisionAtK,
  confusionAt,
  coverage,
  ndcgAtK,
  precisionAtK,
  RankingAccumulator,
  recallAtK,
  meanAbsoluteError,
  rootMeanSquaredError,
  spearman,
} from '../../../local/ml/metrics';
import { Random } from '../../../local/generate/random';

describe('ranking metrics, by hand', () => {
  // recommended 1..5, relevant {1, 3, 6}: hits at positions 0 and 2 (items 1 and 3); 6 never shown.
  const rec = [1, 2, 3, 4, 5];
  const rel = new Set([1, 3, 6]);

  it('k = 5', () => {
    // precision: 2 hits / 5 = 0.4
    expect(precisionAtK(rec, rel, 5)).toBe(0.4);
    // recall: 2 hits / 3 relevant
    expect(recallAtK(rec, rel, 5)).toBe(2 / 3);
    // AP: (precision@1 = 1/1) + (precision@3 = 2/3) = 5/3, over min(3, 5) = 3 → 5/9
    expect(averagePrecisionAtK(rec, rel, 5)).toBeCloseTo(5 / 9, 15);
    // DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
    // IDCG (3 relevant) = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.6309297535714575 + 0.5
    // NDCG = 1.5 / 2.1309297535714575 = 0.70391...
    expect(ndcgAtK(rec, rel, 5)).toBeCloseTo(1.5 / (1 + 1 / Math.log2(3) + 0.5), 14);
    expect(ndcgAtK(rec, rel, 5)).toBeCloseTo(0.7039180890341347, 14);
  });

  it('k = 2', () => {
    // first two: [1, 2] → one hit. precision 1/2, recall 1/3
    expect(precisionAtK(rec, rel, 2)).toBe(0.5);
    expect(recallAtK(rec, rel, 2)).toBe(1 / 3);
    // AP: precision@1 = 1, over min(3, 2) = 2 → 0.5
    expect(averagePrecisionAtK(rec, rel, 2)).toBe(0.5);
    // DCG = 1; IDCG over min(3, 2) = 2 positions = 1 + 1/log2(3) = 1.6309...; NDCG = 0.61314...
    expect(ndcgAtK(rec, rel, 2)).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 14);
  });

  it('a list shorter than k is still divided by k (MLlib)', () => {
    // one recommendation, a hit, k = 3: precision 1/3 (not 1/1), recall 1/1
    expect(precisionAtK([7], new Set([7]), 3)).toBe(1 / 3);
    expect(recallAtK([7], new Set([7]), 3)).toBe(1);
    // AP: precision@1 = 1 over min(1, 3) = 1 → 1; NDCG: 1/1 → 1
    expect(averagePrecisionAtK([7], new Set([7]), 3)).toBe(1);
    expect(ndcgAtK([7], new Set([7]), 3)).toBe(1);
  });

  it('late hits: AP and NDCG reward position', () => {
    // rec [9, 8, 1], rel {1, 2}, k = 3: one hit at position 2.
    const r = [9, 8, 1];
    const s = new Set([1, 2]);
    expect(precisionAtK(r, s, 3)).toBe(1 / 3);
    expect(recallAtK(r, s, 3)).toBe(0.5);
    // AP: precision@3 = 1/3, over min(2, 3) = 2 → 1/6
    expect(averagePrecisionAtK(r, s, 3)).toBeCloseTo(1 / 6, 15);
    // DCG = 1/log2(4) = 0.5; IDCG = 1 + 1/log2(3); NDCG = 0.5 / 1.6309... = 0.30657...
    expect(ndcgAtK(r, s, 3)).toBeCloseTo(0.5 / (1 + 1 / Math.log2(3)), 14);
  });

  it('no hits, empty recommendations and typed-array input', () => {
    expect(precisionAtK([4, 5], new Set([1]), 2)).toBe(0);
    expect(averagePrecisionAtK([], new Set([1]), 2)).toBe(0);
    expect(ndcgAtK(Int32Array.of(), new Set([1]), 2)).toBe(0);
    expect(recallAtK(Int32Array.of(3, 1), new Set([1]), 2)).toBe(1);
  });

  it('empty relevant set scores 0 (MLlib), bad k throws', () => {
    expect(precisionAtK([1], new Set(), 1)).toBe(0);
    expect(recallAtK([1], new Set(), 1)).toBe(0);
    expect(() => precisionAtK([1], new Set([1]), 0)).toThrow(RangeError);
    expect(() => ndcgAtK([1], new Set([1]), 1.5)).toThrow(RangeError);
  });
});

describe('RankingAccumulator', () => {
  it('averages users one at a time and skips users with no relevant items', () => {
    const acc = new RankingAccumulator(2);
    // user A: rec [1, 2], rel {1}: precision 1/2, recall 1, AP 1/min(1,2) = 1, NDCG 1/1 = 1
    expect(acc.add([1, 2], new Set([1]))).toBe(true);
    // user B: rec [3, 4], rel {4, 5}: hit at position 1: precision 1/2, recall 1/2,
    // AP (1/2)/min(2,2) = 1/4, NDCG (1/log2 3) / (1 + 1/log2 3) = 0.38685...
    expect(acc.add(Int32Array.of(3, 4), new Set([4, 5]))).toBe(true);
    // user C has no holdout: ignored
    expect(acc.add([1, 2], new Set())).toBe(false);
    const r = acc.result();
    expect(r.users).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.precisionAtK).toBe(0.5); // (1/2 + 1/2) / 2
    expect(r.recallAtK).toBe(0.75); // (1 + 1/2) / 2
    expect(r.mapAtK).toBe(0.625); // (1 + 1/4) / 2
    const g = 1 / Math.log2(3);
    expect(r.ndcgAtK).toBeCloseTo((1 + g / (1 + g)) / 2, 14);
  });

  it('with no users the means are null (nothing to average), as the Spark job writes them', () => {
    const acc = new RankingAccumulator(5);
    acc.add([1], new Set());
    expect(acc.result()).toEqual({
      precisionAtK: null, recallAtK: null, mapAtK: null, ndcgAtK: null, users: 0, skipped: 1,
    });
  });
});

/** AUC by definition: every (positive, negative) pair, 1 when ordered right, ½ when tied. */
function pairwiseAuc(scores: Float64Array, labels: Uint8Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

describe('aucRoc', () => {
  it('matches the pairwise definition on random data with many ties', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Random(seed, 3);
      const n = rng.range(2, 400);
      const levels = rng.range(1, 12); // few distinct scores → many ties
      const scores = new Float64Array(n);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = rng.chance(0.3) ? 1 : 0;
        // positives slightly higher on average, so the AUC is not always ~0.5
        scores[i] = (rng.int(levels) + (labels[i] === 1 ? rng.int(3) : 0)) / levels - 0.5;
      }
      const expected = labels.includes(1) && labels.includes(0) ? pairwiseAuc(scores, labels) : null;
      if (expected === null) expect(aucRoc(scores, labels)).toBeNull();
      else expect(aucRoc(scores, labels)).toBeCloseTo(expected, 12);
    }
  });

  it('perfect, inverse, all tied, and a textbook case', () => {
    const labels = Uint8Array.of(0, 0, 1, 1);
    expect(aucRoc(Float64Array.of(0.1, 0.2, 0.8, 0.9), labels)).toBe(1);
    expect(aucRoc(Float64Array.of(0.9, 0.8, 0.2, 0.1), labels)).toBe(0);
    expect(aucRoc(Float64Array.of(0.5, 0.5, 0.5, 0.5), labels)).toBe(0.5);
    // scores 0.1, 0.4 (neg), 0.35, 0.8 (pos): pairs (0.35>0.1 ✓, 0.35>0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓) = 3/4
    expect(aucRoc(Float64Array.of(0.1, 0.4, 0.35, 0.8), labels)).toBe(0.75);
    // one tie among four pairs: pos {0.5, 0.9} vs neg {0.5, 0.1}: 0.5=0.5 ½, 0.5>0.1, 0.9>both → 3.5/4
    expect(aucRoc(Float64Array.of(0.5, 0.1, 0.5, 0.9), labels)).toBe(0.875);
    // -0 and +0 are the same score: a tie
    expect(aucRoc(Float64Array.of(-0), Uint8Array.of(1)) ?? 'null').toBe('null');
    expect(aucRoc(Float64Array.of(0, -0), Uint8Array.of(1, 0))).toBe(0.5);
  });

  it('is null when a class is absent; rejects malformed input', () => {
    expect(aucRoc(Float64Array.of(0.1, 0.9), Uint8Array.of(1, 1))).toBeNull();
    expect(aucRoc(Float64Array.of(0.1, 0.9), Uint8Array.of(0, 0))).toBeNull();
    expect(aucRoc(new Float64Array(0), new Uint8Array(0))).toBeNull();
    expect(() => aucRoc(Float64Array.of(0.1), Uint8Array.of(1, 0))).toThrow(RangeError);
    expect(() => aucRoc(Float64Array.of(0.1, 0.2), Uint8Array.of(2, 0))).toThrow(RangeError);
    expect(() => aucRoc(Float64Array.of(Number.NaN, 0.2), Uint8Array.of(1, 0))).toThrow(RangeError);
  });
});

describe('confusionAt', () => {
  // scores 0.9 0.6 0.5 0.4 0.2, labels 1 0 1 1 0
  const scores = Float64Array.of(0.9, 0.6, 0.5, 0.4, 0.2);
  const labels = Uint8Array.of(1, 0, 1, 1, 0);

  it('threshold 0.5: predicted 1 1 1 0 0 (≥, so 0.5 itself is positive)', () => {
    // tp: 0.9, 0.5; fp: 0.6; fn: 0.4; tn: 0.2 → accuracy 3/5, precision 2/3, recall 2/3
    expect(confusionAt(scores, labels, 0.5)).toEqual({
      tp: 2, fp: 1, tn: 1, fn: 1, accuracy: 0.6, precision: 2 / 3, recall: 2 / 3,
    });
  });

  it('nothing predicted positive → precision null', () => {
    // threshold above every score: tp 0, fp 0, tn 2, fn 3 → accuracy 2/5, recall 0/3
    expect(confusionAt(scores, labels, 0.95)).toEqual({
      tp: 0, fp: 0, tn: 2, fn: 3, accuracy: 0.4, precision: null, recall: 0,
    });
  });

  it('no positives → recall null', () => {
    // all negative, threshold 0.5: 0.7 predicted positive (fp), 0.3 not (tn)
    expect(confusionAt(Float64Array.of(0.7, 0.3), Uint8Array.of(0, 0), 0.5)).toEqual({
      tp: 0, fp: 1, tn: 1, fn: 0, accuracy: 0.5, precision: 0, recall: null,
    });
  });

  it('no rows → every ratio null', () => {
    expect(confusionAt(new Float64Array(0), new Uint8Array(0), 0.5)).toEqual({
      tp: 0, fp: 0, tn: 0, fn: 0, accuracy: null, precision: null, recall: null,
    });
  });
});

describe('coverage', () => {
  it('is distinct recommended / catalogue size', () => {
    expect(coverage(25, 100)).toBe(0.25);
    expect(coverage(0, 3)).toBe(0);
    expect(coverage(3, 3)).toBe(1);
    expect(coverage(0, 0)).toBeNull(); // empty catalogue: undefined, not 0
    expect(coverage(1, 0)).toBeNull(); // as the Python job: no catalogue, no ratio
    expect(() => coverage(4, 3)).toThrow(RangeError);
    expect(() => coverage(-1, 3)).toThrow(RangeError);
  });
});

describe('regression metrics (spend and revenue forecasts)', () => {
  it('MAE and RMSE by hand; null without rows', () => {
    expect(meanAbsoluteError([1, 2, 6], [2, 2, 2])).toBeCloseTo(5 / 3, 12);
    expect(rootMeanSquaredError([1, 2, 6], [2, 2, 2])).toBeCloseTo(Math.sqrt(17 / 3), 12);
    expect(meanAbsoluteError([], [])).toBeNull();
    expect(rootMeanSquaredError([], [])).toBeNull();
    expect(() => meanAbsoluteError([1], [1, 2])).toThrow(/length/);
  });

  it('Spearman: average ranks for ties, 1 and −1 for monotone, null when a side is constant', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 1000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks [1, 2.5, 2.5, 4] and [1, 2, 3, 4]: Σ(dx·dy) = 4.5, Σdx² = 4.5, Σdy² = 5
    expect(spearman([0, 5, 5, 9], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([3, 3, 3], [1, 2, 3])).toBeNull();
    expect(spearman([1], [1])).toBeNull();
  });
});
