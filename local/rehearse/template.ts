/**
 * The synthesized template made concrete: every CloudFormation intrinsic (Ref, Fn::GetAtt, Fn::Join,
 * Fn::Select, Fn::Split, Fn::Sub) and pseudo parameter replaced by a deterministic stand-in value
 * derived from the logical ID and resource type (us-east-1, account 111122223333, partition aws).
 * The same template always gives the same values, so a test can compute the value it expects with
 * `fakeArn`/`fakeRef`, and the rehearsal names its emulated buckets, functions and secrets after them
 * (a bucket is its logical ID in lower case).
 */
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
  'AWS::StackName': 'shopsight-stack',
  'AWS::StackId': `arn:${FAKE_PARTITION}:cloudformation:${FAKE_REGION}:${FAKE_ACCOUNT}:stack/shopsight-stack/00000000-0000-0000-0000-000000000000`,
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
    case 'AWS::SecretsManager::Secret':
      return arn('secretsmanager', `secret:${logicalId}-AbCdEf`);
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
    case 'AWS::RDS::DBCluster':
      return arn('rds', `cluster:${logicalId}`);
    default:
      return fakeRef(logicalId, type).startsWith('arn:')
        ? fakeRef(logicalId, type)
        : arn(type.split('::')[1].toLowerCase(), logicalId);
  }
}

/**
 * Replaces every CloudFormation intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split,
 * Fn::Sub, Fn::GetAZs, Fn::Base64) and pseudo parameter in `value` by fake values; throws on any other intrinsic, so a new
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
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${FAKE_REGION}${zone}`);
      case 'Fn::Base64':
        return Buffer.from(String(resolve(arg))).toString('base64');
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
  const type = resourceType(name, template);
  // An attachment's Ref is the ARN of the secret it attaches (what CloudFormation returns).
  if (type === 'AWS::SecretsManager::SecretTargetAttachment') {
    return resolveIntrinsics((template.Resources[name].Properties as { SecretId: unknown }).SecretId, template);
  }
  return fakeRef(name, type);
}

function resourceType(logicalId: string, template: TemplateJson): string {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`resolveIntrinsics: no resource or parameter ${logicalId} in the template`);
  return resource.Type;
}
