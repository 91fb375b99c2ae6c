import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface PipelineNotificationsProps {
  /** Shown as the sender of the notices. */
  readonly displayName: string;
  /** Subscribed by email (the subscription must be confirmed). @default no subscription */
  readonly alertEmail?: string;
  /**
   * Construct id of the key, created beside this construct (in its scope) so that a deployed key
   * keeps its logical id. @default `${id}Key`
   */
  readonly keyId?: string;
}

/**
 * The pipeline's SNS topic (success and failure notices from the state machine, alarms from
 * monitoring), encrypted with its own customer-managed key: CloudWatch alarms can only publish to an
 * encrypted topic whose key policy lets their service principal use the key (the AWS-managed SNS key
 * does not). The topic is this construct's `Default` child, so its logical id is the construct's.
 */
export class PipelineNotifications extends Construct {
  readonly key: kms.Key;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: PipelineNotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(scope, props.keyId ?? `${id}Key`, {
      description: 'ShopSight pipeline notifications',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new sns.Topic(this, 'Default', {
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.alertEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));
  }
}
