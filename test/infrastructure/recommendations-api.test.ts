/**
 * The recommendations API construct: HTTP API with IAM auth on every route, stage throttling and
 * JSON access logs, the Lambda built like every PipelineFunction with read-only Data API access
 * (ExecuteStatement on the cluster, GetSecretValue on the BI secret only), the URL output, and no
 * unacknowledged cdk-nag finding.
 */
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { API_ROUTES } from '../../core/api/routes';
import { RecommendationsApi } from '../../lib/api/recommendations-api';
import { acknowledgeStackWide, findingsUnder, nagViolations, servingTestStack } from '../support/serving-test-stack';

function build(props: Partial<ConstructorParameters<typeof RecommendationsApi>[2]> = {}) {
  const t = servingTestStack();
  const api = new RecommendationsApi(t.stack, 'RecommendationsApi', { database: t.database, readOnlySecret: t.schema.biSecret, ...props });
  return { ...t, api };
}

describe('RecommendationsApi', () => {
  const { stack, api, database, schema } = build({ throttlingRateLimit: 25, throttlingBurstLimit: 40, coefficientsCacheTtl: Duration.seconds(30) });
  const template = Template.fromStack(stack);
  const ref = (c: { node: { defaultChild?: unknown } } | unknown) => stack.resolve((c as { secretArn?: string }).secretArn ?? c);

  test('one route per API route, every one IAM-authorized, proxied to the Lambda with payload 2.0', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.values(routes).map((r) => r.Properties.RouteKey).sort()).toEqual(Object.values(API_ROUTES).map((r) => `${r.method} ${r.path}`).sort());
    for (const r of Object.values(routes)) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
    // The routes the README documents, written out here so that a rename fails.
    expect(Object.values(routes).map((r) => r.Properties.RouteKey)).toEqual(
      expect.arrayContaining(['GET /users/{userId}/recommendations', 'GET /users/{userId}/segment', 'GET /users/{userId}/forecast', 'POST /sessions/score', 'GET /health']),
    );
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  test('the $default stage throttles and writes JSON access logs with the request id to a retained log group', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 40 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [stack.getLogicalId(api.accessLogGroup.node.defaultChild as never), 'Arn'] }, Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
    const format = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0].Properties.AccessLogSettings.Format;
    expect(JSON.parse(format)).toMatchObject({ status: '$context.status', caller: '$context.identity.userArn', routeKey: '$context.routeKey' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  test('the Lambda: Node 22 on ARM64, its target in the environment, the read-only secret', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 10,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          CLUSTER_ARN: stack.resolve(database.cluster.clusterArn),
          SECRET_ARN: ref(schema.biSecret),
          DATABASE_NAME: 'shopsight',
          COEFFICIENTS_TTL_SECONDS: '30',
        }),
      },
    });
  });

  test('read-only access: ExecuteStatement on the cluster and GetSecretValue on the BI secret, nothing more on data', () => {
    const role = stack.getLogicalId(api.handler.role!.node.defaultChild as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => /^(rds|rds-data|secretsmanager|kms):/.test(a)).sort()).toEqual(['rds-data:ExecuteStatement', 'secretsmanager:GetSecretValue']);
    expect(statements.find((s) => s.Action === 'rds-data:ExecuteStatement')!.Resource).toEqual(stack.resolve(database.cluster.clusterArn));
    expect(statements.find((s) => s.Action === 'secretsmanager:GetSecretValue')!.Resource).toEqual(ref(schema.biSecret));
    // Never the admin secret.
    expect(JSON.stringify(statements)).not.toContain(JSON.stringify(stack.resolve(database.cluster.secret!.secretArn)));
  });

  test('the API URL is an output; grantInvoke allows execute-api:Invoke on the routes only', () => {
    const outputs = template.findOutputs('*');
    expect(Object.entries(outputs).find(([k]) => k.startsWith('RecommendationsApiUrl'))).toBeDefined();
    const t = build();
    const caller = new iam.Role(t.stack, 'Storefront', { assumedBy: new iam.AccountRootPrincipal() });
    t.api.grantInvoke(caller);
    const stack = t.stack;
    const policy = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(caller.node.defaultChild as never) }] } });
    const statement = Object.values(policy)[0].Properties.PolicyDocument.Statement[0];
    expect(statement.Action).toBe('execute-api:Invoke');
    expect(JSON.stringify(statement.Resource)).toContain('/$default/GET/users/*/recommendations');
    expect(JSON.stringify(statement.Resource)).toContain('/$default/GET/users/*/forecast');
    expect(statement.Resource).toHaveLength(Object.keys(API_ROUTES).length);
  });

  test('refuses a timeout API Gateway would cut and a throttle of 0', () => {
    expect(() => build({ timeout: Duration.seconds(30) })).toThrow(/below API Gateway's 30 s/);
    expect(() => build({ throttlingRateLimit: 0 })).toThrow(/throttling/);
  });

  test('cdk-nag: no unacknowledged AwsSolutions finding in the construct', () => {
    const t = build();
    acknowledgeStackWide(t.stack);
    expect(findingsUnder(nagViolations(t.app), 'ServingTest/RecommendationsApi')).toEqual([]);
  });
});
