import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { TABLES } from '../../lambdas/shared/tables';
import { addCompliancePacks } from '../../lib/nag';
import { EXPORT_WINDOW_DAYS } from '../../lambdas/domain/privacy';
import { BILLING_RETENTION_DAYS } from '../../lambdas/domain/billing';
import { TenantKeys } from '../../lib/constructs/tenant-keys';
import { INGEST_CONTROL_PARTITIONS } from '../../lib/constructs/tenant-data-store';
import type { DataStack } from '../../lib/stacks/data-stack';
import { SINGLE_TENANT, nagFindings, synthDataStack, testApp, testConfig } from './helpers';

const config = testConfig({ stream: { retentionHours: 48 }, backupRetentionDays: 30, auditRetentionDays: 400 });
const stack = synthDataStack(config);
const template = Template.fromStack(stack);

const logicalId = (construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as cdk.CfnElement);
const dataKeyArn = { 'Fn::GetAtt': [logicalId(stack.dataKey), 'Arn'] };

/** Statements of the identity policies attached to `role`. */
function statementsOf(grantStack: cdk.Stack, role: iam.Role): Record<string, unknown>[] {
  const policies = Template.fromStack(grantStack).findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: grantStack.getLogicalId(role.node.defaultChild as cdk.CfnElement) }] },
  });
  return Object.values(policies).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** A role in its own stack of the data stack's app, granted by `grant` (the way the services stack does it). */
function grantedRole(grant: (data: DataStack, role: iam.Role) => void): { grantStack: cdk.Stack; role: iam.Role } {
  const app = testApp();
  const data = synthDataStack(testConfig(), app);
  const grantStack = new cdk.Stack(app, 'Grantees', { env: data.environment === undefined ? undefined : { account: data.account, region: data.region } });
  const role = new iam.Role(grantStack, 'TenantRole', { assumedBy: new iam.AccountRootPrincipal() });
  grant(data, role);
  return { grantStack, role };
}

describe('tables', () => {
  const tables = [
    { shape: TABLES.control, table: stack.store.controlTable },
    { shape: TABLES.tenantData, table: stack.store.tenantDataTable },
    { shape: TABLES.audit, table: stack.store.auditTable },
  ];

  test.each(tables)('$shape.name: PITR, CMK, deletion protection, TTL, on-demand, RETAIN (R-AV-1, R-SEC-2)', ({ shape, table }) => {
    const resource = template.toJSON().Resources[logicalId(table)];
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: shape.partitionKey, KeyType: 'HASH' },
        { AttributeName: shape.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: dataKeyArn },
      DeletionProtectionEnabled: true,
      TimeToLiveSpecification: { AttributeName: shape.ttlAttribute, Enabled: true },
    });
  });

  test.each(tables)('$shape.name: global secondary indexes as in lambdas/shared/tables.ts', ({ shape, table }) => {
    const indexes = template.toJSON().Resources[logicalId(table)].Properties.GlobalSecondaryIndexes ?? [];
    expect(indexes).toEqual(
      shape.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        // Issue 12: the event indexes hold keys plus list attributes; the audit index, whole items.
        Projection: 'projection' in index ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] } : { ProjectionType: 'ALL' },
      })),
    );
  });
});

describe('buckets', () => {
  const buckets = template.findResources('AWS::S3::Bucket');
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
  const accessLogBucketId = logicalId(stack.accessLogBucket);

  const exportsBucketId = logicalId(stack.documents.exportsBucket);
  const recordsBucketId = logicalId(stack.documents.recordsBucket);
  const statementsBucketId = logicalId(stack.ledger.statementsBucket);

  test('there are six buckets: access logs, payloads, trail, exports, deletion records, billing statements', () => {
    expect(Object.keys(buckets).sort()).toEqual(
      [accessLogBucketId, logicalId(stack.store.payloadBucket), logicalId(stack.trail.node.scope!.node.findChild('Bucket')), exportsBucketId, recordsBucketId, statementsBucketId].sort(),
    );
  });

  test('R-RET-3, R-TERM-6: billing statements are locked in compliance mode for 7 years, then expire with every version', () => {
    expect(buckets[statementsBucketId].Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: BILLING_RETENTION_DAYS } } },
      BucketEncryption: { ServerSideEncryptionConfiguration: [expect.objectContaining({ ServerSideEncryptionByDefault: expect.objectContaining({ SSEAlgorithm: 'aws:kms' }) })] },
    });
    expect(BILLING_RETENTION_DAYS).toBeGreaterThanOrEqual(7 * 365);
    expect(buckets[statementsBucketId].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ ExpirationInDays: BILLING_RETENTION_DAYS + 1, NoncurrentVersionExpiration: { NoncurrentDays: BILLING_RETENTION_DAYS + 1 }, Status: 'Enabled' }),
    );
  });

  test.each(Object.keys(buckets))('%s: public access blocked, bucket-owner objects, retained', (id) => {
    expect(buckets[id].DeletionPolicy).toBe('Retain');
    expect(buckets[id].Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  test.each(Object.keys(buckets).filter((id) => id !== exportsBucketId))('%s: versioned', (id) => {
    expect(buckets[id].Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  test('R-DSR-2: the exports bucket is not versioned, so an erased export leaves no non-current version', () => {
    expect(buckets[exportsBucketId].Properties.VersioningConfiguration).toBeUndefined();
    expect(buckets[exportsBucketId].Properties.LifecycleConfiguration.Rules).not.toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: expect.anything() }),
    );
  });

  test('R-TERM-2: exports expire 35 days after creation, past the 30-day export window; incomplete uploads are aborted', () => {
    const rules = buckets[exportsBucketId].Properties.LifecycleConfiguration.Rules;
    const expiration = rules.find((rule: { ExpirationInDays?: number }) => rule.ExpirationInDays !== undefined);
    expect(expiration).toMatchObject({ ExpirationInDays: 35, Status: 'Enabled' });
    expect(expiration.ExpirationInDays).toBeGreaterThan(EXPORT_WINDOW_DAYS);
    expect(expiration.Prefix).toBeUndefined(); // the whole bucket, work lists included
    expect(rules).toContainEqual(expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }));
  });

  test('R-DSR-2, R-TERM-5: deletion records are locked in governance mode for the audit retention, then expire', () => {
    expect(buckets[recordsBucketId].Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 400 } } },
    });
    expect(buckets[recordsBucketId].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ ExpirationInDays: 400, Status: 'Enabled' }),
    );
  });

  test.each(Object.keys(buckets))('%s: policy refuses plain HTTP and TLS below 1.2 (R-SEC-1)', (id) => {
    const statements = policies.filter((p) => p.Properties.Bucket.Ref === id).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]),
    );
  });

  test.each(Object.keys(buckets).filter((id) => id !== accessLogBucketId))('%s: SSE-KMS with the CMK and a bucket key, access logs delivered (R-SEC-2)', (id) => {
    expect(buckets[id].Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: dataKeyArn } }],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: accessLogBucketId } },
    });
  });

  test('access log bucket: SSE-S3 (the only encryption S3 log delivery accepts), logs expire after 90 days (R-RET-5)', () => {
    expect(buckets[accessLogBucketId].Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    expect(buckets[accessLogBucketId].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ ExpirationInDays: 90, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' }),
    );
  });

  test('payload bucket: non-current versions expire after 30 days', () => {
    expect(buckets[logicalId(stack.store.payloadBucket)].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
    );
  });
});

describe('stream, keys, trail, backups', () => {
  test('event stream: on-demand, encrypted with the CMK, retention from config (R-SEC-2, R-ING-6)', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: dataKeyArn },
      RetentionPeriodHours: 48,
    });
  });

  test('data key: rotation on, retained (R-SEC-2)', () => {
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
  });

  test('R-SEC-5: the data and signing keys deny tag changes to all but the account root user and CloudFormation\'s execution role', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const deny = key.Properties.KeyPolicy.Statement.find((s: { Sid?: string }) => s.Sid === 'DenyTagChangesButByKeyAdministrators');
      expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: ['kms:TagResource', 'kms:UntagResource'], Resource: '*' });
      const exempt = JSON.stringify(deny.Condition.ArnNotEquals['aws:PrincipalArn']);
      expect(exempt).toContain('":iam::",{"Ref":"AWS::AccountId"},":root"');
      expect(exempt).toContain(':iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1');
      expect(deny.Condition.ArnNotEquals['aws:PrincipalArn']).toHaveLength(2);
    }
  });

  test('data key: CloudTrail may use it only for trails of this account', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 'kms:GenerateDataKey*',
            Condition: {
              StringEquals: { 'aws:SourceAccount': '111111111111' },
              StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'arn:aws:cloudtrail:*:111111111111:trail/*' },
            },
          }),
        ]),
      },
    });
  });

  test('trail: log-file validation, multi-region, KMS, CloudWatch Logs, payload data events (R-SEC-8)', () => {
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      EnableLogFileValidation: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      KMSKeyId: dataKeyArn,
      CloudWatchLogsLogGroupArn: Match.anyValue(),
      EventSelectors: [
        {
          DataResources: [{ Type: 'AWS::S3::Object', Values: Match.arrayWith([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.store.payloadBucket), 'Arn'] }, '/']] }]) }],
          ReadWriteType: 'All',
        },
      ],
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: dataKeyArn, RetentionInDays: 90 });
  });

  test('R-SEC-8: the trail records object-level access to the export and deletion-record buckets too', () => {
    const [trail] = Object.values(template.findResources('AWS::CloudTrail::Trail'));
    const buckets = trail.Properties.EventSelectors[0].DataResources[0].Values.map((v: { 'Fn::Join': [string, [{ 'Fn::GetAtt': string[] }]] }) => v['Fn::Join'][1][0]['Fn::GetAtt'][0]);
    expect(buckets.sort()).toEqual([stack.store.payloadBucket, stack.documents.exportsBucket, stack.documents.recordsBucket].map((b) => logicalId(b)).sort());
  });

  test('trail bucket: log files locked in governance mode for the audit retention (R-SEC-8)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 400 } } },
    });
  });

  test('backups: daily, deleted after backupRetentionDays (at most 90), all four tables incl. the ledger, encrypted vault (R-AV-1, R-AV-2)', () => {
    const plan = Object.values(template.findResources('AWS::Backup::BackupPlan'))[0].Properties.BackupPlan;
    expect(plan.BackupPlanRule).toEqual([expect.objectContaining({ ScheduleExpression: 'cron(0 3 * * ? *)', Lifecycle: { DeleteAfterDays: 30 } })]);
    expect(plan.BackupPlanRule[0].Lifecycle.DeleteAfterDays).toBeLessThanOrEqual(90);
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: dataKeyArn });
    const selection = Object.values(template.findResources('AWS::Backup::BackupSelection'))[0].Properties.BackupSelection;
    const tableArns = [stack.store.controlTable, stack.store.tenantDataTable, stack.store.auditTable, stack.ledger.table].map((t) => ({ 'Fn::GetAtt': [logicalId(t), 'Arn'] }));
    expect(selection.Resources).toEqual(expect.arrayContaining(tableArns));
  });
});

describe('outputs and deployments', () => {
  const outputs = [
    'DataKeyArn', 'ControlTableName', 'TenantDataTableName', 'AuditTableName', 'PayloadBucketName',
    'EventStreamName', 'EventStreamArn', 'TrailArn', 'BackupVaultName', 'TenantKeyAliasPrefix',
    'ExportsBucketName', 'RecordsBucketName', 'SigningKeyArn', 'BillingLedgerTableName',
  ];

  test.each(outputs)('output %s exists with a description (R-DEP-3)', (name) => {
    template.hasOutput(name, { Description: Match.stringLikeRegexp('.{20,}'), Value: Match.anyValue() });
  });

  test('a single-tenant config gives its own stack, alias prefix, deployment tag and backup names (R-DEP-2)', () => {
    const single = synthDataStack(testConfig(SINGLE_TENANT));
    const singleTemplate = Template.fromStack(single).toJSON();
    expect(single.stackName).toBe('Lumiqo-dev-acme-Data');
    expect(single.stackName).not.toBe(stack.stackName);
    expect(single.tenantKeys.aliasPrefix).toBe('alias/lumiqo/Lumiqo-dev-acme/tenant/');
    expect(single.tenantKeys.deploymentTagValue).toBe('Lumiqo-dev-acme');
    const planName = (t: Record<string, any>) => Object.values<any>(t.Resources).find((r) => r.Type === 'AWS::Backup::BackupPlan').Properties.BackupPlan.BackupPlanName;
    expect(planName(singleTemplate)).not.toBe(planName(template.toJSON()));
  });

  test('synth is deterministic: two syntheses give the same template', () => {
    expect(Template.fromStack(synthDataStack(config)).toJSON()).toEqual(template.toJSON());
  });
});

describe('cdk-nag: AwsSolutions, NIST 800-53 R5, HIPAA, PCI DSS 3.2.1', () => {
  test('the data stack has no unacknowledged finding in any of the four packs', () => {
    expect(nagFindings(synthDataStack(config))).toEqual([]);
  });

  test('every acknowledgement silences a real finding (removing one would fail the test above)', () => {
    const acknowledged: string[] = [];
    const spy = jest.spyOn(cdk.Validations.prototype, 'acknowledge').mockImplementation((...rules) => {
      acknowledged.push(...rules.map((rule) => rule.id));
    });
    try {
      const findings = new Set(nagFindings(synthDataStack(config)).map((finding) => finding.ruleName));
      expect(acknowledged.length).toBeGreaterThan(10);
      expect([...new Set(acknowledged)].filter((id) => !findings.has(id))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  test('with the packs installed, synth passes for the data stack', () => {
    const app = testApp();
    addCompliancePacks(app);
    synthDataStack(config, app);
    expect(() => app.synth()).not.toThrow();
  });

  test('with the packs installed, an unacknowledged finding fails synth', () => {
    const app = testApp();
    addCompliancePacks(app);
    const data = synthDataStack(config, app);
    new s3.Bucket(data, 'Unencrypted');
    expect(() => app.synth()).toThrow(/Unencrypted\/Resource[\s\S]*AwsSolutions-S10/);
  });
});

describe('TenantDataStore grants', () => {
  test('grantTenantRead: LeadingKeys limited to the session tenant, with the Null guard that denies Scan (R-SEC-4)', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantTenantRead(r));
    const statements = statementsOf(grantStack, role);
    const dynamo = statements.find((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo).toMatchObject({
      Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['T#${aws:PrincipalTag/tenantId}#*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    expect(dynamo!.Resource).toHaveLength(3); // the table and its two indexes, no index/*
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:Scan|dynamodb:PutItem|s3:PutObject/);
  });

  test('grantTenantRead: objects and listings only under tenants/<session tenant>/, KMS only through DynamoDB and S3 (R-SEC-4)', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantTenantRead(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: expect.objectContaining({ 'Fn::Join': ['', [expect.anything(), '/tenants/${aws:PrincipalTag/tenantId}/*']] }) }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['tenants/${aws:PrincipalTag/tenantId}/*'] } } }));
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': ['dynamodb.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'] } } }),
    );
  });

  test('grantAuditWrite: append-only, no update or delete of audit entries (R-SEC-6)', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantAuditWrite(r));
    const actions = statementsOf(grantStack, role).flatMap((s) => s.Action as string | string[]);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query']));
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
  });

  test('grantDataWrite: item writes and payload objects under tenants/, with the KMS actions SSE needs', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantDataWrite(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']) }));
    // s3:PutObjectTagging: the payload's expiry class (R-RET-1) is a tag written with the object.
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'] }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['kms:GenerateDataKey', 'kms:Decrypt']) }));
    expect(JSON.stringify(statements)).not.toContain('dynamodb:Scan');
  });
  test('R-SEC-5: grantControlIngest: reads without Scan; writes only under the ingest partitions, with the Null guard', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantControlIngest(r));
    const statements = statementsOf(grantStack, role).filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(statements).toEqual([
      expect.objectContaining({ Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'] }),
      expect.objectContaining({
        Action: ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['T#*#DELIVERY#*', 'T#*#PRIVACY', 'PRIVACY#OPEN', 'T#*#QUOTA'] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    ]);
    expect(statements[0].Condition).toBeUndefined();
    expect(INGEST_CONTROL_PARTITIONS).toEqual(['T#*#DELIVERY#*', 'T#*#PRIVACY', 'PRIVACY#OPEN', 'T#*#QUOTA']);
  });

  test.each(['grantControlRead', 'grantControlReadWrite', 'grantControlPurge'] as const)('R-SEC-5: %s grants no Scan (no function lists the control table)', (grant) => {
    const { grantStack, role } = grantedRole((data, r) => data.store[grant](r));
    const statements = statementsOf(grantStack, role);
    expect(JSON.stringify(statements)).toContain('dynamodb:Query');
    expect(JSON.stringify(statements)).not.toContain('dynamodb:Scan');
  });
});

describe('TenantKeys grants', () => {
  test('grantCreate: CreateKey only with this deployment and a tenant tag, aliases only under the prefix', () => {
    const { grantStack, role } = grantedRole((data, r) => data.tenantKeys.grantCreate(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'kms:CreateKey',
        Condition: expect.objectContaining({
          StringEquals: expect.objectContaining({ [`aws:RequestTag/${TenantKeys.DEPLOYMENT_TAG}`]: 'Lumiqo-dev' }),
          Null: { [`aws:RequestTag/${TenantKeys.TENANT_TAG}`]: 'false' },
        }),
      }),
    );
    expect(JSON.stringify(statements)).toContain(':alias/lumiqo/Lumiqo-dev/tenant/*');
  });

  test('R-SEC-5 grantCreate: TagResource only on a key with this deployment\'s tag and the same tenant, or none yet (CreateKey); no UntagResource', () => {
    const { grantStack, role } = grantedRole((data, r) => data.tenantKeys.grantCreate(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'kms:TagResource',
        Condition: {
          StringEquals: { 'aws:RequestTag/lumiqo:deployment': 'Lumiqo-dev' },
          StringEqualsIfExists: { 'aws:ResourceTag/lumiqo:deployment': 'Lumiqo-dev', 'aws:ResourceTag/lumiqo:tenant': '${aws:RequestTag/lumiqo:tenant}' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['lumiqo:deployment', 'lumiqo:tenant'] },
        },
      }),
    );
    expect(JSON.stringify(statements)).not.toContain('kms:UntagResource');
  });

  test('grantTenantDecrypt: own tenant key, own encryption context and events only (R-SEC-4)', () => {
    const { grantStack, role } = grantedRole((data, r) => data.tenantKeys.grantTenantDecrypt(r));
    expect(statementsOf(grantStack, role)).toEqual([
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Condition: {
          StringEquals: {
            'aws:ResourceTag/lumiqo:deployment': 'Lumiqo-dev',
            'aws:ResourceTag/lumiqo:tenant': '${aws:PrincipalTag/tenantId}',
            'kms:EncryptionContext:tenantId': '${aws:PrincipalTag/tenantId}',
            'kms:EncryptionContext:purpose': 'event',
          },
        },
      }),
    ]);
  });

  test('grantUse (R-SEC-4, R-SEC-5): the context\'s tenantId is the key\'s own tenant tag, its purpose one of those named', () => {
    const { grantStack, role } = grantedRole((data, r) => data.tenantKeys.grantUse(r, ['webhook-secret']));
    expect(statementsOf(grantStack, role)).toEqual([
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Condition: {
          StringEquals: {
            'aws:ResourceTag/lumiqo:deployment': 'Lumiqo-dev',
            'kms:EncryptionContext:tenantId': '${aws:ResourceTag/lumiqo:tenant}',
            'kms:EncryptionContext:purpose': ['webhook-secret'],
          },
        },
      }),
    ]);
  });

  test('grantUse without purposes fails synth, naming what to pass (R-SEC-5); with one it grants', () => {
    expect(() => grantedRole((data, r) => data.tenantKeys.grantUse(r, []))).toThrow(/name the purposes/);
    expect(() => grantedRole((data, r) => data.tenantKeys.grantUse(r, ['event']))).not.toThrow();
  });

  test('grantShred: disable, unalias and schedule deletion (7-day window only) of this deployment\'s keys only (R-TERM-4)', () => {
    const { grantStack, role } = grantedRole((data, r) => data.tenantKeys.grantShred(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toEqual([
      expect.objectContaining({
        Action: ['kms:DeleteAlias', 'kms:DescribeKey', 'kms:DisableKey'],
        Condition: { StringEquals: { 'aws:ResourceTag/lumiqo:deployment': 'Lumiqo-dev' } },
      }),
      expect.objectContaining({
        Action: 'kms:ScheduleKeyDeletion',
        Condition: {
          StringEquals: { 'aws:ResourceTag/lumiqo:deployment': 'Lumiqo-dev' },
          NumericEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': TenantKeys.KEY_DELETION_WINDOW_DAYS },
        },
      }),
      // The key's aliases are listed first; ListAliases has no resource-level permission.
      expect.objectContaining({ Action: 'kms:ListAliases', Resource: '*' }),
      expect.objectContaining({ Action: 'kms:DeleteAlias' }),
    ]);
    expect(JSON.stringify(statements[3].Resource)).toContain(':alias/lumiqo/Lumiqo-dev/tenant/*');
  });

  test('the key/* and alias wildcards of TenantKeys grants are acknowledged on the grantee, nothing else is needed', () => {
    const { grantStack } = grantedRole((data, r) => {
      data.tenantKeys.grantCreate(r);
      data.tenantKeys.grantUse(r, ['event']);
      data.tenantKeys.grantTenantDecrypt(r);
      data.tenantKeys.grantShred(r);
    });
    expect(nagFindings(grantStack).filter((f) => f.ruleName.startsWith('AwsSolutions-IAM5'))).toEqual([]);
  });
});

describe('grantTenantRead evaluated by an IAM policy simulator (R-SEC-4)', () => {
  const ACCOUNT = '111111111111';
  const app = testApp();
  const data = synthDataStack(testConfig(), app);
  const role = new iam.Role(data, 'TenantReadRole', { assumedBy: new iam.AccountRootPrincipal() });
  data.store.grantTenantRead(role);
  const resources = Template.fromStack(data).toJSON().Resources as Record<string, { Type: string; Properties: any }>;

  /** Turns the template's intrinsics into the ARNs AWS would see. */
  const arnOf = (id: string): string => {
    const type = resources[id].Type;
    if (type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${id}`;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${id.toLowerCase()}`;
    if (type === 'AWS::KMS::Key') return `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${id}`;
    throw new Error(`no ARN for ${type}`);
  };
  const resolve = (value: any): any => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    if (Array.isArray(value)) return value.map(resolve);
    if (value['Fn::GetAtt']) return arnOf(value['Fn::GetAtt'][0]);
    if (value['Fn::Join']) return value['Fn::Join'][1].map(resolve).join(value['Fn::Join'][0]);
    if (value.Ref === 'AWS::Partition') return 'aws';
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  };
  const policy = { Version: '2012-10-17', Statement: resolve(statementsOf(data, role)) };
  const tableArn = arnOf(data.getLogicalId(data.store.tenantDataTable.node.defaultChild as cdk.CfnElement));
  const bucketArn = arnOf(data.getLogicalId(data.store.payloadBucket.node.defaultChild as cdk.CfnElement));

  async function decide(action: string, resource: string, contextVariables: Record<string, string | string[]> = {}): Promise<string> {
    const { runSimulation } = await import('@cloud-copilot/iam-simulate');
    const result = await runSimulation(
      {
        identityPolicies: [{ name: 'tenant-read', policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          action,
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/TenantRead/session`,
          resource: { accountId: ACCOUNT, resource },
          contextVariables: { 'aws:PrincipalTag/tenantId': 'a', ...contextVariables },
        },
      },
      {},
    );
    if (!('overallResult' in result)) throw new Error(JSON.stringify(result));
    return result.overallResult;
  }

  test.each([
    ['dynamodb:GetItem', ['T#a#EV#1']],
    ['dynamodb:BatchGetItem', ['T#a#EV#1', 'T#a#EV#2']],
    ['dynamodb:Query', ['T#a#ROLLUP']],
  ])('tenant a can %s its own items', async (action, keys) => {
    expect(await decide(action, tableArn, { 'dynamodb:LeadingKeys': keys })).toBe('Allowed');
  });

  test('tenant a can query its own events on an index', async () => {
    expect(await decide('dynamodb:Query', `${tableArn}/index/gsi1`, { 'dynamodb:LeadingKeys': ['T#a#K#api'] })).toBe('Allowed');
  });

  test.each([
    ['dynamodb:GetItem', ['T#b#EV#1']],
    ['dynamodb:BatchGetItem', ['T#a#EV#1', 'T#b#EV#2']],
    ['dynamodb:Query', ['T#ab#ROLLUP']],
  ])('tenant a cannot %s tenant b\'s items', async (action, keys) => {
    expect(await decide(action, tableArn, { 'dynamodb:LeadingKeys': keys })).not.toBe('Allowed');
  });

  test('tenant a cannot Scan, nor call without keys (the Null guard)', async () => {
    expect(await decide('dynamodb:Scan', tableArn)).not.toBe('Allowed');
    expect(await decide('dynamodb:Query', tableArn)).not.toBe('Allowed');
  });

  test('tenant a can read and list its own objects, not tenant b\'s', async () => {
    expect(await decide('s3:GetObject', `${bucketArn}/tenants/a/payloads/1`)).toBe('Allowed');
    expect(await decide('s3:GetObject', `${bucketArn}/tenants/b/payloads/1`)).not.toBe('Allowed');
    expect(await decide('s3:ListBucket', bucketArn, { 's3:prefix': 'tenants/a/' })).toBe('Allowed');
    expect(await decide('s3:ListBucket', bucketArn, { 's3:prefix': 'tenants/' })).not.toBe('Allowed');
    expect(await decide('s3:ListBucket', bucketArn)).not.toBe('Allowed');
  });
});

describe('signing key and billing ledger', () => {
  test('R-TERM-5: the signing key is an ECDSA P-256 SIGN_VERIFY key, retained, not rotated (KMS cannot rotate it)', () => {
    const resource = template.toJSON().Resources[logicalId(stack.signingKey.key)];
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(resource.Properties.EnableKeyRotation).toBeFalsy();
  });

  test('R-BILL-3: the Stripe webhook signing secret is a Secrets Manager secret under the data key, retained', () => {
    const resource = template.toJSON().Resources[logicalId(stack.ledger.stripeWebhookSecret)];
    expect(resource).toMatchObject({ Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'Retain' });
    expect(resource.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(stack.dataKey), 'Arn'] });
  });

  test('R-TERM-6, R-RET-3: the ledger is its own table: pk/sk, PITR, the data key, deletion protection, RETAIN, a 7-year TTL on billing records', () => {
    const resource = template.toJSON().Resources[logicalId(stack.ledger.table)];
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: dataKeyArn },
      DeletionProtectionEnabled: true,
    });
    // R-RET-3: billing records are kept 7 years, then deleted: each carries its `expiresAt` (dynamo-billing-records.ts).
    expect(resource.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect([stack.store.controlTable, stack.store.tenantDataTable, stack.store.auditTable].map((t) => logicalId(t))).not.toContain(logicalId(stack.ledger.table));
  });
});

describe('privacy grants of the data constructs', () => {
  const actionsOf = (statements: Record<string, unknown>[]) => statements.flatMap((s) => [s.Action as string | string[]].flat());

  test('SigningKey.grantSign: kms:Sign only with ECDSA_SHA_256 on raw messages, and GetPublicKey, on the signing key only', () => {
    const { grantStack, role } = grantedRole((data, r) => data.signingKey.grantSign(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toEqual([
      expect.objectContaining({ Action: 'kms:Sign', Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' } } }),
      expect.objectContaining({ Action: 'kms:GetPublicKey' }),
    ]);
    for (const statement of statements) expect(JSON.stringify(statement.Resource)).toContain('SigningKey');
  });

  test('SigningKey.grantVerify: kms:Verify with the same algorithm, and GetPublicKey; no Sign', () => {
    const { grantStack, role } = grantedRole((data, r) => data.signingKey.grantVerify(r));
    const statements = statementsOf(grantStack, role);
    expect(actionsOf(statements).sort()).toEqual(['kms:GetPublicKey', 'kms:Verify']);
    expect(statements[0]).toMatchObject({ Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } } });
  });

  test('BillingLedger.grantReadWrite (R-TERM-6): append and read only, no update or delete; the key only through DynamoDB', () => {
    const { grantStack, role } = grantedRole((data, r) => data.ledger.grantReadWrite(r));
    const statements = statementsOf(grantStack, role);
    expect(actionsOf(statements).filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(statements).toContainEqual(expect.objectContaining({ Condition: { StringEquals: { 'kms:ViaService': ['dynamodb.eu-west-1.amazonaws.com'] } } }));
  });

  test('PrivacyDocuments.grantExportsReadWrite: objects, versions and listings only under tenants/', () => {
    const { grantStack, role } = grantedRole((data, r) => data.documents.grantExportsReadWrite(r));
    const statements = statementsOf(grantStack, role);
    // A delete lists and deletes by version (S3ObjectVersions), which the recorded-call tier showed S3 authorizes as
    // ListBucketVersions and DeleteObjectVersion, the unversioned exports bucket included.
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:PutObject'],
      Resource: expect.objectContaining({ 'Fn::Join': ['', [expect.anything(), '/tenants/*']] }),
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:ListBucket', 's3:ListBucketVersions'],
      Condition: { StringLike: { 's3:prefix': ['tenants/*'] } },
    }));
  });

  test('PrivacyDocuments record grants: put or get under deletion-records/ only, never delete (R-TERM-5)', () => {
    const { grantStack, role } = grantedRole((data, r) => {
      data.documents.grantRecordsWrite(r);
      data.documents.grantRecordsRead(r);
    });
    const statements = statementsOf(grantStack, role);
    const s3Statements = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(actionsOf(s3Statements).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    for (const statement of s3Statements) {
      expect(statement.Resource).toEqual({ 'Fn::Join': ['', [expect.anything(), '/deletion-records/*']] });
    }
  });

  test('TenantDataStore.grantPayloadErase (R-DSR-2): every version of payloads under tenants/, listings only with a tenants/ prefix', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantPayloadErase(r));
    const statements = statementsOf(grantStack, role);
    expect(statements).toEqual([
      expect.objectContaining({ Action: 's3:DeleteObjectVersion', Resource: expect.objectContaining({ 'Fn::Join': ['', [expect.anything(), '/tenants/*']] }) }),
      expect.objectContaining({ Action: ['s3:ListBucket', 's3:ListBucketVersions'], Condition: { StringLike: { 's3:prefix': ['tenants/*'] } } }),
    ]);
  });

  test('TenantDataStore.grantControlPurge: the control read/write grant plus BatchWriteItem on the control table only', () => {
    const { grantStack, role } = grantedRole((data, r) => data.store.grantControlPurge(r));
    const statements = statementsOf(grantStack, role);
    const batch = statements.filter((s) => actionsOf([s]).includes('dynamodb:BatchWriteItem'));
    expect(batch).toHaveLength(1);
    expect(JSON.stringify(batch[0].Resource)).toMatch(/StoreControl/);
    expect(JSON.stringify(batch[0].Resource)).not.toMatch(/StoreTenantData|StoreAudit/);
    expect(actionsOf(statements)).toEqual(expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:PutItem']));
  });
});
