/**
 * Spend-forecast stage of the local engine (the twin of spend_forecast.py), implementing
 * docs/spend-forecast.md exactly:
 * - customer spend: spend-forecast/spend_features.sql at three cutoffs (c1 = last + 1 − 2h, c2 = last + 1 − h,
 *   c3 = last + 1, h = min(forecastHorizonDays, floor(span / 4))); a two-part model (binomial/logit
 *   purchase probability × gamma/log spend given a purchase, local/ml/glm.ts with MLlib's IRLS) fitted
 *   at c1 and scored at c2 against the past spend rate and the overall mean, then fitted at c2 and
 *   applied at c3 → `customer_spend_forecast`;
 * - daily revenue: least squares on intercept, trend and ISO weekday indicators over
 *   prepare/insights/daily_kpis.sql (local/ml/least-squares.ts), backtested on the last revenueHorizonDays
 *   against the seasonal-naive forecast, then fitted on every day → `revenue_forecast`;
 * - `model_metrics` rows of stage spend-forecast for both.
 * Only aggregates cross into JavaScript: one row per user per cutoff, one per date.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { PipelineParameters } from '../../../core/config/pipeline-params';
import { REVENUE_INTERVAL_Z, SPEND_FEATURES, SPEND_LOG_FEATURES } from '../../../core/contract';
import { fitGlm, GlmModel, predictGlm } from '../../ml/glm';
import { dot, fitLeastSquares, LeastSquaresFit, leverage } from '../../ml/least-squares';
import { aucRoc, meanAbsoluteError, rootMeanSquaredError, spearman } from '../../ml/metrics';
import { appendNumericRows, appendRows, createContractTable, fetchColumns, scalar } from '../duck';
import { readSql, readTableSql } from '../sql';
import { MetricRow, writeMetrics } from './metrics-table';

type SpendParams = PipelineParameters['spendForecast'];

// ---------------------------------------------------------------------------------------------
// Customer spend: windows, populations, the two-part model
// ---------------------------------------------------------------------------------------------

export interface SpendWindows {
  /** Horizon in days actually used. */
  readonly h: number;
  readonly c1: number;
  readonly c2: number;
  readonly c3: number;
}

/** The cutoffs (day numbers) of a run from its first to its last event day; null when h < 1. */
export function spendWindows(first: number, last: number, forecastHorizonDays: number): SpendWindows | null {
  const h = Math.min(forecastHorizonDays, Math.floor((last - first + 1) / 4));
  if (h < 1) return null;
  return { h, c1: last + 1 - 2 * h, c2: last + 1 - h, c3: last + 1 };
}

/** One row per user with an event before a cutoff: the model's features and what it is scored on. */
export interface SpendPopulation {
  readonly n: number;
  /** SPEND_FEATURES in order, ln(1 + x) for SPEND_LOG_FEATURES; n × d row-major, not standardised. */
  readonly x: Float64Array;
  readonly monetary: Float64Array;
  readonly historyDays: Float64Array;
  readonly targetSpend: Float64Array;
  readonly targetPurchases: Float64Array;
}

export const SPEND_D = SPEND_FEATURES.length;

/** Means and sample standard deviations (n − 1) of a training population; std 0 marks a feature set to 0. */
export interface Standardiser {
  readonly means: Float64Array;
  readonly stds: Float64Array;
}

export function fitStandardiser(x: Float64Array, n: number, d: number): Standardiser {
  const means = new Float64Array(d);
  const stds = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[j] += x[i * d + j];
  for (let j = 0; j < d; j++) means[j] = n > 0 ? means[j] / n : 0;
  if (n >= 2) {
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) stds[j] += (x[i * d + j] - means[j]) ** 2;
    for (let j = 0; j < d; j++) stds[j] = Math.sqrt(stds[j] / (n - 1));
  }
  return { means, stds };
}

export function standardise(s: Standardiser, x: Float64Array, d: number): Float64Array {
  const z = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    z[i] = s.stds[j] > 0 ? (x[i] - s.means[j]) / s.stds[j] : 0;
  }
  return z;
}

/** A part of the model: a fitted GLM, or the constant of its fallback. */
type Part = { readonly glm: GlmModel } | { readonly constant: number };

export interface SpendModel {
  readonly standardiser: Standardiser;
  readonly purchase: Part;
  readonly spend: Part;
}

/** Fits both parts on a training population (docs/spend-forecast.md "Model: two parts" and its fallbacks). */
export function fitSpendModel(train: SpendPopulation, params: Pick<SpendParams, 'regParam' | 'maxIter'>): SpendModel {
  const d = SPEND_D;
  const standardiser = fitStandardiser(train.x, train.n, d);
  const z = standardise(standardiser, train.x, d);
  const glm = { regParam: params.regParam, maxIter: params.maxIter };
  const bought = new Float64Array(train.n);
  let positives = 0;
  for (let i = 0; i < train.n; i++) {
    bought[i] = train.targetPurchases[i] > 0 ? 1 : 0;
    positives += bought[i];
  }
  const purchase: Part =
    positives === 0 || positives === train.n
      ? { constant: train.n > 0 ? positives / train.n : 0 }
      : { glm: fitGlm(z, bought, d, { family: 'binomial', link: 'logit', ...glm }) };

  const spenders: number[] = [];
  for (let i = 0; i < train.n; i++) if (train.targetSpend[i] > 0) spenders.push(i);
  let spend: Part;
  if (spenders.length < 2) {
    spend = { constant: spenders.length === 1 ? train.targetSpend[spenders[0]] : 0 };
  } else {
    const zs = new Float64Array(spenders.length * d);
    const ys = new Float64Array(spenders.length);
    spenders.forEach((i, k) => {
      zs.set(z.subarray(i * d, i * d + d), k * d);
      ys[k] = train.targetSpend[i];
    });
    spend = { glm: fitGlm(zs, ys, d, { family: 'gamma', link: 'log', ...glm }) };
  }
  return { standardiser, purchase, spend };
}

export interface SpendPrediction {
  readonly probability: Float64Array;
  readonly spendIfPurchase: Float64Array;
  readonly predicted: Float64Array;
}

export function predictSpend(model: SpendModel, population: SpendPopulation): SpendPrediction {
  const d = SPEND_D;
  const z = standardise(model.standardiser, population.x, d);
  const part = (p: Part): Float64Array => ('glm' in p ? predictGlm(p.glm, z, d) : new Float64Array(population.n).fill(p.constant));
  const probability = part(model.purchase);
  const spendIfPurchase = part(model.spend);
  const predicted = probability.map((p, i) => p * spendIfPurchase[i]);
  return { probability, spendIfPurchase, predicted };
}

/** Each customer's spend so far per day of the run so far, over the horizon. */
export function pastSpendRate(population: SpendPopulation, h: number): Float64Array {
  return population.monetary.map((m, i) => (population.historyDays[i] > 0 ? (m / population.historyDays[i]) * h : 0));
}

/** The customer metric rows: the model fitted at c1, scored on the c2 population (docs "Baselines and metrics"). */
export function customerMetrics(train: SpendPopulation, test: SpendPopulation, h: number, params: Pick<SpendParams, 'regParam' | 'maxIter'>): MetricRow[] {
  if (train.n === 0 || test.n === 0) return [];
  const predicted = predictSpend(fitSpendModel(train, params), test).predicted;
  const rate = pastSpendRate(test, h);
  let mean = 0;
  for (let i = 0; i < train.n; i++) mean += train.targetSpend[i];
  const overall = new Float64Array(test.n).fill(mean / train.n);
  const actual = test.targetSpend;
  const spent = Uint8Array.from(actual, (v) => (v > 0 ? 1 : 0));
  const row = (model: string, metric: string, value: number | null, baseline: string | null, baselineValue: number | null): MetricRow => ({
    model, metric, k: null, value, baseline, baselineValue, evaluatedOn: test.n,
  });
  return [
    row('two_part_glm', 'mae', meanAbsoluteError(predicted, actual), 'past_spend_rate', meanAbsoluteError(rate, actual)),
    row('two_part_glm', 'rmse', rootMeanSquaredError(predicted, actual), 'past_spend_rate', rootMeanSquaredError(rate, actual)),
    row('two_part_glm', 'spearman', spearman(predicted, actual), 'past_spend_rate', spearman(rate, actual)),
    row('two_part_glm', 'spender_auc', aucRoc(predicted, spent), 'past_spend_rate', aucRoc(rate, spent)),
    row('overall_mean', 'mae', meanAbsoluteError(overall, actual), null, null),
    row('overall_mean', 'rmse', rootMeanSquaredError(overall, actual), null, null),
  ];
}

// ---------------------------------------------------------------------------------------------
// Daily revenue: trend + ISO weekday least squares, interval, backtest
// ---------------------------------------------------------------------------------------------

export interface RevenuePoint {
  /** Day number (days since 1970-01-01). */
  readonly day: number;
  readonly revenue: number;
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a day number: 1970-01-01 was a Thursday. */
export const isoWeekday = (day: number): number => ((((day + 3) % 7) + 7) % 7) + 1;

export interface RevenueModel {
  /** The series' first day number: t = day − firstDay. */
  readonly firstDay: number;
  readonly trend: boolean;
  /** Weekdays with an indicator column, after the intercept and the trend. */
  readonly weekdays: readonly number[];
  readonly fit: LeastSquaresFit;
  /** s = sqrt(RSS / (n − p)), 0 when n ≤ p. */
  readonly s: number;
}

function designRow(model: Pick<RevenueModel, 'firstDay' | 'trend' | 'weekdays'>, day: number): number[] {
  const row = [1];
  if (model.trend) row.push(day - model.firstDay);
  const wd = isoWeekday(day);
  for (const w of model.weekdays) row.push(wd === w ? 1 : 0);
  return row;
}

/** The revenue model on some points (at least one): docs "Daily revenue", "Model". */
export function fitRevenueModel(points: readonly RevenuePoint[]): RevenueModel {
  const n = points.length;
  if (n === 0) throw new RangeError('the revenue model needs at least one point');
  const firstDay = Math.min(...points.map((q) => q.day));
  const present = [...new Set(points.map((q) => isoWeekday(q.day)))].sort((a, b) => a - b);
  let weekdays = present.slice(1);
  let trend = true;
  if (n < 2 + weekdays.length + 2) weekdays = [];
  if (n < 4) trend = false;
  const shape = { firstDay, trend, weekdays };
  const p = 1 + (trend ? 1 : 0) + weekdays.length;
  const x = new Float64Array(n * p);
  points.forEach((q, r) => x.set(designRow(shape, q.day), r * p));
  const fit = fitLeastSquares(x, points.map((q) => q.revenue), p);
  const s = n > p ? Math.sqrt(fit.rss / (n - p)) : 0;
  return { ...shape, fit, s };
}

export interface RevenuePrediction {
  readonly predicted: number;
  readonly lower: number;
  readonly upper: number;
}

/** x·β ± z·s·sqrt(1 + x(XᵀX)⁻¹xᵀ), each floored at 0; a weekday without an indicator gets the reference's effect. */
export function predictRevenue(model: RevenueModel, day: number): RevenuePrediction {
  const row = designRow(model, day);
  const mean = dot(row, 0, model.fit.beta, model.fit.p);
  const half = REVENUE_INTERVAL_Z * model.s * Math.sqrt(1 + leverage(model.fit, row));
  return { predicted: Math.max(0, mean), lower: Math.max(0, mean - half), upper: Math.max(0, mean + half) };
}

/** The backtest's metric rows: docs "Backtest". */
export function revenueBacktest(points: readonly RevenuePoint[], revenueHorizonDays: number): MetricRow[] {
  if (points.length === 0) return [];
  const last = Math.max(...points.map((q) => q.day));
  const fitted = points.filter((q) => q.day <= last - revenueHorizonDays);
  if (fitted.length < 7) return [];
  const model = fitRevenueModel(fitted);
  const latest = new Map<number, RevenuePoint>();
  for (const q of fitted) {
    const wd = isoWeekday(q.day);
    const seen = latest.get(wd);
    if (!seen || q.day > seen.day) latest.set(wd, q);
  }
  const actual: number[] = [];
  const forecast: number[] = [];
  const naive: number[] = [];
  let covered = 0;
  for (const q of points) {
    if (q.day <= last - revenueHorizonDays) continue;
    const same = latest.get(isoWeekday(q.day));
    if (!same) continue;
    const f = predictRevenue(model, q.day);
    actual.push(q.revenue);
    forecast.push(f.predicted);
    naive.push(same.revenue);
    if (q.revenue >= f.lower && q.revenue <= f.upper) covered++;
  }
  if (actual.length === 0) return [];
  const row = (metric: string, value: number | null, baseline: string | null, baselineValue: number | null): MetricRow => ({
    model: 'ols_trend_weekday', metric, k: null, value, baseline, baselineValue, evaluatedOn: actual.length,
  });
  return [
    row('mae', meanAbsoluteError(forecast, actual), 'seasonal_naive', meanAbsoluteError(naive, actual)),
    row('rmse', rootMeanSquaredError(forecast, actual), 'seasonal_naive', rootMeanSquaredError(naive, actual)),
    row('interval_coverage', covered / actual.length, null, null),
  ];
}

// ---------------------------------------------------------------------------------------------
// The stage
// ---------------------------------------------------------------------------------------------

export interface SpendForecastStageResult {
  readonly customers: number;
  /** Horizon used for customers, 0 when the run is under four days. */
  readonly horizonDays: number;
  readonly revenueDays: number;
}

const FEATURE_SQL = SPEND_FEATURES.map((f) => (SPEND_LOG_FEATURES.includes(f) ? `ln(1 + CAST(${f} AS DOUBLE))` : `CAST(${f} AS DOUBLE)`));

/** Materialises the population at `cutoff` as temp table `name` (idx in user order) and reads it. */
export async function loadSpendPopulation(connection: DuckDBConnection, name: string, cutoff: number, h: number): Promise<SpendPopulation> {
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${name} AS
    SELECT CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS idx, *
    FROM (${readSql('spend-forecast/spend_features.sql', { cutoff_day: cutoff, horizon_days: h })})`);
  const d = SPEND_D;
  const { rows, columns } = await fetchColumns(
    connection,
    `SELECT ${FEATURE_SQL.join(', ')}, CAST(monetary AS DOUBLE), CAST(history_days AS DOUBLE), CAST(target_spend AS DOUBLE), CAST(target_purchases AS DOUBLE)
     FROM ${name} ORDER BY idx`,
    [...FEATURE_SQL.map(() => 'f64' as const), 'f64', 'f64', 'f64', 'f64'] as const,
  );
  const x = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) x[r * d + j] = (columns[j] as Float64Array)[r];
  return {
    n: rows,
    x,
    monetary: columns[d] as Float64Array,
    historyDays: columns[d + 1] as Float64Array,
    targetSpend: columns[d + 2] as Float64Array,
    targetPurchases: columns[d + 3] as Float64Array,
  };
}

const DAY_NUMBER = (column: string): string => `CAST(date_diff('day', DATE '1970-01-01', ${column}) AS BIGINT)`;

export async function runSpendForecast(connection: DuckDBConnection, params: PipelineParameters): Promise<SpendForecastStageResult> {
  const p = params.spendForecast;
  await createContractTable(connection, 'customer_spend_forecast');
  await createContractTable(connection, 'revenue_forecast');
  const metrics: MetricRow[] = [];
  const first = await scalar(connection, `SELECT ${DAY_NUMBER('min(event_date)')} FROM events`);
  const last = await scalar(connection, `SELECT ${DAY_NUMBER('max(event_date)')} FROM events`);
  const windows = first === null || last === null ? null : spendWindows(first, last, p.forecastHorizonDays);

  let customers = 0;
  if (windows) {
    const { h, c1, c2, c3 } = windows;
    const train = await loadSpendPopulation(connection, '_spend_c1', c1, h);
    const test = await loadSpendPopulation(connection, '_spend_c2', c2, h);
    metrics.push(...customerMetrics(train, test, h, p));
    const future = await loadSpendPopulation(connection, '_spend_c3', c3, h);
    customers = future.n;
    if (future.n > 0) {
      const prediction = predictSpend(fitSpendModel(test, p), future);
      const baseline = pastSpendRate(future, h);
      await connection.run(`CREATE OR REPLACE TEMP TABLE _spend_pred (idx INTEGER, purchase_probability DOUBLE, spend_if_purchase DOUBLE, predicted_spend DOUBLE, baseline_spend DOUBLE)`);
      await appendNumericRows(connection, '_spend_pred', ['i32', 'f64', 'f64', 'f64', 'f64'], (a) => {
        for (let i = 0; i < future.n; i++) {
          a.appendInteger(i);
          a.appendDouble(prediction.probability[i]);
          a.appendDouble(prediction.spendIfPurchase[i]);
          a.appendDouble(prediction.predicted[i]);
          a.appendDouble(baseline[i]);
          a.endRow();
        }
      });
      await connection.run(`INSERT INTO customer_spend_forecast
        SELECT c.user_id, s.purchase_probability, s.spend_if_purchase, s.predicted_spend, s.baseline_spend,
          CAST(${h} AS INTEGER), CAST(DATE '1970-01-01' + ${c3} AS DATE)
        FROM _spend_c3 c JOIN _spend_pred s USING (idx) ORDER BY c.user_id`);
    }
  }

  const series = await fetchColumns(
    connection,
    `SELECT CAST(${DAY_NUMBER('event_date')} AS DOUBLE), CAST(revenue AS DOUBLE) FROM (${readTableSql('daily_kpis')}) ORDER BY event_date`,
    ['f64', 'f64'] as const,
  );
  const points: RevenuePoint[] = Array.from({ length: series.rows }, (_, i) => ({ day: series.columns[0][i], revenue: series.columns[1][i] }));
  if (points.length > 0) {
    metrics.push(...revenueBacktest(points, p.revenueHorizonDays));
    const model = fitRevenueModel(points);
    const lastDay = points[points.length - 1].day;
    await connection.run(`CREATE OR REPLACE TEMP TABLE _revenue_pred (day INTEGER, predicted DOUBLE, lower DOUBLE, upper DOUBLE)`);
    await appendRows(connection, '_revenue_pred', (a) => {
      for (let k = 1; k <= p.revenueHorizonDays; k++) {
        const f = predictRevenue(model, lastDay + k);
        a.appendInteger(lastDay + k);
        a.appendDouble(f.predicted);
        a.appendDouble(f.lower);
        a.appendDouble(f.upper);
        a.endRow();
      }
    });
    await connection.run(`INSERT INTO revenue_forecast
      SELECT CAST(DATE '1970-01-01' + day AS DATE), CAST(isodow(DATE '1970-01-01' + day) AS INTEGER), predicted, lower, upper
      FROM _revenue_pred ORDER BY day`);
  }
  await writeMetrics(connection, 'spend-forecast', metrics);
  for (const t of ['_spend_c1', '_spend_c2', '_spend_c3', '_spend_pred', '_revenue_pred']) await connection.run(`DROP TABLE IF EXISTS ${t}`);
  return { customers, horizonDays: windows?.h ?? 0, revenueDays: points.length };
}
