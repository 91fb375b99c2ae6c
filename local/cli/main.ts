/**
 * `shopsight`: the local engine's command line.
 *
 *   shopsight run --input <file|dir|glob>... [--dataset rees46|retailrocket|auto] [--out DIR] [--mysql URL] [--config FILE]
 *   shopsight generate --dataset rees46|retailrocket --events N --seed S --out FILE[.gz]
 *   shopsight demo [--events N] [--out DIR]
 *   shopsight report DIR
 *   shopsight rehearse --input <files> [--out DIR] [--fail-at STATE] [--run-id ID]
 *   shopsight app [RUN_DIR…] [--port 8080] [--host 127.0.0.1] [--allow-host NAME] [--workdir DIR] [--max-upload-mb N]
 *
 * A user's mistake (a bad argument, a missing or unusable input, a failed MySQL load) prints one
 * line naming the problem and exits with its documented code; only a bug prints a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { DATASET_KINDS, DatasetKind } from '../../core/config/execution-input';
import { DEFAULT_PIPELINE_PARAMETERS, PipelineParameters, resolvePipelineParameters } from '../../core/config/pipeline-params';
import { generate } from '../generate';
import { InputError } from '../engine/inputs';
import { MysqlLoadError, runPipeline } from '../engine/pipeline';
import { isLossTolerance } from '../ml/als';
import { EXIT } from '../engine/exit-codes';
import { addRunFolderEntries, ENGINE_VERSION, OutputFolderError } from '../engine/run-folder';
import { writeReport } from '../report';
import { ConsoleProgress, formatCount, formatSeconds } from './progress';

export class UsageError extends Error {}

export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
  /** Live progress on a terminal; plain lines otherwise. @default stderr is a TTY and CI is unset */
  readonly live?: boolean;
}

const HELP: Record<string, string> = {
  main: `shopsight: e-commerce behaviour analytics on one machine (the local twin of the AWS pipeline)

Usage: shopsight <command> [options]

Commands:
  demo       generate synthetic data, run the whole pipeline, write the HTML report
  run        run the whole pipeline on your REES46 or RetailRocket export
  generate   write synthetic REES46 or RetailRocket data
  report     (re)build the HTML report of a run folder
  app        a local web app over run folders (overview, funnel, products, customers, SQL, uploads)
  rehearse   run the deployable state machine end to end on local stand-ins of AWS

Run "shopsight help <command>" (or "shopsight <command> --help") for a command's options,
"shopsight --version" for the version.
Exit codes: ${EXIT.ok} ok, ${EXIT.internal} internal error, ${EXIT.usage} bad arguments or a refused output folder, ${EXIT.inputNotFound} input not found,
${EXIT.inputUnusable} input unusable, ${EXIT.mysqlLoad} MySQL unusable or its load failed, ${EXIT.rehearsalFailed} rehearsal did not end as asked.`,
  run: `Usage: shopsight run --input <file|dir|glob>... [options]

Runs every stage locally: validate, prepare (clean, deduplicate, canonical events), the seven
schemas, the insights, association rules, recommendations, purchase intent, customer segments;
writes Parquet tables, the serving CSVs + manifest, run-summary.json and report/index.html.

The run is written beside --out and moved into place when it succeeds, so a failed or stopped run
leaves the previous one as it was. --out must be new, empty, or an earlier run folder (it has
.shopsight-run.json and nothing else of yours): anything else is refused, never changed.

Options:
  --input, -i <path>     input file, folder (every .csv/.csv.gz under it) or glob; repeatable
  --dataset <kind>       rees46, retailrocket or auto (default: auto, from the files' headers)
  --out, -o <dir>        output folder (default: ./shopsight-out)
  --mysql <url>          also load the serving tables into MySQL/MariaDB, e.g.
                         mysql://user:password@127.0.0.1:3306/shopsight or mysql://user@localhost/shopsight?socket=/run/mysqld/mysqld.sock
                         (the server is checked before the run: reachable, local_infile=1, the user may create tables)
  --config <file>        JSON: {"parameters": {…pipeline parameter overrides…}, "memoryLimit": "4GB", "threads": 2, "alsLossTolerance": 0.001}
  --run-id <id>          run id (default: local-<UTC time>)
  --memory-limit <size>  DuckDB memory limit, e.g. 4GB (default: 60% of RAM less what the ML stages
                         need for this input, 512 MiB to 4 GiB)
  --threads <n>          DuckDB threads (default: all cores)
  --als-tolerance <x>    stop ALS once an iteration lowers its loss by no more than this fraction,
                         e.g. 0.001 (default: off, every recommendations.maxIter iteration runs, as on Spark)
  --no-report            skip the HTML report
  --help, -h             this help`,
  generate: `Usage: shopsight generate --dataset rees46|retailrocket --events N --seed S --out FILE[.gz]

Writes synthetic data shaped like the public dataset (funnel rates, heavy-tailed activity, missing
categories and brands at the real rates, sessions, prices by category) with planted structure
(bundles bought together, user preferences, segments) described in FILE's .truth.json.
RetailRocket also writes category_tree.csv and item_properties_part1.csv beside FILE.

Options:
  --dataset <kind>     rees46 or retailrocket (default: rees46)
  --events <n>         number of events (default: 100000)
  --seed <s>           seed; the same seed gives the same bytes (default: 42)
  --out, -o <file>     output file; .gz compresses (required). An existing file is refused, unless it
                       was written by generate (its .truth.json is beside it)
  --days <n>           days covered (default: 30)
  --start-date <date>  first day, YYYY-MM-DD (default: 2019-10-01 / 2015-05-03)
  --spend-trends       plant spend trends: each user's purchase propensity drifts up or down over
                       the period (seeded; each sampled user's trend is in the .truth.json). Without
                       it the output is unchanged
  --help, -h           this help`,
  demo: `Usage: shopsight demo [--events N] [--out DIR]

Generates synthetic REES46 data, runs the whole pipeline on it and writes the HTML report.

Options:
  --events <n>      number of events (default: 300000)
  --seed <s>        generator seed (default: 42)
  --out, -o <dir>   output folder (default: ./shopsight-demo): new, empty or an earlier run folder
  --help, -h        this help`,
  rehearse: `Usage: shopsight rehearse --input <file|dir>... [options]

Synthesizes the CDK app and runs its Step Functions state machine locally, every task served by
the real code: the Lambdas' bundles, the Spark jobs through spark-submit on local pyspark (S3A to
an S3 emulator), Athena's SQL on DuckDB, Aurora behind a Data API stand-in on a private MariaDB.
Then asks the recommendations API. Needs Java 17, MariaDB and the Python environment
(scripts/python-env.sh, made on first use). Writes DIR/rehearsal.json; a second rehearsal with
the same DIR continues from the first, as a second execution in one account would.

Options:
  --input, -i <path>   input file or folder, uploaded into the raw bucket; repeatable
  --out, -o <dir>      rehearsal folder (default: ./shopsight-rehearsal); must be new, empty or a rehearsal's
  --run-id <id>        the execution input's runId (default: from the execution name)
  --dataset <kind>     rees46, retailrocket or auto (default: auto)
  --fail-at <state>    make that state's task fail (e.g. SegmentsJob, LoadServingTables); the
                       execution must then end in the failure notice with the previous run still served
  --stage <stage>      CDK stage to synthesize (default: dev)
  --help, -h           this help

Exit: ${EXIT.ok} when the execution did what was asked (succeeded and serves the run, or failed where told
and still serves the previous run), ${EXIT.rehearsalFailed} otherwise.`,
  app: `Usage: shopsight app [RUN_DIR…] [options]

Serves a local web app over run folders (newest first): key figures, the funnel, products,
customers and their recommendations, what-if purchase probability, rules, a read-only SQL
workbench, rejected rows, and new runs from an uploaded CSV or a generated demo. With no RUN_DIR
it serves ./shopsight-demo and ./shopsight-out, those of them that are run folders. Prints its URL
and serves until Ctrl-C. Nothing leaves the machine; it has no authentication, so it listens on
loopback unless --host says otherwise.

Options:
  --port <n>            port (default: 8080; 0 picks a free one)
  --host <addr>         address to listen on (default: 127.0.0.1)
  --workdir <dir>       where uploads and the runs started from the app are kept
                        (default: ./shopsight-app-runs); must be new, empty or one the app made
  --max-upload-mb <n>   largest upload in MB (default: 512)
  --allow-host <name>   also answer requests whose Host header names this machine so (repeatable;
                        e.g. its host name or LAN address with --host 0.0.0.0). Any other Host
                        gets 421, which is what stops DNS rebinding
  --help, -h            this help

Exit: ${EXIT.ok} when stopped by Ctrl-C or a TERM, ${EXIT.usage} for a bad option, a RUN_DIR that is not a run folder or
a --workdir the app did not create that is not empty, ${EXIT.internal} when the port is taken.`,
  report: `Usage: shopsight report DIR

(Re)builds DIR/report/index.html from the tables and run-summary.json of a run folder.

Options:
  --help, -h   this help`,
};

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (error) {
    // One line: node:util's hint for a value that starts with a dash is on its second.
    throw new UsageError((error as Error).message.split('\n').join(' '));
  }
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return Number(value);
}

function datasetArg(value: string | undefined, allowAuto: boolean): DatasetKind | 'auto' {
  const allowed: string[] = allowAuto ? [...DATASET_KINDS, 'auto'] : [...DATASET_KINDS];
  const v = value ?? (allowAuto ? 'auto' : 'rees46');
  if (!allowed.includes(v)) throw new UsageError(`--dataset must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as DatasetKind | 'auto';
}

interface ConfigFile {
  parameters: PipelineParameters;
  memoryLimit?: string;
  threads?: number;
  alsLossTolerance?: number;
}

/** A DuckDB memory size (--memory-limit, memoryLimit). */
const SIZE_RE = /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/** --als-tolerance's text as a tolerance AlsParams accepts, else undefined. */
function toleranceArg(text: string): number | undefined {
  const x = text.trim() === '' ? Number.NaN : Number(text);
  return isLossTolerance(x) ? x : undefined;
}

/** Reads `--config`; any problem is a UsageError naming the file. */
export function readConfig(file: string | undefined): ConfigFile {
  if (!file) return { parameters: DEFAULT_PIPELINE_PARAMETERS };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UsageError(`--config ${file}: ${e.code === 'ENOENT' ? 'no such file' : `not valid JSON (${e.message})`}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`--config ${file}: expected a JSON object`);
  const { parameters, memoryLimit, threads, alsLossTolerance, ...rest } = raw as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new UsageError(`--config ${file}: unknown key(s) ${unknown.join(', ')}; allowed: parameters, memoryLimit, threads, alsLossTolerance`);
  if (alsLossTolerance !== undefined && !isLossTolerance(alsLossTolerance)) {
    throw new UsageError(`--config ${file}: alsLossTolerance must be a number in [0, 1), got ${JSON.stringify(alsLossTolerance)}`);
  }
  if (memoryLimit !== undefined && (typeof memoryLimit !== 'string' || !SIZE_RE.test(memoryLimit))) {
    throw new UsageError(`--config ${file}: memoryLimit must be a size such as "4GB", got ${JSON.stringify(memoryLimit)}`);
  }
  if (threads !== undefined && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1)) {
    throw new UsageError(`--config ${file}: threads must be a positive integer, got ${JSON.stringify(threads)}`);
  }
  try {
    return {
      parameters: resolvePipelineParameters(parameters),
      memoryLimit: memoryLimit as string | undefined,
      threads: threads as number | undefined,
      alsLossTolerance: alsLossTolerance as number | undefined,
    };
  } catch (error) {
    throw new UsageError(`--config ${file}: ${(error as Error).message}`);
  }
}

async function runCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, {
    input: { type: 'string', short: 'i', multiple: true },
    dataset: { type: 'string' },
    out: { type: 'string', short: 'o' },
    mysql: { type: 'string' },
    config: { type: 'string' },
    'run-id': { type: 'string' },
    'memory-limit': { type: 'string' },
    threads: { type: 'string' },
    'als-tolerance': { type: 'string' },
    'no-report': { type: 'boolean' },
  });
  if (values.help) return help(io, 'run');
  const tolerance = values['als-tolerance'];
  if (tolerance !== undefined && toleranceArg(tolerance) === undefined) throw new UsageError(`--als-tolerance must be a number in [0, 1), got ${JSON.stringify(tolerance)}`);
  const memoryLimit = values['memory-limit'];
  if (memoryLimit !== undefined && !SIZE_RE.test(memoryLimit)) throw new UsageError(`--memory-limit must be a size such as 4GB, got ${JSON.stringify(memoryLimit)}`);
  if (!values.input || values.input.length === 0) throw new UsageError('run needs at least one --input <file|dir|glob>');
  const config = readConfig(values.config);
  const out = path.resolve(values.out ?? 'shopsight-out');
  if (values.mysql !== undefined) {
    const { connectionOptionsFromUrl } = require('../serving/mysql-loader') as typeof import('../serving/mysql-loader');
    try {
      connectionOptionsFromUrl(values.mysql);
    } catch (error) {
      throw new UsageError(`--mysql: ${(error as Error).message === 'Invalid URL' ? `not a URL: ${values.mysql.replace(/:[^:@/]*@/, ':***@')}` : (error as Error).message}`);
    }
  }
  const progress = new ConsoleProgress(io.stderr, io.live);
  try {
    const result = await runPipeline({
      inputs: values.input,
      dataset: datasetArg(values.dataset, true),
      out,
      params: config.parameters,
      runId: values['run-id'],
      memoryLimit: memoryLimit ?? config.memoryLimit,
      threads: values.threads === undefined ? config.threads : positiveInt('threads', values.threads, 1),
      alsLossTolerance: tolerance === undefined ? config.alsLossTolerance : toleranceArg(tolerance),
      mysql: values.mysql,
      report: !values['no-report'],
      progress,
    });
    const t = result.summary.totals;
    io.stderr.write(`\n${progress.summary()}\n\n`);
    io.stdout.write(
      `Run ${result.summary.runId}: ${formatCount(t.rowsRead)} rows read, ${formatCount(t.accepted)} accepted, ${formatCount(t.rejected)} rejected, ${formatCount(t.duplicatesRemoved)} duplicates removed.\n` +
        `Tables: ${out}\n` +
        (result.reportPath ? `Report: ${result.reportPath}\n` : ''),
    );
    return EXIT.ok;
  } catch (error) {
    progress.abort();
    throw error;
  }
}

async function generateCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, {
    dataset: { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string', short: 'o' },
    days: { type: 'string' },
    'start-date': { type: 'string' },
    'spend-trends': { type: 'boolean' },
  });
  if (values.help) return help(io, 'generate');
  if (!values.out) throw new UsageError('generate needs --out FILE (add .gz to compress)');
  const startDate = values['start-date'];
  if (startDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(startDate)) throw new UsageError(`--start-date must be YYYY-MM-DD, got "${startDate}"`);
  const events = positiveInt('events', values.events, 100_000);
  const dataset = datasetArg(values.dataset, false) as DatasetKind;
  const seed = values.seed === undefined ? 42 : positiveIntOrZero('seed', values.seed);
  const days = values.days === undefined ? undefined : positiveInt('days', values.days, 30);
  const started = Date.now();
  const files = await generateInPlace(path.resolve(values.out), (out) => generate({ dataset, events, seed, out, days, startDate, spendTrends: values['spend-trends'] }));
  const seconds = (Date.now() - started) / 1000;
  io.stdout.write(`Wrote ${formatCount(events)} events in ${formatSeconds(seconds)}: ${files.join(', ')}\n`);
  return EXIT.ok;
}

/**
 * Runs `write` into a temporary folder beside `out`, then moves each file it wrote into place.
 * Refuses (exit 2, nothing written) when one of them would replace a file that generate did not
 * write: an existing file is ours only when its .truth.json (written last, listing the files) is.
 */
async function generateInPlace(out: string, write: (tmpOut: string) => Promise<{ files: string[] }>): Promise<string[]> {
  const dir = path.dirname(out);
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new OutputFolderError(`--out ${out} is a folder; generate writes a file (e.g. ${path.join(out, 'events.csv.gz')})`);
  let tmp: string;
  try {
    fs.mkdirSync(dir, { recursive: true });
    tmp = fs.mkdtempSync(path.join(dir, `.${path.basename(out)}.shopsight-tmp-`));
  } catch (error) {
    throw new OutputFolderError(`--out ${out}: cannot write in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const { files } = await write(path.join(tmp, path.basename(out)));
    const targets = files.map((f) => path.join(dir, path.relative(tmp, f)));
    const truth = targets.find((f) => f.endsWith('.truth.json'));
    let ours: string[] = [];
    try {
      ours = truth && fs.existsSync(truth) ? ((JSON.parse(fs.readFileSync(truth, 'utf8')) as { files?: string[] }).files ?? []) : [];
    } catch {
      ours = [];
    }
    const foreign = targets.filter((f) => fs.existsSync(f) && !ours.includes(path.basename(f)));
    if (foreign.length > 0) {
      throw new OutputFolderError(`--out ${out}: ${foreign.join(', ')} already exist${foreign.length === 1 ? 's' : ''} and generate did not write ${foreign.length === 1 ? 'it' : 'them'}; choose another --out (nothing was changed)`);
    }
    // The truth file last: it is what marks the others as generate's.
    const order = [...targets.filter((f) => f !== truth), ...(truth ? [truth] : [])];
    for (const target of order) fs.renameSync(path.join(tmp, path.relative(dir, target)), target);
    return order;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function positiveIntOrZero(name: string, value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) > 2 ** 31 - 1) throw new UsageError(`--${name} must be an integer from 0 to 2147483647, got "${value}"`);
  return Number(value);
}

async function demoCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, { events: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string', short: 'o' } });
  if (values.help) return help(io, 'demo');
  const out = path.resolve(values.out ?? 'shopsight-demo');
  const events = positiveInt('events', values.events, 300_000);
  const seed = values.seed === undefined ? 42 : positiveIntOrZero('seed', values.seed);
  const progress = new ConsoleProgress(io.stderr, io.live);
  // The generated input is part of the run folder: written into it while the run is made.
  const inputs = async (runFolder: string): Promise<string[]> => {
    const input = path.join(runFolder, 'input', 'rees46-synthetic.csv.gz');
    progress.stageStart('generate');
    const started = Date.now();
    const generated = await generate({ dataset: 'rees46', events, seed, out: input });
    progress.stageEnd('generate', (Date.now() - started) / 1000, generated.events, `seed ${seed}`);
    return [input];
  };
  try {
    const result = await runPipeline({ inputs, dataset: 'rees46', out, params: DEFAULT_PIPELINE_PARAMETERS, progress });
    io.stderr.write(`\n${progress.summary()}\n\n`);
    io.stdout.write(`Report: ${result.reportPath}\nTables: ${out}\n`);
    return EXIT.ok;
  } catch (error) {
    progress.abort();
    throw error;
  }
}

async function reportCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {}, true);
  if (values.help) return help(io, 'report');
  if (positionals.length !== 1) throw new UsageError('report needs exactly one run folder: shopsight report DIR');
  const dir = path.resolve(positionals[0]);
  if (!fs.existsSync(path.join(dir, 'run-summary.json'))) {
    throw new InputError(`${dir}: not a run folder (no run-summary.json); run "shopsight run" first`, EXIT.inputNotFound);
  }
  io.stdout.write(`Report: ${await writeReport(dir)}\n`);
  addRunFolderEntries(dir, ['report']);
  return EXIT.ok;
}

function help(io: CliIO, topic: keyof typeof HELP): number {
  io.stdout.write(`${HELP[topic]}\n`);
  return EXIT.ok;
}

async function rehearseCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, {
    input: { type: 'string', short: 'i', multiple: true },
    out: { type: 'string', short: 'o' },
    'run-id': { type: 'string' },
    dataset: { type: 'string' },
    'fail-at': { type: 'string' },
    stage: { type: 'string' },
  });
  if (values.help) return help(io, 'rehearse');
  if (!values.input || values.input.length === 0) throw new UsageError('rehearse needs at least one --input <file|dir>');
  if (!fs.existsSync(path.join(__dirname, '../../cdk.json'))) {
    throw new UsageError(
      'rehearse runs from a clone of the ShopSight repository (it synthesizes the CDK app and runs the Spark jobs there); ' +
        'this installed package holds the local engine only: git clone the repository, npm ci, then npx shopsight rehearse',
    );
  }
  // Loaded here, not at the top: the CDK library takes seconds to load and only this command needs it.
  const { rehearse, RehearsalSetupError } = require('../rehearse') as typeof import('../rehearse');
  try {
    const report = await rehearse({
      inputs: values.input,
      dir: path.resolve(values.out ?? 'shopsight-rehearsal'),
      runId: values['run-id'],
      dataset: datasetArg(values.dataset, true),
      failAt: values['fail-at'],
      context: values.stage ? { stage: values.stage } : undefined,
      log: (line) => io.stderr.write(`${line}\n`),
    });
    const served = Object.values(report.served).reduce((a, b) => a + b, 0);
    io.stdout.write(
      `Rehearsal ${report.executionName}: ${report.status}${report.failAt ? ` (--fail-at ${report.failAt})` : ''} in ${formatSeconds(report.seconds)}; ` +
        `serving run ${report.servedRunId ?? '(none)'} (${formatCount(served)} rows in ${Object.keys(report.served).length} tables)` +
        `${report.asExpected ? '' : ' — NOT what was asked'}.\n` +
        `Report: ${path.join(path.resolve(values.out ?? 'shopsight-rehearsal'), 'rehearsal.json')}\n`,
    );
    return report.asExpected ? EXIT.ok : EXIT.rehearsalFailed;
  } catch (error) {
    if (error instanceof RehearsalSetupError) throw error.exitCode === EXIT.usage ? new UsageError(error.message) : new InputError(error.message, EXIT.inputNotFound);
    throw error;
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

async function appCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    workdir: { type: 'string' },
    'max-upload-mb': { type: 'string' },
    'allow-host': { type: 'string', multiple: true },
  }, true);
  if (values.help) return help(io, 'app');
  const port = values.port === undefined ? 8080 : /^\d{1,5}$/.test(values.port) && Number(values.port) <= 65535 ? Number(values.port) : NaN;
  if (Number.isNaN(port)) throw new UsageError(`--port must be a port number from 0 to 65535, got "${values.port}"`);
  const host = values.host ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new UsageError(`--host must be a host name or address, got "${host}"`);
  const maxUploadMb = positiveInt('max-upload-mb', values['max-upload-mb'], 512);
  const allowHosts = values['allow-host'] ?? [];
  for (const h of allowHosts) if (!/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]{2,45}\]$/.test(h)) throw new UsageError(`--allow-host must be a host name, an IPv4 address or a bracketed IPv6 address, got "${h}"`);
  // Loaded here: Fastify and the front-end bundler are needed by this command only.
  const { startApp, WorkdirError } = require('../app/server') as typeof import('../app/server');
  const { NotARunFolderError, runFolderProblem } = require('../app/runs') as typeof import('../app/runs');
  const runDirs = positionals.length > 0
    ? positionals.map((d) => path.resolve(d))
    : ['shopsight-demo', 'shopsight-out'].map((d) => path.resolve(d)).filter((d) => runFolderProblem(d) === null);
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp({ runDirs, port, host, allowHosts, workdir: path.resolve(values.workdir ?? 'shopsight-app-runs'), maxUploadMb, log: (line) => io.stderr.write(`shopsight app: ${line}\n`) });
  } catch (error) {
    if (error instanceof NotARunFolderError || error instanceof WorkdirError) throw new UsageError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      io.stderr.write(`shopsight: cannot listen on ${host}:${port} (${code === 'EADDRINUSE' ? 'the port is taken; choose another with --port' : code})\n`);
      return EXIT.internal;
    }
    throw error;
  }
  if (!LOOPBACK.has(host)) io.stderr.write(`shopsight: warning: listening on ${host}, beyond this machine; the app has no authentication\n`);
  if ((host === '0.0.0.0' || host === '::') && allowHosts.length === 0) {
    io.stderr.write(`shopsight: note: requests must name this server as ${host} or loopback, or a name given with --allow-host (e.g. --allow-host $(hostname)); others get 421\n`);
  }
  if (runDirs.length === 0) io.stderr.write('shopsight: no run folder given or found (./shopsight-demo, ./shopsight-out): start a run from the runs page\n');
  io.stdout.write(`ShopSight app: ${app.url}\n`);
  // Stopping the app is its normal end (exit 0), unlike a run cut short (bin.js's handlers).
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      io.stderr.write(`shopsight: stopped by ${signal}\n`);
      app.close().then(() => resolve(EXIT.ok), () => resolve(EXIT.ok));
    };
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal);
      process.on(signal, stop);
    }
  });
}

const COMMANDS: Record<string, (args: string[], io: CliIO) => Promise<number>> = {
  run: runCommand,
  app: appCommand,
  rehearse: rehearseCommand,
  generate: generateCommand,
  demo: demoCommand,
  report: reportCommand,
};

/** Runs the CLI on `argv` (without node and the script) and returns the exit code; never throws. */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h') return help(io, 'main');
    if (command === '--version' || command === '-V' || command === 'version') {
      io.stdout.write(`shopsight ${ENGINE_VERSION}\n`);
      return EXIT.ok;
    }
    if (command === 'help') {
      const topic = rest[0];
      if (topic === undefined) return help(io, 'main');
      if (!COMMANDS[topic]) throw new UsageError(`no help for "${topic}": commands are ${Object.keys(COMMANDS).join(', ')}`);
      return help(io, topic);
    }
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`shopsight: ${error.message}\nRun "shopsight ${command && COMMANDS[command] ? `${command} ` : ''}--help" for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof InputError || error instanceof MysqlLoadError || error instanceof OutputFolderError) {
      io.stderr.write(`shopsight: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`shopsight: internal error (please report it): ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.internal;
  }
}
