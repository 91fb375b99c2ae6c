/**
 * FP-Growth and association rules (local/ml/fpgrowth) against answers computed independently:
 * brute-force subset counting on small random basket sets, the worked example of Han, Pei & Yin
 * (2000) with its published frequent patterns, and hand-computed rule measures.
 */
import {
  associationRules,
  AssociationRule,
  FrequentItemset,
  fpGrowth,
  minCountFor,
} from '../../../local/ml/fpgrowth';
import { Random, ZipfSampler } from '../../../local/generate/random';

const baskets = (rows: number[][]): Int32Array[] => rows.map((r) => Int32Array.from(r));

function lexCompare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

interface Universe {
  /** Distinct item ids, ascending; bit j of a mask stands for ids[j]. */
  ids: number[];
  /** Every basket as a bit mask over `ids` (repeats vanish by construction). */
  masks: number[];
}

function toUniverse(rows: number[][]): Universe {
  const ids = [...new Set(rows.flat())].sort((a, b) => a - b);
  const bit = new Map(ids.map((id, j) => [id, j]));
  const masks = rows.map((r) => r.reduce((m, id) => m | (1 << bit.get(id)!), 0));
  return { ids, masks };
}

function idsOf(u: Universe, mask: number): number[] {
  return u.ids.filter((_, j) => (mask & (1 << j)) !== 0);
}

function countMask(u: Universe, mask: number): number {
  return u.masks.filter((b) => (b & mask) === mask).length;
}

/** Every non-empty subset of the universe, counted directly against every basket. */
function bruteItemsets(u: Universe, minCount: number, maxLength = Infinity): FrequentItemset[] {
  const out: FrequentItemset[] = [];
  for (let mask = 1; mask < 1 << u.ids.length; mask++) {
    const items = idsOf(u, mask);
    if (items.length > maxLength) continue;
    const count = countMask(u, mask);
    if (count >= Math.max(1, minCount)) out.push({ items, count });
  }
  return out.sort((a, b) => a.items.length - b.items.length || lexCompare(a.items, b.items));
}

/** Every rule A ⇒ c with A ∪ {c} of at most maxLength items, all counts taken from the baskets. */
function bruteRules(u: Universe, minCount: number, minConfidence: number, maxLength = Infinity): AssociationRule[] {
  const n = u.masks.length;
  const out: AssociationRule[] = [];
  for (let union = 1; union < 1 << u.ids.length; union++) {
    const size = idsOf(u, union).length;
    if (size < 2 || size > maxLength) continue;
    const unionCount = countMask(u, union);
    if (unionCount < Math.max(1, minCount)) continue;
    for (let j = 0; j < u.ids.length; j++) {
      if ((union & (1 << j)) === 0) continue;
      const antecedentMask = union & ~(1 << j);
      const confidence = unionCount / countMask(u, antecedentMask);
      if (confidence < minConfidence) continue;
      out.push({
        antecedent: idsOf(u, antecedentMask),
        consequent: u.ids[j],
        count: unionCount,
        support: unionCount / n,
        confidence,
        lift: confidence / (countMask(u, 1 << j) / n),
      });
    }
  }
  return out.sort(
    (a, b) =>
      b.confidence - a.confidence ||
      b.lift - a.lift ||
      lexCompare(a.antecedent, b.antecedent) ||
      a.consequent - b.consequent,
  );
}

/** Small random basket sets: sparse, non-contiguous ids, occasional repeated items. */
function randomRows(seed: number): number[][] {
  const rng = new Random(seed, 77);
  const itemTotal = rng.range(5, 12);
  const ids = Array.from({ length: itemTotal }, (_, j) => j * 37 + (seed % 5));
  // Skewed item popularity so that multi-item itemsets are frequent at non-trivial minCounts.
  const weight = ids.map(() => 0.1 + 0.8 * rng.next());
  const rows: number[][] = [];
  const basketTotal = rng.range(20, 200);
  for (let b = 0; b < basketTotal; b++) {
    const row: number[] = [];
    ids.forEach((id, j) => {
      if (rng.chance(weight[j])) row.push(id);
    });
    if (row.length > 0 && rng.chance(0.2)) row.push(row[rng.int(row.length)]); // a repeat
    rows.push(row); // empty baskets included: they count in n but contain nothing
  }
  return rows;
}

describe('minCountFor', () => {
  it('is ⌈minSupport × n⌉, as MLlib', () => {
    expect(minCountFor(0.01, 17434)).toBe(175); // 174.34 → 175
    expect(minCountFor(0.5, 10)).toBe(5); // exact products are not rounded up
    expect(minCountFor(0, 1000)).toBe(0);
    expect(minCountFor(1, 7)).toBe(7);
    // 0.07 × 100 is 7.000000000000001 in binary floating point, so MLlib's own
    // math.ceil(minSupport * count) gives 8: mirrored, not "fixed", so both engines agree.
    expect(minCountFor(0.07, 100)).toBe(8);
  });

  it('rejects out-of-range arguments', () => {
    expect(() => minCountFor(1.5, 10)).toThrow(RangeError);
    expect(() => minCountFor(Number.NaN, 10)).toThrow(RangeError);
    expect(() => minCountFor(0.1, -1)).toThrow(RangeError);
  });
});

describe('fpGrowth against brute-force subset counting', () => {
  const seeds = Array.from({ length: 30 }, (_, i) => i + 1);

  it.each(seeds)('seed %i: every frequent itemset with its exact count, in order', (seed) => {
    const rows = randomRows(seed);
    const u = toUniverse(rows);
    const n = rows.length;
    for (const minCount of [1, 2, Math.ceil(n * 0.05), Math.ceil(n * 0.2), Math.ceil(n * 0.5), n + 1]) {
      expect(fpGrowth(baskets(rows), { minCount })).toEqual(bruteItemsets(u, minCount));
      for (const maxLength of [1, 2, 3]) {
        expect(fpGrowth(baskets(rows), { minCount, maxLength })).toEqual(bruteItemsets(u, minCount, maxLength));
      }
    }
  });

  it.each(seeds.slice(0, 10))('seed %i: huge sparse ids (the Map-counting path) give the same answer', (seed) => {
    // Ids near 2^31 make a dense count array impossible, so the sparse path is taken.
    const rows = randomRows(seed).map((r) => r.map((id) => 2_000_000_000 + id * 100_003));
    const u = toUniverse(rows);
    for (const minCount of [1, 3, Math.ceil(rows.length * 0.3)]) {
      expect(fpGrowth(baskets(rows), { minCount })).toEqual(bruteItemsets(u, minCount));
    }
  });

  it.each(seeds)('seed %i: association rules equal the brute-force rule enumeration', (seed) => {
    const rows = randomRows(seed);
    const u = toUniverse(rows);
    const n = rows.length;
    for (const minCount of [2, Math.ceil(n * 0.1), Math.ceil(n * 0.3)]) {
      const itemsets = fpGrowth(baskets(rows), { minCount });
      for (const minConfidence of [0, 0.3, 0.6, 0.9, 1]) {
        expect(associationRules(itemsets, n, minConfidence)).toEqual(bruteRules(u, minCount, minConfidence));
      }
      // Rules from a length-capped run use only itemsets within the cap.
      const capped = fpGrowth(baskets(rows), { minCount, maxLength: 2 });
      expect(associationRules(capped, n, 0.4)).toEqual(bruteRules(u, minCount, 0.4, 2));
    }
  });
});

describe('the worked example of Han, Pei & Yin (2000), minimum support 3', () => {
  // Table 1 of the paper: five transactions over letters; item id = letter code.
  const T = ['facdgimp', 'abcflmo', 'bfhjo', 'bcksp', 'afcelpmn'];
  const rows = T.map((t) => [...t].map((ch) => ch.charCodeAt(0)));
  const ids = (letters: string): number[] => [...letters].map((ch) => ch.charCodeAt(0)).sort((a, b) => a - b);

  it('finds exactly the published frequent patterns', () => {
    // The paper's result: f:4 c:4 a:3 b:3 m:3 p:3; cp:3; fm cm am fcm fam cam fcam: 3;
    // fa ca fca: 3; fc:3. Eighteen patterns in total.
    const expected: Array<[string, number]> = [
      ['f', 4], ['c', 4], ['a', 3], ['b', 3], ['m', 3], ['p', 3],
      ['cp', 3], ['fm', 3], ['cm', 3], ['am', 3], ['fa', 3], ['ca', 3], ['fc', 3],
      ['fcm', 3], ['fam', 3], ['cam', 3], ['fca', 3],
      ['fcam', 3],
    ];
    const got = fpGrowth(baskets(rows), { minCount: 3 });
    expect(got).toHaveLength(18);
    const asMap = new Map(got.map((s) => [s.items.join(','), s.count]));
    for (const [letters, count] of expected) expect(asMap.get(ids(letters).join(','))).toBe(count);
    // Output order: by length, then by id (a=97 < b < c < f < m < p).
    expect(got.slice(0, 6).map((s) => String.fromCharCode(...s.items))).toEqual(['a', 'b', 'c', 'f', 'm', 'p']);
    expect(String.fromCharCode(...got[17].items)).toBe('acfm');
  });

  it('gives the hand-computed rule measures', () => {
    const rules = associationRules(fpGrowth(baskets(rows), { minCount: 3 }), 5, 0);
    const find = (ante: string, cons: string): AssociationRule =>
      rules.find((r) => r.antecedent.join(',') === ids(ante).join(',') && r.consequent === cons.charCodeAt(0))!;
    // {a,c,f} ⇒ m: all 3 baskets with a,c,f contain m: confidence 3/3 = 1, support 3/5 = 0.6,
    // lift = 1 / (3/5) = 5/3.
    expect(find('acf', 'm')).toEqual({
      antecedent: ids('acf'), consequent: 'm'.charCodeAt(0), count: 3, support: 0.6, confidence: 1, lift: 1 / 0.6,
    });
    // {c} ⇒ p: c in 4 baskets, c&p in 3: confidence 0.75, lift 0.75 / (3/5) = 1.25.
    expect(find('c', 'p').confidence).toBe(0.75);
    expect(find('c', 'p').lift).toBeCloseTo(1.25, 12);
    // {f} ⇒ c: 3/4 = 0.75, lift 0.75 / (4/5) = 0.9375 (f and c are slightly negatively associated).
    expect(find('f', 'c').lift).toBeCloseTo(0.9375, 12);
    // Rules per itemset of size s ≥ 2: s each: 7 pairs × 2 + 4 triples × 3 + 1 quad × 4 = 30.
    expect(rules).toHaveLength(30);
    // Confidence 1 rules come first, and minConfidence 0.8 keeps exactly them (0.75 < 0.8).
    const strong = associationRules(fpGrowth(baskets(rows), { minCount: 3 }), 5, 0.8);
    expect(strong.every((r) => r.confidence === 1)).toBe(true);
    expect(rules.slice(0, strong.length)).toEqual(strong);
  });
});

describe('fpGrowth edge cases', () => {
  it('counts an item repeated inside a basket once', () => {
    const got = fpGrowth(baskets([[1, 1, 2], [2, 2, 2], [3, 1, 3, 1]]), { minCount: 1 });
    expect(got).toEqual([
      { items: [1], count: 2 },
      { items: [2], count: 2 },
      { items: [3], count: 1 },
      { items: [1, 2], count: 1 },
      { items: [1, 3], count: 1 },
    ]);
  });

  it('handles empty input, empty baskets and nothing frequent', () => {
    expect(fpGrowth([], { minCount: 1 })).toEqual([]);
    expect(fpGrowth(baskets([[], []]), { minCount: 1 })).toEqual([]);
    expect(fpGrowth(baskets([[1], [2]]), { minCount: 2 })).toEqual([]);
    expect(associationRules([], 0, 0.5)).toEqual([]);
    expect(associationRules([{ items: [4], count: 2 }], 2, 0)).toEqual([]);
  });

  it('reads a one-shot generator once', () => {
    function* gen(): Generator<Int32Array> {
      yield Int32Array.of(5, 6);
      yield Int32Array.of(6, 5);
      yield Int32Array.of(6);
    }
    expect(fpGrowth(gen(), { minCount: 2 })).toEqual([
      { items: [5], count: 2 },
      { items: [6], count: 3 },
      { items: [5, 6], count: 2 },
    ]);
  });

  it('treats minCount below 1 as 1 and rejects bad input', () => {
    expect(fpGrowth(baskets([[1]]), { minCount: 0 })).toEqual([{ items: [1], count: 1 }]);
    expect(() => fpGrowth(baskets([[1, -2]]), { minCount: 1 })).toThrow(RangeError);
    expect(() => fpGrowth(baskets([[1]]), { minCount: 1, maxLength: 0 })).toThrow(RangeError);
  });

  it('drops rules whose antecedent or consequent count is missing (input not downward closed)', () => {
    const partial: FrequentItemset[] = [
      { items: [1], count: 4 },
      { items: [1, 2], count: 3 }, // {2} absent
    ];
    // {2} ⇒ 1 has no antecedent count (MLlib's inner join drops it too); {1} ⇒ 2 has no
    // consequent count for the lift.
    expect(associationRules(partial, 10, 0)).toEqual([]);
  });
});

describe('fpGrowth at scale', () => {
  it('mines 200k Zipf-like baskets and gets the top item counts right', () => {
    const rng = new Random(2024, 5);
    const zipf = new ZipfSampler(50_000, 1.05);
    const rows: Int32Array[] = [];
    for (let b = 0; b < 200_000; b++) {
      const size = 1 + Math.min(14, Math.floor(rng.exponential(3)));
      const row = new Int32Array(size);
      // Ids scattered (×7919 mod a prime) so that rank and id differ.
      for (let i = 0; i < size; i++) row[i] = (zipf.sample(rng) * 7919) % 1_000_003;
      rows.push(row);
    }
    // Direct count, once per basket.
    const direct = new Map<number, number>();
    for (const row of rows) for (const id of new Set(row)) direct.set(id, (direct.get(id) ?? 0) + 1);
    const minCount = minCountFor(0.001, rows.length); // 200

    const t0 = Date.now();
    const itemsets = fpGrowth(rows, { minCount });
    const ms = Date.now() - t0;
    // Reported by the test run for the record, not asserted (machines differ).
    console.log(`fpGrowth: ${rows.length} baskets → ${itemsets.length} itemsets in ${ms} ms`);

    const singles = itemsets.filter((s) => s.items.length === 1);
    const expectedSingles = [...direct].filter(([, c]) => c >= minCount);
    expect(singles).toHaveLength(expectedSingles.length);
    const top = [...direct].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 20);
    const got = new Map(singles.map((s) => [s.items[0], s.count]));
    for (const [id, count] of top) expect(got.get(id)).toBe(count);

    // And a few pairs of top items, counted directly.
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 5; j++) {
        const [a, b] = [top[i][0], top[j][0]].sort((x, y) => x - y);
        const count = rows.filter((r) => r.includes(a) && r.includes(b)).length;
        const pair = itemsets.find((s) => s.items.length === 2 && s.items[0] === a && s.items[1] === b);
        if (count >= minCount) expect(pair?.count).toBe(count);
        else expect(pair).toBeUndefined();
      }
    }
  }, 120_000);
});
