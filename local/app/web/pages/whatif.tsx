import { useEffect, useState } from 'preact/hooks';
import { getJson, postJson, runPath, type Intent, type WhatIf } from '../api';
import { formatNumber, formatPercent, SECTION_NOTES } from '../fmt';
import { DataTable, ErrorBox, Loading, Note, Section, Show, useLoad } from '../ui';
import type { PageProps } from './common';

/** Plain names of the purchase-intent features (local/ml, core/contract INTENT_FEATURES). */
const FEATURE_LABELS: Record<string, string> = {
  views: 'Product views',
  carts: 'Cart adds',
  remove_from_carts: 'Removals from the cart',
  distinct_products: 'Different products looked at',
  distinct_categories: 'Different categories looked at',
  duration_seconds: 'Session length (seconds)',
  start_hour: 'Start hour (UTC, 0–23)',
  day_of_week: 'Day of the week (1 = Monday … 7 = Sunday)',
  avg_view_price: 'Average viewed price',
  max_view_price: 'Highest viewed price',
  min_view_price: 'Lowest viewed price',
  cart_value: 'Value of the cart',
};

export function WhatIfPage({ run }: PageProps) {
  const intent = useLoad(() => getJson<Intent>(runPath(run.id, 'intent')), [run.id]);
  return (
    <>
      <h1>What if: purchase probability of a session</h1>
      <Note>
        {SECTION_NOTES['what-if']} The model was fitted on this run's sessions, counting only what happened before any purchase. The form starts at a typical session (the median of each feature); change any value and press Compute.
      </Note>
      <Show state={intent} what="the model">{(i) => <WhatIfForm run={run.id} intent={i} />}</Show>
    </>
  );
}

function WhatIfForm({ run, intent }: { run: string; intent: Intent }) {
  const features = [...intent.features].sort((a, b) => a.position - b.position);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(features.map((f) => [f.feature, String(f.typical)])));
  const [result, setResult] = useState<{ answer: WhatIf; sent: Record<string, number> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const compute = async (): Promise<void> => {
    const sent: Record<string, number> = {};
    for (const f of features) {
      const raw = (values[f.feature] ?? '').trim();
      const v = raw === '' ? f.typical : Number(raw);
      if (!Number.isFinite(v)) { setError(`${FEATURE_LABELS[f.feature] ?? f.feature}: not a number`); return; }
      sent[f.feature] = v;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const answer = await postJson<WhatIf>(runPath(run, 'what-if'), { features: sent });
      setResult({ answer, sent });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => { void compute(); }, [run]);

  return (
    <div class="two">
      <Section title="The session">
        <form class="whatif" onSubmit={(e) => { e.preventDefault(); void compute(); }}>
          {features.map((f) => (
            <label class="field">
              <span>{FEATURE_LABELS[f.feature] ?? f.feature}</span>
              <input
                type="number"
                step="any"
                name={f.feature}
                data-feature={f.feature}
                value={values[f.feature] ?? ''}
                onInput={(e) => { const v = e.currentTarget.value; setValues((old) => ({ ...old, [f.feature]: v })); }}
              />
              <small>
                typical {formatNumber(f.typical)}, average {formatNumber(f.mean)}
                {f.stddev === 0 ? '; no effect (the same in every session the model learned from)' : ''}
              </small>
            </label>
          ))}
          <div class="actions">
            <button type="submit" disabled={busy}>Compute</button>
            <button type="button" onClick={() => setValues(Object.fromEntries(features.map((f) => [f.feature, String(f.typical)])))}>Back to typical</button>
          </div>
        </form>
      </Section>
      <Section title="Purchase probability">
        {error ? <ErrorBox message={error} /> : null}
        {busy ? <Loading what="the answer" /> : null}
        {result ? (
          <>
            <p class="big" data-testid="probability" data-value={String(result.answer.probability)} data-features={JSON.stringify(result.sent)}>
              {formatPercent(result.answer.probability, 2)}
            </p>
            <Note>
              The model adds up each feature's contribution (how far the value is from the training average, in standard deviations, times its
              weight) and the intercept ({formatNumber(intent.intercept, 3)}): {formatNumber(result.answer.linear, 3)} in total, turned into a
              probability by the logistic function. Positive contributions make a purchase more likely.
            </Note>
            <DataTable
              rows={[...result.answer.contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))}
              columns={[
                { label: 'Feature', cell: (c) => FEATURE_LABELS[c.feature] ?? c.feature },
                { label: 'Value', numeric: true, cell: (c) => formatNumber(c.value) },
                { label: 'From average (σ)', numeric: true, title: 'How far the value is from the training average, in standard deviations', cell: (c) => formatNumber(c.standardized, 2) },
                { label: 'Contribution', numeric: true, cell: (c) => formatNumber(c.contribution, 3) },
              ]}
            />
          </>
        ) : null}
      </Section>
    </div>
  );
}
