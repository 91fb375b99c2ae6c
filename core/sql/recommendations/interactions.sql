-- interactions: the implicit feedback of the recommendations stage (ALS) and of its evaluation.
-- Not a contract table. One row per (user_id, product_id) with at least one view, cart or
-- purchase event (remove_from_cart has no weight and is left out), counting only events strictly
-- before the parameter `before` when it is a timestamp (the training side of the time-based
-- holdout), all events when it is NULL.
-- Parameters (written as double-brace placeholders, filled by readSql / load_sql):
--   view_weight, cart_weight, purchase_weight  numbers; before  TIMESTAMP literal or NULL.
-- Output:
--   user_id          BIGINT
--   product_id       BIGINT
--   rating           DOUBLE     view_weight * views + cart_weight * carts + purchase_weight * purchases
--   views            BIGINT     view events
--   carts            BIGINT     cart events
--   purchases        BIGINT     purchase events
--   last_event_time  TIMESTAMP  the pair's last counted event (UTC)
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH pairs AS (
  SELECT
    user_id,
    product_id,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    MAX(event_time) AS last_event_time
  FROM events
  WHERE event_type IN ('view', 'cart', 'purchase')
    AND ({{before}} IS NULL OR event_time < {{before}})
  GROUP BY user_id, product_id
)
SELECT
  CAST(user_id AS BIGINT) AS user_id,
  CAST(product_id AS BIGINT) AS product_id,
  CAST({{view_weight}} AS DOUBLE) * CAST(views AS DOUBLE)
    + CAST({{cart_weight}} AS DOUBLE) * CAST(carts AS DOUBLE)
    + CAST({{purchase_weight}} AS DOUBLE) * CAST(purchases AS DOUBLE) AS rating,
  CAST(views AS BIGINT) AS views,
  CAST(carts AS BIGINT) AS carts,
  CAST(purchases AS BIGINT) AS purchases,
  CAST(last_event_time AS TIMESTAMP) AS last_event_time
FROM pairs
