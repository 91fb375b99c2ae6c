/**
 * validate-input with thousands of objects, against a mocked S3 client: listing pagination, the
 * caps that keep `$.run` small, bounded read concurrency, ranged reads, and S3 errors passing through.
 * (s3rver cannot serve a second ListObjectsV2 page on Node 20; see test/support/s3rver.ts.)
 */
import * as zlib from 'zlib';
import { GetObjectCommand, GetObjectCommandOutput, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { RAW_TABLES } from '../../core/contract';
import { handler } from '../../lambdas/validate-input';

const BUCKET = 'raw-bucket';
const s3Mock = mockClient(S3Client);
const REES46_SAMPLE = zlib.gzipSync(`${RAW_TABLES[0].header.join(',')}\n`);

const savedEnv = { ...process.env };
beforeAll(() => {
  process.env.RAW_BUCKET = BUCKET;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
});
afterAll(() => {
  process.env = savedEnv;
  s3Mock.restore();
});
beforeEach(() => {
  s3Mock.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

interface FakeObject {
  readonly key: string;
  readonly size: number;
}

/**
 * Serves `objects` as ListObjectsV2 pages of `pageSize`, with the index to resume at as continuation
 * token, and returns the tokens received (recorded here because the SDK's paginator reuses one input object).
 */
function serveListing(objects: readonly FakeObject[], pageSize = 1000): (string | undefined)[] {
  const tokens: (string | undefined)[] = [];
  s3Mock.on(ListObjectsV2Command).callsFake(async (input: { ContinuationToken?: string }) => {
    tokens.push(input.ContinuationToken);
    const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const page = objects.slice(start, start + pageSize);
    const next = start + pageSize;
    return {
      Contents: page.map((o) => ({ Key: o.key, Size: o.size })),
      IsTruncated: next < objects.length,
      NextContinuationToken: next < objects.length ? String(next) : undefined,
    };
  });
  return tokens;
}

const body = (bytes: Uint8Array): GetObjectCommandOutput['Body'] =>
  ({ transformToByteArray: async () => bytes }) as unknown as GetObjectCommandOutput['Body'];

/** Serves `sample` for every GetObject after a short delay, recording how many reads overlap. */
function serveSamples(sample: Uint8Array): { maxInFlight: () => number } {
  let inFlight = 0;
  let max = 0;
  s3Mock.on(GetObjectCommand).callsFake(async () => {
    inFlight++;
    max = Math.max(max, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight--;
    return { Body: body(sample) };
  });
  return { maxInFlight: () => max };
}

const objects = (count: number, keyLength: number): FakeObject[] =>
  Array.from({ length: count }, (_, i) => {
    const name = `part-${String(i).padStart(5, '0')}.csv.gz`;
    return { key: `rees46/${'x'.repeat(Math.max(0, keyLength - name.length - 7))}${name}`, size: 1_000_000 + i };
  });

test('follows every listing page and reads at most 8 objects at once', async () => {
  const listed = objects(2500, 40);
  const tokens = serveListing(listed);
  const reads = serveSamples(REES46_SAMPLE);

  const run = await handler({ input: { inputPrefix: 'rees46/' }, executionName: 'paging' });

  expect(tokens).toEqual([undefined, '1000', '2000']);
  expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(2500);
  expect(reads.maxInFlight()).toBe(8);
  expect(run.fileCount).toBe(2500);
  expect(run.totalBytes).toBe(listed.reduce((sum, o) => sum + o.size, 0));
  expect(run.tableFileCounts).toEqual({ raw_rees46_events: 2500 });
  expect(run.files).toHaveLength(1000);
  expect(run.files[999].key).toBe(listed[999].key);
  expect(run.filesTruncated).toBe(true);
  expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThan(200 * 1024);
});

test('long keys: the file list stops at its JSON budget, the run stays under 200 KB', async () => {
  serveListing(objects(3000, 900));
  serveSamples(REES46_SAMPLE);

  const run = await handler({ input: { inputPrefix: 'rees46/' }, executionName: 'long-keys' });

  expect(run.fileCount).toBe(3000);
  expect(run.files.length).toBeGreaterThan(0);
  expect(run.files.length).toBeLessThan(1000);
  expect(run.filesTruncated).toBe(true);
  expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThan(200 * 1024);
});

test('reads only the first 64 KiB, or the whole object when smaller', async () => {
  serveListing([
    { key: 'rees46/big.csv.gz', size: 5_000_000 },
    { key: 'rees46/small.csv.gz', size: REES46_SAMPLE.length },
  ]);
  serveSamples(REES46_SAMPLE);

  await handler({ input: { inputPrefix: 'rees46/' }, executionName: 'ranges' });

  expect(s3Mock.commandCalls(GetObjectCommand).map((c) => [c.args[0].input.Key, c.args[0].input.Range])).toEqual([
    ['rees46/big.csv.gz', 'bytes=0-65535'],
    ['rees46/small.csv.gz', `bytes=0-${REES46_SAMPLE.length - 1}`],
  ]);
});

test('an S3 error is rethrown as it is, and no further reads start', async () => {
  serveListing(objects(500, 40));
  const accessDenied = new S3ServiceException({
    name: 'AccessDenied',
    message: 'Access Denied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
  });
  let calls = 0;
  s3Mock.on(GetObjectCommand).callsFake(async () => {
    if (++calls === 20) throw accessDenied;
    await new Promise((resolve) => setTimeout(resolve, 1));
    return { Body: body(REES46_SAMPLE) };
  });

  await expect(handler({ input: { inputPrefix: 'rees46/' }, executionName: 'denied' })).rejects.toBe(accessDenied);
  // The 7 reads already in flight finish; none starts after the failure.
  expect(calls).toBeLessThanOrEqual(20 + 7);
});
