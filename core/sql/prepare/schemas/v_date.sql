-- v_date: product views per UTC date.
-- One row per event_date that has at least one view: the number of view events and the distinct
-- users who viewed that day. Rows with a missing brand or category count.
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB.
SELECT
  CAST(event_date AS DATE) AS event_date,
  CAST(COUNT(*) AS BIGINT) AS view_events,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS view_users
FROM events
WHERE event_type = 'view'
GROUP BY event_date
