/**
 * `shopsight app`'s security (docs/app.md, "The query sandbox" and "Security") on a real run of the
 * REES46 November sample: hostile SQL refused with 400 and a message (nothing written, the views
 * intact), a query that would run forever stopped at the time limit, the row cap, traversal in
 * every path parameter, foreign Host and Origin headers, the upload size limit.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApp } from '../../local/app/server';

const ROOT = path.join(__dirname, '..', '..');
const NOV = path.join(ROOT, '..', 'shared', 'data', 'rees46', '2019-Nov_head_683rows.csv.gz');
const TIME_LIMIT_MS = 1000;

let tmp: string;
let run: string;
let app: Awaited<ReturnType<typeof startApp>>;
let runId: string;

/** A raw request, so the Host and Origin headers are exactly as given. */
function request(method: string, p: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: app.port, method, path: p, headers: { host: `127.0.0.1:${app.port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function query(sql: string): Promise<{ status: number; body: { error?: string; rows?: unknown[][]; truncated?: boolean } }> {
  const r = await request('POST', '/api/query', { 'content-type': 'application/json' }, JSON.stringify({ sql, run: runId }));
  return { status: r.status, body: JSON.parse(r.text) };
}

const listing = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-app-security-'));
  run = path.join(tmp, 'run');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'local', 'cli', 'bin.js'), 'run', '--input', NOV, '--out', run, '--run-id', 'nov', '--no-report'], { cwd: ROOT, env: { ...process.env, CI: '1' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  app = await startApp({ runDirs: [run], port: 0, host: '127.0.0.1', workdir: path.join(tmp, 'work'), maxUploadMb: 1, query: { timeoutMs: TIME_LIMIT_MS } });
  runId = 'nov';
}, 60_000);

afterAll(async () => {
  await app?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the query sandbox', () => {
  const hostile = [
    'INSERT INTO events SELECT * FROM events',
    'CREATE TABLE t AS SELECT 1 AS x',
    'DROP VIEW events',
    'DELETE FROM events',
    'UPDATE events SET price = 0',
    "COPY events TO '__RUN__/stolen.csv'",
    "COPY (SELECT 1) TO '/tmp/shopsight-app-stolen.csv'",
    "EXPORT DATABASE '__RUN__/export'",
    "ATTACH '__RUN__/x.duckdb' AS x",
    'INSTALL httpfs',
    'LOAD httpfs',
    'SET threads = 1',
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    'CALL pragma_version()',
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM query('COPY events TO ''__RUN__/q.csv''')",
    "SELECT * FROM read_parquet('__RUN__/../run2/**/*.parquet')",
    "SELECT * FROM 'http://127.0.0.1:1/x.parquet'",
    'select 1; select 2',
    'SELECT 1; DROP VIEW events',
    'CREATE MACRO m() AS 1',
    'EXPLAIN ANALYZE SELECT 1',
    'select $1',
    'this is not sql',
  ];
  test.each(hostile)('%s is refused with 400 and a message', async (sql) => {
    const before = listing(run);
    const { status, body } = await query(sql.replace(/__RUN__/g, run));
    expect({ sql, status }).toEqual({ sql, status: 400 });
    expect(body.error).toEqual(expect.any(String));
    expect(body.error!.length).toBeGreaterThan(5);
    expect(listing(run)).toEqual(before);
  });

  test('after all of that the views are intact and nothing was written', async () => {
    expect((await query('SELECT count(*) FROM events')).body.rows).toEqual([[683]]);
    expect(fs.existsSync('/tmp/shopsight-app-stolen.csv')).toBe(false);
    // The refusal is DuckDB's own: external access is off and the configuration locked.
    expect((await query("SELECT value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration') ORDER BY name")).body.rows).toEqual([['false'], ['true']]);
  });

  test('a cross join that would run forever is stopped at the time limit with 408, and the server goes on', async () => {
    const started = Date.now();
    const { status, body } = await query('select count(*) from range(1e12::BIGINT) a, range(1e12::BIGINT) b');
    const took = Date.now() - started;
    expect(status).toBe(408);
    expect(body.error).toMatch(/time limit/);
    expect(took).toBeGreaterThanOrEqual(TIME_LIMIT_MS - 50);
    expect(took).toBeLessThan(TIME_LIMIT_MS + 5000);
    expect((await query('SELECT 42')).body.rows).toEqual([[42]]);
  });

  test('at most 10,000 rows, truncated beyond', async () => {
    const many = await query('SELECT range AS n FROM range(25000)');
    expect(many.body.rows!.length).toBe(10_000);
    expect(many.body.truncated).toBe(true);
    expect(many.body.rows![9999]).toEqual([9999]);
    // Huge cells: cut at the byte cap long before 10,000 rows.
    const wide = await query("SELECT repeat('x', 1000000) AS big FROM range(200)");
    expect(wide.body.truncated).toBe(true);
    expect(wide.body.rows!.length).toBe(16);
    const exact = await query('SELECT range AS n FROM range(10000)');
    expect(exact.body).toMatchObject({ truncated: false });
    expect(exact.body.rows!.length).toBe(10_000);
  });
});

describe('path parameters', () => {
  const evil = ['..%2F..%2Fetc%2Fpasswd', '..%2F..%2Fetc', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%5C..%5Cetc', 'nov%00', '%00', 'nov%2F..%2F..', '....%2F%2F', '%252e%252e%252f'];
  const routes = [
    (x: string) => `/api/runs/${x}/overview`,
    (x: string) => `/api/runs/${x}/tables`,
    (x: string) => `/api/runs/${x}/products/1`,
    (x: string) => `/api/runs/nov/products/${x}`,
    (x: string) => `/api/users/${x}`,
    (x: string) => `/api/users/1?run=${x}`,
    (x: string) => `/api/runs/${x}/users/1`,
    (x: string) => `/api/runs/nov/users/${x}`,
    (x: string) => `/api/jobs/${x}`,
    (x: string) => `/assets/${x}`,
    (x: string) => `/${x}`,
  ];
  test('traversal in every path parameter is refused (400/404), never a file', async () => {
    for (const route of routes) {
      for (const x of evil) {
        const p = route(x);
        const r = await request('GET', p);
        expect({ p, status: [400, 404].includes(r.status) }).toEqual({ p, status: true });
        expect(r.text).not.toMatch(/root:|\brunId\b|PAR1/);
        expect(JSON.parse(r.text).error).toEqual(expect.any(String));
      }
    }
  });
  test('a POST naming a run by path is refused the same way', async () => {
    const r = await request('POST', '/api/runs/..%2F..%2Fetc/what-if', { 'content-type': 'application/json' }, JSON.stringify({ features: {} }));
    expect(r.status).toBe(400);
    const q = await request('POST', '/api/query', { 'content-type': 'application/json' }, JSON.stringify({ sql: 'SELECT 1', run: '../../etc' }));
    expect(q.status).toBe(400);
  });
});

describe('headers', () => {
  test('a foreign Host header gets 421 (DNS rebinding); our names are served', async () => {
    for (const host of ['evil.example', `evil.example:${app.port}`, `127.0.0.1:${app.port + 1}`, `127.0.0.1.evil.example:${app.port}`, '127.0.0.1']) {
      const r = await request('GET', '/api/health', { host });
      expect({ host, status: r.status }).toEqual({ host, status: 421 });
    }
    // No Host header at all (HTTP/1.0): refused too.
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = net.connect(app.port, '127.0.0.1', () => socket.end('GET /api/health HTTP/1.0\r\n\r\n'));
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.[01] 421/);
    for (const host of [`127.0.0.1:${app.port}`, `localhost:${app.port}`, `[::1]:${app.port}`]) {
      expect((await request('GET', '/api/health', { host })).status).toBe(200);
    }
  });

  test('--allow-host adds exactly the names given (for --host 0.0.0.0 reached by a LAN name); others still get 421', async () => {
    const lan = await startApp({ runDirs: [run], port: 0, host: '127.0.0.1', allowHosts: ['shop-box.lan'], workdir: path.join(tmp, 'work-lan'), maxUploadMb: 1 });
    try {
      const get = (host: string) => new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: lan.port, path: '/api/health', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      expect(await get(`shop-box.lan:${lan.port}`)).toBe(200);
      expect(await get(`127.0.0.1:${lan.port}`)).toBe(200);
      for (const host of [`evil.example:${lan.port}`, `shop-box.lan.evil.example:${lan.port}`, `shop-box.lan:${lan.port + 1}`]) {
        expect({ host, status: await get(host) }).toEqual({ host, status: 421 });
      }
    } finally {
      await lan.close();
    }
  });

  test('a POST with a foreign Origin gets 403; our own origin is allowed', async () => {
    const body = JSON.stringify({ sql: 'SELECT 1', run: runId });
    const foreign = await request('POST', '/api/query', { 'content-type': 'application/json', origin: 'http://evil.example' }, body);
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.text).error).toMatch(/evil/);
    const ours = await request('POST', '/api/query', { 'content-type': 'application/json', origin: `http://127.0.0.1:${app.port}` }, body);
    expect(ours.status).toBe(200);
    const form = await request('POST', '/api/jobs', { 'content-type': 'application/json', origin: 'null' }, JSON.stringify({ demo: { events: 1000 } }));
    expect(form.status).toBe(403);
  });

  test('Content-Security-Policy and nosniff on pages, assets and the API', async () => {
    for (const p of ['/', '/assets/app.js', '/assets/app.css', '/api/health', '/api/nothing']) {
      const r = await request('GET', p);
      expect(r.headers['content-security-policy']).toBe("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('uploads', () => {
  const uploads = () => fs.readdirSync(path.join(tmp, 'work', 'uploads'));
  const multipart = (filename: string, content: Buffer): { headers: Record<string, string>; body: Buffer } => {
    const boundary = 'shopsightboundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n`),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body };
  };

  test('an upload over --max-upload-mb gets 413 and leaves nothing in uploads/', async () => {
    const big = multipart('events.csv', Buffer.alloc(1.5 * 1024 * 1024, 'a'));
    const r = await request('POST', '/api/jobs', big.headers, big.body);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).error).toMatch(/1 MB/);
    expect(uploads()).toEqual([]);
  });

  test("the client's file name is never used: a traversal name is refused unless it is a .csv, and stored under a name we choose", async () => {
    const wrong = multipart('../../evil.sh', Buffer.from('echo hi\n'));
    expect((await request('POST', '/api/jobs', wrong.headers, wrong.body)).status).toBe(400);
    expect(uploads()).toEqual([]);
    const sneaky = multipart('../../../tmp/sneaky.csv', Buffer.from('not,events\n1,2\n'));
    const r = await request('POST', '/api/jobs', sneaky.headers, sneaky.body);
    expect(r.status).toBe(202);
    expect(uploads()).toEqual([expect.stringMatching(/^[0-9a-f-]{36}\.csv$/)]);
    expect(fs.existsSync('/tmp/sneaky.csv')).toBe(false);
    const id = JSON.parse(r.text).job.id as string;
    let job: { status: string; error?: string; exitCode?: number } = { status: 'running' };
    for (let i = 0; i < 60 && job.status === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 250));
      job = JSON.parse((await request('GET', `/api/jobs/${id}`)).text);
    }
    // Not an events file: the run fails with its own message and exit code, and no run is added.
    expect(job).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(job.error).toMatch(/header|recognis/i);
    expect(JSON.parse((await request('GET', '/api/runs')).text).runs.map((x: { id: string }) => x.id)).toEqual(['nov']);
  }, 60_000);
});
