/** Hash routes: `#/path/parts?run=<id>&…`. The run id rides along on every link. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [p, q] = raw.split('?', 2) as [string, string | undefined];
  const path = p.split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  return { path: path.length > 0 ? path : ['overview'], query: new URLSearchParams(q ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

let currentRun: string | null = null;

/** Set by the App: the run picked in the header (kept in links). */
export function setLinkRun(run: string | null): void {
  currentRun = run;
}

/** `#/<path>?run=<current run>` (or a given run). */
export function href(path: string, run: string | null = currentRun, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  if (run) q.set('run', run);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return `#${path.startsWith('/') ? path : `/${path}`}${s ? `?${s}` : ''}`;
}

export function navigate(path: string, run: string | null = currentRun): void {
  location.hash = href(path, run);
}
