import * as cdk from 'aws-cdk-lib';
import type * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { stackPrefix, type LumiqoConfig } from '../config';
import { AuditTrail } from '../constructs/audit-trail';
import { Backups } from '../constructs/backups';
import { BillingLedger } from '../constructs/billing-ledger';
import { DataKey } from '../constructs/data-key';
import { EventStream } from '../constructs/event-stream';
import { PrivacyDocuments } from '../constructs/privacy-documents';
import { secureBucket } from '../constructs/secure-bucket';
import { SigningKey } from '../constructs/signing-key';
import { TenantDataStore } from '../constructs/tenant-data-store';
import { TenantKeys } from '../constructs/tenant-keys';
import { acknowledge, CONTROL_PACKS } from '../nag';

export interface DataStackProps extends cdk.StackProps {
  readonly config: LumiqoConfig;
}

/**
 * The stateful half of a deployment: everything that holds customer data or evidence, retained when the
 * stack is deleted (tables also carry deletion protection). The stateless services stack uses it only
 * through the grants of its constructs.
 */
export class DataStack extends cdk.Stack {
  readonly dataKey: kms.Key;
  readonly store: TenantDataStore;
  readonly eventStream: kinesis.Stream;
  readonly tenantKeys: TenantKeys;
  readonly accessLogBucket: s3.Bucket;
  readonly trail: cloudtrail.Trail;
  /** Exports and work lists (unversioned), signed deletion records (object-locked): R-DSR-1, R-DSR-2, R-TERM-5. */
  readonly documents: PrivacyDocuments;
  readonly signingKey: SigningKey;
  /** R-TERM-6 */
  readonly ledger: BillingLedger;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    const deployment = stackPrefix(config);

    this.dataKey = new DataKey(this, 'DataKey', { description: `${deployment}: tables, buckets, stream, trail, logs and backups` }).key;

    this.accessLogBucket = secureBucket(this, 'AccessLogBucket', {
      // R-RET-5: server logs are kept for logRetentionDays, then deleted with any older versions.
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: cdk.Duration.days(config.logRetentionDays), noncurrentVersionExpiration: cdk.Duration.days(1) },
      ],
    });
    for (const pack of CONTROL_PACKS) {
      acknowledge(this.accessLogBucket, `${pack}-S3DefaultEncryptionKMS`,
        'S3 server access logging delivers only to buckets with SSE-S3 (AES-256) default encryption; SSE-KMS targets are not supported. The logs hold request metadata, not payloads (R-SEC-2 covers customer data)');
    }

    this.store = new TenantDataStore(this, 'Store', { dataKey: this.dataKey, accessLogBucket: this.accessLogBucket });
    this.eventStream = new EventStream(this, 'EventStream', {
      encryptionKey: this.dataKey,
      retention: cdk.Duration.hours(config.stream.retentionHours),
    }).stream;
    this.tenantKeys = new TenantKeys(this, 'TenantKeys', { deployment });
    this.documents = new PrivacyDocuments(this, 'PrivacyDocuments', {
      dataKey: this.dataKey,
      accessLogBucket: this.accessLogBucket,
      recordRetention: cdk.Duration.days(config.auditRetentionDays),
    });
    this.signingKey = new SigningKey(this, 'SigningKey', { description: `${deployment}: signs deletion records and certificates (R-DSR-2, R-TERM-5)` });
    this.ledger = new BillingLedger(this, 'BillingLedger', { dataKey: this.dataKey, accessLogBucket: this.accessLogBucket });

    const audit = new AuditTrail(this, 'AuditTrail', {
      encryptionKey: this.dataKey,
      accessLogBucket: this.accessLogBucket,
      // Every bucket that holds personal data or its evidence: who read an export or a deletion record (R-SEC-8).
      dataEventBuckets: [this.store.payloadBucket, this.documents.exportsBucket, this.documents.recordsBucket],
      fileRetention: cdk.Duration.days(config.auditRetentionDays),
      logGroupRetention: config.logRetentionDays,
    });
    this.trail = audit.trail;

    const backups = new Backups(this, 'Backups', {
      encryptionKey: this.dataKey,
      tables: [this.store.controlTable, this.store.tenantDataTable, this.store.auditTable, this.ledger.table],
      retention: cdk.Duration.days(config.backupRetentionDays),
    });

    // R-DEP-3: what operators and auditors need to find every store and control.
    const outputs: Record<string, [string, string]> = {
      DataKeyArn: [this.dataKey.keyArn, 'KMS key (rotation on) encrypting every store of this deployment (R-SEC-2)'],
      ControlTableName: [this.store.controlTable.tableName, 'DynamoDB table of tenants, API key hashes, webhook sources'],
      TenantDataTableName: [this.store.tenantDataTable.tableName, 'DynamoDB table of tenant events, subject index and rollups'],
      AuditTableName: [this.store.auditTable.tableName, 'DynamoDB audit log, append-only, per tenant and data subject (R-SEC-6)'],
      PayloadBucketName: [this.store.payloadBucket.bucketName, 'S3 bucket of large payloads and exports, under tenants/<tenantId>/'],
      EventStreamName: [this.eventStream.streamName, 'Kinesis stream between ingest and processor'],
      EventStreamArn: [this.eventStream.streamArn, 'ARN of the Kinesis stream between ingest and processor'],
      TrailArn: [this.trail.trailArn, 'CloudTrail trail with log-file validation (R-SEC-8)'],
      TrailBucketName: [audit.bucket.bucketName, 'S3 bucket holding the CloudTrail log files, object-locked (R-SEC-8)'],
      BackupVaultName: [backups.vault.backupVaultName, 'AWS Backup vault of the daily table backups (R-AV-1, R-AV-2)'],
      TenantKeyAliasPrefix: [this.tenantKeys.aliasPrefix, 'Alias prefix of the per-tenant KMS keys (crypto-shredding, R-TERM-4)'],
      ExportsBucketName: [this.documents.exportsBucket.bucketName, 'S3 bucket of data-subject and termination exports under tenants/<tenantId>/, unversioned (R-DSR-1, R-TERM-2)'],
      RecordsBucketName: [this.documents.recordsBucket.bucketName, 'S3 bucket of signed deletion records and certificates, object-locked (R-DSR-2, R-TERM-5)'],
      SigningKeyArn: [this.signingKey.key.keyArn, 'KMS ECDSA P-256 key signing deletion records; GetPublicKey gives auditors the verification key (R-TERM-5)'],
      BillingLedgerTableName: [this.ledger.table.tableName, 'DynamoDB billing ledger, kept apart from tenant data through termination (R-TERM-6)'],
      StatementsBucketName: [this.ledger.statementsBucket.bucketName, 'S3 bucket of monthly usage statements, Object Lock compliance mode for 7 years (R-RET-3)'],
      StripeApiKeySecretArn: [this.ledger.stripeApiKey.secretArn, 'Secrets Manager secret to put the Stripe restricted API key of the usage reporter in (R-BILL-2)'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new cdk.CfnOutput(this, id, { value, description });
    }
  }
}
