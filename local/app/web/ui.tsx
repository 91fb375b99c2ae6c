/** Small shared pieces: data loading, notes, KPI tiles, tables, messages. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

/**
 * Runs `load` whenever `deps` change. Only the answer to the current `deps` is ever returned: on the
 * render right after a change (before the effect runs) the previous answer is already withheld, and an
 * answer that arrives after a newer request is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<Loaded<T> & { key: string | null }>({ data: null, error: null, loading: true, key: null });
  useEffect(() => {
    let live = true;
    load().then(
      (data) => { if (live) setState({ data, error: null, loading: false, key }); },
      (e: unknown) => { if (live) setState({ data: null, error: e instanceof Error ? e.message : String(e), loading: false, key }); },
    );
    return () => { live = false; };
  }, [key]);
  return state.key === key ? state : { data: null, error: null, loading: true };
}

export function Note({ children }: { children: ComponentChildren }) {
  return <p class="note">{children}</p>;
}

export function Loading({ what = 'data' }: { what?: string }) {
  return <p class="loading" role="status">Loading {what}…</p>;
}

export function ErrorBox({ message }: { message: string }) {
  return <p class="error" role="alert">{message}</p>;
}

/** Loading / error / content for a `Loaded`. */
export function Show<T>({ state, what, children }: { state: Loaded<T>; what?: string; children: (data: T) => ComponentChildren }) {
  if (state.error) return <ErrorBox message={state.error} />;
  if (state.data === null) return <Loading what={what} />;
  return <>{children(state.data)}</>;
}

export function Kpi({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div class="kpi">
      <div class="kpi-label">{label}</div>
      <div class="kpi-value">{value}</div>
      {hint ? <div class="kpi-hint">{hint}</div> : null}
    </div>
  );
}

export function Kpis({ children }: { children: ComponentChildren }) {
  return <div class="kpis">{children}</div>;
}

export interface Column<R> {
  label: string;
  cell: (row: R) => ComponentChildren;
  numeric?: boolean;
  title?: string;
}

export interface DataTableProps<R> {
  caption?: string;
  columns: Column<R>[];
  rows: R[];
  empty?: string;
  testId?: string;
}

export function DataTable<R>({ caption, columns, rows, empty = 'Nothing to show.', testId }: DataTableProps<R>) {
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div class="table-wrap">
      <table data-testid={testId}>
        {caption ? <caption>{caption}</caption> : null}
        <thead>
          <tr>{columns.map((c) => <th scope="col" class={c.numeric ? 'num' : undefined} title={c.title}>{c.label}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((r) => <tr>{columns.map((c) => <td class={c.numeric ? 'num' : undefined}>{c.cell(r)}</td>)}</tr>)}
        </tbody>
      </table>
    </div>
  );
}

export function Section({ title, children, note }: { title: string; children: ComponentChildren; note?: ComponentChildren }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {note ? <Note>{note}</Note> : null}
      {children}
    </section>
  );
}

export function text(v: unknown): string {
  return v === null || v === undefined || v === '' ? '–' : String(v);
}

/** A card with a heading, an optional note and one table. */
export function TableSection<R>({ title, note, ...table }: { title: string; note?: ComponentChildren } & DataTableProps<R>) {
  return (
    <Section title={title} note={note}>
      <DataTable {...table} />
    </Section>
  );
}
