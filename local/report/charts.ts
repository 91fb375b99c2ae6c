/**
 * Small inline-SVG charts for the run report: vertical bars, lines and horizontal bars. Every chart
 * is an `<svg data-chart="<name>" data-points="<n>">` with a `<title>`, where n is the number of
 * data points it drew; a chart with nothing to draw returns a note instead of an empty SVG.
 */

/** HTML/XML text escaping: & < > " ' (enough for text and attribute values). */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

export interface Series {
  readonly name: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
}

export interface ChartSpec {
  /** `data-chart` name, unique in the page. */
  readonly name: string;
  /** Accessible title (also the hover text of the chart). */
  readonly title: string;
  readonly labels: readonly string[];
  readonly series: readonly Series[];
  /** Formats a value for axis labels and hover text. */
  readonly format: (n: number) => string;
  /** Drawing width in px (the SVG scales down, never up); 640 unless given. */
  readonly width?: number;
  /** Line charts only: a shaded band (an interval) between lower and upper, where both are values. */
  readonly band?: { readonly name: string; readonly lower: readonly (number | null)[]; readonly upper: readonly (number | null)[]; readonly color: string };
}

export const PALETTE = {
  blue: '#2563eb',
  amber: '#f59e0b',
  green: '#059669',
  slate: '#94a3b8',
  red: '#dc2626',
  violet: '#7c3aed',
} as const;

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"';

const isValue = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Number of drawable values over all series. */
export function pointCount(spec: Pick<ChartSpec, 'series'>): number {
  return spec.series.reduce((a, s) => a + s.values.filter(isValue).length, 0);
}

/** A rounded step: 1, 2, 2.5 or 5 times a power of ten, at least x. */
function niceStep(x: number): number {
  if (x <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Axis range and tick step: about four steps of a round size, covering 0 and every value. */
function domain(spec: ChartSpec): { lo: number; hi: number; step: number } {
  const all = [...spec.series.flatMap((s) => s.values), ...(spec.band ? [...spec.band.lower, ...spec.band.upper] : [])].filter(isValue);
  const max = Math.max(0, ...all);
  const min = Math.min(0, ...all);
  const step = niceStep((max - min) / 4 || 1);
  const hi = Math.ceil(max / step) * step;
  const lo = Math.floor(min / step) * step;
  return hi === lo ? { lo, hi: lo + step, step } : { lo, hi, step };
}

function open(spec: ChartSpec, width: number, height: number, kind: string): string {
  const id = `chart-${spec.name.replace(/[^a-z0-9_-]/gi, '-')}`;
  return (
    `<svg class="chart" data-chart="${esc(spec.name)}" data-points="${pointCount(spec)}" data-kind="${kind}" style="max-width:${width}px" ` +
    `viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-title" xmlns="http://www.w3.org/2000/svg" ${FONT}>` +
    `<title id="${id}-title">${esc(spec.title)}</title>`
  );
}

function legend(spec: ChartSpec, x: number, y: number): string {
  const entries = [...spec.series, ...(spec.band ? [spec.band] : [])];
  if (entries.length < 2) return '';
  let out = '';
  let cx = x;
  for (const s of entries) {
    out += `<rect x="${cx}" y="${y - 9}" width="10" height="10" rx="2" fill="${s.color}"/>`;
    out += `<text x="${cx + 14}" y="${y}" font-size="11" fill="#475569">${esc(s.name)}</text>`;
    cx += 24 + s.name.length * 6.5;
  }
  return out;
}

const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Vertical axes shared by the column and line charts: returns the y scale and the grid markup. */
function axes(spec: ChartSpec, w: number, h: number, m: { l: number; r: number; t: number; b: number }) {
  const { lo, hi, step } = domain(spec);
  const plotH = h - m.t - m.b;
  const y = (v: number): number => m.t + plotH - ((v - lo) / (hi - lo)) * plotH;
  let grid = '';
  for (let v = lo; v <= hi + step / 1e6; v += step) {
    const yy = r1(y(v));
    grid += `<line x1="${m.l}" x2="${w - m.r}" y1="${yy}" y2="${yy}" stroke="${Math.abs(v) < step / 1e6 ? '#94a3b8' : '#e2e8f0'}" stroke-width="1"/>`;
    grid += `<text x="${m.l - 6}" y="${r1(y(v) + 4)}" font-size="11" text-anchor="end" fill="#64748b">${esc(spec.format(Math.abs(v) < step / 1e6 ? 0 : v))}</text>`;
  }
  return { y, grid };
}

function xLabels(labels: readonly string[], x: (i: number) => number, y: number): string {
  const every = Math.max(1, Math.ceil(labels.length / 12));
  let out = '';
  labels.forEach((label, i) => {
    if (i % every !== 0) return;
    out += `<text x="${r1(x(i))}" y="${y}" font-size="11" text-anchor="middle" fill="#64748b">${esc(truncate(label, 12))}</text>`;
  });
  return out;
}

/** Grouped vertical bars, one group per label. */
export function columnChart(spec: ChartSpec): string {
  const w = spec.width ?? 640;
  const h = 280;
  const m = { l: 64, r: 12, t: 24, b: 36 };
  const { y, grid } = axes(spec, w, h, m);
  const n = Math.max(1, spec.labels.length);
  const band = (w - m.l - m.r) / n;
  const inner = Math.min(band * (n > 40 ? 0.9 : 0.75), 36 * spec.series.length);
  const bw = inner / spec.series.length;
  const x = (i: number): number => m.l + band * i + band / 2;
  let bars = '';
  spec.series.forEach((s, si) => {
    s.values.forEach((v, i) => {
      if (!isValue(v)) return;
      const top = Math.min(y(v), y(0));
      const height = Math.max(Math.abs(y(v) - y(0)), v === 0 ? 0 : 1);
      const bx = m.l + band * i + (band - inner) / 2 + bw * si;
      bars += `<rect x="${r1(bx)}" y="${r1(top)}" width="${r1(Math.max(bw - 1, 1))}" height="${r1(height)}" rx="1.5" fill="${s.color}">` +
        `<title>${esc(`${spec.labels[i] ?? ''} · ${s.name}: ${spec.format(v)}`)}</title></rect>`;
    });
  });
  return `${open(spec, w, h, 'column')}${grid}${bars}${xLabels(spec.labels, x, h - m.b + 16)}${legend(spec, m.l, 14)}</svg>`;
}

/** Lines with a dot on every point, one line per series. */
export function lineChart(spec: ChartSpec): string {
  const w = spec.width ?? 640;
  const h = 280;
  const m = { l: 64, r: 16, t: 24, b: 36 };
  const { y, grid } = axes(spec, w, h, m);
  const n = spec.labels.length;
  const plotW = w - m.l - m.r;
  const x = (i: number): number => (n <= 1 ? m.l + plotW / 2 : m.l + (plotW * i) / (n - 1));
  let marks = '';
  if (spec.band) {
    const { lower, upper } = spec.band;
    const idx = spec.labels.map((_, i) => i).filter((i) => isValue(lower[i]) && isValue(upper[i]));
    if (idx.length > 0) {
      const edge = [...idx.map((i) => `${r1(x(i))} ${r1(y(upper[i] as number))}`), ...[...idx].reverse().map((i) => `${r1(x(i))} ${r1(y(lower[i] as number))}`)];
      marks += `<path data-band="${esc(spec.band.name)}" d="M${edge.join(' L')} Z" fill="${spec.band.color}" fill-opacity="0.18" stroke="none">` +
        `<title>${esc(spec.band.name)}</title></path>`;
    }
  }
  for (const s of spec.series) {
    const pts = s.values.map((v, i) => (isValue(v) ? { x: x(i), y: y(v), v, i } : null)).filter((p): p is { x: number; y: number; v: number; i: number } => p !== null);
    if (pts.length === 0) continue;
    const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${r1(p.x)} ${r1(p.y)}`).join(' ');
    marks += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"/>`;
    const radius = pts.length > 60 ? 1.8 : 3;
    for (const p of pts) {
      marks += `<circle cx="${r1(p.x)}" cy="${r1(p.y)}" r="${radius}" fill="${s.color}">` +
        `<title>${esc(`${spec.labels[p.i] ?? ''} · ${s.name}: ${spec.format(p.v)}`)}</title></circle>`;
    }
  }
  return `${open(spec, w, h, 'line')}${grid}${marks}${xLabels(spec.labels, x, h - m.b + 16)}${legend(spec, m.l, 14)}</svg>`;
}

/** Horizontal bars, one row per label (several series side by side within a row), value at the end. */
export function barList(spec: ChartSpec): string {
  const w = spec.width ?? 640;
  const labelW = 190;
  const valueW = 86;
  const rowH = spec.series.length > 1 ? 12 * spec.series.length + 10 : 22;
  const top = spec.series.length > 1 ? 24 : 6;
  const h = top + rowH * spec.labels.length + 6;
  const { lo, hi } = domain(spec);
  const plotW = w - labelW - valueW;
  const x = (v: number): number => labelW + ((v - lo) / (hi - lo)) * plotW;
  const barH = spec.series.length > 1 ? 10 : 14;
  let out = '';
  spec.labels.forEach((label, i) => {
    const rowY = top + rowH * i;
    out += `<text x="${labelW - 8}" y="${r1(rowY + rowH / 2 + 4)}" font-size="12" text-anchor="end" fill="#334155">${esc(truncate(label, 30))}<title>${esc(label)}</title></text>`;
    spec.series.forEach((s, si) => {
      const v = s.values[i];
      if (!isValue(v)) return;
      const by = rowY + (rowH - barH * spec.series.length - 2 * (spec.series.length - 1)) / 2 + si * (barH + 2);
      const x0 = Math.min(x(v), x(0));
      const bw = Math.max(Math.abs(x(v) - x(0)), v === 0 ? 0 : 1);
      out += `<rect x="${r1(x0)}" y="${r1(by)}" width="${r1(bw)}" height="${barH}" rx="2" fill="${s.color}">` +
        `<title>${esc(`${label} · ${s.name}: ${spec.format(v)}`)}</title></rect>`;
      out += `<text x="${r1(Math.max(x(v), x(0)) + 6)}" y="${r1(by + barH - 2)}" font-size="11" fill="#475569">${esc(spec.format(v))}</text>`;
    });
  });
  if (lo < 0) out += `<line x1="${r1(x(0))}" x2="${r1(x(0))}" y1="${top}" y2="${h - 6}" stroke="#94a3b8"/>`;
  return `${open(spec, w, h, 'bars')}${legend(spec, labelW, 14)}${out}</svg>`;
}

export type ChartKind = 'column' | 'line' | 'bars';

/** The chart, or a note when it has no data point to draw (never an empty SVG). */
export function chart(kind: ChartKind, spec: ChartSpec): string {
  if (pointCount(spec) === 0) return `<p class="note">Nothing to chart for “${esc(spec.title)}”.</p>`;
  const svg = kind === 'column' ? columnChart(spec) : kind === 'line' ? lineChart(spec) : barList(spec);
  return `<figure class="chart-box"><figcaption>${esc(spec.title)}</figcaption>${svg}</figure>`;
}
