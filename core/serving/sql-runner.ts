/**
 * What the serving SQL needs from a MySQL connection, and nothing engine-specific: statements with
 * `:name` parameters, rows as objects, one transaction at a time. Implemented over the RDS Data API
 * on Aurora (lambdas/shared/data-api.ts) and over mysql2 locally (local/serving/); the loader
 * (loader-sql.ts, load-steps.ts), the schema migrations (mysql-schema.ts) and the API (core/api/)
 * are written against it.
 */
export type SqlValue = string | number | boolean | null;

export interface SqlStatement {
  readonly sql: string;
  /** Values for the `:name` placeholders of `sql`. */
  readonly parameters: Readonly<Record<string, SqlValue>>;
}

export type SqlRow = Record<string, unknown>;

/** What the loader needs from a connection; implemented over mysql2 locally and the Data API on Aurora. */
export interface SqlRunner {
  query(statement: SqlStatement): Promise<SqlRow[]>;
  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(work: (tx: Pick<SqlRunner, 'query'>) => Promise<T>): Promise<T>;
}

/** Data API errors that mean the statement did not run: the cluster is waking up or cannot be reached (safe to retry). */
const NOT_RUN_ERRORS = new Set(['DatabaseResumingException', 'DatabaseUnavailableException']);
export const isResuming = (e: unknown): boolean => NOT_RUN_ERRORS.has((e as Error | undefined)?.name ?? '');
export const isStatementTimeout = (e: unknown): boolean => (e as Error | undefined)?.name === 'StatementTimeoutException';
