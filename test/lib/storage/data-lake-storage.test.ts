/**
 * DataLakeStorage on a bare stack: the six buckets (encrypted, TLS only, private, logged to the
 * access-log bucket) with their lifecycles, and the prefix grants of the lake's layout, each scoped
 * to its prefix and acknowledged (IAM5) on the grantee with its reason.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { OUTPUT_TABLES } from '../../../core/contract';
import { DataLakeStorage, grantContractTables } from '../../../lib/storage/data-lake-storage';
import { acknowledgementsOn, bareStack, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const storage = new DataLakeStorage(t.stack, 'Storage', { removalPolicy: RemovalPolicy.DESTROY, exportsExpirationDays: 9, athenaResultsExpirationDays: 3 });
const role = (id: string) => new iam.Role(t.stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
const reader = role('Reader');
storage.grantRawRead(reader);
storage.grantRunSummaries(reader, 'read');
storage.grantRunExports(reader, 'read');
const writer = role('Writer');
storage.grantRunExports(writer, 'readWrite');
grantContractTables(storage.curatedBucket, writer, 'readWrite');
// A prefix grant made around the construct's helpers: nothing acknowledges it.
const careless = role('Careless');
storage.curatedBucket.grantRead(careless, 'elsewhere/*');
const { template, findings } = synthesize(t);

const arn = (bucket: { bucketArn: string }, suffix: string) => ({ 'Fn::Join': ['', [t.stack.resolve(bucket.bucketArn), suffix]] });
const resourcesWith = (grantee: iam.Role, action: string): unknown[] =>
  statementsOf(template, t.stack, grantee)
    .filter((s) => ([] as string[]).concat(s.Action as string[]).includes(action))
    .flatMap((s) => s.Resource as unknown[]);

describe('DataLakeStorage', () => {
  test('six buckets, each SSE-S3, versioning on raw only, all public access blocked', () => {
    template.resourceCountIs('AWS::S3::Bucket', 6);
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    }
    const versioned = Object.values(template.findResources('AWS::S3::Bucket')).filter((b) => b.Properties.VersioningConfiguration?.Status === 'Enabled');
    expect(versioned).toHaveLength(1);
    // EventBridge notifications (for the `_READY` trigger) on the raw bucket only.
    template.resourcePropertiesCountIs('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } }, 1);
    template.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: t.stack.resolve(storage.rawBucket.bucketName) });
  });

  test('every bucket but the access-log bucket logs to it, under its own prefix', () => {
    const logsRef = t.stack.resolve(storage.accessLogsBucket.bucketName);
    const prefixes = Object.values(template.findResources('AWS::S3::Bucket'))
      .map((b) => b.Properties.LoggingConfiguration)
      .filter(Boolean)
      .map((l) => (expect(l.DestinationBucketName).toEqual(logsRef), l.LogFilePrefix));
    expect(prefixes.sort()).toEqual(['artifacts/', 'athena-results/', 'curated/', 'exports/', 'raw/']);
  });

  test('lifecycles: old exports expire under runs/ only, query results after the given days', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-old-exports', Prefix: 'runs/', ExpirationInDays: 9 })]) },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-query-results', ExpirationInDays: 3 })]) },
    });
  });

  test('DESTROY empties the buckets on delete (auto-delete custom resources)', () => {
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 6);
  });

  test('grants read the prefixes they name and no wider', () => {
    expect(resourcesWith(reader, 's3:GetObject*')).toEqual(
      expect.arrayContaining([arn(storage.rawBucket, '/*'), arn(storage.curatedBucket, '/_runs/*'), arn(storage.exportBucket, '/runs/*')]),
    );
    expect(resourcesWith(reader, 's3:PutObject')).toEqual([]);
    expect(resourcesWith(writer, 's3:PutObject')).toEqual(expect.arrayContaining([arn(storage.exportBucket, '/runs/*')]));
    const curatedArn = JSON.stringify(t.stack.resolve(storage.curatedBucket.bucketArn));
    const tablePrefixes = resourcesWith(writer, 's3:PutObject').filter((r) => JSON.stringify((r as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join']?.[1][0]) === curatedArn);
    expect(tablePrefixes).toHaveLength(OUTPUT_TABLES.length);
    expect(tablePrefixes).toContainEqual(arn(storage.curatedBucket, '/events/*'));
  });

  test('each prefix grant is acknowledged on the grantee, with its reason', () => {
    const acks = acknowledgementsOn(reader);
    const id = (bucket: { node: { defaultChild?: unknown } }, suffix: string) =>
      `IAM5[Resource::<${t.stack.getLogicalId(bucket.node.defaultChild as never)}.Arn>${suffix}]`;
    expect(Object.keys(acks).sort()).toEqual([id(storage.curatedBucket, '/_runs/*'), id(storage.exportBucket, '/runs/*'), id(storage.rawBucket, '/*')].sort());
    expect(acks[id(storage.rawBucket, '/*')]).toMatch(/whatever raw folder/);
    expect(acknowledgementsOn(writer)[id(storage.curatedBucket, '/events/*')]).toMatch(/contract table "events"/);
  });

  test('cdk-nag: the helpers\' grants are acknowledged; a grant made around them is reported', () => {
    expect(findings.filter((f) => !f.includes('/Careless/'))).toEqual([]);
    expect(findings).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<StorageCurated\w+\.Arn>\/elsewhere\/\*\] @ Test\/Careless\//)]);
  });
});
