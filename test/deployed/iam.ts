/**
 * The "can" half of least privilege (R-SEC-5): each recorded AWS call turned into the IAM requests AWS would
 * authorize for it (action, resource ARN, and the condition keys IAM would see: request and resource tags,
 * encryption context, `dynamodb:LeadingKeys`, `s3:prefix`, the signing algorithm…), evaluated by the IAM policy
 * simulator against the synthesized policies of the role that made it, and against the key policy where KMS decides.
 */
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../bin/local/emulators';
import { localArn, resolveName, type CfnTemplate, type Json, type LocalDeployment, type Templates } from '../../bin/local/schema';
import type { LumiqoFunctionName } from '../../lambdas/shared/declarations';
import type { AwsCall } from '../support/aws-wire';
import type { RecordedCall } from './recorder';

export type Context = Record<string, string | string[]>;

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Context;
  /** The key policy that governs a KMS key (IAM policies count only where it delegates to the account). */
  readonly keyPolicy?: PolicyDocument;
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: Json[];
}

/** Who made a call: a function's own role, or the tenant read role in a session tagged with a tenant. */
export interface Principal {
  readonly roleLogicalId: string;
  readonly stackName: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Facts about the KMS keys a call names, which only the KMS fake knows (keys made at runtime, their tags, aliases). */
export interface KeyFacts {
  /** The key ARN behind a key id, key ARN, alias name or alias ARN; undefined for an unknown key. */
  keyArnOf(keyIdOrAlias: string): string | undefined;
  tagsOf(keyArn: string): Readonly<Record<string, string>>;
  /** The policy the key was created with; undefined: KMS's default policy (the account decides through IAM). */
  policyOf(keyArn: string): PolicyDocument | undefined;
}

const kmsArn = (resource: string) => `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
/** What KMS gives a key created without a policy: IAM decides (TOOLCHAIN.md). */
export const DEFAULT_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${LOCAL_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

type Attribute = Record<string, unknown>;
const stringOf = (value: unknown): string => {
  const v = value as Attribute | undefined;
  return String(v?.S ?? v?.N ?? v?.B ?? '');
};

/** The synthesized policies and key schemas of a deployment, resolved to the local names and ARNs. */
export class DeployedPolicies {
  constructor(
    private readonly templates: Templates,
    private readonly deployment: LocalDeployment,
  ) {}

  /** Resolves every intrinsic of a policy document (Ref, Fn::GetAtt, Fn::Join, Fn::GetStackOutput). */
  private resolveDeep(stackName: string, value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolveDeep(stackName, v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && ['Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::GetStackOutput'].includes(keys[0])) {
      return resolveName(this.templates, stackName, value);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveDeep(stackName, v)]));
  }

  private template(stackName: string): CfnTemplate {
    const template = this.templates.get(stackName);
    if (!template) throw new Error(`No stack ${stackName}`);
    return template;
  }

  /** The role of a function: the logical id its AWS::Lambda::Function names. */
  functionRole(fn: LumiqoFunctionName): Principal {
    for (const [stackName, template] of this.templates) {
      for (const resource of Object.values(template.Resources)) {
        if (resource.Type !== 'AWS::Lambda::Function' || resource.Metadata?.['lumiqo:function'] !== fn) continue;
        const role = resource.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
        const roleLogicalId = role?.['Fn::GetAtt']?.[0];
        if (!roleLogicalId) throw new Error(`${fn}: its function names no role of its stack`);
        return { roleLogicalId, stackName };
      }
    }
    throw new Error(`No function ${fn} in the templates`);
  }

  /** The role whose resolved ARN is `roleArn`. */
  roleByArn(roleArn: string): Principal {
    for (const [stackName, template] of this.templates) {
      for (const [logicalId, resource] of Object.entries(template.Resources)) {
        if (resource.Type === 'AWS::IAM::Role' && localArn(stackName, logicalId, resource.Type) === roleArn) return { roleLogicalId: logicalId, stackName };
      }
    }
    throw new Error(`No role ${roleArn} in the templates`);
  }

  roleArn(principal: Principal): string {
    return localArn(principal.stackName, principal.roleLogicalId, 'AWS::IAM::Role');
  }

  /** Every identity policy attached to the role, resolved. */
  identityPolicies(principal: Principal, without?: (statement: Json) => boolean): { name: string; policy: PolicyDocument }[] {
    const { Resources } = this.template(principal.stackName);
    return Object.entries(Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles ?? []).includes(`"${principal.roleLogicalId}"`))
      .map(([name, r]) => {
        const policy = this.resolveDeep(principal.stackName, r.Properties!.PolicyDocument) as unknown as PolicyDocument;
        return { name, policy: without ? { ...policy, Statement: policy.Statement.filter((s) => !without(s)) } : policy };
      });
  }

  trustPolicy(principal: Principal): PolicyDocument {
    const role = this.template(principal.stackName).Resources[principal.roleLogicalId];
    return this.resolveDeep(principal.stackName, role.Properties!.AssumeRolePolicyDocument) as unknown as PolicyDocument;
  }

  /** The key policy of a key of the templates (the data and signing keys), by its resolved ARN. */
  templateKeyPolicy(keyArn: string): PolicyDocument | undefined {
    for (const [stackName, template] of this.templates) {
      for (const [logicalId, resource] of Object.entries(template.Resources)) {
        if (resource.Type === 'AWS::KMS::Key' && localArn(stackName, logicalId, resource.Type) === keyArn) {
          return this.resolveDeep(stackName, resource.Properties!.KeyPolicy) as unknown as PolicyDocument;
        }
      }
    }
    return undefined;
  }

  /** The partition key attribute of a table, or of one of its indexes. */
  partitionKeyOf(tableName: string, indexName?: string): string {
    const table = this.deployment.tables.find((t) => t.name === tableName);
    if (!table) throw new Error(`No table ${tableName}`);
    const schema = indexName ? table.create.GlobalSecondaryIndexes?.find((i) => i.IndexName === indexName)?.KeySchema : table.create.KeySchema;
    const hash = schema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    if (!hash) throw new Error(`No partition key for ${tableName}${indexName ? `/${indexName}` : ''}`);
    return hash;
  }
}

/** The IAM requests AWS authorizes for one call. */
export function iamRequestsOf(call: AwsCall, policies: DeployedPolicies, keys: KeyFacts): IamRequest[] {
  const input = call.input as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const action = `${call.service}:${call.operation}`;
  switch (call.service) {
    case 'dynamodb':
      return dynamoRequests(call.operation, input, policies);
    case 's3':
      return s3Requests(call, input);
    case 'kms':
      return kmsRequests(call.operation, input, keys);
    case 'kinesis': {
      const stream = input.StreamARN ?? `arn:aws:kinesis:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stream/${input.StreamName}`;
      return [{ action, resource: stream, context: {} }];
    }
    case 'sqs': {
      const name = String(input.QueueUrl).split('/').pop();
      // SendMessageBatch is authorized as SendMessage.
      return [{ action: 'sqs:SendMessage', resource: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`, context: {} }];
    }
    case 'states':
      // StartExecution names its state machine, DescribeExecution the execution (R-TERM-1..5, the sweeper).
      return [{ action, resource: String(input.executionArn ?? input.stateMachineArn), context: {} }];
    case 'secretsmanager':
      return [{ action, resource: String(input.SecretId), context: {} }];
    case 'sts': {
      const tags: Context = {};
      const tagKeys: string[] = [];
      for (let i = 1; input[`Tags.member.${i}.Key`] !== undefined; i++) {
        tags[`aws:RequestTag/${input[`Tags.member.${i}.Key`]}`] = String(input[`Tags.member.${i}.Value`]);
        tagKeys.push(String(input[`Tags.member.${i}.Key`]));
      }
      const context: Context = { ...tags, ...(tagKeys.length > 0 ? { 'aws:TagKeys': tagKeys } : {}) };
      const role = String(input.RoleArn);
      return [
        { action: 'sts:AssumeRole', resource: role, context },
        ...(tagKeys.length > 0 ? [{ action: 'sts:TagSession', resource: role, context }] : []),
      ];
    }
  }
}

function dynamoRequests(operation: string, input: Record<string, any>, policies: DeployedPolicies): IamRequest[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const tableArn = (table: string, index?: string) =>
    `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${table}${index ? `/index/${index}` : ''}`;
  const leading = (keys: string[]): Context => (keys.length > 0 ? { 'dynamodb:LeadingKeys': [...new Set(keys)] } : {});
  const keyOf = (table: string, item: Attribute | undefined) => stringOf(item?.[policies.partitionKeyOf(table)]);
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return [{ action: `dynamodb:${operation}`, resource: tableArn(input.TableName), context: leading([keyOf(input.TableName, input.Key)]) }];
    case 'PutItem':
      return [{ action: 'dynamodb:PutItem', resource: tableArn(input.TableName), context: leading([keyOf(input.TableName, input.Item)]) }];
    case 'Query': {
      const pk = policies.partitionKeyOf(input.TableName, input.IndexName);
      const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
      // `<pk or #alias> = :value` in the key condition names the partition.
      const match = [...String(input.KeyConditionExpression).matchAll(/([#\w]+)\s*=\s*(:\w+)/g)].find(([, name]) => (names[name] ?? name) === pk);
      const value = match ? stringOf(input.ExpressionAttributeValues?.[match[2]]) : '';
      return [{ action: 'dynamodb:Query', resource: tableArn(input.TableName, input.IndexName), context: leading(value ? [value] : []) }];
    }
    case 'Scan':
      return [{ action: 'dynamodb:Scan', resource: tableArn(input.TableName, input.IndexName), context: {} }];
    case 'BatchGetItem':
      return Object.entries(input.RequestItems as Record<string, { Keys: Attribute[] }>).map(([table, { Keys }]) => ({
        action: 'dynamodb:BatchGetItem',
        resource: tableArn(table),
        context: leading(Keys.map((k) => keyOf(table, k))),
      }));
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems as Record<string, { PutRequest?: { Item: Attribute }; DeleteRequest?: { Key: Attribute } }[]>).map(
        ([table, writes]) => ({
          action: 'dynamodb:BatchWriteItem',
          resource: tableArn(table),
          context: leading(writes.map((w) => keyOf(table, w.PutRequest?.Item ?? w.DeleteRequest?.Key))),
        }),
      );
    default:
      return [{ action: `dynamodb:${operation}`, resource: tableArn(input.TableName), context: {} }];
  }
}

/** S3's IAM actions differ from its operation names. */
function s3Requests(call: AwsCall, input: Record<string, any>): IamRequest[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const bucket = `arn:aws:s3:::${input.Bucket}`;
  const object = `${bucket}/${input.Key}`;
  // Every request reaches S3 over TLS (the buckets' policies deny anything else).
  const secure: Context = { 'aws:SecureTransport': 'true' };
  const versioned = input.versionId !== undefined;
  switch (call.operation) {
    case 'PutObject':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return [{ action: 's3:PutObject', resource: object, context: secure }];
    case 'GetObject':
    case 'HeadObject':
      return [{ action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: object, context: secure }];
    case 'DeleteObject':
      return [{ action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: object, context: secure }];
    case 'ListObjectsV2':
    case 'ListObjects':
      return [{ action: 's3:ListBucket', resource: bucket, context: { ...secure, 's3:prefix': String(input.prefix ?? '') } }];
    case 'ListObjectVersions':
      return [{ action: 's3:ListBucketVersions', resource: bucket, context: { ...secure, 's3:prefix': String(input.prefix ?? '') } }];
    case 'DeleteObjects': {
      // The keys are in the XML body: each is authorized as its own DeleteObject (or DeleteObjectVersion).
      const xml = call.body ? Buffer.from(call.body).toString('utf8') : '';
      return [...xml.matchAll(/<Object>(.*?)<\/Object>/gs)].map(([, entry]) => {
        const key = /<Key>(.*?)<\/Key>/s.exec(entry)?.[1] ?? '';
        const version = /<VersionId>/.test(entry);
        return { action: version ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: `${bucket}/${unescapeXml(key)}`, context: secure };
      });
    }
    default:
      return [{ action: `s3:${call.operation}`, resource: input.Key === undefined ? bucket : object, context: secure }];
  }
}

const unescapeXml = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

function kmsRequests(operation: string, input: Record<string, any>, keys: KeyFacts): IamRequest[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const onKey = (action: string, keyIdOrAlias: string, extra: Context = {}): IamRequest => {
    const arn = keys.keyArnOf(keyIdOrAlias);
    if (!arn) throw new Error(`${action}: unknown key ${keyIdOrAlias}`);
    const tags = Object.fromEntries(Object.entries(keys.tagsOf(arn)).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    return { action, resource: arn, context: { ...tags, ...extra }, keyPolicy: keys.policyOf(arn) ?? DEFAULT_KEY_POLICY };
  };
  const encryptionContext = (): Context => {
    const ec = (input.EncryptionContext ?? {}) as Record<string, string>;
    const entries = Object.entries(ec);
    if (entries.length === 0) return {};
    return { ...Object.fromEntries(entries.map(([k, v]) => [`kms:EncryptionContext:${k}`, v])), 'kms:EncryptionContextKeys': entries.map(([k]) => k) };
  };
  const aliasArn = (name: string) => (name.startsWith('arn:') ? name : kmsArn(name));
  const requestTags = (): Context => {
    const tags = (input.Tags ?? []) as { TagKey: string; TagValue: string }[];
    return { ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.TagKey}`, t.TagValue])), ...(tags.length > 0 ? { 'aws:TagKeys': tags.map((t) => t.TagKey) } : {}) };
  };
  switch (operation) {
    case 'CreateKey': {
      const context: Context = {
        ...requestTags(),
        'kms:KeySpec': input.KeySpec ?? 'SYMMETRIC_DEFAULT',
        'kms:KeyUsage': input.KeyUsage ?? 'ENCRYPT_DECRYPT',
        'kms:KeyOrigin': input.Origin ?? 'AWS_KMS',
      };
      // Tags on CreateKey need kms:TagResource as well; the key does not exist yet, any key ARN stands for it.
      const keyPolicy = input.Policy ? (JSON.parse(String(input.Policy)) as PolicyDocument) : DEFAULT_KEY_POLICY;
      const tagging: IamRequest[] = input.Tags?.length
        ? [{ action: 'kms:TagResource', resource: kmsArn('key/00000000-0000-4000-8000-000000000000'), context: requestTags(), keyPolicy }]
        : [];
      return [{ action: 'kms:CreateKey', resource: '*', context }, ...tagging];
    }
    case 'CreateAlias':
    case 'DeleteAlias': {
      const target = operation === 'CreateAlias' ? String(input.TargetKeyId) : String(input.AliasName);
      return [{ action: `kms:${operation}`, resource: aliasArn(String(input.AliasName)), context: {} }, onKey(`kms:${operation}`, target)];
    }
    case 'ListAliases':
      return [{ action: 'kms:ListAliases', resource: '*', context: {} }];
    case 'GenerateDataKey':
    case 'Encrypt':
    case 'Decrypt':
      return [onKey(`kms:${operation}`, String(input.KeyId), encryptionContext())];
    case 'Sign':
      return [onKey('kms:Sign', String(input.KeyId), { 'kms:SigningAlgorithm': String(input.SigningAlgorithm), 'kms:MessageType': String(input.MessageType ?? 'RAW') })];
    case 'ScheduleKeyDeletion':
      return [onKey('kms:ScheduleKeyDeletion', String(input.KeyId), { 'kms:ScheduleKeyDeletionPendingWindowInDays': String(input.PendingWindowInDays ?? 30) })];
    default:
      return [onKey(`kms:${operation}`, String(input.KeyId))];
  }
}

export type Verdict = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | string;

/** The simulator's verdict on one request of `principal`, its identity policies optionally without some statements. */
export function decide(policies: DeployedPolicies, principal: Principal, request: IamRequest, without?: (statement: Json) => boolean): Verdict {
  const sessionTags = Object.fromEntries(Object.entries(principal.tags ?? {}).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]));
  return runUnsafeSimulation(
    {
      identityPolicies: policies.identityPolicies(principal, without),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.keyPolicy ? { resourcePolicy: request.keyPolicy } : {}),
      request: {
        action: request.action,
        principal: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${principal.roleLogicalId}/session`,
        resource: { accountId: LOCAL_ACCOUNT, resource: request.resource },
        // What AWS puts in every request: key policies name principals by these (R-SEC-5, tenant-key-policy.ts).
        contextVariables: { 'aws:PrincipalArn': policies.roleArn(principal), 'aws:PrincipalAccount': LOCAL_ACCOUNT, ...sessionTags, ...request.context },
      },
    },
    {},
  );
}

/** Which principal signed a recorded call: the function's role, or the tenant read role of a tagged session. */
export function principalOf(recorded: RecordedCall, policies: DeployedPolicies, sessionOf: (token: string) => { roleArn: string; tags: Record<string, string> } | undefined): Principal {
  if (recorded.sessionToken) {
    const session = sessionOf(recorded.sessionToken);
    if (session) return { ...policies.roleByArn(session.roleArn), tags: session.tags };
  }
  return policies.functionRole(recorded.fn);
}
