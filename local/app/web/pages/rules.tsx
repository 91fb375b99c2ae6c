import { useState } from 'preact/hooks';
import { getJson, runPath, type Rule } from '../api';
import { formatCount, formatNumber, formatPercent } from '../fmt';
import { href } from '../router';
import { Note, Show, useLoad } from '../ui';
import type { PageProps } from './common';

type SortKey = 'lift' | 'confidence' | 'support' | 'baskets';

interface Filters { kind: string; minSupport: string; minConfidence: string; minLift: string; minBaskets: string }

const DEFAULTS: Filters = { kind: '', minSupport: '', minConfidence: '', minLift: '', minBaskets: '2' };

export function RulesPage({ run }: PageProps) {
  const [form, setForm] = useState<Filters>(DEFAULTS);
  const [filters, setFilters] = useState<Filters>(DEFAULTS);
  const [sort, setSort] = useState<SortKey>('lift');
  const [order, setOrder] = useState<'desc' | 'asc'>('desc');
  const state = useLoad(
    () => getJson<{ rules: Rule[]; total: number }>(runPath(run.id, 'rules'), {
      kind: filters.kind, minSupport: filters.minSupport, minConfidence: filters.minConfidence, minLift: filters.minLift,
      minBaskets: filters.minBaskets, sort, order, limit: 200,
    }),
    [run.id, filters, sort, order],
  );
  const set = (k: keyof Filters) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => { const v = e.currentTarget.value; setForm((f) => ({ ...f, [k]: v })); };
  const sortBy = (k: SortKey): void => {
    if (k === sort) setOrder(order === 'desc' ? 'asc' : 'desc');
    else { setSort(k); setOrder('desc'); }
  };
  const header = (k: SortKey, label: string, title: string) => (
    <th scope="col" class="num" aria-sort={sort === k ? (order === 'desc' ? 'descending' : 'ascending') : 'none'} title={title}>
      <button type="button" class="sort" onClick={() => sortBy(k)}>{label}{sort === k ? (order === 'desc' ? ' ▼' : ' ▲') : ''}</button>
    </th>
  );

  return (
    <>
      <h1>Association rules</h1>
      <Note>
        "People who bought A also bought B", found in the baskets (a user's purchases in one session). <b>Support</b>: the share of all baskets
        that hold A and B. <b>Confidence</b>: of the baskets with A, the share that also hold B. <b>Lift</b>: how much more often than chance
        (over 1 = together more than by chance). <b>Baskets</b>: how many baskets the rule rests on; a rule from a single basket is hidden
        unless you set minimum baskets to 1.
      </Note>
      <form class="filters" aria-label="Rule filters" onSubmit={(e) => { e.preventDefault(); setFilters(form); }}>
        <label>Basket of{' '}
          <select value={form.kind} onChange={set('kind')}>
            <option value="">products and sub-categories</option>
            <option value="product">products</option>
            <option value="sub_category">sub-categories</option>
          </select>
        </label>
        <label>Min support <input type="number" step="any" min="0" max="1" value={form.minSupport} onInput={set('minSupport')} placeholder="0–1" /></label>
        <label>Min confidence <input type="number" step="any" min="0" max="1" value={form.minConfidence} onInput={set('minConfidence')} placeholder="0–1" /></label>
        <label>Min lift <input type="number" step="any" min="0" value={form.minLift} onInput={set('minLift')} /></label>
        <label>Min baskets <input type="number" step="1" min="1" value={form.minBaskets} onInput={set('minBaskets')} /></label>
        <button type="submit">Apply</button>
      </form>
      <Show state={state} what="rules">
        {(d) => (
          <>
            <p class="count" data-testid="rule-count">
              {d.total > d.rules.length ? `Showing ${formatCount(d.rules.length)} of ${formatCount(d.total)} rules` : `${formatCount(d.total)} rule${d.total === 1 ? '' : 's'}`}, sorted by {sort} ({order === 'desc' ? 'highest' : 'lowest'} first).
            </p>
            {d.rules.length === 0 ? (
              <p class="empty">
                No rule passes these filters.{' '}
                {filters.minBaskets !== '1' ? (
                  <button type="button" onClick={() => { const f = { ...form, minBaskets: '1' }; setForm(f); setFilters(f); }}>Show rules from a single basket too</button>
                ) : null}
              </p>
            ) : (
              <div class="table-wrap">
                <table data-testid="rules-table">
                  <thead>
                    <tr>
                      <th scope="col">Basket of</th>
                      <th scope="col">If a basket has</th>
                      <th scope="col">it also has</th>
                      {header('support', 'Support', 'Share of all baskets with both')}
                      {header('confidence', 'Confidence', 'Of the baskets with the first, the share with the second')}
                      {header('lift', 'Lift', 'How much more often than chance')}
                      {header('baskets', 'Baskets', 'Baskets with both')}
                    </tr>
                  </thead>
                  <tbody>
                    {d.rules.map((r) => (
                      <tr>
                        <td>{r.basket_kind === 'sub_category' ? 'sub-categories' : 'products'}</td>
                        <td class="wrap"><Items kind={r.basket_kind} text={r.antecedent} /></td>
                        <td class="wrap"><Items kind={r.basket_kind} text={r.consequent} /></td>
                        <td class="num">{formatPercent(r.support, 2)}</td>
                        <td class="num">{formatPercent(r.confidence)}</td>
                        <td class="num">{formatNumber(r.lift)}</td>
                        <td class="num" title={r.baskets === 1 ? 'A single basket: an anecdote, not a pattern' : undefined}>{formatCount(r.baskets)}{r.baskets === 1 ? <span class="muted"> (one)</span> : null}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Show>
    </>
  );
}

/** A rule side (items joined by the contract's ANTECEDENT_SEPARATOR, " & "): product ids link to their pages; sub-categories read as words. */
function Items({ kind, text }: { kind: string; text: string }) {
  const parts = text.split(' & ');
  return (
    <>
      {parts.map((p, i) => (
        <>
          {i > 0 ? ' & ' : ''}
          {kind === 'product' && /^\d+$/.test(p) ? <a href={href(`/products/${p}`)}>{p}</a> : p.replace(/_/g, ' ')}
        </>
      ))}
    </>
  );
}
