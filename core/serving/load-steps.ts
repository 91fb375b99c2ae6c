/**
 * The serving load's steps, on any SqlRunner: one Step Functions state each on Aurora
 * (lambdas/load-serving), all in one process locally (`loadServingRun`, local/serving/mysql-loader.ts).
 *
 * A load is one run's exports as one manifest wrote them: (run id, manifest createdAt), its "load
 * key". Rerunning a run id writes a new manifest, so a new load; the same manifest again is
 * `already-loaded`. The steps:
 * 1. claim (`claimLoad`): in one transaction, the load's row in `load_runs` becomes `loading` with
 *    the caller's claim token (one per execution: a retried or redriven step of that execution
 *    holds the same claim). Refused while another claim is live (a heartbeat within
 *    `staleClaimSeconds`) or any loader LOAD still runs in the database: every load shares the
 *    staging tables, so at most one claim exists at a time — two invocations of one run included.
 * 2. per served table (`startTableLoad`, then `checkTableLoad` until it is loaded):
 *    DROP TABLE IF EXISTS t__staging; CREATE TABLE t__staging LIKE t; ALTER TABLE … COMMENT = marker;
 *    LOAD … INTO TABLE t__staging (marker comment); SELECT COUNT(*) — must equal the manifest's rowCount.
 *    The marker (`shopsight-load.<load key>.<table>`) names the load in the process list and on the
 *    staging table itself, so a retried step never starts a second LOAD of the table while one
 *    runs, never reloads a staging table that already holds this load's rows, and the swap never
 *    takes a staging table of another load.
 *    A LOAD that fails in its call raises its own error. One that failed in the background (after
 *    the Data API's 45 s) leaves an empty staging table (an InnoDB LOAD is one atomic statement)
 *    and no error anywhere we can read, so the check runs that LOAD once more, in a call: its
 *    error, if it fails again within the call, is the one reported; a second silent background
 *    failure reports the count with a note that the LOAD failed out of sight.
 * 3. swap (`swapLoad`): every staging table must carry this load's marker; then, in one session
 *    with a short `lock_wait_timeout`, DROP TABLE IF EXISTS t__previous, … and ONE
 *    RENAME TABLE t TO t__previous, t__staging TO t, …  for all tables (atomic in MySQL and
 *    MariaDB: readers see all old or all new tables, never a missing one). An open reader
 *    transaction makes the RENAME wait, and new readers queue behind it, so it gives up after
 *    `lockWaitSeconds` and is tried again with backoff a few times. Then the load is `loaded` and
 *    the one it replaced `replaced`: exactly one row is `loaded`, the one being served. A swap
 *    retried after it happened finds the live tables carrying its marker and only records it.
 * 4. on failure (`failLoad`): the claim's own background LOADs are killed and the load `failed`, so
 *    the next claim need not wait for the heartbeat to go stale.
 * Any failure before the RENAME leaves the served tables untouched and raises ServingLoadError
 * (a failure between dropping the old __previous tables and the RENAME loses only that rollback copy).
 */
import { servedTables } from '../contract';
import { CLAIM_TOKEN_PATTERN, errorText, LoadClaim, LoadExecutor, loaderSql, loadKey, loadMarker, ServingLoadError, stagingTable, TableToLoad } from './loader-sql';
import { SqlRow, SqlRunner } from './sql-runner';
import { LOAD_RUNS_TABLE } from './mysql-schema';

export type TableRowCounts = Record<string, { readonly rowCount: number; readonly seconds?: number }>;

export interface LoadResult {
  readonly runId: string;
  readonly manifestCreatedAt: string;
  /** `already-loaded`: this manifest was loaded before and nothing was changed. */
  readonly status: 'loaded' | 'already-loaded';
  readonly tables: TableRowCounts;
}

/** One table's progress: `running` while its LOAD goes on in the background. */
export interface TableLoadProgress {
  readonly table: string;
  readonly status: 'loaded' | 'running';
  /** Staging rows once loaded, else null. */
  readonly rowCount: number | null;
  /** The check has run the LOAD a second time to see its error (see the header). */
  readonly rerun: boolean;
}

export interface ClaimOptions {
  /** A `loading` claim without a heartbeat for this long is taken to have died. @default 600 */
  readonly staleClaimSeconds?: number;
}

export interface SwapOptions {
  /** The swap session's lock_wait_timeout. @default 5 */
  readonly lockWaitSeconds?: number;
  /** RENAME attempts when readers hold the tables. @default 4 */
  readonly attempts?: number;
  /** Wait before the second attempt, doubled after each. @default 2000 */
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const firstNumber = (rows: SqlRow[], column: string): number => Number(rows[0]?.[column]);
const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const isLockWaitTimeout = (e: unknown): boolean => /Lock wait timeout exceeded/.test(errorText(e));

/** Wraps any failure of `work` as ServingLoadError(table, step, cause). */
async function step<T>(table: string, name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw e instanceof ServingLoadError ? e : new ServingLoadError(table, name, errorText(e));
  }
}

/**
 * Step 1: claims the load for `claimToken`. `already-loaded` when this manifest is the one loaded
 * (served) now; then nothing else may be done.
 */
export async function claimLoad(db: SqlRunner, load: LoadClaim, options: ClaimOptions = {}): Promise<'claimed' | 'already-loaded'> {
  const key = await step('manifest', 'check run', async () => {
    if (!CLAIM_TOKEN_PATTERN.test(load.claimToken)) throw new Error(`claim token "${load.claimToken}" is not one the loader issues`);
    return loadKey(load);
  });
  return step(LOAD_RUNS_TABLE, 'claim run', () =>
    db.transaction(async (tx) => {
      const [row] = await tx.query(loaderSql.selectLoadForUpdate(load));
      if (row?.status === 'loaded') return 'already-loaded' as const;
      const others = await tx.query(loaderSql.selectOtherLoading(load, options.staleClaimSeconds ?? 600));
      if (others.length > 0) {
        throw new Error(`run "${String(others[0].run_id)}" (manifest of ${String(others[0].manifest_created_at)}) is loading; two loads would share the staging tables`);
      }
      const claim = (await tx.query(loaderSql.selectClaim(load)))[0];
      if (claim?.status === 'loading' && claim.claim_token !== load.claimToken && Number(claim.idle_seconds) <= (options.staleClaimSeconds ?? 600)) {
        throw new Error(`run "${load.runId}" (manifest of ${load.manifestCreatedAt}) is being loaded by another execution`);
      }
      // An orphaned LOAD (of a died claim) still holds its staging table; ours may go on (a redrive).
      const running = (await tx.query(loaderSql.runningLoads())).filter((r) => !String(r.info).includes(`shopsight-load.${key}.`));
      if (running.length > 0) throw new Error(`a LOAD of another load is still running in the database (process ${String(running[0].id)}); wait for it or kill it`);
      await tx.query(loaderSql.markLoading(load));
      return 'claimed' as const;
    }),
  );
}

/** The load must still be claimed by this token (a `failed` claim of the same token, from a redrive, is taken again). */
async function assertClaim(db: SqlRunner, load: LoadClaim, table: string): Promise<void> {
  const [row] = await step(table, 'check claim', () => db.query(loaderSql.selectClaim(load)));
  if (row?.claim_token !== load.claimToken) throw new ServingLoadError(table, 'check claim', `run "${load.runId}" is not claimed by this execution`);
  if (row.status === 'failed') {
    if ((await claimLoad(db, load)) === 'already-loaded') throw new ServingLoadError(table, 'check claim', `run "${load.runId}" is loaded already`);
    return;
  }
  if (row.status !== 'loading') throw new ServingLoadError(table, 'check claim', `the load of run "${load.runId}" is ${String(row.status)}, not loading`);
  await step(table, 'check claim', () => db.query(loaderSql.heartbeat(load)));
}

async function stagingMarker(db: SqlRunner, table: string): Promise<string | undefined> {
  const rows = await db.query(loaderSql.tableMarkers([table]));
  return rows.find((r) => r.name === stagingTable(table))?.comment as string | undefined;
}

async function countMatches(db: SqlRunner, t: Pick<TableToLoad, 'name' | 'expectedRows'>): Promise<number> {
  return step(t.name, 'count', async () => firstNumber(await db.query(loaderSql.countStaging(t.name)), 'row_count'));
}

const mismatch = (rowCount: number, t: Pick<TableToLoad, 'expectedRows'>): string => `staging has ${rowCount} rows, the manifest says ${t.expectedRows}`;

/** Fresh staging table with this load's marker, then the LOAD; the outcome as progress. */
async function loadIntoFreshStaging(db: SqlRunner, executeLoad: LoadExecutor, key: string, t: TableToLoad, rerun: boolean): Promise<TableLoadProgress> {
  await step(t.name, 'create staging', async () => {
    await db.query(loaderSql.dropStaging(t.name));
    await db.query(loaderSql.createStaging(t.name));
    await db.query(loaderSql.markStaging(t.name, key));
  });
  const outcome = await step(t.name, 'load', () => executeLoad(t.name, loaderSql.load(t.name, t.source, key))).catch(async (e: unknown) => {
    // A LOCAL load fails on warnings after its rows went in: never leave them to be resumed.
    await db.query(loaderSql.dropStaging(t.name)).catch(() => undefined);
    throw e;
  });
  if (outcome === 'running') return { table: t.name, status: 'running', rowCount: null, rerun };
  const rowCount = await countMatches(db, t);
  if (rowCount !== t.expectedRows) throw new ServingLoadError(t.name, 'count', mismatch(rowCount, t));
  return { table: t.name, status: 'loaded', rowCount, rerun };
}

/**
 * Step 2a: starts (or resumes) one table's load. A retried start never runs a second LOAD while
 * this load's LOAD of the table runs, and never reloads a staging table already holding its rows.
 */
export async function startTableLoad(db: SqlRunner, executeLoad: LoadExecutor, load: LoadClaim, t: TableToLoad): Promise<TableLoadProgress> {
  const key = loadKey(load);
  await assertClaim(db, load, t.name);
  if ((await step(t.name, 'check running', () => db.query(loaderSql.runningLoads(key)))).some((r) => String(r.info).includes(`${loadMarker(key, t.name)} */`))) {
    return { table: t.name, status: 'running', rowCount: null, rerun: false };
  }
  if ((await step(t.name, 'check staging', () => stagingMarker(db, t.name))) === loadMarker(key, t.name)) {
    const rowCount = await countMatches(db, t);
    if (rowCount === t.expectedRows) return { table: t.name, status: 'loaded', rowCount, rerun: false };
  }
  return loadIntoFreshStaging(db, executeLoad, key, t, false);
}

/**
 * Step 2b: once a background LOAD may have ended, its outcome: still `running`, `loaded`, or —
 * for a staging table short of rows — the LOAD run again to see its error (see the header).
 */
export async function checkTableLoad(
  db: SqlRunner,
  executeLoad: LoadExecutor,
  load: LoadClaim,
  t: TableToLoad,
  previous: Pick<TableLoadProgress, 'rerun'>,
): Promise<TableLoadProgress> {
  const key = loadKey(load);
  await assertClaim(db, load, t.name);
  const running = await step(t.name, 'check running', () => db.query(loaderSql.runningLoads(key)));
  if (running.some((r) => String(r.info).includes(`${loadMarker(key, t.name)} */`))) return { table: t.name, status: 'running', rowCount: null, rerun: previous.rerun };
  const marker = await step(t.name, 'check staging', () => stagingMarker(db, t.name));
  if (marker !== loadMarker(key, t.name)) throw new ServingLoadError(t.name, 'check staging', `the staging table is not this load's (its marker is "${marker ?? 'missing'}")`);
  const rowCount = await countMatches(db, t);
  if (rowCount === t.expectedRows) return { table: t.name, status: 'loaded', rowCount, rerun: previous.rerun };
  if (previous.rerun) {
    throw new ServingLoadError(
      t.name,
      'load',
      `${mismatch(rowCount, t)}: LOAD DATA ran past the Data API call twice and ended without its rows; a statement that outlives its call reports no error, so load the table by hand to see it`,
    );
  }
  return loadIntoFreshStaging(db, executeLoad, key, t, true);
}

/** Step 3: the atomic swap of every served table, then the load recorded. Retried after it happened, it only records. */
export async function swapLoad(db: SqlRunner, load: LoadClaim, expected: TableRowCounts, options: SwapOptions = {}): Promise<LoadResult> {
  const key = loadKey(load);
  const names = servedTables().map((t) => t.name);
  const given = Object.keys(expected);
  if ([...given].sort().join(',') !== [...names].sort().join(',')) {
    throw new ServingLoadError('manifest', 'check tables', `the run must load exactly the served tables (${names.join(', ')}), got (${given.join(', ')})`);
  }
  const [row] = await step(LOAD_RUNS_TABLE, 'check claim', () => db.query(loaderSql.selectClaim(load)));
  if (row?.status === 'loaded') return { runId: load.runId, manifestCreatedAt: load.manifestCreatedAt, status: 'already-loaded', tables: parseTablesJson(row.tables) };
  await assertClaim(db, load, 'swap');

  const markers = new Map((await step('swap', 'check staging', () => db.query(loaderSql.tableMarkers(names)))).map((r) => [String(r.name), String(r.comment)]));
  const swapped = names.every((t) => markers.get(t) === loadMarker(key, t) && !markers.has(stagingTable(t)));
  if (!swapped) {
    const foreign = names.filter((t) => markers.get(stagingTable(t)) !== loadMarker(key, t));
    if (foreign.length > 0) throw new ServingLoadError('swap', 'check staging', `staging table(s) of ${foreign.join(', ')} missing or not of this load`);
    const attempts = options.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        await db.transaction(async (tx) => {
          await tx.query(loaderSql.setLockWaitTimeout(options.lockWaitSeconds ?? 5));
          await tx.query(loaderSql.dropPrevious(names));
          await tx.query(loaderSql.swap(names));
          await tx.query(loaderSql.resetLockWaitTimeout());
        });
        break;
      } catch (e) {
        if (!isLockWaitTimeout(e) || attempt >= attempts) {
          throw new ServingLoadError('swap', 'rename', isLockWaitTimeout(e) ? `readers held the served tables through ${attempts} attempts: ${errorText(e)}` : errorText(e));
        }
        await (options.sleep ?? sleepMs)((options.backoffMs ?? 2000) * 2 ** (attempt - 1));
      }
    }
  }
  await step(LOAD_RUNS_TABLE, 'record loaded', () =>
    db.transaction(async (tx) => {
      await tx.query(loaderSql.markReplaced());
      await tx.query(loaderSql.markFinished(load, 'loaded', expected, null));
    }),
  );
  return { runId: load.runId, manifestCreatedAt: load.manifestCreatedAt, status: 'loaded', tables: expected };
}

/**
 * Step 4: after a failure, kills this claim's LOADs still running and records the failure, if the
 * run is still claimed by this token (found by run id and token: a failed claim step returned no
 * manifest time). Does nothing for a claim that is not, or no longer, its own.
 */
export async function failLoad(db: SqlRunner, claim: Pick<LoadClaim, 'runId' | 'claimToken'>, error: string): Promise<{ released: boolean; killed: number }> {
  const [row] = await db.query(loaderSql.selectLoadingByToken(claim));
  if (!row) return { released: false, killed: 0 };
  const load: LoadClaim = { ...claim, manifestCreatedAt: String(row.manifest_created_at) };
  const running = await db.query(loaderSql.runningLoads(loadKey(load)));
  for (const r of running) await db.query(loaderSql.killQuery(Number(r.id))).catch(() => undefined);
  await db.query(loaderSql.markFinished(load, 'failed', {}, error));
  return { released: true, killed: running.length };
}

/**
 * Every step in one process (the local engine): claims the load with a fresh token, loads and
 * checks every table into staging, swaps all tables in one RENAME and records the outcome. Every
 * served table of the contract must be given.
 */
export async function loadServingRun(
  db: SqlRunner,
  executeLoad: LoadExecutor,
  manifest: { readonly runId: string; readonly createdAt: string },
  tables: readonly TableToLoad[],
  options: ClaimOptions & SwapOptions & { readonly claimToken?: string; readonly now?: () => number } = {},
): Promise<LoadResult> {
  const now = options.now ?? Date.now;
  const load: LoadClaim = { runId: manifest.runId, manifestCreatedAt: manifest.createdAt, claimToken: options.claimToken ?? randomToken() };
  const expected = servedTables().map((t) => t.name);
  const given = tables.map((t) => t.name);
  if ([...given].sort().join(',') !== [...expected].sort().join(',')) {
    throw new ServingLoadError('manifest', 'check tables', `the run must load exactly the served tables (${expected.join(', ')}), got (${given.join(', ')})`);
  }
  if ((await claimLoad(db, load, options)) === 'already-loaded') {
    const [row] = await db.query(loaderSql.selectClaim(load));
    return { runId: load.runId, manifestCreatedAt: load.manifestCreatedAt, status: 'already-loaded', tables: parseTablesJson(row?.tables) };
  }
  try {
    const results: Record<string, { rowCount: number; seconds: number }> = {};
    for (const t of tables) {
      const started = now();
      let progress = await startTableLoad(db, executeLoad, load, t);
      while (progress.status === 'running') progress = await checkTableLoad(db, executeLoad, load, t, progress);
      results[t.name] = { rowCount: progress.rowCount ?? 0, seconds: (now() - started) / 1000 };
    }
    return await swapLoad(db, load, results, options);
  } catch (e) {
    const failure = e instanceof ServingLoadError ? e : new ServingLoadError('load', 'run', errorText(e));
    // Staging tables are left for inspection; the next load drops them first.
    await failLoad(db, load, failure.message).catch(() => undefined);
    throw failure;
  }
}

const randomToken = (): string => `local-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

function parseTablesJson(value: unknown): TableRowCounts {
  if (value === null || value === undefined) return {};
  return (typeof value === 'string' ? JSON.parse(value) : value) as TableRowCounts;
}
