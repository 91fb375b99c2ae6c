/**
 * A throwaway S3 for tests: s3rver on 127.0.0.1, a free port chosen by the OS, a fresh temp
 * directory, the given buckets created. `useFromSdk()` points the AWS SDK v3 of the current process
 * at it through the environment (AWS_ENDPOINT_URL_S3 and dummy credentials); the SDK addresses an
 * IP-address endpoint path-style by itself, which is what s3rver needs.
 *
 * Quirk: s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with single DES, which Node 17+
 * (OpenSSL 3) refuses, so any truncated V2 listing (more than 1000 keys under a prefix) fails with
 * InternalError. Keep each prefix under 1000 keys; test pagination against a mocked client.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { S3Client } from '@aws-sdk/client-s3';

// s3rver ships no type declarations; this is the part of its API used here.
const S3rver = require('s3rver') as new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };

/** s3rver accepts any signature made with these. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';

export interface LocalS3 {
  readonly endpoint: string;
  /** A client for the test itself (uploads). */
  readonly client: S3Client;
  /** Sets the environment so that S3 clients created from now on use this server; returns an undo. */
  useFromSdk(): () => void;
  stop(): Promise<void>;
}

export async function startLocalS3(buckets: readonly string[]): Promise<LocalS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // Made on first use, so that a useFromSdk() called first also quiets this client's construction.
  let client: S3Client | undefined;

  return {
    endpoint,
    get client() {
      return (client ??= new S3Client({ endpoint, region: REGION, credentials: CREDENTIALS, forcePathStyle: true }));
    },
    useFromSdk() {
      const overrides: Record<string, string> = {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        // SDK v3 warns once per process that its 2027 releases need Node 22; noise in test output.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const saved = Object.fromEntries(Object.keys(overrides).map((k) => [k, process.env[k]]));
      Object.assign(process.env, overrides);
      return () => {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      };
    },
    async stop() {
      client?.destroy();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
