import * as crypto from 'crypto';
import * as path from 'path';
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { LAMBDAS_ROOT } from '../lambda/pipeline-function';
import { acknowledge, acknowledgeWildcardResource } from '../nag-acknowledgements';
import { MIGRATIONS } from '../../core/serving/mysql-schema';
import { ServingDatabase } from './serving-database';

export interface ServingSchemaProps {
  readonly database: ServingDatabase;
  /** @default 'shopsight_bi' */
  readonly biUsername?: string;
  /** @default 'shopsight_loader' */
  readonly loaderUsername?: string;
  /** @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
}

/** The Data API actions a loader needs on the cluster (statements and transactions). */
const DATA_API_ACTIONS = [
  'rds-data:ExecuteStatement',
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
];

/**
 * The serving schema applied on deploy: a custom resource (Provider + the serving-schema Lambda)
 * that runs the pending migrations through the Data API as the admin, then creates or updates two
 * database users whose credentials it generates here in Secrets Manager:
 * - `biSecret`: read-only BI user (SELECT on the served tables and dashboard views);
 * - `loaderSecret`: the load-serving identity (staging, LOAD FROM S3, swap, load_runs), which is
 *   what load-serving passes to the Data API instead of the admin secret.
 * A new migration changes `SchemaVersion`, so CloudFormation updates the resource and applies it.
 */
export class ServingSchema extends Construct {
  readonly biSecret: secretsmanager.ISecret;
  readonly loaderSecret: secretsmanager.ISecret;
  readonly handler: nodejs.NodejsFunction;
  readonly resource: CustomResource;
  private readonly clusterArn: string;

  constructor(scope: Construct, id: string, props: ServingSchemaProps) {
    super(scope, id);
    const { cluster, databaseName } = props.database;
    const logRetention = props.logRetention ?? logs.RetentionDays.TWO_WEEKS;
    this.clusterArn = cluster.clusterArn;

    // DatabaseSecret leaves out characters that break connection strings; attached, the secret also
    // carries host, port and engine, which is what a BI tool's connection dialog asks for.
    const userSecret = (secretId: string, username: string): secretsmanager.ISecret =>
      new rds.DatabaseSecret(this, secretId, { username, dbname: databaseName }).attach(cluster);
    this.biSecret = userSecret('BiSecret', props.biUsername ?? 'shopsight_bi');
    this.loaderSecret = userSecret('LoaderSecret', props.loaderUsername ?? 'shopsight_loader');

    const logGroup = new logs.LogGroup(this, 'HandlerLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Applies the serving schema migrations and database users through the Data API',
    });
    logGroup.grantWrite(role);
    // Built like PipelineFunction, except that the Secrets Manager client comes from the runtime.
    this.handler = new nodejs.NodejsFunction(this, 'Handler', {
      role,
      entry: path.join(LAMBDAS_ROOT, 'serving-schema', 'index.ts'),
      handler: 'handler',
      description: 'Applies pending serving schema migrations and the BI and loader users (custom resource).',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // A paused cluster takes up to a minute to resume; the migrations then take seconds.
      timeout: Duration.minutes(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        target: 'node22',
        format: nodejs.OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        externalModules: ['@aws-sdk/client-secrets-manager'],
      },
    });
    // Admin through the Data API (the schema owner), and the two user secrets to read their passwords.
    cluster.grantDataApiAccess(this.handler);
    this.biSecret.grantRead(this.handler);
    this.loaderSecret.grantRead(this.handler);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }),
    });
    const schemaVersion = crypto
      .createHash('sha256')
      .update(JSON.stringify(MIGRATIONS))
      .digest('hex')
      .slice(0, 16);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::ServingSchema',
      properties: {
        ClusterArn: cluster.clusterArn,
        AdminSecretArn: cluster.secret!.secretArn,
        DatabaseName: databaseName,
        BiSecretArn: this.biSecret.secretArn,
        LoaderSecretArn: this.loaderSecret.secretArn,
        SchemaVersion: `${MIGRATIONS.length}-${schemaVersion}`,
      },
    });
    // The writer must exist before the first statement.
    this.resource.node.addDependency(cluster);

    acknowledgeWildcardResource(
      this,
      `${this.handler.functionArn}:*`,
      "The custom-resources Provider framework invokes the serving-schema handler (CDK's invoke grant on the function ARN and ARN:*).",
    );
    acknowledge(
      this,
      'SMG4',
      'The BI and loader secrets are used through the Data API and by BI clients; rotation would need a rotation Lambda inside the isolated VPC with a Secrets Manager interface endpoint (no NAT). This custom resource re-applies the BI and loader passwords from their secrets on every deploy, so a new secret value takes effect by redeploying.',
    );
  }

  /** Lets a function run SQL through the Data API as the loader user (never the admin). */
  grantLoaderDataApiAccess(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: DATA_API_ACTIONS, resourceArns: [this.clusterArn] });
    this.loaderSecret.grantRead(grantee);
  }

  /** Lets a function read through the Data API as the BI user (for the recommendations API). */
  grantBiDataApiAccess(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: DATA_API_ACTIONS, resourceArns: [this.clusterArn] });
    this.biSecret.grantRead(grantee);
  }
}
