import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { denyTagChanges } from '../../lambdas/adapters/tenant-key-policy';
import { acknowledge, acknowledgeWildcardActions } from '../nag';

export interface Allowance {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Record<string, unknown>;
}

/**
 * Adds one statement to the grantee's identity policy and returns the principal's construct (a role: its
 * policies sit below it, so acknowledgements of their findings belong there). Fails synth rather than
 * leave a function without access.
 */
export function allow(grantee: iam.IGrantable, allowance: Allowance): IConstruct | undefined {
  const result = grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement(allowance));
  if (!result.statementAdded) {
    throw new Error(`Cannot grant ${allowance.actions.join(', ')}: ${grantee.grantPrincipal} has no identity policy to add to`);
  }
  return Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : undefined;
}

/** Acknowledges one cdk-nag finding on the grantee returned by `allow` (when it is a construct, e.g. a role). */
export function acknowledgeOnPolicy(policy: IConstruct | undefined, id: string, reason: string): void {
  if (policy) acknowledge(policy, id, reason);
}

/** Justifies `actions` on "*" on the grantee returned by `allow` (nag.ts acknowledgeWildcardActions). */
export function acknowledgeStarActions(policy: IConstruct | undefined, actions: readonly string[], reason: string): void {
  if (policy) acknowledgeWildcardActions(policy, actions, reason);
}

/** AWS services that use the data key on a caller's behalf (server-side encryption). */
export type KeyUsingService = 'dynamodb' | 's3' | 'secretsmanager';

/**
 * R-SEC-2, R-SEC-5: a customer-managed key only as `services` use it for the caller (`kms:ViaService`), so
 * a grant for a table or bucket never lets the function decrypt or mint data keys directly.
 */
export function allowKeyViaServices(grantee: iam.IGrantable, key: kms.IKey, actions: string[], services: readonly KeyUsingService[]): void {
  const region = cdk.Stack.of(key).region;
  allow(grantee, {
    actions,
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': services.map((service) => `${service}.${region}.amazonaws.com`) } },
  });
}

/** KMS actions of a grant that only reads through a service. */
export const READ_KEY_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
/** KMS actions of a grant that writes through a service: SSE data keys for new items and objects. */
export const WRITE_KEY_ACTIONS = [...READ_KEY_ACTIONS, 'kms:Encrypt', 'kms:GenerateDataKey'];

/** The root principal of the stack's account, from pseudo parameters (so it reads the same in any stack). */
export const accountRootArn = (): string => `arn:${cdk.Aws.PARTITION}:iam::${cdk.Aws.ACCOUNT_ID}:root`;

/**
 * Who may change the tags of a key a stack makes: the account root user (break-glass) and, when the stack deploys
 * through the CDK bootstrap roles (DefaultStackSynthesizer), CloudFormation's execution role, which applies the
 * template's tags. Not the account's IAM key administrators: a tag change outside the stack is a permission change
 * outside review (R-SEC-5).
 */
export function keyTagAdministrators(stack: cdk.Stack): string[] {
  const administrators = [accountRootArn()];
  const synthesizer = stack.synthesizer;
  if (synthesizer instanceof cdk.DefaultStackSynthesizer) {
    // `${AWS::Partition}` and the like in the bootstrap role's ARN, as references (Fn::Join, not Fn::Sub).
    const pseudo: Record<string, string> = { '${AWS::Partition}': cdk.Aws.PARTITION, '${AWS::AccountId}': cdk.Aws.ACCOUNT_ID, '${AWS::Region}': cdk.Aws.REGION };
    administrators.push(synthesizer.cloudFormationExecutionRoleArn.replace(/\$\{AWS::(Partition|AccountId|Region)\}/g, (p) => pseudo[p]));
  }
  return administrators;
}

/**
 * R-SEC-5: the key's tags change only by its stack (keyTagAdministrators). The deployment's grants select keys by
 * tag, so an untagged key of the stack (the data, signing and services keys) that someone could tag with this
 * deployment and a tenant would become a tenant key: usable by the processor, deletable by termination.
 */
export function fixKeyTags(key: kms.Key): void {
  const result = key.addToResourcePolicy(iam.PolicyStatement.fromJson(denyTagChanges(keyTagAdministrators(cdk.Stack.of(key)))));
  if (!result.statementAdded) throw new Error(`Cannot fix the tags of ${key.node.path}: its key policy cannot be changed`);
}
