/**
 * The tables after the seven schemas: product metadata and the insights (prepare stage), then the
 * models' tables (association rules, recommendations, purchase intent, segments, spend forecast) and their metrics.
 * Every one is computed from the curated `events` of one run; the shared SQL that builds the
 * relational ones is in core/sql/<stage>/ (prepare/insights/ for the insights); each table's `sql` names its file.
 *
 * Conventions: rates are DOUBLE fractions in [0, 1] (null where the denominator is 0); money is
 * DECIMAL(18,2); every ranking breaks ties by the id ascending so that Spark and DuckDB agree.
 */
import { BIGINT, col, DATE, DAY_OF_WEEK_DESCRIPTION, DOUBLE, INT, MISSING_LABEL, MONEY, PRICE, str, TIMESTAMP } from './columns';
import { ColumnDef, OutputTableDef } from './types';

/** Rows kept by the ranked "top" tables. */
export const TOP_CUSTOMERS_LIMIT = 100;
/** Products kept in the popularity ranking (the API's fallback and the ALS baseline). */
export const POPULAR_PRODUCTS_LIMIT = 1000;

/** Item separator inside `association_rules.antecedent` (items sorted ascending as text). */
export const ANTECEDENT_SEPARATOR = ' & ';

/** Basket kinds of the association rules. */
export const BASKET_KINDS = ['sub_category', 'product'] as const;

/** Name of the intercept row of `intent_coefficients`. */
export const INTERCEPT_FEATURE = '(intercept)';

/**
 * The purchase-intent features, in model order: the columns of `session_features` that the logistic
 * regression uses. Computed only from a session's events before its first purchase.
 */
export const INTENT_FEATURES = [
  'views',
  'carts',
  'remove_from_carts',
  'distinct_products',
  'distinct_categories',
  'duration_seconds',
  'start_hour',
  'day_of_week',
  'avg_view_price',
  'max_view_price',
  'min_view_price',
  'cart_value',
] as const;

/** Segment names given from the centroids (see the segments stage); each segment gets one. */
export const SEGMENT_NAMES = ['frequent_buyers', 'regular_buyers', 'cart_abandoners', 'window_shoppers', 'lapsed_visitors', 'one_time_visitors'] as const;

const MODEL_METRICS_STAGES = ['recommendations', 'purchase-intent', 'segments', 'spend-forecast'] as const;

/**
 * The customer-spend model's inputs, in model order (docs/spend-forecast.md): columns of
 * spend-forecast/spend_features.sql, each taken as ln(1 + x) when listed in SPEND_LOG_FEATURES, then
 * standardised with the training population's mean and sample standard deviation. Shares of the
 * history and rates per horizon, so that their scale does not grow from one cutoff to the next.
 */
export const SPEND_FEATURES = [
  'recency_share',
  'purchase_recency_share',
  'tenure_share',
  'spend_rate',
  'recent_monetary',
  'purchase_rate',
  'view_rate',
  'cart_rate',
  'session_rate',
  'categories',
  'recent_events',
] as const;

/** The SPEND_FEATURES that enter the model as ln(1 + x) (heavy-tailed counts and sums). */
export const SPEND_LOG_FEATURES: readonly (typeof SPEND_FEATURES)[number][] = [
  'spend_rate',
  'recent_monetary',
  'purchase_rate',
  'view_rate',
  'cart_rate',
  'session_rate',
  'categories',
  'recent_events',
];

/** Two-sided level of revenue_forecast's interval, and its normal quantile (z of 0.95). */
export const REVENUE_INTERVAL_LEVEL = 0.9;
export const REVENUE_INTERVAL_Z = 1.6448536269514722;

const rate = (name: string, description: string): ColumnDef => col(name, DOUBLE, `${description} Null when the denominator is 0.`, true);

// ---------------------------------------------------------------------------------------------
// Prepare: product metadata and the insight tables.
// ---------------------------------------------------------------------------------------------

const PRODUCTS: OutputTableDef = {
  name: 'products',
  layer: 'insight',
  producedBy: 'prepare',
  sql: 'prepare/insights/products.sql',
  description:
    'Every product seen in the run with its category, brand and last price, and its activity: the metadata that BI and the API join to. "Latest" = the last event by event_time, then source_line, then the larger value itself (never by source file, so both engines agree on the same input).',
  columns: [
    col('product_id', BIGINT, 'Product id.'),
    col('category_id', BIGINT, 'Category id of the product\'s latest event (null when unknown).', true),
    col('category_code', str(255), 'Category path of the latest event with one (null when never known).', true),
    col('category', str(128), 'Top-level category of that path (null when unknown).', true),
    col('sub_category', str(255), 'Rest of that path after the first dot (null when unknown or a single segment).', true),
    col('brand', str(128), 'Brand of the latest event with one (null when never known).', true),
    col('price', PRICE, 'Price of the latest event with a price (null when the dataset has none).', true),
    col('views', BIGINT, 'View events.'),
    col('carts', BIGINT, 'Cart events.'),
    col('purchases', BIGINT, 'Purchase events.'),
    col('revenue', MONEY, 'Sum of price over the purchase events (0 without prices).'),
    col('users', BIGINT, 'Distinct users with any event on the product.'),
  ],
  partitionKeys: [],
  primaryKey: ['product_id'],
  served: true,
  excludes: 'Nothing: every product with an accepted event has a row; missing metadata stays null.',
};

const INSIGHT_TABLES: readonly OutputTableDef[] = [
  {
    name: 'daily_kpis',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/daily_kpis.sql',
    description: 'Revenue, users and funnel counts per date: the dashboard\'s daily line.',
    columns: [
      col('event_date', DATE, 'UTC date.'),
      col('users', BIGINT, 'Distinct users with any event.'),
      col('sessions', BIGINT, 'Distinct sessions with any event.'),
      col('views', BIGINT, 'View events.'),
      col('carts', BIGINT, 'Cart events.'),
      col('purchases', BIGINT, 'Purchase events.'),
      col('buyers', BIGINT, 'Distinct users with a purchase.'),
      col('revenue', MONEY, 'Sum of price over purchases (0 without prices).'),
      rate('conversion_rate', 'buyers / users.'),
      rate('revenue_per_buyer', 'revenue / buyers.'),
    ],
    partitionKeys: [],
    primaryKey: ['event_date'],
    served: true,
    excludes: 'Nothing: every event counts; dates without events have no row.',
  },
  {
    name: 'revenue_by_weekday',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/revenue_by_weekday.sql',
    description: 'Revenue and purchases per ISO weekday, with the number of such days in the run for a per-day average.',
    columns: [
      col('day_of_week', INT, DAY_OF_WEEK_DESCRIPTION),
      col('day_name', str(9), 'English day name, Monday … Sunday.'),
      col('days', BIGINT, 'Distinct dates of this weekday that have any event.'),
      col('purchases', BIGINT, 'Purchase events.'),
      col('buyers', BIGINT, 'Distinct users with a purchase on this weekday.'),
      col('revenue', MONEY, 'Sum of price over purchases.'),
      col('avg_daily_revenue', DOUBLE, 'revenue / days.'),
    ],
    partitionKeys: [],
    primaryKey: ['day_of_week'],
    served: true,
    excludes: 'Weekdays without any event have no row.',
  },
  {
    name: 'activity_by_hour',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/activity_by_hour.sql',
    description: 'Activity per UTC hour of the day, all dates of the run together.',
    columns: [
      col('event_hour', INT, 'Hour of the UTC event time, 0–23.'),
      col('views', BIGINT, 'View events.'),
      col('carts', BIGINT, 'Cart events.'),
      col('purchases', BIGINT, 'Purchase events.'),
      col('users', BIGINT, 'Distinct users active in that hour (any date).'),
      col('revenue', MONEY, 'Sum of price over purchases.'),
    ],
    partitionKeys: [],
    primaryKey: ['event_hour'],
    served: true,
    excludes: 'Hours without any event have no row.',
  },
  {
    name: 'top_brands',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/top_brands.sql',
    description: 'Every brand with a purchase, ranked by revenue and by purchases.',
    columns: [
      col('brand', str(128), 'Brand.'),
      col('purchases', BIGINT, 'Purchase events.'),
      col('buyers', BIGINT, 'Distinct buyers.'),
      col('revenue', MONEY, 'Sum of price over purchases.'),
      col('revenue_rank', INT, 'Rank by revenue descending (1 = highest), ties by brand.'),
      col('purchases_rank', INT, 'Rank by purchases descending, ties by brand.'),
    ],
    partitionKeys: [],
    primaryKey: ['brand'],
    served: true,
    excludes: 'Purchases without a brand are left out (they are in purchase_c_s_b under "(missing)"); brands never bought have no row.',
  },
  {
    name: 'top_customers',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/top_customers.sql',
    description: `The ${TOP_CUSTOMERS_LIMIT} customers with the highest spend (then most purchases, then lowest user id).`,
    columns: [
      col('spend_rank', INT, 'Rank, 1 = highest spend.'),
      col('user_id', BIGINT, 'Customer id.'),
      col('purchases', BIGINT, 'Purchase events.'),
      col('distinct_products', BIGINT, 'Distinct products bought.'),
      col('spend', MONEY, 'Sum of price over purchases.'),
      col('first_purchase_time', TIMESTAMP, 'First purchase (UTC).'),
      col('last_purchase_time', TIMESTAMP, 'Last purchase (UTC).'),
    ],
    partitionKeys: [],
    primaryKey: ['user_id'],
    served: true,
    excludes: `Only users with a purchase; only the top ${TOP_CUSTOMERS_LIMIT}.`,
  },
  {
    name: 'funnel',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/funnel.sql',
    description: 'The view → cart → purchase funnel over the whole run: users and sessions reaching each stage.',
    columns: [
      col('stage_order', INT, '1 = view, 2 = cart, 3 = purchase.'),
      col('stage', str(16), 'view, cart or purchase.'),
      col('users', BIGINT, 'Distinct users with an event of this stage.'),
      col('sessions', BIGINT, 'Distinct sessions with an event of this stage.'),
      col('events', BIGINT, 'Events of this stage.'),
      rate('users_from_view_rate', 'users / users of the view stage.'),
      rate('users_from_previous_rate', 'users / users of the previous stage (1 for the view stage).'),
    ],
    partitionKeys: [],
    primaryKey: ['stage'],
    served: true,
    excludes: 'remove_from_cart events are not a stage. A stage counts a user whatever the order of their events.',
  },
  {
    name: 'funnel_by_category',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/funnel_by_category.sql',
    description: 'The funnel per top-level category: users and events per stage and the stage-to-stage rates.',
    columns: [
      col('category', str(128), `Top-level category, or "${MISSING_LABEL}".`),
      col('view_users', BIGINT, 'Distinct users who viewed a product of the category.'),
      col('cart_users', BIGINT, 'Distinct users who carted one.'),
      col('purchase_users', BIGINT, 'Distinct users who bought one.'),
      col('views', BIGINT, 'View events.'),
      col('carts', BIGINT, 'Cart events.'),
      col('purchases', BIGINT, 'Purchase events.'),
      rate('view_to_cart_rate', 'cart_users / view_users.'),
      rate('cart_to_purchase_rate', 'purchase_users / cart_users.'),
      rate('view_to_purchase_rate', 'purchase_users / view_users.'),
    ],
    partitionKeys: [],
    primaryKey: ['category'],
    served: true,
    excludes: `Events without a category are grouped under "${MISSING_LABEL}"; remove_from_cart events are not counted.`,
  },
  {
    name: 'cart_abandonment',
    layer: 'insight',
    producedBy: 'prepare',
    sql: 'prepare/insights/cart_abandonment.sql',
    description: 'Sessions that put something in the cart, per date of their first cart event: how many ended without a purchase, and the value left behind.',
    columns: [
      col('event_date', DATE, 'UTC date of the session\'s first cart event.'),
      col('cart_sessions', BIGINT, 'Sessions with at least one cart event.'),
      col('converted_sessions', BIGINT, 'Of those, sessions with a purchase.'),
      col('abandoned_sessions', BIGINT, 'Of those, sessions without a purchase.'),
      rate('abandonment_rate', 'abandoned_sessions / cart_sessions.'),
      col('abandoned_cart_events', BIGINT, 'Cart events in the abandoned sessions.'),
      col('abandoned_value', MONEY, 'Sum of price over the cart events of the abandoned sessions (0 without prices).'),
    ],
    partitionKeys: [],
    primaryKey: ['event_date'],
    served: true,
    excludes: 'Sessions without a cart event are not counted.',
  },
];

// ---------------------------------------------------------------------------------------------
// Association rules (FP-Growth).
// ---------------------------------------------------------------------------------------------

const RULE_TABLES: readonly OutputTableDef[] = [
  {
    name: 'association_rules',
    layer: 'model',
    producedBy: 'association-rules',
    sql: null,
    description:
      'Association rules from FP-Growth: antecedent → consequent with support, confidence and lift. Two basket kinds: sub_category (the sub-categories a user bought on one date, as the original Apriori) and product (the products bought in one session).',
    columns: [
      col('basket_kind', str(16), `${BASKET_KINDS.join(' or ')}.`),
      col('antecedent', str(497), `Items of the left-hand side, sorted as text, joined by "${ANTECEDENT_SEPARATOR}". 497 characters keep Aurora's key (16 + 497 + 255 characters of utf8mb4) within InnoDB's 3072 bytes.`),
      col('antecedent_size', INT, 'Number of items in the antecedent.'),
      col('consequent', str(255), 'The one item of the right-hand side.'),
      col('support', DOUBLE, 'Baskets containing antecedent and consequent / all baskets of the kind.'),
      col('confidence', DOUBLE, 'support(antecedent ∪ consequent) / support(antecedent).'),
      col('lift', DOUBLE, 'confidence / support(consequent).'),
      col('baskets', BIGINT, 'Baskets containing antecedent and consequent.'),
    ],
    partitionKeys: [],
    primaryKey: ['basket_kind', 'antecedent', 'consequent'],
    served: true,
    excludes:
      'Only purchase events make baskets. Purchases without a sub_category are left out of sub_category baskets; baskets of one item count in the denominators but give no rule.',
  },
  {
    name: 'bought_together',
    layer: 'model',
    producedBy: 'association-rules',
    sql: null,
    description: 'For each product, the products most often bought in the same session: the product rules with one-item antecedents, best confidence first.',
    columns: [
      col('product_id', BIGINT, 'The product (the rule\'s antecedent).'),
      col('rank', INT, '1 = highest confidence, then highest lift, then lowest other_product_id.'),
      col('other_product_id', BIGINT, 'A product bought with it (the rule\'s consequent).'),
      col('support', DOUBLE, 'Rule support.'),
      col('confidence', DOUBLE, 'Rule confidence.'),
      col('lift', DOUBLE, 'Rule lift.'),
      col('baskets', BIGINT, 'Sessions that bought both.'),
    ],
    partitionKeys: [],
    primaryKey: ['product_id', 'rank'],
    served: true,
    excludes: 'Products without a rule at the minimum support and confidence have no row.',
  },
];

// ---------------------------------------------------------------------------------------------
// Recommendations (ALS, implicit feedback) and the metrics of every model.
// ---------------------------------------------------------------------------------------------

const RECOMMENDATION_TABLES: readonly OutputTableDef[] = [
  {
    name: 'user_recommendations',
    layer: 'model',
    producedBy: 'recommendations',
    sql: null,
    description:
      'Top-N products per user from ALS with implicit feedback (confidence 1 + alpha × weighted events), fitted on the whole run, holdout days included (a separate fit on the days before the holdout, same parameters and seed, only gives model_metrics); already purchased products left out when configured.',
    columns: [
      col('user_id', BIGINT, 'User id.'),
      col('rank', INT, '1 = best.'),
      col('product_id', BIGINT, 'Recommended product.'),
      col('score', DOUBLE, 'Predicted preference (user factor · product factor).'),
    ],
    partitionKeys: [],
    primaryKey: ['user_id', 'rank'],
    served: true,
    excludes: 'Users with fewer distinct products in the whole run than recommendations.minUserProducts get no row (the API falls back to popular_products); only the recommendations.candidateProducts most popular products of the whole run are recommended (products first seen in the holdout days included); with recommendations.excludePurchased, products the user bought anywhere in the run are left out.',
  },
  {
    name: 'similar_products',
    layer: 'model',
    producedBy: 'recommendations',
    sql: null,
    description: 'For each product, the products whose ALS factors are closest (cosine similarity).',
    columns: [
      col('product_id', BIGINT, 'The product.'),
      col('rank', INT, '1 = most similar.'),
      col('similar_product_id', BIGINT, 'A similar product.'),
      col('similarity', DOUBLE, 'Cosine similarity of the two factor vectors, in [-1, 1].'),
    ],
    partitionKeys: [],
    primaryKey: ['product_id', 'rank'],
    served: true,
    excludes: 'Only the recommendations.candidateProducts most popular products have rows, with neighbours among the same products.',
  },
  {
    name: 'popular_products',
    layer: 'model',
    producedBy: 'recommendations',
    sql: 'recommendations/popular_products.sql',
    description: `The ${POPULAR_PRODUCTS_LIMIT} most popular products by weighted events (the popularity baseline and the API's fallback for users without recommendations).`,
    columns: [
      col('rank', INT, '1 = most popular; ties by product_id.'),
      col('product_id', BIGINT, 'Product id.'),
      col('score', DOUBLE, 'Sum of event weights (view, cart, purchase weights of the parameters).'),
      col('users', BIGINT, 'Distinct users with an event on it.'),
      col('purchases', BIGINT, 'Purchase events.'),
    ],
    partitionKeys: [],
    primaryKey: ['rank'],
    served: true,
    excludes: 'remove_from_cart events have no weight.',
  },
  {
    name: 'model_metrics',
    layer: 'model',
    producedBy: MODEL_METRICS_STAGES,
    sql: null,
    description:
      'Quality of every model next to its baseline: ALS against popularity on the time-based holdout (precision@k, recall@k, MAP@k, NDCG@k, coverage), logistic regression against the majority class on the held-out sessions (AUC, accuracy, precision, recall), k-means (within-cluster sum of squares, silhouette), the customer-spend model against the customer\'s own past spend rate and against the overall mean on a time holdout (MAE, RMSE, Spearman, spender AUC; the overall mean has rows of its own as model overall_mean), the daily revenue model against the seasonal-naive forecast on the last days (MAE, RMSE, interval coverage). Each stage writes its own stage= partition.',
    columns: [
      col('model', str(64), 'als, logistic_regression, kmeans, two_part_glm, overall_mean, ols_trend_weekday.'),
      col('metric', str(64), 'Metric name, e.g. precision_at_k, auc, wssse.'),
      col('k', INT, 'The k of @k metrics; null otherwise.', true),
      col('value', DOUBLE, 'The model\'s value (null when undefined, e.g. AUC with one class).', true),
      col('baseline', str(64), 'Baseline compared with (popularity, majority_class, past_spend_rate, seasonal_naive), or null.', true),
      col('baseline_value', DOUBLE, 'The baseline\'s value, or null.', true),
      col('evaluated_on', BIGINT, 'Users, sessions, customers or days the metric was computed on.'),
    ],
    partitionKeys: [{ ...col('stage', str(32), 'Stage that wrote the rows: recommendations, purchase-intent, segments or spend-forecast.'), enumValues: MODEL_METRICS_STAGES }],
    primaryKey: ['stage', 'model', 'metric'],
    served: true,
    excludes: 'Not applicable.',
  },
];

// ---------------------------------------------------------------------------------------------
// Purchase intent (logistic regression) and customer segments (k-means).
// ---------------------------------------------------------------------------------------------

const featureColumns: ColumnDef[] = [
  col('views', BIGINT, 'View events before the first purchase.'),
  col('carts', BIGINT, 'Cart events before the first purchase.'),
  col('remove_from_carts', BIGINT, 'remove_from_cart events before the first purchase.'),
  col('distinct_products', BIGINT, 'Distinct products in those events.'),
  col('distinct_categories', BIGINT, 'Distinct known top-level categories in those events.'),
  col('duration_seconds', DOUBLE, 'Seconds from the session\'s first event to its last event before the first purchase.'),
  col('start_hour', INT, 'UTC hour of the session\'s first event.'),
  col('day_of_week', INT, `${DAY_OF_WEEK_DESCRIPTION} Of the session's first event.`),
  col('avg_view_price', DOUBLE, 'Average price of the viewed products (0 when none has a price).'),
  col('max_view_price', DOUBLE, 'Highest viewed price (0 when none).'),
  col('min_view_price', DOUBLE, 'Lowest viewed price (0 when none).'),
  col('cart_value', DOUBLE, 'Sum of price over cart events (0 when none).'),
];

const INTENT_TABLES: readonly OutputTableDef[] = [
  {
    name: 'session_features',
    layer: 'model',
    producedBy: 'purchase-intent',
    sql: 'purchase-intent/session_features.sql',
    description:
      'One row per session: the purchase-intent features, computed only from the events before the session\'s first purchase (no label leakage), and the label.',
    columns: [
      col('session_id', str(64), 'Session id.'),
      col('user_id', BIGINT, 'User of the session (the first event\'s).'),
      col('session_start', TIMESTAMP, 'First event of the session (UTC).'),
      ...featureColumns,
      col('label', INT, '1 when the session has a purchase, else 0.'),
    ],
    partitionKeys: [],
    primaryKey: ['session_id'],
    served: false,
    excludes: 'Sessions that start with a purchase have all-zero counts (nothing happened before it); they are kept.',
  },
  {
    name: 'intent_predictions',
    layer: 'model',
    producedBy: 'purchase-intent',
    sql: null,
    description: 'Purchase probability of every session from the logistic regression, with the split it was in.',
    columns: [
      col('session_id', str(64), 'Session id.'),
      col('user_id', BIGINT, 'User of the session.'),
      col('probability', DOUBLE, 'Predicted probability that the session purchases.'),
      col('predicted', INT, '1 when probability ≥ the threshold parameter.'),
      col('label', INT, '1 when the session has a purchase.'),
      col('split', str(8), 'train or test (a seeded hash of the session id against trainFraction).'),
    ],
    partitionKeys: [],
    primaryKey: ['session_id'],
    served: true,
    excludes: 'Nothing: every session has a row.',
  },
  {
    name: 'intent_coefficients',
    layer: 'model',
    producedBy: 'purchase-intent',
    sql: null,
    description: `The fitted logistic regression, so that a session can be scored without Spark: p = 1 / (1 + exp(-(b0 + Σ coefficient × (x - mean) / stddev))) over the features, with b0 the coefficient of the "${INTERCEPT_FEATURE}" row and a feature of stddev 0 contributing nothing.`,
    columns: [
      col('feature', str(64), `A session_features column, or "${INTERCEPT_FEATURE}".`),
      col('position', INT, 'Order in the model (0 = intercept).'),
      col('coefficient', DOUBLE, 'Weight on the standardised feature.'),
      col('mean', DOUBLE, 'Training mean of the feature (0 for the intercept).'),
      col('stddev', DOUBLE, 'Training standard deviation of the feature (1 for the intercept).'),
    ],
    partitionKeys: [],
    primaryKey: ['feature'],
    served: true,
    excludes: 'Not applicable.',
  },
  {
    name: 'customer_segments',
    layer: 'model',
    producedBy: 'segments',
    sql: null,
    description: 'Each user\'s behaviour (recency, frequency, monetary value, funnel ratios, sessions) and the k-means segment it falls in.',
    columns: [
      col('user_id', BIGINT, 'User id.'),
      col('segment_id', INT, 'k-means cluster, 0 … k-1.'),
      col('segment_name', str(64), `Name given from the centroid: one of ${SEGMENT_NAMES.join(', ')} (suffixed _2, _3 … when two clusters get the same name).`),
      col('recency_days', DOUBLE, 'Days from the user\'s last event to the last event of the run.'),
      col('frequency', BIGINT, 'Sessions with a purchase.'),
      col('monetary', MONEY, 'Sum of price over purchases (0 without prices).'),
      col('views', BIGINT, 'View events.'),
      col('carts', BIGINT, 'Cart events.'),
      col('purchases', BIGINT, 'Purchase events.'),
      col('sessions', BIGINT, 'Distinct sessions.'),
      rate('cart_to_view_rate', 'carts / views.'),
      rate('purchase_to_cart_rate', 'purchases / carts.'),
    ],
    partitionKeys: [],
    primaryKey: ['user_id'],
    served: true,
    excludes: 'Nothing: every user with an accepted event has a row.',
  },
  {
    name: 'segment_profiles',
    layer: 'model',
    producedBy: 'segments',
    sql: null,
    description: 'One row per segment: its size and the average behaviour of its customers (the centroid in original units).',
    columns: [
      col('segment_id', INT, 'k-means cluster.'),
      col('segment_name', str(64), 'Name given from the centroid.'),
      col('customers', BIGINT, 'Users in the segment.'),
      col('share', DOUBLE, 'customers / all users.'),
      col('avg_recency_days', DOUBLE, 'Average recency_days.'),
      col('avg_frequency', DOUBLE, 'Average frequency.'),
      col('avg_monetary', DOUBLE, 'Average monetary.'),
      col('avg_views', DOUBLE, 'Average views.'),
      col('avg_carts', DOUBLE, 'Average carts.'),
      col('avg_purchases', DOUBLE, 'Average purchases.'),
      col('avg_sessions', DOUBLE, 'Average sessions.'),
      col('revenue_share', DOUBLE, 'Segment monetary / all monetary (0 when the run has no revenue).'),
    ],
    partitionKeys: [],
    primaryKey: ['segment_id'],
    served: true,
    excludes: 'Not applicable.',
  },
];

// ---------------------------------------------------------------------------------------------
// Spend forecast (two-part GLM per customer; daily revenue with trend and weekday seasonality).
// The method, its windows and its fallbacks: docs/spend-forecast.md.
// ---------------------------------------------------------------------------------------------

const FORECAST_TABLES: readonly OutputTableDef[] = [
  {
    name: 'customer_spend_forecast',
    layer: 'model',
    producedBy: 'spend-forecast',
    sql: null,
    description:
      'Each customer\'s expected spend in the horizon after the run\'s last event: the probability of a purchase (logistic GLM) times the spend given a purchase (gamma GLM, log link), both fitted on the run\'s last horizon_days with features from before them.',
    columns: [
      col('user_id', BIGINT, 'User id.'),
      col('purchase_probability', DOUBLE, 'Probability of at least one purchase in the horizon.'),
      col('spend_if_purchase', DOUBLE, 'Expected spend given a purchase (0 when the run has no prices).'),
      col('predicted_spend', DOUBLE, 'purchase_probability × spend_if_purchase: the expected spend in the horizon.'),
      col('baseline_spend', DOUBLE, 'The customer\'s own past spend rate over the horizon: spend so far / days of the run so far × horizon_days.'),
      col('horizon_days', INT, 'Days the forecast covers: the forecastHorizonDays parameter, or a quarter of the run\'s span in days when that is shorter.'),
      col('forecast_start', DATE, 'First day of the horizon: the day after the run\'s last event date.'),
    ],
    partitionKeys: [],
    primaryKey: ['user_id'],
    served: true,
    excludes: 'Runs spanning under four days have no horizon: the table is empty. Otherwise every user with an accepted event has a row.',
  },
  {
    name: 'revenue_forecast',
    layer: 'model',
    producedBy: 'spend-forecast',
    sql: null,
    description: `Daily revenue for the days after the run's last event: least squares on a trend and ISO weekday effects over the run's daily revenue, with a ${REVENUE_INTERVAL_LEVEL * 100}% prediction interval.`,
    columns: [
      col('forecast_date', DATE, 'Forecast day.'),
      col('day_of_week', INT, 'ISO day of week of forecast_date: 1 = Monday … 7 = Sunday.'),
      col('predicted_revenue', DOUBLE, 'Expected revenue (never below 0).'),
      col('lower', DOUBLE, `Lower end of the ${REVENUE_INTERVAL_LEVEL * 100}% prediction interval (never below 0).`),
      col('upper', DOUBLE, `Upper end of the ${REVENUE_INTERVAL_LEVEL * 100}% prediction interval (never below 0).`),
    ],
    partitionKeys: [],
    primaryKey: ['forecast_date'],
    served: true,
    excludes: 'Dates of the run without events are not in the fit (they are missing, not zero). A run without events has no rows.',
  },
];

export const ANALYTICS_TABLES: readonly OutputTableDef[] = [
  PRODUCTS,
  ...INSIGHT_TABLES,
  ...RULE_TABLES,
  ...RECOMMENDATION_TABLES,
  ...INTENT_TABLES,
  ...FORECAST_TABLES,
];

/** The insight tables (prepare stage, after the seven schemas), products first. */
export const INSIGHT_TABLE_NAMES = [PRODUCTS, ...INSIGHT_TABLES].map((t) => t.name);
