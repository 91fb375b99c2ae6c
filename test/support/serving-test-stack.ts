/**
 * A standalone stack for the serving constructs' unit tests: an export bucket, the ServingDatabase,
 * the ServingSchema (for the BI secret), and whatever the test adds; plus the cdk-nag report of an
 * app, as test/infrastructure/nag.test.ts reads it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ServingDatabase } from '../../lib/serving/serving-database';
import { ServingSchema } from '../../lib/serving/serving-schema';
import { newApp } from './stack';

export interface ServingTestStack {
  readonly app: App;
  readonly stack: Stack;
  readonly database: ServingDatabase;
  readonly schema: ServingSchema;
}

export function servingTestStack(): ServingTestStack {
  const app = newApp();
  const stack = new Stack(app, 'ServingTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const exportBucket = new s3.Bucket(stack, 'Exports', { enforceSSL: true, encryption: s3.BucketEncryption.S3_MANAGED });
  const database = new ServingDatabase(stack, 'Serving', { exportBucket });
  const schema = new ServingSchema(stack, 'ServingSchema', { database });
  return { app, stack, database, schema };
}

/**
 * The two stack-wide acknowledgements of lib/nag-acknowledgements.ts that every PipelineFunction
 * relies on (Node.js 22 runtime; X-Ray's Resource::* for tracing), with the same reasons, so that a
 * standalone stack is judged as the app's stack is.
 */
export function acknowledgeStackWide(stack: Stack): void {
  Validations.of(stack).acknowledge(
    { id: 'AwsSolutions::AwsSolutions-L1', reason: 'Node.js 22 is the runtime the project targets (an active LTS).' },
    { id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: 'Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords (tracing).' },
  );
}

/** Synthesizes with the AwsSolutions pack; returns every unacknowledged finding and where it is. */
export function nagViolations(app: App): { rule: string; paths: string[] }[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (e) {
    if (!/Validation ?failed/i.test(`${(e as Error).name} ${(e as Error).message}`)) throw e;
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) return [];
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8'));
  return report.pluginReports.flatMap((r: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }) =>
    r.violations.map((v) => ({ rule: v.ruleName, paths: v.violatingConstructs.map((c) => c.constructPath) })),
  );
}

/** The findings on constructs under `prefix` (a construct path), one entry per rule and path. */
export const findingsUnder = (violations: { rule: string; paths: string[] }[], prefix: string): string[] =>
  violations.flatMap((v) => v.paths.filter((p) => p.startsWith(prefix)).map((p) => `${v.rule} @ ${p}`));
