/**
 * The one RDS Data API client of the Lambdas (load-serving, the serving-schema custom resource,
 * the recommendations API). SQL uses `:name` placeholders and every value goes in as a typed
 * SqlParameter, never spliced; results come back as rows of objects (`formatRecordsAs: 'JSON'`).
 * The Data API prepares such statements on the server, so a placeholder works only where MySQL
 * takes a value: identifiers, account names, passwords and LOAD DATA file names are checked
 * literals in the SQL instead (core/serving/mysql-schema.ts, loader-sql.ts).
 *
 * A cluster paused at 0 ACU answers the first call with DatabaseResumingException while it wakes
 * up (typically 15–30 s), and DatabaseUnavailableException when it cannot be reached; neither ran
 * the statement, so both are retried with backoff. Nothing else is retried: a statement that failed
 * in the database must not run twice. That includes the SDK's own retries, which would re-send a
 * call whose answer was lost (a RENAME that happened would then fail, or an INSERT run twice):
 * every RDSDataClient is made by `createDataApiClient`, with `maxAttempts: 1`.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  ExecuteStatementCommandInput,
  RDSDataClient,
  RDSDataClientConfig,
  RollbackTransactionCommand,
  SqlParameter,
} from '@aws-sdk/client-rds-data';
import { isResuming, SqlRow, SqlRunner, SqlStatement, SqlValue } from '../../core/serving/sql-runner';

export interface DataApiTarget {
  readonly resourceArn: string;
  /** The secret whose user runs the statements (the loader's for load-serving, never the admin's there). */
  readonly secretArn: string;
  readonly database: string;
}

export interface ExecuteOptions {
  /** Keep running in the database after the call's own timeout (LOAD DATA, DDL). */
  readonly continueAfterTimeout?: boolean;
  readonly transactionId?: string;
}

export interface RetryPolicy {
  /** @default 8 */
  readonly attempts: number;
  /** First wait; doubled each attempt up to maxDelayMs. @default 2000 */
  readonly baseDelayMs: number;
  /** @default 15000 */
  readonly maxDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

const DEFAULT_RETRY: RetryPolicy = {
  attempts: 8,
  baseDelayMs: 2000,
  maxDelayMs: 15000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Integers that fit a long go as longValue, other numbers as doubleValue (typed as the column expects). */
export function toSqlParameter(name: string, value: SqlValue): SqlParameter {
  if (value === null) return { name, value: { isNull: true } };
  switch (typeof value) {
    case 'string':
      return { name, value: { stringValue: value } };
    case 'boolean':
      return { name, value: { booleanValue: value } };
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`Parameter :${name} is ${value}, which SQL cannot hold`);
      return Number.isSafeInteger(value) ? { name, value: { longValue: value } } : { name, value: { doubleValue: value } };
  }
}

export const toSqlParameters = (parameters: Readonly<Record<string, SqlValue>>): SqlParameter[] =>
  Object.entries(parameters).map(([name, value]) => toSqlParameter(name, value));

/** The Data API client of every Lambda: one attempt per call, our own retry decides the rest (see the header). */
export const createDataApiClient = (config: RDSDataClientConfig = {}): RDSDataClient => new RDSDataClient({ ...config, maxAttempts: 1 });


export class DataApi implements SqlRunner {
  private readonly retry: RetryPolicy;

  constructor(
    private readonly client: RDSDataClient,
    private readonly target: DataApiTarget,
    retry: Partial<RetryPolicy> = {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...retry };
  }

  /** Runs one statement; rows as objects for a SELECT, [] otherwise. */
  async execute(statement: SqlStatement, options: ExecuteOptions = {}): Promise<SqlRow[]> {
    const input: ExecuteStatementCommandInput = {
      resourceArn: this.target.resourceArn,
      secretArn: this.target.secretArn,
      database: this.target.database,
      sql: statement.sql,
      parameters: toSqlParameters(statement.parameters),
      formatRecordsAs: 'JSON',
      ...(options.continueAfterTimeout ? { continueAfterTimeout: true } : {}),
      ...(options.transactionId ? { transactionId: options.transactionId } : {}),
    };
    const output = await this.withResumeRetry(() => this.client.send(new ExecuteStatementCommand(input)));
    return output.formattedRecords ? (JSON.parse(output.formattedRecords) as SqlRow[]) : [];
  }

  query(statement: SqlStatement): Promise<SqlRow[]> {
    return this.execute(statement);
  }

  async beginTransaction(): Promise<string> {
    const { resourceArn, secretArn, database } = this.target;
    const output = await this.withResumeRetry(() => this.client.send(new BeginTransactionCommand({ resourceArn, secretArn, database })));
    if (!output.transactionId) throw new Error('BeginTransaction returned no transactionId');
    return output.transactionId;
  }

  async commit(transactionId: string): Promise<void> {
    const { resourceArn, secretArn } = this.target;
    await this.client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId }));
  }

  async rollback(transactionId: string): Promise<void> {
    const { resourceArn, secretArn } = this.target;
    await this.client.send(new RollbackTransactionCommand({ resourceArn, secretArn, transactionId }));
  }

  async transaction<T>(work: (tx: Pick<SqlRunner, 'query'>) => Promise<T>): Promise<T> {
    const transactionId = await this.beginTransaction();
    try {
      const result = await work({ query: (statement) => this.execute(statement, { transactionId }) });
      await this.commit(transactionId);
      return result;
    } catch (e) {
      // The original error matters; a failed rollback ends with the transaction's own timeout.
      await this.rollback(transactionId).catch(() => undefined);
      throw e;
    }
  }

  private async withResumeRetry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!isResuming(e) || attempt >= this.retry.attempts) throw e;
        await this.retry.sleep(Math.min(this.retry.baseDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs));
      }
    }
  }
}
