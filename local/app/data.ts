/**
 * The read queries behind the app's pages, on an in-memory DuckDB per run: one view per table of
 * the run folder over its Parquet (read_parquet, Hive partitions as columns), then the instance is
 * locked down as the query sandbox is (no file access outside the run folder, no network, no SET).
 * Every request value reaches SQL as a bound parameter; only our own identifiers are interpolated.
 */
import { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBTypeId, DuckDBValue, JsonDuckDBValueConverter } from '@duckdb/node-api';
import { INTERCEPT_FEATURE } from '../../core/contract';
import { predictProbability } from '../ml/logistic-regression';
import { categoryLabel, datasetCurrency, productTitle, segmentLabel, tableDescription } from '../present';
import { RunEntry } from './runs';

/** An error with the HTTP status the API answers it with (docs/app.md, "JSON API"). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonRow = Record<string, Json>;

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * A locked-down in-memory DuckDB over a run: views named after its tables, then
 * allowed_directories = the run folder, enable_external_access = false, lock_configuration = true.
 */
export async function openRunDatabase(run: RunEntry, options: { memoryLimit?: string; threads?: number } = {}): Promise<DuckDBInstance> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`SET memory_limit = ${sqlString(options.memoryLimit ?? '1GB')}`);
    await c.run(`SET threads = ${Math.max(1, Math.floor(options.threads ?? 2))}`);
    await c.run(`SET TimeZone = 'UTC'`);
    await c.run('SET autoinstall_known_extensions = false');
    await c.run('SET autoload_known_extensions = false');
    for (const t of run.tables) {
      const glob = `${t.folder.replace(/\\/g, '/')}/**/*.parquet`;
      await c.run(`CREATE VIEW "${t.name}" AS SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true)`);
    }
    const dir = run.folder.replace(/\\/g, '/').replace(/\/?$/, '/');
    await c.run(`SET allowed_directories = [${sqlString(dir)}]`);
    await c.run('SET enable_external_access = false');
    await c.run('SET lock_configuration = true');
  } catch (error) {
    c.closeSync();
    instance.closeSync();
    throw error;
  } finally {
    c.closeSync();
  }
  return instance;
}

const INTEGER_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.BIGINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT]);
const FLOAT_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.DOUBLE, DuckDBTypeId.FLOAT, DuckDBTypeId.DECIMAL]);

/**
 * A value of DuckDB's JSON conversion as the API answers it: BIGINT as a number when it is a safe
 * integer (else the digits as a string), DECIMAL and DOUBLE as finite numbers (non-finite: null),
 * timestamps in ISO 8601 (UTC), dates as YYYY-MM-DD.
 */
export function apiValue(type: DuckDBType, v: Json): Json {
  if (v === null) return null;
  const id = type.typeId;
  if (INTEGER_TYPES.has(id) && typeof v === 'string') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  if (FLOAT_TYPES.has(id)) {
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n : null;
  }
  if (typeof v === 'string' && (id === DuckDBTypeId.TIMESTAMP_TZ || id === DuckDBTypeId.TIMESTAMP || id === DuckDBTypeId.TIMESTAMP_S || id === DuckDBTypeId.TIMESTAMP_MS)) {
    const iso = v.replace(' ', 'T');
    return id === DuckDBTypeId.TIMESTAMP_TZ ? iso.replace(/\+00(:00)?$/, 'Z') : iso;
  }
  return v;
}

/** Runs `sql` with bound `params`; rows as objects of API values. */
export async function readRows(c: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<JsonRow[]> {
  const reader = await c.runAndReadAll(sql, params);
  const names = reader.columnNames();
  const types = reader.columnTypes();
  return (reader.convertRows(JsonDuckDBValueConverter) as Json[][]).map((r) => {
    const row: JsonRow = {};
    names.forEach((n, i) => (row[n] = apiValue(types[i], r[i])));
    return row;
  });
}

export const money = (v: Json): number | null => (typeof v === 'number' ? Math.round(v * 100) / 100 : null);
const num = (v: Json | undefined): number => (typeof v === 'number' ? v : Number(v ?? 0) || 0);

/** A LIMIT / OFFSET value: an integer in [min, max], else the default (these are interpolated, never taken as given). */
export function intIn(v: unknown, dflt: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : dflt;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
export function validDate(name: string, v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  const d = new Date(`${v}T00:00:00Z`);
  if (!DATE_RE.test(v) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) throw new ApiError(400, `${name} must be a date YYYY-MM-DD, got "${v}"`);
  return v;
}


export interface RunInfo {
  readonly events: number;
  readonly users: number;
  readonly firstDate: string | null;
  readonly lastDate: string | null;
  readonly pricesKnown: boolean;
  readonly currency: string | null;
}

/** The page queries of one run. */
export class RunData {
  private info: RunInfo | undefined;

  constructor(
    readonly run: RunEntry,
    private readonly instance: DuckDBInstance,
  ) {}

  static async open(run: RunEntry): Promise<RunData> {
    return new RunData(run, await openRunDatabase(run));
  }

  close(): void {
    this.instance.closeSync();
  }

  has(table: string): boolean {
    return this.run.tables.some((t) => t.name === table);
  }

  private need(table: string): void {
    if (!this.has(table)) throw new ApiError(404, `run ${this.run.id} has no ${table} table`);
  }

  async rows(sql: string, params: DuckDBValue[] = []): Promise<JsonRow[]> {
    const c = await this.instance.connect();
    try {
      return await readRows(c, sql, params);
    } finally {
      c.closeSync();
    }
  }

  async runInfo(): Promise<RunInfo> {
    if (this.info) return this.info;
    // The dataset says whether there are prices (local/present): RetailRocket has none, so its revenue is unknown, not 0.
    const currency = datasetCurrency(this.run.dataset);
    let info: RunInfo = { events: 0, users: 0, firstDate: null, lastDate: null, pricesKnown: currency !== null, currency };
    if (this.has('events')) {
      const [r] = await this.rows(`SELECT count(*) AS events, count(DISTINCT user_id) AS users,
          CAST(min(event_date) AS VARCHAR) AS first_date, CAST(max(event_date) AS VARCHAR) AS last_date
        FROM events`);
      info = { ...info, events: num(r.events), users: num(r.users), firstDate: (r.first_date as string | null) ?? null, lastDate: (r.last_date as string | null) ?? null };
    }
    this.info = info;
    return info;
  }

  /** `WHERE` over events for the optional date range and category, with its bound values. */
  private eventFilter(from?: string, to?: string, category?: string, alias = ''): { where: string; params: DuckDBValue[] } {
    const p = alias ? `${alias}.` : '';
    const conds: string[] = [];
    const params: DuckDBValue[] = [];
    if (from) (conds.push(`${p}event_date >= CAST(? AS DATE)`), params.push(from));
    if (to) (conds.push(`${p}event_date <= CAST(? AS DATE)`), params.push(to));
    if (category) (conds.push(`${p}category = ?`), params.push(category));
    return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
  }

  async overview(q: { from?: string; to?: string; category?: string }): Promise<JsonRow> {
    this.need('events');
    const from = validDate('from', q.from);
    const to = validDate('to', q.to);
    if (from && to && from > to) throw new ApiError(400, `from (${from}) is after to (${to})`);
    const { pricesKnown, currency } = await this.runInfo();
    const f = this.eventFilter(from, to, q.category || undefined);
    const [k] = await this.rows(
      `SELECT count(*) AS events, count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions,
        count(*) FILTER (WHERE event_type = 'view') AS views, count(*) FILTER (WHERE event_type = 'cart') AS carts,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
        count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase') AS buyers,
        CAST(coalesce(sum(price) FILTER (WHERE event_type = 'purchase'), 0) AS DECIMAL(18, 2)) AS revenue,
        count(DISTINCT product_id) AS products,
        CAST(min(event_date) AS VARCHAR) AS first_date, CAST(max(event_date) AS VARCHAR) AS last_date,
        count(DISTINCT event_date) AS days
      FROM events ${f.where}`,
      f.params,
    );
    const daily = await this.rows(
      `SELECT CAST(event_date AS VARCHAR) AS date, count(*) FILTER (WHERE event_type = 'view') AS views,
        count(*) FILTER (WHERE event_type = 'cart') AS carts, count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
        CAST(coalesce(sum(price) FILTER (WHERE event_type = 'purchase'), 0) AS DECIMAL(18, 2)) AS revenue,
        count(DISTINCT user_id) AS users
      FROM events ${f.where} GROUP BY event_date ORDER BY event_date`,
      f.params,
    );
    const categories = await this.rows(`SELECT DISTINCT category FROM events WHERE category IS NOT NULL ORDER BY category`);
    const revenueExpr = `CAST(coalesce(sum(price) FILTER (WHERE event_type = 'purchase'), 0) AS DECIMAL(18, 2))`;
    const topProducts = await this.rows(
      `SELECT product_id, any_value(category_code) AS category_code, any_value(category) AS category, any_value(sub_category) AS sub_category, any_value(brand) AS brand,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases, ${revenueExpr} AS revenue
      FROM events ${f.where} GROUP BY product_id
      HAVING count(*) FILTER (WHERE event_type = 'purchase') > 0
      ORDER BY purchases DESC, revenue DESC, product_id LIMIT 10`,
      f.params,
    );
    const topBrands = await this.rows(
      `SELECT brand, count(*) FILTER (WHERE event_type = 'purchase') AS purchases, ${revenueExpr} AS revenue
      FROM events ${f.where ? `${f.where} AND` : 'WHERE'} brand IS NOT NULL GROUP BY brand
      HAVING count(*) FILTER (WHERE event_type = 'purchase') > 0
      ORDER BY ${pricesKnown ? 'revenue DESC, purchases DESC' : 'purchases DESC'}, brand LIMIT 10`,
      f.params,
    );
    const rev = (v: Json): number | null => (pricesKnown ? money(v) : null);
    const users = num(k.users);
    return {
      kpis: {
        events: num(k.events),
        users,
        sessions: num(k.sessions),
        views: num(k.views),
        carts: num(k.carts),
        purchases: num(k.purchases),
        buyers: num(k.buyers),
        revenue: rev(k.revenue),
        conversion: users === 0 ? null : num(k.buyers) / users,
        products: num(k.products),
        firstDate: k.first_date ?? null,
        lastDate: k.last_date ?? null,
        days: num(k.days),
      },
      daily: daily.map((d) => ({ ...d, revenue: rev(d.revenue) })),
      categories: categories.map((c) => c.category),
      topProducts: topProducts.map((p) => ({ ...p, revenue: rev(p.revenue) })),
      topBrands: topBrands.map((b) => ({ ...b, revenue: rev(b.revenue) })),
      currency,
      pricesKnown,
    };
  }

  async funnel(q: { category?: string }): Promise<JsonRow> {
    this.need('events');
    const f = this.eventFilter(undefined, undefined, q.category || undefined);
    const stages = await this.rows(
      `WITH s(stage_order, stage) AS (VALUES (1, 'view'), (2, 'cart'), (3, 'purchase'))
      SELECT s.stage, count(DISTINCT e.user_id) AS users, count(DISTINCT e.session_id) AS sessions, count(e.event_type) AS events
      FROM s LEFT JOIN (SELECT * FROM events ${f.where}) e ON e.event_type = s.stage
      GROUP BY s.stage_order, s.stage ORDER BY s.stage_order`,
      f.params,
    );
    const [r] = await this.rows(
      `WITH u AS (
        SELECT user_id, min(event_time) FILTER (WHERE event_type = 'view') AS v, min(event_time) FILTER (WHERE event_type = 'cart') AS c,
          max(event_time) FILTER (WHERE event_type = 'cart') AS last_c, max(event_time) FILTER (WHERE event_type = 'purchase') AS last_p,
          bool_or(event_type = 'purchase') AS p
        FROM events ${f.where} GROUP BY user_id)
      SELECT count(v) AS view_users, count(c) AS cart_users, count(*) FILTER (WHERE p) AS purchase_users,
        count(*) FILTER (WHERE last_p >= c) AS cart_then_purchase_users, count(*) FILTER (WHERE p AND c IS NULL) AS purchase_without_cart_users,
        count(*) FILTER (WHERE last_c >= v) AS view_then_cart_users
      FROM u`,
      f.params,
    );
    const byCategory = this.has('funnel_by_category')
      ? await this.rows(
          `SELECT category, view_users, cart_users, purchase_users, view_to_cart_rate, cart_to_purchase_rate, view_to_purchase_rate
          FROM funnel_by_category ${q.category ? 'WHERE category = ?' : ''} ORDER BY view_users DESC, category LIMIT 100`,
          q.category ? [q.category] : [],
        )
      : [];
    return {
      stages,
      readings: {
        viewUsers: num(r.view_users),
        cartUsers: num(r.cart_users),
        purchaseUsers: num(r.purchase_users),
        cartThenPurchaseUsers: num(r.cart_then_purchase_users),
        purchaseWithoutCartUsers: num(r.purchase_without_cart_users),
        viewThenCartUsers: num(r.view_then_cart_users),
      },
      byCategory,
    };
  }

  private async withPrices<T extends JsonRow>(rows: T[], columns: string[]): Promise<T[]> {
    const { pricesKnown } = await this.runInfo();
    return rows.map((row) => {
      const out: JsonRow = { ...row };
      for (const c of columns) if (c in out) out[c] = pricesKnown ? money(out[c]) : null;
      return out as T;
    });
  }

  async products(q: { q?: string; limit?: number }): Promise<JsonRow> {
    this.need('products');
    const text = (q.q ?? '').trim();
    const limit = intIn(q.limit, 50, 1, 500);
    let where = '';
    const params: DuckDBValue[] = [];
    if (/^\d{1,19}$/.test(text)) {
      where = 'WHERE product_id = TRY_CAST(? AS BIGINT)';
      params.push(text);
    } else if (text) {
      where = `WHERE contains(lower(coalesce(brand, '')), lower(?)) OR contains(lower(coalesce(category, '')), lower(?)) OR contains(lower(coalesce(sub_category, '')), lower(?))`;
      params.push(text, text, text);
    }
    const [t] = await this.rows(`SELECT count(*) AS n FROM products ${where}`, params);
    const products = await this.rows(
      `SELECT product_id, category_code, category, sub_category, brand, price, views, carts, purchases, revenue FROM products ${where}
      ORDER BY purchases DESC, views DESC, product_id LIMIT ${limit}`,
      params,
    );
    return { products: await this.withPrices(products, ['price', 'revenue']), total: num(t.n) };
  }

  async product(productId: string): Promise<JsonRow> {
    this.need('products');
    const [product] = await this.withPrices(
      await this.rows(`SELECT product_id, category_code, category, sub_category, brand, price, views, carts, purchases, revenue, users FROM products WHERE product_id = CAST(? AS BIGINT)`, [productId]),
      ['price', 'revenue'],
    );
    if (!product) throw new ApiError(404, `no product ${productId} in run ${this.run.id}`);
    const boughtTogether = this.has('bought_together')
      ? await this.rows(
          `SELECT b.other_product_id, b.rank, b.support, b.confidence, b.lift, b.baskets, p.brand, p.category_code, p.category, p.sub_category
          FROM bought_together b LEFT JOIN products p ON p.product_id = b.other_product_id
          WHERE b.product_id = CAST(? AS BIGINT) ORDER BY b.rank LIMIT 20`,
          [productId],
        )
      : [];
    const similar = this.has('similar_products')
      ? await this.rows(
          `SELECT s.similar_product_id, s.rank, s.similarity, p.brand, p.category_code, p.category, p.sub_category
          FROM similar_products s LEFT JOIN products p ON p.product_id = s.similar_product_id
          WHERE s.product_id = CAST(? AS BIGINT) ORDER BY s.rank LIMIT 20`,
          [productId],
        )
      : [];
    const daily = this.has('events')
      ? await this.rows(
          `SELECT CAST(event_date AS VARCHAR) AS date, count(*) FILTER (WHERE event_type = 'view') AS views,
            count(*) FILTER (WHERE event_type = 'cart') AS carts, count(*) FILTER (WHERE event_type = 'purchase') AS purchases
          FROM events WHERE product_id = CAST(? AS BIGINT) GROUP BY event_date ORDER BY event_date`,
          [productId],
        )
      : [];
    return { product, boughtTogether, similar, daily };
  }

  async user(userId: string): Promise<JsonRow> {
    this.need('events');
    const { pricesKnown } = await this.runInfo();
    const [t] = await this.rows(
      `SELECT count(*) AS events, count(*) FILTER (WHERE event_type = 'view') AS views, count(*) FILTER (WHERE event_type = 'cart') AS carts,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
        CAST(coalesce(sum(price) FILTER (WHERE event_type = 'purchase'), 0) AS DECIMAL(18, 2)) AS spend,
        count(DISTINCT session_id) AS sessions, min(event_time) AS first_seen, max(event_time) AS last_seen
      FROM events WHERE user_id = CAST(? AS BIGINT)`,
      [userId],
    );
    const hasRecommendations = this.has('user_recommendations') && (await this.rows(`SELECT 1 FROM user_recommendations WHERE user_id = CAST(? AS BIGINT) LIMIT 1`, [userId])).length > 0;
    if (num(t.events) === 0 && !hasRecommendations) throw new ApiError(404, `no user ${userId} in run ${this.run.id}`);
    const history = await this.withPrices(
      await this.rows(
        `SELECT event_time, event_type, product_id, category_code, category, sub_category, brand, price FROM events WHERE user_id = CAST(? AS BIGINT)
        ORDER BY event_time DESC, source_line DESC LIMIT 100`,
        [userId],
      ),
      ['price'],
    );
    const [segment] = this.has('customer_segments')
      ? await this.rows(`SELECT segment_id, segment_name, recency_days, frequency, monetary FROM customer_segments WHERE user_id = CAST(? AS BIGINT)`, [userId])
      : [];
    const recommendations = hasRecommendations ? await this.recommendations(userId) : [];
    const [probability] = this.has('intent_predictions')
      ? await this.rows(
          this.has('session_features')
            ? `SELECT p.session_id, p.probability FROM intent_predictions p LEFT JOIN session_features s USING (session_id)
               WHERE p.user_id = CAST(? AS BIGINT) ORDER BY s.session_start DESC NULLS LAST, p.session_id DESC LIMIT 1`
            : `SELECT session_id, probability FROM intent_predictions WHERE user_id = CAST(? AS BIGINT) ORDER BY session_id DESC LIMIT 1`,
          [userId],
        )
      : [];
    const [forecast] = this.has('customer_spend_forecast')
      ? await this.rows(`SELECT purchase_probability, predicted_spend, horizon_days FROM customer_spend_forecast WHERE user_id = CAST(? AS BIGINT)`, [userId])
      : [];
    return {
      user_id: /^\d+$/.test(userId) && Number.isSafeInteger(Number(userId)) ? Number(userId) : userId,
      totals: {
        events: num(t.events),
        views: num(t.views),
        carts: num(t.carts),
        purchases: num(t.purchases),
        spend: pricesKnown ? money(t.spend) : null,
        sessions: num(t.sessions),
        firstSeen: t.first_seen,
        lastSeen: t.last_seen,
      },
      history,
      segment: segment
        ? { ...segment, label: segmentLabel(String(segment.segment_name)), monetary: pricesKnown ? money(segment.monetary) : null }
        : null,
      recommendations,
      purchaseProbability: probability ?? null,
      forecast: forecast ? { ...forecast, predicted_spend: pricesKnown ? money(forecast.predicted_spend) : null } : null,
    };
  }

  /** The user's recommendations with why: their own most similar product, else a category they viewed, else popularity. */
  private async recommendations(userId: string): Promise<JsonRow[]> {
    const products = this.has('products');
    const similar = this.has('similar_products');
    const noProduct = 'CAST(NULL AS VARCHAR) AS category_code, CAST(NULL AS VARCHAR) AS category, CAST(NULL AS VARCHAR) AS sub_category, CAST(NULL AS VARCHAR) AS brand, CAST(NULL AS DECIMAL(12,2)) AS price';
    const rows = await this.rows(
      `WITH mine AS (
        SELECT product_id, max(CASE event_type WHEN 'purchase' THEN 3 WHEN 'cart' THEN 2 WHEN 'view' THEN 1 ELSE 0 END) AS strongest,
          any_value(category_code) AS category_code, any_value(category) AS category, any_value(sub_category) AS sub_category, any_value(brand) AS brand,
          bool_or(event_type = 'view') AS viewed
        FROM events WHERE user_id = CAST(? AS BIGINT) GROUP BY product_id),
      recs AS (SELECT rank, product_id, score FROM user_recommendations WHERE user_id = CAST(? AS BIGINT)),
      because AS (
        ${similar
          ? `SELECT s.similar_product_id AS rec, arg_max(m.product_id, s.similarity) AS because_id
             FROM similar_products s JOIN mine m ON m.product_id = s.product_id
             WHERE s.similar_product_id IN (SELECT product_id FROM recs) GROUP BY s.similar_product_id`
          : 'SELECT CAST(NULL AS BIGINT) AS rec, CAST(NULL AS BIGINT) AS because_id WHERE false'})
      SELECT r.rank, r.product_id, r.score, ${products ? 'p.category_code, p.category, p.sub_category, p.brand, p.price' : noProduct},
        b.because_id, m.strongest AS because_event, m.category_code AS because_category_code, m.category AS because_category,
        m.sub_category AS because_sub_category, m.brand AS because_brand,
        ${products ? `(SELECT v.category FROM mine v WHERE v.viewed AND v.category = p.category AND v.category <> '(missing)' LIMIT 1)` : 'CAST(NULL AS VARCHAR)'} AS viewed_category
      FROM recs r ${products ? 'LEFT JOIN products p ON p.product_id = r.product_id' : ''}
      LEFT JOIN because b ON b.rec = r.product_id LEFT JOIN mine m ON m.product_id = b.because_id
      ORDER BY r.rank`,
      [userId, userId],
    );
    const verbs: Record<number, string> = { 3: 'bought', 2: 'added to your cart', 1: 'viewed' };
    return (await this.withPrices(rows, ['price'])).map((r) => {
      const { because_id, because_event, because_category_code, because_category, because_sub_category, because_brand, viewed_category, ...rec } = r;
      const why =
        because_id !== null
          ? `Similar to the ${productTitle({ product_id: because_id as number, category_code: because_category_code as string | null, category: because_category as string | null, sub_category: because_sub_category as string | null, brand: because_brand as string | null })} you ${verbs[because_event as number] ?? 'looked at'}`
          : viewed_category !== null
            ? `In ${categoryLabel(viewed_category as string)}, a category you viewed`
            : 'Popular with customers like you';
      return { ...rec, why };
    });
  }

  async intent(): Promise<{ intercept: number; features: { feature: string; position: number; coefficient: number; mean: number; stddev: number; typical: number | null }[] }> {
    this.need('intent_coefficients');
    const rows = await this.rows(`SELECT feature, position, coefficient, mean, stddev FROM intent_coefficients ORDER BY position`);
    const interceptRow = rows.find((r) => r.position === 0 || r.feature === INTERCEPT_FEATURE);
    if (!interceptRow) throw new ApiError(404, `run ${this.run.id} has no fitted intent model (no intercept row)`);
    const features = rows.filter((r) => r !== interceptRow).map((r) => ({
      feature: String(r.feature),
      position: num(r.position),
      coefficient: num(r.coefficient),
      mean: num(r.mean),
      stddev: num(r.stddev),
      typical: null as number | null,
    }));
    if (this.has('session_features') && features.length > 0) {
      const columns = new Set((await this.rows(`SELECT column_name FROM (DESCRIBE session_features)`)).map((r) => r.column_name));
      const usable = features.filter((f) => /^[a-z_][a-z0-9_]*$/.test(f.feature) && columns.has(f.feature));
      if (usable.length > 0) {
        const [m] = await this.rows(`SELECT ${usable.map((f, i) => `CAST(median(CAST("${f.feature}" AS DOUBLE)) AS DOUBLE) AS m${i}`).join(', ')} FROM session_features`);
        usable.forEach((f, i) => (f.typical = typeof m[`m${i}`] === 'number' ? (m[`m${i}`] as number) : null));
      }
    }
    return { intercept: num(interceptRow.coefficient), features };
  }

  /** The purchase probability of a session's features, by the stored model (predictProbability, the stage's own formula). */
  async whatIf(given: Record<string, unknown>): Promise<JsonRow> {
    const model = await this.intent();
    const known = new Set(model.features.map((f) => f.feature));
    for (const [name, value] of Object.entries(given)) {
      if (!known.has(name)) throw new ApiError(400, `unknown feature "${name}"; features: ${[...known].join(', ')}`);
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ApiError(400, `feature "${name}" must be a finite number`);
    }
    const values = model.features.map((f) => (given[f.feature] as number | undefined) ?? f.typical ?? f.mean);
    const stds = Float64Array.from(model.features.map((f) => f.stddev));
    const coefficients = Float64Array.from(model.features.map((f) => f.coefficient));
    const means = Float64Array.from(model.features.map((f) => f.mean));
    const probability = predictProbability({ intercept: model.intercept, coefficients, means, stds, iterations: 0, loss: 0 }, values);
    const contributions = model.features.map((f, i) => {
      const standardized = f.stddev > 0 ? (values[i] - f.mean) / f.stddev : 0;
      return { feature: f.feature, value: values[i], standardized, contribution: f.coefficient * standardized };
    });
    return { probability, linear: model.intercept + contributions.reduce((a, c) => a + c.contribution, 0), contributions };
  }

  async rules(q: { kind?: string; minSupport?: number; minConfidence?: number; minLift?: number; minBaskets?: number; sort?: string; order?: string; limit?: number }): Promise<JsonRow> {
    this.need('association_rules');
    const conds = ['support >= ?', 'confidence >= ?', 'lift >= ?', 'baskets >= ?'];
    const params: DuckDBValue[] = [q.minSupport ?? 0, q.minConfidence ?? 0, q.minLift ?? 0, q.minBaskets ?? 2];
    if (q.kind) (conds.push('basket_kind = ?'), params.push(q.kind));
    const sort = q.sort ?? 'lift';
    if (!['lift', 'confidence', 'support', 'baskets'].includes(sort)) throw new ApiError(400, `sort must be lift, confidence, support or baskets`);
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const where = `WHERE ${conds.join(' AND ')}`;
    const [t] = await this.rows(`SELECT count(*) AS n FROM association_rules ${where}`, params);
    const rules = await this.rows(
      `SELECT basket_kind, antecedent, consequent, support, confidence, lift, baskets FROM association_rules ${where}
      ORDER BY ${sort} ${order}, confidence DESC, baskets DESC, antecedent, consequent LIMIT ${intIn(q.limit, 200, 1, 1000)}`,
      params,
    );
    return { rules, total: num(t.n) };
  }

  async tables(): Promise<JsonRow> {
    const tables: JsonRow[] = [];
    for (const t of this.run.tables) {
      const columns = await this.rows(`SELECT column_name AS name, column_type AS type FROM (DESCRIBE "${t.name}")`);
      const [n] = await this.rows(`SELECT count(*) AS n FROM "${t.name}"`);
      tables.push({ name: t.name, rows: num(n.n), columns, description: tableDescription(t.name) });
    }
    return { tables };
  }

  async rejects(q: { reason?: string; limit?: number; offset?: number }): Promise<JsonRow> {
    if (!this.has('rejects')) return { total: 0, byReason: {}, rows: [] };
    const byReason: Record<string, number> = {};
    for (const r of await this.rows(`SELECT reason, count(*) AS n FROM rejects GROUP BY reason ORDER BY reason`)) byReason[String(r.reason)] = num(r.n);
    const where = q.reason ? 'WHERE reason = ?' : '';
    const params: DuckDBValue[] = q.reason ? [q.reason] : [];
    const [t] = await this.rows(`SELECT count(*) AS n FROM rejects ${where}`, params);
    const rows = await this.rows(
      `SELECT source_file, source_line, reason, detail, raw_line FROM rejects ${where} ORDER BY source_file, source_line LIMIT ${intIn(q.limit, 100, 1, 1000)} OFFSET ${intIn(q.offset, 0, 0, 1e9)}`,
      params,
    );
    return { total: num(t.n), byReason, rows };
  }
}
