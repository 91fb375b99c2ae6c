import {
  dateTicks,
  daysBetweenInclusive,
  formatCompact,
  formatCount,
  formatDate,
  formatDateRange,
  formatDateShort,
  formatDateTime,
  formatDays,
  formatMoney,
  formatMoneyCompact,
  formatNumber,
  formatPercent,
  maxLabelsFor,
  thinTicks,
} from '../../local/present/format';

describe('present/format', () => {
  test('formatDays reads a recency as a person would, never as 0.0008', () => {
    expect(formatDays(0.0008)).toBe('under a day');
    expect(formatDays(0)).toBe('under a day');
    expect(formatDays(1)).toBe('1 day');
    expect(formatDays(1.04)).toBe('1 day');
    expect(formatDays(2.46)).toBe('2.5 days');
    expect(formatDays(40.2)).toBe('40 days');
    expect(formatDays(null)).toBe(formatDays(-1));
  });


  test('formatCount groups thousands, keeps big integer text exact, dashes missing values', () => {
    expect(formatCount(17055)).toBe('17,055');
    expect(formatCount(0)).toBe('0');
    expect(formatCount('4504')).toBe('4,504');
    expect(formatCount('12345678901234567890')).toBe('12,345,678,901,234,567,890');
    expect(formatCount(-1234567)).toBe('-1,234,567');
    expect(formatCount(999.6)).toBe('1,000');
    expect(formatCount(null)).toBe('—');
    expect(formatCount('abc')).toBe('—');
  });

  test('formatMoney puts the currency symbol first with exact cents, and says "no prices" without a currency', () => {
    expect(formatMoney(1234.5, 'USD')).toBe('$1,234.50');
    expect(formatMoney('1234.50', 'USD')).toBe('$1,234.50');
    expect(formatMoney('0.005', 'USD')).toBe('$0.01');
    expect(formatMoney('90071992547409.99', 'USD')).toBe('$90,071,992,547,409.99');
    expect(formatMoney(-3, 'USD')).toBe('-$3.00');
    expect(formatMoney(0, 'USD')).toBe('$0.00');
    expect(formatMoney(12, 'EUR')).toBe('€12.00');
    expect(formatMoney(12, 'CHF')).toBe('12.00 CHF');
    expect(formatMoney(0, null)).toBe('no prices');
    expect(formatMoney('0.00', null)).not.toMatch(/0\.00/);
    expect(formatMoney(null, 'USD')).toBe('—');
  });

  test('formatMoneyCompact shortens for axes', () => {
    expect(formatMoneyCompact(950, 'USD')).toBe('$950');
    expect(formatMoneyCompact(8400, 'USD')).toBe('$8.4k');
    expect(formatMoneyCompact(1_250_000, 'USD')).toBe('$1.3M');
    expect(formatMoneyCompact(5, null)).toBe('no prices');
  });

  test('formatPercent: fractions to percentages with the given decimals', () => {
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(formatPercent(0.1234, 2)).toBe('12.34%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.5, 0)).toBe('50%');
    expect(formatPercent(0.00001)).toBe('<0.1%');
    expect(formatPercent(null)).toBe('—');
    expect(formatPercent('0.25')).toBe('25%');
  });

  test('formatNumber and formatCompact', () => {
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(1.23456)).toBe('1.23');
    expect(formatNumber(0.123456)).toBe('0.123');
    expect(formatNumber(12345.6)).toBe('12,346');
    expect(formatCompact(950)).toBe('950');
    expect(formatCompact(1500)).toBe('1.5k');
    expect(formatCompact(17055)).toBe('17.1k');
    expect(formatCompact(2_000_000)).toBe('2M');
    expect(formatCompact(0.25)).toBe('0.25');
  });

  test('dates are shown as written (no time-zone shift), in words', () => {
    expect(formatDate('2019-10-01')).toBe('1 Oct 2019');
    expect(formatDate('2015-09-18T23:59:59.000Z')).toBe('18 Sep 2015');
    expect(formatDate('2019-10-01 00:00:00 UTC')).toBe('1 Oct 2019');
    expect(formatDateShort('2019-11-30')).toBe('30 Nov');
    expect(formatDateTime('2019-10-01T02:50:00.000Z')).toBe('1 Oct 2019, 02:50 UTC');
    expect(formatDateRange('2019-10-01', '2019-10-02')).toBe('1 Oct 2019 – 2 Oct 2019');
    expect(formatDateRange('2019-10-01', '2019-10-01')).toBe('1 Oct 2019');
    expect(formatDate(null)).toBe('—');
    expect(daysBetweenInclusive('2019-10-01', '2019-11-01')).toBe(32);
    expect(daysBetweenInclusive('2015-05-03', '2015-09-18')).toBe(139);
  });

  test('thinTicks keeps at most maxLabels evenly spaced positions from the first', () => {
    expect(thinTicks(0, 5)).toEqual([]);
    expect(thinTicks(3, 5)).toEqual([0, 1, 2]);
    expect(thinTicks(139, 8)).toEqual([0, 20, 40, 60, 80, 100, 120]);
    const t = thinTicks(139, 8);
    expect(t.length).toBeLessThanOrEqual(8);
    const gaps = t.slice(1).map((v, i) => v - t[i]);
    expect(new Set(gaps).size).toBe(1);
    expect(maxLabelsFor(600, 50, 10)).toBe(10);
    expect(maxLabelsFor(10, 50)).toBe(1);
  });

  test('dateTicks thins labels so that they fit the axis at the given character width', () => {
    const dates = Array.from({ length: 139 }, (_, i) => new Date(Date.UTC(2015, 4, 3 + i)).toISOString().slice(0, 10));
    const ticks = dateTicks(dates, 600, 6.5);
    expect(ticks[0]).toEqual({ index: 0, label: '3 May' });
    const spacing = 600 / 138;
    for (let i = 1; i < ticks.length; i++) {
      const centres = (ticks[i].index - ticks[i - 1].index) * spacing;
      const half = ((ticks[i].label.length + ticks[i - 1].label.length) / 2) * 6.5;
      expect(centres).toBeGreaterThanOrEqual(half);
    }
    expect(dateTicks(['2019-10-01', '2019-10-02'], 600).map((t) => t.label)).toEqual(['1 Oct', '2 Oct']);
    expect(dateTicks(['2019-12-31', '2020-01-01'], 600).map((t) => t.label)).toEqual(['31 Dec 2019', '1 Jan 2020']);
  });
});
