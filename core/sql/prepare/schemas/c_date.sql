-- c_date: add-to-cart activity per UTC date.
-- One row per event_date that has at least one cart event: the number of cart events and the
-- distinct users who added to cart that day. Rows with a missing brand or category count.
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB.
SELECT
  CAST(event_date AS DATE) AS event_date,
  CAST(COUNT(*) AS BIGINT) AS cart_events,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS cart_users
FROM events
WHERE event_type = 'cart'
GROUP BY event_date
