import { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterSink } from '../domain/ports';
import { clientConfig } from './client-config';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';

/** SQS takes messages up to 256 KiB; larger records are sent as a pointer into the stream (7-day retention). */
const MAX_INLINE_BYTES = 180 * 1024;

/** The processor's dead-letter queue (KMS-encrypted, 14 days): poison records with their reason. */
export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    for (let i = 0; i < letters.length; i += 10) {
      const chunk = letters.slice(i, i + 10);
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((letter, n) => ({ Id: String(n), MessageBody: JSON.stringify(deadLetterMessage(letter)) })),
        }),
      );
      if (result.Failed?.length) throw new Error(`Dead-letter queue refused ${result.Failed.length} message(s)`);
    }
  }
}

export function deadLetterMessage(letter: DeadLetter): Record<string, unknown> {
  const inline = letter.data && letter.data.byteLength <= MAX_INLINE_BYTES;
  return {
    recordId: letter.recordId,
    reason: letter.reason,
    origin: letter.origin,
    ...(inline ? { data: Buffer.from(letter.data!).toString('base64') } : { dataInStream: true }),
  };
}

/** R-ING-7: the processor's dead-letter queue, or the runtime's own (local mode). */
export const deadLetterSinkOf = (c: Composition): DeadLetterSink =>
  c.once('deadLetters', () => c.runtime.deadLetters ?? new SqsDeadLetterSink(new SQSClient(clientConfig(c.clients, 'sqs')), c.env.value('deadLetters', ENV.deadLetterQueueUrl)));
