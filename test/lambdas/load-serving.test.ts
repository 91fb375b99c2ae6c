import { PutObjectCommand } from '@aws-sdk/client-s3';
import { exportManifestKey, exportTablePrefix, servedTables, servingColumns, ServingManifest } from '../../lib/contract';
import { handler } from '../../lambdas/load-serving';
import { LocalS3, startLocalS3 } from '../support/s3rver';

const BUCKET = 'exports';
let s3: LocalS3;
let restoreEnv: () => void;

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  restoreEnv = s3.useFromSdk();
  process.env.EXPORT_BUCKET = BUCKET;
});
afterAll(async () => {
  restoreEnv();
  await s3.stop();
});

const put = (key: string, body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: Buffer.byteLength(body) }));

/** A run whose every served table has one CSV of two rows, as the prepare job writes them. */
async function writeRun(runId: string, edit: (m: { tables: Record<string, { columns: string[]; rowCount: number; files: string[] }> }) => void = () => {}) {
  const manifest = { runId, createdAt: '2026-11-23T00:00:00Z', tables: {} as Record<string, { columns: string[]; rowCount: number; files: string[] }> };
  for (const table of servedTables()) {
    const key = `${exportTablePrefix(runId, table.name)}part-00000.csv`;
    await put(key, 'a,b\nc,d\n');
    manifest.tables[table.name] = { columns: servingColumns(table).map((c) => c.name), rowCount: 2, files: [key] };
  }
  edit(manifest);
  await put(exportManifestKey(runId), JSON.stringify(manifest satisfies ServingManifest));
}

test('a complete run is verified table by table', async () => {
  await writeRun('ok-run');
  const result = await handler({ runId: 'ok-run' });
  expect(result.status).toBe('verified');
  expect(Object.keys(result.tables).sort()).toEqual(servedTables().map((t) => t.name).sort());
  expect(result.tables.c_date).toEqual({ rowCount: 2, files: 1 });
});

test.each([
  ['no manifest', 'missing-run', undefined, /manifest: read: s3:\/\/exports\/runs\/missing-run\/manifest.json does not exist/],
  ['a manifest of another run', 'other-run', (m: { runId?: string }) => Object.assign(m, { runId: 'someone-else' }), /is for run "someone-else", not "other-run"/],
  ['a served table missing', 'no-table', (m: { tables: Record<string, unknown> }) => delete m.tables.p_v_c_day, /^p_v_c_day: check manifest: missing from/],
  [
    'columns out of contract order',
    'bad-columns',
    (m: { tables: Record<string, { columns: string[] }> }) => m.tables.c_date.columns.reverse(),
    /^c_date: check columns: manifest has \(cart_users,cart_events,event_date\), the contract \(event_date,cart_events,cart_users\)/,
  ],
  [
    'a file outside the table folder',
    'escape',
    (m: { tables: Record<string, { files: string[] }> }) => (m.tables.v_date.files = ['runs/ok-run/v_date/part-00000.csv']),
    /^v_date: check files: s3:\/\/exports\/runs\/ok-run\/v_date\/part-00000.csv is outside s3:\/\/exports\/runs\/escape\/v_date\//,
  ],
  [
    'a listed file that does not exist',
    'lost-file',
    (m: { tables: Record<string, { files: string[] }> }) => m.tables.purch_date.files.push('runs/lost-file/purch_date/part-00001.csv'),
    /^purch_date: check files: s3:\/\/exports\/runs\/lost-file\/purch_date\/part-00001.csv does not exist/,
  ],
])('%s fails with ServingLoadError naming the table, the step and the cause', async (_what, runId, edit, message) => {
  if (edit) await writeRun(runId, edit as never);
  const failure = handler({ runId });
  await expect(failure).rejects.toMatchObject({ name: 'ServingLoadError' });
  await expect(failure).rejects.toThrow(message);
});
