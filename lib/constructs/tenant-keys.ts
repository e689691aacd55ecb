import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
import { KEY_DELETION_WINDOW_DAYS } from '../../lambdas/domain/privacy';
import type { TenantKeyPolicyPrincipals } from '../../lambdas/adapters/tenant-key-policy';
import type { KeyPurpose } from '../../lambdas/shared/declarations';
import { accountRootArn, acknowledgeOnPolicy, acknowledgeStarActions, allow } from './grants';

export interface TenantKeysProps {
  /** Value of the `lumiqo:deployment` tag on every tenant key of this deployment: `stackPrefix(config)`. */
  readonly deployment: string;
}

/** Variable holding the tenant of a tenant-scoped session (R-SEC-4). */
const PRINCIPAL_TENANT = '${aws:PrincipalTag/tenantId}';
/** R-SEC-4: what the read routes decrypt. */
const TENANT_READ_PURPOSE: KeyPurpose = 'event';

/**
 * Tenant key material (DESIGN.md): one KMS key per tenant, created at runtime by the admin function, tagged
 * with this deployment and the tenant, used through the AWS Encryption SDK with `tenantId` (and `purpose`)
 * in the encryption context. The keys do not exist at synth, so grants select them by tag; destroying one
 * key makes that tenant's ciphertexts unreadable everywhere, backups included (R-TERM-4).
 */
export class TenantKeys extends Construct {
  static readonly TENANT_TAG = 'lumiqo:tenant';
  static readonly DEPLOYMENT_TAG = 'lumiqo:deployment';
  /** R-TERM-4: days KMS waits before deleting a shredded tenant key (lambdas/domain/privacy.ts, KmsTenantKeyManager's default). */
  static readonly KEY_DELETION_WINDOW_DAYS = KEY_DELETION_WINDOW_DAYS;

  /** Every tenant key's alias starts with this, followed by the tenant id. */
  readonly aliasPrefix: string;
  readonly deploymentTagValue: string;
  private readonly keyArns: string;
  private readonly aliasArns: string;

  constructor(scope: Construct, id: string, props: TenantKeysProps) {
    super(scope, id);
    this.deploymentTagValue = props.deployment;
    this.aliasPrefix = `alias/lumiqo/${props.deployment}/tenant/`;
    this.keyArns = kmsArn('key/*');
    this.aliasArns = kmsArn(`${this.aliasPrefix}*`);
  }

  /** The admin function: creates a tenant's key, tagged for this deployment and one tenant, and its alias. */
  grantCreate(grantee: iam.IGrantable): void {
    const createPolicy = allow(grantee, {
      actions: ['kms:CreateKey'],
      resources: ['*'],
      conditions: {
        StringEquals: {
          [`aws:RequestTag/${TenantKeys.DEPLOYMENT_TAG}`]: this.deploymentTagValue,
          // Only symmetric AES-256 keys with KMS-held material: what the Encryption SDK keyring uses.
          'kms:KeySpec': 'SYMMETRIC_DEFAULT',
          'kms:KeyUsage': 'ENCRYPT_DECRYPT',
          'kms:KeyOrigin': 'AWS_KMS',
        },
        Null: { [`aws:RequestTag/${TenantKeys.TENANT_TAG}`]: 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [TenantKeys.DEPLOYMENT_TAG, TenantKeys.TENANT_TAG] },
      },
    });
    acknowledgeStarActions(createPolicy, ['kms:CreateKey'],
      'kms:CreateKey has no resource-level permission (the key does not exist yet); the statement only allows a symmetric KMS key that is tagged with this deployment and a tenant, as DESIGN.md requires');
    // CreateKey with tags is authorized for TagResource too, in an IAM policy on every key of the account and region;
    // only this deployment's two tags may be set. R-SEC-5: and only on a key that carries this deployment's tag and
    // the same tenant already, or no tags, which is what a key being created looks like: never another deployment's
    // key, never one tenant's key handed to another. The deployment's untagged keys (data, signing, services) deny
    // tag changes in their key policies (fixKeyTags), tenant keys in theirs (keyPolicyPrincipals): no key of this
    // deployment can be adopted by tagging it. No UntagResource: nothing of the platform removes a tag.
    this.allowOnKeys(grantee, ['kms:TagResource'], {
      StringEquals: { [`aws:RequestTag/${TenantKeys.DEPLOYMENT_TAG}`]: this.deploymentTagValue },
      StringEqualsIfExists: {
        [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: this.deploymentTagValue,
        [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: `\${aws:RequestTag/${TenantKeys.TENANT_TAG}}`,
      },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TenantKeys.DEPLOYMENT_TAG, TenantKeys.TENANT_TAG] },
    });
    // An alias needs permission on the alias (only under this deployment's prefix) and on the key.
    const aliasPolicy = allow(grantee, { actions: ['kms:CreateAlias'], resources: [this.aliasArns] });
    acknowledgeOnPolicy(aliasPolicy, `AwsSolutions-IAM5[Resource::${nagKmsArn(`${this.aliasPrefix}*`)}]`,
      'Tenant key aliases are created at runtime, one per tenant; the wildcard is the tenant id under this deployment\'s alias prefix');
    // R-SEC-2: the new key's rotation is turned on (KmsTenantKeyManager.createTenantKey); a retry finds it by alias.
    this.allowOnKeys(grantee, ['kms:CreateAlias', 'kms:DescribeKey', 'kms:EnableKeyRotation'], this.deploymentTagCondition());
  }

  /**
   * Functions that encrypt or decrypt tenant data (processor, admin for webhook secrets, …): any tenant key of this
   * deployment, but R-SEC-4, R-SEC-5: only for ciphertexts of that key's own tenant (`tenantId` in the encryption
   * context equal to the key's `lumiqo:tenant` tag), and only for the `purposes` the function's declaration names, so
   * the processor cannot open webhook secrets and admin cannot open events.
   */
  grantUse(grantee: iam.IGrantable, purposes: readonly KeyPurpose[]): void {
    if (purposes.length === 0) throw new Error('TenantKeys.grantUse: name the purposes the grantee encrypts or decrypts (R-SEC-5)');
    this.allowOnKeys(grantee, ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], {
      StringEquals: {
        ...this.deploymentTagCondition().StringEquals,
        // The key's own tenant: its `lumiqo:tenant` tag, as a policy variable.
        'kms:EncryptionContext:tenantId': `\${aws:ResourceTag/${TenantKeys.TENANT_TAG}}`,
        'kms:EncryptionContext:purpose': [...purposes],
      },
    });
  }

  /**
   * R-SEC-4: a tenant-scoped session decrypts only with its own tenant's key, only ciphertexts whose encryption
   * context names its own tenant, and only events: not the tenant's webhook secrets, subject key or corrections,
   * which the read routes never need.
   */
  grantTenantDecrypt(grantee: iam.IGrantable): void {
    this.allowOnKeys(grantee, ['kms:Decrypt'], {
      StringEquals: {
        [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: this.deploymentTagValue,
        [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: PRINCIPAL_TENANT,
        'kms:EncryptionContext:tenantId': PRINCIPAL_TENANT,
        'kms:EncryptionContext:purpose': TENANT_READ_PURPOSE,
      },
    });
  }

  /**
   * R-TERM-4: termination crypto-shreds a tenant: its key is disabled, its alias removed (the tenant id then
   * names no key) and its deletion scheduled. The waiting period is pinned to KEY_DELETION_WINDOW_DAYS, the one
   * the deletion certificate's dates are computed from (BackupFacts.keyDeletionWindowDays, R-TERM-5).
   */
  grantShred(grantee: iam.IGrantable): void {
    this.allowOnKeys(grantee, ['kms:DescribeKey', 'kms:DisableKey', 'kms:DeleteAlias'], this.deploymentTagCondition());
    this.allowOnKeys(grantee, ['kms:ScheduleKeyDeletion'], {
      ...this.deploymentTagCondition(),
      NumericEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': TenantKeys.KEY_DELETION_WINDOW_DAYS },
    });
    // The key's aliases are found by ListAliases (KmsTenantKeyManager.destroyTenantKey), which has no resource-level
    // permission.
    const listPolicy = allow(grantee, { actions: ['kms:ListAliases'], resources: ['*'] });
    acknowledgeStarActions(listPolicy, ['kms:ListAliases'],
      'kms:ListAliases supports no resource-level permission (IAM requires "*"); it returns alias names and key ids only, no key material or data');
    // DeleteAlias needs permission on the alias as well as on the key; aliases carry no tags, so the prefix limits it.
    const aliasPolicy = allow(grantee, { actions: ['kms:DeleteAlias'], resources: [this.aliasArns] });
    acknowledgeOnPolicy(aliasPolicy, `AwsSolutions-IAM5[Resource::${nagKmsArn(`${this.aliasPrefix}*`)}]`,
      'Tenant key aliases are created at runtime, one per tenant; the wildcard is the tenant id under this deployment\'s alias prefix');
  }

  /**
   * R-SEC-5: who the policy of each tenant key names (lambdas/adapters/tenant-key-policy.ts): this account, whose IAM
   * policies decide every use, and `creator`, the role that creates the keys and tags them on creation.
   */
  keyPolicyPrincipals(creator: iam.IRole): TenantKeyPolicyPrincipals {
    return { accountRootArn: accountRootArn(), keyCreatorArns: [creator.roleArn] };
  }

  private deploymentTagCondition(): Record<string, Record<string, unknown>> {
    return { StringEquals: { [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: this.deploymentTagValue } };
  }

  /** Tenant keys are created at runtime, so statements name `key/*` and select this deployment's keys by tag. */
  private allowOnKeys(grantee: iam.IGrantable, actions: string[], conditions: Record<string, unknown>): IConstruct | undefined {
    const policy = allow(grantee, { actions, resources: [this.keyArns], conditions });
    acknowledgeOnPolicy(policy, `AwsSolutions-IAM5[Resource::${nagKmsArn('key/*')}]`,
      'Tenant KMS keys are created at runtime (one per tenant), so their ARNs are unknown at synth; every statement on key/* is limited to keys that carry this deployment\'s lumiqo:deployment tag (TagResource: or no deployment tag yet, a key being created, and only setting this deployment\'s tags), R-SEC-4, R-SEC-5');
    return policy;
  }
}

/**
 * ARNs of this account's and region's KMS resources, from pseudo parameters so they read the same in any
 * grantee's stack; `nagKmsArn` is how cdk-nag writes that ARN in a finding id.
 */
const kmsArn = (resource: string): string => `arn:${cdk.Aws.PARTITION}:kms:${cdk.Aws.REGION}:${cdk.Aws.ACCOUNT_ID}:${resource}`;
const nagKmsArn = (resource: string): string => `arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:${resource}`;
