-- cart_abandonment: sessions that carted something, per UTC date of their first cart event.
-- A session counts when it has at least one cart event; it is converted when it has a purchase
-- (anywhere in the session), abandoned otherwise. Per date: cart_sessions, converted_sessions,
-- abandoned_sessions, abandonment_rate = abandoned_sessions / cart_sessions (DOUBLE, null when
-- 0), abandoned_cart_events = cart events of the abandoned sessions, and abandoned_value =
-- SUM(price) over those cart events (0 without prices). The first cart event's date is the
-- smallest event_date of the session's cart events (dates grow with time), so no engine date
-- function is needed.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH sessions AS (
  SELECT
    session_id,
    MIN(CASE WHEN event_type = 'cart' THEN event_date END) AS first_cart_date,
    MAX(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS converted,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS cart_events,
    COALESCE(SUM(CASE WHEN event_type = 'cart' THEN price END), 0) AS cart_value
  FROM events
  GROUP BY session_id
), per_date AS (
  SELECT
    first_cart_date,
    COUNT(*) AS cart_sessions,
    SUM(converted) AS converted_sessions,
    SUM(1 - converted) AS abandoned_sessions,
    SUM(CASE WHEN converted = 0 THEN cart_events ELSE 0 END) AS abandoned_cart_events,
    SUM(CASE WHEN converted = 0 THEN cart_value ELSE 0 END) AS abandoned_value
  FROM sessions
  WHERE cart_events > 0
  GROUP BY first_cart_date
)
SELECT
  CAST(first_cart_date AS DATE) AS event_date,
  CAST(cart_sessions AS BIGINT) AS cart_sessions,
  CAST(converted_sessions AS BIGINT) AS converted_sessions,
  CAST(abandoned_sessions AS BIGINT) AS abandoned_sessions,
  CAST(abandoned_sessions AS DOUBLE) / NULLIF(cart_sessions, 0) AS abandonment_rate,
  CAST(abandoned_cart_events AS BIGINT) AS abandoned_cart_events,
  CAST(abandoned_value AS DECIMAL(18, 2)) AS abandoned_value
FROM per_date
