import { useState } from 'preact/hooks';
import { getJson, runPath, type ProductDetail, type ProductRow } from '../api';
import { brandLabel, categoryLabel, formatCount, formatDate, formatNumber, formatPercent, productTitle, SECTION_NOTES } from '../fmt';
import { href, navigate } from '../router';
import { DataTable, Kpi, Kpis, Note, Show, TableSection, text, useLoad } from '../ui';
import { activityColumns, moneyColumn, moneyOf, NO_PRICE_COLUMNS, productColumns, type PageProps } from './common';

export function ProductsPage(props: PageProps) {
  const id = props.route.path[1];
  return id ? <ProductPage {...props} productId={id} /> : <ProductList {...props} />;
}

function ProductList({ run, route }: PageProps) {
  const q = route.query.get('q') ?? '';
  const [input, setInput] = useState(q);
  const state = useLoad(() => getJson<{ products: ProductRow[]; total: number }>(runPath(run.id, 'products'), { q, limit: 50 }), [run.id, q]);
  return (
    <>
      <h1>Products</h1>
      <Note>{SECTION_NOTES.products} An id (all digits) finds that exact product; other text finds brands and categories that contain it.{run.pricesKnown ? '' : ` ${NO_PRICE_COLUMNS}`}</Note>
      <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); location.hash = href('/products', run.id, input.trim() ? { q: input.trim() } : {}); }}>
        <label>Search <input type="search" name="q" value={input} placeholder="id, brand or category" onInput={(e) => setInput(e.currentTarget.value)} /></label>
        <button type="submit">Search</button>
      </form>
      <Show state={state} what="products">
        {(d) => (
          <>
            <p class="count" data-testid="product-count">{d.total > d.products.length ? `Showing ${formatCount(d.products.length)} of ${formatCount(d.total)} products` : `${formatCount(d.total)} product${d.total === 1 ? '' : 's'}`}{q ? ` matching “${q}”` : ''}, most purchased first, then most viewed.</p>
            <DataTable
              testId="products-table"
              rows={d.products}
              empty="No product matches."
              columns={[
                ...productColumns((p: ProductRow) => p.product_id, (p) => p),
                { label: 'Sub-category', cell: (p) => text(p.sub_category) },
                { label: 'Brand', cell: (p) => brandLabel(p.brand) },
                ...moneyColumn(run, 'Price', (p: ProductRow) => p.price),
                ...activityColumns<ProductRow>(),
                ...moneyColumn(run, 'Revenue', (p: ProductRow) => p.revenue),
              ]}
            />
          </>
        )}
      </Show>
    </>
  );
}

function ProductPage({ run, productId }: PageProps & { productId: string }) {
  const state = useLoad(() => getJson<ProductDetail>(runPath(run.id, `products/${encodeURIComponent(productId)}`)), [run.id, productId]);
  const money = moneyOf(run);
  return (
    <>
      <p class="crumbs"><a href={href('/products')}>Products</a> › {productId}</p>
      <Show state={state} what="the product">
        {(d) => (
          <>
            <h1>{productTitle(d.product)}</h1>
            <Kpis>
              <Kpi label="Category" value={categoryLabel(d.product.category)} hint={d.product.sub_category ?? undefined} />
              <Kpi label="Brand" value={brandLabel(d.product.brand)} />
              <Kpi label="Price" value={money(d.product.price)} />
              <Kpi label="Views" value={formatCount(d.product.views)} />
              <Kpi label="Cart adds" value={formatCount(d.product.carts)} />
              <Kpi label="Purchases" value={formatCount(d.product.purchases)} />
              <Kpi label="Revenue" value={money(d.product.revenue)} />
            </Kpis>
            <TableSection
              title="Bought together" note="Products found in the same baskets. Confidence: of baskets with this product, the share that also had the other one; lift over 1 means more often than chance; baskets: how many baskets had both."
              testId="bought-together"
              rows={d.boughtTogether}
              empty="No product was bought together with this one in this run."
              columns={[
                ...productColumns((b: ProductDetail['boughtTogether'][number]) => b.other_product_id, (b) => b),
                { label: 'Baskets', numeric: true, cell: (b) => formatCount(b.baskets) },
                { label: 'Confidence', numeric: true, cell: (b) => formatPercent(b.confidence) },
                { label: 'Lift', numeric: true, cell: (b) => formatNumber(b.lift) },
              ]}
            />
            <TableSection
              title="Similar products" note="Products that the same people interact with (closeness of the recommendation model's product factors; 1 = identical taste)."
              testId="similar"
              rows={d.similar}
              empty="No similar products: this product was not among those the recommendation model learned."
              columns={[
                { label: 'Rank', numeric: true, cell: (s) => s.rank },
                ...productColumns((s: ProductDetail['similar'][number]) => s.similar_product_id, (s) => s),
                { label: 'Similarity', numeric: true, cell: (s) => formatNumber(s.similarity, 3) },
              ]}
            />
            <TableSection
              title="Day by day"
              rows={d.daily}
              empty="No events."
              columns={[
                { label: 'Date', cell: (r) => formatDate(r.date) },
                ...activityColumns<ProductDetail['daily'][number]>(),
              ]}
            />
            <p><button type="button" onClick={() => navigate('/products')}>Back to products</button></p>
          </>
        )}
      </Show>
    </>
  );
}
