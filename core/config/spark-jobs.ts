/**
 * The Spark jobs the pipeline runs on EMR Serverless: their entry scripts (in spark-jobs/, deployed
 * to the artifacts bucket) and the tables each writes. The state machine, IAM and the docs read this list.
 */
import { ProducingStage } from '../contract/types';

export interface SparkJobDef {
  /** State and job-run name suffix. */
  readonly id: string;
  readonly stage: Exclude<ProducingStage, 'upload'>;
  /** Entry script under spark-jobs/ (and under the `spark-jobs/` prefix of the artifacts bucket). */
  readonly entryPoint: string;
  readonly description: string;
  /** Spark settings for this job on top of the application's defaults. */
  readonly sparkConf: Readonly<Record<string, string>>;
}

/**
 * Worker sizes shared by every job (so pre-initialised workers fit any of them). EMR Serverless
 * sizes a worker as memory + memoryOverhead rounded up to a supported size (core/config/worker-sizing.ts):
 * the driver is 1 vCPU / 4 GB (3g heap + 1g for the Python driver process), each executor 2 vCPU / 8 GB
 * (6g heap + 2g for the Python workers and off-heap buffers: 3g of heap per core, as before).
 * Small enough that the five analytics jobs, which the AnalyticsJobs Parallel state starts at once,
 * each get their driver and an executor inside the dev cap: 5 × (1 + 2) = 15 vCPU, 5 × (4 + 8) = 60 GB
 * of 16 vCPU / 64 GB. Dynamic allocation adds executors up to the cap as capacity frees up.
 */
const WORKERS = {
  'spark.driver.cores': '1',
  'spark.driver.memory': '3g',
  'spark.driver.memoryOverhead': '1g',
  'spark.executor.cores': '2',
  'spark.executor.memory': '6g',
  'spark.executor.memoryOverhead': '2g',
  'spark.dynamicAllocation.enabled': 'true',
  'spark.dynamicAllocation.minExecutors': '1',
};

/** Analytics jobs start with one executor each and grow into what the others leave. */
const ANALYTICS_WORKERS = { ...WORKERS, 'spark.dynamicAllocation.initialExecutors': '1' };

export const PREPARE_JOB: SparkJobDef = {
  id: 'prepare',
  stage: 'prepare',
  entryPoint: 'prepare.py',
  description: 'Parse, type and deduplicate the raw input; rejects; curated events; the seven schemas and insights; serving CSVs.',
  sparkConf: { ...WORKERS, 'spark.dynamicAllocation.initialExecutors': '3', 'spark.sql.shuffle.partitions': '400' },
};

export const ANALYTICS_JOBS: readonly SparkJobDef[] = [
  {
    id: 'association-rules',
    stage: 'association-rules',
    entryPoint: 'association_rules.py',
    description: 'FP-Growth over sub-category and product baskets; association rules and bought-together.',
    sparkConf: ANALYTICS_WORKERS,
  },
  {
    id: 'recommendations',
    stage: 'recommendations',
    entryPoint: 'recommendations.py',
    description: 'ALS (implicit feedback) recommendations and similar products, evaluated against popularity.',
    sparkConf: ANALYTICS_WORKERS,
  },
  {
    id: 'purchase-intent',
    stage: 'purchase-intent',
    entryPoint: 'purchase_intent.py',
    description: 'Session features before the first purchase; logistic regression; predictions and coefficients.',
    sparkConf: ANALYTICS_WORKERS,
  },
  {
    id: 'segments',
    stage: 'segments',
    entryPoint: 'segments.py',
    description: 'RFM and funnel features per customer; k-means; named segments and their profiles.',
    sparkConf: ANALYTICS_WORKERS,
  },
  {
    id: 'spend-forecast',
    stage: 'spend-forecast',
    entryPoint: 'spend_forecast.py',
    description: 'Two-part GLM (purchase probability × spend) per customer on a time holdout against its baselines; daily revenue with trend and weekday effects, backtested.',
    sparkConf: ANALYTICS_WORKERS,
  },
];

export const ALL_SPARK_JOBS: readonly SparkJobDef[] = [PREPARE_JOB, ...ANALYTICS_JOBS];

/** Python package archive passed to every job with --py-files (built by `npm run build:spark`). */
export const PY_FILES_ARCHIVE = 'shopsight_jobs.zip';
