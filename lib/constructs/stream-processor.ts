/**
 * The processor function's Kinesis event source, with safe defaults in one place (like
 * aws-solutions-constructs' event-source-mapping defaults): partial batch responses, bisect on error,
 * bounded retries and record age, and an encrypted on-failure queue, whether or not the caller asks.
 */
import * as cdk from 'aws-cdk-lib';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_PROCESSOR_SETTINGS, type ProcessorSettings } from '../config';
import { DEAD_LETTER_RETENTION_DAYS } from '../../lambdas/domain/privacy';

export interface StreamProcessorProps {
  readonly fn: lambda.IFunction;
  readonly stream: kinesis.IStream;
  /** Encrypts the on-failure queue (R-SEC-2). */
  readonly queueKey: kms.IKey;
  /** @default DEFAULT_PROCESSOR_SETTINGS (lib/config.ts) */
  readonly settings?: Partial<ProcessorSettings>;
}

export class StreamProcessor extends Construct {
  /** Where records go once retries or their age run out (R-ING-7: never silently lost). */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly eventSource: sources.KinesisEventSource;

  constructor(scope: Construct, id: string, props: StreamProcessorProps) {
    super(scope, id);
    const settings = { ...DEFAULT_PROCESSOR_SETTINGS, ...props.settings };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.queueKey,
      enforceSSL: true,
      // The deletion records and certificates name this (BackupFacts.deadLetterRetentionDays).
      retentionPeriod: cdk.Duration.days(DEAD_LETTER_RETENTION_DAYS),
    });

    this.eventSource = new sources.KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: settings.batchSize,
      maxBatchingWindow: cdk.Duration.seconds(settings.maxBatchingWindowSeconds),
      parallelizationFactor: settings.parallelizationFactor,
      // R-ING-7: a malformed record fails alone; the rest of its batch goes through.
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: settings.retryAttempts,
      maxRecordAge: cdk.Duration.hours(settings.maxRecordAgeHours),
      onFailure: new sources.SqsDlq(this.deadLetterQueue),
    });
    props.fn.addEventSource(this.eventSource);
  }
}
