/**
 * FP-Growth frequent itemsets and association rules for the local engine, with the semantics of
 * Spark MLlib (`org.apache.spark.ml.fpm.FPGrowth`) so that the local and the Spark pipelines produce
 * the same itemsets, counts and rules from the same baskets.
 *
 * Method
 * - Frequent itemsets: FP-Growth (Han, Pei, Yin, "Mining Frequent Patterns without Candidate
 *   Generation", SIGMOD 2000). Pass 1 counts every item once per basket and drops the items below
 *   `minCount`; pass 2 inserts each basket, reduced to its frequent items in a fixed global order
 *   (count descending, then id ascending), into a prefix tree (the FP-tree) whose header table links
 *   all nodes of one item. Mining walks the header table from the least frequent item up: for each
 *   item it emits suffix ∪ {item}, collects the item's conditional pattern base (the prefix paths
 *   above its nodes, weighted by the node counts), keeps the items of that base that are still
 *   frequent, builds the conditional FP-tree and recurses.
 * - Rules: as `FPGrowthModel.associationRules` (MLlib `AssociationRules.run`): for every frequent
 *   itemset of two or more items and every item of it, the rule (itemset − item) ⇒ item;
 *   confidence = count(itemset) / count(antecedent), kept when ≥ minConfidence;
 *   support = count(itemset) / basketCount; lift = confidence / (count(consequent) / basketCount).
 *
 * Parameters
 * - `minCount`: absolute support threshold; `minCountFor(minSupport, n)` = ⌈minSupport·n⌉, which is
 *   how MLlib turns its fractional `minSupport` into a count.
 * - `maxLength` (optional): longest itemset to emit; recursion stops there, so it also bounds the
 *   work. MLlib has no such option; with it unset the output is MLlib's.
 * - Baskets are sets: MLlib rejects baskets with repeated items, here repeats are dropped instead.
 *
 * Complexity
 * - Pass 1: O(L log b) for L item occurrences (each basket is sorted to drop repeats, b = basket
 *   size); pass 2: O(L' log b) to build a tree of at most L' nodes (L' = frequent occurrences).
 *   Memory: the baskets are kept once as one flat Int32Array (the input may be a one-shot
 *   iterator), item counts in an array indexed by id when ids are compact (a Map otherwise), the
 *   tree as parallel typed arrays plus an open-addressing child table.
 * - Mining is output-sensitive: each frequent itemset costs one walk of its conditional pattern
 *   base; the total is bounded by (number of frequent itemsets) × (size of the largest conditional
 *   tree), exponential in the worst case like every exact miner — minCount/maxLength control it.
 */

/** MLlib's rule for turning a fractional minimum support into a minimum count: ⌈minSupport·n⌉. */
export function minCountFor(minSupport: number, basketCount: number): number {
  if (!(minSupport >= 0 && minSupport <= 1)) throw new RangeError(`minSupport must be in [0, 1], got ${minSupport}`);
  if (!(Number.isInteger(basketCount) && basketCount >= 0)) {
    throw new RangeError(`basketCount must be a non-negative integer, got ${basketCount}`);
  }
  return Math.ceil(minSupport * basketCount);
}

export interface FrequentItemset {
  /** Item ids, sorted ascending. */
  items: number[];
  /** Number of baskets that contain every item. */
  count: number;
}

export interface FpGrowthOptions {
  /** Minimum number of baskets an itemset must occur in (values below 1 behave as 1). */
  minCount: number;
  /** Longest itemset to emit (≥ 1); unlimited when absent. */
  maxLength?: number;
}

/**
 * Growable Int32Array: the baskets and the trees are built without knowing their final size, and
 * typed arrays keep 1M baskets / millions of nodes compact and free of per-element objects.
 */
function grow(a: Int32Array, minLength: number): Int32Array<ArrayBuffer> {
  let n = a.length;
  while (n < minLength) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/**
 * An FP-tree over dense item indices 0..itemCount-1, where a smaller index means "earlier on every
 * path" (the global frequency order). Node 0 is the root. Children are found through an
 * open-addressing hash table keyed by (parent, item): a node can have up to one child per item
 * (the root and the most frequent items do, with ~200k items), so a sibling list would be O(items)
 * per insertion.
 */
class FpTree {
  /** Original item id of every dense index. */
  readonly itemIds: Int32Array;
  /** Total count of every dense index in this tree (sum over its nodes). */
  readonly itemTotal: Int32Array;
  /** First node of every dense index (header table), -1 when none; chained through nodeLink. */
  readonly head: Int32Array;

  nodeItem: Int32Array;
  nodeCount: Int32Array;
  nodeParent: Int32Array;
  nodeLink: Int32Array;
  size = 1;

  private slotParent: Int32Array;
  private slotItem: Int32Array;
  private slotNode: Int32Array;
  private mask: number;
  private used = 0;

  /** `nodeBound`: an upper bound on the nodes; only a hint, the arrays grow on demand. */
  constructor(itemIds: Int32Array, nodeBound: number) {
    const k = itemIds.length;
    this.itemIds = itemIds;
    this.itemTotal = new Int32Array(k);
    this.head = new Int32Array(k).fill(-1);
    // Start at the bound only while it is small: a loose bound (every occurrence a new node) on
    // 1M baskets would otherwise reserve hundreds of MB that shared prefixes never use.
    const cap = Math.max(4, Math.min(nodeBound, 1 << 16));
    this.nodeItem = new Int32Array(cap);
    this.nodeCount = new Int32Array(cap);
    this.nodeParent = new Int32Array(cap);
    this.nodeLink = new Int32Array(cap);
    this.nodeItem[0] = -1;
    this.nodeParent[0] = -1;
    let slots = 8;
    while (slots < cap * 2) slots *= 2;
    this.mask = slots - 1;
    this.slotParent = new Int32Array(slots).fill(-1);
    this.slotItem = new Int32Array(slots);
    this.slotNode = new Int32Array(slots);
  }

  private static hash(parent: number, item: number): number {
    let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(item + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 13);
  }

  private rehash(): void {
    const oldParent = this.slotParent;
    const oldItem = this.slotItem;
    const oldNode = this.slotNode;
    const slots = oldParent.length * 2;
    this.mask = slots - 1;
    this.slotParent = new Int32Array(slots).fill(-1);
    this.slotItem = new Int32Array(slots);
    this.slotNode = new Int32Array(slots);
    for (let s = 0; s < oldParent.length; s++) {
      if (oldParent[s] < 0) continue;
      let t = FpTree.hash(oldParent[s], oldItem[s]) & this.mask;
      while (this.slotParent[t] >= 0) t = (t + 1) & this.mask;
      this.slotParent[t] = oldParent[s];
      this.slotItem[t] = oldItem[s];
      this.slotNode[t] = oldNode[s];
    }
  }

  /** Insert a path of dense indices, strictly ascending, with a weight. */
  insert(path: Int32Array, length: number, count: number): void {
    let node = 0;
    for (let i = 0; i < length; i++) {
      const item = path[i];
      let s = FpTree.hash(node, item) & this.mask;
      let child = -1;
      while (this.slotParent[s] >= 0) {
        if (this.slotParent[s] === node && this.slotItem[s] === item) {
          child = this.slotNode[s];
          break;
        }
        s = (s + 1) & this.mask;
      }
      if (child < 0) {
        child = this.size++;
        if (child >= this.nodeItem.length) {
          this.nodeItem = grow(this.nodeItem, child + 1);
          this.nodeCount = grow(this.nodeCount, child + 1);
          this.nodeParent = grow(this.nodeParent, child + 1);
          this.nodeLink = grow(this.nodeLink, child + 1);
        }
        this.nodeItem[child] = item;
        this.nodeCount[child] = 0;
        this.nodeParent[child] = node;
        this.nodeLink[child] = this.head[item];
        this.head[item] = child;
        this.slotParent[s] = node;
        this.slotItem[s] = item;
        this.slotNode[s] = child;
        // Keep the load factor ≤ 1/2 so that linear probing stays short.
        if (++this.used * 2 > this.slotParent.length) this.rehash();
      }
      this.nodeCount[child] += count;
      this.itemTotal[item] += count;
      node = child;
    }
  }
}

/** Deterministic output order: shorter itemsets first, then lexicographic on the sorted ids. */
function compareItemsets(a: FrequentItemset, b: FrequentItemset): number {
  if (a.items.length !== b.items.length) return a.items.length - b.items.length;
  for (let i = 0; i < a.items.length; i++) {
    if (a.items[i] !== b.items[i]) return a.items[i] - b.items[i];
  }
  return 0;
}

/**
 * Frequent itemsets of `baskets` (each an array of non-negative item ids; repeats inside a basket
 * count once) with count ≥ `minCount` and at most `maxLength` items, sorted by length then
 * lexicographically. The baskets are read exactly once, so a generator is fine.
 */
export function fpGrowth(baskets: Iterable<Int32Array>, options: FpGrowthOptions): FrequentItemset[] {
  const minCount = Math.max(1, Math.ceil(options.minCount));
  if (!Number.isFinite(minCount)) throw new RangeError(`minCount must be finite, got ${options.minCount}`);
  const maxLength = options.maxLength ?? Number.POSITIVE_INFINITY;
  if (!(maxLength >= 1)) throw new RangeError(`maxLength must be ≥ 1, got ${options.maxLength}`);

  // Pass 1: deduplicate each basket into one flat buffer (sorted, so repeats are neighbours).
  let flat = new Int32Array(1024);
  let offsets = new Int32Array(1024);
  let basketCount = 0;
  let flatLength = 0;
  let maxId = -1;
  for (const basket of baskets) {
    if (basketCount + 2 > offsets.length) offsets = grow(offsets, basketCount + 2);
    if (flatLength + basket.length > flat.length) flat = grow(flat, flatLength + basket.length);
    // Sort in place at the end of the buffer, then compact: no per-basket allocation.
    flat.set(basket, flatLength);
    const view = flat.subarray(flatLength, flatLength + basket.length).sort();
    let w = flatLength;
    for (let i = 0; i < view.length; i++) {
      const item = view[i];
      if (i > 0 && item === view[i - 1]) continue;
      if (item < 0) throw new RangeError(`item ids must be non-negative, got ${item}`);
      flat[w++] = item;
    }
    // `view` aliases flat: the compaction reads ahead of where it writes, so it is safe in place.
    flatLength = w;
    if (w > offsets[basketCount] && flat[w - 1] > maxId) maxId = flat[w - 1];
    offsets[++basketCount] = flatLength;
  }

  // Count items once per basket. Dense arrays when the ids are compact enough (typical catalogue
  // ids), a Map otherwise (sparse 64-bit-like ids): same result, the arrays are ~10× faster.
  const dense = maxId < Math.max(1 << 20, 4 * flatLength);
  const denseCounts = dense ? new Int32Array(maxId + 1) : null;
  const sparseCounts = dense ? null : new Map<number, number>();
  if (denseCounts) for (let i = 0; i < flatLength; i++) denseCounts[flat[i]]++;
  else if (sparseCounts) for (let i = 0; i < flatLength; i++) sparseCounts.set(flat[i], (sparseCounts.get(flat[i]) ?? 0) + 1);
  const countOf = (id: number): number => (denseCounts ? denseCounts[id] : sparseCounts?.get(id) ?? 0);

  // Global order of the frequent items: count descending, id ascending. Any fixed total order gives
  // the same itemsets; frequency order just keeps the tree small (shared prefixes).
  const frequent: number[] = [];
  if (denseCounts) {
    for (let id = 0; id <= maxId; id++) if (denseCounts[id] >= minCount) frequent.push(id);
  } else if (sparseCounts) {
    for (const [id, count] of sparseCounts) if (count >= minCount) frequent.push(id);
  }
  frequent.sort((a, b) => countOf(b) - countOf(a) || a - b);

  // Replace every occurrence by its rank (-1 when infrequent), in place: ids are not needed again.
  let frequentOccurrences = 0;
  if (denseCounts) {
    const rank = denseCounts; // reused: counts are no longer needed once `frequent` is sorted
    rank.fill(-1);
    frequent.forEach((id, r) => (rank[id] = r));
    for (let i = 0; i < flatLength; i++) if ((flat[i] = rank[flat[i]]) >= 0) frequentOccurrences++;
  } else {
    const rank = new Map<number, number>();
    frequent.forEach((id, r) => rank.set(id, r));
    for (let i = 0; i < flatLength; i++) if ((flat[i] = rank.get(flat[i]) ?? -1) >= 0) frequentOccurrences++;
  }

  // Pass 2: build the FP-tree from the frequent part of every basket, ranks ascending.
  const tree = new FpTree(Int32Array.from(frequent), frequentOccurrences + 1);
  let path = new Int32Array(64);
  for (let b = 0; b < basketCount; b++) {
    const end = offsets[b + 1];
    if (end - offsets[b] > path.length) path = grow(path, end - offsets[b]);
    let n = 0;
    for (let i = offsets[b]; i < end; i++) if (flat[i] >= 0) path[n++] = flat[i];
    if (n === 0) continue;
    path.subarray(0, n).sort();
    tree.insert(path, n, 1);
  }

  const out: FrequentItemset[] = [];
  mine(tree, [], minCount, maxLength, out);
  for (const itemset of out) itemset.items.sort((a, b) => a - b);
  out.sort(compareItemsets);
  return out;
}

/** Emit every frequent itemset of `tree` extended by `suffix` (original ids), recursively. */
function mine(tree: FpTree, suffix: number[], minCount: number, maxLength: number, out: FrequentItemset[]): void {
  const k = tree.itemIds.length;
  // Scratch arrays shared by all items of this tree (not re-allocated per item: the top tree has
  // ~200k items and a fresh array per item would cost O(items²) zeroing).
  const baseCount = new Int32Array(k);
  const localIndex = new Int32Array(k).fill(-1);
  const touched: number[] = [];
  let path = new Int32Array(16);

  for (let item = k - 1; item >= 0; item--) {
    const total = tree.itemTotal[item];
    if (total < minCount) continue;
    const itemset = [...suffix, tree.itemIds[item]];
    out.push({ items: itemset, count: total });
    if (itemset.length >= maxLength) continue;

    // Conditional pattern base: count the items on the prefix paths above every node of `item`.
    let baseNodes = 0;
    for (let node = tree.head[item]; node >= 0; node = tree.nodeLink[node]) {
      const c = tree.nodeCount[node];
      for (let p = tree.nodeParent[node]; p > 0; p = tree.nodeParent[p]) {
        const it = tree.nodeItem[p];
        if (baseCount[it] === 0) touched.push(it);
        baseCount[it] += c;
        baseNodes++;
      }
    }
    // Items of the base that stay frequent, in the parent tree's order (ascending index), which
    // keeps paths ascending in the conditional tree without re-sorting.
    touched.sort((a, b) => a - b);
    const kept: number[] = [];
    for (const it of touched) {
      if (baseCount[it] >= minCount) {
        localIndex[it] = kept.length;
        kept.push(tree.itemIds[it]);
      }
    }
    if (kept.length > 0) {
      const cond = new FpTree(Int32Array.from(kept), baseNodes + 1);
      for (let node = tree.head[item]; node >= 0; node = tree.nodeLink[node]) {
        // Walk up (descending index), collecting kept items, then reverse into ascending order.
        let n = 0;
        for (let p = tree.nodeParent[node]; p > 0; p = tree.nodeParent[p]) {
          const local = localIndex[tree.nodeItem[p]];
          if (local < 0) continue;
          if (n >= path.length) path = grow(path, n + 1);
          path[n++] = local;
        }
        if (n === 0) continue;
        path.subarray(0, n).reverse();
        cond.insert(path, n, tree.nodeCount[node]);
      }
      mine(cond, itemset, minCount, maxLength, out);
    }
    for (const it of touched) {
      baseCount[it] = 0;
      localIndex[it] = -1;
    }
    touched.length = 0;
  }
}

export interface AssociationRule {
  /** Sorted ascending, never empty. */
  antecedent: number[];
  consequent: number;
  /** Baskets containing antecedent ∪ {consequent}. */
  count: number;
  support: number;
  confidence: number;
  lift: number;
}

function compareIds(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Association rules with a single-item consequent from frequent itemsets (as produced by
 * `fpGrowth`, items sorted ascending), MLlib semantics: confidence ≥ minConfidence kept. A rule
 * whose antecedent is missing from `itemsets` is dropped (MLlib's inner join); one whose consequent
 * is missing is dropped too (MLlib would keep it with a null lift). Neither can happen for the
 * complete output of `fpGrowth`, which is downward closed. Sorted by
 * confidence desc, lift desc, antecedent (lexicographic), consequent.
 */
export function associationRules(
  itemsets: FrequentItemset[],
  basketCount: number,
  minConfidence: number,
): AssociationRule[] {
  if (!(basketCount > 0)) {
    if (itemsets.length === 0) return [];
    throw new RangeError(`basketCount must be positive, got ${basketCount}`);
  }
  const countOf = new Map<string, number>();
  for (const s of itemsets) countOf.set(s.items.join(','), s.count);

  const rules: AssociationRule[] = [];
  for (const s of itemsets) {
    if (s.items.length < 2) continue;
    for (let i = 0; i < s.items.length; i++) {
      const consequent = s.items[i];
      const antecedent = s.items.filter((_, j) => j !== i);
      const antecedentCount = countOf.get(antecedent.join(','));
      const consequentCount = countOf.get(String(consequent));
      if (antecedentCount === undefined || consequentCount === undefined) continue;
      // Same floating-point operations, in the same order, as MLlib.
      const confidence = s.count / antecedentCount;
      if (!(confidence >= minConfidence)) continue;
      rules.push({
        antecedent,
        consequent,
        count: s.count,
        support: s.count / basketCount,
        confidence,
        lift: confidence / (consequentCount / basketCount),
      });
    }
  }
  rules.sort(
    (a, b) =>
      b.confidence - a.confidence ||
      b.lift - a.lift ||
      compareIds(a.antecedent, b.antecedent) ||
      a.consequent - b.consequent,
  );
  return rules;
}
