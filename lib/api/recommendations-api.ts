/**
 * The storefront's recommendations API: an API Gateway HTTP API in front of the
 * recommendations-api Lambda, which reads the Aurora serving tables through the Data API as the
 * read-only BI user (lambdas/recommendations-api/).
 *
 * Authentication: IAM (SigV4). The caller is the storefront's backend, an AWS workload with a role
 * of its own; it signs each request and is granted `execute-api:Invoke` on this API only
 * (`grantInvoke`). HTTP APIs have no API keys or usage plans (those are REST API features), and an
 * API key is a shared secret to store and rotate, identifying a client but not authenticating it;
 * IAM gives per-caller identity in the access log, no secret to distribute, and revocation by
 * policy. Per-client quotas are not needed for one backend: the stage's throttling bounds the load
 * the API can put on Aurora.
 *
 * Access: the function may call only `rds-data:ExecuteStatement` on the cluster (no transactions,
 * no batch) and read only the read-only secret it is given; the database user behind that secret
 * has SELECT only. Access logs: JSON, one line per request, in a log group with a set retention.
 */
import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { API_ROUTES, RouteName } from '../../core/api/routes';
import { PipelineFunction } from '../lambda/pipeline-function';
import { ServingDatabase } from '../serving/serving-database';

export interface RecommendationsApiProps {
  readonly database: ServingDatabase;
  /** Secret of a read-only database user (ServingSchema.biSecret): the only credentials the API may read. */
  readonly readOnlySecret: secretsmanager.ISecret;
  /** Steady-state requests per second for the whole stage (config `api.throttlingRateLimit`). @default 50 */
  readonly throttlingRateLimit?: number;
  /** Burst above the rate (config `api.throttlingBurstLimit`). @default 100 */
  readonly throttlingBurstLimit?: number;
  /** How long a Lambda container keeps the intent coefficients (config `api.coefficientsCacheSeconds`). @default Duration.seconds(60) */
  readonly coefficientsCacheTtl?: Duration;
  /** Lambda timeout, below API Gateway's 30 s integration limit. @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Function and access log retention. @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
}

/** Access log fields (HTTP API $context variables), one JSON object per request. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
};

export class RecommendationsApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly handler: PipelineFunction;
  readonly accessLogGroup: logs.LogGroup;
  /** Base URL of the API (the $default stage). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RecommendationsApiProps) {
    super(scope, id);
    const { cluster, databaseName } = props.database;
    const logRetention = props.logRetention ?? logs.RetentionDays.TWO_WEEKS;
    const rateLimit = props.throttlingRateLimit ?? 50;
    const burstLimit = props.throttlingBurstLimit ?? 100;
    if (!(rateLimit > 0) || !(burstLimit > 0) || !Number.isInteger(burstLimit)) {
      throw new Error(`RecommendationsApi: throttling needs a rate > 0 and a whole burst > 0 (got ${rateLimit}, ${burstLimit})`);
    }
    const timeout = props.timeout ?? Duration.seconds(10);
    if (timeout.toSeconds() > 29) throw new Error('RecommendationsApi: the Lambda timeout must stay below API Gateway\'s 30 s integration timeout');

    this.handler = new PipelineFunction(this, 'Handler', {
      folder: 'recommendations-api',
      description: 'Storefront recommendations API: ALS recommendations, bought-together, segments, spend forecasts and purchase-intent scoring from Aurora (read-only).',
      environment: {
        CLUSTER_ARN: cluster.clusterArn,
        SECRET_ARN: props.readOnlySecret.secretArn,
        DATABASE_NAME: databaseName,
        COEFFICIENTS_TTL_SECONDS: String((props.coefficientsCacheTtl ?? Duration.seconds(60)).toSeconds()),
      },
      timeout,
      memorySize: props.memorySize ?? 512,
      logRetention,
    });
    // Read-only: single statements only (no transactions, no batch), as the read-only user.
    this.handler.addToRolePolicy(new iam.PolicyStatement({ actions: ['rds-data:ExecuteStatement'], resources: [cluster.clusterArn] }));
    this.handler.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.readOnlySecret.secretArn] }));
    props.readOnlySecret.encryptionKey?.grantDecrypt(this.handler);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      description: 'ShopSight recommendations API for the storefront backend (IAM-signed requests).',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const integration = new HttpLambdaIntegration('Integration', this.handler, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
    for (const name of Object.keys(API_ROUTES) as RouteName[]) {
      const route = API_ROUTES[name];
      this.httpApi.addRoutes({ path: route.path, methods: [route.method as apigwv2.HttpMethod], integration });
    }
    this.url = this.stage.url;
    new CfnOutput(this, 'Url', { value: this.url, description: 'Recommendations API base URL (IAM/SigV4-signed requests; see grantInvoke).' });
  }

  /** Lets a principal (the storefront backend's role) call every route of the API. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: Object.values(API_ROUTES).map((r) => this.httpApi.arnForExecuteApi(r.method, r.path.replace(/\{\w+\}/g, '*'), this.stage.stageName)),
    });
  }
}
