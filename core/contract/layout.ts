/**
 * Where every run's data lives, in one place: the CDK grants, the Lambdas, the Spark jobs (through
 * their arguments) and the local engine all build keys with these functions.
 *
 * curated bucket:  <table>/run_id=<runId>/[event_date=YYYY-MM-DD/]part-*.parquet
 *                  _runs/<runId>/run-summary.json
 * export bucket:   runs/<runId>/<table>/part-*.csv (headerless), runs/<runId>/manifest.json
 * artifacts:       spark-jobs/… (code), emr-logs/… (job logs)
 */

/** Run ids become S3 folder names, Athena partition values and Aurora values: keep them plain. */
export const RUN_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function assertRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new Error(
      `runId "${runId}" is not valid: use 1-63 characters of a-z, 0-9, "-" and "_", starting with a letter or digit`,
    );
  }
}

export const CURATED_RUNS_PREFIX = '_runs/';
export const EXPORT_RUNS_PREFIX = 'runs/';
export const SPARK_CODE_PREFIX = 'spark-jobs/';
export const EMR_LOGS_PREFIX = 'emr-logs/';
/** Marker object that, when uploaded under a raw folder, starts a run (optional trigger). */
export const READY_MARKER = '_READY';

export const curatedTablePrefix = (table: string): string => `${table}/`;
export const curatedRunPrefix = (table: string, runId: string): string => `${table}/run_id=${runId}/`;
export const runSummaryKey = (runId: string): string => `${CURATED_RUNS_PREFIX}${runId}/run-summary.json`;
export const exportRunPrefix = (runId: string): string => `${EXPORT_RUNS_PREFIX}${runId}/`;
export const exportTablePrefix = (runId: string, table: string): string => `${EXPORT_RUNS_PREFIX}${runId}/${table}/`;
export const exportManifestKey = (runId: string): string => `${EXPORT_RUNS_PREFIX}${runId}/manifest.json`;
