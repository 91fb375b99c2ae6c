/**
 * The data-quality gate Lambda against mocked Athena and S3. The fake Athena below is a tiny
 * engine over a table of facts that each test decides (row counts, per-type event counts, column
 * totals for each run); it answers the aggregate forms the gate may ask for and refuses anything
 * else, so the test, not the code under test, says what the data holds and what must pass.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StartQueryExecutionCommandInput,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { outputTable, servedTables, servingColumns } from '../../core/contract';
import { athenaStringLiteral } from '../../core/catalog/athena-query';
import { canonicalDecimal, planTableQueries, measureUses, quoteIdentifier, sameNumber } from '../../lambdas/data-quality-gate/checks';
import { handler } from '../../lambdas/data-quality-gate/index';

const RUN_ID = 'oct-2019';
const OTHER_RUN_ID = 'nov-2019';
const ENV = {
  ATHENA_WORKGROUP: 'shopsight-dev',
  GLUE_DATABASE: 'shopsight_dev',
  CURATED_BUCKET: 'curated-bucket',
  EXPORT_BUCKET: 'export-bucket',
};
const SUMMARY_URI = `s3://curated-bucket/_runs/${RUN_ID}/run-summary.json`;
const MANIFEST_URI = `s3://export-bucket/runs/${RUN_ID}/manifest.json`;

// ---------------------------------------------------------------------------------------------
// What the run's tables hold, as the facts the gate can ask about.
// ---------------------------------------------------------------------------------------------

interface TableFacts {
  rows: number;
  /** sum(column) over the run's rows, as the engine prints it. */
  totals: Record<string, string>;
  /** events only: rows per event_type. */
  eventsByType?: Record<string, number>;
  /** events only: sum(coalesce(price, 0)) over purchases. */
  purchaseRevenue?: string;
}
type RunFacts = Record<string, TableFacts>;

/** A consistent run: 10 events (4 views, 1 cart, 4 purchases worth 22.75, 1 remove_from_cart), 2 rejects. */
function consistentRun(): RunFacts {
  return {
    events: { rows: 10, totals: {}, eventsByType: { view: 4, cart: 1, purchase: 4, remove_from_cart: 1 }, purchaseRevenue: '22.75' },
    rejects: { rows: 2, totals: {} },
    v_date: { rows: 2, totals: { view_events: '4' } },
    c_date: { rows: 1, totals: { cart_events: '1' } },
    purch_date: { rows: 2, totals: { purchases: '4', revenue: '22.75' } },
    userid_date: { rows: 2, totals: { events: '10' } },
    p_v_c_day: { rows: 2, totals: { views: '4', carts: '1', purchases: '4' } },
    customer_count_purchase: { rows: 3, totals: { purchases: '4', spend: '22.75' } },
    purchase_c_s_b: { rows: 4, totals: { purchases: '4', revenue: '22.75' } },
  };
}

/** Another run in the same tables with different numbers: any leak across run_id shows. */
function otherRun(): RunFacts {
  return {
    events: { rows: 3, totals: {}, eventsByType: { view: 1, purchase: 2 }, purchaseRevenue: '100.00' },
    rejects: { rows: 0, totals: {} },
    v_date: { rows: 1, totals: { view_events: '1' } },
    c_date: { rows: 0, totals: {} },
    purch_date: { rows: 1, totals: { purchases: '2', revenue: '100.00' } },
    userid_date: { rows: 1, totals: { events: '3' } },
    p_v_c_day: { rows: 1, totals: { views: '1', carts: '0', purchases: '2' } },
    customer_count_purchase: { rows: 2, totals: { purchases: '2', spend: '100.00' } },
    purchase_c_s_b: { rows: 2, totals: { purchases: '2', revenue: '100.00' } },
  };
}

/** Every served table of the contract; the facts above give the seven schemas' rows, the others have none. */
const SERVED = servedTables().map((t) => t.name);

function runSummary(): Record<string, unknown> {
  const counts = { rowsRead: 13, accepted: 10, rejected: 2, rejectedByReason: { bad_price: 1, bad_timestamp: 1 }, duplicatesRemoved: 1 };
  return {
    runId: RUN_ID,
    dataset: 'rees46',
    files: [{ source: 's3://raw-bucket/rees46/2019-Oct.csv', ...counts }],
    totals: counts,
    stages: [{ name: 'prepare', seconds: 42 }],
  };
}

function manifest(facts: RunFacts): { runId: string; createdAt: string; tables: Record<string, { columns: string[]; rowCount: number; files: string[] }> } {
  return {
    runId: RUN_ID,
    createdAt: '2019-11-01T03:00:00Z',
    tables: Object.fromEntries(
      SERVED.map((t) => [
        t,
        { columns: servingColumns(outputTable(t)).map((c) => c.name), rowCount: facts[t]?.rows ?? 0, files: [`runs/${RUN_ID}/${t}/part-00000.csv`] },
      ]),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Fake Athena and S3.
// ---------------------------------------------------------------------------------------------

const athenaMock = mockClient(AthenaClient);
const s3Mock = mockClient(S3Client);

interface World {
  facts: Record<string, RunFacts>;
  objects: Map<string, string>;
  /** Table whose query ends FAILED with this reason. */
  failing?: { table: string; reason: string };
  /** GetQueryExecution answers RUNNING this many times before the final state. */
  runningPolls: number;
  started: StartQueryExecutionCommandInput[];
  inFlight: number;
  maxInFlight: number;
}
let world: World;

/** Evaluates one aggregate expression of the forms the gate is allowed to use, from the facts. */
function evaluate(expression: string, table: string, facts: TableFacts | undefined): string {
  const f = facts ?? { rows: 0, totals: {} };
  if (expression === 'count(*)') return String(f.rows);
  let m = /^coalesce\(sum\((\w+)\), 0\)$/.exec(expression);
  if (m) {
    if (!outputTable(table).columns.some((c) => c.name === m![1])) throw new Error(`fake Athena: no column ${m[1]} in ${table}`);
    return f.totals[m[1]] ?? '0';
  }
  m = /^count\(CASE WHEN event_type = '(\w+)' THEN 1 END\)$/.exec(expression);
  if (m && table === 'events') return String(f.eventsByType?.[m[1]] ?? 0);
  if (table === 'events' && expression === "coalesce(sum(CASE WHEN event_type = 'purchase' THEN coalesce(price, 0) END), 0)") {
    return f.purchaseRevenue ?? '0.00';
  }
  throw new Error(`fake Athena cannot evaluate ${expression} on ${table}`);
}

function answer(input: StartQueryExecutionCommandInput): { header: string[]; values: string[] } {
  const sql = input.QueryString ?? '';
  const m = /^SELECT (.+) FROM "shopsight_dev"\."(\w+)" WHERE run_id = \?$/.exec(sql);
  if (!m) throw new Error(`fake Athena cannot run ${sql}`);
  const literal = /^'(.*)'$/.exec(input.ExecutionParameters?.[0] ?? '');
  if (!literal) throw new Error(`fake Athena: run_id parameter is not a quoted string: ${input.ExecutionParameters}`);
  const facts = world.facts[literal[1]]?.[m[2]];
  const columns = [...m[1].matchAll(/(.+?) AS (m\d+)(?:, |$)/g)];
  return { header: columns.map((c) => c[2]), values: columns.map((c) => evaluate(c[1], m[2], facts)) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function installFakes(): void {
  const executions = new Map<string, { input: StartQueryExecutionCommandInput; polls: number }>();
  athenaMock.on(StartQueryExecutionCommand).callsFake(async (input: StartQueryExecutionCommandInput) => {
    await tick();
    world.started.push(input);
    world.inFlight += 1;
    world.maxInFlight = Math.max(world.maxInFlight, world.inFlight);
    const id = `q-${world.started.length}`;
    executions.set(id, { input, polls: 0 });
    return { QueryExecutionId: id };
  });
  athenaMock.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => {
    await tick();
    const execution = executions.get(QueryExecutionId)!;
    execution.polls += 1;
    if (execution.polls <= world.runningPolls) return { QueryExecution: { Status: { State: 'RUNNING' } } };
    const table = /FROM "\w+"\."(\w+)"/.exec(execution.input.QueryString ?? '')?.[1];
    if (world.failing && table === world.failing.table) {
      world.inFlight -= 1;
      return { QueryExecution: { Status: { State: 'FAILED', StateChangeReason: world.failing.reason } } };
    }
    return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
  });
  athenaMock.on(GetQueryResultsCommand).callsFake(async ({ QueryExecutionId }: { QueryExecutionId: string }) => {
    await tick();
    const { header, values } = answer(executions.get(QueryExecutionId)!.input);
    world.inFlight -= 1;
    const row = (cells: string[]): { Data: { VarCharValue: string }[] } => ({ Data: cells.map((v) => ({ VarCharValue: v })) });
    return { ResultSet: { Rows: [row(header), row(values)] } };
  });
  s3Mock.on(GetObjectCommand).callsFake(async ({ Bucket, Key }: { Bucket: string; Key: string }) => {
    const text = world.objects.get(`s3://${Bucket}/${Key}`);
    if (text === undefined) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => text } };
  });
}

function putJson(uri: string, doc: unknown): void {
  world.objects.set(uri, JSON.stringify(doc));
}

let logSpy: jest.SpyInstance;

beforeEach(() => {
  athenaMock.reset();
  s3Mock.reset();
  Object.assign(process.env, ENV);
  world = {
    facts: { [RUN_ID]: consistentRun(), [OTHER_RUN_ID]: otherRun() },
    objects: new Map(),
    runningPolls: 0,
    started: [],
    inFlight: 0,
    maxInFlight: 0,
  };
  putJson(SUMMARY_URI, runSummary());
  putJson(MANIFEST_URI, manifest(world.facts[RUN_ID]));
  installFakes();
  logSpy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  logSpy.mockRestore();
});

interface GateFailure extends Error {
  failedChecks: { name: string; expected: string; actual: string }[];
}

async function expectGateFailure(): Promise<GateFailure> {
  const error = await handler({ runId: RUN_ID }).then(
    () => {
      throw new Error('the gate passed, expected a DataQualityError');
    },
    (e: unknown) => e as GateFailure,
  );
  expect(error.name).toBe('DataQualityError');
  return error;
}

/** The message line of the failed check whose name contains `fragment`. */
function failureLine(error: Error, fragment: string): string {
  const line = error.message.split('\n').find((l) => l.includes(fragment));
  if (!line) throw new Error(`no failed check "${fragment}" in:\n${error.message}`);
  return line;
}

const failedNames = (error: GateFailure): string[] => error.failedChecks.map((c) => c.name);

// ---------------------------------------------------------------------------------------------

describe('data-quality gate', () => {
  test('a consistent run passes and reports every check', async () => {
    const result = await handler({ runId: RUN_ID, dataset: 'rees46', anything: { else: true } });

    expect(result.runId).toBe(RUN_ID);
    expect(result.passed).toBe(true);
    expect(result.checks.every((c) => c.passed)).toBe(true);
    const byName = new Map(result.checks.map((c) => [c.name, c]));
    expect(byName.get('events rows = run-summary totals.accepted')).toMatchObject({ expected: '10', actual: '10' });
    expect(byName.get('rejects rows = run-summary totals.rejected')).toMatchObject({ expected: '2', actual: '2' });
    expect(byName.get('sum(purch_date.revenue) = sum(coalesce(price, 0)) over purchase events')).toMatchObject({
      expected: '22.75',
      actual: '22.75',
    });
    expect(byName.get('sum(c_date.cart_events) = cart events')).toMatchObject({ expected: '1', actual: '1' });
    for (const table of SERVED) {
      expect(byName.get(`manifest ${table}.rowCount = ${table} rows`)).toMatchObject({
        expected: String(world.facts[RUN_ID][table]?.rows ?? 0),
        passed: true,
      });
    }
    // Each check result carries exactly the four fields; the SQL stays in the log.
    expect(Object.keys(result.checks[0]).sort()).toEqual(['actual', 'expected', 'name', 'passed']);

    const logged = JSON.parse(logSpy.mock.calls.at(-1)![0] as string);
    expect(logged).toMatchObject({ runId: RUN_ID, passed: true, failed: 0 });
    expect(logged.checks).toHaveLength(result.checks.length);
  });

  test('every query is bound to the run, runs in the workgroup and is batched one per table, at most 4 at a time', async () => {
    await handler({ runId: RUN_ID });

    expect(world.started.length).toBeGreaterThan(0);
    for (const input of world.started) {
      expect(input.QueryString).toContain('WHERE run_id = ?');
      expect(input.QueryString).not.toContain(RUN_ID);
      expect(input.ExecutionParameters).toEqual([`'${RUN_ID}'`]);
      expect(input.WorkGroup).toBe(ENV.ATHENA_WORKGROUP);
      expect(input).not.toHaveProperty('ResultConfiguration');
    }
    const tables = world.started.map((i) => /FROM "shopsight_dev"\."(\w+)"/.exec(i.QueryString!)![1]).sort();
    expect(tables).toEqual(['events', 'rejects', ...SERVED].sort());
    expect(world.maxInFlight).toBeGreaterThan(1);
    expect(world.maxInFlight).toBeLessThanOrEqual(4);
  });

  test('the other run in the same tables is never read: its own gate passes on its own numbers', async () => {
    const counts = { rowsRead: 3, accepted: 3, rejected: 0, rejectedByReason: {}, duplicatesRemoved: 0 };
    putJson(`s3://curated-bucket/_runs/${OTHER_RUN_ID}/run-summary.json`, {
      ...runSummary(),
      runId: OTHER_RUN_ID,
      files: [{ source: 's3://raw-bucket/rees46/2019-Nov.csv', ...counts }],
      totals: counts,
    });
    putJson(`s3://export-bucket/runs/${OTHER_RUN_ID}/manifest.json`, { ...manifest(world.facts[OTHER_RUN_ID]), runId: OTHER_RUN_ID });

    const result = await handler({ runId: OTHER_RUN_ID });
    expect(result.checks.find((c) => c.name === 'events rows = run-summary totals.accepted')).toMatchObject({ actual: '3' });
    expect(world.started.every((i) => i.ExecutionParameters?.[0] === `'${OTHER_RUN_ID}'`)).toBe(true);
  });

  test('events count different from the run summary accepted count fails, naming both numbers', async () => {
    world.facts[RUN_ID].events.rows = 9;
    world.facts[RUN_ID].userid_date.totals.events = '9'; // the schema tables agree with events: only the summary is off

    const error = await expectGateFailure();
    const line = failureLine(error, 'events rows = run-summary totals.accepted');
    expect(line).toContain('expected 10');
    expect(line).toContain('actual 9');
    expect(failedNames(error)).toEqual(['events rows = run-summary totals.accepted']);
    const logged = JSON.parse(logSpy.mock.calls.at(-1)![0] as string);
    expect(logged).toMatchObject({ level: 'ERROR', runId: RUN_ID, passed: false, failed: 1 });
  });

  test('revenue that differs by one cent fails the revenue checks, compared exactly', async () => {
    world.facts[RUN_ID].purch_date.totals.revenue = '22.74';

    const error = await expectGateFailure();
    const line = failureLine(error, 'sum(purch_date.revenue) = sum(coalesce(price, 0)) over purchase events');
    expect(line).toContain('expected 22.75');
    expect(line).toContain('actual 22.74');
    // purchase_c_s_b still holds 22.75, so it no longer matches purch_date either.
    expect(failureLine(error, 'sum(purchase_c_s_b.revenue) = sum(purch_date.revenue)')).toContain('expected 22.74');
    expect(failedNames(error)).toHaveLength(2);
  });

  test('a weekday cart total that disagrees with the events fails', async () => {
    world.facts[RUN_ID].p_v_c_day.totals.carts = '0';

    const error = await expectGateFailure();
    expect(failedNames(error)).toEqual(['sum(p_v_c_day.carts) = cart events']);
    expect(failureLine(error, 'sum(p_v_c_day.carts)')).toMatch(/expected 1, actual 0/);
  });

  test('a manifest row count different from the table fails', async () => {
    const doc = manifest(world.facts[RUN_ID]);
    doc.tables.purch_date.rowCount = 3;
    putJson(MANIFEST_URI, doc);

    const error = await expectGateFailure();
    const line = failureLine(error, 'manifest purch_date.rowCount');
    expect(line).toContain('expected 2');
    expect(line).toContain('actual 3');
    expect(failedNames(error)).toHaveLength(1);
  });

  test('a served table missing from the manifest fails', async () => {
    const doc = manifest(world.facts[RUN_ID]);
    delete (doc.tables as Record<string, unknown>).p_v_c_day;
    putJson(MANIFEST_URI, doc);

    const error = await expectGateFailure();
    expect(failureLine(error, 'manifest lists p_v_c_day')).toContain('actual absent');
    expect(failedNames(error)).toEqual(['manifest lists p_v_c_day']);
  });

  test('manifest columns out of the contract order, or a table the contract does not serve, fail', async () => {
    const doc = manifest(world.facts[RUN_ID]);
    doc.tables.v_date.columns = ['event_date', 'view_users', 'view_events'];
    doc.tables.events = { columns: ['event_time'], rowCount: 10, files: [] };
    doc.tables.basket_rules = { columns: ['x'], rowCount: 1, files: [] };
    putJson(MANIFEST_URI, doc);

    const error = await expectGateFailure();
    expect(failureLine(error, 'manifest v_date.columns')).toContain(
      'expected event_date,view_events,view_users, actual event_date,view_users,view_events',
    );
    const extra = failureLine(error, 'manifest lists only served contract tables');
    expect(extra).toContain('events (not served)');
    expect(extra).toContain('basket_rules (not in the contract)');
    expect(failedNames(error)).toHaveLength(2);
  });

  test('a manifest of another run fails', async () => {
    putJson(MANIFEST_URI, { ...manifest(world.facts[RUN_ID]), runId: OTHER_RUN_ID });

    const error = await expectGateFailure();
    expect(failureLine(error, 'manifest')).toContain(`actual runId "${OTHER_RUN_ID}"`);
  });

  test('a run summary that does not reconcile fails with its problem', async () => {
    const summary = runSummary();
    (summary.totals as Record<string, unknown>).rowsRead = 14;
    putJson(SUMMARY_URI, summary);

    const error = await expectGateFailure();
    const line = failureLine(error, 'run-summary');
    expect(line).toContain('rows read 14');
    expect(line).toContain('rowsRead 14 ≠ sum over files 13');
    // Counts are not compared with a summary that cannot be trusted.
    expect(failedNames(error)).toEqual(['run-summary']);
  });

  test('a missing manifest fails naming its s3:// URI, and the other checks are still reported', async () => {
    world.objects.delete(MANIFEST_URI);
    world.facts[RUN_ID].v_date.totals.view_events = '3';

    const error = await expectGateFailure();
    expect(failureLine(error, 'manifest')).toContain(MANIFEST_URI);
    expect(failureLine(error, 'sum(v_date.view_events) = view events')).toMatch(/expected 4, actual 3/);
    expect(failedNames(error)).toEqual(['sum(v_date.view_events) = view events', 'manifest']);
  });

  test('a missing run summary fails naming its s3:// URI', async () => {
    world.objects.delete(SUMMARY_URI);

    const error = await expectGateFailure();
    expect(failureLine(error, 'run-summary')).toContain(SUMMARY_URI);
    expect(failedNames(error)).toEqual(['run-summary']);
  });

  test('a FAILED Athena query surfaces its reason and the checks it serves', async () => {
    world.failing = { table: 'purch_date', reason: 'HIVE_BAD_DATA: Field revenue type INT64 in parquet is incompatible with decimal(18,2)' };

    const error = await handler({ runId: RUN_ID }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('AthenaQueryError');
    expect((error as Error).message).toContain('FAILED: HIVE_BAD_DATA: Field revenue type INT64');
    expect((error as Error).message).toContain('table "purch_date"');
    expect((error as Error).message).toContain('sum(purch_date.revenue) = sum(coalesce(price, 0)) over purchase events');
    // The queries still running when one failed were waited for, not left polling.
    expect(world.inFlight).toBe(0);
  });

  test('waits for running queries, polling until they succeed', async () => {
    world.runningPolls = 1;

    await expect(handler({ runId: RUN_ID })).resolves.toMatchObject({ passed: true });
    expect(athenaMock.commandCalls(GetQueryExecutionCommand)).toHaveLength(2 * world.started.length);
  });

  test('a query still running near the Lambda timeout is stopped and fails the run', async () => {
    world.runningPolls = Number.POSITIVE_INFINITY;
    athenaMock.on(StopQueryExecutionCommand).resolves({});

    // 10 s of the remaining time are kept for the answer: this leaves the 1 s minimum for the queries.
    const error = await handler({ runId: RUN_ID }, { getRemainingTimeInMillis: () => 10_500 }).catch((e: Error) => e);
    expect((error as Error).name).toBe('AthenaQueryError');
    expect((error as Error).message).toMatch(/still RUNNING, not done within 1 s; stopped it/);
    const stopped = athenaMock.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input.QueryExecutionId);
    // Every query that was started timed out and was stopped; none was started after the first failure.
    expect(stopped.sort()).toEqual(world.started.map((_, i) => `q-${i + 1}`).sort());
    expect(world.started).toHaveLength(4);
  });

  test('an invalid run id or a missing variable fails before any query', async () => {
    await expect(handler({ runId: "x' OR '1'='1" })).rejects.toThrow(/runId .* is not valid/);
    await expect(handler({})).rejects.toThrow(/string "runId"/);
    delete process.env.GLUE_DATABASE;
    await expect(handler({ runId: RUN_ID })).rejects.toThrow('GLUE_DATABASE');
    process.env.GLUE_DATABASE = 'shopsight-dev';
    await expect(handler({ runId: RUN_ID })).rejects.toThrow(/not a valid Glue identifier/);
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('data-quality gate building blocks', () => {
  test('decimals compare exactly, beyond float precision, whatever the printed scale', () => {
    expect(canonicalDecimal('022.750')).toBe('22.75');
    expect(canonicalDecimal('-0.00')).toBe('0');
    expect(canonicalDecimal('10')).toBe('10');
    expect(sameNumber('22.75', '22.750')).toBe(true);
    expect(sameNumber('10', '10.00')).toBe(true);
    // Equal as doubles, different as money.
    expect(Number('12345678901234567.89')).toBe(Number('12345678901234567.88'));
    expect(sameNumber('12345678901234567.89', '12345678901234567.88')).toBe(false);
    expect(sameNumber(null, null)).toBe(false);
    expect(sameNumber('1e3', '1000')).toBe(false);
  });

  test('identifiers are validated and quoted; string parameters are quoted for Athena', () => {
    expect(quoteIdentifier('purch_date')).toBe('"purch_date"');
    expect(() => quoteIdentifier('purch-date')).toThrow();
    expect(() => quoteIdentifier('x"; DROP TABLE y; --')).toThrow();
    expect(athenaStringLiteral('oct-2019')).toBe("'oct-2019'");
    expect(athenaStringLiteral("o'brien")).toBe("'o''brien'");
  });

  test('every measure names a contract table, and each table is queried once', () => {
    const queries = planTableQueries('db', measureUses());
    expect(new Set(queries.map((q) => q.table)).size).toBe(queries.length);
    for (const q of queries) expect(() => outputTable(q.table)).not.toThrow();
    expect(() => planTableQueries('db', [{ measure: { table: 'no_such_table', expression: 'count(*)' }, check: 'x' }])).toThrow(
      /No table "no_such_table"/,
    );
  });
});
