/**
 * The currency of a run, from its dataset (the run summary's `dataset`): REES46 lists prices in US
 * dollars; RetailRocket has no prices at all, so its revenue and spend are unknown, not zero.
 */

/** Currency (ISO 4217) of each dataset; null when the data has no prices. */
export const DATASET_CURRENCY: Readonly<Record<string, string | null>> = { rees46: 'USD', retailrocket: null };

/** "USD" for REES46, null for RetailRocket and for an unknown or missing dataset (no price is assumed). */
export function datasetCurrency(dataset: string | null | undefined): string | null {
  if (!dataset) return null;
  const c = DATASET_CURRENCY[dataset.toLowerCase()];
  return c === undefined ? null : c;
}

/** Whether the dataset has prices (and so revenue, spend and cart value mean something). */
export function pricesKnown(dataset: string | null | undefined): boolean {
  return datasetCurrency(dataset) !== null;
}

/** The currency of a run from its summary (anything with a `dataset`). */
export function runCurrency(summary: { readonly dataset?: string | null } | null | undefined): string | null {
  return datasetCurrency(summary?.dataset ?? null);
}

/** Readable name of a dataset: "REES46", "RetailRocket", or the text as given. */
export function datasetLabel(dataset: string | null | undefined): string {
  if (!dataset) return 'unknown dataset';
  return { rees46: 'REES46', retailrocket: 'RetailRocket' }[dataset.toLowerCase()] ?? dataset;
}

/** One sentence on what money figures mean for this dataset. */
export function currencyNote(dataset: string | null | undefined): string {
  const c = datasetCurrency(dataset);
  if (c === 'USD') return `Amounts are in US dollars (USD), as ${datasetLabel(dataset)} lists its prices.`;
  if (c) return `Amounts are in ${c}.`;
  return `No prices in this data (${datasetLabel(dataset)} records no price), so revenue, spend and cart value are not known; counts still are.`;
}
