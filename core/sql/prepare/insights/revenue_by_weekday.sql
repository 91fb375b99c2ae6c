-- revenue_by_weekday: revenue and purchases per ISO weekday (1 = Monday ... 7 = Sunday).
-- One row per weekday with any event: days = distinct event_dates of that weekday with any event
-- (of any type), purchase events, distinct buyers, revenue = SUM(price) over purchases (0 without
-- prices) and avg_daily_revenue = revenue / days (DOUBLE). day_of_week comes from the events
-- view, already ISO, so no engine day-of-week function is needed.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH weekday AS (
  SELECT
    day_of_week,
    COUNT(DISTINCT event_date) AS days,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) AS buyers,
    CAST(COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN price END), 0) AS DECIMAL(18, 2)) AS revenue
  FROM events
  GROUP BY day_of_week
)
SELECT
  CAST(day_of_week AS INT) AS day_of_week,
  CAST(CASE day_of_week
    WHEN 1 THEN 'Monday'
    WHEN 2 THEN 'Tuesday'
    WHEN 3 THEN 'Wednesday'
    WHEN 4 THEN 'Thursday'
    WHEN 5 THEN 'Friday'
    WHEN 6 THEN 'Saturday'
    WHEN 7 THEN 'Sunday'
  END AS STRING) AS day_name,
  CAST(days AS BIGINT) AS days,
  CAST(purchases AS BIGINT) AS purchases,
  CAST(buyers AS BIGINT) AS buyers,
  CAST(revenue AS DECIMAL(18, 2)) AS revenue,
  CAST(revenue AS DOUBLE) / NULLIF(days, 0) AS avg_daily_revenue
FROM weekday
