/**
 * What the data-quality gate checks, as data and pure functions: the measures it asks the query
 * engine for, how they are batched into one query per table, and how the answers and the run's
 * two JSON documents become check outcomes. No I/O here, so the same definitions run on Athena in
 * the cloud and on DuckDB in the tests.
 *
 * The SQL stays in the subset Athena (Trino) and DuckDB run alike: count, sum, coalesce, CASE and a
 * `WHERE run_id = ?` that the engine binds.
 */
import {
  EventType,
  OUTPUT_TABLES,
  RUN_ID_PARTITION,
  RunSummary,
  outputTable,
  reconcileRunSummary,
  servedTables,
  servingColumns,
} from '../../core/contract';

/** One number the gate reads from a table of the run: an aggregate expression over that table's rows. */
export interface Measure {
  readonly table: string;
  /** Aggregate SQL over the table's columns; must return one non-null number even on no rows. */
  readonly expression: string;
}

/** Two measures of the same quantity taken at different stages; they must be equal. */
export interface Reconciliation {
  readonly name: string;
  /** The derived table's figure. */
  readonly actual: Measure;
  /** The figure it must equal, from the stage it was derived from. */
  readonly expected: Measure;
}

export interface CheckOutcome {
  readonly name: string;
  /** The SQL or the s3:// document the values come from, for the log. */
  readonly source: string;
  readonly expected: string;
  readonly actual: string;
  readonly passed: boolean;
}

/** A measure's value as the engine returns it: text, null for SQL NULL. */
export type MeasureValue = string | null;

// Glue database and table names become SQL identifiers; nothing else may reach the SQL text.
const IDENTIFIER = /^[a-z0-9_]+$/;

export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(`"${name}" is not a valid Glue identifier for the data-quality gate; allowed: ${IDENTIFIER}`);
  }
  return `"${name}"`;
}

const RUN_ID_FILTER = `WHERE ${RUN_ID_PARTITION.name} = ?`;

const EVENTS = outputTable('events').name;
const REJECTS = outputTable('rejects').name;

export const ROW_COUNT = 'count(*)';
export const rowCount = (table: string): Measure => ({ table, expression: ROW_COUNT });
/** coalesce: sum over no rows is NULL, and a run without e.g. cart events must still reconcile to 0. */
export const columnTotal = (table: string, column: string): Measure => ({ table, expression: `coalesce(sum(${column}), 0)` });
const eventsOfType = (type: EventType): Measure => ({
  table: EVENTS,
  expression: `count(CASE WHEN event_type = '${type}' THEN 1 END)`,
});
/** Prices are null where the dataset has none (RetailRocket); the schema tables count those purchases as 0 revenue. */
const PURCHASE_REVENUE: Measure = {
  table: EVENTS,
  expression: `coalesce(sum(CASE WHEN event_type = 'purchase' THEN coalesce(price, 0) END), 0)`,
};
const EVENT_ROWS = rowCount(EVENTS);
const VIEWS = eventsOfType('view');
const CARTS = eventsOfType('cart');
const PURCHASES = eventsOfType('purchase');
const PURCH_DATE_PURCHASES = columnTotal('purch_date', 'purchases');
const PURCH_DATE_REVENUE = columnTotal('purch_date', 'revenue');

const PURCHASE_REVENUE_LABEL = 'sum(coalesce(price, 0)) over purchase events';

/**
 * Cross-stage reconciliations within one run. Later stages append theirs; each adds at most one
 * column to its table's query, so the list can grow without adding Athena round trips.
 */
export const RECONCILIATIONS: readonly Reconciliation[] = [
  { name: 'sum(v_date.view_events) = view events', actual: columnTotal('v_date', 'view_events'), expected: VIEWS },
  { name: 'sum(c_date.cart_events) = cart events', actual: columnTotal('c_date', 'cart_events'), expected: CARTS },
  { name: 'sum(purch_date.purchases) = purchase events', actual: PURCH_DATE_PURCHASES, expected: PURCHASES },
  { name: `sum(purch_date.revenue) = ${PURCHASE_REVENUE_LABEL}`, actual: PURCH_DATE_REVENUE, expected: PURCHASE_REVENUE },
  { name: 'sum(userid_date.events) = events rows', actual: columnTotal('userid_date', 'events'), expected: EVENT_ROWS },
  { name: 'sum(p_v_c_day.views) = view events', actual: columnTotal('p_v_c_day', 'views'), expected: VIEWS },
  { name: 'sum(p_v_c_day.carts) = cart events', actual: columnTotal('p_v_c_day', 'carts'), expected: CARTS },
  { name: 'sum(p_v_c_day.purchases) = purchase events', actual: columnTotal('p_v_c_day', 'purchases'), expected: PURCHASES },
  {
    name: 'sum(customer_count_purchase.purchases) = purchase events',
    actual: columnTotal('customer_count_purchase', 'purchases'),
    expected: PURCHASES,
  },
  {
    name: `sum(customer_count_purchase.spend) = ${PURCHASE_REVENUE_LABEL}`,
    actual: columnTotal('customer_count_purchase', 'spend'),
    expected: PURCHASE_REVENUE,
  },
  {
    name: 'sum(purchase_c_s_b.purchases) = sum(purch_date.purchases)',
    actual: columnTotal('purchase_c_s_b', 'purchases'),
    expected: PURCH_DATE_PURCHASES,
  },
  {
    name: 'sum(purchase_c_s_b.revenue) = sum(purch_date.revenue)',
    actual: columnTotal('purchase_c_s_b', 'revenue'),
    expected: PURCH_DATE_REVENUE,
  },
];

/** The run-summary counts that Athena must find in the prepare stage's tables. */
export const SUMMARY_COUNTS: readonly { readonly name: string; readonly measure: Measure; readonly field: 'accepted' | 'rejected' }[] = [
  { name: `${EVENTS} rows = run-summary totals.accepted`, measure: rowCount(EVENTS), field: 'accepted' },
  { name: `${REJECTS} rows = run-summary totals.rejected`, measure: rowCount(REJECTS), field: 'rejected' },
];

const manifestRowCountName = (table: string): string => `manifest ${table}.rowCount = ${table} rows`;

/** A measure and the check that needs it, so a failed query can name the checks it blocks. */
export interface MeasureUse {
  readonly measure: Measure;
  readonly check: string;
}

/** Every measure the gate needs for one run, with the checks that use each. */
export function measureUses(reconciliations: readonly Reconciliation[] = RECONCILIATIONS): MeasureUse[] {
  return [
    ...SUMMARY_COUNTS.map((c) => ({ measure: c.measure, check: c.name })),
    ...reconciliations.flatMap((r) => [
      { measure: r.actual, check: r.name },
      { measure: r.expected, check: r.name },
    ]),
    ...servedTables().map((t) => ({ measure: rowCount(t.name), check: manifestRowCountName(t.name) })),
  ];
}

/** One query that returns every measure of one table as a column of a single row. */
export interface TableQuery {
  readonly table: string;
  readonly sql: string;
  /** measures[i] is the column `m<i>` of the result. */
  readonly measures: readonly Measure[];
  readonly checks: readonly string[];
}

export const measureKey = (m: Measure): string => `${m.table}: ${m.expression}`;
const fromClause = (database: string, table: string): string =>
  `FROM ${quoteIdentifier(database)}.${quoteIdentifier(table)} ${RUN_ID_FILTER}`;

/** The measure on its own, as a reader of the log would run it in the Athena console. */
export const measureSql = (database: string, m: Measure): string => `SELECT ${m.expression} ${fromClause(database, m.table)}`;

/** One query per table (each Athena query costs about a second and a 10 MB minimum scan), measures deduplicated. */
export function planTableQueries(database: string, uses: readonly MeasureUse[]): TableQuery[] {
  const byTable = new Map<string, { measures: Map<string, Measure>; checks: Set<string> }>();
  for (const { measure, check } of uses) {
    outputTable(measure.table); // a measure of a table the contract does not know is a bug in the definitions
    const entry = byTable.get(measure.table) ?? { measures: new Map(), checks: new Set() };
    entry.measures.set(measureKey(measure), measure);
    entry.checks.add(check);
    byTable.set(measure.table, entry);
  }
  return [...byTable].map(([table, { measures, checks }]) => {
    const list = [...measures.values()];
    const columns = list.map((m, i) => `${m.expression} AS m${i}`).join(', ');
    return { table, sql: `SELECT ${columns} ${fromClause(database, table)}`, measures: list, checks: [...checks] };
  });
}

/** Values of the measures by measureKey, from each table query's single result row. */
export function collectMeasureValues(
  queries: readonly TableQuery[],
  rows: readonly (readonly Readonly<Record<string, MeasureValue>>[])[],
): Map<string, MeasureValue> {
  const values = new Map<string, MeasureValue>();
  queries.forEach((query, q) => {
    const result = rows[q];
    if (result.length !== 1) throw new Error(`The query for table "${query.table}" returned ${result.length} rows, expected 1: ${query.sql}`);
    query.measures.forEach((m, i) => {
      const column = `m${i}`;
      if (!(column in result[0])) throw new Error(`The query for table "${query.table}" returned no column ${column}: ${query.sql}`);
      values.set(measureKey(m), result[0][column]);
    });
  });
  return values;
}

/**
 * Canonical text of an exact decimal ("022.50" → "22.5", "-0.00" → "0"), so counts and money
 * compare exactly whatever scale each engine prints. Never through a float: sums of money pass 2^53.
 */
export function canonicalDecimal(text: string): string | undefined {
  const match = /^([+-]?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!match) return undefined;
  const integer = match[2].replace(/^0+(?=\d)/, '');
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  const magnitude = fraction ? `${integer}.${fraction}` : integer;
  return match[1] === '-' && magnitude !== '0' ? `-${magnitude}` : magnitude;
}

export function sameNumber(expected: MeasureValue, actual: MeasureValue): boolean {
  if (expected === null || actual === null) return false;
  const a = canonicalDecimal(expected);
  return a !== undefined && a === canonicalDecimal(actual);
}

const show = (value: MeasureValue | undefined): string => (value === null || value === undefined ? 'NULL' : value);

function valueOf(values: ReadonlyMap<string, MeasureValue>, m: Measure): MeasureValue {
  const key = measureKey(m);
  if (!values.has(key)) throw new Error(`No value was read for measure ${key}`);
  return values.get(key) as MeasureValue;
}

export function checkReconciliations(
  database: string,
  values: ReadonlyMap<string, MeasureValue>,
  reconciliations: readonly Reconciliation[] = RECONCILIATIONS,
): CheckOutcome[] {
  return reconciliations.map((r) => {
    const expected = valueOf(values, r.expected);
    const actual = valueOf(values, r.actual);
    return {
      name: r.name,
      source: `${measureSql(database, r.actual)} vs ${measureSql(database, r.expected)}`,
      expected: show(expected),
      actual: show(actual),
      passed: sameNumber(expected, actual),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The run's JSON documents. Their content is only as trustworthy as the stage that wrote it, so
// every field the checks read is validated here instead of assumed.
// ---------------------------------------------------------------------------------------------

/** A document as read: absent, or its text. */
export type DocumentRead = { readonly uri: string; readonly text: string | undefined };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

function rowCountsProblem(what: string, x: unknown): string | undefined {
  if (!isObject(x)) return `${what} is not an object`;
  for (const field of ['rowsRead', 'accepted', 'rejected', 'duplicatesRemoved']) {
    if (!isCount(x[field])) return `${what}.${field} is not a non-negative integer: ${JSON.stringify(x[field])}`;
  }
  if (!isObject(x.rejectedByReason) || !Object.values(x.rejectedByReason).every(isCount)) {
    return `${what}.rejectedByReason is not an object of counts`;
  }
  return undefined;
}

/** The fields reconcileRunSummary and the count checks read, checked before they are trusted. */
function runSummaryShapeProblem(raw: Record<string, unknown>): string | undefined {
  const totalsProblem = rowCountsProblem('totals', raw.totals);
  if (totalsProblem) return totalsProblem;
  if (!Array.isArray(raw.files)) return 'files is not an array';
  for (const [i, file] of raw.files.entries()) {
    const problem = rowCountsProblem(`files[${i}]`, file);
    if (problem) return problem;
    if (typeof (file as Record<string, unknown>).source !== 'string') return `files[${i}].source is not a string`;
  }
  return undefined;
}

function parseJson(text: string): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { problem: `not valid JSON (${(e as Error).message})` };
  }
}

/**
 * run-summary.json exists, is for this run and its own counts reconcile. Returns the summary for
 * the count checks only when it can be trusted.
 */
export function checkRunSummary(runId: string, doc: DocumentRead): { outcome: CheckOutcome; summary?: RunSummary } {
  const expected = `present, runId ${runId}, counts reconcile`;
  const fail = (actual: string): { outcome: CheckOutcome } => ({
    outcome: { name: 'run-summary', source: doc.uri, expected, actual, passed: false },
  });
  if (doc.text === undefined) return fail(`missing: no object ${doc.uri}`);
  const parsed = parseJson(doc.text);
  if ('problem' in parsed) return fail(`${doc.uri} is ${parsed.problem}`);
  const raw = parsed.value;
  if (!isObject(raw)) return fail(`${doc.uri} is not a JSON object`);
  if (raw.runId !== runId) return fail(`runId ${JSON.stringify(raw.runId)}`);
  const shapeProblem = runSummaryShapeProblem(raw);
  if (shapeProblem) return fail(`malformed: ${shapeProblem}`);
  const summary = raw as unknown as RunSummary;
  const problems = reconcileRunSummary(summary);
  if (problems.length > 0) return fail(`counts do not reconcile: ${problems.join('; ')}`);
  return { outcome: { name: 'run-summary', source: doc.uri, expected, actual: expected, passed: true }, summary };
}

export function checkSummaryCounts(database: string, summary: RunSummary, values: ReadonlyMap<string, MeasureValue>): CheckOutcome[] {
  return SUMMARY_COUNTS.map(({ name, measure, field }) => {
    const expected = String(summary.totals[field]);
    const actual = valueOf(values, measure);
    return { name, source: measureSql(database, measure), expected, actual: show(actual), passed: sameNumber(expected, actual) };
  });
}

/**
 * The export's manifest: for this run, listing every served table of the contract with the
 * contract's column order and as many rows as Athena counts, and nothing the contract does not serve.
 */
export function checkManifest(
  runId: string,
  database: string,
  doc: DocumentRead,
  values: ReadonlyMap<string, MeasureValue>,
): CheckOutcome[] {
  const expected = `present, runId ${runId}`;
  const documentCheck = (actual: string, passed = false): CheckOutcome => ({ name: 'manifest', source: doc.uri, expected, actual, passed });
  if (doc.text === undefined) return [documentCheck(`missing: no object ${doc.uri}`)];
  const parsed = parseJson(doc.text);
  if ('problem' in parsed) return [documentCheck(`${doc.uri} is ${parsed.problem}`)];
  const raw = parsed.value;
  if (!isObject(raw) || !isObject(raw.tables)) return [documentCheck(`${doc.uri} is not an object with a "tables" object`)];
  if (raw.runId !== runId) return [documentCheck(`runId ${JSON.stringify(raw.runId)}`)];
  const tables = raw.tables as Record<string, unknown>;

  const outcomes: CheckOutcome[] = [documentCheck(expected, true)];
  const served = servedTables();
  const unexpected = Object.keys(tables)
    .filter((name) => !served.some((t) => t.name === name))
    .map((name) => `${name} (${OUTPUT_TABLES.some((t) => t.name === name) ? 'not served' : 'not in the contract'})`);
  outcomes.push({
    name: 'manifest lists only served contract tables',
    source: doc.uri,
    expected: 'no other tables',
    actual: unexpected.length ? unexpected.join(', ') : 'no other tables',
    passed: unexpected.length === 0,
  });

  for (const table of served) {
    const entry = tables[table.name];
    if (!isObject(entry)) {
      outcomes.push({ name: `manifest lists ${table.name}`, source: doc.uri, expected: 'listed', actual: 'absent', passed: false });
      continue;
    }
    const contractColumns = servingColumns(table).map((c) => c.name);
    const manifestColumns: unknown = entry.columns;
    outcomes.push({
      name: `manifest ${table.name}.columns = contract columns`,
      source: doc.uri,
      expected: contractColumns.join(','),
      actual: Array.isArray(manifestColumns) ? manifestColumns.join(',') : JSON.stringify(manifestColumns),
      passed:
        Array.isArray(manifestColumns) &&
        manifestColumns.length === contractColumns.length &&
        manifestColumns.every((name, i) => name === contractColumns[i]),
    });
    const athenaRows = valueOf(values, rowCount(table.name));
    const manifestRows = isCount(entry.rowCount) ? String(entry.rowCount) : JSON.stringify(entry.rowCount);
    outcomes.push({
      name: manifestRowCountName(table.name),
      source: `${doc.uri} vs ${measureSql(database, rowCount(table.name))}`,
      expected: show(athenaRows),
      actual: manifestRows,
      passed: isCount(entry.rowCount) && sameNumber(athenaRows, manifestRows),
    });
  }
  return outcomes;
}
