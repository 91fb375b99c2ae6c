/**
 * What EMR Serverless makes of a job's Spark sizing settings, and what the pipeline needs of the
 * application's maximum capacity for its jobs to run.
 *
 * EMR Serverless gives each driver and executor its own worker: the cores, rounded up to a
 * supported vCPU count (1, 2, 4, 8, 16), and spark.<role>.memory plus spark.<role>.memoryOverhead
 * (default 10% of the memory, at least 384 MB), rounded up to the memory steps that vCPU count
 * supports; 20 GB of disk unless spark.emr-serverless.<role>.disk says otherwise. Every worker
 * counts against the application's maximum capacity, so a job that cannot get its driver and one
 * executor under the cap waits (until its timeout, if other jobs hold the rest).
 */
import { ALL_SPARK_JOBS, ANALYTICS_JOBS, PREPARE_JOB, SparkJobDef } from './spark-jobs';

export interface WorkerSize {
  readonly vcpu: number;
  readonly memoryGb: number;
  readonly diskGb: number;
}

/** EMR Serverless' supported worker configurations: memory from min to max GB in steps of step GB. */
export const SUPPORTED_WORKERS: ReadonlyArray<{ vcpu: number; minGb: number; maxGb: number; stepGb: number }> = [
  { vcpu: 1, minGb: 2, maxGb: 8, stepGb: 1 },
  { vcpu: 2, minGb: 4, maxGb: 16, stepGb: 1 },
  { vcpu: 4, minGb: 8, maxGb: 30, stepGb: 1 },
  { vcpu: 8, minGb: 16, maxGb: 60, stepGb: 4 },
  { vcpu: 16, minGb: 32, maxGb: 120, stepGb: 8 },
];

/** EMR Serverless' defaults where a job sets nothing (a 4 vCPU / 16 GB worker, three initial executors). */
const EMR_DEFAULTS = { cores: '4', memory: '14g', disk: '20g', initialExecutors: '3' };

const UNIT_MB: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 };

/** A Spark memory size ("14g", "512m", "2048": MiB when there is no unit) in MiB. */
export function memoryMb(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt])?b?$/i.exec(value.trim());
  if (!match) throw new Error(`not a Spark memory size: "${value}"`);
  return Number(match[1]) * UNIT_MB[(match[2] ?? 'm').toLowerCase()];
}

/** The worker EMR Serverless starts for a job's driver or for each of its executors. */
export function workerSize(conf: Readonly<Record<string, string>>, role: 'driver' | 'executor'): WorkerSize {
  const cores = Number(conf[`spark.${role}.cores`] ?? EMR_DEFAULTS.cores);
  const heapMb = memoryMb(conf[`spark.${role}.memory`] ?? EMR_DEFAULTS.memory);
  const overheadSetting = conf[`spark.${role}.memoryOverhead`];
  const factor = Number(conf[`spark.${role}.memoryOverheadFactor`] ?? '0.1');
  const overheadMb = overheadSetting !== undefined ? memoryMb(overheadSetting) : Math.max(384, heapMb * factor);
  const shape = SUPPORTED_WORKERS.find((w) => w.vcpu >= cores);
  if (!shape) throw new Error(`spark.${role}.cores=${cores}: EMR Serverless workers have at most 16 vCPU`);
  const memoryGb = Math.max(shape.minGb, Math.ceil((heapMb + overheadMb) / 1024 / shape.stepGb) * shape.stepGb);
  if (memoryGb > shape.maxGb) {
    throw new Error(`spark.${role}: ${heapMb + overheadMb} MB with overhead is more than a ${shape.vcpu} vCPU worker's ${shape.maxGb} GB`);
  }
  const diskGb = Math.ceil(memoryMb(conf[`spark.emr-serverless.${role}.disk`] ?? EMR_DEFAULTS.disk) / 1024);
  return { vcpu: shape.vcpu, memoryGb, diskGb };
}

/** Executors a job starts with and keeps at the least (dynamic allocation's initial and minimum). */
export function initialExecutors(conf: Readonly<Record<string, string>>): number {
  const initial = conf['spark.dynamicAllocation.initialExecutors'] ?? conf['spark.executor.instances'] ?? EMR_DEFAULTS.initialExecutors;
  return Math.max(Number(initial), Number(conf['spark.dynamicAllocation.minExecutors'] ?? '0'));
}

const add = (a: WorkerSize, b: WorkerSize, times = 1): WorkerSize => ({
  vcpu: a.vcpu + b.vcpu * times,
  memoryGb: a.memoryGb + b.memoryGb * times,
  diskGb: a.diskGb + b.diskGb * times,
});
const NOTHING: WorkerSize = { vcpu: 0, memoryGb: 0, diskGb: 0 };

/** A job's driver plus its initial executors. */
export function jobFootprint(job: SparkJobDef): WorkerSize {
  return add(workerSize(job.sparkConf, 'driver'), workerSize(job.sparkConf, 'executor'), initialExecutors(job.sparkConf));
}

/**
 * The one driver and one executor shape every job uses: the application's pre-initialised workers
 * take this shape, so any job can use them. Throws if a job's workers differ.
 */
export function sharedWorkerShapes(): { driver: WorkerSize; executor: WorkerSize } {
  const [first, ...rest] = ALL_SPARK_JOBS.map((job) => ({
    id: job.id,
    driver: workerSize(job.sparkConf, 'driver'),
    executor: workerSize(job.sparkConf, 'executor'),
  }));
  for (const other of rest) {
    if (JSON.stringify([other.driver, other.executor]) !== JSON.stringify([first.driver, first.executor])) {
      throw new Error(`Spark job ${other.id} sizes its workers unlike ${first.id}: pre-initialised capacity would fit only one of them`);
    }
  }
  return { driver: first.driver, executor: first.executor };
}

export interface CapacityNeed {
  /** The most the application holds while the jobs that run together start. */
  readonly total: WorkerSize;
  /** What holds it: the AnalyticsJobs Parallel state or prepare alone, per dimension. */
  readonly reason: Record<keyof WorkerSize, string>;
}

/**
 * The least maximum capacity under which every job of the pipeline gets its driver and initial
 * executors: the analytics jobs at once (the AnalyticsJobs Parallel state), and prepare
 * alone. Pre-initialised executors that no starting job uses still hold their share.
 */
export function requiredCapacity(preInitializedExecutors = 0): CapacityNeed {
  const { executor } = sharedWorkerShapes();
  const concurrent = (jobs: readonly SparkJobDef[]): WorkerSize => {
    const started = jobs.reduce((sum, job) => add(sum, jobFootprint(job)), NOTHING);
    const idleWarm = Math.max(0, preInitializedExecutors - jobs.reduce((n, job) => n + initialExecutors(job.sparkConf), 0));
    return add(started, executor, idleWarm);
  };
  const analytics = concurrent(ANALYTICS_JOBS);
  const prepare = concurrent([PREPARE_JOB]);
  const describe = (label: string, jobs: readonly SparkJobDef[]): string =>
    `${label} (${jobs
      .map((j) => {
        const d = workerSize(j.sparkConf, 'driver');
        const e = workerSize(j.sparkConf, 'executor');
        return `${j.id}: a ${d.vcpu} vCPU / ${d.memoryGb} GB driver and ${initialExecutors(j.sparkConf)} executor(s) of ${e.vcpu} vCPU / ${e.memoryGb} GB`;
      })
      .join('; ')}${preInitializedExecutors > 0 ? `; ${preInitializedExecutors} pre-initialised executor(s)` : ''})`;
  const pick = (key: keyof WorkerSize): [number, string] =>
    analytics[key] >= prepare[key]
      ? [analytics[key], describe('the AnalyticsJobs Parallel state', ANALYTICS_JOBS)]
      : [prepare[key], describe('the prepare job', [PREPARE_JOB])];
  const [vcpu, vcpuReason] = pick('vcpu');
  const [memoryGb, memoryReason] = pick('memoryGb');
  const [diskGb, diskReason] = pick('diskGb');
  return { total: { vcpu, memoryGb, diskGb }, reason: { vcpu: vcpuReason, memoryGb: memoryReason, diskGb: diskReason } };
}
