/**
 * The serving loader (core/serving/loader-sql.ts through local/serving/mysql-loader.ts) against a
 * real MariaDB, statements with parameters prepared on the server (mysql2Runner) as on the Data
 * API: fresh load, reload of the same manifest, a rerun of a run id with new data, a second run
 * replacing the first, failures that leave the served data untouched, the claim that keeps two
 * loads apart, resumed table steps, a background LOAD's lost error, the BI user's read-only
 * access, readers during swaps and a reader's open transaction holding the swap.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { servedTables, servingColumns } from '../../core/contract';
import { checkTableLoad, claimLoad, startTableLoad, swapLoad } from '../../core/serving/load-steps';
import { LoadClaim, LoadExecutor, ServingLoadError, TableToLoad } from '../../core/serving/loader-sql';
import { biUserStatements, DASHBOARD_VIEWS, loaderUserStatements } from '../../core/serving/mysql-schema';
import { connectionOptionsFromUrl, loadServingLocal, localFileLoader, mysql2Runner, readLocalManifest } from '../../local/serving/mysql-loader';
import { closeServingDatabase, MariaDb, openServingDatabase } from '../support/mariadb';
import { writeServingRun } from '../support/serving-run';

const DB = 'shopsight';
let server: MariaDb;
let work: string;
let admin: mysql.Connection;
let url: string;

beforeAll(async () => {
  ({ server, work, admin, url } = await openServingDatabase(DB, 'serving-runs-'));
}, 60_000);
afterAll(() => closeServingDatabase({ server, work, admin }));

const TABLES = servedTables().map((t) => t.name);

async function rows<T = Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
  const [result] = await admin.query(sql, values);
  return result as T[];
}

/** CHECKSUM TABLE of every served table: equal checksums, equal contents. */
async function checksums(): Promise<Record<string, string>> {
  const result = await rows<{ Table: string; Checksum: string | null }>(`CHECKSUM TABLE ${TABLES.map((t) => `\`${t}\``).join(', ')}`);
  return Object.fromEntries(result.map((r) => [r.Table.split('.')[1], String(r.Checksum)]));
}

async function counts(suffix = ''): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number((await rows<{ n: string }>(`SELECT COUNT(*) AS n FROM \`${t}${suffix}\``))[0].n);
  return out;
}

/** The run's latest load. */
const loadRun = async (runId: string) => (await rows(`SELECT * FROM load_runs WHERE run_id = ? ORDER BY started_at DESC`, [runId]))[0];
const setCreatedAt = (createdAt: string) => (m: object) => void Object.assign(m, { createdAt });

describe('loading runs', () => {
  let first: ReturnType<typeof writeServingRun>;

  test('a fresh load fills every served table with the CSVs exactly (NULLs, "NULL", empty, quotes, commas, newlines, unicode)', async () => {
    const dir = path.join(work, 'run-1');
    first = writeServingRun(dir, 'run-1', { rows: 8, salt: 0 });
    const result = await loadServingLocal(url, dir);
    expect(result.status).toBe('loaded');
    expect(Object.keys(result.tables).sort()).toEqual([...TABLES].sort());
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 8])));

    // Every value of every table round-trips (as text; decimals at their scale).
    for (const table of servedTables()) {
      const columns = servingColumns(table);
      const names = columns.map((c) => `\`${c.name}\``).join(', ');
      const loaded = await rows<Record<string, unknown>>(`SELECT ${names} FROM \`${table.name}\` ORDER BY ${table.primaryKey.map((k) => `\`${k}\``).join(', ')}`);
      const asText = (v: unknown, i: number): string | null => {
        if (v === null) return null;
        const type = columns[i].type;
        return type.kind === 'decimal' ? Number(v).toFixed(type.scale) : String(v);
      };
      const sortKey = (values: (string | null)[]): string => table.primaryKey.map((k) => values[columns.findIndex((c) => c.name === k)]).join('\u0000');
      const expected = first[table.name].map((values) => values.map(asText)).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
      const actual = loaded.map((r) => columns.map((c, i) => asText(r[c.name], i))).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
      expect({ table: table.name, rows: actual }).toEqual({ table: table.name, rows: expected });
    }
    const strings = await rows<{ category_code: string | null }>('SELECT category_code FROM products ORDER BY product_id');
    expect(strings.map((r) => r.category_code)).toEqual(['plain', 'NULL', null, '', 'ünïcödé ✓ 😀', null, 'a,b,,c', 'back\\slash']);

    const run = await loadRun('run-1');
    expect(run).toMatchObject({ status: 'loaded', error: null });
    expect(run.finished_at).not.toBeNull();
    const tables = (typeof run.tables === 'string' ? JSON.parse(run.tables) : run.tables) as Record<string, { rowCount: number }>;
    expect(tables.c_date.rowCount).toBe(8);
  });

  test('the dashboard views read the loaded tables, with product metadata joined', async () => {
    for (const view of Object.keys(DASHBOARD_VIEWS)) await rows(`SELECT * FROM \`${view}\``);
    const together = await rows<{ product_brand: string | null; other_brand: string | null }>('SELECT * FROM v_bought_together ORDER BY product_id');
    expect(together).toHaveLength(8);
    // bought_together.product_id and products.product_id both count from the same base, so every row joins.
    expect(together[0].product_brand).toBe('plain');

    // The spend forecast: the actual days then the forecast days as one series; each customer's forecast with their segment.
    const revenue = await rows<{ is_forecast: number; lower: number | null }>('SELECT * FROM v_revenue_forecast ORDER BY is_forecast, revenue_date');
    expect(revenue.map((r) => r.is_forecast)).toEqual([...Array(8).fill(0), ...Array(8).fill(1)]);
    expect(revenue.slice(0, 8).every((r) => r.lower === null)).toBe(true);
    const spenders = await rows<{ user_id: string; segment_name: string | null }>('SELECT * FROM v_customer_spend_forecast ORDER BY predicted_spend DESC LIMIT 3');
    expect(spenders).toHaveLength(3);
    expect(spenders.every((r) => r.segment_name !== null)).toBe(true);
  });

  test('reloading the same run id changes nothing', async () => {
    const before = await checksums();
    const runBefore = await loadRun('run-1');
    const result = await loadServingLocal(url, path.join(work, 'run-1'));
    expect(result.status).toBe('already-loaded');
    expect(result.tables.c_date.rowCount).toBe(8);
    expect(await checksums()).toEqual(before);
    expect(await loadRun('run-1')).toEqual(runBefore);
    // Not even a staging table was made.
    expect(await rows("SHOW TABLES LIKE '%\\_\\_staging'")).toEqual([]);
  });

  test('a second run replaces the first, which becomes __previous', async () => {
    const before = await checksums();
    const dir = path.join(work, 'run-2');
    writeServingRun(dir, 'run-2', { rows: 6, salt: 1 });
    const result = await loadServingLocal(url, dir);
    expect(result.status).toBe('loaded');
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 6])));
    expect(await counts('__previous')).toEqual(Object.fromEntries(TABLES.map((t) => [t, 8])));
    // Exactly one load is `loaded`: the one served.
    expect(await rows("SELECT run_id, status FROM load_runs WHERE run_id IN ('run-1', 'run-2') ORDER BY run_id")).toEqual([
      { run_id: 'run-1', status: 'replaced' },
      { run_id: 'run-2', status: 'loaded' },
    ]);
    const previous = await rows<{ Table: string; Checksum: string }>(`CHECKSUM TABLE ${TABLES.map((t) => `\`${t}__previous\``).join(', ')}`);
    expect(Object.fromEntries(previous.map((r) => [r.Table.split('.')[1].replace(/__previous$/, ''), String(r.Checksum)]))).toEqual(before);
    expect(await rows("SHOW TABLES LIKE '%\\_\\_staging'")).toEqual([]);
  });

  test('a third run keeps exactly one previous version', async () => {
    const dir = path.join(work, 'run-3');
    writeServingRun(dir, 'run-3', { rows: 5, salt: 2 });
    await loadServingLocal(url, dir);
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 5])));
    expect(await counts('__previous')).toEqual(Object.fromEntries(TABLES.map((t) => [t, 6])));
  });

  test.each([
    [
      'a row with a missing column',
      'bad-columns',
      { editCsv: (t: string, csv: string) => (t === 'top_brands' ? csv.replace(/\n$/, '').replace(/,[^,]*$/, '\n') : csv) },
      /^top_brands: load: /,
    ],
    [
      'a row with an extra column',
      'extra-column',
      { editCsv: (t: string, csv: string) => (t === 'funnel' ? csv.replace(/\n$/, ',7\n') : csv) },
      /^funnel: load: /,
    ],
    ['a value of the wrong type', 'bad-value', { editCsv: (t: string, csv: string) => (t === 'c_date' ? csv.replace(/^2026-11-01/, 'yesterday') : csv) }, /^c_date: load: /],
    [
      'a count that does not match the manifest',
      'bad-count',
      { editManifest: (m: { tables: Record<string, { rowCount: number }> }) => (m.tables.customer_segments.rowCount = 5) },
      /^customer_segments: count: staging has 4 rows, the manifest says 5$/,
    ],
  ])('%s leaves the previous data served and untouched and names table and step', async (_what, runId, options, message) => {
    const before = await checksums();
    const previousBefore = await counts('__previous');
    const dir = path.join(work, runId);
    writeServingRun(dir, runId, { rows: 4, salt: 3, ...options });
    const failure = loadServingLocal(url, dir);
    await expect(failure).rejects.toBeInstanceOf(ServingLoadError);
    await expect(failure).rejects.toThrow(message);
    expect(await checksums()).toEqual(before);
    expect(await counts('__previous')).toEqual(previousBefore);
    const run = await loadRun(runId);
    expect(run.status).toBe('failed');
    expect(String(run.error)).toMatch(message);
  });

  test('a rerun of a run id with new data (a new manifest) is loaded and served; the old load is kept as replaced', async () => {
    const dir = path.join(work, 'rerun');
    writeServingRun(dir, 'rerun', { rows: 3, salt: 5, editManifest: setCreatedAt('2026-11-23T01:00:00.000Z') });
    expect((await loadServingLocal(url, dir)).status).toBe('loaded');
    writeServingRun(dir, 'rerun', { rows: 2, salt: 6, editManifest: setCreatedAt('2026-11-24T01:00:00.000Z') });
    const again = await loadServingLocal(url, dir);
    expect(again).toMatchObject({ status: 'loaded', manifestCreatedAt: '2026-11-24T01:00:00.000Z' });
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 2])));
    expect(await rows("SELECT manifest_created_at, status FROM load_runs WHERE run_id = 'rerun' ORDER BY manifest_created_at")).toEqual([
      { manifest_created_at: '2026-11-23T01:00:00.000Z', status: 'replaced' },
      { manifest_created_at: '2026-11-24T01:00:00.000Z', status: 'loaded' },
    ]);
    // The same manifest once more: nothing changes.
    expect((await loadServingLocal(url, dir)).status).toBe('already-loaded');
  });

  test('a failed run can be loaded once fixed (same run id)', async () => {
    const dir = path.join(work, 'bad-count');
    writeServingRun(dir, 'bad-count', { rows: 4, salt: 3, editManifest: setCreatedAt('2026-11-25T00:00:00Z') });
    expect((await loadServingLocal(url, dir)).status).toBe('loaded');
    expect((await loadRun('bad-count')).status).toBe('loaded');
  });
});

describe('the load steps one by one (as the state machine runs them)', () => {
  let connection: mysql.Connection;
  let executeLoad: LoadExecutor;
  const claimOf = (runId: string, createdAt: string, claimToken: string): LoadClaim => ({ runId, manifestCreatedAt: createdAt, claimToken });
  beforeAll(async () => {
    connection = await mysql.createConnection({ ...connectionOptionsFromUrl(url), infileStreamFactory: (file: string) => fs.createReadStream(file) });
    executeLoad = localFileLoader(connection);
  });
  afterAll(async () => connection?.end());
  const db = () => mysql2Runner(connection);
  const tablesOf = (dir: string): TableToLoad[] => readLocalManifest(dir).tables;
  const expectedOf = (tables: TableToLoad[]) => Object.fromEntries(tables.map((t) => [t.name, { rowCount: t.expectedRows }]));

  test('one claim at a time: another execution of the same run or another run is refused until the claim is released or stale', async () => {
    const a = claimOf('lock-run', '2026-11-26T00:00:00Z', 'execution-aaaa');
    expect(await claimLoad(db(), a)).toBe('claimed');
    // The same execution again (a retried or redriven claim step) holds the same claim.
    expect(await claimLoad(db(), a)).toBe('claimed');
    await expect(claimLoad(db(), { ...a, claimToken: 'execution-bbbb' })).rejects.toThrow(/^load_runs: claim run: run "lock-run" .* is being loaded by another execution$/);
    await expect(claimLoad(db(), claimOf('other-run', '2026-11-26T00:00:00Z', 'execution-cccc'))).rejects.toThrow(/run "lock-run" .* is loading; two loads would share the staging tables/);
    // A claim without a heartbeat for longer than the stale limit is taken over.
    await admin.query("UPDATE load_runs SET heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 2 HOUR WHERE run_id = 'lock-run'");
    expect(await claimLoad(db(), { ...a, claimToken: 'execution-bbbb' })).toBe('claimed');
    // The first execution's steps now fail instead of racing on the staging tables.
    const dir = path.join(work, 'lock-run');
    writeServingRun(dir, 'lock-run', { rows: 2, editManifest: setCreatedAt(a.manifestCreatedAt) });
    await expect(startTableLoad(db(), executeLoad, a, tablesOf(dir)[0])).rejects.toThrow(/check claim: run "lock-run" is not claimed by this execution/);
    await admin.query("UPDATE load_runs SET status = 'failed' WHERE run_id = 'lock-run'");
  });

  test('a retried table step neither loads twice nor keeps a stale staging table; a retried swap only records', async () => {
    const dir = path.join(work, 'steps');
    writeServingRun(dir, 'steps', { rows: 3, salt: 7, editManifest: setCreatedAt('2026-11-27T00:00:00Z') });
    const load = claimOf('steps', '2026-11-27T00:00:00Z', 'execution-dddd');
    const tables = tablesOf(dir);
    // A stale staging table of another load, with as many rows: must not be taken for this load's.
    await admin.query('DROP TABLE IF EXISTS c_date__staging');
    await admin.query('CREATE TABLE c_date__staging LIKE c_date');
    await admin.query("INSERT INTO c_date__staging SELECT * FROM c_date LIMIT 3");
    expect(await claimLoad(db(), load)).toBe('claimed');
    let loads = 0;
    const counting: LoadExecutor = async (table, statements) => ((loads += 1), executeLoad(table, statements));
    for (const t of tables) expect(await startTableLoad(db(), counting, load, t)).toEqual({ table: t.name, status: 'loaded', rowCount: 3, rerun: false });
    expect(loads).toBe(tables.length);
    // Retried (say the first call's answer was lost): nothing is loaded again.
    for (const t of tables) expect((await startTableLoad(db(), counting, load, t)).status).toBe('loaded');
    expect(loads).toBe(tables.length);
    const before = await checksums();
    const swapped = await swapLoad(db(), load, expectedOf(tables));
    expect(swapped.status).toBe('loaded');
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 3])));
    // The swap's record lost: a retry finds the live tables carrying the load's marker and records it.
    await admin.query("UPDATE load_runs SET status = 'loading', finished_at = NULL WHERE run_id = 'steps'");
    const afterSwap = await checksums();
    expect(afterSwap).not.toEqual(before);
    expect((await swapLoad(db(), load, expectedOf(tables))).status).toBe('loaded');
    expect(await checksums()).toEqual(afterSwap);
    expect((await swapLoad(db(), load, expectedOf(tables))).status).toBe('already-loaded');
  });

  test("a LOAD that failed in the background is run again in a call, so its own error is reported, not 'staging has 0 rows'", async () => {
    const dir = path.join(work, 'lost-error');
    writeServingRun(dir, 'lost-error', {
      rows: 3,
      editManifest: setCreatedAt('2026-11-28T00:00:00Z'),
      editCsv: (t, csv) => (t === 'c_date' ? csv.replace(/^2026-11-01/, 'yesterday') : csv),
    });
    const load = claimOf('lost-error', '2026-11-28T00:00:00Z', 'execution-eeee');
    const cDate = tablesOf(dir).find((t) => t.name === 'c_date')!;
    expect(await claimLoad(db(), load)).toBe('claimed');
    // As on Aurora past 45 s: the call returns 'running', the LOAD fails out of sight (here: never runs).
    let calls = 0;
    const background: LoadExecutor = async (table, statements) => ((calls += 1), calls === 1 ? 'running' : executeLoad(table, statements));
    const started = await startTableLoad(db(), background, load, cDate);
    expect(started).toEqual({ table: 'c_date', status: 'running', rowCount: null, rerun: false });
    await expect(checkTableLoad(db(), background, load, cDate, started)).rejects.toThrow(/^c_date: load: .*part-00000\.csv: 1 warning\(s\): 1265 Data truncated/);
    // Failing twice out of sight: the count, and why there is no error to show.
    const silent: LoadExecutor = async () => 'running';
    const again = await startTableLoad(db(), silent, load, cDate);
    const rerun = await checkTableLoad(db(), silent, load, cDate, again);
    expect(rerun).toMatchObject({ status: 'running', rerun: true });
    await expect(checkTableLoad(db(), silent, load, cDate, rerun)).rejects.toThrow(/^c_date: load: staging has 0 rows, the manifest says 3: LOAD DATA ran past the Data API call twice/);
    await admin.query("UPDATE load_runs SET status = 'failed' WHERE run_id = 'lost-error'");
  });
});

describe('a reader transaction during the swap', () => {
  test('holds the RENAME only for the short lock_wait_timeout; the swap retries with backoff and succeeds once the reader commits, and new readers are not stalled', async () => {
    const dir = path.join(work, 'held');
    writeServingRun(dir, 'held', { rows: 4, salt: 8, editManifest: setCreatedAt('2026-11-29T00:00:00Z') });
    const loaderConnection = await mysql.createConnection({ ...connectionOptionsFromUrl(url), infileStreamFactory: (file: string) => fs.createReadStream(file) });
    const reader = await server.connect({ database: DB });
    const db = mysql2Runner(loaderConnection);
    try {
      const load: LoadClaim = { runId: 'held', manifestCreatedAt: '2026-11-29T00:00:00Z', claimToken: 'execution-ffff' };
      const tables = readLocalManifest(dir).tables;
      await claimLoad(db, load);
      for (const t of tables) await startTableLoad(db, localFileLoader(loaderConnection), load, t);
      // The reader's open transaction holds a metadata lock on products until it commits.
      await reader.beginTransaction();
      await reader.query('SELECT COUNT(*) FROM products');
      const waits: number[] = [];
      const expected = Object.fromEntries(tables.map((t) => [t.name, { rowCount: t.expectedRows }]));
      // Two attempts, both timed out after 1 s: the swap gives up, nothing changed.
      const before = await checksums();
      await expect(swapLoad(db, load, expected, { lockWaitSeconds: 1, attempts: 2, sleep: async (ms) => void waits.push(ms) })).rejects.toThrow(
        /^swap: rename: readers held the served tables through 2 attempts: Lock wait timeout exceeded/,
      );
      expect(waits).toEqual([2000]);
      expect(await checksums()).toEqual(before);

      // Now the reader commits during the second wait: the second attempt succeeds.
      const newReaderTimes: number[] = [];
      const swapped = swapLoad(db, load, expected, {
        lockWaitSeconds: 1,
        attempts: 3,
        sleep: async () => {
          // While the swap backs off, a new reader is served at once (it does not queue behind a waiting RENAME).
          const t0 = Date.now();
          const other = await server.connect({ database: DB });
          await other.query('SELECT COUNT(*) FROM products');
          await other.end();
          newReaderTimes.push(Date.now() - t0);
          await reader.commit();
        },
      });
      expect((await swapped).status).toBe('loaded');
      expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 4])));
      expect(Math.max(...newReaderTimes)).toBeLessThan(1000);
    } finally {
      await reader.end().catch(() => undefined);
      await loaderConnection.end();
    }
  }, 30_000);
});

describe('users', () => {
  let bi: mysql.Connection;
  beforeAll(async () => {
    const db = mysql2Runner(admin);
    for (const s of biUserStatements('shopsight_bi', "bi-pa'ss", DB)) await db.query(s);
    for (const s of loaderUserStatements('shopsight_loader', 'loader-pass', DB, 'mariadb')) await db.query(s);
    // Applying again (every deploy does) succeeds and changes the password.
    for (const s of biUserStatements('shopsight_bi', 'bi-pass-2', DB)) await db.query(s);
    bi = await server.connect({ user: 'shopsight_bi', password: 'bi-pass-2', database: DB });
  });
  afterAll(async () => bi?.end());

  test('the BI user can SELECT the views and served tables', async () => {
    for (const view of Object.keys(DASHBOARD_VIEWS)) await bi.query(`SELECT * FROM \`${view}\` LIMIT 1`);
    await bi.query('SELECT * FROM products LIMIT 1');
    // Which run is served, for freshness on dashboards and the API's /health.
    await bi.query('SELECT run_id, status, finished_at FROM load_runs');
  });

  test.each([
    ['INSERT', 'INSERT INTO products (product_id, views, carts, purchases, revenue, users) VALUES (1, 0, 0, 0, 0, 0)'],
    ['UPDATE', 'UPDATE products SET views = 0'],
    ['DELETE', 'DELETE FROM products'],
    ['DROP', 'DROP TABLE products'],
    ['CREATE', 'CREATE TABLE evil (id INT)'],
    ['write load_runs', "UPDATE load_runs SET status = 'failed'"],
    ['read the migration ledger', 'SELECT * FROM schema_migrations'],
    ['read a previous version', 'SELECT * FROM products__previous'],
  ])('the BI user cannot %s', async (_what, sql) => {
    await expect(bi.query(sql)).rejects.toThrow(/denied/);
  });

  test('the loader user can load a run with its own grants only', async () => {
    const dir = path.join(work, 'as-loader');
    writeServingRun(dir, 'as-loader', { rows: 3, salt: 4 });
    const result = await loadServingLocal(server.url('shopsight_loader', 'loader-pass', DB), dir);
    expect(result.status).toBe('loaded');
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 3])));
    const loader = await server.connect({ user: 'shopsight_loader', password: 'loader-pass', database: DB });
    try {
      await expect(loader.query('DROP VIEW v_funnel')).rejects.toThrow(/denied/);
      await expect(loader.query('DELETE FROM schema_migrations')).rejects.toThrow(/denied/);
    } finally {
      await loader.end();
    }
  });
});

describe('readers during swaps', () => {
  test('readers polling every served table never see a missing, empty or partial table', async () => {
    const sizes = [7, 9, 8, 10];
    const allowed = new Set([3, ...sizes]);
    const dirs = sizes.map((rowsPerTable, i) => {
      const dir = path.join(work, `swap-${i}`);
      writeServingRun(dir, `swap-${i}`, { rows: rowsPerTable, salt: i });
      return dir;
    });
    let stop = false;
    const seen: string[] = [];
    let reads = 0;
    const reader = async (): Promise<void> => {
      const c = await server.connect({ database: DB });
      try {
        while (!stop) {
          for (const t of TABLES) {
            try {
              const [r] = await c.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
              const n = Number((r as { n: string }[])[0].n);
              reads++;
              if (!allowed.has(n)) seen.push(`${t}: ${n} rows`);
            } catch (e) {
              seen.push(`${t}: ${(e as Error).message}`);
            }
          }
        }
      } finally {
        await c.end();
      }
    };
    const readers = Array.from({ length: 4 }, reader);
    try {
      for (const dir of dirs) expect((await loadServingLocal(url, dir)).status).toBe('loaded');
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    expect(seen).toEqual([]);
    expect(reads).toBeGreaterThan(TABLES.length * 4);
  });
});
