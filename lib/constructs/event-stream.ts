import * as cdk from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

export interface EventStreamProps {
  /** Customer-managed key for server-side encryption (R-SEC-2). */
  readonly encryptionKey: kms.IKey;
  /** How long records stay readable: must outlast the processor's maximum record age (lib/config.ts checks). */
  readonly retention: cdk.Duration;
}

/**
 * The stream between ingest and processor: on-demand capacity (no shard planning, multi-AZ by
 * construction, R-ING-6) and KMS encryption with the data key.
 */
export class EventStream extends Construct {
  readonly stream: kinesis.Stream;

  constructor(scope: Construct, id: string, props: EventStreamProps) {
    super(scope, id);
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamMode: kinesis.StreamMode.ON_DEMAND,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: props.encryptionKey,
      retentionPeriod: props.retention,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    acknowledge(this.stream, 'AwsSolutions-KDS3',
      'R-SEC-2 requires a customer-managed key for every store of customer data; the rule asks for the AWS-managed alias/aws/kinesis key, which the operator can neither rotate on its own terms nor restrict by key policy');
  }
}
