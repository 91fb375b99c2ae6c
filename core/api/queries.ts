/**
 * Every SQL statement of the recommendations API, used as-is by the Lambda (through the Data API
 * wrapper, lambdas/shared/data-api.ts) and by the tests and the bench (through mysql2), so what is
 * tested is what runs on Aurora.
 *
 * Values are always bound (`:name`). Ids are bound as strings and converted in SQL with
 * `CAST(:id AS SIGNED)`: the Data API's longValue is a JavaScript number, exact only up to 2^53,
 * and comparing a BIGINT column with a string would compare as doubles; CAST gives an exact
 * BIGINT = BIGINT comparison that uses the primary key. Ids come back as text (`CAST(… AS CHAR)`)
 * for the same reason. Limits use the contiguous ranks (`rank <= :limit`) instead of a LIMIT
 * placeholder: a range on the primary key, and nothing engine-specific about binding in LIMIT.
 */
import type { SqlStatement } from '../serving/sql-runner';

/** Product metadata columns of `products` under alias `p`, named for the response. */
const productColumns = (alias: string, prefix = ''): string =>
  ['category_code', 'category', 'sub_category', 'brand', 'price'].map((c) => `${alias}.\`${c}\` AS \`${prefix}${c}\``).join(', ');

export const USER_RECOMMENDATIONS_SQL = `SELECT 'als' AS \`source\`, r.\`rank\`, CAST(r.\`product_id\` AS CHAR) AS \`product_id\`, r.\`score\`, ${productColumns('p')}
FROM \`user_recommendations\` r
LEFT JOIN \`products\` p ON p.\`product_id\` = r.\`product_id\`
WHERE r.\`user_id\` = CAST(:userId AS SIGNED) AND r.\`rank\` <= :limit
UNION ALL
SELECT 'popular' AS \`source\`, pp.\`rank\`, CAST(pp.\`product_id\` AS CHAR) AS \`product_id\`, pp.\`score\`, ${productColumns('p')}
FROM \`popular_products\` pp
LEFT JOIN \`products\` p ON p.\`product_id\` = pp.\`product_id\`
WHERE pp.\`rank\` <= :limit
  AND NOT EXISTS (SELECT 1 FROM \`user_recommendations\` u WHERE u.\`user_id\` = CAST(:userId AS SIGNED))
ORDER BY \`rank\``;

export const BOUGHT_TOGETHER_SQL = `SELECT CAST(p.\`product_id\` AS CHAR) AS \`product_id\`, ${productColumns('p')},
  b.\`rank\`, CAST(b.\`other_product_id\` AS CHAR) AS \`other_product_id\`, b.\`support\`, b.\`confidence\`, b.\`lift\`, b.\`baskets\`,
  ${productColumns('o', 'other_')}
FROM \`products\` p
LEFT JOIN \`bought_together\` b ON b.\`product_id\` = p.\`product_id\` AND b.\`rank\` <= :limit
LEFT JOIN \`products\` o ON o.\`product_id\` = b.\`other_product_id\`
WHERE p.\`product_id\` = CAST(:productId AS SIGNED)
ORDER BY b.\`rank\``;

export const USER_SEGMENT_SQL = `SELECT CAST(s.\`user_id\` AS CHAR) AS \`user_id\`, s.\`segment_id\`, s.\`segment_name\`, s.\`recency_days\`, s.\`frequency\`,
  s.\`monetary\`, s.\`views\`, s.\`carts\`, s.\`purchases\`, s.\`sessions\`, s.\`cart_to_view_rate\`, s.\`purchase_to_cart_rate\`,
  sp.\`customers\`, sp.\`share\`, sp.\`avg_recency_days\`, sp.\`avg_frequency\`, sp.\`avg_monetary\`, sp.\`avg_views\`,
  sp.\`avg_carts\`, sp.\`avg_purchases\`, sp.\`avg_sessions\`, sp.\`revenue_share\`
FROM \`customer_segments\` s
LEFT JOIN \`segment_profiles\` sp ON sp.\`segment_id\` = s.\`segment_id\`
WHERE s.\`user_id\` = CAST(:userId AS SIGNED)`;

export const USER_FORECAST_SQL = `SELECT CAST(f.\`user_id\` AS CHAR) AS \`user_id\`, f.\`purchase_probability\`, f.\`spend_if_purchase\`,
  f.\`predicted_spend\`, f.\`baseline_spend\`, f.\`horizon_days\`, CAST(f.\`forecast_start\` AS CHAR) AS \`forecast_start\`
FROM \`customer_spend_forecast\` f
WHERE f.\`user_id\` = CAST(:userId AS SIGNED)`;

export const INTENT_COEFFICIENTS_SQL = `SELECT \`feature\`, \`position\`, \`coefficient\`, \`mean\`, \`stddev\`
FROM \`intent_coefficients\`
ORDER BY \`position\``;

export const SERVED_RUN_SQL = `SELECT \`run_id\`, \`finished_at\`
FROM \`load_runs\`
WHERE \`status\` = :status
ORDER BY \`finished_at\` DESC, \`run_id\` DESC
LIMIT 1`;

export const apiQueries = {
  /** ALS rows for the user, or — only when the user has none — the popular products, best first. */
  userRecommendations: (userId: string, limit: number): SqlStatement => ({ sql: USER_RECOMMENDATIONS_SQL, parameters: { userId, limit } }),
  /** The product's own row (none: unknown product) with its bought-together rows, if any. */
  boughtTogether: (productId: string, limit: number): SqlStatement => ({ sql: BOUGHT_TOGETHER_SQL, parameters: { productId, limit } }),
  userSegment: (userId: string): SqlStatement => ({ sql: USER_SEGMENT_SQL, parameters: { userId } }),
  /** The user's spend forecast (forecast_start as YYYY-MM-DD text, the same from mysql2 and the Data API). */
  userForecast: (userId: string): SqlStatement => ({ sql: USER_FORECAST_SQL, parameters: { userId } }),
  intentCoefficients: (): SqlStatement => ({ sql: INTENT_COEFFICIENTS_SQL, parameters: {} }),
  /** The run the served tables come from: the last one the loader swapped in. */
  servedRun: (): SqlStatement => ({ sql: SERVED_RUN_SQL, parameters: { status: 'loaded' } }),
};
