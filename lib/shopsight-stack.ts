import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DataCatalog } from './catalog/data-catalog';
import { StageConfig } from '../core/config/stage-config';
import { OUTPUT_TABLES } from '../core/contract';
import { CURATED_RUNS_PREFIX, curatedTablePrefix, EXPORT_RUNS_PREFIX, READY_MARKER } from '../core/contract/layout';
import { PipelineFunction } from './lambda/pipeline-function';
import { PipelineMonitoring } from './monitoring/pipeline-monitoring';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { PipelineStateMachine } from './orchestration/pipeline-state-machine';
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

    const out = (name: string, value: string, description: string): CfnOutput =>
      new CfnOutput(this, name, { value, description });
    out('RawBucketName', this.storage.rawBucket.bucketName, 'Upload raw exports here (rees46/…, retailrocket/events/…).');
    out('CuratedBucketName', this.storage.curatedBucket.bucketName, 'Curated Parquet tables, one folder per table and run.');
    out('ExportBucketName', this.storage.exportBucket.bucketName, 'Serving CSV exports and manifests for Aurora.');
    out('ArtifactsBucketName', this.storage.artifactsBucket.bucketName, 'Spark code and EMR job logs.');
    out('GlueDatabaseName', this.catalog.databaseName, 'Glue database with every contract table.');
    out('AthenaWorkGroupName', this.catalog.workGroupName, 'Athena workgroup (engine v3) for analysts.');
    out('AuroraEndpoint', this.serving.cluster.clusterEndpoint.hostname, 'Aurora MySQL writer endpoint (inside the VPC).');
    out('AuroraClusterArn', this.serving.cluster.clusterArn, 'Cluster ARN for the RDS Data API.');
    out('AuroraSecretArn', this.serving.cluster.secret!.secretArn, 'Admin credentials (Secrets Manager).');
    out('AuroraDatabaseName', this.serving.databaseName, 'Database holding the serving tables.');
    out('AuroraBiSecretArn', this.servingSchema.biSecret.secretArn, 'Read-only BI user (host, port, user, password) for Power BI and QuickSight.');

    const { storage, catalog, serving } = this;

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

    // Customer-managed key: CloudWatch alarms can only publish to an encrypted topic whose key
    // policy lets their service principal use the key (the AWS-managed SNS key does not).
    const topicKey = new kms.Key(this, 'NotificationKey', {
      description: 'ShopSight pipeline notifications',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new sns.Topic(this, 'Notifications', {
      displayName: `ShopSight ${config.stage} pipeline`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (config.alertEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alertEmail));

    const validateInput = new PipelineFunction(this, 'ValidateInput', {
      folder: 'validate-input',
      description: 'Checks the execution input and that every raw object exists, is non-empty and has a known header.',
      environment: { RAW_BUCKET: storage.rawBucket.bucketName },
      timeout: Duration.minutes(2),
      logRetention,
    });
    storage.rawBucket.grantRead(validateInput);

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
    this.grantAthenaQueries(dataQuality);
    storage.curatedBucket.grantRead(dataQuality, `${CURATED_RUNS_PREFIX}*`);
    storage.exportBucket.grantRead(dataQuality, `${EXPORT_RUNS_PREFIX}*`);

    const loadServing = new PipelineFunction(this, 'LoadServing', {
      folder: 'load-serving',
      description: "Checks a run's serving exports against its manifest, loads them into Aurora MySQL staging tables and swaps them in atomically (one action per state).",
      environment: {
        EXPORT_BUCKET: storage.exportBucket.bucketName,
        CLUSTER_ARN: serving.cluster.clusterArn,
        // The loader user's secret: the Data API runs as whoever the secret names, never the admin here.
        SECRET_ARN: this.servingSchema.loaderSecret.secretArn,
        DATABASE_NAME: serving.databaseName,
      },
      // One action per call: at most a 45 s Data API call, the manifest and a few statements (the
      // swap's RENAME retries included); long LOADs run on in Aurora and are polled by the state machine.
      timeout: Duration.minutes(5),
      logRetention,
    });
    storage.exportBucket.grantRead(loadServing, `${EXPORT_RUNS_PREFIX}*`);
    this.servingSchema.grantLoaderDataApiAccess(loadServing);
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

    const stateMachineTarget = (input: Record<string, unknown>): targets.SfnStateMachine =>
      new targets.SfnStateMachine(this.pipeline.stateMachine, {
        input: events.RuleTargetInput.fromObject(input),
        retryAttempts: 4,
      });
    if (config.trigger.onReadyMarker) {
      new events.Rule(this, 'ReadyMarkerTrigger', {
        description: `Starts a ShopSight run when a ${READY_MARKER} object lands in the raw bucket; the run reads that folder.`,
        eventPattern: {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: {
            bucket: { name: [storage.rawBucket.bucketName] },
            object: { key: [{ suffix: READY_MARKER }] },
          },
        },
        targets: [stateMachineTarget({ inputPrefix: events.EventField.fromPath('$.detail.object.key') })],
      });
    }
    if (config.trigger.schedule) {
      new events.Rule(this, 'ScheduledTrigger', {
        description: `Runs ShopSight on ${config.trigger.scheduleInputPrefix} on a schedule.`,
        schedule: events.Schedule.expression(config.trigger.schedule),
        targets: [stateMachineTarget({ inputPrefix: config.trigger.scheduleInputPrefix })],
      });
    }

    new PipelineMonitoring(this, 'Monitoring', {
      stateMachine: this.pipeline.stateMachine,
      emrApplicationId: this.processing.application.attrApplicationId,
      functions: { 'validate-input': validateInput, 'data-quality-gate': dataQuality, 'load-serving': loadServing },
      cluster: serving.cluster,
      alarmTopic: this.topic,
      dashboardName: `ShopSight-${config.stage}`,
    });

    const smArn = this.pipeline.stateMachine.stateMachineArn;
    out('StateMachineArn', smArn, 'Start a run: aws stepfunctions start-execution --state-machine-arn <this> --input file://run.json');
    out(
      'StartExecutionConsoleUrl',
      `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${smArn}`,
      'Open, then "Start execution" with the README example input.',
    );
    out('SparkApplicationId', this.processing.application.attrApplicationId, 'EMR Serverless application.');
    out('SparkJobRoleArn', this.processing.jobRole.roleArn, 'Job runtime role (for running a job by hand).');
    out('NotificationTopicArn', this.topic.topicArn, 'Subscribe here for success and failure notices.');

    acknowledgeNagFindings(this);
  }

  /** Athena in the pipeline's workgroup, reading the catalog's tables and curated data, writing results. */
  private grantAthenaQueries(fn: PipelineFunction): void {
    const { storage, catalog } = this;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RunAthenaQueries',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        resources: [`arn:${Aws.PARTITION}:athena:${Aws.REGION}:${Aws.ACCOUNT_ID}:workgroup/${catalog.workGroupName}`],
      }),
    );
    const arns = catalog.catalogArns;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadCatalog',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [arns.catalog, arns.database, arns.tables],
      }),
    );
    for (const table of OUTPUT_TABLES) storage.curatedBucket.grantRead(fn, `${curatedTablePrefix(table.name)}*`);
    storage.athenaResultsBucket.grantReadWrite(fn, 'results/*');
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
