/**
 * The private MariaDB server that stands in for Aurora MySQL: Debian's mariadbd on a data folder of
 * its own and a Unix socket (no TCP port: nothing else on the machine can reach it, and parallel
 * runs never collide), LOCAL INFILE on, strict SQL mode as on Aurora MySQL 3, utf8mb4.
 *
 * `dataDir` is initialised only when it holds no database yet, so a second rehearsal with the same
 * folder continues with the first one's data, as a second execution in the same account would.
 * `runDir` holds the socket, the pid file and the error log. The test helper (test/support/mariadb.ts)
 * starts one on a temp folder; the rehearsal on its output folder.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import * as mysql from 'mysql2/promise';
import { LOAD_S3_ROLE } from './data-api-dialect';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Aurora MySQL 3's default mode includes STRICT_TRANS_TABLES; all tables here are InnoDB. */
export const STRICT_SQL_MODE = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

export const mariaDbInstalled = (): boolean => fs.existsSync(MARIADBD) && fs.existsSync(INSTALL_DB);

export interface ConnectOptions {
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
}

export interface MariaDbServer {
  readonly socketPath: string;
  readonly dataDir: string;
  readonly runDir: string;
  /** True when this start initialised `dataDir` (false: it continued an existing one). */
  readonly initialised: boolean;
  /** A new connection (root unless told otherwise); the caller ends it. */
  connect(options?: ConnectOptions): Promise<mysql.Connection>;
  /** Runs one statement as root (values substituted client-side; for set-up only). */
  exec(sql: string, values?: unknown[]): Promise<unknown>;
  /** Creates (or re-passwords) a user with every privilege and the S3 load role to grant, like the cluster's master user. */
  createAdmin(user: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

/** Socket paths longer than this do not fit sockaddr_un (108 bytes on Linux, with the NUL). */
const MAX_SOCKET_PATH = 107;

export async function startMariaDbServer(options: { dataDir: string; runDir: string }): Promise<MariaDbServer> {
  const dataDir = path.resolve(options.dataDir);
  const runDir = path.resolve(options.runDir);
  const socketPath = path.join(runDir, 'mysqld.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`MariaDB socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter run folder`);
  }
  fs.mkdirSync(runDir, { recursive: true });
  const errorLog = path.join(runDir, 'error.log');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? ['--user=root'] : [];

  // The system schema exists once mariadb-install-db has finished; a half-made folder is refused, not overwritten.
  const initialised = !fs.existsSync(path.join(dataDir, 'mysql'));
  if (initialised) {
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} is not empty and holds no MariaDB system schema; refusing to initialise it`);
    }
    fs.mkdirSync(dataDir, { recursive: true });
    await promisify(execFile)(INSTALL_DB, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...user]);
  }

  const server: ChildProcess = spawn(
    MARIADBD,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socketPath}`,
      `--pid-file=${path.join(runDir, 'mysqld.pid')}`,
      `--log-error=${errorLog}`,
      '--skip-networking',
      '--local-infile=1',
      `--sql-mode=${STRICT_SQL_MODE}`,
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

  const connect = async (o: ConnectOptions = {}): Promise<mysql.Connection> =>
    mysql.createConnection({
      socketPath,
      user: o.user ?? 'root',
      password: o.password ?? '',
      database: o.database,
      multipleStatements: false,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`mariadbd exited during start-up; see ${errorLog}`);
    try {
      const c = await connect();
      await c.end();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        server.kill('SIGKILL');
        await exit;
        throw new Error(`mariadbd did not accept connections within 30 s: ${(e as Error).message}; see ${errorLog}`);
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
  // Anonymous accounts would shadow user@'%' for socket (localhost) logins. Idempotent on a reused folder.
  await exec("DELETE FROM mysql.global_priv WHERE User = ''");
  await exec('FLUSH PRIVILEGES');
  // Aurora MySQL 3's built-in role for LOAD DATA FROM S3: the loader's grants name it (the Data API stand-in checks it).
  await exec(`CREATE ROLE IF NOT EXISTS ${LOAD_S3_ROLE}`);

  return {
    socketPath,
    dataDir,
    runDir,
    initialised,
    connect,
    exec,
    async createAdmin(name, password) {
      await exec("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [name, password]);
      await exec("ALTER USER ?@'%' IDENTIFIED BY ?", [name, password]);
      await exec("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [name]);
      // As Aurora's master user: may load from S3 and grant that role to others.
      await exec(`GRANT ${LOAD_S3_ROLE} TO ?@'%' WITH ADMIN OPTION`, [name]);
      await exec(`SET DEFAULT ROLE ${LOAD_S3_ROLE} FOR ?@'%'`, [name]);
    },
    async stop() {
      if (exited) return;
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
