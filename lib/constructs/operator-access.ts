/**
 * R-SEC-5: who an operator is. The operator routes (`/v1/admin/*`: tenants, API keys, webhook sources, privacy
 * requests, termination) use IAM (SigV4) authorization, and many principals of an account hold execute-api:Invoke
 * on `*` (PowerUser, CI roles). So the API's resource policy (IngestionApi) admits to those routes only the operator
 * role made here and, if configured, principals tagged `lumiqo:operator=true`, and denies everyone else; a person
 * assumes the role with MFA.
 */
import * as cdk from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge, nagResourceName } from '../nag';

export interface OperatorAccessProps {
  /**
   * Whether assuming the operator role needs a session signed in with MFA (`aws:MultiFactorAuthPresent`).
   * @default true
   */
  readonly requireMfa?: boolean;
  /**
   * Who may assume the operator role (IAM principal ARNs).
   * @default the account root: the account's IAM policies decide who may assume it
   */
  readonly trustedPrincipals?: readonly string[];
  /**
   * Also admit to the operator routes principals of this account tagged `lumiqo:operator=true` (IAM users and roles,
   * or sessions tagged by an identity provider). They do not go through the operator role, so its MFA rule does not
   * apply to them, and whoever can tag a principal or a session (iam:TagRole, iam:TagUser, sts:TagSession) can make
   * an operator.
   * @default false
   */
  readonly admitTaggedPrincipals?: boolean;
  /** @default 1 hour */
  readonly maxSessionDuration?: cdk.Duration;
}

/** Every operator route's path starts so, and no other route's (IngestionApi checks the route table). */
export const ADMIN_PATH_PREFIX = '/v1/admin/';

/** Principals of the account tagged so are operators, where OperatorAccessProps.admitTaggedPrincipals allows it. */
export const OPERATOR_TAG = 'lumiqo:operator';
export const OPERATOR_TAG_VALUE = 'true';

export class OperatorAccess extends Construct {
  /** The operator role; its ARN is the `OperatorRoleArn` output. */
  readonly role: iam.Role;
  readonly admitTaggedPrincipals: boolean;

  constructor(scope: Construct, id: string, props: OperatorAccessProps = {}) {
    super(scope, id);
    this.admitTaggedPrincipals = props.admitTaggedPrincipals ?? false;
    const trusted = props.trustedPrincipals ?? [];
    const principals: iam.IPrincipal[] = trusted.length > 0 ? trusted.map((arn) => new iam.ArnPrincipal(arn)) : [new iam.AccountRootPrincipal()];
    const conditions = props.requireMfa ?? true ? { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } : undefined;
    const [first, ...rest] = principals;
    this.role = new iam.Role(this, 'Role', {
      description: `Lumiqo operator: the operator routes ${ADMIN_PATH_PREFIX}* of the API${conditions ? ', assumed with MFA' : ''} (R-SEC-5)`,
      assumedBy: conditions ? new iam.PrincipalWithConditions(first, conditions) : first,
      maxSessionDuration: props.maxSessionDuration ?? cdk.Duration.hours(1),
    });
    for (const principal of rest) {
      this.role.assumeRolePolicy!.addStatements(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], principals: [principal], ...(conditions ? { conditions } : {}) }));
    }
  }

  /** The operator role may invoke the operator routes of `api`'s stage `stageName`, nothing else. */
  allowOperatorRoutes(api: apigw.IRestApi, stageName: string): void {
    const resource = api.arnForExecuteApi('*', `${ADMIN_PATH_PREFIX}*`, stageName);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [resource] }));
    acknowledge(this.role, `AwsSolutions-IAM5[Resource::${nagResourceName(this, resource)}]`,
      'The operator routes are every method under /v1/admin/ of this API\'s stage, with tenant and key ids in their paths; the role reaches nothing else of the API');
  }

  /**
   * The API resource policy's part for the operator routes (`execute-api:/*` + method + `/v1/admin/*`): allowed to the
   * operator role (and tagged principals of this account, if admitted), denied to every other principal.
   */
  resourcePolicyStatements(): iam.PolicyStatement[] {
    const adminRoutes = [`execute-api:/*/*${ADMIN_PATH_PREFIX}*`];
    const account = new iam.AccountRootPrincipal();
    const isRole = { ArnEquals: { 'aws:PrincipalArn': this.role.roleArn } };
    const isTagged = { StringEquals: { [`aws:PrincipalTag/${OPERATOR_TAG}`]: OPERATOR_TAG_VALUE } };
    const statements = [
      new iam.PolicyStatement({ sid: 'OperatorRole', principals: [account], actions: ['execute-api:Invoke'], resources: adminRoutes, conditions: isRole }),
    ];
    if (this.admitTaggedPrincipals) {
      statements.push(new iam.PolicyStatement({ sid: 'TaggedOperators', principals: [account], actions: ['execute-api:Invoke'], resources: adminRoutes, conditions: isTagged }));
      // A principal of another account may carry the tag too: only this account's count.
      statements.push(new iam.PolicyStatement({
        sid: 'DenyOtherAccountsOperatorRoutes', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['execute-api:Invoke'], resources: adminRoutes,
        conditions: { StringNotEquals: { 'aws:PrincipalAccount': cdk.Aws.ACCOUNT_ID } },
      }));
    }
    statements.push(new iam.PolicyStatement({
      sid: 'DenyNonOperatorsOperatorRoutes', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['execute-api:Invoke'], resources: adminRoutes,
      conditions: {
        ArnNotEquals: { 'aws:PrincipalArn': this.role.roleArn },
        ...(this.admitTaggedPrincipals ? { StringNotEquals: isTagged.StringEquals } : {}),
      },
    }));
    return statements;
  }
}
