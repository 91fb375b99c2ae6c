-- popular_products: the POPULAR_PRODUCTS_LIMIT (1000) most popular products (contract table).
-- The popularity baseline of the recommendations stage and the API's fallback. Only view, cart
-- and purchase events (remove_from_cart has no weight). Per product: score = view_weight * views
-- + cart_weight * carts + purchase_weight * purchases (DOUBLE), users = distinct users with such
-- an event on it, purchases = purchase events. rank = ROW_NUMBER by score descending, ties by
-- product_id ascending; rows with rank <= 1000 are kept (a window filter, not an unordered LIMIT).
-- Parameters (double-brace placeholders, filled by readSql / load_sql): view_weight, cart_weight,
-- purchase_weight (numbers).
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH products AS (
  SELECT
    product_id,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COUNT(DISTINCT user_id) AS users
  FROM events
  WHERE event_type IN ('view', 'cart', 'purchase')
  GROUP BY product_id
), scored AS (
  SELECT
    product_id, users, purchases,
    CAST({{view_weight}} AS DOUBLE) * CAST(views AS DOUBLE)
      + CAST({{cart_weight}} AS DOUBLE) * CAST(carts AS DOUBLE)
      + CAST({{purchase_weight}} AS DOUBLE) * CAST(purchases AS DOUBLE) AS score
  FROM products
), ranked AS (
  SELECT scored.*, ROW_NUMBER() OVER (ORDER BY score DESC, product_id ASC) AS popularity_rank
  FROM scored
)
SELECT
  CAST(popularity_rank AS INT) AS rank,
  CAST(product_id AS BIGINT) AS product_id,
  CAST(score AS DOUBLE) AS score,
  CAST(users AS BIGINT) AS users,
  CAST(purchases AS BIGINT) AS purchases
FROM ranked
WHERE popularity_rank <= 1000
