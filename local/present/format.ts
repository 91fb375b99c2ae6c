/**
 * Number, money, percent and date formatting shared by the static report and the web app.
 * Pure functions, no Node imports, no Intl dependence (the same text in Node and in every browser).
 * Every formatter takes what a table cell can be (number, numeric text such as DuckDB's DECIMAL
 * rendering, null) and answers "—" for a missing or non-numeric value.
 */

/** Shown for a missing value. */
export const DASH = '—';

/** What a formatter accepts: a number, numeric text (BIGINT / DECIMAL as text) or nothing. */
export type NumberLike = number | string | bigint | null | undefined;

/** The value as a finite number, or null (null, undefined, '', NaN, Infinity, non-numeric text). */
export function toNumber(v: NumberLike | boolean): number | null {
  if (v === null || v === undefined || v === '' || typeof v === 'boolean') return null;
  const n = typeof v === 'bigint' ? Number(v) : Number(v);
  return Number.isFinite(n) ? n : null;
}

const groupDigits = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Fixed decimals with thousands separators: 1234.5 → "1,234.50" (digits = 2). No "-0". */
export function formatFixed(n: number, digits: number): string {
  const fixed = Math.abs(n).toFixed(digits);
  const [whole, frac] = fixed.split('.');
  const negative = n < 0 && Number(fixed) !== 0;
  return `${negative ? '-' : ''}${groupDigits(whole)}${frac !== undefined ? `.${frac}` : ''}`;
}

/**
 * A count with thousands separators: 17055 → "17,055". Exact for integer text beyond 2^53
 * ("12345678901234567890" keeps every digit). Non-integers are rounded.
 */
export function formatCount(v: NumberLike): string {
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) {
    const t = v.trim();
    const neg = t.startsWith('-');
    const digits = (neg ? t.slice(1) : t).replace(/^0+(?=\d)/, '');
    return `${neg && digits !== '0' ? '-' : ''}${groupDigits(digits)}`;
  }
  if (typeof v === 'bigint') return formatCount(v.toString());
  const n = toNumber(v);
  return n === null ? DASH : formatFixed(Math.round(n), 0);
}

/** A plain number: integers as counts, others with `digits` significant decimals trimmed (0.1235 → "0.124"). */
export function formatNumber(v: NumberLike, digits = 3): string {
  const n = toNumber(v);
  if (n === null) return DASH;
  if (Number.isInteger(n)) return formatFixed(n, 0);
  const abs = Math.abs(n);
  if (abs >= 1000) return formatFixed(n, 0);
  if (abs >= 1) return trimZeros(formatFixed(n, Math.max(0, digits - 1)));
  if (abs < 0.0005 && digits <= 3) return n.toExponential(2);
  return trimZeros(n.toPrecision(digits));
}

const trimZeros = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

/** Symbols of the currencies a run can have (ISO 4217 codes). Others print their code after the amount. */
const CURRENCY_SYMBOLS: Readonly<Record<string, string>> = { USD: '$', EUR: '€', GBP: '£', JPY: '¥', RUB: '₽' };

/** Shown instead of an amount when the data has no prices (RetailRocket). */
export const NO_PRICES = 'no prices';

/**
 * Money: formatMoney(1234.5, 'USD') → "$1,234.50"; -3 → "-$3.00"; an unknown code → "1,234.50 CHF".
 * With currency null the data has no prices: the answer is "no prices", never "0.00".
 * Amounts given as DECIMAL text keep their exact cents.
 */
export function formatMoney(amount: NumberLike, currency: string | null): string {
  if (currency === null) return NO_PRICES;
  const n = toNumber(amount);
  if (n === null) return DASH;
  let body: string;
  if (typeof amount === 'string' && /^-?\d+(\.\d+)?$/.test(amount.trim())) {
    // Exact decimal text: round half up on the text so that "0.005" is not lost to binary floats.
    const [whole, frac = ''] = roundDecimalText(amount.trim(), 2).split('.');
    const neg = whole.startsWith('-');
    const digits = (neg ? whole.slice(1) : whole).replace(/^0+(?=\d)/, '');
    const cents = frac.padEnd(2, '0');
    body = `${neg && (digits !== '0' || cents !== '00') ? '-' : ''}${groupDigits(digits)}.${cents}`;
  } else body = formatFixed(n, 2);
  const negative = body.startsWith('-');
  const abs = negative ? body.slice(1) : body;
  const symbol = CURRENCY_SYMBOLS[currency.toUpperCase()];
  const text = symbol ? `${symbol}${abs}` : `${abs} ${currency.toUpperCase()}`;
  return negative ? `-${text}` : text;
}

/** Money without cents for axes and tiles with large figures: 1234567 → "$1.2M", 8400 → "$8.4k", 950 → "$950". */
export function formatMoneyCompact(amount: NumberLike, currency: string | null): string {
  if (currency === null) return NO_PRICES;
  const n = toNumber(amount);
  if (n === null) return DASH;
  const symbol = CURRENCY_SYMBOLS[currency.toUpperCase()];
  const body = formatCompact(Math.abs(n));
  const text = symbol ? `${symbol}${body}` : `${body} ${currency.toUpperCase()}`;
  return n < 0 && body !== '0' ? `-${text}` : text;
}

function roundDecimalText(t: string, digits: number): string {
  const neg = t.startsWith('-');
  const [whole, frac = ''] = (neg ? t.slice(1) : t).split('.');
  if (frac.length <= digits) return t;
  const scaled = BigInt(whole + frac.slice(0, digits)) + (Number(frac[digits]) >= 5 ? 1n : 0n);
  const s = scaled.toString().padStart(digits + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
}

/** A short number for axis ticks: 950 → "950", 1500 → "1.5k", 2000000 → "2M", 0.25 → "0.25". */
export function formatCompact(v: NumberLike): string {
  const n = toNumber(v);
  if (n === null) return DASH;
  const abs = Math.abs(n);
  const sign = n < 0 ? '-' : '';
  const unit = (d: number, s: string): string => `${sign}${trimZeros((abs / d).toFixed(abs / d >= 100 ? 0 : 1))}${s}`;
  if (abs >= 1e9) return unit(1e9, 'B');
  if (abs >= 1e6) return unit(1e6, 'M');
  if (abs >= 1000) return unit(1e3, 'k');
  if (Number.isInteger(n)) return `${n}`;
  return `${sign}${trimZeros(abs.toFixed(abs >= 10 ? 1 : 2))}`;
}

/** A span in days for a person to read: under a day → "under a day"; 1 → "1 day"; 2.46 → "2.5 days"; 40.2 → "40 days". */
export function formatDays(days: NumberLike): string {
  const n = toNumber(days);
  if (n === null || n < 0) return DASH;
  if (n < 1) return 'under a day';
  const s = n < 10 ? trimZeros(formatFixed(n, 1)) : formatFixed(n, 0);
  return `${s} ${s === '1' ? 'day' : 'days'}`;
}

/** A rate (fraction) as a percentage: 0.1234 → "12.3%"; 1 → "100%"; null → "—". */
export function formatPercent(rate: NumberLike, digits = 1): string {
  const n = toNumber(rate);
  if (n === null) return DASH;
  const p = n * 100;
  if (p !== 0 && Math.abs(p) < 0.5 * 10 ** -digits) return `${p < 0 ? '>-' : '<'}${(10 ** -digits).toFixed(digits)}%`;
  const s = trimZeros(formatFixed(p, digits));
  return `${s === '-0' ? '0' : s}%`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

interface YMD {
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

/** Year, month and day of a date or timestamp text ("2019-10-01", "2019-10-01T00:05:00Z", "2019-10-01 00:05:00 UTC"). */
export function parseDate(iso: string | null | undefined): YMD | null {
  if (!iso) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso).trim());
  if (!m) return null;
  const ymd = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  return ymd.m >= 1 && ymd.m <= 12 && ymd.d >= 1 && ymd.d <= 31 ? ymd : null;
}

/** A date for people: "2019-10-01" → "1 Oct 2019" (the calendar date as written: no time-zone shift). */
export function formatDate(iso: string | null | undefined): string {
  const p = parseDate(iso);
  return p ? `${p.d} ${MONTHS[p.m - 1]} ${p.y}` : iso ? String(iso) : DASH;
}

/** A short date for axis ticks: "2019-10-01" → "1 Oct". */
export function formatDateShort(iso: string | null | undefined): string {
  const p = parseDate(iso);
  return p ? `${p.d} ${MONTHS[p.m - 1]}` : iso ? String(iso) : DASH;
}

/** A timestamp for people, in UTC: "2019-10-01T00:05:12.000Z" → "1 Oct 2019, 00:05 UTC"; a plain date → formatDate. */
export function formatDateTime(iso: string | null | undefined): string {
  const p = parseDate(iso);
  if (!p || !iso) return iso ? String(iso) : DASH;
  const t = /[T ](\d{2}):(\d{2})/.exec(String(iso));
  return t ? `${formatDate(iso)}, ${t[1]}:${t[2]} UTC` : formatDate(iso);
}

/** "2019-10-01" to "2019-10-02" → "1 Oct 2019 – 2 Oct 2019"; one date → that date. */
export function formatDateRange(from: string | null | undefined, to: string | null | undefined): string {
  if (!from && !to) return DASH;
  if (!from || !to || from.slice(0, 10) === to.slice(0, 10)) return formatDate(from ?? to);
  return `${formatDate(from)} – ${formatDate(to)}`;
}

/** Days from one date to another, both included: 2019-10-01 … 2019-10-02 → 2. Null when either is not a date. */
export function daysBetweenInclusive(from: string | null | undefined, to: string | null | undefined): number | null {
  const a = parseDate(from);
  const b = parseDate(to);
  if (!a || !b) return null;
  return Math.round((Date.UTC(b.y, b.m - 1, b.d) - Date.UTC(a.y, a.m - 1, a.d)) / 86400000) + 1;
}

/** English name of an ISO weekday (1 = Monday … 7 = Sunday). */
export function weekdayName(isoDay: number): string {
  return WEEKDAYS[isoDay - 1] ?? String(isoDay);
}

/** A UTC hour as "00:00" … "23:00". */
export function formatHour(hour: number): string {
  return `${String(hour).padStart(2, '0')}:00`;
}

/**
 * Which of `count` evenly spaced axis positions get a label so that labels never crowd: at most
 * `maxLabels` of them, every `step`-th from the first; the last position too when it is a full step
 * from the previous label. Returns ascending indices. 0 positions → [], maxLabels < 1 → [0].
 */
export function thinTicks(count: number, maxLabels: number): number[] {
  if (count <= 0) return [];
  const max = Math.max(1, Math.floor(maxLabels));
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  const step = Math.ceil((count - 1) / Math.max(1, max - 1));
  const out: number[] = [];
  for (let i = 0; i < count; i += step) out.push(i);
  return out;
}

/**
 * The most labels of `labelWidth` pixels that fit side by side in `axisWidth` pixels with `gap`
 * pixels between them (at least 1).
 */
export function maxLabelsFor(axisWidth: number, labelWidth: number, gap = 8): number {
  return Math.max(1, Math.floor((axisWidth + gap) / (labelWidth + gap)));
}

/**
 * Labels for a date axis of `dates` (ascending 'YYYY-MM-DD'), thinned so that they fit `axisWidth`
 * pixels at about `charWidth` pixels a character: [{ index, label }]. Short dates ("1 Oct") when the
 * dates are all in one year, else "1 Oct 2019".
 */
export function dateTicks(dates: readonly string[], axisWidth: number, charWidth = 6.5): { index: number; label: string }[] {
  if (dates.length === 0) return [];
  const oneYear = new Set(dates.map((d) => d.slice(0, 4))).size === 1;
  const label = (d: string): string => (oneYear ? formatDateShort(d) : formatDate(d));
  const widest = Math.max(...dates.map((d) => label(d).length)) * charWidth;
  // A label is centred on its position: adjacent labels need one label width between positions.
  const spacing = dates.length > 1 ? axisWidth / (dates.length - 1) : axisWidth;
  const every = Math.max(1, Math.ceil((widest + 8) / Math.max(1e-9, spacing)));
  const idx: number[] = [];
  for (let i = 0; i < dates.length; i += every) idx.push(i);
  return idx.map((index) => ({ index, label: label(dates[index]) }));
}
