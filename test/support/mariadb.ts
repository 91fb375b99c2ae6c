/**
 * A private MariaDB server for one test file: the rehearsal's server (local/rehearse/mariadb.ts) on a
 * fresh temp folder, so the tests and the rehearsal run the same flags (strict SQL mode as on Aurora
 * MySQL 3, LOCAL INFILE, Unix socket only: parallel jest workers never collide). Start it in
 * beforeAll, stop it in afterAll (~3 s); stop removes the folder.
 * `npm test` installs MariaDB from apt when missing (scripts/ensure-test-tools.sh).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { mariaDbInstalled, startMariaDbServer } from '../../local/rehearse/mariadb';

export { mariaDbInstalled };

export interface MariaDb {
  readonly socketPath: string;
  /** A mysql:// URL for `loadServingLocal` (socket path as a query parameter). */
  url(user: string, password: string, database: string): string;
  /** A new connection; the caller ends it. */
  connect(options?: { user?: string; password?: string; database?: string }): Promise<mysql.Connection>;
  /** Runs statements as root (no database selected unless named in the SQL). */
  exec(sql: string, values?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startMariaDb(): Promise<MariaDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mariadb-'));
  let server;
  try {
    server = await startMariaDbServer({ dataDir: path.join(dir, 'data'), runDir: dir });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const { socketPath } = server;
  const stopServer = server.stop;
  return {
    socketPath,
    url: (u, p, db) => `mysql://${encodeURIComponent(u)}:${encodeURIComponent(p)}@localhost/${db}?socketPath=${encodeURIComponent(socketPath)}`,
    connect: server.connect,
    exec: server.exec,
    async stop() {
      await stopServer();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private MariaDB with one database, a root connection to it and a scratch folder: one test file's serving database. */
export interface ServingDatabase {
  readonly server: MariaDb;
  readonly work: string;
  readonly admin: mysql.Connection;
  /** A root mysql:// URL of the database, for the local loader. */
  readonly url: string;
}

export async function openServingDatabase(database: string, workPrefix: string): Promise<ServingDatabase> {
  const server = await startMariaDb();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), workPrefix));
  await server.exec(`CREATE DATABASE ${database}`);
  const admin = await server.connect({ database });
  return { server, work, admin, url: server.url('root', '', database) };
}

export async function closeServingDatabase(db: Partial<ServingDatabase>): Promise<void> {
  await db.admin?.end();
  await db.server?.stop();
  if (db.work) fs.rmSync(db.work, { recursive: true, force: true });
}
