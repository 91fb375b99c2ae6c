/**
 * Aurora MySQL's `LOAD DATA FROM S3 [FILE | PREFIX | MANIFEST] '<uri>' [REPLACE | IGNORE] INTO TABLE …`
 * for the Data API stand-in, on MariaDB, which has no such syntax: it becomes ONE
 * `LOAD DATA LOCAL INFILE` with the rest of the statement unchanged, whose file is the objects of
 * that literal URI streamed from the S3 emulator one after the other (mysql2 `infileStreamFactory`).
 * One statement, so that from its first byte to its last it shows in information_schema.PROCESSLIST
 * as `LOAD DATA … /* marker *\/` (load-serving polls for exactly that after a StatementTimeout),
 * never a gap between files; a file not ending in a newline gets one before the next file. With
 * `IGNORE n LINES` each object is its own statement (Aurora skips the lines of every file).
 * It runs in a transaction of its own on the session's connection (a savepoint inside the caller's),
 * so that it stays atomic as Aurora's is.
 *
 * Aurora's load runs on the server and is strict (a bad row fails the statement); a LOCAL load turns
 * bad rows into warnings, so any warning fails the statement here, rolled back, with the warning as
 * the error (its wording is the LOCAL one: a too-long string is 1265 "Data truncated", where Aurora
 * says 1406 "Data too long"). With IGNORE, Aurora too keeps going past bad rows: warnings are accepted.
 *
 * Objects: FILE one object (the default); PREFIX every object whose key starts with the prefix, in
 * key order (zero-byte objects contribute nothing; a prefix without any object is an error);
 * MANIFEST the `entries[].url` of the JSON manifest object (a missing `mandatory` entry is an error,
 * a missing optional one is skipped). All are checked before the load starts.
 */
import * as path from 'path';
import { Readable } from 'stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as mysql from 'mysql2/promise';
import { isServerError, parseError, serverError } from './data-api-protocol';

export interface S3LoadStatement {
  readonly kind: 'FILE' | 'PREFIX' | 'MANIFEST';
  readonly uri: string;
  /** Comments before LOAD, kept in the local statement. */
  readonly lead: string;
  /** `[REPLACE | IGNORE] INTO TABLE …` to the end, unchanged. */
  readonly rest: string;
  readonly ignore: boolean;
}

const HEAD = /^((?:\s|\/\*[\s\S]*?\*\/)*)LOAD\s+DATA\s+(?:FROM\s+)?S3\s+(?:(FILE|PREFIX|MANIFEST)\s+)?/i;

/** Whether `sql` (placeholders already `?`) is Aurora's LOAD DATA FROM S3. */
export const isS3Load = (sql: string): boolean => HEAD.test(sql);

/**
 * Parses the statement; anything but a quoted literal where the URI goes fails as MySQL's parser
 * fails (ER_PARSE_ERROR near that text), a bound `?` included. `boundValues`: a literal URI with
 * values bound elsewhere fails as LOAD DATA does in a prepared statement (ER_UNSUPPORTED_PS).
 */
export function parseS3Load(sql: string, boundValues: number): S3LoadStatement {
  const head = HEAD.exec(sql);
  if (!head) throw new Error('not a LOAD DATA FROM S3 statement');
  const at = head[0].length;
  const quote = sql[at];
  if (quote !== "'" && quote !== '"') throw parseError(sql, at);
  let uri = '';
  let i = at + 1;
  for (; i < sql.length; i++) {
    const c = sql[i];
    if (c === '\\' && i + 1 < sql.length) {
      uri += sql[++i];
    } else if (c === quote) {
      if (sql[i + 1] === quote) {
        uri += quote;
        i++;
      } else break;
    } else uri += c;
  }
  if (i >= sql.length) throw parseError(sql, at);
  if (boundValues > 0) throw serverError(1295, 'HY000', 'This command is not supported in the prepared statement protocol yet');
  const rest = sql.slice(i + 1);
  if (!/^\s*(?:(?:REPLACE|IGNORE)\s+)?INTO\s+TABLE\s/i.test(rest)) throw parseError(sql, i + 1 + (rest.length - rest.trimStart().length));
  return { kind: (head[2]?.toUpperCase() ?? 'FILE') as S3LoadStatement['kind'], uri, lead: head[1], rest, ignore: /^\s*IGNORE\s/i.test(rest) };
}

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3(?:-[a-z0-9-]+)?:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m) throw serverError(1105, 'HY000', `Invalid S3 URI '${uri}': expected s3://bucket/key or s3-region://bucket/key`);
  return { bucket: m[1], key: m[2] ?? '' };
}

const noSuchKey = (e: unknown): boolean => ['NoSuchKey', 'NotFound'].includes((e as Error).name);
const missing = (uri: string): Error => serverError(1017, 'HY000', `Can't find file: '${uri}' (errno: 2 "No such file or directory")`);

/** Whether the object exists (HeadObject); other S3 errors are raised. */
async function exists(s3: S3Client, loc: S3Location): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    return true;
  } catch (e) {
    if (noSuchKey(e)) return false;
    throw e;
  }
}

/** An S3 failure as Aurora reports one from a load: a server error, not a Data API fault. */
export const s3Error = (e: unknown): Error =>
  isServerError(e) ? (e as unknown as Error) : serverError(63994, 'HY000', `S3 API returned error: ${(e as Error).name}: ${(e as Error).message}`);

/** The objects the statement names, in load order, each checked to exist. */
export async function resolveS3Objects(s3: S3Client, load: S3LoadStatement): Promise<S3Location[]> {
  try {
    return await resolve(s3, load);
  } catch (e) {
    throw s3Error(e);
  }
}

async function resolve(s3: S3Client, load: S3LoadStatement): Promise<S3Location[]> {
  const { bucket, key } = parseS3Uri(load.uri);
  switch (load.kind) {
    case 'FILE':
      if (!(await exists(s3, { bucket, key }))) throw missing(load.uri);
      return [{ bucket, key }];
    case 'PREFIX': {
      const objects: { key: string; size: number }[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }));
        for (const o of page.Contents ?? []) objects.push({ key: o.Key ?? '', size: o.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      if (objects.length === 0) throw missing(load.uri);
      objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return objects.filter((o) => o.size > 0).map((o) => ({ bucket, key: o.key }));
    }
    case 'MANIFEST': {
      let text: string;
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        text = (await object.Body?.transformToString('utf-8')) ?? '';
      } catch (e) {
        if (noSuchKey(e)) throw missing(load.uri);
        throw e;
      }
      let entries: { url?: unknown; mandatory?: unknown }[];
      try {
        entries = (JSON.parse(text) as { entries?: typeof entries }).entries ?? [];
      } catch {
        throw serverError(1105, 'HY000', `Manifest '${load.uri}' is not valid JSON`);
      }
      const objects: S3Location[] = [];
      for (const entry of entries) {
        const url = String(entry.url ?? '');
        const loc = parseS3Uri(url);
        if (await exists(s3, loc)) objects.push(loc);
        else if (entry.mandatory === true || entry.mandatory === 'true') throw missing(url);
      }
      return objects;
    }
  }
}

/** The objects' bytes one after the other, a newline added after any object that does not end in one. */
function concatenated(s3: S3Client, objects: readonly S3Location[]): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    for (let i = 0; i < objects.length; i++) {
      const object = await s3.send(new GetObjectCommand({ Bucket: objects[i].bucket, Key: objects[i].key }));
      let last: number | undefined;
      for await (const chunk of object.Body as Readable) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        if (b.length > 0) last = b[b.length - 1];
        yield b;
      }
      if (last !== undefined && last !== 0x0a && i < objects.length - 1) yield Buffer.from('\n');
    }
  }
  return Readable.from(bytes());
}

/** The SQLSTATE of the errors a strict server-side load raises where a LOCAL one warns. */
const SQLSTATE_OF: Record<number, string> = { 1048: '23000', 1062: '23000', 1261: '01000', 1262: '01000', 1264: '22003', 1265: '01000', 1292: '22007', 1366: '22007', 1406: '22001' };

/**
 * Loads `objects` with the statement's clauses on `connection`, atomically: in a transaction of its
 * own, or under a savepoint inside the caller's (`inTransaction`). `nameDir`: where the file names
 * the server is told live (nothing is written there; the name only ties the server's request to
 * this load). Returns the rows loaded.
 */
export async function loadS3Objects(
  connection: mysql.Connection,
  s3: S3Client,
  load: S3LoadStatement,
  objects: readonly S3Location[],
  options: {
    readonly inTransaction: boolean;
    readonly nameDir: string;
    /** True once the call timed out without continueAfterTimeout: no further statement is started. */
    readonly cancelled?: () => boolean;
  },
): Promise<number> {
  const perObject = /\bIGNORE\s+\d+\s+(LINES|ROWS)\b/i.test(load.rest);
  const groups = objects.length === 0 ? [] : perObject ? objects.map((o) => [o]) : [objects];
  const begin = options.inTransaction ? 'SAVEPOINT `data_api_s3_load`' : 'START TRANSACTION';
  await connection.query(begin);
  let rows = 0;
  try {
    for (const [n, group] of groups.entries()) {
      if (options.cancelled?.()) throw serverError(1317, '70100', 'Query execution was interrupted');
      const name = path.join(options.nameDir, `s3-load-${process.pid}-${Date.now()}-${n}.csv`);
      const infileStreamFactory = (file: string): Readable => {
        // The server names the file to send; only this statement's own objects are ever given to it.
        if (file !== name) throw new Error(`The server asked for ${file}, which is not this LOAD's source`);
        return concatenated(s3, group);
      };
      const sql = `${load.lead}LOAD DATA LOCAL INFILE ${mysql.escape(name)}${load.rest}`;
      const [header] = await connection.query<mysql.ResultSetHeader>({ sql, infileStreamFactory } as mysql.QueryOptions).catch((e: unknown) => {
        throw s3Error(e);
      });
      rows += header.affectedRows;
      if (header.warningStatus > 0 && !load.ignore) {
        const [warnings] = await connection.query<mysql.RowDataPacket[]>('SHOW WARNINGS LIMIT 1');
        const w = warnings[0];
        const code = Number(w?.Code ?? 1105);
        throw serverError(code, SQLSTATE_OF[code] ?? 'HY000', String(w?.Message ?? `${header.warningStatus} warning(s)`));
      }
    }
  } catch (e) {
    await connection.query(options.inTransaction ? 'ROLLBACK TO SAVEPOINT `data_api_s3_load`' : 'ROLLBACK').catch(() => undefined);
    throw e;
  }
  await connection.query(options.inTransaction ? 'RELEASE SAVEPOINT `data_api_s3_load`' : 'COMMIT');
  return rows;
}
