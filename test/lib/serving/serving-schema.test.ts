/**
 * ServingSchema on a bare stack: the BI and loader secrets attached to the cluster, the custom
 * resource that applies the migrations as the admin, the handler's grants, the loader's and BI's
 * Data API grants (cluster + their own secret only), and its acknowledgements.
 */
import { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { MIGRATIONS } from '../../../core/serving/mysql-schema';
import { ServingDatabase } from '../../../lib/serving/serving-database';
import { ServingSchema } from '../../../lib/serving/serving-schema';
import { acknowledgementsOn, bareStack, findingsAt, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const database = new ServingDatabase(t.stack, 'Serving', { exportBucket: new s3.Bucket(t.stack, 'Exports', { enforceSSL: true }) });
const schema = new ServingSchema(t.stack, 'ServingSchema', { database });
const role = (id: string) => new iam.Role(t.stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
const loader = role('Loader');
schema.grantLoaderDataApiAccess(loader);
const reader = role('Reader');
schema.grantBiDataApiAccess(reader);
const { template, findings } = synthesize(t);
const r = (v: unknown) => t.stack.resolve(v);
const secretReads = (grantee: iam.Role) =>
  statementsOf(template, t.stack, grantee)
    .filter((s) => ([] as string[]).concat(s.Action as string[]).includes('secretsmanager:GetSecretValue'))
    .flatMap((s) => ([] as unknown[]).concat(s.Resource));

describe('ServingSchema', () => {
  test('the custom resource runs against this cluster with the admin, BI and loader secrets and the migrations\' version', () => {
    template.hasResourceProperties('Custom::ServingSchema', {
      ClusterArn: r(database.cluster.clusterArn),
      AdminSecretArn: r(database.cluster.secret!.secretArn),
      BiSecretArn: r(schema.biSecret.secretArn),
      LoaderSecretArn: r(schema.loaderSecret.secretArn),
      DatabaseName: 'shopsight',
      SchemaVersion: Match.stringLikeRegexp(`^${MIGRATIONS.length}-[0-9a-f]{16}$`),
    });
  });

  test('the BI and loader secrets name their users and are attached to the cluster', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: Match.stringLikeRegexp('"username":"shopsight_bi"') }) });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: Match.stringLikeRegexp('"username":"shopsight_loader"') }) });
    template.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', 3);
  });

  test('the loader gets the Data API on this cluster and its own secret, never the admin\'s or the BI\'s', () => {
    const dataApi = statementsOf(template, t.stack, loader).find((s) => JSON.stringify(s.Action).includes('rds-data:ExecuteStatement'))!;
    expect(dataApi.Resource).toEqual(r(database.cluster.clusterArn));
    expect([...(dataApi.Action as string[])].sort()).toEqual(
      ['rds-data:BatchExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:CommitTransaction', 'rds-data:ExecuteStatement', 'rds-data:RollbackTransaction'],
    );
    expect(secretReads(loader)).toEqual([r(schema.loaderSecret.secretArn)]);
    expect(secretReads(reader)).toEqual([r(schema.biSecret.secretArn)]);
  });

  test('the handler: Node 22, the runtime\'s Secrets Manager client, a 10-minute timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 600,
      Role: r((schema.handler.role as iam.Role).roleArn),
    });
  });

  test('its acknowledgements: the Provider\'s invoke wildcard on the handler and the user secrets\' rotation', () => {
    const acks = acknowledgementsOn(schema);
    const handlerId = t.stack.getLogicalId(schema.handler.node.defaultChild as CfnElement);
    expect(Object.keys(acks).sort()).toEqual([`IAM5[Resource::<${handlerId}.Arn>:*]`, 'SMG4']);
    expect(acks.SMG4).toMatch(/BI and loader/);
  });

  test('cdk-nag finds nothing left on the schema or the database', () => {
    expect(findingsAt(findings, 'Test/ServingSchema', 'Test/Serving')).toEqual([]);
  });
});
