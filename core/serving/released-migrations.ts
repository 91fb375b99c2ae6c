/**
 * The serving schema's released migrations as literal SQL, exactly as they were applied to deployed
 * databases. Migrations 1 and 2 used to be generated from the table contract when the module was
 * read, so adding a served table to the contract changed them in place: a fresh database got the
 * new table from migration 1, while a database already at version 3 never did. Frozen here from the
 * contract of their release (commit 1917702, 26 served tables); schema changes since then are new
 * migrations in mysql-schema.ts, and test/serving/schema.test.ts pins a digest of every released one.
 */

/** Migration 1: the served tables, load_runs and the dashboard views of the first release. */
export const MIGRATION_1_NAME = "initial serving schema from the table contract";
export const MIGRATION_1_STATEMENTS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS \`c_date\` (
  \`event_date\` DATE NOT NULL,
  \`cart_events\` BIGINT NOT NULL,
  \`cart_users\` BIGINT NOT NULL,
  PRIMARY KEY (\`event_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`v_date\` (
  \`event_date\` DATE NOT NULL,
  \`view_events\` BIGINT NOT NULL,
  \`view_users\` BIGINT NOT NULL,
  PRIMARY KEY (\`event_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`purch_date\` (
  \`event_date\` DATE NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`purchase_users\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  PRIMARY KEY (\`event_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`userid_date\` (
  \`event_date\` DATE NOT NULL,
  \`users\` BIGINT NOT NULL,
  \`sessions\` BIGINT NOT NULL,
  \`events\` BIGINT NOT NULL,
  PRIMARY KEY (\`event_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`customer_count_purchase\` (
  \`user_id\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`spend\` DECIMAL(18,2) NOT NULL,
  \`first_purchase_time\` DATETIME(6) NOT NULL,
  \`last_purchase_time\` DATETIME(6) NOT NULL,
  PRIMARY KEY (\`user_id\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`purchase_c_s_b\` (
  \`category\` VARCHAR(128) NOT NULL,
  \`sub_category\` VARCHAR(255) NOT NULL,
  \`brand\` VARCHAR(128) NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  PRIMARY KEY (\`category\`, \`sub_category\`, \`brand\`),
  KEY \`ix_purchase_c_s_b_brand\` (\`brand\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`p_v_c_day\` (
  \`day_of_week\` INT NOT NULL,
  \`day_name\` VARCHAR(9) NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`views\` BIGINT NOT NULL,
  \`carts\` BIGINT NOT NULL,
  PRIMARY KEY (\`day_of_week\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`products\` (
  \`product_id\` BIGINT NOT NULL,
  \`category_id\` BIGINT NULL,
  \`category_code\` VARCHAR(255) NULL,
  \`category\` VARCHAR(128) NULL,
  \`sub_category\` VARCHAR(255) NULL,
  \`brand\` VARCHAR(128) NULL,
  \`price\` DECIMAL(12,2) NULL,
  \`views\` BIGINT NOT NULL,
  \`carts\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  \`users\` BIGINT NOT NULL,
  PRIMARY KEY (\`product_id\`),
  KEY \`ix_products_category_sub_category\` (\`category\`, \`sub_category\`),
  KEY \`ix_products_brand\` (\`brand\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`daily_kpis\` (
  \`event_date\` DATE NOT NULL,
  \`users\` BIGINT NOT NULL,
  \`sessions\` BIGINT NOT NULL,
  \`views\` BIGINT NOT NULL,
  \`carts\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`buyers\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  \`conversion_rate\` DOUBLE NULL,
  \`revenue_per_buyer\` DOUBLE NULL,
  PRIMARY KEY (\`event_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`revenue_by_weekday\` (
  \`day_of_week\` INT NOT NULL,
  \`day_name\` VARCHAR(9) NOT NULL,
  \`days\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`buyers\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  \`avg_daily_revenue\` DOUBLE NOT NULL,
  PRIMARY KEY (\`day_of_week\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`activity_by_hour\` (
  \`event_hour\` INT NOT NULL,
  \`views\` BIGINT NOT NULL,
  \`carts\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`users\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  PRIMARY KEY (\`event_hour\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`top_brands\` (
  \`brand\` VARCHAR(128) NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`buyers\` BIGINT NOT NULL,
  \`revenue\` DECIMAL(18,2) NOT NULL,
  \`revenue_rank\` INT NOT NULL,
  \`purchases_rank\` INT NOT NULL,
  PRIMARY KEY (\`brand\`),
  KEY \`ix_top_brands_revenue_rank\` (\`revenue_rank\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`top_customers\` (
  \`spend_rank\` INT NOT NULL,
  \`user_id\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`distinct_products\` BIGINT NOT NULL,
  \`spend\` DECIMAL(18,2) NOT NULL,
  \`first_purchase_time\` DATETIME(6) NOT NULL,
  \`last_purchase_time\` DATETIME(6) NOT NULL,
  PRIMARY KEY (\`user_id\`),
  KEY \`ix_top_customers_spend_rank\` (\`spend_rank\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`funnel\` (
  \`stage_order\` INT NOT NULL,
  \`stage\` VARCHAR(16) NOT NULL,
  \`users\` BIGINT NOT NULL,
  \`sessions\` BIGINT NOT NULL,
  \`events\` BIGINT NOT NULL,
  \`users_from_view_rate\` DOUBLE NULL,
  \`users_from_previous_rate\` DOUBLE NULL,
  PRIMARY KEY (\`stage\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`funnel_by_category\` (
  \`category\` VARCHAR(128) NOT NULL,
  \`view_users\` BIGINT NOT NULL,
  \`cart_users\` BIGINT NOT NULL,
  \`purchase_users\` BIGINT NOT NULL,
  \`views\` BIGINT NOT NULL,
  \`carts\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`view_to_cart_rate\` DOUBLE NULL,
  \`cart_to_purchase_rate\` DOUBLE NULL,
  \`view_to_purchase_rate\` DOUBLE NULL,
  PRIMARY KEY (\`category\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`cart_abandonment\` (
  \`event_date\` DATE NOT NULL,
  \`cart_sessions\` BIGINT NOT NULL,
  \`converted_sessions\` BIGINT NOT NULL,
  \`abandoned_sessions\` BIGINT NOT NULL,
  \`abandonment_rate\` DOUBLE NULL,
  \`abandoned_cart_events\` BIGINT NOT NULL,
  \`abandoned_value\` DECIMAL(18,2) NOT NULL,
  PRIMARY KEY (\`event_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`association_rules\` (
  \`basket_kind\` VARCHAR(16) NOT NULL,
  \`antecedent\` VARCHAR(497) NOT NULL,
  \`antecedent_size\` INT NOT NULL,
  \`consequent\` VARCHAR(255) NOT NULL,
  \`support\` DOUBLE NOT NULL,
  \`confidence\` DOUBLE NOT NULL,
  \`lift\` DOUBLE NOT NULL,
  \`baskets\` BIGINT NOT NULL,
  PRIMARY KEY (\`basket_kind\`, \`antecedent\`, \`consequent\`),
  KEY \`ix_association_rules_basket_kind_lift\` (\`basket_kind\`, \`lift\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`bought_together\` (
  \`product_id\` BIGINT NOT NULL,
  \`rank\` INT NOT NULL,
  \`other_product_id\` BIGINT NOT NULL,
  \`support\` DOUBLE NOT NULL,
  \`confidence\` DOUBLE NOT NULL,
  \`lift\` DOUBLE NOT NULL,
  \`baskets\` BIGINT NOT NULL,
  PRIMARY KEY (\`product_id\`, \`rank\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`user_recommendations\` (
  \`user_id\` BIGINT NOT NULL,
  \`rank\` INT NOT NULL,
  \`product_id\` BIGINT NOT NULL,
  \`score\` DOUBLE NOT NULL,
  PRIMARY KEY (\`user_id\`, \`rank\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`similar_products\` (
  \`product_id\` BIGINT NOT NULL,
  \`rank\` INT NOT NULL,
  \`similar_product_id\` BIGINT NOT NULL,
  \`similarity\` DOUBLE NOT NULL,
  PRIMARY KEY (\`product_id\`, \`rank\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`popular_products\` (
  \`rank\` INT NOT NULL,
  \`product_id\` BIGINT NOT NULL,
  \`score\` DOUBLE NOT NULL,
  \`users\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  PRIMARY KEY (\`rank\`),
  KEY \`ix_popular_products_product_id\` (\`product_id\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`model_metrics\` (
  \`model\` VARCHAR(64) NOT NULL,
  \`metric\` VARCHAR(64) NOT NULL,
  \`k\` INT NULL,
  \`value\` DOUBLE NULL,
  \`baseline\` VARCHAR(64) NULL,
  \`baseline_value\` DOUBLE NULL,
  \`evaluated_on\` BIGINT NOT NULL,
  \`stage\` VARCHAR(32) NOT NULL,
  PRIMARY KEY (\`stage\`, \`model\`, \`metric\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`intent_predictions\` (
  \`session_id\` VARCHAR(64) NOT NULL,
  \`user_id\` BIGINT NOT NULL,
  \`probability\` DOUBLE NOT NULL,
  \`predicted\` INT NOT NULL,
  \`label\` INT NOT NULL,
  \`split\` VARCHAR(8) NOT NULL,
  PRIMARY KEY (\`session_id\`),
  KEY \`ix_intent_predictions_user_id\` (\`user_id\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`intent_coefficients\` (
  \`feature\` VARCHAR(64) NOT NULL,
  \`position\` INT NOT NULL,
  \`coefficient\` DOUBLE NOT NULL,
  \`mean\` DOUBLE NOT NULL,
  \`stddev\` DOUBLE NOT NULL,
  PRIMARY KEY (\`feature\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`customer_segments\` (
  \`user_id\` BIGINT NOT NULL,
  \`segment_id\` INT NOT NULL,
  \`segment_name\` VARCHAR(64) NOT NULL,
  \`recency_days\` DOUBLE NOT NULL,
  \`frequency\` BIGINT NOT NULL,
  \`monetary\` DECIMAL(18,2) NOT NULL,
  \`views\` BIGINT NOT NULL,
  \`carts\` BIGINT NOT NULL,
  \`purchases\` BIGINT NOT NULL,
  \`sessions\` BIGINT NOT NULL,
  \`cart_to_view_rate\` DOUBLE NULL,
  \`purchase_to_cart_rate\` DOUBLE NULL,
  PRIMARY KEY (\`user_id\`),
  KEY \`ix_customer_segments_segment_id\` (\`segment_id\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`segment_profiles\` (
  \`segment_id\` INT NOT NULL,
  \`segment_name\` VARCHAR(64) NOT NULL,
  \`customers\` BIGINT NOT NULL,
  \`share\` DOUBLE NOT NULL,
  \`avg_recency_days\` DOUBLE NOT NULL,
  \`avg_frequency\` DOUBLE NOT NULL,
  \`avg_monetary\` DOUBLE NOT NULL,
  \`avg_views\` DOUBLE NOT NULL,
  \`avg_carts\` DOUBLE NOT NULL,
  \`avg_purchases\` DOUBLE NOT NULL,
  \`avg_sessions\` DOUBLE NOT NULL,
  \`revenue_share\` DOUBLE NOT NULL,
  PRIMARY KEY (\`segment_id\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`load_runs\` (
  \`run_id\` VARCHAR(64) NOT NULL,
  \`status\` VARCHAR(16) NOT NULL,
  \`tables\` JSON NULL,
  \`started_at\` DATETIME(6) NOT NULL,
  \`finished_at\` DATETIME(6) NULL,
  \`error\` TEXT NULL,
  PRIMARY KEY (\`run_id\`),
  KEY \`ix_load_runs_status\` (\`status\`, \`started_at\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_daily_kpis\` AS
SELECT d.\`event_date\`, d.\`users\`, d.\`sessions\`, d.\`views\`, d.\`carts\`, d.\`purchases\`, d.\`buyers\`,
  d.\`revenue\`, d.\`conversion_rate\`, d.\`revenue_per_buyer\`,
  c.\`cart_sessions\`, c.\`abandoned_sessions\`, c.\`abandonment_rate\`, c.\`abandoned_value\`
FROM \`daily_kpis\` d LEFT JOIN \`cart_abandonment\` c ON c.\`event_date\` = d.\`event_date\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_funnel\` AS
SELECT \`stage_order\`, \`stage\`, \`users\`, \`sessions\`, \`events\`, \`users_from_view_rate\`, \`users_from_previous_rate\`
FROM \`funnel\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_top_brands\` AS
SELECT \`brand\`, \`purchases\`, \`buyers\`, \`revenue\`, \`revenue_rank\`, \`purchases_rank\`,
  \`revenue\` / NULLIF(SUM(\`revenue\`) OVER (), 0) AS \`revenue_share\`
FROM \`top_brands\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_top_customers\` AS
SELECT t.\`spend_rank\`, t.\`user_id\`, t.\`purchases\`, t.\`distinct_products\`, t.\`spend\`,
  t.\`first_purchase_time\`, t.\`last_purchase_time\`, s.\`segment_id\`, s.\`segment_name\`
FROM \`top_customers\` t LEFT JOIN \`customer_segments\` s ON s.\`user_id\` = t.\`user_id\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_association_rules\` AS
SELECT \`basket_kind\`, \`antecedent\`, \`antecedent_size\`, \`consequent\`, \`support\`, \`confidence\`, \`lift\`, \`baskets\`
FROM \`association_rules\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_bought_together\` AS
SELECT b.\`product_id\`, p.\`category\` AS \`product_category\`, p.\`brand\` AS \`product_brand\`,
  b.\`rank\`, b.\`other_product_id\`, o.\`category_code\` AS \`other_category_code\`, o.\`category\` AS \`other_category\`,
  o.\`brand\` AS \`other_brand\`, o.\`price\` AS \`other_price\`, b.\`support\`, b.\`confidence\`, b.\`lift\`, b.\`baskets\`
FROM \`bought_together\` b
LEFT JOIN \`products\` p ON p.\`product_id\` = b.\`product_id\`
LEFT JOIN \`products\` o ON o.\`product_id\` = b.\`other_product_id\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_user_recommendations\` AS
SELECT r.\`user_id\`, r.\`rank\`, r.\`product_id\`, r.\`score\`, p.\`category_code\`, p.\`category\`, p.\`sub_category\`,
  p.\`brand\`, p.\`price\`
FROM \`user_recommendations\` r LEFT JOIN \`products\` p ON p.\`product_id\` = r.\`product_id\``,
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW \`v_segments\` AS
SELECT \`segment_id\`, \`segment_name\`, \`customers\`, \`share\`, \`avg_recency_days\`, \`avg_frequency\`, \`avg_monetary\`,
  \`avg_views\`, \`avg_carts\`, \`avg_purchases\`, \`avg_sessions\`, \`revenue_share\`
FROM \`segment_profiles\``,
];

/** The tables migration 2 converts to the NO PAD binary collation (the served tables of release 1, then load_runs). */
export const MIGRATION_2_TABLES: readonly string[] = [
  'c_date',
  'v_date',
  'purch_date',
  'userid_date',
  'customer_count_purchase',
  'purchase_c_s_b',
  'p_v_c_day',
  'products',
  'daily_kpis',
  'revenue_by_weekday',
  'activity_by_hour',
  'top_brands',
  'top_customers',
  'funnel',
  'funnel_by_category',
  'cart_abandonment',
  'association_rules',
  'bought_together',
  'user_recommendations',
  'similar_products',
  'popular_products',
  'model_metrics',
  'intent_predictions',
  'intent_coefficients',
  'customer_segments',
  'segment_profiles',
  'load_runs',
];
