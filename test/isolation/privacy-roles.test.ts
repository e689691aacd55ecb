/**
 * The privacy workflows' access (R-SEC-5, R-TERM-4..6, R-DSR-2), as synthesized and evaluated by an IAM policy
 * simulator: the billing ledger and the signed deletion records are out of reach of every tenant-facing role,
 * only the task functions sign (with the signing key, one algorithm), evidence can be written but never deleted,
 * and each function starts only the workflows it should. Every "cannot" has its "can" twin: the same request by
 * the role meant to make it, or the same role on its own data, so a policy that denies everything fails here.
 */
import { WORKFLOW_NAMES, type WorkflowName } from '../../lambdas/domain/privacy';
import { stackPrefix } from '../../lib/config';
import type { LumiqoFunctionName } from '../../lib/constructs/lumiqo-function';
import { TenantKeys } from '../../lib/constructs/tenant-keys';
import { ACCOUNT, REGION, decideAs, fakeArn, logicalIdIn, synthesizedDeployment, type Context, type PolicyDocument } from './synthesized-policies';

const { config, data, services, policies } = synthesizedDeployment();

/** runUnsafeSimulation needs its resource policies named (iam-policy-mock.ts). */
jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('./iam-policy-mock').namedResourcePolicies());

const logicalId = logicalIdIn;

type Principal = LumiqoFunctionName | 'TenantReadRole';
const FUNCTIONS: LumiqoFunctionName[] = ['ingest', 'processor', 'query', 'admin', 'privacy', 'privacy-tasks', 'termination-tasks', 'billing', 'usage'];
const PRINCIPALS: Principal[] = [...FUNCTIONS, 'TenantReadRole'];
const roleIdOf = (principal: Principal) =>
  logicalId(services, principal === 'TenantReadRole' ? services.tenantReadRole : services.functions[principal].role);
const others = (...allowed: Principal[]) => PRINCIPALS.filter((p) => !allowed.includes(p));

const ledgerArn = fakeArn('AWS::DynamoDB::Table', logicalId(data, data.ledger.table));
const tenantDataArn = fakeArn('AWS::DynamoDB::Table', logicalId(data, data.store.tenantDataTable));
const recordsBucket = fakeArn('AWS::S3::Bucket', logicalId(data, data.documents.recordsBucket));
const exportsBucket = fakeArn('AWS::S3::Bucket', logicalId(data, data.documents.exportsBucket));
const payloadBucket = fakeArn('AWS::S3::Bucket', logicalId(data, data.store.payloadBucket));
const signingKeyId = logicalId(data, data.signingKey.key);
const signingKeyArn = fakeArn('AWS::KMS::Key', signingKeyId);
const dataKeyArn = fakeArn('AWS::KMS::Key', logicalId(data, data.dataKey));
const stripeSecretArn = fakeArn('AWS::SecretsManager::Secret', logicalId(data, data.ledger.stripeWebhookSecret));
const stripeApiKeyArn = fakeArn('AWS::SecretsManager::Secret', logicalId(data, data.ledger.stripeApiKey));
const statementsBucket = fakeArn('AWS::S3::Bucket', logicalId(data, data.ledger.statementsBucket));
const STATEMENT = `${statementsBucket}/statements/tenant-a/2026-11.json`;
const stateMachineArn = (name: WorkflowName) => fakeArn('AWS::StepFunctions::StateMachine', logicalId(services, services.workflows.stateMachines[name]));

const deployment = stackPrefix(config);
const signingKeyPolicy = policies.keyPolicy(data.stackName, signingKeyId);
/** What KMS gives a key created without a policy (tenant keys are created so): IAM decides. */
const defaultKeyPolicy: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/** The simulator's verdict on one request of `principal` (a tenant-a session where a tag matters). */
function decide(principal: Principal, action: string, resource: string, context: Context = {}, resourcePolicy?: PolicyDocument): string {
  return decideAs(policies, roleIdOf(principal), { action, resource, context: { 'aws:PrincipalTag/tenantId': 'tenant-a', ...context }, resourcePolicy });
}

const leadingKeys = (...keys: string[]): Context => ({ 'dynamodb:LeadingKeys': keys });
const LEDGER_KEY = leadingKeys('LEDGER#tenant-a');
const RECORD = `${recordsBucket}/deletion-records/tenant-a/dsr_1.json`;

test('every principal has policies to evaluate (guards every test below)', () => {
  for (const principal of PRINCIPALS) expect([principal, policies.identityPolicies(roleIdOf(principal)).length > 0]).toEqual([principal, true]);
});

describe('R-TERM-6, R-RET-3: the billing ledger is apart from the service: only the termination-tasks and billing roles reach it', () => {
  test.each(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'])('termination-tasks can %s the ledger', (action) => {
    expect(decide('termination-tasks', action, ledgerArn, LEDGER_KEY)).toBe('Allowed');
  });

  test.each(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'])('billing can %s its Stripe records in the ledger (R-BILL-1)', (action) => {
    expect(decide('billing', action, ledgerArn, leadingKeys('BILLING#tenant-a'))).toBe('Allowed');
    expect(decide('billing', action, ledgerArn, leadingKeys('STRIPE#EVENT#evt_1'))).toBe('Allowed');
  });

  test.each(others('termination-tasks', 'billing', 'usage'))('%s cannot read or write the ledger, billing records included; termination-tasks can', (principal) => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem']) {
      expect([action, decide(principal, action, ledgerArn, leadingKeys('BILLING#tenant-a'))]).not.toEqual([action, 'Allowed']);
    }
  });

  test.each(others('termination-tasks', 'billing', 'usage'))('%s cannot read or write the ledger; termination-tasks can', (principal) => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem']) {
      expect([action, decide(principal, action, ledgerArn, LEDGER_KEY)]).not.toEqual([action, 'Allowed']);
    }
    expect(decide('termination-tasks', 'dynamodb:Query', ledgerArn, LEDGER_KEY)).toBe('Allowed');
  });

  test('the tenant read role cannot read the ledger even under keys shaped like its own; it can read its own tenant data', () => {
    expect(decide('TenantReadRole', 'dynamodb:Query', ledgerArn, leadingKeys('T#tenant-a#ROLLUP'))).not.toBe('Allowed');
    expect(decide('TenantReadRole', 'dynamodb:Query', tenantDataArn, leadingKeys('T#tenant-a#ROLLUP'))).toBe('Allowed');
  });

  test.each(others('billing'))('R-BILL-3: %s cannot read the Stripe webhook signing secret; billing can', (principal) => {
    expect(decide(principal, 'secretsmanager:GetSecretValue', stripeSecretArn, {})).not.toBe('Allowed');
    expect(decide('billing', 'secretsmanager:GetSecretValue', stripeSecretArn, {})).toBe('Allowed');
  });

  test('R-BILL-3: billing decrypts with the data key only through Secrets Manager', () => {
    const keyPolicy = policies.keyPolicy(data.stackName, logicalId(data, data.dataKey));
    expect(decide('billing', 'kms:Decrypt', dataKeyArn, { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` }, keyPolicy)).toBe('Allowed');
    expect(decide('billing', 'kms:Decrypt', dataKeyArn, {}, keyPolicy)).not.toBe('Allowed');
  });

  test('R-RET-3: billing records are never changed or deleted by the billing role either; it can append', () => {
    for (const action of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan']) {
      expect([action, decide('billing', action, ledgerArn, leadingKeys('BILLING#tenant-a'))]).not.toEqual([action, 'Allowed']);
    }
    expect(decide('billing', 'dynamodb:PutItem', ledgerArn, leadingKeys('BILLING#tenant-a'))).toBe('Allowed');
  });

  test('ledger entries are never changed or deleted, not even by termination-tasks; it can append', () => {
    expect(decide('termination-tasks', 'dynamodb:UpdateItem', ledgerArn, LEDGER_KEY)).not.toBe('Allowed');
    expect(decide('termination-tasks', 'dynamodb:DeleteItem', ledgerArn, LEDGER_KEY)).not.toBe('Allowed');
    expect(decide('termination-tasks', 'dynamodb:BatchWriteItem', ledgerArn, LEDGER_KEY)).not.toBe('Allowed');
    expect(decide('termination-tasks', 'dynamodb:PutItem', ledgerArn, LEDGER_KEY)).toBe('Allowed');
  });
});

describe('R-BILL-2, R-RET-3: usage marks, usage deliveries and the monthly statements', () => {
  const DAY = '2026-11-20';
  const MARKS = [leadingKeys(`MARK#tenant-a#${DAY}`), leadingKeys(`MARKS#${DAY}`)];

  test.each(['dynamodb:PutItem', 'dynamodb:BatchWriteItem'])('the processor can %s usage marks and the day index, nothing else of the ledger', (action) => {
    for (const keys of MARKS) expect(decide('processor', action, ledgerArn, keys)).toBe('Allowed');
    for (const partition of ['LEDGER#tenant-a', 'BILLING#tenant-a', 'STRIPE#EVENT#evt_1', 'STRIPE#CUSTOMER#cus_1']) {
      expect([partition, decide('processor', action, ledgerArn, leadingKeys(partition))]).not.toEqual([partition, 'Allowed']);
    }
    // A batch that mixes in a billing record, or names no key at all, is refused whole.
    expect(decide('processor', action, ledgerArn, leadingKeys(`MARK#tenant-a#${DAY}`, 'LEDGER#tenant-a'))).not.toBe('Allowed');
    expect(decide('processor', action, ledgerArn, {})).not.toBe('Allowed');
  });

  test('the processor cannot read the ledger, not even its own marks, nor delete a mark (pages are only added)', () => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      for (const keys of MARKS) expect([action, decide('processor', action, ledgerArn, keys)]).not.toEqual([action, 'Allowed']);
    }
  });

  test.each(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'])('the usage function can %s the ledger (marks, deliveries, subscription states); never update or delete', (action) => {
    for (const keys of [...MARKS, LEDGER_KEY, leadingKeys('BILLING#tenant-a')]) expect(decide('usage', action, ledgerArn, keys)).toBe('Allowed');
    for (const write of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect([write, decide('usage', write, ledgerArn, LEDGER_KEY)]).not.toEqual([write, 'Allowed']);
    }
  });

  test.each(others('usage'))('%s cannot read the Stripe API key; the usage function can', (principal) => {
    expect(decide(principal, 'secretsmanager:GetSecretValue', stripeApiKeyArn, {})).not.toBe('Allowed');
    expect(decide('usage', 'secretsmanager:GetSecretValue', stripeApiKeyArn, {})).toBe('Allowed');
  });

  test.each(others('usage'))('%s can neither read nor write a monthly statement; the usage function can', (principal) => {
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:GetObjectVersion']) {
      expect([action, decide(principal, action, STATEMENT)]).not.toEqual([action, 'Allowed']);
    }
    expect(decide(principal, 's3:ListBucket', statementsBucket, { 's3:prefix': 'statements/tenant-a/' })).not.toBe('Allowed');
    expect(decide('usage', 's3:GetObject', STATEMENT)).toBe('Allowed');
    expect(decide('usage', 's3:PutObject', STATEMENT)).toBe('Allowed');
  });

  test('R-RET-3: no role, the usage function included, can delete a statement or loosen its lock; it writes only under statements/', () => {
    for (const principal of PRINCIPALS) {
      for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:BypassGovernanceRetention', 's3:PutBucketObjectLockConfiguration', 's3:PutLifecycleConfiguration']) {
        const resource = action.startsWith('s3:PutBucket') || action === 's3:PutLifecycleConfiguration' ? statementsBucket : STATEMENT;
        expect([principal, action, decide(principal, action, resource)]).not.toEqual([principal, action, 'Allowed']);
      }
    }
    expect(decide('usage', 's3:PutObject', `${statementsBucket}/tenants/tenant-a/x`)).not.toBe('Allowed');
    expect(decide('usage', 's3:PutObject', STATEMENT)).toBe('Allowed');
  });
});

describe('R-DSR-2, R-TERM-5: signed deletion records', () => {
  test('the tenant read role cannot read or list the records bucket; the privacy API can read the record', () => {
    expect(decide('TenantReadRole', 's3:GetObject', RECORD)).not.toBe('Allowed');
    expect(decide('TenantReadRole', 's3:GetObject', `${recordsBucket}/tenants/tenant-a/x`)).not.toBe('Allowed');
    expect(decide('TenantReadRole', 's3:ListBucket', recordsBucket, { 's3:prefix': 'deletion-records/tenant-a/' })).not.toBe('Allowed');
    expect(decide('privacy', 's3:GetObject', RECORD)).toBe('Allowed');
  });

  test('the tenant read role cannot read exports (they are served by the privacy API); it can read its own payloads', () => {
    expect(decide('TenantReadRole', 's3:GetObject', `${exportsBucket}/tenants/tenant-a/exports/subjects/h/dsr_1/manifest.json`)).not.toBe('Allowed');
    expect(decide('privacy', 's3:GetObject', `${exportsBucket}/tenants/tenant-a/exports/subjects/h/dsr_1/manifest.json`)).toBe('Allowed');
    expect(decide('TenantReadRole', 's3:GetObject', `${payloadBucket}/tenants/tenant-a/payloads/e1`)).toBe('Allowed');
  });

  test.each(PRINCIPALS)('%s cannot delete a record, a record version, or loosen its lock; the task functions can put one', (principal) => {
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:BypassGovernanceRetention', 's3:PutObjectLegalHold']) {
      expect([action, decide(principal, action, RECORD)]).not.toEqual([action, 'Allowed']);
    }
    expect(decide('privacy-tasks', 's3:PutObject', RECORD)).toBe('Allowed');
    expect(decide('termination-tasks', 's3:PutObject', RECORD)).toBe('Allowed');
  });

  test.each(others('privacy-tasks', 'termination-tasks'))('%s cannot put a record; the task functions can', (principal) => {
    expect(decide(principal, 's3:PutObject', RECORD)).not.toBe('Allowed');
    expect(decide('privacy-tasks', 's3:PutObject', RECORD)).toBe('Allowed');
  });

  test('the tasks put records only under deletion-records/', () => {
    expect(decide('privacy-tasks', 's3:PutObject', `${recordsBucket}/tenants/tenant-a/x.json`)).not.toBe('Allowed');
    expect(decide('privacy-tasks', 's3:PutObject', `${recordsBucket}/other/x.json`)).not.toBe('Allowed');
    expect(decide('privacy-tasks', 's3:PutObject', RECORD)).toBe('Allowed');
  });
});

describe('R-DSR-2, R-TERM-5: only the task functions sign, only with the signing key and ECDSA_SHA_256', () => {
  const sign = (principal: Principal, keyArn: string, algorithm = 'ECDSA_SHA_256', messageType = 'RAW', keyPolicy = signingKeyPolicy) =>
    decide(principal, 'kms:Sign', keyArn, { 'kms:SigningAlgorithm': algorithm, 'kms:MessageType': messageType }, keyPolicy);

  test('privacy-tasks and termination-tasks can Sign raw messages with ECDSA_SHA_256 and read the public key', () => {
    for (const principal of ['privacy-tasks', 'termination-tasks'] as const) {
      expect(sign(principal, signingKeyArn)).toBe('Allowed');
      expect(decide(principal, 'kms:GetPublicKey', signingKeyArn, {}, signingKeyPolicy)).toBe('Allowed');
    }
  });

  test('privacy-tasks cannot Sign with another algorithm or a precomputed digest; the allowed request twin passes', () => {
    expect(sign('privacy-tasks', signingKeyArn, 'ECDSA_SHA_384')).not.toBe('Allowed');
    expect(sign('privacy-tasks', signingKeyArn, 'ECDSA_SHA_256', 'DIGEST')).not.toBe('Allowed');
    expect(sign('privacy-tasks', signingKeyArn)).toBe('Allowed');
  });

  test('privacy-tasks cannot Sign with the data key or a tenant key: the signing key only', () => {
    expect(sign('privacy-tasks', dataKeyArn, 'ECDSA_SHA_256', 'RAW', policies.keyPolicy(data.stackName, logicalId(data, data.dataKey)))).not.toBe('Allowed');
    expect(sign('privacy-tasks', `arn:aws:kms:${REGION}:${ACCOUNT}:key/tenant-a-key`, 'ECDSA_SHA_256', 'RAW', defaultKeyPolicy)).not.toBe('Allowed');
    expect(sign('privacy-tasks', signingKeyArn)).toBe('Allowed');
  });

  test.each(others('privacy-tasks', 'termination-tasks'))('%s cannot Sign; privacy-tasks can', (principal) => {
    expect(sign(principal, signingKeyArn)).not.toBe('Allowed');
    expect(sign('privacy-tasks', signingKeyArn)).toBe('Allowed');
  });
});

describe('R-DSR-2: erasing every version of a payload', () => {
  const payload = `${payloadBucket}/tenants/tenant-a/payloads/e1`;

  test('privacy-tasks can delete payload versions and list versions under tenants/', () => {
    expect(decide('privacy-tasks', 's3:DeleteObjectVersion', payload)).toBe('Allowed');
    expect(decide('privacy-tasks', 's3:ListBucketVersions', payloadBucket, { 's3:prefix': 'tenants/tenant-a/payloads/e1' })).toBe('Allowed');
    expect(decide('privacy-tasks', 's3:ListBucket', payloadBucket, { 's3:prefix': 'tenants/tenant-a/' })).toBe('Allowed');
  });

  test('privacy-tasks cannot list versions without a prefix or outside tenants/', () => {
    expect(decide('privacy-tasks', 's3:ListBucketVersions', payloadBucket)).not.toBe('Allowed');
    expect(decide('privacy-tasks', 's3:ListBucketVersions', payloadBucket, { 's3:prefix': 'exports/' })).not.toBe('Allowed');
    expect(decide('privacy-tasks', 's3:DeleteObjectVersion', `${payloadBucket}/other/e1`)).not.toBe('Allowed');
  });

  test.each(others('privacy-tasks', 'termination-tasks'))('%s cannot delete payload versions; privacy-tasks can', (principal) => {
    expect(decide(principal, 's3:DeleteObjectVersion', payload)).not.toBe('Allowed');
    expect(decide('privacy-tasks', 's3:DeleteObjectVersion', payload)).toBe('Allowed');
  });
});

describe('R-SEC-5: who starts which workflow', () => {
  test.each(WORKFLOW_NAMES)('the privacy API can start %s', (name) => {
    expect(decide('privacy', 'states:StartExecution', stateMachineArn(name))).toBe('Allowed');
  });

  test('ingest (Shopify GDPR webhooks, R-DSR-6) can start access and erasure, nothing else', () => {
    for (const name of WORKFLOW_NAMES) {
      expect([name, decide('ingest', 'states:StartExecution', stateMachineArn(name))]).toEqual([name, ['access', 'erasure'].includes(name) ? 'Allowed' : 'ImplicitlyDenied']);
    }
  });

  test('R-TERM-1: billing starts only the termination workflow (after a subscription\'s grace period)', () => {
    for (const name of WORKFLOW_NAMES) {
      expect([name, decide('billing', 'states:StartExecution', stateMachineArn(name))]).toEqual([name, name === 'termination' ? 'Allowed' : 'ImplicitlyDenied']);
    }
  });

  test.each(others('privacy', 'ingest', 'billing'))('%s cannot start any workflow; the privacy API can', (principal) => {
    for (const name of WORKFLOW_NAMES) {
      expect([name, decide(principal, 'states:StartExecution', stateMachineArn(name))]).not.toEqual([name, 'Allowed']);
    }
    expect(decide('privacy', 'states:StartExecution', stateMachineArn('erasure'))).toBe('Allowed');
  });
});

describe('R-TERM-4: crypto-shredding', () => {
  const tenantKey = `arn:aws:kms:${REGION}:${ACCOUNT}:key/tenant-a-key`;
  const tags = (keyDeployment = deployment): Context => ({
    [`aws:ResourceTag/${TenantKeys.DEPLOYMENT_TAG}`]: keyDeployment,
    [`aws:ResourceTag/${TenantKeys.TENANT_TAG}`]: 'tenant-a',
  });
  const schedule = (principal: Principal, days: string, keyDeployment?: string) =>
    decide(principal, 'kms:ScheduleKeyDeletion', tenantKey, { ...tags(keyDeployment), 'kms:ScheduleKeyDeletionPendingWindowInDays': days }, defaultKeyPolicy);

  test('termination-tasks can schedule deletion of this deployment\'s tenant key with the 7-day window', () => {
    expect(schedule('termination-tasks', String(TenantKeys.KEY_DELETION_WINDOW_DAYS))).toBe('Allowed');
    expect(decide('termination-tasks', 'kms:DisableKey', tenantKey, tags(), defaultKeyPolicy)).toBe('Allowed');
  });

  test('termination-tasks cannot schedule with another window (the certificate\'s dates assume 7) or another deployment\'s key', () => {
    expect(schedule('termination-tasks', '30')).not.toBe('Allowed');
    expect(schedule('termination-tasks', '7', 'Lumiqo-other')).not.toBe('Allowed');
    expect(schedule('termination-tasks', '7')).toBe('Allowed');
  });

  test('termination-tasks can delete a tenant alias under this deployment\'s prefix, not another alias', () => {
    const alias = (name: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:alias/${name}`;
    expect(decide('termination-tasks', 'kms:DeleteAlias', alias(`lumiqo/${deployment}/tenant/tenant-a`))).toBe('Allowed');
    expect(decide('termination-tasks', 'kms:DeleteAlias', tenantKey, tags(), defaultKeyPolicy)).toBe('Allowed');
    expect(decide('termination-tasks', 'kms:DeleteAlias', alias('lumiqo/Lumiqo-other/tenant/tenant-a'))).not.toBe('Allowed');
    expect(decide('termination-tasks', 'kms:DeleteAlias', alias('aws/s3'))).not.toBe('Allowed');
  });

  test.each(others('termination-tasks'))('%s cannot schedule a tenant key\'s deletion; termination-tasks can', (principal) => {
    expect(schedule(principal, '7')).not.toBe('Allowed');
    expect(schedule('termination-tasks', '7')).toBe('Allowed');
  });
});

describe('R-TERM-1..5: the termination sweep and the continued executions reach only the termination machine', () => {
  const execution = (name: WorkflowName, executionName: string) =>
    `arn:aws:states:${REGION}:${ACCOUNT}:execution:${logicalId(services, services.workflows.stateMachines[name])}:${executionName}`;
  const terminationMachine = services.workflows.stateMachines.termination;
  const machineRoleId = logicalId(services, terminationMachine.role);

  test('privacy (the sweeper) can DescribeExecution a termination execution, not an erasure one; query cannot', () => {
    expect(decide('privacy', 'states:DescribeExecution', execution('termination', 'term_01-r1'))).toBe('Allowed');
    expect(decide('privacy', 'states:DescribeExecution', execution('erasure', 'dsr_1'))).not.toBe('Allowed');
    expect(decide('query', 'states:DescribeExecution', execution('termination', 'term_01-r1'))).not.toBe('Allowed');
  });

  test('the termination machine can start itself (ContinueInNewExecution), and no other machine', () => {
    const as = (resource: string) => decideAs(policies, machineRoleId, { action: 'states:StartExecution', resource, context: {} });
    expect(as(stateMachineArn('termination'))).toBe('Allowed');
    for (const other of WORKFLOW_NAMES.filter((w) => w !== 'termination')) expect([other, as(stateMachineArn(other))]).toEqual([other, 'ImplicitlyDenied']);
  });

  test('termination-tasks can put its drain marker into the event stream (R-TERM-1); it cannot read the stream', () => {
    const stream = fakeArn('AWS::Kinesis::Stream', logicalId(data, data.eventStream));
    expect(decide('termination-tasks', 'kinesis:PutRecords', stream)).toBe('Allowed');
    expect(decide('termination-tasks', 'kinesis:GetRecords', stream)).not.toBe('Allowed');
    expect(decide('ingest', 'kinesis:PutRecords', stream)).toBe('Allowed');
  });
});
