/**
 * validate-input against a real (local) S3: s3rver serves the raw bucket, the handler runs its
 * real S3 client against it, and the inputs are the real dataset samples from ../shared/data plus
 * malformed files written here. Each test uploads under its own prefix. Listing pagination, the
 * size caps of the result and the read concurrency are in validate-input.paging.test.ts (s3rver
 * cannot paginate ListObjectsV2 on Node 20, see test/support/s3rver.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_PIPELINE_PARAMETERS } from '../../core/config/pipeline-params';
import { READY_MARKER, RAW_TABLES } from '../../core/contract';
import { handler, ValidatedRun } from '../../lambdas/validate-input';
import { LocalS3, startLocalS3 } from '../support/s3rver';

const SHARED_DATA = path.resolve(__dirname, '../../../shared/data');
// The real samples are the point of this suite: without them it must fail, not pass vacuously.
if (!fs.existsSync(path.join(SHARED_DATA, 'README.md'))) {
  throw new Error(`Real dataset samples not found at ${SHARED_DATA}; they are expected in ../shared/data beside the repository`);
}
const sample = (relative: string): string => path.join(SHARED_DATA, relative);
const REES46_OCT = sample('rees46/2019-Oct_head_17434rows.csv.gz');
const REES46_NOV = sample('rees46/2019-Nov_head_683rows.csv.gz');
const RR_EVENTS = sample('retailrocket/events_sample_5000visitors.csv.gz');
const RR_CATEGORY_TREE = sample('retailrocket/category_tree.csv.gz');

const BUCKET = 'raw-bucket';
const uri = (key: string): string => `s3://${BUCKET}/${key}`;

const headerOf = (table: string): string => RAW_TABLES.find((t) => t.name === table)!.header.join(',');
const REES46_HEADER = headerOf('raw_rees46_events');
const RR_EVENTS_HEADER = headerOf('raw_retailrocket_events');
const RR_TREE_HEADER = headerOf('raw_retailrocket_category_tree');

let s3: LocalS3;
let restoreEnv: () => void;
let logSpy: jest.SpyInstance;

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  restoreEnv = s3.useFromSdk();
  process.env.RAW_BUCKET = BUCKET;
});

afterAll(async () => {
  delete process.env.RAW_BUCKET;
  restoreEnv?.();
  await s3?.stop();
});

beforeEach(() => {
  logSpy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => logSpy.mockRestore());

async function put(key: string, body: Uint8Array | string): Promise<void> {
  // An explicit length: the SDK sends none for an empty body and then warns about streams.
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: Buffer.byteLength(body) }));
}
const putFile = async (key: string, file: string): Promise<void> => put(key, fs.readFileSync(file));
const gunzipFile = (file: string): Buffer => zlib.gunzipSync(fs.readFileSync(file));

const validate = (input: unknown, executionName = 'Test-Execution-1'): Promise<ValidatedRun> => handler({ input, executionName });

/** The error the handler rejects with, asserted to be an InputValidationError holding every fragment. */
async function rejection(input: unknown, ...fragments: string[]): Promise<Error> {
  const error = await validate(input).then(
    () => {
      throw new Error('expected validate-input to reject');
    },
    (e: Error) => e,
  );
  expect(error.name).toBe('InputValidationError');
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

/** Deterministic pseudo-random generator, so that generated files compress like real ones (poorly) and every run is the same. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
}

/** REES46-shaped CSV (header and `bytes` or so of rows); synthetic, not the real data. */
function rees46Csv(bytes: number, seed = 1): string {
  const next = lcg(seed);
  const hex = (n: number): string => next().toString(16).padStart(8, '0').slice(0, n);
  const lines = [REES46_HEADER];
  let size = REES46_HEADER.length + 1;
  for (let i = 0; size < bytes; i++) {
    const second = String(i % 60).padStart(2, '0');
    const line =
      `2019-10-01 00:00:${second} UTC,${['view', 'cart', 'purchase'][next() % 3]},${next() % 10_000_000},` +
      `2100000000000000001,electronics.smartphone,brand${next() % 500},${(next() % 100_000) / 100},${next() % 600_000_000},` +
      `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(8)}${hex(4)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

describe('accepts the real dataset samples', () => {
  test('REES46 month heads, gzip', async () => {
    await putFile('real-rees46-gz/2019-Oct_head.csv.gz', REES46_OCT);
    await putFile('real-rees46-gz/2019-Nov_head.csv.gz', REES46_NOV);

    const run = await validate({ inputPrefix: 'real-rees46-gz/' });

    const octBytes = fs.statSync(REES46_OCT).size;
    const novBytes = fs.statSync(REES46_NOV).size;
    expect(run).toEqual({
      runId: 'test-execution-1',
      dataset: 'rees46',
      inputPrefix: 'real-rees46-gz/',
      inputUri: uri('real-rees46-gz/'),
      parameters: DEFAULT_PIPELINE_PARAMETERS,
      parametersJson: JSON.stringify(DEFAULT_PIPELINE_PARAMETERS),
      fileCount: 2,
      totalBytes: octBytes + novBytes,
      tableFileCounts: { raw_rees46_events: 2 },
      // Listing order is key order: "2019-Nov" < "2019-Oct".
      files: [
        { key: 'real-rees46-gz/2019-Nov_head.csv.gz', uri: uri('real-rees46-gz/2019-Nov_head.csv.gz'), bytes: novBytes, table: 'raw_rees46_events', gzip: true },
        { key: 'real-rees46-gz/2019-Oct_head.csv.gz', uri: uri('real-rees46-gz/2019-Oct_head.csv.gz'), bytes: octBytes, table: 'raw_rees46_events', gzip: true },
      ],
      filesTruncated: false,
    });
    // The October sample is larger than one sample read: only its first 64 KiB were gunzipped.
    expect(octBytes).toBeGreaterThan(64 * 1024);
  });

  test('RetailRocket events (with the extra datetime column) and category tree, gzip', async () => {
    await putFile('real-rr-gz/events/events_sample.csv.gz', RR_EVENTS);
    await putFile('real-rr-gz/category_tree/category_tree.csv.gz', RR_CATEGORY_TREE);

    const run = await validate({ inputPrefix: 'real-rr-gz/' });

    expect(run.dataset).toBe('retailrocket');
    expect(run.fileCount).toBe(2);
    expect(run.totalBytes).toBe(fs.statSync(RR_EVENTS).size + fs.statSync(RR_CATEGORY_TREE).size);
    expect(run.tableFileCounts).toEqual({ raw_retailrocket_events: 1, raw_retailrocket_category_tree: 1 });
    expect(run.files.map((f) => [f.key, f.table, f.gzip])).toEqual([
      ['real-rr-gz/category_tree/category_tree.csv.gz', 'raw_retailrocket_category_tree', true],
      ['real-rr-gz/events/events_sample.csv.gz', 'raw_retailrocket_events', true],
    ]);
  });

  test('the same samples decompressed, as plain CSV', async () => {
    const oct = gunzipFile(REES46_OCT);
    const nov = gunzipFile(REES46_NOV);
    await put('real-rees46-plain/2019-Oct.csv', oct);
    await put('real-rees46-plain/2019-Nov.csv', nov);
    const events = gunzipFile(RR_EVENTS);
    const tree = gunzipFile(RR_CATEGORY_TREE);
    await put('real-rr-plain/events.csv', events);
    await put('real-rr-plain/category_tree.csv', tree);

    const rees46 = await validate({ inputPrefix: 'real-rees46-plain/', dataset: 'rees46' });
    expect(rees46.dataset).toBe('rees46');
    expect(rees46.files.map((f) => [f.bytes, f.gzip, f.table])).toEqual([
      [nov.length, false, 'raw_rees46_events'],
      [oct.length, false, 'raw_rees46_events'],
    ]);
    expect(rees46.totalBytes).toBe(oct.length + nov.length);

    const retailrocket = await validate({ inputPrefix: 'real-rr-plain/', dataset: 'retailrocket' });
    expect(retailrocket.dataset).toBe('retailrocket');
    expect(retailrocket.files.map((f) => [f.bytes, f.gzip, f.table])).toEqual([
      [tree.length, false, 'raw_retailrocket_category_tree'],
      [events.length, false, 'raw_retailrocket_events'],
    ]);
  });
});

describe('accepts the variations real uploads have', () => {
  test('an s3:// inputPrefix, a given runId and parameter overrides', async () => {
    await putFile('with-options/2019-Nov.csv.gz', REES46_NOV);

    const run = await validate({
      inputPrefix: `s3://${BUCKET}/with-options/`,
      runId: 'nov-2019',
      dataset: 'rees46',
      parameters: { recommendations: { rank: 64 } },
    });

    expect(run.runId).toBe('nov-2019');
    expect(run.inputPrefix).toBe('with-options/');
    expect(run.parameters.recommendations.rank).toBe(64);
    expect(run.parameters.recommendations.topN).toBe(DEFAULT_PIPELINE_PARAMETERS.recommendations.topN);
    expect(JSON.parse(run.parametersJson)).toEqual(run.parameters);
  });

  test('markers, hidden files and folder placeholders are ignored', async () => {
    await put('markers/', '');
    await put('markers/sub/', '');
    await put(`markers/${READY_MARKER}`, '');
    await put('markers/sub/_SUCCESS', '');
    await put('markers/.DS_Store', Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
    await putFile('markers/sub/2019-Nov.csv.gz', REES46_NOV);

    const run = await validate({ inputPrefix: 'markers/' });

    expect(run.fileCount).toBe(1);
    expect(run.files[0].key).toBe('markers/sub/2019-Nov.csv.gz');
    // The _READY trigger passes the marker's own key: the run reads its folder.
    const triggered = await validate({ inputPrefix: `markers/${READY_MARKER}` });
    expect(triggered.inputPrefix).toBe('markers/');
    expect(triggered.fileCount).toBe(1);
  });

  test('a byte order mark and CRLF line endings', async () => {
    const csv = rees46Csv(2000).replace(/\n/g, '\r\n');
    await put('bom-crlf/export.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]));

    const run = await validate({ inputPrefix: 'bom-crlf/' });

    expect(run.files.map((f) => [f.table, f.gzip])).toEqual([['raw_rees46_events', false]]);
  });


  test('a large gzip file, of which only the first 64 KiB are read and partly gunzipped', async () => {
    const gz = zlib.gzipSync(rees46Csv(2 * 1024 * 1024));
    expect(gz.length).toBeGreaterThan(4 * 64 * 1024);
    await put('large-gzip/2019-Dec.csv.gz', gz);

    const run = await validate({ inputPrefix: 'large-gzip/' });

    expect(run.files).toEqual([expect.objectContaining({ bytes: gz.length, gzip: true, table: 'raw_rees46_events' })]);
  });

  test('a plain file whose 64 KiB sample ends inside a multi-byte character', async () => {
    const head = `${REES46_HEADER}\n`;
    const filler = 'x'.repeat(64 * 1024 - 1 - Buffer.byteLength(head));
    // "é" is two bytes in UTF-8: the first is the sample's last byte, the second is not read.
    const csv = Buffer.from(`${head}${filler}é,more\n${rees46Csv(1000).split('\n').slice(1).join('\n')}`);
    expect(csv[64 * 1024 - 1]).toBe(0xc3);
    await put('split-char/brands.csv', csv);

    const run = await validate({ inputPrefix: 'split-char/' });

    expect(run.files.map((f) => f.table)).toEqual(['raw_rees46_events']);
  });

  test('an inputPrefix naming one object', async () => {
    await putFile('single-object/2019-Nov.csv.gz', REES46_NOV);
    await putFile('single-object/2019-Oct.csv.gz', REES46_OCT);

    const run = await validate({ inputPrefix: 'single-object/2019-Nov.csv.gz' });

    expect(run.files.map((f) => f.key)).toEqual(['single-object/2019-Nov.csv.gz']);
  });

  test('logs one JSON line with the counts', async () => {
    await putFile('logged/2019-Nov.csv.gz', REES46_NOV);

    await validate({ inputPrefix: 'logged/' });

    expect(logSpy).toHaveBeenCalledTimes(1);
    expect(JSON.parse(logSpy.mock.calls[0][0] as string)).toMatchObject({
      message: 'validate-input',
      outcome: 'accepted',
      dataset: 'rees46',
      fileCount: 1,
      inputUri: uri('logged/'),
    });
  });
});

describe('rejects bad files, naming the object and the problem', () => {
  test('an empty object', async () => {
    await putFile('empty-object/2019-Nov.csv.gz', REES46_NOV);
    await put('empty-object/2019-Dec.csv', '');

    await rejection({ inputPrefix: 'empty-object/' }, uri('empty-object/2019-Dec.csv'), 'is empty');
  });

  test('quoted or padded header names: the readers compare the header exactly, so it is refused here, not in prepare', async () => {
    const quoted = RR_EVENTS_HEADER.split(',').map((c) => ` "${c}" `).join(',');
    await put('quoted/events.csv', `${quoted},"datetime"\n1433221332117,257597,view,355908,,2015-06-02 05:02:12\n`);

    await rejection({ inputPrefix: 'quoted/' }, uri('quoted/events.csv'), 'unrecognised header', ' "timestamp" ');
  });

  test('a CSV with another header', async () => {
    await put('wrong-header/orders.csv', 'order_id,customer_id,amount\n1,2,3.50\n');

    const error = await rejection(
      { inputPrefix: 'wrong-header/' },
      uri('wrong-header/orders.csv'),
      'unrecognised header',
      'order_id,customer_id,amount',
      REES46_HEADER,
      RR_EVENTS_HEADER,
      RR_TREE_HEADER,
    );
    expect(error.message).toContain('[,datetime]');
  });

  test('a very long wrong header is shortened in the message', async () => {
    const longHeader = Array.from({ length: 300 }, (_, i) => `column_${i}`).join(',');
    await put('long-header/wide.csv', `${longHeader}\n`);

    const error = await rejection({ inputPrefix: 'long-header/' }, uri('long-header/wide.csv'), 'column_0,column_1', '…');
    expect(error.message).not.toContain('column_299');
  });

  test('binary content', async () => {
    const next = lcg(7);
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i % 16 === 3 ? 0 : next() & 0xff)));
    bytes[0] = 0x50; // not the gzip magic: this must be caught as binary, not as a broken gzip
    await put('binary/blob.csv', bytes);

    await rejection({ inputPrefix: 'binary/' }, uri('binary/blob.csv'), 'is not a CSV text file (binary content)');
  });

  test('a header line in another encoding (Latin-1)', async () => {
    await put('latin1/export.csv', Buffer.from(`caf\xe9,${REES46_HEADER}\n2019-10-01 00:00:00 UTC,view,1,2,,cafe,1.00,3,s\n`, 'latin1'));

    await rejection({ inputPrefix: 'latin1/' }, uri('latin1/export.csv'), 'binary content');
  });

  test('a NUL byte or a Latin-1 byte in a row after a recognised header: the file is accepted (the readers reject that row)', async () => {
    await put('nul-row/a.csv', Buffer.from(`${REES46_HEADER}\n2019-10-01 00:00:00 UTC,view,1,2,,ac\0me,1.00,3,s\n`));
    await put('nul-row/b.csv', Buffer.from(`${REES46_HEADER}\n2019-10-01 00:00:00 UTC,view,1,2,,caf\xe9,1.00,3,s\n`, 'latin1'));

    const run = await validate({ inputPrefix: 'nul-row/' });

    expect(run.files.map((f) => f.table)).toEqual(['raw_rees46_events', 'raw_rees46_events']);
  });

  test('a gzip of a CSV with another header', async () => {
    await put('gzip-wrong-header/orders.csv.gz', zlib.gzipSync('order_id,customer_id,amount\n1,2,3.50\n'));

    await rejection({ inputPrefix: 'gzip-wrong-header/' }, uri('gzip-wrong-header/orders.csv.gz'), 'unrecognised header', 'order_id');
  });

  test('a corrupt gzip file', async () => {
    const gz = zlib.gzipSync(rees46Csv(10_000));
    gz.fill(0x55, 10, 200); // keep the gzip header, break the deflate stream
    await put('corrupt-gzip/2019-Oct.csv.gz', gz);

    await rejection({ inputPrefix: 'corrupt-gzip/' }, uri('corrupt-gzip/2019-Oct.csv.gz'), 'cannot be decompressed');
  });

  test('several bad files are reported together', async () => {
    await putFile('several/2019-Nov.csv.gz', REES46_NOV);
    await put('several/a.csv', '');
    await put('several/b.csv', 'nope\n');

    await rejection(
      { inputPrefix: 'several/' },
      `2 of 3 input files under ${uri('several/')} are not valid`,
      `${uri('several/a.csv')} is empty`,
      `${uri('several/b.csv')} has an unrecognised header`,
    );
  });
});

describe('rejects inputs that are not one usable dataset', () => {
  test('REES46 and RetailRocket files under one prefix', async () => {
    await putFile('mixed/rees46/2019-Nov.csv.gz', REES46_NOV);
    await putFile('mixed/retailrocket/events.csv.gz', RR_EVENTS);

    await rejection(
      { inputPrefix: 'mixed/' },
      'mixes datasets',
      uri('mixed/rees46/2019-Nov.csv.gz'),
      uri('mixed/retailrocket/events.csv.gz'),
    );
  });

  test('dataset "retailrocket" given for REES46 files', async () => {
    await putFile('wrong-dataset/2019-Nov.csv.gz', REES46_NOV);

    await rejection(
      { inputPrefix: 'wrong-dataset/', dataset: 'retailrocket' },
      'dataset "retailrocket" was requested',
      'rees46',
      uri('wrong-dataset/2019-Nov.csv.gz'),
    );
  });

  test('a RetailRocket category tree without events', async () => {
    await putFile('tree-only/category_tree.csv.gz', RR_CATEGORY_TREE);

    await rejection(
      { inputPrefix: 'tree-only/' },
      'no raw_retailrocket_events file',
      uri('tree-only/category_tree.csv.gz'),
    );
  });

  test('two RetailRocket category trees', async () => {
    await putFile('two-trees/events.csv.gz', RR_EVENTS);
    await putFile('two-trees/category_tree.csv.gz', RR_CATEGORY_TREE);
    await put('two-trees/category_tree_copy.csv', gunzipFile(RR_CATEGORY_TREE));

    await rejection(
      { inputPrefix: 'two-trees/' },
      '2 raw_retailrocket_category_tree files, at most 1 allowed',
      uri('two-trees/category_tree.csv.gz'),
      uri('two-trees/category_tree_copy.csv'),
    );
  });

  test('an empty prefix, and one holding only a _READY marker', async () => {
    await rejection({ inputPrefix: 'nothing-here/' }, `No input files under ${uri('nothing-here/')}`);

    await put(`only-marker/${READY_MARKER}`, '');
    await rejection({ inputPrefix: 'only-marker/' }, `No input files under ${uri('only-marker/')}`);
  });
});

describe('rejects bad execution input with the messages of lib/config', () => {
  test('a bad runId', async () => {
    await rejection({ inputPrefix: 'anything/', runId: 'Oct 2019!' }, 'runId "Oct 2019!" is not valid');
  });

  test('an unknown parameter override', async () => {
    await rejection(
      { inputPrefix: 'anything/', parameters: { recommendations: { rnak: 64 } } },
      'parameters.recommendations.rnak is not a known parameter',
    );
  });

  test('an unknown field, a missing inputPrefix, another bucket', async () => {
    await rejection({ inputPrefix: 'x/', datset: 'rees46' }, 'Unknown execution input field "datset"');
    await rejection({}, 'inputPrefix is required');
    await rejection({ inputPrefix: 's3://other-bucket/rees46/' }, `is not in the raw bucket ${BUCKET}`);
  });

  test('the rejection is logged as one JSON line', async () => {
    await rejection({ inputPrefix: 'anything/', runId: 'BAD' });

    expect(logSpy).toHaveBeenCalledTimes(1);
    expect(JSON.parse(logSpy.mock.calls[0][0] as string)).toMatchObject({ outcome: 'rejected', errorName: 'InputValidationError' });
  });
});

test('S3 errors propagate unchanged, not as InputValidationError', async () => {
  process.env.RAW_BUCKET = 'bucket-that-does-not-exist';
  try {
    const error: Error = await validate({ inputPrefix: 'rees46/' }).then(
      () => {
        throw new Error('expected validate-input to reject');
      },
      (e: Error) => e,
    );
    expect(error.name).toBe('NoSuchBucket');
  } finally {
    process.env.RAW_BUCKET = BUCKET;
  }
});
