import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildShopSightApp } from '../../lib/app';
import { newApp } from '../support/stack';
import { nagViolations } from '../support/serving-test-stack';

describe('cdk-nag AwsSolutions', () => {
  test.each([['dev'], ['prod']])('the %s stage has no unacknowledged finding', (stage) => {
    const app = newApp({ stage, alertEmail: 'ops@example.com', triggerOnReadyMarker: 'true', triggerSchedule: 'rate(1 day)' });
    buildShopSightApp(app);
    expect(nagViolations(app)).toEqual([]);
  });

  test('with every BI access path on (QuickSight VPC connection, bastion, a VPN range) there is still none', () => {
    const app = newApp({ stage: 'prod', biQuickSightVpcConnection: 'true', biBastion: 'true', biAllowedCidrs: '10.20.0.0/16' });
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
