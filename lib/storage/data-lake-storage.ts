import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EMR_LOGS_PREFIX, EXPORT_RUNS_PREFIX } from '../../core/contract/layout';

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
}
