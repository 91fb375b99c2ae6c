import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, postJson, runPath, type QueryResult, type TableInfo } from '../api';
import { formatCount, tableDescription } from '../fmt';
import { ErrorBox, Loading, Note, Show, useLoad } from '../ui';
import type { PageProps } from './common';

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function QueryPage({ run }: PageProps) {
  const tables = useLoad(() => getJson<{ tables: TableInfo[] }>(runPath(run.id, 'tables')), [run.id]);
  const [sql, setSql] = useState('SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users\nFROM events\nGROUP BY event_type\nORDER BY events DESC');
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<string | null>(null);

  const runQuery = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await postJson<QueryResult>('/api/query', { sql, run: run.id, format: 'json' }));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  // Show the starting query's answer straight away.
  useEffect(() => { void runQuery(); }, [run.id]);

  const download = async (): Promise<void> => {
    setError(null);
    try {
      const res = await fetch('/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, run: run.id, format: 'csv' }) });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new ApiError(body.error ?? `${res.status}`, res.status);
      }
      const blob = await res.blob();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = 'query.csv';
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <>
      <h1>SQL workbench</h1>
      <Note>
        Ask your own questions of this run's tables in SQL (DuckDB dialect). Read-only: one SELECT at a time, at most 10,000 rows back,
        stopped after 10 seconds. Pick a table on the left to see its columns; "Query this table" fills in a starting query.
      </Note>
      <div class="workbench">
        <aside class="card schema" aria-label="Tables">
          <h2>Tables</h2>
          <Show state={tables} what="tables">
            {(t) => (
              <ul class="tables" data-testid="schema">
                {t.tables.map((tb) => (
                  <li>
                    <button type="button" class="linkish" aria-expanded={open === tb.name} onClick={() => setOpen(open === tb.name ? null : tb.name)}>
                      {tb.name}
                    </button> <span class="muted">{formatCount(tb.rows)} rows</span>
                    {open === tb.name ? (
                      <div class="table-info">
                        <p class="note">{tb.description ?? tableDescription(tb.name)}</p>
                        <ul class="columns">{tb.columns.map((c) => <li><code>{c.name}</code> <span class="muted">{c.type}</span></li>)}</ul>
                        <button type="button" onClick={() => setSql(`SELECT *\nFROM ${tb.name}\nLIMIT 100`)}>Query this table</button>
                      </div>
                    ) : null}
                  </li>
                ))}
              </ul>
            )}
          </Show>
        </aside>
        <div class="card editor">
          <form onSubmit={(e) => { e.preventDefault(); void runQuery(); }}>
            <label for="sql">SQL</label>
            <textarea
              id="sql"
              name="sql"
              rows={8}
              spellcheck={false}
              value={sql}
              onInput={(e) => setSql(e.currentTarget.value)}
              onKeyDown={(e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); void runQuery(); } }}
            />
            <div class="actions">
              <button type="submit" disabled={busy}>Run query</button>
              <button type="button" onClick={() => void download()}>Download CSV</button>
              <span class="muted">Ctrl+Enter runs it.</span>
            </div>
          </form>
          {error ? <ErrorBox message={error} /> : null}
          {busy ? <Loading what="results" /> : null}
          {result ? (
            <>
              <p class="count" data-testid="query-status">
                {formatCount(result.rows.length)} row{result.rows.length === 1 ? '' : 's'} in {formatCount(result.elapsedMs)} ms
                {result.truncated ? ' (truncated: only the first rows are shown; download the CSV for the same rows)' : ''}.
              </p>
              <div class="table-wrap grid">
                <table data-testid="query-results">
                  <thead><tr>{result.columns.map((c, i) => <th scope="col" title={result.types[i]}>{c}<br /><small class="muted">{result.types[i]}</small></th>)}</tr></thead>
                  <tbody>{result.rows.map((r) => <tr>{r.map((v) => <td class={typeof v === 'number' ? 'num' : undefined}>{cell(v)}</td>)}</tr>)}</tbody>
                </table>
              </div>
            </>
          ) : null}
        </div>
      </div>
    </>
  );
}
