import * as cdk from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, CONTROL_PACKS } from '../nag';
import { secureBucket } from './secure-bucket';

export interface AuditTrailProps {
  /** Encrypts the log files, the trail bucket and the log group (R-SEC-2). */
  readonly encryptionKey: kms.IKey;
  readonly accessLogBucket: s3.IBucket;
  /** Buckets whose object-level reads and writes are recorded (data events). */
  readonly dataEventBuckets: s3.IBucket[];
  /** How long trail log files are kept, and locked against deletion. */
  readonly fileRetention: cdk.Duration;
  /** Retention of the CloudWatch Logs copy, which serves alarms and queries (R-RET-5). */
  readonly logGroupRetention: logs.RetentionDays;
}

/**
 * R-SEC-8: an immutable trail of infrastructure and data-access activity, for auditors. Multi-region,
 * log-file validation on, KMS-encrypted, delivered to its own versioned bucket whose objects are locked
 * (governance mode) for the retention period, and to CloudWatch Logs.
 */
export class AuditTrail extends Construct {
  readonly trail: cloudtrail.Trail;
  readonly bucket: s3.Bucket;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.bucket = secureBucket(this, 'Bucket', {
      encryptionKey: props.encryptionKey,
      accessLogBucket: props.accessLogBucket,
      accessLogPrefix: 'trail/',
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(props.fileRetention),
      lifecycleRules: [
        { id: 'ExpireTrailFiles', expiration: props.fileRetention, noncurrentVersionExpiration: cdk.Duration.days(1) },
      ],
    });
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.encryptionKey,
      retention: props.logGroupRetention,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.bucket,
      encryptionKey: props.encryptionKey,
      enableFileValidation: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: this.logGroup,
    });
    // CDK creates CloudTrail's delivery role with an inline policy naming this log group only.
    const deliveryRole = this.trail.node.findChild('LogsRole');
    for (const pack of CONTROL_PACKS) {
      acknowledge(deliveryRole, `${pack}-IAMNoInlinePolicy`,
        'The CloudTrail delivery role is made by the CDK Trail construct; its inline policy allows only CreateLogStream/PutLogEvents on this trail\'s log group and belongs to this role alone, so no other principal can be given it');
    }
    this.trail.addS3EventSelector(props.dataEventBuckets.map((bucket) => ({ bucket })), {
      readWriteType: cloudtrail.ReadWriteType.ALL,
    });
  }
}
