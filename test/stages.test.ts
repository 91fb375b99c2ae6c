/**
 * The stage registry (core/stages.ts) and the contract's `sql`: every path exists, every name is
 * the stage's (the one-name rule), every table's SQL is a file, and no .sql file under core/sql is
 * an orphan (each is a table's SELECT or an input its stage names in both engines).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_SPARK_JOBS } from '../core/config/spark-jobs';
import { OUTPUT_TABLES, tableSql } from '../core/contract';
import { ProcessingStage, snakeCaseStage, STAGE_REGISTRY, stageDef, UPLOAD_TESTS } from '../core/stages';

const ROOT = path.resolve(__dirname, '..');
const SQL_ROOT = path.join(ROOT, 'core', 'sql');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const exists = (file: string): boolean => fs.existsSync(path.join(ROOT, file));

function sqlFiles(dir = SQL_ROOT): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sqlFiles(path.join(dir, e.name)) : e.name.endsWith('.sql') ? [path.relative(SQL_ROOT, path.join(dir, e.name)).split(path.sep).join('/')] : []))
    .sort();
}

/** Stages of a table's producedBy, as a list. */
const producers = (producedBy: string | readonly string[]): readonly string[] => (typeof producedBy === 'string' ? [producedBy] : producedBy);

describe('core/stages.ts', () => {
  test('has every Spark job stage once, in the pipeline order', () => {
    expect(STAGE_REGISTRY.map((s) => s.name)).toEqual(ALL_SPARK_JOBS.map((j) => j.stage));
    expect(stageDef('segments').localModule).toBe('local/engine/stages/segments.ts');
  });

  test.each(STAGE_REGISTRY.map((s) => [s.name, s] as const))('%s: one name from the entry script to the SQL folder, and every path exists', (name, stage) => {
    const snake = snakeCaseStage(name);
    expect({
      sparkEntry: stage.sparkEntry,
      pythonModule: stage.pythonModule,
      localModule: stage.localModule,
      sqlFolder: stage.sqlFolder,
    }).toEqual({
      sparkEntry: `spark-jobs/${snake}.py`,
      pythonModule: `spark-jobs/shopsight_jobs/${snake}.py`,
      localModule: `local/engine/stages/${name}.ts`,
      sqlFolder: `core/sql/${name}`,
    });
    expect(`spark-jobs/${ALL_SPARK_JOBS.find((j) => j.stage === name)!.entryPoint}`).toBe(stage.sparkEntry);
    const files = [stage.sparkEntry, stage.pythonModule, stage.localModule, stage.sqlFolder, ...stage.tests.jest, ...stage.tests.pytest];
    expect(files.filter((f) => !exists(f))).toEqual([]);
    expect(read(stage.sparkEntry)).toContain(`runtime.main("${name}", ${snake}.run)`);
    expect(stage.tests.jest.every((f) => f.startsWith('test/') && f.endsWith('.test.ts'))).toBe(true);
    expect(stage.tests.pytest.every((f) => /^spark-jobs\/tests\/test_\w+\.py$/.test(f))).toBe(true);
  });

  test('the upload tests exist', () => {
    expect([...UPLOAD_TESTS.jest, ...UPLOAD_TESTS.pytest].filter((f) => !exists(f))).toEqual([]);
  });

  test('a test file named after a stage is listed under that stage', () => {
    const jest = fs.readdirSync(path.join(ROOT, 'test', 'local')).map((f) => `test/local/${f}`);
    const pytest = fs.readdirSync(path.join(ROOT, 'spark-jobs', 'tests')).map((f) => `spark-jobs/tests/${f}`);
    for (const stage of STAGE_REGISTRY) {
      const named = [...jest.filter((f) => path.basename(f) === `${stage.name}.test.ts`), ...pytest.filter((f) => path.basename(f).startsWith(`test_${snakeCaseStage(stage.name)}_`))];
      expect({ stage: stage.name, unlisted: named.filter((f) => ![...stage.tests.jest, ...stage.tests.pytest].includes(f)) }).toEqual({ stage: stage.name, unlisted: [] });
    }
  });
});

describe("the contract's sql", () => {
  test('every table with SQL names a file under core/sql, in the folder of a stage that writes it', () => {
    for (const table of OUTPUT_TABLES.filter((t) => t.sql !== null)) {
      expect({ table: table.name, exists: fs.existsSync(path.join(SQL_ROOT, table.sql!)) }).toEqual({ table: table.name, exists: true });
      const folders = producers(table.producedBy).map((s) => stageDef(s as ProcessingStage).sqlFolder);
      expect({ table: table.name, folders }).toEqual({ table: table.name, folders: expect.arrayContaining([`core/sql/${table.sql!.split('/')[0]}`]) });
    }
  });

  test('tableSql gives the file, or says that the stage code computes the table', () => {
    expect(tableSql('daily_kpis')).toBe('prepare/insights/daily_kpis.sql');
    expect(() => tableSql('events')).toThrow('Table "events" is computed by its stage\'s code: it has no SQL file (its contract sql is null)');
  });

  test("every stage SQL input is in the stage's folder, computes no table and is named by both engines' stage modules", () => {
    const tableFiles = new Set(OUTPUT_TABLES.map((t) => t.sql));
    for (const stage of STAGE_REGISTRY) {
      for (const input of stage.sqlInputs) {
        expect({ input, inFolder: `core/sql/${input}`.startsWith(`${stage.sqlFolder}/`), isTable: tableFiles.has(input) }).toEqual({ input, inFolder: true, isTable: false });
        expect({ input, local: read(stage.localModule).includes(`'${input}'`), python: read(stage.pythonModule).includes(`"${input}"`) }).toEqual({ input, local: true, python: true });
      }
    }
  });

  test('no .sql file under core/sql is an orphan: each is a table\'s SELECT or a stage input', () => {
    const used = new Set([...OUTPUT_TABLES.map((t) => t.sql), ...STAGE_REGISTRY.flatMap((s) => s.sqlInputs)]);
    expect(sqlFiles().filter((f) => !used.has(f))).toEqual([]);
  });
});
