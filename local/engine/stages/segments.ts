/**
 * Customer-segments stage of the local engine (the twin of segments.py): per-user behaviour from
 * the shared SQL (segments/customer_features.sql), k-means (local/ml/kmeans.ts) on standardised
 * features, segments named from their profiles, then `customer_segments`, `segment_profiles` and
 * `model_metrics` (stage = segments: within-cluster sum of squares and silhouette).
 *
 * Clustering features, in order (the same on Spark): recency_days, then log1p of frequency,
 * monetary, views, carts, purchases and sessions (heavy-tailed counts would otherwise let a few
 * bot-like users own whole clusters), then cart_to_view_rate and purchase_to_cart_rate (null → 0);
 * each standardised to mean 0 and standard deviation 1.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { PipelineParameters } from '../../../core/config/pipeline-params';
import { silhouette, standardize, trainKMeans } from '../../ml/kmeans';
import { appendNumericRows, appendRows, createContractTable, fetchColumns, scalar } from '../duck';
import { readSql } from '../sql';
import { writeMetrics } from './metrics-table';

export const CLUSTERING_FEATURES_SQL = [
  'CAST(recency_days AS DOUBLE)',
  'ln(1 + CAST(frequency AS DOUBLE))',
  'ln(1 + CAST(monetary AS DOUBLE))',
  'ln(1 + CAST(views AS DOUBLE))',
  'ln(1 + CAST(carts AS DOUBLE))',
  'ln(1 + CAST(purchases AS DOUBLE))',
  'ln(1 + CAST(sessions AS DOUBLE))',
  'COALESCE(cart_to_view_rate, 0)',
  'COALESCE(purchase_to_cart_rate, 0)',
];

/** A segment's averages in original units: what its name is decided from. */
export interface SegmentProfile {
  readonly segmentId: number;
  readonly avgFrequency: number;
  readonly avgCarts: number;
  readonly avgSessions: number;
  readonly avgRecencyDays: number;
}

/**
 * Names segments from their profiles; the same rule runs on Spark (name_segments in spark-jobs/shopsight_jobs/segments.py).
 * - Buyers are segments whose customers average at least 0.5 purchase sessions. The buyer segment
 *   with the highest average (ties: lower id) is frequent_buyers when that average is ≥ 1.5, else
 *   regular_buyers; every other buyer segment is regular_buyers.
 * - Of the rest: cart_abandoners when they average ≥ 0.5 cart events; else lapsed_visitors when
 *   their average recency is at least half of the run's span in days; else one_time_visitors when
 *   they average under 1.5 sessions; else window_shoppers.
 * - A name given twice gets _2, _3 … in segment id order.
 */
export function nameSegments(profiles: readonly SegmentProfile[], runSpanDays: number): Map<number, string> {
  const ordered = [...profiles].sort((a, b) => a.segmentId - b.segmentId);
  const buyers = ordered.filter((p) => p.avgFrequency >= 0.5);
  const top = buyers.reduce<SegmentProfile | undefined>((best, p) => (!best || p.avgFrequency > best.avgFrequency ? p : best), undefined);
  const base = new Map<number, string>();
  for (const p of ordered) {
    let name: string;
    if (p.avgFrequency >= 0.5) name = p === top && p.avgFrequency >= 1.5 ? 'frequent_buyers' : 'regular_buyers';
    else if (p.avgCarts >= 0.5) name = 'cart_abandoners';
    else if (p.avgRecencyDays >= runSpanDays / 2) name = 'lapsed_visitors';
    else if (p.avgSessions < 1.5) name = 'one_time_visitors';
    else name = 'window_shoppers';
    base.set(p.segmentId, name);
  }
  const seen = new Map<string, number>();
  const names = new Map<number, string>();
  for (const p of ordered) {
    const name = base.get(p.segmentId)!;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    names.set(p.segmentId, n === 1 ? name : `${name}_${n}`);
  }
  return names;
}

export interface SegmentsStageResult {
  readonly customers: number;
  readonly k: number;
  readonly names: string[];
}

export async function runSegments(connection: DuckDBConnection, params: PipelineParameters): Promise<SegmentsStageResult> {
  const p = params.segments;
  await connection.run(`CREATE OR REPLACE TEMP TABLE _cf AS
    SELECT CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS idx, * FROM (${readSql('segments/customer_features.sql')})`);
  const d = CLUSTERING_FEATURES_SQL.length;
  const { rows, columns } = await fetchColumns(
    connection,
    `SELECT ${CLUSTERING_FEATURES_SQL.join(', ')} FROM _cf ORDER BY idx`,
    CLUSTERING_FEATURES_SQL.map(() => 'f64' as const),
  );
  await createContractTable(connection, 'customer_segments');
  await createContractTable(connection, 'segment_profiles');
  if (rows === 0) {
    await writeMetrics(connection, 'segments', []);
    return { customers: 0, k: 0, names: [] };
  }
  const x = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) x[r * d + j] = (columns[j] as Float64Array)[r];
  const { z } = standardize(x, d);
  const k = Math.min(p.k, rows);
  const { model, assignments } = trainKMeans(z, d, { k, maxIter: p.maxIter, seed: p.seed });

  await connection.run(`CREATE OR REPLACE TEMP TABLE _assign (idx INTEGER, segment_id INTEGER)`);
  await appendNumericRows(connection, '_assign', ['i32', 'i32'], (a) => {
    for (let r = 0; r < rows; r++) {
      a.appendInteger(r);
      a.appendInteger(assignments[r]);
      a.endRow();
    }
  });
  const profiles = (await connection.runAndReadAll(`SELECT segment_id, avg(frequency), avg(carts), avg(sessions), avg(recency_days)
      FROM _cf JOIN _assign USING (idx) GROUP BY segment_id ORDER BY segment_id`)).getRows().map((r) => ({
    segmentId: Number(r[0]),
    avgFrequency: Number(r[1]),
    avgCarts: Number(r[2]),
    avgSessions: Number(r[3]),
    avgRecencyDays: Number(r[4]),
  }));
  const span = Number(await scalar(connection, `SELECT epoch(max(event_time)) - epoch(min(event_time)) FROM events`)) / 86400;
  const names = nameSegments(profiles, span);
  await connection.run(`CREATE OR REPLACE TEMP TABLE _names (segment_id INTEGER, segment_name VARCHAR)`);
  await appendRows(connection, '_names', (a) => {
    for (const [id, name] of names) {
      a.appendInteger(id);
      a.appendVarchar(name);
      a.endRow();
    }
  });
  await connection.run(`INSERT INTO customer_segments
    SELECT user_id, segment_id, segment_name, recency_days, frequency, monetary, views, carts, purchases, sessions, cart_to_view_rate, purchase_to_cart_rate
    FROM _cf JOIN _assign USING (idx) JOIN _names USING (segment_id) ORDER BY user_id`);
  await connection.run(`INSERT INTO segment_profiles
    SELECT segment_id, segment_name, count(*), count(*) / (SELECT count(*) FROM customer_segments),
      avg(recency_days), avg(frequency), avg(CAST(monetary AS DOUBLE)), avg(views), avg(carts), avg(purchases), avg(sessions),
      COALESCE(CAST(sum(monetary) AS DOUBLE) / NULLIF((SELECT CAST(sum(monetary) AS DOUBLE) FROM customer_segments), 0), 0)
    FROM customer_segments GROUP BY segment_id, segment_name ORDER BY segment_id`);
  await writeMetrics(connection, 'segments', [
    { model: 'kmeans', metric: 'wssse', k: null, value: model.wssse, baseline: null, baselineValue: null, evaluatedOn: rows },
    { model: 'kmeans', metric: 'silhouette', k: null, value: k > 1 ? silhouette(z, d, assignments, k) : null, baseline: null, baselineValue: null, evaluatedOn: rows },
  ]);
  for (const t of ['_cf', '_assign', '_names']) await connection.run(`DROP TABLE IF EXISTS ${t}`);
  return { customers: rows, k, names: [...names.values()] };
}
