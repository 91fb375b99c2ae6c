import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface PipelineFunctionProps {
  /** Folder under lambdas/ holding the function's index.ts. */
  readonly folder: string;
  readonly description: string;
  readonly environment?: Record<string, string>;
  /** @default 1 minute */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
}

export const LAMBDAS_ROOT = path.join(__dirname, '..', '..', 'lambdas');

/**
 * One way to build every ShopSight Lambda: TypeScript bundled locally by esbuild (no Docker),
 * Node.js 22 on ARM64, X-Ray tracing, its own log group with a set retention and a role that may
 * write only to that log group (callers add their grants).
 */
export class PipelineFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role instead of AWSLambdaBasicExecutionRole: writing to this log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description.slice(0, 1000),
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: path.join(LAMBDAS_ROOT, props.folder, 'index.ts'),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        target: 'node22',
        format: nodejs.OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        // The Lambda runtime ships SDK v3, but bundling pins the version the tests ran with.
        externalModules: [],
      },
    });
  }
}
