/**
 * The run report as ONE self-contained HTML page: inline CSS, inline SVG charts (charts.ts), no
 * script, font, image or request of any kind (a strict Content-Security-Policy says so), every
 * value HTML-escaped. Sections that lack their table say "not produced in this run".
 *
 * Read by people who did not build the pipeline, so (issue 13): every section opens with a note in
 * plain words (local/present), money carries the run's currency and a dataset without prices says
 * "no prices in this data" instead of drawing 0.00, the funnel gives both readings (step by step,
 * never over 100%, and reached), rules from a single basket are ranked last, segments and products
 * have readable names, and views, carts and purchases get a panel (and a scale) each.
 */
import { ColumnDef, outputTable, OutputTableDef, REVENUE_INTERVAL_LEVEL, SCHEMA_TABLE_NAMES } from '../../core/contract';
import {
  categoryLabel,
  currencyNote,
  datasetCurrency,
  datasetLabel,
  daysBetweenInclusive,
  formatCompact,
  formatCount,
  formatDate,
  formatDateRange,
  formatDateTime,
  formatFixed,
  formatMoney,
  formatMoneyCompact,
  funnelExplanation,
  funnelReadings,
  isScoreMetric,
  METRIC_NOTES,
  metricLabel,
  modelLabel,
  productName,
  productTitle,
  SECTION_NOTES,
  segmentDescription,
  segmentLabels,
  tableDescription,
} from '../present';
import { chart, esc, PALETTE } from './charts';
import { Cell, ReportData, Row, TableSlice, MAX_DAYS, MIN_RULE_BASKETS } from './load';

/** The sections of the page, in order: id (anchor) and heading. */
export const REPORT_SECTIONS = [
  { id: 'kpis', title: 'Key figures' },
  { id: 'funnel', title: 'Conversion funnel' },
  { id: 'daily', title: 'Revenue and users by day' },
  { id: 'timing', title: 'Activity by hour and weekday' },
  { id: 'brands', title: 'Top brands and customers' },
  { id: 'abandonment', title: 'Cart abandonment' },
  { id: 'schemas', title: 'The seven schemas' },
  { id: 'rules', title: 'Association rules' },
  { id: 'recommendations', title: 'Recommendations for sample users' },
  { id: 'models', title: 'Model metrics against baselines' },
  { id: 'segments', title: 'Customer segments' },
  { id: 'forecast', title: 'Forecast' },
  { id: 'quality', title: 'Data quality' },
  { id: 'stages', title: 'Stage timings' },
] as const;
export type SectionId = (typeof REPORT_SECTIONS)[number]['id'];

export const NOT_PRODUCED = 'not produced in this run';

// ---------------------------------------------------------------------------------------------
// Number formatting: thousands separators, exact decimals for money.
// ---------------------------------------------------------------------------------------------

type Fmt = 'int' | 'money' | 'rate' | 'num' | 'id' | 'text' | 'time';

const DASH = '—';
const toNumber = (v: Cell | undefined): number | null => {
  if (v === null || v === undefined || v === '' || typeof v === 'boolean') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/**
 * The currency of the page being rendered: the run's (REES46 → USD), null when the data has no
 * prices (RetailRocket), '' when the dataset is unknown but the events have prices (amounts then
 * have no symbol). Set by renderReport, which renders synchronously.
 */
let currency: string | null = 'USD';
/** Whether amounts mean anything on this page. */
const hasPrices = (): boolean => currency !== null;

export function fmtInt(v: Cell | undefined): string {
  return formatCount(v === undefined || typeof v === 'boolean' ? null : v);
}

/** Money in the run's currency ("$1,234.50"); DuckDB's decimal text is formatted exactly. "no prices" without a currency. */
export function fmtMoney(v: Cell | undefined): string {
  const value = v === undefined || typeof v === 'boolean' ? null : v;
  if (currency === '') {
    const n = toNumber(value);
    return n === null ? DASH : formatFixed(n, 2);
  }
  return formatMoney(value, currency);
}

/** A rate as a percentage with one decimal, always (so that table columns line up): 0.3 → "30.0%". */
export function fmtRate(v: Cell | undefined): string {
  const n = toNumber(v);
  return n === null ? DASH : `${formatFixed(n * 100, 1)}%`;
}

export function fmtNum(v: Cell | undefined): string {
  const n = toNumber(v);
  if (n === null) return DASH;
  return n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) >= 100 ? 1 : 4 });
}

function fmtCell(v: Cell | undefined, fmt: Fmt): string {
  if (v === null || v === undefined) return DASH;
  switch (fmt) {
    case 'int':
      return fmtInt(v);
    case 'money':
      return fmtMoney(v);
    case 'rate':
      return fmtRate(v);
    case 'num':
      return fmtNum(v);
    case 'time':
      return formatDateTime(String(v));
    case 'id':
    case 'text':
      return String(v);
  }
}

const plural = (n: number, word: string): string => `${fmtInt(n)} ${word}${n === 1 ? '' : 's'}`;
const seconds = (s: number): string => `${s.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} s`;

// ---------------------------------------------------------------------------------------------
// Tables.
// ---------------------------------------------------------------------------------------------

interface Column {
  readonly key: string;
  readonly label: string;
  readonly fmt: Fmt;
  readonly description?: string;
  /** Long text that wraps instead of being cut (rules, product names). */
  readonly wrap?: boolean;
}

const RATE_COLUMNS = /(_rate$|^share$|_share$|^confidence$|^conversion|probability$)/;
/** DOUBLE columns that hold amounts of money (the DECIMAL ones are money by type). */
const MONEY_COLUMNS = /(revenue$|spend$|^spend_if_purchase$|monetary$|^lower$|^upper$)/;

function fmtFor(c: ColumnDef): Fmt {
  switch (c.type.kind) {
    case 'decimal':
      return 'money';
    case 'double':
      return RATE_COLUMNS.test(c.name) ? 'rate' : MONEY_COLUMNS.test(c.name) ? 'money' : 'num';
    case 'int':
    case 'bigint':
      return /(^|_)id$/.test(c.name) ? 'id' : 'int';
    case 'timestamp':
      return 'time';
    default:
      return 'text';
  }
}

const label = (name: string): string => name.replace(/_/g, ' ');

/** Columns of a contract table (all, or the named ones in that order; names from other tables via `extra`). */
function contractColumns(table: string, keys?: readonly string[], extra: readonly OutputTableDef[] = []): Column[] {
  const defs = [outputTable(table), ...extra].flatMap((t) => [...t.columns, ...t.partitionKeys]);
  const pick = keys ?? [...outputTable(table).columns, ...outputTable(table).partitionKeys].map((c) => c.name);
  return pick.map((key) => {
    const def = defs.find((c) => c.name === key);
    return def
      ? { key, label: label(key), fmt: fmtFor(def), description: def.description }
      : { key, label: label(key), fmt: 'text' as const };
  });
}

const NUMERIC: readonly Fmt[] = ['int', 'money', 'rate', 'num'];

/** A table of rows; without prices its money columns are left out (they would all read 0.00). */
function dataTable(all: readonly Column[], rows: readonly Row[], attrs = ''): string {
  const columns = hasPrices() ? all : all.filter((c) => c.fmt !== 'money');
  const head = columns
    .map((c) => `<th${NUMERIC.includes(c.fmt) ? ' class="n"' : ''}${c.description ? ` title="${esc(c.description)}"` : ''}>${esc(c.label)}</th>`)
    .join('');
  const body = rows
    .map((r) => `<tr>${columns.map((c) => {
      const text = fmtCell(r[c.key], c.fmt);
      const title = text.length > 48 ? ` title="${esc(text)}"` : '';
      return `<td${NUMERIC.includes(c.fmt) ? ' class="n"' : c.wrap ? ' class="wrap"' : ''}${c.wrap ? '' : title}>${esc(text)}</td>`;
    }).join('')}</tr>`)
    .join('');
  return `<div class="table-wrap"${attrs}><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

const note = (text: string, cls = ''): string => `<p class="note${cls ? ` ${cls}` : ''}">${text}</p>`;
const code = (s: string): string => `<code>${esc(s)}</code>`;
const missingNote = (table: string): string => note(`Table ${code(table)} was ${NOT_PRODUCED}.`, 'missing');
const emptyNote = (table: string): string => note(`Table ${code(table)} was produced but has no rows.`, 'empty');

/** The block for a slice: a note when absent or empty, else what `body` renders. */
function sliceBlock(slice: TableSlice, body: () => string): string {
  if (!slice.present) return missingNote(slice.table);
  if (slice.total === 0) return emptyNote(slice.table);
  return body();
}

const shown = (slice: TableSlice, what = 'rows'): string =>
  note(`Showing ${fmtInt(slice.rows.length)} of ${fmtInt(slice.total)} ${what} of ${code(slice.table)}.`, 'count');

const num = (v: Cell | undefined): number | null => toNumber(v);
const col = (rows: readonly Row[], key: string): (number | null)[] => rows.map((r) => num(r[key]));
const str = (v: Cell | undefined): string => (v === null || v === undefined ? DASH : String(v));

const fmtIntN = (n: number): string => fmtInt(n);
const fmtMoneyN = (n: number): string => fmtMoney(n);
const fmtRateN = (n: number): string => fmtRate(n);
const fmtNumN = (n: number): string => fmtNum(n);
/** Axis formats: short enough for the y margin ("$1.2k", "17k"). */
const axisMoney = (n: number): string => (currency === '' ? formatCompact(n) : formatMoneyCompact(n, currency));
const axisCount = (n: number): string => formatCompact(n);
/** Said instead of a money chart or figure when the data has no prices. */
const noPricesNote = (what: string): string =>
  note(`${esc(what)}: no prices in this data. ${esc(currencyNote(currentDataset))}`, 'empty no-prices');
let currentDataset: string | null = null;

// ---------------------------------------------------------------------------------------------
// Sections.
// ---------------------------------------------------------------------------------------------

function section(id: SectionId, body: string, sources = ''): string {
  const title = REPORT_SECTIONS.find((s) => s.id === id)?.title ?? id;
  const explain = (SECTION_NOTES as Readonly<Record<string, string>>)[id];
  return `<section id="${id}" data-section="${id}"><h2>${esc(title)}</h2>` +
    (explain ? `<p class="lead" data-note="${id}">${esc(explain)}</p>` : '') +
    (sources ? `<p class="desc sources">${sources}</p>` : '') + `${body}</section>`;
}

const grid = (...items: string[]): string => `<div class="grid">${items.filter((i) => i !== '').join('')}</div>`;

function tile(key: string, title: string, value: string, raw: string, sub = ''): string {
  return `<div class="kpi" data-kpi="${esc(key)}" data-value="${esc(raw)}"><div class="kpi-label">${esc(title)}</div>` +
    `<div class="kpi-value">${esc(value)}</div>${sub ? `<div class="kpi-sub">${esc(sub)}</div>` : ''}</div>`;
}

function header(d: ReportData): string {
  const s = d.summary;
  const k = d.kpis;
  let period = DASH;
  if (k?.firstDate) {
    const span = daysBetweenInclusive(k.firstDate, k.lastDate) ?? k.days;
    period = formatDateRange(k.firstDate, k.lastDate) +
      (k.days === span ? ` (${plural(k.days, 'day')})` : ` (data on ${plural(k.days, 'day')} of ${fmtInt(span)}: not a continuous period)`);
  }
  const files = s && s.files.length > 0 ? `<ul class="files">${s.files.map((f) => `<li>${esc(f.source)}</li>`).join('')}</ul>` : DASH;
  const items: [string, string][] = [
    ['Run id', esc(s?.runId ?? DASH)],
    ['Dataset', esc(s ? `${s.dataset}${s.engine ? ` · ${s.engine} engine` : ''}` : DASH)],
    ['Money', esc(currency === null ? 'no prices in this data' : currency === '' ? 'currency not known' : currency === 'USD' ? 'US dollars (USD)' : currency)],
    ['Generated', esc(s?.generatedAt ?? 'not recorded in run-summary.json')],
    ['Period (UTC)', esc(period)],
    ['Input files', files],
    ['Run folder', esc(d.dir)],
  ];
  const problem = d.summaryProblem ? note(esc(d.summaryProblem), 'missing') : '';
  return `<header class="top"><div class="brand">ShopSight</div><h1>Run report${s ? ` — ${esc(s.runId)}` : ''}</h1>` +
    `<dl class="meta">${items.map(([key, v]) => `<div><dt>${esc(key)}</dt><dd>${v}</dd></div>`).join('')}</dl>${problem}</header>`;
}

function nav(): string {
  return `<nav class="toc">${REPORT_SECTIONS.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>`;
}

function kpiSection(d: ReportData): string {
  const k = d.kpis;
  if (!k) return section('kpis', missingNote('events'));
  const revenue = hasPrices()
    ? tile('revenue', 'Revenue', fmtMoney(k.revenue), k.revenue, k.purchases > 0 ? `${fmtMoney(Number(k.revenue) / k.purchases)} per purchase` : '')
    : tile('revenue', 'Revenue', 'no prices', '', `${datasetLabel(currentDataset)} records no price`);
  const tiles = [
    tile('events', 'Events', fmtInt(k.events), String(k.events), `${fmtInt(k.views)} views · ${fmtInt(k.carts)} carts`),
    tile('users', 'Users', fmtInt(k.users), String(k.users), `${fmtInt(k.products)} products seen`),
    tile('sessions', 'Sessions', fmtInt(k.sessions), String(k.sessions), k.users > 0 ? `${fmtNum(k.sessions / k.users)} per user` : ''),
    tile('purchases', 'Purchases', fmtInt(k.purchases), String(k.purchases), `${fmtInt(k.buyers)} buyers`),
    revenue,
    tile('conversion', 'Conversion', fmtRate(k.conversion), k.conversion === null ? '' : String(k.conversion), 'share of users who bought'),
  ];
  return section('kpis', `<div class="kpis">${tiles.join('')}</div>${note(esc(currencyNote(currentDataset)), 'currency')}`, 'Counted over the curated <code>events</code> of the run.');
}

function funnelSection(d: ReportData): string {
  const counts = d.funnelCounts;
  let overall: string;
  if (!counts) overall = missingNote('events');
  else {
    const r = funnelReadings(counts);
    const c = chart('bars', {
      name: 'funnel',
      title: 'Users reaching each stage (share of the users who viewed)',
      labels: r.stages.map((st) => (st.stage === 'view' ? st.label : `${st.label} (${fmtRate(st.reachedRate)})`)),
      series: [{ name: 'users', values: r.stages.map((st) => st.users), color: PALETTE.blue }],
      format: fmtIntN,
    });
    const rows: Row[] = r.stages.map((st) => ({
      stage: st.label,
      users: st.users,
      step_users: st.stage === 'view' ? null : st.stepUsers,
      step_rate: st.stepRate,
      reached_rate: st.reachedRate,
    }));
    const cols: Column[] = [
      { key: 'stage', label: 'stage', fmt: 'text' },
      { key: 'users', label: 'users who reached it', fmt: 'int' },
      { key: 'step_users', label: 'came from the step before', fmt: 'int', description: 'Users who did this after the previous step (carted after a view; bought after a cart).' },
      { key: 'step_rate', label: 'step by step', fmt: 'rate', description: 'Of the users at the previous step, the share who went on to this one. Never over 100%.' },
      { key: 'reached_rate', label: 'reached (of viewers)', fmt: 'rate', description: 'Users who reached this stage / users who viewed, purchases without a cart included.' },
    ];
    overall = `<p class="explain" data-funnel-explained="overall">${esc(funnelExplanation(counts))}</p>` + grid(c, dataTable(cols, rows, ' data-funnel="overall"'));
  }
  const cats = d.funnelCountsByCategory;
  const byCategory = !d.kpis
    ? missingNote('events')
    : cats.length === 0
      ? emptyNote('events')
      : cats.length === 1 && cats[0].category === '(missing)'
        ? note('No event has a category in this data' + (currentDataset === 'retailrocket' ? ' (RetailRocket items get theirs from item_properties files, not given to this run)' : '') + ', so there is no funnel by category.', 'empty')
      : note(cats.length === 1 ? 'The one category seen.' : `The ${fmtInt(cats.length)} categories with the most viewers.`, 'count') +
        dataTable(
          [
            { key: 'category', label: 'category', fmt: 'text' },
            { key: 'view_users', label: 'viewed', fmt: 'int' },
            { key: 'cart_users', label: 'carted', fmt: 'int' },
            { key: 'purchase_users', label: 'bought', fmt: 'int' },
            { key: 'view_to_cart', label: 'view → cart (step)', fmt: 'rate' },
            { key: 'cart_to_purchase', label: 'cart → purchase (step)', fmt: 'rate', description: 'Of the users who carted in the category, the share who bought in it after a cart.' },
            { key: 'purchase_reached', label: 'bought (of viewers)', fmt: 'rate' },
            { key: 'without_cart', label: 'bought without a cart', fmt: 'int' },
          ],
          cats.map((c) => {
            const r = funnelReadings(c);
            return {
              category: categoryLabel(c.category),
              view_users: c.viewUsers,
              cart_users: c.cartUsers,
              purchase_users: c.purchaseUsers,
              view_to_cart: r.viewToCartStep,
              cart_to_purchase: r.cartToPurchaseStep,
              purchase_reached: r.purchaseReached,
              without_cart: c.purchaseWithoutCartUsers ?? null,
            };
          }),
          ' data-funnel="by-category"',
        );
  return section('funnel', `${overall}<h3>By category</h3>${byCategory}`, 'Counted over the curated <code>events</code> (users, whatever the order of their events for "reached"; in time order for "step by step").');
}

/** Days of data below which a daily chart draws one bar per day instead of a line. */
const MIN_LINE_DAYS = 8;

/**
 * The x axis of a daily chart: every calendar day from the first date to the last (so a gap shows
 * as a gap, never as a line across it) when there are at least MIN_LINE_DAYS days of data and the
 * span fits MAX_DAYS; otherwise just the dates that have data, drawn as bars.
 */
function dayAxis(dates: readonly string[]): { labels: string[]; kind: 'line' | 'column'; contiguous: boolean; span: number } {
  const span = dates.length === 0 ? 0 : daysBetweenInclusive(dates[0], dates[dates.length - 1]) ?? dates.length;
  const contiguous = span === dates.length;
  if (dates.length < MIN_LINE_DAYS || span > MAX_DAYS) return { labels: [...dates], kind: 'column', contiguous, span };
  const labels: string[] = [];
  const start = Date.parse(`${dates[0]}T00:00:00Z`);
  for (let i = 0; i < span; i++) labels.push(new Date(start + i * 86_400_000).toISOString().slice(0, 10));
  return { labels, kind: 'line', contiguous, span };
}

/** Values of `key` on the axis' days (null where a day has no row). */
function onAxis(labels: readonly string[], rows: readonly Row[], dateKey: string, key: string): (number | null)[] {
  const byDate = new Map(rows.map((r) => [str(r[dateKey]), num(r[key])]));
  return labels.map((l) => byDate.get(l) ?? null);
}

/** What a short or gappy period means for the charts, in words (empty for a continuous one). */
function periodNote(dates: readonly string[], axis: ReturnType<typeof dayAxis>): string {
  if (dates.length === 0) return '';
  if (axis.kind === 'column' && dates.length < MIN_LINE_DAYS) {
    return note(
      `Data on ${plural(dates.length, 'day')} only (${dates.map((x) => esc(formatDate(x))).join(', ')})` +
        (axis.contiguous ? '' : `, spread over ${plural(axis.span, 'calendar day')}`) +
        ': each day is a bar of its own, not a trend over the period.',
      'period',
    );
  }
  if (!axis.contiguous) return note(`Data on ${plural(dates.length, 'day')} of ${fmtInt(axis.span)}: days without data are gaps in the lines.`, 'period');
  return '';
}

function dailySection(d: ReportData): string {
  const body = sliceBlock(d.dailyKpis, () => {
    const rows = d.dailyKpis.rows;
    const dates = rows.map((r) => str(r.event_date));
    const axis = dayAxis(dates);
    const panel = (name: string, title: string, key: string, color: string, money = false, small = !money && key !== 'users'): string =>
      chart(axis.kind, {
        name,
        title,
        labels: axis.labels,
        dates: true,
        height: 200,
        width: small ? 380 : 640,
        series: [{ name: key, values: onAxis(axis.labels, rows, 'event_date', key), color }],
        format: money ? fmtMoneyN : fmtIntN,
        axisFormat: money ? axisMoney : axisCount,
      });
    const revenue = hasPrices() ? panel('daily-revenue', 'Revenue by day', 'revenue', PALETTE.green, true) : noPricesNote('Revenue by day');
    const users = panel('daily-users', 'Users by day', 'users', PALETTE.blue);
    const more = d.dailyKpis.total > rows.length ? note(`Only the first ${fmtInt(MAX_DAYS)} days are drawn.`) : '';
    return periodNote(dates, axis) + grid(revenue, users) +
      '<h3>Views, carts and purchases (each on its own scale)</h3>' +
      `<div class="grid three">${panel('daily-views', 'Views by day', 'views', PALETTE.blue)}${panel('daily-carts', 'Carts by day', 'carts', PALETTE.amber)}${panel('daily-purchases', 'Purchases by day', 'purchases', PALETTE.green)}</div>` +
      more +
      `<details><summary>Daily figures (${plural(rows.length, 'day')})</summary>${dataTable(contractColumns('daily_kpis'), rows)}</details>`;
  });
  return section('daily', body, 'From <code>daily_kpis</code>.');
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
/** Values per ISO weekday 1…7 (null where the table has no row). */
const byWeekday = (rows: readonly Row[], key: string): (number | null)[] =>
  WEEKDAYS.map((_, i) => num(rows.find((r) => Number(r.day_of_week) === i + 1)?.[key]));

function timingSection(d: ReportData): string {
  const hourly = sliceBlock(d.activityByHour, () => {
    const byHour = new Map(d.activityByHour.rows.map((r) => [Number(r.event_hour), r]));
    const hours = Array.from({ length: 24 }, (_, h) => h);
    const labels = hours.map((h) => `${String(h).padStart(2, '0')}:00`);
    const slot = (key: string): (number | null)[] => hours.map((h) => num(byHour.get(h)?.[key]));
    const panel = (name: string, title: string, key: string, color: string): string =>
      chart('column', { name, title, labels, height: 200, width: 380, series: [{ name: key, values: slot(key), color }], format: fmtIntN, axisFormat: axisCount });
    return `<div class="grid three">${panel('views-by-hour', 'Views by UTC hour', 'views', PALETTE.blue)}${panel('carts-by-hour', 'Carts by UTC hour', 'carts', PALETTE.amber)}` +
      `${panel('purchases-by-hour', 'Purchases by UTC hour', 'purchases', PALETTE.green)}</div>`;
  });
  const pvc = d.schemas.find((s) => s.table === 'p_v_c_day');
  const weekdayPanel = (name: string, title: string, key: string, color: string): string =>
    pvc ? chart('column', { name, title, labels: WEEKDAYS, height: 200, width: 380, series: [{ name: key, values: byWeekday(pvc.rows, key), color }], format: fmtIntN, axisFormat: axisCount }) : '';
  const weekdayEvents = pvc
    ? sliceBlock(pvc, () =>
        `<div class="grid three">${weekdayPanel('weekday-views', 'Views by weekday', 'views', PALETTE.blue)}${weekdayPanel('weekday-carts', 'Carts by weekday', 'carts', PALETTE.amber)}` +
        `${weekdayPanel('weekday-purchases', 'Purchases by weekday', 'purchases', PALETTE.green)}</div>`,
      )
    : '';
  const weekdayRevenue = sliceBlock(d.revenueByWeekday, () =>
    (hasPrices()
      ? chart('column', {
          name: 'weekday-revenue',
          title: 'Average daily revenue by weekday',
          labels: WEEKDAYS,
          series: [{ name: 'avg daily revenue', values: byWeekday(d.revenueByWeekday.rows, 'avg_daily_revenue'), color: PALETTE.green }],
          format: fmtMoneyN,
          axisFormat: axisMoney,
        })
      : noPricesNote('Revenue by weekday')) +
    dataTable(contractColumns('revenue_by_weekday', ['day_name', 'days', 'purchases', 'buyers', 'revenue', 'avg_daily_revenue']), d.revenueByWeekday.rows),
  );
  return section(
    'timing',
    `<h3>By hour of day</h3>${hourly}<h3>By weekday</h3>${weekdayEvents}${grid(`<div>${weekdayRevenue}</div>`, '')}`,
    'From <code>activity_by_hour</code>, <code>p_v_c_day</code> and <code>revenue_by_weekday</code>; all dates of the run together.',
  );
}

function brandsSection(d: ReportData): string {
  const brandCols = contractColumns('top_brands', ['revenue_rank', 'purchases_rank', 'brand', 'purchases', 'buyers', 'revenue']);
  const byRevenue = !hasPrices() ? noPricesNote('Brands by revenue') : sliceBlock(d.topBrandsByRevenue, () =>
    chart('bars', {
      name: 'brands-by-revenue',
      title: `Top ${d.topBrandsByRevenue.rows.length} brands by revenue`,
      labels: d.topBrandsByRevenue.rows.map((r) => str(r.brand)),
      series: [{ name: 'revenue', values: col(d.topBrandsByRevenue.rows, 'revenue'), color: PALETTE.green }],
      format: fmtMoneyN,
    }) + dataTable(brandCols, d.topBrandsByRevenue.rows),
  );
  const byPurchases = sliceBlock(d.topBrandsByPurchases, () =>
    chart('bars', {
      name: 'brands-by-purchases',
      title: `Top ${d.topBrandsByPurchases.rows.length} brands by purchases`,
      labels: d.topBrandsByPurchases.rows.map((r) => str(r.brand)),
      series: [{ name: 'purchases', values: col(d.topBrandsByPurchases.rows, 'purchases'), color: PALETTE.blue }],
      format: fmtIntN,
    }) + dataTable(brandCols, d.topBrandsByPurchases.rows),
  );
  const customers = sliceBlock(d.topCustomers, () =>
    shown(d.topCustomers, 'customers') +
    (hasPrices() ? '' : note('No prices in this data: the customers are ranked by purchases, not by spend.', 'empty no-prices')) +
    grid(
      chart('bars', {
        name: 'top-customers',
        title: `Top ${Math.min(10, d.topCustomers.rows.length)} customers by ${hasPrices() ? 'spend' : 'purchases'}`,
        labels: d.topCustomers.rows.slice(0, 10).map((r) => `user ${str(r.user_id)}`),
        series: [hasPrices()
          ? { name: 'spend', values: col(d.topCustomers.rows.slice(0, 10), 'spend'), color: PALETTE.violet }
          : { name: 'purchases', values: col(d.topCustomers.rows.slice(0, 10), 'purchases'), color: PALETTE.violet }],
        format: hasPrices() ? fmtMoneyN : fmtIntN,
      }),
      dataTable(contractColumns('top_customers'), d.topCustomers.rows),
    ),
  );
  const total = !d.topBrandsByRevenue.present
    ? ''
    : d.topBrandsByRevenue.total === 0
      ? note(`No purchase has a brand in this data${currentDataset === 'retailrocket' ? ' (RetailRocket records no brand)' : ''}, so there is no brand ranking.`, 'empty no-brands')
      : note(`${fmtInt(d.topBrandsByRevenue.total)} brands with a purchase in ${code('top_brands')}.`, 'count');
  if (d.topBrandsByRevenue.present && d.topBrandsByRevenue.total === 0) {
    return section('brands', `${total}<h3>Top customers</h3>${customers}`);
  }
  return section(
    'brands',
    `${total}${grid(`<div><h3>By revenue</h3>${byRevenue}</div>`, `<div><h3>By purchases</h3>${byPurchases}</div>`)}<h3>Top customers</h3>${customers}`,
  );
}

function abandonmentSection(d: ReportData): string {
  const body = sliceBlock(d.cartAbandonment, () => {
    const rows = d.cartAbandonment.rows;
    const axis = dayAxis(rows.map((r) => str(r.event_date)));
    const sum = (k: string): number => rows.reduce((a, r) => a + (num(r[k]) ?? 0), 0);
    const cartSessions = sum('cart_sessions');
    const abandoned = sum('abandoned_sessions');
    const value = rows.reduce((a, r) => a + (num(r.abandoned_value) ?? 0), 0);
    const tiles = [
      tile('cart_sessions', 'Sessions with a cart', fmtInt(cartSessions), String(cartSessions)),
      tile('converted_sessions', 'Converted', fmtInt(sum('converted_sessions')), String(sum('converted_sessions'))),
      tile('abandoned_sessions', 'Abandoned', fmtInt(abandoned), String(abandoned)),
      tile('abandonment_rate', 'Abandonment rate', cartSessions > 0 ? fmtRate(abandoned / cartSessions) : DASH, cartSessions > 0 ? String(abandoned / cartSessions) : ''),
      hasPrices()
        ? tile('abandoned_value', 'Value left in carts', fmtMoney(value), value.toFixed(2))
        : tile('abandoned_value', 'Value left in carts', 'no prices', '', 'the data records no price'),
    ];
    const c = chart('column', {
      name: 'cart-abandonment',
      title: 'Cart sessions by day: converted and abandoned',
      width: 960,
      // Calendar days (a day without cart sessions has no bar, and is not skipped on the axis).
      labels: axis.labels,
      dates: true,
      axisFormat: axisCount,
      series: [
        { name: 'converted', values: onAxis(axis.labels, rows, 'event_date', 'converted_sessions'), color: PALETTE.green },
        { name: 'abandoned', values: onAxis(axis.labels, rows, 'event_date', 'abandoned_sessions'), color: PALETTE.red },
      ],
      format: fmtIntN,
    });
    return `<div class="kpis">${tiles.join('')}</div>${c}` +
      `<details><summary>Abandonment by day (${plural(rows.length, 'day')})</summary>${dataTable(contractColumns('cart_abandonment'), rows)}</details>`;
  });
  return section('abandonment', body, 'Sessions that put something in the cart, by the date of their first cart event.');
}

function schemasSection(d: ReportData): string {
  const blocks = SCHEMA_TABLE_NAMES.map((name) => {
    const slice = d.schemas.find((s) => s.table === name) ?? { table: name, present: false, total: 0, rows: [] };
    return `<div class="schema" data-table="${esc(name)}"><h3><code>${esc(name)}</code></h3><p class="desc">${esc(tableDescription(name))}</p>` +
      sliceBlock(slice, () => shown(slice) + dataTable(contractColumns(name), slice.rows, ' data-scroll'));
  });
  return section('schemas', `<div class="grid wide">${blocks.join('')}</div>`, 'The seven tables of the original flow, as the serving layer loads them.');
}

/** A rule's item in words: a product's name (from `products`) or a sub-category path. */
function ruleItem(d: ReportData, kind: string, item: string): string {
  if (kind !== 'product') return categoryLabel(item);
  return productTitle(d.productInfo[item] ?? { product_id: item });
}

/** "A & B → C" in words. */
const ruleLabel = (d: ReportData, kind: string, r: Row): string =>
  `${String(r.antecedent ?? '').split(' & ').map((i) => ruleItem(d, kind, i)).join(' + ')} → ${ruleItem(d, kind, str(r.consequent))}`;

function rulesSection(d: ReportData): string {
  const ruleCols: Column[] = [
    { key: 'rule', label: 'rule (who buys … also buys …)', fmt: 'text', wrap: true },
    ...contractColumns('association_rules', ['baskets', 'support', 'confidence', 'lift']),
    { key: 'antecedent', label: 'antecedent (ids)', fmt: 'text' },
    { key: 'consequent', label: 'consequent (id)', fmt: 'text' },
  ];
  const kinds: [string, string][] = [
    ['sub_category', 'Sub-category baskets (what a user bought on one date)'],
    ['product', 'Product baskets (what a session bought)'],
  ];
  const blocks = kinds.map(([kind, title]) => {
    const slice = d.rulesByKind[kind] ?? { table: 'association_rules', present: false, total: 0, rows: [] };
    let body: string;
    if (!slice.present) body = missingNote('association_rules');
    else if (slice.total === 0) body = note(`No ${esc(kind)} rules were found in this run (none reached the minimum support and confidence).`, 'empty');
    else {
      const single = slice.singleBasket ?? 0;
      const rows: Row[] = slice.rows.map((r) => ({ ...r, rule: ruleLabel(d, kind, r) }));
      const top = rows.slice(0, 10);
      body = note(`Top ${fmtInt(slice.rows.length)} of ${fmtInt(slice.total)} ${esc(kind)} rules: those seen in at least ${fmtInt(MIN_RULE_BASKETS)} baskets first, each group by lift.`, 'count') +
        (single > 0
          ? note(`${fmtInt(single)} of the ${fmtInt(slice.total)} rules rest on a single basket: one shopper's choice, not a pattern. They come last${single === slice.total ? ' (every rule here is one of them: read them as examples only)' : ''}.`, 'single-basket')
          : '') +
        chart('bars', {
          name: `rules-${kind}`,
          title: `Lift of the top ${top.length} ${kind.replace('_', '-')} rules (baskets in brackets)`,
          // Two lines per rule: what is bought, then what comes with it (and how many baskets say so).
          labels: top.map((r) => {
            const [ante, cons] = str(r.rule).split(' → ');
            return `${ante}\n→ ${cons} (${plural(num(r.baskets) ?? 0, 'basket')})`;
          }),
          series: [{ name: 'lift', values: col(top, 'lift'), color: PALETTE.violet }],
          format: fmtNumN,
          width: 760,
        }) + dataTable(ruleCols, rows, ` data-rules="${esc(kind)}"`);
    }
    return `<div><h3>${esc(title)}</h3>${body}</div>`;
  });
  const bt = sliceBlock(d.boughtTogether, () =>
    shown(d.boughtTogether, 'pairs (at least two baskets first, then best confidence; ranks 1–3)') +
    dataTable(
      [
        { key: 'product', label: 'product', fmt: 'text' },
        { key: 'other', label: 'bought with', fmt: 'text' },
        ...contractColumns('bought_together', ['rank', 'baskets', 'confidence', 'lift']),
        ...contractColumns('products', ['price']).map((c) => ({ ...c, label: 'price of the other' })),
      ],
      d.boughtTogether.rows.map((r) => ({
        ...r,
        product: ruleItem(d, 'product', str(r.product_id)),
        other: productTitle({ product_id: str(r.other_product_id), category_code: r.category_code as string | null, brand: r.brand as string | null }),
      })),
    ),
  );
  return section('rules', `${blocks.join('')}<h3>Bought together</h3>${bt}`, 'FP-Growth over the purchases, from <code>association_rules</code> and <code>bought_together</code>.');
}

/** Recommendation-like rows with a readable product name (from the joined category_code and brand). */
const withProductNames = (rows: readonly Row[]): Row[] =>
  rows.map((r) => ({
    ...r,
    product: productName({ product_id: str(r.product_id), category_code: r.category_code as string | null, brand: r.brand as string | null }),
    category: r.category_code === null || r.category_code === undefined ? null : categoryLabel(String(r.category_code)),
  }));

function recommendationsSection(d: ReportData): string {
  const rec = d.recommendations;
  const productCols = (keys: readonly string[], table: string, withCategory: boolean): Column[] => [
    ...contractColumns(table, ['rank', 'product_id']),
    { key: 'product', label: 'product', fmt: 'text' },
    ...(withCategory ? [{ key: 'category', label: 'category', fmt: 'text' as const }] : []),
    ...contractColumns(table, keys, [outputTable('products')]),
  ];
  const recCols = productCols(['price', 'score'], 'user_recommendations', false);
  const body = sliceBlock(rec, () => {
    const cards = rec.users.map(
      (u) => `<div class="card" data-user="${esc(u.userId)}"><h3>User ${esc(u.userId)}</h3>` +
        note(`${fmtInt(u.rows.length)} of ${fmtInt(u.total)} recommendations.`, 'count') + dataTable(recCols, withProductNames(u.rows)) + '</div>',
    );
    return note(`${fmtInt(rec.usersWithRecommendations)} users have recommendations (${fmtInt(rec.total)} rows); ${fmtInt(rec.users.length)} sample users below, best customers first.`, 'count') +
      `<div class="grid">${cards.join('')}</div>`;
  });
  const popular = sliceBlock(d.popularProducts, () =>
    shown(d.popularProducts, 'products') +
    dataTable(productCols(['price', 'score', 'users', 'purchases'], 'popular_products', true), withProductNames(d.popularProducts.rows)),
  );
  return section('recommendations', `${body}<h3>Most popular products (the fallback)</h3>${popular}`, 'ALS with implicit feedback (<code>user_recommendations</code>, <code>popular_products</code>); product names from <code>products</code>.');
}

const MODEL_STAGES = ['recommendations', 'purchase-intent', 'segments', 'spend-forecast'] as const;

/** The tables each model stage writes besides its metrics: when one is there, the stage ran. */
const STAGE_TABLES: Readonly<Record<(typeof MODEL_STAGES)[number], readonly string[]>> = {
  recommendations: ['user_recommendations', 'similar_products', 'popular_products'],
  'purchase-intent': ['intent_predictions', 'intent_coefficients', 'session_features'],
  segments: ['segment_profiles', 'customer_segments'],
  'spend-forecast': ['customer_spend_forecast', 'revenue_forecast'],
};

/** Why a stage that ran has no metric, in words. */
const NOT_EVALUATED: Readonly<Record<(typeof MODEL_STAGES)[number], string>> = {
  recommendations: 'its output was produced, but nothing could be evaluated: the run has no held-out days with users who were also seen before them (a longer export gives precision, recall and NDCG against the popularity baseline)',
  'purchase-intent': 'its output was produced, but nothing could be evaluated: too few held-out sessions',
  segments: 'its output was produced, but nothing could be evaluated: too few customers',
  'spend-forecast': 'its output was produced, but nothing could be evaluated: the run is too short for a holdout',
};

function modelsSection(d: ReportData): string {
  const mm = d.modelMetrics;
  const body = sliceBlock(mm, () => {
    const stages = MODEL_STAGES.map((stage) => {
      const n = mm.rows.filter((r) => r.stage === stage).length;
      const ran = STAGE_TABLES[stage].some((t) => d.producedTables.includes(t));
      const status = n > 0
        ? `${fmtInt(n)} metrics`
        : ran
          ? `<span class="not-evaluated" data-stage-status="not-evaluated">${esc(NOT_EVALUATED[stage])}</span>`
          : `<span class="missing">${NOT_PRODUCED}</span>`;
      return `<li data-stage="${esc(stage)}">${code(stage)}: ${status}</li>`;
    });
    const withBaseline = mm.rows.filter((r) => num(r.value) !== null && num(r.baseline_value) !== null);
    // Scores (0-1) share the chart; errors are in money, each on its own scale: the table and Forecast give them.
    const compared = withBaseline.filter((r) => isScoreMetric(str(r.metric)));
    const errorsNote = withBaseline.length > compared.length
      ? note('The chart shows the scores between 0 and 1 (higher is better). Errors such as MAE and RMSE are in money and lower is better, so they are in the table below and in Forecast instead.')
      : '';
    const withK = (r: Row): string =>
      `${modelLabel(str(r.model))}\n${metricLabel(str(r.metric)).replace('@k', '')}${r.k === null || r.k === undefined ? '' : `@${str(r.k)}`}`;
    const c = chart('bars', {
      name: 'model-vs-baseline',
      title: 'Model against baseline',
      labels: compared.map(withK),
      series: [
        { name: 'model', values: col(compared, 'value'), color: PALETTE.blue },
        { name: 'baseline', values: col(compared, 'baseline_value'), color: PALETTE.slate },
      ],
      format: fmtNumN,
      width: 760,
    });
    const rows: Row[] = mm.rows.map((r) => {
      const v = num(r.value);
      const b = num(r.baseline_value);
      return {
        ...r,
        model: modelLabel(str(r.model)),
        metric: metricLabel(str(r.metric)),
        baseline: r.baseline === null ? null : modelLabel(str(r.baseline)),
        difference: v !== null && b !== null ? v - b : null,
      };
    });
    const cols: Column[] = [
      ...contractColumns('model_metrics', ['stage', 'model', 'metric', 'k', 'value', 'baseline', 'baseline_value']).map((c) =>
        c.key === 'model' || c.key === 'baseline' ? { ...c, wrap: true } : c,
      ),
      { key: 'difference', label: 'model − baseline', fmt: 'num' },
      ...contractColumns('model_metrics', ['evaluated_on']),
    ];
    const metrics = [...new Set(mm.rows.map((r) => str(r.metric)))].filter((m) => METRIC_NOTES[m]);
    const meanings = metrics.length === 0 ? '' : `<details><summary>What the metrics mean</summary><ul class="segments">${metrics
      .map((m) => `<li><strong>${esc(METRIC_NOTES[m].label)}</strong>: ${esc(METRIC_NOTES[m].description)}</li>`).join('')}</ul></details>`;
    return `<ul class="stages">${stages.join('')}</ul>${compared.length > 0 ? c + errorsNote : note(withBaseline.length > 0 ? 'No score between 0 and 1 has a baseline value to chart; the errors are compared in the table below.' : 'No metric has a baseline value to compare with.')}${dataTable(cols, rows)}${meanings}`;
  });
  return section(
    'models',
    body,
    'Each model next to its baseline: ALS vs popularity, logistic regression vs majority class, the spend and revenue forecasts vs past spend rate and seasonal naive (see <a href="#forecast">Forecast</a>); k-means has no baseline.',
  );
}

/** Days of history drawn before the revenue forecast. */
const FORECAST_HISTORY_DAYS = 60;

/** One model_metrics row of the spend-forecast stage, or undefined. */
const forecastMetric = (rows: readonly Row[], model: string, metric: string): Row | undefined =>
  rows.find((r) => r.stage === 'spend-forecast' && r.model === model && r.metric === metric);

/** The customer and revenue metrics in words: which is better, and why MAE is not the yardstick. */
function forecastMetricsText(rows: readonly Row[]): string {
  const v = (r: Row | undefined, key: 'value' | 'baseline_value'): string => (r ? fmtNum(r[key]) : DASH);
  /** Which side wins a metric, said plainly (the baseline may well win on a run without trends). */
  const verdict = (r: Row | undefined, lowerIsBetter: boolean, baseline: string): string => {
    const a = num(r?.value);
    const b = num(r?.baseline_value);
    if (a === null || b === null || a === b) return '';
    return (a < b) === lowerIsBetter ? ` The model does better than ${baseline} here.` : ` ${baseline[0].toUpperCase()}${baseline.slice(1)} does better here.`;
  };
  const parts: string[] = [];
  const rmse = forecastMetric(rows, 'two_part_glm', 'rmse');
  if (rmse) {
    const meanRmse = forecastMetric(rows, 'overall_mean', 'rmse');
    const spearman = forecastMetric(rows, 'two_part_glm', 'spearman');
    const mae = forecastMetric(rows, 'two_part_glm', 'mae');
    const auc = forecastMetric(rows, 'two_part_glm', 'spender_auc');
    parts.push(
      `<p data-forecast-explained="customers">Customer spend, on the time holdout of ${fmtInt(rmse.evaluated_on)} customers (features before the last horizon, spend within it): ` +
        `the two-part model's <strong>RMSE</strong> is ${v(rmse, 'value')}, against ${v(rmse, 'baseline_value')} for each customer's own past spend rate and ${v(meanRmse, 'value')} for the overall mean (lower is better: it punishes missing the big spenders).${verdict(rmse, true, 'the past spend rate')} ` +
        `Its <strong>Spearman</strong> rank correlation is ${v(spearman, 'value')}, against ${v(spearman, 'baseline_value')} for the past spend rate (higher is better: it says whether the customers are in the right order, which is what a "top future spenders" list needs).${verdict(spearman, false, 'the past spend rate')} ` +
        (auc
          ? `Its <strong>spender AUC</strong> is ${v(auc, 'value')}, against ${v(auc, 'baseline_value')} for the past spend rate (higher is better: the chance that a customer who spends in the horizon is ranked above one who does not; Spearman, by contrast, favours forecasting 0 for the same customers that most actuals tie at).${verdict(auc, false, 'the past spend rate')} `
          : '') +
        `<strong>MAE</strong> (${v(mae, 'value')} against ${v(mae, 'baseline_value')}) is shown but is not the yardstick: most customers spend nothing in a horizon, so forecasting 0 for everybody has a low MAE, while the model forecasts an expected value (probability × spend).</p>`,
    );
  }
  const rev = forecastMetric(rows, 'ols_trend_weekday', 'rmse');
  if (rev) {
    const coverage = forecastMetric(rows, 'ols_trend_weekday', 'interval_coverage');
    parts.push(
      `<p data-forecast-explained="revenue">Daily revenue, backtested on ${plural(num(rev.evaluated_on) ?? 0, 'day')} at the end of the run: the trend + weekday model's RMSE is ${v(rev, 'value')} against ${v(rev, 'baseline_value')} for the seasonal-naive forecast (the same weekday's last revenue)` +
        `${coverage ? `; ${fmtRate(coverage.value)} of those days fell inside the ${REVENUE_INTERVAL_LEVEL * 100}% interval` : ''}.${verdict(rev, true, 'the seasonal-naive forecast')}</p>`,
    );
  }
  return parts.length > 0 ? parts.join('') : note('The run has no spend-forecast metrics (too short a run for a holdout, or the stage did not run).', 'empty');
}

function forecastSection(d: ReportData): string {
  if (!hasPrices()) {
    return section(
      'forecast',
      noPricesNote('Revenue and customer spend forecasts') +
        note('Both forecasts are forecasts of money; without prices every value would be zero, so none is shown. The purchase chance of sessions is in the model metrics above.', 'empty'),
      'The <code>spend-forecast</code> stage (<code>revenue_forecast</code>, <code>customer_spend_forecast</code>).',
    );
  }
  const rf = d.revenueForecast;
  const revenue = sliceBlock(rf, () => {
    // One calendar axis from the first history day drawn to the last forecast day: days without data are gaps.
    const lastForecast = str(rf.rows[rf.rows.length - 1]?.forecast_date);
    const firstDrawn = new Date(Date.parse(`${lastForecast}T00:00:00Z`) - (FORECAST_HISTORY_DAYS + rf.rows.length - 1) * 86_400_000).toISOString().slice(0, 10);
    const history = d.dailyKpis.rows.filter((r) => str(r.event_date) >= firstDrawn);
    const dates = [...history.map((r) => str(r.event_date)), ...rf.rows.map((r) => str(r.forecast_date))].sort();
    const span = dates.length > 0 ? daysBetweenInclusive(dates[0], dates[dates.length - 1]) ?? dates.length : 0;
    const start = Date.parse(`${dates[0]}T00:00:00Z`);
    const labels = Array.from({ length: span }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
    const c = chart('line', {
      name: 'revenue-forecast',
      title: `Daily revenue: ${plural(history.length, 'day')} of data and the ${plural(rf.rows.length, 'day')} forecast`,
      labels,
      dates: true,
      series: [
        { name: 'revenue', values: onAxis(labels, history, 'event_date', 'revenue'), color: PALETTE.green },
        { name: 'forecast', values: onAxis(labels, rf.rows, 'forecast_date', 'predicted_revenue'), color: PALETTE.violet },
      ],
      band: {
        name: `${REVENUE_INTERVAL_LEVEL * 100}% interval`,
        lower: onAxis(labels, rf.rows, 'forecast_date', 'lower'),
        upper: onAxis(labels, rf.rows, 'forecast_date', 'upper'),
        color: PALETTE.violet,
      },
      format: fmtMoneyN,
      axisFormat: axisMoney,
    });
    const gappy = history.length > 0 && history.length < daysBetweenInclusive(str(history[0].event_date), str(history[history.length - 1].event_date))!
      ? note(`The data covers ${plural(history.length, 'day')} of this stretch: the revenue line is broken where a day has no data. A forecast from so few days is rough.`, 'period')
      : '';
    return gappy + grid(c, dataTable(contractColumns('revenue_forecast'), rf.rows, ' data-scroll'));
  });

  const sf = d.spendForecast;
  const t = d.spendForecastTotals;
  let customers: string;
  if (!sf.present) customers = missingNote(sf.table);
  else if (sf.total === 0 || !t) {
    const span = d.kpis?.firstDate && d.kpis.lastDate ? (Date.parse(d.kpis.lastDate) - Date.parse(d.kpis.firstDate)) / 86_400_000 + 1 : null;
    customers = note(
      `No customer forecast: ${span === null ? 'the run' : `the run spans ${plural(span, 'day')}, which is`} under the four days the method needs ` +
        '(a history, a training window and an evaluation window of the same length, each at least a day; see docs/spend-forecast.md). ' +
        `${code('customer_spend_forecast')} is empty by design, not by error; a longer export forecasts every customer.`,
      'empty',
    );
  } else {
    const tiles = [
      tile('forecast_customers', 'Customers forecast', fmtInt(t.customers), String(t.customers), `from ${str(t.forecast_start)}, ${plural(num(t.horizon_days) ?? 0, 'day')}`),
      tile('forecast_spend', 'Expected spend', fmtMoney(t.predicted_spend), String(t.predicted_spend), `past spend rate says ${fmtMoney(t.baseline_spend)}`),
      tile('forecast_buyers', 'Expected buyers', fmtNum(t.expected_buyers), String(t.expected_buyers), 'sum of purchase probabilities'),
    ];
    const top = chart('bars', {
      name: 'top-future-spenders',
      title: 'Top predicted spenders',
      labels: sf.rows.map((r) => `user ${str(r.user_id)} (${fmtRate(r.purchase_probability)})`),
      series: [
        { name: 'predicted', values: col(sf.rows, 'predicted_spend'), color: PALETTE.violet },
        { name: 'past spend rate', values: col(sf.rows, 'baseline_spend'), color: PALETTE.slate },
      ],
      format: fmtMoneyN,
      width: 760,
    });
    customers =
      `<div class="kpis">${tiles.join('')}</div>` +
      shown(sf, 'customers (highest predicted spend first)') +
      grid(
        top,
        dataTable(
          contractColumns('customer_spend_forecast', ['user_id', 'predicted_spend', 'purchase_probability', 'spend_if_purchase', 'baseline_spend']).map((c) =>
            c.key === 'purchase_probability' ? { ...c, fmt: 'rate' as const } : c,
          ),
          sf.rows,
        ),
      );
  }

  const mm = d.modelMetrics;
  const metricRows = mm.rows.filter((r) => r.stage === 'spend-forecast');
  const metrics = !mm.present
    ? missingNote(mm.table)
    : forecastMetricsText(metricRows) +
      (metricRows.length > 0
        ? dataTable(
            contractColumns('model_metrics', ['model', 'metric', 'value', 'baseline', 'baseline_value', 'evaluated_on']).map((c) => (c.key === 'model' || c.key === 'baseline' ? { ...c, wrap: true } : c)),
            metricRows.map((r) => ({ ...r, model: modelLabel(str(r.model)), metric: metricLabel(str(r.metric)), baseline: r.baseline === null ? null : modelLabel(str(r.baseline)) })),
          )
        : '');

  return section(
    'forecast',
    `<h3>Daily revenue</h3>${revenue}<h3>Customers' spend in the coming days</h3>${customers}<h3>How good the forecasts are</h3>${metrics}`,
    'The <code>spend-forecast</code> stage: expected spend per customer (purchase probability × spend given a purchase, two GLMs) and daily revenue with trend and weekday effects; method in docs/spend-forecast.md.',
  );
}

function segmentsSection(d: ReportData): string {
  const sp = d.segmentProfiles;
  const body = sliceBlock(sp, () => {
    const labels = segmentLabels(sp.rows.map((r) => str(r.segment_name)));
    const rows: Row[] = sp.rows.map((r, i) => ({ ...r, label: labels[i], meaning: segmentDescription(str(r.segment_name)) }));
    const series: { name: string; values: (number | null)[]; color: string }[] = [{ name: 'customers', values: col(sp.rows, 'share'), color: PALETTE.blue }];
    if (hasPrices()) series.push({ name: 'revenue', values: col(sp.rows, 'revenue_share'), color: PALETTE.green });
    return grid(
      chart('bars', {
        name: 'segment-shares',
        title: hasPrices() ? 'Share of customers and of revenue by segment' : 'Share of customers by segment',
        labels,
        series,
        format: fmtRateN,
      }),
      `<ul class="segments">${rows.map((r) => `<li><strong>${esc(r.label)}</strong>: ${esc(r.meaning)}</li>`).join('')}</ul>`,
    ) + dataTable([
      { key: 'label', label: 'segment', fmt: 'text' },
      ...contractColumns('segment_profiles').filter((c) => c.key !== 'segment_id' && c.key !== 'segment_name' && (hasPrices() || c.key !== 'revenue_share')),
    ], rows);
  });
  return section('segments', body, 'k-means over each customer\'s habits (<code>segment_profiles</code>).');
}

function qualitySection(d: ReportData): string {
  const s = d.summary;
  let counts: string;
  if (!s) counts = note(`Row accounting unavailable: ${esc(d.summaryProblem ?? 'no run summary')}.`, 'missing');
  else {
    const t = s.totals;
    const ok = t.rowsRead === t.accepted + t.rejected + t.duplicatesRemoved;
    const tiles = [
      tile('rows_read', 'Rows read', fmtInt(t.rowsRead), String(t.rowsRead)),
      tile('accepted', 'Accepted', fmtInt(t.accepted), String(t.accepted)),
      tile('rejected', 'Rejected', fmtInt(t.rejected), String(t.rejected)),
      tile('duplicates', 'Duplicates removed', fmtInt(t.duplicatesRemoved), String(t.duplicatesRemoved)),
    ];
    const reasons = Object.entries(t.rejectedByReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const reasonChart = reasons.length > 0
      ? chart('bars', {
          name: 'rejects-by-reason',
          title: 'Rejected rows by reason',
          labels: reasons.map(([r]) => r),
          series: [{ name: 'rows', values: reasons.map(([, n]) => n), color: PALETTE.red }],
          format: fmtIntN,
        })
      : note('No row was rejected.');
    const fileRows: Row[] = s.files.map((f) => ({
      source: f.source,
      rowsRead: f.rowsRead,
      accepted: f.accepted,
      rejected: f.rejected,
      byReason: Object.entries(f.rejectedByReason).map(([r, n]) => `${r} ${fmtInt(n)}`).join(', ') || DASH,
      duplicatesRemoved: f.duplicatesRemoved,
    }));
    const fileCols: Column[] = [
      { key: 'source', label: 'file', fmt: 'text' },
      { key: 'rowsRead', label: 'rows read', fmt: 'int' },
      { key: 'accepted', label: 'accepted', fmt: 'int' },
      { key: 'rejected', label: 'rejected', fmt: 'int' },
      { key: 'byReason', label: 'rejected by reason', fmt: 'text' },
      { key: 'duplicatesRemoved', label: 'duplicates removed', fmt: 'int' },
    ];
    counts = `<div class="kpis">${tiles.join('')}</div>` +
      note(ok ? 'Rows read = accepted + rejected + duplicates removed: the counts reconcile.' : 'The counts do not reconcile: rows read ≠ accepted + rejected + duplicates removed.', ok ? 'ok' : 'missing') +
      grid(reasonChart, '') + '<h3>Per input file</h3>' + dataTable(fileCols, fileRows);
  }
  const sample = sliceBlock(d.rejects, () =>
    shown(d.rejects, 'rejected rows') + dataTable(contractColumns('rejects', ['reason', 'source_file', 'source_line', 'detail', 'raw_line']), d.rejects.rows),
  );
  return section('quality', `${counts}<h3>Sample of rejected rows</h3>${sample}`, 'Row accounting from <code>run-summary.json</code>; rejected rows from <code>rejects</code>.');
}

function stagesSection(d: ReportData): string {
  const stages = d.summary?.stages ?? [];
  if (stages.length === 0) return section('stages', note('No stage timings recorded in run-summary.json.', 'missing'));
  const total = stages.reduce((a, s) => a + s.seconds, 0);
  const c = chart('bars', {
    name: 'stage-timings',
    title: 'Wall time per stage (seconds)',
    labels: stages.map((s) => s.name),
    series: [{ name: 'seconds', values: stages.map((s) => s.seconds), color: PALETTE.blue }],
    format: (n) => fmtNum(n),
  });
  const hasStatus = stages.some((s) => s.status !== undefined || s.error !== undefined);
  const hasRows = stages.some((s) => s.rows !== undefined);
  const rows: Row[] = stages.map((s) => ({ stage: s.name, seconds: seconds(s.seconds), rows: s.rows ?? null, status: s.status ?? null, error: s.error ?? null }));
  const cols: Column[] = [
    { key: 'stage', label: 'stage', fmt: 'text' },
    { key: 'seconds', label: 'wall time', fmt: 'text' },
    ...(hasRows ? [{ key: 'rows', label: 'rows', fmt: 'int' as const }] : []),
    ...(hasStatus ? [{ key: 'status', label: 'status', fmt: 'text' as const }, { key: 'error', label: 'error', fmt: 'text' as const }] : []),
  ];
  return section('stages', grid(c, dataTable(cols, rows)) + note(`Total ${esc(seconds(total))} over ${fmtInt(stages.length)} stages.`, 'count'));
}

// ---------------------------------------------------------------------------------------------
// The page.
// ---------------------------------------------------------------------------------------------

const CSS = `
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:0 20px 48px}
header.top{background:linear-gradient(135deg,#1e3a8a,#2563eb);color:#fff;padding:28px 20px 22px}
header.top>*{max-width:1160px;margin-left:auto;margin-right:auto}
.brand{font-size:12px;letter-spacing:.12em;text-transform:uppercase;opacity:.8}
h1{margin:4px auto 14px;font-size:26px;font-weight:650}
dl.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:8px 24px;margin:0 auto}
dl.meta div{min-width:0}dl.meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;opacity:.75}
dl.meta dd{margin:0;overflow-wrap:anywhere}
ul.files{margin:0;padding-left:18px}
nav.toc{position:sticky;top:0;z-index:2;background:rgba(248,250,252,.95);border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:4px 14px;padding:8px 20px;justify-content:center}
nav.toc a{color:var(--accent);text-decoration:none;font-size:13px}nav.toc a:hover{text-decoration:underline}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-top:20px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
h2{margin:0 0 6px;font-size:19px}h3{margin:18px 0 8px;font-size:15px;color:#1e293b}
p.lead{margin:0 0 12px;color:var(--muted)}p.desc{margin:0 0 6px;color:var(--muted);font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px;align-items:start}
.grid.wide{grid-template-columns:repeat(auto-fit,minmax(480px,1fr))}
.grid.three{grid-template-columns:repeat(auto-fit,minmax(300px,1fr))}
p.explain{margin:4px 0 12px;max-width:900px}p.sources{font-size:12px}
ul.segments{margin:0;padding-left:18px;font-size:13px}ul.segments li{margin-bottom:4px}
.not-evaluated{color:#475569}
.grid>*{min-width:0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:8px 0 14px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:linear-gradient(#fff,#f8fafc)}
.kpi-label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.kpi-value{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums;margin-top:2px}
.kpi-sub{font-size:12px;color:var(--muted)}
figure.chart-box{margin:0 0 12px}figure.chart-box figcaption{font-size:12px;color:var(--muted);margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block}
figure.chart-box{max-width:100%}
.table-wrap{overflow:auto;border:1px solid var(--line);border-radius:8px;margin:6px 0 12px}
.table-wrap[data-scroll]{max-height:360px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
th{white-space:normal;vertical-align:bottom;min-width:64px}
td{max-width:420px;overflow:hidden;text-overflow:ellipsis}
th{background:#f1f5f9;font-weight:600;position:sticky;top:0}
th.n,td.n{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:160px;max-width:520px}
tbody tr:nth-child(even){background:#fafcff}tbody tr:hover{background:#eff6ff}
p.note{margin:6px 0;color:var(--muted);font-size:13px}
p.note.missing,span.missing{color:#b45309}p.note.missing{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 10px}
p.note.empty{background:#f1f5f9;border-radius:6px;padding:8px 10px}
p.note.ok{color:#047857}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f5f9;border-radius:4px;padding:1px 4px}
header code{background:rgba(255,255,255,.15)}
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}
.card{border:1px solid var(--line);border-radius:8px;padding:4px 12px 8px}
ul.stages{margin:4px 0 12px;padding-left:18px}
footer{max-width:1200px;margin:24px auto;padding:0 20px;color:var(--muted);font-size:12px}
@media (max-width:560px){.grid,.grid.wide{grid-template-columns:1fr}h1{font-size:21px}}
`;

/** Datasets known to have no prices (their money columns are all 0 by the contract). */
const DATASETS_WITHOUT_PRICES: Readonly<Record<string, true>> = { retailrocket: true };

export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export function renderReport(data: ReportData): string {
  currentDataset = data.summary?.dataset ?? null;
  currency = datasetCurrency(currentDataset);
  if (currency === null && !(currentDataset && currentDataset in DATASETS_WITHOUT_PRICES) && data.kpis && Number(data.kpis.revenue) !== 0) currency = '';
  const title = `ShopSight run report${data.summary ? ` — ${data.summary.runId}` : ''}`;
  const sections = [
    kpiSection(data),
    funnelSection(data),
    dailySection(data),
    timingSection(data),
    brandsSection(data),
    abandonmentSection(data),
    schemasSection(data),
    rulesSection(data),
    recommendationsSection(data),
    modelsSection(data),
    segmentsSection(data),
    forecastSection(data),
    qualitySection(data),
    stagesSection(data),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${header(data)}
${nav()}
<main>
${sections.join('\n')}
</main>
<footer>Generated by ShopSight's local report from the run folder's Parquet tables and run-summary.json. Self-contained: no scripts, no external resources.</footer>
</body>
</html>
`;
}
