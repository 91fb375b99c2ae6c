-- top_customers: the TOP_CUSTOMERS_LIMIT (100) customers with the highest spend.
-- Only purchase events. Per buyer: purchase events, distinct products bought, spend = SUM(price)
-- (0 without prices), first and last purchase time. spend_rank = ROW_NUMBER by spend descending,
-- then purchases descending, then user_id ascending; rows with spend_rank <= 100 are kept (a
-- window filter, not an unordered LIMIT). Users without a purchase have no row.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH customers AS (
  SELECT
    user_id,
    COUNT(*) AS purchases,
    COUNT(DISTINCT product_id) AS distinct_products,
    CAST(COALESCE(SUM(price), 0) AS DECIMAL(18, 2)) AS spend,
    MIN(event_time) AS first_purchase_time,
    MAX(event_time) AS last_purchase_time
  FROM events
  WHERE event_type = 'purchase'
  GROUP BY user_id
), ranked AS (
  SELECT
    customers.*,
    ROW_NUMBER() OVER (ORDER BY spend DESC, purchases DESC, user_id ASC) AS spend_rank
  FROM customers
)
SELECT
  CAST(spend_rank AS INT) AS spend_rank,
  CAST(user_id AS BIGINT) AS user_id,
  CAST(purchases AS BIGINT) AS purchases,
  CAST(distinct_products AS BIGINT) AS distinct_products,
  CAST(spend AS DECIMAL(18, 2)) AS spend,
  CAST(first_purchase_time AS TIMESTAMP) AS first_purchase_time,
  CAST(last_purchase_time AS TIMESTAMP) AS last_purchase_time
FROM ranked
WHERE spend_rank <= 100
