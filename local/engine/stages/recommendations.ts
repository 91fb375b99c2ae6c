/**
 * Recommendations stage of the local engine (the twin of recommendations.py):
 * 1. `popular_products` from the shared SQL (the baseline and the API's fallback);
 * 2. evaluation: ALS (local/ml/als.ts) fitted on the events before the last `holdoutDays` dates,
 *    scored against what each user did in the holdout, next to the popularity baseline of the same
 *    period → `model_metrics` (stage = recommendations);
 * 3. serving: ALS fitted again, from scratch, on the interactions of the whole run (holdout days
 *    included; same parameters and seed), exactly as shopsight_jobs/recommendations.py does → `user_recommendations` (top N
 *    among the candidateProducts most popular products of the whole run, users with at least
 *    minUserProducts distinct products in the whole run, products they bought anywhere in the run
 *    left out when excludePurchased) and `similar_products`. So products first seen in the holdout
 *    days are recommended too, and model_metrics describe the method (fitted on the days before the
 *    holdout), not the served model itself: the usual practice. Without a holdout (holdoutDays 0, or
 *    a run of one date) there is only the whole-run fit and no metrics.
 * Users and products cross into JS as dense indices (DuckDB keeps the id maps); ratings as a CSR.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { PipelineParameters } from '../../../core/config/pipeline-params';
import { AlsModel, AlsParams, ratingsFromTriples, recommendForUsers, similarItems, trainImplicitAls } from '../../ml/als';
import { RankingAccumulator, coverage } from '../../ml/metrics';
import { appendNumericRows, createContractTable, createTableFromQuery, fetchColumns, scalar } from '../duck';
import { readSql, readTableSql } from '../sql';
import { MetricRow, writeMetrics } from './metrics-table';

export interface RecommendationsStageResult {
  readonly users: number;
  readonly products: number;
  readonly interactions: number;
  readonly recommendedUsers: number;
  readonly evaluatedUsers: number;
  readonly lossHistory: number[];
}

const weights = (p: PipelineParameters) => ({
  view_weight: p.eventWeights.view,
  cart_weight: p.eventWeights.cart,
  purchase_weight: p.eventWeights.purchase,
});

interface Fitted {
  model: AlsModel;
  users: number;
  items: number;
  /** Per user (dense index): sorted item indices the user bought (the exclusion list), CSR. */
  purchasedPtr: Int32Array;
  purchasedIdx: Int32Array;
  /** Per user: distinct products interacted with. */
  userProducts: Int32Array;
  interactions: number;
}

interface RatingsData {
  users: number;
  items: number;
  u: Int32Array;
  i: Int32Array;
  r: Float32Array;
  purchases: Int32Array;
}

/**
 * Interactions (optionally before a time) → temp tables `_inter_<tag>`, `_u_<tag>` (user_id → u) and
 * `_i_<tag>` (product_id → i, with its weighted popularity).
 */
async function ratingsFor(connection: DuckDBConnection, params: PipelineParameters, tag: string, before: string | null): Promise<RatingsData> {
  await connection.run(`CREATE OR REPLACE TEMP TABLE _inter_${tag} AS ${readSql('recommendations/interactions.sql', { ...weights(params), before })}`);
  await connection.run(`CREATE OR REPLACE TEMP TABLE _u_${tag} AS
    SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS u FROM (SELECT DISTINCT user_id FROM _inter_${tag})`);
  await connection.run(`CREATE OR REPLACE TEMP TABLE _i_${tag} AS
    SELECT product_id, CAST(row_number() OVER (ORDER BY product_id) - 1 AS INTEGER) AS i, score FROM (
      SELECT product_id, SUM(rating) AS score FROM _inter_${tag} GROUP BY product_id)`);
  const items = tag;
  const users = Number(await scalar(connection, `SELECT count(*) FROM _u_${tag}`));
  const itemCount = Number(await scalar(connection, `SELECT count(*) FROM _i_${items}`));
  const { columns } = await fetchColumns(
    connection,
    `SELECT u, i, CAST(rating AS FLOAT), CAST(purchases AS INTEGER) FROM _inter_${tag} JOIN _u_${tag} USING (user_id) JOIN _i_${items} USING (product_id) ORDER BY u, i`,
    ['i32', 'i32', 'f32', 'i32'] as const,
  );
  const [u, i, r, purchases] = columns;
  return { users, items: itemCount, u, i, r, purchases };
}

/** Engine options of the stage that are not pipeline parameters (Spark has no equivalent). */
export interface RecommendationsOptions {
  /** AlsParams.lossTolerance; unset: off. */
  readonly lossTolerance?: number;
  readonly onIteration?: (i: number, loss: number) => void;
}

function alsParams(params: PipelineParameters, options: RecommendationsOptions): AlsParams {
  const r = params.recommendations;
  return { rank: r.rank, regParam: r.regParam, alpha: r.alpha, maxIter: r.maxIter, seed: r.seed, lossTolerance: options.lossTolerance };
}

/** The exclusion lists and per-user product counts of a ratings set, around a model. */
function fitted(model: AlsModel, data: RatingsData): Fitted {
  const { users, u: uCol, i: iCol, purchases } = data;
  const rows = uCol.length;
  const purchasedPtr = new Int32Array(users + 1);
  const userProducts = new Int32Array(users);
  for (let k = 0; k < rows; k++) {
    userProducts[uCol[k]]++;
    if (purchases[k] > 0) purchasedPtr[uCol[k] + 1]++;
  }
  for (let u = 0; u < users; u++) purchasedPtr[u + 1] += purchasedPtr[u];
  const purchasedIdx = new Int32Array(purchasedPtr[users]);
  const fill = purchasedPtr.slice(0, users);
  // Rows are ordered by (u, i), so each user's bought items land sorted ascending.
  for (let k = 0; k < rows; k++) if (purchases[k] > 0) purchasedIdx[fill[uCol[k]]++] = iCol[k];
  return { model, users, items: data.items, purchasedPtr, purchasedIdx, userProducts, interactions: rows };
}

async function fit(connection: DuckDBConnection, params: PipelineParameters, tag: string, before: string | null, options: RecommendationsOptions): Promise<Fitted> {
  const data = await ratingsFor(connection, params, tag, before);
  const model = trainImplicitAls(ratingsFromTriples(data.users, data.items, data.u, data.i, data.r), alsParams(params, options), options.onIteration);
  return fitted(model, data);
}

const excludeOf = (f: Fitted, excludePurchased: boolean) => (u: number): Int32Array | undefined =>
  excludePurchased && f.purchasedPtr[u + 1] > f.purchasedPtr[u] ? f.purchasedIdx.subarray(f.purchasedPtr[u], f.purchasedPtr[u + 1]) : undefined;

/** Dense indices of the `limit` most popular items of a fit (score desc, product id asc), ascending. */
async function candidateItems(connection: DuckDBConnection, tag: string, limit: number): Promise<Int32Array> {
  const { columns } = await fetchColumns(
    connection,
    `SELECT i FROM (SELECT i FROM _i_${tag} ORDER BY score DESC, product_id LIMIT ${limit}) ORDER BY i`,
    ['i32'] as const,
  );
  return columns[0];
}

/** Users (dense indices) with at least `min` distinct products. */
function eligibleUsers(f: Fitted, min: number): Int32Array {
  const out: number[] = [];
  for (let u = 0; u < f.users; u++) if (f.userProducts[u] >= min) out.push(u);
  return Int32Array.from(out);
}

async function evaluate(connection: DuckDBConnection, params: PipelineParameters, train: Fitted, cutoff: string): Promise<{ metrics: MetricRow[]; users: number }> {
  const r = params.recommendations;
  const k = r.evaluationK;
  // Relevant: products a training user touched in the holdout and not before it.
  const { rows, columns } = await fetchColumns(
    connection,
    `SELECT u.u, i.i FROM (SELECT DISTINCT user_id, product_id FROM events
        WHERE event_time >= TIMESTAMP '${cutoff}' AND event_type IN ('view', 'cart', 'purchase')) h
      JOIN _u_eval u USING (user_id) JOIN _i_eval i USING (product_id)
      ANTI JOIN _inter_eval t ON t.user_id = h.user_id AND t.product_id = h.product_id
      ORDER BY u.u, i.i`,
    ['i32', 'i32'] as const,
  );
  const [relU, relI] = columns;
  const relevant = new Map<number, Set<number>>();
  for (let j = 0; j < rows; j++) {
    let set = relevant.get(relU[j]);
    if (!set) relevant.set(relU[j], (set = new Set()));
    set.add(relI[j]);
  }
  const candidates = await candidateItems(connection, 'eval', r.candidateProducts);
  const evalUsers = Int32Array.from([...relevant.keys()].filter((u) => train.userProducts[u] >= r.minUserProducts).sort((a, b) => a - b));
  const exclude = excludeOf(train, r.excludePurchased);

  const als = new RankingAccumulator(k);
  const recommended = new Set<number>();
  recommendForUsers(train.model, evalUsers, k, exclude, (u, items) => {
    als.add(items, relevant.get(u)!);
    for (const i of items) recommended.add(i);
  }, candidates);

  // Popularity baseline: the same candidates in popularity order, minus the user's exclusions.
  const { columns: popular } = await fetchColumns(
    connection,
    `SELECT i FROM _i_eval ORDER BY score DESC, product_id LIMIT ${r.candidateProducts}`,
    ['i32'] as const,
  );
  const baseline = new RankingAccumulator(k);
  const baselineRecommended = new Set<number>();
  for (const u of evalUsers) {
    const skip = exclude(u);
    const list: number[] = [];
    for (let j = 0; j < popular[0].length && list.length < k; j++) {
      const item = popular[0][j];
      if (!skip || !binaryHas(skip, item)) list.push(item);
    }
    baseline.add(Int32Array.from(list), relevant.get(u)!);
    for (const i of list) baselineRecommended.add(i);
  }
  const a = als.result();
  const b = baseline.result();
  const users = evalUsers.length;
  const row = (metric: string, value: number | null, base: number | null, withK = true): MetricRow => ({
    model: 'als', metric, k: withK ? k : null, value, baseline: 'popularity', baselineValue: base, evaluatedOn: users,
  });
  const metrics: MetricRow[] = users === 0 ? [] : [
    row('precision_at_k', a.precisionAtK, b.precisionAtK),
    row('recall_at_k', a.recallAtK, b.recallAtK),
    row('map_at_k', a.mapAtK, b.mapAtK),
    row('ndcg_at_k', a.ndcgAtK, b.ndcgAtK),
    row('catalogue_coverage', coverage(recommended.size, train.items), coverage(baselineRecommended.size, train.items)),
  ];
  return { metrics, users };
}

function binaryHas(sorted: Int32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === value) return true;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export async function runRecommendations(connection: DuckDBConnection, params: PipelineParameters, options: RecommendationsOptions = {}): Promise<RecommendationsStageResult> {
  const r = params.recommendations;
  await createTableFromQuery(connection, 'popular_products', readTableSql('popular_products', weights(params)));

  // Holdout: the last holdoutDays dates of the run, when some training data remains before them.
  let metrics: MetricRow[] = [];
  let evaluatedUsers = 0;
  if (r.holdoutDays > 0) {
    const bounds = (await connection.runAndReadAll(
      `SELECT CAST(min(event_date) AS VARCHAR), CAST(max(event_date) - INTERVAL ${r.holdoutDays - 1} DAY AS DATE) FROM events`,
    )).getRows()[0];
    const first = bounds[0] === null ? null : String(bounds[0]);
    const cutoffDate = bounds[1] === null ? null : String(bounds[1]);
    if (first !== null && cutoffDate !== null && cutoffDate > first) {
      const cutoff = `${cutoffDate} 00:00:00`;
      const train = await fit(connection, params, 'eval', cutoff, options);
      const evaluation = await evaluate(connection, params, train, cutoff);
      metrics = evaluation.metrics;
      evaluatedUsers = evaluation.users;
    }
  }
  await writeMetrics(connection, 'recommendations', metrics);
  // Serving: a fresh fit on the whole run (same parameters and seed), whether or not there was a holdout.
  const full = await fit(connection, params, 'all', null, options);
  const itemsTag = 'all';

  const candidates = await candidateItems(connection, itemsTag, r.candidateProducts);
  const users = eligibleUsers(full, r.minUserProducts);
  await connection.run(`CREATE OR REPLACE TEMP TABLE _recs (u INTEGER, rank INTEGER, i INTEGER, score DOUBLE)`);
  await appendNumericRows(connection, '_recs', ['i32', 'i32', 'i32', 'f64'], (a) => {
    recommendForUsers(full.model, users, r.topN, excludeOf(full, r.excludePurchased), (u, items, scores) => {
      for (let j = 0; j < items.length; j++) {
        a.appendInteger(u);
        a.appendInteger(j + 1);
        a.appendInteger(items[j]);
        a.appendDouble(scores[j]);
        a.endRow();
      }
    }, candidates);
  });
  await createContractTable(connection, 'user_recommendations');
  await connection.run(`INSERT INTO user_recommendations
    SELECT u.user_id, r.rank, i.product_id, r.score FROM _recs r JOIN _u_all u USING (u) JOIN _i_${itemsTag} i USING (i) ORDER BY u.user_id, r.rank`);

  await connection.run(`CREATE OR REPLACE TEMP TABLE _similar (i INTEGER, rank INTEGER, j INTEGER, similarity DOUBLE)`);
  await appendNumericRows(connection, '_similar', ['i32', 'i32', 'i32', 'f64'], (a) => {
    similarItems(full.model, candidates, r.similarProductsPerProduct, (item, similar, similarity) => {
      for (let j = 0; j < similar.length; j++) {
        a.appendInteger(item);
        a.appendInteger(j + 1);
        a.appendInteger(similar[j]);
        a.appendDouble(similarity[j]);
        a.endRow();
      }
    }, candidates);
  });
  await createContractTable(connection, 'similar_products');
  await connection.run(`INSERT INTO similar_products
    SELECT a.product_id, s.rank, b.product_id, s.similarity FROM _similar s JOIN _i_${itemsTag} a ON a.i = s.i JOIN _i_${itemsTag} b ON b.i = s.j
    ORDER BY a.product_id, s.rank`);

  const result: RecommendationsStageResult = {
    users: full.users,
    products: full.items,
    interactions: full.interactions,
    recommendedUsers: users.length,
    evaluatedUsers,
    lossHistory: full.model.lossHistory,
  };
  for (const t of ['_recs', '_similar', '_inter_all', '_u_all', '_i_all', '_inter_eval', '_u_eval', '_i_eval']) await connection.run(`DROP TABLE IF EXISTS ${t}`);
  return result;
}
