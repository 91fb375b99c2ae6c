/**
 * load-serving: the state machine's last data step, after the data-quality gate.
 *
 * Today it checks a run's serving exports before anything touches Aurora: the manifest exists and
 * names this run, every served table of the contract is there with the contract's columns in order,
 * and every listed CSV object exists under that run's table folder. The Aurora statements (staging
 * tables, LOAD DATA FROM S3, count checks and the atomic RENAME swap) plug in after these checks; the
 * function already holds the cluster ARN, secret ARN and Data API grants they need.
 */
import { HeadObjectCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import { exportManifestKey, exportTablePrefix, servedTables, servingColumns, ServingManifest } from '../../lib/contract';
import { readJsonObject } from '../shared/s3-json';

export class ServingLoadError extends Error {
  constructor(table: string, step: string, cause: string) {
    super(`${table}: ${step}: ${cause}`);
    this.name = 'ServingLoadError';
  }
}

export interface LoadServingEvent {
  readonly runId: string;
}

export interface LoadServingResult {
  readonly runId: string;
  readonly status: 'verified';
  readonly tables: Record<string, { rowCount: number; files: number }>;
}

let client: S3Client | undefined;
/** Created on first use, not at import, so that tests can point the SDK at a local S3 first. */
const s3 = (): S3Client => (client ??= new S3Client({}));

export async function handler(event: LoadServingEvent): Promise<LoadServingResult> {
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
  return { runId, status: 'verified', tables };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}
