import { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterSink } from '../domain/ports';
import { clientConfig } from './client-config';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { SQS_LIMITS, utf8Bytes } from '../domain/aws-limits';
import { boundedBatches } from './batches';

/**
 * The processor's dead-letter queue (KMS-encrypted, 14 days): poison records with their reason. R-DSR-2, R-TERM-4:
 * a letter is a pointer into the stream (shard, sequence number, arrival), never the record's bytes, so the queue
 * holds nothing that erasure or shredding would have to reach. R-ING-7: every message stays within SQS's 256 KiB,
 * and so does every batch of them: a detail too long is cut, so no letter is refused for its size.
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    for (const batch of messageBatches(letters.map((letter) => JSON.stringify(deadLetterMessage(letter))))) {
      const result = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((body, n) => ({ Id: String(n), MessageBody: body })) }),
      );
      if (result.Failed?.length) throw new Error(`Dead-letter queue refused ${result.Failed.length} message(s)`);
    }
  }
}

const MAX_DETAIL_CHARS = 1000;

/** The message body of a letter, well within SQS_LIMITS.messageBytes: the record stays in the stream (`dataInStream`). */
export function deadLetterMessage(letter: DeadLetter): Record<string, unknown> {
  return {
    recordId: letter.recordId,
    reason: letter.reason,
    ...(letter.detail === undefined ? {} : { detail: letter.detail.slice(0, MAX_DETAIL_CHARS) }),
    origin: letter.origin,
    dataInStream: true,
  };
}

/** Consecutive batches of at most 10 messages and SQS_LIMITS.batchBytes in all. */
export function messageBatches(bodies: readonly string[]): string[][] {
  return boundedBatches(bodies, { maxItems: SQS_LIMITS.batchEntries, maxBytes: SQS_LIMITS.batchBytes }, utf8Bytes);
}

/** R-ING-7: the processor's dead-letter queue, or the runtime's own (local mode). */
export const deadLetterSinkOf = (c: Composition): DeadLetterSink =>
  c.once('deadLetters', () => c.runtime.deadLetters ?? new SqsDeadLetterSink(new SQSClient(clientConfig(c.clients, 'sqs')), c.env.value('deadLetters', ENV.deadLetterQueueUrl)));
