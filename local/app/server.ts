/**
 * `shopsight app`'s server (docs/app.md): Fastify with a JSON schema on every route (OpenAPI 3 at
 * GET /api/openapi.json), the page queries of local/app/data.ts, the query sandbox, upload and demo
 * jobs, and the front end bundled by buildAssets(). Every request's Host header must name this
 * server (421 otherwise: DNS rebinding); a POST with an Origin must come from it (403).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildAssets } from './assets';
import { ApiError, RunData } from './data';
import { DEMO_EVENTS, JOB_ID_PATTERN, JobManager } from './jobs';
import { QueryLimits, QuerySandbox, toCsv } from './query';
import { RUN_ID_PATTERN, RunEntry, RunRegistry } from './runs';

export const WORKDIR_MARKER = '.shopsight-app.json';

export interface AppOptions {
  readonly runDirs: string[];
  readonly port: number;
  readonly host: string;
  /** Further names the Host header may give (no port): the machine's name or LAN address. */
  readonly allowHosts?: readonly string[];
  readonly workdir: string;
  readonly maxUploadMb: number;
  readonly log?: (line: string) => void;
  /** The sandbox's limits (docs/app.md: 10 s, 10,000 rows). */
  readonly query?: QueryLimits;
}

export interface RunningApp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

const ID = '^[0-9]{1,19}$';
const runParam = { type: 'object', properties: { run: { type: 'string', pattern: RUN_ID_PATTERN } }, required: ['run'] } as const;
const runQuery = { run: { type: 'string', pattern: RUN_ID_PATTERN } } as const;
const text = (max = 200) => ({ type: 'string', maxLength: max }) as const;
const int = (minimum: number, maximum: number, dflt?: number) => ({ type: 'integer', minimum, maximum, ...(dflt === undefined ? {} : { default: dflt }) }) as const;
const ratio = { type: 'number', minimum: 0 } as const;
const errorResponse = { type: 'object', properties: { error: { type: 'string' } } } as const;

// Response shapes, for the OpenAPI document (fields beyond those listed pass through).
type Schema = Record<string, unknown>;
const obj = (properties: Record<string, Schema>, nullable = false): Schema => ({ type: 'object', properties, additionalProperties: true, ...(nullable ? { nullable: true } : {}) });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const num = { type: 'number' };
const numOrNull = { type: 'number', nullable: true };
const str = { type: 'string' };
const strOrNull = { type: 'string', nullable: true };
/** A BIGINT id: a number, or its digits when beyond 2^53. */
const bigId = { anyOf: [{ type: 'number' }, { type: 'string' }] };
const runSchema = obj({ id: str, runId: str, dataset: str, folder: str, createdAt: strOrNull, events: num, users: num, firstDate: strOrNull, lastDate: strOrNull, currency: strOrNull, pricesKnown: { type: 'boolean' } });
const jobSchema = obj({
  id: str,
  status: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
  stages: arr(obj({ name: str, status: { type: 'string', enum: ['pending', 'running', 'done'] }, seconds: num, rows: num })),
  log: arr(str),
  runId: str,
  error: str,
  exitCode: num,
});
const userSchema200 = obj({
  user_id: bigId,
  totals: obj({ events: num, views: num, carts: num, purchases: num, spend: numOrNull, sessions: num, firstSeen: strOrNull, lastSeen: strOrNull }),
  history: arr(obj({ event_time: str, event_type: str, product_id: bigId, category_code: strOrNull, category: strOrNull, sub_category: strOrNull, brand: strOrNull, price: numOrNull })),
  segment: obj({ segment_id: num, segment_name: str, label: str, recency_days: numOrNull, frequency: numOrNull, monetary: numOrNull }, true),
  recommendations: arr(obj({ rank: num, product_id: bigId, score: num, category_code: strOrNull, category: strOrNull, sub_category: strOrNull, brand: strOrNull, price: numOrNull, why: str })),
  purchaseProbability: obj({ session_id: str, probability: num }, true),
  forecast: obj({ purchase_probability: numOrNull, predicted_spend: numOrNull, horizon_days: numOrNull }, true),
});
const queryResult = obj({ columns: arr(str), types: arr(str), rows: arr(arr({})), truncated: { type: 'boolean' }, elapsedMs: num });

/** The workdir is someone else's (or not a folder): refused, nothing in it changed. */
export class WorkdirError extends Error {}

/** Makes the workdir ours (created with our marker) or checks that it is; throws when it is someone else's. */
export function prepareWorkdir(workdir: string): void {
  const marker = path.join(workdir, WORKDIR_MARKER);
  if (fs.existsSync(workdir)) {
    if (!fs.statSync(workdir).isDirectory()) throw new WorkdirError(`--workdir ${workdir} is a file, not a folder`);
    if (!fs.existsSync(marker) && fs.readdirSync(workdir).length > 0) {
      throw new WorkdirError(`--workdir ${workdir} is not empty and was not created by shopsight app (no ${WORKDIR_MARKER}); choose a new or empty folder (nothing in it was changed)`);
    }
  }
  fs.mkdirSync(path.join(workdir, 'uploads'), { recursive: true });
  fs.mkdirSync(path.join(workdir, 'runs'), { recursive: true });
  if (!fs.existsSync(marker)) fs.writeFileSync(marker, `${JSON.stringify({ tool: 'shopsight', kind: 'app-workdir', createdAt: new Date().toISOString() }, null, 2)}\n`);
}

export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const log = opts.log ?? (() => undefined);
  const workdir = path.resolve(opts.workdir);
  const registry = new RunRegistry();
  for (const dir of opts.runDirs) registry.add(dir);
  prepareWorkdir(workdir);
  // Runs this app started earlier, kept under the workdir.
  for (const name of fs.readdirSync(path.join(workdir, 'runs'))) {
    try {
      registry.add(path.join(workdir, 'runs', name));
    } catch {
      // A run that failed leaves no run folder: nothing to serve.
    }
  }
  const assets = await buildAssets();
  const jobs = new JobManager(workdir, registry, log);
  const pages = new Map<string, Promise<RunData>>();
  const sandboxes = new Map<string, Promise<QuerySandbox>>();
  const maxUploadBytes = Math.floor(opts.maxUploadMb * 1024 * 1024);

  const lookup = (id: string | undefined): RunEntry => {
    const run = registry.get(id);
    if (!run) throw new ApiError(404, id === undefined ? 'no run is served yet: start one on the runs page' : `no run "${id}"`);
    return run;
  };
  const cached = <T>(cache: Map<string, Promise<T>>, run: RunEntry, open: (r: RunEntry) => Promise<T>): Promise<T> => {
    let p = cache.get(run.id);
    if (!p) {
      p = open(run);
      p.catch(() => cache.delete(run.id));
      cache.set(run.id, p);
    }
    return p;
  };
  const dataOf = (id: string | undefined) => cached(pages, lookup(id), RunData.open);
  const sandboxOf = (id: string | undefined) => cached(sandboxes, lookup(id), QuerySandbox.open);

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 1024 * 1024, ajv: { customOptions: { removeAdditional: false } } });
  let allowedHosts = new Set<string>();

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(host)) return reply.code(421).send({ error: `this server answers only as ${[...allowedHosts][0]} (Host header "${host}" refused)` });
    const origin = req.headers.origin;
    if (req.method === 'POST' && origin !== undefined && !allowedHosts.has(origin.toLowerCase().replace(/^http:\/\//, ''))) {
      return reply.code(403).send({ error: `cross-origin request from ${origin} refused` });
    }
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    return payload;
  });
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown; code?: string }, _req, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).send({ error: error.message });
    if (error.validation) return reply.code(400).send({ error: error.message });
    if (error.code === 'FST_REQ_FILE_TOO_LARGE') return reply.code(413).send({ error: `the upload is larger than ${opts.maxUploadMb} MB` });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return reply.code(error.statusCode).send({ error: error.message });
    log(`internal error: ${error.stack ?? error.message}`);
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no such route: ${req.method} ${req.url.split('?')[0].slice(0, 200)}` }));

  await app.register(swagger, {
    openapi: {
      info: { title: 'ShopSight app API', version: '1', description: 'The JSON API of `shopsight app` over local run folders (docs/app.md).' },
    },
  });
  await app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1, fields: 0, parts: 1 } });

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(assets.html));
  app.get('/assets/app.js', { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(assets.js));
  app.get('/assets/app.css', { schema: { hide: true } }, async (_req, reply) => reply.type('text/css; charset=utf-8').send(assets.css));

  app.get('/api/health', { schema: { summary: 'Liveness', response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  app.get('/api/runs', { schema: { summary: 'The served runs, newest first', response: { 200: obj({ runs: arr(runSchema) }) } } }, async () => {
    const runs = [];
    for (const run of registry.list()) {
      const info = await (await dataOf(run.id)).runInfo();
      runs.push({ id: run.id, runId: run.runId, dataset: run.dataset, folder: run.folder, createdAt: run.createdAt, ...info });
    }
    return { runs };
  });

  type RunReq<Q = Record<string, never>> = FastifyRequest<{ Params: { run: string }; Querystring: Q }>;

  app.get('/api/runs/:run/overview', {
    schema: { summary: 'Key figures and daily series', params: runParam, querystring: { type: 'object', properties: { from: text(10), to: text(10), category: text() } } },
  }, async (req: RunReq<{ from?: string; to?: string; category?: string }>) => (await dataOf(req.params.run)).overview(req.query));

  app.get('/api/runs/:run/funnel', {
    schema: { summary: 'The purchase funnel, overall and by category', params: runParam, querystring: { type: 'object', properties: { category: text() } } },
  }, async (req: RunReq<{ category?: string }>) => (await dataOf(req.params.run)).funnel(req.query));

  app.get('/api/runs/:run/products', {
    schema: { summary: 'Product search', params: runParam, querystring: { type: 'object', properties: { q: text(), limit: int(1, 500, 50) } } },
  }, async (req: RunReq<{ q?: string; limit: number }>) => (await dataOf(req.params.run)).products(req.query));

  app.get('/api/runs/:run/products/:productId', {
    schema: {
      summary: 'A product with bought-together and similar products',
      params: { type: 'object', properties: { run: runParam.properties.run, productId: { type: 'string', pattern: ID } }, required: ['run', 'productId'] },
    },
  }, async (req: FastifyRequest<{ Params: { run: string; productId: string } }>) => (await dataOf(req.params.run)).product(req.params.productId));

  const userSchema = { type: 'string', pattern: ID } as const;
  app.get('/api/users/:userId', {
    schema: { summary: "A user's history, segment, recommendations and predictions", params: { type: 'object', properties: { userId: userSchema }, required: ['userId'] }, querystring: { type: 'object', properties: runQuery }, response: { 200: userSchema200, 404: errorResponse } },
  }, async (req: FastifyRequest<{ Params: { userId: string }; Querystring: { run?: string } }>) => (await dataOf(req.query.run)).user(req.params.userId));
  app.get('/api/runs/:run/users/:userId', {
    schema: { summary: 'The same, the run in the path', params: { type: 'object', properties: { run: runParam.properties.run, userId: userSchema }, required: ['run', 'userId'] }, response: { 200: userSchema200, 404: errorResponse } },
  }, async (req: FastifyRequest<{ Params: { run: string; userId: string } }>) => (await dataOf(req.params.run)).user(req.params.userId));

  app.get('/api/runs/:run/intent', { schema: { summary: 'The purchase-intent model', params: runParam } }, async (req: RunReq) => (await dataOf(req.params.run)).intent());

  app.post('/api/runs/:run/what-if', {
    schema: {
      summary: "A session's purchase probability by the stored model",
      params: runParam,
      body: { type: 'object', properties: { features: { type: 'object', additionalProperties: { type: 'number' }, maxProperties: 100 } }, required: ['features'], additionalProperties: false },
    },
  }, async (req: FastifyRequest<{ Params: { run: string }; Body: { features: Record<string, number> } }>) => (await dataOf(req.params.run)).whatIf(req.body.features));

  app.get('/api/runs/:run/rules', {
    schema: {
      summary: 'Association rules',
      params: runParam,
      querystring: {
        type: 'object',
        properties: {
          kind: { type: 'string', enum: ['product', 'sub_category'] },
          minSupport: ratio,
          minConfidence: ratio,
          minLift: ratio,
          minBaskets: int(0, 1e9, 2),
          sort: { type: 'string', enum: ['lift', 'confidence', 'support', 'baskets'], default: 'lift' },
          order: { type: 'string', enum: ['desc', 'asc'], default: 'desc' },
          limit: int(1, 1000, 200),
        },
      },
    },
  }, async (req: RunReq<Parameters<RunData['rules']>[0]>) => (await dataOf(req.params.run)).rules(req.query));

  app.get('/api/runs/:run/tables', { schema: { summary: "The run's tables", params: runParam } }, async (req: RunReq) => (await dataOf(req.params.run)).tables());

  app.get('/api/runs/:run/rejects', {
    schema: { summary: 'Rejected input rows', params: runParam, querystring: { type: 'object', properties: { reason: text(), limit: int(1, 1000, 100), offset: int(0, 1e9, 0) } } },
  }, async (req: RunReq<{ reason?: string; limit: number; offset: number }>) => (await dataOf(req.params.run)).rejects(req.query));

  app.post('/api/query', {
    schema: {
      summary: 'A read-only SQL query over the run\'s tables (sandboxed)',
      body: {
        type: 'object',
        properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 }, run: runQuery.run, format: { type: 'string', enum: ['json', 'csv'], default: 'json' } },
        required: ['sql'],
        additionalProperties: false,
      },
      response: { 200: queryResult, 400: errorResponse, 408: errorResponse },
    },
  }, async (req: FastifyRequest<{ Body: { sql: string; run?: string; format: 'json' | 'csv' } }>, reply) => {
    const result = await (await sandboxOf(req.body.run)).run(req.body.sql, opts.query);
    if (req.body.format === 'csv') {
      return reply.type('text/csv; charset=utf-8').header('Content-Disposition', 'attachment; filename="query.csv"').send(toCsv(result));
    }
    return result;
  });

  app.post('/api/jobs', {
    schema: {
      summary: 'Start a run of an uploaded CSV (multipart field "file") or a demo ({"demo":{"events":N}})',
      // A multipart body (one file field "file") is read by the handler; a JSON body must be a demo request.
      body: {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { demo: { type: 'object', properties: { events: int(DEMO_EVENTS.min, DEMO_EVENTS.max) }, required: ['events'], additionalProperties: false } },
              required: ['demo'],
              additionalProperties: false,
            },
          },
          // Read by the handler (one file field "file", .csv or .csv.gz), so no body validation here.
          'multipart/form-data': { schema: { description: 'one file field "file": a .csv or .csv.gz of REES46 or RetailRocket events' } },
        },
      },
      response: { 202: obj({ job: jobSchema }), 400: errorResponse, 413: errorResponse },
    },
  }, async (req: FastifyRequest<{ Body?: { demo?: { events: number } } }>, reply) => {
    if (req.isMultipart()) {
      const file = await req.file();
      if (!file || file.fieldname !== 'file') throw new ApiError(400, 'the upload needs one file field named "file"');
      const ext = /\.csv\.gz$/i.test(file.filename) ? '.csv.gz' : /\.csv$/i.test(file.filename) ? '.csv' : null;
      if (!ext) {
        file.file.resume();
        throw new ApiError(400, 'the file must be a .csv or .csv.gz export (REES46 or RetailRocket events)');
      }
      const stored = path.join(workdir, 'uploads', `${randomUUID()}${ext}`);
      try {
        await pipeline(file.file, fs.createWriteStream(stored, { flags: 'wx' }));
        if (file.file.truncated) throw new ApiError(413, `the upload is larger than ${opts.maxUploadMb} MB`);
      } catch (error) {
        fs.rmSync(stored, { force: true });
        const e = error as { statusCode?: number; code?: string };
        if (e.statusCode === 413 || e.code === 'FST_REQ_FILE_TOO_LARGE') throw new ApiError(413, `the upload is larger than ${opts.maxUploadMb} MB`);
        throw error;
      }
      return reply.code(202).send({ job: jobs.startUpload(stored) });
    }
    const demo = req.body?.demo;
    if (!demo) throw new ApiError(400, 'send a multipart upload with a field "file", or JSON {"demo":{"events":N}}');
    return reply.code(202).send({ job: jobs.startDemo(demo.events) });
  });

  app.get('/api/jobs', { schema: { summary: 'The jobs, newest first', response: { 200: obj({ jobs: arr(jobSchema) }) } } }, async () => ({ jobs: jobs.list() }));
  app.get('/api/jobs/:jobId', {
    schema: { summary: 'A job and its progress', params: { type: 'object', properties: { jobId: { type: 'string', pattern: JOB_ID_PATTERN } }, required: ['jobId'] }, response: { 200: jobSchema, 404: errorResponse } },
  }, async (req: FastifyRequest<{ Params: { jobId: string } }>) => {
    const job = jobs.get(req.params.jobId);
    if (!job) throw new ApiError(404, `no job ${req.params.jobId}`);
    return job;
  });

  const address = await app.listen({ port: opts.port, host: opts.host });
  const port = (app.server.address() as { port: number }).port;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  allowedHosts = new Set([hostPart, '127.0.0.1', 'localhost', '[::1]', ...(opts.allowHosts ?? [])].map((h) => `${h}:${port}`.toLowerCase()));
  const url = `http://${hostPart}:${port}/`;
  log(`listening on ${address}`);

  return {
    url,
    port,
    async close() {
      await jobs.close();
      await app.close();
      for (const cache of [pages, sandboxes] as Map<string, Promise<{ close(): void }>>[]) {
        for (const p of cache.values()) (await p.catch(() => undefined))?.close();
        cache.clear();
      }
    },
  };
}
