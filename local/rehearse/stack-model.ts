/**
 * What the rehearsal needs from the synthesized app, read from the cloud assembly exactly as
 * `cdk synth` writes it (template, asset folders): the state machine definition, the buckets, the
 * Lambda functions with their bundles and environment, the EMR application and its job role, the
 * database and its secrets, the serving-schema custom resource. Every intrinsic is resolved to the
 * stand-in values of template.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { buildShopSightApp } from '../../lib/app';
import type { AslDefinition } from './local-execution';
import { fakeArn, fakeRef, resolveIntrinsics, TemplateJson } from './template';
import type { LambdaFunctionDef } from './lambda-standin';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

type Resource = { Type: string; Properties?: any; Metadata?: Record<string, unknown> };

export interface SecretDef {
  readonly logicalId: string;
  readonly arn: string;
  readonly name: string;
  /** SecretStringTemplate of GenerateSecretString (e.g. {"username":"loader"}) and the generated key. */
  readonly template: Record<string, unknown>;
  readonly generateKey?: string;
  readonly excludeCharacters: string;
  readonly length: number;
}

export interface StackModel {
  readonly stackName: string;
  readonly cdkOut: string;
  /** The template, intrinsics resolved. */
  readonly template: TemplateJson & { Resources: Record<string, Resource> };
  readonly definition: AslDefinition;
  readonly stateMachineArn: string;
  readonly buckets: string[];
  readonly functions: LambdaFunctionDef[];
  readonly emr: { readonly applicationId: string; readonly jobRoleArn: string; readonly sparkDefaults: Record<string, string> };
  readonly database: { readonly clusterArn: string; readonly name: string; readonly adminSecretArn: string };
  readonly secrets: SecretDef[];
  /** The serving-schema custom resource: the function that applies it and its properties. */
  readonly servingSchema?: { readonly functionArn: string; readonly properties: Record<string, unknown>; readonly logicalId: string };
}

const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;

/** Synthesizes the app as `cdk synth` would (cdk.json's context plus `context`) into `outdir`. */
export function synthesizeStack(outdir: string, context: Record<string, unknown> = {}): StackModel {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:enable-asset-metadata': true, ...context } });
  const stack = buildShopSightApp(app);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  return stackModel(artifact.template as TemplateJson & { Resources: Record<string, Resource> }, outdir, stack.stackName);
}

function ofType(template: { Resources: Record<string, Resource> }, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function only(template: { Resources: Record<string, Resource> }, type: string): [string, Resource] {
  const found = ofType(template, type);
  if (found.length !== 1) throw new Error(`the template has ${found.length} ${type} resources; the rehearsal expects one`);
  return found[0];
}

/** `{{resolve:secretsmanager:<arn>:SecretString:<key>::}}` references inside a resolved value. */
function secretReference(value: unknown): string | undefined {
  const m = /\{\{resolve:secretsmanager:(arn:[^:]+:secretsmanager:[^:]+:[^:]+:secret:[^:]+|[^:}]+):SecretString:/.exec(String(value));
  return m?.[1];
}

export function stackModel(raw: TemplateJson & { Resources: Record<string, Resource> }, cdkOut: string, stackName: string): StackModel {
  const resolved = { ...raw, Resources: {} as Record<string, Resource> };
  for (const [id, r] of Object.entries(raw.Resources)) {
    resolved.Resources[id] = { ...r, Properties: r.Properties === undefined ? undefined : resolveIntrinsics(r.Properties, raw) };
  }
  const template = resolved as StackModel['template'];

  const [machineId, machine] = only(template, 'AWS::StepFunctions::StateMachine');
  const definitionValue = machine.Properties.DefinitionString ?? machine.Properties.Definition;
  const definition = (typeof definitionValue === 'string' ? JSON.parse(definitionValue) : definitionValue) as AslDefinition;

  const functions: LambdaFunctionDef[] = ofType(template, 'AWS::Lambda::Function').flatMap(([id, r]) => {
    const assetPath = r.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string' || !String(r.Properties?.Runtime ?? '').startsWith('nodejs')) return [];
    return [
      {
        logicalId: id,
        arn: fakeArn(id, r.Type),
        functionName: fakeRef(id, r.Type),
        bundle: path.resolve(cdkOut, assetPath),
        handler: r.Properties.Handler ?? 'index.handler',
        timeoutSeconds: Number(r.Properties.Timeout ?? 3),
        memorySize: Number(r.Properties.MemorySize ?? 128),
        environment: Object.fromEntries(Object.entries(r.Properties.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)])),
      },
    ];
  });

  const [appId, app] = only(template, 'AWS::EMRServerless::Application');
  const sparkDefaults: Record<string, string> = {};
  for (const c of app.Properties.RuntimeConfiguration ?? []) {
    if (c.Classification === 'spark-defaults') Object.assign(sparkDefaults, c.Properties ?? {});
  }
  const jobRoles = ofType(template, 'AWS::IAM::Role').filter(([, r]) =>
    JSON.stringify(r.Properties?.AssumeRolePolicyDocument ?? {}).includes('emr-serverless.amazonaws.com'),
  );
  if (jobRoles.length !== 1) throw new Error(`expected one role that EMR Serverless assumes, found ${jobRoles.length}`);

  const [clusterId, cluster] = only(template, 'AWS::RDS::DBCluster');
  // The admin secret is the one the cluster's MasterUserPassword resolves from.
  const adminSecretArn = secretReference(cluster.Properties.MasterUserPassword);
  if (!adminSecretArn) throw new Error(`the cluster's MasterUserPassword is not a Secrets Manager reference: ${JSON.stringify(cluster.Properties.MasterUserPassword)}`);

  const secrets: SecretDef[] = ofType(template, 'AWS::SecretsManager::Secret').map(([id, r]) => {
    const g = r.Properties?.GenerateSecretString ?? {};
    return {
      logicalId: id,
      arn: fakeRef(id, r.Type),
      name: String(r.Properties?.Name ?? id),
      template: g.SecretStringTemplate ? JSON.parse(g.SecretStringTemplate) : {},
      generateKey: g.GenerateStringKey,
      excludeCharacters: String(g.ExcludeCharacters ?? ''),
      length: Number(g.PasswordLength ?? 32),
    };
  });

  const schemaResources = Object.entries(template.Resources).filter(([, r]) => r.Type.startsWith('Custom::') && r.Properties?.SchemaVersion !== undefined);
  let servingSchema: StackModel['servingSchema'];
  if (schemaResources.length === 1) {
    const [id, r] = schemaResources[0];
    // The Provider framework's function names the user's onEvent handler in its environment.
    const framework = functions.find((f) => f.arn === r.Properties.ServiceToken);
    const onEvent = framework?.environment.USER_ON_EVENT_FUNCTION_ARN ?? r.Properties.ServiceToken;
    const { ServiceToken: _token, ...properties } = r.Properties;
    servingSchema = { functionArn: String(onEvent), properties, logicalId: id };
  }

  return {
    stackName,
    cdkOut,
    template,
    definition,
    stateMachineArn: fakeRef(machineId, machine.Type),
    buckets: ofType(template, 'AWS::S3::Bucket').map(([id, r]) => fakeRef(id, r.Type)),
    functions,
    emr: { applicationId: fakeRef(appId, app.Type), jobRoleArn: fakeArn(jobRoles[0][0], 'AWS::IAM::Role'), sparkDefaults },
    database: { clusterArn: fakeArn(clusterId, cluster.Type), name: String(cluster.Properties.DatabaseName), adminSecretArn },
    secrets,
    servingSchema,
  };
}
