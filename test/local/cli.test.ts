/**
 * The `shopsight` CLI end to end, as a user runs it: every call spawns the real bin
 * (local/cli/bin.js) as a child process. The real samples of both datasets (read in place from ../shared/data),
 * generated data with planted structure, and the user mistakes that must end in one line and a
 * documented exit code. Every output table is checked against the contract from its Parquet files.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { OUTPUT_TABLES, RunSummary, ServingManifest, reconcileRunSummary, servedTables } from '../../core/contract';
import { EXIT } from '../../local/engine/exit-codes';
import { generate, PlantedTruth } from '../../local/generate';
import { checkAgainstContract } from '../../local/engine/sql';
import { MariaDb, startMariaDb } from '../support/mariadb';

const ROOT = path.resolve(__dirname, '../..');
const DATA = path.resolve(ROOT, '../shared/data');
const OCT = path.join(DATA, 'rees46/2019-Oct_head_17434rows.csv.gz');
const NOV = path.join(DATA, 'rees46/2019-Nov_head_683rows.csv.gz');
const RR_EVENTS = path.join(DATA, 'retailrocket/events_sample_5000visitors.csv.gz');
const RR_TREE = path.join(DATA, 'retailrocket/category_tree.csv.gz');
for (const f of [OCT, NOV, RR_EVENTS, RR_TREE]) {
  if (!fs.existsSync(f)) throw new Error(`Real data sample missing: ${f} (the shared samples must be at ${DATA})`);
}

jest.setTimeout(300_000);

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

const BIN = path.join(ROOT, 'local/cli/bin.js');

/** Runs the real `shopsight` bin with `argv` (plain progress lines: CI is set), from `cwd`. */
function cli(...argv: string[]): Promise<Captured> {
  return cliIn(tmp, argv);
}

function cliIn(cwd: string, argv: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: { ...process.env, CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 1), stdout, stderr }));
  });
}

const gunzipLines = (file: string): string[] => zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').replace(/\n$/, '').split('\n');

let tmp: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-cli-'));
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const parquet = (out: string, table: string): string =>
  `read_parquet('${path.join(out, table).replace(/'/g, "''")}/**/*.parquet', hive_partitioning = true, union_by_name = false)`;
const one = async (sql: string): Promise<Record<string, unknown>> => (await db.runAndReadAll(sql)).getRowObjectsJson()[0] as Record<string, unknown>;
const count = async (out: string, table: string, where = 'true'): Promise<number> => Number((await one(`SELECT count(*) AS n FROM ${parquet(out, table)} WHERE ${where}`)).n);

/** Every contract table is in the run folder with the contract's columns and types (partition keys last). */
async function expectContractTables(out: string): Promise<void> {
  for (const table of OUTPUT_TABLES) {
    const dir = path.join(out, table.name);
    expect({ table: table.name, exists: fs.existsSync(dir) }).toEqual({ table: table.name, exists: true });
    // Hive partition values are typed by DuckDB's guess; cast them to the contract's type, keep them last.
    const keys = table.partitionKeys.map((k) => k.name);
    const select = keys.length
      ? `SELECT * EXCLUDE (${keys.join(', ')}), ${table.partitionKeys.map((k) => `CAST(${k.name} AS ${k.type.kind === 'date' ? 'DATE' : 'VARCHAR'}) AS ${k.name}`).join(', ')} FROM ${parquet(out, table.name)}`
      : `SELECT * FROM ${parquet(out, table.name)}`;
    await db.run(`CREATE OR REPLACE TEMP VIEW __t AS ${select}`);
    expect({ table: table.name, problems: await checkAgainstContract(db, '__t', table.name, 'parquet') }).toEqual({ table: table.name, problems: [] });
  }
}

/** The serving export: one CSV per served table, its data lines = the manifest's rowCount = the Parquet rows. */
async function expectServingExport(out: string, summary: RunSummary): Promise<ServingManifest> {
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'serving/manifest.json'), 'utf8')) as ServingManifest;
  expect(manifest.runId).toBe(summary.runId);
  expect(Object.keys(manifest.tables).sort()).toEqual(servedTables().map((t) => t.name).sort());
  for (const [table, entry] of Object.entries(manifest.tables)) {
    const text = entry.files.map((f) => fs.readFileSync(path.join(out, 'serving', f), 'utf8')).join('');
    const records = Number((await one(`SELECT count(*) AS n FROM read_csv('${path.join(out, 'serving', entry.files[0])}', header = false, all_varchar = true, quote = '"', escape = '"', nullstr = 'NULL', auto_detect = false, columns = {${entry.columns.map((c) => `'${c}': 'VARCHAR'`).join(', ')}})`)).n);
    expect({ table, records, lines: text === '' ? records === 0 : text.replace(/\n$/, '').split('\n').length >= records }).toEqual({ table, records: entry.rowCount, lines: true });
    expect({ table, parquet: await count(out, table) }).toEqual({ table, parquet: entry.rowCount });
  }
  return manifest;
}

describe('shopsight run on the real REES46 samples (October and November)', () => {
  const out = () => path.join(tmp, 'rees46');
  let result: Captured;
  let summary: RunSummary;
  // Independent expectations from the files themselves and ../shared/data/README.md.
  const oct = gunzipLines(OCT).slice(1);
  const nov = gunzipLines(NOV).slice(1);
  const seen = new Set<string>();
  const duplicates = (lines: string[]) => lines.filter((l) => (seen.has(l) ? true : (seen.add(l), false))).length;
  const octDuplicates = duplicates(oct);
  const novDuplicates = duplicates(nov);

  beforeAll(async () => {
    result = await cli('run', '--input', OCT, '--input', NOV, '--out', out(), '--run-id', 'samples-2019');
    summary = JSON.parse(fs.readFileSync(path.join(out(), 'run-summary.json'), 'utf8')) as RunSummary;
  });

  test('exits 0, prints where the tables and report are, and a stage summary', () => {
    expect(result.stderr).not.toContain('internal error');
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`Report: ${path.join(out(), 'report/index.html')}`);
    expect(result.stderr).toMatch(/stage\s+rows\s+time\s+rows\/s/);
    expect(result.stderr).toMatch(/\nshopsight: DuckDB memory limit \d+MiB \(from the machine and the input size; --memory-limit to set it\)\n/);
    expect(result.stderr).not.toMatch(/ALS \d+ of \d+ iterations/);
    for (const stage of ['validate', 'prepare', 'schemas', 'insights', 'association-rules', 'recommendations', 'purchase-intent', 'segments']) {
      expect(result.stderr).toContain(`shopsight: ${stage}`);
    }
  });

  test('run-summary.json reconciles per file and in total, with the samples\' exact counts', () => {
    expect(reconcileRunSummary(summary)).toEqual([]);
    expect(summary.files.map((f) => [path.basename(f.source), f.rowsRead, f.duplicatesRemoved])).toEqual([
      [path.basename(OCT), 17_434, octDuplicates],
      [path.basename(NOV), 683, novDuplicates],
    ]);
    expect(summary.totals.rejected).toBe(0);
    expect(summary.totals.accepted).toBe(17_434 + 683 - octDuplicates - novDuplicates);
    expect(summary.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['prepare', 'recommendations', 'report']));
    for (const s of summary.stages) expect(s.seconds).toBeGreaterThanOrEqual(0);
  });

  test('every contract table is written with the contract\'s columns and types', async () => {
    await expectContractTables(out());
  });

  test('events: partitioned by date, October sample counts as ../shared/data/README.md gives them', async () => {
    expect(fs.readdirSync(path.join(out(), 'events')).sort()).toEqual(['event_date=2019-10-01', 'event_date=2019-11-01']);
    const octEvents = `source_file = '${OCT}'`;
    // README: view 17,055, cart 165, purchase 214 before exact duplicates; users 4,504, sessions 5,066, products 6,493.
    const octDupByType = { view: 0, cart: 0, purchase: 0 } as Record<string, number>;
    const s = new Set<string>();
    for (const l of oct) if (s.has(l)) octDupByType[l.split(',')[1]]++; else s.add(l);
    expect(await count(out(), 'events', `${octEvents} AND event_type = 'view'`)).toBe(17_055 - octDupByType.view);
    expect(await count(out(), 'events', `${octEvents} AND event_type = 'cart'`)).toBe(165 - octDupByType.cart);
    expect(await count(out(), 'events', `${octEvents} AND event_type = 'purchase'`)).toBe(214 - octDupByType.purchase);
    const distinct = await one(`SELECT count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions, count(DISTINCT product_id) AS products FROM ${parquet(out(), 'events')} WHERE ${octEvents}`);
    expect(distinct).toEqual({ users: '4504', sessions: '5066', products: '6493' });
  });

  test('the serving export matches the manifest and the Parquet tables', async () => {
    await expectServingExport(out(), summary);
  });

  test('the report exists and names the run', () => {
    const html = fs.readFileSync(path.join(out(), 'report/index.html'), 'utf8');
    expect(html).toContain('samples-2019');
  });

  test('shopsight report DIR rebuilds the report from the run folder', async () => {
    fs.rmSync(path.join(out(), 'report'), { recursive: true });
    const again = await cli('report', out());
    expect(again.code).toBe(EXIT.ok);
    expect(fs.existsSync(path.join(out(), 'report/index.html'))).toBe(true);
  });
});

describe('shopsight run on the real RetailRocket sample with its category tree', () => {
  const out = () => path.join(tmp, 'retailrocket');
  let result: Captured;
  let summary: RunSummary;
  const lines = gunzipLines(RR_EVENTS).slice(1);
  const key = (l: string) => l.split(',').slice(0, 5).join(',');
  const seen = new Set<string>();
  const duplicates = lines.filter((l) => (seen.has(key(l)) ? true : (seen.add(key(l)), false))).length;

  beforeAll(async () => {
    result = await cli('run', '-i', RR_EVENTS, '-i', RR_TREE, '-o', out(), '--dataset', 'auto', '--run-id', 'rr-sample');
    summary = JSON.parse(fs.readFileSync(path.join(out(), 'run-summary.json'), 'utf8')) as RunSummary;
  });

  test('exits 0 and reconciles: 9,385 rows read', () => {
    expect(result.stderr).not.toContain('internal error');
    expect(result.code).toBe(EXIT.ok);
    expect(summary.dataset).toBe('retailrocket');
    expect(reconcileRunSummary(summary)).toEqual([]);
    expect(summary.totals.rowsRead).toBe(9_385);
    expect(summary.totals.duplicatesRemoved).toBe(duplicates);
  });

  test('event types map to the canonical ones, 5,000 visitors, 6,610 items (../shared/data/README.md)', async () => {
    const byType = await one(`SELECT count(*) FILTER (WHERE event_type = 'view') AS views, count(*) FILTER (WHERE event_type = 'cart') AS carts,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases, count(DISTINCT user_id) AS users, count(DISTINCT product_id) AS items
      FROM ${parquet(out(), 'events')}`);
    const dupByType: Record<string, number> = { view: 0, addtocart: 0, transaction: 0 };
    const s = new Set<string>();
    for (const l of lines) if (s.has(key(l))) dupByType[l.split(',')[2]]++; else s.add(key(l));
    expect(byType).toEqual({
      views: String(9_076 - dupByType.view),
      carts: String(263 - dupByType.addtocart),
      purchases: String(46 - dupByType.transaction),
      users: '5000',
      items: '6610',
    });
  });

  test('every contract table is written with the contract\'s columns and types; serving export consistent', async () => {
    await expectContractTables(out());
    await expectServingExport(out(), summary);
  });
});

describe('shopsight run on generated data finds the planted structure', () => {
  const out = () => path.join(tmp, 'generated');
  let truth: PlantedTruth;
  let result: Captured;

  beforeAll(async () => {
    const input = path.join(tmp, 'gen', 'rees46.csv.gz');
    fs.mkdirSync(path.dirname(input), { recursive: true });
    truth = (await generate({ dataset: 'rees46', events: 150_000, seed: 11, out: input, days: 14 })).truth;
    // With the ALS early stop on (--als-tolerance): the planted structure must still come out.
    result = await cli('run', '-i', path.dirname(input), '-o', out(), '--run-id', 'generated', '--als-tolerance', '0.02');
  });

  test('exits 0 with every event accepted', () => {
    expect(result.stderr).not.toContain('internal error');
    expect(result.code).toBe(EXIT.ok);
    // The early stop ended the serving fit before recommendations.maxIter (10) and says so.
    const iterations = /ALS (\d+) of 10 iterations/.exec(result.stderr);
    expect(iterations).not.toBeNull();
    expect(Number(iterations![1])).toBeGreaterThanOrEqual(1);
    expect(Number(iterations![1])).toBeLessThan(10);
    const summary = JSON.parse(fs.readFileSync(path.join(out(), 'run-summary.json'), 'utf8')) as RunSummary;
    expect(summary.totals.rowsRead).toBe(truth.events);
    expect(summary.totals.rejected).toBe(0);
  });

  test('bundles planted by the generator come out of bought_together', async () => {
    const pairs = truth.bundles.flatMap((b) => b.products.flatMap((a) => b.products.filter((x) => x !== a).map((x) => [a, x])));
    let found = 0;
    for (const [a, b] of pairs) {
      found += await count(out(), 'bought_together', `product_id = ${a} AND other_product_id = ${b}`);
    }
    // Most planted pairs must be recovered (rare products in a bundle may miss the minimum support).
    expect(found / pairs.length).toBeGreaterThan(0.6);
  });

  test('ALS beats the popularity baseline on the time-based holdout', async () => {
    const m = await one(`SELECT value, baseline_value FROM ${parquet(out(), 'model_metrics')} WHERE model = 'als' AND metric = 'precision_at_k'`);
    expect(Number(m.value)).toBeGreaterThan(Number(m.baseline_value));
  });

  test('purchase intent has an AUC above chance; segments cover every user', async () => {
    const auc = await one(`SELECT value FROM ${parquet(out(), 'model_metrics')} WHERE model = 'logistic_regression' AND metric = 'auc'`);
    expect(Number(auc.value)).toBeGreaterThan(0.6);
    const users = await one(`SELECT count(DISTINCT user_id) AS n FROM ${parquet(out(), 'events')}`);
    expect(await count(out(), 'customer_segments')).toBe(Number(users.n));
  });
});

describe('user mistakes: one line, a documented exit code, no stack trace', () => {
  const write = (name: string, text: string): string => {
    const file = path.join(tmp, 'bad', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  const expectOneLine = (r: Captured, code: number, ...parts: string[]) => {
    expect(r.code).toBe(code);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('internal error');
    for (const p of parts) expect(r.stderr).toContain(p);
  };

  test('a missing file exits 3 naming it', async () => {
    const missing = path.join(tmp, 'nope.csv');
    expectOneLine(await cli('run', '-i', missing, '-o', path.join(tmp, 'o1')), EXIT.inputNotFound, missing, 'no such file');
  });

  test('an unrecognised header exits 4 naming the file and the header found', async () => {
    const file = write('odd.csv', 'a,b,c\n1,2,3\n');
    expectOneLine(await cli('run', '-i', file, '-o', path.join(tmp, 'o2')), EXIT.inputUnusable, file, 'unrecognised header', '"a,b,c"');
  });

  test('an empty file exits 4 naming it', async () => {
    const file = write('empty.csv', '');
    expectOneLine(await cli('run', '-i', file, '-o', path.join(tmp, 'o3')), EXIT.inputUnusable, file, 'empty');
  });

  test('a file whose every row is rejected exits 4, keeps the rejects and a reconciled summary', async () => {
    const header = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';
    const file = write('all-bad.csv', `${header}\r\nnot a time,view,1,,,,1.00,2,s\r\n2019-10-01 00:00:00 UTC,teleport,1,,,,1.00,2,s\r\n2019-10-01 00:00:00 UTC,view,1,,,,-3.00,2,s\r\n`);
    const out = path.join(tmp, 'o4');
    const r = await cli('run', '-i', file, '-o', out);
    expectOneLine(r, EXIT.inputUnusable, file, 'no usable event rows', '3 read');
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'run-summary.json'), 'utf8')) as RunSummary;
    expect(reconcileRunSummary(summary)).toEqual([]);
    expect(summary.totals.rejectedByReason).toEqual({ bad_timestamp: 1, unknown_event_type: 1, negative_price: 1 });
    expect(await count(out, 'rejects')).toBe(3);
  });

  test('mixing datasets exits 4 naming both files', async () => {
    expectOneLine(await cli('run', '-i', OCT, '-i', RR_EVENTS, '-o', path.join(tmp, 'o5')), EXIT.inputUnusable, 'mixes datasets', OCT, RR_EVENTS);
  });

  test('the other documented mistakes: each one line (plus the usage hint), its exit code, no stack trace', async () => {
    const notJson = write('not-json.json', '{x');
    const unknownKey = write('unknown-key.json', JSON.stringify({ params: {} }));
    const badTolerance = write('bad-tolerance.json', JSON.stringify({ alsLossTolerance: '0.01' }));
    const folder = path.join(tmp, 'bad', 'a-folder');
    fs.mkdirSync(folder, { recursive: true });
    const notARun = path.join(tmp, 'bad', 'not-a-run');
    fs.mkdirSync(notARun, { recursive: true });
    const cases: [string[], number, string][] = [
      [['run', '-i', OCT, '--threads', '0'], EXIT.usage, '--threads must be a positive integer, got "0"'],
      [['generate', '--seed', '-1', '-o', path.join(tmp, 'bad', 's.csv')], EXIT.usage, "Option '--seed' argument is ambiguous"],
      [['generate', '--seed', '2147483648', '-o', path.join(tmp, 'bad', 's.csv')], EXIT.usage, '--seed must be an integer from 0 to 2147483647'],
      [['run', '-i', OCT, '--config', path.join(tmp, 'bad', 'none.json')], EXIT.usage, 'none.json: no such file'],
      [['run', '-i', OCT, '--config', notJson], EXIT.usage, `--config ${notJson}: not valid JSON`],
      [['run', '-i', OCT, '--config', unknownKey], EXIT.usage, 'unknown key(s) params; allowed: parameters, memoryLimit, threads, alsLossTolerance'],
      [['run', '-i', OCT, '--config', badTolerance], EXIT.usage, `--config ${badTolerance}: alsLossTolerance must be a number in [0, 1), got "0.01"`],
      [['run', '-i', OCT, '--als-tolerance', '1'], EXIT.usage, '--als-tolerance must be a number in [0, 1), got "1"'],
      [['run', '-i', OCT, '--memory-limit', 'lots'], EXIT.usage, '--memory-limit must be a size such as 4GB, got "lots"'],
      [['run', '-i', OCT, '--mysql', 'mysql://root:secret@127.0.0.1:3306/'], EXIT.usage, '--mysql: The MySQL URL must name a database'],
      [['generate', '-o', folder], EXIT.usage, `--out ${folder} is a folder; generate writes a file`],
      [['generate', '--start-date', '2019-1-1', '-o', path.join(tmp, 'bad', 'd.csv')], EXIT.usage, '--start-date must be YYYY-MM-DD, got "2019-1-1"'],
      [['report', notARun], EXIT.inputNotFound, `${notARun}: not a run folder (no run-summary.json)`],
      [['run', '-i', path.join(tmp, 'bad', 'nothere', '*.csv')], EXIT.inputNotFound, 'no file matches this pattern'],
      [['run', '-i', OCT, '--dataset', 'retailrocket', '-o', path.join(tmp, 'bad', 'ds')], EXIT.inputUnusable, 'use --dataset rees46 or --dataset auto, or point --input at retailrocket files'],
    ];
    for (const [argv, code, part] of cases) {
      const r = await cli(...argv);
      expect({ argv, code: r.code, part: r.stderr.includes(part), stack: /\n\s+at /.test(r.stderr) }).toEqual({ argv, code, part: true, stack: false });
      expect(r.stderr).not.toContain('secret');
    }
  });

  test('bad arguments exit 2 with a hint', async () => {
    expectOneLine(await cli('run', '-o', tmp), EXIT.usage, 'needs at least one --input');
    expectOneLine(await cli('run', '-i', OCT, '--dataset', 'amazon'), EXIT.usage, '--dataset must be one of');
    expectOneLine(await cli('generate', '--out', path.join(tmp, 'x.csv'), '--events', '-5'), EXIT.usage);
    expectOneLine(await cli('frobnicate'), EXIT.usage, 'unknown command "frobnicate"');
    expectOneLine(await cli('report'), EXIT.usage, 'exactly one run folder');
    const badConfig = write('config.json', JSON.stringify({ parameters: { recommendations: { rank: 0 } } }));
    expectOneLine(await cli('run', '-i', OCT, '--config', badConfig), EXIT.usage, badConfig, 'parameters.recommendations.rank');
  });

  test('--help works on every command', async () => {
    for (const command of [[], ['run'], ['generate'], ['demo'], ['report']]) {
      const r = await cli(...command, '--help');
      expect(r.code).toBe(EXIT.ok);
      expect(r.stdout).toMatch(/Usage: shopsight/);
    }
  });

  test('the installed bin returns the same exit codes to the shell', () => {
    const missing = path.join(tmp, 'nope.csv.gz');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'local/cli/bin.js'), 'run', '-i', missing], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
    expect(r.status).toBe(EXIT.inputNotFound);
    // Progress lines may come first; the error is the last line, and no stack trace.
    expect(r.stderr.trim().split('\n').pop()).toBe(`shopsight: ${missing}: no such file or directory`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('run folders are owned: nothing the engine did not create is changed', () => {
  const root = () => path.join(tmp, 'owned');
  let input: string;
  beforeAll(async () => {
    input = path.join(root(), 'data', 'events', 'events.csv');
    await generate({ dataset: 'rees46', events: 60_000, seed: 5, out: input, days: 7 });
  });

  /** Every file under `dir` (hidden ones included) with its SHA-256, by relative path. */
  const snapshot = (dir: string): Record<string, string> => {
    const files: Record<string, string> = {};
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath ?? entry.path, entry.name);
      files[path.relative(dir, full)] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
    return files;
  };
  const refused = (r: Captured, ...parts: string[]) => {
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    for (const p of parts) expect(r.stderr).toContain(p);
  };

  test('an --out that contains the input, or lies inside it, is refused and the input survives byte for byte', async () => {
    const before = snapshot(path.join(root(), 'data'));
    refused(await cli('run', '-i', input, '-o', path.join(root(), 'data')), 'contains the input');
    refused(await cli('run', '-i', path.dirname(input), '-o', path.join(root(), 'data', 'events', 'out')), 'is inside the input');
    refused(await cli('run', '-i', path.join(root(), 'data', '**', '*.csv'), '-o', path.join(root(), 'data', 'runs')), 'is inside the input');
    expect(snapshot(path.join(root(), 'data'))).toEqual(before);
    // A glob within one folder names only its matches: a run folder beside them is fine (and not read by a rerun).
    const beside = path.join(root(), 'data', 'events', 'run');
    for (let i = 0; i < 2; i++) expect((await cli('run', '-i', path.join(root(), 'data', 'events', '*.csv'), '-o', beside, '--no-report')).code).toBe(EXIT.ok);
    fs.rmSync(beside, { recursive: true });
    expect(snapshot(path.join(root(), 'data'))).toEqual(before);
  });

  test("a user's folder with an unrelated events/ folder is refused, its files unchanged", async () => {
    const mine = path.join(root(), 'home');
    fs.mkdirSync(path.join(mine, 'events'), { recursive: true });
    fs.writeFileSync(path.join(mine, 'events', 'notes.txt'), 'my notes\n');
    fs.writeFileSync(path.join(mine, 'report'), 'not a folder\n');
    const before = snapshot(mine);
    refused(await cli('run', '-i', input, '-o', mine), mine, 'not a shopsight run folder');
    refused(await cli('demo', '--events', '1000', '-o', mine), mine, 'not a shopsight run folder');
    expect(snapshot(mine)).toEqual(before);
    expect(fs.readdirSync(root()).filter((n) => n.includes('shopsight-tmp'))).toEqual([]);
  });

  test('an --out that is a file, or under a file, exits 2 in one line and the file is unchanged', async () => {
    const file = path.join(root(), 'a-file.txt');
    fs.writeFileSync(file, 'keep me\n');
    refused(await cli('run', '-i', input, '-o', file), file, 'is a file, not a folder');
    refused(await cli('run', '-i', input, '-o', path.join(file, 'run')), 'a parent of it is a file');
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me\n');
    // A folder nobody may create entries in (not even root: /proc): refused before any stage.
    const unwritable = await cli('run', '-i', input, '-o', '/proc/shopsight-run');
    refused(unwritable, '--out /proc/shopsight-run: cannot write beside it in /proc');
    expect(unwritable.stderr).not.toContain('shopsight: validate');
    refused(await cli('generate', '--events', '100', '-o', '/proc/shopsight.csv'), '--out /proc/shopsight.csv: cannot write in /proc');
  });

  test('a run folder is replaced by the next run; a file of the user put into it makes the next run refuse', async () => {
    const out = path.join(root(), 'runs');
    expect((await cli('run', '-i', input, '-o', out, '--run-id', 'first', '--no-report')).code).toBe(EXIT.ok);
    const marker = JSON.parse(fs.readFileSync(path.join(out, '.shopsight-run.json'), 'utf8'));
    expect(marker).toMatchObject({ tool: 'shopsight', kind: 'run', runId: 'first', engineVersion: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version });
    expect(marker.entries).toEqual(fs.readdirSync(out).filter((n) => n !== '.shopsight-run.json').sort());
    expect(marker.entries).not.toContain('report');
    // `report` adds the page and records it as the run's own: the next run may still replace the folder.
    expect((await cli('report', out)).code).toBe(EXIT.ok);
    expect((await cli('run', '-i', input, '-o', out, '--run-id', 'second', '--no-report')).code).toBe(EXIT.ok);
    expect(JSON.parse(fs.readFileSync(path.join(out, '.shopsight-run.json'), 'utf8')).runId).toBe('second');
    expect(fs.existsSync(path.join(out, 'report'))).toBe(false); // the second run wrote no report; nothing stale is left
    fs.writeFileSync(path.join(out, 'my-analysis.sql'), 'SELECT 1;\n');
    refused(await cli('run', '-i', input, '-o', out, '--run-id', 'third'), 'my-analysis.sql', 'which the run did not write');
    expect(fs.readFileSync(path.join(out, 'my-analysis.sql'), 'utf8')).toBe('SELECT 1;\n');
    expect(JSON.parse(fs.readFileSync(path.join(out, '.shopsight-run.json'), 'utf8')).runId).toBe('second');
  });

  test('a run killed during recommendations leaves the previous run folder as it was; the next run cleans up after it', async () => {
    const out = path.join(root(), 'killed');
    expect((await cli('run', '-i', input, '-o', out, '--run-id', 'kept')).code).toBe(EXIT.ok);
    const before = snapshot(out);
    let killedAt = '';
    const r = await cliIn(tmp, ['run', '-i', input, '-o', out, '--run-id', 'killed'], (stderr, child) => {
      if (!killedAt && stderr.includes('shopsight: recommendations')) {
        killedAt = stderr;
        child.kill('SIGKILL');
      }
    });
    expect(r.code).toBe(-1); // ended by the signal
    expect(killedAt).toContain('shopsight: association-rules'); // it got that far
    expect(snapshot(out)).toEqual(before);
    const leftovers = () => fs.readdirSync(root()).filter((n) => n.startsWith('.killed.shopsight-'));
    expect(leftovers()).toHaveLength(1); // the killed run's staging folder, beside the run folder
    const next = await cli('run', '-i', input, '-o', out, '--run-id', 'after', '--no-report');
    expect(next.code).toBe(EXIT.ok);
    expect(next.stderr).toContain('left by an interrupted run');
    expect(leftovers()).toEqual([]);

    // Ctrl-C: exit 130, the staging folder removed at once, the run folder as it was.
    const published = snapshot(out);
    let interrupted = false;
    const stopped = await cliIn(tmp, ['run', '-i', input, '-o', out, '--run-id', 'interrupted'], (stderr, child) => {
      if (!interrupted && stderr.includes('shopsight: recommendations')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('shopsight: stopped by SIGINT; nothing was published');
    expect(leftovers()).toEqual([]);
    expect(snapshot(out)).toEqual(published);
  });

  test('a run with no usable row keeps its rejects beside an earlier run folder, which stays', async () => {
    const out = path.join(root(), 'runs-rejected');
    expect((await cli('run', '-i', input, '-o', out, '--run-id', 'good', '--no-report')).code).toBe(EXIT.ok);
    const header = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';
    const bad = path.join(root(), 'bad-input', 'bad.csv');
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, `${header}\n2019-10-01 00:00:00 UTC,teleport,1,,,,1.00,2,s\n`);
    const r = await cli('run', '-i', bad, '-o', out, '--run-id', 'bad');
    expect(r.code).toBe(EXIT.inputUnusable);
    expect(r.stderr).toContain(`rejected rows are in ${path.join(`${out}-bad`, 'rejects')}`);
    expect(JSON.parse(fs.readFileSync(path.join(out, '.shopsight-run.json'), 'utf8')).runId).toBe('good');
    expect(await count(`${out}-bad`, 'rejects')).toBe(1);
  });

  test('demo reruns into its own folder; generate replaces only the files it wrote', async () => {
    const demo = path.join(root(), 'demo');
    for (let i = 0; i < 2; i++) expect((await cli('demo', '--events', '3000', '-o', demo)).code).toBe(EXIT.ok);
    expect(fs.existsSync(path.join(demo, 'input', 'rees46-synthetic.csv.gz'))).toBe(true);
    const file = path.join(root(), 'gen', 'rr.csv');
    const tree = path.join(root(), 'gen', 'category_tree.csv');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tree, 'my own tree\n');
    refused(await cli('generate', '--dataset', 'retailrocket', '--events', '500', '-o', file), tree, 'generate did not write it');
    expect(fs.readFileSync(tree, 'utf8')).toBe('my own tree\n');
    expect(fs.existsSync(file)).toBe(false);
    fs.rmSync(tree);
    for (let i = 0; i < 2; i++) expect((await cli('generate', '--dataset', 'retailrocket', '--events', '500', '-o', file)).code).toBe(EXIT.ok);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['category_tree.csv', 'item_properties_part1.csv', 'rr.csv', 'rr.truth.json']);
  });
});

describe('the command line itself', () => {
  test('--version and -V print the package version; help <command> prints that command\'s help', async () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
    for (const flag of ['--version', '-V']) expect(await cli(flag)).toEqual({ code: 0, stdout: `shopsight ${version}\n`, stderr: '' });
    for (const command of ['run', 'generate', 'demo', 'report', 'rehearse']) {
      const r = await cli('help', command);
      expect(r.code).toBe(EXIT.ok);
      expect(r.stdout).toBe((await cli(command, '--help')).stdout);
      expect(r.stdout).toMatch(new RegExp(`^Usage: shopsight ${command}`));
    }
    const unknown = await cli('help', 'frobnicate');
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain('no help for "frobnicate"');
  });

  test('rehearse refuses a missing input or one inside its folder before claiming the folder', async () => {
    const dir = path.join(tmp, 'rehearsal-never');
    const missing = await cli('rehearse', '-i', path.join(tmp, 'nope.csv'), '-o', dir);
    expect([missing.code, missing.stderr.trim()]).toEqual([EXIT.inputNotFound, `shopsight: --input ${path.join(tmp, 'nope.csv')}: no such file or folder`]);
    expect(fs.existsSync(dir)).toBe(false);
    fs.mkdirSync(path.join(tmp, 'rehearse-input'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'rehearse-input', 'x.csv'), 'a,b\n');
    const inside = await cli('rehearse', '-i', path.join(tmp, 'rehearse-input'), '-o', path.join(tmp, 'rehearse-input', 'r'));
    expect(inside.code).toBe(EXIT.usage);
    expect(inside.stderr).toContain('is inside the input');
    expect(fs.readdirSync(path.join(tmp, 'rehearse-input'))).toEqual(['x.csv']);
  });

  test('an option value that starts with a dash gets node:util\'s whole hint, on one line', async () => {
    const r = await cli('generate', '--events', '-5', '-o', path.join(tmp, 'dash.csv'));
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr.split('\n')[0]).toMatch(/^shopsight: Option '--events' argument is ambiguous\. .*'--events=-XYZ'\.$/);
  });

  test('a malformed --mysql URL is a usage error before anything runs', async () => {
    const r = await cli('run', '-i', OCT, '-o', path.join(tmp, 'never'), '--mysql', 'not a url');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('--mysql: not a URL');
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});

describe('shopsight run --mysql loads the serving tables into MariaDB through the loader SQL', () => {
  let server: MariaDb;
  const out = () => path.join(tmp, 'mysql');
  beforeAll(async () => {
    server = await startMariaDb();
    await server.exec('CREATE DATABASE shopsight');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('every served table holds exactly the rows of its Parquet table; a rerun of the same run is a new load of the same rows', async () => {
    const url = server.url('root', '', 'shopsight');
    const r = await cli('run', '-i', NOV, '-o', out(), '--run-id', 'nov-mysql', '--mysql', url, '--no-report');
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(EXIT.ok);
    const db = await server.connect({ database: 'shopsight' });
    try {
      for (const table of servedTables()) {
        const [rows] = await db.query(`SELECT COUNT(*) AS n FROM \`${table.name}\``);
        expect({ table: table.name, rows: Number((rows as { n: string }[])[0].n) }).toEqual({ table: table.name, rows: await count(out(), table.name) });
      }
      // Values survive the CSV round trip: revenue per date equals the Parquet table's.
      const [revenue] = await db.query('SELECT CAST(SUM(revenue) AS CHAR) AS total FROM purch_date');
      const parquetRevenue = await one(`SELECT CAST(sum(revenue) AS VARCHAR) AS total FROM ${parquet(out(), 'purch_date')}`);
      expect((revenue as { total: string }[])[0].total).toBe(parquetRevenue.total);
      const [runs] = await db.query('SELECT run_id, status FROM load_runs');
      expect(runs).toEqual([{ run_id: 'nov-mysql', status: 'loaded' }]);
      const servedCounts = async (): Promise<Record<string, number>> => {
        const counts: Record<string, number> = {};
        for (const table of servedTables()) {
          const [rows] = await db.query(`SELECT COUNT(*) AS n FROM \`${table.name}\``);
          counts[table.name] = Number((rows as { n: string }[])[0].n);
        }
        return counts;
      };
      const before = await servedCounts();
      // A rerun writes a new manifest (its createdAt), so it is loaded again and the first load is replaced.
      const again = await cli('run', '-i', NOV, '-o', out(), '--run-id', 'nov-mysql', '--mysql', url, '--no-report');
      expect(again.code).toBe(EXIT.ok);
      const [after] = await db.query('SELECT run_id, status FROM load_runs ORDER BY started_at');
      expect(after).toEqual([
        { run_id: 'nov-mysql', status: 'replaced' },
        { run_id: 'nov-mysql', status: 'loaded' },
      ]);
      expect(await servedCounts()).toEqual(before);
    } finally {
      await db.end();
    }
  });

  test('an unreachable database exits 5 in one line before any stage runs, and writes no run folder', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    for (const url of [`mysql://root@127.0.0.1:${closedPort}/shopsight`, 'mysql://root@localhost/shopsight?socket=/nonexistent/mysqld.sock']) {
      const r = await cli('run', '-i', NOV, '-o', path.join(tmp, 'mysql-bad'), '--no-report', '--mysql', url);
      expect(r.code).toBe(EXIT.mysqlLoad);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^shopsight: --mysql: cannot connect to .*; nothing was run\)$/)]);
      expect(fs.existsSync(path.join(tmp, 'mysql-bad'))).toBe(false);
    }
  });

  test('a server without local_infile, or a user who may not create tables, is refused before the run', async () => {
    await server.exec("CREATE USER 'reader'@'localhost' IDENTIFIED BY 'reader-pw'");
    await server.exec("GRANT SELECT ON shopsight.* TO 'reader'@'localhost'");
    const denied = await cli('run', '-i', NOV, '-o', path.join(tmp, 'mysql-denied'), '--no-report', '--mysql', server.url('reader', 'reader-pw', 'shopsight'));
    expect(denied.code).toBe(EXIT.mysqlLoad);
    expect(denied.stderr).toMatch(/^shopsight: --mysql: user reader may not load into database shopsight \(CREATE TABLE: .*denied/);
    expect(denied.stderr).not.toContain('shopsight: prepare');
    await server.exec('SET GLOBAL local_infile = 0');
    try {
      const off = await cli('run', '-i', NOV, '-o', path.join(tmp, 'mysql-off'), '--no-report', '--mysql', server.url('root', '', 'shopsight'));
      expect(off.code).toBe(EXIT.mysqlLoad);
      expect(off.stderr).toContain('does not allow LOAD DATA LOCAL INFILE');
    } finally {
      await server.exec('SET GLOBAL local_infile = 1');
    }
    const [tables] = await (async () => {
      const db = await server.connect({ database: 'shopsight' });
      try {
        return await db.query("SHOW TABLES LIKE '\\_shopsight\\_probe%'");
      } finally {
        await db.end();
      }
    })();
    expect(tables).toEqual([]); // the privilege probe leaves nothing behind
  });
});
