-- products: every product seen in the run, its latest metadata and its activity.
-- One row per product_id with any accepted event (remove_from_cart included). "Latest" means the
-- last event by event_time, then by source_line (the later line of a file), then by the value
-- itself (the larger one, in byte order for strings): never by source_file, which differs between
-- the engines for the same input (an S3 URI on Spark, a local path on DuckDB), so the result depends
-- only on the data. Ranked with ROW_NUMBER (no max_by, which Spark and DuckDB tie-break
-- differently): category_id from the latest event (null when that event has none; a non-null id
-- wins a tie); category_code, and the category / sub_category derived from that same path, from the
-- latest event that has a category_code; brand from the latest event with a brand; price from the
-- latest event with a price. Counts and revenue (SUM(price) over purchases, 0 without prices) cover
-- all of the product's events. NULLs are sorted through CASE flags, never by the engines'
-- different default NULL ordering.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH ranked AS (
  SELECT
    product_id, category_id, category_code, category, sub_category, brand, price, event_type, user_id,
    ROW_NUMBER() OVER (
      PARTITION BY product_id
      ORDER BY event_time DESC, source_line DESC, CASE WHEN category_id IS NULL THEN 1 ELSE 0 END, category_id DESC) AS latest_rank,
    ROW_NUMBER() OVER (
      PARTITION BY product_id
      ORDER BY CASE WHEN category_code IS NULL THEN 1 ELSE 0 END, event_time DESC, source_line DESC, category_code DESC) AS code_rank,
    ROW_NUMBER() OVER (
      PARTITION BY product_id
      ORDER BY CASE WHEN brand IS NULL THEN 1 ELSE 0 END, event_time DESC, source_line DESC, brand DESC) AS brand_rank,
    ROW_NUMBER() OVER (
      PARTITION BY product_id
      ORDER BY CASE WHEN price IS NULL THEN 1 ELSE 0 END, event_time DESC, source_line DESC, price DESC) AS price_rank
  FROM events
)
SELECT
  CAST(product_id AS BIGINT) AS product_id,
  CAST(MAX(CASE WHEN latest_rank = 1 THEN category_id END) AS BIGINT) AS category_id,
  CAST(MAX(CASE WHEN code_rank = 1 THEN category_code END) AS STRING) AS category_code,
  CAST(MAX(CASE WHEN code_rank = 1 THEN category END) AS STRING) AS category,
  CAST(MAX(CASE WHEN code_rank = 1 THEN sub_category END) AS STRING) AS sub_category,
  CAST(MAX(CASE WHEN brand_rank = 1 THEN brand END) AS STRING) AS brand,
  CAST(MAX(CASE WHEN price_rank = 1 THEN price END) AS DECIMAL(12, 2)) AS price,
  CAST(SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS BIGINT) AS views,
  CAST(SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS BIGINT) AS carts,
  CAST(SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS BIGINT) AS purchases,
  CAST(COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN price END), 0) AS DECIMAL(18, 2)) AS revenue,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS users
FROM ranked
GROUP BY product_id
