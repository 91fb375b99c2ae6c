import { useState } from 'preact/hooks';
import { getJson, postJson, type QueryResult, type UserDetail } from '../api';
import { formatCount, formatDate, formatDays, formatMoney, formatPercent, SECTION_NOTES, segmentDescription, segmentLabel, formatDateTime } from '../fmt';
import { href } from '../router';
import { DataTable, Kpi, Kpis, Note, Section, Show, TableSection, useLoad } from '../ui';
import { moneyColumn, moneyOf, num, productColumns, type PageProps } from './common';

export function CustomersPage(props: PageProps) {
  const id = props.route.path[1];
  return id ? <CustomerPage {...props} userId={id} /> : <CustomerSearch {...props} />;
}

function go(run: string, id: string): void {
  location.hash = href(`/customers/${id}`, run);
}

function CustomerSearch({ run }: PageProps) {
  const [input, setInput] = useState('');
  const [invalid, setInvalid] = useState(false);
  const examples = useLoad(() => postJson<QueryResult>('/api/query', {
    run: run.id,
    sql: "SELECT user_id, count(*) FILTER (WHERE event_type = 'purchase') AS purchases, count(*) AS events FROM events GROUP BY user_id ORDER BY purchases DESC, events DESC, user_id LIMIT 10",
  }), [run.id]);
  return (
    <>
      <h1>Customers</h1>
      <Note>{SECTION_NOTES.customers} Type a user id, or start from one of the customers below.</Note>
      <form class="filters" role="search" onSubmit={(e) => {
        e.preventDefault();
        const v = input.trim();
        if (!/^[0-9]{1,19}$/.test(v)) { setInvalid(true); return; }
        go(run.id, v);
      }}>
        <label>User id <input name="user" inputMode="numeric" value={input} aria-invalid={invalid} onInput={(e) => { setInput(e.currentTarget.value); setInvalid(false); }} /></label>
        <button type="submit">Look up</button>
        {invalid ? <span class="error" role="alert">A user id is a number.</span> : null}
      </form>
      <Section title="Some customers to start with" note="The customers with the most purchases, then the most events.">
        <Show state={examples} what="examples">
          {(r) => (
            <DataTable
              rows={r.rows}
              empty="No customers in this run."
              columns={[
                { label: 'User', cell: (row) => <a href={href(`/customers/${String(row[0])}`)}>{String(row[0])}</a> },
                { label: 'Purchases', numeric: true, cell: (row) => formatCount(num(row[1])) },
                { label: 'Events', numeric: true, cell: (row) => formatCount(num(row[2])) },
              ]}
            />
          )}
        </Show>
      </Section>
    </>
  );
}

function CustomerPage({ run, userId }: PageProps & { userId: string }) {
  const state = useLoad(() => getJson<UserDetail>(`/api/users/${encodeURIComponent(userId)}`, { run: run.id }), [run.id, userId]);
  const money = moneyOf(run);
  return (
    <>
      <p class="crumbs"><a href={href('/customers')}>Customers</a> › {userId}</p>
      <h1>Customer {userId}</h1>
      <Show state={state} what="the customer">
        {(u) => {
          return (
            <>
              <Kpis>
                <Kpi label="Events" value={formatCount(u.totals.events)} />
                <Kpi label="Sessions" value={formatCount(u.totals.sessions)} />
                <Kpi label="Views" value={formatCount(u.totals.views)} />
                <Kpi label="Cart adds" value={formatCount(u.totals.carts)} />
                <Kpi label="Purchases" value={formatCount(u.totals.purchases)} />
                <Kpi label="Spend" value={money(u.totals.spend)} />
                <Kpi label="First seen" value={formatDate(u.totals.firstSeen)} />
                <Kpi label="Last seen" value={formatDate(u.totals.lastSeen)} />
              </Kpis>
              <div class="two">
                <Section title="Segment" note="Customers are grouped by how recently, how often and how much they bought (k-means on their behaviour).">
                  {u.segment ? (
                    <div data-testid="segment">
                      <p class="big">{u.segment.label ?? segmentLabel(u.segment.segment_name)}</p>
                      {segmentDescription(u.segment.segment_name) ? <p>{segmentDescription(u.segment.segment_name)}</p> : null}
                      <dl class="facts">
                        <dt>Last visit</dt><dd>{u.segment.recency_days === null ? '—' : `${formatDays(u.segment.recency_days)} before the data ends`}</dd>
                        <dt>Purchases</dt><dd>{formatCount(u.segment.frequency)}</dd>
                        <dt>Spend</dt><dd>{money(u.segment.monetary)}</dd>
                      </dl>
                    </div>
                  ) : <p class="empty">This customer is in no segment.</p>}
                </Section>
                <Section title="Purchase probability" note="The purchase-intent model's estimate that the customer's latest session ends in a purchase.">
                  {u.purchaseProbability ? (
                    <div data-testid="purchase-probability">
                      <p class="big">{formatPercent(u.purchaseProbability.probability)}</p>
                      <p class="muted">Session {u.purchaseProbability.session_id}</p>
                    </div>
                  ) : <p class="empty">No session of this customer was scored.</p>}
                  {u.forecast ? (
                    <p>
                      Over the next {formatCount(u.forecast.horizon_days)} days: {formatPercent(u.forecast.purchase_probability)} chance of buying
                      {run.pricesKnown ? `, expected spend ${formatMoney(u.forecast.predicted_spend, run.currency)}` : ''}.
                    </p>
                  ) : null}
                </Section>
              </div>
              <TableSection
                title="Recommendations" note="Products the recommendation model ranks highest for this customer, each with the reason it fits. A customer with too little history gets the most popular products instead."
                testId="recommendations"
                rows={u.recommendations}
                empty="No recommendations for this customer."
                columns={[
                  { label: 'Rank', numeric: true, cell: (r) => r.rank },
                  ...productColumns((r: UserDetail['recommendations'][number]) => r.product_id, (r) => r),
                  ...moneyColumn(run, 'Price', (r: UserDetail['recommendations'][number]) => r.price),
                  { label: 'Why', cell: (r) => r.why },
                ]}
              />
              <TableSection
                title="History" note="The customer's latest events (at most 100), newest first."
                testId="history"
                rows={u.history}
                empty="No events."
                columns={[
                  { label: 'When', cell: (h) => formatDateTime(h.event_time) },
                  { label: 'Event', cell: (h) => h.event_type },
                  ...productColumns((h: UserDetail['history'][number]) => h.product_id, (h) => h),
                  ...moneyColumn(run, 'Price', (h: UserDetail['history'][number]) => h.price),
                ]}
              />
            </>
          );
        }}
      </Show>
    </>
  );
}
