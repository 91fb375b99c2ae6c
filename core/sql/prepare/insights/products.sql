-- products: every product seen in the run, its latest metadata and its activity.
-- One row per product_id with any accepted event (remove_from_cart included). "Latest" means the
-- last event by event_time, then by source_line (the later line of a file), then by the value
-- itself (the larger one, in byte order for strings): never by source_file, which differs between
-- the engines for the same input (an S3 URI on Spark, a local path on DuckDB), so the result depends
-- only on the data. category_id comes from the latest event (null when that event has none; a
-- non-null id wins a tie); category_code, and the category / sub_category derived from that same
-- path, from the latest event that has a category_code; brand from the latest event with a brand;
-- price from the latest event with a price. Counts and revenue (SUM(price) over purchases, 0
-- without prices) cover all of the product's events.
-- No window runs over all events: one GROUP BY gives the counts and, per value, the time of the
-- latest event that has it; only the events at those times are joined back and ranked, with
-- ROW_NUMBER (no max_by, which Spark and DuckDB tie-break differently). Every event that could rank
-- first has one of those times, so the ranking over them is the ranking over all events. NULLs are
-- sorted through CASE flags, never by the engines' different default NULL ordering.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH activity AS (
  SELECT
    product_id,
    MAX(event_time) AS latest_time,
    MAX(CASE WHEN category_code IS NOT NULL THEN event_time END) AS code_time,
    MAX(CASE WHEN brand IS NOT NULL THEN event_time END) AS brand_time,
    MAX(CASE WHEN price IS NOT NULL THEN event_time END) AS price_time,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'purchase' THEN price END) AS revenue,
    COUNT(DISTINCT user_id) AS users
  FROM events
  GROUP BY product_id
), ranked AS (
  SELECT
    e.product_id, e.category_id, e.category_code, e.category, e.sub_category, e.brand, e.price,
    ROW_NUMBER() OVER (
      PARTITION BY e.product_id
      ORDER BY e.event_time DESC, e.source_line DESC, CASE WHEN e.category_id IS NULL THEN 1 ELSE 0 END, e.category_id DESC) AS latest_rank,
    ROW_NUMBER() OVER (
      PARTITION BY e.product_id
      ORDER BY CASE WHEN e.category_code IS NULL THEN 1 ELSE 0 END, e.event_time DESC, e.source_line DESC, e.category_code DESC) AS code_rank,
    ROW_NUMBER() OVER (
      PARTITION BY e.product_id
      ORDER BY CASE WHEN e.brand IS NULL THEN 1 ELSE 0 END, e.event_time DESC, e.source_line DESC, e.brand DESC) AS brand_rank,
    ROW_NUMBER() OVER (
      PARTITION BY e.product_id
      ORDER BY CASE WHEN e.price IS NULL THEN 1 ELSE 0 END, e.event_time DESC, e.source_line DESC, e.price DESC) AS price_rank
  FROM events e
  JOIN activity a ON e.product_id = a.product_id
  WHERE e.event_time = a.latest_time OR e.event_time = a.code_time
     OR e.event_time = a.brand_time OR e.event_time = a.price_time
), latest AS (
  SELECT
    product_id,
    MAX(CASE WHEN latest_rank = 1 THEN category_id END) AS category_id,
    MAX(CASE WHEN code_rank = 1 THEN category_code END) AS category_code,
    MAX(CASE WHEN code_rank = 1 THEN category END) AS category,
    MAX(CASE WHEN code_rank = 1 THEN sub_category END) AS sub_category,
    MAX(CASE WHEN brand_rank = 1 THEN brand END) AS brand,
    MAX(CASE WHEN price_rank = 1 THEN price END) AS price
  FROM ranked
  GROUP BY product_id
)
SELECT
  CAST(a.product_id AS BIGINT) AS product_id,
  CAST(l.category_id AS BIGINT) AS category_id,
  CAST(l.category_code AS STRING) AS category_code,
  CAST(l.category AS STRING) AS category,
  CAST(l.sub_category AS STRING) AS sub_category,
  CAST(l.brand AS STRING) AS brand,
  CAST(l.price AS DECIMAL(12, 2)) AS price,
  CAST(a.views AS BIGINT) AS views,
  CAST(a.carts AS BIGINT) AS carts,
  CAST(a.purchases AS BIGINT) AS purchases,
  CAST(COALESCE(a.revenue, 0) AS DECIMAL(18, 2)) AS revenue,
  CAST(a.users AS BIGINT) AS users
FROM activity a
JOIN latest l ON a.product_id = l.product_id
