import { OUTPUT_TABLES, SEGMENT_NAMES } from '../../core/contract';
import { REPORT_SECTIONS } from '../../local/report/render';
import {
  categoryLabel,
  currencyNote,
  datasetCurrency,
  funnelExplanation,
  funnelReadings,
  metricLabel,
  pricesKnown,
  productName,
  productTitle,
  runCurrency,
  SECTION_NOTES,
  segmentDescription,
  segmentLabel,
  segmentLabels,
  TABLE_DESCRIPTIONS,
  tableDescription,
} from '../../local/present';
import * as fs from 'node:fs';
import * as path from 'node:path';

describe('present/segments', () => {
  test('every base name the engine gives reads as words, repeats as a numbered group', () => {
    expect(segmentLabel('regular_buyers')).toBe('Regular buyers');
    expect(segmentLabel('regular_buyers_2')).toBe('Regular buyers (group 2)');
    expect(segmentLabel('one_time_visitors_3')).toBe('One-time visitors (group 3)');
    expect(segmentLabel('frequent_buyers')).toBe('Frequent buyers');
    expect(segmentLabel('big_spenders')).toBe('Big spenders');
    for (const name of SEGMENT_NAMES) {
      expect(segmentLabel(name)).not.toMatch(/_/);
      expect(segmentDescription(name).length).toBeGreaterThan(10);
    }
    expect(segmentLabels(['regular_buyers', 'cart_abandoners', 'regular_buyers_2'])).toEqual([
      'Regular buyers (group 1)',
      'Cart abandoners',
      'Regular buyers (group 2)',
    ]);
  });
});

describe('present/notes', () => {
  test('every table of the contract has a plain-language line, and no line is for a table that does not exist', () => {
    const names = OUTPUT_TABLES.map((t) => t.name).sort();
    expect(Object.keys(TABLE_DESCRIPTIONS).sort()).toEqual(names);
    for (const n of names) {
      expect(tableDescription(n)).toMatch(/^[A-Z].{20,}\.$/);
      expect(tableDescription(n)).not.toMatch(new RegExp(`\\b${n}\\b`)); // explains, does not repeat the name
    }
  });

  test('every report section has a note', () => {
    for (const s of REPORT_SECTIONS) expect((SECTION_NOTES as Record<string, string>)[s.id]).toMatch(/\w{3,}/);
    expect(metricLabel('precision_at_k')).toBe('Precision@k');
    expect(metricLabel('some_new_metric')).toBe('some new metric');
  });

  test('the module imports nothing from Node (it is bundled for the browser)', () => {
    const dir = path.join(__dirname, '../../local/present');
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      const imports = [...src.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
      for (const i of imports) expect(i).toMatch(/^\.\/[a-z-]+$/);
      expect(src).not.toMatch(/require\(|process\.|Buffer\b/);
    }
  });
});

describe('present/funnel', () => {
  // REES46 October sample shape: more buyers than cart users (purchases without a cart event).
  const counts = { viewUsers: 4400, cartUsers: 120, purchaseUsers: 180, cartThenPurchaseUsers: 40, purchaseWithoutCartUsers: 135 };

  test('step by step never exceeds 100%; reached counts buyers who skipped the cart', () => {
    const r = funnelReadings(counts);
    expect(r.cartToPurchaseStep).toBeCloseTo(40 / 120, 12);
    expect(r.purchaseReached).toBeCloseTo(180 / 4400, 12);
    expect(r.cartReached).toBeCloseTo(120 / 4400, 12);
    expect(r.viewToCartStep).toBeCloseTo(120 / 4400, 12);
    expect(r.naiveRatioOver100).toBe(true);
    expect(r.purchaseWithoutCartUsers).toBe(135);
    for (const s of r.stages) if (s.stepRate !== null) expect(s.stepRate).toBeLessThanOrEqual(1);
    expect(r.stages.map((s) => s.users)).toEqual([4400, 120, 180]);
  });

  test('a subset count larger than its whole (inconsistent input) is capped, zero denominators give null', () => {
    expect(funnelReadings({ ...counts, cartThenPurchaseUsers: 500 }).cartToPurchaseStep).toBe(1);
    const empty = funnelReadings({ viewUsers: 0, cartUsers: 0, purchaseUsers: 0, cartThenPurchaseUsers: 0 });
    expect(empty.cartToPurchaseStep).toBeNull();
    expect(empty.purchaseReached).toBeNull();
    expect(empty.naiveRatioOver100).toBe(false);
  });

  test('the explanation gives both readings in words', () => {
    const text = funnelExplanation(counts);
    expect(text).toContain('of 120 users with a cart, 40 bought after it (33.3%)');
    expect(text).toContain('180 of the 4,400 viewers bought something (4.1%)');
    expect(text).toContain('135 buyers have no cart event');
    const shown = [...text.matchAll(/\(([\d.]+)%\)/g)].map((m) => Number(m[1]));
    expect(shown).toEqual([2.7, 33.3, 4.1]);
  });
});

describe('present/currency and products', () => {
  test('REES46 is in US dollars; RetailRocket has no prices', () => {
    expect(datasetCurrency('rees46')).toBe('USD');
    expect(datasetCurrency('retailrocket')).toBeNull();
    expect(datasetCurrency(undefined)).toBeNull();
    expect(runCurrency({ dataset: 'rees46' })).toBe('USD');
    expect(pricesKnown('retailrocket')).toBe(false);
    expect(currencyNote('rees46')).toContain('US dollars');
    expect(currencyNote('retailrocket')).toMatch(/no prices/i);
  });

  test('products are named from brand and category where the data has them', () => {
    expect(productName({ product_id: '1005115', category_code: 'electronics.smartphone', brand: 'apple' })).toBe('Apple smartphone');
    expect(productName({ product_id: 1, category_code: 'appliances.environment.water_heater', brand: null })).toBe('Water heater');
    expect(productName({ product_id: 2, category_code: null, brand: 'samsung' })).toBe('Samsung product');
    expect(productName({ product_id: 3, category_code: '1016.1037', brand: null })).toBe('Product 3');
    expect(productTitle({ product_id: '1005115', category_code: 'electronics.smartphone', brand: 'apple' })).toBe('Apple smartphone (#1005115)');
    expect(productTitle({ product_id: 3 })).toBe('Product 3');
    expect(categoryLabel('appliances.environment.water_heater')).toBe('Appliances › Environment › Water heater');
    expect(categoryLabel('1016.1037')).toBe('Category 1037');
    expect(categoryLabel('(missing)')).toBe('Unknown category');
  });
});
