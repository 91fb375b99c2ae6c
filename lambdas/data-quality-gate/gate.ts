/**
 * The gate's run: read the run's two documents and every measure (one query per table, a few at a
 * time), then evaluate all checks, so that one failed run reports every problem at once.
 * The query engine and the document store are passed in: Athena and S3 in the Lambda, DuckDB and
 * literals in the SQL tests.
 */
import { exportManifestKey, runSummaryKey } from '../../core/contract';
import { mapLimit } from '../shared/map-limit';
import { ATHENA_CONCURRENCY } from './athena';
import { QueryRunner } from '../../core/catalog/athena-query';
import {
  CheckOutcome,
  DocumentRead,
  Reconciliation,
  RECONCILIATIONS,
  checkManifest,
  checkReconciliations,
  checkRunSummary,
  checkSummaryCounts,
  collectMeasureValues,
  measureUses,
  planTableQueries,
  quoteIdentifier,
} from './checks';

export interface GateSettings {
  readonly runId: string;
  readonly database: string;
  readonly curatedBucket: string;
  readonly exportBucket: string;
}

export interface GateIO {
  readonly runQuery: QueryRunner;
  /** The object's text, or undefined when there is no such object. */
  readonly readObject: (bucket: string, key: string) => Promise<string | undefined>;
  readonly concurrency?: number;
  readonly reconciliations?: readonly Reconciliation[];
}

export interface GateReport {
  readonly runId: string;
  readonly passed: boolean;
  readonly checks: readonly CheckOutcome[];
}

export class DataQualityError extends Error {
  constructor(
    message: string,
    readonly failedChecks: readonly CheckOutcome[],
  ) {
    super(message);
    this.name = 'DataQualityError';
  }
}

export async function runDataQualityGate(settings: GateSettings, io: GateIO): Promise<GateReport> {
  const { runId, database } = settings;
  quoteIdentifier(database); // fail on a bad database name before any query or read
  const reconciliations = io.reconciliations ?? RECONCILIATIONS;
  const queries = planTableQueries(database, measureUses(reconciliations));

  const read = async (bucket: string, key: string): Promise<DocumentRead> => ({
    uri: `s3://${bucket}/${key}`,
    text: await io.readObject(bucket, key),
  });
  const documents = Promise.all([
    read(settings.curatedBucket, runSummaryKey(runId)),
    read(settings.exportBucket, exportManifestKey(runId)),
  ]);
  const queryResults = mapLimit(queries, io.concurrency ?? ATHENA_CONCURRENCY, (q) =>
    io.runQuery({ label: `table "${q.table}" (checks: ${q.checks.join('; ')})`, sql: q.sql, parameters: [runId] }),
  );
  // Both settle before either error is thrown: the Lambda must not return while queries still run.
  await Promise.allSettled([documents, queryResults]);
  const [summaryDoc, manifestDoc] = await documents;
  const values = collectMeasureValues(queries, await queryResults);

  const { outcome: summaryOutcome, summary } = checkRunSummary(runId, summaryDoc);
  const checks = [
    summaryOutcome,
    // Without a trustworthy summary there is nothing to compare the counts with; its own check already failed.
    ...(summary ? checkSummaryCounts(database, summary, values) : []),
    ...checkReconciliations(database, values, reconciliations),
    ...checkManifest(runId, database, manifestDoc, values),
  ];
  return { runId, passed: checks.every((c) => c.passed), checks };
}

/** Throws the DataQualityError that Step Functions catches, listing every failed check. */
export function assertGatePassed(report: GateReport): void {
  const failed = report.checks.filter((c) => !c.passed);
  if (failed.length === 0) return;
  const lines = failed.map((c) => `- ${c.name}: expected ${c.expected}, actual ${c.actual}`);
  throw new DataQualityError(
    `Data-quality gate failed for run ${report.runId}: ${failed.length} of ${report.checks.length} checks failed\n${lines.join('\n')}`,
    failed,
  );
}

