/**
 * Reads what the run report shows from a local run folder: the run summary and, from the Parquet
 * tables, small aggregates and top-N slices only (DuckDB in memory, `read_parquet` over each table's
 * folder). No table is ever read whole into JS: the events table only gives counts.
 *
 * A table that is missing (no Parquet file under `DIR/<table>/`) is reported as not produced, one
 * that has files but no rows as empty; neither is an error, so a run whose later stages failed still
 * gets a report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FileRowCounts, OUTPUT_TABLES, RowCounts, RunSummary, SCHEMA_TABLE_NAMES } from '../../core/contract';
import type { FunnelCounts, ProductLike } from '../present';

/** One value as DuckDB's JSON rendering gives it: BIGINT and DECIMAL as strings, DATE as 'YYYY-MM-DD'. */
export type Cell = string | number | boolean | null;
export type Row = Readonly<Record<string, Cell>>;

/** A slice of one table: whether the run produced it, its total row count and the rows shown. */
export interface TableSlice {
  readonly table: string;
  /** False when the run folder has no Parquet file for the table. */
  readonly present: boolean;
  /** Rows in the whole table (0 when absent). */
  readonly total: number;
  readonly rows: readonly Row[];
}

/** Run-wide figures computed from the events table. */
export interface Kpis {
  readonly events: number;
  readonly users: number;
  readonly sessions: number;
  readonly views: number;
  readonly carts: number;
  readonly purchases: number;
  readonly buyers: number;
  /** Sum of price over purchases, as DuckDB's exact decimal text (e.g. "1234.50"). */
  readonly revenue: string;
  /** buyers / users; null when there are no users. */
  readonly conversion: number | null;
  readonly products: number;
  readonly firstDate: string | null;
  readonly lastDate: string | null;
  readonly days: number;
}

/** One stage of the run summary, with the optional status fields a producer may add. */
export interface StageTiming {
  readonly name: string;
  readonly seconds: number;
  /** Rows the stage handled, when the summary says. */
  readonly rows?: number;
  readonly status?: string;
  readonly error?: string;
}

/** The run summary as read: the contract's RunSummary and the optional fields the report shows. */
export interface ReportSummary {
  readonly runId: string;
  readonly dataset: RunSummary['dataset'] | string;
  readonly files: readonly FileRowCounts[];
  readonly totals: RowCounts;
  readonly stages: readonly StageTiming[];
  /** ISO time the run (or its summary) was produced: `createdAt` (the contract's), else `generatedAt`, `finishedAt` or `startedAt`. */
  readonly generatedAt: string | null;
  /** "spark" or "local" when the summary says. */
  readonly engine: string | null;
}

export interface Recommendation {
  readonly userId: string;
  /** Recommendations of the user in the table (all ranks). */
  readonly total: number;
  readonly rows: readonly Row[];
}

export interface ReportData {
  readonly dir: string;
  /** Null when run-summary.json is missing or unreadable; `summaryProblem` says why. */
  readonly summary: ReportSummary | null;
  readonly summaryProblem: string | null;
  /** Null when the events table is absent. */
  readonly kpis: Kpis | null;
  readonly funnel: TableSlice;
  readonly funnelByCategory: TableSlice;
  readonly dailyKpis: TableSlice;
  readonly activityByHour: TableSlice;
  readonly revenueByWeekday: TableSlice;
  readonly topBrandsByRevenue: TableSlice;
  readonly topBrandsByPurchases: TableSlice;
  readonly topCustomers: TableSlice;
  readonly cartAbandonment: TableSlice;
  /** The seven schema tables, in the contract's order, capped at SCHEMA_ROWS_SHOWN rows each. */
  readonly schemas: readonly TableSlice[];
  /**
   * Top rules for each basket kind (rows carry basket_kind): rules from at least MIN_RULE_BASKETS
   * baskets first, each group by lift; `total` is all rules, `singleBasket` those from fewer baskets.
   */
  readonly rulesByKind: Readonly<Record<string, TableSlice & { readonly singleBasket?: number }>>;
  readonly boughtTogether: TableSlice;
  /** Present/total describe user_recommendations; `users` the sample users' lists. */
  readonly recommendations: TableSlice & { readonly users: readonly Recommendation[]; readonly usersWithRecommendations: number };
  readonly popularProducts: TableSlice;
  readonly modelMetrics: TableSlice;
  readonly segmentProfiles: TableSlice;
  /** The daily revenue forecast, every row, by date. */
  readonly revenueForecast: TableSlice;
  /** The top TOP_N customers by predicted spend; `total` is every customer with a forecast. */
  readonly spendForecast: TableSlice;
  /** Sums over the whole customer_spend_forecast (customers, expected spend and buyers, baseline, horizon); null when absent or empty. */
  readonly spendForecastTotals: Row | null;
  /** A sample of rejected rows; `total` is all rejects. */
  readonly rejects: TableSlice;
  /** User counts behind the two funnel readings, from the events (null without events). */
  readonly funnelCounts: FunnelCounts | null;
  /** The same per top-level category (most viewers first, TOP_N), with `category` ("(missing)" when unknown). */
  readonly funnelCountsByCategory: readonly (FunnelCounts & { readonly category: string })[];
  /** The contract tables the run folder has (Parquet files present), in the contract's order. */
  readonly producedTables: readonly string[];
  /** Category, brand and code of every product id the report names (rules, bought together, recommendations). */
  readonly productInfo: Readonly<Record<string, ProductLike>>;
}

export const SCHEMA_ROWS_SHOWN = 60;
export const TOP_N = 20;
export const RULES_SHOWN = 25;
/** Rules (and bought-together pairs) seen in fewer baskets than this are anecdotes: ranked after the others. */
export const MIN_RULE_BASKETS = 2;
export const SAMPLE_USERS = 5;
export const RECOMMENDATIONS_PER_USER = 10;
export const REJECTS_SHOWN = 20;
/** Days drawn at most in the daily charts (a year and a bit). */
export const MAX_DAYS = 400;

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function hasParquet(folder: string): boolean {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) return false;
  const entries = fs.readdirSync(folder, { recursive: true, encoding: 'utf8' });
  return entries.some((e) => e.endsWith('.parquet'));
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

const num = (v: Cell | undefined): number => (v === null || v === undefined ? 0 : Number(v));

class Reader {
  constructor(
    private readonly connection: DuckDBConnection,
    private readonly dir: string,
  ) {}

  present(table: string): boolean {
    return hasParquet(path.join(this.dir, table));
  }

  /** `read_parquet(...)` over a table's folder, Hive partitions as columns. */
  source(table: string): string {
    const glob = `${this.dir.replace(/\\/g, '/')}/${table}/**/*.parquet`;
    return `read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true)`;
  }

  async rows(sql: string): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJson().map((r) => {
      const row: Record<string, Cell> = {};
      for (const [k, v] of Object.entries(r)) row[k] = toCell(v);
      return row;
    });
  }

  async count(table: string, where = ''): Promise<number> {
    const r = await this.rows(`SELECT count(*) AS n FROM ${this.source(table)} ${where}`);
    return num(r[0]?.n);
  }

  /** A slice: `query` gets the table's source expression and returns the rows to show. */
  async slice(table: string, query: (src: string) => string): Promise<TableSlice> {
    if (!this.present(table)) return { table, present: false, total: 0, rows: [] };
    const total = await this.count(table);
    const rows = total === 0 ? [] : await this.rows(query(this.source(table)));
    return { table, present: true, total, rows };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asNumber = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v ?? 0) || 0);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function readCounts(v: unknown): RowCounts {
  const o = isRecord(v) ? v : {};
  const byReason: Record<string, number> = {};
  if (isRecord(o.rejectedByReason)) for (const [k, n] of Object.entries(o.rejectedByReason)) byReason[k] = asNumber(n);
  return {
    rowsRead: asNumber(o.rowsRead),
    accepted: asNumber(o.accepted),
    rejected: asNumber(o.rejected),
    rejectedByReason: byReason,
    duplicatesRemoved: asNumber(o.duplicatesRemoved),
  };
}

/** Reads run-summary.json leniently: the report shows what is there rather than failing. */
export function readRunSummary(dir: string): { summary: ReportSummary | null; problem: string | null } {
  const file = path.join(dir, 'run-summary.json');
  if (!fs.existsSync(file)) return { summary: null, problem: `run-summary.json not found in ${dir}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return { summary: null, problem: `run-summary.json is not valid JSON: ${(e as Error).message}` };
  }
  if (!isRecord(parsed)) return { summary: null, problem: 'run-summary.json is not a JSON object' };
  const files: FileRowCounts[] = Array.isArray(parsed.files)
    ? parsed.files.map((f) => ({ ...readCounts(f), source: (isRecord(f) && asString(f.source)) || '(unknown file)' }))
    : [];
  const stages: StageTiming[] = Array.isArray(parsed.stages)
    ? parsed.stages.filter(isRecord).map((s) => ({
        name: asString(s.name) ?? '(unnamed)',
        seconds: asNumber(s.seconds),
        ...(typeof s.rows === 'number' ? { rows: s.rows } : {}),
        ...(asString(s.status) !== undefined ? { status: asString(s.status) } : {}),
        ...(asString(s.error) !== undefined ? { error: asString(s.error) } : {}),
      }))
    : [];
  const generatedAt =
    asString(parsed.createdAt) ?? asString(parsed.generatedAt) ?? asString(parsed.finishedAt) ?? asString(parsed.startedAt) ?? null;
  return {
    summary: {
      runId: asString(parsed.runId) ?? '(unknown run)',
      dataset: asString(parsed.dataset) ?? '(unknown dataset)',
      files,
      totals: readCounts(parsed.totals),
      stages,
      generatedAt,
      engine: asString(parsed.engine) ?? null,
    },
    problem: null,
  };
}

/**
 * The users behind both funnel readings, overall or per top-level category (TOP_N, most viewers
 * first): who viewed, carted, bought; who carted at or after a view; who bought at or after a cart;
 * who bought with no cart event at all (REES46 has such purchases).
 */
async function loadFunnelCounts(r: Reader, byCategory: boolean): Promise<(FunnelCounts & { category: string })[]> {
  const key = byCategory ? `coalesce(category, '(missing)')` : `'(all)'`;
  const rows = await r.rows(`
    WITH u AS (
      SELECT ${key} AS category, user_id,
        min(event_time) FILTER (WHERE event_type = 'view') AS first_view,
        min(event_time) FILTER (WHERE event_type = 'cart') AS first_cart,
        max(event_time) FILTER (WHERE event_type = 'cart') AS last_cart,
        max(event_time) FILTER (WHERE event_type = 'purchase') AS last_purchase
      FROM ${r.source('events')} WHERE event_type IN ('view', 'cart', 'purchase') GROUP BY 1, 2)
    SELECT category,
      count(*) FILTER (WHERE first_view IS NOT NULL) AS view_users,
      count(*) FILTER (WHERE first_cart IS NOT NULL) AS cart_users,
      count(*) FILTER (WHERE last_purchase IS NOT NULL) AS purchase_users,
      count(*) FILTER (WHERE first_view IS NOT NULL AND last_cart >= first_view) AS view_then_cart_users,
      count(*) FILTER (WHERE first_cart IS NOT NULL AND last_purchase >= first_cart) AS cart_then_purchase_users,
      count(*) FILTER (WHERE last_purchase IS NOT NULL AND first_cart IS NULL) AS purchase_without_cart_users
    FROM u GROUP BY category ORDER BY view_users DESC, category LIMIT ${TOP_N}`);
  return rows.map((x) => ({
    category: String(x.category),
    viewUsers: num(x.view_users),
    cartUsers: num(x.cart_users),
    purchaseUsers: num(x.purchase_users),
    viewThenCartUsers: num(x.view_then_cart_users),
    cartThenPurchaseUsers: num(x.cart_then_purchase_users),
    purchaseWithoutCartUsers: num(x.purchase_without_cart_users),
  }));
}

async function loadKpis(r: Reader): Promise<Kpis | null> {
  if (!r.present('events')) return null;
  const [k] = await r.rows(`
    SELECT count(*) AS events,
      count(DISTINCT user_id) AS users,
      count(DISTINCT session_id) AS sessions,
      count(*) FILTER (WHERE event_type = 'view') AS views,
      count(*) FILTER (WHERE event_type = 'cart') AS carts,
      count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
      count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase') AS buyers,
      CAST(coalesce(sum(price) FILTER (WHERE event_type = 'purchase'), 0) AS DECIMAL(18, 2)) AS revenue,
      count(DISTINCT product_id) AS products,
      CAST(min(CAST(event_time AS DATE)) AS VARCHAR) AS first_date,
      CAST(max(CAST(event_time AS DATE)) AS VARCHAR) AS last_date,
      count(DISTINCT CAST(event_time AS DATE)) AS days
    FROM ${r.source('events')}`);
  const users = num(k.users);
  const buyers = num(k.buyers);
  return {
    events: num(k.events),
    users,
    sessions: num(k.sessions),
    views: num(k.views),
    carts: num(k.carts),
    purchases: num(k.purchases),
    buyers,
    revenue: String(k.revenue ?? '0.00'),
    conversion: users === 0 ? null : buyers / users,
    products: num(k.products),
    firstDate: k.first_date === null ? null : String(k.first_date),
    lastDate: k.last_date === null ? null : String(k.last_date),
    days: num(k.days),
  };
}

const SCHEMA_ORDER: Readonly<Record<string, string>> = {
  c_date: 'event_date',
  v_date: 'event_date',
  purch_date: 'event_date',
  userid_date: 'event_date',
  customer_count_purchase: 'spend DESC, purchases DESC, user_id',
  purchase_c_s_b: 'revenue DESC, purchases DESC, category, sub_category, brand',
  p_v_c_day: 'day_of_week',
};

/** Columns of `products` joined to a product id for display. */
const PRODUCT_COLUMNS = 'p.category_code, p.brand, p.price';

export async function loadReportData(dir: string): Promise<ReportData> {
  const root = path.resolve(dir);
  const { summary, problem } = readRunSummary(root);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const r = new Reader(connection, root);
    const hasProducts = r.present('products');
    /** LEFT JOIN products on `<alias>.<idColumn>`, or typed nulls when the run has no products table. */
    const productJoin = (idColumn: string): { cols: string; join: string } =>
      hasProducts
        ? { cols: PRODUCT_COLUMNS, join: `LEFT JOIN ${r.source('products')} p ON p.product_id = ${idColumn}` }
        : { cols: 'CAST(NULL AS VARCHAR) AS category_code, CAST(NULL AS VARCHAR) AS brand, CAST(NULL AS DECIMAL(12,2)) AS price', join: '' };

    const kpis = await loadKpis(r);
    const funnel = await r.slice('funnel', (s) => `SELECT * FROM ${s} ORDER BY stage_order`);
    const funnelByCategory = await r.slice(
      'funnel_by_category',
      (s) => `SELECT * FROM ${s} ORDER BY view_users DESC, category LIMIT ${TOP_N}`,
    );
    const dailyKpis = await r.slice('daily_kpis', (s) => `SELECT * FROM ${s} ORDER BY event_date LIMIT ${MAX_DAYS}`);
    const activityByHour = await r.slice('activity_by_hour', (s) => `SELECT * FROM ${s} ORDER BY event_hour`);
    const revenueByWeekday = await r.slice('revenue_by_weekday', (s) => `SELECT * FROM ${s} ORDER BY day_of_week`);
    const topBrandsByRevenue = await r.slice('top_brands', (s) => `SELECT * FROM ${s} ORDER BY revenue_rank, brand LIMIT ${TOP_N}`);
    const topBrandsByPurchases = await r.slice('top_brands', (s) => `SELECT * FROM ${s} ORDER BY purchases_rank, brand LIMIT ${TOP_N}`);
    const topCustomers = await r.slice('top_customers', (s) => `SELECT * FROM ${s} ORDER BY spend_rank, user_id LIMIT ${TOP_N}`);
    const cartAbandonment = await r.slice('cart_abandonment', (s) => `SELECT * FROM ${s} ORDER BY event_date LIMIT ${MAX_DAYS}`);

    const schemas: TableSlice[] = [];
    for (const table of SCHEMA_TABLE_NAMES) {
      schemas.push(
        await r.slice(table, (s) => `SELECT * FROM ${s} ORDER BY ${SCHEMA_ORDER[table] ?? '1'} LIMIT ${SCHEMA_ROWS_SHOWN}`),
      );
    }

    const rulesByKind: Record<string, TableSlice & { singleBasket?: number }> = {};
    for (const kind of ['sub_category', 'product']) {
      const present = r.present('association_rules');
      if (!present) {
        rulesByKind[kind] = { table: 'association_rules', present, total: 0, rows: [] };
        continue;
      }
      const total = await r.count('association_rules', `WHERE basket_kind = ${sqlString(kind)}`);
      const rows =
        total === 0
          ? []
          : await r.rows(`SELECT * FROM ${r.source('association_rules')} WHERE basket_kind = ${sqlString(kind)}
                          ORDER BY (baskets >= ${MIN_RULE_BASKETS}) DESC, lift DESC, confidence DESC, baskets DESC, antecedent, consequent LIMIT ${RULES_SHOWN}`);
      const [w] = await r.rows(`SELECT count(*) AS n FROM ${r.source('association_rules')} WHERE basket_kind = ${sqlString(kind)} AND baskets < ${MIN_RULE_BASKETS}`);
      rulesByKind[kind] = { table: 'association_rules', present, total, rows, singleBasket: num(w?.n) };
    }

    const bt = productJoin('b.other_product_id');
    const boughtTogether = await r.slice(
      'bought_together',
      (s) => `SELECT b.product_id, b.rank, b.other_product_id, ${bt.cols}, b.confidence, b.lift, b.baskets
              FROM ${s} b ${bt.join}
              WHERE b.rank <= 3
              ORDER BY (b.baskets >= ${MIN_RULE_BASKETS}) DESC, b.confidence DESC, b.lift DESC, b.baskets DESC, b.product_id, b.rank LIMIT ${TOP_N}`,
    );

    const recSlice = await r.slice('user_recommendations', () => 'SELECT 1 WHERE false');
    const users: Recommendation[] = [];
    let usersWithRecommendations = 0;
    if (recSlice.present && recSlice.total > 0) {
      const src = r.source('user_recommendations');
      usersWithRecommendations = num((await r.rows(`SELECT count(DISTINCT user_id) AS n FROM ${src}`))[0]?.n);
      // Sample users: the best customers that have recommendations, then the lowest user ids.
      const topCustomers = r.present('top_customers')
        ? `LEFT JOIN (SELECT user_id, spend_rank FROM ${r.source('top_customers')}) t USING (user_id)`
        : 'LEFT JOIN (SELECT CAST(NULL AS BIGINT) AS user_id, CAST(NULL AS INTEGER) AS spend_rank) t USING (user_id)';
      const sample = await r.rows(`
        SELECT user_id, count(*) AS n
        FROM ${src} u ${topCustomers}
        GROUP BY user_id, spend_rank ORDER BY spend_rank NULLS LAST, user_id LIMIT ${SAMPLE_USERS}`);
      const pj = productJoin('u.product_id');
      for (const s of sample) {
        const userId = String(s.user_id);
        const rows = await r.rows(`
          SELECT u.rank, u.product_id, ${pj.cols}, u.score
          FROM ${src} u ${pj.join}
          WHERE u.user_id = CAST(${sqlString(userId)} AS BIGINT)
          ORDER BY u.rank LIMIT ${RECOMMENDATIONS_PER_USER}`);
        users.push({ userId, total: num(s.n), rows });
      }
    }
    const recommendations = { ...recSlice, users, usersWithRecommendations };

    const pp = productJoin('x.product_id');
    const popularProducts = await r.slice(
      'popular_products',
      (s) => `SELECT x.rank, x.product_id, ${pp.cols}, x.score, x.users, x.purchases FROM ${s} x ${pp.join} ORDER BY x.rank LIMIT 10`,
    );
    const modelMetrics = await r.slice('model_metrics', (s) => `SELECT * FROM ${s} ORDER BY stage, model, metric, k NULLS FIRST`);
    const segmentProfiles = await r.slice('segment_profiles', (s) => `SELECT * FROM ${s} ORDER BY segment_id`);
    const revenueForecast = await r.slice('revenue_forecast', (s) => `SELECT * FROM ${s} ORDER BY forecast_date LIMIT ${MAX_DAYS}`);
    const spendForecast = await r.slice(
      'customer_spend_forecast',
      (s) => `SELECT * FROM ${s} ORDER BY predicted_spend DESC, user_id LIMIT ${TOP_N}`,
    );
    const spendForecastTotals =
      spendForecast.total === 0
        ? null
        : (await r.rows(`SELECT count(*) AS customers, sum(predicted_spend) AS predicted_spend, sum(purchase_probability) AS expected_buyers,
                           sum(baseline_spend) AS baseline_spend, max(horizon_days) AS horizon_days, CAST(max(forecast_start) AS VARCHAR) AS forecast_start
                         FROM ${r.source('customer_spend_forecast')}`))[0];
    const rejects = await r.slice(
      'rejects',
      (s) => `SELECT reason, source_file, source_line, detail, raw_line FROM ${s} ORDER BY source_file, source_line LIMIT ${REJECTS_SHOWN}`,
    );

    const funnelCounts = r.present('events') ? (await loadFunnelCounts(r, false))[0] ?? null : null;
    const funnelCountsByCategory = r.present('events') ? await loadFunnelCounts(r, true) : [];

    // Product metadata for every product id named by the rules, bought-together pairs and recommendations.
    const ids = new Set<string>();
    for (const r0 of rulesByKind.product?.rows ?? []) {
      for (const item of String(r0.antecedent ?? '').split(' & ')) ids.add(item);
      ids.add(String(r0.consequent));
    }
    for (const r0 of boughtTogether.rows) ids.add(String(r0.product_id));
    const productInfo: Record<string, ProductLike> = {};
    const numeric = [...ids].filter((i) => /^\d{1,19}$/.test(i));
    if (hasProducts && numeric.length > 0) {
      const found = await r.rows(`SELECT CAST(product_id AS VARCHAR) AS product_id, category_code, category, sub_category, brand
        FROM ${r.source('products')} WHERE product_id IN (${numeric.map((i) => `CAST(${sqlString(i)} AS BIGINT)`).join(', ')})`);
      for (const f of found) {
        productInfo[String(f.product_id)] = {
          product_id: String(f.product_id),
          category_code: f.category_code === null ? null : String(f.category_code),
          category: f.category === null ? null : String(f.category),
          sub_category: f.sub_category === null ? null : String(f.sub_category),
          brand: f.brand === null ? null : String(f.brand),
        };
      }
    }
    const producedTables = OUTPUT_TABLES.map((t) => t.name).filter((t) => r.present(t));

    return {
      dir: root,
      summary,
      summaryProblem: problem,
      kpis,
      funnel,
      funnelByCategory,
      dailyKpis,
      activityByHour,
      revenueByWeekday,
      topBrandsByRevenue,
      topBrandsByPurchases,
      topCustomers,
      cartAbandonment,
      schemas,
      rulesByKind,
      boughtTogether,
      recommendations,
      popularProducts,
      modelMetrics,
      segmentProfiles,
      revenueForecast,
      spendForecast,
      spendForecastTotals,
      rejects,
      funnelCounts,
      funnelCountsByCategory,
      producedTables,
      productInfo,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
