/**
 * R-SEC-5: each function's role is no broader than its code (issue 10, "Roles broader than their code"), as
 * synthesized and evaluated by an IAM policy simulator. Every "cannot" has its "can" twin: the same request by the
 * role meant to make it, or the same role on what its code does touch, so a policy that denies everything fails here.
 */
import { tenantKeyPolicy, tenantKeyPolicyPrincipals } from '../../lambdas/adapters/tenant-key-policy';
import { KEY_PURPOSES, type KeyPurpose } from '../../lambdas/shared/declarations';
import { FUNCTION_DECLARATIONS } from '../../lambdas/shared/functions';
import { ENV } from '../../lambdas/shared/settings';
import { stackPrefix } from '../../lib/config';
import type { LumiqoFunctionName } from '../../lib/constructs/lumiqo-function';
import { TenantKeys } from '../../lib/constructs/tenant-keys';
import { ACCOUNT, REGION, decideAs, fakeArn, logicalIdIn, simulate, synthesizedDeployment, type Context, type PolicyDocument } from './synthesized-policies';

const { config, data, services, policies } = synthesizedDeployment();

/** runUnsafeSimulation needs its resource policies named (iam-policy-mock.ts). */
jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('./iam-policy-mock').namedResourcePolicies());

const logicalId = logicalIdIn;

type Principal = LumiqoFunctionName | 'TenantReadRole';
const FUNCTIONS: LumiqoFunctionName[] = ['ingest', 'processor', 'query', 'admin', 'privacy', 'privacy-tasks', 'termination-tasks', 'ai'];
const roleIdOf = (principal: Principal) =>
  logicalId(services, principal === 'TenantReadRole' ? services.tenantReadRole : services.functions[principal].role);
const decide = (principal: Principal, action: string, resource: string, context: Context = {}) =>
  decideAs(policies, roleIdOf(principal), { action, resource, context: { 'aws:PrincipalTag/tenantId': 'tenant-a', ...context } });

/** R-SEC-5: the key policy the admin function creates each tenant key with, built from its synthesized environment. */
const TENANT_KEY_POLICY = tenantKeyPolicy(
  tenantKeyPolicyPrincipals(JSON.parse(policies.functionVariable(logicalId(services, services.functions.admin.function), ENV.tenantKeyPolicy))),
) as unknown as PolicyDocument;
/** What KMS gives a key created without a policy: IAM decides (another deployment's keys may have it). */
const DEFAULT_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

const tableArn = (table: { node: { defaultChild?: unknown } }) => fakeArn('AWS::DynamoDB::Table', logicalId(data, table));
const controlTable = tableArn(data.store.controlTable);
const leadingKeys = (...keys: string[]): Context => ({ 'dynamodb:LeadingKeys': keys });

test('every function has policies to evaluate (guards every test below)', () => {
  for (const fn of FUNCTIONS) expect([fn, policies.identityPolicies(roleIdOf(fn)).length > 0]).toEqual([fn, true]);
});

describe('R-SEC-5: Scan only where the code scans, which is nowhere', () => {
  const tables = {
    control: controlTable,
    tenantData: tableArn(data.store.tenantDataTable),
    audit: tableArn(data.store.auditTable),
    ledger: tableArn(data.ledger.table),
  };

  test.each(FUNCTIONS)('%s cannot Scan any table; it can Query the control partition it reads', (fn) => {
    for (const [name, arn] of Object.entries(tables)) {
      expect([name, decide(fn, 'dynamodb:Scan', arn)]).not.toEqual([name, 'Allowed']);
    }
    expect(decide(fn, 'dynamodb:Query', controlTable, leadingKeys('T#tenant-a#TENANT'))).toBe('Allowed');
  });

  test('the tenant read role cannot Scan its tables either; it can Query its own tenant', () => {
    expect(decide('TenantReadRole', 'dynamodb:Scan', tables.tenantData)).not.toBe('Allowed');
    expect(decide('TenantReadRole', 'dynamodb:Query', tables.tenantData, leadingKeys('T#tenant-a#ROLLUP'))).toBe('Allowed');
  });
});

describe('R-SEC-5: ingest, internet-facing, writes only delivery markers and privacy requests to the control table', () => {
  const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
  /**
   * What a compromised ingest must not touch, and the function that does write it: an API key hash (minting a key)
   * and the tenant record with its key list and sources (un-freezing) are admin's; erasures and restrictions privacy-tasks'.
   */
  const forbidden: [string, string, LumiqoFunctionName][] = [
    ['an API key hash', 'APIKEY#9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'admin'],
    ['the tenant record, key list and sources', 'T#tenant-a#TENANT', 'admin'],
    ['an erasure marker', 'T#tenant-a#ERASED', 'privacy-tasks'],
    ['a restriction', 'T#tenant-a#RESTRICTED', 'privacy-tasks'],
  ];

  test.each(forbidden)('ingest cannot put, update or delete %s (%s); %s can', (_what, partition, writer) => {
    for (const action of WRITES) {
      expect([action, decide('ingest', action, controlTable, leadingKeys(partition))]).not.toEqual([action, 'Allowed']);
      expect([action, decide(writer, action, controlTable, leadingKeys(partition))]).toEqual([action, 'Allowed']);
    }
  });

  test('ingest can still read what authenticates a request: the API key hash, the tenant, its sources', () => {
    expect(decide('ingest', 'dynamodb:GetItem', controlTable, leadingKeys(forbidden[0][1]))).toBe('Allowed');
    expect(decide('ingest', 'dynamodb:GetItem', controlTable, leadingKeys('T#tenant-a#TENANT'))).toBe('Allowed');
  });

  test.each([
    ['a webhook delivery marker', 'T#tenant-a#DELIVERY#shop', ['dynamodb:PutItem', 'dynamodb:DeleteItem']],
    ['a Shopify GDPR webhook\'s privacy request', 'T#tenant-a#PRIVACY', ['dynamodb:PutItem', 'dynamodb:UpdateItem']],
    ['the open-requests list entry', 'PRIVACY#OPEN', ['dynamodb:PutItem', 'dynamodb:DeleteItem']],
    ['the plan quota\'s monthly event counter (R-BILL-1)', 'T#tenant-a#QUOTA', ['dynamodb:UpdateItem']],
  ])('ingest can write %s', (_what, partition, actions) => {
    for (const action of actions) expect([action, decide('ingest', action, controlTable, leadingKeys(partition))]).toEqual([action, 'Allowed']);
  });

  test('a write that mixes an allowed partition with a forbidden one, or names none, is refused; the allowed one alone is not', () => {
    expect(decide('ingest', 'dynamodb:PutItem', controlTable, leadingKeys('T#tenant-a#DELIVERY#shop', 'T#tenant-a#TENANT'))).not.toBe('Allowed');
    expect(decide('ingest', 'dynamodb:PutItem', controlTable)).not.toBe('Allowed');
    expect(decide('ingest', 'dynamodb:BatchWriteItem', controlTable, leadingKeys('T#tenant-a#DELIVERY#shop'))).not.toBe('Allowed');
    expect(decide('ingest', 'dynamodb:PutItem', controlTable, leadingKeys('T#tenant-a#DELIVERY#shop'))).toBe('Allowed');
  });
});

describe('R-SEC-5: billing, internet-facing too, writes only the tenant\'s own partition of the control table', () => {
  const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
  const forbidden: [string, string, LumiqoFunctionName][] = [
    ['an API key hash', 'APIKEY#9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'admin'],
    ['a webhook delivery marker', 'T#tenant-a#DELIVERY#shop', 'ingest'],
    ['the plan quota\'s event counter (R-BILL-1)', 'T#tenant-a#QUOTA', 'ingest'],
    ['an erasure marker', 'T#tenant-a#ERASED', 'privacy-tasks'],
    ['a restriction', 'T#tenant-a#RESTRICTED', 'privacy-tasks'],
  ];

  test.each(forbidden)('billing cannot put, update or delete %s (%s); %s can', (_what, partition, writer) => {
    for (const action of WRITES) {
      expect([action, decide('billing', action, controlTable, leadingKeys(partition))]).not.toEqual([action, 'Allowed']);
    }
    expect(decide(writer, 'dynamodb:PutItem', controlTable, leadingKeys(partition))).toBe('Allowed');
  });

  test('billing can update the tenant record (its plan) and put its termination record; it can read any control item', () => {
    expect(decide('billing', 'dynamodb:UpdateItem', controlTable, leadingKeys('T#tenant-a#TENANT'))).toBe('Allowed');
    expect(decide('billing', 'dynamodb:PutItem', controlTable, leadingKeys('T#tenant-a#TENANT'))).toBe('Allowed');
    expect(decide('billing', 'dynamodb:GetItem', controlTable, leadingKeys('T#tenant-a#PRIVACY'))).toBe('Allowed');
    expect(decide('billing', 'dynamodb:PutItem', controlTable)).not.toBe('Allowed');
  });
});

describe('R-SEC-4, R-SEC-5: tenant keys open only their own tenant\'s ciphertexts, and only for the purposes a function declares', () => {
  const deployment = stackPrefix(config);
  const tenantKey = `arn:aws:kms:${REGION}:${ACCOUNT}:key/tenant-a-key`;
  const keyUsers = FUNCTIONS.filter((fn) => FUNCTION_DECLARATIONS[fn].uses.tenantKeys !== undefined);
  const purposesOf = (fn: LumiqoFunctionName): readonly KeyPurpose[] => FUNCTION_DECLARATIONS[fn].uses.tenantKeys?.purposes ?? [];
  /** One KMS request on tenant A's key (tagged for this deployment) with this encryption context. */
  const onTenantKey = (fn: LumiqoFunctionName, action: string, context: { tenantId: string; purpose: string }, keyDeployment = deployment) =>
    decideAs(policies, roleIdOf(fn), {
      action,
      resource: tenantKey,
      resourcePolicy: TENANT_KEY_POLICY,
      context: {
        [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: keyDeployment,
        [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: 'tenant-a',
        'kms:EncryptionContext:tenantId': context.tenantId,
        'kms:EncryptionContext:purpose': context.purpose,
        'kms:EncryptionContextKeys': ['tenantId', 'purpose'],
      },
    });

  test('the processor, admin and the other key users each declare purposes (guards the table below)', () => {
    expect(keyUsers).toEqual(expect.arrayContaining(['processor', 'admin', 'ingest']));
    for (const fn of keyUsers) expect([fn, purposesOf(fn).length > 0]).toEqual([fn, true]);
  });

  const cases = keyUsers.flatMap((fn) => KEY_PURPOSES.map((purpose): [LumiqoFunctionName, KeyPurpose, boolean] => [fn, purpose, purposesOf(fn).includes(purpose)]));
  test.each(cases)('%s with purpose %s: Decrypt and GenerateDataKey Allowed only if declared (%s)', (fn, purpose, declared) => {
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
      const verdict = onTenantKey(fn, action, { tenantId: 'tenant-a', purpose });
      expect([action, verdict === 'Allowed']).toEqual([action, declared]);
    }
  });

  test('the processor cannot open webhook secrets or corrections, admin cannot open events; each can its own purpose', () => {
    expect(onTenantKey('processor', 'kms:Decrypt', { tenantId: 'tenant-a', purpose: 'webhook-secret' })).not.toBe('Allowed');
    expect(onTenantKey('processor', 'kms:Decrypt', { tenantId: 'tenant-a', purpose: 'event' })).toBe('Allowed');
    expect(onTenantKey('admin', 'kms:Decrypt', { tenantId: 'tenant-a', purpose: 'event' })).not.toBe('Allowed');
    expect(onTenantKey('admin', 'kms:Decrypt', { tenantId: 'tenant-a', purpose: 'webhook-secret' })).toBe('Allowed');
  });

  test.each(keyUsers)("%s cannot use tenant A's key for tenant B's context, nor another deployment's key; it can for tenant A", (fn) => {
    const purpose = purposesOf(fn)[0];
    expect(onTenantKey(fn, 'kms:Decrypt', { tenantId: 'tenant-b', purpose })).not.toBe('Allowed');
    expect(onTenantKey(fn, 'kms:GenerateDataKey', { tenantId: 'tenant-b', purpose })).not.toBe('Allowed');
    expect(onTenantKey(fn, 'kms:Decrypt', { tenantId: 'tenant-a', purpose }, 'Lumiqo-other')).not.toBe('Allowed');
    expect(onTenantKey(fn, 'kms:Decrypt', { tenantId: 'tenant-a', purpose })).toBe('Allowed');
  });
});

describe('R-SEC-5: KMS tagging cannot adopt a key: tags are set when a tenant key is created, and never changed', () => {
  const deployment = stackPrefix(config);
  const accountRoot = `arn:aws:iam::${ACCOUNT}:root`;
  const keyArn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
  const dataKey = { arn: fakeArn('AWS::KMS::Key', logicalId(data, data.dataKey)), policy: policies.keyPolicy(data.stackName, logicalId(data, data.dataKey)) };
  const signingKey = { arn: fakeArn('AWS::KMS::Key', logicalId(data, data.signingKey.key)), policy: policies.keyPolicy(data.stackName, logicalId(data, data.signingKey.key)) };
  const servicesKey = { arn: fakeArn('AWS::KMS::Key', logicalId(services, services.servicesKey)), policy: policies.keyPolicy(services.stackName, logicalId(services, services.servicesKey)) };
  const tenantKey = {
    arn: keyArn('tenant-a-key'),
    policy: TENANT_KEY_POLICY,
    tags: { [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: deployment, [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: 'tenant-a' },
  };
  /** Setting this deployment's two tags, as CreateKey does and as an adoption would. */
  const setTags = (tenant = 'tenant-a'): Context => ({
    [`aws:RequestTag/${TenantKeys.DEPLOYMENT_TAG}`]: deployment,
    [`aws:RequestTag/${TenantKeys.TENANT_TAG}`]: tenant,
    'aws:TagKeys': [TenantKeys.DEPLOYMENT_TAG, TenantKeys.TENANT_TAG],
  });
  const asAdmin = (action: string, key: { arn: string; policy: PolicyDocument }, context: Context) =>
    decideAs(policies, roleIdOf('admin'), { action, resource: key.arn, resourcePolicy: key.policy, context });
  /** A role of the account that may do anything with KMS by IAM (a PowerUser or CI role). */
  const powerUser = (action: string, key: { arn: string; policy: PolicyDocument }, context: Context = {}, principal = `arn:aws:iam::${ACCOUNT}:role/PowerUser`) =>
    simulate([{ name: 'kms-power-user', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }], principal, {
      action,
      resource: key.arn,
      resourcePolicy: key.policy,
      context,
    });

  test('admin can tag a key it creates (CreateKey with Tags: no tags on the key yet) under the tenant key policy', () => {
    expect(asAdmin('kms:TagResource', { arn: keyArn('new-key'), policy: tenantKey.policy }, setTags())).toBe('Allowed');
  });

  test.each([
    ['the data key', dataKey],
    ['the signing key', signingKey],
    ['the services key', servicesKey],
  ])('admin cannot tag %s as a tenant key (its key policy denies it); it can tag a key it creates', (_name, key) => {
    expect(asAdmin('kms:TagResource', key, setTags())).toBe('ExplicitlyDenied');
    expect(asAdmin('kms:TagResource', { arn: keyArn('new-key'), policy: tenantKey.policy }, setTags())).toBe('Allowed');
  });

  test("admin cannot tag another deployment's tenant key as its own (IAM); it can tag a key it creates", () => {
    const foreign = { arn: keyArn('other-deployment-key'), policy: DEFAULT_KEY_POLICY };
    const foreignTags = { [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: 'Lumiqo-other', [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: 'tenant-a' };
    expect(asAdmin('kms:TagResource', foreign, { ...foreignTags, ...setTags() })).not.toBe('Allowed');
    expect(asAdmin('kms:TagResource', { arn: keyArn('new-key'), policy: tenantKey.policy }, setTags())).toBe('Allowed');
  });

  test("admin cannot hand tenant A's key to tenant B, nor untag it; it can set the tags it already has", () => {
    expect(asAdmin('kms:TagResource', tenantKey, { ...tenantKey.tags, ...setTags('tenant-b') })).not.toBe('Allowed');
    expect(asAdmin('kms:UntagResource', tenantKey, { ...tenantKey.tags, 'aws:TagKeys': [TenantKeys.TENANT_TAG] })).not.toBe('Allowed');
    expect(asAdmin('kms:TagResource', tenantKey, { ...tenantKey.tags, ...setTags('tenant-a') })).toBe('Allowed');
  });

  test.each([
    ['the data key', dataKey],
    ['the signing key', signingKey],
    ['the services key', servicesKey],
    ['a tenant key', tenantKey],
  ])("a role with kms:* by IAM cannot tag or untag %s (key policy); the account's root user can", (_name, key) => {
    expect(powerUser('kms:TagResource', key, setTags())).toBe('ExplicitlyDenied');
    expect(powerUser('kms:UntagResource', key, { 'aws:TagKeys': [TenantKeys.DEPLOYMENT_TAG] })).toBe('ExplicitlyDenied');
    expect(powerUser('kms:TagResource', key, setTags(), accountRoot)).toBe('Allowed');
  });

  test("CloudFormation's execution role can change the stack keys' tags (a stack update), not a tenant key's", () => {
    const cfnExec = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;
    for (const key of [dataKey, signingKey, servicesKey]) expect(powerUser('kms:TagResource', key, { 'aws:TagKeys': ['team'] }, cfnExec)).toBe('Allowed');
    expect(powerUser('kms:TagResource', tenantKey, { 'aws:TagKeys': ['team'] }, cfnExec)).toBe('ExplicitlyDenied');
  });

  test('the tenant key policy keeps the IAM grants effective: the processor can still encrypt under it; the tag Deny does not reach it', () => {
    const context = { ...tenantKey.tags, 'kms:EncryptionContext:tenantId': 'tenant-a', 'kms:EncryptionContext:purpose': 'event', 'kms:EncryptionContextKeys': ['tenantId', 'purpose'] };
    expect(decideAs(policies, roleIdOf('processor'), { action: 'kms:GenerateDataKey', resource: tenantKey.arn, resourcePolicy: tenantKey.policy, context })).toBe('Allowed');
    expect(powerUser('kms:PutKeyPolicy', tenantKey, {}, accountRoot)).toBe('Allowed');
  });

  test("termination-tasks cannot schedule the data or signing key's deletion (untagged, and tags cannot be added); it can a tenant key's", () => {
    const schedule = (key: { arn: string; policy: PolicyDocument }, tags: Context) =>
      decideAs(policies, roleIdOf('termination-tasks'), {
        action: 'kms:ScheduleKeyDeletion',
        resource: key.arn,
        resourcePolicy: key.policy,
        context: { ...tags, 'kms:ScheduleKeyDeletionPendingWindowInDays': String(TenantKeys.KEY_DELETION_WINDOW_DAYS) },
      });
    expect(schedule(dataKey, {})).not.toBe('Allowed');
    expect(schedule(signingKey, {})).not.toBe('Allowed');
    expect(schedule(tenantKey, tenantKey.tags)).toBe('Allowed');
  });
});
