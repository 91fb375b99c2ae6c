/**
 * The shape of an Athena query as the data-quality gate runs it (lambdas/data-quality-gate/) and as
 * the local rehearsal answers it (local/rehearse/athena-sql.ts): SQL with `?` placeholders bound
 * through ExecutionParameters, rows back as text.
 */
/** One result row by column name; Athena returns every value as text, NULL as a missing value. */
export type QueryRow = Readonly<Record<string, string | null>>;

export interface GateQuery {
  /** Says which table and checks the query serves, for errors and logs. */
  readonly label: string;
  readonly sql: string;
  /** Values of the `?` placeholders, in order, as plain strings. */
  readonly parameters: readonly string[];
}

export type QueryRunner = (query: GateQuery) => Promise<QueryRow[]>;

/** ExecutionParameters are SQL literals: a string parameter must arrive quoted, with its quotes doubled. */
export const athenaStringLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;
