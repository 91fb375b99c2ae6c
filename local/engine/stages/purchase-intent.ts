/**
 * Purchase-intent stage of the local engine (the twin of purchase_intent.py): `session_features`
 * from the shared SQL (only events before a session's first purchase), a seeded train/test split,
 * logistic regression (local/ml/logistic-regression.ts, MLlib semantics), then
 * `intent_predictions`, `intent_coefficients` and `model_metrics` (stage = purchase-intent), next to
 * the majority-class baseline.
 *
 * The split is the same on Spark: a session is in train when
 * int(first 8 hex digits of md5("<seed>:<session_id>"), 16) mod 10000 < round(trainFraction × 10000).
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { PipelineParameters } from '../../../core/config/pipeline-params';
import { INTENT_FEATURES, INTERCEPT_FEATURE } from '../../../core/contract';
import { aucRoc, confusionAt } from '../../ml/metrics';
import { featureStats, predictAllStandardized, standardizeInPlace, trainStandardized } from '../../ml/logistic-regression';
import { appendNumericRows, appendRows, countRows, createContractTable, createTableFromQuery, fetchRowMajor } from '../duck';
import { readTableSql } from '../sql';
import { MetricRow, writeMetrics } from './metrics-table';

export interface IntentStageResult {
  readonly sessions: number;
  readonly train: number;
  readonly test: number;
  readonly positives: number;
}

/** SQL of the split rule above, for a session id column; shared by the stage and its tests. */
export function trainSplitSql(sessionColumn: string, seed: number, trainFraction: number): string {
  return `(CAST(('0x' || substr(md5('${seed}:' || ${sessionColumn}), 1, 8)) AS BIGINT) % 10000 < ${Math.round(trainFraction * 10000)})`;
}

/**
 * The features of every session as one row-major Float64 matrix, the training rows first (each part
 * in idx order), with the labels and each row's idx: fetched straight into arrays of their final
 * size (fetchRowMajor), so the matrix is the only copy of the features.
 */
async function fetchFeatures(connection: DuckDBConnection): Promise<{ rows: number; train: number; xAll: Float64Array; labels: Uint8Array; idxOf: Int32Array }> {
  const d = INTENT_FEATURES.length;
  const rows = await countRows(connection, '_sf');
  const { matrix, ints } = await fetchRowMajor(
    connection,
    `SELECT ${INTENT_FEATURES.map((f) => `CAST(${f} AS DOUBLE)`).join(', ')}, CAST(session_features.label AS INTEGER), CAST(is_train AS INTEGER), idx
     FROM session_features JOIN _sf USING (session_id) ORDER BY is_train DESC, idx`,
    d,
    3,
    rows,
  );
  const [labelCol, trainCol, idxOf] = ints;
  let train = 0;
  for (let r = 0; r < rows; r++) train += trainCol[r];
  return { rows, train, xAll: matrix, labels: Uint8Array.from(labelCol), idxOf };
}

export async function runPurchaseIntent(connection: DuckDBConnection, params: PipelineParameters): Promise<IntentStageResult> {
  const p = params.purchaseIntent;
  const sessions = await createTableFromQuery(connection, 'session_features', readTableSql('session_features'));
  await connection.run(`CREATE OR REPLACE TEMP TABLE _sf AS
    SELECT CAST(row_number() OVER (ORDER BY session_id) - 1 AS INTEGER) AS idx, session_id, user_id, label,
      ${trainSplitSql('session_id', p.seed, p.trainFraction)} AS is_train
    FROM session_features`);
  const d = INTENT_FEATURES.length;
  const { rows, train, xAll, labels, idxOf } = await fetchFeatures(connection);
  const test = rows - train;
  // The training rows come first (in idx order, as a copy of them would be): no second matrix. The
  // whole matrix is standardised in place with the training rows' statistics (what the fit's own
  // copy would hold), and the model predicts on it.
  const xTrain = xAll.subarray(0, train * d);
  const yTrain = labels.subarray(0, train);
  let positives = 0;
  for (let r = 0; r < rows; r++) positives += labels[r];

  await createContractTable(connection, 'intent_coefficients');
  await createContractTable(connection, 'intent_predictions');
  const metrics: MetricRow[] = [];
  if (train > 0) {
    const stats = featureStats(xAll, train, d);
    standardizeInPlace(xAll, d, stats);
    const model = trainStandardized(xTrain, yTrain, d, { regParam: p.regParam, maxIter: p.maxIter }, stats);
    const probability = predictAllStandardized(model, xAll, d);
    await appendRows(connection, 'intent_coefficients', (a) => {
      const row = (feature: string, position: number, coefficient: number, mean: number, std: number) => {
        a.appendVarchar(feature);
        a.appendInteger(position);
        a.appendDouble(coefficient);
        a.appendDouble(mean);
        a.appendDouble(std);
        a.endRow();
      };
      row(INTERCEPT_FEATURE, 0, model.intercept, 0, 1);
      INTENT_FEATURES.forEach((f, j) => row(f, j + 1, model.coefficients[j], model.means[j], model.stds[j]));
    });
    await connection.run(`CREATE OR REPLACE TEMP TABLE _prob (idx INTEGER, probability DOUBLE)`);
    await appendNumericRows(connection, '_prob', ['i32', 'f64'], (a) => {
      for (let r = 0; r < rows; r++) {
        a.appendInteger(idxOf[r]);
        a.appendDouble(probability[r]);
        a.endRow();
      }
    });
    await connection.run(`INSERT INTO intent_predictions
      SELECT s.session_id, s.user_id, p.probability, CAST(p.probability >= ${p.threshold} AS INTEGER), s.label,
        CASE WHEN s.is_train THEN 'train' ELSE 'test' END
      FROM _sf s JOIN _prob p USING (idx) ORDER BY s.session_id`);

    // Held-out metrics, and the majority class of the training labels as the baseline.
    const testScores = probability.subarray(train);
    const testLabels = labels.subarray(train);
    if (test > 0) {
      let trainPositives = 0;
      for (let r = 0; r < train; r++) trainPositives += yTrain[r];
      const majority = trainPositives * 2 > train ? 1 : 0;
      const constant = new Float64Array(test).fill(majority);
      const model_ = confusionAt(testScores, testLabels, p.threshold);
      const base = confusionAt(constant, testLabels, 0.5);
      const row = (metric: string, value: number | null, baseline: number | null): MetricRow => ({
        model: 'logistic_regression', metric, k: null, value, baseline: 'majority_class', baselineValue: baseline, evaluatedOn: test,
      });
      metrics.push(
        row('auc', aucRoc(testScores, testLabels), aucRoc(constant, testLabels)),
        row('accuracy', model_.accuracy, base.accuracy),
        row('precision', model_.precision, base.precision),
        row('recall', model_.recall, base.recall),
      );
    }
    await connection.run(`DROP TABLE IF EXISTS _prob`);
  }
  await writeMetrics(connection, 'purchase-intent', metrics);
  await connection.run(`DROP TABLE IF EXISTS _sf`);
  return { sessions, train, test, positives };
}
