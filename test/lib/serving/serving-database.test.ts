/**
 * ServingDatabase on a bare stack: isolated subnets (no NAT) with an S3 gateway endpoint and
 * rejected-traffic flow logs, a cluster with no ingress, encrypted, Data API on, strict sql_mode,
 * the S3 import role on the export bucket, and its Aurora and import-role acknowledgements (RDS10
 * only while deletion protection is off).
 */
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SERVING_SQL_MODE, ServingDatabase } from '../../../lib/serving/serving-database';
import { acknowledgementsOn, bareStack, findingsAt, synthesize } from '../bare-stack';

const t = bareStack();
const exportBucket = new s3.Bucket(t.stack, 'Exports', { enforceSSL: true });
const database = new ServingDatabase(t.stack, 'Serving', { exportBucket, maxAcu: 2 });
const { template, findings } = synthesize(t);

describe('ServingDatabase', () => {
  test('a VPC of isolated subnets only: no NAT, no internet gateway, an S3 gateway endpoint', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });

  test('the cluster: Aurora MySQL 3, encrypted, Data API, IAM auth, Serverless v2 0..maxAcu, strict sql_mode', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      StorageEncrypted: true,
      EnableHttpEndpoint: true,
      EnableIAMDatabaseAuthentication: true,
      DeletionProtection: false,
      ServerlessV2ScalingConfiguration: Match.objectLike({ MinCapacity: 0, MaxCapacity: 2 }),
      DatabaseName: 'shopsight',
    });
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: Match.objectLike({ sql_mode: SERVING_SQL_MODE, time_zone: 'UTC' }) });
  });

  test('no ingress on the cluster; egress 443 only (LOAD DATA FROM S3 through the endpoint)', () => {
    const sg = Object.values(template.findResources('AWS::EC2::SecurityGroup')).find((g) => g.Properties.GroupDescription === 'ShopSight Aurora MySQL serving cluster')!;
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' })]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('the S3 import role reads the export bucket and is the cluster\'s', () => {
    const cluster = Object.values(template.findResources('AWS::RDS::DBCluster'))[0];
    expect(cluster.Properties.AssociatedRoles).toHaveLength(1);
    const reads = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement).flatMap((s) => s.Resource);
    expect(reads).toContainEqual({ 'Fn::Join': ['', [t.stack.resolve(exportBucket.bucketArn), '/*']] });
  });

  test('acknowledgements on the construct, with reasons: the import role\'s bucket wildcard and the Aurora findings', () => {
    const acks = acknowledgementsOn(database);
    const exportsId = t.stack.getLogicalId(exportBucket.node.defaultChild as never);
    expect(Object.keys(acks).sort()).toEqual([`IAM5[Resource::<${exportsId}.Arn>/*]`, 'RDS10', 'RDS11', 'RDS14', 'SMG4'].sort());
    expect(acks.RDS10).toMatch(/Deletion protection is off/);
    expect(acks.RDS14).toMatch(/Backtrack/);
  });

  test('with deletion protection on, RDS10 is not acknowledged (there is nothing to excuse)', () => {
    const other = new Stack(t.app, 'Protected');
    const protectedDb = new ServingDatabase(other, 'Serving', { exportBucket: new s3.Bucket(other, 'Exports'), deletionProtection: true });
    expect(Object.keys(acknowledgementsOn(protectedDb))).not.toContain('RDS10');
  });

  test('cdk-nag finds nothing left on the construct', () => {
    expect(findingsAt(findings, 'Test/Serving')).toEqual([]);
  });
});
