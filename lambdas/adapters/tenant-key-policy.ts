/**
 * R-SEC-5: the key policy every tenant key is created with (KmsTenantKeyManager.createTenantKey), instead of the
 * account's default, and the statement that keeps the deployment's other keys' tags fixed. Pure data, in one place:
 * the admin function builds the policy from its environment (TENANT_KEY_POLICY), the CDK constructs put the same
 * tag statement into the data, signing and services keys' policies, and the tests evaluate both in the IAM simulator.
 *
 * Tags decide who may use a tenant key: every grant on tenant keys names them by `lumiqo:deployment` and
 * `lumiqo:tenant` (lib/constructs/tenant-keys.ts). Whoever can change a key's tags can therefore hand the key to
 * another tenant, adopt a foreign key into the deployment (where termination may schedule its deletion), or take
 * one out of it. So tags are set once, when a key is created, and only the principals named here may change them.
 */

/** The actions that change a KMS key's tags. */
export const TAG_CHANGE_ACTIONS: readonly string[] = ['kms:TagResource', 'kms:UntagResource'];

export interface KeyPolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal: { readonly AWS: string | readonly string[] };
  readonly Action: string | readonly string[];
  readonly Resource: string;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface KeyPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly KeyPolicyStatement[];
}

/** Who a tenant key's policy names; the admin function gets it as TENANT_KEY_POLICY (JSON). */
export interface TenantKeyPolicyPrincipals {
  /** `arn:<partition>:iam::<account>:root`: the account whose IAM policies decide every use of the key. */
  readonly accountRootArn: string;
  /** The roles that create tenant keys (the admin function's): CreateKey sets the key's tags. */
  readonly keyCreatorArns: readonly string[];
}

/**
 * Denies changing the key's tags to every principal but `exemptArns` (`aws:PrincipalArn`: a role's ARN for any of
 * its sessions; the account root ARN is the root user only). An IAM policy with `kms:TagResource` on `*`, as
 * PowerUser roles have, cannot override it.
 */
export function denyTagChanges(exemptArns: readonly string[]): KeyPolicyStatement {
  if (exemptArns.length === 0) throw new Error('denyTagChanges: name at least the account root, or nobody could ever correct a tag');
  return {
    Sid: 'DenyTagChangesButByKeyAdministrators',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: [...TAG_CHANGE_ACTIONS],
    Resource: '*',
    Condition: { ArnNotEquals: { 'aws:PrincipalArn': [...exemptArns] } },
  };
}

/**
 * The policy of a tenant key. The account root statement is KMS's default policy: it keeps the account able to
 * manage the key (KMS refuses a policy that would lock it out) and makes the deployment's IAM grants effective,
 * which is where every use of a tenant key is decided. On top of it, only the account root user and the key
 * creators may change the key's tags (the creator sets them on CreateKey).
 */
export function tenantKeyPolicy(principals: TenantKeyPolicyPrincipals): KeyPolicyDocument {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:root$/.test(principals.accountRootArn)) {
    throw new Error(`tenantKeyPolicy: accountRootArn must be arn:<partition>:iam::<account>:root, got '${principals.accountRootArn}'`);
  }
  if (principals.keyCreatorArns.length === 0) throw new Error('tenantKeyPolicy: name the role that creates tenant keys (keyCreatorArns)');
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AccountDecidesThroughIam', Effect: 'Allow', Principal: { AWS: principals.accountRootArn }, Action: 'kms:*', Resource: '*' },
      denyTagChanges([principals.accountRootArn, ...principals.keyCreatorArns]),
    ],
  };
}

/** TENANT_KEY_POLICY as the environment holds it, checked. */
export function tenantKeyPolicyPrincipals(json: unknown): TenantKeyPolicyPrincipals {
  const value = json as Partial<TenantKeyPolicyPrincipals> | null;
  const arns = value?.keyCreatorArns;
  if (typeof value?.accountRootArn !== 'string' || !Array.isArray(arns) || !arns.every((arn) => typeof arn === 'string')) {
    throw new Error('TENANT_KEY_POLICY: expected {"accountRootArn": "...", "keyCreatorArns": ["..."]}');
  }
  return { accountRootArn: value.accountRootArn, keyCreatorArns: arns };
}
