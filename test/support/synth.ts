/**
 * The state machine definition of the synthesized stack as a concrete Amazon States Language
 * object, for tests that validate or run it locally.
 *
 * CDK renders a DefinitionString as an Fn::Join of literal strings, Refs and Fn::GetAtts. Here every
 * intrinsic is replaced by a deterministic fake value derived from the logical ID and resource type
 * (us-east-1, account 111122223333, partition aws), so the same template always gives the same
 * ASL and a test can compute the value it expects for a given resource with `fakeArn`/`fakeRef`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { buildShopSightApp } from '../../lib/app';
import { PY_FILES_ARCHIVE } from '../../lib/processing/spark-jobs';
import { ShopSightStack } from '../../lib/shopsight-stack';
import { newApp, SPARK_CODE_DIR, SynthesizedStage, synthStage } from './stack';

export const FAKE_ACCOUNT = '111122223333';
export const FAKE_REGION = 'us-east-1';
export const FAKE_PARTITION = 'aws';
/** What a Ref / GetAtt ApplicationId of the (only) EMR Serverless application resolves to. */
export const FAKE_EMR_APPLICATION_ID = 'app123';

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': FAKE_PARTITION,
  'AWS::Region': FAKE_REGION,
  'AWS::AccountId': FAKE_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::NoValue': '',
};

type Resources = Record<string, { Type: string; Properties?: unknown }>;

export interface TemplateJson {
  readonly Resources: Resources;
  readonly Parameters?: Record<string, { Default?: unknown }>;
}

const arn = (service: string, resource: string, region = FAKE_REGION, account = FAKE_ACCOUNT): string =>
  `arn:${FAKE_PARTITION}:${service}:${region}:${account}:${resource}`;

/** The fake physical value of `{ Ref: logicalId }` for a resource of the given type. */
export function fakeRef(logicalId: string, type: string): string {
  switch (type) {
    case 'AWS::S3::Bucket':
      return logicalId.toLowerCase();
    case 'AWS::SNS::Topic':
      return arn('sns', logicalId);
    case 'AWS::SQS::Queue':
      return `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${logicalId}`;
    case 'AWS::EMRServerless::Application':
      return FAKE_EMR_APPLICATION_ID;
    case 'AWS::StepFunctions::StateMachine':
      return arn('states', `stateMachine:${logicalId}`);
    case 'AWS::KMS::Key':
      return `${logicalId.toLowerCase()}-key-id`;
    default:
      // Lambda functions, IAM roles, log groups, secrets…: their name (or ID) is the logical ID.
      return logicalId;
  }
}

/** The fake value of `{ 'Fn::GetAtt': [logicalId, attribute] }`. */
export function fakeGetAtt(logicalId: string, type: string, attribute: string): string {
  const name = fakeRef(logicalId, type);
  if (attribute === 'Arn') return fakeArn(logicalId, type);
  switch (`${type}.${attribute}`) {
    case 'AWS::SNS::Topic.TopicArn':
      return name;
    case 'AWS::SNS::Topic.TopicName':
      return logicalId;
    case 'AWS::S3::Bucket.DomainName':
      return `${name}.s3.amazonaws.com`;
    case 'AWS::S3::Bucket.RegionalDomainName':
      return `${name}.s3.${FAKE_REGION}.amazonaws.com`;
    case 'AWS::EMRServerless::Application.ApplicationId':
      return FAKE_EMR_APPLICATION_ID;
    case 'AWS::IAM::Role.RoleId':
      return `AROA${logicalId.toUpperCase()}`.slice(0, 21);
    case 'AWS::StepFunctions::StateMachine.Name':
      return logicalId;
    default:
      return `${name}.${attribute}`;
  }
}

/** The fake ARN of a resource, as `Fn::GetAtt [id, Arn]` resolves it. */
export function fakeArn(logicalId: string, type: string): string {
  switch (type) {
    case 'AWS::Lambda::Function':
      return arn('lambda', `function:${logicalId}`);
    case 'AWS::IAM::Role':
      return `arn:${FAKE_PARTITION}:iam::${FAKE_ACCOUNT}:role/${logicalId}`;
    case 'AWS::S3::Bucket':
      return `arn:${FAKE_PARTITION}:s3:::${fakeRef(logicalId, type)}`;
    case 'AWS::EMRServerless::Application':
      return arn('emr-serverless', `/applications/${FAKE_EMR_APPLICATION_ID}`);
    case 'AWS::Logs::LogGroup':
      return arn('logs', `log-group:${logicalId}:*`);
    case 'AWS::KMS::Key':
      return arn('kms', `key/${fakeRef(logicalId, type)}`);
    default:
      return fakeRef(logicalId, type).startsWith('arn:')
        ? fakeRef(logicalId, type)
        : arn(type.split('::')[1].toLowerCase(), logicalId);
  }
}

/**
 * Replaces every CloudFormation intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split,
 * Fn::Sub) and pseudo parameter in `value` by fake values; throws on any other intrinsic, so a new
 * construct in the template cannot silently leave `{"Fn::…"}` objects behind.
 */
export function resolveIntrinsics(value: unknown, template: TemplateJson): unknown {
  const resolve = (v: unknown): unknown => resolveIntrinsics(v, template);
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;

  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, arg] = entries[0];
    switch (key) {
      case 'Ref':
        return resolveRef(arg as string, template);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split(/\.(.+)/);
        return fakeGetAtt(logicalId, resourceType(logicalId, template), attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = resolve(list) as unknown[];
        const i = Number(resolve(index));
        if (!Array.isArray(items) || !(i in items)) throw new Error(`Fn::Select index ${i} out of range`);
        return items[i];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return String(resolve(source)).split(separator);
      }
      case 'Fn::Sub': {
        const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
        const resolvedVars = resolve(vars) as Record<string, unknown>;
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
          if (name in resolvedVars) return String(resolvedVars[name]);
          const [logicalId, attribute] = name.split(/\.(.+)/);
          return attribute === undefined
            ? String(resolveRef(logicalId, template))
            : fakeGetAtt(logicalId, resourceType(logicalId, template), attribute);
        });
      }
      default:
        if (key.startsWith('Fn::')) throw new Error(`resolveIntrinsics: ${key} is not supported`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
}

function resolveRef(name: string, template: TemplateJson): unknown {
  if (name in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[name];
  if (name.startsWith('AWS::')) throw new Error(`resolveIntrinsics: pseudo parameter ${name} is not supported`);
  const parameter = template.Parameters?.[name];
  if (parameter) return parameter.Default ?? `${name}-value`;
  return fakeRef(name, resourceType(name, template));
}

function resourceType(logicalId: string, template: TemplateJson): string {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`resolveIntrinsics: no resource or parameter ${logicalId} in the template`);
  return resource.Type;
}

/** A state machine's ASL, as far as the tests need to type it. */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Parameters?: Record<string, any>;
  readonly ResultPath?: string | null;
  readonly Retry?: ReadonlyArray<{
    ErrorEquals: string[];
    IntervalSeconds?: number;
    MaxAttempts?: number;
    BackoffRate?: number;
    MaxDelaySeconds?: number;
    JitterStrategy?: string;
  }>;
  readonly Catch?: ReadonlyArray<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  readonly Branches?: ReadonlyArray<AslDefinition>;
  readonly ErrorPath?: string;
  readonly CausePath?: string;
  readonly [field: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly Comment?: string;
  readonly TimeoutSeconds?: number;
}

export interface SynthesizedStateMachine {
  readonly logicalId: string;
  readonly definitionString: string;
  readonly definition: AslDefinition;
}

/** Every AWS::StepFunctions::StateMachine in a template, its definition made concrete. */
export function stateMachineDefinitions(template: Template): SynthesizedStateMachine[] {
  const json = template.toJSON() as TemplateJson;
  return Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).map(([logicalId, resource]) => {
    const raw = resource.Properties.DefinitionString ?? resource.Properties.Definition;
    if (raw === undefined) throw new Error(`${logicalId} has neither DefinitionString nor Definition`);
    const resolved = resolveIntrinsics(raw, json);
    const definitionString = typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
    return { logicalId, definitionString, definition: JSON.parse(definitionString) as AslDefinition };
  });
}

/** The logical ID of a construct's CloudFormation resource (the construct itself or its default child). */
export function logicalIdOf(construct: IConstruct): string {
  const element = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(element instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(element).getLogicalId(element);
}

const placeholderStages = new Map<string, SynthesizedStage>();

/**
 * synthStage, or, in a checkout where `npm run build:spark` has not run (no Spark archive in dist/),
 * the same stack with a throwaway Spark code folder holding a placeholder archive: the state
 * machine does not depend on the code's content, and dist/ is left alone.
 */
function synthStageAnywhere(context: Record<string, unknown>): SynthesizedStage {
  if (fs.existsSync(path.join(SPARK_CODE_DIR, PY_FILES_ARCHIVE))) return synthStage(context);
  const key = JSON.stringify(context);
  let stage = placeholderStages.get(key);
  if (!stage) {
    const sparkCodeDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-spark-placeholder-'));
    fs.writeFileSync(path.join(sparkCodeDirectory, PY_FILES_ARCHIVE), 'placeholder: the tests never deploy this');
    const stack = buildShopSightApp(newApp(context), { sparkCodeDirectory });
    stage = { stack, template: Template.fromStack(stack) };
    placeholderStages.set(key, stage);
  }
  return stage;
}

/**
 * The pipeline state machine of the synthesized stack, as ASL: the dev stage with cdk.json's
 * context (what `cdk synth` builds) plus `context`; synthesized once per test file and context.
 */
export function synthesizedStateMachine(
  context: Record<string, unknown> = {},
): SynthesizedStateMachine & { stack: ShopSightStack; template: Template } {
  const { stack, template } = synthStageAnywhere(context);
  const machines = stateMachineDefinitions(template);
  if (machines.length !== 1) throw new Error(`expected one state machine in the stack, found ${machines.length}`);
  return { ...machines[0], stack, template };
}

/** The pipeline state machine's ASL object (a fresh copy: callers may mutate it). */
export function synthesizedDefinition(context: Record<string, unknown> = {}): AslDefinition {
  return JSON.parse(synthesizedStateMachine(context).definitionString) as AslDefinition;
}
