-- sub_category_baskets: the baskets of the sub_category association rules (as the original Apriori).
-- Not a contract table: the input of the association-rules stage. A basket is one user on one UTC
-- date; its items are the distinct sub-categories that user bought that day. Only purchase events
-- with a non-null sub_category (one-segment or missing category_code give none).
-- Output, one row per (user_id, event_date, sub_category):
--   basket_id  STRING  user_id || '/' || event_date, e.g. '512386086/2019-10-01'
--   item       STRING  the sub_category, e.g. 'environment.water_heater'
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
SELECT
  CAST(CAST(user_id AS STRING) || '/' || CAST(event_date AS STRING) AS STRING) AS basket_id,
  CAST(sub_category AS STRING) AS item
FROM events
WHERE event_type = 'purchase' AND sub_category IS NOT NULL
GROUP BY user_id, event_date, sub_category
