import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { OUTPUT_TABLES } from '../../core/contract';
import { CURATED_RUNS_PREFIX, curatedTablePrefix, EMR_LOGS_PREFIX, EXPORT_RUNS_PREFIX } from '../../core/contract/layout';
import { acknowledgeGrantedWildcard } from '../nag-acknowledgements';

export interface DataLakeStorageProps {
  /**
   * What happens to the buckets when the stack is deleted.
   * DESTROY also empties them (an auto-delete custom resource); RETAIN keeps data and buckets.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default 7 */
  readonly athenaResultsExpirationDays?: number;
  /** Serving CSV exports of old runs; Aurora holds the loaded copy. @default 14 */
  readonly exportsExpirationDays?: number;
  /** @default 14 */
  readonly emrLogsExpirationDays?: number;
  /** @default 30 */
  readonly rawToInfrequentAccessDays?: number;
  /** @default 90 */
  readonly rawToGlacierDays?: number;
}

/**
 * The data lake's buckets: raw input (versioned), curated Parquet, serving exports (CSV for Aurora),
 * Spark artifacts and job logs, Athena results, and the access-log bucket the others log to.
 * All are encrypted with S3-managed keys, refuse plain HTTP and block public access.
 */
export class DataLakeStorage extends Construct {
  readonly rawBucket: s3.Bucket;
  readonly curatedBucket: s3.Bucket;
  readonly exportBucket: s3.Bucket;
  readonly artifactsBucket: s3.Bucket;
  readonly athenaResultsBucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataLakeStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;
    const common: s3.BucketProps = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects,
    };

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    const logged = (name: string): s3.BucketProps => ({
      ...common,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `${name}/`,
    });
    const abortUploads: s3.LifecycleRule = { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) };

    this.rawBucket = new s3.Bucket(this, 'Raw', {
      ...logged('raw'),
      versioned: true,
      // EventBridge notifications let the optional `_READY` trigger start a run.
      eventBridgeEnabled: true,
      lifecycleRules: [
        abortUploads,
        {
          id: 'raw-to-cheaper-storage',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.rawToInfrequentAccessDays ?? 30) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(props.rawToGlacierDays ?? 90) },
          ],
        },
        { id: 'expire-replaced-raw-versions', noncurrentVersionExpiration: Duration.days(30) },
      ],
    });
    this.curatedBucket = new s3.Bucket(this, 'Curated', { ...logged('curated'), lifecycleRules: [abortUploads] });
    this.exportBucket = new s3.Bucket(this, 'Exports', {
      ...logged('exports'),
      lifecycleRules: [
        abortUploads,
        { id: 'expire-old-exports', prefix: EXPORT_RUNS_PREFIX, expiration: Duration.days(props.exportsExpirationDays ?? 14) },
      ],
    });
    this.artifactsBucket = new s3.Bucket(this, 'Artifacts', {
      ...logged('artifacts'),
      lifecycleRules: [
        abortUploads,
        { id: 'expire-emr-logs', prefix: EMR_LOGS_PREFIX, expiration: Duration.days(props.emrLogsExpirationDays ?? 14) },
      ],
    });
    this.athenaResultsBucket = new s3.Bucket(this, 'AthenaResults', {
      ...logged('athena-results'),
      lifecycleRules: [abortUploads, { id: 'expire-query-results', expiration: Duration.days(props.athenaResultsExpirationDays ?? 7) }],
    });
  }

  /** Read of the whole raw bucket (see grantRawRead below). */
  grantRawRead(grantee: iam.IGrantable): void {
    grantRawRead(this.rawBucket, grantee);
  }

  /** Access to the run summaries in the curated bucket (see grantRunSummaries below). */
  grantRunSummaries(grantee: iam.IGrantable, access: ObjectAccess): void {
    grantRunSummaries(this.curatedBucket, grantee, access);
  }

  /** Access to the runs' serving exports (see grantRunExports below). */
  grantRunExports(grantee: iam.IGrantable, access: ObjectAccess): void {
    grantRunExports(this.exportBucket, grantee, access);
  }
}

// ---------------------------------------------------------------------------------------------
// Prefix grants of the data lake's layout, each acknowledging its IAM5 wildcard on the grantee
// ---------------------------------------------------------------------------------------------

export type ObjectAccess = 'read' | 'readWrite' | 'put';

/**
 * Grants `access` to the objects of `bucket` whose keys match `pattern` (CDK's objectsKeyPattern),
 * and acknowledges cdk-nag's IAM5 finding for that wildcard on the grantee, with `reason`.
 */
export function grantObjects(bucket: s3.IBucket, grantee: iam.IGrantable, pattern: string, access: ObjectAccess, reason: string): iam.Grant {
  const grant =
    access === 'read' ? bucket.grantRead(grantee, pattern) : access === 'put' ? bucket.grantPut(grantee, pattern) : bucket.grantReadWrite(grantee, pattern);
  acknowledgeGrantedWildcard(grantee, bucket.arnForObjects(pattern), reason);
  return grant;
}

/** Every contract table's folder in the curated bucket (one folder per table, one per run under it). */
export function grantContractTables(curatedBucket: s3.IBucket, grantee: iam.IGrantable, access: ObjectAccess): void {
  for (const table of OUTPUT_TABLES) {
    grantObjects(
      curatedBucket,
      grantee,
      `${curatedTablePrefix(table.name)}*`,
      access,
      `Objects of the contract table "${table.name}" (one folder per run under it); the Spark jobs write them and the data-quality gate reads them through Athena.`,
    );
  }
}

/** The run summaries in the curated bucket, one object per run id. */
export function grantRunSummaries(curatedBucket: s3.IBucket, grantee: iam.IGrantable, access: ObjectAccess): void {
  grantObjects(curatedBucket, grantee, `${CURATED_RUNS_PREFIX}*`, access, 'Run summaries, one object per run id, written by the prepare job and read by the gate.');
}

/** The serving CSV exports and manifests, one folder per run id. */
export function grantRunExports(exportBucket: s3.IBucket, grantee: iam.IGrantable, access: ObjectAccess): void {
  grantObjects(exportBucket, grantee, `${EXPORT_RUNS_PREFIX}*`, access, 'Serving CSV exports and manifests, one folder per run id.');
}

/** The whole raw bucket, read-only: a run reads whatever raw folder its execution input names. */
export function grantRawRead(rawBucket: s3.IBucket, grantee: iam.IGrantable): void {
  grantObjects(
    rawBucket,
    grantee,
    '*',
    'read',
    'A run reads whatever raw folder its execution input names, so the Spark jobs and validate-input may read the whole raw bucket (read-only).',
  );
}
