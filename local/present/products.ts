/**
 * Readable product and category names. The data has no product titles: REES46 gives a dotted
 * category code (`electronics.smartphone`) and a brand; RetailRocket only a path of category ids
 * (`1016.1037`) and no brand. A product is named from what it has: "Samsung smartphone",
 * "Water heater", else "Product 1005115".
 */

const words = (s: string): string => s.replace(/[_\s]+/g, ' ').trim();
const capital = (s: string): string => (s ? s[0].toUpperCase() + s.slice(1) : s);
/** A brand as written in lower case by REES46, capitalised per word ("apple" → "Apple", "de'longhi" → "De'longhi"). */
export function brandLabel(brand: string | null | undefined): string {
  if (!brand || brand === '(missing)') return 'No brand';
  return brand
    .split(/(\s+|-)/)
    .map((w) => capital(w))
    .join('');
}

const isIdPath = (code: string): boolean => /^\d+(\.\d+)*$/.test(code);

/**
 * "appliances.environment.water_heater" → "Appliances › Environment › Water heater";
 * a RetailRocket id path "1016.1037" → "Category 1037"; "(missing)" or nothing → "Unknown category".
 */
export function categoryLabel(code: string | null | undefined): string {
  if (!code || code === '(missing)') return 'Unknown category';
  if (isIdPath(code)) return `Category ${code.split('.').pop()}`;
  return code
    .split('.')
    .map((s) => capital(words(s)))
    .join(' › ');
}

export interface ProductLike {
  readonly product_id?: string | number | bigint | null;
  readonly category_code?: string | null;
  readonly category?: string | null;
  readonly sub_category?: string | null;
  readonly brand?: string | null;
}

/** The most specific readable kind of a product: the last segment of a dotted code ("smartphone"), or null. */
function productKind(p: ProductLike): string | null {
  const code = p.category_code ?? (p.category ? (p.sub_category ? `${p.category}.${p.sub_category}` : p.category) : null);
  if (!code || code === '(missing)' || isIdPath(code)) return null;
  return words(code.split('.').pop() ?? '');
}

/** A short name: "Samsung smartphone", "Samsung product", "Water heater", "Product 1005115". */
export function productName(p: ProductLike): string {
  const kind = productKind(p);
  const brand = p.brand && p.brand !== '(missing)' ? brandLabel(p.brand) : null;
  if (brand && kind) return `${brand} ${kind}`;
  if (brand) return `${brand} product`;
  if (kind) return capital(kind);
  return p.product_id !== null && p.product_id !== undefined ? `Product ${p.product_id}` : 'Unknown product';
}

/** The name with its id when the name is not the id already: "Samsung smartphone (#1005115)". */
export function productTitle(p: ProductLike): string {
  const name = productName(p);
  const id = p.product_id;
  return id === null || id === undefined || name === `Product ${id}` ? name : `${name} (#${id})`;
}
