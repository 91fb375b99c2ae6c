/**
 * A generated serving run for the recommendations API's tests and bench: contract-shaped rows for
 * the tables the API reads (products, user_recommendations, popular_products, bought_together,
 * customer_segments, segment_profiles, intent_coefficients, customer_spend_forecast), every other served table empty, written
 * as the serving CSVs with a manifest so that the first part's loader (loadServingLocal) loads it
 * like any run, `load_runs` included. Deterministic: the same spec gives the same rows.
 *
 * Ids: products 1_000_001 …, users 5_000_000_001 … (above 2^32), plus one user and one product at
 * the top of BIGINT (2^63 − 1, 2^63 − 2) to show that ids never pass through a JavaScript number.
 * Users whose index is a multiple of `coldEvery` have no recommendations (the popular fallback);
 * products whose index is a multiple of 3 have no bought-together rows; users whose index is 10 mod 11
 * have no spend forecast (they have a segment: a known user without a forecast).
 */
import * as fs from 'fs';
import * as path from 'path';
import { INTENT_FEATURES, INTERCEPT_FEATURE, servedTables, servingColumns, ServingManifest } from '../../core/contract';
import { csvLine } from '../../core/serving/loader-sql';

export interface ApiRunSpec {
  readonly users: number;
  readonly products: number;
  /** @default 20 */
  readonly recommendationsPerUser?: number;
  /** @default 10 */
  readonly boughtTogetherPerProduct?: number;
  /** @default 100 */
  readonly popular?: number;
  /** @default 10 */
  readonly coldEvery?: number;
}

export const MAX_BIGINT = '9223372036854775807';
export const BIG_PRODUCT_ID = '9223372036854775806';
export const SEGMENTS = ['frequent_buyers', 'regular_buyers', 'cart_abandoners', 'window_shoppers'] as const;

export const productId = (i: number): string => String(1_000_001 + i);
export const userId = (u: number): string => String(5_000_000_001 + u);

type Row = Record<string, string | number | null>;

/** Small deterministic hash, for spreading products over users. */
const mix = (a: number, b: number): number => {
  let h = (a * 0x9e3779b1) ^ (b * 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
};

export function* productRows(spec: ApiRunSpec): Generator<Row> {
  const brands = ['acme', 'globex', null, 'initech', 'umbrella "U", ltd'];
  for (let i = 0; i < spec.products; i++) {
    const known = i % 7 !== 6;
    yield {
      product_id: productId(i),
      category_id: known ? 2_000_000_000_000 + (i % 13) : null,
      category_code: known ? `electronics.phone.model${i % 13}` : null,
      category: known ? 'electronics' : null,
      sub_category: known ? `phone.model${i % 13}` : null,
      brand: brands[i % brands.length],
      price: known ? Number((9.99 + (i % 500) * 1.25).toFixed(2)) : null,
      views: 100 + (i % 50),
      carts: 10 + (i % 5),
      purchases: i % 4,
      revenue: Number(((i % 4) * (9.99 + (i % 500) * 1.25)).toFixed(2)),
      users: 50 + (i % 20),
    };
  }
  yield { product_id: BIG_PRODUCT_ID, category_id: null, category_code: null, category: null, sub_category: null, brand: 'edge', price: 1, views: 1, carts: 0, purchases: 0, revenue: 0, users: 1 };
}

/** The product indexes recommended to user u, best first (distinct). */
export function recommendedProducts(spec: ApiRunSpec, u: number): number[] {
  const n = Math.min(spec.recommendationsPerUser ?? 20, spec.products);
  const seen = new Set<number>();
  for (let k = 0; seen.size < n; k++) seen.add(mix(u + 1, k) % spec.products);
  return [...seen];
}

export const isCold = (spec: ApiRunSpec, u: number): boolean => u % (spec.coldEvery ?? 10) === 0;

export function* userRecommendationRows(spec: ApiRunSpec): Generator<Row> {
  for (let u = 0; u < spec.users; u++) {
    if (isCold(spec, u)) continue;
    const products = recommendedProducts(spec, u);
    for (let r = 0; r < products.length; r++) yield { user_id: userId(u), rank: r + 1, product_id: productId(products[r]), score: 1 - r / 100 };
  }
  yield { user_id: MAX_BIGINT, rank: 1, product_id: BIG_PRODUCT_ID, score: 0.5 };
}

export function* popularRows(spec: ApiRunSpec): Generator<Row> {
  const n = Math.min(spec.popular ?? 100, spec.products);
  for (let r = 0; r < n; r++) yield { rank: r + 1, product_id: productId(r * 3 % spec.products), score: 10_000 - r, users: 500 - r, purchases: 50 };
}

export function* boughtTogetherRows(spec: ApiRunSpec): Generator<Row> {
  const n = Math.min(spec.boughtTogetherPerProduct ?? 10, spec.products - 1);
  for (let i = 0; i < spec.products; i++) {
    if (i % 3 === 0) continue;
    for (let r = 0; r < n; r++) {
      yield { product_id: productId(i), rank: r + 1, other_product_id: productId((i + r + 1) % spec.products), support: 0.01, confidence: 0.9 - r / 20, lift: 3 - r / 10, baskets: 40 - r };
    }
  }
}

export function* customerSegmentRows(spec: ApiRunSpec): Generator<Row> {
  for (let u = 0; u < spec.users; u++) {
    const s = u % SEGMENTS.length;
    yield {
      user_id: userId(u),
      segment_id: s,
      segment_name: SEGMENTS[s],
      recency_days: (u % 30) + 0.5,
      frequency: u % 5,
      monetary: Number(((u % 5) * 19.99).toFixed(2)),
      views: 10 + (u % 40),
      carts: u % 6,
      purchases: u % 5,
      sessions: 1 + (u % 9),
      cart_to_view_rate: (u % 6) / (10 + (u % 40)),
      purchase_to_cart_rate: u % 6 === 0 ? null : (u % 5) / (u % 6),
    };
  }
}

export function* segmentProfileRows(spec: ApiRunSpec): Generator<Row> {
  for (let s = 0; s < SEGMENTS.length; s++) {
    const customers = Math.ceil((spec.users - s) / SEGMENTS.length);
    yield {
      segment_id: s,
      segment_name: SEGMENTS[s],
      customers,
      share: customers / spec.users,
      avg_recency_days: 10 + s,
      avg_frequency: 2 - s / 2,
      avg_monetary: 40 - s * 10,
      avg_views: 30 + s,
      avg_carts: 3,
      avg_purchases: 2 - s / 2,
      avg_sessions: 5,
      revenue_share: [0.5, 0.3, 0.15, 0.05][s],
    };
  }
}

/** A fitted-looking model: coefficients, means and standard deviations; max_view_price has stddev 0. */
export const INTENT_COEFFICIENTS: readonly { feature: string; position: number; coefficient: number; mean: number; stddev: number }[] = [
  { feature: INTERCEPT_FEATURE, position: 0, coefficient: -2.25, mean: 0, stddev: 1 },
  ...INTENT_FEATURES.map((feature, i) => ({
    feature,
    position: i + 1,
    coefficient: [0.8, 1.6, -0.4, 0.3, 0.2, 0.001, -0.05, 0.1, 0.002, 0.7, -0.001, 0.004][i],
    mean: [12.5, 1.2, 0.1, 6.3, 1.4, 640, 13.2, 3.9, 180.5, 250, 90.25, 45.5][i],
    stddev: feature === 'max_view_price' ? 0 : [14.1, 1.9, 0.4, 5.2, 0.9, 900, 6.1, 2.0, 150.3, 1, 80.7, 120.2][i],
  })),
];

export const hasForecast = (u: number): boolean => u % 11 !== 10;
export const FORECAST_START = '2026-11-23';

/** A forecast per user (not every one: see hasForecast): probability × spend given a purchase. */
export function* customerSpendForecastRows(spec: ApiRunSpec): Generator<Row> {
  const row = (id: string, u: number): Row => {
    const probability = (u % 10) / 10 + 0.05;
    const spendIfPurchase = 20 + u * 0.5;
    return {
      user_id: id,
      purchase_probability: probability,
      spend_if_purchase: spendIfPurchase,
      predicted_spend: probability * spendIfPurchase,
      baseline_spend: (u % 3) * 5.5,
      horizon_days: 30,
      forecast_start: FORECAST_START,
    };
  };
  for (let u = 0; u < spec.users; u++) if (hasForecast(u)) yield row(userId(u), u);
  yield row(MAX_BIGINT, 9);
}

export const API_TABLE_ROWS: Record<string, (spec: ApiRunSpec) => Iterable<Row>> = {
  products: productRows,
  user_recommendations: userRecommendationRows,
  popular_products: popularRows,
  bought_together: boughtTogetherRows,
  customer_segments: customerSegmentRows,
  segment_profiles: segmentProfileRows,
  intent_coefficients: () => INTENT_COEFFICIENTS,
  customer_spend_forecast: customerSpendForecastRows,
};

/** Writes `dir/manifest.json` and one CSV per served table (empty for tables the API does not read). */
export function writeApiRun(dir: string, runId: string, spec: ApiRunSpec): Record<string, number> {
  fs.mkdirSync(dir, { recursive: true });
  const tables: Record<string, { rowCount: number; columns: string[]; files: string[] }> = {};
  for (const table of servedTables()) {
    const columns = servingColumns(table);
    const file = `${table.name}/part-00000.csv`;
    fs.mkdirSync(path.join(dir, table.name), { recursive: true });
    const fd = fs.openSync(path.join(dir, file), 'w');
    let rowCount = 0;
    let buffer: string[] = [];
    const flush = (): void => {
      fs.writeSync(fd, buffer.join(''));
      buffer = [];
    };
    for (const row of API_TABLE_ROWS[table.name]?.(spec) ?? []) {
      buffer.push(csvLine(columns.map((c) => row[c.name] ?? null)));
      rowCount++;
      if (buffer.length >= 10_000) flush();
    }
    flush();
    fs.closeSync(fd);
    tables[table.name] = { rowCount, columns: columns.map((c) => c.name), files: [file] };
  }
  const manifest: ServingManifest = { runId, createdAt: '2026-11-23T00:00:00Z', tables };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.rowCount]));
}
