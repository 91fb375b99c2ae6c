/**
 * The serving schema (core/serving/mysql-schema.ts) on a real MariaDB: migration 1 creates the served
 * tables of the first release with their keys, NOT NULLs and indexes, migration 2 makes string keys
 * NO PAD, migration 3 keys load_runs by run and manifest time, migration 4 adds the spend-forecast
 * tables and views, the ledger records them, and applying again changes nothing. Released
 * migrations are pinned by digest; a database at version 3 upgrades to the same schema as a fresh
 * one; and the migrated schema is exactly the contract's DDL. Statements with parameters go through a server-side prepare
 * (mysql2Runner), as on the Data API, so a value bound where MySQL takes only a literal fails here.
 */
import { createHash } from 'crypto';
import * as mysql from 'mysql2/promise';
import { servedTables, servingColumns } from '../../core/contract';
import {
  applyPendingMigrations,
  CREATE_SCHEMA_MIGRATIONS,
  createServedTableSql,
  DASHBOARD_VIEWS,
  INNODB_MAX_KEY_BYTES,
  migrationsFor,
  MIGRATIONS,
  NO_PAD_BINARY_COLLATION,
  pendingMigrations,
  recordMigration,
} from '../../core/serving/mysql-schema';
import { sampleValue } from '../support/serving-run';
import { mysql2Runner } from '../../local/serving/mysql-loader';
import { applyServingSchema } from '../../lambdas/serving-schema';
import { MariaDb, startMariaDb } from '../support/mariadb';

let server: MariaDb;
let db: mysql.Connection;

beforeAll(async () => {
  server = await startMariaDb();
  await server.exec('CREATE DATABASE shopsight');
  db = await server.connect({ database: 'shopsight' });
}, 60_000);
afterAll(async () => {
  await db?.end();
  await server?.stop();
});

const query = async <T>(sql: string, values: unknown[] = []): Promise<T[]> => (await db.query(sql, values))[0] as T[];

test('pendingMigrations lists what is not applied, in order', () => {
  expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  expect(pendingMigrations([]).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
  expect(pendingMigrations(MIGRATIONS.map((m) => m.version))).toEqual([]);
});

const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

/**
 * SHA-256 of each released migration as Aurora gets it. A database that has recorded a version
 * never runs it again, so an edit here reaches fresh databases only: add a new migration instead.
 * (Migrations 1 and 2 once changed silently when the contract gained tables; they are literal now.)
 */
const RELEASED_DIGESTS: Record<number, string> = {
  1: '4d007c1eb120bb9eddbdf68be48392e4345df823c0f0da9ea534213636dc92de',
  2: 'bab9a69e79e968032f9f011842ab9ee9a746d9ab7234dc3657f85d02d7ca9a60',
  3: '876422a09a46bba94e0d883515fb8fa92aa0bc9b38dd81ed770ccedca8ba5045',
  4: '12a5bf3d5ec8245f1a42d31522daaa153b7299f2327d7ba3c7dcc88c253d80c0',
};
const digest = (m: unknown): string => createHash('sha256').update(JSON.stringify(m)).digest('hex');

test('released migrations are never edited: each matches its pinned digest, on both engines alike except the collation', () => {
  expect(Object.fromEntries(MIGRATIONS.map((m) => [m.version, digest(m)]))).toEqual(RELEASED_DIGESTS);
  const mariadb = migrationsFor('mariadb');
  for (const [i, m] of MIGRATIONS.entries()) {
    const spelled = JSON.stringify(mariadb[i]).split(NO_PAD_BINARY_COLLATION.mariadb).join(NO_PAD_BINARY_COLLATION['aurora-mysql']);
    expect(JSON.parse(spelled)).toEqual(m);
  }
  // The first release served 26 tables; the forecast tables come from migration 4 alone.
  const created = (m: (typeof MIGRATIONS)[number]) => m.statements.flatMap((st) => /^CREATE TABLE IF NOT EXISTS `(\w+)`/.exec(String(st))?.[1] ?? []);
  expect(created(MIGRATIONS[0])).not.toContain('customer_spend_forecast');
  expect(created(MIGRATIONS[3])).toEqual(['customer_spend_forecast', 'revenue_forecast']);
  expect([...created(MIGRATIONS[0]), ...created(MIGRATIONS[3])].filter((t) => t !== 'load_runs').sort()).toEqual(servedTables().map((t) => t.name).sort());
});

test('the first apply creates the schema and records every migration; the second is a no-op', async () => {
  expect(ALL_VERSIONS).toEqual([1, 2, 3, 4]);
  // Migration 1 is released: the same on every engine, and the same as it was.
  expect(migrationsFor('mariadb')[0]).toEqual(MIGRATIONS[0]);
  expect(await applyPendingMigrations(mysql2Runner(db), 'mariadb')).toEqual(ALL_VERSIONS);
  const ledger = await query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
  expect(ledger).toEqual(migrationsFor('mariadb').map((m) => ({ version: m.version, name: m.name })));
  const schemaBefore = await query<{ TABLE_NAME: string; CREATE_TIME: string }>(
    "SELECT TABLE_NAME, CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shopsight' ORDER BY TABLE_NAME",
  );
  expect(await applyPendingMigrations(mysql2Runner(db), 'mariadb')).toEqual([]);
  expect(await query('SELECT version FROM schema_migrations')).toHaveLength(ALL_VERSIONS.length);
  expect(
    await query("SELECT TABLE_NAME, CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shopsight' ORDER BY TABLE_NAME"),
  ).toEqual(schemaBefore);
  // Re-running migration 1's statements by hand (an interrupted apply) also succeeds.
  for (const sql of MIGRATIONS[0].statements) await db.query(sql as string);
});

test('an interrupted migration is applied again: a statement that already ran counts as done', async () => {
  await db.query('DELETE FROM schema_migrations WHERE version IN (2, 3, 4)');
  expect(await applyPendingMigrations(mysql2Runner(db), 'mariadb')).toEqual([2, 3, 4]);
  const key = await query<{ COLUMN_NAME: string }>(
    "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shopsight' AND TABLE_NAME = 'load_runs' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
  );
  expect(key.map((k) => k.COLUMN_NAME)).toEqual(['run_id', 'manifest_created_at']);
});

test('a value bound where MySQL takes a literal fails under a server-side prepare, as on the Data API', async () => {
  // What the user statements did before: the runner prepares on the server, so this is a syntax error.
  await expect(
    mysql2Runner(db).query({ sql: "CREATE USER IF NOT EXISTS :user@'%' IDENTIFIED BY :password", parameters: { user: 'someone', password: 'p' } }),
  ).rejects.toThrow(/syntax/);
  await expect(mysql2Runner(db).query({ sql: 'SELECT COUNT(*) AS n FROM :table', parameters: { table: 'products' } })).rejects.toThrow(/syntax/);
});

test('keys differing only by a trailing space are two keys (NO PAD collation; utf8mb4_bin would make them one)', async () => {
  const table = servedTables().find((t) => t.name === 'top_brands')!;
  const columns = servingColumns(table);
  expect(table.primaryKey).toEqual(['brand']);
  const row = (brand: string) => columns.map((c) => (c.name === 'brand' ? brand : sampleValue(table, c, 0, 0) ?? 0));
  const insert = `INSERT INTO top_brands (${columns.map((c) => `\`${c.name}\``).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  await db.execute(insert, row('acme'));
  await db.execute(insert, row('acme '));
  expect(await query("SELECT CONCAT('[', brand, ']') AS b FROM top_brands WHERE brand = 'acme'")).toEqual([{ b: '[acme]' }]);
  // The same two keys in a PAD SPACE table collide: the defect the migration removes.
  await db.query('CREATE TABLE pad_space_check (k VARCHAR(10) PRIMARY KEY) COLLATE utf8mb4_bin');
  await db.query("INSERT INTO pad_space_check VALUES ('acme')");
  await expect(db.query("INSERT INTO pad_space_check VALUES ('acme ')")).rejects.toThrow(/Duplicate entry/);
  await db.query('DROP TABLE pad_space_check');
  await db.query('DELETE FROM top_brands');
});

test('every served table has the contract columns in order, NOT NULLs and primary key', async () => {
  for (const table of servedTables()) {
    const columns = await query<{ COLUMN_NAME: string; IS_NULLABLE: string; COLUMN_KEY: string }>(
      "SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shopsight' AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
      [table.name],
    );
    expect(columns.map((c) => [c.COLUMN_NAME, c.IS_NULLABLE])).toEqual(servingColumns(table).map((c) => [c.name, c.nullable ? 'YES' : 'NO']));
    const key = await query<{ COLUMN_NAME: string }>(
      "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shopsight' AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
      [table.name],
    );
    expect({ table: table.name, key: key.map((k) => k.COLUMN_NAME) }).toEqual({ table: table.name, key: [...table.primaryKey] });
  }
});

test('the API and BI look-ups have indexes', async () => {
  const indexed = await query<{ TABLE_NAME: string; COLUMN_NAME: string }>(
    "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shopsight' AND SEQ_IN_INDEX = 1",
  );
  const has = (t: string, c: string): boolean => indexed.some((i) => i.TABLE_NAME === t && i.COLUMN_NAME === c);
  for (const [t, c] of [
    ['bought_together', 'product_id'],
    ['user_recommendations', 'user_id'],
    ['intent_predictions', 'user_id'],
    ['customer_segments', 'segment_id'],
    ['products', 'category'],
    ['products', 'brand'],
    ['customer_spend_forecast', 'predicted_spend'],
  ]) {
    expect(`${t}.${c}: ${has(t, c)}`).toBe(`${t}.${c}: true`);
  }
});

test('string keys fit InnoDB in utf8mb4: the longest (association_rules) at exactly 3072 bytes', async () => {
  const rows = await query<{ bytes: string }>(
    "SELECT SUM(CHARACTER_OCTET_LENGTH) AS bytes FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shopsight' AND TABLE_NAME = 'association_rules' AND COLUMN_NAME IN ('basket_kind', 'antecedent', 'consequent')",
  );
  expect(Number(rows[0].bytes)).toBe(INNODB_MAX_KEY_BYTES);
  const collations = await query<{ c: string }>(
    "SELECT DISTINCT COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shopsight' AND COLLATION_NAME IS NOT NULL AND TABLE_NAME <> 'schema_migrations'",
  );
  expect(collations.map((r) => r.c)).toEqual(['utf8mb4_nopad_bin']);
});

test('the dashboard views exist and query on empty tables', async () => {
  const views = await query<{ TABLE_NAME: string }>("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shopsight' ORDER BY TABLE_NAME");
  expect(views.map((v) => v.TABLE_NAME)).toEqual(Object.keys(DASHBOARD_VIEWS).sort());
  for (const view of Object.keys(DASHBOARD_VIEWS)) expect(await query(`SELECT * FROM \`${view}\``)).toEqual([]);
});

test('the custom resource handler\'s schema step creates the users, and a second deploy changes only the passwords', async () => {
  const run = () =>
    applyServingSchema(mysql2Runner(db), 'shopsight', {
      bi: { username: 'shopsight_bi', password: 'first' },
      loader: { username: 'shopsight_loader', password: 'first-l' },
    }, 'mariadb');
  expect(await run()).toEqual({ appliedMigrations: [], users: ['shopsight_bi', 'shopsight_loader'] });
  // Passwords are literals in the SQL: one with a quote works, and a failure never shows it.
  await expect(
    applyServingSchema(mysql2Runner(db), 'shopsight', { bi: { username: 'shopsight_bi', password: "it's-secret" }, loader: { username: 'shopsight_loader', password: 'first-l' } }, 'mariadb'),
  ).resolves.toBeDefined();
  const failing = {
    query: async (st: { sql: string }) => {
      if (st.sql.includes('IDENTIFIED BY')) throw new Error("You have an error near 'it''s-secret' and it's-secret");
      return st.sql.startsWith('SELECT `version`') ? ALL_VERSIONS.map((version) => ({ version })) : [];
    },
    transaction: async () => undefined as never,
  };
  const failure = await applyServingSchema(failing as never, 'shopsight', { bi: { username: 'shopsight_bi', password: "it's-secret" }, loader: { username: 'l', password: 'p' } }, 'mariadb').catch((e: Error) => e);
  expect(String(failure)).not.toContain('secret');
  const grantsBefore = await query("SELECT * FROM mysql.tables_priv WHERE User IN ('shopsight_bi', 'shopsight_loader') ORDER BY User, Table_name");
  const second = await applyServingSchema(mysql2Runner(db), 'shopsight', {
    bi: { username: 'shopsight_bi', password: 'second' },
    loader: { username: 'shopsight_loader', password: 'second-l' },
  }, 'mariadb');
  expect(second.appliedMigrations).toEqual([]);
  const grantsAfter = await query("SELECT * FROM mysql.tables_priv WHERE User IN ('shopsight_bi', 'shopsight_loader') ORDER BY User, Table_name");
  const strip = (rows: unknown[]) => (rows as Record<string, unknown>[]).map(({ Timestamp: _t, ...rest }) => rest);
  expect(strip(grantsAfter)).toEqual(strip(grantsBefore));
  const bi = await server.connect({ user: 'shopsight_bi', password: 'second', database: 'shopsight' });
  await bi.end();
  await expect(server.connect({ user: 'shopsight_bi', password: 'first', database: 'shopsight' })).rejects.toThrow(/denied/);
  await expect(
    applyServingSchema(mysql2Runner(db), 'shopsight', { bi: { username: "x'; DROP", password: 'p' }, loader: { username: 'l', password: 'p' } }, 'mariadb'),
  ).rejects.toThrow(/not a plain identifier/);
});

/** Every table's and view's SHOW CREATE text in a database (AUTO_INCREMENT and definer left out). */
async function schemaOf(database: string): Promise<Record<string, string>> {
  const objects = await query<{ TABLE_NAME: string; TABLE_TYPE: string }>(
    'SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
    [database],
  );
  const out: Record<string, string> = {};
  for (const o of objects) {
    const kind = o.TABLE_TYPE === 'VIEW' ? 'VIEW' : 'TABLE';
    const [row] = await query<Record<string, string>>(`SHOW CREATE ${kind} \`${database}\`.\`${o.TABLE_NAME}\``);
    const text = row['Create Table'] ?? row['Create View'];
    out[o.TABLE_NAME] = text.split(`\`${database}\`.`).join('').replace(/ DEFINER=\S+/, '');
  }
  return out;
}

describe('upgrading a database deployed before the spend forecast (at version 3)', () => {
  const DB = 'shopsight_v3';
  let v3: mysql.Connection;
  beforeAll(async () => {
    await server.exec(`CREATE DATABASE ${DB}`);
    v3 = await server.connect({ database: DB });
    // What a deploy of the previous release left: migrations 1-3 applied and recorded, a run served.
    await v3.query(CREATE_SCHEMA_MIGRATIONS);
    for (const m of migrationsFor('mariadb').filter((m) => m.version <= 3)) {
      for (const st of m.statements) await v3.query(typeof st === 'string' ? st : st.sql);
      await mysql2Runner(v3).query(recordMigration(m));
    }
    await v3.query("INSERT INTO load_runs (run_id, manifest_created_at, status, started_at) VALUES ('oct-2019', '2026-11-30T00:00:00Z', 'loaded', UTC_TIMESTAMP(6))");
    await v3.query("INSERT INTO top_brands (brand, purchases, buyers, revenue, revenue_rank, purchases_rank) VALUES ('acme', 3, 2, 10.5, 1, 1)");
  }, 60_000);
  afterAll(async () => {
    await v3?.end();
  });

  test('only migration 4 is pending and it applies: the served data stays, the forecast tables and views appear', async () => {
    expect(pendingMigrations([1, 2, 3], 'mariadb').map((m) => m.version)).toEqual([4]);
    expect(await applyPendingMigrations(mysql2Runner(v3), 'mariadb')).toEqual([4]);
    expect((await v3.query('SELECT brand, revenue FROM top_brands'))[0]).toEqual([{ brand: 'acme', revenue: '10.50' }]);
    expect((await v3.query('SELECT run_id, status FROM load_runs'))[0]).toEqual([{ run_id: 'oct-2019', status: 'loaded' }]);
    expect((await v3.query('SELECT * FROM v_customer_spend_forecast'))[0]).toEqual([]);
    expect(await applyPendingMigrations(mysql2Runner(v3), 'mariadb')).toEqual([]);
  });

  test('the upgraded schema is the same as a fresh database\'s, table for table and view for view', async () => {
    expect(await schemaOf(DB)).toEqual(await schemaOf('shopsight'));
  });
});

test('the migrated schema is the contract\'s: every served table as createServedTableSql makes it today, NO PAD collation', async () => {
  // A contract change (a column, a type, an index) without a new migration fails here.
  await server.exec('CREATE DATABASE contract_ddl');
  const scratch = await server.connect({ database: 'contract_ddl' });
  try {
    for (const table of servedTables()) await scratch.query(createServedTableSql(table, NO_PAD_BINARY_COLLATION.mariadb));
  } finally {
    await scratch.end();
  }
  const migrated = await schemaOf('shopsight');
  const contract = await schemaOf('contract_ddl');
  for (const table of servedTables()) expect({ table: table.name, ddl: migrated[table.name] }).toEqual({ table: table.name, ddl: contract[table.name] });
});

test('migration records go through bound parameters', () => {
  expect(recordMigration(MIGRATIONS[3]).parameters).toEqual({ version: 4, name: MIGRATIONS[3].name });
});
