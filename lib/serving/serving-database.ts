import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeWildcardResource } from '../nag-acknowledgements';

/** Aurora MySQL 3's strict mode, as the MariaDB of the tests runs (test/support/mariadb.ts). */
export const SERVING_SQL_MODE = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

export interface ServingDatabaseProps {
  /** Bucket of the serving CSV exports, granted to the cluster for LOAD DATA FROM S3. */
  readonly exportBucket: s3.IBucket;
  /** Aurora MySQL 3 version (3.08 or later for a minimum of 0 ACU). @default '3.10.4' */
  readonly engineVersion?: string;
  /** @default 0 (pauses when idle) */
  readonly minAcu?: number;
  /** @default 4 */
  readonly maxAcu?: number;
  /** With minAcu 0: pause after this long without connections. @default 15 minutes */
  readonly autoPause?: Duration;
  /** @default 1 day */
  readonly backupRetention?: Duration;
  /** @default false */
  readonly deletionProtection?: boolean;
  /** SNAPSHOT keeps a final snapshot when the stack is deleted; DESTROY does not. @default RemovalPolicy.SNAPSHOT */
  readonly removalPolicy?: RemovalPolicy;
  /** @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
  /** Name of the database created in the cluster. @default 'shopsight' */
  readonly databaseName?: string;
}

/**
 * Aurora MySQL Serverless v2 for BI and the storefront API: private isolated subnets with an S3
 * gateway endpoint and no NAT gateway, the RDS Data API for the Lambdas (which therefore stay out
 * of the VPC), admin credentials in Secrets Manager, and the S3 import role on the export bucket so
 * the loader can `LOAD DATA FROM S3`. The serving schema, its BI and loader users and their
 * Data API grants are in `ServingSchema` (serving-schema.ts), which runs as this admin secret.
 */
export class ServingDatabase extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly databaseName: string;
  readonly parameterGroup: rds.ParameterGroup;

  constructor(scope: Construct, id: string, props: ServingDatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'shopsight';
    const logRetention = props.logRetention ?? logs.RetentionDays.TWO_WEEKS;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      restrictDefaultSecurityGroup: true,
    });
    this.vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    // No ingress: the Data API reaches the cluster without the VPC; BI access (a bastion or an
    // allow-listed CIDR) adds its own rule when the serving layer configures it.
    this.securityGroup = new ec2.SecurityGroup(this, 'ClusterSecurityGroup', {
      vpc: this.vpc,
      description: 'ShopSight Aurora MySQL serving cluster',
      allowAllOutbound: false,
    });
    // LOAD DATA FROM S3 goes out through the S3 gateway endpoint.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3 through the gateway endpoint');

    const version = props.engineVersion ?? '3.10.4';
    const engine = rds.DatabaseClusterEngine.auroraMysql({
      version: rds.AuroraMysqlEngineVersion.of(`8.0.mysql_aurora.${version}`, '8.0'),
    });
    // The loader relies on strict mode (a short or unparsable row fails LOAD DATA FROM S3 instead
    // of being served converted with the row count still right); Aurora's default group leaves
    // sql_mode empty. The S3 import role is added to this group by the cluster (s3ImportBuckets).
    this.parameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: 'ShopSight serving: strict sql_mode, UTC',
      parameters: { sql_mode: SERVING_SQL_MODE, time_zone: 'UTC' },
    });
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      parameterGroup: this.parameterGroup,
      credentials: rds.Credentials.fromGeneratedSecret('shopsight_admin'),
      defaultDatabaseName: this.databaseName,
      writer: rds.ClusterInstance.serverlessV2('writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.minAcu ?? 0,
      serverlessV2MaxCapacity: props.maxAcu ?? 4,
      serverlessV2AutoPauseDuration: (props.minAcu ?? 0) === 0 ? (props.autoPause ?? Duration.minutes(15)) : undefined,
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      enableDataApi: true,
      s3ImportBuckets: [props.exportBucket],
      storageEncrypted: true,
      deletionProtection: props.deletionProtection ?? false,
      backup: { retention: props.backupRetention ?? Duration.days(1) },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
      cloudwatchLogsExports: ['error', 'slowquery'],
      cloudwatchLogsRetention: logRetention,
      iamAuthentication: true,
      copyTagsToSnapshot: true,
    });

    acknowledgeWildcardResource(
      this,
      props.exportBucket.arnForObjects('*'),
      "The Aurora S3 import role (created by the RDS construct for s3ImportBuckets) reads the export bucket: LOAD DATA FROM S3 runs with the cluster's role, and the bucket holds nothing but exports.",
    );
    if (!(props.deletionProtection ?? false)) {
      acknowledge(this, 'RDS10', 'Deletion protection is off in this stage so the stack can be torn down; prod turns it on (auroraDeletionProtection).');
    }
    acknowledge(this, 'RDS11', 'The default port is kept: the cluster has no ingress rule and is reached through the Data API, so a non-default port hides nothing.');
    acknowledge(this, 'RDS14', 'Backtrack is not available for Aurora Serverless v2; point-in-time restore from backups covers recovery.');
    acknowledge(
      this,
      'SMG4',
      'The admin secret is used through the Data API (by the serving-schema custom resource only); rotation would need a rotation Lambda inside the isolated VPC with a Secrets Manager interface endpoint (no NAT).',
    );
  }

  /** Lets a function run SQL through the Data API as the cluster's admin (secret read + rds-data). */
  grantDataApiAccess(grantee: iam.IGrantable): void {
    this.cluster.grantDataApiAccess(grantee);
  }
}
