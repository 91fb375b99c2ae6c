/**
 * docs/tables.md is generated (scripts/write-tables-doc.ts): the committed file must be what the
 * generator makes of the contract, the stage registry and the test files now.
 */
import * as fs from 'fs';
import { OUTPUT_TABLES, RAW_TABLES } from '../core/contract';
import { TABLES_DOC_PATH, tablesDoc } from '../scripts/write-tables-doc';

test('docs/tables.md is the generated file', () => {
  const expected = tablesDoc();
  if (!fs.existsSync(TABLES_DOC_PATH)) throw new Error('docs/tables.md is missing: run npm run docs:tables');
  const committed = fs.readFileSync(TABLES_DOC_PATH, 'utf8');
  if (committed !== expected) {
    const left = committed.split('\n');
    const right = expected.split('\n');
    const line = left.findIndex((l, i) => l !== right[i]);
    const at = line === -1 ? right.length - 1 : line;
    throw new Error(`docs/tables.md is stale: run npm run docs:tables\nfirst difference at line ${at + 1}:\n  committed: ${JSON.stringify(left[at])}\n  generated: ${JSON.stringify(right[at])}`);
  }
});

test('has one row per contract table, raw tables first, and the generation is deterministic', () => {
  const text = tablesDoc();
  expect(tablesDoc()).toBe(text);
  const rows = text.split('\n').filter((l) => /^\| `/.test(l)).map((l) => /^\| `([^`]+)`/.exec(l)![1]);
  expect(rows).toEqual([...RAW_TABLES, ...OUTPUT_TABLES].map((t) => t.name));
});

test('names the SQL or the stage code, Aurora serving and the tests of a table', () => {
  const row = (name: string) => tablesDoc().split('\n').find((l) => l.startsWith(`| \`${name}\` |`))!;
  expect(row('c_date')).toContain('| `core/sql/prepare/schemas/c_date.sql` |');
  expect(row('c_date')).toContain('| yes |');
  expect(row('c_date')).toContain('`test/local/schemas-sql.test.ts`');
  expect(row('events')).toContain('stage code: `local/engine/stages/prepare.ts` / `spark-jobs/shopsight_jobs/prepare.py`');
  expect(row('events')).toContain('| no |');
  expect(row('model_metrics')).toContain('| recommendations, purchase-intent, segments, spend-forecast |');
});

test('every construct and file the doc names as deploying a table exists', () => {
  const text = tablesDoc();
  const constructs = [...text.matchAll(/`([A-Z][A-Za-z]+)`(?:\s+construct|'s\s+EMR)/g)].map((m) => m[1]);
  expect(constructs).toEqual(expect.arrayContaining(['DataCatalog', 'SparkProcessing', 'ServingSchema']));
  const lib = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? lib(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : []));
  const sources = lib(`${__dirname}/../lib`).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  for (const name of [...constructs, 'PipelineStateMachine']) expect(sources).toMatch(new RegExp(`export class ${name} extends`));
  for (const file of ['lib/catalog/data-catalog.ts', 'core/serving/mysql-schema.ts', 'lambdas/load-serving/index.ts']) {
    expect(text).toContain(file.startsWith('lambdas/') ? 'load-serving' : file);
    expect(fs.existsSync(`${__dirname}/../${file}`)).toBe(true);
  }
});
