/**
 * The rehearsal's S3: moto's S3 server (from the project's Python environment, .venv-spark) on a
 * free loopback port, holding the buckets of the synthesized template.
 *
 * Why moto and not s3rver (which the unit tests use): Hadoop's S3A connector, which the Spark jobs
 * use for their s3:// paths, uploads with SigV4 streaming ("aws-chunked") bodies over plain HTTP.
 * s3rver 3.7 stores the chunk framing as the object (S3A then refuses the ETag), and answers its
 * SigV2 fallback with 403. moto decodes both.
 *
 * moto keeps objects in memory, so the buckets are persisted under `<dir>/s3/<bucket>/<key>`: loaded
 * into the server at start, written back by `persist()` (into a new folder, then swapped in, so an
 * interrupted persist leaves the previous copy whole). A second rehearsal with the same folder
 * therefore continues with the first one's lake, as a second execution in the same account would.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export const EMULATOR_REGION = 'us-east-1';
/** moto accepts any credentials; these make the SDKs sign requests. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } as const;

export interface S3Emulator {
  readonly endpoint: string;
  readonly client: S3Client;
  /** Writes every bucket back to `<dir>/s3`. */
  persist(): Promise<{ objects: number }>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the S3 emulator exited with code ${child.exitCode}: ${log()}`);
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the S3 emulator did not answer on ${url} within ${timeoutMs / 1000} s: ${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function* filesUnder(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else if (entry.isFile()) yield full;
  }
}

/** Every key of a bucket (ListObjectsV2 pages). */
export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<{ key: string; size: number }[]> {
  const keys: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * A key as a relative file path under the bucket's folder. S3 keys may end in `/` (folder markers)
 * or hold `//`; those are encoded so that every key maps to exactly one file and back.
 */
const MARKER_SUFFIX = '%2F';
const keyToRelative = (key: string): string => (key.endsWith('/') ? key.slice(0, -1) + MARKER_SUFFIX : key);
const relativeToKey = (rel: string): string => (rel.endsWith(MARKER_SUFFIX) ? rel.slice(0, -MARKER_SUFFIX.length) + '/' : rel);

export async function startS3Emulator(options: {
  /** The python of the project's environment (scripts/python-env.sh). */
  python: string;
  /** Where the buckets are persisted (`<dir>/s3`). */
  dir: string;
  buckets: readonly string[];
  log?: (line: string) => void;
}): Promise<S3Emulator> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = path.join(options.dir, 'logs', 's3-emulator.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const child = spawn(options.python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', out, out],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
  });
  fs.closeSync(out);
  const tail = (): string => fs.readFileSync(logFile, 'utf8').slice(-2000);
  try {
    await waitForHttp(`${endpoint}/moto-api/`, child, tail);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const client = new S3Client({ endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS, forcePathStyle: true });

  const store = path.join(options.dir, 's3');
  let restored = 0;
  for (const bucket of options.buckets) {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const root = path.join(store, bucket);
    for (const file of filesUnder(root)) {
      const key = relativeToKey(path.relative(root, file).split(path.sep).join('/'));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: fs.readFileSync(file) }));
      restored++;
    }
  }
  options.log?.(`S3 emulator (moto) on ${endpoint}: ${options.buckets.length} buckets, ${restored} objects restored from ${store}`);

  return {
    endpoint,
    client,
    async persist() {
      const next = `${store}.next-${process.pid}`;
      fs.rmSync(next, { recursive: true, force: true });
      let objects = 0;
      for (const bucket of options.buckets) {
        fs.mkdirSync(path.join(next, bucket), { recursive: true });
        for (const { key } of await listKeys(client, bucket)) {
          const target = path.join(next, bucket, ...keyToRelative(key).split('/'));
          fs.mkdirSync(path.dirname(target), { recursive: true });
          const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          fs.writeFileSync(target, await body.Body!.transformToByteArray());
          objects++;
        }
      }
      const previous = `${store}.previous-${process.pid}`;
      if (fs.existsSync(store)) fs.renameSync(store, previous);
      fs.renameSync(next, store);
      fs.rmSync(previous, { recursive: true, force: true });
      return { objects };
    },
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
