import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { getJson, runPath, type Overview } from '../api';
import { ChartView, COLORS, READABLE_X } from '../chart';
import { brandLabel, formatCompact, formatCount, formatDate, formatDateRange, formatMoneyCompact, formatPercent, SECTION_NOTES } from '../fmt';
import { Kpi, Kpis, Note, Section, Show, TableSection, useLoad } from '../ui';
import { CategorySelect, moneyColumn, moneyOf, NO_PRICE_COLUMNS, productColumns, type PageProps } from './common';

export function OverviewPage({ run }: PageProps) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [category, setCategory] = useState('');
  const state = useLoad(
    () => (from && to && from > to
      ? Promise.reject(new Error(`The start date (${formatDate(from)}) is after the end date (${formatDate(to)}).`))
      : getJson<Overview>(runPath(run.id, 'overview'), { from, to, category })),
    [run.id, from, to, category],
  );

  return (
    <>
      <h1>Overview</h1>
      <Note>
        {SECTION_NOTES.overview} Narrow them to a date range or a top-level category below. Only days that have events are drawn, one point each.
      </Note>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Overview filters">
        <label>From <input type="date" value={from} min={run.firstDate ?? undefined} max={run.lastDate ?? undefined} onChange={(e) => setFrom(e.currentTarget.value)} /></label>
        <label>To <input type="date" value={to} min={run.firstDate ?? undefined} max={run.lastDate ?? undefined} onChange={(e) => setTo(e.currentTarget.value)} /></label>
        <CategorySelect run={run.id} value={category} onChange={setCategory} />
        {(from || to || category) ? <button type="button" onClick={() => { setFrom(''); setTo(''); setCategory(''); }}>Clear filters</button> : null}
      </form>
      <Show state={state} what="the overview">{(o) => <OverviewBody o={o} />}</Show>
    </>
  );
}

function OverviewBody({ o }: { o: Overview }) {
  const money = moneyOf(o);
  const k = o.kpis;
  const span = formatDateRange(k.firstDate, k.lastDate);
  // A long run of consecutive days reads best as lines; a few days, or days with gaps between them
  // (the samples: 1 Oct and 1 Nov), as bars: a line would draw the month between as if it had data.
  const asLines = o.daily.length > 14 && consecutive(o.daily.map((d) => d.date));
  const config = useMemo<ChartConfiguration>(() => {
    const second = (label: string, color: string, data: number[], order: number) => (asLines
      ? { type: 'line' as const, label, data, borderColor: color, backgroundColor: color, yAxisID: 'y1', pointRadius: 2, borderWidth: 2, order }
      : { type: 'bar' as const, label, data, backgroundColor: color, yAxisID: 'y1' });
    return {
      type: 'bar',
      data: {
        labels: o.daily.map((d) => formatDate(d.date)),
        datasets: [
          { type: 'bar', label: 'Views (left axis)', data: o.daily.map((d) => d.views), backgroundColor: COLORS.views, yAxisID: 'y', ...(asLines ? { order: 3 } : {}) },
          second('Cart adds (right axis)', COLORS.carts, o.daily.map((d) => d.carts), 1),
          second('Purchases (right axis)', COLORS.purchases, o.daily.map((d) => d.purchases), 2),
        ],
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        // Views first in the legend whatever the drawing order (lines are drawn over the bars).
        plugins: { legend: { labels: { sort: (a: { datasetIndex?: number }, b: { datasetIndex?: number }) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) } } },
        scales: {
          x: { ticks: READABLE_X, grid: { display: false } },
          y: { position: 'left', beginAtZero: true, title: { display: true, text: 'Views' }, ticks: { callback: (v: string | number) => formatCompact(Number(v)) } },
          y1: { position: 'right', beginAtZero: true, title: { display: true, text: 'Cart adds and purchases' }, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
        },
      },
    } as ChartConfiguration;
  }, [o, asLines]);
  const revenueConfig = useMemo<ChartConfiguration>(() => ({
    type: 'bar',
    data: { labels: o.daily.map((d) => formatDate(d.date)), datasets: [{ label: `Revenue (${o.currency ?? ''})`, data: o.daily.map((d) => d.revenue ?? 0), backgroundColor: COLORS.revenue }] },
    options: { scales: { x: { ticks: READABLE_X, grid: { display: false } }, y: { beginAtZero: true, ticks: { callback: (v: string | number) => formatMoneyCompact(Number(v), o.currency) } } } },
  }) as ChartConfiguration, [o]);

  return (
    <>
      <Kpis>
        <Kpi label="Events" value={formatCount(k.events)} hint={span} />
        <Kpi label="Days with events" value={formatCount(k.days)} />
        <Kpi label="Users" value={formatCount(k.users)} />
        <Kpi label="Sessions" value={formatCount(k.sessions)} />
        <Kpi label="Views" value={formatCount(k.views)} />
        <Kpi label="Cart adds" value={formatCount(k.carts)} />
        <Kpi label="Purchases" value={formatCount(k.purchases)} />
        <Kpi label="Buyers" value={formatCount(k.buyers)} />
        <Kpi label="Revenue" value={money(k.revenue)} />
        <Kpi label="Conversion" value={formatPercent(k.conversion, 2)} hint="buyers / users" />
        <Kpi label="Products" value={formatCount(k.products)} />
      </Kpis>
      <Section
        title="Day by day"
        note={<>Views (left axis) are far more numerous than cart adds and purchases (right axis), so they have their own scale: read each against its own axis.
          {o.daily.length <= 7 ? ` This selection has events on ${o.daily.length} day${o.daily.length === 1 ? '' : 's'} only; each day is one point.` : ''}</>}
      >
        {o.daily.length === 0 ? <p class="empty">No events in this selection.</p>
          : <ChartView config={config} label={`Daily views, cart adds and purchases, ${span}`} testId="daily-chart" />}
        {o.pricesKnown && o.daily.length > 0 ? <ChartView config={revenueConfig} label="Daily revenue" height={220} /> : null}
        {!o.pricesKnown ? <Note>This data has no prices, so there is no revenue to show. {NO_PRICE_COLUMNS}</Note> : null}
      </Section>
      <div class="two">
        <TableSection
          title="Top products" note="The most purchased products in this selection."
          rows={o.topProducts}
          empty="No purchases in this selection."
          columns={[
            ...productColumns((p: Overview['topProducts'][number]) => p.product_id, (p) => p),
            { label: 'Purchases', numeric: true, cell: (p) => formatCount(p.purchases) },
            ...moneyColumn(o, 'Revenue', (p: Overview['topProducts'][number]) => p.revenue),
          ]}
        />
        <TableSection
          title="Top brands" note={o.pricesKnown ? "Brands by revenue, then purchases." : "Brands by purchases."}
          rows={o.topBrands}
          empty={k.purchases > 0 ? 'This data has no brands.' : 'No purchases in this selection.'}
          columns={[
            { label: 'Brand', cell: (b) => brandLabel(b.brand) },
            { label: 'Purchases', numeric: true, cell: (b) => formatCount(b.purchases) },
            ...moneyColumn(o, 'Revenue', (b: Overview['topBrands'][number]) => b.revenue),
          ]}
        />
      </div>
    </>
  );
}

/** Whether the dates (ascending YYYY-MM-DD) follow one another day after day. */
function consecutive(dates: string[]): boolean {
  for (let i = 1; i < dates.length; i += 1) {
    if (Date.parse(`${dates[i]}T00:00:00Z`) - Date.parse(`${dates[i - 1]}T00:00:00Z`) !== 86_400_000) return false;
  }
  return true;
}
