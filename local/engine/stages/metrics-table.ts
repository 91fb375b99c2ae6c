/** The rows each model stage adds to `model_metrics`, in its own `stage` partition. */
import { DuckDBConnection } from '@duckdb/node-api';
import { appendRows, createContractTable } from '../duck';

export interface MetricRow {
  readonly model: string;
  readonly metric: string;
  readonly k: number | null;
  readonly value: number | null;
  readonly baseline: string | null;
  readonly baselineValue: number | null;
  readonly evaluatedOn: number;
}

export type MetricsStage = 'recommendations' | 'purchase-intent' | 'segments' | 'spend-forecast';

/** Replaces the stage's rows of `model_metrics` (creating the table on first use). A NaN becomes null. */
export async function writeMetrics(connection: DuckDBConnection, stage: MetricsStage, rows: readonly MetricRow[]): Promise<void> {
  const exists = (await connection.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'model_metrics' AND NOT temporary`)).getRows()[0][0];
  if (Number(exists) === 0) await createContractTable(connection, 'model_metrics');
  await connection.run(`DELETE FROM model_metrics WHERE stage = '${stage}'`);
  const num = (a: { appendDouble(v: number): void; appendNull(): void }, v: number | null): void => {
    if (v === null || !Number.isFinite(v)) a.appendNull();
    else a.appendDouble(v);
  };
  await appendRows(connection, 'model_metrics', (a) => {
    for (const r of rows) {
      a.appendVarchar(r.model);
      a.appendVarchar(r.metric);
      if (r.k === null) a.appendNull();
      else a.appendInteger(r.k);
      num(a, r.value);
      if (r.baseline === null) a.appendNull();
      else a.appendVarchar(r.baseline);
      num(a, r.baselineValue);
      a.appendBigInt(BigInt(r.evaluatedOn));
      a.appendVarchar(stage);
      a.endRow();
    }
  });
}
