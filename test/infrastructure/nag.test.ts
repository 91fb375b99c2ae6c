import * as fs from 'fs';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildShopSightApp } from '../../lib/app';
import { newApp } from '../support/stack';

/** Synthesizes with the AwsSolutions pack as bin/shopsight.ts does; returns the report's violations. */
function nagViolations(app: App): { rule: string; paths: string[] }[] {
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

describe('cdk-nag AwsSolutions', () => {
  test.each([['dev'], ['prod']])('the %s stage has no unacknowledged finding', (stage) => {
    const app = newApp({ stage, alertEmail: 'ops@example.com', triggerOnReadyMarker: 'true', triggerSchedule: 'rate(1 day)' });
    buildShopSightApp(app);
    expect(nagViolations(app)).toEqual([]);
  });

  test('the check is live: an unencrypted, unlogged bucket added to the stack is reported', () => {
    const app = newApp();
    const stack = buildShopSightApp(app);
    new s3.Bucket(stack, 'CarelessBucket');
    const rules = nagViolations(app)
      .filter((v) => v.paths.some((p) => p.includes('CarelessBucket')))
      .map((v) => v.rule);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
