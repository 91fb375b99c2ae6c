/**
 * The recommendations API handler against a real MariaDB: the serving schema of
 * core/serving/mysql-schema.ts, a generated run loaded by the first part's loader (loadServingLocal),
 * and the handler reading as the read-only BI user through the mysql2 runner, i.e. the exact SQL
 * of core/api/queries.ts that the Lambda sends through the Data API.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiHandler, createRecommendationsApi } from '../../core/api/api';
import { SessionFeatures } from '../../core/api/validation';
import { INTENT_FEATURES, INTERCEPT_FEATURE } from '../../core/contract';
import { biUserStatements } from '../../core/serving/mysql-schema';
import { apiGatewayEvent, startApiServer } from '../../local/serving/api-http-server';
import { loadServingLocal } from '../../local/serving/mysql-loader';
import { mysqlPoolRunner, PoolRunner } from '../../local/serving/mysql-pool-runner';
import {
  ApiRunSpec,
  BIG_PRODUCT_ID,
  FORECAST_START,
  hasForecast,
  INTENT_COEFFICIENTS,
  isCold,
  MAX_BIGINT,
  popularRows,
  productId,
  productRows,
  recommendedProducts,
  SEGMENTS,
  userId,
  writeApiRun,
} from '../support/api-run';
import { MariaDb, startMariaDb } from '../support/mariadb';

const DB = 'shopsight';
const SPEC: ApiRunSpec = { users: 200, products: 60 };
const BI_USER = 'shopsight_bi';
const BI_PASSWORD = 'bi-Password-1';

let server: MariaDb;
let work: string;
let runner: PoolRunner;
let api: ApiHandler;

/** The BI user's grant on load_runs (biUserStatements has it): /health reads which run is served. Revoked once below. */
const LOAD_RUNS_GRANT = `GRANT SELECT ON \`${DB}\`.\`load_runs\` TO '${BI_USER}'@'%'`;

async function asRoot(sql: string, values: unknown[] = []): Promise<unknown> {
  return server.exec(sql, values);
}

beforeAll(async () => {
  server = await startMariaDb();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'api-runs-'));
  await asRoot(`CREATE DATABASE ${DB}`);
  writeApiRun(path.join(work, 'run-a'), 'run-a', SPEC);
  await loadServingLocal(server.url('root', '', DB), path.join(work, 'run-a'));
  const admin = await server.connect({ database: DB });
  for (const s of biUserStatements(BI_USER, BI_PASSWORD, DB)) {
    // The first part's statements, bound as on Aurora (user and password are values).
    const sql = s.sql.replace(/:user/g, '?').replace(/:password/g, '?');
    const values = [...s.sql.matchAll(/:(user|password)/g)].map((m) => (m[1] === 'user' ? BI_USER : BI_PASSWORD));
    await admin.query(sql, values);
  }
  await admin.query(LOAD_RUNS_GRANT);
  await admin.end();
  runner = mysqlPoolRunner({ socketPath: server.socketPath, user: BI_USER, password: BI_PASSWORD, database: DB });
  api = createRecommendationsApi(runner, { log: () => undefined });
}, 120_000);

afterAll(async () => {
  await runner?.end();
  await server?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

interface Response {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

async function call(method: string, url: string, body?: string, handler: ApiHandler = api): Promise<Response> {
  const result = await handler(apiGatewayEvent(method, url, body, 'req-123'));
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body) };
}

const products = new Map([...productRows(SPEC)].map((p) => [String(p.product_id), p]));
const metadata = (id: string) => {
  const p = products.get(id)!;
  return { categoryCode: p.category_code, category: p.category, subCategory: p.sub_category, brand: p.brand, price: p.price };
};

function expectError(response: Response, status: number, code: string, message: RegExp): void {
  expect(response.status).toBe(status);
  expect(response.body).toEqual({ error: { code, message: expect.stringMatching(message), requestId: 'req-123' } });
}

describe('GET /users/{userId}/recommendations', () => {
  test('ALS recommendations, best first, with product metadata (default limit 10)', async () => {
    const r = await call('GET', `/users/${userId(1)}/recommendations`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const expected = recommendedProducts(SPEC, 1).slice(0, 10);
    expect(r.body).toEqual({
      userId: userId(1),
      source: 'als',
      items: expected.map((i, k) => ({ rank: k + 1, productId: productId(i), score: 1 - k / 100, ...metadata(productId(i)) })),
    });
  });

  test('limit bounds the list (1 and 100; a user has 20)', async () => {
    expect((await call('GET', `/users/${userId(1)}/recommendations?limit=1`)).body.items).toHaveLength(1);
    expect((await call('GET', `/users/${userId(1)}/recommendations?limit=100`)).body.items).toHaveLength(20);
  });

  test('a user without recommendations, known or not, gets the popular products', async () => {
    expect(isCold(SPEC, 10)).toBe(true);
    const popular = [...popularRows(SPEC)].slice(0, 5);
    for (const id of [userId(10), '123456789']) {
      const r = await call('GET', `/users/${id}/recommendations?limit=5`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        userId: id,
        source: 'popular',
        items: popular.map((p) => ({ rank: p.rank, productId: p.product_id, score: p.score, ...metadata(String(p.product_id)) })),
      });
    }
  });

  test('ids up to 2^63 − 1 are exact (never a JavaScript number); leading zeros are the same id', async () => {
    const r = await call('GET', `/users/${MAX_BIGINT}/recommendations`);
    expect(r.body).toMatchObject({ userId: MAX_BIGINT, source: 'als', items: [{ rank: 1, productId: BIG_PRODUCT_ID }] });
    // 2^63 − 2 is a different user (doubles would make them equal).
    expect((await call('GET', `/users/9223372036854775806/recommendations`)).body.source).toBe('popular');
    expect((await call('GET', `/users/000${userId(1)}/recommendations?limit=1`)).body.userId).toBe(userId(1));
  });

  test.each([
    ['abc', /userId must be a positive integer, got "abc"/],
    ['0', /userId must be between 1 and 9223372036854775807, got 0/],
    ['-5', /userId must be a positive integer/],
    ['1.5', /userId must be a positive integer/],
    ['1e3', /userId must be a positive integer/],
    ['9223372036854775808', /userId must be between 1 and 9223372036854775807/],
  ])('userId %s → 400', async (id, message) => {
    expectError(await call('GET', `/users/${id}/recommendations`), 400, 'invalid_request', message);
  });

  test.each([['0'], ['101'], ['abc'], ['-1'], ['5,6'], ['']])('limit=%s → 400', async (limit) => {
    expectError(await call('GET', `/users/${userId(1)}/recommendations?limit=${limit}`), 400, 'invalid_request', /^limit must be an integer from 1 to 100/);
  });
});

describe('GET /products/{productId}/bought-together', () => {
  test('the product with its bought-together products, best first, with metadata', async () => {
    const r = await call('GET', `/products/${productId(1)}/bought-together?limit=3`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      productId: productId(1),
      product: metadata(productId(1)),
      items: [0, 1, 2].map((k) => ({
        rank: k + 1,
        productId: productId(2 + k),
        support: 0.01,
        confidence: 0.9 - k / 20,
        lift: 3 - k / 10,
        baskets: 40 - k,
        ...metadata(productId(2 + k)),
      })),
    });
    expect((await call('GET', `/products/${productId(1)}/bought-together`)).body.items).toHaveLength(10);
  });

  test('a known product without rules → 200 with no items; an unknown one → 404', async () => {
    const none = await call('GET', `/products/${productId(0)}/bought-together`);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ productId: productId(0), product: metadata(productId(0)), items: [] });
    expect((await call('GET', `/products/${BIG_PRODUCT_ID}/bought-together`)).body).toMatchObject({ productId: BIG_PRODUCT_ID, items: [] });
    expectError(await call('GET', '/products/999/bought-together'), 404, 'not_found', /Product 999 is not in the served products/);
  });

  test('bad id and limit → 400', async () => {
    expectError(await call('GET', '/products/x1/bought-together'), 400, 'invalid_request', /productId must be a positive integer/);
    expectError(await call('GET', `/products/${productId(1)}/bought-together?limit=500`), 400, 'invalid_request', /limit .* got 500/);
  });
});

describe('GET /users/{userId}/segment', () => {
  test("the user's segment, its profile and the user's behaviour", async () => {
    const u = 6; // segment 2, purchase_to_cart_rate NULL (no carts)
    const r = await call('GET', `/users/${userId(u)}/segment`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      userId: userId(u),
      segment: {
        id: 2,
        name: SEGMENTS[2],
        customers: 50,
        share: 0.25,
        revenueShare: 0.15,
        averages: { recencyDays: 12, frequency: 1, monetary: 20, views: 32, carts: 3, purchases: 1, sessions: 5 },
      },
      behaviour: { recencyDays: 6.5, frequency: 1, monetary: 19.99, views: 16, carts: 0, purchases: 1, sessions: 7, cartToViewRate: 0, purchaseToCartRate: null },
    });
  });

  test('unknown user → 404; bad id → 400', async () => {
    expectError(await call('GET', '/users/42/segment'), 404, 'not_found', /User 42 has no segment/);
    expectError(await call('GET', '/users/4x2/segment'), 400, 'invalid_request', /userId/);
  });
});

describe('GET /users/{userId}/forecast', () => {
  test("the user's spend forecast for the served run: probability × spend given a purchase, the baseline, the horizon", async () => {
    const u = 7;
    const r = await call('GET', `/users/${userId(u)}/forecast`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      userId: userId(u),
      purchaseProbability: 0.75,
      spendIfPurchase: 23.5,
      predictedSpend: 0.75 * 23.5,
      baselineSpend: 5.5,
      horizonDays: 30,
      forecastStart: FORECAST_START,
    });
  });

  test('ids up to 2^63 − 1 are exact; leading zeros are the same id', async () => {
    expect((await call('GET', `/users/${MAX_BIGINT}/forecast`)).body).toMatchObject({ userId: MAX_BIGINT, purchaseProbability: 9 / 10 + 0.05, horizonDays: 30 });
    expect((await call('GET', `/users/000${userId(3)}/forecast`)).body.userId).toBe(userId(3));
  });

  test('a known user without a forecast, or an unknown one → 404 saying why there may be none; bad ids → 400 as on every user route', async () => {
    const without = 10;
    expect(hasForecast(without)).toBe(false);
    expect((await call('GET', `/users/${userId(without)}/segment`)).status).toBe(200);
    expectError(await call('GET', `/users/${userId(without)}/forecast`), 404, 'not_found', new RegExp(`^User ${userId(without)} has no spend forecast in the served run .*under four days`));
    expectError(await call('GET', '/users/42/forecast'), 404, 'not_found', /User 42 has no spend forecast/);
    for (const [bad, message] of [
      ['4x2', /userId must be a positive integer, got "4x2"/],
      ['0', /userId must be between 1 and 9223372036854775807, got 0/],
      ['9223372036854775808', /userId must be between 1 and/],
      ['-1', /userId must be a positive integer/],
      ['1%20OR%201%3D1', /userId must be a positive integer, got "1 OR 1=1"/],
    ] as const) {
      expectError(await call('GET', `/users/${bad}/forecast`), 400, 'invalid_request', message);
    }
  });
});

describe('POST /sessions/score', () => {
  const session: SessionFeatures = {
    views: 14,
    carts: 2,
    remove_from_carts: 1,
    distinct_products: 9,
    distinct_categories: 2,
    duration_seconds: 812.5,
    start_hour: 21,
    day_of_week: 6,
    avg_view_price: 199.9,
    max_view_price: 420,
    min_view_price: 15.5,
    cart_value: 389.8,
  };

  /** The formula of intent_coefficients' description, written out independently of the handler. */
  function expectedProbability(x: SessionFeatures, rows = INTENT_COEFFICIENTS): number {
    let z = rows.find((r) => r.feature === INTERCEPT_FEATURE)!.coefficient;
    for (const r of rows) {
      if (r.feature === INTERCEPT_FEATURE || r.stddev === 0) continue;
      z += r.coefficient * ((x[r.feature as keyof SessionFeatures] - r.mean) / r.stddev);
    }
    return 1 / (1 + Math.exp(-z));
  }

  test('the probability is the stored logistic regression applied to the features', async () => {
    const r = await call('POST', '/sessions/score', JSON.stringify(session));
    expect(r.status).toBe(200);
    expect(r.body.probability).toBeCloseTo(expectedProbability(session), 12);
    expect(r.body.probability).toBeGreaterThan(0);
    expect(r.body.probability).toBeLessThan(1);
    const quiet = { ...session, views: 1, carts: 0, distinct_products: 1, cart_value: 0 };
    const q = await call('POST', '/sessions/score', JSON.stringify(quiet));
    expect(q.body.probability).toBeCloseTo(expectedProbability(quiet), 12);
    expect(q.body.probability).toBeLessThan(r.body.probability);
    // max_view_price has stddev 0: it changes nothing.
    const other = await call('POST', '/sessions/score', JSON.stringify({ ...session, max_view_price: 99999 }));
    expect(other.body.probability).toBe(r.body.probability);
    // A base64 body (API Gateway sends binary media types that way) is decoded.
    const event = { ...apiGatewayEvent('POST', '/sessions/score', Buffer.from(JSON.stringify(session)).toString('base64'), 'req-123'), isBase64Encoded: true };
    expect(JSON.parse((await api(event)).body).probability).toBe(r.body.probability);
  });

  test.each([
    ['a missing feature', () => JSON.stringify({ ...session, views: undefined }), /views is required \(an integer ≥ 0\)/],
    ['a null feature', () => JSON.stringify({ ...session, cart_value: null }), /cart_value is required/],
    ['a string number', () => JSON.stringify({ ...session, carts: '2' }), /carts must be an integer ≥ 0, got "2"/],
    ['a negative count', () => JSON.stringify({ ...session, views: -1 }), /views must be an integer ≥ 0, got -1/],
    ['a fractional count', () => JSON.stringify({ ...session, carts: 1.5 }), /carts must be an integer ≥ 0, got 1.5/],
    ['a negative price', () => JSON.stringify({ ...session, avg_view_price: -0.01 }), /avg_view_price must be a number ≥ 0/],
    ['hour 24', () => JSON.stringify({ ...session, start_hour: 24 }), /start_hour must be an integer from 0 to 23, got 24/],
    ['day 0', () => JSON.stringify({ ...session, day_of_week: 0 }), /day_of_week must be an integer from 1 to 7, got 0/],
    ['day 8', () => JSON.stringify({ ...session, day_of_week: 8 }), /day_of_week must be an integer from 1 to 7, got 8/],
    ['an unknown field', () => JSON.stringify({ ...session, hour: 3 }), /hour is not a session feature/],
    ['bad JSON', () => '{"views": 1,', /body is not valid JSON/],
    ['an array', () => '[1,2]', /body must be a JSON object/],
    ['no body', () => undefined, /body must be a JSON object with the session features \(views, carts/],
  ])('%s → 400 naming the field', async (_name, body, message) => {
    expectError(await call('POST', '/sessions/score', body()), 400, 'invalid_request', message);
  });

  test('several problems are all named', async () => {
    const r = await call('POST', '/sessions/score', JSON.stringify({ ...session, views: -1, start_hour: 30, duration_seconds: undefined }));
    expect(r.body.error.message).toBe('views must be an integer ≥ 0, got -1; duration_seconds is required (a number ≥ 0); start_hour must be an integer from 0 to 23, got 30');
  });

  test('the coefficients are cached per container for the TTL, then re-read', async () => {
    let clock = 1_000_000;
    const cached = createRecommendationsApi(runner, { coefficientsTtlMs: 60_000, now: () => clock, log: () => undefined });
    const before = (await call('POST', '/sessions/score', JSON.stringify(session), cached)).body.probability;
    await asRoot(`UPDATE ${DB}.intent_coefficients SET coefficient = coefficient + 1 WHERE feature = ?`, [INTERCEPT_FEATURE]);
    try {
      clock += 59_000;
      expect((await call('POST', '/sessions/score', JSON.stringify(session), cached)).body.probability).toBe(before);
      clock += 2_000;
      const after = (await call('POST', '/sessions/score', JSON.stringify(session), cached)).body.probability;
      const shifted = INTENT_COEFFICIENTS.map((r) => (r.feature === INTERCEPT_FEATURE ? { ...r, coefficient: r.coefficient + 1 } : r));
      expect(after).toBeCloseTo(expectedProbability(session, shifted), 12);
    } finally {
      await asRoot(`UPDATE ${DB}.intent_coefficients SET coefficient = coefficient - 1 WHERE feature = ?`, [INTERCEPT_FEATURE]);
    }
  });

  test('an incomplete model → 503 model_unavailable, and a failed load is not cached', async () => {
    const fresh = createRecommendationsApi(runner, { log: () => undefined });
    await asRoot(`DELETE FROM ${DB}.intent_coefficients WHERE feature = ?`, ['cart_value']);
    try {
      expectError(await call('POST', '/sessions/score', JSON.stringify(session), fresh), 503, 'model_unavailable', /lacks cart_value/);
    } finally {
      await asRoot(`INSERT INTO ${DB}.intent_coefficients VALUES (?, ?, ?, ?, ?)`, Object.values(INTENT_COEFFICIENTS[INTENT_FEATURES.length]));
    }
    expect((await call('POST', '/sessions/score', JSON.stringify(session), fresh)).status).toBe(200);
  });
});

describe('GET /health and the rest', () => {
  test('reports the served run, and the next one after a load', async () => {
    const r = await call('GET', '/health');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok', database: 'reachable', servedRun: { runId: 'run-a', loadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) } });
    writeApiRun(path.join(work, 'run-b'), 'run-b', { ...SPEC, users: 50 });
    await loadServingLocal(server.url('root', '', DB), path.join(work, 'run-b'));
    expect((await call('GET', '/health')).body.servedRun.runId).toBe('run-b');
    // The new run is what is served: user 60 existed in run-a only.
    expectError(await call('GET', `/users/${userId(60)}/segment`), 404, 'not_found', /has no segment/);
  });

  test('without SELECT on load_runs (the BI grants as they are) health is a 503', async () => {
    await asRoot(`REVOKE SELECT ON \`${DB}\`.\`load_runs\` FROM '${BI_USER}'@'%'`);
    try {
      const fresh = mysqlPoolRunner({ socketPath: server.socketPath, user: BI_USER, password: BI_PASSWORD, database: DB, connectionLimit: 1 });
      try {
        const lines: string[] = [];
        expectError(await call('GET', '/health', undefined, createRecommendationsApi(fresh, { log: (l) => lines.push(l) })), 503, 'database_unavailable', /health query/);
        expect(lines[0]).toMatch(/SELECT command denied .*load_runs/);
      } finally {
        await fresh.end();
      }
    } finally {
      await asRoot(LOAD_RUNS_GRANT);
    }
  });

  test('the BI user the API reads as cannot write', async () => {
    await expect(runner.query({ sql: 'DELETE FROM `products` WHERE `product_id` = :id', parameters: { id: 1 } })).rejects.toThrow(/DELETE command denied/);
  });

  test('an unknown route → 404; a database failure → 500 without details, logged with the request id', async () => {
    expectError(await call('GET', '/nope'), 404, 'route_not_found', /No route GET \/nope/);
    const lines: string[] = [];
    const broken = createRecommendationsApi({ query: () => Promise.reject(new Error("Table 'shopsight.products' doesn't exist")) }, { log: (l) => lines.push(l) });
    const r = await call('GET', `/products/${productId(1)}/bought-together`, undefined, broken);
    expectError(r, 500, 'internal_error', /^Internal error; quote the request id/);
    expect(JSON.stringify(r.body)).not.toMatch(/shopsight/);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'error', requestId: 'req-123', code: 'internal_error', error: expect.stringMatching(/doesn't exist/) });
  });

  test('the loopback server (bench) serves the same handler over HTTP', async () => {
    const local = await startApiServer(api);
    try {
      const res = await fetch(`${local.url}/users/${userId(2)}/recommendations?limit=2`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(2);
      const bad = await fetch(`${local.url}/sessions/score`, { method: 'POST', body: '{' });
      expect(bad.status).toBe(400);
    } finally {
      await local.close();
    }
  });
});
