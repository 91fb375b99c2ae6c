-- customer_features: each user's behaviour, the input of the segments stage (k-means).
-- Not a contract table by itself: it is customer_segments without segment_id and segment_name,
-- the same columns in the same order and types. One row per user with any accepted event (all
-- event types count toward sessions and recency).
-- Output:
--   user_id                BIGINT
--   recency_days           DOUBLE         (seconds from the user's last event to the run's last
--                                          event) / 86400, whole seconds
--   frequency              BIGINT         distinct sessions with a purchase
--   monetary               DECIMAL(18,2)  SUM(price) over purchases, 0 without prices
--   views, carts, purchases BIGINT        events of each type
--   sessions               BIGINT         distinct sessions
--   cart_to_view_rate      DOUBLE         carts / views, null when views = 0
--   purchase_to_cart_rate  DOUBLE         purchases / carts, null when carts = 0
-- Seconds since 1970 come from year, dayofyear, hour, minute and second (see session_features.sql).
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH e AS (
  SELECT
    user_id, session_id, event_type, price,
    CAST(
      (365 * (year(event_time) - 1970)
        + FLOOR((year(event_time) - 1) / 4) - FLOOR((year(event_time) - 1) / 100) + FLOOR((year(event_time) - 1) / 400)
        - 477 + dayofyear(event_time) - 1) * 86400
      + hour(event_time) * 3600 + minute(event_time) * 60 + second(event_time)
    AS DOUBLE) AS epoch_seconds
  FROM events
), run_end AS (
  SELECT MAX(epoch_seconds) AS last_seconds FROM e
), users AS (
  SELECT
    user_id,
    MAX(epoch_seconds) AS last_seconds,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END) AS frequency,
    COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN price END), 0) AS monetary,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COUNT(DISTINCT session_id) AS sessions
  FROM e
  GROUP BY user_id
)
SELECT
  CAST(u.user_id AS BIGINT) AS user_id,
  CAST((r.last_seconds - u.last_seconds) / 86400 AS DOUBLE) AS recency_days,
  CAST(u.frequency AS BIGINT) AS frequency,
  CAST(u.monetary AS DECIMAL(18, 2)) AS monetary,
  CAST(u.views AS BIGINT) AS views,
  CAST(u.carts AS BIGINT) AS carts,
  CAST(u.purchases AS BIGINT) AS purchases,
  CAST(u.sessions AS BIGINT) AS sessions,
  CAST(u.carts AS DOUBLE) / NULLIF(u.views, 0) AS cart_to_view_rate,
  CAST(u.purchases AS DOUBLE) / NULLIF(u.carts, 0) AS purchase_to_cart_rate
FROM users u
CROSS JOIN run_end r
