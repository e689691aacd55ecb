import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge } from '../nag';

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

/** AWS services that use the data key on a caller's behalf (server-side encryption). */
export type KeyUsingService = 'dynamodb' | 's3';

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
