/**
 * load-serving's actions (claim, load-table, check-table, swap, fail) against a local S3 and a
 * fake Data API (aws-sdk-client-mock) that answers from the SQL text like a serving database would;
 * the SQL itself runs on MariaDB in test/serving/loader.test.ts. Also the Data API wrapper's retry
 * rules and client settings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  BadRequestException,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseResumingException,
  DatabaseUnavailableException,
  ExecuteStatementCommand,
  ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
  StatementTimeoutException,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { exportManifestKey, exportTablePrefix, servedTables, servingColumns, ServingManifest } from '../../core/contract';
import { handler, loadServing, LoadServingEvent } from '../../lambdas/load-serving';
import { MIGRATIONS } from '../../core/serving/mysql-schema';
import { createDataApiClient, DataApi, toSqlParameter } from '../../lambdas/shared/data-api';
import { LocalS3, startLocalS3 } from '../support/s3rver';

const BUCKET = 'exports';
const CLUSTER_ARN = 'arn:aws:rds:us-east-1:111122223333:cluster:serving';
const LOADER_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:loader-AbCdEf';
const ENV = { CLUSTER_ARN, SECRET_ARN: LOADER_SECRET_ARN, DATABASE_NAME: 'shopsight' };
const CREATED_AT = '2026-11-23T00:00:00.000Z';
const TOKEN = '0123456789abcdef0123456789abcdef';
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

type EditableManifest = { runId?: string; createdAt?: string; tables: Record<string, { columns: string[]; rowCount: number; files: string[] }> };

/** A run whose every served table has one CSV of two rows, as the prepare job writes them. */
async function writeRun(runId: string, edit: (m: EditableManifest) => void = () => {}) {
  const manifest: EditableManifest = { runId, createdAt: CREATED_AT, tables: {} };
  for (const table of servedTables()) {
    const key = `${exportTablePrefix(runId, table.name)}part-00000.csv`;
    await put(key, 'a,b\nc,d\n');
    manifest.tables[table.name] = { columns: servingColumns(table).map((c) => c.name), rowCount: 2, files: [key] };
  }
  edit(manifest);
  await put(exportManifestKey(runId), JSON.stringify(manifest as ServingManifest));
}

interface FakeDatabase {
  /** Versions recorded in schema_migrations (default: every released migration). */
  appliedVersions?: number[];
  /** The load's row in load_runs. */
  load?: { status: string; claim_token: string; tables?: string };
  /** Staging rows per table after its LOAD (default: the manifest's 2). */
  counts?: Record<string, number>;
  /** Tables whose LOAD outlives its call, and for how many process-list checks it stays running. */
  slowLoads?: Record<string, number>;
  /** RENAME attempts that time out waiting for readers' locks. */
  lockedRenames?: number;
  /** Table COMMENTs (the load markers) by table name. */
  markers?: Record<string, string>;
  /** Tables whose LOAD fails within its call, with this error. */
  loadErrors?: Record<string, Error>;
}

const param = (input: ExecuteStatementCommandInput, name: string): unknown => {
  const value = input.parameters?.find((p) => p.name === name)?.value;
  return value?.stringValue ?? value?.longValue ?? value?.booleanValue;
};

/** Answers the Data API like a serving database would, from the SQL text. */
function fakeDatabase(db: FakeDatabase = {}): FakeDatabase & { running: Record<string, number>; killed: string[] } {
  rds.reset();
  rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
  rds.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
  rds.on(RollbackTransactionCommand).resolves({ transactionStatus: 'Rollback Complete' });
  const state = { markers: {}, counts: {}, ...db, running: {} as Record<string, number>, killed: [] as string[] };
  const markers = state.markers as Record<string, string>;
  rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
    const sql = input.sql ?? '';
    const json = (rows: unknown[]) => ({ formattedRecords: JSON.stringify(rows) });
    const row = () => (state.load ? [{ ...state.load, idle_seconds: 0, manifest_created_at: CREATED_AT }] : []);
    // A database the stack has migrated: every released migration is recorded.
    if (sql.startsWith('SELECT `version` FROM `schema_migrations`')) {
      return json((state.appliedVersions ?? MIGRATIONS.map((m) => m.version)).map((version) => ({ version })));
    }
    if (sql.startsWith('SELECT `status`, `claim_token` FROM `load_runs`')) return json(row());
    if (sql.startsWith('SELECT `status`, `claim_token`, TIMESTAMPDIFF')) return json(row());
    if (sql.startsWith('SELECT `manifest_created_at` FROM `load_runs`')) return json(state.load?.status === 'loading' && state.load.claim_token === param(input, 'token') ? row() : []);
    if (sql.startsWith('SELECT `run_id`, `manifest_created_at` FROM `load_runs` WHERE `status`')) return json([]);
    if (sql.startsWith('INSERT INTO `load_runs`')) return ((state.load = { status: 'loading', claim_token: String(param(input, 'token')) }), {});
    if (sql.startsWith('UPDATE `load_runs` SET `status` = :status')) return ((state.load = { ...state.load!, status: String(param(input, 'status')), tables: String(param(input, 'tables')) }), {});
    if (sql.includes('information_schema.PROCESSLIST')) {
      return json(Object.entries(state.running).filter(([, polls]) => polls > 0).map(([marker], i) => ({ id: 100 + i, info: `LOAD DATA FROM S3 PREFIX 's3://…' /* ${marker} */` })));
    }
    if (sql.includes('information_schema.TABLES')) return json(Object.entries(markers).map(([name, comment]) => ({ name, comment })));
    let m: RegExpExecArray | null;
    if ((m = /^DROP TABLE IF EXISTS `(\w+__staging)`$/.exec(sql))) return delete markers[m[1]], {};
    if ((m = /^CREATE TABLE `(\w+__staging)` LIKE/.exec(sql))) return (markers[m[1]] = ''), {};
    if ((m = /^ALTER TABLE `(\w+__staging)` COMMENT = '([^']+)'$/.exec(sql))) return (markers[m[1]] = m[2]), {};
    if ((m = /^SELECT COUNT\(\*\) AS `row_count` FROM `(\w+)__staging`/.exec(sql))) return json([{ row_count: state.counts[m[1]] ?? 2 }]);
    if ((m = /^LOAD DATA FROM S3 PREFIX '[^']+' INTO TABLE `(\w+)__staging`.*\/\* (\S+) \*\/$/.exec(sql))) {
      if (state.loadErrors?.[m[1]]) throw state.loadErrors[m[1]];
      if (state.slowLoads?.[m[1]] !== undefined) {
        state.running[m[2]] = state.slowLoads[m[1]];
        throw new StatementTimeoutException({ message: 'timed out', $metadata: {} });
      }
      return {};
    }
    if (sql.startsWith('KILL QUERY')) return state.killed.push(sql), {};
    if (sql.startsWith('RENAME TABLE')) {
      if ((state.lockedRenames ?? 0) > 0) {
        state.lockedRenames! -= 1;
        throw new BadRequestException({ message: 'Lock wait timeout exceeded; try restarting transaction', $metadata: {} });
      }
      for (const t of servedTables()) (markers[t.name] = markers[`${t.name}__staging`]), delete markers[`${t.name}__staging`];
      return {};
    }
    return {};
  });
  return state;
}

const executed = (): ExecuteStatementCommandInput[] => rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
const dataApi = () => new DataApi(new RDSDataClient({ region: 'us-east-1' }), { resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight' });
const call = (event: LoadServingEvent) => loadServing(event, { dataApi: dataApi(), sleep: async () => undefined });
const claimOf = (runId: string) => ({ runId, manifestCreatedAt: CREATED_AT, claimToken: TOKEN });

test('claim refuses a database that lacks the newest migration (the stack was not deployed), before claiming anything', async () => {
  await writeRun('ok-run');
  const latest = Math.max(...MIGRATIONS.map((m) => m.version));
  fakeDatabase({ appliedVersions: MIGRATIONS.map((m) => m.version).filter((v) => v !== latest) });
  await expect(handler({ action: 'claim', runId: 'ok-run', claimToken: TOKEN })).rejects.toThrow(`migration(s) ${latest} not applied; deploy the stack first`);
  expect(executed().some((c) => /load_runs/.test(c.sql ?? '') && /^(INSERT|UPDATE)/.test(c.sql ?? ''))).toBe(false);
});

test('claim: the exports are verified, then the load is claimed as the loader, keyed by run id and manifest time', async () => {
  await writeRun('ok-run');
  const db = fakeDatabase();
  const result = await handler({ action: 'claim', runId: 'ok-run', claimToken: TOKEN });
  expect(result).toEqual({
    ...claimOf('ok-run'),
    status: 'claimed',
    tables: servedTables().map((t) => ({ table: t.name, expectedRows: 2, files: 1 })),
  });
  expect(db.load).toEqual({ status: 'loading', claim_token: TOKEN });
  const calls = executed();
  for (const c of calls) expect(c).toMatchObject({ resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, database: 'shopsight', formatRecordsAs: 'JSON' });
  const claim = calls.filter((c) => c.transactionId === 'tx-1');
  expect(claim[0].sql).toMatch(/^SELECT `status`, `claim_token` FROM `load_runs` WHERE `run_id` = :runId AND `manifest_created_at` = :createdAt FOR UPDATE$/);
  expect(claim[0].parameters).toEqual([
    { name: 'runId', value: { stringValue: 'ok-run' } },
    { name: 'createdAt', value: { stringValue: CREATED_AT } },
  ]);
  expect(claim.at(-1)!.sql).toMatch(/^INSERT INTO `load_runs`/);
  expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(1);
});

test('claim of a manifest already loaded: no tables to load, nothing written', async () => {
  await writeRun('done-run');
  fakeDatabase({ load: { status: 'loaded', claim_token: 'someone-else-0000' } });
  expect(await call({ action: 'claim', runId: 'done-run', claimToken: TOKEN })).toMatchObject({ status: 'already-loaded', tables: [] });
  expect(executed().some((c) => /^(LOAD|CREATE|DROP|RENAME|INSERT|UPDATE)/.test(c.sql!))).toBe(false);
});

test('claim while another execution holds the run fails, naming it', async () => {
  await writeRun('busy-run');
  fakeDatabase({ load: { status: 'loading', claim_token: 'another-execution' } });
  await expect(call({ action: 'claim', runId: 'busy-run', claimToken: TOKEN })).rejects.toThrow(/^load_runs: claim run: run "busy-run" .* is being loaded by another execution$/);
});

const tableEvent = (runId: string, table: string, action: 'load-table' | 'check-table' = 'load-table', extra = {}): LoadServingEvent => ({
  action,
  ...claimOf(runId),
  table,
  expectedRows: 2,
  ...extra,
});

test('load-table: fresh staging with the marker, LOAD DATA FROM S3 with the prefix inlined as a literal and continueAfterTimeout, count', async () => {
  await writeRun('ok-run');
  const db = fakeDatabase({ load: { status: 'loading', claim_token: TOKEN } });
  expect(await call(tableEvent('ok-run', 'c_date'))).toEqual({ table: 'c_date', status: 'loaded', rowCount: 2, rerun: false, polls: 0 });
  const sqls = executed().map((c) => c.sql!);
  const load = executed().find((c) => c.sql!.startsWith('LOAD DATA'))!;
  expect(load.sql).toBe(
    `LOAD DATA FROM S3 PREFIX 's3://${BUCKET}/${exportTablePrefix('ok-run', 'c_date')}' INTO TABLE \`c_date__staging\` CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n' (\`event_date\`, \`cart_events\`, \`cart_users\`) /* shopsight-load.ok-run.20261123t000000000z.c_date */`,
  );
  expect(load.parameters).toEqual([]);
  expect(load.continueAfterTimeout).toBe(true);
  expect(executed().filter((c) => c.continueAfterTimeout)).toHaveLength(1);
  expect(sqls.indexOf('CREATE TABLE `c_date__staging` LIKE `c_date`')).toBeLessThan(sqls.indexOf(load.sql!));
  expect(db.markers!.c_date__staging).toBe('shopsight-load.ok-run.20261123t000000000z.c_date');
});

test('a LOAD that outlives its call is running; load-table retried meanwhile starts no second LOAD; check-table polls it to loaded', async () => {
  await writeRun('slow-run');
  const db = fakeDatabase({ load: { status: 'loading', claim_token: TOKEN }, slowLoads: { products: 2 } });
  expect(await call(tableEvent('slow-run', 'products'))).toMatchObject({ status: 'running', rerun: false, polls: 0 });
  expect(await call(tableEvent('slow-run', 'products'))).toMatchObject({ status: 'running' });
  expect(executed().filter((c) => c.sql!.startsWith('LOAD DATA'))).toHaveLength(1);
  const marker = 'shopsight-load.slow-run.20261123t000000000z.products';
  expect(await call(tableEvent('slow-run', 'products', 'check-table', { rerun: false, polls: 0 }))).toMatchObject({ status: 'running', polls: 1 });
  db.running[marker] = 0;
  expect(await call(tableEvent('slow-run', 'products', 'check-table', { rerun: false, polls: 1 }))).toEqual({ table: 'products', status: 'loaded', rowCount: 2, rerun: false, polls: 2 });
  const poll = executed().find((c) => c.sql!.includes('PROCESSLIST'))!;
  expect(poll.parameters).toEqual([{ name: 'pattern', value: { stringValue: '%shopsight-load.slow-run.20261123t000000000z.%' } }]);
});

test('a background LOAD that ended short is run again in a call to get its error; a table-step never outlives the claim', async () => {
  await writeRun('short-run');
  fakeDatabase({
    load: { status: 'loading', claim_token: TOKEN },
    counts: { top_brands: 0 },
    markers: { top_brands__staging: 'shopsight-load.short-run.20261123t000000000z.top_brands' },
    loadErrors: { top_brands: new BadRequestException({ message: "Error 1366: Incorrect integer value: 'x' for column 'purchases' at row 3", $metadata: {} }) },
  });
  await expect(call(tableEvent('short-run', 'top_brands', 'check-table', { rerun: false, polls: 3 }))).rejects.toThrow(
    /^top_brands: load: Error 1366: Incorrect integer value: 'x' for column 'purchases' at row 3$/,
  );
  fakeDatabase({ load: { status: 'failed', claim_token: 'someone-else-000' } });
  await expect(call(tableEvent('short-run', 'top_brands'))).rejects.toThrow(/^top_brands: check claim: run "short-run" is not claimed by this execution$/);
});

test('a manifest rewritten during the load (a rerun of the run id) fails the table step', async () => {
  await writeRun('moving-run', (m) => (m.createdAt = '2026-11-24T00:00:00.000Z'));
  fakeDatabase({ load: { status: 'loading', claim_token: TOKEN } });
  await expect(call(tableEvent('moving-run', 'c_date'))).rejects.toThrow(/^manifest: check run: the exports of run "moving-run" were rewritten during the load/);
});

const allStaged = (runId: string) =>
  Object.fromEntries(servedTables().map((t) => [`${t.name}__staging`, `shopsight-load.${runId}.20261123t000000000z.${t.name}`]));

test('swap: one RENAME of every table in a session with a 5 s lock_wait_timeout, retried with backoff when readers hold it; then recorded', async () => {
  await writeRun('swap-run');
  const db = fakeDatabase({ load: { status: 'loading', claim_token: TOKEN }, markers: allStaged('swap-run'), lockedRenames: 2 });
  const result = await call({ action: 'swap', ...claimOf('swap-run') });
  expect(result).toMatchObject({ status: 'loaded', runId: 'swap-run', manifestCreatedAt: CREATED_AT });
  const inTx = executed().filter((c) => c.transactionId);
  const renames = inTx.filter((c) => c.sql!.startsWith('RENAME TABLE'));
  expect(renames).toHaveLength(3);
  for (const t of servedTables()) expect(renames[0].sql).toContain(`\`${t.name}\` TO \`${t.name}__previous\`, \`${t.name}__staging\` TO \`${t.name}\``);
  const attempt = inTx.slice(0, 3).map((c) => c.sql!.slice(0, 30));
  expect(attempt).toEqual(['SET SESSION lock_wait_timeout ', 'DROP TABLE IF EXISTS `c_date__', 'RENAME TABLE `c_date` TO `c_da']);
  expect(inTx[0].sql).toBe('SET SESSION lock_wait_timeout = 5');
  expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(2);
  expect(db.load!.status).toBe('loaded');
  // Retried after it happened: only answers.
  expect(await call({ action: 'swap', ...claimOf('swap-run') })).toMatchObject({ status: 'already-loaded' });
});

test('swap refuses staging tables that are not this load\'s', async () => {
  await writeRun('stale-run');
  fakeDatabase({ load: { status: 'loading', claim_token: TOKEN }, markers: { ...allStaged('stale-run'), c_date__staging: 'shopsight-load.old-run.20200101t000000000z.c_date' } });
  await expect(call({ action: 'swap', ...claimOf('stale-run') })).rejects.toThrow(/^swap: check staging: staging table\(s\) of c_date missing or not of this load$/);
  expect(executed().some((c) => c.sql!.startsWith('RENAME'))).toBe(false);
});

test('fail: kills the claim\'s own background LOADs and records the failure; another execution\'s claim is left alone', async () => {
  await writeRun('dead-run');
  const db = fakeDatabase({ load: { status: 'loading', claim_token: TOKEN } });
  db.running['shopsight-load.dead-run.20261123t000000000z.products'] = 5;
  expect(await call({ action: 'fail', runId: 'dead-run', claimToken: TOKEN, error: { Error: 'ServingLoadError', Cause: 'x' } })).toEqual({ runId: 'dead-run', released: true, killed: 1 });
  expect(db.killed).toEqual(['KILL QUERY 100']);
  expect(db.load!.status).toBe('failed');
  fakeDatabase({ load: { status: 'loading', claim_token: 'another-execution' } });
  expect(await call({ action: 'fail', runId: 'dead-run', claimToken: TOKEN })).toEqual({ runId: 'dead-run', released: false, killed: 0 });
  expect(executed().some((c) => /^(UPDATE|KILL)/.test(c.sql!))).toBe(false);
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

  test('a resuming or unavailable cluster is retried with backoff (nothing ran); other errors are not', async () => {
    rds.reset();
    rds
      .on(ExecuteStatementCommand)
      .rejectsOnce(new DatabaseResumingException({ message: 'resuming', $metadata: {} }))
      .rejectsOnce(new DatabaseUnavailableException({ message: 'unavailable', $metadata: {} }))
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

  test("every Lambda's Data API client makes one attempt per call (a re-sent RENAME could fail after the swap happened)", async () => {
    expect(await createDataApiClient().config.maxAttempts()).toBe(1);
    expect(await createDataApiClient({ maxAttempts: 5 }).config.maxAttempts()).toBe(1);
    const lambdas = path.join(__dirname, '../../lambdas');
    const sources = fs.readdirSync(lambdas, { recursive: true, encoding: 'utf-8' }).filter((f) => f.endsWith('.ts'));
    const constructing = sources.filter((f) => /new RDSDataClient\(/.test(fs.readFileSync(path.join(lambdas, f), 'utf-8')));
    expect(constructing).toEqual([path.join('shared', 'data-api.ts')]);
  });

  test('a transaction commits on success and rolls back on failure, every statement with its id', async () => {
    rds.reset();
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-9' });
    rds.on(ExecuteStatementCommand).resolves({});
    const api = dataApi();
    await api.transaction((tx) => tx.query({ sql: 'UPDATE t SET a = :a', parameters: { a: 1 } }));
    expect(rds.commandCalls(ExecuteStatementCommand)[0].args[0].input).toMatchObject({ transactionId: 'tx-9', parameters: [{ name: 'a', value: { longValue: 1 } }] });
    expect(rds.commandCalls(CommitTransactionCommand)[0].args[0].input).toEqual({ resourceArn: CLUSTER_ARN, secretArn: LOADER_SECRET_ARN, transactionId: 'tx-9' });
    await expect(api.transaction(async () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });
});

test.each([
  ['no manifest', 'missing-run', undefined, /manifest: read: s3:\/\/exports\/runs\/missing-run\/manifest.json does not exist/],
  ['a manifest of another run', 'other-run', (m: EditableManifest) => Object.assign(m, { runId: 'someone-else' }), /is for run "someone-else", not "other-run"/],
  ['a manifest without createdAt', 'no-time', (m: EditableManifest) => delete m.createdAt, /^manifest: check run: .* has no createdAt/],
  ['a served table missing', 'no-table', (m: EditableManifest) => delete m.tables.p_v_c_day, /^p_v_c_day: check manifest: missing from/],
  [
    'columns out of contract order',
    'bad-columns',
    (m: EditableManifest) => m.tables.c_date.columns.reverse(),
    /^c_date: check columns: manifest has \(cart_users,cart_events,event_date\), the contract \(event_date,cart_events,cart_users\)/,
  ],
  [
    'a file outside the table folder',
    'escape',
    (m: EditableManifest) => (m.tables.v_date.files = ['runs/ok-run/v_date/part-00000.csv']),
    /^v_date: check files: s3:\/\/exports\/runs\/ok-run\/v_date\/part-00000.csv is outside s3:\/\/exports\/runs\/escape\/v_date\//,
  ],
  [
    'a listed file that does not exist',
    'lost-file',
    (m: EditableManifest) => m.tables.purch_date.files.push('runs/lost-file/purch_date/part-00001.csv'),
    /^purch_date: check files: s3:\/\/exports\/runs\/lost-file\/purch_date\/part-00001.csv does not exist/,
  ],
])('claim with %s fails with ServingLoadError naming the table, the step and the cause', async (_what, runId, edit, message) => {
  if (edit) await writeRun(runId, edit);
  fakeDatabase();
  const failure = handler({ action: 'claim', runId, claimToken: TOKEN });
  await expect(failure).rejects.toMatchObject({ name: 'ServingLoadError' });
  await expect(failure).rejects.toThrow(message);
  expect(executed()).toEqual([]);
});
