/**
 * The shared reader cases (core/cases/reader_cases.json) through the local readers. The
 * Spark reader runs the same file, so both engines are held to one set of expectations, written from
 * the rules in the readers' header comments (local/engine/rees46-reader.ts, retailrocket-reader.ts),
 * not from either engine's output. Values are made up; none comes from the real samples.
 *
 * Case format: { name, dataset: "rees46" | "retailrocket", header?: the header line (default: the
 * contract's), lines: raw data lines (written after the header, each followed by "\n"; a line ending
 * in "\r" is thus a CRLF line), expect: one entry per data line that is a row (blank lines have
 * none), by its 1-based physical line (header = 1):
 *   { line, reason, detail }       a reject, with its exact detail;
 *   { line, accepted: { … } }      an events row; only the listed columns are checked: ids as JSON
 *                                  numbers or, beyond 2^53, strings of digits; price as a string with
 *                                  2 decimals; event_time as ISO 8601 UTC ("…T00:00:00Z", or with 6
 *                                  fraction digits when not whole seconds); event_date "YYYY-MM-DD";
 *                                  null for NULL;
 *   { line, duplicate: true }      an exact duplicate of an earlier row: removed, counted.
 * }
 * RetailRocket cases run without category_tree or item_properties, with sessionGapMinutes 30.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { loadRees46, REES46_HEADER } from '../../local/engine/rees46-reader';
import { loadRetailRocket, RETAILROCKET_HEADER } from '../../local/engine/retailrocket-reader';

interface Expect {
  line: number;
  reason?: string;
  detail?: string;
  accepted?: Record<string, string | number | null>;
  duplicate?: boolean;
}
interface Case {
  name: string;
  dataset: 'rees46' | 'retailrocket';
  header?: string;
  lines: string[];
  expect: Expect[];
}

const CASES: Case[] = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../core/cases/reader_cases.json'), 'utf8'));
const REASONS = {
  rees46: ['control_character', 'wrong_column_count', 'unterminated_quote', 'bad_timestamp', 'unknown_event_type', 'bad_product_id', 'bad_category_id', 'field_too_long', 'bad_price', 'negative_price', 'bad_user_id', 'missing_session'],
  retailrocket: ['control_character', 'wrong_column_count', 'unterminated_quote', 'bad_timestamp', 'unknown_event_type', 'bad_product_id', 'bad_user_id', 'bad_transaction_id'],
};

let instance: DuckDBInstance;
let db: DuckDBConnection;
let dir: string;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-reader-cases-'));
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rows = async (sql: string): Promise<Record<string, unknown>[]> => (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
const norm = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

test('the case file covers every reject reason of both readers, duplicates, and uses each case name once', () => {
  for (const dataset of ['rees46', 'retailrocket'] as const) {
    const seen = new Set(CASES.filter((c) => c.dataset === dataset).flatMap((c) => c.expect.map((e) => e.reason).filter(Boolean)));
    expect([...REASONS[dataset]].filter((r) => !seen.has(r))).toEqual([]);
    expect(CASES.some((c) => c.dataset === dataset && c.expect.some((e) => e.duplicate))).toBe(true);
  }
  expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
});

describe.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
  test('every row as expected, nothing else; counts reconcile', async () => {
    const file = path.join(dir, `case-${i}.csv`);
    const header = c.header ?? (c.dataset === 'rees46' ? REES46_HEADER : RETAILROCKET_HEADER).join(',');
    fs.writeFileSync(file, [header, ...c.lines].map((l) => `${l}\n`).join(''));
    const result =
      c.dataset === 'rees46'
        ? await loadRees46(db, [file])
        : await loadRetailRocket(db, { events: [file], itemProperties: [] }, { sessionGapMinutes: 30 });

    const events = await rows(`SELECT *,
        strftime(event_time, '%Y-%m-%dT%H:%M:%S') || CASE WHEN microsecond(event_time) % 1000000 = 0 THEN '' ELSE strftime(event_time, '.%f') END || 'Z' AS iso_time
      FROM events ORDER BY source_line`);
    const rejects = await rows(`SELECT source_line, reason, detail, raw_line FROM rejects ORDER BY source_line`);

    const wantRejects = c.expect.filter((e) => e.reason !== undefined).map((e) => ({ line: e.line, reason: e.reason, detail: e.detail }));
    expect(rejects.map((r) => ({ line: Number(r.source_line), reason: r.reason, detail: r.detail }))).toEqual(wantRejects);
    // The raw line is kept as read: the line without its one trailing CR.
    for (const r of rejects) expect(r.raw_line).toBe(c.lines[Number(r.source_line) - 2].replace(/\r$/, ''));

    const wantAccepted = c.expect.filter((e) => e.accepted !== undefined);
    expect(events.map((e) => Number(e.source_line))).toEqual(wantAccepted.map((e) => e.line));
    for (const want of wantAccepted) {
      const got = events.find((e) => Number(e.source_line) === want.line)!;
      const view: Record<string, string | null> = {};
      const expected: Record<string, string | null> = {};
      for (const [column, value] of Object.entries(want.accepted!)) {
        view[column] = column === 'event_time' ? norm(got.iso_time) : norm(got[column]);
        expected[column] = norm(value);
      }
      expect({ line: want.line, ...view }).toEqual({ line: want.line, ...expected });
    }

    const duplicates = c.expect.filter((e) => e.duplicate).length;
    expect(result.totals).toMatchObject({ accepted: wantAccepted.length, rejected: wantRejects.length, duplicatesRemoved: duplicates });
    expect(result.totals.rowsRead).toBe(c.lines.filter((l) => l.replace(/\r$/, '') !== '').length);
  });
});
