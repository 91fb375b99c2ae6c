/**
 * The rules written twice, in TypeScript and in Python, checked from one set of cases: every file of
 * core/cases/ below is also run by spark-jobs/tests/test_twin_cases.py against the
 * Python twin, so the two sides cannot drift apart without one of the two tests failing.
 *
 * - header_cases.json: which raw file a header belongs to (validate-input's decodeSample +
 *   recogniseSample, which local/engine/inputs.ts runs too);
 * - split_cases.json: the purchase-intent train/test split (trainSplitSql on DuckDB);
 * - segment_name_cases.json: segment names from the profiles (nameSegments);
 * - parameter_cases.json: pipeline parameter overrides (resolvePipelineParameters).
 *
 * A case with `known_disagreement` is one where one side does not follow the documented rule today;
 * when the entry names "ts", this side's current answer is pinned (so fixing it fails the test until
 * the entry is removed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { InputValidationError } from '../../core/input/errors';
import { decodeSample, recogniseSample } from '../../core/input/recognise';
import { DEFAULT_PIPELINE_PARAMETERS, resolvePipelineParameters } from '../../core/config/pipeline-params';
import { trainSplitSql } from '../../local/engine/stages/purchase-intent';
import { nameSegments } from '../../local/engine/stages/segments';

const CASES_DIR = path.resolve(__dirname, '../../core/cases');
const SIDE = 'ts';

interface Case {
  readonly name: string;
  readonly known_disagreement?: { readonly [side: string]: unknown };
}
interface CaseFile<C extends Case> {
  readonly about: string;
  readonly cases: readonly C[];
}

const load = <F>(name: string): F => JSON.parse(fs.readFileSync(path.join(CASES_DIR, name), 'utf8')) as F;

/** The answer this side must give: the case's, unless a known disagreement pins ours. */
function ours<T>(c: Case, expected: T): T {
  const d = c.known_disagreement;
  return d !== undefined && SIDE in d ? (d[SIDE] as T) : expected;
}
const title = (c: Case): string => (c.known_disagreement && SIDE in c.known_disagreement ? `KNOWN DISAGREEMENT (pinned): ${c.name}` : c.name);

interface HeaderCase extends Case {
  readonly line: string;
  readonly kind: string | null;
}
interface SplitCase extends Case {
  readonly seed: number;
  readonly session_id: string;
  readonly train_fraction: number;
  readonly bucket: number;
  readonly threshold: number;
  readonly split: 'train' | 'test';
}
interface SegmentCase extends Case {
  readonly span_days: number;
  readonly profiles: readonly { segment_id: number; frequency: number; carts: number; sessions: number; recency_days: number }[];
  readonly names: readonly string[];
}
interface ParameterCase extends Case {
  readonly overrides: unknown;
  readonly changed?: Readonly<Record<string, unknown>>;
  readonly error?: { readonly path: string; readonly contains: readonly string[] };
}

const HEADERS = load<CaseFile<HeaderCase> & { kinds: Record<string, { ts: string; py: string }> }>('header_cases.json');
const SPLITS = load<CaseFile<SplitCase>>('split_cases.json');
const SEGMENTS = load<CaseFile<SegmentCase>>('segment_name_cases.json');
const PARAMETERS = load<CaseFile<ParameterCase> & { defaults: unknown }>('parameter_cases.json');

describe.each([
  ['headers', HEADERS],
  ['splits', SPLITS],
  ['segment names', SEGMENTS],
  ['parameters', PARAMETERS],
] as [string, CaseFile<Case>][])('%s case file', (_, file) => {
  test('says what it checks and names both tests; unique case names; disagreements name a side and why', () => {
    expect(file.about).toContain('test_twin_cases.py');
    expect(file.about).toContain('twin-cases.test.ts');
    const names = file.cases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of file.cases) {
      if (c.known_disagreement === undefined) continue;
      const sides = Object.keys(c.known_disagreement).filter((k) => k !== 'note');
      expect({ name: c.name, sides: sides.every((s) => s === 'ts' || s === 'py') && sides.length > 0, note: typeof c.known_disagreement.note }).toEqual({
        name: c.name,
        sides: true,
        note: 'string',
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Header recognition
// ---------------------------------------------------------------------------------------------

describe('header recognition (recognise.ts decodeSample + recogniseSample)', () => {
  const uri = 's3://raw-bucket/in/file.csv';

  /** The RawTableDef name recognised from a file made of `line` and one LF, or null when refused. */
  async function recognised(line: string): Promise<string | null> {
    try {
      const decoded = await decodeSample(Buffer.from(`${line}\n`, 'utf8'), uri, true);
      return recogniseSample(decoded.text, uri).name;
    } catch (error) {
      if (error instanceof InputValidationError) return null;
      throw error;
    }
  }

  test('every neutral kind maps to a raw table of this side', () => {
    expect(Object.values(HEADERS.kinds).map((k) => k[SIDE]).sort()).toEqual([
      'raw_rees46_events',
      'raw_retailrocket_category_tree',
      'raw_retailrocket_events',
      'raw_retailrocket_item_properties',
    ]);
    expect(new Set(HEADERS.cases.map((c) => c.kind))).toEqual(new Set([...Object.keys(HEADERS.kinds), null]));
  });

  test.each(HEADERS.cases.map((c) => [title(c), c] as const))('%s', async (_, c) => {
    const kind = ours(c, c.kind);
    const expected = kind === null ? null : HEADERS.kinds[kind][SIDE];
    expect(await recognised(c.line)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// The purchase-intent split
// ---------------------------------------------------------------------------------------------

describe('purchase-intent split (trainSplitSql on DuckDB)', () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
  });
  afterAll(() => {
    db?.closeSync();
    instance?.closeSync();
  });

  /** Whether the stage's SQL puts the session in train, the id bound as a VARCHAR parameter. */
  async function isTrain(seed: number, sessionId: string, trainFraction: number): Promise<boolean> {
    const prepared = await db.prepare(`SELECT ${trainSplitSql('session_id', seed, trainFraction)} FROM (SELECT CAST($1 AS VARCHAR) AS session_id)`);
    prepared.bindVarchar(1, sessionId);
    const value = (await prepared.runAndReadAll()).getRows()[0][0];
    expect(typeof value).toBe('boolean');
    return value as boolean;
  }

  test.each(SPLITS.cases.map((c) => [title(c), c] as const))('%s', async (_, c) => {
    const pinned = ours<{ bucket?: number; split?: string }>(c, {});
    const bucket = pinned.bucket ?? c.bucket;
    // The bucket, seen through the threshold: out of train at bucket/10000, in at (bucket+1)/10000.
    expect(await isTrain(c.seed, c.session_id, bucket / 10000)).toBe(false);
    expect(await isTrain(c.seed, c.session_id, (bucket + 1) / 10000)).toBe(true);
    expect((await isTrain(c.seed, c.session_id, c.train_fraction)) ? 'train' : 'test').toBe(pinned.split ?? c.split);
  });
});

// ---------------------------------------------------------------------------------------------
// Segment names
// ---------------------------------------------------------------------------------------------

describe('segment naming (nameSegments)', () => {
  test.each(SEGMENTS.cases.map((c) => [title(c), c] as const))('%s', (_, c) => {
    const profiles = c.profiles.map((p) => ({
      segmentId: p.segment_id,
      avgFrequency: p.frequency,
      avgCarts: p.carts,
      avgSessions: p.sessions,
      avgRecencyDays: p.recency_days,
    }));
    const names = nameSegments(profiles, c.span_days);
    expect([...names.keys()]).toEqual(c.profiles.map((p) => p.segment_id));
    expect([...names.values()]).toEqual(ours(c, c.names));
  });
});

// ---------------------------------------------------------------------------------------------
// Pipeline parameters
// ---------------------------------------------------------------------------------------------

describe('pipeline parameters (resolvePipelineParameters)', () => {
  function expectedParameters(changed: Readonly<Record<string, unknown>>): unknown {
    const result = JSON.parse(JSON.stringify(PARAMETERS.defaults)) as Record<string, unknown>;
    for (const [dotted, value] of Object.entries(changed)) {
      const keys = dotted.split('.');
      const leaf = keys.pop()!;
      let target = result;
      for (const key of keys) target = target[key] as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(target, leaf)) throw new Error(`changed names a parameter the defaults do not have: ${dotted}`);
      target[leaf] = value;
    }
    return result;
  }

  const message = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      return (error as Error).message;
    }
    return '(no error)';
  };

  test("the case file's defaults are DEFAULT_PIPELINE_PARAMETERS", () => {
    expect(DEFAULT_PIPELINE_PARAMETERS).toStrictEqual(PARAMETERS.defaults);
    expect(resolvePipelineParameters(null)).toStrictEqual(PARAMETERS.defaults);
  });

  test.each(PARAMETERS.cases.map((c) => [title(c), c] as const))('%s', (_, c) => {
    expect((c.changed === undefined) !== (c.error === undefined)).toBe(true);
    if (c.changed !== undefined) {
      expect(resolvePipelineParameters(c.overrides)).toStrictEqual(expectedParameters(c.changed));
      return;
    }
    const text = message(() => resolvePipelineParameters(c.overrides));
    expect(text.startsWith(`${c.error!.path} `) ? c.error!.path : text).toBe(c.error!.path);
    for (const fragment of c.error!.contains) expect(text).toContain(fragment);
  });
});
