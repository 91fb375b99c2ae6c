-- p_v_c_day: purchases, views and carts per ISO day of week (1 = Monday ... 7 = Sunday), over
-- all weeks of the run. Only view, cart and purchase events count (remove_from_cart does not);
-- weekdays without any of them have no row. day_of_week comes from the events view, already ISO.
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB
-- (STRING, not VARCHAR(n), in casts: Spark only allows VARCHAR(n) in table schemas).
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
  CAST(SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS BIGINT) AS purchases,
  CAST(SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS BIGINT) AS views,
  CAST(SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS BIGINT) AS carts
FROM events
WHERE event_type IN ('view', 'cart', 'purchase')
GROUP BY day_of_week
