/**
 * The recommendations API's Data API calls, checked with aws-sdk-client-mock: the SQL is the
 * queries.ts string, ids go as stringValue (exact up to 2^63 − 1) and limits as longValue, as the
 * read-only secret on the cluster, JSON records, no transaction; a resuming cluster gets a short
 * retry then a 503 with Retry-After; the coefficients are read once per TTL.
 */
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { createRecommendationsApi } from '../../core/api/api';
import { BOUGHT_TOGETHER_SQL, INTENT_COEFFICIENTS_SQL, SERVED_RUN_SQL, USER_FORECAST_SQL, USER_RECOMMENDATIONS_SQL, USER_SEGMENT_SQL } from '../../core/api/queries';
import { DataApi } from '../../lambdas/shared/data-api';
import { apiGatewayEvent } from '../../local/serving/api-http-server';
import { INTENT_COEFFICIENTS } from '../support/api-run';

const rds = mockClient(RDSDataClient);
const TARGET = {
  resourceArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:serving',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bi-AbCdEf',
  database: 'shopsight',
};
const noSleep = { sleep: async () => undefined };

beforeEach(() => rds.reset());

const records = (rows: readonly unknown[]) => ({ formattedRecords: JSON.stringify(rows) });
const sent = () => rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);

async function call(method: string, url: string, body?: string, api = createRecommendationsApi(new DataApi(new RDSDataClient({}), TARGET, noSleep), { log: () => undefined })) {
  const result = await api(apiGatewayEvent(method, url, body, 'req-9'));
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body) };
}

test('recommendations: the SQL of queries.ts, the id as stringValue (2^63 − 1 exactly), the limit as longValue', async () => {
  rds.on(ExecuteStatementCommand).resolves(records([{ source: 'als', rank: 1, product_id: '9223372036854775806', score: 0.5, category_code: null, category: null, sub_category: null, brand: 'x', price: '12.50' }]));
  const r = await call('GET', '/users/9223372036854775807/recommendations?limit=25');
  expect(r.body).toEqual({ userId: '9223372036854775807', source: 'als', items: [{ rank: 1, productId: '9223372036854775806', score: 0.5, categoryCode: null, category: null, subCategory: null, brand: 'x', price: 12.5 }] });
  expect(sent()).toEqual([
    {
      ...TARGET,
      sql: USER_RECOMMENDATIONS_SQL,
      parameters: [
        { name: 'userId', value: { stringValue: '9223372036854775807' } },
        { name: 'limit', value: { longValue: 25 } },
      ],
      formatRecordsAs: 'JSON',
    },
  ]);
});

test('bought-together, segment, forecast and health: SQL and typed parameters; an invalid request sends nothing', async () => {
  rds.on(ExecuteStatementCommand).resolves(records([]));
  expect((await call('GET', '/products/1000002/bought-together')).status).toBe(404);
  expect((await call('GET', '/users/77/segment')).status).toBe(404);
  expect((await call('GET', '/users/9223372036854775807/forecast')).status).toBe(404);
  expect((await call('GET', '/health')).body).toEqual({ status: 'ok', database: 'reachable', servedRun: null });
  expect((await call('GET', '/users/abc/segment')).status).toBe(400);
  expect(sent().map((s) => [s.sql, s.parameters])).toEqual([
    [BOUGHT_TOGETHER_SQL, [{ name: 'productId', value: { stringValue: '1000002' } }, { name: 'limit', value: { longValue: 10 } }]],
    [USER_SEGMENT_SQL, [{ name: 'userId', value: { stringValue: '77' } }]],
    [USER_FORECAST_SQL, [{ name: 'userId', value: { stringValue: '9223372036854775807' } }]],
    [SERVED_RUN_SQL, [{ name: 'status', value: { stringValue: 'loaded' } }]],
  ]);
  expect(sent().every((s) => s.transactionId === undefined && s.continueAfterTimeout === undefined)).toBe(true);
});

test('score: coefficients read once per container and TTL, with no parameters', async () => {
  rds.on(ExecuteStatementCommand).resolves(records(INTENT_COEFFICIENTS));
  const api = createRecommendationsApi(new DataApi(new RDSDataClient({}), TARGET, noSleep), { coefficientsTtlMs: 60_000 });
  const body = JSON.stringify({
    views: 3, carts: 1, remove_from_carts: 0, distinct_products: 2, distinct_categories: 1, duration_seconds: 60,
    start_hour: 0, day_of_week: 7, avg_view_price: 10, max_view_price: 10, min_view_price: 10, cart_value: 10,
  });
  const [a, b] = await Promise.all([call('POST', '/sessions/score', body, api), call('POST', '/sessions/score', body, api)]);
  await call('POST', '/sessions/score', body, api);
  expect(a.status).toBe(200);
  expect(b.body).toEqual(a.body);
  expect(sent()).toEqual([{ ...TARGET, sql: INTENT_COEFFICIENTS_SQL, parameters: [], formatRecordsAs: 'JSON' }]);
});

test('a resuming cluster: retried, then 503 database_resuming with Retry-After', async () => {
  const resuming = Object.assign(new Error('Database is resuming'), { name: 'DatabaseResumingException' });
  rds.on(ExecuteStatementCommand).rejects(resuming);
  const api = createRecommendationsApi(new DataApi(new RDSDataClient({}), TARGET, { ...noSleep, attempts: 3 }), { log: () => undefined });
  const r = await call('GET', '/users/5/recommendations', undefined, api);
  expect(r.status).toBe(503);
  expect(r.headers['retry-after']).toBe('30');
  expect(r.body).toEqual({ error: { code: 'database_resuming', message: expect.stringMatching(/resuming/), requestId: 'req-9' } });
  expect(sent()).toHaveLength(3);
});

test('the Lambda entry point reads its target from the environment', async () => {
  process.env.CLUSTER_ARN = TARGET.resourceArn;
  process.env.SECRET_ARN = TARGET.secretArn;
  process.env.DATABASE_NAME = TARGET.database;
  rds.on(ExecuteStatementCommand).resolves(records([{ run_id: 'run-7', finished_at: '2026-11-23 10:00:00.000000' }]));
  const { handler } = await import('../../lambdas/recommendations-api/index');
  const r = await handler(apiGatewayEvent('GET', '/health', undefined, 'req-1'));
  expect(JSON.parse(r.body)).toEqual({ status: 'ok', database: 'reachable', servedRun: { runId: 'run-7', loadedAt: '2026-11-23T10:00:00.000000Z' } });
  expect(sent()[0]).toMatchObject(TARGET);
});
