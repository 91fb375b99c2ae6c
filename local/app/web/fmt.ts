/**
 * Formatting for the app: the shared `local/present` formatters (the same text as the static report),
 * with money saying "no prices in this data" when the run has no prices.
 */
import { formatMoney as presentMoney, type NumberLike } from '../../present';

export {
  formatCount, formatCompact, formatDays, formatMoneyCompact, formatNumber, formatPercent, formatDate, formatDateTime, formatDateRange, formatDateShort,
  segmentLabel, segmentDescription, productName, productTitle, categoryLabel, brandLabel, tableDescription,
  funnelReadings, funnelExplanation, SECTION_NOTES, currencyNote, datasetLabel,
} from '../../present';

/** Shown instead of an amount when the data has no prices (RetailRocket). */
export const NO_PRICES = 'no prices in this data';

/** Money in the run's currency; `null` currency means the data has no prices. */
export function formatMoney(amount: NumberLike, currency: string | null): string {
  return currency === null ? NO_PRICES : presentMoney(amount, currency);
}
