/**
 * Per-stage deployment settings, read from CDK context (`-c stage=prod -c auroraMaxAcu=16`) and
 * validated at synth time: a bad value fails the synth with a message naming the key and what is allowed.
 */
import { requiredCapacity } from './worker-sizing';

export const STAGES = ['dev', 'prod'] as const;
export type Stage = (typeof STAGES)[number];
export type RemovalChoice = 'destroy' | 'retain';

export interface StageConfig {
  readonly stage: Stage;
  /** destroy: buckets are emptied and deleted with the stack (dev). retain: data outlives the stack (prod). */
  readonly removalPolicy: RemovalChoice;
  /** Subscribed to the pipeline's SNS topic for failure and success notices. */
  readonly alertEmail?: string;
  readonly emr: {
    /** EMR release of the Serverless application (Spark 3.5, Python 3.9). */
    readonly releaseLabel: string;
    /** Upper bound of the whole application, all jobs together. */
    readonly maxVcpu: number;
    readonly maxMemoryGb: number;
    readonly maxDiskGb: number;
    /** The application stops after this many idle minutes (no charge while stopped). */
    readonly idleTimeoutMinutes: number;
    /** Keep one driver and this many executors warm (billed while the application is started); 0 = none. */
    readonly preInitializedExecutors: number;
    /** Each job run is cancelled after this long. */
    readonly jobTimeoutMinutes: number;
  };
  readonly aurora: {
    /** Aurora MySQL 3 engine version, e.g. 3.10.4 (3.08 or later: needed for a minimum of 0 ACU). */
    readonly engineVersion: string;
    /** 0 lets the cluster pause when idle (dev); prod keeps at least this many ACUs. */
    readonly minAcu: number;
    readonly maxAcu: number;
    /** With minAcu 0: pause after this many idle minutes. */
    readonly autoPauseMinutes: number;
    readonly backupRetentionDays: number;
    readonly deletionProtection: boolean;
  };
  readonly athena: {
    /** Queries scanning more than this are cancelled (cost guard). */
    readonly bytesScannedCutoffGb: number;
  };
  readonly retention: {
    readonly athenaResultsDays: number;
    readonly exportsDays: number;
    readonly emrLogsDays: number;
    /** Raw input moves to S3 Standard-IA after this many days, to Glacier Instant Retrieval after rawToGlacierDays. */
    readonly rawToInfrequentAccessDays: number;
    readonly rawToGlacierDays: number;
    readonly logRetentionDays: number;
  };
  readonly trigger: {
    /** Start a run when a `_READY` object is uploaded under a raw folder. */
    readonly onReadyMarker: boolean;
    /** Optional EventBridge schedule expression, e.g. "cron(0 3 * * ? *)". */
    readonly schedule?: string;
    /** Raw prefix a scheduled run reads. */
    readonly scheduleInputPrefix: string;
  };
  /** The storefront's recommendations API (HTTP API, IAM-authorised). */
  readonly api: {
    /** Steady-state requests per second across all routes. */
    readonly throttlingRateLimit: number;
    readonly throttlingBurstLimit: number;
    /** How long a Lambda container keeps the purchase-intent coefficients. */
    readonly coefficientsCacheSeconds: number;
  };
  /** BI access to Aurora; every path is off unless configured. */
  readonly bi: {
    /** A QuickSight VPC connection into the database subnets (needs QuickSight Enterprise). */
    readonly quickSightVpcConnection: boolean;
    /** A t4g.nano SSM bastion for Power BI Desktop through port forwarding (≈ $26/month with its endpoints). */
    readonly bastion: boolean;
    /** Private CIDRs (a VPN or Direct Connect range routed into the VPC) allowed to 3306. */
    readonly allowedCidrs: readonly string[];
  };
}

const DEFAULTS: Record<Stage, StageConfig> = {
  dev: {
    stage: 'dev',
    removalPolicy: 'destroy',
    emr: {
      releaseLabel: 'emr-7.12.0',
      maxVcpu: 16,
      maxMemoryGb: 64,
      maxDiskGb: 400,
      idleTimeoutMinutes: 5,
      preInitializedExecutors: 0,
      jobTimeoutMinutes: 120,
    },
    aurora: {
      engineVersion: '3.10.4',
      minAcu: 0,
      maxAcu: 4,
      autoPauseMinutes: 15,
      backupRetentionDays: 1,
      deletionProtection: false,
    },
    athena: { bytesScannedCutoffGb: 10 },
    retention: {
      athenaResultsDays: 7,
      exportsDays: 14,
      emrLogsDays: 14,
      rawToInfrequentAccessDays: 30,
      rawToGlacierDays: 90,
      logRetentionDays: 14,
    },
    trigger: { onReadyMarker: false, scheduleInputPrefix: 'rees46/' },
    api: { throttlingRateLimit: 50, throttlingBurstLimit: 100, coefficientsCacheSeconds: 60 },
    bi: { quickSightVpcConnection: false, bastion: false, allowedCidrs: [] },
  },
  prod: {
    stage: 'prod',
    removalPolicy: 'retain',
    emr: {
      releaseLabel: 'emr-7.12.0',
      maxVcpu: 64,
      maxMemoryGb: 256,
      maxDiskGb: 2000,
      idleTimeoutMinutes: 15,
      preInitializedExecutors: 0,
      jobTimeoutMinutes: 360,
    },
    aurora: {
      engineVersion: '3.10.4',
      minAcu: 0.5,
      maxAcu: 16,
      autoPauseMinutes: 60,
      backupRetentionDays: 14,
      deletionProtection: true,
    },
    athena: { bytesScannedCutoffGb: 100 },
    retention: {
      athenaResultsDays: 30,
      exportsDays: 90,
      emrLogsDays: 90,
      rawToInfrequentAccessDays: 30,
      rawToGlacierDays: 180,
      logRetentionDays: 365,
    },
    trigger: { onReadyMarker: true, scheduleInputPrefix: 'rees46/' },
    api: { throttlingRateLimit: 200, throttlingBurstLimit: 400, coefficientsCacheSeconds: 60 },
    bi: { quickSightVpcConnection: false, bastion: false, allowedCidrs: [] },
  },
};

type Parser = (raw: unknown, key: string) => unknown;

/** A user's configuration mistake: bin/shopsight.ts prints its message alone, without a stack trace. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const invalid = (key: string, raw: unknown, allowed: string): ConfigError =>
  new ConfigError(`Invalid CDK context "${key}": ${JSON.stringify(raw)}; allowed: ${allowed}`);

const number =
  (min: number, max: number, opts: { integer?: boolean; step?: number } = {}): Parser =>
  (raw, key) => {
    const allowed = `${opts.integer ? 'an integer' : 'a number'} from ${min} to ${max}${opts.step ? ` in steps of ${opts.step}` : ''}`;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (opts.integer && !Number.isInteger(value)) ||
      (opts.step !== undefined && Math.abs(value / opts.step - Math.round(value / opts.step)) > 1e-9)
    ) {
      throw invalid(key, raw, allowed);
    }
    return value;
  };

const oneOf =
  (values: readonly string[]): Parser =>
  (raw, key) => {
    if (typeof raw !== 'string' || !values.includes(raw)) throw invalid(key, raw, values.join(', '));
    return raw;
  };

const bool: Parser = (raw, key) => {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw invalid(key, raw, 'true, false');
};

/** A comma-separated list of IPv4 CIDRs (private ranges are checked by the BiAccess construct). */
const cidrList: Parser = (raw, key) => {
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  if (typeof text !== 'string') throw invalid(key, raw, 'comma-separated IPv4 CIDRs such as 10.20.0.0/16');
  const list = text.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of list) {
    if (!/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(c)) throw invalid(key, raw, 'comma-separated IPv4 CIDRs such as 10.20.0.0/16');
  }
  return list;
};

const pattern =
  (re: RegExp, allowed: string): Parser =>
  (raw, key) => {
    if (typeof raw !== 'string' || !re.test(raw)) throw invalid(key, raw, allowed);
    return raw;
  };

/** Every context key this app reads, the setting it overrides and its parser. */
const OVERRIDES: Record<string, { path: string[]; parse: Parser }> = {
  removalPolicy: { path: ['removalPolicy'], parse: oneOf(['destroy', 'retain']) },
  alertEmail: { path: ['alertEmail'], parse: pattern(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address') },
  emrReleaseLabel: { path: ['emr', 'releaseLabel'], parse: pattern(/^emr-7\.\d+\.\d+$/, 'an EMR 7 release label such as emr-7.12.0') },
  emrMaxVcpu: { path: ['emr', 'maxVcpu'], parse: number(1, 4000, { integer: true }) },
  emrMaxMemoryGb: { path: ['emr', 'maxMemoryGb'], parse: number(2, 30000, { integer: true }) },
  emrMaxDiskGb: { path: ['emr', 'maxDiskGb'], parse: number(20, 200000, { integer: true }) },
  emrIdleTimeoutMinutes: { path: ['emr', 'idleTimeoutMinutes'], parse: number(1, 10080, { integer: true }) },
  emrPreInitializedExecutors: { path: ['emr', 'preInitializedExecutors'], parse: number(0, 100, { integer: true }) },
  emrJobTimeoutMinutes: { path: ['emr', 'jobTimeoutMinutes'], parse: number(5, 10080, { integer: true }) },
  auroraEngineVersion: {
    path: ['aurora', 'engineVersion'],
    parse: pattern(/^3\.(0[89]|[1-9]\d)\.\d+$/, 'an Aurora MySQL 3 version from 3.08.0 on, such as 3.10.4'),
  },
  auroraMinAcu: { path: ['aurora', 'minAcu'], parse: number(0, 256, { step: 0.5 }) },
  auroraMaxAcu: { path: ['aurora', 'maxAcu'], parse: number(1, 256, { step: 0.5 }) },
  auroraAutoPauseMinutes: { path: ['aurora', 'autoPauseMinutes'], parse: number(5, 1440, { integer: true }) },
  auroraBackupRetentionDays: { path: ['aurora', 'backupRetentionDays'], parse: number(1, 35, { integer: true }) },
  auroraDeletionProtection: { path: ['aurora', 'deletionProtection'], parse: bool },
  athenaBytesScannedCutoffGb: { path: ['athena', 'bytesScannedCutoffGb'], parse: number(1, 100000, { integer: true }) },
  triggerOnReadyMarker: { path: ['trigger', 'onReadyMarker'], parse: bool },
  triggerSchedule: {
    path: ['trigger', 'schedule'],
    parse: pattern(/^(cron|rate)\(.+\)$/, 'an EventBridge schedule expression such as cron(0 3 * * ? *) or rate(1 day)'),
  },
  triggerInputPrefix: { path: ['trigger', 'scheduleInputPrefix'], parse: pattern(/^[^/].*\/$/, 'a raw key prefix ending in "/"') },
  apiThrottlingRateLimit: { path: ['api', 'throttlingRateLimit'], parse: number(1, 10000, { integer: true }) },
  apiThrottlingBurstLimit: { path: ['api', 'throttlingBurstLimit'], parse: number(1, 5000, { integer: true }) },
  apiCoefficientsCacheSeconds: { path: ['api', 'coefficientsCacheSeconds'], parse: number(0, 3600, { integer: true }) },
  biQuickSightVpcConnection: { path: ['bi', 'quickSightVpcConnection'], parse: bool },
  biBastion: { path: ['bi', 'bastion'], parse: bool },
  biAllowedCidrs: { path: ['bi', 'allowedCidrs'], parse: cidrList },
};

export const CONTEXT_KEYS = ['stage', ...Object.keys(OVERRIDES)];

/** Context keys that belong to the CDK itself or its tools, not to this app. */
const isForeignKey = (key: string): boolean => /[:@/]/.test(key) || key.startsWith('cdk') || key.startsWith('aws');

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[path[path.length - 1]] = value;
}

/**
 * Builds the stage configuration from a context lookup (`key => app.node.tryGetContext(key)`).
 * `allKeys` lists every context key present, so that a misspelt key fails instead of being ignored.
 */
export function loadStageConfig(context: (key: string) => unknown, allKeys: readonly string[] = []): StageConfig {
  for (const key of allKeys) {
    if (!isForeignKey(key) && !CONTEXT_KEYS.includes(key)) {
      throw new ConfigError(`Unknown CDK context "${key}"; allowed keys: ${CONTEXT_KEYS.join(', ')}`);
    }
  }
  const stage = oneOf(STAGES)(context('stage') ?? 'dev', 'stage') as Stage;
  const config = structuredClone(DEFAULTS[stage]) as unknown as Record<string, unknown>;
  for (const [key, { path, parse }] of Object.entries(OVERRIDES)) {
    const raw = context(key);
    if (raw !== undefined) setPath(config, path, parse(raw, key));
  }
  const result = config as unknown as StageConfig;
  if (result.aurora.minAcu > result.aurora.maxAcu) {
    throw new ConfigError(
      `Invalid CDK context "auroraMinAcu": ${result.aurora.minAcu} is above auroraMaxAcu ${result.aurora.maxAcu}; allowed: a minimum at most the maximum`,
    );
  }
  checkEmrCapacity(result.emr);
  return result;
}

/**
 * The application's cap must hold what the pipeline starts at once: the AnalyticsJobs Parallel
 * state's drivers (one per analytics job) and their initial executors (or prepare alone, if it needs more), plus any
 * pre-initialised executors they leave idle. Below that, jobs wait for capacity until they time out.
 */
function checkEmrCapacity(emr: StageConfig['emr']): void {
  const need = requiredCapacity(emr.preInitializedExecutors);
  const checks = [
    { key: 'emrMaxVcpu', have: emr.maxVcpu, want: need.total.vcpu, unit: 'vCPU', reason: need.reason.vcpu },
    { key: 'emrMaxMemoryGb', have: emr.maxMemoryGb, want: need.total.memoryGb, unit: 'GB of memory', reason: need.reason.memoryGb },
    { key: 'emrMaxDiskGb', have: emr.maxDiskGb, want: need.total.diskGb, unit: 'GB of disk', reason: need.reason.diskGb },
  ];
  for (const { key, have, want, unit, reason } of checks) {
    if (have < want) {
      const hint = emr.preInitializedExecutors > 0 ? ' (or fewer emrPreInitializedExecutors)' : '';
      throw new ConfigError(
        `Invalid CDK context "${key}": ${have} is below the ${want} ${unit} that ${reason} needs at once; allowed: at least ${want}${hint}`,
      );
    }
  }
}
