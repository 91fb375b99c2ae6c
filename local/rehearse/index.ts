/**
 * `shopsight rehearse`: the deployed pipeline end to end on one machine, before anyone deploys.
 *
 * It synthesizes the CDK app exactly as `cdk synth` does, takes the state machine definition from
 * the template and runs it with aws-local-stepfunctions, every Task served by the real code:
 * - S3: moto's S3 server on loopback, holding the template's buckets (s3-emulator.ts); the Spark
 *   code deployed into the artifacts bucket as the BucketDeployment would; the input uploaded into
 *   the raw bucket as a user would;
 * - Lambda: each function's bundle from the cloud assembly, in its own process, with the template's
 *   environment (lambda-standin.ts);
 * - EMR Serverless: `spark-submit` of the task's EntryPoint, EntryPointArguments and
 *   SparkSubmitParameters on local pyspark through S3A (emr-standin.ts);
 * - Athena: the data-quality gate's SQL on DuckDB over the emulated curated bucket (athena-standin.ts);
 * - Aurora + the RDS Data API: a private MariaDB behind a Data API stand-in that binds parameters
 *   with server-side prepared statements and turns LOAD DATA FROM S3 into a local load
 *   (data-api-standin.ts, mariadb.ts); the serving-schema custom resource runs first, as on deploy;
 * - Secrets Manager: the template's generated secrets, kept in DIR/secrets.json;
 * - SNS: the notices are recorded and printed, not sent;
 * then the recommendations API's handler answers /health and one user's recommendations from
 * that database.
 *
 * Everything lives under DIR (default ./shopsight-rehearsal): the emulated buckets (DIR/s3), the
 * database (DIR/mysql), secrets, logs, and DIR/rehearsal.json. A second rehearsal with the same DIR
 * continues from the first, as a second execution in the same account would.
 */
import { randomInt } from 'crypto';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { runIdFromExecutionName } from '../../core/config/execution-input';
import { servedTables } from '../../core/contract';
import { EXIT } from '../engine/exit-codes';
import { checkRunFolderOutsideInputs } from '../engine/run-folder';
import { ATHENA_STANDIN_NOTICE, startAwsJsonStandIn } from './athena-standin';
import { startDataApiStandIn } from './data-api-standin';
import { EmrStandIn, StartJobRunInput } from './emr-standin';
import { LambdaStandIn } from './lambda-standin';
import { AslDefinition, runLocally, taskStateNames } from './local-execution';
import { startMariaDbServer } from './mariadb';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, listKeys, startS3Emulator } from './s3-emulator';
import { StackModel, synthesizeStack } from './stack-model';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Marks a folder as a rehearsal's own; any other non-empty folder is refused. */
export const REHEARSAL_MARKER = '.shopsight-rehearsal.json';

export interface RehearseOptions {
  /** Input files or folders (every file under a folder), uploaded into the raw bucket. */
  readonly inputs: readonly string[];
  readonly dir: string;
  readonly runId?: string;
  readonly dataset?: 'rees46' | 'retailrocket' | 'auto';
  /** A state name of the definition (top level or nested): its task fails. */
  readonly failAt?: string;
  /** CDK context on top of cdk.json's (e.g. { stage: 'prod' }). */
  readonly context?: Record<string, unknown>;
  readonly log?: (line: string) => void;
}

export interface StateRecord {
  readonly name: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly seconds: number;
}

export interface RehearsalReport {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly runId: string;
  readonly executionName: string;
  readonly failAt: string | null;
  /** Did the execution do what was asked (succeed, or fail where told with the failure notice)? */
  readonly asExpected: boolean;
  readonly error?: { readonly error: string; readonly cause: string };
  readonly states: StateRecord[];
  /** Every Task run, nested ones included. */
  readonly tasks: StateRecord[];
  readonly served: Record<string, number>;
  readonly servedRunId: string | null;
  readonly previousServedRunId: string | null;
  readonly notices: { readonly subject: string; readonly message: unknown }[];
  readonly api: { readonly health: unknown; readonly sample?: { readonly path: string; readonly statusCode: number; readonly items: number } };
  readonly standIns: string[];
  readonly seconds: number;
}

/** A problem with the user's arguments or folders; `exitCode` is the CLI's (2 bad arguments, 3 input not found). */
export class RehearsalSetupError extends Error {
  constructor(
    message: string,
    readonly exitCode: typeof EXIT.usage | typeof EXIT.inputNotFound = EXIT.usage,
  ) {
    super(message);
  }
}

/** The project's Python environment (pyspark, moto), created by scripts/python-env.sh when missing. */
function pythonEnvironment(log: (line: string) => void): string {
  log('Python environment: scripts/python-env.sh (first time: installs pyspark and moto into .venv-spark)');
  return execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'python-env.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Refuses a folder the rehearsal did not create; creates and marks a new one. */
export function claimDirectory(dir: string): 'new' | 'continued' {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new RehearsalSetupError(`${dir} exists and is not a folder; choose another --out`);
    if (fs.existsSync(path.join(dir, REHEARSAL_MARKER))) return 'continued';
    if (fs.readdirSync(dir).length > 0) {
      throw new RehearsalSetupError(`${dir} is not empty and is not a rehearsal folder (no ${REHEARSAL_MARKER}); choose an empty or new --out`);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, REHEARSAL_MARKER), JSON.stringify({ createdAt: new Date().toISOString(), by: 'shopsight rehearse' }, null, 2) + '\n');
  return 'new';
}

/** Writes a file whole or not at all. */
function writeAtomically(file: string, text: string): void {
  const partial = `${file}.partial-${process.pid}`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
}

function generatePassword(length: number, exclude: string): string {
  const alphabet = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => !exclude.includes(c));
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** The template's generated secrets, made once per rehearsal folder (as CloudFormation does on create). */
function secretsOf(model: StackModel, dir: string): Record<string, string> {
  const file = path.join(dir, 'secrets.json');
  const stored: Record<string, string> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  for (const s of model.secrets) {
    if (stored[s.arn]) continue;
    const value: Record<string, unknown> = { ...s.template };
    if (s.generateKey) value[s.generateKey] = generatePassword(s.length, s.excludeCharacters);
    stored[s.arn] = JSON.stringify(value);
  }
  writeAtomically(file, JSON.stringify(stored, null, 2) + '\n');
  fs.chmodSync(file, 0o600);
  return stored;
}

/** Input files: each named file, and every file under a named folder (relative paths kept). */
function inputFiles(inputs: readonly string[]): { file: string; key: string }[] {
  const files: { file: string; key: string }[] = [];
  for (const input of inputs) {
    const full = path.resolve(input);
    if (!fs.existsSync(full)) throw new RehearsalSetupError(`--input ${input}: no such file or folder`, EXIT.inputNotFound);
    if (fs.statSync(full).isDirectory()) {
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.isFile()) files.push({ file: p, key: path.relative(full, p).split(path.sep).join('/') });
        }
      };
      walk(full);
    } else {
      files.push({ file: full, key: path.basename(full) });
    }
  }
  if (files.length === 0) throw new RehearsalSetupError(`--input ${inputs.join(' ')}: no files`, EXIT.inputNotFound);
  const keys = new Set<string>();
  for (const f of files) {
    if (keys.has(f.key)) throw new RehearsalSetupError(`two inputs would be uploaded as the same object "${f.key}"`);
    keys.add(f.key);
  }
  return files;
}

/** Top-level state names, and for each state the top-level state it belongs to. */
function stateOwners(definition: AslDefinition): Map<string, string> {
  const owners = new Map<string, string>();
  const visit = (d: AslDefinition, top: string | undefined): void => {
    for (const [name, state] of Object.entries(d.States)) {
      const owner = top ?? name;
      owners.set(name, owner);
      for (const branch of state.Branches ?? []) visit(branch, owner);
      const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
      if (processor) visit(processor, owner);
    }
  };
  visit(definition, undefined);
  return owners;
}

function findStates(definition: AslDefinition): Map<string, { Type: string; Resource?: string }> {
  const all = new Map<string, { Type: string; Resource?: string }>();
  const visit = (d: AslDefinition): void => {
    for (const [name, state] of Object.entries(d.States)) {
      all.set(name, state as { Type: string; Resource?: string });
      for (const branch of state.Branches ?? []) visit(branch);
      const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
      if (processor) visit(processor);
    }
  };
  visit(definition);
  return all;
}

async function adminQuery<T>(socketPath: string, credentials: { username: string; password: string }, database: string, work: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ socketPath, user: credentials.username, password: credentials.password, database, dateStrings: true, supportBigNumbers: true });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Rows of each served table and the run load_runs says is served (null before any load). */
async function servedState(socketPath: string, admin: { username: string; password: string }, database: string): Promise<{ served: Record<string, number>; servedRunId: string | null }> {
  return adminQuery(socketPath, admin, database, async (c) => {
    const served: Record<string, number> = {};
    for (const t of servedTables()) {
      try {
        const [rows] = await c.query(`SELECT COUNT(*) AS n FROM \`${t.name}\``);
        served[t.name] = Number((rows as { n: number }[])[0].n);
      } catch {
        served[t.name] = 0;
      }
    }
    let servedRunId: string | null = null;
    try {
      const [rows] = await c.query("SELECT `run_id` FROM `load_runs` WHERE `status` = 'loaded' ORDER BY `finished_at` DESC LIMIT 1");
      servedRunId = (rows as { run_id: string }[])[0]?.run_id ?? null;
    } catch {
      servedRunId = null;
    }
    return { served, servedRunId };
  });
}

const apiEvent = (method: string, rawPath: string, routeKey: string, pathParameters: Record<string, string> = {}) => ({
  version: '2.0',
  routeKey,
  rawPath,
  rawQueryString: '',
  headers: {},
  pathParameters,
  isBase64Encoded: false,
  requestContext: { requestId: `rehearsal-${Date.now()}`, http: { method, path: rawPath, sourceIp: '127.0.0.1' }, stage: '$default', routeKey },
});

export async function rehearse(options: RehearseOptions): Promise<RehearsalReport> {
  const started = Date.now();
  // The SDK's notice that its 2027 releases need Node 22 is noise in every line of the rehearsal.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = path.resolve(options.dir);
  // The inputs first: a mistaken --input must not leave a claimed, empty rehearsal folder behind.
  const files = inputFiles(options.inputs);
  checkRunFolderOutsideInputs(dir, options.inputs);
  const claimed = claimDirectory(dir);
  log(`Rehearsal folder ${dir} (${claimed === 'new' ? 'new' : 'continuing the previous rehearsals in it'})`);
  const python = pythonEnvironment(log);

  // What `cdk deploy` uploads is dist/spark-jobs; built from the checked-out sources first (cdk.json's app does the same).
  execFileSync('python3', [path.join(REPO_ROOT, 'scripts', 'build-spark-archive.py')], { stdio: ['ignore', 'ignore', 'inherit'] });
  log('Synthesizing the app (cdk synth) …');
  const model = synthesizeStack(path.join(dir, 'cdk.out'), options.context);
  const states = findStates(model.definition);
  if (options.failAt !== undefined && !states.has(options.failAt)) {
    throw new RehearsalSetupError(`--fail-at ${options.failAt}: no such state; states: ${[...states.keys()].join(', ')}`);
  }
  const owners = stateOwners(model.definition);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-rehearsal-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const standIns: string[] = [];
  try {
    const s3 = await startS3Emulator({ python, dir, buckets: model.buckets, log });
    cleanups.push(() => s3.stop());
    standIns.push(`S3: moto server on ${s3.endpoint}, buckets persisted under ${path.join(dir, 's3')}`);
    const s3Config = { endpoint: s3.endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS };

    await deploySparkCode(model, s3.client, log);
    const secrets = secretsOf(model, dir);
    const credentialsOf = (arn: string): { username: string; password: string } | undefined => {
      const value = secrets[arn];
      return value ? (JSON.parse(value) as { username: string; password: string }) : undefined;
    };
    const admin = credentialsOf(model.database.adminSecretArn);
    if (!admin) throw new Error(`no secret ${model.database.adminSecretArn} in the template`);

    const db = await startMariaDbServer({ dataDir: path.join(dir, 'mysql'), runDir: path.join(work, 'mysql-run') });
    cleanups.push(() => db.stop());
    await db.createAdmin(admin.username, admin.password);
    await db.exec(`CREATE DATABASE IF NOT EXISTS \`${model.database.name}\` CHARACTER SET utf8mb4`);
    const dataApi = await startDataApiStandIn({
      socketPath: db.socketPath,
      clusterArn: model.database.clusterArn,
      credentialsFor: async (arn) => credentialsOf(arn),
      s3: s3Config,
      workDir: path.join(work, 'data-api'),
      log: (line) => fs.appendFileSync(path.join(dir, 'logs', 'data-api.log'), `${line}\n`),
    });
    cleanups.push(() => dataApi.stop());
    standIns.push(`Aurora MySQL + RDS Data API: MariaDB ${path.join(dir, 'mysql')} behind a Data API stand-in (server-side prepared statements; LOAD DATA FROM S3 as a local load)`);
    const awsJson = await startAwsJsonStandIn({
      template: model.template,
      s3: s3Config,
      workDir: path.join(work, 'athena'),
      secrets,
      log: (line) => fs.appendFileSync(path.join(dir, 'logs', 'athena.log'), `${line}\n`),
    });
    cleanups.push(() => awsJson.stop());
    standIns.push(`${ATHENA_STANDIN_NOTICE}; Secrets Manager: the template's generated secrets`);

    const lambdas = new LambdaStandIn({
      functions: model.functions,
      nodeModules: path.join(REPO_ROOT, 'node_modules'),
      workDir: dir,
      awsEnvironment: {
        AWS_REGION: EMULATOR_REGION,
        AWS_DEFAULT_REGION: EMULATOR_REGION,
        AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ENDPOINT_URL_RDS_DATA: dataApi.endpoint,
        AWS_ENDPOINT_URL_ATHENA: awsJson.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: awsJson.endpoint,
      },
      log,
    });
    standIns.push('Lambda: each function\'s synthesized bundle in its own process with the template\'s environment');
    const emr = new EmrStandIn({
      python,
      applicationId: model.emr.applicationId,
      jobRoleArn: model.emr.jobRoleArn,
      sparkDefaults: model.emr.sparkDefaults,
      s3: s3Config,
      logDir: path.join(dir, 'logs', 'spark'),
      log,
    });
    standIns.push('EMR Serverless: spark-submit on local[2] (pyspark of .venv-spark, S3A for s3://)');

    // As on deploy: the serving-schema custom resource brings the database up to date.
    if (model.servingSchema) {
      const markerFile = path.join(dir, REHEARSAL_MARKER);
      const marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as { schemaProperties?: Record<string, unknown> };
      const requestType = marker.schemaProperties ? 'Update' : 'Create';
      log(`Deploy: serving schema (custom resource ${requestType}) …`);
      await lambdas.invoke(model.servingSchema.functionArn, {
        RequestType: requestType,
        ServiceToken: model.servingSchema.functionArn,
        ResponseURL: 'http://127.0.0.1/unused',
        StackId: 'rehearsal',
        RequestId: `rehearsal-${Date.now()}`,
        LogicalResourceId: model.servingSchema.logicalId,
        ResourceType: 'Custom::ServingSchema',
        ResourceProperties: { ServiceToken: model.servingSchema.functionArn, ...model.servingSchema.properties },
        ...(marker.schemaProperties ? { PhysicalResourceId: `serving-schema-${model.database.name}`, OldResourceProperties: marker.schemaProperties } : {}),
      });
      writeAtomically(markerFile, JSON.stringify({ ...marker, schemaProperties: { ServiceToken: model.servingSchema.functionArn, ...model.servingSchema.properties } }, null, 2) + '\n');
    }

    const before = await servedState(db.socketPath, admin, model.database.name);

    const executionName = `rehearsal-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
    const runId = options.runId ?? runIdFromExecutionName(executionName);
    const rawBucket = rawBucketOf(model);
    const prefix = `rehearsal/${runId}/`;
    await replacePrefix(s3.client, rawBucket, prefix, files);
    log(`Input: ${files.length} file(s) uploaded to s3://${rawBucket}/${prefix}`);

    const input = { inputPrefix: prefix, dataset: options.dataset ?? 'auto', runId };
    const notices: { subject: string; message: unknown }[] = [];
    const taskRecords: StateRecord[] = [];
    const running = new Set<Promise<unknown>>();
    const handlers: Record<string, (input: any) => Promise<unknown>> = {};
    for (const name of taskStateNames(model.definition)) {
      const resource = states.get(name)?.Resource ?? '';
      handlers[name] = async (taskInput: any) => {
        const t0 = Date.now();
        const work = (async (): Promise<unknown> => {
          if (options.failAt !== undefined && (name === options.failAt || owners.get(name) === options.failAt)) {
            throw Object.assign(new Error(`rehearsal: --fail-at ${options.failAt} made ${name} fail`), { name: 'States.TaskFailed' });
          }
          if (resource.startsWith('arn:aws:lambda:')) return lambdas.invoke(resource, taskInput);
          if (resource === 'arn:aws:states:::lambda:invoke') {
            const payload = await lambdas.invoke(taskInput.FunctionName, taskInput.Payload);
            return { StatusCode: 200, Payload: payload, ExecutedVersion: '$LATEST' };
          }
          if (resource.startsWith('arn:aws:states:::emr-serverless:startJobRun')) return emr.run(taskInput as StartJobRunInput);
          if (resource === 'arn:aws:states:::sns:publish') {
            const message = typeof taskInput.Message === 'string' ? safeJson(taskInput.Message) : taskInput.Message;
            notices.push({ subject: String(taskInput.Subject ?? ''), message });
            log(`  SNS notice: ${taskInput.Subject ?? ''}`);
            return { MessageId: `rehearsal-${notices.length}` };
          }
          throw Object.assign(new Error(`no stand-in for the resource ${resource} of state ${name}`), { name: 'States.Runtime' });
        })();
        running.add(work);
        try {
          const result = await work;
          taskRecords.push({ name, status: 'SUCCEEDED', seconds: (Date.now() - t0) / 1000 });
          return result;
        } catch (e) {
          taskRecords.push({ name, status: 'FAILED', seconds: (Date.now() - t0) / 1000 });
          // A failed branch ends its Parallel: Step Functions stops the siblings' job runs.
          if (owners.get(name) !== name) emr.cancelAll();
          throw e;
        } finally {
          running.delete(work);
        }
      };
    }

    log('Stand-ins (nothing here calls AWS):');
    for (const line of standIns) log(`  - ${line}`);
    const entered = new Map<string, number>();
    const failed = new Set<string>();
    const topStates: StateRecord[] = [];
    log(`Execution ${executionName} (run id ${runId}${options.failAt ? `, --fail-at ${options.failAt}` : ''}):`);
    const execution = await runLocally(model.definition, input, {
      handlers,
      execution: { Id: `${model.stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`, Name: executionName },
      onEvent: (event) => {
        const name: string | undefined = event.state?.name;
        if (!name) return;
        const top = owners.get(name) === name;
        const indent = top ? '  ' : '      ';
        if (event.type === 'StateEntered') {
          entered.set(name, event.timestamp);
          if (top || states.get(name)?.Type === 'Task') log(`${indent}▶ ${name}`);
        } else if (event.type === 'StateExited' || event.type === 'StateFailed') {
          // A caught failure is followed by its StateExited: the state still failed.
          if (event.type === 'StateExited' && failed.has(name)) return;
          if (event.type === 'StateFailed') failed.add(name);
          const seconds = (event.timestamp - (entered.get(name) ?? event.timestamp)) / 1000;
          const status = event.type === 'StateExited' ? 'SUCCEEDED' : 'FAILED';
          if (top) topStates.push({ name, status, seconds });
          if (top || states.get(name)?.Type === 'Task') {
            log(`${indent}${status === 'SUCCEEDED' ? '✓' : '✗'} ${name} ${seconds.toFixed(1)} s${status === 'FAILED' ? `: ${event.Error ?? ''} ${String(event.Cause ?? '').slice(0, 300)}` : ''}`);
          }
        } else if (event.type === 'StateRetried') {
          log(`${indent}↻ ${name} retried (attempt ${event.retry?.attempt})`);
        }
      },
    });
    // Cancelled siblings end on their own; nothing may still write when the emulator stops.
    emr.cancelAll();
    await Promise.allSettled([...running]);

    const after = await servedState(db.socketPath, admin, model.database.name);
    const api = await askApi(model, lambdas, db.socketPath, admin, model.database.name);
    const persisted = await s3.persist();
    log(`S3 emulator: ${persisted.objects} objects persisted under ${path.join(dir, 's3')}`);

    const status = execution.outcome.status;
    const failureNoticed = notices.some((n) => (n.message as { status?: string } | undefined)?.status === 'FAILED');
    const asExpected =
      options.failAt === undefined
        ? status === 'SUCCEEDED' && after.servedRunId === runId
        : status === 'FAILED' && failureNoticed && after.servedRunId === before.servedRunId;
    const report: RehearsalReport = {
      status,
      runId,
      executionName,
      failAt: options.failAt ?? null,
      asExpected,
      ...(execution.outcome.status === 'FAILED' ? { error: { error: execution.outcome.error, cause: execution.outcome.cause } } : {}),
      states: topStates,
      tasks: taskRecords,
      served: after.served,
      servedRunId: after.servedRunId,
      previousServedRunId: before.servedRunId,
      notices,
      api,
      standIns,
      seconds: (Date.now() - started) / 1000,
    };
    writeAtomically(path.join(dir, 'rehearsal.json'), JSON.stringify(report, null, 2) + '\n');
    return report;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e: Error) => log(`cleanup: ${e.message}`));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function rawBucketOf(model: StackModel): string {
  const validate = model.functions.find((f) => f.environment.RAW_BUCKET);
  if (!validate) throw new Error('no function of the template has RAW_BUCKET in its environment');
  return validate.environment.RAW_BUCKET;
}

/** Replaces the objects under `prefix` with the input files (a re-upload of the same run's folder). */
async function replacePrefix(client: import('@aws-sdk/client-s3').S3Client, bucket: string, prefix: string, files: { file: string; key: string }[]): Promise<void> {
  const old = await listKeys(client, bucket, prefix);
  for (let i = 0; i < old.length; i += 1000) {
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: old.slice(i, i + 1000).map((o) => ({ Key: o.key })) } }));
  }
  for (const f of files) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${f.key}`, Body: fs.readFileSync(f.file) }));
}

/** The Spark code into the artifacts bucket, as the template's BucketDeployment (prune: true) puts it. */
async function deploySparkCode(model: StackModel, client: import('@aws-sdk/client-s3').S3Client, log: (line: string) => void): Promise<void> {
  const deployments = Object.values(model.template.Resources).filter((r) => r.Type === 'Custom::CDKBucketDeployment');
  for (const d of deployments) {
    const p = d.Properties;
    const bucket = String(p.DestinationBucketName);
    const prefix = String(p.DestinationBucketKeyPrefix ?? '');
    const files: { file: string; key: string }[] = [];
    for (const key of p.SourceObjectKeys as string[]) {
      const folder = path.join(model.cdkOut, `asset.${key.replace(/\.zip$/, '')}`);
      if (!fs.existsSync(folder)) throw new Error(`the BucketDeployment's asset ${key} is not in ${model.cdkOut}`);
      files.push(...inputFiles([folder]));
    }
    await replacePrefix(client, bucket, prefix, files);
    log(`Deploy: ${files.length} Spark code file(s) to s3://${bucket}/${prefix}`);
  }
}

/** The recommendations API's handler, as API Gateway calls it: /health, then one served user's recommendations. */
async function askApi(
  model: StackModel,
  lambdas: LambdaStandIn,
  socketPath: string,
  admin: { username: string; password: string },
  database: string,
): Promise<RehearsalReport['api']> {
  const fn = model.functions.find((f) => /RecommendationsApi/.test(f.logicalId) && f.environment.CLUSTER_ARN);
  if (!fn) return { health: 'no recommendations API function in the template' };
  const call = async (event: object): Promise<{ statusCode: number; body: any }> => {
    const response = (await lambdas.invoke(fn.arn, event)) as { statusCode: number; body: string };
    return { statusCode: response.statusCode, body: safeJson(response.body) };
  };
  const health = await call(apiEvent('GET', '/health', 'GET /health')).catch((e: Error) => ({ statusCode: 0, body: e.message }));
  const user = await adminQuery(socketPath, admin, database, async (c) => {
    try {
      const [rows] = await c.query('SELECT `user_id` FROM `user_recommendations` ORDER BY `user_id` LIMIT 1');
      return (rows as { user_id: unknown }[])[0]?.user_id;
    } catch {
      return undefined;
    }
  });
  if (user === undefined) return { health };
  const rawPath = `/users/${encodeURIComponent(String(user))}/recommendations`;
  const response = await call(apiEvent('GET', rawPath, 'GET /users/{userId}/recommendations', { userId: String(user) }));
  const items = Array.isArray(response.body?.recommendations) ? response.body.recommendations.length : Array.isArray(response.body?.items) ? response.body.items.length : 0;
  return { health, sample: { path: rawPath, statusCode: response.statusCode, items } };
}
