-- spend_features: each user's behaviour before a cutoff day and their spend in the window after it,
-- the input of the spend-forecast stage (docs/spend-forecast.md). Not a contract table.
-- Parameters: {{cutoff_day}} first day of the target window (days since 1970-01-01, UTC);
--             {{horizon_days}} length of the target window and of the "recent" window before it.
-- One row per user with an event on a day before the cutoff.
-- Output:
--   user_id              BIGINT
--   recency_days         DOUBLE  cutoff − the user's last event day (≥ 1)
--   days_since_purchase  DOUBLE  cutoff − the user's last purchase day; cutoff − (run's first day − 1)
--                                when the user has not purchased (as if just before the run)
--   tenure_days          DOUBLE  cutoff − the user's first event day
--   monetary             DOUBLE  SUM(price) over purchases before the cutoff, 0 without prices
--   recent_monetary      DOUBLE  the same over the horizon_days before the cutoff
--   purchases            BIGINT  purchase events before the cutoff
--   purchase_sessions    BIGINT  distinct sessions with a purchase before the cutoff
--   views, carts         BIGINT  events of each type before the cutoff
--   sessions             BIGINT  distinct sessions before the cutoff
--   categories           BIGINT  distinct known top-level categories before the cutoff
--   recent_events        BIGINT  events of any type in the horizon_days before the cutoff
--   history_days         DOUBLE  cutoff − the run's first event day: days of the run so far
--   target_spend         DOUBLE  SUM(price) over purchases in [cutoff, cutoff + horizon_days), 0 without
--   target_purchases     BIGINT  purchase events in that window
-- and the model's inputs (SPEND_FEATURES), whose scale does not grow with the history:
--   recency_share          DOUBLE  recency_days / history_days
--   purchase_recency_share DOUBLE  days_since_purchase / (history_days + 1)
--   tenure_share           DOUBLE  tenure_days / history_days
--   spend_rate             DOUBLE  monetary / history_days × horizon_days (the past spend rate)
--   purchase_rate, view_rate, cart_rate, session_rate
--                          DOUBLE  purchases, views, carts, sessions / history_days × horizon_days
-- Money is summed as DECIMAL and only then made DOUBLE, so both engines give the same values.
-- Day numbers come from year and dayofyear (see customer_features.sql). Input: the canonical
-- `events` view. Runs on Spark SQL and DuckDB.
WITH e AS (
  SELECT
    user_id, session_id, event_type, price, category,
    CAST(
      365 * (year(event_date) - 1970)
        + FLOOR((year(event_date) - 1) / 4) - FLOOR((year(event_date) - 1) / 100) + FLOOR((year(event_date) - 1) / 400)
        - 477 + dayofyear(event_date) - 1
    AS BIGINT) AS day
  FROM events
), run_start AS (
  SELECT MIN(day) AS first_day FROM e
), users AS (
  SELECT
    user_id,
    MIN(day) AS first_day,
    MAX(day) AS last_day,
    MAX(CASE WHEN event_type = 'purchase' THEN day END) AS last_purchase_day,
    COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN price END), 0) AS monetary,
    COALESCE(SUM(CASE WHEN event_type = 'purchase' AND day >= {{cutoff_day}} - {{horizon_days}} THEN price END), 0) AS recent_monetary,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END) AS purchase_sessions,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    COUNT(DISTINCT session_id) AS sessions,
    COUNT(DISTINCT category) AS categories,
    SUM(CASE WHEN day >= {{cutoff_day}} - {{horizon_days}} THEN 1 ELSE 0 END) AS recent_events
  FROM e
  WHERE day < {{cutoff_day}}
  GROUP BY user_id
), target AS (
  SELECT
    user_id,
    COALESCE(SUM(price), 0) AS spend,
    COUNT(*) AS purchases
  FROM e
  WHERE event_type = 'purchase' AND day >= {{cutoff_day}} AND day < {{cutoff_day}} + {{horizon_days}}
  GROUP BY user_id
)
SELECT
  *,
  recency_days / history_days AS recency_share,
  days_since_purchase / (history_days + 1) AS purchase_recency_share,
  tenure_days / history_days AS tenure_share,
  monetary / history_days * {{horizon_days}} AS spend_rate,
  CAST(purchases AS DOUBLE) / history_days * {{horizon_days}} AS purchase_rate,
  CAST(views AS DOUBLE) / history_days * {{horizon_days}} AS view_rate,
  CAST(carts AS DOUBLE) / history_days * {{horizon_days}} AS cart_rate,
  CAST(sessions AS DOUBLE) / history_days * {{horizon_days}} AS session_rate
FROM (
  SELECT
    CAST(u.user_id AS BIGINT) AS user_id,
    CAST({{cutoff_day}} - u.last_day AS DOUBLE) AS recency_days,
    CAST({{cutoff_day}} - COALESCE(u.last_purchase_day, r.first_day - 1) AS DOUBLE) AS days_since_purchase,
    CAST({{cutoff_day}} - u.first_day AS DOUBLE) AS tenure_days,
    CAST(CAST(u.monetary AS DECIMAL(18, 2)) AS DOUBLE) AS monetary,
    CAST(CAST(u.recent_monetary AS DECIMAL(18, 2)) AS DOUBLE) AS recent_monetary,
    CAST(u.purchases AS BIGINT) AS purchases,
    CAST(u.purchase_sessions AS BIGINT) AS purchase_sessions,
    CAST(u.views AS BIGINT) AS views,
    CAST(u.carts AS BIGINT) AS carts,
    CAST(u.sessions AS BIGINT) AS sessions,
    CAST(u.categories AS BIGINT) AS categories,
    CAST(u.recent_events AS BIGINT) AS recent_events,
    CAST({{cutoff_day}} - r.first_day AS DOUBLE) AS history_days,
    CAST(CAST(COALESCE(t.spend, 0) AS DECIMAL(18, 2)) AS DOUBLE) AS target_spend,
    CAST(COALESCE(t.purchases, 0) AS BIGINT) AS target_purchases
  FROM users u
  CROSS JOIN run_start r
  LEFT JOIN target t ON t.user_id = u.user_id
) f
