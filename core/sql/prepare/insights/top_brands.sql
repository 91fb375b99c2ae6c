-- top_brands: every brand with a purchase, ranked by revenue and by purchases.
-- Only purchase events with a brand (purchases without one are in purchase_c_s_b under
-- '(missing)'). revenue = SUM(price) (0 without prices). revenue_rank = ROW_NUMBER by revenue
-- descending, purchases_rank = ROW_NUMBER by purchases descending; both break ties by brand
-- ascending, so every rank is unique and Spark and DuckDB agree.
-- Input: the canonical `events` view. Runs on Spark SQL and DuckDB.
WITH brands AS (
  SELECT
    brand,
    COUNT(*) AS purchases,
    COUNT(DISTINCT user_id) AS buyers,
    CAST(COALESCE(SUM(price), 0) AS DECIMAL(18, 2)) AS revenue
  FROM events
  WHERE event_type = 'purchase' AND brand IS NOT NULL
  GROUP BY brand
)
SELECT
  CAST(brand AS STRING) AS brand,
  CAST(purchases AS BIGINT) AS purchases,
  CAST(buyers AS BIGINT) AS buyers,
  CAST(revenue AS DECIMAL(18, 2)) AS revenue,
  CAST(ROW_NUMBER() OVER (ORDER BY revenue DESC, brand ASC) AS INT) AS revenue_rank,
  CAST(ROW_NUMBER() OVER (ORDER BY purchases DESC, brand ASC) AS INT) AS purchases_rank
FROM brands
