-- daily_kpis: the dashboard's daily line.
-- One row per event_date with any event (every event type counts toward users and sessions):
-- distinct users and sessions, view/cart/purchase events, distinct buyers, revenue =
-- SUM(price) over purchases (0 without prices), conversion_rate = buyers / users and
-- revenue_per_buyer = revenue / buyers (DOUBLE; null when the denominator is 0).
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH daily AS (
  SELECT
    event_date,
    COUNT(DISTINCT user_id) AS users,
    COUNT(DISTINCT session_id) AS sessions,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) AS buyers,
    CAST(COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN price END), 0) AS DECIMAL(18, 2)) AS revenue
  FROM events
  GROUP BY event_date
)
SELECT
  CAST(event_date AS DATE) AS event_date,
  CAST(users AS BIGINT) AS users,
  CAST(sessions AS BIGINT) AS sessions,
  CAST(views AS BIGINT) AS views,
  CAST(carts AS BIGINT) AS carts,
  CAST(purchases AS BIGINT) AS purchases,
  CAST(buyers AS BIGINT) AS buyers,
  CAST(revenue AS DECIMAL(18, 2)) AS revenue,
  CAST(buyers AS DOUBLE) / NULLIF(users, 0) AS conversion_rate,
  CAST(revenue AS DOUBLE) / NULLIF(buyers, 0) AS revenue_per_buyer
FROM daily
