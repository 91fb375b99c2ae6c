import { BIGINT, col, DATE, DAY_OF_WEEK_DESCRIPTION, INT, MISSING_LABEL, MONEY, PRICE, str, TIMESTAMP } from './columns';
import { ColumnDef, OutputTableDef, RawTableDef } from './types';
import { ANALYTICS_TABLES } from './analytics-tables';

export { MISSING_LABEL } from './columns';

/** Event types of the canonical events view. `remove_from_cart` only exists in the REES46 cosmetics-shop variant. */
export const EVENT_TYPES = ['view', 'cart', 'purchase', 'remove_from_cart'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Partition that every curated table has first: one folder per pipeline run, so a retried run overwrites only itself. */
export const RUN_ID_PARTITION: ColumnDef = col(
  'run_id',
  str(64),
  'Pipeline run that produced the row (the execution input runId). Every Athena query names it: WHERE run_id = ?',
);

const EVENT_DATE_PARTITION: ColumnDef = col('event_date', DATE, 'UTC calendar date of the event.');

// ---------------------------------------------------------------------------------------------
// Raw inputs, as the public datasets write them. Read through OpenCSVSerde: every column is text,
// typing happens in the prepare stage so that a bad value becomes a reject, not a failed query.
// ---------------------------------------------------------------------------------------------

export const RAW_TABLES: readonly RawTableDef[] = [
  {
    name: 'raw_rees46_events',
    layer: 'raw',
    dataset: 'rees46',
    rawFolder: 'rees46/',
    description:
      'REES46 "eCommerce behavior data from multi category store" month files (2019-Oct.csv, …), plain or gzip, as exported.',
    header: ['event_time', 'event_type', 'product_id', 'category_id', 'category_code', 'brand', 'price', 'user_id', 'user_session'],
    columns: [
      col('event_time', str(), 'Event time as text, e.g. "2019-10-01 00:00:00 UTC".', true),
      col('event_type', str(), 'view, cart, purchase (and remove_from_cart in the cosmetics-shop variant).', true),
      col('product_id', str(), 'Product id.', true),
      col('category_id', str(), 'Category id: 19 digits, does not fit a double.', true),
      col('category_code', str(), 'Dotted taxonomy such as appliances.environment.water_heater; often empty.', true),
      col('brand', str(), 'Brand in lower case; often empty.', true),
      col('price', str(), 'Unit price with two decimals; can be 0.00.', true),
      col('user_id', str(), 'Stable user id.', true),
      col('user_session', str(), 'Session id (UUID) set by the shop.', true),
    ],
  },
  {
    name: 'raw_retailrocket_events',
    layer: 'raw',
    dataset: 'retailrocket',
    rawFolder: 'retailrocket/events/',
    description: 'RetailRocket events.csv: views, add-to-carts and transactions, no session id, no price.',
    header: ['timestamp', 'visitorid', 'event', 'itemid', 'transactionid'],
    optionalTrailingColumns: ['datetime'],
    columns: [
      col('timestamp', str(), 'Epoch milliseconds (UTC).', true),
      col('visitorid', str(), 'Visitor id.', true),
      col('event', str(), 'view, addtocart or transaction.', true),
      col('itemid', str(), 'Item id.', true),
      col('transactionid', str(), 'Set on transactions only; some exports write it as a float ("8693.0").', true),
    ],
  },
  {
    name: 'raw_retailrocket_category_tree',
    layer: 'raw',
    dataset: 'retailrocket',
    rawFolder: 'retailrocket/category_tree/',
    description: 'RetailRocket category_tree.csv: each category and its parent (empty for the 25 roots).',
    header: ['categoryid', 'parentid'],
    columns: [
      col('categoryid', str(), 'Category id.', true),
      col('parentid', str(), 'Parent category id; empty for a root.', true),
    ],
  },
  {
    name: 'raw_retailrocket_item_properties',
    layer: 'raw',
    dataset: 'retailrocket',
    rawFolder: 'retailrocket/item_properties/',
    description:
      'RetailRocket item_properties_part{1,2}.csv: time-stamped item properties; property "categoryid" gives the item its category at a time.',
    header: ['timestamp', 'itemid', 'property', 'value'],
    columns: [
      col('timestamp', str(), 'Epoch milliseconds from which the value holds.', true),
      col('itemid', str(), 'Item id.', true),
      col('property', str(), 'Property name; "categoryid" and "available" are in clear, the rest hashed.', true),
      col('value', str(), 'Property value.', true),
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// Curated events and rejects (prepare stage).
// ---------------------------------------------------------------------------------------------

const EVENTS: OutputTableDef = {
  name: 'events',
  layer: 'curated',
  producedBy: 'prepare',
  sql: null,
  description:
    'The canonical events view: every accepted input row, typed, exact duplicates removed. Both datasets have this shape.',
  columns: [
    col('event_time', TIMESTAMP, 'Event time in UTC.'),
    col('event_hour', INT, 'Hour of the UTC event time, 0–23.'),
    col('day_of_week', INT, DAY_OF_WEEK_DESCRIPTION),
    col('event_type', str(16), `One of ${EVENT_TYPES.join(', ')}. RetailRocket addtocart → cart, transaction → purchase.`),
    col('product_id', BIGINT, 'Product id (RetailRocket itemid).'),
    col('category_id', BIGINT, 'Category id (REES46 category_id; RetailRocket categoryid valid at the event time). Null when unknown.', true),
    col('category_code', str(255), 'Full category path: the REES46 dotted code, or the RetailRocket tree path of category ids joined by dots. Null when unknown.', true),
    col('category', str(128), 'First segment of category_code (the top-level category). Null when category_code is null.', true),
    col('sub_category', str(255), 'category_code after its first dot (e.g. "environment.water_heater"); null when category_code has one segment or is null.', true),
    col('brand', str(128), 'Brand; null when the input has none (RetailRocket never has one).', true),
    col('price', PRICE, 'Unit price; null when the dataset has none (RetailRocket).', true),
    col('user_id', BIGINT, 'User id (RetailRocket visitorid).'),
    col('session_id', str(64), 'Session id: REES46 user_session, or for RetailRocket "<visitorid>-<n>" from a 30-minute inactivity gap.'),
    col('transaction_id', BIGINT, 'RetailRocket transactionid on purchases; null otherwise and for REES46.', true),
    col('source_file', str(1024), 'Input object (S3 URI or local path) the row came from.'),
    col('source_line', BIGINT, 'Line number in the source file, counting the header as line 1.'),
  ],
  partitionKeys: [EVENT_DATE_PARTITION],
  primaryKey: ['source_file', 'source_line'],
  served: false,
  excludes: 'Nothing accepted is left out. Rows with a missing brand or category are kept; rejected rows are in `rejects`.',
};

const REJECTS: OutputTableDef = {
  name: 'rejects',
  layer: 'quality',
  producedBy: 'prepare',
  sql: null,
  description: 'Input rows that could not be used, kept whole with the reason, so every count reconciles: read = accepted + rejected + duplicates removed.',
  columns: [
    col('source_file', str(1024), 'Input object or path.'),
    col('source_line', BIGINT, 'Line number in the source file, counting the header as line 1.'),
    col(
      'reason',
      str(64),
      'Machine-readable reason: control_character, wrong_column_count, unterminated_quote, bad_timestamp, unknown_event_type, bad_product_id, bad_category_id, field_too_long, bad_price, negative_price, bad_user_id, missing_session, bad_transaction_id.',
    ),
    col('detail', str(1024), 'Human-readable detail: the column and the offending value (or its length, for field_too_long); cut at 1024 characters.'),
    col('raw_line', str(65535), 'The line as read (CSV text), cut at 65535 characters.'),
  ],
  partitionKeys: [],
  primaryKey: ['source_file', 'source_line'],
  served: false,
  excludes: 'Not applicable.',
};

// ---------------------------------------------------------------------------------------------
// The seven schemas of the original flow, with the names it gave them.
// ---------------------------------------------------------------------------------------------

const MISSING_NOTE = `Missing category, sub_category or brand are grouped under the label "${MISSING_LABEL}", so purchases and revenue add up to purch_date's totals.`;

const SCHEMA_TABLES: readonly OutputTableDef[] = [
  {
    name: 'c_date',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/c_date.sql',
    description: 'Add-to-cart activity per date.',
    columns: [
      col('event_date', DATE, 'UTC date.'),
      col('cart_events', BIGINT, 'Number of cart events that day.'),
      col('cart_users', BIGINT, 'Distinct users with at least one cart event that day.'),
    ],
    partitionKeys: [],
    primaryKey: ['event_date'],
    served: true,
    excludes: 'Only cart events; dates without any cart event have no row. Missing brand/category rows count.',
  },
  {
    name: 'v_date',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/v_date.sql',
    description: 'Product views per date.',
    columns: [
      col('event_date', DATE, 'UTC date.'),
      col('view_events', BIGINT, 'Number of view events that day.'),
      col('view_users', BIGINT, 'Distinct users with at least one view that day.'),
    ],
    partitionKeys: [],
    primaryKey: ['event_date'],
    served: true,
    excludes: 'Only view events; dates without views have no row. Missing brand/category rows count.',
  },
  {
    name: 'purch_date',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/purch_date.sql',
    description: 'Purchases and revenue per date.',
    columns: [
      col('event_date', DATE, 'UTC date.'),
      col('purchases', BIGINT, 'Number of purchase events (one per product line bought).'),
      col('purchase_users', BIGINT, 'Distinct users who bought that day.'),
      col('revenue', MONEY, 'Sum of price over the purchase events; 0 where the dataset has no prices (RetailRocket).'),
    ],
    partitionKeys: [],
    primaryKey: ['event_date'],
    served: true,
    excludes: 'Only purchase events; dates without purchases have no row. Missing brand/category rows count.',
  },
  {
    name: 'userid_date',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/userid_date.sql',
    description: 'Active users per date.',
    columns: [
      col('event_date', DATE, 'UTC date.'),
      col('users', BIGINT, 'Distinct users with any event that day.'),
      col('sessions', BIGINT, 'Distinct sessions with any event that day.'),
      col('events', BIGINT, 'Events that day, all types.'),
    ],
    partitionKeys: [],
    primaryKey: ['event_date'],
    served: true,
    excludes: 'Nothing: every event counts.',
  },
  {
    name: 'customer_count_purchase',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/customer_count_purchase.sql',
    description: 'Purchases and spend per customer (users with at least one purchase).',
    columns: [
      col('user_id', BIGINT, 'Customer (user) id.'),
      col('purchases', BIGINT, 'Purchase events of the customer in the run.'),
      col('spend', MONEY, 'Sum of price over those purchases; 0 where the dataset has no prices.'),
      col('first_purchase_time', TIMESTAMP, 'Time of the first purchase (UTC).'),
      col('last_purchase_time', TIMESTAMP, 'Time of the last purchase (UTC).'),
    ],
    partitionKeys: [],
    primaryKey: ['user_id'],
    served: true,
    excludes: 'Users without a purchase have no row. Missing brand/category rows count.',
  },
  {
    name: 'purchase_c_s_b',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/purchase_c_s_b.sql',
    description: 'Purchases and revenue by category, sub-category and brand.',
    columns: [
      col('category', str(128), `Top-level category, or "${MISSING_LABEL}".`),
      col('sub_category', str(255), `Rest of the category code, or "${MISSING_LABEL}".`),
      col('brand', str(128), `Brand, or "${MISSING_LABEL}".`),
      col('purchases', BIGINT, 'Purchase events.'),
      col('revenue', MONEY, 'Sum of price over those purchases.'),
    ],
    partitionKeys: [],
    primaryKey: ['category', 'sub_category', 'brand'],
    served: true,
    excludes: `Only purchase events. ${MISSING_NOTE}`,
  },
  {
    name: 'p_v_c_day',
    layer: 'schema',
    producedBy: 'prepare',
    sql: 'prepare/schemas/p_v_c_day.sql',
    description: 'Purchases, views and carts per day of the week.',
    columns: [
      col('day_of_week', INT, DAY_OF_WEEK_DESCRIPTION),
      col('day_name', str(9), 'English day name, Monday … Sunday.'),
      col('purchases', BIGINT, 'Purchase events on that weekday, all weeks of the run.'),
      col('views', BIGINT, 'View events on that weekday.'),
      col('carts', BIGINT, 'Cart events on that weekday.'),
    ],
    partitionKeys: [],
    primaryKey: ['day_of_week'],
    served: true,
    excludes: 'remove_from_cart events are not counted. Weekdays without any event have no row.',
  },
];

/** Every table the pipeline writes: prepare's, then the insights and the models' (analytics-tables.ts). */
export const OUTPUT_TABLES: readonly OutputTableDef[] = [EVENTS, REJECTS, ...SCHEMA_TABLES, ...ANALYTICS_TABLES];

/** The seven schema tables of the original flow, in its order. */
export const SCHEMA_TABLE_NAMES = SCHEMA_TABLES.map((t) => t.name);

export function outputTable(name: string): OutputTableDef {
  const table = OUTPUT_TABLES.find((t) => t.name === name);
  if (!table) {
    throw new Error(`No table "${name}" in the contract; known: ${OUTPUT_TABLES.map((t) => t.name).join(', ')}`);
  }
  return table;
}

/**
 * The shared SQL file (relative to core/sql) that computes a table, from its contract `sql`; throws
 * for a table that its stage's code computes (sql null).
 */
export function tableSql(name: string): string {
  const { sql } = outputTable(name);
  if (sql === null) throw new Error(`Table "${name}" is computed by its stage's code: it has no SQL file (its contract sql is null)`);
  return sql;
}

export const servedTables = (): OutputTableDef[] => OUTPUT_TABLES.filter((t) => t.served);

/**
 * Columns of a served table's headerless CSV and of its Aurora table, in order: its columns, then
 * its partition keys (model_metrics' `stage` is part of its key), never run_id (a load is one run).
 */
export const servingColumns = (table: OutputTableDef): ColumnDef[] => [...table.columns, ...table.partitionKeys];
