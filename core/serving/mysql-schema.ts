/**
 * The serving schema in Aurora MySQL 3 (MySQL 8.0) and MariaDB 10.11, from the table contract: one
 * table per served contract table, the loader's `load_runs`, the migration ledger
 * `schema_migrations`, and the dashboard views. Changes after the first release are new numbered
 * migrations appended to `MIGRATIONS`; a migration, once released, is never edited (its SQL is
 * literal: released-migrations.ts for the first ones).
 *
 * Choices that hold for every table:
 * - utf8mb4 with a binary NO PAD collation (migration 2; `NO_PAD_BINARY_COLLATION` by engine): keys
 *   compare exactly as in Spark and DuckDB ("Apple" and "apple" are two brands, and so are "x" and
 *   "x "). The default accent/case-insensitive collations, and even utf8mb4_bin (PAD SPACE: it
 *   ignores trailing spaces), would turn distinct contract keys into duplicate-key errors.
 * - InnoDB, ROW_FORMAT=DYNAMIC: keys of up to 3072 bytes, and LOAD DATA into InnoDB is one atomic
 *   statement (a failed load leaves the staging table empty, which the loader relies on).
 * - Identifiers are always back-quoted (`rank` is reserved in MySQL 8) and come only from the
 *   contract, checked against `IDENTIFIER_PATTERN`; they can never be bound as parameters. Nor
 *   can user names or passwords in CREATE USER / ALTER USER / GRANT / SET DEFAULT ROLE (MySQL
 *   takes only literals there; a bound `?` is a syntax error under a server-side prepare, which is
 *   what the Data API does): user names pass IDENTIFIER_PATTERN and are inlined quoted, passwords
 *   pass `PASSWORD_PATTERN` and are inlined as an escaped string literal (`sqlStringLiteral`).
 *   Such statements carry `redact` so that a failure never shows the password.
 */
import { ColumnDef, ColumnType, OutputTableDef, servedTables, servingColumns } from '../contract';
import type { SqlRunner, SqlStatement } from './sql-runner';
import { MIGRATION_1_NAME, MIGRATION_1_STATEMENTS, MIGRATION_2_TABLES } from './released-migrations';

/** Table, column, view and user names the generated SQL may contain: lower-case words, nothing to escape. */
export const IDENTIFIER_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * A single-quoted SQL string literal of `value`, for the places MySQL accepts no parameter (user
 * passwords, LOAD DATA file names and S3 URIs). Refuses backslashes and control characters rather
 * than escaping them, so the literal means the same with or without NO_BACKSLASH_ESCAPES; a quote
 * is doubled.
 */
export function sqlStringLiteral(value: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value)) throw new Error(`${what} holds a backslash or a control character, which the SQL literal refuses`);
  return `'${value.replace(/'/g, "''")}'`;
}

/** Passwords the user statements accept: printable ASCII without a backslash (Secrets Manager's generated ones are). */
export const PASSWORD_PATTERN = /^[\x20-\x5b\x5d-\x7e]{1,256}$/;

/** A database account `'name'@'%'`, the name checked against IDENTIFIER_PATTERN. */
export function quoteAccount(user: string): string {
  if (!IDENTIFIER_PATTERN.test(user)) throw new Error(`Database user name "${user}" is not a plain identifier`);
  return `'${user}'@'%'`;
}

/** A back-quoted identifier, after checking it is one the contract could have produced. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER_PATTERN.test(name)) throw new Error(`"${name}" is not a valid serving identifier (${IDENTIFIER_PATTERN})`);
  return `\`${name}\``;
}

/** InnoDB's key limit with ROW_FORMAT=DYNAMIC; utf8mb4 needs up to 4 bytes per character. */
export const INNODB_MAX_KEY_BYTES = 3072;
const UTF8MB4_BYTES_PER_CHAR = 4;

/**
 * String key columns whose Aurora length must be shorter than the contract's maxLength for the
 * primary key to fit InnoDB's 3072 bytes in utf8mb4. Empty: the contract sizes its keys to fit
 * (association_rules.antecedent is 497 for that reason), and keyBytes() below refuses a key that
 * does not, so a contract change cannot silently break the schema.
 */
export const KEY_LENGTH_OVERRIDES: Readonly<Record<string, Readonly<Record<string, number>>>> = {};

/** Length in characters of a string column in Aurora. */
function varcharLength(table: string, column: ColumnDef): number | undefined {
  if (column.type.kind !== 'string') return undefined;
  return KEY_LENGTH_OVERRIDES[table]?.[column.name] ?? column.type.maxLength;
}

/** The MySQL type of a contract type (`maxLength` overridden for keys as above). */
export function mysqlType(type: ColumnType, varchar?: number): string {
  switch (type.kind) {
    case 'string': {
      const length = varchar ?? type.maxLength;
      // VARCHAR above 16383 characters does not fit a utf8mb4 row; such text is TEXT (never a key).
      return length !== undefined && length <= 16383 ? `VARCHAR(${length})` : 'TEXT';
    }
    case 'int':
      return 'INT';
    case 'bigint':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'date':
      return 'DATE';
    case 'timestamp':
      // Microseconds, as Spark and DuckDB timestamps carry; DATETIME, not TIMESTAMP, so that the
      // session time zone never shifts UTC values.
      return 'DATETIME(6)';
    case 'boolean':
      return 'TINYINT(1)';
  }
}

/** Bytes a column takes in an index. */
function keyBytes(table: string, column: ColumnDef): number {
  const t = column.type;
  switch (t.kind) {
    case 'string': {
      const length = varcharLength(table, column);
      if (length === undefined || length > 16383) throw new Error(`${table}.${column.name}: a key column needs a maxLength (TEXT cannot be a key)`);
      return length * UTF8MB4_BYTES_PER_CHAR;
    }
    case 'int':
      return 4;
    case 'bigint':
    case 'double':
      return 8;
    case 'decimal':
      return Math.ceil(t.precision / 2) + 1;
    case 'date':
      return 3;
    case 'timestamp':
      return 8;
    case 'boolean':
      return 1;
  }
}

/**
 * Secondary indexes for the API's and the dashboards' look-ups (primary keys already cover
 * bought_together(product_id, rank), user_recommendations(user_id, rank), similar_products,
 * model_metrics, customer_spend_forecast(user_id) and revenue_forecast(forecast_date)). Indexes of
 * tables that already exist are added by a new migration, not here alone.
 */
export const SECONDARY_INDEXES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  products: [['category', 'sub_category'], ['brand']],
  intent_predictions: [['user_id']],
  customer_segments: [['segment_id']],
  popular_products: [['product_id']],
  top_customers: [['spend_rank']],
  top_brands: [['revenue_rank']],
  association_rules: [['basket_kind', 'lift']],
  purchase_c_s_b: [['brand']],
  // "Top future spenders" (v_customer_spend_forecast ORDER BY predicted_spend DESC LIMIT n) reads the index backwards.
  customer_spend_forecast: [['predicted_spend']],
};

const columnList = (names: readonly string[]): string => names.map(quoteIdentifier).join(', ');

function columnDefinition(table: string, column: ColumnDef): string {
  return `${quoteIdentifier(column.name)} ${mysqlType(column.type, varcharLength(table, column))} ${column.nullable ? 'NULL' : 'NOT NULL'}`;
}

const tableOptions = (collation: string): string => `ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=${collation}`;
const TABLE_OPTIONS = tableOptions('utf8mb4_bin');

/**
 * `CREATE TABLE IF NOT EXISTS` of a served table: servingColumns order, the contract's NOT NULL and
 * key. The collation is utf8mb4_bin unless given: tables of the first release were created so and
 * converted by migration 2; later ones are created with the engine's NO_PAD_BINARY_COLLATION.
 */
export function createServedTableSql(table: OutputTableDef, collation = 'utf8mb4_bin'): string {
  const columns = servingColumns(table);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const key = table.primaryKey.map((name) => {
    const c = byName.get(name);
    if (!c) throw new Error(`${table.name}: primary key column ${name} is not a serving column`);
    if (c.nullable) throw new Error(`${table.name}: primary key column ${name} is nullable in the contract`);
    return c;
  });
  const bytes = key.reduce((sum, c) => sum + keyBytes(table.name, c), 0);
  if (bytes > INNODB_MAX_KEY_BYTES) {
    throw new Error(`${table.name}: primary key takes ${bytes} bytes in utf8mb4, above InnoDB's ${INNODB_MAX_KEY_BYTES}; add a KEY_LENGTH_OVERRIDES entry`);
  }
  const indexes = (SECONDARY_INDEXES[table.name] ?? []).map((cols) => {
    for (const c of cols) if (!byName.has(c)) throw new Error(`${table.name}: index column ${c} is not a serving column`);
    const indexBytes = cols.reduce((sum, c) => sum + keyBytes(table.name, byName.get(c)!), 0);
    if (indexBytes > INNODB_MAX_KEY_BYTES) throw new Error(`${table.name}: index (${cols.join(', ')}) takes ${indexBytes} bytes, above ${INNODB_MAX_KEY_BYTES}`);
    return `  KEY ${quoteIdentifier(`ix_${table.name}_${cols.join('_')}`.slice(0, 64))} (${columnList(cols)})`;
  });
  const lines = [
    ...columns.map((c) => `  ${columnDefinition(table.name, c)}`),
    `  PRIMARY KEY (${columnList(table.primaryKey)})`,
    ...indexes,
  ];
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table.name)} (\n${lines.join(',\n')}\n) ${tableOptions(collation)}`;
}

export const LOAD_RUNS_TABLE = 'load_runs';
export const SCHEMA_MIGRATIONS_TABLE = 'schema_migrations';
export const LOAD_STATUSES = ['loading', 'loaded', 'failed'] as const;
export type LoadStatus = (typeof LOAD_STATUSES)[number];

/** The ledger itself is created outside the migrations: it is how they are found to be pending. */
export const CREATE_SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS \`${SCHEMA_MIGRATIONS_TABLE}\` (
  \`version\` INT NOT NULL,
  \`name\` VARCHAR(128) NOT NULL,
  \`applied_at\` DATETIME(6) NOT NULL,
  PRIMARY KEY (\`version\`)
) ${TABLE_OPTIONS}`;

/**
 * The spend forecast for BI (migration 4): each customer's forecast with their segment and spend so
 * far; sorted by predicted_spend it is the list of top future spenders (an index covers it).
 */
const V_CUSTOMER_SPEND_FORECAST = `SELECT f.\`user_id\`, f.\`predicted_spend\`, f.\`purchase_probability\`, f.\`spend_if_purchase\`, f.\`baseline_spend\`,
  f.\`horizon_days\`, f.\`forecast_start\`, s.\`segment_name\`, c.\`purchases\` AS \`purchases_so_far\`, c.\`spend\` AS \`spend_so_far\`
FROM \`customer_spend_forecast\` f
LEFT JOIN \`customer_segments\` s ON s.\`user_id\` = f.\`user_id\`
LEFT JOIN \`customer_count_purchase\` c ON c.\`user_id\` = f.\`user_id\``;

/**
 * Daily revenue as one series for a line chart: the run's actual days (is_forecast 0), then the
 * forecast days with their interval (1). A flag, not a 'actual'/'forecast' text: a string literal
 * would take the connection's collation, not the schema's NO PAD binary one.
 */
const V_REVENUE_FORECAST = `SELECT d.\`event_date\` AS \`revenue_date\`, 0 AS \`is_forecast\`, CAST(d.\`revenue\` AS DOUBLE) AS \`revenue\`,
  CAST(NULL AS DOUBLE) AS \`lower\`, CAST(NULL AS DOUBLE) AS \`upper\`
FROM \`daily_kpis\` d
UNION ALL
SELECT f.\`forecast_date\`, 1, f.\`predicted_revenue\`, f.\`lower\`, f.\`upper\`
FROM \`revenue_forecast\` f`;

/**
 * Dashboard views. They name the live tables, and MySQL resolves a view's tables by name at query
 * time, so after the loader's RENAME swap every view reads the new run without being recreated.
 */
export const DASHBOARD_VIEWS: Readonly<Record<string, string>> = {
  v_daily_kpis: `SELECT d.\`event_date\`, d.\`users\`, d.\`sessions\`, d.\`views\`, d.\`carts\`, d.\`purchases\`, d.\`buyers\`,
  d.\`revenue\`, d.\`conversion_rate\`, d.\`revenue_per_buyer\`,
  c.\`cart_sessions\`, c.\`abandoned_sessions\`, c.\`abandonment_rate\`, c.\`abandoned_value\`
FROM \`daily_kpis\` d LEFT JOIN \`cart_abandonment\` c ON c.\`event_date\` = d.\`event_date\``,
  v_funnel: `SELECT \`stage_order\`, \`stage\`, \`users\`, \`sessions\`, \`events\`, \`users_from_view_rate\`, \`users_from_previous_rate\`
FROM \`funnel\``,
  v_top_brands: `SELECT \`brand\`, \`purchases\`, \`buyers\`, \`revenue\`, \`revenue_rank\`, \`purchases_rank\`,
  \`revenue\` / NULLIF(SUM(\`revenue\`) OVER (), 0) AS \`revenue_share\`
FROM \`top_brands\``,
  v_top_customers: `SELECT t.\`spend_rank\`, t.\`user_id\`, t.\`purchases\`, t.\`distinct_products\`, t.\`spend\`,
  t.\`first_purchase_time\`, t.\`last_purchase_time\`, s.\`segment_id\`, s.\`segment_name\`
FROM \`top_customers\` t LEFT JOIN \`customer_segments\` s ON s.\`user_id\` = t.\`user_id\``,
  v_association_rules: `SELECT \`basket_kind\`, \`antecedent\`, \`antecedent_size\`, \`consequent\`, \`support\`, \`confidence\`, \`lift\`, \`baskets\`
FROM \`association_rules\``,
  v_bought_together: `SELECT b.\`product_id\`, p.\`category\` AS \`product_category\`, p.\`brand\` AS \`product_brand\`,
  b.\`rank\`, b.\`other_product_id\`, o.\`category_code\` AS \`other_category_code\`, o.\`category\` AS \`other_category\`,
  o.\`brand\` AS \`other_brand\`, o.\`price\` AS \`other_price\`, b.\`support\`, b.\`confidence\`, b.\`lift\`, b.\`baskets\`
FROM \`bought_together\` b
LEFT JOIN \`products\` p ON p.\`product_id\` = b.\`product_id\`
LEFT JOIN \`products\` o ON o.\`product_id\` = b.\`other_product_id\``,
  v_user_recommendations: `SELECT r.\`user_id\`, r.\`rank\`, r.\`product_id\`, r.\`score\`, p.\`category_code\`, p.\`category\`, p.\`sub_category\`,
  p.\`brand\`, p.\`price\`
FROM \`user_recommendations\` r LEFT JOIN \`products\` p ON p.\`product_id\` = r.\`product_id\``,
  v_segments: `SELECT \`segment_id\`, \`segment_name\`, \`customers\`, \`share\`, \`avg_recency_days\`, \`avg_frequency\`, \`avg_monetary\`,
  \`avg_views\`, \`avg_carts\`, \`avg_purchases\`, \`avg_sessions\`, \`revenue_share\`
FROM \`segment_profiles\``,
  v_customer_spend_forecast: V_CUSTOMER_SPEND_FORECAST,
  v_revenue_forecast: V_REVENUE_FORECAST,
};

// SQL SECURITY DEFINER (the default, written out): BI users need SELECT on the view only.
const createViewSql = (name: string, select: string): string =>
  `CREATE OR REPLACE SQL SECURITY DEFINER VIEW ${quoteIdentifier(name)} AS\n${select}`;

/** A statement of a migration; `appliedIf` (an error message pattern) marks the error that means "already done". */
export type MigrationStatement = string | { readonly sql: string; readonly appliedIf: string };

export interface Migration {
  readonly version: number;
  readonly name: string;
  /**
   * Each statement is idempotent (IF NOT EXISTS, OR REPLACE, or an `appliedIf` error), so a
   * migration interrupted part-way can be re-applied.
   */
  readonly statements: readonly MigrationStatement[];
}

/** Where the schema runs: Aurora MySQL 3 (MySQL 8.0; also plain MySQL 8 locally) or MariaDB 10.11 (tests, local). */
export type ServingEngine = 'aurora-mysql' | 'mariadb';

/**
 * The binary collation without trailing-space padding: utf8mb4_bin is PAD SPACE in both engines,
 * so "x" and "x " would be one key. MySQL 8's utf8mb4_0900_bin is NO PAD; MariaDB names its own.
 */
export const NO_PAD_BINARY_COLLATION: Readonly<Record<ServingEngine, string>> = {
  'aurora-mysql': 'utf8mb4_0900_bin',
  mariadb: 'utf8mb4_nopad_bin',
};

/** The initial schema: the contract's served tables, load_runs and the views of the first release, frozen (released-migrations.ts). */
const INITIAL_SCHEMA: Migration = { version: 1, name: MIGRATION_1_NAME, statements: MIGRATION_1_STATEMENTS };

/** Migration 2: the served tables of release 1 and load_runs to the NO PAD binary collation (staging tables follow: CREATE … LIKE). */
function noPadCollation(engine: ServingEngine): Migration {
  const collation = NO_PAD_BINARY_COLLATION[engine];
  return {
    version: 2,
    name: 'binary NO PAD collation: keys that differ only by trailing spaces are distinct',
    statements: MIGRATION_2_TABLES.map(
      (name) => `ALTER TABLE ${quoteIdentifier(name)} CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`,
    ),
  };
}

/**
 * Migration 3: a load is a run id AND its manifest's creation time (a rerun of a run id writes new
 * exports with a new createdAt, which must be loaded, not taken for the old load), and the claim
 * of an execution: its token and heartbeat (core/serving/loader-sql.ts). One statement, so it is
 * applied whole or not at all.
 */
const LOAD_RUNS_BY_MANIFEST: Migration = {
  version: 3,
  name: 'load_runs keyed by run id and manifest creation time, with the claim token and heartbeat',
  statements: [
    {
      sql: `ALTER TABLE \`${LOAD_RUNS_TABLE}\`
  ADD COLUMN \`manifest_created_at\` VARCHAR(40) NOT NULL DEFAULT '' AFTER \`run_id\`,
  ADD COLUMN \`claim_token\` VARCHAR(64) NULL,
  ADD COLUMN \`heartbeat_at\` DATETIME(6) NULL,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (\`run_id\`, \`manifest_created_at\`)`,
      appliedIf: "Duplicate column name 'manifest_created_at'",
    },
  ],
};

/**
 * Migration 4 (issue 14, spend forecast): the two forecast tables, created with the engine's NO PAD
 * collation (migration 2 ran before they existed), and their BI views. Literal SQL, as every
 * released migration: the contract may change later, this may not (a test compares the migrated
 * schema with the contract's DDL, so a contract change without a new migration fails).
 */
function spendForecastTables(engine: ServingEngine): Migration {
  const collation = NO_PAD_BINARY_COLLATION[engine];
  return {
    version: 4,
    name: 'spend forecast: customer_spend_forecast, revenue_forecast and their views',
    statements: [
      `CREATE TABLE IF NOT EXISTS \`customer_spend_forecast\` (
  \`user_id\` BIGINT NOT NULL,
  \`purchase_probability\` DOUBLE NOT NULL,
  \`spend_if_purchase\` DOUBLE NOT NULL,
  \`predicted_spend\` DOUBLE NOT NULL,
  \`baseline_spend\` DOUBLE NOT NULL,
  \`horizon_days\` INT NOT NULL,
  \`forecast_start\` DATE NOT NULL,
  PRIMARY KEY (\`user_id\`),
  KEY \`ix_customer_spend_forecast_predicted_spend\` (\`predicted_spend\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=${collation}`,
      `CREATE TABLE IF NOT EXISTS \`revenue_forecast\` (
  \`forecast_date\` DATE NOT NULL,
  \`day_of_week\` INT NOT NULL,
  \`predicted_revenue\` DOUBLE NOT NULL,
  \`lower\` DOUBLE NOT NULL,
  \`upper\` DOUBLE NOT NULL,
  PRIMARY KEY (\`forecast_date\`)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=${collation}`,
      createViewSql('v_customer_spend_forecast', V_CUSTOMER_SPEND_FORECAST),
      createViewSql('v_revenue_forecast', V_REVENUE_FORECAST),
    ],
  };
}

/**
 * Numbered migrations, applied in order and recorded in `schema_migrations`. A database that has
 * recorded a version never re-runs it, so a released migration never changes: each is literal SQL
 * (never generated from the contract, which moves on), and every schema change is a new migration
 * here (ALTER TABLE …, CREATE TABLE …). test/serving/schema.test.ts pins each one's digest and
 * checks that the migrated schema is the contract's. The engine changes only names the engines
 * spell differently (the collation).
 */
export function migrationsFor(engine: ServingEngine): Migration[] {
  return [INITIAL_SCHEMA, noPadCollation(engine), LOAD_RUNS_BY_MANIFEST, spendForecastTables(engine)];
}

/** The migrations as Aurora gets them (their versions are the same on every engine). */
export const MIGRATIONS: readonly Migration[] = migrationsFor('aurora-mysql');

export function pendingMigrations(appliedVersions: Iterable<number>, engine: ServingEngine = 'aurora-mysql'): Migration[] {
  const applied = new Set(appliedVersions);
  return migrationsFor(engine)
    .filter((m) => !applied.has(m.version))
    .sort((a, b) => a.version - b.version);
}

/** Every table and view a BI user may read: the served tables and the dashboard views. */
export function biReadableObjects(): string[] {
  // load_runs too: dashboards and the API's /health show which run is served and when it loaded.
  return [...servedTables().map((t) => t.name), ...Object.keys(DASHBOARD_VIEWS), LOAD_RUNS_TABLE];
}

export const selectAppliedVersions: SqlStatement = { sql: `SELECT \`version\` FROM \`${SCHEMA_MIGRATIONS_TABLE}\``, parameters: {} };

export const recordMigration = (m: Migration): SqlStatement => ({
  sql: `INSERT INTO \`${SCHEMA_MIGRATIONS_TABLE}\` (\`version\`, \`name\`, \`applied_at\`) VALUES (:version, :name, UTC_TIMESTAMP(6))`,
  parameters: { version: m.version, name: m.name },
});

/** Which engine a connection talks to (MariaDB says so in VERSION()). */
export async function detectEngine(db: Pick<SqlRunner, 'query'>): Promise<ServingEngine> {
  const rows = await db.query({ sql: 'SELECT VERSION() AS `version`', parameters: {} });
  return /mariadb/i.test(String(rows[0]?.version)) ? 'mariadb' : 'aurora-mysql';
}

/**
 * Creates the ledger, then applies every pending migration in order, recording each one after its
 * statements. Returns the versions applied now (empty when the schema is current).
 */
export async function applyPendingMigrations(db: Pick<SqlRunner, 'query'>, engine: ServingEngine): Promise<number[]> {
  // Read first and create only when missing: the loader user may read the ledger but not create tables.
  const versions = await db.query(selectAppliedVersions).catch(async (e: unknown) => {
    if (!/doesn't exist|1146/.test(e instanceof Error ? e.message : String(e))) throw e;
    await db.query({ sql: CREATE_SCHEMA_MIGRATIONS, parameters: {} });
    return [];
  });
  const applied = versions.map((r) => Number(r.version));
  const done: number[] = [];
  for (const migration of pendingMigrations(applied, engine)) {
    for (const statement of migration.statements) {
      const { sql, appliedIf } = typeof statement === 'string' ? { sql: statement, appliedIf: undefined } : statement;
      await db.query({ sql, parameters: {} }).catch((e: unknown) => {
        if (appliedIf === undefined || !(e instanceof Error ? e.message : String(e)).includes(appliedIf)) throw e;
      });
    }
    await db.query(recordMigration(migration));
    done.push(migration.version);
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// Database users. Names come from CDK (checked by IDENTIFIER_PATTERN), passwords from Secrets
// Manager (checked by PASSWORD_PATTERN); both are inlined as literals, which is all MySQL accepts
// in these statements. Host '%': the Data API and BI clients connect from addresses we do not
// know in advance; the cluster has no ingress except what BI access adds explicitly.
// ---------------------------------------------------------------------------------------------

/** A statement that holds a secret: `redact` is what to hide from any error message or log. */
export interface SecretStatement extends SqlStatement {
  readonly redact?: string;
}

/** CREATE USER IF NOT EXISTS then ALTER USER: the password follows the secret on every deploy. */
function userStatements(user: string, password: string): SecretStatement[] {
  const account = quoteAccount(user);
  if (!PASSWORD_PATTERN.test(password)) throw new Error(`The password of ${user} must be 1-256 printable ASCII characters without a backslash`);
  const secret = sqlStringLiteral(password, 'password');
  return [
    { sql: `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${secret}`, parameters: {}, redact: password },
    { sql: `ALTER USER ${account} IDENTIFIED BY ${secret}`, parameters: {}, redact: password },
  ];
}

const grant = (sql: string): SqlStatement => ({ sql, parameters: {} });

/** The BI user: SELECT on the served tables and the dashboard views, nothing else (no load_runs, no writes). */
export function biUserStatements(user: string, password: string, database: string): SecretStatement[] {
  const db = quoteIdentifier(database);
  const account = quoteAccount(user);
  return [...userStatements(user, password), ...biReadableObjects().map((name) => grant(`GRANT SELECT ON ${db}.${quoteIdentifier(name)} TO ${account}`))];
}

/**
 * The loader user: on each served table t, t__staging and t__previous exactly what the steps need
 * (CREATE for CREATE TABLE … LIKE, SELECT for LIKE and the count, INSERT for LOAD DATA, DROP and
 * ALTER for DROP TABLE, RENAME and the staging table's COMMENT), SELECT/INSERT/UPDATE on load_runs
 * and SELECT on schema_migrations. Table-level grants on tables that do not exist yet are allowed
 * because they include CREATE. Nothing on the views, no write on the migration ledger, and no
 * database-wide privilege. On Aurora, LOAD DATA FROM S3 needs the AWS_LOAD_S3_ACCESS role (Aurora
 * MySQL 3), made the default role so every Data API session has it.
 */
export function loaderUserStatements(user: string, password: string, database: string, engine: ServingEngine): SecretStatement[] {
  const db = quoteIdentifier(database);
  const account = quoteAccount(user);
  const tables = servedTables().flatMap((t) => [t.name, `${t.name}__staging`, `${t.name}__previous`]);
  const statements: SecretStatement[] = [
    ...userStatements(user, password),
    ...tables.map((name) => grant(`GRANT SELECT, INSERT, CREATE, DROP, ALTER ON ${db}.${quoteIdentifier(name)} TO ${account}`)),
    grant(`GRANT SELECT, INSERT, UPDATE ON ${db}.\`${LOAD_RUNS_TABLE}\` TO ${account}`),
    // To check that the schema is current before loading.
    grant(`GRANT SELECT ON ${db}.\`${SCHEMA_MIGRATIONS_TABLE}\` TO ${account}`),
  ];
  if (engine === 'aurora-mysql') {
    statements.push(grant(`GRANT AWS_LOAD_S3_ACCESS TO ${account}`), grant(`SET DEFAULT ROLE AWS_LOAD_S3_ACCESS TO ${account}`));
  }
  return statements;
}
