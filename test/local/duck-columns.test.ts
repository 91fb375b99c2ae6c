/**
 * The typed-array crossings of local/engine/duck.ts: appendNumericRows (buffered DataChunk appends)
 * writes exactly the rows a per-value DuckDB appender writes, across chunk boundaries and with the
 * doubles NaN, ±Infinity, -0 and subnormals; it refuses a wrong kind, an out-of-range integer and
 * an incomplete row; fetchColumns reads the rows back in order. createTableFromQuery runs its query
 * once, refuses a wrong type before running it and an over-long string after, leaving no table.
 */
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { appendNumericRows, appendRows, createTableFromQuery, fetchColumns, fetchRowMajor } from '../../local/engine/duck';

let instance: DuckDBInstance;
let c: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  c = await instance.connect();
});
afterAll(() => {
  c.closeSync();
  instance.closeSync();
});

const SPECIAL = [Number.NaN, Infinity, -Infinity, -0, 5e-324, 1.7976931348623157e308, 0.1];

describe('appendNumericRows', () => {
  // 2,048 rows make one DataChunk: 5,000 rows are two full chunks and a partial one.
  const rows = 5000;
  const value = (r: number) => (r < SPECIAL.length ? SPECIAL[r] : Math.sin(r) * 1e6);

  test('writes the same rows as the per-value appender, in order, across chunk boundaries', async () => {
    for (const t of ['a', 'b']) await c.run(`CREATE OR REPLACE TABLE ${t} (id INTEGER, neg INTEGER, x DOUBLE, f FLOAT)`);
    const fill = (a: { appendInteger(v: number): void; appendDouble(v: number): void; endRow(): void }) => {
      for (let r = 0; r < rows; r++) {
        a.appendInteger(r);
        a.appendInteger(r === 1 ? -2147483648 : r === 2 ? 2147483647 : -r);
        a.appendDouble(value(r));
        a.appendDouble(r / 3);
        a.endRow();
      }
    };
    await appendRows(c, 'a', (a) =>
      fill({ appendInteger: (v) => a.appendInteger(v), appendDouble: (v) => a.appendDouble(v), endRow: () => a.endRow() }),
    );
    await appendNumericRows(c, 'b', ['i32', 'i32', 'f64', 'f32'], fill);
    // Row for row, NaN and -0 included (IS DISTINCT FROM treats NaN = NaN; -0 is checked by its sign below).
    const diff = await c.runAndReadAll(`SELECT count(*) FROM a JOIN b USING (id)
      WHERE a.neg IS DISTINCT FROM b.neg OR a.x IS DISTINCT FROM b.x OR a.f IS DISTINCT FROM b.f`);
    expect(Number(diff.getRows()[0][0])).toBe(0);
    const { rows: n, columns } = await fetchColumns(c, 'SELECT id, x, f FROM b ORDER BY rowid', ['i32', 'f64', 'f32'] as const);
    expect(n).toBe(rows);
    expect(Array.from(columns[0].subarray(0, 3))).toEqual([0, 1, 2]);
    expect(columns[0][rows - 1]).toBe(rows - 1);
    for (let r = 0; r < SPECIAL.length; r++) expect(Object.is(columns[1][r], SPECIAL[r])).toBe(true);
    expect(columns[2][rows - 1]).toBe(Math.fround((rows - 1) / 3));
  });

  test('refuses a value of the wrong kind, an integer out of range and an incomplete row, naming the table', async () => {
    await c.run('CREATE OR REPLACE TABLE t (i INTEGER, x DOUBLE)');
    await expect(appendNumericRows(c, 't', ['i32', 'f64'], (a) => a.appendDouble(1))).rejects.toThrow('appendNumericRows(t): column 1 is i32');
    await expect(appendNumericRows(c, 't', ['i32', 'f64'], (a) => a.appendInteger(2 ** 31))).rejects.toThrow('2147483648 is not an INTEGER');
    await expect(appendNumericRows(c, 't', ['i32', 'f64'], (a) => a.appendInteger(1.5))).rejects.toThrow('1.5 is not an INTEGER');
    await expect(appendNumericRows(c, 't', ['i32', 'f64'], (a) => {
      a.appendInteger(1);
      a.endRow();
    })).rejects.toThrow('a row of 1 values, expected 2');
    await expect(appendNumericRows(c, 't', ['i32', 'f64'], (a) => a.appendInteger(1))).rejects.toThrow('the last row is incomplete');
  });
});

describe('createTableFromQuery', () => {
  // A funnel-shaped query (the contract's `funnel`: stage is VARCHAR of at most 16 characters) whose
  // rows each take a value of a sequence, in both the number and the string column (a length check
  // reads only the strings), so the sequence tells how many times the query ran.
  const funnel = (stage: string, stageOrderType = 'INTEGER') => `SELECT CAST(n AS ${stageOrderType}) AS stage_order, CASE WHEN n > 0 THEN '${stage}' END AS stage,
      CAST(1 AS BIGINT) AS users, CAST(1 AS BIGINT) AS sessions, CAST(1 AS BIGINT) AS events,
      CAST(1 AS DOUBLE) AS users_from_view_rate, CAST(1 AS DOUBLE) AS users_from_previous_rate
    FROM (SELECT nextval('runs') AS n FROM range(3))`;
  const ran = async () => Number((await c.runAndReadAll(`SELECT currval('runs')`)).getRows()[0][0]);
  const exists = async (t: string) => Number((await c.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = '${t}'`)).getRows()[0][0]);

  test('runs the query once and returns its row count', async () => {
    await c.run('CREATE OR REPLACE SEQUENCE runs');
    expect(await createTableFromQuery(c, 'funnel', funnel('view'))).toBe(3);
    expect(await ran()).toBe(3);
    const rows = await c.runAndReadAll('SELECT stage_order, stage FROM funnel ORDER BY stage_order');
    expect(rows.getRows()).toEqual([[1, 'view'], [2, 'view'], [3, 'view']]);
  });

  test('refuses a string longer than the contract allows and leaves no table', async () => {
    await c.run('DROP TABLE IF EXISTS funnel');
    await c.run('CREATE OR REPLACE SEQUENCE runs');
    await expect(createTableFromQuery(c, 'funnel', funnel('x'.repeat(17)))).rejects.toThrow(
      'funnel does not match the table contract: funnel.stage: longest value has 17 characters, the contract allows 16',
    );
    expect(await exists('funnel')).toBe(0);
  });

  test('refuses a wrong type before running the query', async () => {
    await c.run('CREATE OR REPLACE SEQUENCE runs');
    await c.run('SELECT nextval(\'runs\')');
    await expect(createTableFromQuery(c, 'funnel', funnel('view', 'BIGINT'))).rejects.toThrow(
      'funnel.stage_order: DuckDB type BIGINT, contract type INTEGER',
    );
    expect(await ran()).toBe(1);
    expect(await exists('funnel')).toBe(0);
  });
});

describe('fetchRowMajor', () => {
  test('fills one row-major matrix and the integer columns, across chunk boundaries', async () => {
    const rows = 5000;
    const { matrix, ints } = await fetchRowMajor(c, `SELECT CAST(i AS DOUBLE) / 4, CAST(-i AS DOUBLE), CAST(i * 2 AS INTEGER), CAST(i % 7 AS INTEGER) FROM range(${rows}) t(i) ORDER BY i`, 2, 2, rows);
    expect(matrix.length).toBe(rows * 2);
    for (const r of [0, 1, 2047, 2048, rows - 1]) {
      expect([matrix[r * 2], matrix[r * 2 + 1], ints[0][r], ints[1][r]]).toEqual([r / 4, 0 - r, r * 2, r % 7]);
    }
  });

  test('refuses a row count other than the one given, and a null', async () => {
    await expect(fetchRowMajor(c, 'SELECT CAST(i AS DOUBLE) FROM range(10) t(i)', 1, 0, 11)).rejects.toThrow('fetchRowMajor: 10 rows, expected 11');
    await expect(fetchRowMajor(c, 'SELECT CAST(i AS DOUBLE) FROM range(3000) t(i)', 1, 0, 2999)).rejects.toThrow('fetchRowMajor: more than the 2999 rows expected');
    await expect(fetchRowMajor(c, 'SELECT CAST(NULLIF(i, 2) AS DOUBLE), 1 FROM range(5) t(i)', 1, 1, 5)).rejects.toThrow('fetchRowMajor: column 1 has a null at row 3');
  });
});
