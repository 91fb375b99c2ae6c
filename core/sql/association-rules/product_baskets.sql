-- product_baskets: the baskets of the product association rules ("bought together").
-- Not a contract table: the input of the association-rules stage. A basket is one session; its
-- items are the distinct products bought in it. Only purchase events.
-- Output, one row per (session_id, product_id):
--   basket_id  STRING  the session_id
--   item       BIGINT  the product_id
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
SELECT
  CAST(session_id AS STRING) AS basket_id,
  CAST(product_id AS BIGINT) AS item
FROM events
WHERE event_type = 'purchase'
GROUP BY session_id, product_id
