/**
 * The gate's SQL on a real engine: DuckDB stands in for Athena (both run this subset, count, sum,
 * coalesce, CASE and a bound `WHERE run_id = ?`, alike). Tables are created from the contract in a
 * schema named like the Glue database, so the gate's queries run verbatim, `"<db>".` qualifier
 * included. They hold a small hand-made dataset for two runs; the numbers each query must return
 * were counted by hand from it.
 */
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { OUTPUT_TABLES, RUN_ID_PARTITION, exportManifestKey, glueType, outputTable, runSummaryKey, servedTables, servingColumns } from '../../core/contract';
import { QueryRunner } from '../../core/catalog/athena-query';
import { CheckOutcome, checkReconciliations, collectMeasureValues, measureUses, planTableQueries } from '../../lambdas/data-quality-gate/checks';
import { GateSettings, runDataQualityGate } from '../../lambdas/data-quality-gate/gate';
import { duckdbQueryRunner } from '../../local/rehearse/athena-sql';

const DB = 'shopsight_dev';
const OCT = 'oct-2019';
const NOV = 'nov-2019';
const MISSING = '(missing)';

type Cell = string | number | null;
const literal = (v: Cell): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);

// ---------------------------------------------------------------------------------------------
// The hand-made dataset. Columns the checks do not read are filled only where the contract's
// meaning needs them to make the derived tables below true.
// ---------------------------------------------------------------------------------------------

type EventRow = [date: string, dayOfWeek: number, type: string, product: number, price: string | null, user: number, categoryCode: string | null, brand: string | null];

/** oct-2019: 4 views, 1 cart, 4 purchases (10.00 + 7.25 + 5.50 + one without price = 22.75), 1 remove_from_cart. */
const OCT_EVENTS: EventRow[] = [
  ['2019-10-01', 2, 'view', 1, '10.00', 1, 'electronics.smartphone', 'apple'],
  ['2019-10-01', 2, 'view', 2, '5.50', 2, 'electronics.smartphone', 'samsung'],
  ['2019-10-01', 2, 'view', 4, null, 2, null, null],
  ['2019-10-01', 2, 'cart', 1, '10.00', 1, 'electronics.smartphone', 'apple'],
  ['2019-10-01', 2, 'purchase', 1, '10.00', 1, 'electronics.smartphone', 'apple'],
  ['2019-10-02', 3, 'view', 3, '7.25', 3, 'appliances.kitchen.kettle', null],
  ['2019-10-02', 3, 'purchase', 3, '7.25', 3, 'appliances.kitchen.kettle', null],
  ['2019-10-02', 3, 'purchase', 2, '5.50', 1, 'electronics.smartphone', 'samsung'],
  ['2019-10-02', 3, 'remove_from_cart', 2, '5.50', 2, 'electronics.smartphone', 'samsung'],
  ['2019-10-02', 3, 'purchase', 4, null, 2, null, null],
];

/** nov-2019: 1 view, no cart, 2 purchases (99.99 + 0.01 = 100.00). */
const NOV_EVENTS: EventRow[] = [
  ['2019-11-01', 5, 'view', 1, '99.99', 7, 'electronics.smartphone', 'apple'],
  ['2019-11-01', 5, 'purchase', 1, '99.99', 7, 'electronics.smartphone', 'apple'],
  ['2019-11-01', 5, 'purchase', 5, '0.01', 8, 'computers', 'acer'],
];

/** Rows of the derived tables, in the contract's column order, counted by hand from the events above. */
const DERIVED: Record<string, Record<string, Cell[][]>> = {
  [OCT]: {
    v_date: [
      ['2019-10-01', 3, 2],
      ['2019-10-02', 1, 1],
    ],
    c_date: [['2019-10-01', 1, 1]],
    purch_date: [
      ['2019-10-01', 1, 1, '10.00'],
      ['2019-10-02', 3, 3, '12.75'],
    ],
    userid_date: [
      ['2019-10-01', 2, 2, 5],
      ['2019-10-02', 3, 3, 5],
    ],
    customer_count_purchase: [
      [1, 2, '15.50', '2019-10-01 10:00:00', '2019-10-02 10:00:00'],
      [2, 1, '0.00', '2019-10-02 11:00:00', '2019-10-02 11:00:00'],
      [3, 1, '7.25', '2019-10-02 09:00:00', '2019-10-02 09:00:00'],
    ],
    purchase_c_s_b: [
      ['electronics', 'smartphone', 'apple', 1, '10.00'],
      ['electronics', 'smartphone', 'samsung', 1, '5.50'],
      ['appliances', 'kitchen.kettle', MISSING, 1, '7.25'],
      [MISSING, MISSING, MISSING, 1, '0.00'],
    ],
    p_v_c_day: [
      [2, 'Tuesday', 1, 3, 1],
      [3, 'Wednesday', 3, 1, 0],
    ],
  },
  [NOV]: {
    v_date: [['2019-11-01', 1, 1]],
    c_date: [],
    purch_date: [['2019-11-01', 2, 2, '100.00']],
    userid_date: [['2019-11-01', 2, 2, 3]],
    customer_count_purchase: [
      [7, 1, '99.99', '2019-11-01 10:00:00', '2019-11-01 10:00:00'],
      [8, 1, '0.01', '2019-11-01 12:00:00', '2019-11-01 12:00:00'],
    ],
    purchase_c_s_b: [
      ['electronics', 'smartphone', 'apple', 1, '99.99'],
      ['computers', MISSING, 'acer', 1, '0.01'],
    ],
    p_v_c_day: [[5, 'Friday', 2, 1, 0]],
  },
};

const REJECT_COUNTS: Record<string, number> = { [OCT]: 2, [NOV]: 0 };

function eventValues(runId: string, rows: EventRow[]): Record<string, Cell>[] {
  return rows.map(([date, dayOfWeek, type, product, price, user, categoryCode, brand], i) => {
    const dot = categoryCode?.indexOf('.') ?? -1;
    return {
      run_id: runId,
      event_date: date,
      event_time: `${date} 10:00:00`,
      event_hour: 10,
      day_of_week: dayOfWeek,
      event_type: type,
      product_id: product,
      category_code: categoryCode,
      category: categoryCode === null ? null : dot < 0 ? categoryCode : categoryCode.slice(0, dot),
      sub_category: categoryCode === null || dot < 0 ? null : categoryCode.slice(dot + 1),
      brand,
      price,
      user_id: user,
      session_id: `s-${user}`,
      source_file: `s3://raw-bucket/${runId}.csv`,
      source_line: i + 2,
    };
  });
}

// ---------------------------------------------------------------------------------------------

let instance: DuckDBInstance;
let setup: DuckDBConnection;

async function insert(table: string, rows: Record<string, Cell>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const values = rows.map((r) => `(${columns.map((c) => literal(r[c])).join(', ')})`).join(', ');
  await setup.run(`INSERT INTO "${DB}"."${table}" (${columns.join(', ')}) VALUES ${values}`);
}

/** Runs a query as the Lambda's Athena runner would: `?` bound as Athena binds it, every value read back as Athena's text. */
const duckdbRunner: QueryRunner = duckdbQueryRunner(() => instance.connect());

beforeEach(async () => {
  instance = await DuckDBInstance.create(':memory:');
  setup = await instance.connect();
  await setup.run(`CREATE SCHEMA "${DB}"`);
  for (const table of OUTPUT_TABLES) {
    const columns = [...table.columns, RUN_ID_PARTITION, ...table.partitionKeys].map((c) => `${c.name} ${glueType(c.type)}`);
    await setup.run(`CREATE TABLE "${DB}"."${table.name}" (${columns.join(', ')})`);
  }
  for (const [runId, events] of [
    [OCT, OCT_EVENTS],
    [NOV, NOV_EVENTS],
  ] as const) {
    await insert('events', eventValues(runId, events));
    await insert(
      'rejects',
      Array.from({ length: REJECT_COUNTS[runId] }, (_, i) => ({
        run_id: runId,
        source_file: `s3://raw-bucket/${runId}.csv`,
        source_line: 100 + i,
        reason: 'bad_price',
        detail: 'price: "abc"',
        raw_line: 'x',
      })),
    );
    for (const [table, rows] of Object.entries(DERIVED[runId])) {
      const names = outputTable(table).columns.map((c) => c.name);
      await insert(
        table,
        rows.map((cells) => ({ ...Object.fromEntries(names.map((n, i) => [n, cells[i]])), run_id: runId })),
      );
    }
  }
});

afterEach(() => {
  setup.closeSync();
  instance.closeSync();
});

async function reconciliations(runId: string): Promise<Map<string, CheckOutcome>> {
  const queries = planTableQueries(DB, measureUses());
  const rows = await Promise.all(queries.map((q) => duckdbRunner({ label: q.table, sql: q.sql, parameters: [runId] })));
  const outcomes = checkReconciliations(DB, collectMeasureValues(queries, rows));
  return new Map(outcomes.map((o) => [o.name, o]));
}

const failedOf = (outcomes: Map<string, CheckOutcome>): string[] => [...outcomes.values()].filter((o) => !o.passed).map((o) => o.name);

/** Both sides of a reconciliation, canonicalised for comparison with the hand counts. */
function sides(outcomes: Map<string, CheckOutcome>, name: string): [expected: string, actual: string] {
  const o = outcomes.get(name);
  if (!o) throw new Error(`no check ${name}`);
  return [o.expected, o.actual];
}

describe('data-quality gate SQL on DuckDB', () => {
  test('each reconciliation measures what it says: the hand counts of its own run, for both runs', async () => {
    const oct = await reconciliations(OCT);
    expect(failedOf(oct)).toEqual([]);
    expect(sides(oct, 'sum(v_date.view_events) = view events')).toEqual(['4', '4']);
    expect(sides(oct, 'sum(c_date.cart_events) = cart events')).toEqual(['1', '1']);
    expect(sides(oct, 'sum(purch_date.purchases) = purchase events')).toEqual(['4', '4']);
    expect(sides(oct, 'sum(purch_date.revenue) = sum(coalesce(price, 0)) over purchase events')).toEqual(['22.75', '22.75']);
    expect(sides(oct, 'sum(userid_date.events) = events rows')).toEqual(['10', '10']);
    expect(sides(oct, 'sum(p_v_c_day.carts) = cart events')).toEqual(['1', '1']);
    expect(sides(oct, 'sum(customer_count_purchase.spend) = sum(coalesce(price, 0)) over purchase events')).toEqual(['22.75', '22.75']);

    const nov = await reconciliations(NOV);
    expect(failedOf(nov)).toEqual([]);
    expect(sides(nov, 'sum(v_date.view_events) = view events')).toEqual(['1', '1']);
    // No cart rows at all in this run: the sum over no rows must read 0, not NULL.
    expect(sides(nov, 'sum(c_date.cart_events) = cart events')).toEqual(['0', '0']);
    expect(sides(nov, 'sum(purch_date.revenue) = sum(coalesce(price, 0)) over purchase events')).toEqual(['100.00', '100.00']);
    expect(sides(nov, 'sum(userid_date.events) = events rows')).toEqual(['3', '3']);
  });

  test('the whole gate passes on both consistent runs, documents included', async () => {
    for (const [runId, accepted] of [
      [OCT, OCT_EVENTS.length],
      [NOV, NOV_EVENTS.length],
    ] as const) {
      const report = await runDataQualityGate(settings(runId), io(runId, { accepted }));
      expect(report.checks.filter((c) => !c.passed)).toEqual([]);
      expect(report.checks.find((c) => c.name === 'events rows = run-summary totals.accepted')).toMatchObject({
        expected: String(accepted),
        actual: String(accepted),
      });
    }
  });

  test('a deleted v_date row breaks exactly the view reconciliation of its run', async () => {
    await setup.run(`DELETE FROM "${DB}"."v_date" WHERE run_id = '${OCT}' AND event_date = DATE '2019-10-02'`);

    const oct = await reconciliations(OCT);
    expect(failedOf(oct)).toEqual(['sum(v_date.view_events) = view events']);
    expect(sides(oct, 'sum(v_date.view_events) = view events')).toEqual(['4', '3']);
    expect(failedOf(await reconciliations(NOV))).toEqual([]);
  });

  test('one cent more revenue in purchase_c_s_b is caught exactly', async () => {
    await setup.run(
      `UPDATE "${DB}"."purchase_c_s_b" SET revenue = revenue + 0.01 WHERE run_id = '${OCT}' AND brand = 'apple'`,
    );

    const oct = await reconciliations(OCT);
    expect(failedOf(oct)).toEqual(['sum(purchase_c_s_b.revenue) = sum(purch_date.revenue)']);
    expect(sides(oct, 'sum(purchase_c_s_b.revenue) = sum(purch_date.revenue)')).toEqual(['22.75', '22.76']);
  });

  test("rows added to one run never count in the other's checks", async () => {
    await insert('events', eventValues(NOV, [['2019-11-02', 6, 'view', 9, '1.00', 9, null, null]]));
    await insert('purch_date', [{ run_id: NOV, event_date: '2019-11-02', purchases: 5, purchase_users: 1, revenue: '50.00' }]);

    expect(failedOf(await reconciliations(OCT))).toEqual([]);
    expect((await runDataQualityGate(settings(OCT), io(OCT, { accepted: OCT_EVENTS.length }))).passed).toBe(true);
    expect(failedOf(await reconciliations(NOV)).sort()).toEqual(
      [
        'sum(v_date.view_events) = view events',
        'sum(userid_date.events) = events rows',
        'sum(p_v_c_day.views) = view events',
        'sum(purch_date.purchases) = purchase events',
        'sum(purch_date.revenue) = sum(coalesce(price, 0)) over purchase events',
        'sum(purchase_c_s_b.purchases) = sum(purch_date.purchases)',
        'sum(purchase_c_s_b.revenue) = sum(purch_date.revenue)',
      ].sort(),
    );
  });

  test('manifest row counts are compared with the table as the engine counts it', async () => {
    await setup.run(`DELETE FROM "${DB}"."purchase_c_s_b" WHERE run_id = '${OCT}' AND brand = 'samsung'`);

    const report = await runDataQualityGate(settings(OCT), io(OCT, { accepted: OCT_EVENTS.length }));
    const failed = report.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name).sort()).toEqual(
      [
        'manifest purchase_c_s_b.rowCount = purchase_c_s_b rows',
        'sum(purchase_c_s_b.purchases) = sum(purch_date.purchases)',
        'sum(purchase_c_s_b.revenue) = sum(purch_date.revenue)',
      ].sort(),
    );
    expect(failed.find((c) => c.name.startsWith('manifest'))).toMatchObject({ expected: '3', actual: '4' });
  });
});

function settings(runId: string): GateSettings {
  return { runId, database: DB, curatedBucket: 'curated', exportBucket: 'export' };
}

/** The run's documents as the prepare and export stages would write them for this dataset. */
function io(runId: string, { accepted }: { accepted: number }): Parameters<typeof runDataQualityGate>[1] {
  const rejected = REJECT_COUNTS[runId];
  const counts = { rowsRead: accepted + rejected, accepted, rejected, rejectedByReason: rejected ? { bad_price: rejected } : {}, duplicatesRemoved: 0 };
  const documents = new Map<string, string>([
    [
      `curated/${runSummaryKey(runId)}`,
      JSON.stringify({ runId, dataset: 'rees46', files: [{ source: `s3://raw-bucket/${runId}.csv`, ...counts }], totals: counts, stages: [] }),
    ],
    [
      `export/${exportManifestKey(runId)}`,
      JSON.stringify({
        runId,
        createdAt: '2019-12-01T00:00:00Z',
        tables: Object.fromEntries(
          // Every served table; the ones this test does not fill are empty in DuckDB too.
          servedTables().map(({ name: table }) => [
            table,
            { columns: servingColumns(outputTable(table)).map((c) => c.name), rowCount: DERIVED[runId][table]?.length ?? 0, files: [] },
          ]),
        ),
      }),
    ],
  ]);
  return { runQuery: duckdbRunner, readObject: async (bucket, key) => documents.get(`${bucket}/${key}`) };
}
