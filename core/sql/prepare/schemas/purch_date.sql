-- purch_date: purchases and revenue per UTC date.
-- One row per event_date with at least one purchase: purchase events (one per product line
-- bought), distinct buyers, and revenue = SUM(COALESCE(price, 0)) over the purchase events (a
-- purchase without a price, as in RetailRocket, adds 0). Rows with a missing brand/category count.
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB.
SELECT
  CAST(event_date AS DATE) AS event_date,
  CAST(COUNT(*) AS BIGINT) AS purchases,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS purchase_users,
  CAST(SUM(COALESCE(price, CAST(0 AS DECIMAL(12, 2)))) AS DECIMAL(18, 2)) AS revenue
FROM events
WHERE event_type = 'purchase'
GROUP BY event_date
