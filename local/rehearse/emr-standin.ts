/**
 * The rehearsal's EMR Serverless: each `emr-serverless:startJobRun.sync` task becomes one
 * `spark-submit` on local pyspark (the Spark version EMR deploys, from .venv-spark) of exactly the
 * task's `EntryPoint`, `EntryPointArguments` and `SparkSubmitParameters`, s3:// paths included:
 * the entry script and the --py-files archive are fetched by spark-submit from the emulated
 * artifacts bucket, and the jobs read and write the emulated buckets through Hadoop's S3A
 * connector, mapped for the `s3` scheme as EMRFS serves it on EMR.
 *
 * What is added, and why (nothing else is changed):
 * - the application's `spark-defaults` from the template, first, as EMR applies them under the
 *   job's own settings;
 * - the S3A connector (hadoop-aws and the AWS SDK bundle it was built with, from Maven Central,
 *   checked against Maven Central's SHA-1, cached under ~/.cache/shopsight/jars) and its settings
 *   for the emulator: endpoint, path-style access, the emulator's credentials;
 * - `--master local[2]`, no web UI.
 * What is left out: the worker sizing keys (driver/executor cores and memory, memory overhead,
 * dynamic allocation), which size EMR workers and mean nothing on one machine, where the driver is
 * the only JVM. The emr-capacity test checks those against the application's cap instead.
 * What is resized: the parallelism (spark.sql.shuffle.partitions, spark.default.parallelism) is set
 * to LOCAL_PARALLELISM, as the parity tests run the jobs: the jobs' 200 or 400 partitions are sized
 * for a month of events on a cluster, and on two cores with five jobs at once they turn a sample
 * into tens of thousands of empty tasks. The results do not depend on it (test_parity.py proves the
 * tables equal to the local engine's with 4).
 */
import { ChildProcess, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const SPARK_MASTER = 'local[2]';
export const LOCAL_PARALLELISM = 4;
/** Keys set to LOCAL_PARALLELISM, whatever the job or the application says (see the header). */
const PARALLELISM_KEYS = ['spark.sql.shuffle.partitions', 'spark.default.parallelism'];

/**
 * JVM options for the local driver (through SPARK_SUBMIT_OPTS, after any the user set): the C1
 * compiler only and the serial collector. A job on a sample runs for a minute or two, most of it
 * spent compiling code that never gets hot with C2 and in GC threads competing for two cores;
 * measured on an ALS + k-means + SQL job on local[2], CPU time fell from 69 s to 36 s. JIT level
 * and collector change how fast, never what, a job computes; EMR's own JVM settings are untouched.
 * Threads get 8 MB stacks: ALS's final count deserialises the whole lineage of its iterations
 * recursively, and with C1's larger frames the default 1 MB overflowed (StackOverflowError in
 * ObjectInputStream, once in a rehearsal rerun on the samples).
 */
export const LOCAL_JVM_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss8m';

/** SPARK_SUBMIT_OPTS for a local run: the caller's, then LOCAL_JVM_OPTIONS. */
export function localSparkSubmitOpts(existing: string | undefined): string {
  return existing && existing.trim() !== '' ? `${existing.trim()} ${LOCAL_JVM_OPTIONS}` : LOCAL_JVM_OPTIONS;
}

/** Keys that size EMR Serverless workers: see the header. */
export const CLUSTER_SIZING_KEY = /^spark\.(driver|executor)\.(cores|memory|memoryOverhead|memoryOverheadFactor|disk)$|^spark\.dynamicAllocation\.|^spark\.emr-serverless\./;

/** hadoop-aws must match the Hadoop of pyspark's jars; the SDK bundle is the one that hadoop-aws release declares. */
const S3A_JARS: Record<string, readonly { group: string; artifact: string; version: string }[]> = {
  '3.3.4': [
    { group: 'org.apache.hadoop', artifact: 'hadoop-aws', version: '3.3.4' },
    { group: 'com.amazonaws', artifact: 'aws-java-sdk-bundle', version: '1.12.262' },
  ],
};
const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

export interface StartJobRunInput {
  readonly ApplicationId: string;
  readonly ExecutionRoleArn: string;
  readonly Name?: string;
  readonly ClientToken?: string;
  readonly ExecutionTimeoutMinutes?: number;
  readonly JobDriver: { readonly SparkSubmit: { readonly EntryPoint: string; readonly EntryPointArguments?: string[]; readonly SparkSubmitParameters?: string } };
  readonly Tags?: Record<string, string>;
}

export interface EmrStandInOptions {
  /** The venv's python (scripts/python-env.sh); spark-submit is next to it. */
  readonly python: string;
  readonly applicationId: string;
  readonly jobRoleArn: string;
  /** The application's runtimeConfiguration spark-defaults, from the template. */
  readonly sparkDefaults: Readonly<Record<string, string>>;
  readonly s3: { readonly endpoint: string; readonly region: string; readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } };
  readonly logDir: string;
  readonly log?: (line: string) => void;
}

export class JobRunFailed extends Error {
  constructor(message: string) {
    super(message);
    // What Step Functions reports when a .sync EMR Serverless job run ends FAILED.
    this.name = 'States.TaskFailed';
  }
}

/** `--conf k=v` pairs and other spark-submit options of SparkSubmitParameters, in order. */
export function parseSparkSubmitParameters(parameters: string): { conf: [string, string][]; other: string[] } {
  const tokens = parameters.trim().split(/\s+/).filter(Boolean);
  const conf: [string, string][] = [];
  const other: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '--conf') {
      const pair = tokens[++i];
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq <= 0) throw new Error(`SparkSubmitParameters: "--conf" needs key=value, got "${pair ?? ''}"`);
      conf.push([pair.slice(0, eq), pair.slice(eq + 1)]);
    } else if (token.startsWith('--')) {
      const value = tokens[++i];
      if (value === undefined) throw new Error(`SparkSubmitParameters: ${token} has no value`);
      other.push(token, value);
    } else {
      throw new Error(`SparkSubmitParameters: unexpected "${token}"`);
    }
  }
  return { conf, other };
}

function jarCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'shopsight', 'jars');
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.text()).trim();
}

/** The Hadoop version of pyspark's bundled client (jars/hadoop-client-api-<v>.jar). */
export function pysparkHadoopVersion(python: string): string {
  const venv = path.dirname(path.dirname(python));
  const lib = path.join(venv, 'lib');
  for (const pyDir of fs.readdirSync(lib)) {
    const jars = path.join(lib, pyDir, 'site-packages', 'pyspark', 'jars');
    if (!fs.existsSync(jars)) continue;
    for (const name of fs.readdirSync(jars)) {
      const m = /^hadoop-client-api-(\d+\.\d+\.\d+)\.jar$/.exec(name);
      if (m) return m[1];
    }
  }
  throw new Error(`no pyspark with a hadoop-client-api jar under ${lib}`);
}

/** The S3A jars for pyspark's Hadoop, downloaded once from Maven Central and checked against its SHA-1. */
export async function ensureS3aJars(python: string, log?: (line: string) => void): Promise<string[]> {
  const hadoop = pysparkHadoopVersion(python);
  const wanted = S3A_JARS[hadoop];
  if (!wanted) throw new Error(`no S3A connector known for Hadoop ${hadoop} (pyspark's); known: ${Object.keys(S3A_JARS).join(', ')}`);
  const dir = jarCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const jar of wanted) {
    const file = path.join(dir, `${jar.artifact}-${jar.version}.jar`);
    if (!fs.existsSync(file)) {
      const url = `${MAVEN_CENTRAL}/${jar.group.replace(/\./g, '/')}/${jar.artifact}/${jar.version}/${jar.artifact}-${jar.version}.jar`;
      log?.(`downloading ${url}`);
      const expected = (await fetchText(`${url}.sha1`)).split(/\s+/)[0];
      const response = await fetch(url);
      if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      const actual = createHash('sha1').update(bytes).digest('hex');
      if (actual !== expected) throw new Error(`${url}: SHA-1 ${actual}, Maven Central says ${expected}`);
      const partial = `${file}.partial-${process.pid}`;
      fs.writeFileSync(partial, bytes);
      fs.renameSync(partial, file);
    }
    paths.push(file);
  }
  return paths;
}

/** The S3A settings that point the connector at the emulator (the stand-in's only additions besides the jars). */
export function s3aConf(s3: EmrStandInOptions['s3']): Record<string, string> {
  return {
    'spark.hadoop.fs.s3.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
    'spark.hadoop.fs.AbstractFileSystem.s3.impl': 'org.apache.hadoop.fs.s3a.S3A',
    'spark.hadoop.fs.s3a.endpoint': s3.endpoint,
    'spark.hadoop.fs.s3a.endpoint.region': s3.region,
    'spark.hadoop.fs.s3a.path.style.access': 'true',
    'spark.hadoop.fs.s3a.connection.ssl.enabled': 'false',
    'spark.hadoop.fs.s3a.aws.credentials.provider': 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
    'spark.hadoop.fs.s3a.access.key': s3.credentials.accessKeyId,
    'spark.hadoop.fs.s3a.secret.key': s3.credentials.secretAccessKey,
    // Fail fast instead of retrying a dead emulator for minutes.
    'spark.hadoop.fs.s3a.attempts.maximum': '3',
    'spark.hadoop.fs.s3a.retry.limit': '3',
    // Fewer requests, the same files: S3A keeps folder markers instead of deleting every parent
    // marker after each write, and task commits move files straight to their destination (one
    // copy per file instead of two). EMR commits with EMRFS's S3-optimized committer, which does
    // not copy at all; these only make the emulated S3 take fewer round trips.
    'spark.hadoop.fs.s3a.directory.marker.retention': 'keep',
    'spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version': '2',
  };
}

export interface SparkSubmitCommand {
  readonly command: string;
  readonly args: string[];
  /** Keys left out of the job's settings (worker sizing) or resized (parallelism, with the job's value). */
  readonly dropped: string[];
}

/** The spark-submit command line for one StartJobRun request. */
export function sparkSubmitCommand(input: StartJobRunInput, options: Pick<EmrStandInOptions, 'python' | 'sparkDefaults' | 's3'>, jars: readonly string[]): SparkSubmitCommand {
  const driver = input.JobDriver?.SparkSubmit;
  if (!driver?.EntryPoint) throw new Error('StartJobRun: JobDriver.SparkSubmit.EntryPoint is missing');
  const { conf, other } = parseSparkSubmitParameters(driver.SparkSubmitParameters ?? '');
  const merged = new Map<string, string>(Object.entries(options.sparkDefaults));
  for (const [k, v] of conf) merged.set(k, v);
  const dropped = [...merged.keys()].filter((k) => CLUSTER_SIZING_KEY.test(k));
  for (const k of dropped) merged.delete(k);
  for (const k of PARALLELISM_KEYS) {
    if (merged.has(k)) dropped.push(`${k}=${merged.get(k)}`);
    merged.set(k, String(LOCAL_PARALLELISM));
  }
  // On the driver's class path from the start: spark-submit itself fetches the s3:// entry point and
  // --py-files through the connector before any --jars would be loaded.
  const args = ['--master', SPARK_MASTER, '--driver-class-path', jars.join(':'), '--jars', jars.join(',')];
  for (const [k, v] of Object.entries({ ...s3aConf(options.s3), 'spark.ui.enabled': 'false', 'spark.ui.showConsoleProgress': 'false' })) args.push('--conf', `${k}=${v}`);
  for (const [k, v] of merged) args.push('--conf', `${k}=${v}`);
  args.push(...other, driver.EntryPoint, ...(driver.EntryPointArguments ?? []));
  return { command: path.join(path.dirname(options.python), 'spark-submit'), args, dropped };
}

/** Runs StartJobRun requests to completion; `cancelAll` stops the running ones (a failed Parallel branch). */
export class EmrStandIn {
  private readonly running = new Set<ChildProcess>();
  private jars?: Promise<string[]>;
  private cancelled = false;

  constructor(private readonly options: EmrStandInOptions) {}

  async run(input: StartJobRunInput): Promise<{ JobRunId: string; State: 'SUCCESS'; Seconds: number }> {
    if (input.ApplicationId !== this.options.applicationId) {
      throw Object.assign(new Error(`Application ${input.ApplicationId} does not exist (the template's is ${this.options.applicationId})`), {
        name: 'EMRServerless.ResourceNotFoundException',
      });
    }
    if (input.ExecutionRoleArn !== this.options.jobRoleArn) {
      throw Object.assign(new Error(`ExecutionRoleArn ${input.ExecutionRoleArn} is not the job role of the template (${this.options.jobRoleArn})`), {
        name: 'EMRServerless.ValidationException',
      });
    }
    this.jars ??= ensureS3aJars(this.options.python, this.options.log);
    const jars = await this.jars;
    if (this.cancelled) throw new JobRunFailed(JSON.stringify({ JobRun: { name: input.Name, state: 'CANCELLED', stateDetails: 'a sibling branch failed' } }));
    const command = sparkSubmitCommand(input, this.options, jars);
    const name = input.Name ?? 'job';
    fs.mkdirSync(this.options.logDir, { recursive: true });
    const logFile = path.join(this.options.logDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
    const out = fs.openSync(logFile, 'w');
    const submitOpts = localSparkSubmitOpts(process.env.SPARK_SUBMIT_OPTS);
    fs.writeSync(
      out,
      `$ SPARK_SUBMIT_OPTS=${JSON.stringify(submitOpts)} ${command.command} ${command.args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n# left out or resized for local[2]: ${command.dropped.join(', ') || 'none'}\n`,
    );
    const started = Date.now();
    const child = spawn(command.command, command.args, {
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        PYSPARK_PYTHON: this.options.python,
        PYSPARK_DRIVER_PYTHON: this.options.python,
        SPARK_LOCAL_IP: '127.0.0.1',
        SPARK_SUBMIT_OPTS: submitOpts,
        TZ: 'UTC',
      },
    });
    fs.closeSync(out);
    this.running.add(child);
    const timeoutMs = (input.ExecutionTimeoutMinutes ?? 720) * 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? -1 : null))));
    clearTimeout(timer);
    this.running.delete(child);
    const seconds = (Date.now() - started) / 1000;
    if (code !== 0) {
      const reason = timedOut ? `cancelled after its ExecutionTimeoutMinutes (${input.ExecutionTimeoutMinutes})` : lastError(logFile);
      throw new JobRunFailed(JSON.stringify({ JobRun: { name, state: 'FAILED', stateDetails: reason, log: logFile } }));
    }
    return { JobRunId: `${name}-${started}`, State: 'SUCCESS', Seconds: seconds };
  }

  /** Stops the running job runs and refuses new ones (this execution is ending). */
  cancelAll(): void {
    this.cancelled = true;
    for (const child of this.running) child.kill('SIGKILL');
  }
}

/** The last Python or Java error of a job's log, for the failure's cause. */
function lastError(logFile: string): string {
  const lines = fs.readFileSync(logFile, 'utf8').split('\n');
  const interesting = lines.filter((l) => /Error|Exception|Traceback|error:/.test(l) && !/^\s+at /.test(l));
  return (interesting.slice(-5).join(' | ') || lines.slice(-5).join(' | ')).slice(0, 2000);
}
