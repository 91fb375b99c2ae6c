import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';

/**
 * cdk-nag (AwsSolutions) acknowledgements. Each construct acknowledges its own findings beside the
 * resources and grants that cause them, with the reason a reviewer can check: cdk-nag v3 matches an
 * acknowledgement on the finding's resource or any construct above it, by the finding's exact id.
 * What is left here belongs to the whole app (the runtime it targets, CDK's own handlers, actions
 * without resource-level permissions), acknowledged once on the stack. The nag test
 * (test/infrastructure/nag.test.ts) fails on any finding that is not acknowledged.
 */

/** Acknowledges an AwsSolutions finding (`IAM5[…]`, `RDS11`, …) on `scope` and everything under it. */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${finding}`, reason });
}

/**
 * An IAM resource as cdk-nag writes it in a finding's id: the value resolved, with `<Logical.Arn>`
 * for a GetAtt and `<AWS::Region>` for a Ref (what cdk-nag's flattenCfnReference does).
 */
export function nagResourceId(scope: IConstruct, resource: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    const o = node as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as unknown[]).map(flatten).join('.')}>`;
    if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
    throw new Error(`nagResourceId: cannot write ${JSON.stringify(node)} as cdk-nag does`);
  };
  return flatten(Stack.of(scope).resolve(resource));
}

/** Acknowledges IAM5 for one wildcard resource (written as the grant writes it) on `scope`. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  acknowledge(scope, `IAM5[Resource::${nagResourceId(scope, resource)}]`, reason);
}

/**
 * The same, on the construct that holds a grantee's policy (its role): for the construct that makes
 * a grant to someone else's principal. A principal that is no construct has no policy here to judge.
 */
export function acknowledgeGrantedWildcard(grantee: iam.IGrantable, resource: string, reason: string): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) acknowledgeWildcardResource(principal, resource, reason);
}

/** The bucket grant helpers' action wildcards, always on resources their granting construct acknowledges. */
const CDK_BUCKET_GRANT_ACTIONS = ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'];

/** The findings that belong to the app as a whole, acknowledged on its stack. */
export function acknowledgeAppWideFindings(stack: Stack): void {
  for (const action of CDK_BUCKET_GRANT_ACTIONS) {
    acknowledge(stack, `IAM5[Action::${action}]`, `${action} comes from CDK's bucket grant helpers, applied only to bucket prefixes acknowledged where each grant is made.`);
  }
  acknowledge(
    stack,
    'IAM5[Resource::*]',
    'Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords (tracing), CloudWatch Logs delivery APIs of Step Functions logging, logs:DescribeLogGroups for EMR Serverless, and the handlers CDK itself adds.',
  );
  acknowledge(stack, 'L1', 'Node.js 22 is the runtime the project targets (an active LTS); CDK-managed handlers (BucketDeployment) pick their own runtime.');
  acknowledge(
    stack,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "Only CDK's own handlers (BucketDeployment, bucket notifications, log retention, the custom-resource provider framework) use the basic execution role; the app's functions have their own roles scoped to their log groups.",
  );
}
