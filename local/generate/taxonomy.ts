/**
 * Category taxonomy and brand names of the synthetic shop. The names are our own (not REES46's);
 * only the shape follows the real data: ~12 top-level categories, dotted codes of 2-3 segments,
 * 19-digit category ids, and a share of category ids that have no code at all.
 */
import { Random } from './random';

/** Top-level categories, their relative traffic, a typical price, and second-level names. */
export const TOP_LEVEL: ReadonlyArray<{ name: string; weight: number; median: number; mids: string[] }> = [
  { name: 'gadgets', weight: 30, median: 180, mids: ['phone', 'tablet', 'audio', 'wearable', 'camera', 'console'] },
  { name: 'kitchenware', weight: 14, median: 45, mids: ['cookware', 'appliance', 'storage', 'tableware', 'cutlery'] },
  { name: 'home', weight: 11, median: 60, mids: ['lighting', 'textile', 'decor', 'furniture', 'bath'] },
  { name: 'fashion', weight: 9, median: 40, mids: ['shoes', 'bags', 'outerwear', 'knitwear', 'jewellery'] },
  { name: 'garden', weight: 7, median: 35, mids: ['plants', 'irrigation', 'outdoor', 'greenhouse'] },
  { name: 'toys', weight: 6, median: 25, mids: ['puzzle', 'doll', 'blocks', 'vehicle', 'plush'] },
  { name: 'sports', weight: 6, median: 70, mids: ['fitness', 'cycling', 'camping', 'swimming', 'winter'] },
  { name: 'automotive', weight: 5, median: 55, mids: ['tyres', 'parts', 'electronics', 'care'] },
  { name: 'tools', weight: 4, median: 65, mids: ['power', 'hand', 'measuring', 'fasteners'] },
  { name: 'beauty', weight: 4, median: 20, mids: ['skincare', 'fragrance', 'haircare', 'makeup'] },
  { name: 'books', weight: 2, median: 12, mids: ['fiction', 'science', 'comics', 'education'] },
  { name: 'pets', weight: 2, median: 18, mids: ['food', 'toys', 'grooming', 'aquarium'] },
];

const LEAF_WORDS = [
  'basic', 'pro', 'mini', 'set', 'kit', 'classic', 'compact', 'deluxe', 'smart', 'eco', 'portable',
  'premium', 'travel', 'junior', 'heavy', 'light', 'wireless', 'digital', 'manual', 'electric',
  'charger', 'cover', 'stand', 'holder', 'case', 'pack', 'refill', 'adapter', 'cable', 'spare',
];

const SYLLABLES = [
  'ka', 'lo', 'vi', 'ter', 'mon', 'ra', 'zen', 'bo', 'qui', 'sta', 'nor', 'ex', 'ul', 'tri', 'pa',
  'dor', 'fi', 'gra', 'mi', 'sol', 've', 'lux', 'an', 'tec', 'or', 'bel', 'cor', 'du', 'ix', 'ny',
];

export interface Category {
  /** Index in `Taxonomy.categories`. */
  index: number;
  /** Top-level index into TOP_LEVEL. */
  top: number;
  /** Dotted code, or '' for category ids that carry no code. */
  code: string;
  /** 19-digit id as text (below 2^63 - 1). */
  categoryId: string;
  /** Median unit price of its products. */
  median: number;
  /** Second-level index within the top (the RetailRocket tree uses it). */
  mid: number;
}

export interface Taxonomy {
  categories: Category[];
  /** Per top: indices of categories with a code. */
  coded: number[][];
  /** Per top: indices of categories without a code. */
  uncoded: number[][];
  /** Per top: brand names, most popular first. */
  brands: string[][];
}

function word(rng: Random, syllables: number): string {
  let s = '';
  for (let i = 0; i < syllables; i++) s += rng.pick(SYLLABLES);
  return s;
}

export function buildTaxonomy(rng: Random): Taxonomy {
  const categories: Category[] = [];
  const coded: number[][] = [];
  const uncoded: number[][] = [];
  const brands: string[][] = [];
  const ids = new Set<string>();
  const newId = (): string => {
    for (;;) {
      // '20' + 17 digits: 19 digits, between 2.0e18 and 2.1e18, far below 2^63 - 1 ≈ 9.22e18.
      let s = '20';
      for (let i = 0; i < 17; i++) s += String(rng.int(10));
      if (!ids.has(s)) {
        ids.add(s);
        return s;
      }
    }
  };
  const usedBrands = new Set<string>();
  TOP_LEVEL.forEach((top, t) => {
    coded.push([]);
    uncoded.push([]);
    top.mids.forEach((mid, m) => {
      const midMedian = top.median * rng.logNormal(0, 0.5);
      const leafCount = rng.chance(0.2) ? 0 : rng.range(2, 5);
      const add = (code: string): void => {
        const c: Category = { index: categories.length, top: t, code, categoryId: newId(), median: midMedian * rng.logNormal(0, 0.4), mid: m };
        categories.push(c);
        (code ? coded[t] : uncoded[t]).push(c.index);
      };
      if (leafCount === 0) add(`${top.name}.${mid}`);
      else {
        const leaves = rng.shuffle([...LEAF_WORDS]).slice(0, leafCount);
        for (const leaf of leaves) add(`${top.name}.${mid}.${leaf}`);
      }
      add(''); // a code-less category id under every second-level group
    });
    const list: string[] = [];
    while (list.length < 25) {
      const b = word(rng, rng.range(2, 3));
      if (!usedBrands.has(b)) {
        usedBrands.add(b);
        list.push(b);
      }
    }
    brands.push(list);
  });
  return { categories, coded, uncoded, brands };
}
