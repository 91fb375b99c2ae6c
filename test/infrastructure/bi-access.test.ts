/**
 * BI access: nothing by default; each flag adds its path and exactly one 3306 ingress on the
 * cluster's security group; the bastion is private (no public IP, no key, IMDSv2, encrypted disk)
 * with its SSM endpoints; CIDRs must be private ranges; no unacknowledged cdk-nag finding.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BiAccess, checkPrivateCidr, PORT_FORWARDING_DOCUMENT } from '../../lib/serving/bi-access';
import { findingsUnder, nagViolations, servingTestStack } from '../support/serving-test-stack';

function build(props: Omit<ConstructorParameters<typeof BiAccess>[2], 'database'> = {}) {
  const t = servingTestStack();
  const access = new BiAccess(t.stack, 'BiAccess', { database: t.database, ...props });
  return { ...t, access, template: Template.fromStack(t.stack) };
}

/** Ingress rules on the cluster's security group on 3306, as { source, port } pairs. */
function clusterIngress(t: ReturnType<typeof build>): unknown[] {
  const sg = t.stack.resolve(t.database.securityGroup.securityGroupId);
  return Object.values(t.template.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => r.Properties)
    .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(sg))
    .map((p) => ({ source: p.CidrIp ?? p.SourceSecurityGroupId, from: p.FromPort, to: p.ToPort }));
}

describe('BiAccess', () => {
  test('off by default: no resource, no ingress on the cluster', () => {
    const t = build();
    expect(t.access.node.findAll().filter((c) => c !== t.access)).toEqual([]);
    expect(clusterIngress(t)).toEqual([]);
    t.template.resourceCountIs('AWS::EC2::Instance', 0);
    t.template.resourceCountIs('AWS::EC2::VPCEndpoint', 1); // the database's S3 gateway endpoint only
    t.template.resourceCountIs('AWS::QuickSight::VPCConnection', 0);
  });

  test('QuickSight: a VPC connection in the isolated subnets with its own role and security group', () => {
    const t = build({ quickSightVpcConnection: true });
    const qs = t.access.quickSight!;
    t.template.hasResourceProperties('AWS::QuickSight::VPCConnection', {
      AwsAccountId: '123456789012',
      RoleArn: t.stack.resolve(qs.role.roleArn),
      SecurityGroupIds: [t.stack.resolve(qs.securityGroup.securityGroupId)],
      SubnetIds: t.stack.resolve(t.database.vpc.isolatedSubnets.map((s) => s.subnetId)),
    });
    t.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'quicksight.amazonaws.com' } })] },
    });
    expect(clusterIngress(t)).toEqual([{ source: t.stack.resolve(qs.securityGroup.securityGroupId), from: 3306, to: 3306 }]);
    // Out to the cluster on 3306 only; replies from the cluster back in.
    t.template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { GroupId: t.stack.resolve(qs.securityGroup.securityGroupId), FromPort: 3306, ToPort: 3306 });
    t.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: t.stack.resolve(qs.securityGroup.securityGroupId),
      SourceSecurityGroupId: t.stack.resolve(t.database.securityGroup.securityGroupId),
      FromPort: 0,
      ToPort: 65535,
    });
  });

  test('bastion: t4g.nano on Amazon Linux 2023 (ARM), private, IMDSv2, encrypted gp3, SSM core policy, three endpoints in its subnet', () => {
    const t = build({ bastion: true });
    const bastion = t.access.bastion!;
    t.template.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 't4g.nano',
      ImageId: { Ref: Match.stringLikeRegexp('al2023.*arm64') },
      KeyName: Match.absent(),
      NetworkInterfaces: [
        Match.objectLike({ AssociatePublicIpAddress: false, GroupSet: [t.stack.resolve(bastion.securityGroup.securityGroupId)], SubnetId: t.stack.resolve(t.database.vpc.isolatedSubnets[0].subnetId) }),
      ],
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3' } }],
    });
    t.template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } });
    t.template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }],
    });
    const endpoints = Object.values(t.template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } })).map((r) => r.Properties);
    expect(endpoints.map((e) => e.ServiceName).sort()).toEqual(['com.amazonaws.eu-west-1.ec2messages', 'com.amazonaws.eu-west-1.ssm', 'com.amazonaws.eu-west-1.ssmmessages']);
    for (const e of endpoints) {
      expect(e.PrivateDnsEnabled).toBe(true);
      expect(e.SubnetIds).toEqual([t.stack.resolve(t.database.vpc.isolatedSubnets[0].subnetId)]);
    }
    // No inbound on the bastion at all; the cluster admits it on 3306.
    const bastionSg = t.stack.resolve(bastion.securityGroup.securityGroupId);
    const bastionSgResource = Object.values(t.template.findResources('AWS::EC2::SecurityGroup')).find((r) => r.Properties.GroupDescription.startsWith('ShopSight SSM bastion'))!;
    expect(bastionSgResource.Properties.SecurityGroupIngress).toBeUndefined();
    expect(Object.values(t.template.findResources('AWS::EC2::SecurityGroupIngress')).filter((r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(bastionSg))).toEqual([]);
    expect(clusterIngress(t)).toEqual([{ source: bastionSg, from: 3306, to: 3306 }]);
    const outputs = t.template.findOutputs('*');
    const command = Object.entries(outputs).find(([k]) => k.includes('PortForwardCommand'))![1];
    expect(JSON.stringify(command.Value)).toContain(PORT_FORWARDING_DOCUMENT);
  });

  test('grantPortForwarding: StartSession on the bastion and the port-forwarding document only', () => {
    const t = servingTestStack();
    const access = new BiAccess(t.stack, 'BiAccess', { database: t.database, bastion: true });
    const analysts = new iam.Role(t.stack, 'Analysts', { assumedBy: new iam.AccountRootPrincipal() });
    access.bastion!.grantPortForwarding(analysts);
    const template = Template.fromStack(t.stack);
    const policy = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: t.stack.getLogicalId(analysts.node.defaultChild as never) }] } }))[0];
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toBe('ssm:StartSession');
    expect(JSON.stringify(statement.Resource)).toContain(`:document/${PORT_FORWARDING_DOCUMENT}`);
    expect(JSON.stringify(statement.Resource)).toContain(':instance/');
  });

  test('allow-listed CIDRs: one 3306 rule each on the cluster', () => {
    const t = build({ allowedCidrs: ['10.20.0.0/16', '192.168.5.0/24'] });
    expect(clusterIngress(t)).toEqual([
      { source: '10.20.0.0/16', from: 3306, to: 3306 },
      { source: '192.168.5.0/24', from: 3306, to: 3306 },
    ]);
  });

  test.each([
    ['0.0.0.0/0', /not a private range/],
    ['203.0.113.0/24', /not a private range/],
    ['8.0.0.0/7', /not a private range/],
    ['10.0.0.1/8', /host bits/],
    ['10.0.0.0/33', /not an IPv4 CIDR/],
    ['10.0.0.0', /not an IPv4 CIDR/],
    ['fd00::/8', /not an IPv4 CIDR/],
  ])('refuses %s', (cidr, message) => {
    expect(() => checkPrivateCidr(cidr)).toThrow(message);
  });

  test('accepts the private ranges, including 100.64.0.0/10', () => {
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '172.31.255.0/24', '192.168.0.0/16', '100.64.0.0/10', '10.1.2.3/32']) expect(checkPrivateCidr(cidr)).toBe(cidr);
    expect(() => checkPrivateCidr('172.32.0.0/16')).toThrow(/not a private range/);
  });

  test('cdk-nag: everything on, no unacknowledged AwsSolutions finding in the construct', () => {
    const t = servingTestStack();
    new BiAccess(t.stack, 'BiAccess', { database: t.database, quickSightVpcConnection: true, bastion: true, allowedCidrs: ['10.20.0.0/16'] });
    expect(findingsUnder(nagViolations(t.app), 'ServingTest/BiAccess')).toEqual([]);
  });
});
