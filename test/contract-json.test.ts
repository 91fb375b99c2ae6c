/**
 * The JSON copy of the contract that the Spark jobs read, and properties of the contract itself.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OUTPUT_TABLES, RAW_TABLES, RUN_ID_PARTITION } from '../core/contract';
import * as layout from '../core/contract/layout';
import { ALL_SPARK_JOBS } from '../core/config/spark-jobs';
import { CONTRACT_JSON_PATH, contractDocument, contractJson, LAYOUT_KEY_FUNCTIONS } from '../scripts/write-contract-json';

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) {
      return `first difference at line ${i + 1}:\n  committed: ${JSON.stringify(left[i])}\n  generated: ${JSON.stringify(right[i])}`;
    }
  }
  return 'no line differs';
}

describe('spark-jobs/shopsight_jobs/contract.json', () => {
  const relative = path.relative(path.join(__dirname, '..'), CONTRACT_JSON_PATH);

  test('the committed file is what the serialiser produces from core/contract now', () => {
    const expected = contractJson();
    if (!fs.existsSync(CONTRACT_JSON_PATH)) {
      throw new Error(`${relative} is missing: run npm run contract:json`);
    }
    const committed = fs.readFileSync(CONTRACT_JSON_PATH, 'utf8');
    if (committed !== expected) {
      throw new Error(`${relative} is stale: run npm run contract:json\n${firstDifference(committed, expected)}`);
    }
  });

  test('has the agreed form: generatedBy first, keys sorted everywhere else, 2-space indent, trailing newline', () => {
    const text = contractJson();
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"generatedBy": ".*core\/contract.*Do not edit by hand\./);
    const doc = contractDocument();
    expect(Object.keys(doc)[0]).toBe('generatedBy');
    const checkSorted = (value: unknown, where: string): void => {
      if (Array.isArray(value)) value.forEach((v, i) => checkSorted(v, `${where}[${i}]`));
      else if (value !== null && typeof value === 'object') {
        const keys = Object.keys(value);
        expect({ where, keys }).toEqual({ where, keys: [...keys].sort() });
        for (const k of keys) checkSorted((value as Record<string, unknown>)[k], `${where}.${k}`);
      }
    };
    const { generatedBy: _ignored, ...rest } = doc;
    checkSorted(rest, '$');
  });

  test('serialises every table, column and parameter without loss', () => {
    const doc = JSON.parse(contractJson());
    expect(doc.outputTables).toEqual(JSON.parse(JSON.stringify(OUTPUT_TABLES)));
    expect(doc.rawTables).toEqual(JSON.parse(JSON.stringify(RAW_TABLES)));
    expect(doc.runIdPartition).toEqual(JSON.parse(JSON.stringify(RUN_ID_PARTITION)));
    // Column order is the output order: arrays must not be sorted.
    expect(doc.outputTables[0].columns.map((c: { name: string }) => c.name)).toEqual(OUTPUT_TABLES[0].columns.map((c) => c.name));
  });
});

describe('sparkJobs in contract.json (read by spark-jobs/tests/spark_submit.py)', () => {
  test('lists every Spark job in pipeline order with its entry script, stage and exact Spark settings', () => {
    const doc = JSON.parse(contractJson());
    expect(doc.sparkJobs).toEqual(
      ALL_SPARK_JOBS.map((job) => ({ id: job.id, stage: job.stage, entryPoint: job.entryPoint, sparkConf: { ...job.sparkConf } })),
    );
    expect(doc.sparkJobs[0].id).toBe('prepare');
  });
});

describe('layout templates in contract.json (read by shopsight_jobs/layout.py)', () => {
  const doc = contractDocument() as { layout: { keyFunctions: Record<string, { params: string[]; template: string }> } };

  test('every function of core/contract/layout.ts is a template or the run id check', () => {
    const functions = Object.entries(layout)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect(functions).toEqual([...Object.keys(LAYOUT_KEY_FUNCTIONS), 'assertRunId'].sort());
    expect(Object.keys(doc.layout.keyFunctions).sort()).toEqual(Object.keys(LAYOUT_KEY_FUNCTIONS).sort());
  });

  test.each([
    ['events', 'oct-2019'],
    ['purchase_c_s_b', 'a'],
    ['rejects', 'run_1'],
  ])('filling each template with table=%s, run_id=%s gives what the TypeScript function gives', (table, runId) => {
    for (const [name, { params, template }] of Object.entries(doc.layout.keyFunctions)) {
      const values: Record<string, string> = { table, run_id: runId };
      const placeholders = template.match(/\{[a-z_]+\}/g) ?? [];
      expect({ name, placeholders: [...new Set(placeholders)].sort() }).toEqual({
        name,
        placeholders: params.map((p) => `{${p}}`).sort(),
      });
      const filled = template.replace(/\{([a-z_]+)\}/g, (_m, p: string) => values[p]);
      expect({ name, filled }).toEqual({ name, filled: LAYOUT_KEY_FUNCTIONS[name].fn(...params.map((p) => values[p])) });
    }
  });
});

describe('the table contract itself', () => {
  test.each(OUTPUT_TABLES.map((t) => [t.name, t] as const))('%s: primary key columns exist and are not nullable', (_name, table) => {
    const all = [...table.columns, ...table.partitionKeys];
    expect(table.primaryKey.length).toBeGreaterThan(0);
    for (const key of table.primaryKey) {
      const column = all.find((c) => c.name === key);
      expect({ key, exists: column !== undefined }).toEqual({ key, exists: true });
      // Aurora primary keys are NOT NULL (MISSING_LABEL exists so the key columns can be).
      expect({ key, nullable: column?.nullable }).toEqual({ key, nullable: false });
    }
    expect(new Set(table.primaryKey).size).toBe(table.primaryKey.length);
  });

  test.each(OUTPUT_TABLES.map((t) => [t.name, t] as const))('%s: column names are unique and snake_case', (_name, table) => {
    // run_id is every curated table's first partition: no table may have a column of that name.
    const names = [...table.columns, ...table.partitionKeys, RUN_ID_PARTITION].map((c) => c.name);
    const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
    expect(duplicates).toEqual([]);
    expect(names.filter((n) => !SNAKE_CASE.test(n))).toEqual([]);
  });

  test('table names are unique and snake_case', () => {
    const names = [...RAW_TABLES, ...OUTPUT_TABLES].map((t) => t.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect(names.filter((n) => !SNAKE_CASE.test(n))).toEqual([]);
  });

  test.each(RAW_TABLES.map((t) => [t.name, t] as const))('%s: column names are unique and snake_case', (_name, table) => {
    const names = table.columns.map((c) => c.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect(names.filter((n) => !SNAKE_CASE.test(n))).toEqual([]);
  });
});
