import { getJson, runPath, type Overview, type RunInfo } from '../api';
import type { Route } from '../router';
import { href } from '../router';
import { categoryLabel, formatCount, formatMoney, productName } from '../fmt';
import { type Column, useLoad } from '../ui';

export interface PageProps {
  run: RunInfo;
  route: Route;
  refreshRuns: () => Promise<RunInfo[]>;
}

/** Money in the run's currency, or "no prices in this data". */
export function moneyOf(run: Pick<RunInfo, 'currency' | 'pricesKnown'>): (amount: number | null | undefined) => string {
  const currency = run.pricesKnown ? run.currency ?? 'USD' : null;
  return (amount) => formatMoney(amount, currency);
}

export function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

interface ProductInfo {
  category?: string | null;
  sub_category?: string | null;
  brand?: string | null;
}

/** Product id (a link to its page), its readable name and its category. */
export function productColumns<R>(id: (r: R) => number | string, info: (r: R) => ProductInfo): Column<R>[] {
  return [
    { label: 'Product', cell: (r) => <a href={href(`/products/${id(r)}`)}>{String(id(r))}</a> },
    { label: 'Name', cell: (r) => { const name = productName({ product_id: id(r), ...info(r) }); return name === `Product ${id(r)}` ? '—' : name; } },
    { label: 'Category', cell: (r) => categoryLabel(info(r).category) },
  ];
}

/** Views, cart adds and purchases columns. */
export function activityColumns<R extends { views: number; carts: number; purchases: number }>(): Column<R>[] {
  return [
    { label: 'Views', numeric: true, cell: (r) => formatCount(r.views) },
    { label: 'Cart adds', numeric: true, cell: (r) => formatCount(r.carts) },
    { label: 'Purchases', numeric: true, cell: (r) => formatCount(r.purchases) },
  ];
}

/** The run's top-level categories as a select ("" = all). */
export function CategorySelect({ run, value, onChange }: { run: string; value: string; onChange: (v: string) => void }) {
  const categories = useLoad(() => getJson<Overview>(runPath(run, 'overview')).then((o) => o.categories), [run]);
  // Data without categories (RetailRocket without its item properties): nothing to choose from.
  if (categories.data?.length === 0) return null;
  return (
    <label>Category{' '}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">All categories</option>
        {(categories.data ?? []).map((c) => <option value={c}>{categoryLabel(c)}</option>)}
      </select>
    </label>
  );
}

/**
 * A money column; none when the run has no prices (RetailRocket), where a column saying "no prices
 * in this data" on every row would only hide the figures that are known. The page's note says so once.
 */
export function moneyColumn<R>(run: Pick<RunInfo, 'currency' | 'pricesKnown'>, label: string, value: (r: R) => number | null | undefined): Column<R>[] {
  if (!run.pricesKnown) return [];
  const money = moneyOf(run);
  return [{ label, numeric: true, cell: (r) => money(value(r)) }];
}

/** Said once where money columns are left out. */
export const NO_PRICE_COLUMNS = 'This data has no prices: price and revenue columns are left out.';
