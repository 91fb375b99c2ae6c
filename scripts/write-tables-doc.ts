/**
 * Writes docs/tables.md: every table of the contract (raw and output) with its layer, stage, SQL,
 * Glue table, Aurora serving and the tests that prove it, generated from core/contract and the
 * stage registry (core/stages.ts).
 *
 *   npm run docs:tables            rewrite the file
 *   npm run docs:tables -- --check exit 1 when the committed file is stale
 *
 * test/tables-doc.test.ts fails when the committed file differs from `tablesDoc()`.
 *
 * The tests of a table: the test files that the registry lists for the table's stage(s) (for a raw
 * table: UPLOAD_TESTS) and that name the table literally, as a whole word. Files are read from the
 * checkout, so the column changes when a test starts or stops naming a table: regenerate then.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OUTPUT_TABLES, OutputTableDef, RAW_TABLES, RawTableDef } from '../core/contract';
import { curatedTablePrefix } from '../core/contract/layout';
import { ProcessingStage, stageDef, StageTests, UPLOAD_TESTS } from '../core/stages';
import { writeOrCheckGenerated } from './generated-file';

const ROOT = path.join(__dirname, '..');
export const TABLES_DOC_PATH = path.join(ROOT, 'docs', 'tables.md');

const INTRO = `# Tables

Generated from the table contract (\`core/contract\`) and the stage registry (\`core/stages.ts\`) by
\`scripts/write-tables-doc.ts\` (\`npm run docs:tables\`). Do not edit by hand: \`test/tables-doc.test.ts\`
fails when this file is stale.

Every table the pipeline reads or writes, one row each. The raw tables are the uploaded files, as
the public datasets write them; every other table is written by one stage per run (\`run_id=\`
partition). The columns:

- **Layer**: raw input, curated events, the seven schemas of the original flow, insights, model
  outputs, quality (rejects).
- **Stage**: the pipeline stage that writes it (\`ProducingStage\`); one name from the contract to the
  Spark job, the local stage and the SQL folder.
- **SQL**: the shared SELECT (under \`core/sql/\`) that both engines run for the table (the
  contract's \`sql\`); or the stage code that computes it, local engine / Spark job.
- **Glue table**: every table is a table of the Glue database (Athena), named as the contract names
  it, over the raw bucket's folder or the curated bucket's table prefix; the \`DataCatalog\`
  construct (\`lib/catalog/data-catalog.ts\`) deploys it. The stage's Spark job runs on
  \`SparkProcessing\`'s EMR Serverless application, started by \`PipelineStateMachine\`.
- **Aurora**: served tables are loaded into Aurora MySQL for BI and the API (the contract's
  \`served\`): their DDL is \`core/serving/mysql-schema.ts\`, applied on deploy by the
  \`ServingSchema\` construct, and the \`load-serving\` Lambda loads each run.
- **Tests**: the test files the registry lists for the stage that name the table.
`;

const code = (text: string): string => `\`${text}\``;

/** The registry's tests for the stages, jest then pytest, each list in registry order, without repeats. */
function testsOf(lists: readonly StageTests[]): string[] {
  const ordered = [...lists.flatMap((t) => t.jest), ...lists.flatMap((t) => t.pytest)];
  return [...new Set(ordered)];
}

const fileCache = new Map<string, string>();
function mentions(file: string, table: string): boolean {
  if (!fileCache.has(file)) fileCache.set(file, fs.readFileSync(path.join(ROOT, file), 'utf8'));
  return new RegExp(`(?<![A-Za-z0-9_])${table}(?![A-Za-z0-9_])`).test(fileCache.get(file)!);
}

function testsCell(lists: readonly StageTests[], table: string): string {
  const found = testsOf(lists).filter((file) => mentions(file, table));
  return found.length > 0 ? found.map(code).join(', ') : 'none names it';
}

function rawRow(table: RawTableDef): string {
  return [
    code(table.name),
    'raw',
    'upload',
    `none: the uploaded ${table.dataset} files, read by the prepare stage`,
    `${code(table.name)} over raw ${code(table.rawFolder)}`,
    'no',
    testsCell([UPLOAD_TESTS], table.name),
  ].join(' | ');
}

function outputRow(table: OutputTableDef): string {
  const stages = (typeof table.producedBy === 'string' ? [table.producedBy] : table.producedBy).map((s) => stageDef(s as ProcessingStage));
  const sql =
    table.sql !== null
      ? code(`core/sql/${table.sql}`)
      : `stage code: ${stages.map((s) => `${code(s.localModule)} / ${code(s.pythonModule)}`).join('; ')}`;
  return [
    code(table.name),
    table.layer,
    stages.map((s) => s.name).join(', '),
    sql,
    `${code(table.name)} over curated ${code(curatedTablePrefix(table.name))}`,
    table.served ? 'yes' : 'no',
    testsCell(stages.map((s) => s.tests), table.name),
  ].join(' | ');
}

/** The exact text of docs/tables.md. */
export function tablesDoc(): string {
  const header = ['Table', 'Layer', 'Stage', 'SQL', 'Glue table', 'Aurora', 'Tests'];
  const rows = [...RAW_TABLES.map(rawRow), ...OUTPUT_TABLES.map(outputRow)];
  const table = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r} |`)];
  return `${INTRO}\n${table.join('\n')}\n`;
}

if (require.main === module) {
  process.exitCode = writeOrCheckGenerated(TABLES_DOC_PATH, tablesDoc(), 'docs:tables', process.argv.slice(2));
}
