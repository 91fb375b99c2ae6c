/**
 * Streaming, deterministic synthetic e-commerce events shaped like the two public datasets ShopSight
 * reads: REES46 ("eCommerce behavior data from multi category store") and RetailRocket. It writes the
 * public formats exactly (RAW_TABLES in core/contract/tables.ts) so that demos and benchmarks run the
 * real pipeline without redistributing the real files.
 *
 * What is generated
 * - REES46: one CSV `event_time,event_type,product_id,category_id,category_code,brand,price,user_id,
 *   user_session`, times `YYYY-MM-DD HH:MM:SS UTC` non-decreasing over `days` days.
 * - RetailRocket: `events.csv` (`timestamp,visitorid,event,itemid,transactionid`, epoch ms), plus
 *   `category_tree.csv` (`categoryid,parentid`, 12 roots, depth up to 4) and `item_properties_part1.csv`
 *   (`timestamp,itemid,property,value`, a `categoryid` row for every item; ~1% of items change category
 *   once during the period).
 * - Beside the output, `<out without .gz/.csv>.truth.json`: the planted structure (PlantedTruth).
 *
 * Distributions (sources: the real figures in ../shared/data/README.md)
 * - Funnel: REES46 2019-Oct has 40,779,399 views, 926,516 carts, 742,849 purchases, i.e. carts/views
 *   ≈ 2.3%, purchases/views ≈ 1.8%; RetailRocket has 2,664,312 views, 69,332 add-to-carts, 22,457
 *   transactions: 2.6% and 0.84%. Per-segment cart and buy probabilities are calibrated to those ratios;
 *   ~90% of purchases follow a cart of the same product in the same session (checkout at session end).
 * - Missing values: category_code empty on ~33% of rows (Oct sample 5,746/17,434; Nov 32.4%), brand
 *   empty on ~14% (Nov 13.7%). Both are properties of the product (a code-less product has a code-less
 *   category id), chosen so that the popularity-weighted share hits the target.
 * - Catalogue and users: products ≈ clamp(events/200, 500, 300000), users ≈ clamp(events/15, 200,
 *   5000000) (Oct: 42.4M rows, 166,794 products, 3,022,290 users). Product popularity is Zipf (s = 1)
 *   within each top-level category; session owners are drawn Zipf (s = 1.3) over users, plus 13% of
 *   sessions given to never-seen users (one-off visitors), so a few users have thousands of events
 *   (bot-like, capped by the 30-minute rule below) and more than 40% of users have one or two.
 * - Sessions: views per session ceil(lognormal(0.2, 1.2)) (≈ 3.2 events/session with carts and
 *   purchases; the Oct sample has 17,434 rows / 5,066 sessions = 3.4), gaps between events
 *   exponential (mean 45 s, capped at 25 min; a session lasts at most ~2.5 h), a
 *   user's next session starts more than 30 min after their previous one ends, so a 30-minute-gap
 *   sessionisation recovers exactly the generated sessions. Session starts follow a daily cycle.
 * - Prices: per category a median (per top-level typical price × lognormal), per product
 *   median × lognormal(0, 0.35), two decimals; 0.2% of products cost 0.00.
 *
 * Planted structure (returned and written as truth)
 * 1. bundles: 6 pairs and 4 triples of products that are viewed, carted and bought together in one
 *    session (one basket / transactionid) far more often than chance.
 * 2. latent preferences: every user has 1-2 preferred top-level categories; 88% of their product picks
 *    come from them. Truth lists them for a sample of ≤ 1000 users.
 * 3. segments: window shoppers (views only, 50% of users), regular buyers (30%), frequent buyers (10%),
 *    cart abandoners (10%: cart often, rarely buy); truth gives each sampled user's segment.
 * 4. spend trends (opt-in, `spendTrends`): every user gets a trend τ uniform in [−1, 1] (its own
 *    seeded stream), and a session starting at fraction f of the period has its cart, buy and bundle
 *    probabilities multiplied by exp(SPEND_TREND_STRENGTH · τ · (f − ½)) (capped at 1): a user's
 *    purchases, hence spend, drift up or down over the run. Truth gives each sampled user's τ.
 *    Off by default, and then no draw or probability changes: the output stays byte-identical.
 *
 * Determinism and memory: a seeded sfc32 PRNG (random.ts) drives everything, nothing reads the clock;
 * same options give byte-identical files. Rows are generated in time order (sessions in a min-heap by
 * next event time, starts monotone), buffered into ~64 KiB strings and written with backpressure, so
 * memory is bounded by the catalogue (per-product strings, per-user typed arrays), not by `events`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { once } from 'node:events';
import { hash2, Random, WeightedSampler, ZipfSampler } from './random';
import { buildTaxonomy, Taxonomy, TOP_LEVEL } from './taxonomy';

export interface GenerateOptions {
  dataset: 'rees46' | 'retailrocket';
  events: number;
  seed: number;
  /** Output path; a .gz suffix gzips every file written. For retailrocket: the events file. */
  out: string;
  /** Default 2019-10-01 for rees46, 2015-05-03 for retailrocket (UTC). */
  startDate?: string;
  /** Default 30. */
  days?: number;
  onProgress?: (written: number) => void;
  /** Plant per-user spend trends (planted structure 4). @default false */
  spendTrends?: boolean;
}

export type Segment = 'window_shopper' | 'regular' | 'frequent_buyer' | 'cart_abandoner';
export const SEGMENTS: readonly Segment[] = ['window_shopper', 'regular', 'frequent_buyer', 'cart_abandoner'];

export interface PlantedTruth {
  dataset: 'rees46' | 'retailrocket';
  /** The files this generation wrote (names in one folder), this truth file included: `generate --out` may replace only these. */
  files: string[];
  seed: number;
  events: number;
  startDate: string;
  days: number;
  /** Sessions generated (a session's events share user_session; RetailRocket: 30-min gap sessions). */
  sessions: number;
  counts: { view: number; cart: number; purchase: number };
  /** Catalogue sizes, and users that have at least one event. */
  products: number;
  users: number;
  activeUsers: number;
  topCategories: string[];
  /** Every category id written (REES46 category_id or RetailRocket categoryid) → its top-level name. */
  categories: Array<{ categoryId: string; code: string; top: string }>;
  /** Product ids (REES46 product_id / RetailRocket itemid) bought together. */
  bundles: Array<{ products: string[] }>;
  /** Target segment shares of users. */
  segmentShares: Record<Segment, number>;
  /** A sample of ≤ 1000 users (the most active 100 plus a spread over the activity ranks). */
  users_sample: Array<{ userId: string; segment: Segment; preferred: string[]; events: number; spendTrend?: number }>;
  /** Only with spendTrends: the strength k of the multiplier exp(k · τ · (f − ½)). */
  spendTrendStrength?: number;
  /** RetailRocket only: items whose categoryid property changes once. */
  categoryChanges?: number;
}

export interface GenerateResult {
  files: string[];
  events: number;
  bytes: number;
  truth: PlantedTruth;
}

// ---------------------------------------------------------------------------------------------
// Model parameters
// ---------------------------------------------------------------------------------------------

const VIEW = 0;
const CART = 1;
const PURCHASE = 2;

/** Segment of each user in a block of 10 (shuffled per block): 5 window, 3 regular, 1 frequent, 1 abandoner. */
const SEGMENT_PATTERN = [0, 0, 0, 0, 0, 1, 1, 1, 2, 3];

interface FunnelParams {
  /** Per segment: probability that a view is followed by a cart of that product. */
  cart: number[];
  /** Per segment: probability that a carted product is bought at checkout. */
  buy: number[];
  /** Per segment: probability per view of a purchase without a cart event. */
  buyNoCart: number[];
  /** Per segment: probability per session of looking at (and carting) a planted bundle. */
  bundle: number[];
  /** Probability that a carted bundle is bought. */
  bundleBuy: number[];
}

const FUNNEL: Record<'rees46' | 'retailrocket', FunnelParams> = {
  rees46: {
    cart: [0, 0.025, 0.07, 0.057],
    buy: [0, 0.85, 0.92, 0.08],
    buyNoCart: [0, 0.003, 0.006, 0],
    bundle: [0, 0.008, 0.03, 0.006],
    bundleBuy: [0, 0.9, 0.95, 0.1],
  },
  retailrocket: {
    cart: [0, 0.028, 0.077, 0.069],
    buy: [0, 0.32, 0.46, 0.03],
    buyNoCart: [0, 0.0005, 0.001, 0],
    bundle: [0, 0.006, 0.02, 0.006],
    bundleBuy: [0, 0.7, 0.85, 0.05],
  },
};

const PREFERRED_SHARE = 0.88;
/** Spend trends: purchase propensity ranges over exp(±k/2) from the period's start to its end, k this. */
const SPEND_TREND_STRENGTH = 2;
const REVIEW_SHARE = 0.25;
const CODE_MISSING = 0.33;
const BRAND_MISSING = 0.14;
const ZERO_PRICE = 0.002;
const PRODUCT_ZIPF = 1.0;
const USER_ZIPF = 1.3;
const MAX_VIEWS = 60;
/** Share of sessions given to a never-seen user (taken from the least active Zipf ranks): one-off visitors. */
const FRESH_SHARE = 0.13;
const GAP_MEAN_MS = 45_000;
const GAP_CAP_MS = 25 * 60_000;
const SESSION_CAP_MS = 150 * 60_000;
const START_MARGIN_MS = 3 * 3600_000;
/** Seconds added after a session's last event before the user may start another: > 30 min. */
const IDLE_GAP_S = 1802;
const CHUNK = 64 * 1024;
/** Relative session starts per UTC hour (REES46 shoppers are mostly UTC+3: quiet nights, busy afternoons). */
const HOURLY = [3, 2, 1.5, 1.2, 1.2, 1.5, 2.5, 4, 5, 5.5, 6, 6, 6, 6.5, 7, 7.5, 8, 8, 7.5, 6.5, 5.5, 4.5, 4, 3.5];

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

/** A file sink: gzip when the name ends in .gz, strings buffered to ~64 KiB, backpressure honoured. */
class Sink {
  private buf = '';
  private readonly file: fs.WriteStream;
  private readonly head: NodeJS.WritableStream;
  private failure: Error | undefined;

  constructor(readonly filePath: string) {
    this.file = fs.createWriteStream(filePath);
    this.file.on('error', (e) => (this.failure = e));
    if (filePath.endsWith('.gz')) {
      const gz = zlib.createGzip({ level: 6 });
      gz.on('error', (e) => (this.failure = e));
      gz.pipe(this.file);
      this.head = gz;
    } else {
      this.head = this.file;
    }
  }

  /** Append text; returns true when the buffer is full and `flush()` should be awaited. */
  add(text: string): boolean {
    this.buf += text;
    return this.buf.length >= CHUNK;
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buf.length === 0) return;
    const ok = this.head.write(this.buf);
    this.buf = '';
    if (!ok) await once(this.head as unknown as NodeJS.EventEmitter, 'drain');
  }

  async close(): Promise<number> {
    await this.flush();
    const closed = once(this.file, 'close');
    this.head.end();
    await closed;
    if (this.failure) throw this.failure;
    return this.file.bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

function parseStart(date: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T00:00:00Z` : date);
  if (!Number.isFinite(ms)) throw new Error(`startDate is not a date: ${date}`);
  return ms;
}

/** REES46 event_time text, cached per second and per day. */
class TimeFormatter {
  private lastSec = -1;
  private lastText = '';
  private lastDay = -1;
  private dayText = '';

  format(ms: number): string {
    const sec = Math.floor(ms / 1000);
    if (sec === this.lastSec) return this.lastText;
    const day = Math.floor(sec / 86400);
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.dayText = new Date(day * 86400_000).toISOString().slice(0, 10) + ' ';
    }
    const sod = sec - day * 86400;
    const h = Math.floor(sod / 3600);
    const m = Math.floor((sod - h * 3600) / 60);
    this.lastSec = sec;
    this.lastText = this.dayText + PAD2[h] + ':' + PAD2[m] + ':' + PAD2[sod - h * 3600 - m * 60] + ' UTC';
    return this.lastText;
  }
}

/** Maps the fraction of events already planned to a session start time, with a daily cycle. Monotone. */
function makeStartClock(t0: number, days: number): (fraction: number) => number {
  const cum = new Float64Array(25);
  const total = HOURLY.reduce((a, b) => a + b, 0);
  for (let h = 0; h < 24; h++) cum[h + 1] = cum[h] + HOURLY[h] / total;
  const periodMs = days * 86400_000;
  const scale = Math.max(0.5, (periodMs - START_MARGIN_MS) / periodMs);
  return (fraction: number): number => {
    const dayF = fraction * days;
    const d = Math.min(days - 1, Math.floor(dayF));
    const y = Math.min(1, dayF - d);
    let h = 0;
    while (h < 23 && cum[h + 1] <= y) h++;
    const within = (y - cum[h]) / (cum[h + 1] - cum[h]);
    const offset = d * 86400_000 + (h + Math.min(1, within)) * 3600_000;
    return t0 + Math.floor(offset * scale);
  };
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

interface Session {
  times: number[];
  types: number[];
  prods: number[];
  idx: number;
  userText: string;
  uuid: string;
  tx: number;
}

/** Min-heap of sessions by the time of their next event (ties: insertion order irrelevant, times equal). */
class SessionHeap {
  private readonly items: Session[] = [];

  get size(): number {
    return this.items.length;
  }

  peekTime(): number {
    const s = this.items[0];
    return s.times[s.idx];
  }

  push(s: Session): void {
    const a = this.items;
    a.push(s);
    let i = a.length - 1;
    const t = s.times[s.idx];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = a[p];
      if (q.times[q.idx] <= t) break;
      a[i] = q;
      i = p;
    }
    a[i] = s;
  }

  /** Re-sift the top after its idx advanced. */
  siftTop(): void {
    const a = this.items;
    const n = a.length;
    const s = a[0];
    const t = s.times[s.idx];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && a[r].times[a[r].idx] < a[l].times[a[l].idx]) c = r;
      if (a[c].times[a[c].idx] >= t) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = s;
  }

  top(): Session {
    return this.items[0];
  }

  popTop(): void {
    const a = this.items;
    const last = a.pop() as Session;
    if (a.length > 0) {
      a[0] = last;
      this.siftTop();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

function stripExt(p: string): string {
  return p.replace(/\.gz$/, '').replace(/\.csv$/, '');
}

/** The options checked and completed with their dataset's defaults. */
interface Settings {
  dataset: 'rees46' | 'retailrocket';
  seed: number;
  /** Events to write. */
  N: number;
  rees: boolean;
  startDate: string;
  days: number;
  /** Start and end of the period (epoch ms). */
  t0: number;
  periodEnd: number;
  funnel: FunnelParams;
  gzip: boolean;
  /** The output's folder (created). */
  dir: string;
}

function resolveSettings(options: GenerateOptions): Settings {
  const { dataset, seed } = options;
  const N = Math.floor(options.events);
  if (!(N >= 0)) throw new Error('events must be a non-negative number');
  if (dataset !== 'rees46' && dataset !== 'retailrocket') throw new Error(`unknown dataset ${String(dataset)}`);
  const rees = dataset === 'rees46';
  const startDate = options.startDate ?? (rees ? '2019-10-01' : '2015-05-03');
  const days = options.days ?? 30;
  if (!(days > 0)) throw new Error('days must be positive');
  const t0 = parseStart(startDate);
  const periodEnd = t0 + days * 86400_000;
  const funnel = FUNNEL[dataset];
  const gzip = options.out.endsWith('.gz');
  const dir = path.dirname(options.out);
  fs.mkdirSync(dir, { recursive: true });
  return { dataset, seed, N, rees, startDate, days, t0, periodEnd, funnel, gzip, dir };
}

/** The products: per top-level category a block of Zipf-ranked products, each with its row text. */
interface Catalogue {
  tax: Taxonomy;
  /** Top-level categories. */
  T: number;
  products: number;
  /** Per top-level category: its products' count and the index of its first one. */
  topCount: number[];
  topStart: number[];
  topSampler: WeightedSampler;
  /** Per top-level category: popularity rank within its block. */
  rankSamplers: ZipfSampler[];
  /** Per product: its taxonomy category index, id, id text and the row text around it. */
  productCategory: Uint16Array;
  itemIds: Int32Array;
  productIdText: string[];
  productText: string[];
}

function buildCatalogue(catRng: Random, N: number, rees: boolean): Catalogue {
  const tax = buildTaxonomy(catRng);
  const T = TOP_LEVEL.length;
  const P = Math.round(clamp(N / 200, 500, 300_000));
  const topWeightTotal = TOP_LEVEL.reduce((a, t) => a + t.weight, 0);
  const topCount = TOP_LEVEL.map((t) => Math.max(20, Math.round((P * t.weight) / topWeightTotal)));
  const products = topCount.reduce((a, b) => a + b, 0);
  const topStart: number[] = [];
  {
    let s = 0;
    for (const c of topCount) {
      topStart.push(s);
      s += c;
    }
  }
  const topSampler = new WeightedSampler(TOP_LEVEL.map((t) => t.weight));
  const rankSamplers = topCount.map((n) => new ZipfSampler(n, PRODUCT_ZIPF));
  const productCategory = new Uint16Array(products);
  const noCode = new Uint8Array(products);
  const noBrand = new Uint8Array(products);
  /** Marks products so that their popularity-weighted share in each top-level block is about `share`. */
  const markWeighted = (flags: Uint8Array, share: number): void => {
    for (let t = 0; t < T; t++) {
      const sampler = rankSamplers[t];
      const order = catRng.shuffle(Array.from({ length: topCount[t] }, (_, i) => i));
      let acc = 0;
      for (const r of order) {
        const w = sampler.probability(r);
        if (acc + w <= share + w / 2 && acc < share) {
          flags[topStart[t] + r] = 1;
          acc += w;
        }
      }
    }
  };
  markWeighted(noCode, CODE_MISSING);
  markWeighted(noBrand, BRAND_MISSING);

  const productText: string[] = new Array(products);
  const itemIds = new Int32Array(products);
  const productIdText: string[] = new Array(products);
  const stride = rees ? Math.max(1, Math.floor(60_000_000 / products)) : Math.max(1, Math.floor(466_000 / products));
  for (let t = 0; t < T; t++) {
    const brandZipf = new ZipfSampler(tax.brands[t].length, 1.1);
    for (let r = 0; r < topCount[t]; r++) {
      const p = topStart[t] + r;
      const pool = noCode[p] ? tax.uncoded[t] : tax.coded[t];
      const cat = tax.categories[catRng.pick(pool)];
      productCategory[p] = cat.index;
      const brand = noBrand[p] ? '' : tax.brands[t][brandZipf.sample(catRng)];
      const price = catRng.chance(ZERO_PRICE) ? 0 : Math.max(0.01, cat.median * catRng.logNormal(0, 0.35));
      const id = (rees ? 1_000_000 : 0) + p * stride + catRng.int(stride);
      itemIds[p] = id;
      productIdText[p] = String(id);
      if (rees) productText[p] = `,${id},${cat.categoryId},${cat.code},${brand},${price.toFixed(2)},`;
      else productText[p] = `,${id},`;
    }
  }
  return { tax, T, products, topCount, topStart, topSampler, rankSamplers, productCategory, itemIds, productIdText, productText };
}

/** Planted bundles (products) and, per top-level category, the bundles whose first product is in it. */
interface Bundles {
  bundles: number[][];
  bundlesByTop: number[][];
}

/** Bundles: products from mid-popularity ranks, no product in two bundles. */
function plantBundles(catRng: Random, catalogue: Catalogue): Bundles {
  const { T, topCount, topStart, topSampler } = catalogue;
  const bundles: number[][] = [];
  {
    const used = new Set<number>();
    const pickMid = (t: number): number => {
      for (;;) {
        const r = catRng.range(1, Math.min(topCount[t] - 1, 40));
        const p = topStart[t] + r;
        if (!used.has(p)) {
          used.add(p);
          return p;
        }
      }
    };
    for (let b = 0; b < 10; b++) {
      const size = b < 6 ? 2 : 3;
      const t = topSampler.sample(catRng);
      const items = [pickMid(t)];
      for (let k = 1; k < size; k++) items.push(pickMid(catRng.chance(0.6) ? t : topSampler.sample(catRng)));
      bundles.push(items);
    }
  }
  const bundlesByTop: number[][] = Array.from({ length: T }, () => []);
  bundles.forEach((b, i) => bundlesByTop[productTopOf(b[0])].push(i));
  function productTopOf(p: number): number {
    let t = T - 1;
    while (topStart[t] > p) t--;
    return t;
  }
  return { bundles, bundlesByTop };
}

/** The users, in typed arrays only, and the sample of them that the truth describes. */
interface Users {
  U: number;
  segment: Uint8Array;
  /** Preferred top-level categories (pref2 255: none). */
  pref1: Uint8Array;
  pref2: Uint8Array;
  /** Seconds after t0 from which the user may start a session; 0 = never seen. */
  busyUntil: Uint32Array;
  spendTrend: Float64Array | undefined;
  userZipf: ZipfSampler;
  userText: (u: number) => string;
  /** The truth's sample: user → its position, the users, and their events (counted while planning). */
  sampleIndex: Map<number, number>;
  sampleUsers: number[];
  sampleEvents: Int32Array;
}

function buildUsers(settings: Settings, userRng: Random, topSampler: WeightedSampler, spendTrends: boolean | undefined): Users {
  const { N, seed, rees } = settings;
  const seedHash = hash2(seed | 0, Math.floor(seed / 4294967296));
  const U = Math.round(clamp(N / 15, 200, 5_000_000));
  const segment = new Uint8Array(U);
  const pref1 = new Uint8Array(U);
  const pref2 = new Uint8Array(U).fill(255);
  const busyUntil = new Uint32Array(U); // seconds after t0 from which the user may start a session; 0 = never seen
  const pattern = [...SEGMENT_PATTERN];
  for (let u = 0; u < U; u++) {
    if (u % 10 === 0) userRng.shuffle(pattern);
    segment[u] = pattern[u % 10];
    const a = topSampler.sample(userRng);
    pref1[u] = a;
    if (userRng.chance(0.6)) {
      let b = topSampler.sample(userRng);
      for (let k = 0; k < 8 && b === a; k++) b = topSampler.sample(userRng);
      if (b !== a) pref2[u] = b;
    }
  }
  // Spend trends draw from a stream of their own, so the other draws are the same with or without them.
  let spendTrend: Float64Array | undefined;
  if (spendTrends) {
    const trendRng = new Random(seed, 4);
    spendTrend = new Float64Array(U);
    for (let u = 0; u < U; u++) spendTrend[u] = 2 * trendRng.next() - 1;
  }
  const userZipf = new ZipfSampler(U, USER_ZIPF);
  const userText = (u: number): string =>
    rees ? String(500_000_000 + u * 7 + (hash2(seedHash, u) % 7)) : String(u * 3 + (hash2(seedHash, u) % 3));

  // Truth sample: the 100 most active ranks plus a spread over the rest.
  const sampleIndex = new Map<number, number>();
  const sampleUsers: number[] = [];
  const addSample = (u: number): void => {
    if (u < U && !sampleIndex.has(u) && sampleUsers.length < 1000) {
      sampleIndex.set(u, sampleUsers.length);
      sampleUsers.push(u);
    }
  };
  for (let u = 0; u < Math.min(100, U); u++) addSample(u);
  for (let k = 0; k < 900; k++) addSample(100 + Math.floor((k * (U - 100)) / 900));
  const sampleEvents = new Int32Array(sampleUsers.length);
  return { U, segment, pref1, pref2, busyUntil, spendTrend, userZipf, userText, sampleIndex, sampleUsers, sampleEvents };
}

/** Plans sessions one at a time (`plan`), each starting at a given time; `sessions()` counts them. */
interface SessionPlanner {
  plan(startMs: number, remaining: number): Session;
  sessions(): number;
}

/** Session planning: the owner, then views, carts, a bundle and the purchases at the end, on `rng`. */
/** Who a session belongs to and which products it looks at: preferences, popularity and who is free. */
function makeShopperPicker(settings: Settings, rng: Random, catalogue: Catalogue, users: Users) {
  const { t0 } = settings;
  const { topStart, topSampler, rankSamplers } = catalogue;
  const { U, pref1, pref2, busyUntil, userZipf } = users;
  const pickProduct = (u: number): number => {
    let t: number;
    if (rng.next() < PREFERRED_SHARE) t = pref2[u] !== 255 && rng.next() < 0.35 ? pref2[u] : pref1[u];
    else t = topSampler.sample(rng);
    return topStart[t] + rankSamplers[t].sample(rng);
  };
  const isFree = (u: number, startMs: number): boolean => busyUntil[u] === 0 || (startMs - t0) / 1000 >= busyUntil[u];
  let freshUser = U - 1;
  const pickUser = (startMs: number): number => {
    if (rng.next() < FRESH_SHARE) {
      while (freshUser >= 0 && busyUntil[freshUser] !== 0) freshUser--;
      if (freshUser >= 0) return freshUser--;
    }
    for (let k = 0; k < 8; k++) {
      const u = userZipf.sample(rng);
      if (isFree(u, startMs)) return u;
    }
    for (let k = 0; k < 100_000; k++) {
      const u = rng.int(U);
      if (isFree(u, startMs)) return u;
    }
    return rng.int(U);
  };
  return { pickProduct, pickUser };
}

/** One session's events as they are planned: the clock, and the three columns. */
class SessionEvents {
  readonly times: number[] = [];
  readonly types: number[] = [];
  readonly prods: number[] = [];
  private t: number;

  constructor(
    private readonly startMs: number,
    private readonly periodEnd: number,
    private readonly rng: Random,
  ) {
    this.t = startMs;
  }

  add(type: number, p: number): void {
    this.times.push(Math.min(this.t, this.periodEnd - 1));
    this.types.push(type);
    this.prods.push(p);
  }

  /** The gap before the next page view (none before the first). */
  step(): void {
    if (this.times.length === 0) return;
    if (this.t - this.startMs > SESSION_CAP_MS) this.t += 1000;
    else this.t += Math.max(1000, Math.min(GAP_CAP_MS, Math.round(this.rng.exponential(GAP_MEAN_MS))));
  }

  /** A short pause of lo to hi seconds (cart and checkout clicks). */
  short(lo: number, hi: number): void {
    this.t += lo * 1000 + this.rng.int((hi - lo) * 1000);
  }

  /** Keeps the first `n` events (the last session of the run stops at the requested count). */
  truncate(n: number): void {
    if (this.times.length <= n) return;
    this.times.length = n;
    this.types.length = n;
    this.prods.length = n;
  }
}

function makeSessionPlanner(settings: Settings, rng: Random, catalogue: Catalogue, planted: Bundles, users: Users): SessionPlanner {
  const { rees, t0, periodEnd, funnel } = settings;
  const { bundles, bundlesByTop } = planted;
  const { segment, pref1, busyUntil, spendTrend, userText, sampleIndex, sampleEvents } = users;
  const { pickProduct, pickUser } = makeShopperPicker(settings, rng, catalogue, users);

  let sessions = 0;
  const planSession = (startMs: number, remaining: number): Session => {
    const u = pickUser(startMs);
    const seg = segment[u];
    const drift = spendTrend ? Math.exp(SPEND_TREND_STRENGTH * spendTrend[u] * ((startMs - t0) / (periodEnd - t0) - 0.5)) : 1;
    const drifted = (probability: number): number => (spendTrend ? Math.min(1, probability * drift) : probability);
    const ev = new SessionEvents(startMs, periodEnd, rng);
    const viewed: number[] = [];
    const carted: number[] = [];
    const toBuy: number[] = [];
    // Browsing: views (some revisit a viewed product), each maybe carted and later bought, or bought directly.
    const views = Math.min(MAX_VIEWS, Math.max(1, Math.ceil(rng.logNormal(0.2, 1.2))));
    const pCart = drifted(funnel.cart[seg]);
    for (let i = 0; i < views; i++) {
      ev.step();
      const p = viewed.length > 0 && rng.next() < REVIEW_SHARE ? viewed[rng.int(viewed.length)] : pickProduct(u);
      ev.add(VIEW, p);
      viewed.push(p);
      if (pCart > 0 && rng.next() < pCart && !carted.includes(p)) {
        ev.short(2, 40);
        ev.add(CART, p);
        carted.push(p);
        if (rng.next() < drifted(funnel.buy[seg])) toBuy.push(p);
      } else if (rng.next() < drifted(funnel.buyNoCart[seg]) && !toBuy.includes(p)) {
        toBuy.push(p);
      }
    }
    // A planted bundle, mostly one of the user's preferred top category: viewed and carted together.
    if (funnel.bundle[seg] > 0 && rng.next() < drifted(funnel.bundle[seg])) {
      const mine = bundlesByTop[pref1[u]];
      const b = bundles[mine.length > 0 && rng.next() < 0.7 ? mine[rng.int(mine.length)] : rng.int(bundles.length)];
      const buyAll = rng.next() < drifted(funnel.bundleBuy[seg]);
      for (const p of b) {
        ev.step();
        ev.add(VIEW, p);
        if (!carted.includes(p)) {
          ev.short(2, 40);
          ev.add(CART, p);
          carted.push(p);
        }
        if (buyAll && !toBuy.includes(p)) toBuy.push(p);
      }
    }
    // Checkout: everything to buy, a few seconds apart.
    if (toBuy.length > 0) {
      ev.short(20, 300);
      for (const p of toBuy) {
        ev.short(0, 3);
        ev.add(PURCHASE, p);
      }
    }
    ev.truncate(remaining);
    const { times, types, prods } = ev;
    busyUntil[u] = Math.ceil((times[times.length - 1] - t0) / 1000) + IDLE_GAP_S;
    const si = sampleIndex.get(u);
    if (si !== undefined) sampleEvents[si] += times.length;
    sessions++;
    return { times, types, prods, idx: 0, userText: userText(u), uuid: rees ? rng.uuid() : '', tx: -1 };
  };
  return { plan: planSession, sessions: () => sessions };
}

interface WrittenEvents {
  written: number;
  /** Events by type (VIEW, CART, PURCHASE). */
  counts: number[];
  bytes: number;
}

/** The main loop: plans sessions as their start comes and writes every event in time order. */
async function writeEvents(
  settings: Settings,
  eventsPath: string,
  planner: SessionPlanner,
  productText: string[],
  onProgress: ((written: number) => void) | undefined,
): Promise<WrittenEvents> {
  const { rees, N, t0, days } = settings;
  const sink = new Sink(eventsPath);
  sink.add(rees ? 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n' : 'timestamp,visitorid,event,itemid,transactionid\n');
  const clock = makeStartClock(t0, days);
  const fmt = new TimeFormatter();
  const heap = new SessionHeap();
  const counts = [0, 0, 0];
  const typeText = rees ? [',view', ',cart', ',purchase'] : [',view', ',addtocart', ',transaction'];
  let planned = 0;
  let written = 0;
  let nextTx = 0;
  let nextStart = clock(0);
  while (planned < N || heap.size > 0) {
    if (planned < N && (heap.size === 0 || nextStart <= heap.peekTime())) {
      const s = planner.plan(nextStart, N - planned);
      planned += s.times.length;
      heap.push(s);
      nextStart = clock(planned / N);
      continue;
    }
    const s = heap.top();
    const i = s.idx;
    const type = s.types[i];
    const p = s.prods[i];
    let line: string;
    if (rees) {
      line = fmt.format(s.times[i]) + typeText[type] + productText[p] + s.userText + ',' + s.uuid + '\n';
    } else {
      let tx = '';
      if (type === PURCHASE) {
        if (s.tx < 0) s.tx = nextTx++;
        tx = String(s.tx);
      }
      line = s.times[i] + ',' + s.userText + typeText[type] + productText[p] + tx + '\n';
    }
    counts[type]++;
    written++;
    s.idx = i + 1;
    if (s.idx < s.times.length) heap.siftTop();
    else heap.popTop();
    if (sink.add(line)) {
      await sink.flush();
      onProgress?.(written);
    }
  }
  const bytes = await sink.close();
  onProgress?.(written);
  return { written, counts, bytes };
}

interface CategoryFiles {
  /** The files written beside the events (RetailRocket's category tree and item properties). */
  files: string[];
  bytes: number;
  categories: PlantedTruth['categories'];
  categoryChanges: number | undefined;
}

/**
 * The truth's categories; for RetailRocket also the siblings of the events file: `category_tree.csv`
 * (the taxonomy as a tree of numeric ids) and `item_properties_part1.csv` (each item's categoryid, ~1%
 * changing once), drawn on `catRng` after the catalogue and bundles.
 */
async function writeCategoryFiles(settings: Settings, catRng: Random, catalogue: Catalogue): Promise<CategoryFiles> {
  const { rees, gzip, dir, t0, days } = settings;
  const { tax, T, products, productCategory, itemIds } = catalogue;
  const truthCategories: PlantedTruth['categories'] = [];
  const files: string[] = [];
  let bytes = 0;
  let categoryChanges: number | undefined;
  if (rees) {
    for (const c of tax.categories) truthCategories.push({ categoryId: c.categoryId, code: c.code, top: TOP_LEVEL[c.top].name });
  } else {
    const gz = gzip ? '.gz' : '';
    const usedIds = new Set<number>();
    const newNode = (): number => {
      for (;;) {
        const id = catRng.range(1, 1699);
        if (!usedIds.has(id)) {
          usedIds.add(id);
          return id;
        }
      }
    };
    const treeRows: string[] = [];
    const node = (top: number, parent: number | undefined): number => {
      const id = newNode();
      treeRows.push(`${id},${parent ?? ''}`);
      truthCategories.push({ categoryId: String(id), code: '', top: TOP_LEVEL[top].name });
      return id;
    };
    const rootIds = TOP_LEVEL.map((_, t) => node(t, undefined));
    const midIds = TOP_LEVEL.map((top, t) => top.mids.map(() => node(t, rootIds[t])));
    // Each category of the taxonomy is a depth-3 node; a quarter get two depth-4 children.
    const leafNodes: number[][] = tax.categories.map((c) => {
      const id = node(c.top, midIds[c.top][c.mid]);
      return catRng.chance(0.25) ? [node(c.top, id), node(c.top, id)] : [id];
    });
    const leavesByTop: number[][] = Array.from({ length: T }, () => []);
    tax.categories.forEach((c, i) => leavesByTop[c.top].push(...leafNodes[i]));
    catRng.shuffle(treeRows);
    const treePath = path.join(dir, `category_tree.csv${gz}`);
    const tree = new Sink(treePath);
    tree.add('categoryid,parentid\n');
    for (const row of treeRows) if (tree.add(row + '\n')) await tree.flush();
    bytes += await tree.close();

    const propsPath = path.join(dir, `item_properties_part1.csv${gz}`);
    const props = new Sink(propsPath);
    props.add('timestamp,itemid,property,value\n');
    categoryChanges = 0;
    for (let p = 0; p < products; p++) {
      const choices = leafNodes[productCategory[p]];
      const first = choices[catRng.int(choices.length)];
      if (props.add(`${t0},${itemIds[p]},categoryid,${first}\n`)) await props.flush();
      if (catRng.chance(0.01)) {
        const pool = leavesByTop[tax.categories[productCategory[p]].top];
        let second = pool[catRng.int(pool.length)];
        for (let k = 0; k < 8 && second === first; k++) second = pool[catRng.int(pool.length)];
        if (second !== first) {
          const when = t0 + 86400_000 + catRng.int(Math.max(1, days - 1) * 86400) * 1000;
          if (props.add(`${when},${itemIds[p]},categoryid,${second}\n`)) await props.flush();
          categoryChanges++;
        }
      }
    }
    bytes += await props.close();
    files.push(treePath, propsPath);
  }
  return { files, bytes, categories: truthCategories, categoryChanges };
}

/** The planted structure, as written to `<out>.truth.json`. */
function plantedTruth(
  settings: Settings,
  files: string[],
  events: WrittenEvents,
  sessions: number,
  catalogue: Catalogue,
  planted: Bundles,
  users: Users,
  categoryFiles: CategoryFiles,
): PlantedTruth {
  const { dataset, seed, startDate, days } = settings;
  const { written, counts } = events;
  const { products, productIdText } = catalogue;
  const { bundles } = planted;
  const { U, segment, pref1, pref2, busyUntil, spendTrend, userText, sampleUsers, sampleEvents } = users;
  const { categories: truthCategories, categoryChanges } = categoryFiles;
  let activeUsers = 0;
  for (let u = 0; u < U; u++) if (busyUntil[u] !== 0) activeUsers++;
  const shares = [0, 0, 0, 0];
  for (const s of SEGMENT_PATTERN) shares[s] += 1 / SEGMENT_PATTERN.length;
  return {
    dataset,
    files: files.map((f) => path.basename(f)),
    seed,
    events: written,
    startDate,
    days,
    sessions,
    counts: { view: counts[VIEW], cart: counts[CART], purchase: counts[PURCHASE] },
    products,
    users: U,
    activeUsers,
    topCategories: TOP_LEVEL.map((t) => t.name),
    categories: truthCategories,
    bundles: bundles.map((b) => ({ products: b.map((p) => productIdText[p]) })),
    segmentShares: {
      window_shopper: shares[0],
      regular: shares[1],
      frequent_buyer: shares[2],
      cart_abandoner: shares[3],
    },
    users_sample: sampleUsers.map((u, i) => ({
      userId: userText(u),
      segment: SEGMENTS[segment[u]],
      preferred: pref2[u] === 255 ? [TOP_LEVEL[pref1[u]].name] : [TOP_LEVEL[pref1[u]].name, TOP_LEVEL[pref2[u]].name],
      events: sampleEvents[i],
      ...(spendTrend ? { spendTrend: spendTrend[u] } : {}),
    })),
    ...(categoryChanges === undefined ? {} : { categoryChanges }),
    ...(spendTrend ? { spendTrendStrength: SPEND_TREND_STRENGTH } : {}),
  };
}

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const settings = resolveSettings(options);
  const { seed } = settings;

  // Separate streams so that catalogue choices do not shift when the event count changes.
  const catRng = new Random(seed, 1);
  const userRng = new Random(seed, 2);
  const rng = new Random(seed, 3);

  const catalogue = buildCatalogue(catRng, settings.N, settings.rees);
  const planted = plantBundles(catRng, catalogue);
  const users = buildUsers(settings, userRng, catalogue.topSampler, options.spendTrends);
  const planner = makeSessionPlanner(settings, rng, catalogue, planted, users);
  const eventsPath = options.out;
  const events = await writeEvents(settings, eventsPath, planner, catalogue.productText, options.onProgress);
  const categoryFiles = await writeCategoryFiles(settings, catRng, catalogue);

  const truthPath = `${stripExt(options.out)}.truth.json`;
  const files = [eventsPath, ...categoryFiles.files];
  const truth = plantedTruth(settings, [...files, truthPath], events, planner.sessions(), catalogue, planted, users, categoryFiles);
  const truthText = JSON.stringify(truth, null, 1) + '\n';
  fs.writeFileSync(truthPath, truthText);
  files.push(truthPath);
  return { files, events: events.written, bytes: events.bytes + categoryFiles.bytes + Buffer.byteLength(truthText), truth };
}
