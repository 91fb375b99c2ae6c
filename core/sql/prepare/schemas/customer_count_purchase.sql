-- customer_count_purchase: purchases and spend per customer.
-- One row per user with at least one purchase in the run: purchase events, spend =
-- SUM(COALESCE(price, 0)) over them, and the times of the first and last purchase (UTC).
-- Users without a purchase have no row; rows with a missing brand/category count.
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB.
SELECT
  CAST(user_id AS BIGINT) AS user_id,
  CAST(COUNT(*) AS BIGINT) AS purchases,
  CAST(SUM(COALESCE(price, CAST(0 AS DECIMAL(12, 2)))) AS DECIMAL(18, 2)) AS spend,
  CAST(MIN(event_time) AS TIMESTAMP) AS first_purchase_time,
  CAST(MAX(event_time) AS TIMESTAMP) AS last_purchase_time
FROM events
WHERE event_type = 'purchase'
GROUP BY user_id
