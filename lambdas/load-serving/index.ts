/**
 * load-serving: the state machine's last data step, after the data-quality gate.
 *
 * First it checks a run's serving exports before anything touches Aurora: the manifest exists and
 * names this run, every served table of the contract is there with the contract's columns in order,
 * and every listed CSV object exists under that run's table folder. Then it loads the run with the
 * shared loader (lib/serving/loader-sql.ts) through the Data API as the loader database user
 * (SECRET_ARN is the loader's secret, not the admin's): staging tables, LOAD DATA FROM S3 PREFIX,
 * count checks against the manifest, one atomic RENAME swap, and the run recorded in load_runs.
 *
 * Waiting for a long LOAD: a Data API call returns after at most 45 s; with continueAfterTimeout
 * the statement keeps running in the database and the call fails with StatementTimeoutException.
 * Each LOAD carries a comment naming the run and the table, so the function then polls
 * information_schema.PROCESSLIST (a user sees its own sessions without the PROCESS privilege)
 * until no session runs that statement any more; the count step that follows decides the outcome.
 * A LOAD into InnoDB is one atomic statement, so a failed one leaves the staging table empty and
 * the count check fails, naming the table and the step. If the function's own time runs out first,
 * the load fails before any swap and the next attempt drops the staging table and starts again.
 */
import { HeadObjectCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { exportManifestKey, exportTablePrefix, servedTables, servingColumns, ServingManifest } from '../../lib/contract';
import { errorText, loadMarker, loadServingRun, LoadResult, ServingLoadError, SqlStatement, TableToLoad } from '../../lib/serving/loader-sql';
import { MIGRATIONS, selectAppliedVersions } from '../../lib/serving/mysql-schema';
import { DataApi, isStatementTimeout } from '../shared/data-api';
import { readJsonObject } from '../shared/s3-json';

export { ServingLoadError } from '../../lib/serving/loader-sql';

export interface LoadServingEvent {
  readonly runId: string;
}

export interface LoadServingResult {
  readonly runId: string;
  /** `already-loaded`: the run had been loaded before and nothing changed. */
  readonly status: LoadResult['status'];
  readonly tables: Record<string, { rowCount: number; files: number; seconds?: number }>;
}

/** What the load needs besides the event; the handler builds it from the environment, tests pass their own. */
export interface LoadServingDependencies {
  readonly dataApi: DataApi;
  /** Milliseconds left before the Lambda is stopped. */
  readonly remainingMs: () => number;
  /** Between process-list checks while a LOAD outlives its call. @default 5000 */
  readonly pollIntervalMs?: number;
}

/** Time kept back from the function's timeout to record the failure in load_runs. */
const SAFETY_MARGIN_MS = 30_000;

let client: S3Client | undefined;
/** Created on first use, not at import, so that tests can point the SDK at a local S3 first. */
const s3 = (): S3Client => (client ??= new S3Client({}));
let rdsData: RDSDataClient | undefined;

export async function handler(event: LoadServingEvent, context?: { getRemainingTimeInMillis(): number }): Promise<LoadServingResult> {
  const started = Date.now();
  const dataApi = new DataApi((rdsData ??= new RDSDataClient({})), {
    resourceArn: requireEnv('CLUSTER_ARN'),
    secretArn: requireEnv('SECRET_ARN'),
    database: requireEnv('DATABASE_NAME'),
  });
  return loadServing(event, {
    dataApi,
    remainingMs: () => context?.getRemainingTimeInMillis() ?? 15 * 60_000 - (Date.now() - started),
  });
}

export async function loadServing(event: LoadServingEvent, deps: LoadServingDependencies): Promise<LoadServingResult> {
  const bucket = requireEnv('EXPORT_BUCKET');
  const { runId } = event;
  const manifestUri = `s3://${bucket}/${exportManifestKey(runId)}`;
  const manifest = await readJsonObject<ServingManifest>(s3(), bucket, exportManifestKey(runId)).catch((e: Error) => {
    throw new ServingLoadError('manifest', 'read', e.message);
  });
  if (manifest.runId !== runId) {
    throw new ServingLoadError('manifest', 'check run', `${manifestUri} is for run "${manifest.runId}", not "${runId}"`);
  }

  const tables: LoadServingResult['tables'] = {};
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
    tables[table.name] = { rowCount: entry.rowCount, files: entry.files.length };
  }
  console.log(JSON.stringify({ msg: 'serving exports verified', runId, tables }));

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

  const toLoad: TableToLoad[] = servedTables().map((t) => ({
    name: t.name,
    expectedRows: manifest.tables[t.name].rowCount,
    source: { kind: 's3-prefix', uri: `s3://${bucket}/${exportTablePrefix(runId, t.name)}` },
  }));
  const result = await loadServingRun(dataApi, (table, statements) => loadFromS3(deps, runId, table, statements), runId, toLoad);
  for (const [name, r] of Object.entries(result.tables)) {
    if (tables[name]) tables[name] = { ...tables[name], seconds: r.seconds };
  }
  console.log(JSON.stringify({ msg: 'serving run loaded', runId, status: result.status, tables }));
  return { runId, status: result.status, tables };
}

/** Runs a table's LOAD; when it outlives the Data API call, waits until no session runs it any more. */
async function loadFromS3(deps: LoadServingDependencies, runId: string, table: string, statements: readonly SqlStatement[]): Promise<void> {
  for (const statement of statements) {
    try {
      await deps.dataApi.execute(statement, { continueAfterTimeout: true });
    } catch (e) {
      if (!isStatementTimeout(e)) throw e;
      await waitForLoad(deps, runId, table);
    }
  }
}

/** The statement that tells whether a table's LOAD of this run is still running (in another session). */
export const runningLoadQuery = (runId: string, table: string): SqlStatement => ({
  sql: 'SELECT COUNT(*) AS `running` FROM information_schema.PROCESSLIST WHERE `ID` <> CONNECTION_ID() AND `INFO` LIKE :pattern',
  parameters: { pattern: `%${loadMarker(runId, table)} */%` },
});

async function waitForLoad(deps: LoadServingDependencies, runId: string, table: string): Promise<void> {
  const interval = deps.pollIntervalMs ?? 5000;
  for (;;) {
    const [row] = await deps.dataApi.query(runningLoadQuery(runId, table));
    if (Number(row?.running ?? 0) === 0) return;
    if (deps.remainingMs() < SAFETY_MARGIN_MS + interval) {
      throw new Error('LOAD DATA FROM S3 is still running and the function is about to time out; retry the step (it starts the table again)');
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}
