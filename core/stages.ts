/**
 * The stage registry: for every processing stage of the pipeline, where its code, SQL and tests are.
 *
 * One name per stage: the contract's ProducingStage names the Spark entry script and the Python
 * module (in snake_case, as Python requires), the local stage module and the SQL folder (as it is).
 * test/stages.test.ts checks that every path here exists and follows that rule;
 * scripts/write-tables-doc.ts reads the registry for docs/tables.md.
 *
 * The `upload` stage writes no output table: it is the raw files landing in the raw bucket (checked
 * by the validate-input Lambda, locally by local/engine/inputs.ts); UPLOAD_TESTS are its tests.
 */
import { ProducingStage } from './contract/types';

/** A stage that runs code: one Spark job in the cloud, one local stage module on a machine. */
export type ProcessingStage = Exclude<ProducingStage, 'upload'>;

/** Test files by runner, as paths from the repository root. */
export interface StageTests {
  readonly jest: readonly string[];
  readonly pytest: readonly string[];
}

export interface StageDef {
  readonly name: ProcessingStage;
  /** The EMR Serverless entry point (core/config/spark-jobs.ts `entryPoint`, under spark-jobs/). */
  readonly sparkEntry: string;
  /** The Python module with the job's work (shopsight_jobs/<stage in snake_case>.py). */
  readonly pythonModule: string;
  /** The local engine's stage module (local/engine/stages/<stage>.ts). */
  readonly localModule: string;
  /** The stage's shared SQL (core/sql/<stage>/). */
  readonly sqlFolder: string;
  /**
   * SQL files (relative to core/sql) that the stage runs and that compute no contract table: its
   * inputs (baskets, interactions, features). A table's own SELECT is named by its contract `sql`.
   */
  readonly sqlInputs: readonly string[];
  /** Tests of the stage's computation (multi-stage files such as the parity test are listed under each stage). */
  readonly tests: StageTests;
}

/** Tests that run the whole local pipeline or both engines side by side: they prove every stage. */
const PIPELINE_JEST = ['test/local/cli.test.ts'];
const PIPELINE_PYTEST = ['spark-jobs/tests/test_jobs_spark.py', 'spark-jobs/tests/test_parity.py'];

/** The processing stages in the order the pipeline runs them (prepare first, as ALL_SPARK_JOBS). */
export const STAGE_REGISTRY: readonly StageDef[] = [
  {
    name: 'prepare',
    sparkEntry: 'spark-jobs/prepare.py',
    pythonModule: 'spark-jobs/shopsight_jobs/prepare.py',
    localModule: 'local/engine/stages/prepare.ts',
    sqlFolder: 'core/sql/prepare',
    sqlInputs: [],
    tests: {
      jest: [
        'test/local/rees46-reader.test.ts',
        'test/local/retailrocket-reader.test.ts',
        'test/local/reader-cases.test.ts',
        'test/local/schemas-sql.test.ts',
        'test/local/insights-sql.test.ts',
        ...PIPELINE_JEST,
      ],
      pytest: ['spark-jobs/tests/test_prepare_spark.py', 'spark-jobs/tests/test_sql.py', ...PIPELINE_PYTEST],
    },
  },
  {
    name: 'association-rules',
    sparkEntry: 'spark-jobs/association_rules.py',
    pythonModule: 'spark-jobs/shopsight_jobs/association_rules.py',
    localModule: 'local/engine/stages/association-rules.ts',
    sqlFolder: 'core/sql/association-rules',
    sqlInputs: ['association-rules/sub_category_baskets.sql', 'association-rules/product_baskets.sql'],
    tests: {
      jest: ['test/local/ml/fpgrowth.test.ts', 'test/local/insights-sql.test.ts', ...PIPELINE_JEST],
      pytest: ['spark-jobs/tests/test_job_helpers.py', ...PIPELINE_PYTEST],
    },
  },
  {
    name: 'recommendations',
    sparkEntry: 'spark-jobs/recommendations.py',
    pythonModule: 'spark-jobs/shopsight_jobs/recommendations.py',
    localModule: 'local/engine/stages/recommendations.ts',
    sqlFolder: 'core/sql/recommendations',
    sqlInputs: ['recommendations/interactions.sql'],
    tests: {
      jest: ['test/local/ml/als.test.ts', 'test/local/ml/als-topn.test.ts', 'test/local/ml/metrics.test.ts', 'test/local/insights-sql.test.ts', ...PIPELINE_JEST],
      pytest: ['spark-jobs/tests/test_job_helpers.py', 'spark-jobs/tests/test_sql.py', ...PIPELINE_PYTEST],
    },
  },
  {
    name: 'purchase-intent',
    sparkEntry: 'spark-jobs/purchase_intent.py',
    pythonModule: 'spark-jobs/shopsight_jobs/purchase_intent.py',
    localModule: 'local/engine/stages/purchase-intent.ts',
    sqlFolder: 'core/sql/purchase-intent',
    sqlInputs: [],
    tests: {
      jest: ['test/local/ml/logistic-regression.test.ts', 'test/twins/twin-cases.test.ts', 'test/local/insights-sql.test.ts', ...PIPELINE_JEST],
      pytest: ['spark-jobs/tests/test_job_helpers.py', 'spark-jobs/tests/test_twin_cases.py', ...PIPELINE_PYTEST],
    },
  },
  {
    name: 'segments',
    sparkEntry: 'spark-jobs/segments.py',
    pythonModule: 'spark-jobs/shopsight_jobs/segments.py',
    localModule: 'local/engine/stages/segments.ts',
    sqlFolder: 'core/sql/segments',
    sqlInputs: ['segments/customer_features.sql'],
    tests: {
      jest: ['test/local/ml/kmeans.test.ts', 'test/twins/twin-cases.test.ts', 'test/local/insights-sql.test.ts', ...PIPELINE_JEST],
      pytest: ['spark-jobs/tests/test_job_helpers.py', 'spark-jobs/tests/test_twin_cases.py', ...PIPELINE_PYTEST],
    },
  },
  {
    name: 'spend-forecast',
    sparkEntry: 'spark-jobs/spend_forecast.py',
    pythonModule: 'spark-jobs/shopsight_jobs/spend_forecast.py',
    localModule: 'local/engine/stages/spend-forecast.ts',
    sqlFolder: 'core/sql/spend-forecast',
    sqlInputs: ['spend-forecast/spend_features.sql'],
    tests: {
      jest: ['test/local/spend-forecast.test.ts', 'test/local/ml/glm.test.ts', 'test/local/insights-sql.test.ts', ...PIPELINE_JEST],
      pytest: ['spark-jobs/tests/test_spend_forecast_spark.py', 'spark-jobs/tests/test_job_helpers.py', 'spark-jobs/tests/test_sql.py', ...PIPELINE_PYTEST],
    },
  },
];

/** Tests of the raw tables (the `upload` stage): recognising and validating the uploaded files. */
export const UPLOAD_TESTS: StageTests = {
  jest: [
    'test/local/inputs.test.ts',
    'test/lambdas/validate-input.test.ts',
    'test/lambdas/validate-input.recognise.test.ts',
    'test/twins/twin-cases.test.ts',
  ],
  pytest: ['spark-jobs/tests/test_contract.py'],
};

/** A stage's name where Python requires an identifier: the Spark entry script and module names. */
export const snakeCaseStage = (stage: string): string => stage.replace(/-/g, '_');

export function stageDef(name: ProcessingStage): StageDef {
  const found = STAGE_REGISTRY.find((s) => s.name === name);
  if (!found) throw new Error(`No stage "${name}" in the registry; known: ${STAGE_REGISTRY.map((s) => s.name).join(', ')}`);
  return found;
}
