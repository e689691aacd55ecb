import * as cdk from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AI_PARTITION_PATTERNS, controlKeys, tenantObjectPattern, tenantPartitionPattern, tenantPrefix } from '../../lambdas/domain/keys';
import { TABLES, type TableShape } from '../../lambdas/shared/tables';
import { READ_KEY_ACTIONS, WRITE_KEY_ACTIONS, allow, allowKeyViaServices, type KeyUsingService } from './grants';
import { secureBucket } from './secure-bucket';
import { PAYLOAD_EXPIRY_CLASSES, PAYLOAD_EXPIRY_TAG } from '../../lambdas/domain/retention';

export interface TenantDataStoreProps {
  /** Customer-managed key for the tables and the payload bucket (R-SEC-2). */
  readonly dataKey: kms.IKey;
  /** Receives the payload bucket's S3 server access logs. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * Non-current payload versions (overwritten or deleted objects) are kept this long, then expire.
   * @default Duration.days(30)
   */
  readonly noncurrentPayloadRetention?: cdk.Duration;
}

/** The policy variable that holds the tenant of a tenant-scoped session (R-SEC-4). */
const PRINCIPAL_TENANT = '${aws:PrincipalTag/tenantId}';

/**
 * The control table is operator data, not tenant-scoped. R-SEC-5: no Scan; no function lists the table, every read
 * names its partition (a Scan would read every tenant's key hashes and sources at once).
 */
const CONTROL_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
const CONTROL_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/**
 * A control partition of any tenant as a `dynamodb:LeadingKeys` pattern, from its key builder (lambdas/shared/keys.ts
 * `controlKeys`), so policy and code cannot drift: the builder's tenant prefix `T#<tenantId>#` becomes `T#*#`.
 */
function anyTenantPartition(build: (tenantId: string) => string): string {
  const sample = 'sample-tenant';
  const partition = build(sample);
  if (!partition.startsWith(tenantPrefix(sample))) throw new Error(`Control partition '${partition}' does not start with the tenant prefix`);
  return `${tenantPartitionPattern('*').slice(0, -1)}${partition.slice(tenantPrefix(sample).length)}`;
}

/**
 * R-SEC-5: the only control partitions ingest, the internet-facing function, writes: webhook delivery markers
 * (DynamoTenantDirectory.recordDelivery, forgetDelivery) and, for a Shopify GDPR webhook (R-DSR-6), the privacy
 * request and its open-list entry (DynamoPrivacyRequestStore.create, update). Never an API key hash (`APIKEY#…`), a
 * tenant record, its key list or its sources (`T#<id>#TENANT`), an erasure or a restriction.
 */
export const INGEST_CONTROL_PARTITIONS: readonly string[] = [
  anyTenantPartition((tenantId) => controlKeys.delivery(tenantId, '*', '').pk),
  anyTenantPartition((tenantId) => controlKeys.privacyRequest(tenantId, '').pk),
  controlKeys.openRequest(new Date(0).toISOString(), 'sample-tenant', '').pk,
  // R-BILL-1: the monthly event counter of the plan's quota (DynamoEventCounter).
  anyTenantPartition((tenantId) => controlKeys.eventQuota(tenantId, '').pk),
];

/**
 * R-SEC-5: the only control partition billing, internet-facing too, writes: the tenant's own partition, for its plan
 * (DynamoTenantPlans) and, when a subscription's grace period is over, its termination record (R-TERM-1). Never an
 * API key hash (`APIKEY#…`), a delivery marker, a privacy request, an erasure or a restriction.
 */
export const BILLING_CONTROL_PARTITIONS: readonly string[] = [anyTenantPartition((tenantId) => controlKeys.tenant(tenantId).pk)];

/**
 * The platform's tenant data: the control, tenant-data and audit tables (shapes from lambdas/shared/tables.ts)
 * and the payload bucket (`tenants/<id>/…`). Every grant also grants the KMS actions it needs on the data key,
 * limited to use through DynamoDB or S3, so a caller never writes a policy by hand.
 */
export class TenantDataStore extends Construct {
  readonly controlTable: dynamodb.Table;
  readonly tenantDataTable: dynamodb.Table;
  readonly auditTable: dynamodb.Table;
  readonly payloadBucket: s3.Bucket;
  private readonly dataKey: kms.IKey;

  constructor(scope: Construct, id: string, props: TenantDataStoreProps) {
    super(scope, id);
    this.dataKey = props.dataKey;
    this.controlTable = this.table(TABLES.control);
    this.tenantDataTable = this.table(TABLES.tenantData);
    this.auditTable = this.table(TABLES.audit);
    this.payloadBucket = secureBucket(this, 'PayloadBucket', {
      encryptionKey: props.dataKey,
      accessLogBucket: props.accessLogBucket,
      accessLogPrefix: 'payloads/',
      lifecycleRules: [
        {
          id: 'ExpireNoncurrentPayloads',
          noncurrentVersionExpiration: props.noncurrentPayloadRetention ?? cdk.Duration.days(30),
          expiredObjectDeleteMarker: true,
        },
        // R-RET-1, R-RET-6: a payload expires with its event, by the expiry class it is tagged with (retention.ts).
        ...PAYLOAD_EXPIRY_CLASSES.map((days) => ({
          id: `ExpirePayloadsAfter${days}Days`,
          tagFilters: { [PAYLOAD_EXPIRY_TAG]: String(days) },
          expiration: cdk.Duration.days(days),
        })),
      ],
    });
  }

  /** Admin and privacy functions: tenants, API key hashes, webhook sources, privacy requests. */
  grantControlReadWrite(grantee: iam.IGrantable): void {
    this.allowTable(grantee, this.controlTable, TABLES.control, [...CONTROL_READ_ACTIONS, ...CONTROL_WRITE_ACTIONS]);
    this.allowDataKey(grantee, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /**
   * R-SEC-5: the ingest function reads what authenticates a request (API key hashes, tenants, webhook sources) and
   * writes only INGEST_CONTROL_PARTITIONS, so a compromised ingest can neither mint an API key nor un-freeze a
   * tenant. The `Null` guard refuses a write that names no key, which `ForAllValues` alone would let through.
   */
  grantControlIngest(grantee: iam.IGrantable): void {
    this.grantControlWritesTo(grantee, INGEST_CONTROL_PARTITIONS);
  }

  /** R-SEC-5: billing reads the control table and writes only BILLING_CONTROL_PARTITIONS. */
  grantControlBilling(grantee: iam.IGrantable): void {
    this.grantControlWritesTo(grantee, BILLING_CONTROL_PARTITIONS);
  }

  /** Reads of the whole control table, writes only under `partitions` (`dynamodb:LeadingKeys`, with its Null guard). */
  private grantControlWritesTo(grantee: iam.IGrantable, partitions: readonly string[]): void {
    this.allowTable(grantee, this.controlTable, TABLES.control, CONTROL_READ_ACTIONS);
    this.allowTable(grantee, this.controlTable, TABLES.control, CONTROL_WRITE_ACTIONS, {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    this.allowDataKey(grantee, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  grantControlRead(grantee: iam.IGrantable): void {
    this.allowTable(grantee, this.controlTable, TABLES.control, CONTROL_READ_ACTIONS);
    this.allowDataKey(grantee, READ_KEY_ACTIONS, ['dynamodb']);
  }

  /** The stream processor: idempotent event writes, subject index, rollups, large payloads. */
  grantDataWrite(grantee: iam.IGrantable): void {
    this.allowTable(grantee, this.tenantDataTable, TABLES.tenantData, [
      'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
      'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query',
    ]);
    // s3:PutObjectTagging: a PutObject with tags (the payload's expiry class, R-RET-1) needs it too.
    allow(grantee, { actions: ['s3:PutObject', 's3:PutObjectTagging', 's3:GetObject', 's3:DeleteObject'], resources: [this.payloadBucket.arnForObjects('tenants/*')] });
    this.allowDataKey(grantee, WRITE_KEY_ACTIONS, ['dynamodb', 's3']);
  }

  /**
   * R-TERM-1..3: termination removes a tenant's control items (API keys, sources, deliveries, requests) in
   * batches; everything else of the control read/write grant applies.
   */
  grantControlPurge(grantee: iam.IGrantable): void {
    this.grantControlReadWrite(grantee);
    this.allowTable(grantee, this.controlTable, TABLES.control, ['dynamodb:BatchWriteItem']);
  }

  /**
   * R-DSR-2, R-TERM-3: deleting a payload deletes every version of it, so nothing of an erased record survives
   * as a non-current version. Listings (versions, and plain listings where a store has no versioning) only
   * under `tenants/`; on top of grantDataWrite, which reads, writes and deletes the current objects.
   */
  grantPayloadErase(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['s3:DeleteObjectVersion'], resources: [this.payloadBucket.arnForObjects('tenants/*')] });
    allow(grantee, {
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resources: [this.payloadBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': ['tenants/*'] } },
    });
  }

  /**
   * R-AI-5, R-AI-6: the AI function's conversations, messages, usage counters and insights: items of the
   * `T#<tenantId>#AI` partitions and the `AI#TENANTS` list only (AI_PARTITION_PATTERNS), never events, rollups or the
   * subject index, which it reads only through the tenant read role. The `Null` guard refuses a call that names no key.
   */
  grantAiData(grantee: iam.IGrantable): void {
    // The table only, none of its indexes: the AI items are read by key.
    allow(grantee, {
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
      resources: [this.tenantDataTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...AI_PARTITION_PATTERNS] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
    });
    this.allowDataKey(grantee, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /** R-SEC-6: the audit log is append-only: entries are put, read by query, never changed or deleted. */
  grantAuditWrite(grantee: iam.IGrantable): void {
    this.allowTable(grantee, this.auditTable, TABLES.audit, ['dynamodb:PutItem', 'dynamodb:Query']);
    this.allowDataKey(grantee, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /**
   * R-SEC-4: read access limited to the tenant named by the principal's `tenantId` session tag.
   * DynamoDB: only keys under `T#<tenantId>#`; the `Null` guard denies Scan and any call without keys,
   * which `ForAllValues` alone would let through. S3: only objects and listings under `tenants/<tenantId>/`.
   */
  grantTenantRead(grantee: iam.IGrantable): void {
    this.allowTable(grantee, this.tenantDataTable, TABLES.tenantData, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [tenantPartitionPattern(PRINCIPAL_TENANT)] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    allow(grantee, { actions: ['s3:GetObject'], resources: [this.payloadBucket.arnForObjects(tenantObjectPattern(PRINCIPAL_TENANT))] });
    allow(grantee, {
      actions: ['s3:ListBucket'],
      resources: [this.payloadBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [tenantObjectPattern(PRINCIPAL_TENANT)] } },
    });
    this.allowDataKey(grantee, ['kms:Decrypt'], ['dynamodb', 's3']);
  }

  private table(shape: TableShape): dynamodb.Table {
    const attribute = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    const table = new dynamodb.Table(this, shape.name, {
      partitionKey: attribute(shape.partitionKey),
      sortKey: attribute(shape.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true }, // R-AV-1
      timeToLiveAttribute: shape.ttlAttribute, // R-RET-1, R-RET-6, R-SEC-6
      deletionProtection: true,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    for (const index of shape.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        ...(index.projection
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] }
          : { projectionType: dynamodb.ProjectionType.ALL }),
      });
    }
    return table;
  }

  /** Table actions on the table and its named indexes (no `index/*`: the grant covers exactly what exists). */
  private allowTable(grantee: iam.IGrantable, table: dynamodb.Table, shape: TableShape, actions: string[], conditions?: Record<string, unknown>): void {
    const indexArns = shape.indexes.map((index) => `${table.tableArn}/index/${index.name}`);
    allow(grantee, { actions, resources: [table.tableArn, ...indexArns], conditions });
  }

  /** The data key, only as used by DynamoDB or S3 on the caller's behalf (server-side encryption). */
  private allowDataKey(grantee: iam.IGrantable, actions: string[], services: KeyUsingService[]): void {
    allowKeyViaServices(grantee, this.dataKey, actions, services);
  }
}
