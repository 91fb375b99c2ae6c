/**
 * The EMR Serverless application's cap holds every job the state machine starts at once, worked
 * out from the synthesized template alone: the application's MaximumCapacity, and each EMR task's
 * SparkSubmitParameters in the state machine definition, sized as EMR Serverless sizes workers
 * (memory + overhead, default 10% and at least 384 MB, rounded up to the smallest supported
 * worker configuration). If the drivers take the whole cap, no executor ever starts.
 */
import { ANALYTICS_JOBS } from '../../core/config/spark-jobs';
import { AslDefinition, AslState, synthesizedStateMachine } from '../support/synth';

/** Every worker configuration EMR Serverless supports, as (vCPU, GB) pairs, smallest first. */
const WORKER_CONFIGURATIONS: ReadonlyArray<readonly [number, number]> = [
  [1, 2, 8, 1],
  [2, 4, 16, 1],
  [4, 8, 30, 1],
  [8, 16, 60, 4],
  [16, 32, 120, 8],
].flatMap(([vcpu, min, max, step]) => Array.from({ length: (max - min) / step + 1 }, (_, i) => [vcpu, min + i * step] as const));

interface Worker {
  vcpu: number;
  gb: number;
  disk: number;
}

const mib = (size: string): number => {
  const m = /^(\d+)([kmgt]?)$/i.exec(size);
  if (!m) throw new Error(`unreadable memory size ${size}`);
  return Number(m[1]) * { k: 1 / 1024, '': 1, m: 1, g: 1024, t: 1024 ** 2 }[m[2].toLowerCase() as 'k' | '' | 'm' | 'g' | 't'];
};

/** `--conf k=v --conf …` as a map. */
function confOf(sparkSubmitParameters: string): Record<string, string> {
  const conf: Record<string, string> = {};
  const tokens = sparkSubmitParameters.trim().split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== '--conf') throw new Error(`unexpected spark-submit token ${tokens[i]}`);
    const [key, ...value] = tokens[++i].split('=');
    conf[key] = value.join('=');
  }
  return conf;
}

/** The worker EMR Serverless gives a driver or an executor of this configuration. */
function worker(conf: Record<string, string>, role: 'driver' | 'executor'): Worker {
  const cores = Number(conf[`spark.${role}.cores`] ?? 4);
  const heap = mib(conf[`spark.${role}.memory`] ?? '14g');
  const overhead = conf[`spark.${role}.memoryOverhead`] ? mib(conf[`spark.${role}.memoryOverhead`]) : Math.max(384, 0.1 * heap);
  const fit = WORKER_CONFIGURATIONS.find(([vcpu, gb]) => vcpu >= cores && gb * 1024 >= heap + overhead);
  if (!fit) throw new Error(`no EMR Serverless worker holds ${role} ${JSON.stringify(conf)}`);
  const disk = conf[`spark.emr-serverless.${role}.disk`] ? mib(conf[`spark.emr-serverless.${role}.disk`]) / 1024 : 20;
  return { vcpu: fit[0], gb: fit[1], disk };
}

interface JobStart {
  readonly state: string;
  readonly driver: Worker;
  readonly executor: Worker;
  readonly initialExecutors: number;
}

/** What a job holds once it has started: its driver and its initial executors. */
const held = (jobs: readonly JobStart[]): Worker =>
  jobs.reduce(
    (sum, j) => ({
      vcpu: sum.vcpu + j.driver.vcpu + j.initialExecutors * j.executor.vcpu,
      gb: sum.gb + j.driver.gb + j.initialExecutors * j.executor.gb,
      disk: sum.disk + j.driver.disk + j.initialExecutors * j.executor.disk,
    }),
    { vcpu: 0, gb: 0, disk: 0 },
  );

/** The EMR Serverless job states of a definition, by name, with the Parallel state (if any) each runs in. */
function emrJobStates(definition: AslDefinition, parallel?: string): Array<{ name: string; parallel?: string; state: AslState }> {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const nested = [
      ...(state.Branches ?? []).flatMap((b) => emrJobStates(b, state.Type === 'Parallel' ? name : parallel)),
      ...(['ItemProcessor', 'Iterator'] as const).flatMap((key) => (state[key] ? emrJobStates(state[key] as AslDefinition, parallel) : [])),
    ];
    const own = typeof state.Resource === 'string' && state.Resource.includes(':emr-serverless:startJobRun') ? [{ name, parallel, state }] : [];
    return [...own, ...nested];
  });
}

describe.each(['dev', 'prod'])('EMR Serverless capacity of the %s stage', (stage) => {
  const { definition, template } = synthesizedStateMachine({ stage });
  const [app] = Object.values(template.findResources('AWS::EMRServerless::Application'));
  const cap = app.Properties.MaximumCapacity as { Cpu: string; Memory: string; Disk: string };
  const max: Worker = { vcpu: parseInt(cap.Cpu, 10), gb: parseInt(cap.Memory, 10), disk: parseInt(cap.Disk, 10) };

  const jobs = emrJobStates(definition).map(({ name, parallel, state }) => {
    const conf = confOf(state.Parameters!.JobDriver.SparkSubmit.SparkSubmitParameters);
    const initial = Number(conf['spark.dynamicAllocation.initialExecutors'] ?? conf['spark.executor.instances'] ?? 3);
    const start: JobStart = {
      state: name,
      driver: worker(conf, 'driver'),
      executor: worker(conf, 'executor'),
      initialExecutors: Math.max(initial, Number(conf['spark.dynamicAllocation.minExecutors'] ?? 0)),
    };
    return { ...start, parallel, conf };
  });
  const analytics = jobs.filter((j) => j.parallel === 'AnalyticsJobs');

  test('the state machine has the prepare job and the five analytics jobs in the AnalyticsJobs Parallel state', () => {
    expect(jobs.map((j) => j.state)).toContain('PrepareJob');
    expect(analytics).toHaveLength(5);
    expect(analytics).toHaveLength(ANALYTICS_JOBS.length);
  });

  test('every job starts at least one executor and keeps it (dynamic allocation minimum and initial set)', () => {
    for (const j of jobs) {
      const { minExecutors, initialExecutors } = {
        minExecutors: Number(j.conf['spark.dynamicAllocation.minExecutors']),
        initialExecutors: Number(j.conf['spark.dynamicAllocation.initialExecutors']),
      };
      expect({ state: j.state, minAtLeastOne: minExecutors >= 1, initialAtLeastMin: initialExecutors >= minExecutors }).toEqual({
        state: j.state,
        minAtLeastOne: true,
        initialAtLeastMin: true,
      });
    }
  });

  test('the analytics jobs, all at once, get their drivers and initial executors under the cap', () => {
    const need = held(analytics);
    expect({ vcpu: need.vcpu <= max.vcpu, gb: need.gb <= max.gb, disk: need.disk <= max.disk }).toEqual({ vcpu: true, gb: true, disk: true });
    // …and with the drivers alone holding capacity, there is still room for an executor: no job waits forever.
    const drivers = analytics.reduce((s, j) => ({ vcpu: s.vcpu + j.driver.vcpu, gb: s.gb + j.driver.gb }), { vcpu: 0, gb: 0 });
    const smallest = analytics.reduce((a, j) => (j.executor.vcpu < a.vcpu ? j.executor : a), analytics[0].executor);
    expect(drivers.vcpu + smallest.vcpu).toBeLessThanOrEqual(max.vcpu);
    expect(drivers.gb + smallest.gb).toBeLessThanOrEqual(max.gb);
  });

  test('prepare alone fits too', () => {
    const need = held(jobs.filter((j) => j.state === 'PrepareJob'));
    expect(need.vcpu).toBeLessThanOrEqual(max.vcpu);
    expect(need.gb).toBeLessThanOrEqual(max.gb);
    expect(need.disk).toBeLessThanOrEqual(max.disk);
  });
});

test('the chosen sizes: 1 vCPU / 4 GB drivers, 2 vCPU / 8 GB executors; dev analytics hold 15 vCPU / 60 GB / 200 GB of disk of 16 / 64 / 400', () => {
  const { definition, template } = synthesizedStateMachine({ stage: 'dev' });
  const [app] = Object.values(template.findResources('AWS::EMRServerless::Application'));
  expect(app.Properties.MaximumCapacity).toEqual({ Cpu: '16 vCPU', Memory: '64 GB', Disk: '400 GB' });
  const analytics = emrJobStates(definition).filter((j) => j.parallel === 'AnalyticsJobs');
  const starts = analytics.map(({ name, state }) => {
    const conf = confOf(state.Parameters!.JobDriver.SparkSubmit.SparkSubmitParameters);
    return { state: name, driver: worker(conf, 'driver'), executor: worker(conf, 'executor'), initialExecutors: 1 };
  });
  for (const s of starts) {
    expect(s.driver).toEqual({ vcpu: 1, gb: 4, disk: 20 });
    expect(s.executor).toEqual({ vcpu: 2, gb: 8, disk: 20 });
  }
  expect(starts).toHaveLength(5);
  expect(held(starts)).toEqual({ vcpu: 15, gb: 60, disk: 200 });
});

test('the sizing arithmetic: overhead 10% with a 384 MB floor, rounded up to a supported worker', () => {
  expect(worker({}, 'driver')).toEqual({ vcpu: 4, gb: 16, disk: 20 }); // EMR's default 14g: 14 + 1.4 = 15.4 → 16
  expect(worker({ 'spark.executor.cores': '1', 'spark.executor.memory': '3g' }, 'executor')).toEqual({ vcpu: 1, gb: 4, disk: 20 }); // 3 GB + 384 MB
  expect(worker({ 'spark.driver.cores': '3', 'spark.driver.memory': '1g' }, 'driver')).toEqual({ vcpu: 4, gb: 8, disk: 20 }); // 4 vCPU minimum 8 GB
  expect(worker({ 'spark.executor.cores': '8', 'spark.executor.memory': '20g' }, 'executor')).toEqual({ vcpu: 8, gb: 24, disk: 20 }); // 22 GB in 4 GB steps
});
