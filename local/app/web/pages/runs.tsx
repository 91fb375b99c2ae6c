import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, postForm, postJson, type Job, type RunInfo } from '../api';
import { datasetLabel, formatCount, formatDate, formatDateTime, formatNumber, SECTION_NOTES } from '../fmt';
import { href } from '../router';
import { DataTable, ErrorBox, Note, Section, Show, TableSection, useLoad } from '../ui';
import type { PageProps } from './common';

const POLL_MS = 500;

export function RunsPage({ refreshRuns }: Pick<PageProps, 'refreshRuns'>) {
  const [runs, setRuns] = useState<RunInfo[] | null>(null);
  const jobs = useLoad(() => getJson<{ jobs: Job[] }>('/api/jobs'), []);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [events, setEvents] = useState('20000');
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => { void refreshRuns().then(setRuns, (e: unknown) => setError(String(e))); }, []);

  // Poll the running job until it ends; then refresh the run list (the new run comes first).
  useEffect(() => {
    if (!job || job.status !== 'running') return undefined;
    const t = setTimeout(() => {
      getJson<Job>(`/api/jobs/${encodeURIComponent(job.id)}`).then(
        (next) => {
          setJob(next);
          if (next.status !== 'running') void refreshRuns().then(setRuns);
        },
        (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
      );
    }, POLL_MS);
    return () => clearTimeout(t);
  }, [job]);

  const start = async (make: () => Promise<{ job: Job }>): Promise<void> => {
    setError(null);
    setBusy(true);
    try {
      setJob((await make()).job);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const running = busy || job?.status === 'running';

  return (
    <>
      <h1>Runs</h1>
      <Note>
        {SECTION_NOTES.runs} A run is one pass of the pipeline over a file of events (REES46 or RetailRocket CSV, plain or gzipped);
        it runs on this machine and nothing is sent anywhere.
      </Note>
      <div class="two">
        <Section title="Upload a CSV">
          <form onSubmit={(e) => {
            e.preventDefault();
            if (!file) { setError('Choose a .csv or .csv.gz file first.'); return; }
            const form = new FormData();
            form.append('file', file, file.name);
            void start(() => postForm<{ job: Job }>('/api/jobs', form));
          }}>
            <label class="field"><span>Events file (.csv or .csv.gz)</span>
              <input ref={fileInput} type="file" name="file" accept=".csv,.gz,text/csv,application/gzip" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
            </label>
            <div class="actions"><button type="submit" disabled={running}>Upload and run</button></div>
          </form>
        </Section>
        <Section title="Or generate a demo">
          <form onSubmit={(e) => {
            e.preventDefault();
            const n = Number(events);
            if (!Number.isInteger(n) || n < 1000 || n > 1_000_000) { setError('Demo events: a whole number from 1,000 to 1,000,000.'); return; }
            void start(() => postJson<{ job: Job }>('/api/jobs', { demo: { events: n } }));
          }}>
            <label class="field"><span>Events to generate (1,000 to 1,000,000)</span>
              <input type="number" name="events" min="1000" max="1000000" step="1000" value={events} onInput={(e) => setEvents(e.currentTarget.value)} />
            </label>
            <div class="actions"><button type="submit" disabled={running}>Generate and run</button></div>
          </form>
        </Section>
      </div>
      {error ? <ErrorBox message={error} /> : null}
      {job ? <JobProgress job={job} /> : null}
      <Section title="Runs you can open" note="Newest first. The run picker at the top switches between them.">
        {runs === null ? <p role="status">Loading runs…</p> : (
          <DataTable
            testId="runs-table"
            rows={runs}
            empty="No runs yet."
            columns={[
              { label: 'Run', cell: (r) => <a href={href('/overview', r.id)}>{r.id}</a> },
              { label: 'Data', cell: (r) => datasetLabel(r.dataset) },
              { label: 'Events', numeric: true, cell: (r) => formatCount(r.events) },
              { label: 'Users', numeric: true, cell: (r) => formatCount(r.users) },
              { label: 'Dates', cell: (r) => `${formatDate(r.firstDate)} – ${formatDate(r.lastDate)}` },
              { label: 'Created', cell: (r) => formatDateTime(r.createdAt) },
              { label: 'Folder', cell: (r) => <code class="raw">{r.folder}</code> },
            ]}
          />
        )}
      </Section>
      <Show state={jobs} what="jobs">
        {(j) => j.jobs.length === 0 ? null : (
          <TableSection
            title="Runs started here"
            rows={j.jobs}
            columns={[
              { label: 'Job', cell: (x) => <code>{x.id}</code> },
              { label: 'Status', cell: (x) => x.status },
              { label: 'Run', cell: (x) => (x.runId ? <a href={href('/overview', x.runId)}>{x.runId}</a> : '–') },
            ]}
          />
        )}
      </Show>
    </>
  );
}

function JobProgress({ job }: { job: Job }) {
  const done = job.stages.filter((s) => s.status === 'done').length;
  const total = job.stages.length;
  return (
    <section class="card job" aria-live="polite" data-testid="job" data-status={job.status}>
      <h2>{job.status === 'running' ? 'Running…' : job.status === 'succeeded' ? 'Finished' : 'Failed'}</h2>
      {total > 0 ? (
        <p>
          <progress max={total} value={done} aria-label="Stages done" /> {formatCount(done)} of {formatCount(total)} stages done
        </p>
      ) : null}
      {job.status === 'running' && !job.stages.some((s) => s.status !== 'pending') && job.log.length > 0 ? (
        <p class="muted" role="status">{job.log[job.log.length - 1]}</p>
      ) : null}
      <ol class="stages" data-testid="job-stages">
        {job.stages.map((s) => (
          <li class={`stage ${s.status}`}>
            <span class="stage-name">{s.name}</span>{' '}
            <span class="muted">
              {s.status === 'done' ? `done${s.seconds !== undefined ? ` in ${formatNumber(s.seconds, 2)} s` : ''}${s.rows !== undefined ? `, ${formatCount(s.rows)} rows` : ''}` : s.status}
            </span>
          </li>
        ))}
      </ol>
      {job.status === 'succeeded' && job.runId ? (
        <p><a class="button" data-testid="open-run" href={href('/overview', job.runId)}>Open run {job.runId}</a></p>
      ) : null}
      {job.status === 'failed' ? <ErrorBox message={job.error ?? `The run failed${job.exitCode !== undefined ? ` (exit code ${job.exitCode})` : ''}.`} /> : null}
      {job.log.length > 0 ? (
        <details open={job.status === 'failed'}>
          <summary>Log ({formatCount(job.log.length)} lines)</summary>
          <pre class="log">{job.log.slice(-40).join('\n')}</pre>
        </details>
      ) : null}
    </section>
  );
}
