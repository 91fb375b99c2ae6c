/**
 * Athena SQL ran on DuckDB over the emulated curated bucket: the rehearsal's stand-in for Amazon
 * Athena and AWS Secrets Manager, one HTTP server on 127.0.0.1 speaking the AWS JSON 1.1 protocol
 * (`X-Amz-Target: AmazonAthena.<Op>` / `secretsmanager.<Op>`), so the Lambdas run unchanged with
 * AWS_ENDPOINT_URL_ATHENA and AWS_ENDPOINT_URL_SECRETS_MANAGER pointing here.
 *
 * What it does as Athena does:
 * - StartQueryExecution in a workgroup of the template (unknown → InvalidRequestException, a
 *   DISABLED one refused, `primary` only with a ResultConfiguration.OutputLocation);
 *   ExecutionParameters substituted for `?` in order; ClientRequestToken idempotent.
 * - The Glue tables of the template as `"db"."table"` (and `db.table`, bare names with
 *   QueryExecutionContext.Database), their Parquet objects read from the S3 emulator at query
 *   time (a deleted or replaced object shows at once), by the catalog's column names and types: a
 *   column no file has reads as NULL, a file column of a type Athena's reader refuses for the Glue
 *   type (a narrower integer, a number for a string…) fails the query as HIVE_BAD_DATA. Partition
 *   projection as declared: an injected key must be constrained by `= 'literal'` / `IN (…)` (else
 *   CONSTRAINT_VIOLATION) and only those partitions are read, date projections only inside their
 *   range (`NOW` is today, UTC), enums only their values; files named `_…`/`.…` skipped; a
 *   partitioned table without projection has no partitions (no crawler, no MSCK REPAIR here).
 * - States QUEUED → RUNNING → SUCCEEDED / FAILED (StateChangeReason and AthenaError.ErrorMessage =
 *   the engine's message) / CANCELLED (StopQueryExecution); at most two queries run at once, the
 *   others wait QUEUED.
 * - GetQueryResults: the header row first on the first page, every value as text as Trino prints
 *   it, NULL as a Datum without VarCharValue, ColumnInfo, MaxResults (1-1000, default 1000) and
 *   NextToken paging; asking before SUCCEEDED is an InvalidRequestException.
 * - GetSecretValue by ARN, partial ARN or name; ResourceNotFoundException otherwise.
 *
 * What it does differently from Athena:
 * - The engine is DuckDB, not Trino: functions, casts, integer overflow, NULL ordering, implicit
 *   coercions and error messages are DuckDB's (the gate's SQL is in the subset both run alike).
 * - The Parquet type check is DuckDB's reading of the file's types against a list of the
 *   coercions Athena allows, not Athena's reader itself; its messages name DuckDB's type names.
 *   Only Parquet tables can be queried (the raw CSV tables cannot); storage.location.template
 *   and non-`yyyy-MM-dd` date projections are refused; the injected-key check reads the bound SQL
 *   text for `key = '…'`, not a parsed WHERE clause.
 * - ExecutionParameters are substituted as text without checking that each is one literal.
 * - No result files are written to the workgroup's output location (OutputLocation is reported),
 *   BytesScannedCutoffPerQuery is not enforced, DataScannedInBytes is the size of the files read,
 *   results are kept in memory for the life of the server; no IAM, no signatures checked, no
 *   quotas, no DDL against Glue, no other Athena operation than Start/Get/BatchGet/Stop query
 *   execution and GetQueryResults, no other Secrets Manager operation than GetSecretValue (one
 *   fixed AWSCURRENT version).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { AthenaWorkGroup, S3Mirror, createTableView, glueTablesOf, referencedTables, tableFiles, workGroupsOf } from './athena-catalog';
import { AthenaResult, bindExecutionParameters, runAthenaSql } from './athena-sql';

export interface AwsJsonStandInOptions {
  /** The synthesized template with every intrinsic already resolved to concrete values (buckets are plain names). */
  template: { Resources: Record<string, { Type: string; Properties?: any }> };
  s3: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  workDir: string;
  /** SecretString by secret ARN (and by name). */
  secrets: Record<string, string>;
  log?: (line: string) => void;
}

export interface AwsJsonStandIn {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** What the output prints about the stand-in, first line of the header above. */
export const ATHENA_STANDIN_NOTICE = 'Athena SQL ran on DuckDB over the emulated curated bucket';

/** Queries running at once; the rest wait QUEUED (the rehearsal has two cores). */
const RUNNING_AT_ONCE = 2;
const MAX_RESULTS = 1000;

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

interface Execution {
  readonly id: string;
  readonly query: string;
  readonly parameters: readonly string[];
  readonly database?: string;
  readonly workGroup: AthenaWorkGroup;
  readonly outputLocation?: string;
  readonly submitted: Date;
  state: QueryState;
  reason?: string;
  completed?: Date;
  started?: Date;
  /** When the tables' objects were mirrored and their views made. */
  mirrored?: Date;
  result?: AthenaResult;
  bytesScanned: number;
  connection?: DuckDBConnection;
}

const seconds = (d: Date | undefined): number | undefined => (d ? d.getTime() / 1000 : undefined);

export async function startAwsJsonStandIn(options: AwsJsonStandInOptions): Promise<AwsJsonStandIn> {
  const log = options.log ?? (() => undefined);
  const tables = glueTablesOf(options.template);
  const workGroups = workGroupsOf(options.template);
  const s3 = new S3Client({ endpoint: options.s3.endpoint, region: options.s3.region, credentials: options.s3.credentials, forcePathStyle: true });
  const mirror = new S3Mirror(s3, path.join(options.workDir, 'athena-mirror'));
  const executions = new Map<string, Execution>();
  const byToken = new Map<string, string>();
  const queue: Execution[] = [];
  let running = 0;
  const inFlight = new Set<Promise<void>>();

  const pump = (): void => {
    while (running < RUNNING_AT_ONCE && queue.length > 0) {
      const execution = queue.shift()!;
      if (execution.state !== 'QUEUED') continue;
      running++;
      const done = execute(execution).finally(() => {
        running--;
        inFlight.delete(done);
        pump();
      });
      inFlight.add(done);
    }
  };

  const finish = (e: Execution, state: QueryState, reason?: string): void => {
    if (e.state === 'CANCELLED') return;
    e.state = state;
    e.reason = reason;
    e.completed = new Date();
    const span = (from?: Date, to?: Date): string => (from && to ? ((to.getTime() - from.getTime()) / 1000).toFixed(2) : '-');
    const timing = `queued ${span(e.submitted, e.started)} s, S3 mirror ${span(e.started, e.mirrored)} s, DuckDB ${span(e.mirrored, e.completed)} s`;
    log(`athena ${e.id} ${state} (${timing})${reason ? `: ${reason}` : ''}: ${e.query.replace(/\s+/g, ' ').slice(0, 120)}`);
  };

  // One DuckDB for the server; each query gets its own connection and its own in-memory catalog
  // holding its views, so concurrent queries of different runs never see each other's files.
  let duckdb: Promise<DuckDBInstance> | undefined;
  const engine = (): Promise<DuckDBInstance> =>
    (duckdb ??= DuckDBInstance.create(':memory:', {
      threads: String(RUNNING_AT_ONCE),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    }));

  async function execute(e: Execution): Promise<void> {
    e.state = 'RUNNING';
    e.started = new Date();
    const catalog = `q_${e.id.replace(/-/g, '')}`;
    let attached = false;
    try {
      const sql = bindExecutionParameters(e.query, e.parameters);
      const connection = await (await engine()).connect();
      e.connection = connection;
      // Parquet timestamps are UTC instants; Athena reads them as UTC wall-clock time.
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run(`ATTACH ':memory:' AS ${catalog}`);
      attached = true;
      await connection.run(`USE ${catalog}`);
      for (const table of referencedTables(sql, tables, e.database)) {
        const files = await tableFiles(mirror, table, sql);
        e.bytesScanned += files.reduce((sum, f) => sum + f.size, 0);
        await createTableView(connection, table, files);
      }
      e.mirrored = new Date();
      if (e.database) {
        const schema = `"${e.database.replace(/"/g, '""')}"`;
        await connection.run(`CREATE SCHEMA IF NOT EXISTS ${schema}; USE ${catalog}.${schema}`);
      }
      if ((e.state as QueryState) === 'CANCELLED') return;
      e.result = await runAthenaSql(connection, sql);
      finish(e, 'SUCCEEDED');
    } catch (error) {
      finish(e, 'FAILED', (error as Error).message);
    } finally {
      const connection = e.connection;
      e.connection = undefined;
      if (connection) {
        if (attached) await connection.run(`USE memory; DETACH ${catalog}`).catch(() => undefined);
        connection.closeSync();
      }
    }
  }

  const executionOf = (id: unknown): Execution => {
    const e = typeof id === 'string' ? executions.get(id) : undefined;
    if (!e) throw new ServiceError('InvalidRequestException', `QueryExecution ${String(id)} was not found`, { AthenaErrorCode: 'INVALID_INPUT' });
    return e;
  };

  const describe = (e: Execution): Record<string, unknown> => ({
    QueryExecutionId: e.id,
    Query: e.query,
    StatementType: /^\s*(select|with|values|show|describe|explain)\b/i.test(e.query) ? 'DML' : 'UTILITY',
    ResultConfiguration: e.outputLocation ? { OutputLocation: `${e.outputLocation.replace(/\/?$/, '/')}${e.id}.csv` } : undefined,
    QueryExecutionContext: e.database ? { Database: e.database, Catalog: 'awsdatacatalog' } : {},
    ExecutionParameters: e.parameters.length ? e.parameters : undefined,
    Status: {
      State: e.state,
      StateChangeReason: e.reason,
      SubmissionDateTime: seconds(e.submitted),
      CompletionDateTime: seconds(e.completed),
      AthenaError: e.state === 'FAILED' ? { ErrorCategory: 2, Retryable: false, ErrorMessage: e.reason } : undefined,
    },
    Statistics: {
      EngineExecutionTimeInMillis: e.started ? (e.completed ?? new Date()).getTime() - e.started.getTime() : 0,
      DataScannedInBytes: e.bytesScanned,
      TotalExecutionTimeInMillis: (e.completed ?? new Date()).getTime() - e.submitted.getTime(),
      QueryQueueTimeInMillis: (e.started ?? new Date()).getTime() - e.submitted.getTime(),
    },
    WorkGroup: e.workGroup.name,
    EngineVersion: { SelectedEngineVersion: e.workGroup.engineVersion, EffectiveEngineVersion: 'Athena engine version 3' },
  });

  const athena: Record<string, (input: any) => unknown> = {
    StartQueryExecution(input) {
      if (typeof input.QueryString !== 'string' || input.QueryString.trim() === '') {
        throw new ServiceError('InvalidRequestException', 'QueryString must not be empty', { AthenaErrorCode: 'INVALID_INPUT' });
      }
      if (input.ClientRequestToken && byToken.has(input.ClientRequestToken)) return { QueryExecutionId: byToken.get(input.ClientRequestToken) };
      const name: string = input.WorkGroup ?? 'primary';
      const workGroup: AthenaWorkGroup | undefined =
        workGroups.find((w) => w.name === name) ?? (name === 'primary' ? { name, state: 'ENABLED', engineVersion: 'AUTO' } : undefined);
      if (!workGroup) throw new ServiceError('InvalidRequestException', `WorkGroup ${name} is not found.`, { AthenaErrorCode: 'INVALID_INPUT' });
      if (workGroup.state !== 'ENABLED') throw new ServiceError('InvalidRequestException', `WorkGroup ${name} is disabled.`, { AthenaErrorCode: 'INVALID_INPUT' });
      const outputLocation: string | undefined = workGroup.outputLocation ?? input.ResultConfiguration?.OutputLocation;
      if (!outputLocation) {
        throw new ServiceError(
          'InvalidRequestException',
          'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
          { AthenaErrorCode: 'INVALID_INPUT' },
        );
      }
      const execution: Execution = {
        id: randomUUID(),
        query: input.QueryString,
        parameters: input.ExecutionParameters ?? [],
        database: input.QueryExecutionContext?.Database,
        workGroup,
        outputLocation,
        submitted: new Date(),
        state: 'QUEUED',
        bytesScanned: 0,
      };
      executions.set(execution.id, execution);
      if (input.ClientRequestToken) byToken.set(input.ClientRequestToken, execution.id);
      queue.push(execution);
      setImmediate(pump);
      return { QueryExecutionId: execution.id };
    },
    GetQueryExecution(input) {
      return { QueryExecution: describe(executionOf(input.QueryExecutionId)) };
    },
    BatchGetQueryExecution(input) {
      const ids: string[] = input.QueryExecutionIds ?? [];
      return {
        QueryExecutions: ids.filter((id) => executions.has(id)).map((id) => describe(executions.get(id)!)),
        UnprocessedQueryExecutionIds: ids.filter((id) => !executions.has(id)).map((id) => ({ QueryExecutionId: id, ErrorCode: 'INVALID_INPUT', ErrorMessage: 'not found' })),
      };
    },
    StopQueryExecution(input) {
      const e = executionOf(input.QueryExecutionId);
      if (e.state === 'QUEUED' || e.state === 'RUNNING') {
        e.connection?.interrupt();
        finish(e, 'CANCELLED', 'Query was cancelled by user');
        e.state = 'CANCELLED';
      }
      return {};
    },
    GetQueryResults(input) {
      const e = executionOf(input.QueryExecutionId);
      if (e.state === 'FAILED') throw new ServiceError('InvalidRequestException', e.reason ?? 'Query failed', { AthenaErrorCode: 'INVALID_INPUT' });
      if (e.state !== 'SUCCEEDED' || !e.result) {
        throw new ServiceError('InvalidRequestException', `Query has not yet finished. Current state: ${e.state}`, { AthenaErrorCode: 'INVALID_INPUT' });
      }
      const max: number = input.MaxResults ?? MAX_RESULTS;
      if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
        throw new ServiceError('InvalidRequestException', `MaxResults must be between 1 and ${MAX_RESULTS}`, { AthenaErrorCode: 'INVALID_INPUT' });
      }
      // Row 0 is the header: Athena lists a SELECT's column names as the first row of the first page.
      const { columns, rows } = e.result;
      const total = rows.length + 1;
      let offset = 0;
      if (input.NextToken !== undefined) {
        const token = /^([0-9a-f-]{36}):(\d+)$/.exec(Buffer.from(String(input.NextToken), 'base64url').toString('utf8'));
        if (!token || token[1] !== e.id) throw new ServiceError('InvalidRequestException', 'Invalid NextToken', { AthenaErrorCode: 'INVALID_INPUT' });
        offset = Number(token[2]);
      }
      const end = Math.min(offset + max, total);
      const page = [];
      for (let i = offset; i < end; i++) {
        const cells = i === 0 ? columns.map((c) => c.Name) : rows[i - 1];
        page.push({ Data: cells.map((v) => (v === null ? {} : { VarCharValue: v })) });
      }
      return {
        UpdateCount: 0,
        ResultSet: { Rows: page, ResultSetMetadata: { ColumnInfo: columns } },
        NextToken: end < total ? Buffer.from(`${e.id}:${end}`).toString('base64url') : undefined,
      };
    },
  };

  const secretIds = Object.keys(options.secrets);
  // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>
  const nameOfArn = (arn: string): string => {
    const m = /:secret:(.+)$/.exec(arn);
    return m ? m[1].replace(/-[A-Za-z0-9]{6}$/, '') : (arn.split(':').pop() ?? arn);
  };
  const secretsManager: Record<string, (input: any) => unknown> = {
    GetSecretValue(input) {
      const id = String(input.SecretId ?? '');
      // A full ARN, an ARN without its 6-character suffix, or a name.
      const key = id in options.secrets ? id : secretIds.find((k) => k.startsWith('arn:') && ((k.startsWith(`${id}-`) && k.length === id.length + 7) || nameOfArn(k) === id));
      if (key === undefined) {
        throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      }
      const arn = key.startsWith('arn:') ? key : secretIds.find((k) => k.startsWith('arn:') && nameOfArn(k) === key && options.secrets[k] === options.secrets[key]);
      return {
        ARN: arn ?? key,
        Name: key.startsWith('arn:') ? nameOfArn(key) : key,
        VersionId: '00000000-0000-4000-8000-000000000000',
        SecretString: options.secrets[key],
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 0,
      };
    },
  };

  const services: Record<string, Record<string, (input: any) => unknown>> = { AmazonAthena: athena, secretsmanager: secretsManager };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const requestId = randomUUID();
      const reply = (status: number, body: unknown, errorType?: string): void => {
        const headers: Record<string, string> = { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': requestId };
        if (errorType) headers['x-amzn-ErrorType'] = errorType;
        response.writeHead(status, headers);
        response.end(JSON.stringify(body));
      };
      try {
        const target = String(request.headers['x-amz-target'] ?? '');
        const [service, operation] = target.split('.');
        const handler = request.method === 'POST' ? services[service]?.[operation] : undefined;
        if (!handler) throw new ServiceError('UnknownOperationException', `The stand-in does not implement ${target || 'this request'}`);
        const text = Buffer.concat(chunks).toString('utf8');
        reply(200, handler(text ? JSON.parse(text) : {}) ?? {});
      } catch (error) {
        if (error instanceof ServiceError) {
          reply(400, { __type: error.type, Message: error.message, ...error.extra }, error.type);
        } else {
          reply(500, { __type: 'InternalServerException', Message: (error as Error).message }, 'InternalServerException');
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  fs.mkdirSync(options.workDir, { recursive: true });
  log(`${ATHENA_STANDIN_NOTICE} (Athena and Secrets Manager stand-in at ${endpoint})`);

  return {
    endpoint,
    async stop() {
      for (const e of executions.values()) {
        if (e.state === 'QUEUED' || e.state === 'RUNNING') {
          e.connection?.interrupt();
          e.state = 'CANCELLED';
        }
      }
      queue.length = 0;
      await Promise.allSettled([...inFlight]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // The SDK clients keep their sockets alive; a stopped stand-in must not wait for them.
      server.closeAllConnections();
      await closed;
      s3.destroy();
      const instance = await duckdb?.catch(() => undefined);
      instance?.closeSync();
    },
  };
}
