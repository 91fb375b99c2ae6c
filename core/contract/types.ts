/**
 * The table contract's vocabulary. One definition of each table (README, "The table contract"):
 * the Glue tables, the Aurora DDL, the local engine's output schemas and the Spark jobs' output
 * checks are all derived from these types, never written by hand.
 */

/** Logical column types; each engine maps them in one place (see `glueType`, and later the MySQL/Spark maps). */
export type ColumnType =
  | { kind: 'string'; maxLength?: number }
  | { kind: 'int' }
  | { kind: 'bigint' }
  | { kind: 'double' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'date' }
  | { kind: 'timestamp' }
  | { kind: 'boolean' };

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** False when every row has a value; the jobs' output checks enforce it. */
  readonly nullable: boolean;
  /** What the value means, in the analyst's words. Becomes the Glue column comment. */
  readonly description: string;
  /** The only values the column takes, where they are a fixed list (a string partition key's Athena enum projection). */
  readonly enumValues?: readonly string[];
}

/** Which part of the pipeline writes the table; the state machine and IAM are scoped by it. */
export type ProducingStage =
  | 'upload'
  | 'prepare'
  | 'association-rules'
  | 'recommendations'
  | 'purchase-intent'
  | 'segments'
  | 'spend-forecast';

export type TableLayer = 'raw' | 'curated' | 'schema' | 'insight' | 'model' | 'quality';

export interface RawTableDef {
  readonly name: string;
  readonly layer: 'raw';
  readonly description: string;
  /** Dataset the file belongs to. */
  readonly dataset: 'rees46' | 'retailrocket';
  /** Folder under the raw bucket that the Glue table reads (documented upload layout). */
  readonly rawFolder: string;
  /** The header line exactly as the public dataset writes it; readers recognise files by it. */
  readonly header: readonly string[];
  /** Columns the reader accepts after the header's own (the RetailRocket sample adds `datetime`). */
  readonly optionalTrailingColumns?: readonly string[];
  readonly columns: readonly ColumnDef[];
}

export interface OutputTableDef {
  readonly name: string;
  readonly layer: Exclude<TableLayer, 'raw'>;
  readonly description: string;
  /** The stage that writes it; several when each writes its own partition (model_metrics: one `stage=` folder each). */
  readonly producedBy: ProducingStage | readonly ProducingStage[];
  /**
   * The SELECT that computes the table, as a path relative to core/sql (e.g. 'prepare/schemas/c_date.sql'):
   * the one file both engines run for it (the local engine with readSql, the Spark jobs with load_sql),
   * found through this field and never by a naming convention. Null when the stage's code computes
   * the table (the readers' `events` and `rejects`, the models' outputs); docs/tables.md names that
   * code from core/stages.ts.
   */
  readonly sql: string | null;
  /** Columns in output order, partition columns excluded. */
  readonly columns: readonly ColumnDef[];
  /**
   * Partition columns inside one run (Hive-style folders `name=value/`). Every curated table is
   * also partitioned by `run_id` first, see `RUN_ID_PARTITION`.
   */
  readonly partitionKeys: readonly ColumnDef[];
  /** Unique key within one run; becomes the Aurora primary key. */
  readonly primaryKey: readonly string[];
  /** True when the table is loaded into Aurora MySQL for BI and the API. */
  readonly served: boolean;
  /**
   * Rows of the curated events that this table leaves out, and why. Rows with a missing brand
   * or category are kept in `events`; each analysis says here whether it uses them.
   */
  readonly excludes: string;
}

export type TableDef = RawTableDef | OutputTableDef;
