/**
 * RecommendationsApi on a bare stack, with a plain secret standing in for the BI user's: IAM auth on
 * every route, the function reads with ExecuteStatement on the cluster and that secret only, the
 * invoke grant names this API's routes, and no cdk-nag finding is left on the construct.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { API_ROUTES } from '../../../core/api/routes';
import { RecommendationsApi } from '../../../lib/api/recommendations-api';
import { ServingDatabase } from '../../../lib/serving/serving-database';
import { bareStack, findingsAt, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const database = new ServingDatabase(t.stack, 'Serving', { exportBucket: new s3.Bucket(t.stack, 'Exports', { enforceSSL: true }) });
const readOnlySecret = new secretsmanager.Secret(t.stack, 'ReadOnly');
const api = new RecommendationsApi(t.stack, 'RecommendationsApi', { database, readOnlySecret, throttlingRateLimit: 5, throttlingBurstLimit: 10 });
const storefront = new iam.Role(t.stack, 'Storefront', { assumedBy: new iam.AccountRootPrincipal() });
api.grantInvoke(storefront);
const { template, findings } = synthesize(t);
const r = (v: unknown) => t.stack.resolve(v);

describe('RecommendationsApi', () => {
  test('every route is IAM-authorized; the stage throttles as configured', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(Object.keys(API_ROUTES).length);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } });
  });

  test('the function reads single statements on this cluster, as the read-only secret only', () => {
    const statements = statementsOf(template, t.stack, api.handler.role!);
    const rdsData = statements.filter((s) => JSON.stringify(s.Action).includes('rds-data:'));
    expect(rdsData).toEqual([expect.objectContaining({ Action: 'rds-data:ExecuteStatement', Resource: r(database.cluster.clusterArn) })]);
    const secrets = statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'));
    expect(secrets.flatMap((s) => ([] as unknown[]).concat(s.Resource))).toEqual([r(readOnlySecret.secretArn)]);
  });

  test('grantInvoke: execute-api:Invoke on this API\'s routes in its stage, one ARN per route', () => {
    const [statement] = statementsOf(template, t.stack, storefront);
    expect(statement.Action).toBe('execute-api:Invoke');
    expect(statement.Resource).toHaveLength(Object.keys(API_ROUTES).length);
    for (const arn of statement.Resource as unknown[]) expect(JSON.stringify(arn)).toContain(JSON.stringify(r(api.httpApi.apiId)));
  });

  test('cdk-nag finds nothing left on the API', () => {
    expect(findingsAt(findings, 'Test/RecommendationsApi')).toEqual([]);
  });
});
