/**
 * data-quality-gate Lambda: the state machine's last step before the serving load. It passes the
 * run on only when the run's counts reconcile across stages; otherwise it throws a
 * DataQualityError (the Step Functions Catch matches that name) so Aurora keeps the previous run.
 *
 * Event: { "runId": "oct-2019", ... } (other fields are ignored).
 * Environment: ATHENA_WORKGROUP, GLUE_DATABASE, CURATED_BUCKET, EXPORT_BUCKET.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { readObjectText } from '../shared/s3-json';
import type { Context } from 'aws-lambda';
import { assertRunId } from '../../core/contract';
import { athenaQueryRunner } from './athena';
import { GateSettings, assertGatePassed, runDataQualityGate } from './gate';

export { DataQualityError } from './gate';

// Created once per container so that warm invocations reuse their connections.
const athena = new AthenaClient({});
const s3 = new S3Client({});

/** Time kept back from the Lambda timeout to evaluate, log and answer after the last query. */
const RESPONSE_MARGIN_MS = 10_000;

export interface GateResult {
  readonly runId: string;
  readonly passed: true;
  readonly checks: readonly { readonly name: string; readonly expected: string; readonly actual: string; readonly passed: boolean }[];
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

function runIdOf(event: unknown): string {
  const runId = typeof event === 'object' && event !== null ? (event as Record<string, unknown>).runId : undefined;
  if (typeof runId !== 'string') throw new Error(`The event must have a string "runId", got ${JSON.stringify(event)}`);
  assertRunId(runId);
  return runId;
}

export async function handler(event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<GateResult> {
  const settings: GateSettings = {
    runId: runIdOf(event),
    database: requiredEnv('GLUE_DATABASE'),
    curatedBucket: requiredEnv('CURATED_BUCKET'),
    exportBucket: requiredEnv('EXPORT_BUCKET'),
  };
  const remainingMs = context?.getRemainingTimeInMillis();
  const runQuery = athenaQueryRunner(athena, {
    workGroup: requiredEnv('ATHENA_WORKGROUP'),
    timeoutMs: remainingMs === undefined ? undefined : Math.max(remainingMs - RESPONSE_MARGIN_MS, 1000),
  });

  const report = await runDataQualityGate(settings, { runQuery, readObject: (bucket, key) => readObjectText(s3, bucket, key) });
  const failed = report.checks.filter((c) => !c.passed).length;
  console.log(
    JSON.stringify({
      level: report.passed ? 'INFO' : 'ERROR',
      message: report.passed ? 'data-quality gate passed' : 'data-quality gate failed',
      runId: report.runId,
      passed: report.passed,
      failed,
      checks: report.checks,
    }),
  );
  assertGatePassed(report);
  return {
    runId: report.runId,
    passed: true,
    checks: report.checks.map(({ name, expected, actual, passed }) => ({ name, expected, actual, passed })),
  };
}
