/** Building blocks of the table contract's column lists. */
import { ColumnDef, ColumnType } from './types';

export const str = (maxLength?: number): ColumnType => ({ kind: 'string', maxLength });
export const BIGINT: ColumnType = { kind: 'bigint' };
export const INT: ColumnType = { kind: 'int' };
export const DATE: ColumnType = { kind: 'date' };
export const TIMESTAMP: ColumnType = { kind: 'timestamp' };
/** Unit prices: REES46 writes two decimals; 10 integer digits are far above any real price. */
export const PRICE: ColumnType = { kind: 'decimal', precision: 12, scale: 2 };
/** Sums of prices: wide enough for a year of a large shop. */
export const MONEY: ColumnType = { kind: 'decimal', precision: 18, scale: 2 };

export const col = (name: string, type: ColumnType, description: string, nullable = false): ColumnDef => ({
  name,
  type,
  nullable,
  description,
});

export const DOUBLE: ColumnType = { kind: 'double' };

/**
 * Label used by aggregates for a missing category, sub-category or brand, so that those rows
 * still count (and revenue reconciles) while the key columns stay non-null for Aurora's primary keys.
 * The parentheses keep it apart from every real REES46 value, which are lower-case words.
 */
export const MISSING_LABEL = '(missing)';

export const DAY_OF_WEEK_DESCRIPTION = 'ISO day of week of the UTC event date: 1 = Monday … 7 = Sunday.';
