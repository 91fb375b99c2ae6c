-- purchase_c_s_b: purchases and revenue by category, sub-category and brand.
-- Only purchase events. A missing category, sub_category (one-segment or missing category_code)
-- or brand is grouped under the contract's MISSING_LABEL '(missing)', so purchases and revenue
-- add up to purch_date's totals. revenue = SUM(COALESCE(price, 0)).
-- Input: the canonical `events` view (typed columns + event_date). Runs on Spark SQL and DuckDB
-- (STRING, not VARCHAR(n), in casts: Spark only allows VARCHAR(n) in table schemas).
SELECT
  CAST(COALESCE(category, '(missing)') AS STRING) AS category,
  CAST(COALESCE(sub_category, '(missing)') AS STRING) AS sub_category,
  CAST(COALESCE(brand, '(missing)') AS STRING) AS brand,
  CAST(COUNT(*) AS BIGINT) AS purchases,
  CAST(SUM(COALESCE(price, CAST(0 AS DECIMAL(12, 2)))) AS DECIMAL(18, 2)) AS revenue
FROM events
WHERE event_type = 'purchase'
GROUP BY
  COALESCE(category, '(missing)'),
  COALESCE(sub_category, '(missing)'),
  COALESCE(brand, '(missing)')
