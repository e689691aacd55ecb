import * as iam from 'aws-cdk-lib/aws-iam';
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
