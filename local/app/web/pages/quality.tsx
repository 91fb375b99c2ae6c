import { useState } from 'preact/hooks';
import { getJson, runPath, type Rejects } from '../api';
import { formatCount, SECTION_NOTES } from '../fmt';
import { DataTable, Kpi, Kpis, Note, Section, Show, TableSection, text, useLoad } from '../ui';
import type { PageProps } from './common';

const PAGE = 100;

export function QualityPage({ run }: PageProps) {
  const [reason, setReason] = useState('');
  const [offset, setOffset] = useState(0);
  const state = useLoad(() => getJson<Rejects>(runPath(run.id, 'rejects'), { reason, limit: PAGE, offset }), [run.id, reason, offset]);
  const all = useLoad(() => getJson<Rejects>(runPath(run.id, 'rejects'), { limit: 1 }), [run.id]);
  return (
    <>
      <h1>Data quality</h1>
      <Note>
        {SECTION_NOTES.quality} Below: each line that could not be used, with the reason, the file and line it came from, and its text as read.
        Exact duplicate lines are removed and not listed.
      </Note>
      <Show state={all} what="rejects">
        {(a) => (
          <>
            <Kpis>
              <Kpi label="Rejected lines" value={formatCount(a.total)} />
              <Kpi label="Events accepted" value={formatCount(run.events)} />
            </Kpis>
            {a.total === 0 ? <p class="empty" data-testid="no-rejects">No line was rejected: every input line was read.</p> : (
              <>
                <TableSection
                  title="By reason"
                  rows={Object.entries(a.byReason).sort((x, y) => y[1] - x[1])}
                  columns={[
                    { label: 'Reason', cell: ([r]) => r },
                    { label: 'Lines', numeric: true, cell: ([, n]) => formatCount(n) },
                  ]}
                />
                <form class="filters" aria-label="Reject filters" onSubmit={(e) => e.preventDefault()}>
                  <label>Reason{' '}
                    <select value={reason} onChange={(e) => { setReason(e.currentTarget.value); setOffset(0); }}>
                      <option value="">All reasons</option>
                      {Object.keys(a.byReason).map((r) => <option value={r}>{r}</option>)}
                    </select>
                  </label>
                </form>
                <Show state={state} what="rejected lines">
                  {(d) => (
                    <Section title="Rejected lines">
                      <p class="count">Lines {formatCount(d.rows.length === 0 ? 0 : offset + 1)}–{formatCount(offset + d.rows.length)} of {formatCount(d.total)}.</p>
                      <DataTable
                        testId="rejects"
                        rows={d.rows}
                        columns={[
                          { label: 'Reason', cell: (r) => r.reason },
                          { label: 'Detail', cell: (r) => text(r.detail) },
                          { label: 'File', cell: (r) => <span title={r.source_file}>{r.source_file.split(/[\\/]/).pop()}</span> },
                          { label: 'Line', numeric: true, cell: (r) => formatCount(r.source_line) },
                          { label: 'Raw text', cell: (r) => <code class="raw">{text(r.raw_line)}</code> },
                        ]}
                      />
                      <div class="actions">
                        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
                        <button type="button" disabled={offset + d.rows.length >= d.total} onClick={() => setOffset(offset + PAGE)}>Next</button>
                      </div>
                    </Section>
                  )}
                </Show>
              </>
            )}
          </>
        )}
      </Show>
    </>
  );
}
