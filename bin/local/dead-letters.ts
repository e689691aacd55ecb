/**
 * The local stand-in for the processor's SQS dead-letter queue (R-ING-7: never silently lost). It receives
 * what the SQS queue receives in AWS: the processor's own letters (poison records with their reason, in the
 * message body SqsDeadLetterSink sends) and the event source mapping's on-failure records (batch pointers).
 * Kept in memory, and appended to `<dataDir>/dead-letters.jsonl` when there is a data directory.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { deadLetterMessage } from '../../lambdas/adapters/sqs-dead-letters';
import type { DeadLetter, DeadLetterSink } from '../../lambdas/domain/ports';

export interface LocalQueueMessage {
  readonly messageId: string;
  readonly sentAt: string;
  /** The message body as JSON, exactly as it would be in the SQS queue. */
  readonly body: Record<string, unknown>;
}

export class LocalDeadLetterQueue implements DeadLetterSink {
  private readonly stored: LocalQueueMessage[] = [];

  /** @param file JSON lines file that keeps the messages between runs; in memory only when absent. */
  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) this.stored.push(JSON.parse(line));
    }
  }

  /** The processor's letters (DeadLetterSink). */
  async send(letters: readonly DeadLetter[]): Promise<void> {
    for (const letter of letters) this.append(deadLetterMessage(letter));
  }

  /** Anything else sent to the queue, e.g. the event source mapping's on-failure records. */
  append(body: Record<string, unknown>): void {
    const message = { messageId: randomUUID(), sentAt: new Date().toISOString(), body };
    this.stored.push(message);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(message)}\n`, { mode: 0o600 });
  }

  messages(): readonly LocalQueueMessage[] {
    return [...this.stored];
  }
}
