import { CONTEXT_KEYS, loadStageConfig } from '../../core/config/stage-config';

const fromContext = (context: Record<string, unknown>) => loadStageConfig((k) => context[k], Object.keys(context));

describe('stage configuration from CDK context', () => {
  test('dev is the default stage: destroyable, Aurora scales to zero', () => {
    const config = fromContext({});
    expect(config.stage).toBe('dev');
    expect(config.removalPolicy).toBe('destroy');
    expect(config.aurora.minAcu).toBe(0);
    expect(config.aurora.deletionProtection).toBe(false);
  });

  test('prod retains data and protects the database', () => {
    const config = fromContext({ stage: 'prod' });
    expect(config).toMatchObject({ stage: 'prod', removalPolicy: 'retain', aurora: { deletionProtection: true, backupRetentionDays: 14 } });
    expect(config.aurora.minAcu).toBeGreaterThan(0);
  });

  test('overrides arrive as strings from -c and as JSON values from cdk.json', () => {
    const config = fromContext({
      stage: 'prod',
      emrMaxVcpu: '32',
      auroraMinAcu: 1.5,
      auroraMaxAcu: '8',
      alertEmail: 'ops@example.com',
      triggerOnReadyMarker: 'false',
      removalPolicy: 'destroy',
    });
    expect(config.emr.maxVcpu).toBe(32);
    expect(config.aurora).toMatchObject({ minAcu: 1.5, maxAcu: 8 });
    expect(config.alertEmail).toBe('ops@example.com');
    expect(config.trigger.onReadyMarker).toBe(false);
    expect(config.removalPolicy).toBe('destroy');
  });

  test.each([
    [{ stage: 'staging' }, 'Invalid CDK context "stage": "staging"; allowed: dev, prod'],
    [{ auroraMinAcu: '0.3' }, 'Invalid CDK context "auroraMinAcu": "0.3"; allowed: a number from 0 to 256 in steps of 0.5'],
    [{ emrMaxVcpu: 'many' }, 'Invalid CDK context "emrMaxVcpu": "many"; allowed: an integer from 1 to 4000'],
    [{ removalPolicy: 'keep' }, 'Invalid CDK context "removalPolicy": "keep"; allowed: destroy, retain'],
    [{ triggerOnReadyMarker: 'yes' }, 'Invalid CDK context "triggerOnReadyMarker": "yes"; allowed: true, false'],
    [{ alertEmail: 'ops' }, 'Invalid CDK context "alertEmail": "ops"; allowed: an e-mail address'],
    [{ auroraEngineVersion: '3.05.2' }, 'allowed: an Aurora MySQL 3 version from 3.08.0 on'],
    [{ emrReleaseLabel: 'emr-6.15.0' }, 'allowed: an EMR 7 release label'],
    [{ auroraMinAcu: '8', auroraMaxAcu: '4' }, '"auroraMinAcu": 8 is above auroraMaxAcu 4'],
    [{ emrPreInitializedExecutors: '10', emrMaxVcpu: '16' }, 'Invalid CDK context "emrMaxVcpu": 16 is below the 25 vCPU'],
  ])('rejects %j naming the key and what is allowed', (context, message) => {
    expect(() => fromContext(context)).toThrow(message);
  });

  test('the EMR cap cannot go below what the AnalyticsJobs Parallel state starts at once, in any dimension', () => {
    // 5 analytics jobs × (a 1 vCPU / 4 GB / 20 GB driver + one 2 vCPU / 8 GB / 20 GB executor).
    for (const stage of ['dev', 'prod']) {
      expect(fromContext({ stage, emrMaxVcpu: '15', emrMaxMemoryGb: '60', emrMaxDiskGb: '200' }).emr).toMatchObject({ maxVcpu: 15, maxMemoryGb: 60 });
    }
    expect(() => fromContext({ emrMaxVcpu: '14' })).toThrow(
      /^Invalid CDK context "emrMaxVcpu": 14 is below the 15 vCPU that the AnalyticsJobs Parallel state \(association-rules: a 1 vCPU \/ 4 GB driver and 1 executor\(s\) of 2 vCPU \/ 8 GB; .*; spend-forecast: a 1 vCPU \/ 4 GB driver and 1 executor\(s\) of 2 vCPU \/ 8 GB\) needs at once; allowed: at least 15$/,
    );
    expect(() => fromContext({ stage: 'prod', emrMaxMemoryGb: '59' })).toThrow('Invalid CDK context "emrMaxMemoryGb": 59 is below the 60 GB of memory');
    expect(() => fromContext({ emrMaxDiskGb: '160' })).toThrow('Invalid CDK context "emrMaxDiskGb": 160 is below the 200 GB of disk');
    // Warm executors beyond the five the analytics jobs take hold capacity too.
    expect(() => fromContext({ emrPreInitializedExecutors: '7', emrMaxVcpu: '18' })).toThrow(
      /"emrMaxVcpu": 18 is below the 19 vCPU .*7 pre-initialised executor\(s\)\) needs at once; allowed: at least 19 \(or fewer emrPreInitializedExecutors\)$/,
    );
    // The dev cap (16 vCPU) holds five warm executors, the ones the analytics jobs start with, and no more.
    expect(fromContext({ emrPreInitializedExecutors: '5' }).emr.preInitializedExecutors).toBe(5);
    expect(() => fromContext({ emrPreInitializedExecutors: '6' })).toThrow('"emrMaxVcpu": 16 is below the 17 vCPU');
  });

  test('a misspelt key fails instead of being ignored; the CDK\'s own keys pass', () => {
    expect(() => fromContext({ auroraMaxAcus: '8' })).toThrow(`Unknown CDK context "auroraMaxAcus"; allowed keys: ${CONTEXT_KEYS.join(', ')}`);
    expect(() => fromContext({ '@aws-cdk/aws-s3:createDefaultLoggingPolicy': true, 'aws:cdk:enable-path-metadata': true })).not.toThrow();
  });
});

describe('API and BI access settings', () => {
  const load = (context: Record<string, unknown>) => loadStageConfig((k) => context[k], Object.keys(context));

  test('BI access is off and the API throttled by default on both stages', () => {
    for (const stage of ['dev', 'prod']) {
      const config = load({ stage });
      expect(config.bi).toEqual({ quickSightVpcConnection: false, bastion: false, allowedCidrs: [] });
      expect(config.api.throttlingRateLimit).toBeGreaterThan(0);
      expect(config.api.throttlingBurstLimit).toBeGreaterThanOrEqual(config.api.throttlingRateLimit);
    }
  });

  test('biAllowedCidrs takes a comma-separated list and refuses anything else, naming the key', () => {
    expect(load({ biAllowedCidrs: '10.20.0.0/16, 192.168.1.0/24' }).bi.allowedCidrs).toEqual(['10.20.0.0/16', '192.168.1.0/24']);
    expect(() => load({ biAllowedCidrs: 'my office' })).toThrow(/Invalid CDK context "biAllowedCidrs": "my office"; allowed: comma-separated IPv4 CIDRs/);
    expect(() => load({ biBastion: 'yes' })).toThrow(/"biBastion".*allowed: true, false/);
    expect(() => load({ apiThrottlingRateLimit: 0 })).toThrow(/"apiThrottlingRateLimit"/);
  });
});
