import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { MIGRATIONS } from '../../core/serving/mysql-schema';
import { synthStage } from '../support/stack';

interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const asList = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

describe('serving schema: migrations and database users applied on deploy', () => {
  const { template, stack } = synthStage();
  const resolved = (x: unknown): string => JSON.stringify(Stack.of(stack).resolve(x));
  const policies = template.findResources('AWS::IAM::Policy');
  const statementsOf = (rolePrefix: string): Statement[] =>
    Object.values(policies)
      .filter((p) => asList(p.Properties.Roles).some((r: { Ref: string }) => r.Ref.startsWith(rolePrefix)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const secretIds = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
  const idOf = (prefix: string): string => {
    const id = secretIds.find((s) => s.includes(prefix));
    if (!id) throw new Error(`no secret ${prefix}* in ${secretIds.join(', ')}`);
    return id;
  };

  test('a BI and a loader secret are generated, each with its user name, attached to the cluster', () => {
    for (const username of ['shopsight_bi', 'shopsight_loader']) {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: JSON.stringify({ username, dbname: 'shopsight' }), GenerateStringKey: 'password' }),
      });
    }
    template.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', 3);
  });

  test('a custom resource applies the schema with the admin secret and both user secrets; the migrations version is a property', () => {
    template.hasResourceProperties('Custom::ServingSchema', {
      ServiceToken: Match.anyValue(),
      ClusterArn: Match.anyValue(),
      AdminSecretArn: Match.anyValue(),
      DatabaseName: 'shopsight',
      BiSecretArn: Match.anyValue(),
      LoaderSecretArn: Match.anyValue(),
      SchemaVersion: Match.stringLikeRegexp(`^${MIGRATIONS.length}-[0-9a-f]{16}$`),
    });
    const resource = Object.values(template.findResources('Custom::ServingSchema'))[0];
    expect(JSON.stringify(resource.DependsOn)).toMatch(/ServingCluster/);
    expect(resolved(resource.Properties.BiSecretArn)).toMatch(/ServingSchemaBiSecret/);
  });

  test('the handler is Node.js 22 on ARM64, reads the two user secrets and uses the Data API on this cluster', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('serving schema migrations'),
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 600,
    });
    const statements = statementsOf('ServingSchemaHandlerRole');
    const text = resolved(statements);
    expect(text).toContain('rds-data:ExecuteStatement');
    expect(text).toMatch(/ServingSchemaBiSecret/);
    expect(text).toMatch(/ServingSchemaLoaderSecret/);
  });

  test('load-serving runs as the loader: its secret, never the admin secret', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => /loads them into Aurora/.test(f.Properties.Description))!;
    expect(resolved(fn.Properties.Environment.Variables.SECRET_ARN)).toMatch(/ServingSchemaLoaderSecret/);
    // One action per call (the waiting is the state machine's): minutes, not the Lambda maximum.
    expect(fn.Properties.Timeout).toBeLessThanOrEqual(300);
    const statements = statementsOf('LoadServingRole');
    const secretReads = statements.filter((s) => asList(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(secretReads.length).toBeGreaterThan(0);
    for (const s of secretReads) {
      expect(resolved(s.Resource)).toMatch(/ServingSchemaLoaderSecret/);
      expect(resolved(s.Resource)).not.toContain(idOf('ServingClusterSecret'));
    }
    const dataApi = statements.find((s) => asList(s.Action).includes('rds-data:ExecuteStatement'))!;
    expect(resolved(dataApi.Resource)).toMatch(/ServingCluster/);
  });

  test('the stack outputs the BI secret for BI tools', () => {
    expect(Object.keys(template.findOutputs('*'))).toContain('AuroraBiSecretArn');
  });
});
