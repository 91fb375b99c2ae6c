/**
 * A private MariaDB server for one test file: Debian's mariadbd on a fresh data directory and a
 * Unix socket in a temp folder (no TCP port, so parallel jest workers never collide), LOCAL INFILE
 * on, strict SQL mode as on Aurora MySQL 3. Start it in beforeAll, stop it in afterAll (~3 s).
 * `npm test` installs MariaDB from apt when missing (scripts/ensure-test-tools.sh).
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as mysql from 'mysql2/promise';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

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

export const mariaDbInstalled = (): boolean => fs.existsSync(MARIADBD) && fs.existsSync(INSTALL_DB);

export async function startMariaDb(): Promise<MariaDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mariadb-'));
  const datadir = path.join(dir, 'data');
  const socketPath = path.join(dir, 'mysqld.sock');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? ['--user=root'] : [];
  await promisify(execFile)(INSTALL_DB, [
    '--no-defaults',
    `--datadir=${datadir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...user,
  ]);
  const server: ChildProcess = spawn(
    MARIADBD,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--socket=${socketPath}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      `--log-error=${path.join(dir, 'error.log')}`,
      '--skip-networking',
      '--local-infile=1',
      // Aurora MySQL 3's default mode includes STRICT_TRANS_TABLES; all tables here are InnoDB.
      '--sql-mode=STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_bin',
      '--innodb-buffer-pool-size=64M',
      '--innodb-log-file-size=16M',
      '--innodb-flush-log-at-trx-commit=0',
      '--skip-log-bin',
      ...user,
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => server.once('exit', () => ((exited = true), resolve())));

  const connect = async (options: { user?: string; password?: string; database?: string } = {}): Promise<mysql.Connection> =>
    mysql.createConnection({
      socketPath,
      user: options.user ?? 'root',
      password: options.password ?? '',
      database: options.database,
      multipleStatements: false,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`mariadbd exited during start-up; see ${path.join(dir, 'error.log')}`);
    try {
      const c = await connect();
      await c.end();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        server.kill('SIGKILL');
        throw new Error(`mariadbd did not accept connections within 30 s: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const exec = async (sql: string, values: unknown[] = []): Promise<unknown> => {
    const c = await connect();
    try {
      const [result] = await c.query(sql, values);
      return result;
    } finally {
      await c.end();
    }
  };
  // Anonymous accounts would shadow users@'%' for socket (localhost) logins.
  await exec("DELETE FROM mysql.global_priv WHERE User = ''");
  await exec('FLUSH PRIVILEGES');

  return {
    socketPath,
    url: (u, p, db) => `mysql://${encodeURIComponent(u)}:${encodeURIComponent(p)}@localhost/${db}?socketPath=${encodeURIComponent(socketPath)}`,
    connect,
    exec,
    async stop() {
      if (!exited) {
        server.kill('SIGTERM');
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
