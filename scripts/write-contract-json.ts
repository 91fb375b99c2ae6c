/**
 * Writes spark-jobs/shopsight_jobs/contract.json: the JSON copy of the table contract (core/contract)
 * and the default pipeline parameters that the PySpark jobs read (README, "The table contract"),
 * plus the Spark jobs' entry scripts and settings (core/config/spark-jobs.ts) for the tests.
 *
 *   npm run contract:json            rewrite the file
 *   npm run contract:json -- --check exit 1 when the committed file is stale
 *
 * test/contract-json.test.ts fails when the committed file differs from `contractJson()`.
 *
 * The key layout functions of core/contract/layout.ts travel as templates ("{table}/run_id={run_id}/"),
 * made by calling the TypeScript functions with placeholders, so the Python side
 * (shopsight_jobs/layout.py) fills them instead of re-implementing the layout. Each template carries
 * an example computed by the TypeScript function, which the Python tests reproduce.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_PIPELINE_PARAMETERS } from '../core/config/pipeline-params';
import { EVENT_TYPES, MISSING_LABEL, OUTPUT_TABLES, RAW_TABLES, RUN_ID_PARTITION } from '../core/contract/tables';
import * as layout from '../core/contract/layout';
import { ALL_SPARK_JOBS } from '../core/config/spark-jobs';

export const CONTRACT_JSON_PATH = path.join(__dirname, '..', 'spark-jobs', 'shopsight_jobs', 'contract.json');

export const GENERATED_BY =
  'Generated from core/contract and core/config/pipeline-params.ts by scripts/write-contract-json.ts (npm run contract:json). Do not edit by hand.';

/** Placeholders of the key templates; the Python side fills them with str.format. */
export type LayoutParam = 'table' | 'run_id';
const PLACEHOLDER: Record<LayoutParam, string> = { table: '{table}', run_id: '{run_id}' };

/**
 * Every key function of layout.ts with its parameters in TypeScript order. A new function there
 * must be added here (the serialiser refuses unknown functions) and to shopsight_jobs/layout.py
 * (the Python tests refuse a template without a Python function).
 */
export const LAYOUT_KEY_FUNCTIONS: Readonly<Record<string, { fn: (...args: string[]) => string; params: readonly LayoutParam[] }>> = {
  curatedTablePrefix: { fn: layout.curatedTablePrefix, params: ['table'] },
  curatedRunPrefix: { fn: layout.curatedRunPrefix, params: ['table', 'run_id'] },
  runSummaryKey: { fn: layout.runSummaryKey, params: ['run_id'] },
  exportRunPrefix: { fn: layout.exportRunPrefix, params: ['run_id'] },
  exportTablePrefix: { fn: layout.exportTablePrefix, params: ['run_id', 'table'] },
  exportManifestKey: { fn: layout.exportManifestKey, params: ['run_id'] },
};

/** Functions of layout.ts that are not key builders (Python has its own `assert_run_id`). */
const LAYOUT_VALIDATORS = ['assertRunId'];

/** Sample arguments the examples are computed with (distinct, so that a swapped argument order shows). */
const SAMPLE_ARGS: Readonly<Record<LayoutParam, string>> = { table: 'purchase_c_s_b', run_id: 'oct-2019' };

/** Run ids whose validity (by RUN_ID_PATTERN) the Python side must judge the same way. */
const RUN_ID_SAMPLES: readonly string[] = [
  'a',
  'oct-2019',
  'run_1',
  '0',
  'a'.repeat(63),
  'a'.repeat(64),
  '',
  'Oct-2019',
  '-leading-dash',
  '_leading_underscore',
  'has space',
  'dot.ted',
  'slash/ed',
  'trailing-newline\n',
  '\nleading-newline',
  'ünicode',
];

function layoutSection(): Record<string, unknown> {
  const constants: Record<string, string> = {};
  const patterns: Record<string, string> = {};
  for (const [name, value] of Object.entries(layout)) {
    if (typeof value === 'string') {
      constants[name] = value;
    } else if (value instanceof RegExp) {
      if (value.flags !== '') throw new Error(`layout.${name}: regular expression flags "${value.flags}" have no Python equivalent here`);
      patterns[name] = value.source;
    } else if (typeof value === 'function') {
      if (!(name in LAYOUT_KEY_FUNCTIONS) && !LAYOUT_VALIDATORS.includes(name)) {
        throw new Error(`layout.${name} is not serialised: add it to LAYOUT_KEY_FUNCTIONS in scripts/write-contract-json.ts`);
      }
    } else {
      throw new Error(`layout.${name}: cannot serialise a ${typeof value}`);
    }
  }
  if (!('RUN_ID_PATTERN' in patterns)) throw new Error('layout.RUN_ID_PATTERN is missing');

  const keyFunctions: Record<string, unknown> = {};
  for (const [name, { fn, params }] of Object.entries(LAYOUT_KEY_FUNCTIONS)) {
    const template = fn(...params.map((p) => PLACEHOLDER[p]));
    const args = params.map((p) => SAMPLE_ARGS[p]);
    keyFunctions[name] = { params, template, example: { args, result: fn(...args) } };
  }

  const runIdPattern = layout.RUN_ID_PATTERN;
  return {
    constants,
    patterns,
    keyFunctions,
    runIdExamples: {
      valid: RUN_ID_SAMPLES.filter((id) => runIdPattern.test(id)),
      invalid: RUN_ID_SAMPLES.filter((id) => !runIdPattern.test(id)),
    },
  };
}

/**
 * The Spark jobs in the order the pipeline runs them (prepare first), with the Spark settings the
 * state machine passes to each. Tests that start a job with spark-submit (spark-jobs/tests/
 * spark_submit.py) read this list instead of repeating the entry scripts and settings by hand.
 * `description` stays in core/config/spark-jobs.ts: it is for people and the docs.
 */
function sparkJobsSection(): Array<Record<string, unknown>> {
  return ALL_SPARK_JOBS.map((job) => ({
    id: job.id,
    stage: job.stage,
    entryPoint: job.entryPoint,
    sparkConf: { ...job.sparkConf },
  }));
}

/** Copy with object keys sorted at every level (arrays keep their order); undefined members dropped, as JSON does. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

/** The document: `generatedBy` first, then every other key sorted, at every level. */
export function contractDocument(): Record<string, unknown> {
  const body = sortKeys({
    eventTypes: EVENT_TYPES,
    layout: layoutSection(),
    missingLabel: MISSING_LABEL,
    outputTables: OUTPUT_TABLES,
    pipelineParameters: DEFAULT_PIPELINE_PARAMETERS,
    rawTables: RAW_TABLES,
    runIdPartition: RUN_ID_PARTITION,
    sparkJobs: sparkJobsSection(),
  }) as Record<string, unknown>;
  return { generatedBy: GENERATED_BY, ...body };
}

/** The exact text of contract.json: 2-space indent, trailing newline. */
export function contractJson(): string {
  return `${JSON.stringify(contractDocument(), null, 2)}\n`;
}

function main(argv: readonly string[]): number {
  const text = contractJson();
  const relative = path.relative(process.cwd(), CONTRACT_JSON_PATH);
  if (argv.includes('--check')) {
    const current = fs.existsSync(CONTRACT_JSON_PATH) ? fs.readFileSync(CONTRACT_JSON_PATH, 'utf8') : undefined;
    if (current === text) return 0;
    console.error(`${relative} is ${current === undefined ? 'missing' : 'stale'}: run npm run contract:json`);
    return 1;
  }
  fs.mkdirSync(path.dirname(CONTRACT_JSON_PATH), { recursive: true });
  fs.writeFileSync(CONTRACT_JSON_PATH, text);
  console.log(`wrote ${relative}`);
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
