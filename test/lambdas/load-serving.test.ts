import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
  StatementTimeoutException,
  DatabaseResumingException,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { exportManifestKey, exportTablePrefix, servedTables, servingColumns, ServingManifest } from '../../lib/contract';
import { handler, loadServing } from '../../lambdas/load-serving';
import { DataApi, toSqlParameter } from '../../lambdas/shared/data-api';
import { LocalS3, startLocalS3 } from '../support/s3rver';

const BUCKET = 'exports';
const CLUSTER_ARN = 'arn:aws:rds:us-east-1:111122223333:cluster:serving';
const LOADER_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:loader-AbCdEf';
const ENV = { CLUSTER_ARN, SECRET_ARN: LOADER_SECRET_ARN, DATABASE_NAME: 'shopsight' };
const rds = mockClient(RDSDataClient);
let s3: LocalS3;
let restoreEnv: () => void;

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  restoreEnv = s3.useFromSdk();
  process.env.EXPORT_BUCKET = BUCKET;
  Object.assign(process.env, ENV);
});
afterAll(async () => {
  for (const key of Object.keys(ENV)) delete process.env[key];
  restoreEnv();
  await s3.stop();
});

const put = (key: string, body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: Buffer.byteLength(body) }));

/** A run whose every served table has one CSV of two rows, as the prepare job writes them. */
async function writeRun(runId: string, edit: (m: { tables: Record<string, { columns: string[]; rowCount: number; files: string[] }> }) => void = () => {}) {
  const manifest = { runId, createdAt: '2026-11-23T00:00:00Z', tables: {} as Record<string, { columns: string[]; rowCount: number; files: string[] }> };
  for (const table of servedTables()) {
    const key = `${exportTablePrefix(runId, table.name)}part-00000.csv`;
    await put(key, 'a,b\nc,d\n');
    manifest.tables[table.name] = { columns: servingColumns(table).map((c) => c.name), rowCount: 2, files: [key] };
  }
  edit(manifest);
  await put(exportManifestKey(runId), JSON.stringify(manifest satisfies ServingManifest));
}

interface FakeDatabase {
  /** Rows of the staging count per table (default: the manifest's 2). */
  counts?: Record<string, number>;
  /** Status of the run in load_runs, if any. */
  runStatus?: string;
  /** Tables whose LOAD outlives the call (StatementTimeoutException), and how many polls it stays running. */
  slowLoads?: Record<string, number>;
}

/** Answers the Data API like a serving database would, from the SQL text. */
function fakeDatabase(db: FakeDatabase = {}): void {
  rds.reset();
  rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
  rds.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
  rds.on(RollbackTransactionCommand).resolves({ transactionStatus: 'Rollback Complete' });
  const polls: Record<string, number> = { ...db.slowLoads };
  rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
    const sql = input.sql ?? '';
    const json = (rows: unknown[]) => ({ formattedRecords: JSON.stringify(rows) });
    if (sql.startsWith('SELECT `version` FROM `schema_migrations`')) return json([{ version: 1 }]);
    if (sql.startsWith('SELECT `status` FROM `load_runs`')) return json(db.runStatus ? [{ status: db.runStatus }] : []);
    if (sql.startsWith('SELECT `run_id` FROM `load_runs` WHERE `status`')) return json([]);
    if (sql.startsWith('SELECT `run_id`, `status`, `tables`')) return json([{ run_id: 'x', status: db.runStatus, tables: '{"c_date":{"rowCount":2,"seconds":1}}' }]);
    const count = /^SELECT COUNT\(\*\) AS `row_count` FROM `(\w+)__staging`/.exec(sql);
    if (count) return json([{ row_count: db.counts?.[count[1]] ?? 2 }]);
    const load = /^LOAD DATA FROM S3 PREFIX :source INTO TABLE `(\w+)__staging`/.exec(sql);
    if (load && db.slowLoads?.[load[1]] !== undefined) throw new StatementTimeoutException({ message: 'timed out', $metadata: {} });
    const running = /shopsight-load\.[\w-]+\.(\w+) \*\//.exec(String(input.parameters?.[0]?.value?.stringValue));
    if (sql.includes('information_schema.PROCESSLIST') && running) return json([{ running: polls[running[1]]-- > 0 ? 1 : 0 }]);
    return { numberOfRecordsUpdated: 0 };
  });
}

const executed = (): ExecuteStatementCommandInput[] => rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);

test('a complete run is verified, then loaded through the Data API as the loader', async () => {
  await writeRun('ok-run');
  fakeDatabase();
  const result = await handler({ runId: 'ok-run' });
  expect(result.status).toBe('loaded');
  expect(Object.keys(result.tables).sort()).toEqual(servedTables().map((t) => t.name).sort());
  expect(result.tables.c_date).toMatchObject({ rowCount: 2, files: 1 });

  const calls = executed();
  // Every call runs as the loader's secret on the configured cluster and database, rows as JSON.
  for (const call of calls) {
    expect(call).toMatchObject({ resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight', formatRecordsAs: 'JSON' });
  }
  // The claim runs in one transaction, with the run id bound.
  const claim = calls.filter((c) => c.transactionId === 'tx-1');
  expect(claim.map((c) => c.sql!.split('\n')[0].slice(0, 40))).toEqual([
    'SELECT `status` FROM `load_runs` WHERE `',
    "SELECT `run_id` FROM `load_runs` WHERE `",
    'INSERT INTO `load_runs` (`run_id`, `stat',
  ]);
  expect(claim[0].parameters).toEqual([{ name: 'runId', value: { stringValue: 'ok-run' } }]);
  expect(claim[1].parameters).toEqual([
    { name: 'runId', value: { stringValue: 'ok-run' } },
    { name: 'staleSeconds', value: { longValue: 1200 } },
  ]);
  expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(1);

  // Each table: staging, LOAD FROM S3 with the prefix bound and continueAfterTimeout, count.
  const loads = calls.filter((c) => c.sql!.startsWith('LOAD DATA FROM S3'));
  expect(loads).toHaveLength(servedTables().length);
  const cDate = loads.find((c) => c.sql!.includes('`c_date__staging`'))!;
  expect(cDate.continueAfterTimeout).toBe(true);
  // Only the LOADs may outlive their call.
  expect(calls.filter((c) => c.continueAfterTimeout).length).toBe(loads.length);
  expect(cDate.parameters).toEqual([{ name: 'source', value: { stringValue: `s3://${BUCKET}/${exportTablePrefix('ok-run', 'c_date')}` } }]);
  expect(cDate.sql).toBe(
    "LOAD DATA FROM S3 PREFIX :source INTO TABLE `c_date__staging` CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' (`event_date`, `cart_events`, `cart_users`) /* shopsight-load.ok-run.c_date */",
  );
  const sqls = calls.map((c) => c.sql!);
  expect(sqls).toContain('CREATE TABLE `c_date__staging` LIKE `c_date`');
  // Then one RENAME for every table, after the previous versions are dropped, and the run recorded.
  const rename = sqls.filter((q) => q.startsWith('RENAME TABLE'));
  expect(rename).toHaveLength(1);
  for (const t of servedTables()) expect(rename[0]).toContain(`\`${t.name}\` TO \`${t.name}__previous\`, \`${t.name}__staging\` TO \`${t.name}\``);
  expect(sqls.indexOf(rename[0])).toBe(sqls.findIndex((q) => q.startsWith('DROP TABLE IF EXISTS `c_date__previous`')) + 1);
  const finished = calls[calls.length - 1];
  expect(finished.sql).toMatch(/^UPDATE `load_runs` SET `status` = :status/);
  expect(finished.parameters).toEqual(expect.arrayContaining([{ name: 'status', value: { stringValue: 'loaded' } }, { name: 'error', value: { isNull: true } }]));
});

test('a run already loaded changes nothing', async () => {
  await writeRun('done-run');
  fakeDatabase({ runStatus: 'loaded' });
  const result = await handler({ runId: 'done-run' });
  expect(result.status).toBe('already-loaded');
  const sqls = executed().map((c) => c.sql!);
  expect(sqls.some((q) => /^(LOAD|CREATE|DROP|RENAME|INSERT|UPDATE)/.test(q))).toBe(false);
});

test('a count that does not match the manifest fails before the swap and records the failure', async () => {
  await writeRun('short-run');
  fakeDatabase({ counts: { top_brands: 1 } });
  await expect(handler({ runId: 'short-run' })).rejects.toThrow(/^top_brands: count: staging has 1 rows, the manifest says 2$/);
  const sqls = executed().map((c) => c.sql!);
  expect(sqls.some((q) => q.startsWith('RENAME'))).toBe(false);
  const last = executed().at(-1)!;
  expect(last.parameters).toEqual(expect.arrayContaining([{ name: 'status', value: { stringValue: 'failed' } }]));
});

test('a LOAD that outlives the Data API call is waited for through the process list', async () => {
  await writeRun('slow-run');
  fakeDatabase({ slowLoads: { products: 2 } });
  const dataApi = new DataApi(new RDSDataClient({ region: 'us-east-1' }), { resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight' });
  const result = await loadServing({ runId: 'slow-run' }, { dataApi, remainingMs: () => 600_000, pollIntervalMs: 1 });
  expect(result.status).toBe('loaded');
  const polls = executed().filter((c) => c.sql!.includes('information_schema.PROCESSLIST'));
  expect(polls).toHaveLength(3);
  expect(polls[0].parameters).toEqual([{ name: 'pattern', value: { stringValue: '%shopsight-load.slow-run.products */%' } }]);
});

test('a LOAD still running when the function is about to time out fails the table, before any swap', async () => {
  await writeRun('late-run');
  fakeDatabase({ slowLoads: { products: 1000 } });
  const dataApi = new DataApi(new RDSDataClient({ region: 'us-east-1' }), { resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight' });
  await expect(loadServing({ runId: 'late-run' }, { dataApi, remainingMs: () => 20_000, pollIntervalMs: 1 })).rejects.toThrow(
    /^products: load: LOAD DATA FROM S3 is still running/,
  );
  expect(executed().some((c) => c.sql!.startsWith('RENAME'))).toBe(false);
});

describe('Data API wrapper', () => {
  test('values become typed parameters: long, double, string, boolean, null', () => {
    expect(toSqlParameter('n', 42)).toEqual({ name: 'n', value: { longValue: 42 } });
    expect(toSqlParameter('d', 0.25)).toEqual({ name: 'd', value: { doubleValue: 0.25 } });
    expect(toSqlParameter('s', "it's")).toEqual({ name: 's', value: { stringValue: "it's" } });
    expect(toSqlParameter('b', true)).toEqual({ name: 'b', value: { booleanValue: true } });
    expect(toSqlParameter('x', null)).toEqual({ name: 'x', value: { isNull: true } });
    expect(() => toSqlParameter('nan', Number.NaN)).toThrow(/NaN/);
  });

  test('a resuming cluster is retried with backoff; other errors are not', async () => {
    rds.reset();
    rds
      .on(ExecuteStatementCommand)
      .rejectsOnce(new DatabaseResumingException({ message: 'resuming', $metadata: {} }))
      .rejectsOnce(new DatabaseResumingException({ message: 'resuming', $metadata: {} }))
      .resolves({ formattedRecords: '[{"one":1}]' });
    const waits: number[] = [];
    const api = new DataApi(new RDSDataClient({ region: 'us-east-1' }), { resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight' }, {
      sleep: async (ms) => void waits.push(ms),
    });
    expect(await api.query({ sql: 'SELECT 1 AS `one`', parameters: {} })).toEqual([{ one: 1 }]);
    expect(waits).toEqual([2000, 4000]);

    rds.reset();
    rds.on(ExecuteStatementCommand).rejects(new StatementTimeoutException({ message: 'slow', $metadata: {} }));
    await expect(api.query({ sql: 'SELECT 1', parameters: {} })).rejects.toThrow('slow');
    expect(rds.commandCalls(ExecuteStatementCommand)).toHaveLength(1);
  });

  test('a transaction commits on success and rolls back on failure, every statement with its id', async () => {
    rds.reset();
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-9' });
    rds.on(ExecuteStatementCommand).resolves({});
    const api = new DataApi(new RDSDataClient({ region: 'us-east-1' }), { resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight' });
    await api.transaction((tx) => tx.query({ sql: 'UPDATE t SET a = :a', parameters: { a: 1 } }));
    expect(rds.commandCalls(ExecuteStatementCommand)[0].args[0].input).toMatchObject({ transactionId: 'tx-9', parameters: [{ name: 'a', value: { longValue: 1 } }] });
    expect(rds.commandCalls(CommitTransactionCommand)[0].args[0].input).toEqual({ resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, transactionId: 'tx-9' });
    await expect(api.transaction(async () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });
});

test.each([
  ['no manifest', 'missing-run', undefined, /manifest: read: s3:\/\/exports\/runs\/missing-run\/manifest.json does not exist/],
  ['a manifest of another run', 'other-run', (m: { runId?: string }) => Object.assign(m, { runId: 'someone-else' }), /is for run "someone-else", not "other-run"/],
  ['a served table missing', 'no-table', (m: { tables: Record<string, unknown> }) => delete m.tables.p_v_c_day, /^p_v_c_day: check manifest: missing from/],
  [
    'columns out of contract order',
    'bad-columns',
    (m: { tables: Record<string, { columns: string[] }> }) => m.tables.c_date.columns.reverse(),
    /^c_date: check columns: manifest has \(cart_users,cart_events,event_date\), the contract \(event_date,cart_events,cart_users\)/,
  ],
  [
    'a file outside the table folder',
    'escape',
    (m: { tables: Record<string, { files: string[] }> }) => (m.tables.v_date.files = ['runs/ok-run/v_date/part-00000.csv']),
    /^v_date: check files: s3:\/\/exports\/runs\/ok-run\/v_date\/part-00000.csv is outside s3:\/\/exports\/runs\/escape\/v_date\//,
  ],
  [
    'a listed file that does not exist',
    'lost-file',
    (m: { tables: Record<string, { files: string[] }> }) => m.tables.purch_date.files.push('runs/lost-file/purch_date/part-00001.csv'),
    /^purch_date: check files: s3:\/\/exports\/runs\/lost-file\/purch_date\/part-00001.csv does not exist/,
  ],
])('%s fails with ServingLoadError naming the table, the step and the cause', async (_what, runId, edit, message) => {
  if (edit) await writeRun(runId, edit as never);
  const failure = handler({ runId });
  await expect(failure).rejects.toMatchObject({ name: 'ServingLoadError' });
  await expect(failure).rejects.toThrow(message);
});
