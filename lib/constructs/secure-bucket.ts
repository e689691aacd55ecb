import * as cdk from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, CONTROL_PACKS } from '../nag';

export interface SecureBucketProps {
  /** Default encryption key (SSE-KMS with a bucket key, R-SEC-2). Absent only where AWS allows no KMS key. */
  readonly encryptionKey?: kms.IKey;
  /** Where S3 server access logs go. @default - no access logs (only for the access log bucket itself) */
  readonly accessLogBucket?: s3.IBucket;
  readonly accessLogPrefix?: string;
  readonly lifecycleRules: s3.LifecycleRule[];
  readonly objectLockDefaultRetention?: s3.ObjectLockRetention;
  /**
   * Keep prior versions of overwritten and deleted objects. Turn off only where a deleted object must be gone
   * at once (R-DSR-2), and acknowledge the versioning findings with that reason.
   * @default true
   */
  readonly versioned?: boolean;
}

/**
 * The settings every bucket of the platform shares: versioned (unless told otherwise), never public, TLS 1.2+ only (R-SEC-1),
 * bucket-owner objects, retained on stack deletion. Callers choose the key, the log target and the lifecycle.
 */
export function secureBucket(scope: Construct, id: string, props: SecureBucketProps): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: props.encryptionKey,
    bucketKeyEnabled: props.encryptionKey ? true : undefined,
    versioned: props.versioned ?? true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    serverAccessLogsBucket: props.accessLogBucket,
    serverAccessLogsPrefix: props.accessLogPrefix,
    lifecycleRules: [
      // Uploads that never complete hold data nobody can see or delete.
      { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: cdk.Duration.days(7) },
      ...props.lifecycleRules,
    ],
    objectLockEnabled: props.objectLockDefaultRetention ? true : undefined,
    objectLockDefaultRetention: props.objectLockDefaultRetention,
    removalPolicy: cdk.RemovalPolicy.RETAIN,
  });
  for (const pack of CONTROL_PACKS) {
    acknowledge(bucket, `${pack}-S3BucketReplicationEnabled`,
      'Personal data stays in the one region the operator deploys to (GDPR data residency under the DPA); S3 already stores objects across several AZs (R-ING-6), versioning keeps prior versions, and a copy in another region would be one more store for every erasure (R-DSR-2)');
  }
  return bucket;
}
