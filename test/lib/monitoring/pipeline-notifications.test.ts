/**
 * PipelineNotifications on a bare stack: a rotating customer-managed key whose policy lets CloudWatch
 * (this account only) use it, the topic encrypted with it and TLS-only, the optional email
 * subscription, and the logical ids a deployed stack keeps (topic = construct id, key beside it).
 */
import { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { PipelineNotifications } from '../../../lib/monitoring/pipeline-notifications';
import { bareStack, findingsAt, synthesize } from '../bare-stack';

const t = bareStack();
const withEmail = new PipelineNotifications(t.stack, 'Notifications', { displayName: 'ShopSight test pipeline', alertEmail: 'ops@example.com', keyId: 'NotificationKey' });
const plain = new PipelineNotifications(t.stack, 'Quiet', { displayName: 'Quiet' });
const { template, findings } = synthesize(t);
const logicalId = (c: { node: { defaultChild?: unknown } }) => t.stack.getLogicalId(c.node.defaultChild as CfnElement);

describe('PipelineNotifications', () => {
  test('the key rotates and lets CloudWatch alarms of this account encrypt for the topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  test('the topic is encrypted with its own key, refuses plain HTTP, and mails the alert address when given', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'ShopSight test pipeline', KmsMasterKeyId: t.stack.resolve(withEmail.key.keyArn) });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [t.stack.resolve(withEmail.topic.topicArn)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: t.stack.resolve(withEmail.topic.topicArn) }, 1);
    template.resourceCountIs('AWS::SNS::Subscription', 1);
  });

  test('logical ids: the topic is the construct (Default child), the key sits beside it under keyId or `${id}Key`', () => {
    expect(logicalId(withEmail.topic)).toMatch(/^Notifications[0-9A-F]{8}$/);
    expect(logicalId(withEmail.key)).toMatch(/^NotificationKey[0-9A-F]{8}$/);
    expect(logicalId(plain.key)).toMatch(/^QuietKey[0-9A-F]{8}$/);
  });

  test('cdk-nag finds nothing on the topics or keys', () => {
    expect(findingsAt(findings, 'Test/Notifications', 'Test/NotificationKey', 'Test/Quiet', 'Test/QuietKey')).toEqual([]);
  });
});
