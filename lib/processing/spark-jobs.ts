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

/** Executor shape shared by the jobs: 4 vCPU / 16 GB is EMR Serverless' default worker and prices simply. */
const WORKERS = {
  'spark.driver.cores': '4',
  'spark.driver.memory': '14g',
  'spark.executor.cores': '4',
  'spark.executor.memory': '14g',
  'spark.dynamicAllocation.enabled': 'true',
};

export const PREPARE_JOB: SparkJobDef = {
  id: 'prepare',
  stage: 'prepare',
  entryPoint: 'prepare.py',
  description: 'Parse, type and deduplicate the raw input; rejects; curated events; the seven schemas and insights; serving CSVs.',
  sparkConf: { ...WORKERS, 'spark.sql.shuffle.partitions': '400' },
};

export const ANALYTICS_JOBS: readonly SparkJobDef[] = [
  {
    id: 'association-rules',
    stage: 'association-rules',
    entryPoint: 'association_rules.py',
    description: 'FP-Growth over sub-category and product baskets; association rules and bought-together.',
    sparkConf: WORKERS,
  },
  {
    id: 'recommendations',
    stage: 'recommendations',
    entryPoint: 'recommendations.py',
    description: 'ALS (implicit feedback) recommendations and similar products, evaluated against popularity.',
    sparkConf: { ...WORKERS, 'spark.executor.memory': '12g', 'spark.executor.memoryOverhead': '2g' },
  },
  {
    id: 'purchase-intent',
    stage: 'purchase-intent',
    entryPoint: 'purchase_intent.py',
    description: 'Session features before the first purchase; logistic regression; predictions and coefficients.',
    sparkConf: WORKERS,
  },
  {
    id: 'segments',
    stage: 'segments',
    entryPoint: 'segments.py',
    description: 'RFM and funnel features per customer; k-means; named segments and their profiles.',
    sparkConf: WORKERS,
  },
];

export const ALL_SPARK_JOBS: readonly SparkJobDef[] = [PREPARE_JOB, ...ANALYTICS_JOBS];

/** Python package archive passed to every job with --py-files (built by `npm run build:spark`). */
export const PY_FILES_ARCHIVE = 'shopsight_jobs.zip';
