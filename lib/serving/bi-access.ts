/**
 * BI access to the Aurora serving cluster, every path off by default. The cluster lives in
 * isolated subnets (no internet gateway, no NAT) and has no ingress of its own; each path below
 * adds exactly one 3306 ingress rule on the cluster's security group, from its own source.
 *
 * - QuickSight: a QuickSight VPC connection (ENIs in the cluster's subnets) with its own security
 *   group and execution role. Needs QuickSight Enterprise in the account and region.
 * - Power BI Desktop: an SSM port-forwarding bastion (t4g.nano, Amazon Linux 2023, no SSH, no key
 *   pair, no public IP, IMDSv2). With no NAT, the SSM agent reaches Systems Manager through three
 *   interface endpoints (ssm, ssmmessages, ec2messages), created only with the bastion and placed in
 *   the bastion's subnet only. Cost (us-east-1, on-demand): endpoints 3 × $0.01/h ≈ $21.90/month
 *   plus $0.01/GB, instance ≈ $3.07/month, 8 GiB gp3 ≈ $0.64/month: ≈ $26/month while enabled.
 *   Power BI connects to localhost after
 *     aws ssm start-session --target <BastionInstanceId> --document-name AWS-StartPortForwardingSessionToRemoteHost \
 *       --parameters '{"host":["<cluster endpoint>"],"portNumber":["3306"],"localPortNumber":["3306"]}'
 * - Allow-listed CIDRs: ingress on 3306 from private ranges that are routed INTO the VPC — a
 *   Site-to-Site VPN, Client VPN or Direct Connect attached to it (not built here). The cluster is
 *   not publicly accessible and this design keeps it so: a public endpoint would need public
 *   subnets, an internet gateway and a database listening to the internet, for a login protected
 *   by a password only. Public addresses are therefore refused: office users without a VPN use the
 *   bastion, whose access is IAM-authenticated and logged by Systems Manager.
 *
 * Every path reads with the BI user's credentials (ServingSchema.biSecret: host, port, user,
 * password): SELECT on the served tables and dashboard views only.
 */
import { CfnOutput, Fn, Names, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as quicksight from 'aws-cdk-lib/aws-quicksight';
import { Construct } from 'constructs';
import { ServingDatabase } from './serving-database';

const MYSQL_PORT = 3306;

/** Acknowledges a cdk-nag finding inside one construct only, with its reason. */
const acknowledge = (scope: Construct, id: string, reason: string): void =>
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });

// ---------------------------------------------------------------------------------------------
// QuickSight VPC connection
// ---------------------------------------------------------------------------------------------

export interface QuickSightVpcConnectionProps {
  readonly database: ServingDatabase;
  /** Name shown in QuickSight. @default 'ShopSight serving (Aurora MySQL)' */
  readonly name?: string;
}

export class QuickSightVpcConnection extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  readonly connection: quicksight.CfnVPCConnection;

  constructor(scope: Construct, id: string, props: QuickSightVpcConnectionProps) {
    super(scope, id);
    const { vpc, cluster } = props.database;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'QuickSight VPC connection network interfaces (ShopSight serving)',
      allowAllOutbound: false,
    });
    this.securityGroup.connections.allowTo(cluster, ec2.Port.tcp(MYSQL_PORT), 'QuickSight to Aurora MySQL');
    // QuickSight's network interfaces do not track connections: replies from the database need an
    // inbound rule (AWS QuickSight guide, "security group rules for VPC connections").
    this.securityGroup.addIngressRule(props.database.securityGroup, ec2.Port.allTcp(), 'Replies from Aurora (QuickSight ENIs are not stateful)');

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('quicksight.amazonaws.com'),
      description: 'Lets QuickSight manage the network interfaces of the ShopSight VPC connection',
    });
    // The minimum the QuickSight guide lists for a VPC connection's execution role.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:ModifyNetworkInterfaceAttribute', 'ec2:DeleteNetworkInterface', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'],
        resources: ['*'],
      }),
    );
    acknowledge(
      this,
      'IAM5[Resource::*]',
      'QuickSight creates its VPC connection network interfaces with ids unknown in advance, and the Describe actions have no resource-level permissions; the role can be assumed by QuickSight only.',
    );

    const subnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    this.connection = new quicksight.CfnVPCConnection(this, 'Resource', {
      awsAccountId: Stack.of(this).account,
      vpcConnectionId: Names.uniqueResourceName(this, { maxLength: 64 }),
      name: props.name ?? 'ShopSight serving (Aurora MySQL)',
      roleArn: this.role.roleArn,
      securityGroupIds: [this.securityGroup.securityGroupId],
      subnetIds: subnets.subnetIds,
    });
    // The role's policy must exist before QuickSight uses it to create the interfaces.
    this.connection.node.addDependency(this.role);
    new CfnOutput(this, 'Arn', { value: this.connection.attrArn, description: 'QuickSight VPC connection for the serving cluster (choose it in the MySQL/Aurora data source).' });
  }
}

// ---------------------------------------------------------------------------------------------
// SSM port-forwarding bastion
// ---------------------------------------------------------------------------------------------

export interface SsmBastionProps {
  readonly database: ServingDatabase;
}

export const PORT_FORWARDING_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost';

export class SsmBastion extends Construct {
  readonly instance: ec2.Instance;
  readonly securityGroup: ec2.SecurityGroup;
  readonly endpoints: ec2.InterfaceVpcEndpoint[];

  constructor(scope: Construct, id: string, props: SsmBastionProps) {
    super(scope, id);
    const { vpc, cluster } = props.database;
    // One AZ: the bastion is one instance, and endpoints are paid per AZ.
    const subnet = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnets[0];

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'ShopSight SSM bastion: no inbound; out to the SSM endpoints and Aurora only',
      allowAllOutbound: false,
    });
    this.securityGroup.connections.allowTo(cluster, ec2.Port.tcp(MYSQL_PORT), 'Port forwarding to Aurora MySQL');

    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'Systems Manager interface endpoints for the ShopSight bastion',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.connections.allowFrom(this.securityGroup, ec2.Port.tcp(443), 'SSM agent on the bastion');
    const services: [string, ec2.InterfaceVpcEndpointAwsService][] = [
      ['Ssm', ec2.InterfaceVpcEndpointAwsService.SSM],
      ['SsmMessages', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES],
      ['Ec2Messages', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES],
    ];
    this.endpoints = services.map(
      ([name, service]) =>
        new ec2.InterfaceVpcEndpoint(this, `${name}Endpoint`, {
          vpc,
          service,
          subnets: { subnets: [subnet] },
          securityGroups: [endpointSecurityGroup],
          privateDnsEnabled: true,
          open: false,
        }),
    );

    this.instance = new ec2.Instance(this, 'Instance', {
      vpc,
      vpcSubnets: { subnets: [subnet] },
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      securityGroup: this.securityGroup,
      associatePublicIpAddress: false,
      requireImdsv2: true,
      ssmSessionPermissions: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    // The agent registers at boot through the endpoints.
    for (const endpoint of this.endpoints) this.instance.node.addDependency(endpoint);

    acknowledge(
      this,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      "AmazonSSMManagedInstanceCore is AWS's documented minimum for the SSM agent (Session Manager); AWS keeps it current with the agent, and the instance runs nothing else.",
    );
    acknowledge(this, 'EC28', 'A port-forwarding bastion needs no 1-minute metrics; basic monitoring and Systems Manager session logs cover it.');
    acknowledge(this, 'EC29', 'The bastion is disposable and holds no data: turning the flag off must delete it, which termination protection would block; an ASG adds nothing for one forwarding host.');

    const endpoint = cluster.clusterEndpoint.hostname;
    new CfnOutput(this, 'InstanceId', { value: this.instance.instanceId, description: 'SSM bastion for Power BI port forwarding.' });
    new CfnOutput(this, 'PortForwardCommand', {
      value: Fn.join('', [
        `aws ssm start-session --target `,
        this.instance.instanceId,
        ` --document-name ${PORT_FORWARDING_DOCUMENT} --parameters '{"host":["`,
        endpoint,
        `"],"portNumber":["${MYSQL_PORT}"],"localPortNumber":["${MYSQL_PORT}"]}'`,
      ]),
      description: 'Then connect Power BI (MySQL database) to localhost:3306 with the BI secret.',
    });
  }

  /** Lets a principal (the analysts' role) open port-forwarding sessions to this bastion only. */
  grantPortForwarding(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:StartSession'],
      resourceArns: [
        stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: this.instance.instanceId }),
        stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: PORT_FORWARDING_DOCUMENT }),
      ],
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Allow-listed CIDRs (routed into the VPC)
// ---------------------------------------------------------------------------------------------

/** Private ranges (RFC 1918 and RFC 6598 shared space) that a VPN or Direct Connect can route into a VPC. */
const PRIVATE_RANGES: readonly [number, number][] = [
  [0x0a000000, 8], // 10.0.0.0/8
  [0xac100000, 12], // 172.16.0.0/12
  [0xc0a80000, 16], // 192.168.0.0/16
  [0x64400000, 10], // 100.64.0.0/10
];

/** Checks an allow-listed CIDR: IPv4, no host bits, at least /8, and inside a private range. Returns it unchanged. */
export function checkPrivateCidr(cidr: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) throw new Error(`BI access: "${cidr}" is not an IPv4 CIDR such as 10.20.0.0/16`);
  const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  if ((address & ~mask(prefix)) >>> 0 !== 0) throw new Error(`BI access: "${cidr}" has host bits set`);
  const inside = PRIVATE_RANGES.some(([base, bits]) => prefix >= bits && (address & mask(bits)) >>> 0 === base);
  if (!inside) {
    throw new Error(
      `BI access: "${cidr}" is not a private range. The cluster has no public endpoint; allow-listed CIDRs must be ranges routed into the VPC (VPN, Direct Connect). Use the SSM bastion from the internet.`,
    );
  }
  return cidr;
}

// ---------------------------------------------------------------------------------------------
// The switchboard
// ---------------------------------------------------------------------------------------------

export interface BiAccessProps {
  readonly database: ServingDatabase;
  /** A QuickSight VPC connection (config `bi.quickSightVpcConnection`). @default false */
  readonly quickSightVpcConnection?: boolean;
  /** The SSM port-forwarding bastion and its three interface endpoints, ≈ $26/month (config `bi.bastion`). @default false */
  readonly bastion?: boolean;
  /** Private CIDRs routed into the VPC (VPN/Direct Connect) allowed on 3306 (config `bi.allowedCidrs`). @default [] */
  readonly allowedCidrs?: readonly string[];
}

/** The BI access paths chosen in the stage config; with the defaults it creates nothing. */
export class BiAccess extends Construct {
  readonly quickSight?: QuickSightVpcConnection;
  readonly bastion?: SsmBastion;
  readonly allowedCidrs: readonly string[];

  constructor(scope: Construct, id: string, props: BiAccessProps) {
    super(scope, id);
    this.allowedCidrs = (props.allowedCidrs ?? []).map(checkPrivateCidr);
    if (new Set(this.allowedCidrs).size !== this.allowedCidrs.length) throw new Error('BI access: allowedCidrs lists a CIDR twice');
    if (props.quickSightVpcConnection) this.quickSight = new QuickSightVpcConnection(this, 'QuickSight', { database: props.database });
    if (props.bastion) this.bastion = new SsmBastion(this, 'Bastion', { database: props.database });
    for (const cidr of this.allowedCidrs) {
      new ec2.CfnSecurityGroupIngress(this, `Cidr${cidr.replace(/[./]/g, '-')}`, {
        groupId: props.database.securityGroup.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: MYSQL_PORT,
        toPort: MYSQL_PORT,
        cidrIp: cidr,
        description: `BI clients on ${cidr} (routed into the VPC by VPN or Direct Connect)`,
      });
    }
  }
}
