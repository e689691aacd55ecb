import * as cdk from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EXPORT_WINDOW_DAYS } from '../../lambdas/domain/privacy';
import { acknowledge, CONTROL_PACKS } from '../nag';
import { READ_KEY_ACTIONS, WRITE_KEY_ACTIONS, allow, allowKeyViaServices } from './grants';
import { secureBucket } from './secure-bucket';

/** Lifecycle backstop a few days past the export window (R-TERM-2), should a purge never run. */
export const EXPORT_EXPIRATION_DAYS = EXPORT_WINDOW_DAYS + 5;

/** Key prefix of every tenant's exports and work lists (lambdas/domain/keys.ts objectKeys). */
const TENANT_OBJECTS = 'tenants/*';
/** Key prefix of signed deletion records and certificates: outside tenants/, so no purge reaches it (R-TERM-5). */
const DELETION_RECORDS = 'deletion-records/*';

export interface PrivacyDocumentsProps {
  /** Encrypts both buckets (R-SEC-2). */
  readonly dataKey: kms.IKey;
  readonly accessLogBucket: s3.IBucket;
  /** How long deletion records and certificates are locked (governance mode) and kept: the audit retention (R-SEC-6). */
  readonly recordRetention: cdk.Duration;
}

/**
 * The documents the privacy workflows produce. The exports bucket holds data-subject and termination exports and
 * the workflows' work lists under `tenants/<id>/`: unversioned, so an erased export is gone at once (R-DSR-2).
 * The records bucket holds the signed deletion records and certificates under `deletion-records/<id>/`: versioned
 * and object-locked, so evidence can be neither altered nor removed (R-DSR-2, R-TERM-5).
 */
export class PrivacyDocuments extends Construct {
  readonly exportsBucket: s3.Bucket;
  readonly recordsBucket: s3.Bucket;
  private readonly dataKey: kms.IKey;

  constructor(scope: Construct, id: string, props: PrivacyDocumentsProps) {
    super(scope, id);
    this.dataKey = props.dataKey;

    this.exportsBucket = secureBucket(this, 'ExportsBucket', {
      encryptionKey: props.dataKey,
      accessLogBucket: props.accessLogBucket,
      accessLogPrefix: 'exports/',
      // R-DSR-2: an erasure deletes the subject's exports; a non-current version would keep them readable.
      versioned: false,
      lifecycleRules: [{ id: 'ExpireExports', expiration: cdk.Duration.days(EXPORT_EXPIRATION_DAYS) }],
    });
    for (const pack of CONTROL_PACKS) {
      acknowledge(this.exportsBucket, `${pack}-S3BucketVersioningEnabled`,
        'R-DSR-2: exports hold copies of personal data that an erasure must remove at once; a versioned bucket would keep every deleted export as a readable non-current version. Exports are derived data, re-creatable from the stores');
    }

    this.recordsBucket = secureBucket(this, 'RecordsBucket', {
      encryptionKey: props.dataKey,
      accessLogBucket: props.accessLogBucket,
      accessLogPrefix: 'records/',
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(props.recordRetention),
      // Evidence is kept as long as the audit log that refers to it (R-SEC-6), then expires with its versions.
      lifecycleRules: [{ id: 'ExpireRecords', expiration: props.recordRetention, noncurrentVersionExpiration: cdk.Duration.days(1) }],
    });
  }

  /**
   * The privacy tasks: exports and work lists of any tenant, written, read, listed and deleted under tenants/. A
   * delete removes every version (S3ObjectVersions: ListObjectVersions, then DeleteObjects by VersionId, which S3
   * authorizes as DeleteObjectVersion even for the `null` version of an unversioned bucket).
   */
  grantExportsReadWrite(grantee: iam.IGrantable): void {
    allow(grantee, {
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [this.exportsBucket.arnForObjects(TENANT_OBJECTS)],
    });
    allow(grantee, {
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resources: [this.exportsBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [TENANT_OBJECTS] } },
    });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['s3']);
  }

  /** The privacy API: reads (and presigns reads of) exports under tenants/; never writes them. */
  grantExportsRead(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['s3:GetObject'], resources: [this.exportsBucket.arnForObjects(TENANT_OBJECTS)] });
    allowKeyViaServices(grantee, this.dataKey, READ_KEY_ACTIONS, ['s3']);
  }

  /** The workflows: put signed records. No delete: object lock keeps them, and no grant may try (R-TERM-5). */
  grantRecordsWrite(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['s3:PutObject'], resources: [this.recordsBucket.arnForObjects(DELETION_RECORDS)] });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['s3']);
  }

  /** The privacy API: reads signed records to show them with a request's or termination's status. */
  grantRecordsRead(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['s3:GetObject'], resources: [this.recordsBucket.arnForObjects(DELETION_RECORDS)] });
    allowKeyViaServices(grantee, this.dataKey, READ_KEY_ACTIONS, ['s3']);
  }
}
