/** ShopSight app: the front end over run folders (docs/app.md). Hash routes, a run picker, one page per view. */
import { render, type JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { getJson, type RunInfo } from './api';
import { formatCount, formatDate } from './fmt';
import { href, setLinkRun, useRoute } from './router';
import { ErrorBox, Loading } from './ui';
import type { PageProps } from './pages/common';
import { CustomersPage } from './pages/customers';
import { FunnelPage } from './pages/funnel';
import { OverviewPage } from './pages/overview';
import { ProductsPage } from './pages/products';
import { QualityPage } from './pages/quality';
import { QueryPage } from './pages/query';
import { RulesPage } from './pages/rules';
import { RunsPage } from './pages/runs';
import { WhatIfPage } from './pages/whatif';

const PAGES: { path: string; label: string; render: (p: PageProps) => JSX.Element }[] = [
  { path: 'overview', label: 'Overview', render: (p) => <OverviewPage {...p} /> },
  { path: 'funnel', label: 'Funnel', render: (p) => <FunnelPage {...p} /> },
  { path: 'products', label: 'Products', render: (p) => <ProductsPage {...p} /> },
  { path: 'customers', label: 'Customers', render: (p) => <CustomersPage {...p} /> },
  { path: 'what-if', label: 'What if', render: (p) => <WhatIfPage {...p} /> },
  { path: 'rules', label: 'Rules', render: (p) => <RulesPage {...p} /> },
  { path: 'query', label: 'Query', render: (p) => <QueryPage {...p} /> },
  { path: 'quality', label: 'Data quality', render: (p) => <QualityPage {...p} /> },
  { path: 'runs', label: 'Runs', render: (p) => <RunsPage {...p} /> },
];

function App() {
  const route = useRoute();
  const [runs, setRuns] = useState<RunInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refreshRuns = useCallback(async (): Promise<RunInfo[]> => {
    const list = (await getJson<{ runs: RunInfo[] }>('/api/runs')).runs;
    setRuns(list);
    return list;
  }, []);
  useEffect(() => { refreshRuns().catch((e: unknown) => setError(e instanceof Error ? e.message : String(e))); }, [refreshRuns]);

  const wanted = route.query.get('run');
  const run = runs ? (runs.find((r) => r.id === wanted) ?? runs[0] ?? null) : null;
  // Refresh the list when the URL names a run we do not know yet (a run just made elsewhere).
  useEffect(() => { if (runs && wanted && !runs.some((r) => r.id === wanted)) void refreshRuns(); }, [wanted]);
  setLinkRun(run?.id ?? wanted);

  const page = PAGES.find((p) => p.path === route.path[0]);
  useEffect(() => {
    document.title = `${page?.label ?? 'Not found'} · ShopSight`;
  }, [page]);
  useEffect(() => { window.scrollTo(0, 0); }, [route.path.join('/')]);

  let body: JSX.Element;
  if (error) body = <ErrorBox message={`Could not load the runs: ${error}`} />;
  else if (runs === null) body = <Loading what="runs" />;
  else if (!page) body = <><h1>Not found</h1><p>No page here. <a href={href('/overview')}>Go to the overview</a>.</p></>;
  else if (page.path === 'runs') body = <RunsPage refreshRuns={refreshRuns} />;
  else if (!run) body = <><h1>No runs yet</h1><p>There is no run folder to show. <a href={href('/runs')}>Start a run</a> from a CSV or a demo.</p></>;
  else body = <div key={`${run.id}/${route.path.join('/')}`}>{page.render({ run, route, refreshRuns })}</div>;

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <div class="brand"><a href={href('/overview')}>ShopSight</a></div>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li><a href={href(`/${p.path}`)} aria-current={page?.path === p.path ? 'page' : undefined}>{p.label}</a></li>
            ))}
          </ul>
        </nav>
        <div class="picker">
          <label>Run{' '}
            {/* A product or customer of one run need not be in another: a switch opens the page's list. */}
            <select
              data-testid="run-picker"
              value={run?.id ?? ''}
              disabled={!runs || runs.length === 0}
              onChange={(e) => { location.hash = href(`/${route.path[0] ?? 'overview'}`, e.currentTarget.value); }}
            >
              {(runs ?? []).map((r) => <option value={r.id}>{r.id} ({r.dataset}, {formatCount(r.events)} events)</option>)}
            </select>
          </label>
          {run ? (
            <span class="run-meta">
              {formatDate(run.firstDate)}{run.lastDate && run.lastDate !== run.firstDate ? ` – ${formatDate(run.lastDate)}` : ''} · {run.pricesKnown ? `prices in ${run.currency ?? '?'}` : 'no prices in this data'}
            </span>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>{body}</main>
      <footer class="foot">ShopSight runs on this machine: nothing leaves it.</footer>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
