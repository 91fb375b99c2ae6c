-- funnel_by_category: the view -> cart -> purchase funnel per top-level category.
-- Only view, cart and purchase events (remove_from_cart is not counted); events without a
-- category are grouped under the contract's MISSING_LABEL '(missing)'. One row per category with
-- any such event: distinct users and events per stage, and view_to_cart_rate = cart_users /
-- view_users, cart_to_purchase_rate = purchase_users / cart_users, view_to_purchase_rate =
-- purchase_users / view_users (DOUBLE, null when the denominator is 0).
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH categories AS (
  SELECT
    COALESCE(category, '(missing)') AS category,
    COUNT(DISTINCT CASE WHEN event_type = 'view' THEN user_id END) AS view_users,
    COUNT(DISTINCT CASE WHEN event_type = 'cart' THEN user_id END) AS cart_users,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) AS purchase_users,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM events
  WHERE event_type IN ('view', 'cart', 'purchase')
  GROUP BY COALESCE(category, '(missing)')
)
SELECT
  CAST(category AS STRING) AS category,
  CAST(view_users AS BIGINT) AS view_users,
  CAST(cart_users AS BIGINT) AS cart_users,
  CAST(purchase_users AS BIGINT) AS purchase_users,
  CAST(views AS BIGINT) AS views,
  CAST(carts AS BIGINT) AS carts,
  CAST(purchases AS BIGINT) AS purchases,
  CAST(cart_users AS DOUBLE) / NULLIF(view_users, 0) AS view_to_cart_rate,
  CAST(purchase_users AS DOUBLE) / NULLIF(cart_users, 0) AS cart_to_purchase_rate,
  CAST(purchase_users AS DOUBLE) / NULLIF(view_users, 0) AS view_to_purchase_rate
FROM categories
