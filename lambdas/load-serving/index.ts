/**
 * load-serving: the state machine's serving load, after the data-quality gate, as the loader
 * database user through the Data API (SECRET_ARN is the loader's secret, not the admin's). One
 * function, one action per state (core/serving/load-steps.ts has the steps and why):
 *
 *   { action: 'claim', runId, claimToken }                       → ClaimServingLoad
 *     Checks the run's serving exports before anything touches Aurora (the manifest exists, names
 *     this run and has a createdAt; every served table of the contract is there with the
 *     contract's columns in order; every listed CSV object exists under that run's table folder),
 *     checks the schema migrations, then claims the load (run id, manifest createdAt) for the
 *     token. → ClaimResult: { runId, manifestCreatedAt, claimToken, status: 'claimed' | 'already-loaded',
 *       tables: [{ table, expectedRows, files }] }   (tables is [] when already loaded)
 *   { action: 'load-table', runId, manifestCreatedAt, claimToken, table, expectedRows }
 *                                                                → LoadServingTable (in the Map)
 *     Fresh staging table, then its LOAD DATA FROM S3 PREFIX with continueAfterTimeout. Resumable:
 *     a retry neither starts a second LOAD while one runs nor reloads a staging table that holds
 *     this load's rows.
 *   { action: 'check-table', …the same…, rerun, polls }          → CheckServingTable (in the Map)
 *     After a Wait: still running, loaded, or (a staging table short of rows) the LOAD run once
 *     more in a call to see its real error.
 *     Both → TableProgress: { table, status: 'loaded' | 'running', rowCount, rerun, polls }
 *   { action: 'swap', runId, manifestCreatedAt, claimToken }      → SwapServingTables
 *     One RENAME of every table under a short lock_wait_timeout, with retries; records the load.
 *     → SwapResult: { runId, manifestCreatedAt, status: 'loaded' | 'already-loaded', tables: { <table>: { rowCount } } }
 *   { action: 'fail', runId, claimToken, error? }                 → ReleaseServingLoad (on any failure)
 *     Kills the claim's own background LOADs and records the load failed, when the claim is this
 *     token's; otherwise does nothing. → { runId, released, killed }
 *
 * Every call stays well inside the Data API's 45 s per call (only a LOAD may outlive its call,
 * and it goes on in the database) and the function's timeout; the waiting is Step Functions'.
 * Every action but claim reads the manifest again and fails if its createdAt changed: a rerun
 * rewrote the exports under this load.
 */
import { HeadObjectCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { exportManifestKey, exportTablePrefix, servedTables, servingColumns, ServingManifest } from '../../core/contract';
import { checkTableLoad, claimLoad, failLoad, LoadResult, startTableLoad, swapLoad, TableLoadProgress } from '../../core/serving/load-steps';
import { errorText, LoadClaim, LoadStatement, ServingLoadError, TableToLoad } from '../../core/serving/loader-sql';
import { MIGRATIONS, selectAppliedVersions } from '../../core/serving/mysql-schema';
import { createDataApiClient, DataApi } from '../shared/data-api';
import { isStatementTimeout } from '../../core/serving/sql-runner';
import { readJsonObject } from '../shared/s3-json';

export { ServingLoadError } from '../../core/serving/loader-sql';

export interface ClaimEvent {
  readonly action: 'claim';
  readonly runId: string;
  readonly claimToken: string;
}
export interface TableEvent extends LoadClaim {
  readonly action: 'load-table' | 'check-table';
  readonly table: string;
  readonly expectedRows: number;
  /** check-table: the previous progress's. */
  readonly rerun?: boolean;
  readonly polls?: number;
}
export interface SwapEvent extends LoadClaim {
  readonly action: 'swap';
}
export interface FailEvent {
  readonly action: 'fail';
  readonly runId: string;
  readonly claimToken: string;
  /** The caught error of the state machine, recorded in load_runs. */
  readonly error?: unknown;
}
export type LoadServingEvent = ClaimEvent | TableEvent | SwapEvent | FailEvent;

export interface ClaimResult {
  readonly runId: string;
  readonly manifestCreatedAt: string;
  readonly claimToken: string;
  readonly status: 'claimed' | 'already-loaded';
  readonly tables: { readonly table: string; readonly expectedRows: number; readonly files: number }[];
}
export interface TableProgress extends TableLoadProgress {
  readonly polls: number;
}
export type SwapResult = LoadResult;
export interface FailResult {
  readonly runId: string;
  readonly released: boolean;
  readonly killed: number;
}

/** What the load needs besides the event; the handler builds it from the environment, tests pass their own. */
export interface LoadServingDependencies {
  readonly dataApi: DataApi;
  /** For the swap's backoff between RENAME attempts (tests pass a fast one). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** check-table calls before a table is given up (with the state machine's 20 s wait: about 4 hours). */
export const MAX_POLLS = 720;

let client: S3Client | undefined;
/** Created on first use, not at import, so that tests can point the SDK at a local S3 first. */
const s3 = (): S3Client => (client ??= new S3Client({}));
let rdsData: RDSDataClient | undefined;

export async function handler(event: LoadServingEvent): Promise<ClaimResult | TableProgress | SwapResult | FailResult> {
  const dataApi = new DataApi((rdsData ??= createDataApiClient()), {
    resourceArn: requireEnv('CLUSTER_ARN'),
    secretArn: requireEnv('SECRET_ARN'),
    database: requireEnv('DATABASE_NAME'),
  });
  return loadServing(event, { dataApi });
}

export async function loadServing(event: LoadServingEvent, deps: LoadServingDependencies): Promise<ClaimResult | TableProgress | SwapResult | FailResult> {
  switch (event.action) {
    case 'claim':
      return claim(event, deps);
    case 'load-table':
    case 'check-table':
      return table(event, deps);
    case 'swap':
      return swap(event, deps);
    case 'fail':
      return release(event, deps);
    default:
      throw new ServingLoadError('event', 'check action', `unknown action "${String((event as { action?: unknown }).action)}"`);
  }
}

async function readManifest(runId: string): Promise<ServingManifest> {
  const bucket = requireEnv('EXPORT_BUCKET');
  const manifestUri = `s3://${bucket}/${exportManifestKey(runId)}`;
  const manifest = await readJsonObject<ServingManifest>(s3(), bucket, exportManifestKey(runId)).catch((e: Error) => {
    throw new ServingLoadError('manifest', 'read', e.message);
  });
  if (manifest.runId !== runId) {
    throw new ServingLoadError('manifest', 'check run', `${manifestUri} is for run "${manifest.runId}", not "${runId}"`);
  }
  if (typeof manifest.createdAt !== 'string') throw new ServingLoadError('manifest', 'check run', `${manifestUri} has no createdAt`);
  return manifest;
}

/** The manifest, which must still be the one claimed. */
async function assertSameManifest(load: LoadClaim): Promise<ServingManifest> {
  const manifest = await readManifest(load.runId);
  if (manifest.createdAt !== load.manifestCreatedAt) {
    throw new ServingLoadError('manifest', 'check run', `the exports of run "${load.runId}" were rewritten during the load (manifest of ${manifest.createdAt}, loading ${load.manifestCreatedAt})`);
  }
  return manifest;
}

async function claim(event: ClaimEvent, deps: LoadServingDependencies): Promise<ClaimResult> {
  const bucket = requireEnv('EXPORT_BUCKET');
  const { runId } = event;
  const manifest = await readManifest(runId);
  const manifestUri = `s3://${bucket}/${exportManifestKey(runId)}`;
  const tables: ClaimResult['tables'] = [];
  for (const table of servedTables()) {
    const entry = manifest.tables[table.name];
    if (!entry) throw new ServingLoadError(table.name, 'check manifest', `missing from ${manifestUri}`);
    const expected = servingColumns(table).map((c) => c.name).join(',');
    if (entry.columns.join(',') !== expected) {
      throw new ServingLoadError(table.name, 'check columns', `manifest has (${entry.columns.join(',')}), the contract (${expected})`);
    }
    const prefix = exportTablePrefix(runId, table.name);
    for (const key of entry.files) {
      if (!key.startsWith(prefix)) {
        throw new ServingLoadError(table.name, 'check files', `s3://${bucket}/${key} is outside s3://${bucket}/${prefix}`);
      }
      await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((e: unknown) => {
        const why = e instanceof NotFound ? 'does not exist' : (e as Error).message;
        throw new ServingLoadError(table.name, 'check files', `s3://${bucket}/${key} ${why}`);
      });
    }
    tables.push({ table: table.name, expectedRows: entry.rowCount, files: entry.files.length });
  }
  console.log(JSON.stringify({ msg: 'serving exports verified', runId, manifestCreatedAt: manifest.createdAt, tables }));

  const { dataApi } = deps;
  // The serving-schema custom resource applies migrations on deploy; the loader only checks them.
  const appliedRows = await dataApi.query(selectAppliedVersions).catch((e: unknown) => {
    throw new ServingLoadError('schema_migrations', 'check schema', errorText(e));
  });
  const applied = new Set(appliedRows.map((r) => Number(r.version)));
  const missing = MIGRATIONS.filter((m) => !applied.has(m.version)).map((m) => m.version);
  if (missing.length > 0) {
    throw new ServingLoadError('schema_migrations', 'check schema', `migration(s) ${missing.join(', ')} not applied; deploy the stack first`);
  }

  const load: LoadClaim = { runId, manifestCreatedAt: manifest.createdAt, claimToken: event.claimToken };
  const status = await claimLoad(dataApi, load);
  console.log(JSON.stringify({ msg: 'serving load claimed', runId, manifestCreatedAt: manifest.createdAt, status }));
  return { ...load, status, tables: status === 'claimed' ? tables : [] };
}

const s3Source = (runId: string, table: string): TableToLoad['source'] => ({
  kind: 's3-prefix',
  uri: `s3://${requireEnv('EXPORT_BUCKET')}/${exportTablePrefix(runId, table)}`,
});

async function table(event: TableEvent, deps: LoadServingDependencies): Promise<TableProgress> {
  const load: LoadClaim = { runId: event.runId, manifestCreatedAt: event.manifestCreatedAt, claimToken: event.claimToken };
  await assertSameManifest(load);
  const t: TableToLoad = { name: event.table, expectedRows: event.expectedRows, source: s3Source(event.runId, event.table) };
  const executeLoad = (_table: string, statements: readonly LoadStatement[]) => loadFromS3(deps, statements);
  const polls = (event.polls ?? 0) + (event.action === 'check-table' ? 1 : 0);
  if (polls > MAX_POLLS) throw new ServingLoadError(event.table, 'load', `still running after ${MAX_POLLS} checks`);
  const progress =
    event.action === 'load-table'
      ? await startTableLoad(deps.dataApi, executeLoad, load, t)
      : await checkTableLoad(deps.dataApi, executeLoad, load, t, { rerun: event.rerun ?? false });
  console.log(JSON.stringify({ msg: 'serving table', action: event.action, runId: event.runId, ...progress, polls }));
  return { ...progress, polls };
}

/** Runs a table's LOAD; one that outlives the Data API call goes on in the database (`running`). */
async function loadFromS3(deps: LoadServingDependencies, statements: readonly LoadStatement[]): Promise<'done' | 'running'> {
  let outcome: 'done' | 'running' = 'done';
  for (const statement of statements) {
    try {
      await deps.dataApi.execute(statement, { continueAfterTimeout: true });
    } catch (e) {
      if (!isStatementTimeout(e)) throw e;
      outcome = 'running';
    }
  }
  return outcome;
}

async function swap(event: SwapEvent, deps: LoadServingDependencies): Promise<SwapResult> {
  const load: LoadClaim = { runId: event.runId, manifestCreatedAt: event.manifestCreatedAt, claimToken: event.claimToken };
  const manifest = await assertSameManifest(load);
  const expected = Object.fromEntries(servedTables().map((t) => [t.name, { rowCount: manifest.tables[t.name]?.rowCount ?? -1 }]));
  const result = await swapLoad(deps.dataApi, load, expected, { sleep: deps.sleep });
  console.log(JSON.stringify({ msg: 'serving run loaded', ...result }));
  return result;
}

async function release(event: FailEvent, deps: LoadServingDependencies): Promise<FailResult> {
  const error = typeof event.error === 'string' ? event.error : JSON.stringify(event.error ?? 'failed');
  const result = await failLoad(deps.dataApi, { runId: event.runId, claimToken: event.claimToken }, error);
  console.log(JSON.stringify({ msg: 'serving load released', runId: event.runId, ...result }));
  return { runId: event.runId, ...result };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}
