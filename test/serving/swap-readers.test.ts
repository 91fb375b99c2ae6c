/**
 * Issue 11, Proof: "Under polling: a reader loops over a served table during the swap and never
 * sees a missing table, an empty table or a mix of runs."
 *
 * Run A is served; three reader connections poll as fast as they can while run B is loaded and
 * swapped in (the local path, `loadServingRun`, on a private MariaDB). Each reader alternates one
 * statement reading two served tables at once (products and daily_kpis: row counts and a column
 * sum, which differ between the runs) and a plain COUNT(*) of products. Every answer and every
 * error is recorded with its client-side start and end time; the RENAME's own window is timed by
 * wrapping the loader's SqlRunner, so the test also shows that readers were in flight across it.
 * (loader.test.ts polls every table's count over several swaps; this one checks that a single
 * statement never mixes runs and that each reader goes from A to B once and never back.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as mysql from 'mysql2/promise';
import { loadServingRun } from '../../core/serving/load-steps';
import { SqlRunner, SqlStatement } from '../../core/serving/sql-runner';
import { connectionOptionsFromUrl, loadServingLocal, localFileLoader, mysql2Runner, readLocalManifest } from '../../local/serving/mysql-loader';
import { closeServingDatabase, MariaDb, openServingDatabase } from '../support/mariadb';
import { writeServingRun } from '../support/serving-run';

const DB = 'shopsight';
const READERS = 3;
/** How long the readers go on after the load has returned. */
const AFTER_MS = 300;

/** One statement, two served tables: what a reader sees of both at one instant. */
const COMBINED =
  'SELECT (SELECT COUNT(*) FROM products) AS p, (SELECT SUM(views) FROM products) AS pv, ' +
  '(SELECT COUNT(*) FROM daily_kpis) AS d, (SELECT SUM(users) FROM daily_kpis) AS du';
const PLAIN = 'SELECT COUNT(*) AS p FROM products';

interface Snapshot {
  readonly p: number;
  readonly pv: string;
  readonly d: number;
  readonly du: string;
}
interface Observation {
  readonly reader: number;
  readonly kind: 'combined' | 'plain';
  readonly start: number;
  readonly end: number;
  readonly value?: Record<string, unknown>;
  readonly error?: string;
}

let server: MariaDb;
let work: string;
let admin: mysql.Connection;
let url: string;

beforeAll(async () => {
  ({ server, work, admin, url } = await openServingDatabase(DB, 'swap-readers-'));
}, 60_000);
afterAll(() => closeServingDatabase({ server, work, admin }));

const snapshotOf = (row: Record<string, unknown>): Snapshot => ({ p: Number(row.p), pv: String(row.pv), d: Number(row.d), du: String(row.du) });
const sameSnapshot = (a: Snapshot, b: Snapshot): boolean => a.p === b.p && a.pv === b.pv && a.d === b.d && a.du === b.du;
async function served(): Promise<Snapshot> {
  const [result] = await admin.query(COMBINED);
  return snapshotOf((result as Record<string, unknown>[])[0]);
}

/** The loader's runner with the RENAME's start and end recorded (client side). */
function timingRenames(db: SqlRunner, renames: { start: number; end: number }[]): SqlRunner {
  const timed =
    (query: SqlRunner['query']) =>
    async (statement: SqlStatement): ReturnType<SqlRunner['query']> => {
      if (!/^RENAME TABLE /.test(statement.sql)) return query(statement);
      const start = performance.now();
      try {
        return await query(statement);
      } finally {
        renames.push({ start, end: performance.now() });
      }
    };
  return { query: timed(db.query), transaction: (workInTx) => db.transaction((tx) => workInTx({ query: timed(tx.query) })) };
}

test('readers polling two served tables across the swap see run A, then run B, never a missing or empty table or a mix of runs', async () => {
  const dirA = path.join(work, 'run-a');
  const dirB = path.join(work, 'run-b');
  writeServingRun(dirA, 'swap-readers-a', { rows: 7, salt: 0 });
  writeServingRun(dirB, 'swap-readers-b', { rows: 11, salt: 1 });
  expect((await loadServingLocal(url, dirA)).status).toBe('loaded');
  const runA = await served();
  expect(runA).toMatchObject({ p: 7, d: 7 });

  // Run B's loader session, as loadServingLocal opens it, but with the RENAME timed.
  const { manifest, tables } = readLocalManifest(dirB);
  const loader = await mysql.createConnection({ ...connectionOptionsFromUrl(url), infileStreamFactory: (file: string) => fs.createReadStream(file) });
  await loader.query("SET SESSION time_zone = '+00:00'");
  const renames: { start: number; end: number }[] = [];
  const db = timingRenames(mysql2Runner(loader), renames);

  const observations: Observation[] = [];
  let stop = false;
  const connections = await Promise.all(Array.from({ length: READERS }, () => server.connect({ database: DB })));
  const poll = async (c: mysql.Connection, reader: number): Promise<void> => {
    while (!stop) {
      for (const [kind, sql] of [['combined', COMBINED], ['plain', PLAIN]] as const) {
        const start = performance.now();
        try {
          const [result] = await c.query(sql);
          observations.push({ reader, kind, start, end: performance.now(), value: (result as Record<string, unknown>[])[0] });
        } catch (e) {
          observations.push({ reader, kind, start, end: performance.now(), error: (e as Error).message });
        }
      }
    }
  };
  const readers = connections.map(poll);
  let loadStart = 0;
  let loadEnd = 0;
  try {
    // Let every reader see run A first.
    while (new Set(observations.map((o) => o.reader)).size < READERS) await new Promise((r) => setTimeout(r, 5));
    loadStart = performance.now();
    expect((await loadServingRun(db, localFileLoader(loader), manifest, tables)).status).toBe('loaded');
    loadEnd = performance.now();
    await new Promise((r) => setTimeout(r, AFTER_MS));
  } finally {
    stop = true;
    await Promise.all(readers);
    await Promise.all(connections.map((c) => c.end()));
    await loader.end();
  }

  // The swap happened, once, and B is served.
  const runB = await served();
  expect(runB).toMatchObject({ p: 11, d: 11 });
  expect(runB.pv).not.toBe(runA.pv);
  expect(runB.du).not.toBe(runA.du);
  expect(renames).toHaveLength(1);
  const [rename] = renames;
  const [loads] = await admin.query("SELECT run_id, status FROM load_runs WHERE run_id LIKE 'swap-readers-%' ORDER BY run_id");
  expect(loads).toEqual([
    { run_id: 'swap-readers-a', status: 'replaced' },
    { run_id: 'swap-readers-b', status: 'loaded' },
  ]);

  // Not one error (no "doesn't exist", no lock wait), not one empty table.
  expect(observations.filter((o) => o.error !== undefined).map((o) => `${o.reader} ${o.kind}: ${o.error}`)).toEqual([]);

  // Each observation wholly A's or wholly B's: never A's products with B's daily_kpis.
  const runOf = (o: Observation): 'A' | 'B' | string => {
    if (o.kind === 'plain') return Number(o.value!.p) === runA.p ? 'A' : Number(o.value!.p) === runB.p ? 'B' : `products has ${String(o.value!.p)} rows`;
    const s = snapshotOf(o.value!);
    return sameSnapshot(s, runA) ? 'A' : sameSnapshot(s, runB) ? 'B' : `a mix: ${JSON.stringify(s)}`;
  };
  const runs = observations.map(runOf);
  expect(observations.filter((o) => Number(o.value!.p) === 0 || (o.kind === 'combined' && Number(o.value!.d) === 0))).toEqual([]);
  expect(runs.filter((r) => r !== 'A' && r !== 'B')).toEqual([]);

  // Causality: what ended before the RENAME was sent is A, what started after it returned is B.
  observations.forEach((o, i) => {
    if (o.end < rename.start) expect({ ...o, run: runs[i] }).toMatchObject({ run: 'A' });
    if (o.start > rename.end) expect({ ...o, run: runs[i] }).toMatchObject({ run: 'B' });
  });
  // Every reader saw A first and B last, and went from A to B once, never back.
  for (let reader = 0; reader < READERS; reader++) {
    const seen = runs.filter((_, i) => observations[i].reader === reader).join('');
    expect({ reader, seen: seen.replace(/(.)\1+/g, '$1') }).toEqual({ reader, seen: 'AB' });
  }

  // The readers really overlapped the load and the RENAME itself.
  const during = observations.filter((o) => o.start >= loadStart && o.end <= loadEnd);
  const acrossRename = observations.filter((o) => o.start < rename.end && o.end > rename.start);
  const counts = {
    iterations: observations.length,
    duringLoad: during.length,
    acrossRename: acrossRename.length,
    sawA: runs.filter((r) => r === 'A').length,
    sawB: runs.filter((r) => r === 'B').length,
    loadMs: Math.round(loadEnd - loadStart),
    renameMs: Number((rename.end - rename.start).toFixed(2)),
  };
  console.log(`swap readers: ${JSON.stringify(counts)}`);
  expect(during.length).toBeGreaterThan(100);
  expect(acrossRename.length).toBeGreaterThanOrEqual(1);
  expect(rename.start).toBeGreaterThan(loadStart);
  expect(rename.end).toBeLessThan(loadEnd);
}, 30_000);
