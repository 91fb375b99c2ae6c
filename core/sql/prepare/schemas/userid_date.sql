-- userid_date: active users per UTC date.
-- One row per event_date with any event: distinct users, distinct sessions and the number of
-- events of every type (remove_from_cart included). Nothing is excluded.
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB.
SELECT
  CAST(event_date AS DATE) AS event_date,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS users,
  CAST(COUNT(DISTINCT session_id) AS BIGINT) AS sessions,
  CAST(COUNT(*) AS BIGINT) AS events
FROM events
GROUP BY event_date
