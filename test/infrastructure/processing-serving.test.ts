import { Match } from 'aws-cdk-lib/assertions';
import { SERVING_SQL_MODE } from '../../lib/serving/serving-database';
import { synthStage } from '../support/stack';

describe('processing: EMR Serverless', () => {
  const { template } = synthStage();

  test('a Spark application on ARM64, EMR 7, auto-start and auto-stop, capped capacity, logs to S3 and CloudWatch', () => {
    template.resourceCountIs('AWS::EMRServerless::Application', 1);
    template.hasResourceProperties('AWS::EMRServerless::Application', {
      Type: 'SPARK',
      Architecture: 'ARM64',
      ReleaseLabel: Match.stringLikeRegexp('^emr-7\\.\\d+\\.\\d+$'),
      AutoStartConfiguration: { Enabled: true },
      AutoStopConfiguration: { Enabled: true, IdleTimeoutMinutes: 5 },
      MaximumCapacity: { Cpu: '16 vCPU', Memory: '64 GB', Disk: '400 GB' },
      MonitoringConfiguration: {
        S3MonitoringConfiguration: { LogUri: Match.anyValue() },
        CloudWatchLoggingConfiguration: { Enabled: true },
      },
    });
    // Out of the VPC: it never talks to Aurora.
    const app = Object.values(template.findResources('AWS::EMRServerless::Application'))[0];
    expect(app.Properties.NetworkConfiguration).toBeUndefined();
    expect(app.Properties.InitialCapacity).toBeUndefined();
  });

  test('context overrides reach the application: capacity, release, pre-initialised workers', () => {
    const { template: t } = synthStage({ emrMaxVcpu: '32', emrReleaseLabel: 'emr-7.9.0', emrPreInitializedExecutors: '2' });
    t.hasResourceProperties('AWS::EMRServerless::Application', {
      ReleaseLabel: 'emr-7.9.0',
      MaximumCapacity: { Cpu: '32 vCPU' },
      InitialCapacity: Match.arrayWith([
        Match.objectLike({ Key: 'Driver', Value: { WorkerCount: 1 } }),
        Match.objectLike({ Key: 'Executor', Value: { WorkerCount: 2 } }),
      ]),
    });
  });

  test('the job role trusts EMR Serverless only for this account and application', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'emr-serverless.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ],
      },
    });
  });

  test('the Spark code is deployed to the artifacts bucket under spark-jobs/', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketKeyPrefix: 'spark-jobs/', Prune: true });
  });
});

describe('serving: Aurora MySQL Serverless v2', () => {
  const { template } = synthStage();
  const prod = synthStage({ stage: 'prod' }).template;

  test('Aurora MySQL 3.08+ with the Data API, encrypted, secret in Secrets Manager, S3 import role', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      EngineVersion: Match.stringLikeRegexp('^8\\.0\\.mysql_aurora\\.3\\.(0[89]|[1-9]\\d)\\.'),
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      MasterUsername: Match.anyValue(),
      AssociatedRoles: [Match.objectLike({ RoleArn: Match.anyValue() })],
    });
    // The admin's, and the BI and loader users' (serving-schema.test.ts).
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: { aws_default_s3_role: Match.anyValue() },
    });
  });

  test("one cluster parameter group, the cluster's, sets strict sql_mode (as the tests' MariaDB runs) and UTC", () => {
    const groups = template.findResources('AWS::RDS::DBClusterParameterGroup');
    expect(Object.keys(groups)).toHaveLength(1);
    const [id, group] = Object.entries(groups)[0];
    expect(group.Properties.Parameters).toMatchObject({ sql_mode: SERVING_SQL_MODE, time_zone: 'UTC', aws_default_s3_role: expect.anything() });
    expect(SERVING_SQL_MODE.split(',')).toEqual(expect.arrayContaining(['STRICT_TRANS_TABLES', 'NO_ZERO_DATE', 'ERROR_FOR_DIVISION_BY_ZERO']));
    template.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterParameterGroupName: { Ref: id } });
  });

  test('dev scales to zero and pauses; prod keeps capacity, deletion protection and backups', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4, SecondsUntilAutoPause: 900 },
      DeletionProtection: false,
    });
    prod.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
      DeletionProtection: true,
      BackupRetentionPeriod: 14,
    });
    const prodCluster = Object.values(prod.findResources('AWS::RDS::DBCluster'))[0];
    expect(prodCluster.DeletionPolicy).toBe('Snapshot');
  });

  test('isolated subnets, an S3 gateway endpoint, no NAT, no internet gateway, no ingress', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.s3'])]) }),
    });
    for (const sg of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
      expect(sg.Properties.SecurityGroupIngress ?? []).toEqual([]);
    }
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
  });
});
