/**
 * The policies of a synthesized role, with every intrinsic (Ref, Fn::GetAtt, Fn::Join, cross-stack
 * Fn::GetStackOutput) replaced by a concrete fake ARN, ready for an IAM policy simulator.
 */
import type * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { stackPrefix, type LumiqoConfig } from '../../lib/config';
import type { DataStack } from '../../lib/stacks/data-stack';
import { ServicesStack } from '../../lib/stacks/services-stack';
import { synthDataStack, testApp, testConfig } from '../infra/helpers';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resources = Record<string, { Type: string; Properties?: Record<string, Json> }>;

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: Json[];
}

/** The fake physical ARN of a resource, from its type and logical id (only the types the policies name). */
export function fakeArn(type: string, logicalId: string): string {
  switch (type) {
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${logicalId}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${logicalId.toLowerCase()}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/${logicalId}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logicalId}:*`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${logicalId}`;
    case 'AWS::Kinesis::Stream':
      return `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${logicalId}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${logicalId}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
    case 'AWS::SecretsManager::Secret':
      // Secrets Manager appends six random characters to a secret's name in its ARN.
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${logicalId}-AbCdEf`;
    default:
      throw new Error(`No fake ARN for ${type} (${logicalId}): add one`);
  }
}

/** An execute-api ARN of the REST API whose id `apiId` stands for: `<stage>/<METHOD>/<path>` after it. */
export const executeApiArn = (apiId: string, path: string): string => `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/${path}`;

/** Resolves the intrinsics of `stack`'s template; cross-stack outputs are looked up in `producers`. */
export class SynthesizedPolicies {
  private readonly templates = new Map<string, { Resources: Resources; Outputs?: Record<string, { Value: Json }> }>();

  constructor(private readonly stack: cdk.Stack, producers: readonly cdk.Stack[]) {
    for (const s of [stack, ...producers]) this.templates.set(s.stackName, Template.fromStack(s).toJSON() as never);
  }

  /** Each identity policy attached to the role with this logical id, resolved. */
  identityPolicies(roleLogicalId: string): { name: string; policy: PolicyDocument }[] {
    const { Resources } = this.template(this.stack.stackName);
    return Object.entries(Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(`"${roleLogicalId}"`))
      .map(([id, r]) => ({ name: id, policy: this.resolve(this.stack.stackName, r.Properties!.PolicyDocument) as unknown as PolicyDocument }));
  }

  trustPolicy(roleLogicalId: string): PolicyDocument {
    const role = this.template(this.stack.stackName).Resources[roleLogicalId];
    return this.resolve(this.stack.stackName, role.Properties!.AssumeRolePolicyDocument) as unknown as PolicyDocument;
  }

  /** The key policy of a KMS key of the producer stack `stackName`. */
  keyPolicy(stackName: string, keyLogicalId: string): PolicyDocument {
    const key = this.template(stackName).Resources[keyLogicalId];
    return this.resolve(stackName, key.Properties!.KeyPolicy) as unknown as PolicyDocument;
  }

  /** One environment variable of the AWS::Lambda::Function with this logical id, resolved. */
  functionVariable(functionLogicalId: string, name: string): string {
    const fn = this.template(this.stack.stackName).Resources[functionLogicalId];
    const value = (fn.Properties!.Environment as { Variables: Record<string, Json> }).Variables[name];
    if (value === undefined) throw new Error(`${functionLogicalId} has no ${name}`);
    return String(this.resolve(this.stack.stackName, value));
  }

  /** The resource policy of a REST API, with API Gateway's `execute-api:/…` shorthand expanded to the API's ARNs. */
  restApiPolicy(apiLogicalId: string): PolicyDocument {
    const api = this.template(this.stack.stackName).Resources[apiLogicalId];
    const text = JSON.stringify(this.resolve(this.stack.stackName, api.Properties!.Policy));
    return JSON.parse(text.replaceAll('"execute-api:/', `"${executeApiArn(apiLogicalId, '')}`)) as PolicyDocument;
  }

  roleArn(roleLogicalId: string): string {
    return fakeArn('AWS::IAM::Role', roleLogicalId);
  }

  private template(stackName: string) {
    const template = this.templates.get(stackName);
    if (!template) throw new Error(`Stack ${stackName} is not among the producers`);
    return template;
  }

  private resolve(stackName: string, value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stackName, v));
    if (value === null || typeof value !== 'object') return value;
    const [key] = Object.keys(value);
    const arg = value[key];
    switch (key) {
      case 'Ref': {
        const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
        if (pseudo[arg as string]) return pseudo[arg as string];
        // A state machine's Ref is its ARN (StartExecution grants name it so).
        const resource = this.template(stackName).Resources[arg as string];
        if (resource?.Type === 'AWS::StepFunctions::StateMachine') return fakeArn(resource.Type, arg as string);
        // So is a secret's (the billing function's GetSecretValue grant names it so).
        if (resource?.Type === 'AWS::SecretsManager::Secret') return fakeArn(resource.Type, arg as string);
        // A REST API's Ref is its id (execute-api ARNs name it); the logical id stands for it.
        if (resource?.Type === 'AWS::ApiGateway::RestApi') return arg as string;
        // Other resources' Ref is a name or id, not an ARN; no policy of the roles under test uses one.
        throw new Error(`Ref ${arg}: only pseudo parameters and state machines are resolved`);
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = arg as [string, string];
        // A state machine's Name: its fake ARN ends with it (the policies name its executions by it, R-TERM-1..5).
        if (attribute === 'Name' && this.template(stackName).Resources[logicalId].Type === 'AWS::StepFunctions::StateMachine') return logicalId;
        if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: only Arn and a state machine's Name are resolved`);
        return fakeArn(this.template(stackName).Resources[logicalId].Type, logicalId);
      }
      case 'Fn::Join': {
        const [delimiter, parts] = arg as [string, Json[]];
        return parts.map((p) => this.resolve(stackName, p)).join(delimiter);
      }
      case 'Fn::GetStackOutput': {
        const { StackName, OutputName } = arg as { StackName: string; OutputName: string };
        const output = this.template(StackName).Outputs?.[OutputName];
        if (!output) throw new Error(`Output ${OutputName} not found in ${StackName}`);
        return this.resolve(StackName, output.Value);
      }
      default:
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(stackName, v)]));
    }
  }
}

export type Context = Record<string, string | string[]>;

export interface SimulatedRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Context;
  /** The resource's own policy, where it has one (a KMS key policy decides together with IAM). */
  readonly resourcePolicy?: PolicyDocument;
}

/**
 * The simulator's verdict on one request of `principalArn` (a role ARN: a session of it; an account root ARN: the
 * root user), with the global keys AWS puts in every request (`aws:PrincipalArn`, `aws:PrincipalAccount`: key and
 * resource policies name principals by them). runUnsafeSimulation evaluates condition keys as given (runSimulation
 * drops `kms:EncryptionContext:<key>`, see tenant-read-role.test.ts); a test file that uses it mocks
 * `@cloud-copilot/iam-policy` (iam-policy-mock.ts).
 */
export function simulate(identityPolicies: { name: string; policy: PolicyDocument }[], principalArn: string, request: SimulatedRequest): string {
  const role = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(principalArn);
  return runUnsafeSimulation(
    {
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
      request: {
        action: request.action,
        principal: role ? `arn:aws:sts::${role[1]}:assumed-role/${role[2]}/session` : principalArn,
        resource: { accountId: ACCOUNT, resource: request.resource },
        contextVariables: { 'aws:PrincipalArn': principalArn, 'aws:PrincipalAccount': principalArn.split(':')[4], ...request.context },
      },
    },
    {},
  );
}

/** The simulator's verdict on one request of a session of the synthesized role `roleLogicalId`. */
export function decideAs(policies: SynthesizedPolicies, roleLogicalId: string, request: SimulatedRequest): string {
  return simulate(policies.identityPolicies(roleLogicalId), policies.roleArn(roleLogicalId), request);
}

/** A deployment's two stacks, synthesized in one test app as lib/app.ts names them, and the services stack's policies. */
export function synthesizedDeployment(config: LumiqoConfig = testConfig()): { config: LumiqoConfig; data: DataStack; services: ServicesStack; policies: SynthesizedPolicies } {
  const app = testApp();
  const data = synthDataStack(config, app);
  const services = new ServicesStack(app, `${stackPrefix(config)}-Services`, { config, data, env: { account: ACCOUNT, region: REGION } });
  return { config, data, services, policies: new SynthesizedPolicies(services, [data]) };
}

/** The logical id of a construct's CloudFormation resource in `stack`. */
export const logicalIdIn = (stack: cdk.Stack, construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as cdk.CfnElement);
