/**
 * The rehearsal's EMR Serverless stand-in builds its spark-submit from the synthesized state
 * machine's own EMR task parameters: the entry point and arguments unchanged, the job's settings
 * over the application's spark-defaults, only the worker sizing left out and the parallelism sized
 * to local[2]. (The rehearsal test runs the command for real; this pins what it is.)
 */
import { ANALYTICS_JOBS, PREPARE_JOB } from '../../core/config/spark-jobs';
import { CLUSTER_SIZING_KEY, LOCAL_JVM_OPTIONS, LOCAL_PARALLELISM, localSparkSubmitOpts, parseSparkSubmitParameters, sparkSubmitCommand, StartJobRunInput } from '../../local/rehearse/emr-standin';
import { stackModel } from '../../local/rehearse/stack-model';
import { synthesizedStateMachine } from '../support/synth';

const S3 = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const JARS = ['/cache/hadoop-aws.jar', '/cache/bundle.jar'];

const { definition, template } = synthesizedStateMachine();
const model = stackModel(template.toJSON() as never, '/nonexistent-cdk-out', 'ShopSight-dev');

/** The EMR task of a job as the definition has it (Parameters before the .$ paths are rendered). */
function emrTask(state: string): { EntryPoint: string; SparkSubmitParameters: string; ApplicationId: string; ExecutionRoleArn: string } {
  const find = (states: Record<string, any>): any => {
    for (const [name, s] of Object.entries(states)) {
      if (name === state) return s;
      for (const b of s.Branches ?? []) {
        const found = find(b.States);
        if (found) return found;
      }
    }
    return undefined;
  };
  const s = find(definition.States);
  if (!s) throw new Error(`no state ${state}`);
  return { ...s.Parameters.JobDriver.SparkSubmit, ApplicationId: s.Parameters.ApplicationId, ExecutionRoleArn: s.Parameters.ExecutionRoleArn };
}

const ARGS = ['--run-id', 'r1', '--dataset', 'rees46', '--input', 's3://raw/rehearsal/r1/', '--curated', 's3://curated/', '--exports', 's3://exports/', '--params', '{}'];

function commandFor(state: string) {
  const task = emrTask(state);
  const input: StartJobRunInput = {
    ApplicationId: task.ApplicationId,
    ExecutionRoleArn: task.ExecutionRoleArn,
    JobDriver: { SparkSubmit: { EntryPoint: task.EntryPoint, EntryPointArguments: ARGS, SparkSubmitParameters: task.SparkSubmitParameters } },
  };
  return { task, command: sparkSubmitCommand(input, { python: '/venv/bin/python', sparkDefaults: model.emr.sparkDefaults, s3: S3 }, JARS) };
}

const confs = (args: string[]): Map<string, string> => {
  const m = new Map<string, string>();
  args.forEach((a, i) => {
    if (args[i - 1] === '--conf') m.set(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
  });
  return m;
};

test('the model reads the EMR application, its job role and its spark-defaults from the template', () => {
  const task = emrTask('PrepareJob');
  expect(task.ApplicationId).toBe(model.emr.applicationId);
  expect(task.ExecutionRoleArn).toBe(model.emr.jobRoleArn);
  expect(model.emr.sparkDefaults['spark.sql.session.timeZone']).toBe('UTC');
});

test.each([PREPARE_JOB, ...ANALYTICS_JOBS].map((j) => [j.id]))('%s: entry point and arguments exactly as the state passes them, s3:// and all', (id) => {
  const state = id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('') + 'Job';
  const { task, command } = commandFor(state);
  expect(command.command).toBe('/venv/bin/spark-submit');
  expect(task.EntryPoint).toMatch(/^s3:\/\//);
  // The entry point, then the arguments, last and unchanged.
  expect(command.args.slice(-ARGS.length - 1)).toEqual([task.EntryPoint, ...ARGS]);
  const c = confs(command.args);
  // Every job setting that is not worker sizing or parallelism is passed as the state has it.
  for (const [k, v] of parseSparkSubmitParameters(task.SparkSubmitParameters).conf) {
    if (CLUSTER_SIZING_KEY.test(k)) expect(c.has(k)).toBe(false);
    else if (k === 'spark.sql.shuffle.partitions') expect(c.get(k)).toBe(String(LOCAL_PARALLELISM));
    else expect(c.get(k)).toBe(v);
  }
  // The --py-files archive comes from the artifacts bucket, as on EMR.
  expect(c.get('spark.submit.pyFiles')).toMatch(/^s3:\/\/.*shopsight_jobs\.zip$/);
  // The application's defaults apply under the job's settings; the connector points at the emulator.
  expect(c.get('spark.sql.session.timeZone')).toBe('UTC');
  expect(c.get('spark.hadoop.fs.s3.impl')).toBe('org.apache.hadoop.fs.s3a.S3AFileSystem');
  expect(c.get('spark.hadoop.fs.s3a.endpoint')).toBe(S3.endpoint);
  expect(command.args).toEqual(expect.arrayContaining(['--master', 'local[2]', '--driver-class-path', JARS.join(':')]));
  // What was left out is listed (it is written at the top of the job's log).
  expect(command.dropped).toEqual(expect.arrayContaining(['spark.driver.memory', 'spark.executor.memory']));
});

test('SparkSubmitParameters that are not --key value pairs are refused, not guessed', () => {
  expect(parseSparkSubmitParameters('--conf a=b --conf c=d=e --jars x.jar')).toEqual({ conf: [['a', 'b'], ['c', 'd=e']], other: ['--jars', 'x.jar'] });
  expect(() => parseSparkSubmitParameters('--conf novalue')).toThrow('--conf');
  expect(() => parseSparkSubmitParameters('stray')).toThrow('unexpected "stray"');
});

test('the local driver JVM gets C1 and the serial collector after whatever SPARK_SUBMIT_OPTS the user set', () => {
  expect(localSparkSubmitOpts(undefined)).toBe(LOCAL_JVM_OPTIONS);
  expect(localSparkSubmitOpts('  ')).toBe(LOCAL_JVM_OPTIONS);
  // The user's own options stay, first; ours follow (for the JVM, a later -XX flag wins).
  expect(localSparkSubmitOpts('-Dfoo=1 -Xss4m')).toBe(`-Dfoo=1 -Xss4m ${LOCAL_JVM_OPTIONS}`);
  expect(LOCAL_JVM_OPTIONS.split(' ')).toEqual(['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss8m']);
});
