/**
 * The recommendations API for the storefront: routes, responses and errors, over any runner of the
 * serving SQL (`Pick<SqlRunner, 'query'>`): the Data API wrapper on Lambda, mysql2 in tests and the
 * bench. index.ts wires it to the Data API.
 *
 * Errors are JSON `{ "error": { "code", "message", "requestId" } }` with API Gateway's request id:
 * 400 invalid_request (the message names the field and why), 404 not_found / route_not_found,
 * 503 database_resuming (the cluster is waking up from 0 ACU; Retry-After) / database_unavailable /
 * model_unavailable (no complete intent_coefficients), 500 internal_error (details only in the log).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { INTENT_FEATURES, INTERCEPT_FEATURE } from '../contract/analytics-tables';
import type { SqlRow, SqlRunner } from '../serving/sql-runner';
import { isResuming } from '../serving/sql-runner';
import { apiQueries } from './queries';
import { routeKey, RouteName } from './routes';
import { parseId, parseLimit, parseSessionFeatures, SessionFeatures, ValidationError } from './validation';

export type ApiEvent = Pick<APIGatewayProxyEventV2, 'routeKey' | 'pathParameters' | 'queryStringParameters' | 'body' | 'isBase64Encoded'> & {
  readonly requestContext: { readonly requestId: string };
};
export type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

export interface RecommendationsApiOptions {
  /** How long a container keeps the intent coefficients (they change once per loaded run). @default 60 000 */
  readonly coefficientsTtlMs?: number;
  readonly now?: () => number;
  /** Where failures are logged (one JSON line each). @default console.error */
  readonly log?: (line: string) => void;
}

/** An error response the handler means to send. */
class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** What went wrong underneath, for the log only. */
    readonly underlying?: unknown,
  ) {
    super(message);
  }
}

/** Numbers as numbers: BIGINT and DECIMAL arrive as text from mysql2 and DECIMAL as text from the Data API. */
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

const productMetadata = (row: SqlRow, prefix = '') => ({
  categoryCode: text(row[`${prefix}category_code`]),
  category: text(row[`${prefix}category`]),
  subCategory: text(row[`${prefix}sub_category`]),
  brand: text(row[`${prefix}brand`]),
  price: num(row[`${prefix}price`]),
});

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC, as DATETIME(6) comes back) to ISO 8601. */
const isoUtc = (v: unknown): string | null => (v === null || v === undefined ? null : `${String(v).replace(' ', 'T')}Z`);

export interface IntentModel {
  readonly intercept: number;
  readonly features: readonly { name: string; coefficient: number; mean: number; stddev: number }[];
}

/** The stored logistic regression, refusing an incomplete one (a run without the purchase-intent stage). */
export function intentModel(rows: readonly SqlRow[]): IntentModel {
  const byName = new Map(rows.map((r) => [String(r.feature), r]));
  const intercept = byName.get(INTERCEPT_FEATURE);
  const missing = [INTERCEPT_FEATURE, ...INTENT_FEATURES].filter((f) => !byName.has(f));
  if (!intercept || missing.length > 0) {
    throw new ApiError(503, 'model_unavailable', `The purchase-intent model is not loaded (intent_coefficients lacks ${missing.join(', ')})`);
  }
  return {
    intercept: Number(intercept.coefficient),
    features: INTENT_FEATURES.map((name) => {
      const r = byName.get(name)!;
      return { name, coefficient: Number(r.coefficient), mean: Number(r.mean), stddev: Number(r.stddev) };
    }),
  };
}

/** p = 1 / (1 + exp(-(b0 + Σ coefficient × (x − mean) / stddev))); a feature of stddev 0 contributes nothing. */
export function scoreSession(model: IntentModel, features: SessionFeatures): { logit: number; probability: number } {
  let logit = model.intercept;
  for (const f of model.features) {
    if (f.stddev !== 0) logit += (f.coefficient * (features[f.name as keyof SessionFeatures] - f.mean)) / f.stddev;
  }
  // exp of a large positive argument overflows to Infinity, which still gives 0; written out to stay exact near ±∞.
  const probability = logit >= 0 ? 1 / (1 + Math.exp(-logit)) : Math.exp(logit) / (1 + Math.exp(logit));
  return { logit, probability };
}

export type ApiHandler = (event: ApiEvent) => Promise<ApiResult>;

export function createRecommendationsApi(db: Pick<SqlRunner, 'query'>, options: RecommendationsApiOptions = {}): ApiHandler {
  const ttl = options.coefficientsTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => console.error(line));
  let model: { value: Promise<IntentModel>; expires: number } | undefined;

  /** One load per container and TTL; concurrent requests share it, a failed load is not kept. */
  const currentModel = (): Promise<IntentModel> => {
    if (!model || now() >= model.expires) {
      const value = db.query(apiQueries.intentCoefficients()).then(intentModel);
      const entry = { value, expires: now() + ttl };
      model = entry;
      value.catch(() => {
        if (model === entry) model = undefined;
      });
    }
    return model.value;
  };

  const routes: Record<RouteName, (event: ApiEvent) => Promise<unknown>> = {
    async userRecommendations(event) {
      const userId = parseId('userId', event.pathParameters?.userId);
      const limit = parseLimit(event.queryStringParameters?.limit);
      const rows = await db.query(apiQueries.userRecommendations(userId, limit));
      return {
        userId,
        // No rows at all: an empty popular_products too; still the fallback's answer.
        source: rows.length > 0 ? String(rows[0].source) : 'popular',
        items: rows.map((r) => ({ rank: num(r.rank), productId: text(r.product_id), score: num(r.score), ...productMetadata(r) })),
      };
    },

    async boughtTogether(event) {
      const productId = parseId('productId', event.pathParameters?.productId);
      const limit = parseLimit(event.queryStringParameters?.limit);
      const rows = await db.query(apiQueries.boughtTogether(productId, limit));
      if (rows.length === 0) throw new ApiError(404, 'not_found', `Product ${productId} is not in the served products`);
      return {
        productId,
        product: productMetadata(rows[0]),
        items: rows
          .filter((r) => r.rank !== null && r.rank !== undefined)
          .map((r) => ({
            rank: num(r.rank),
            productId: text(r.other_product_id),
            support: num(r.support),
            confidence: num(r.confidence),
            lift: num(r.lift),
            baskets: num(r.baskets),
            ...productMetadata(r, 'other_'),
          })),
      };
    },

    async userSegment(event) {
      const userId = parseId('userId', event.pathParameters?.userId);
      const [r] = await db.query(apiQueries.userSegment(userId));
      if (!r) throw new ApiError(404, 'not_found', `User ${userId} has no segment in the served run`);
      return {
        userId,
        segment: {
          id: num(r.segment_id),
          name: text(r.segment_name),
          customers: num(r.customers),
          share: num(r.share),
          revenueShare: num(r.revenue_share),
          averages: {
            recencyDays: num(r.avg_recency_days),
            frequency: num(r.avg_frequency),
            monetary: num(r.avg_monetary),
            views: num(r.avg_views),
            carts: num(r.avg_carts),
            purchases: num(r.avg_purchases),
            sessions: num(r.avg_sessions),
          },
        },
        behaviour: {
          recencyDays: num(r.recency_days),
          frequency: num(r.frequency),
          monetary: num(r.monetary),
          views: num(r.views),
          carts: num(r.carts),
          purchases: num(r.purchases),
          sessions: num(r.sessions),
          cartToViewRate: num(r.cart_to_view_rate),
          purchaseToCartRate: num(r.purchase_to_cart_rate),
        },
      };
    },

    async userForecast(event) {
      const userId = parseId('userId', event.pathParameters?.userId);
      const [r] = await db.query(apiQueries.userForecast(userId));
      if (!r) {
        // The table is empty when the run spans under four days (docs/spend-forecast.md), so say which case it is.
        throw new ApiError(404, 'not_found', `User ${userId} has no spend forecast in the served run (a user without events in it, or a run of under four days, which forecasts nobody)`);
      }
      return {
        userId,
        purchaseProbability: num(r.purchase_probability),
        spendIfPurchase: num(r.spend_if_purchase),
        predictedSpend: num(r.predicted_spend),
        baselineSpend: num(r.baseline_spend),
        horizonDays: num(r.horizon_days),
        forecastStart: text(r.forecast_start),
      };
    },

    async scoreSession(event) {
      const features = parseSessionFeatures(event.body, event.isBase64Encoded);
      return scoreSession(await currentModel(), features);
    },

    async health() {
      let rows: SqlRow[];
      try {
        rows = await db.query(apiQueries.servedRun());
      } catch (e) {
        if (isResuming(e)) throw e;
        throw new ApiError(503, 'database_unavailable', 'The serving database did not answer the health query', {}, e);
      }
      const run = rows[0];
      return { status: 'ok', database: 'reachable', servedRun: run ? { runId: text(run.run_id), loadedAt: isoUtc(run.finished_at) } : null };
    },
  };
  const byRouteKey = new Map((Object.keys(routes) as RouteName[]).map((name) => [routeKey(name), routes[name]]));

  return async (event) => {
    const requestId = event.requestContext.requestId;
    try {
      const route = byRouteKey.get(event.routeKey);
      if (!route) throw new ApiError(404, 'route_not_found', `No route ${event.routeKey}`);
      return json(200, await route(event));
    } catch (e) {
      const error =
        e instanceof ValidationError
          ? new ApiError(400, 'invalid_request', e.message)
          : e instanceof ApiError
            ? e
            : isResuming(e)
              ? new ApiError(503, 'database_resuming', 'The serving database is resuming from pause; retry in about 30 seconds', { 'retry-after': '30' })
              : new ApiError(500, 'internal_error', 'Internal error; quote the request id when reporting it');
      if (error.statusCode >= 500) {
        const cause = e instanceof ApiError && e.underlying !== undefined ? e.underlying : e;
        log(JSON.stringify({ level: 'error', requestId, routeKey: event.routeKey, code: error.code, error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) }));
      }
      return json(error.statusCode, { error: { code: error.code, message: error.message, requestId } }, error.headers);
    }
  };
}

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}
