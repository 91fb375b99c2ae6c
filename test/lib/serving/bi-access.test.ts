/**
 * BiAccess on a bare stack with every path on: each path's acknowledgements sit on its own
 * construct with reasons, nothing is left for cdk-nag, and the analysts' port-forwarding grant names
 * this bastion and the port-forwarding document only. (test/infrastructure/bi-access.test.ts covers
 * the network rules of each path.)
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BiAccess } from '../../../lib/serving/bi-access';
import { ServingDatabase } from '../../../lib/serving/serving-database';
import { acknowledgementsOn, bareStack, findingsAt, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const database = new ServingDatabase(t.stack, 'Serving', { exportBucket: new s3.Bucket(t.stack, 'Exports', { enforceSSL: true }) });
const access = new BiAccess(t.stack, 'BiAccess', { database, quickSightVpcConnection: true, bastion: true, allowedCidrs: ['10.20.0.0/16'] });
const analysts = new iam.Role(t.stack, 'Analysts', { assumedBy: new iam.AccountRootPrincipal() });
access.bastion!.grantPortForwarding(analysts);
const { template, findings } = synthesize(t);

describe('BiAccess', () => {
  test('each path acknowledges its own findings, with reasons', () => {
    expect(Object.keys(acknowledgementsOn(access.quickSight!))).toEqual(['IAM5[Resource::*]']);
    const bastion = acknowledgementsOn(access.bastion!);
    expect(Object.keys(bastion).sort()).toEqual(['EC28', 'EC29', 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]']);
    expect(bastion.EC29).toMatch(/disposable/);
    expect(acknowledgementsOn(access)).toEqual({});
  });

  test('port forwarding: ssm:StartSession on this instance and the port-forwarding document only', () => {
    const [statement] = statementsOf(template, t.stack, analysts);
    expect(statement.Action).toBe('ssm:StartSession');
    expect(JSON.stringify(statement.Resource)).toContain(':document/AWS-StartPortForwardingSessionToRemoteHost');
    expect(JSON.stringify(statement.Resource)).toContain(JSON.stringify(t.stack.resolve(access.bastion!.instance.instanceId)));
    expect(statement.Resource).toHaveLength(2);
  });

  test('one ingress on the cluster per path: QuickSight, the bastion, the CIDR', () => {
    const sg = JSON.stringify(t.stack.resolve(database.securityGroup.securityGroupId));
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter((i) => JSON.stringify(i.Properties.GroupId) === sg);
    expect(ingress).toHaveLength(3);
    expect(ingress.map((i) => i.Properties.FromPort)).toEqual([3306, 3306, 3306]);
  });

  test('cdk-nag finds nothing left on BI access', () => {
    expect(findingsAt(findings, 'Test/BiAccess')).toEqual([]);
  });
});
