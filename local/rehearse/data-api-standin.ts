/**
 * The RDS Data API stand-in of the rehearsal: an HTTP server on 127.0.0.1 (a free port) that speaks
 * the Data API's REST-JSON protocol as @aws-sdk/client-rds-data sends it (wire shapes in
 * ./data-api-protocol.ts), over the private MariaDB server (./mariadb.ts). The Lambdas run unchanged
 * against it with AWS_ENDPOINT_URL_RDS_DATA=<endpoint>.
 *
 * What it holds to, as Aurora's Data API does:
 * - `resourceArn` must be the cluster's ARN; `secretArn` names the database user (`credentialsFor`),
 *   and every statement runs as that user on a connection of its own, so grants really apply;
 *   `database` selects the schema.
 * - `:name` parameters are bound with server-side prepared statements (mysql2 `execute`), so a bound
 *   identifier or clause (`CREATE USER :user@'%'`) fails as on Aurora; placeholders inside quoted
 *   text, back-quoted names and block comments are left alone (core/serving/loader-sql.ts
 *   `toPositional`). Statements without parameters go through the text protocol.
 * - `LOAD DATA FROM S3 …` becomes a local load of the emulator's objects (./data-api-s3-load.ts),
 *   for a session with the AWS_LOAD_S3_ACCESS role enabled (Aurora MySQL 3's rule); the few other
 *   Aurora spellings MariaDB lacks are rewritten to their exact equivalents (./data-api-dialect.ts).
 * - A call that runs longer than `statementTimeoutMs` fails with StatementTimeoutException; with
 *   `continueAfterTimeout` the statement goes on running in its session (and shows in
 *   information_schema.PROCESSLIST), without it the statement is killed.
 * - BeginTransaction binds an id to one dedicated connection; an id unused for
 *   `transactionTimeoutMs` is rolled back; a statement on a transaction still running one fails
 *   with "Transaction is still running a query".
 * - A response over 1 MiB is refused, as the Data API refuses it.
 * Each call is logged in one line (operation, user, ms, outcome, the first 100 characters of SQL).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import { S3Client } from '@aws-sdk/client-s3';
import type { FieldPacket } from 'mysql2';
import * as mysql from 'mysql2/promise';
import { toPositional } from '../../core/serving/loader-sql';
import { SqlValue } from '../../core/serving/sql-runner';
import {
  bindValue,
  columnMetadata,
  DataApiError,
  databaseError,
  formattedRecords,
  isServerError,
  recordField,
  serverError,
  WireParameter,
} from './data-api-protocol';
import { LOAD_S3_ROLE, toMariaDbDialect } from './data-api-dialect';
import { isS3Load, loadS3Objects, parseS3Load, resolveS3Objects } from './data-api-s3-load';

export interface DataApiStandInOptions {
  socketPath: string; // MariaDB socket
  clusterArn: string;
  credentialsFor(secretArn: string): Promise<{ username: string; password: string } | undefined>;
  s3: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  workDir: string; // temp files for LOAD DATA FROM S3 (the objects are streamed: only the names the server asks for live here)
  statementTimeoutMs?: number; // default 45_000
  transactionTimeoutMs?: number; // default 180_000
  log?: (line: string) => void;
}

export interface DataApiStandIn {
  readonly endpoint: string;
  stop(): Promise<void>;
}

interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface Transaction {
  readonly id: string;
  readonly secretArn: string;
  readonly connection: mysql.Connection;
  busy: boolean;
  timer?: NodeJS.Timeout;
}

/** The request members the operations read (all optional on the wire; checked per operation). */
interface RequestBody {
  resourceArn?: string;
  secretArn?: string;
  database?: string;
  sql?: string;
  parameters?: WireParameter[];
  parameterSets?: WireParameter[][];
  transactionId?: string;
  includeResultMetadata?: boolean;
  continueAfterTimeout?: boolean;
  formatRecordsAs?: 'NONE' | 'JSON';
}

const TIMED_OUT = Symbol('timed out');
/** The Data API ends a call whose response would exceed 1 MiB. */
const RESPONSE_LIMIT_BYTES = 1024 * 1024;
const still = (): DataApiError => new DataApiError('DatabaseErrorException', 'Transaction is still running a query');

export async function startDataApiStandIn(options: DataApiStandInOptions): Promise<DataApiStandIn> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 45_000;
  const transactionTimeoutMs = options.transactionTimeoutMs ?? 180_000;
  const log = options.log ?? (() => undefined);
  const s3 = new S3Client({ endpoint: options.s3.endpoint, region: options.s3.region, credentials: options.s3.credentials, forcePathStyle: true });
  fs.mkdirSync(options.workDir, { recursive: true });
  const transactions = new Map<string, Transaction>();
  const connections = new Set<mysql.Connection>();
  /** Statements that outlived their call (continueAfterTimeout, or being killed). */
  const continuing = new Set<Promise<unknown>>();

  async function authenticate(body: RequestBody): Promise<Credentials> {
    if (body.resourceArn !== options.clusterArn) {
      throw new DataApiError('BadRequestException', `Invalid resource ARN ${String(body.resourceArn)}: no cluster with the Data API enabled has this ARN`);
    }
    if (!body.secretArn) throw new DataApiError('BadRequestException', 'secretArn is required');
    const credentials = await options.credentialsFor(body.secretArn);
    if (!credentials) throw new DataApiError('SecretsErrorException', `Secrets Manager can't find the specified secret ${body.secretArn}`);
    return credentials;
  }

  async function connect(credentials: Credentials, database: string | undefined): Promise<mysql.Connection> {
    let connection: mysql.Connection;
    try {
      connection = await mysql.createConnection({
        socketPath: options.socketPath,
        user: credentials.username,
        password: credentials.password,
        database: database || undefined,
        multipleStatements: false,
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: false,
        decimalNumbers: false,
        jsonStrings: true,
      });
    } catch (e) {
      throw isServerError(e) ? databaseError(e) : e;
    }
    connections.add(connection);
    connection.on('end', () => connections.delete(connection));
    // Aurora clusters run in UTC; DATETIME text and NOW() must not depend on this machine's zone.
    await connection.query("SET time_zone = '+00:00'");
    return connection;
  }

  const close = (connection: mysql.Connection): void => {
    connections.delete(connection);
    connection.end().catch(() => connection.destroy());
  };

  function touch(tx: Transaction): void {
    if (tx.timer) clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      // A statement still running on the transaction is a use of it: the clock starts again when it ends.
      if (tx.busy) return touch(tx);
      transactions.delete(tx.id);
      log(`Transaction ${tx.id.slice(0, 12)}… timed out after ${transactionTimeoutMs} ms unused: rolled back`);
      tx.connection.query('ROLLBACK').catch(() => undefined).finally(() => close(tx.connection));
    }, transactionTimeoutMs);
    tx.timer.unref();
  }

  function transaction(id: string, secretArn: string | undefined): Transaction {
    const tx = transactions.get(id);
    if (!tx || tx.secretArn !== secretArn) throw new DataApiError('TransactionNotFoundException', `Transaction ${id} is not found`);
    return tx;
  }

  /**
   * Runs `work` on the call's session (its transaction's connection, or a new one closed after),
   * within the statement timeout; on timeout the work goes on (continueAfterTimeout) or is killed.
   */
  async function onSession<T>(
    body: RequestBody,
    credentials: Credentials,
    work: (connection: mysql.Connection, inTransaction: boolean, cancelled: () => boolean) => Promise<T>,
  ): Promise<T> {
    const tx = body.transactionId ? transaction(body.transactionId, body.secretArn) : undefined;
    if (tx?.busy) throw still();
    if (tx) tx.busy = true;
    let connection: mysql.Connection;
    try {
      connection = tx ? tx.connection : await connect(credentials, body.database);
    } catch (e) {
      if (tx) tx.busy = false;
      throw e;
    }
    const finish = (): void => {
      if (tx) {
        tx.busy = false;
        if (transactions.has(tx.id)) touch(tx);
      } else close(connection);
    };
    if (tx) touch(tx);
    let cancelled = false;
    const running = work(connection, tx !== undefined, () => cancelled);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), statementTimeoutMs)));
    let outcome: T | typeof TIMED_OUT;
    try {
      outcome = await Promise.race([running, timeout]);
    } catch (e) {
      clearTimeout(timer);
      finish();
      throw e;
    }
    clearTimeout(timer);
    if (outcome !== TIMED_OUT) {
      finish();
      return outcome;
    }
    const threadId = connection.threadId;
    const started = Date.now();
    const late = running.then(
      () => log(`${body.continueAfterTimeout ? 'continued' : 'killed'} statement on connection ${threadId} finished after the call: ok (${Date.now() - started} ms more)`),
      (e: unknown) => log(`${body.continueAfterTimeout ? 'continued' : 'killed'} statement on connection ${threadId} ended: ${(e as Error).message}`),
    );
    const tracked: Promise<unknown> = late.finally(() => {
      finish();
      continuing.delete(tracked);
    });
    continuing.add(tracked);
    if (!body.continueAfterTimeout) {
      cancelled = true;
      // A user may kill its own sessions' statements; the Data API cancels a timed-out statement so.
      const killer = await connect(credentials, undefined).catch(() => undefined);
      if (killer) await killer.query(`KILL QUERY ${Number(threadId)}`).catch(() => undefined).finally(() => close(killer));
    }
    throw new DataApiError('StatementTimeoutException', 'Request timed out', { dbConnectionId: threadId });
  }

  function positional(sql: string | undefined, parameters: WireParameter[] | undefined): { sql: string; values: unknown[] } {
    if (!sql) throw new DataApiError('BadRequestException', 'sql is required');
    const named: Record<string, unknown> = {};
    for (const p of parameters ?? []) {
      if (!p.name) throw new DataApiError('BadRequestException', 'Every parameter needs a name');
      named[p.name] = bindValue(p);
    }
    try {
      // The values are mysql2 bind values (typed), not loader values; toPositional only places them.
      const bound = toPositional({ sql, parameters: named as Record<string, SqlValue> });
      return { sql: toMariaDbDialect(bound.sql), values: bound.values };
    } catch (e) {
      throw new DataApiError('BadRequestException', (e as Error).message);
    }
  }

  /** One statement on `connection`: the S3 load, a prepared statement, or a text-protocol query. */
  async function runStatement(
    connection: mysql.Connection,
    statement: { sql: string; values: unknown[] },
    inTransaction: boolean,
    cancelled: () => boolean,
  ): Promise<{ header?: mysql.ResultSetHeader; rows?: unknown[][]; fields?: FieldPacket[] }> {
    if (isS3Load(statement.sql)) {
      const load = parseS3Load(statement.sql, statement.values.length);
      const [enabled] = await connection.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS `n` FROM information_schema.ENABLED_ROLES WHERE `ROLE_NAME` = ?', [LOAD_S3_ROLE]);
      if (Number(enabled[0]?.n) === 0) throw serverError(1227, '42000', 'Access denied; you need (at least one of) the LOAD FROM S3 privilege(s) for this operation');
      const objects = await resolveS3Objects(s3, load);
      const affectedRows = await loadS3Objects(connection, s3, load, objects, { inTransaction, nameDir: options.workDir, cancelled });
      return { header: { affectedRows, insertId: 0 } as mysql.ResultSetHeader };
    }
    const query = { sql: statement.sql, rowsAsArray: true };
    const [result, fields] =
      statement.values.length > 0
        ? await connection.execute({ ...query, values: statement.values } as mysql.QueryOptions)
        : await connection.query(query);
    // A CALL returns its result sets and then a header; the Data API answers with the first result.
    const multi = Array.isArray(fields) && Array.isArray((fields as unknown[])[0]);
    const rows = multi ? (result as unknown[])[0] : result;
    const columns = (multi ? (fields as unknown as FieldPacket[][])[0] : fields) as FieldPacket[] | undefined;
    if (Array.isArray(rows) && columns) return { rows: rows as unknown[][], fields: columns };
    return { header: (Array.isArray(rows) ? rows[rows.length - 1] : rows) as mysql.ResultSetHeader };
  }

  function executeResponse(body: RequestBody, r: Awaited<ReturnType<typeof runStatement>>): Record<string, unknown> {
    if (r.header) {
      const generatedFields = r.header.insertId > 0 ? [{ longValue: Number(r.header.insertId) }] : [];
      return { numberOfRecordsUpdated: r.header.affectedRows ?? 0, generatedFields };
    }
    const fields = r.fields ?? [];
    const rows = r.rows ?? [];
    const response: Record<string, unknown> = { numberOfRecordsUpdated: 0 };
    if (body.formatRecordsAs === 'JSON') {
      response.formattedRecords = formattedRecords(fields, rows);
    } else {
      response.records = rows.map((row) => fields.map((f, i) => recordField(f, row[i])));
    }
    if (body.includeResultMetadata) response.columnMetadata = fields.map(columnMetadata);
    return response;
  }

  const operations: Record<string, (body: RequestBody, credentials: Credentials) => Promise<Record<string, unknown>>> = {
    '/Execute': async (body, credentials) => {
      const statement = positional(body.sql, body.parameters);
      const result = await onSession(body, credentials, (c, inTx, cancelled) => runStatement(c, statement, inTx, cancelled));
      return executeResponse(body, result);
    },
    '/BatchExecute': async (body, credentials) => {
      const sets = body.parameterSets?.length ? body.parameterSets : [[]];
      const statements = sets.map((set) => positional(body.sql, set));
      const updateResults = await onSession(body, credentials, async (c, inTx, cancelled) => {
        const results: Record<string, unknown>[] = [];
        for (const s of statements) {
          if (cancelled()) throw serverError(1317, '70100', 'Query execution was interrupted');
          const r = await runStatement(c, s, inTx, cancelled);
          results.push({ generatedFields: r.header && r.header.insertId > 0 ? [{ longValue: Number(r.header.insertId) }] : [] });
        }
        return results;
      });
      return { updateResults };
    },
    '/BeginTransaction': async (body, credentials) => {
      const connection = await connect(credentials, body.database);
      try {
        await connection.query('START TRANSACTION');
      } catch (e) {
        close(connection);
        throw e;
      }
      const tx: Transaction = { id: randomBytes(48).toString('base64'), secretArn: body.secretArn ?? '', connection, busy: false };
      transactions.set(tx.id, tx);
      touch(tx);
      return { transactionId: tx.id };
    },
    '/CommitTransaction': (body) => endTransaction(body, 'COMMIT', 'Transaction Committed'),
    '/RollbackTransaction': (body) => endTransaction(body, 'ROLLBACK', 'Rollback Complete'),
  };

  async function endTransaction(body: RequestBody, sql: 'COMMIT' | 'ROLLBACK', status: string): Promise<Record<string, unknown>> {
    if (!body.transactionId) throw new DataApiError('BadRequestException', 'transactionId is required');
    const tx = transaction(body.transactionId, body.secretArn);
    if (tx.busy) throw still();
    transactions.delete(tx.id);
    if (tx.timer) clearTimeout(tx.timer);
    try {
      await tx.connection.query(sql);
    } finally {
      close(tx.connection);
    }
    return { transactionStatus: status };
  }

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const route = (request.url ?? '').split('?')[0];
    const operation = route.replace(/^\//, '') || '?';
    let body: RequestBody = {};
    let user = '-';
    const send = (status: number, payload: object, errorType?: string): void => {
      const text = JSON.stringify(payload);
      response.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': randomBytes(16).toString('hex'),
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      response.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const op = operations[route];
      if (request.method !== 'POST' || !op) {
        send(404, { message: `No operation ${request.method} ${route}` }, 'UnknownOperationException');
        log(`${operation} user=- ${Date.now() - started}ms UnknownOperationException`);
        return;
      }
      const text = Buffer.concat(chunks).toString('utf-8');
      try {
        body = text ? (JSON.parse(text) as RequestBody) : {};
      } catch {
        throw new DataApiError('BadRequestException', 'The request body is not JSON');
      }
      const credentials = await authenticate(body);
      user = credentials.username;
      const result = await op(body, credentials);
      if (Buffer.byteLength(JSON.stringify(result)) > RESPONSE_LIMIT_BYTES) {
        throw new DataApiError('BadRequestException', 'Database returned more than the allowed response size limit');
      }
      send(200, result);
      log(`${operation} user=${user} ${Date.now() - started}ms ok${body.sql ? ` ${oneLine(body.sql)}` : ''}`);
    } catch (e) {
      const error = e instanceof DataApiError ? e : isServerError(e) ? databaseError(e) : new DataApiError('InternalServerErrorException', (e as Error).message);
      send(error.status, { message: error.message, ...error.extra }, error.errorType);
      log(`${operation} user=${user} ${Date.now() - started}ms ${error.errorType}: ${error.message.slice(0, 300)}${body.sql ? ` ${oneLine(body.sql)}` : ''}`);
    }
  }

  const server = http.createServer((request, response) => void handle(request, response));
  // Longer than any statement timeout: the SDK's own socket timeout decides, as against AWS.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const tx of transactions.values()) if (tx.timer) clearTimeout(tx.timer);
      transactions.clear();
      // Open sessions end with the stand-in, as a restarted Data API would drop them (uncommitted work rolls back).
      for (const c of connections) c.destroy();
      connections.clear();
      await Promise.allSettled([...continuing]);
      s3.destroy();
    },
  };
}

const oneLine = (sql: string): string => sql.replace(/\s+/g, ' ').trim().slice(0, 100);
