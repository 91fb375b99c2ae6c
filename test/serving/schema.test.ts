/**
 * The serving schema (lib/serving/mysql-schema.ts) on a real MariaDB: migration 1 creates every
 * served table from the contract with its key, NOT NULLs and indexes, migration 2 makes string keys
 * NO PAD, migration 3 keys load_runs by run and manifest time, the ledger records them, and
 * applying again changes nothing. Statements with parameters go through a server-side prepare
 * (mysql2Runner), as on the Data API, so a value bound where MySQL takes only a literal fails here.
 */
import * as mysql from 'mysql2/promise';
import { servedTables, servingColumns } from '../../lib/contract';
import { applyPendingMigrations, DASHBOARD_VIEWS, INNODB_MAX_KEY_BYTES, migrationsFor, MIGRATIONS, pendingMigrations } from '../../lib/serving/mysql-schema';
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

test('the first apply creates the schema and records every migration; the second is a no-op', async () => {
  expect(ALL_VERSIONS).toEqual([1, 2, 3]);
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
  await db.query('DELETE FROM schema_migrations WHERE version IN (2, 3)');
  expect(await applyPendingMigrations(mysql2Runner(db), 'mariadb')).toEqual([2, 3]);
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
