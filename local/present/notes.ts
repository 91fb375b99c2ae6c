/**
 * Plain-language explanations: one line for every table a run writes (the contract's OUTPUT_TABLES,
 * core/contract), and a note for every section of the report and page of the app. Written for a
 * shop's analyst, not for the engineer: what the thing tells you, in words, and what to beware of.
 */

/** One line per output table: what it tells you. Keyed by table name; covers every contract table. */
export const TABLE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  events: 'Every event that was read and kept (views, carts, purchases), cleaned up and in one shape for both datasets.',
  rejects: 'Input rows that could not be used, with the reason, the file and line they came from, and the text as read.',
  c_date: 'For each day: how many add-to-cart events there were and how many people added something to a cart.',
  v_date: 'For each day: how many product views there were and how many people viewed.',
  purch_date: 'For each day: how many products were bought, by how many people, and the revenue.',
  userid_date: 'For each day: how many people, sessions and events there were.',
  customer_count_purchase: 'For each customer who bought: how many purchases, how much they spent, and when they first and last bought.',
  purchase_c_s_b: 'Purchases and revenue for each category, sub-category and brand combination.',
  p_v_c_day: 'Views, carts and purchases for each day of the week, all weeks together.',
  products: 'Every product seen, with its category, brand, latest price and how often it was viewed, carted and bought.',
  daily_kpis: 'The day-by-day headline figures: people, sessions, views, carts, purchases, buyers, revenue and conversion.',
  revenue_by_weekday: 'Revenue and purchases for each day of the week, with the average per such day.',
  activity_by_hour: 'Views, carts, purchases and people for each hour of the day (UTC), all dates together.',
  top_brands: 'Brands that sold anything, ranked by revenue and by number of purchases.',
  top_customers: 'The 100 customers who spent the most.',
  funnel: 'How many people viewed, put something in the cart and bought over the whole period.',
  funnel_by_category: 'The same view → cart → purchase counts for each top-level category.',
  cart_abandonment: 'For each day: sessions that put something in the cart, how many left without buying, and the value left in those carts.',
  association_rules: 'Products (or sub-categories) that tend to be bought together: "who buys A also buys B", with how strong and how common that is.',
  bought_together: 'For each product, the products most often bought in the same session.',
  user_recommendations: 'For each user with enough history, the products the recommendation model suggests, best first.',
  similar_products: 'For each popular product, the products that the same kind of people engage with.',
  popular_products: 'The most popular products overall: what a new or unknown user is recommended.',
  model_metrics: 'How good each model is, next to a simple rule it has to beat (its baseline).',
  session_features: 'One row per session: what happened before the first purchase (views, carts, time spent, prices looked at) and whether it bought.',
  intent_predictions: 'For each session, the predicted chance that it ends in a purchase.',
  intent_coefficients: 'The purchase-chance model itself: how much each session feature pushes the chance up or down.',
  customer_segments: 'Each user with their shopping habits (how recent, how often, how much) and the group of similar users they belong to.',
  segment_profiles: 'One row per customer group: its size and the typical habits of its members.',
  customer_spend_forecast: 'For each customer, the chance of buying in the coming days and the spend to expect.',
  revenue_forecast: 'Expected revenue for the days after the data ends, with a likely range.',
};

/** The table's plain-language line; its name when the table is unknown. */
export function tableDescription(table: string): string {
  return TABLE_DESCRIPTIONS[table] ?? `Table ${table}.`;
}

/**
 * A note per section of the report (its section ids) and per page of the app. Text, not HTML.
 */
export const SECTION_NOTES = {
  kpis: 'The headline numbers for the whole period of the data: how many people came, what they did and what they bought.',
  overview: 'The headline numbers and the day-by-day activity for the chosen dates and category.',
  funnel:
    'How many people went from looking at a product to putting it in the cart to buying. "Step by step" counts only those who came from the step before; "reached" counts everyone who got to a step, including buyers who skipped the cart.',
  daily: 'Activity day by day. Views are far more numerous than carts and purchases, so each has its own panel and scale.',
  timing: 'When people shop: by hour of the day (UTC) and by day of the week. Useful to time campaigns and maintenance.',
  brands: 'Which brands bring in the most revenue and the most purchases, and which customers spent the most.',
  abandonment: 'Sessions that put something in the cart but ended without buying, and the value left behind.',
  schemas: 'The seven summary tables of the original pipeline, with a few rows of each, for those who load them into other tools.',
  rules:
    '"Who buys A also buys B". Confidence: how often B is bought when A is. Lift: how many times more likely B is with A than without (above 1 means a real link). Baskets: how many purchases back the rule up; rules seen in a single basket are anecdotes and are listed last.',
  recommendations: 'Products suggested to a few sample users by the recommendation model, and the most popular products that users without enough history get instead.',
  models:
    'Each model against a simple rule it has to beat. When the model does not beat its baseline, trust the baseline. Metrics that could not be evaluated (too little data) say so.',
  segments: 'Customers grouped by their shopping habits: how recently they came, how often they bought, how much they spent, and how much they looked and carted.',
  forecast: 'What the data suggests for the days after it ends: revenue per day with a likely range, and each customer\'s expected spend. Short periods give rough forecasts.',
  quality: 'Whether the input could be read: rows read, kept, rejected (with the reason) and exact duplicates removed. Every row is accounted for.',
  stages: 'How long each step of the pipeline took on this machine.',
  products: 'Look a product up by id, brand or category; a product\'s page shows what is bought with it and similar products.',
  customers: 'Look a customer up: what they did, which group they are in, what is recommended to them and why, and their chance of buying.',
  'what-if': 'Describe a session (views, carts, time spent, prices) and see the purchase chance the model gives it, and what pushes it up or down.',
  query: 'Ask your own questions of the run\'s tables in SQL (read-only). Results can be downloaded as CSV.',
  runs: 'Start a new analysis from a CSV file or a generated demo, follow its progress and open it.',
} as const;

export type SectionNoteKey = keyof typeof SECTION_NOTES;

/** Readable names and one-line meanings of the model metrics (model_metrics.metric). */
export const METRIC_NOTES: Readonly<Record<string, { readonly label: string; readonly description: string }>> = {
  precision_at_k: { label: 'Precision@k', description: 'Of the k products recommended, the share the user went on to engage with.' },
  recall_at_k: { label: 'Recall@k', description: 'Of the products the user went on to engage with, the share that was recommended.' },
  map_at_k: { label: 'MAP@k', description: 'Like precision, but rewarding hits near the top of the list.' },
  ndcg_at_k: { label: 'NDCG@k', description: 'Ranking quality: 1 when every hit is at the top.' },
  catalogue_coverage: { label: 'Catalogue coverage', description: 'Share of the products that get recommended to anyone.' },
  auc: { label: 'AUC', description: 'Chance that a buying session gets a higher score than a non-buying one (0.5 is a coin toss).' },
  accuracy: { label: 'Accuracy', description: 'Share of sessions predicted right.' },
  precision: { label: 'Precision', description: 'Of the sessions predicted to buy, the share that did.' },
  recall: { label: 'Recall', description: 'Of the sessions that bought, the share predicted to.' },
  wssse: { label: 'Within-group spread', description: 'How tightly customers sit around their group\'s centre (lower is tighter).' },
  silhouette: { label: 'Silhouette', description: 'How well separated the groups are, from -1 to 1 (higher is better).' },
  mae: { label: 'Mean absolute error', description: 'Average size of the forecast\'s miss.' },
  rmse: { label: 'Root mean squared error', description: 'Like the mean absolute error, but big misses count more.' },
  spearman: { label: 'Rank correlation', description: 'Whether the forecast puts customers in the right order (1 = perfectly).' },
  spender_auc: { label: 'Spender AUC', description: 'Chance that a customer who spent is ranked above one who did not.' },
  interval_coverage: { label: 'Interval coverage', description: 'Share of days whose actual revenue fell inside the forecast range.' },
};

/** Readable name of a metric; the name itself when unknown. */
export function metricLabel(metric: string): string {
  return METRIC_NOTES[metric]?.label ?? metric.replace(/_/g, ' ');
}

/**
 * Metrics measured in the data's own units, where lower is better (errors in money, k-means' sum of
 * squares). The others are scores between 0 and 1: only those share a chart's axis, since an RMSE
 * of 3,400 next to a precision of 0.03 leaves the scores invisible.
 */
export const ERROR_METRICS: ReadonlySet<string> = new Set(['mae', 'rmse', 'wssse']);

export const isScoreMetric = (metric: string): boolean => !ERROR_METRICS.has(metric);

/** Readable names of the models and baselines of model_metrics. */
export const MODEL_LABELS: Readonly<Record<string, string>> = {
  als: 'Recommendations (ALS)',
  popularity: 'most popular products',
  logistic_regression: 'Purchase chance (logistic regression)',
  majority_class: 'always predict the most common outcome',
  kmeans: 'Customer groups (k-means)',
  two_part_glm: 'Customer spend (two-part model)',
  overall_mean: 'everyone\'s average spend',
  past_spend_rate: 'the customer\'s own past spend rate',
  ols_trend_weekday: 'Daily revenue (trend and weekday)',
  seasonal_naive: 'same weekday last week',
};

export function modelLabel(model: string | null | undefined): string {
  if (!model) return '';
  return MODEL_LABELS[model] ?? model.replace(/_/g, ' ');
}
