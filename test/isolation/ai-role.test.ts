/**
 * R-AI-2, R-SEC-4, R-SEC-5: the AI function's role, as synthesized, evaluated by an IAM policy simulator. It writes
 * only the AI partitions of the TenantData table (conversations, usage, insights) and reads tenant data only by
 * assuming the tenant read role with a tenantId tag, like the query function; it opens only 'ai' ciphertexts of a
 * tenant key, and reads only its own provider secret. Every "cannot" has its "can" twin.
 */
import { AI_ENV, BILLING_ENV } from '../../lambdas/shared/declarations';
import { TenantKeys } from '../../lib/constructs/tenant-keys';
import { stackPrefix } from '../../lib/config';
import { tenantKeyPolicy, tenantKeyPolicyPrincipals } from '../../lambdas/adapters/tenant-key-policy';
import { ENV } from '../../lambdas/shared/settings';
import { ACCOUNT, REGION, decideAs, fakeArn, logicalIdIn, type Context, type PolicyDocument } from './synthesized-policies';
import { synthesizedDeployment } from './synthesized-policies';

/** runUnsafeSimulation needs its resource policies named (iam-policy-mock.ts). */
jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('./iam-policy-mock').namedResourcePolicies());

const { config, data, services, policies } = synthesizedDeployment();
const aiRole = logicalIdIn(services, services.functions.ai.role);
const queryRole = logicalIdIn(services, services.functions.query.role);
const decide = (role: string, action: string, resource: string, context: Context = {}, resourcePolicy?: PolicyDocument) =>
  decideAs(policies, role, { action, resource, context, ...(resourcePolicy ? { resourcePolicy } : {}) });
const leadingKeys = (...keys: string[]): Context => ({ 'dynamodb:LeadingKeys': keys });

const dataTable = fakeArn('AWS::DynamoDB::Table', logicalIdIn(data, data.store.tenantDataTable));
const controlTable = fakeArn('AWS::DynamoDB::Table', logicalIdIn(data, data.store.controlTable));
const auditTable = fakeArn('AWS::DynamoDB::Table', logicalIdIn(data, data.store.auditTable));
const ledgerTable = fakeArn('AWS::DynamoDB::Table', logicalIdIn(data, data.ledger.table));
const payloadObject = `${fakeArn('AWS::S3::Bucket', logicalIdIn(data, data.store.payloadBucket))}/tenants/tenant-a/payloads/e1`;
const variable = (fn: 'ai' | 'billing', name: string) => policies.functionVariable(logicalIdIn(services, services.functions[fn].function), name);

test('the AI role has policies to evaluate (guards every test below)', () => {
  expect(policies.identityPolicies(aiRole).length).toBeGreaterThan(0);
});

describe('TenantData: only the AI partitions, by key', () => {
  const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
  test('can: read and write the AI partition of any tenant and the AI#TENANTS list (the tenant comes from the verified key)', () => {
    for (const action of [...WRITES, 'dynamodb:GetItem', 'dynamodb:Query']) {
      expect([action, decide(aiRole, action, dataTable, leadingKeys('T#tenant-a#AI'))]).toEqual([action, 'Allowed']);
    }
    expect(decide(aiRole, 'dynamodb:Query', dataTable, leadingKeys('AI#TENANTS'))).toBe('Allowed');
  });

  test.each([
    ['an event', 'T#tenant-a#EV#e1'],
    ['the rollups', 'T#tenant-a#ROLLUP'],
    ['the subject index', 'T#tenant-a#S#0123abcd'],
    ['another partition that merely starts with AI', 'T#tenant-a#AIX'],
    ['a key that is not a tenant key', 'APIKEY#abc'],
  ])('cannot read or write %s (%s) with its own role', (_what, key) => {
    for (const action of [...WRITES, 'dynamodb:GetItem', 'dynamodb:Query']) {
      expect([action, decide(aiRole, action, dataTable, leadingKeys(key))]).not.toEqual([action, 'Allowed']);
    }
  });

  test('cannot Scan, call without keys, mix an AI key with an event key, or use the indexes', () => {
    expect(decide(aiRole, 'dynamodb:Scan', dataTable)).not.toBe('Allowed');
    expect(decide(aiRole, 'dynamodb:PutItem', dataTable)).not.toBe('Allowed');
    expect(decide(aiRole, 'dynamodb:BatchWriteItem', dataTable, leadingKeys('T#tenant-a#AI', 'T#tenant-a#EV#e1'))).not.toBe('Allowed');
    expect(decide(aiRole, 'dynamodb:Query', `${dataTable}/index/gsi1`, leadingKeys('T#tenant-a#AI'))).not.toBe('Allowed');
  });

  test('cannot read payload objects with its own role; the query role cannot either (both read through the tenant read role)', () => {
    expect(decide(aiRole, 's3:GetObject', payloadObject)).not.toBe('Allowed');
    expect(decide(queryRole, 's3:GetObject', payloadObject)).not.toBe('Allowed');
  });
});

describe('R-SEC-4: tenant data only through the tenant read role', () => {
  test('can: AssumeRole and TagSession on the tenant read role, which it knows by its environment', () => {
    const roleArn = policies.roleArn(logicalIdIn(services, services.tenantReadRole));
    expect(variable('ai', ENV.tenantReadRoleArn)).toBe(roleArn);
    expect(decide(aiRole, 'sts:AssumeRole', roleArn)).toBe('Allowed');
    expect(decide(aiRole, 'sts:TagSession', roleArn)).toBe('Allowed');
  });

  test('cannot assume the operator role', () => {
    expect(decide(aiRole, 'sts:AssumeRole', policies.roleArn(logicalIdIn(services, services.operators.role)))).not.toBe('Allowed');
  });
});

describe('R-AI-5: tenant keys for purpose ai only; R-AI-3: its own provider secret only', () => {
  const TENANT_KEY_POLICY = tenantKeyPolicy(
    tenantKeyPolicyPrincipals(JSON.parse(policies.functionVariable(logicalIdIn(services, services.functions.admin.function), ENV.tenantKeyPolicy))),
  ) as unknown as PolicyDocument;
  const onTenantKey = (action: string, tenantId: string, purpose: string) =>
    decide(aiRole, action, `arn:aws:kms:${REGION}:${ACCOUNT}:key/tenant-a-key`, {
      [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: stackPrefix(config),
      [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: 'tenant-a',
      'kms:EncryptionContext:tenantId': tenantId,
      'kms:EncryptionContext:purpose': purpose,
      'kms:EncryptionContextKeys': ['tenantId', 'purpose'],
    }, TENANT_KEY_POLICY);

  test('can: GenerateDataKey and Decrypt of tenant A\'s ai ciphertexts with tenant A\'s key', () => {
    expect(onTenantKey('kms:GenerateDataKey', 'tenant-a', 'ai')).toBe('Allowed');
    expect(onTenantKey('kms:Decrypt', 'tenant-a', 'ai')).toBe('Allowed');
  });

  test.each(['event', 'webhook-secret', 'subject-key', 'privacy-corrections'])('cannot decrypt %s ciphertexts (events are read by the tenant read role)', (purpose) => {
    expect(onTenantKey('kms:Decrypt', 'tenant-a', purpose)).not.toBe('Allowed');
  });

  test('cannot use tenant A\'s key for tenant B\'s context', () => {
    expect(onTenantKey('kms:Decrypt', 'tenant-b', 'ai')).not.toBe('Allowed');
    expect(onTenantKey('kms:GenerateDataKey', 'tenant-b', 'ai')).not.toBe('Allowed');
  });

  test('reads the provider API key secret, not the Stripe signing secret; billing cannot read the provider key', () => {
    const aiSecret = variable('ai', AI_ENV.apiKeySecretArn);
    const stripeSecret = variable('billing', BILLING_ENV.webhookSecretArn);
    const billingRole = logicalIdIn(services, services.functions.billing.role);
    expect(decide(aiRole, 'secretsmanager:GetSecretValue', aiSecret)).toBe('Allowed');
    expect(decide(aiRole, 'secretsmanager:GetSecretValue', stripeSecret)).not.toBe('Allowed');
    expect(decide(billingRole, 'secretsmanager:GetSecretValue', aiSecret)).not.toBe('Allowed');
    expect(decide(billingRole, 'secretsmanager:GetSecretValue', stripeSecret)).toBe('Allowed');
  });
});

describe('control and audit', () => {
  test('reads the control table (API keys, tenants), writes none of it', () => {
    expect(decide(aiRole, 'dynamodb:GetItem', controlTable, leadingKeys('T#tenant-a#TENANT'))).toBe('Allowed');
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      expect([action, decide(aiRole, action, controlTable, leadingKeys('T#tenant-a#TENANT'))]).not.toEqual([action, 'Allowed']);
    }
  });

  test('R-DSR-4: reads the consent flags (T#<tenant>#CONSENT, the tenant-wide item and the subjects\' by query); never writes them', () => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query']) {
      expect([action, decide(aiRole, action, controlTable, leadingKeys('T#tenant-a#CONSENT'))]).toEqual([action, 'Allowed']);
    }
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem']) {
      expect([action, decide(aiRole, action, controlTable, leadingKeys('T#tenant-a#CONSENT'))]).not.toEqual([action, 'Allowed']);
    }
  });

  test('appends audit entries, never deletes one', () => {
    expect(decide(aiRole, 'dynamodb:PutItem', auditTable, leadingKeys('T#tenant-a#AUDIT#2026-12'))).toBe('Allowed');
    expect(decide(aiRole, 'dynamodb:DeleteItem', auditTable, leadingKeys('T#tenant-a#AUDIT#2026-12'))).not.toBe('Allowed');
  });
});

describe('R-BILL-2: ai_tokens usage marks in the billing ledger', () => {
  const MARKS = [leadingKeys('MARK#tenant-a#2026-12-01'), leadingKeys('MARKS#2026-12-01')];
  test('can: write usage marks and the day index (the processor\'s grant)', () => {
    for (const action of ['dynamodb:BatchWriteItem', 'dynamodb:PutItem']) {
      for (const keys of MARKS) expect([action, decide(aiRole, action, ledgerTable, keys)]).toEqual([action, 'Allowed']);
    }
  });

  test('cannot read the ledger, delete a mark, write a billing record, or mix one into a batch of marks', () => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      for (const keys of MARKS) expect([action, decide(aiRole, action, ledgerTable, keys)]).not.toEqual([action, 'Allowed']);
    }
    for (const partition of ['LEDGER#tenant-a', 'BILLING#tenant-a', 'STRIPE#EVENT#evt_1']) {
      expect([partition, decide(aiRole, 'dynamodb:PutItem', ledgerTable, leadingKeys(partition))]).not.toEqual([partition, 'Allowed']);
    }
    expect(decide(aiRole, 'dynamodb:BatchWriteItem', ledgerTable, leadingKeys('MARK#tenant-a#2026-12-01', 'LEDGER#tenant-a'))).not.toBe('Allowed');
    expect(decide(aiRole, 'dynamodb:PutItem', ledgerTable, {})).not.toBe('Allowed');
  });
});
