/**
 * recommendations-api: the storefront's HTTP API (API Gateway HTTP API, payload 2.0, IAM auth) over
 * the Aurora serving tables, read through the Data API as the read-only BI user (routes and errors
 * in api.ts, SQL in queries.ts).
 *
 * A paused cluster (0 ACU) answers with DatabaseResumingException for 15–30 s; API Gateway gives an
 * integration at most 30 s, so only a short retry here (about 3 s), then a 503 with Retry-After.
 */
import { createDataApiClient, DataApi } from '../shared/data-api';
import { createRecommendationsApi } from '../../core/api/api';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
};

const db = new DataApi(
  createDataApiClient(),
  { resourceArn: env('CLUSTER_ARN'), secretArn: env('SECRET_ARN'), database: env('DATABASE_NAME') },
  { attempts: 3, baseDelayMs: 1000, maxDelayMs: 2000 },
);

const ttlSeconds = Number(process.env.COEFFICIENTS_TTL_SECONDS ?? '60');
if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new Error(`COEFFICIENTS_TTL_SECONDS must be a number of seconds ≥ 0, got "${process.env.COEFFICIENTS_TTL_SECONDS}"`);

export const handler = createRecommendationsApi(db, { coefficientsTtlMs: ttlSeconds * 1000 });
