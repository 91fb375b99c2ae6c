/**
 * The rehearsal's Athena and Secrets Manager stand-in, driven by the real SDK clients: the Glue
 * tables and the workgroup of the synthesized stack, Parquet written by the real local engine on a
 * REES46 sample and uploaded to s3rver under the tables' locations as the lake lays them out
 * (`<table>/run_id=<run>/[event_date=…/]<file>`), and the data-quality gate's own code against it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DuckDBInstance } from '@duckdb/node-api';
import { OUTPUT_TABLES, curatedRunPrefix, exportManifestKey, exportRunPrefix, runSummaryKey } from '../../core/contract';
import { athenaQueryRunner } from '../../lambdas/data-quality-gate/athena';
import { QueryRow } from '../../core/catalog/athena-query';
import { measureUses, planTableQueries } from '../../lambdas/data-quality-gate/checks';
import { GateSettings, runDataQualityGate } from '../../lambdas/data-quality-gate/gate';
import { readObjectText } from '../../lambdas/shared/s3-json';
import { ATHENA_STANDIN_NOTICE, AwsJsonStandIn, startAwsJsonStandIn } from '../../local/rehearse/athena-standin';
import { bindExecutionParameters, javaDoubleText } from '../../local/rehearse/athena-sql';
import { LocalS3, startLocalS3 } from '../support/s3rver';
import { resolveIntrinsics, synthesizedStateMachine, TemplateJson } from '../support/synth';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = path.resolve(ROOT, '..', 'shared', 'data', 'rees46', '2019-Nov_head_683rows.csv.gz');
const RUN_ID = 'nov-2019';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const BI_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:shopsight/bi-AbC123';
const BI_SECRET = JSON.stringify({ username: 'bi', password: 'not-a-real-one' });

type Resources = Record<string, { Type: string; Properties?: any }>;

/** The stack's resources with their intrinsics resolved; the few (subnets, generated secrets) that use other intrinsics are left out. */
function resolvedTemplate(): { Resources: Resources } {
  const json = synthesizedStateMachine().template.toJSON() as TemplateJson;
  const resources: Resources = {};
  for (const [id, resource] of Object.entries(json.Resources)) {
    try {
      resources[id] = resolveIntrinsics(resource, json) as Resources[string];
    } catch {
      // Fn::GetAZs and friends: not resources the stand-in reads.
    }
  }
  return { Resources: resources };
}

let template: { Resources: Resources };
let env: { ATHENA_WORKGROUP: string; GLUE_DATABASE: string; CURATED_BUCKET: string; EXPORT_BUCKET: string };
let out: string;
let workDir: string;
let s3: LocalS3;
let standIn: AwsJsonStandIn;
let athena: AthenaClient;
const logLines: string[] = [];

const filesUnder = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));

/** The local engine's output laid out as the lake: curated tables by run, run summary, serving export and manifest. */
function lakeObjects(): { bucket: string; key: string; file: string }[] {
  const objects: { bucket: string; key: string; file: string }[] = [];
  for (const table of OUTPUT_TABLES) {
    const dir = path.join(out, table.name);
    if (!fs.existsSync(dir)) continue;
    for (const file of filesUnder(dir)) {
      objects.push({ bucket: env.CURATED_BUCKET, key: `${curatedRunPrefix(table.name, RUN_ID)}${path.relative(dir, file).split(path.sep).join('/')}`, file });
    }
  }
  objects.push({ bucket: env.CURATED_BUCKET, key: runSummaryKey(RUN_ID), file: path.join(out, 'run-summary.json') });
  const serving = path.join(out, 'serving');
  for (const file of filesUnder(serving)) {
    const relative = path.relative(serving, file).split(path.sep).join('/');
    objects.push({ bucket: env.EXPORT_BUCKET, key: relative === 'manifest.json' ? exportManifestKey(RUN_ID) : `${exportRunPrefix(RUN_ID)}${relative}`, file });
  }
  return objects;
}

const put = (bucket: string, key: string, file: string): Promise<unknown> =>
  s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: fs.readFileSync(file) }));

const settings = (): GateSettings => ({ runId: RUN_ID, database: env.GLUE_DATABASE, curatedBucket: env.CURATED_BUCKET, exportBucket: env.EXPORT_BUCKET });
const runner = () => athenaQueryRunner(athena, { workGroup: env.ATHENA_WORKGROUP, initialPollMs: 5, maxPollMs: 50 });
const gateIo = () => ({ runQuery: runner(), readObject: (bucket: string, key: string) => readObjectText(s3.client, bucket, key) });
const eventsKeys = (): string[] => lakeObjects().filter((o) => o.key.startsWith(curatedRunPrefix('events', RUN_ID))).map((o) => o.key);

async function startQuery(sql: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: env.ATHENA_WORKGROUP, ExecutionParameters: [`'${RUN_ID}'`], ...extra }),
  );
  return QueryExecutionId!;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function finalState(id: string): Promise<{ QueryExecution: any; states: string[] }> {
  const states: string[] = [];
  for (;;) {
    const output = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = output.QueryExecution!.Status!.State!;
    states.push(state);
    if (!['QUEUED', 'RUNNING'].includes(state)) return { QueryExecution: output.QueryExecution, states };
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  template = resolvedTemplate();
  const gate = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.ATHENA_WORKGROUP);
  env = gate!.Properties.Environment.Variables;

  out = fs.mkdtempSync(path.join(os.tmpdir(), 'athena-standin-run-'));
  fs.rmSync(out, { recursive: true });
  const run = spawnSync(
    process.execPath,
    [path.join(ROOT, 'local/cli/bin.js'), 'run', '--input', SAMPLE, '--out', out, '--run-id', RUN_ID, '--no-report', '--threads', '1'],
    { encoding: 'utf8', env: { ...process.env, CI: '1' } },
  );
  if (run.status !== 0) throw new Error(`shopsight run failed: ${run.stderr}`);

  const buckets = Object.values(template.Resources).filter((r) => r.Type === 'AWS::S3::Bucket').map((r) => r.Properties?.BucketName);
  s3 = await startLocalS3([env.CURATED_BUCKET, env.EXPORT_BUCKET, ...buckets.filter((b): b is string => typeof b === 'string')]);
  for (const o of lakeObjects()) await put(o.bucket, o.key, o.file);

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'athena-standin-work-'));
  standIn = await startAwsJsonStandIn({
    template,
    s3: { endpoint: s3.endpoint, region: REGION, credentials: CREDENTIALS },
    workDir,
    secrets: { [BI_SECRET_ARN]: BI_SECRET, 'shopsight/bi': BI_SECRET },
    log: (line) => logLines.push(line),
  });
  athena = new AthenaClient({ endpoint: standIn.endpoint, region: REGION, credentials: CREDENTIALS });
}, 180_000);

afterAll(async () => {
  athena?.destroy();
  await standIn?.stop();
  await s3?.stop();
  for (const dir of [out, workDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The gate's queries on DuckDB directly over the engine's output folder (the run's rows, run_id added), values as plain text. */
async function directRows(): Promise<QueryRow[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE SCHEMA "${env.GLUE_DATABASE}"`);
    for (const table of OUTPUT_TABLES) {
      const dir = path.join(out, table.name);
      const source = fs.existsSync(dir)
        ? `SELECT *, '${RUN_ID}' AS run_id FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = ${table.partitionKeys.length > 0})`
        : `SELECT NULL AS run_id WHERE false`;
      await connection.run(`CREATE VIEW "${env.GLUE_DATABASE}"."${table.name}" AS ${source}`);
    }
    const rows: QueryRow[][] = [];
    for (const query of planTableQueries(env.GLUE_DATABASE, measureUses())) {
      const prepared = await connection.prepare(query.sql);
      prepared.bindVarchar(1, RUN_ID);
      const reader = await prepared.runAndReadAll();
      rows.push(reader.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]))));
    }
    return rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('Athena stand-in', () => {
  test("the gate's athenaQueryRunner gets the same rows from the stand-in as DuckDB gives directly", async () => {
    const queries = planTableQueries(env.GLUE_DATABASE, measureUses());
    const viaAthena = [];
    for (const q of queries) viaAthena.push(await runner()({ label: q.table, sql: q.sql, parameters: [RUN_ID] }));
    const direct = await directRows();
    expect(viaAthena).toEqual(direct);
    // Not trivially equal: the run has rows.
    const events = viaAthena[queries.findIndex((q) => q.table === 'events')][0];
    expect(events.m0).toBe('683');
    expect(logLines[0]).toContain(ATHENA_STANDIN_NOTICE);
  });

  test('the whole data-quality gate passes on the good run, also as the Lambda handler through AWS_ENDPOINT_URL_ATHENA', async () => {
    const report = await runDataQualityGate(settings(), gateIo());
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(report.checks.length).toBeGreaterThan(20);

    const undo = s3.useFromSdk();
    const saved = { ...process.env };
    const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    Object.assign(process.env, env, { AWS_ENDPOINT_URL_ATHENA: standIn.endpoint });
    try {
      let handler!: typeof import('../../lambdas/data-quality-gate/index').handler;
      jest.isolateModules(() => {
        handler = require('../../lambdas/data-quality-gate/index').handler;
      });
      const result = await handler({ runId: RUN_ID }, { getRemainingTimeInMillis: () => 60_000 });
      expect(result.passed).toBe(true);
      expect(quiet).toHaveBeenCalledWith(expect.stringContaining('"message":"data-quality gate passed"'));
    } finally {
      quiet.mockRestore();
      undo();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  test('the gate fails a tampered run: an events partition file deleted from the bucket', async () => {
    const keys = eventsKeys();
    expect(keys.length).toBeGreaterThan(0);
    try {
      await s3.client.send(new DeleteObjectCommand({ Bucket: env.CURATED_BUCKET, Key: keys[0] }));
      const report = await runDataQualityGate(settings(), gateIo());
      expect(report.passed).toBe(false);
      expect(report.checks.find((c) => c.name === 'events rows = run-summary totals.accepted')).toMatchObject({ passed: false, expected: '683' });
    } finally {
      for (const o of lakeObjects().filter((x) => x.key === keys[0])) await put(o.bucket, o.key, o.file);
    }
    expect((await runDataQualityGate(settings(), gateIo())).passed).toBe(true);
  });

  test('partition projection as declared: dates outside the event_date range are invisible; run_id must be named', async () => {
    const [key] = eventsKeys();
    const file = lakeObjects().find((o) => o.key === key)!.file;
    // The day before the projection's first date, as the template declares it.
    const events = Object.values(template.Resources).find((r) => r.Type === 'AWS::Glue::Table' && r.Properties.TableInput.Name === 'events')!;
    const first = new Date(`${String(events.Properties.TableInput.Parameters['projection.event_date.range']).split(',')[0]}T00:00:00Z`);
    const dayBefore = new Date(first.getTime() - 86_400_000).toISOString().slice(0, 10);
    const outside = `${curatedRunPrefix('events', RUN_ID)}event_date=${dayBefore}/data_0.parquet`;
    const inside = `${curatedRunPrefix('events', RUN_ID)}event_date=2019-11-02/data_0.parquet`;
    const count = async (): Promise<string | null> =>
      (await runner()({ label: 'events', sql: `SELECT count(*) AS n FROM ${env.GLUE_DATABASE}.events WHERE run_id = ?`, parameters: [RUN_ID] }))[0].n;
    try {
      await put(env.CURATED_BUCKET, outside, file);
      expect(await count()).toBe('683');
      await put(env.CURATED_BUCKET, inside, file);
      expect(await count()).toBe('1366');
    } finally {
      for (const k of [outside, inside]) await s3.client.send(new DeleteObjectCommand({ Bucket: env.CURATED_BUCKET, Key: k }));
    }
    expect(await count()).toBe('683');

    const id = await startQuery(`SELECT count(*) FROM "${env.GLUE_DATABASE}"."events"`, { ExecutionParameters: undefined });
    const { QueryExecution } = await finalState(id);
    expect(QueryExecution.Status.State).toBe('FAILED');
    expect(QueryExecution.Status.StateChangeReason).toMatch(/^CONSTRAINT_VIOLATION: For the injected projected partition column run_id/);
  });

  test("a Parquet column of a type Athena would refuse for the Glue type fails the query (HIVE_BAD_DATA)", async () => {
    // event_hour is int in Glue; a bigint in the file is a narrowing Athena's Parquet reader refuses.
    const file = path.join(workDir, 'bad-types.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT CAST(7 AS BIGINT) AS event_hour, 'view' AS event_type) TO '${file}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    const key = `${curatedRunPrefix('events', RUN_ID)}event_date=2019-11-03/bad-types.parquet`;
    try {
      await put(env.CURATED_BUCKET, key, file);
      await expect(
        runner()({ label: 'events', sql: `SELECT count(*) AS n FROM "${env.GLUE_DATABASE}"."events" WHERE run_id = ?`, parameters: [RUN_ID] }),
      ).rejects.toThrow(
        `HIVE_BAD_DATA: Field event_hour's type BIGINT in parquet file s3://${env.CURATED_BUCKET}/${key} is incompatible with type int defined in table schema`,
      );
    } finally {
      await s3.client.send(new DeleteObjectCommand({ Bucket: env.CURATED_BUCKET, Key: key }));
    }
  });

  test('a query error ends FAILED with the DuckDB message, as StateChangeReason and AthenaError.ErrorMessage', async () => {
    const sql = `SELECT no_such_column FROM "${env.GLUE_DATABASE}"."events" WHERE run_id = ?`;
    await expect(runner()({ label: 'broken', sql, parameters: [RUN_ID] })).rejects.toThrow(
      /Athena query [0-9a-f-]+ for broken FAILED: Binder Error: Referenced column "no_such_column" not found/,
    );
    const execution = await finalState(await startQuery(sql));
    expect(execution.states[0]).toMatch(/QUEUED|RUNNING|FAILED/);
    const status = execution.QueryExecution.Status;
    expect(status.State).toBe('FAILED');
    expect(status.AthenaError.ErrorMessage).toBe(status.StateChangeReason);
    await expect(athena.send(new GetQueryResultsCommand({ QueryExecutionId: execution.QueryExecution.QueryExecutionId }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
  });

  test('QUEUED while two queries run, then StopQueryExecution cancels running and queued queries alike', async () => {
    // 683^3 rows to count: seconds of DuckDB work, long enough to be stopped midway.
    const slow = `SELECT count(*) FROM "${env.GLUE_DATABASE}"."events" a, "${env.GLUE_DATABASE}"."events" b, "${env.GLUE_DATABASE}"."events" c
                  WHERE a.run_id = ? AND b.run_id = a.run_id AND c.run_id = a.run_id AND a.source_line + b.source_line + c.source_line > 0`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await startQuery(slow, { ExecutionParameters: [`'${RUN_ID}'`] }));
    const stateOf = async (id: string): Promise<string> =>
      (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!.Status!.State!;
    while ((await stateOf(ids[0])) === 'QUEUED') await new Promise((r) => setTimeout(r, 5));
    expect(await stateOf(ids[2])).toBe('QUEUED');
    for (const id of ids) await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    for (const id of ids) expect((await finalState(id)).QueryExecution.Status.State).toBe('CANCELLED');
    // The stand-in is free again: a query started now runs at once.
    const after = await finalState(await startQuery(`SELECT count(*) FROM "${env.GLUE_DATABASE}"."events" WHERE run_id = ?`));
    expect(after.QueryExecution.Status.State).toBe('SUCCEEDED');
  });

  test('a workgroup that is not in the template is rejected with InvalidRequestException', async () => {
    await expect(
      athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'no-such-workgroup' })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException', message: 'WorkGroup no-such-workgroup is not found.' });
    await expect(athena.send(new GetQueryExecutionCommand({ QueryExecutionId: '00000000-0000-4000-8000-000000000000' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
  });

  test('results page by MaxResults and NextToken, header row first on the first page only', async () => {
    const id = await startQuery(`SELECT user_id, event_time FROM "${env.GLUE_DATABASE}"."events" WHERE run_id = ? ORDER BY source_line`);
    expect((await finalState(id)).QueryExecution.Status.State).toBe('SUCCEEDED');
    const pages: GetQueryResultsCommandOutput[] = [];
    let token: string | undefined;
    do {
      const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 250, NextToken: token }));
      pages.push(page);
      token = page.NextToken;
    } while (token);
    expect(pages.map((p) => p.ResultSet!.Rows!.length)).toEqual([250, 250, 184]);
    const rows = pages.flatMap((p) => p.ResultSet!.Rows!.map((r) => r.Data!.map((d) => d.VarCharValue)));
    expect(rows[0]).toEqual(['user_id', 'event_time']);
    expect(rows.slice(1).some((r) => r[0] === 'user_id')).toBe(false);
    expect(rows[1][1]).toMatch(/^2019-11-01 \d\d:\d\d:\d\d\.\d{3}$/);
    expect(pages[0].ResultSet!.ResultSetMetadata!.ColumnInfo!.map((c) => c.Type)).toEqual(['bigint', 'timestamp']);

    // The gate's runner follows NextToken past the default 1000 rows.
    const doubled = await runner()({
      label: 'doubled',
      sql: `SELECT e.user_id, t.n FROM "${env.GLUE_DATABASE}"."events" e CROSS JOIN (VALUES (1), (2)) AS t(n) WHERE e.run_id = ?`,
      parameters: [RUN_ID],
    });
    expect(doubled).toHaveLength(1366);
  });

  test("values print as Athena prints them; NULL is a Datum without VarCharValue", async () => {
    const id = await startQuery(
      `SELECT 42 AS i, sum(x) AS s, CAST(1.5 AS double) AS d, CAST(10000000 AS double) AS big, CAST(0.0001 AS double) AS small,
              CAST(12.30 AS decimal(10,2)) AS dec, DATE '2019-11-01' AS dt, TIMESTAMP '2019-11-01 10:00:00.123456' AS ts,
              true AS b, CAST(NULL AS varchar) AS n, 'it''s ?' AS v
       FROM (VALUES (1), (2)) AS t(x)`,
      { ExecutionParameters: undefined },
    );
    expect((await finalState(id)).QueryExecution.Status.State).toBe('SUCCEEDED');
    const { ResultSet } = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
    expect(ResultSet!.Rows![1].Data).toEqual([
      { VarCharValue: '42' },
      { VarCharValue: '3' },
      { VarCharValue: '1.5' },
      { VarCharValue: '1.0E7' },
      { VarCharValue: '1.0E-4' },
      { VarCharValue: '12.30' },
      { VarCharValue: '2019-11-01' },
      { VarCharValue: '2019-11-01 10:00:00.123' },
      { VarCharValue: 'true' },
      {},
      { VarCharValue: "it's ?" },
    ]);
    expect(ResultSet!.ResultSetMetadata!.ColumnInfo!.map((c) => c.Type)).toEqual([
      'integer', 'bigint', 'double', 'double', 'double', 'decimal', 'date', 'timestamp', 'boolean', 'varchar', 'varchar',
    ]);
    expect([0.1, 2, -3.25e-5, 1.2345e21].map(javaDoubleText)).toEqual(['0.1', '2.0', '-3.25E-5', '1.2345E21']);
  });
});

describe('Secrets Manager stand-in', () => {
  test('GetSecretValue finds a secret by ARN and by name; an unknown one is ResourceNotFoundException', async () => {
    const client = new SecretsManagerClient({ endpoint: standIn.endpoint, region: REGION, credentials: CREDENTIALS });
    try {
      const byArn = await client.send(new GetSecretValueCommand({ SecretId: BI_SECRET_ARN }));
      expect(byArn).toMatchObject({ ARN: BI_SECRET_ARN, Name: 'shopsight/bi', SecretString: BI_SECRET });
      const byName = await client.send(new GetSecretValueCommand({ SecretId: 'shopsight/bi' }));
      expect(byName).toMatchObject({ ARN: BI_SECRET_ARN, Name: 'shopsight/bi', SecretString: BI_SECRET });
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'shopsight/nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    } finally {
      client.destroy();
    }
  });

  test('a client made as the Lambdas make theirs finds the stand-in through AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = standIn.endpoint;
    const client = new SecretsManagerClient({ region: REGION, credentials: CREDENTIALS });
    try {
      expect((await client.send(new GetSecretValueCommand({ SecretId: BI_SECRET_ARN }))).SecretString).toBe(BI_SECRET);
    } finally {
      client.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    }
  });
});

describe('ExecutionParameters as Athena binds them', () => {
  test('each literal replaces one ? in order, never inside strings, quoted identifiers or comments; a count mismatch fails', () => {
    expect(bindExecutionParameters(`SELECT '?', "a?" -- ?\n/* ? */ FROM t WHERE x = ? AND y = ?`, [`'it''s'`, '42'])).toBe(
      `SELECT '?', "a?" -- ?\n/* ? */ FROM t WHERE x = 'it''s' AND y = 42`,
    );
    expect(() => bindExecutionParameters('SELECT ?', [])).toThrow('Incorrect number of parameters: expected 1 but found 0');
    expect(() => bindExecutionParameters('SELECT 1', [`'x'`])).toThrow('Incorrect number of parameters: expected 0 but found 1');
  });
});
