import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DataCatalog } from './catalog/data-catalog';
import { StageConfig } from '../core/config/stage-config';
import { PipelineFunction } from './lambda/pipeline-function';
import { PipelineMonitoring } from './monitoring/pipeline-monitoring';
import { PipelineNotifications } from './monitoring/pipeline-notifications';
import { acknowledgeAppWideFindings } from './nag-acknowledgements';
import { PipelineStateMachine } from './orchestration/pipeline-state-machine';
import { ReadyMarkerTrigger, ScheduledTrigger } from './orchestration/pipeline-triggers';
import { SparkProcessing } from './processing/spark-processing';
import { ServingDatabase } from './serving/serving-database';
import { ServingSchema } from './serving/serving-schema';
import { BiAccess } from './serving/bi-access';
import { RecommendationsApi } from './api/recommendations-api';
import { DataLakeStorage } from './storage/data-lake-storage';

export interface ShopSightStackProps extends StackProps {
  readonly config: StageConfig;
  /** Folder of the deployable Spark code. @default dist/spark-jobs */
  readonly sparkCodeDirectory?: string;
}

/**
 * One stage of ShopSight: the data lake buckets, the Glue catalog and Athena workgroup, the Aurora
 * serving cluster, the EMR Serverless application, the Lambdas, the state machine with its triggers,
 * and monitoring. Stateful resources follow the stage's removal policy (dev: destroyed with the
 * stack; prod: buckets retained, Aurora snapshotted).
 */
export class ShopSightStack extends Stack {
  readonly storage: DataLakeStorage;
  readonly catalog: DataCatalog;
  readonly serving: ServingDatabase;
  readonly servingSchema: ServingSchema;
  readonly recommendationsApi: RecommendationsApi;
  readonly biAccess: BiAccess;
  readonly processing: SparkProcessing;
  readonly pipeline: PipelineStateMachine;
  readonly notifications: PipelineNotifications;
  /** The notifications topic (`notifications.topic`). */
  readonly topic: sns.Topic;
  readonly config: StageConfig;
  readonly functions: { validateInput: PipelineFunction; dataQuality: PipelineFunction; loadServing: PipelineFunction };

  constructor(scope: Construct, id: string, props: ShopSightStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    const destroy = config.removalPolicy === 'destroy';
    const logRetention = logRetentionDays(config.retention.logRetentionDays);

    this.storage = new DataLakeStorage(this, 'Storage', {
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      athenaResultsExpirationDays: config.retention.athenaResultsDays,
      exportsExpirationDays: config.retention.exportsDays,
      emrLogsExpirationDays: config.retention.emrLogsDays,
      rawToInfrequentAccessDays: config.retention.rawToInfrequentAccessDays,
      rawToGlacierDays: config.retention.rawToGlacierDays,
    });

    this.catalog = new DataCatalog(this, 'Catalog', {
      databaseName: `shopsight_${config.stage}`,
      workGroupName: `shopsight-${config.stage}`,
      rawBucket: this.storage.rawBucket,
      curatedBucket: this.storage.curatedBucket,
      athenaResultsBucket: this.storage.athenaResultsBucket,
      bytesScannedCutoffGb: config.athena.bytesScannedCutoffGb,
      destroyWorkGroupContents: destroy,
    });

    this.serving = new ServingDatabase(this, 'Serving', {
      exportBucket: this.storage.exportBucket,
      engineVersion: config.aurora.engineVersion,
      minAcu: config.aurora.minAcu,
      maxAcu: config.aurora.maxAcu,
      autoPause: Duration.minutes(config.aurora.autoPauseMinutes),
      backupRetention: Duration.days(config.aurora.backupRetentionDays),
      deletionProtection: config.aurora.deletionProtection,
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT,
      logRetention,
    });

    // Migrations and the BI and loader users, applied on every deploy through the Data API.
    this.servingSchema = new ServingSchema(this, 'ServingSchema', { database: this.serving, logRetention });
    // The storefront's API reads as the read-only BI user; callers sign with SigV4 (grantInvoke).
    this.recommendationsApi = new RecommendationsApi(this, 'RecommendationsApi', {
      database: this.serving,
      readOnlySecret: this.servingSchema.biSecret,
      throttlingRateLimit: config.api.throttlingRateLimit,
      throttlingBurstLimit: config.api.throttlingBurstLimit,
      coefficientsCacheTtl: Duration.seconds(config.api.coefficientsCacheSeconds),
      logRetention,
    });
    // BI paths into the isolated VPC: each one off unless configured (biQuickSightVpcConnection, biBastion, biAllowedCidrs).
    this.biAccess = new BiAccess(this, 'BiAccess', {
      database: this.serving,
      quickSightVpcConnection: config.bi.quickSightVpcConnection,
      bastion: config.bi.bastion,
      allowedCidrs: config.bi.allowedCidrs,
    });

    const { storage, catalog, serving, servingSchema } = this;

    this.processing = new SparkProcessing(this, 'Processing', {
      rawBucket: storage.rawBucket,
      curatedBucket: storage.curatedBucket,
      exportBucket: storage.exportBucket,
      artifactsBucket: storage.artifactsBucket,
      glueArns: catalog.catalogArns,
      releaseLabel: config.emr.releaseLabel,
      maxVcpu: config.emr.maxVcpu,
      maxMemoryGb: config.emr.maxMemoryGb,
      maxDiskGb: config.emr.maxDiskGb,
      idleTimeoutMinutes: config.emr.idleTimeoutMinutes,
      preInitializedExecutors: config.emr.preInitializedExecutors,
      logRetention,
      codeDirectory: props.sparkCodeDirectory,
    });

    this.notifications = new PipelineNotifications(this, 'Notifications', {
      displayName: `ShopSight ${config.stage} pipeline`,
      alertEmail: config.alertEmail,
      // The id the deployed key has always had.
      keyId: 'NotificationKey',
    });
    this.topic = this.notifications.topic;

    const validateInput = new PipelineFunction(this, 'ValidateInput', {
      folder: 'validate-input',
      description: 'Checks the execution input and that every raw object exists, is non-empty and has a known header.',
      environment: { RAW_BUCKET: storage.rawBucket.bucketName },
      timeout: Duration.minutes(2),
      logRetention,
    });
    storage.grantRawRead(validateInput);

    const dataQuality = new PipelineFunction(this, 'DataQualityGate', {
      folder: 'data-quality-gate',
      description: 'Reconciles row counts between stages with Athena; fails the run on any mismatch.',
      environment: {
        ATHENA_WORKGROUP: catalog.workGroupName,
        GLUE_DATABASE: catalog.databaseName,
        CURATED_BUCKET: storage.curatedBucket.bucketName,
        EXPORT_BUCKET: storage.exportBucket.bucketName,
      },
      timeout: Duration.minutes(10),
      logRetention,
    });
    catalog.grantAthenaQueries(dataQuality);
    storage.grantRunSummaries(dataQuality, 'read');
    storage.grantRunExports(dataQuality, 'read');

    const loadServing = new PipelineFunction(this, 'LoadServing', {
      folder: 'load-serving',
      description: "Checks a run's serving exports against its manifest, loads them into Aurora MySQL staging tables and swaps them in atomically (one action per state).",
      environment: {
        EXPORT_BUCKET: storage.exportBucket.bucketName,
        CLUSTER_ARN: serving.cluster.clusterArn,
        // The loader user's secret: the Data API runs as whoever the secret names, never the admin here.
        SECRET_ARN: servingSchema.loaderSecret.secretArn,
        DATABASE_NAME: serving.databaseName,
      },
      // One action per call: at most a 45 s Data API call, the manifest and a few statements (the
      // swap's RENAME retries included); long LOADs run on in Aurora and are polled by the state machine.
      timeout: Duration.minutes(5),
      logRetention,
    });
    storage.grantRunExports(loadServing, 'read');
    servingSchema.grantLoaderDataApiAccess(loadServing);
    this.functions = { validateInput, dataQuality, loadServing };

    this.pipeline = new PipelineStateMachine(this, 'Pipeline', {
      processing: this.processing,
      validateInputFunction: validateInput,
      dataQualityFunction: dataQuality,
      loadServingFunction: loadServing,
      notificationTopic: this.topic,
      curatedUri: storage.curatedBucket.s3UrlForObject(),
      exportUri: storage.exportBucket.s3UrlForObject(),
      jobTimeoutMinutes: config.emr.jobTimeoutMinutes,
      logRetention,
    });
    const { stateMachine } = this.pipeline;
    if (config.trigger.onReadyMarker) new ReadyMarkerTrigger(this, 'ReadyMarkerTrigger', { stateMachine, rawBucket: storage.rawBucket });
    if (config.trigger.schedule) {
      new ScheduledTrigger(this, 'ScheduledTrigger', { stateMachine, schedule: config.trigger.schedule, inputPrefix: config.trigger.scheduleInputPrefix });
    }

    new PipelineMonitoring(this, 'Monitoring', {
      stateMachine,
      emrApplicationId: this.processing.application.attrApplicationId,
      functions: { 'validate-input': validateInput, 'data-quality-gate': dataQuality, 'load-serving': loadServing },
      cluster: serving.cluster,
      alarmTopic: this.topic,
      dashboardName: `ShopSight-${config.stage}`,
    });

    // The stack's outputs: their ids are a public interface (the README and users refer to them).
    const smArn = stateMachine.stateMachineArn;
    const outputs: [id: string, value: string, description: string][] = [
      ['RawBucketName', storage.rawBucket.bucketName, 'Upload raw exports here (rees46/…, retailrocket/events/…).'],
      ['CuratedBucketName', storage.curatedBucket.bucketName, 'Curated Parquet tables, one folder per table and run.'],
      ['ExportBucketName', storage.exportBucket.bucketName, 'Serving CSV exports and manifests for Aurora.'],
      ['ArtifactsBucketName', storage.artifactsBucket.bucketName, 'Spark code and EMR job logs.'],
      ['GlueDatabaseName', catalog.databaseName, 'Glue database with every contract table.'],
      ['AthenaWorkGroupName', catalog.workGroupName, 'Athena workgroup (engine v3) for analysts.'],
      ['AuroraEndpoint', serving.cluster.clusterEndpoint.hostname, 'Aurora MySQL writer endpoint (inside the VPC).'],
      ['AuroraClusterArn', serving.cluster.clusterArn, 'Cluster ARN for the RDS Data API.'],
      ['AuroraSecretArn', serving.cluster.secret!.secretArn, 'Admin credentials (Secrets Manager).'],
      ['AuroraDatabaseName', serving.databaseName, 'Database holding the serving tables.'],
      ['AuroraBiSecretArn', servingSchema.biSecret.secretArn, 'Read-only BI user (host, port, user, password) for Power BI and QuickSight.'],
      ['StateMachineArn', smArn, 'Start a run: aws stepfunctions start-execution --state-machine-arn <this> --input file://run.json'],
      [
        'StartExecutionConsoleUrl',
        `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${smArn}`,
        'Open, then "Start execution" with the README example input.',
      ],
      ['SparkApplicationId', this.processing.application.attrApplicationId, 'EMR Serverless application.'],
      ['SparkJobRoleArn', this.processing.jobRole.roleArn, 'Job runtime role (for running a job by hand).'],
      ['NotificationTopicArn', this.topic.topicArn, 'Subscribe here for success and failure notices.'],
    ];
    for (const [name, value, description] of outputs) new CfnOutput(this, name, { value, description });

    acknowledgeAppWideFindings(this);
  }
}


/** CloudWatch Logs only accepts certain retention values; the config is validated against them here. */
export function logRetentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`Log retention of ${days} days is not one CloudWatch offers; allowed: ${allowed.sort((a, b) => a - b).join(', ')}`);
  }
  return days as logs.RetentionDays;
}
