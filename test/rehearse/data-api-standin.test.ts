/**
 * The rehearsal's RDS Data API stand-in (local/rehearse/data-api-standin.ts) against a real MariaDB
 * and the S3 emulator, called through the REAL @aws-sdk/client-rds-data client (endpoint pointed at
 * the stand-in) and through the Lambdas' own wrapper (lambdas/shared/data-api.ts), so that what the
 * Lambdas send and parse is what is tested: typed parameters, server-side binding (a bound
 * identifier fails as on Aurora), transactions, LOAD DATA FROM S3, statement timeouts with and
 * without continueAfterTimeout, the user of the secret and its grants, and the error shapes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'child_process';
import { promisify } from 'util';
import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  ExecuteStatementCommandInput,
  RDSDataClient,
  RDSDataServiceException,
} from '@aws-sdk/client-rds-data';
import { DataApi } from '../../lambdas/shared/data-api';
import { LOAD_FORMAT_CLAUSE, loadMarker } from '../../core/serving/loader-sql';
import { DataApiStandIn, startDataApiStandIn } from '../../local/rehearse/data-api-standin';
import { startMariaDbServer } from '../../local/rehearse/mariadb';
import { MariaDb, mariaDbInstalled, startMariaDb } from '../support/mariadb';
import { LocalS3, startLocalS3 } from '../support/s3rver';

const CLUSTER = 'arn:aws:rds:us-east-1:123456789012:cluster:shopsight-dev';
const secret = (name: string): string => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const USERS: Record<string, { username: string; password: string } | undefined> = {
  [secret('admin')]: { username: 'admin', password: 'admin-Password-1' },
  [secret('reader')]: { username: 'reader', password: 'reader-Password-1' },
};
const DB = 'serving';
const BUCKET = 'exports';

let db: MariaDb;
let s3: LocalS3;
let work: string;
let standIn: DataApiStandIn;
/**
 * Stand-ins with tiny timeouts: `quick` times statements out after 200 ms, `idle` rolls back a
 * transaction unused for 600 ms. Only the statement under test goes through them; setup and polls go
 * through `standIn`, so a loaded machine cannot time out a statement the test did not mean to.
 */
let quick: DataApiStandIn;
let idle: DataApiStandIn;
let client: RDSDataClient;
let quickClient: RDSDataClient;
let idleClient: RDSDataClient;
const lines: string[] = [];

const newClient = (endpoint: string): RDSDataClient =>
  new RDSDataClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDUMMY', secretAccessKey: 'dummy' }, maxAttempts: 1 });
const adminApi = (c: RDSDataClient = client): DataApi => new DataApi(c, { resourceArn: CLUSTER, secretArn: secret('admin'), database: DB }, { attempts: 1 });
const exec = (input: Omit<ExecuteStatementCommandInput, 'resourceArn' | 'secretArn'> & { secretArn?: string }, c: RDSDataClient = client) =>
  c.send(new ExecuteStatementCommand({ resourceArn: CLUSTER, secretArn: secret('admin'), database: DB, ...input }));
/** The SDK's error for a promise that must fail. */
async function failure(p: Promise<unknown>): Promise<RDSDataServiceException> {
  try {
    await p;
  } catch (e) {
    return e as RDSDataServiceException;
  }
  throw new Error('expected the call to fail');
}
/** How many other sessions of the caller run a statement with this marker (load-serving polls PROCESSLIST so). */
const running = (marker: string, prefix = '') => ({
  sql: 'SELECT COUNT(*) AS `running` FROM information_schema.PROCESSLIST WHERE `ID` <> CONNECTION_ID() AND `INFO` LIKE :pattern',
  parameters: { pattern: `${prefix}%${marker}%` },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls `done` every 50 ms until it holds (true) or `ms` have passed (false). */
async function until(done: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

const describeDb = mariaDbInstalled() ? describe : describe.skip;

describeDb('Data API stand-in', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'data-api-standin-'));
    [db, s3] = await Promise.all([startMariaDb(), startLocalS3([BUCKET])]);
    await db.exec(`CREATE DATABASE ${DB}`);
    await db.exec("CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-Password-1'");
    await db.exec("GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION");
    // Aurora MySQL 3's S3 load role (made by the server start), as its master user has it.
    await db.exec("GRANT AWS_LOAD_S3_ACCESS TO 'admin'@'%' WITH ADMIN OPTION");
    await db.exec("SET DEFAULT ROLE AWS_LOAD_S3_ACCESS FOR 'admin'@'%'");
    await db.exec("CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-Password-1'");
    await db.exec(`GRANT SELECT ON ${DB}.* TO 'reader'@'%'`);
    const common = {
      socketPath: db.socketPath,
      clusterArn: CLUSTER,
      credentialsFor: async (arn: string) => USERS[arn],
      s3: { endpoint: s3.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
      workDir: path.join(work, 'standin'),
      log: (line: string) => lines.push(line),
    };
    standIn = await startDataApiStandIn({ ...common, statementTimeoutMs: 20_000 });
    quick = await startDataApiStandIn({ ...common, statementTimeoutMs: 200 });
    idle = await startDataApiStandIn({ ...common, statementTimeoutMs: 20_000, transactionTimeoutMs: 600 });
    client = newClient(standIn.endpoint);
    quickClient = newClient(quick.endpoint);
    idleClient = newClient(idle.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    quickClient?.destroy();
    idleClient?.destroy();
    await Promise.all([standIn?.stop(), quick?.stop(), idle?.stop()]);
    await Promise.all([db?.stop(), s3?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('typed parameters round trip, as JSON and as records with metadata; inserts report generated keys', async () => {
    await exec({
      sql: `CREATE TABLE typed (id BIGINT AUTO_INCREMENT PRIMARY KEY, l BIGINT, d DOUBLE, s VARCHAR(40), b BOOLEAN, n INT NULL,
        amount DECIMAL(12,3), ts DATETIME(6), dt DATE, tm TIME, j JSON, u CHAR(36), bl VARBINARY(8))`,
    });
    const insert = await exec({
      sql: 'INSERT INTO typed (l, d, s, b, n, amount, ts, dt, tm, j, u, bl) VALUES (:l, :d, :s, :b, :n, :amount, :ts, :dt, :tm, :j, :u, :bl)',
      parameters: [
        { name: 'l', value: { longValue: 9007199254740991 } },
        { name: 'd', value: { doubleValue: 0.25 } },
        { name: 's', value: { stringValue: "it's :not a placeholder" } },
        { name: 'b', value: { booleanValue: true } },
        { name: 'n', value: { isNull: true } },
        { name: 'amount', value: { stringValue: '1234.5' }, typeHint: 'DECIMAL' },
        { name: 'ts', value: { stringValue: '2026-10-01 12:34:56.123456' }, typeHint: 'TIMESTAMP' },
        { name: 'dt', value: { stringValue: '2026-10-01' }, typeHint: 'DATE' },
        { name: 'tm', value: { stringValue: '23:59:58' }, typeHint: 'TIME' },
        { name: 'j', value: { stringValue: '{"a":[1,2]}' }, typeHint: 'JSON' },
        { name: 'u', value: { stringValue: '123e4567-e89b-12d3-a456-426614174000' }, typeHint: 'UUID' },
        { name: 'bl', value: { blobValue: Uint8Array.from([0, 1, 254]) } },
      ],
    });
    expect(insert.numberOfRecordsUpdated).toBe(1);
    expect(insert.generatedFields).toEqual([{ longValue: 1 }]);

    const json = await exec({ sql: 'SELECT l, d, s, b, n, amount, ts, dt, tm, j, u, bl, COUNT(*) OVER () AS c FROM typed', formatRecordsAs: 'JSON' });
    expect(JSON.parse(json.formattedRecords ?? '')).toEqual([
      {
        l: 9007199254740991,
        d: 0.25,
        s: "it's :not a placeholder",
        b: 1,
        n: null,
        amount: '1234.500',
        ts: '2026-10-01 12:34:56.123456',
        dt: '2026-10-01',
        tm: '23:59:58',
        j: '{"a":[1,2]}',
        u: '123e4567-e89b-12d3-a456-426614174000',
        bl: Buffer.from([0, 1, 254]).toString('base64'),
        c: 1,
      },
    ]);
    expect(json.records).toBeUndefined();

    const records = await exec({ sql: 'SELECT l, d, s, n, amount, bl FROM typed WHERE s = :s', parameters: [{ name: 's', value: { stringValue: "it's :not a placeholder" } }], includeResultMetadata: true });
    expect(records.records?.[0]).toEqual([
      { longValue: 9007199254740991 },
      { doubleValue: 0.25 },
      { stringValue: "it's :not a placeholder" },
      { isNull: true },
      { stringValue: '1234.500' },
      { blobValue: Uint8Array.from([0, 1, 254]) },
    ]);
    expect(records.columnMetadata?.map((m) => [m.label, m.typeName, m.tableName, m.nullable])).toEqual([
      ['l', 'BIGINT', 'typed', 1],
      ['d', 'DOUBLE', 'typed', 1],
      ['s', 'VARCHAR', 'typed', 1],
      ['n', 'INT', 'typed', 1],
      ['amount', 'DECIMAL', 'typed', 1],
      ['bl', 'VARBINARY', 'typed', 1],
    ]);

    // The binary protocol (a statement with parameters) gives the same text for dates and times.
    const bound = await exec({ sql: 'SELECT ts, dt, tm, amount FROM typed WHERE id = :id', parameters: [{ name: 'id', value: { longValue: 1 } }], formatRecordsAs: 'JSON' });
    expect(JSON.parse(bound.formattedRecords ?? '')).toEqual([{ ts: '2026-10-01 12:34:56.123456', dt: '2026-10-01', tm: '23:59:58', amount: '1234.500' }]);
    // A BIGINT keeps all its digits in the JSON text.
    const big = await exec({ sql: 'SELECT CAST(9223372036854775807 AS SIGNED) AS m', formatRecordsAs: 'JSON' });
    expect(big.formattedRecords).toBe('[{"m":9223372036854775807}]');

    // Through the Lambdas' wrapper: `:name` in quotes, back-quoted names and comments is text, not a parameter.
    const rows = await adminApi().query({ sql: "SELECT ':a' AS `:b`, :c AS c /* :d */", parameters: { c: 42 } });
    expect(rows).toEqual([{ ':b': ':a', c: 42 }]);
    const bad = await failure(exec({ sql: 'SELECT :missing' }));
    expect(bad.name).toBe('BadRequestException');
    const hint = await failure(exec({ sql: 'SELECT :t', parameters: [{ name: 't', value: { stringValue: '2026-10-01T12:00:00Z' }, typeHint: 'TIMESTAMP' }] }));
    expect(hint.name).toBe('BadRequestException');
  });

  test('a bound identifier fails as on Aurora: server-side prepared statements bind values only', async () => {
    const e = await failure(exec({ sql: "CREATE USER :u@'%' IDENTIFIED BY :p", parameters: [{ name: 'u', value: { stringValue: 'x' } }, { name: 'p', value: { stringValue: 'y' } }] }));
    expect(e.name).toBe('DatabaseErrorException');
    expect(e.message).toMatch(/^You have an error in your SQL syntax.*near '\?@'%' IDENTIFIED BY \?' at line 1; Error code: 1064; SQLState: 42000$/);
    await expect(adminApi().query({ sql: "GRANT SELECT ON serving.* TO :user@'%'", parameters: { user: 'reader' } })).rejects.toMatchObject({
      name: 'DatabaseErrorException',
      message: expect.stringMatching(/Error code: 1064; SQLState: 42000$/),
    });
    // The same value bound where SQL takes a value works.
    expect(await adminApi().query({ sql: 'SELECT COUNT(*) AS n FROM mysql.user WHERE User = :u', parameters: { u: 'reader' } })).toEqual([{ n: 1 }]);
  });

  test('transactions: one connection per id, isolated until commit, rolled back on rollback, unknown ids refused', async () => {
    const api = adminApi();
    await api.query({ sql: 'CREATE TABLE tx (k INT PRIMARY KEY)', parameters: {} });
    const id = await api.beginTransaction();
    await api.execute({ sql: 'INSERT INTO tx VALUES (:k)', parameters: { k: 1 } }, { transactionId: id });
    expect(await api.execute({ sql: 'SELECT COUNT(*) AS n FROM tx', parameters: {} }, { transactionId: id })).toEqual([{ n: 1 }]);
    expect(await api.query({ sql: 'SELECT COUNT(*) AS n FROM tx', parameters: {} })).toEqual([{ n: 0 }]);
    await api.commit(id);
    expect(await api.query({ sql: 'SELECT COUNT(*) AS n FROM tx', parameters: {} })).toEqual([{ n: 1 }]);

    await expect(
      api.transaction(async (t) => {
        await t.query({ sql: 'INSERT INTO tx VALUES (:k)', parameters: { k: 2 } });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await api.query({ sql: 'SELECT k FROM tx ORDER BY k', parameters: {} })).toEqual([{ k: 1 }]);

    const gone = await failure(api.commit(id));
    expect(gone.name).toBe('TransactionNotFoundException');
    const unknown = await failure(api.execute({ sql: 'SELECT 1', parameters: {} }, { transactionId: 'no-such-id' }));
    expect(unknown.name).toBe('TransactionNotFoundException');
    const status = await client.send(new BeginTransactionCommand({ resourceArn: CLUSTER, secretArn: secret('admin'), database: DB }));
    const committed = await client.send(new CommitTransactionCommand({ resourceArn: CLUSTER, secretArn: secret('admin'), transactionId: status.transactionId }));
    expect(committed.transactionStatus).toBe('Transaction Committed');
  });

  test('BatchExecuteStatement runs the statement once per parameter set', async () => {
    await exec({ sql: 'CREATE TABLE batch (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))' });
    const r = await client.send(
      new BatchExecuteStatementCommand({
        resourceArn: CLUSTER,
        secretArn: secret('admin'),
        database: DB,
        sql: 'INSERT INTO batch (v) VALUES (:v)',
        parameterSets: ['a', 'b', 'c'].map((v) => [{ name: 'v', value: { stringValue: v } }]),
      }),
    );
    expect(r.updateResults).toEqual([1, 2, 3].map((id) => ({ generatedFields: [{ longValue: id }] })));
    expect(await adminApi().query({ sql: 'SELECT GROUP_CONCAT(v ORDER BY id) AS vs FROM batch', parameters: {} })).toEqual([{ vs: 'a,b,c' }]);
  });

  test('a Lambda in a child process reaches it through AWS_ENDPOINT_URL_RDS_DATA and dummy credentials', async () => {
    const script = `
      const { RDSDataClient, ExecuteStatementCommand } = require('@aws-sdk/client-rds-data');
      new RDSDataClient({}).send(new ExecuteStatementCommand({ resourceArn: ${JSON.stringify(CLUSTER)}, secretArn: ${JSON.stringify(secret('reader'))},
        database: ${JSON.stringify(DB)}, sql: 'SELECT CURRENT_USER() AS u', formatRecordsAs: 'JSON' }))
        .then((o) => process.stdout.write(o.formattedRecords), (e) => { console.error(e.name, e.message); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: path.resolve(__dirname, '../..'),
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ENDPOINT_URL_RDS_DATA: standIn.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDUMMY',
        AWS_SECRET_ACCESS_KEY: 'dummy',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    expect(JSON.parse(stdout)).toEqual([{ u: 'reader@%' }]);
  });

  test('a result over 1 MiB is refused, as the Data API refuses it', async () => {
    const e = await failure(exec({ sql: 'SELECT REPEAT(\'x\', 60000) AS s FROM seq_1_to_20', formatRecordsAs: 'JSON' }));
    expect([e.name, e.message]).toEqual(['BadRequestException', 'Database returned more than the allowed response size limit']);
  });

  test('an idle transaction times out and is rolled back', async () => {
    await adminApi().query({ sql: 'CREATE TABLE idle (k INT PRIMARY KEY)', parameters: {} });
    const api = adminApi(idleClient);
    const id = await api.beginTransaction();
    await api.execute({ sql: 'INSERT INTO idle VALUES (1)', parameters: {} }, { transactionId: id });
    await sleep(1000);
    expect((await failure(api.commit(id))).name).toBe('TransactionNotFoundException');
    expect(await adminApi().query({ sql: 'SELECT COUNT(*) AS n FROM idle', parameters: {} })).toEqual([{ n: 0 }]);
  });

  describe('LOAD DATA FROM S3', () => {
    const into = (table: string) => `INTO TABLE \`${table}\` ${LOAD_FORMAT_CLAUSE} (\`id\`, \`name\`) /* ${loadMarker('r1', table)} */`;
    const put = (key: string, body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(body) }));

    beforeAll(async () => {
      for (const t of ['loaded', 'strict', 'param']) await db.exec(`CREATE TABLE ${DB}.${t} (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL)`);
      await put('runs/r1/loaded/part-00000.csv', '1,"ann"\n2,"bob"\n');
      await put('runs/r1/loaded/part-00001.csv', '3,"cy"\n');
      await put('runs/r1/loaded/_SUCCESS', '');
      await put('runs/r1/loaded-other/part-00000.csv', '9,"not"\n'); // shares the prefix text, not the folder
      await put('runs/r1/strict/part-00000.csv', '1,"ok"\n');
      await put('runs/r1/strict/part-00001.csv', '2,"far too long"\n');
    });

    test('PREFIX loads every object of the folder as one statement, and counts the rows', async () => {
      const r = await exec({ sql: `LOAD DATA FROM S3 PREFIX 's3://${BUCKET}/runs/r1/loaded/' ${into('loaded')}`, continueAfterTimeout: true });
      expect(r.numberOfRecordsUpdated).toBe(3);
      expect(await adminApi().query({ sql: 'SELECT id, name FROM loaded ORDER BY id', parameters: {} })).toEqual([
        { id: 1, name: 'ann' },
        { id: 2, name: 'bob' },
        { id: 3, name: 'cy' },
      ]);
      const file = await exec({ sql: `LOAD DATA FROM S3 FILE 's3://${BUCKET}/runs/r1/loaded-other/part-00000.csv' REPLACE ${into('loaded')}` });
      expect(file.numberOfRecordsUpdated).toBe(1);
      const missing = await failure(exec({ sql: `LOAD DATA FROM S3 's3://${BUCKET}/runs/r1/nothing.csv' ${into('loaded')}` }));
      expect(missing.message).toMatch(/Can't find file: 's3:\/\/exports\/runs\/r1\/nothing.csv'/);
      // MANIFEST: the entries' objects; a missing optional entry is skipped, a missing mandatory one fails.
      const entries = [
        { url: `s3://${BUCKET}/runs/r1/loaded/part-00001.csv`, mandatory: true },
        { url: `s3://${BUCKET}/runs/r1/gone.csv`, mandatory: false },
      ];
      await put('runs/r1/manifest-ok.json', JSON.stringify({ entries }));
      await put('runs/r1/manifest-bad.json', JSON.stringify({ entries: [{ ...entries[1], mandatory: true }] }));
      await exec({ sql: 'DELETE FROM loaded WHERE id = 3' });
      expect((await exec({ sql: `LOAD DATA FROM S3 MANIFEST 's3://${BUCKET}/runs/r1/manifest-ok.json' ${into('loaded')}` })).numberOfRecordsUpdated).toBe(1);
      expect(await adminApi().query({ sql: 'SELECT name FROM loaded WHERE id = 3', parameters: {} })).toEqual([{ name: 'cy' }]);
      expect((await failure(exec({ sql: `LOAD DATA FROM S3 MANIFEST 's3://${BUCKET}/runs/r1/manifest-bad.json' ${into('loaded')}` }))).message).toMatch(/Can't find file: 's3:\/\/exports\/runs\/r1\/gone.csv'/);
    });

    test('a bad row (strict mode) fails the whole statement and leaves the table empty', async () => {
      const e = await failure(exec({ sql: `LOAD DATA FROM S3 PREFIX 's3://${BUCKET}/runs/r1/strict/' ${into('strict')}` }));
      expect(e.name).toBe('DatabaseErrorException');
      // The LOCAL load's warning, as the error; rows count across the prefix's objects (Aurora's server-side
      // strict load words it 1406 "Data too long").
      expect(e.message).toBe("Data truncated for column 'name' at row 2; Error code: 1265; SQLState: 01000");
      expect(await adminApi().query({ sql: 'SELECT COUNT(*) AS n FROM strict', parameters: {} })).toEqual([{ n: 0 }]);
    });

    test('a LOAD that outlives its call (continueAfterTimeout) shows in PROCESSLIST as LOAD DATA with its marker until it has loaded everything', async () => {
      const rows = 300_000;
      const half = Array.from({ length: rows / 2 }, (_, i) => `${i},"n${i % 1000}"`).join('\n');
      await put('runs/r1/big/part-00000.csv', half); // no newline at the end: the next object must not join its last line
      await put('runs/r1/big/part-00001.csv', Array.from({ length: rows / 2 }, (_, i) => `${rows / 2 + i},"m"`).join('\n') + '\n');
      await db.exec(`CREATE TABLE ${DB}.big (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL)`);
      const api = adminApi(quickClient);
      const marker = loadMarker('r1', 'big');
      const e = await failure(api.execute({ sql: `LOAD DATA FROM S3 PREFIX 's3://${BUCKET}/runs/r1/big/' ${into('big')}`, parameters: {} }, { continueAfterTimeout: true }));
      expect(e.name).toBe('StatementTimeoutException');
      expect(await adminApi().query(running(marker, 'LOAD DATA'))).toEqual([{ running: 1 }]);
      expect(await until(async () => Number((await adminApi().query(running(marker, 'LOAD DATA')))[0].running) === 0, 60_000)).toBe(true);
      expect(await adminApi().query({ sql: 'SELECT COUNT(*) AS n, MAX(id) AS top FROM big', parameters: {} })).toEqual([{ n: rows, top: rows - 1 }]);
    });

    test('only a session with the AWS_LOAD_S3_ACCESS role may load; the Aurora grant statements for it run unchanged', async () => {
      await db.exec("CREATE USER 'loader'@'%' IDENTIFIED BY 'loader-Password-1'");
      USERS[secret('loader')] = { username: 'loader', password: 'loader-Password-1' };
      await db.exec(`GRANT SELECT, INSERT ON ${DB}.param TO 'loader'@'%'`);
      const loader = new DataApi(client, { resourceArn: CLUSTER, secretArn: secret('loader'), database: DB }, { attempts: 1 });
      const sql = `LOAD DATA FROM S3 PREFIX 's3://${BUCKET}/runs/r1/loaded/' ${into('param')}`;
      const denied = await failure(loader.execute({ sql, parameters: {} }));
      expect(denied.message).toBe('Access denied; you need (at least one of) the LOAD FROM S3 privilege(s) for this operation; Error code: 1227; SQLState: 42000');
      // What the serving-schema migrations send on Aurora (MySQL 8 spelling), as the admin.
      await adminApi().query({ sql: "GRANT AWS_LOAD_S3_ACCESS TO 'loader'@'%'", parameters: {} });
      await adminApi().query({ sql: "SET DEFAULT ROLE AWS_LOAD_S3_ACCESS TO 'loader'@'%'", parameters: {} });
      await adminApi().query({ sql: 'ALTER TABLE param CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin', parameters: {} });
      expect(await loader.execute({ sql, parameters: {} })).toEqual([]);
      expect(await loader.query({ sql: "SELECT COUNT(*) AS n, MAX(name = 'cy ') AS padded FROM param", parameters: {} })).toEqual([{ n: 3, padded: 0 }]);
      await adminApi().query({ sql: 'TRUNCATE TABLE param', parameters: {} });
    });

    test('a placeholder where the URI goes fails as the parser does', async () => {
      const e = await failure(
        adminApi().execute({ sql: `LOAD DATA FROM S3 PREFIX :source ${into('param')}`, parameters: { source: `s3://${BUCKET}/runs/r1/loaded/` } }),
      );
      expect(e.name).toBe('DatabaseErrorException');
      expect(e.message).toMatch(/^You have an error in your SQL syntax; .* near '\? INTO TABLE `param` CHARACTER SET utf8mb4 .*' at line 1; Error code: 1064; SQLState: 42000$/);
      expect(await adminApi().query({ sql: 'SELECT COUNT(*) AS n FROM param', parameters: {} })).toEqual([{ n: 0 }]);
    });
  });

  test('continueAfterTimeout: the call fails with StatementTimeoutException and the statement runs on, in PROCESSLIST', async () => {
    const api = adminApi(quickClient);
    const marker = `/* ${loadMarker('r1', 'products')} */`;
    const e = await failure(api.execute({ sql: `SELECT SLEEP(3) ${marker}`, parameters: {} }, { continueAfterTimeout: true }));
    expect(e.name).toBe('StatementTimeoutException');
    expect((e as RDSDataServiceException & { dbConnectionId?: number }).dbConnectionId).toEqual(expect.any(Number));
    // A poll of the process list sees it running, then gone when its 3 s are up.
    const gone = async () => Number((await adminApi().query(running(marker)))[0].running) === 0;
    expect(await adminApi().query(running(marker))).toEqual([{ running: 1 }]);
    expect(await until(gone, 10_000)).toBe(true);

    // Without continueAfterTimeout the statement is killed: gone well before its 30 s are up.
    const killed = await failure(api.execute({ sql: `SELECT SLEEP(30) ${marker}`, parameters: {} }));
    expect(killed.name).toBe('StatementTimeoutException');
    expect(await until(gone, 10_000)).toBe(true);

    // A transaction whose statement outlived its call takes no other statement meanwhile.
    const id = await api.beginTransaction();
    expect((await failure(api.execute({ sql: `SELECT SLEEP(0.6) ${marker}`, parameters: {} }, { transactionId: id, continueAfterTimeout: true }))).name).toBe('StatementTimeoutException');
    const busy = await failure(api.execute({ sql: 'SELECT 1', parameters: {} }, { transactionId: id }));
    expect([busy.name, busy.message]).toEqual(['DatabaseErrorException', 'Transaction is still running a query']);
    expect(await until(gone, 10_000)).toBe(true);
    // The stand-in frees the transaction when the statement's result reaches it, a moment later.
    const rolledBack = () =>
      api.rollback(id).then(
        () => true,
        (e: Error) => (e.message === 'Transaction is still running a query' ? false : Promise.reject(e)),
      );
    expect(await until(rolledBack, 5_000)).toBe(true);
  });

  test('the secret names the user: unknown secrets and other clusters are refused, grants apply', async () => {
    const wrongSecret = await failure(exec({ sql: 'SELECT 1', secretArn: secret('nobody') }));
    expect(wrongSecret.name).toBe('SecretsErrorException');
    const wrongCluster = await failure(client.send(new ExecuteStatementCommand({ resourceArn: `${CLUSTER}-other`, secretArn: secret('admin'), sql: 'SELECT 1' })));
    expect(wrongCluster.name).toBe('BadRequestException');

    const reader = new DataApi(client, { resourceArn: CLUSTER, secretArn: secret('reader'), database: DB }, { attempts: 1 });
    expect(await reader.query({ sql: 'SELECT CURRENT_USER() AS u', parameters: {} })).toEqual([{ u: 'reader@%' }]);
    const denied = await failure(reader.query({ sql: 'INSERT INTO tx VALUES (:k)', parameters: { k: 9 } }));
    expect(denied.name).toBe('DatabaseErrorException');
    expect(denied.message).toBe("INSERT command denied to user 'reader'@'localhost' for table `serving`.`tx`; Error code: 1142; SQLState: 42000");
    const noTable = await failure(reader.query({ sql: 'SELECT * FROM nowhere', parameters: {} }));
    expect(noTable.message).toBe("Table 'serving.nowhere' doesn't exist; Error code: 1146; SQLState: 42S02");
  });

  test('every call is logged in one line with operation, user, time and outcome', () => {
    expect(lines.some((l) => /^Execute user=reader \d+ms DatabaseErrorException: INSERT command denied .* INSERT INTO tx VALUES \(:k\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /^BeginTransaction user=admin \d+ms ok$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Execute user=- \d+ms SecretsErrorException/.test(l))).toBe(true);
  });
});

describeDb('the rehearsal MariaDB server', () => {
  test('a second start on the same data folder continues with its data; a foreign folder is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearse-db-'));
    try {
      const first = await startMariaDbServer({ dataDir: path.join(dir, 'data'), runDir: path.join(dir, 'run') });
      expect(first.initialised).toBe(true);
      await first.createAdmin('admin', 'admin-Password-1');
      await first.exec('CREATE DATABASE kept');
      await first.exec('CREATE TABLE kept.t (k INT PRIMARY KEY)');
      await first.exec('INSERT INTO kept.t VALUES (7)');
      await first.stop();

      const second = await startMariaDbServer({ dataDir: path.join(dir, 'data'), runDir: path.join(dir, 'run') });
      try {
        expect(second.initialised).toBe(false);
        const c = await second.connect({ user: 'admin', password: 'admin-Password-1', database: 'kept' });
        const [rows] = await c.query('SELECT k, @@sql_mode LIKE \'%STRICT_TRANS_TABLES%\' AS strict, @@local_infile + 0 AS li FROM t');
        await c.end();
        expect(rows).toEqual([{ k: 7, strict: 1, li: 1 }]);
      } finally {
        await second.stop();
      }

      fs.mkdirSync(path.join(dir, 'foreign'));
      fs.writeFileSync(path.join(dir, 'foreign', 'notes.txt'), 'mine');
      await expect(startMariaDbServer({ dataDir: path.join(dir, 'foreign'), runDir: path.join(dir, 'run2') })).rejects.toThrow(/not empty/);
      expect(fs.readFileSync(path.join(dir, 'foreign', 'notes.txt'), 'utf-8')).toBe('mine');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
