import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { getJson, runPath, type Funnel } from '../api';
import { ChartView, COLORS } from '../chart';
import { categoryLabel, formatCount, formatPercent, funnelExplanation, funnelReadings, SECTION_NOTES } from '../fmt';
import { DataTable, Kpi, Kpis, Note, Section, Show, useLoad } from '../ui';
import { CategorySelect, type PageProps } from './common';

const STAGE_LABELS: Record<string, string> = { view: 'Viewed a product', cart: 'Put one in the cart', purchase: 'Bought' };

/** A step rate is a share of the step before: over 100% means purchases skipped the cart, so it is not shown as a rate. */
function StepRate({ value }: { value: number | null }) {
  if (value === null || value === undefined) return <>–</>;
  if (value > 1) return <span class="muted" title="More buyers than cart users: purchases skipped the cart">n/a (purchases skip the cart)</span>;
  return <>{formatPercent(value)}</>;
}

export function FunnelPage({ run }: PageProps) {
  const [category, setCategory] = useState('');
  const state = useLoad(() => getJson<Funnel>(runPath(run.id, 'funnel'), { category }), [run.id, category]);
  return (
    <>
      <h1>Purchase funnel</h1>
      <Note>
        {SECTION_NOTES.funnel} The two differ because a purchase can happen without a cart event before it (REES46 records many such "buy now" purchases).
      </Note>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Funnel filters">
        <CategorySelect run={run.id} value={category} onChange={setCategory} />
      </form>
      <Show state={state} what="the funnel">{(f) => <FunnelBody f={f} />}</Show>
    </>
  );
}

function FunnelBody({ f }: { f: Funnel }) {
  const r = f.readings;
  const readings = funnelReadings(r);
  const step = readings.cartToPurchaseStep;
  const reached = readings.purchaseReached;
  const viewToCart = readings.cartReached;
  const noCategories = f.byCategory.every((c) => c.category === null || c.category === '(missing)');
  const config = useMemo<ChartConfiguration>(() => ({
    type: 'bar',
    data: {
      labels: f.stages.map((s) => STAGE_LABELS[s.stage] ?? s.stage),
      datasets: [{ label: 'Users', data: f.stages.map((s) => s.users), backgroundColor: [COLORS.views, COLORS.carts, COLORS.purchases, COLORS.users] }],
    },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'Users' } } } },
  }) as ChartConfiguration, [f]);
  return (
    <>
      <Kpis>
        <Kpi label="Viewed" value={formatCount(r.viewUsers)} hint="users" />
        <Kpi label="Added to cart" value={formatCount(r.cartUsers)} hint={`${formatPercent(viewToCart)} of viewers`} />
        <Kpi label="Bought" value={formatCount(r.purchaseUsers)} hint="users" />
        <Kpi label="Bought without a cart event" value={formatCount(r.purchaseWithoutCartUsers)} hint="users" />
      </Kpis>
      <Note>{funnelExplanation(r)}</Note>
      <div class="two">
        <Section title="Step by step" note="Of the users who put something in the cart, the share who then bought. Never over 100%.">
          <p class="big" data-testid="step-rate">{formatPercent(step)}</p>
          <p>{formatCount(r.cartThenPurchaseUsers)} of {formatCount(r.cartUsers)} cart users bought.</p>
        </Section>
        <Section title="Reached purchase" note="Of the users who viewed, the share who bought at all, counting purchases that skipped the cart.">
          <p class="big" data-testid="reached-rate">{formatPercent(reached)}</p>
          <p>{formatCount(r.purchaseUsers)} of {formatCount(r.viewUsers)} viewers bought; {formatCount(r.purchaseWithoutCartUsers)} of them without a cart event.</p>
        </Section>
      </div>
      <Section title="Stages" note="Users, sessions and events at each stage.">
        {f.stages.length > 0 ? <ChartView config={config} label="Users at each funnel stage" height={200} /> : null}
        <DataTable
          rows={f.stages}
          columns={[
            { label: 'Stage', cell: (s) => STAGE_LABELS[s.stage] ?? s.stage },
            { label: 'Users', numeric: true, cell: (s) => formatCount(s.users) },
            { label: 'Sessions', numeric: true, cell: (s) => formatCount(s.sessions) },
            { label: 'Events', numeric: true, cell: (s) => formatCount(s.events) },
          ]}
        />
      </Section>
      {noCategories ? (
        <Section title="By category">
          <p class="empty">The events of this data have no category (RetailRocket gives categories only through its item properties files), so there is no funnel by category.</p>
        </Section>
      ) : (
      <Section
        title="By category"
        note={'"Buyers ÷ cart users" compares two groups that are not one inside the other (buyers can skip the cart); where a category has more buyers than cart users it would read over 100%, so it shows n/a. "View → purchase" is the reached reading: every buyer over every viewer.'}
      >
        <DataTable
          rows={f.byCategory}
          columns={[
            { label: 'Category', cell: (c) => categoryLabel(c.category) },
            { label: 'Viewers', numeric: true, cell: (c) => formatCount(c.view_users) },
            { label: 'Cart users', numeric: true, cell: (c) => formatCount(c.cart_users) },
            { label: 'Buyers', numeric: true, cell: (c) => formatCount(c.purchase_users) },
            { label: 'View → cart', numeric: true, cell: (c) => <StepRate value={c.view_to_cart_rate} /> },
            { label: 'Buyers ÷ cart users', numeric: true, title: 'Not a step rate: buyers who skipped the cart count too', cell: (c) => <StepRate value={c.cart_to_purchase_rate} /> },
            { label: 'View → purchase', numeric: true, cell: (c) => formatPercent(c.view_to_purchase_rate) },
          ]}
        />
      </Section>
      )}
    </>
  );
}
