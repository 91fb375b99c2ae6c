-- session_features: one row per session, the purchase-intent features and the label (contract table).
-- No label leakage: the features use only the session's events strictly before its first purchase
-- (an event at the same timestamp as the first purchase is not before it; neither is the purchase
-- itself); a session without a purchase uses all its events. A session that starts with its
-- purchase (nothing strictly before it) keeps its row with zero counts, zero prices and duration 0.
--   session_id, user_id (of the session's first event), session_start (its time), start_hour and
--   day_of_week (ISO, 1 = Monday) of that first event; "first" = smallest (event_time,
--   source_file, source_line): the GROUP BY gives the smallest time and only the events at that
--   time are ranked, with ROW_NUMBER, so no window runs over all events.
--   views, carts, remove_from_carts: events of that type before the first purchase;
--   distinct_products, distinct_categories (known top-level categories only) over those events;
--   duration_seconds: from the session's first event to its last event before the first purchase
--     (0 when there is none), in whole seconds;
--   avg_view_price, max_view_price, min_view_price: over those views with a price (avg = exact
--     decimal SUM / COUNT), 0 when none has one; cart_value: SUM(price) over those carts, 0 when none;
--   label: 1 when the session has any purchase, else 0.
-- Seconds since 1970 are computed from year, dayofyear, hour, minute and second, which both
-- engines have (Spark has no epoch field and DuckDB no unix_seconds); FLOOR of a positive double is
-- exact integer division on both (their "/" is always fractional).
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH sessions AS (
  SELECT
    session_id,
    MIN(event_time) AS session_start,
    MIN(CASE WHEN event_type = 'purchase' THEN event_time END) AS first_purchase_time
  FROM events
  GROUP BY session_id
), first_candidates AS (
  SELECT
    e.session_id, e.user_id, e.event_time AS session_start, e.event_hour AS start_hour, e.day_of_week,
    ROW_NUMBER() OVER (PARTITION BY e.session_id ORDER BY e.source_file ASC, e.source_line ASC) AS position
  FROM events e
  JOIN sessions s ON e.session_id = s.session_id AND e.event_time = s.session_start
), first_events AS (
  SELECT
    session_id, user_id, session_start, start_hour, day_of_week,
    CAST(
      (365 * (year(session_start) - 1970)
        + FLOOR((year(session_start) - 1) / 4) - FLOOR((year(session_start) - 1) / 100) + FLOOR((year(session_start) - 1) / 400)
        - 477 + dayofyear(session_start) - 1) * 86400
      + hour(session_start) * 3600 + minute(session_start) * 60 + second(session_start)
    AS DOUBLE) AS start_seconds
  FROM first_candidates
  WHERE position = 1
), before_purchase AS (
  SELECT
    e.session_id,
    COUNT(CASE WHEN e.event_type = 'view' THEN 1 END) AS views,
    COUNT(CASE WHEN e.event_type = 'cart' THEN 1 END) AS carts,
    COUNT(CASE WHEN e.event_type = 'remove_from_cart' THEN 1 END) AS remove_from_carts,
    COUNT(DISTINCT e.product_id) AS distinct_products,
    COUNT(DISTINCT e.category) AS distinct_categories,
    MAX(e.event_time) AS last_time,
    SUM(CASE WHEN e.event_type = 'view' THEN e.price END) AS view_price_sum,
    COUNT(CASE WHEN e.event_type = 'view' THEN e.price END) AS view_prices,
    MAX(CASE WHEN e.event_type = 'view' THEN e.price END) AS max_view_price,
    MIN(CASE WHEN e.event_type = 'view' THEN e.price END) AS min_view_price,
    SUM(CASE WHEN e.event_type = 'cart' THEN e.price END) AS cart_value
  FROM events e
  JOIN sessions s ON e.session_id = s.session_id
  WHERE s.first_purchase_time IS NULL OR e.event_time < s.first_purchase_time
  GROUP BY e.session_id
), before_purchase_span AS (
  SELECT
    b.*,
    CAST(
      (365 * (year(b.last_time) - 1970)
        + FLOOR((year(b.last_time) - 1) / 4) - FLOOR((year(b.last_time) - 1) / 100) + FLOOR((year(b.last_time) - 1) / 400)
        - 477 + dayofyear(b.last_time) - 1) * 86400
      + hour(b.last_time) * 3600 + minute(b.last_time) * 60 + second(b.last_time)
    AS DOUBLE) AS last_seconds
  FROM before_purchase b
)
SELECT
  CAST(f.session_id AS STRING) AS session_id,
  CAST(f.user_id AS BIGINT) AS user_id,
  CAST(f.session_start AS TIMESTAMP) AS session_start,
  CAST(COALESCE(b.views, 0) AS BIGINT) AS views,
  CAST(COALESCE(b.carts, 0) AS BIGINT) AS carts,
  CAST(COALESCE(b.remove_from_carts, 0) AS BIGINT) AS remove_from_carts,
  CAST(COALESCE(b.distinct_products, 0) AS BIGINT) AS distinct_products,
  CAST(COALESCE(b.distinct_categories, 0) AS BIGINT) AS distinct_categories,
  CAST(COALESCE(b.last_seconds - f.start_seconds, 0) AS DOUBLE) AS duration_seconds,
  CAST(f.start_hour AS INT) AS start_hour,
  CAST(f.day_of_week AS INT) AS day_of_week,
  CAST(COALESCE(CAST(b.view_price_sum AS DOUBLE) / NULLIF(b.view_prices, 0), 0) AS DOUBLE) AS avg_view_price,
  CAST(COALESCE(CAST(b.max_view_price AS DOUBLE), 0) AS DOUBLE) AS max_view_price,
  CAST(COALESCE(CAST(b.min_view_price AS DOUBLE), 0) AS DOUBLE) AS min_view_price,
  CAST(COALESCE(CAST(b.cart_value AS DOUBLE), 0) AS DOUBLE) AS cart_value,
  CAST(CASE WHEN s.first_purchase_time IS NULL THEN 0 ELSE 1 END AS INT) AS label
FROM first_events f
JOIN sessions s ON f.session_id = s.session_id
LEFT JOIN before_purchase_span b ON f.session_id = b.session_id
