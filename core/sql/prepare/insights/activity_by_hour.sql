-- activity_by_hour: activity per UTC hour of the day (0-23), all dates of the run together.
-- One row per event_hour with any event (of any type): view/cart/purchase events, distinct users
-- active in that hour on any date, revenue = SUM(price) over purchases (0 without prices).
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
SELECT
  CAST(event_hour AS INT) AS event_hour,
  CAST(SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS BIGINT) AS views,
  CAST(SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS BIGINT) AS carts,
  CAST(SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS BIGINT) AS purchases,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS users,
  CAST(COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN price END), 0) AS DECIMAL(18, 2)) AS revenue
FROM events
GROUP BY event_hour
