/** The JSON API of docs/app.md: typed shapes and a small fetch helper. */

export interface RunInfo {
  id: string;
  runId: string;
  dataset: string;
  folder: string;
  createdAt: string;
  events: number;
  users: number;
  firstDate: string | null;
  lastDate: string | null;
  currency: string | null;
  pricesKnown: boolean;
}

export interface Overview {
  kpis: {
    events: number; users: number; sessions: number; views: number; carts: number; purchases: number;
    buyers: number; revenue: number | null; conversion: number | null; products: number;
    firstDate: string | null; lastDate: string | null; days: number;
  };
  daily: { date: string; views: number; carts: number; purchases: number; revenue: number | null; users: number }[];
  categories: string[];
  topProducts: { product_id: number | string; category: string | null; brand: string | null; purchases: number; revenue: number | null }[];
  topBrands: { brand: string | null; purchases: number; revenue: number | null }[];
  currency: string | null;
  pricesKnown: boolean;
}

export interface Funnel {
  stages: { stage: string; users: number; sessions: number; events: number }[];
  readings: { viewUsers: number; cartUsers: number; purchaseUsers: number; cartThenPurchaseUsers: number; purchaseWithoutCartUsers: number };
  byCategory: {
    category: string | null; view_users: number; cart_users: number; purchase_users: number;
    view_to_cart_rate: number | null; cart_to_purchase_rate: number | null; view_to_purchase_rate: number | null;
  }[];
}

export interface ProductRow {
  product_id: number | string; category: string | null; sub_category: string | null; brand: string | null;
  price: number | null; views: number; carts: number; purchases: number; revenue: number | null;
  [key: string]: unknown;
}

export interface ProductDetail {
  product: ProductRow;
  boughtTogether: { other_product_id: number | string; rank: number; support: number; confidence: number; lift: number; baskets: number; brand: string | null; category: string | null }[];
  similar: { similar_product_id: number | string; rank: number; similarity: number; brand: string | null; category: string | null }[];
  daily: { date: string; views: number; carts: number; purchases: number }[];
}

export interface UserDetail {
  user_id: number | string;
  totals: { events: number; views: number; carts: number; purchases: number; spend: number | null; sessions: number; firstSeen: string | null; lastSeen: string | null };
  history: { event_time: string; event_type: string; product_id: number | string; category: string | null; brand: string | null; price: number | null }[];
  segment: { segment_id: number; segment_name: string; label?: string; recency_days: number | null; frequency: number | null; monetary: number | null } | null;
  recommendations: { rank: number; product_id: number | string; score: number; category: string | null; brand: string | null; price: number | null; why: string }[];
  purchaseProbability: { session_id: string; probability: number } | null;
  forecast: { purchase_probability: number; predicted_spend: number | null; horizon_days: number } | null;
}

export interface Intent {
  intercept: number;
  features: { feature: string; position: number; coefficient: number; mean: number; stddev: number; typical: number }[];
}

export interface WhatIf {
  probability: number;
  linear: number;
  contributions: { feature: string; value: number; standardized: number; contribution: number }[];
}

export interface Rule { basket_kind: string; antecedent: string; consequent: string; support: number; confidence: number; lift: number; baskets: number }

export interface TableInfo { name: string; rows: number; columns: { name: string; type: string }[]; description?: string }

export interface QueryResult { columns: string[]; types: string[]; rows: unknown[][]; truncated: boolean; elapsedMs: number }

export interface Rejects {
  total: number;
  byReason: Record<string, number>;
  rows: { source_file: string; source_line: number; reason: string; detail: string | null; raw_line: string | null }[];
}

export interface Job {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  stages: { name: string; status: 'pending' | 'running' | 'done'; seconds?: number; rows?: number }[];
  log: string[];
  runId?: string;
  error?: string;
  exitCode?: number;
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

type Params = Record<string, string | number | boolean | null | undefined>;

export function url(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function parse<T>(res: Response): Promise<T> {
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const message = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : `${res.status} ${res.statusText}`;
    throw new ApiError(message, res.status);
  }
  return body as T;
}

export async function getJson<T>(path: string, params: Params = {}): Promise<T> {
  return parse<T>(await fetch(url(path, params), { headers: { accept: 'application/json' } }));
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return parse<T>(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) }));
}

export async function postForm<T>(path: string, form: FormData): Promise<T> {
  return parse<T>(await fetch(path, { method: 'POST', body: form }));
}

/** `/api/runs/<run>/<rest>` with the run id encoded. */
export function runPath(run: string, rest: string): string {
  return `/api/runs/${encodeURIComponent(run)}/${rest}`;
}
