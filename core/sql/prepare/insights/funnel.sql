-- funnel: the view -> cart -> purchase funnel over the whole run.
-- Always three rows (stage_order 1 view, 2 cart, 3 purchase; zeros when a stage has no event):
-- distinct users, distinct sessions and events of each stage. A stage counts a user whatever the
-- order of their events; remove_from_cart is not a stage. users_from_view_rate = users / view
-- users; users_from_previous_rate = users / users of the previous stage (view / view for the view
-- stage, so 1). Rates are DOUBLE, null when the denominator is 0.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH totals AS (
  SELECT
    COUNT(DISTINCT CASE WHEN event_type = 'view' THEN user_id END) AS view_users,
    COUNT(DISTINCT CASE WHEN event_type = 'cart' THEN user_id END) AS cart_users,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) AS purchase_users,
    COUNT(DISTINCT CASE WHEN event_type = 'view' THEN session_id END) AS view_sessions,
    COUNT(DISTINCT CASE WHEN event_type = 'cart' THEN session_id END) AS cart_sessions,
    COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END) AS purchase_sessions,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS view_events,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS cart_events,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchase_events
  FROM events
  WHERE event_type IN ('view', 'cart', 'purchase')
)
SELECT
  CAST(1 AS INT) AS stage_order,
  CAST('view' AS STRING) AS stage,
  CAST(view_users AS BIGINT) AS users,
  CAST(view_sessions AS BIGINT) AS sessions,
  CAST(COALESCE(view_events, 0) AS BIGINT) AS events,
  CAST(view_users AS DOUBLE) / NULLIF(view_users, 0) AS users_from_view_rate,
  CAST(view_users AS DOUBLE) / NULLIF(view_users, 0) AS users_from_previous_rate
FROM totals
UNION ALL
SELECT
  CAST(2 AS INT) AS stage_order,
  CAST('cart' AS STRING) AS stage,
  CAST(cart_users AS BIGINT) AS users,
  CAST(cart_sessions AS BIGINT) AS sessions,
  CAST(COALESCE(cart_events, 0) AS BIGINT) AS events,
  CAST(cart_users AS DOUBLE) / NULLIF(view_users, 0) AS users_from_view_rate,
  CAST(cart_users AS DOUBLE) / NULLIF(view_users, 0) AS users_from_previous_rate
FROM totals
UNION ALL
SELECT
  CAST(3 AS INT) AS stage_order,
  CAST('purchase' AS STRING) AS stage,
  CAST(purchase_users AS BIGINT) AS users,
  CAST(purchase_sessions AS BIGINT) AS sessions,
  CAST(COALESCE(purchase_events, 0) AS BIGINT) AS events,
  CAST(purchase_users AS DOUBLE) / NULLIF(view_users, 0) AS users_from_view_rate,
  CAST(purchase_users AS DOUBLE) / NULLIF(cart_users, 0) AS users_from_previous_rate
FROM totals
