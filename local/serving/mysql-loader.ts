/**
 * Loads a local run's serving CSVs into MySQL or MariaDB with the same loader as Aurora
 * (core/serving/load-steps.ts, loader-sql.ts): only the source clause differs, `LOAD DATA LOCAL INFILE` streamed
 * by mysql2. `shopsight run --mysql URL` calls `loadServingLocal`.
 *
 * URL: mysql://user:password@host[:port]/database, or with `?socket=/path/to/sock` (or
 * `?socketPath=`) for a Unix socket (host is then ignored). The server must allow LOCAL INFILE (`local_infile=1`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { servedTables, servingColumns, ServingManifest } from '../../core/contract';
import { errorText, LoadExecutor, LoadStatement, ServingLoadError, TableToLoad, toPositional } from '../../core/serving/loader-sql';
import { SqlRow, SqlRunner, SqlStatement } from '../../core/serving/sql-runner';
import { applyPendingMigrations, detectEngine } from '../../core/serving/mysql-schema';

import { loadServingRun, LoadResult } from '../../core/serving/load-steps';

export type { LoadResult } from '../../core/serving/load-steps';

/** Connection options from a mysql:// URL. */
export function connectionOptionsFromUrl(url: string): mysql.ConnectionOptions {
  const u = new URL(url);
  if (u.protocol !== 'mysql:') throw new Error(`Not a mysql:// URL: ${url.replace(/:[^:@/]*@/, ':***@')}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error('The MySQL URL must name a database: mysql://user:password@host/database');
  const socketPath = u.searchParams.get('socketPath') ?? u.searchParams.get('socket') ?? undefined;
  return {
    host: socketPath ? undefined : u.hostname || 'localhost',
    port: socketPath ? undefined : Number(u.port || 3306),
    socketPath,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
    // Values the loader reads back (counts, JSON) as text; dates stay as the server writes them.
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
  };
}

/**
 * A SqlRunner over one mysql2 connection. A statement with parameters is prepared on the server
 * (`execute`: `:name` becomes `?`), as the Data API does on Aurora, so a value bound where MySQL
 * takes only a literal (a user name, a LOAD file name) fails here as it would there; one without
 * is sent as text (`query`), which is also what LOAD DATA LOCAL and some DDL need.
 */
export function mysql2Runner(connection: mysql.Connection): SqlRunner {
  const query = async (statement: SqlStatement): Promise<SqlRow[]> => {
    const { sql, values } = toPositional(statement);
    const [rows] = values.length > 0 ? await connection.execute(sql, values) : await connection.query(sql);
    return Array.isArray(rows) ? (rows as SqlRow[]) : [];
  };
  return {
    query,
    async transaction(work) {
      await connection.beginTransaction();
      try {
        const result = await work({ query });
        await connection.commit();
        return result;
      } catch (e) {
        await connection.rollback().catch(() => undefined);
        throw e;
      }
    },
  };
}

/**
 * Checks, before a run starts, that the load at its end can work: the URL parses, the server
 * answers (within `connectTimeoutMs`), it allows LOCAL INFILE, and the user may create, alter,
 * rename, fill and drop a table in the database, as the loader does with its staging tables (a
 * probe table, dropped at once; roles and grants count as the server applies them). Throws an
 * Error whose message names the problem.
 */
export async function checkServingDatabase(url: string, connectTimeoutMs = 10_000): Promise<void> {
  const options = connectionOptionsFromUrl(url);
  const connection = await mysql.createConnection({ ...options, connectTimeout: connectTimeoutMs }).catch((e: unknown) => {
    // Node reports a refused "localhost" (IPv6 and IPv4 tried) as an AggregateError with no message.
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot connect to ${describeServer(options)}: ${err.message || err.code || String(e)}`);
  });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.local_infile AS local_infile');
    if (Number(rows[0]?.local_infile) !== 1) {
      throw new Error(`${describeServer(options)} does not allow LOAD DATA LOCAL INFILE, which the load needs: set local_infile=1 on the server`);
    }
    const probe = `_shopsight_probe_${process.pid}_${Date.now().toString(36)}`;
    const renamed = `${probe}_r`;
    try {
      for (const sql of [
        `CREATE TABLE \`${probe}\` (k INT PRIMARY KEY)`,
        `ALTER TABLE \`${probe}\` COMMENT = 'shopsight privilege check'`,
        `INSERT INTO \`${probe}\` VALUES (1)`,
        `RENAME TABLE \`${probe}\` TO \`${renamed}\``,
        `SELECT k FROM \`${renamed}\``,
      ]) {
        await connection.query(sql).catch((e: unknown) => {
          throw new Error(`user ${options.user ?? ''} may not load into database ${options.database ?? ''} (${sql.split(' ').slice(0, 2).join(' ')}: ${errorText(e)})`);
        });
      }
    } finally {
      await connection.query(`DROP TABLE IF EXISTS \`${probe}\`, \`${renamed}\``).catch(() => undefined);
    }
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

const describeServer = (o: mysql.ConnectionOptions): string => (o.socketPath ? `the server at ${o.socketPath}` : `${o.host}:${o.port}`);

/** Reads `servingDir/manifest.json` and checks it against the contract, as load-serving does on S3. */
export function readLocalManifest(servingDir: string): { manifest: ServingManifest; tables: TableToLoad[] } {
  const manifestPath = path.join(servingDir, 'manifest.json');
  let manifest: ServingManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf-8')) as ServingManifest;
  } catch (e) {
    throw new ServingLoadError('manifest', 'read', `${manifestPath}: ${errorText(e)}`);
  }
  const root = path.resolve(servingDir);
  const tables = servedTables().map((table): TableToLoad => {
    const entry = manifest.tables?.[table.name];
    if (!entry) throw new ServingLoadError(table.name, 'check manifest', `missing from ${manifestPath}`);
    const expected = servingColumns(table).map((c) => c.name).join(',');
    if (entry.columns.join(',') !== expected) {
      throw new ServingLoadError(table.name, 'check columns', `manifest has (${entry.columns.join(',')}), the contract (${expected})`);
    }
    const paths = entry.files.map((file) => {
      const full = path.resolve(root, file);
      if (!full.startsWith(root + path.sep)) throw new ServingLoadError(table.name, 'check files', `${file} is outside ${root}`);
      if (!fs.existsSync(full)) throw new ServingLoadError(table.name, 'check files', `${full} does not exist`);
      return full;
    });
    return { name: table.name, expectedRows: entry.rowCount, source: { kind: 'local-files', paths } };
  });
  return { manifest, tables };
}

/**
 * Applies pending schema migrations, then loads the run in `servingDir` (manifest.json and its
 * CSVs). Re-loading the same manifest changes nothing (a rerun of the run id writes a new manifest,
 * which is loaded); a failure leaves the served tables as they were.
 */
export async function loadServingLocal(url: string, servingDir: string): Promise<LoadResult> {
  const { manifest, tables } = readLocalManifest(servingDir);
  const allowed = new Set(tables.flatMap((t) => (t.source.kind === 'local-files' ? t.source.paths : [])));
  const connection = await mysql.createConnection({
    ...connectionOptionsFromUrl(url),
    // The server names the file to send; only the manifest's own files are ever given to it.
    infileStreamFactory: (file: string) => {
      if (!allowed.has(file)) throw new Error(`The server asked for ${file}, which is not a file of this run`);
      return fs.createReadStream(file);
    },
  });
  try {
    // Strict for InnoDB, as on Aurora MySQL 3: a row with a missing or unparsable field fails the LOAD.
    await connection.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
    await connection.query("SET SESSION time_zone = '+00:00'");
    const db = mysql2Runner(connection);
    await applyPendingMigrations(db, await detectEngine(db));
    return await loadServingRun(db, localFileLoader(connection), manifest, tables);
  } finally {
    await connection.end();
  }
}

/**
 * Runs the LOCAL INFILE statements of one table. With LOCAL the server cannot stop the client's
 * upload part-way, so MySQL and MariaDB turn bad rows (missing or extra fields, unparsable values)
 * into warnings even in strict mode; any warning therefore fails the load here, with the first few
 * messages. (Aurora's LOAD DATA FROM S3 is not LOCAL: strict mode makes the statement itself fail.)
 */
export const localFileLoader = (connection: mysql.Connection): LoadExecutor => (_table, statements) => loadLocalFiles(connection, statements);

async function loadLocalFiles(connection: mysql.Connection, statements: readonly LoadStatement[]): Promise<'done'> {
  for (const statement of statements) {
    // LOAD DATA cannot be prepared; the file name is an inlined, checked literal (loaderSql.load).
    const [header] = await connection.query<mysql.ResultSetHeader>(statement.sql);
    if (header.warningStatus > 0) {
      const [warnings] = await connection.query<mysql.RowDataPacket[]>('SHOW WARNINGS LIMIT 5');
      throw new Error(`${statement.source}: ${header.warningStatus} warning(s): ${warnings.map((w) => `${w.Code} ${w.Message}`).join('; ')}`);
    }
  }
  return 'done';
}
