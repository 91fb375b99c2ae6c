/**
 * Small inline-SVG charts for the run report: vertical bars, lines and horizontal bars. Every chart
 * is an `<svg data-chart="<name>" data-points="<n>">` with a `<title>`, where n is the number of
 * data points it drew; a chart with nothing to draw returns a note instead of an empty SVG.
 *
 * Readable axes: x labels are thinned to what fits (local/present's tick helpers) so that they
 * never overlap, dates read "1 Oct"; y labels use a compact format that fits the margin; the label
 * column of horizontal bars is as wide as its longest label needs (up to half the chart) and a
 * label that still does not fit is cut with "…" (the whole text is its hover title), never clipped.
 * A line breaks where a value is missing instead of bridging the gap.
 */
import { dateTicks, formatDate } from '../present/format';

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
  /** Formats a value for hover text and the values written at the bars' ends. */
  readonly format: (n: number) => string;
  /** Formats the y-axis ticks (compact, to fit the margin); `format` unless given. */
  readonly axisFormat?: (n: number) => string;
  /** The labels are ISO dates ('YYYY-MM-DD'): ticks read "1 Oct", hover text "1 Oct 2019". */
  readonly dates?: boolean;
  /** Plot height in px of column and line charts; 280 unless given. */
  readonly height?: number;
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
/** Approximate width of one character of the 12 px bar-label font (generous, for capitals and wide letters). */
const BAR_CHAR = 7.4;
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
    grid += `<text class="y-tick" x="${m.l - 6}" y="${r1(y(v) + 4)}" font-size="11" text-anchor="end" fill="#64748b">${esc((spec.axisFormat ?? spec.format)(Math.abs(v) < step / 1e6 ? 0 : v))}</text>`;
  }
  return { y, grid };
}

/** Approximate width of one character of the 11 px axis font (generous: digits are ~6.1 px). */
const AXIS_CHAR = 6.8;

/**
 * The x labels that fit side by side between `left` and `right` px: thinned evenly, each centred
 * on its position and kept inside the chart (a label near an edge is moved in, never clipped).
 */
function xLabels(spec: ChartSpec, x: (i: number) => number, y: number, left: number, right: number, width: number): string {
  const n = spec.labels.length;
  if (n === 0) return '';
  const spacing = n > 1 ? Math.abs(x(1) - x(0)) : right - left;
  let ticks: { index: number; label: string }[];
  if (spec.dates) ticks = dateTicks(spec.labels, spacing * Math.max(1, n - 1), AXIS_CHAR);
  else {
    const shown = spec.labels.map((l) => truncate(l, 14));
    const widest = Math.max(...shown.map((l) => l.length)) * AXIS_CHAR;
    const every = Math.max(1, Math.ceil((widest + 8) / Math.max(1e-9, spacing)));
    ticks = [];
    for (let i = 0; i < n; i += every) ticks.push({ index: i, label: shown[i] });
  }
  let out = '';
  for (const t of ticks) {
    const half = (t.label.length * AXIS_CHAR) / 2;
    const cx = Math.min(Math.max(x(t.index), half + 2), width - half - 2);
    out += `<text class="x-tick" x="${r1(cx)}" y="${y}" font-size="11" text-anchor="middle" fill="#64748b">${esc(t.label)}</text>`;
  }
  return out;
}

/** Hover text of point i: its label (a date in words when the labels are dates). */
const pointLabel = (spec: ChartSpec, i: number): string => {
  const l = spec.labels[i] ?? '';
  return spec.dates ? formatDate(l) : l;
};

/** Grouped vertical bars, one group per label. */
export function columnChart(spec: ChartSpec): string {
  const w = spec.width ?? 640;
  const h = spec.height ?? 280;
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
      bars += `<rect data-series="${esc(s.name)}" x="${r1(bx)}" y="${r1(top)}" width="${r1(Math.max(bw - 1, 1))}" height="${r1(height)}" rx="1.5" fill="${s.color}">` +
        `<title>${esc(`${pointLabel(spec, i)} · ${s.name}: ${spec.format(v)}`)}</title></rect>`;
    });
  });
  return `${open(spec, w, h, 'column')}${grid}${bars}${xLabels(spec, x, h - m.b + 16, m.l, w - m.r, w)}${legend(spec, m.l, 14)}</svg>`;
}

/** Lines with a dot on every point, one line per series. */
export function lineChart(spec: ChartSpec): string {
  const w = spec.width ?? 640;
  const h = spec.height ?? 280;
  const m = { l: 64, r: 24, t: 24, b: 36 };
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
    // A missing value breaks the line: consecutive indices are joined, a gap starts a new run.
    const d = pts.map((p, k) => `${k === 0 || pts[k - 1].i !== p.i - 1 ? 'M' : 'L'}${r1(p.x)} ${r1(p.y)}`).join(' ');
    marks += `<path data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"/>`;
    const radius = pts.length > 60 ? 1.8 : 3;
    for (const p of pts) {
      marks += `<circle cx="${r1(p.x)}" cy="${r1(p.y)}" r="${radius}" fill="${s.color}">` +
        `<title>${esc(`${pointLabel(spec, p.i)} · ${s.name}: ${spec.format(p.v)}`)}</title></circle>`;
    }
  }
  return `${open(spec, w, h, 'line')}${grid}${marks}${xLabels(spec, x, h - m.b + 16, m.l, w - m.r, w)}${legend(spec, m.l, 14)}</svg>`;
}

/** Horizontal bars, one row per label (several series side by side within a row), value at the end. */
export function barList(spec: ChartSpec): string {
  const w = spec.width ?? 640;
  // Label column: as wide as the longest label needs, at most half the chart; value column: as the longest value.
  // A label may have two lines ("\n"): each line is fitted on its own.
  const lines = spec.labels.map((l) => l.split('\n').slice(0, 2));
  const twoLines = lines.some((l) => l.length > 1);
  const longest = Math.max(1, ...lines.flat().map((l) => l.length));
  const labelW = Math.ceil(Math.min(w * 0.5, Math.max(80, longest * BAR_CHAR + 14)));
  const fit = Math.max(4, Math.floor((labelW - 14) / BAR_CHAR + 1e-6));
  const values = spec.series.flatMap((s) => s.values.filter(isValue).map((v) => spec.format(v).length));
  const valueW = Math.round(Math.max(40, Math.max(0, ...values) * AXIS_CHAR + 14));
  const rowH = Math.max(spec.series.length > 1 ? 12 * spec.series.length + 10 : 22, twoLines ? 34 : 0);
  const top = spec.series.length > 1 ? 24 : 6;
  const h = top + rowH * spec.labels.length + 6;
  const { lo, hi } = domain(spec);
  const plotW = w - labelW - valueW;
  const x = (v: number): number => labelW + ((v - lo) / (hi - lo)) * plotW;
  const barH = spec.series.length > 1 ? 10 : 14;
  let out = '';
  spec.labels.forEach((label, i) => {
    const rowY = top + rowH * i;
    const ls = lines[i];
    const firstY = rowY + rowH / 2 + 4 - (ls.length - 1) * 7;
    const spans = ls.length === 1
      ? esc(truncate(ls[0], fit))
      : ls.map((l, k) => `<tspan x="${labelW - 8}" y="${r1(firstY + k * 14)}">${esc(truncate(l, fit))}</tspan>`).join('');
    out += `<text class="bar-label" x="${labelW - 8}" y="${r1(firstY)}" font-size="12" text-anchor="end" fill="#334155">${spans}<title>${esc(label.replace('\n', ' '))}</title></text>`;
    spec.series.forEach((s, si) => {
      const v = s.values[i];
      if (!isValue(v)) return;
      const by = rowY + (rowH - barH * spec.series.length - 2 * (spec.series.length - 1)) / 2 + si * (barH + 2);
      const x0 = Math.min(x(v), x(0));
      const bw = Math.max(Math.abs(x(v) - x(0)), v === 0 ? 0 : 1);
      out += `<rect data-series="${esc(s.name)}" x="${r1(x0)}" y="${r1(by)}" width="${r1(bw)}" height="${barH}" rx="2" fill="${s.color}">` +
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
