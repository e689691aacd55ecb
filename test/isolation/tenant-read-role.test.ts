/**
 * R-SEC-4: the tenant read role, as synthesized, evaluated by an IAM policy simulator. A session tagged
 * tenantId=tenant-a reaches tenant A's keys, objects and key material, and nothing of tenant B's. Every
 * "cannot" has its "can" twin, so a policy that denies everything fails this suite.
 */
import * as cdk from 'aws-cdk-lib';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { KEY_PURPOSES } from '../../lambdas/shared/declarations';
import { TenantKeys } from '../../lib/constructs/tenant-keys';
import { stackPrefix } from '../../lib/config';
import { ACCOUNT, REGION, fakeArn, logicalIdIn, synthesizedDeployment } from './synthesized-policies';

const { config, data, services, policies } = synthesizedDeployment();

/** runUnsafeSimulation needs its resource policies named (iam-policy-mock.ts). */
jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('./iam-policy-mock').namedResourcePolicies());

const logicalId = logicalIdIn;
const tenantReadRoleId = logicalId(services, services.tenantReadRole);
const tenantReadPolicies = policies.identityPolicies(tenantReadRoleId);

const tableArn = fakeArn('AWS::DynamoDB::Table', logicalId(data, data.store.tenantDataTable));
const indexArns = ['gsi1', 'gsi2'].map((index) => `${tableArn}/index/${index}`);
const bucketArn = fakeArn('AWS::S3::Bucket', logicalId(data, data.store.payloadBucket));
const dataKeyArn = fakeArn('AWS::KMS::Key', logicalId(data, data.dataKey));
const tenantKeyArn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;

type Context = Record<string, string | string[]>;

/** The simulator's verdict on one request of a tenant-a session of the tenant read role. */
async function asTenantA(action: string, resource: string, context: Context = {}): Promise<string> {
  const result = await runSimulation(
    {
      identityPolicies: tenantReadPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${tenantReadRoleId}/query`,
        resource: { accountId: ACCOUNT, resource },
        contextVariables: { 'aws:PrincipalTag/tenantId': 'tenant-a', ...context },
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`Simulation failed: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

const leadingKeys = (...keys: string[]): Context => ({ 'dynamodb:LeadingKeys': keys });

test('the role has policies to evaluate (guards every test below)', () => {
  expect(tenantReadPolicies.length).toBeGreaterThan(0);
});

describe('R-SEC-4 DynamoDB: only keys under T#<own tenant>#', () => {
  test.each([tableArn, ...indexArns])('tenant A can GetItem/Query its own keys on %s', async (resource) => {
    expect(await asTenantA('dynamodb:Query', resource, leadingKeys('T#tenant-a#K#api'))).toBe('Allowed');
    expect(await asTenantA('dynamodb:GetItem', resource, leadingKeys('T#tenant-a#EV#e1'))).toBe('Allowed');
  });

  test.each([tableArn, ...indexArns])("tenant A cannot GetItem/Query tenant B's keys on %s", async (resource) => {
    expect(await asTenantA('dynamodb:Query', resource, leadingKeys('T#tenant-b#K#api'))).not.toBe('Allowed');
    expect(await asTenantA('dynamodb:GetItem', resource, leadingKeys('T#tenant-b#EV#e1'))).not.toBe('Allowed');
  });

  test('tenant A cannot reach a tenant whose id starts with its own (T#tenant-ab#)', async () => {
    expect(await asTenantA('dynamodb:GetItem', tableArn, leadingKeys('T#tenant-ab#EV#e1'))).not.toBe('Allowed');
  });

  test("a BatchGetItem mixing A's and B's keys is denied, A's keys alone are allowed", async () => {
    expect(await asTenantA('dynamodb:BatchGetItem', tableArn, leadingKeys('T#tenant-a#EV#1', 'T#tenant-b#EV#2'))).not.toBe('Allowed');
    expect(await asTenantA('dynamodb:BatchGetItem', tableArn, leadingKeys('T#tenant-a#EV#1', 'T#tenant-a#EV#2'))).toBe('Allowed');
  });

  test('Scan and other key-less reads are denied (Null guard); the keyed Query twin is allowed', async () => {
    expect(await asTenantA('dynamodb:Scan', tableArn)).not.toBe('Allowed');
    expect(await asTenantA('dynamodb:Query', tableArn)).not.toBe('Allowed');
    expect(await asTenantA('dynamodb:Query', tableArn, leadingKeys('T#tenant-a#ROLLUP'))).toBe('Allowed');
  });

  test.each(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'])(
    'tenant A cannot %s even on its own keys (read-only role); GetItem on the same key is allowed',
    async (action) => {
      expect(await asTenantA(action, tableArn, leadingKeys('T#tenant-a#EV#e1'))).not.toBe('Allowed');
      expect(await asTenantA('dynamodb:GetItem', tableArn, leadingKeys('T#tenant-a#EV#e1'))).toBe('Allowed');
    },
  );
});

describe('R-SEC-4 S3: only objects under tenants/<own tenant>/', () => {
  test('tenant A can GetObject under tenants/tenant-a/', async () => {
    expect(await asTenantA('s3:GetObject', `${bucketArn}/tenants/tenant-a/payloads/e1`)).toBe('Allowed');
  });

  test('tenant A cannot GetObject under tenants/tenant-b/ or outside tenants/', async () => {
    expect(await asTenantA('s3:GetObject', `${bucketArn}/tenants/tenant-b/payloads/e1`)).not.toBe('Allowed');
    expect(await asTenantA('s3:GetObject', `${bucketArn}/tenants/tenant-ab/payloads/e1`)).not.toBe('Allowed');
    expect(await asTenantA('s3:GetObject', `${bucketArn}/exports/e1`)).not.toBe('Allowed');
  });

  test('tenant A cannot PutObject or DeleteObject, even under its own prefix', async () => {
    expect(await asTenantA('s3:PutObject', `${bucketArn}/tenants/tenant-a/payloads/e1`)).not.toBe('Allowed');
    expect(await asTenantA('s3:DeleteObject', `${bucketArn}/tenants/tenant-a/payloads/e1`)).not.toBe('Allowed');
  });

  test('tenant A can ListBucket with its own prefix', async () => {
    expect(await asTenantA('s3:ListBucket', bucketArn, { 's3:prefix': 'tenants/tenant-a/' })).toBe('Allowed');
  });

  test("tenant A cannot ListBucket without a prefix, with B's prefix, or with the parent prefix", async () => {
    expect(await asTenantA('s3:ListBucket', bucketArn)).not.toBe('Allowed');
    expect(await asTenantA('s3:ListBucket', bucketArn, { 's3:prefix': 'tenants/tenant-b/' })).not.toBe('Allowed');
    expect(await asTenantA('s3:ListBucket', bucketArn, { 's3:prefix': 'tenants/' })).not.toBe('Allowed');
  });
});

describe('R-SEC-4 KMS: only its own tenant key, only with its own encryption context, only events', () => {
  const deployment = stackPrefix(config);
  /** What KMS gives a key created without a policy (the admin function creates tenant keys so): IAM decides. */
  const defaultKeyPolicy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
  };
  const dataKeyPolicy = policies.keyPolicy(data.stackName, logicalId(data, data.dataKey));

  /**
   * runSimulation drops `kms:EncryptionContext:<key>` from the request (its variable-key matching only knows
   * `/`-separated keys such as aws:PrincipalTag/x), which would make every encryption-context condition fail
   * and the "cannot" tests pass for the wrong reason; runUnsafeSimulation evaluates the context as given.
   */
  function kmsAsTenantA(action: string, resource: string, keyPolicy: unknown, context: Context): string {
    return runUnsafeSimulation(
      {
        identityPolicies: tenantReadPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: keyPolicy,
        request: {
          action,
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${tenantReadRoleId}/query`,
          resource: { accountId: ACCOUNT, resource },
          contextVariables: { 'aws:PrincipalTag/tenantId': 'tenant-a', ...context },
        },
      },
      {},
    );
  }
  const tenantKey = (action: string, tenant: string, context: string, keyDeployment = deployment, purpose = 'event'): string =>
    kmsAsTenantA(action, tenantKeyArn(`${tenant}-key`), defaultKeyPolicy, {
      [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: tenant,
      [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: keyDeployment,
      'kms:EncryptionContext:tenantId': context,
      'kms:EncryptionContext:purpose': purpose,
      'kms:EncryptionContextKeys': ['tenantId', 'purpose'],
    });

  test('tenant A can Decrypt with a tenant-a key and tenantId=tenant-a context', () => {
    expect(tenantKey('kms:Decrypt', 'tenant-a', 'tenant-a')).toBe('Allowed');
  });

  test("tenant A cannot Decrypt with tenant B's context, with tenant B's key, or another deployment's key", () => {
    expect(tenantKey('kms:Decrypt', 'tenant-a', 'tenant-b')).not.toBe('Allowed');
    expect(tenantKey('kms:Decrypt', 'tenant-b', 'tenant-a')).not.toBe('Allowed');
    expect(tenantKey('kms:Decrypt', 'tenant-a', 'tenant-a', 'Lumiqo-other')).not.toBe('Allowed');
  });

  test.each(KEY_PURPOSES.filter((p) => p !== 'event'))(
    "tenant A cannot Decrypt its own tenant's %s (only events are read back); it can Decrypt its events",
    (purpose) => {
      expect(tenantKey('kms:Decrypt', 'tenant-a', 'tenant-a', deployment, purpose)).not.toBe('Allowed');
      expect(tenantKey('kms:Decrypt', 'tenant-a', 'tenant-a', deployment, 'event')).toBe('Allowed');
    },
  );

  test('tenant A cannot Encrypt or GenerateDataKey with its own key (read-only role)', () => {
    expect(tenantKey('kms:Encrypt', 'tenant-a', 'tenant-a')).not.toBe('Allowed');
    expect(tenantKey('kms:GenerateDataKey', 'tenant-a', 'tenant-a')).not.toBe('Allowed');
  });

  test('the data key decrypts only through DynamoDB or S3 (server-side encryption), not directly', () => {
    expect(kmsAsTenantA('kms:Decrypt', dataKeyArn, dataKeyPolicy, { 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com` })).toBe('Allowed');
    expect(kmsAsTenantA('kms:Decrypt', dataKeyArn, dataKeyPolicy, { 'kms:ViaService': `kinesis.${REGION}.amazonaws.com` })).not.toBe('Allowed');
    expect(kmsAsTenantA('kms:Decrypt', dataKeyArn, dataKeyPolicy, {})).not.toBe('Allowed');
  });
});

describe('R-SEC-4 trust policy: only the query and AI functions, only with a tenantId session tag', () => {
  const queryRoleId = logicalId(services, services.functions.query.role);
  const aiRoleId = logicalId(services, services.functions.ai.role);
  const processorRoleId = logicalId(services, services.functions.processor.role);

  async function assume(callerRoleId: string, action: string, context: Context): Promise<string> {
    const result = await runSimulation(
      {
        identityPolicies: policies.identityPolicies(callerRoleId),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: policies.trustPolicy(tenantReadRoleId),
        request: {
          action,
          principal: policies.roleArn(callerRoleId),
          resource: { accountId: ACCOUNT, resource: policies.roleArn(tenantReadRoleId) },
          contextVariables: context,
        },
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(`Simulation failed: ${JSON.stringify(result.errors)}`);
    return result.overallResult;
  }

  const tagged: Context = { 'aws:RequestTag/tenantId': 'tenant-a', 'aws:TagKeys': ['tenantId'] };

  test('the query role can AssumeRole and TagSession with a tenantId tag', async () => {
    expect(await assume(queryRoleId, 'sts:AssumeRole', tagged)).toBe('Allowed');
    expect(await assume(queryRoleId, 'sts:TagSession', tagged)).toBe('Allowed');
  });

  test('the query role cannot assume it without the tenantId tag, or with other tags', async () => {
    expect(await assume(queryRoleId, 'sts:AssumeRole', {})).not.toBe('Allowed');
    expect(await assume(queryRoleId, 'sts:TagSession', { 'aws:TagKeys': ['team'], 'aws:RequestTag/team': 'x' })).not.toBe('Allowed');
    expect(await assume(queryRoleId, 'sts:TagSession', { ...tagged, 'aws:TagKeys': ['tenantId', 'admin'], 'aws:RequestTag/admin': 'true' })).not.toBe('Allowed');
  });

  test('R-AI-2: the AI role (its tools) can assume it with a tenantId tag, and not without it or with another tag', async () => {
    expect(await assume(aiRoleId, 'sts:AssumeRole', tagged)).toBe('Allowed');
    expect(await assume(aiRoleId, 'sts:TagSession', tagged)).toBe('Allowed');
    expect(await assume(aiRoleId, 'sts:AssumeRole', {})).not.toBe('Allowed');
    expect(await assume(aiRoleId, 'sts:TagSession', { ...tagged, 'aws:TagKeys': ['tenantId', 'admin'], 'aws:RequestTag/admin': 'true' })).not.toBe('Allowed');
  });

  test('another function role (the processor) cannot assume it, even with the tag', async () => {
    expect(await assume(processorRoleId, 'sts:AssumeRole', tagged)).not.toBe('Allowed');
  });

  test('the role sessions last at most one hour', () => {
    const role = services.tenantReadRole.node.defaultChild as cdk.aws_iam.CfnRole;
    expect(role.maxSessionDuration).toBe(3600);
  });
});
