import { MISSING_LABEL } from '../contract/tables';

/**
 * Saved Athena queries for the headline insights. Each takes the run id as its parameter (`?`):
 * the Athena console asks for it, e.g. 'oct-2019' with the quotes. `run_id` is an injected
 * projection, so every table a query reads needs its own `run_id = ?` (a join on run_id does not
 * count): a query reading several tables asks for the run id once per table, the same value each time.
 * Written in the SQL subset that Athena (Trino) and DuckDB run alike, so tests can execute them.
 */
export interface HeadlineQuery {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

export const HEADLINE_QUERIES: readonly HeadlineQuery[] = [
  {
    id: 'DailyKpis',
    name: 'ShopSight - daily KPIs',
    description: 'Views, carts, purchases, revenue, users and conversion per day (the seven schemas joined; the run id four times).',
    sql: `SELECT u.event_date,
       u.users,
       u.sessions,
       COALESCE(v.view_events, 0) AS views,
       COALESCE(c.cart_events, 0) AS carts,
       COALESCE(p.purchases, 0) AS purchases,
       COALESCE(p.revenue, 0) AS revenue,
       CASE WHEN COALESCE(v.view_events, 0) = 0 THEN NULL
            ELSE CAST(COALESCE(p.purchases, 0) AS DOUBLE) / v.view_events END AS view_to_purchase_rate
FROM userid_date u
LEFT JOIN v_date v ON v.run_id = ? AND v.event_date = u.event_date
LEFT JOIN c_date c ON c.run_id = ? AND c.event_date = u.event_date
LEFT JOIN purch_date p ON p.run_id = ? AND p.event_date = u.event_date
WHERE u.run_id = ?
ORDER BY u.event_date`,
  },
  {
    id: 'Funnel',
    name: 'ShopSight - view to cart to purchase funnel',
    description: 'Users who viewed, carted and bought, and the step conversion rates.',
    sql: `SELECT COUNT(DISTINCT CASE WHEN event_type = 'view' THEN user_id END) AS viewers,
       COUNT(DISTINCT CASE WHEN event_type = 'cart' THEN user_id END) AS carters,
       COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) AS buyers,
       SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
       SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
       SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
FROM events
WHERE run_id = ?`,
  },
  {
    id: 'TopBrands',
    name: 'ShopSight - top brands by revenue',
    description: 'The 25 brands with the most revenue, with purchases (rows without a brand are left out).',
    sql: `SELECT brand, SUM(purchases) AS purchases, SUM(revenue) AS revenue
FROM purchase_c_s_b
WHERE run_id = ? AND brand <> '${MISSING_LABEL}'
GROUP BY brand
ORDER BY revenue DESC, brand
LIMIT 25`,
  },
  {
    id: 'TopCustomers',
    name: 'ShopSight - top customers by spend',
    description: 'The 50 customers who spent most, with their purchase counts and first/last purchase.',
    sql: `SELECT user_id, purchases, spend, first_purchase_time, last_purchase_time
FROM customer_count_purchase
WHERE run_id = ?
ORDER BY spend DESC, user_id
LIMIT 50`,
  },
  {
    id: 'Weekday',
    name: 'ShopSight - activity by weekday',
    description: 'Views, carts and purchases per day of the week (1 = Monday).',
    sql: `SELECT day_of_week, day_name, views, carts, purchases
FROM p_v_c_day
WHERE run_id = ?
ORDER BY day_of_week`,
  },
  {
    id: 'Rejects',
    name: 'ShopSight - rejected rows by reason',
    description: 'Data quality: input rows the prepare stage rejected, by reason and file.',
    sql: `SELECT reason, source_file, COUNT(*) AS rows_rejected, MIN(source_line) AS first_line
FROM rejects
WHERE run_id = ?
GROUP BY reason, source_file
ORDER BY rows_rejected DESC, reason, source_file`,
  },
];
