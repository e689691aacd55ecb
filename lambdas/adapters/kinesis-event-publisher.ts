/**
 * EventPublisher over a Kinesis stream: PutRecords in requests of at most 500 records and 5 MiB, partition keys
 * included, partition key = tenant id (one tenant's events stay ordered in one shard). Only the entries Kinesis rejected
 * (throughput exceeded, internal failure) are re-sent; whatever is still rejected after the retries throws,
 * so the caller answers with an error instead of a 202 for a lost event (R-ING-7).
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { streamRecordOf, type StreamEnvelope } from '../domain/model';
import type { EventPublisher } from '../domain/ports';
import { KINESIS_LIMITS } from '../domain/aws-limits';
import { DEFAULT_RETRY, sendUntilProcessed, type RetryPolicy } from './retry';
import { boundedBatches } from './batches';
import { kinesisOf } from './kinesis-client';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';

const { requestRecords: MAX_RECORDS, requestBytes: MAX_REQUEST_BYTES, recordBytes: MAX_RECORD_BYTES } = KINESIS_LIMITS;

const entrySize = (entry: PutRecordsRequestEntry) => (entry.Data?.byteLength ?? 0) + Buffer.byteLength(entry.PartitionKey ?? '');

/**
 * Splits entries into PutRecords requests within both limits, keeping their order. A record over 1 MiB is a bug
 * upstream (ingest refuses such events with a 413): thrown before any request, as Kinesis would refuse the request.
 */
export function putRecordsRequests(entries: readonly PutRecordsRequestEntry[]): PutRecordsRequestEntry[][] {
  return boundedBatches(entries, { maxItems: MAX_RECORDS, maxBytes: MAX_REQUEST_BYTES }, (entry) => {
    const size = entrySize(entry);
    if (size > MAX_RECORD_BYTES) throw new Error(`PutRecords: a record of ${size} bytes exceeds Kinesis's ${MAX_RECORD_BYTES}`);
    return size;
  });
}

export class KinesisEventPublisher implements EventPublisher {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  async publish(envelopes: readonly StreamEnvelope[]): Promise<void> {
    const entries = envelopes.map((envelope) => {
      const { data, partitionKey } = streamRecordOf(envelope);
      return { Data: data, PartitionKey: partitionKey };
    });
    for (const request of putRecordsRequests(entries)) {
      await sendUntilProcessed('PutRecords', request, async (pending) => {
        const answer = await this.kinesis.send(new PutRecordsCommand({ StreamName: this.streamName, Records: [...pending] }));
        if (!answer.FailedRecordCount) return [];
        // Results are positional: entry i of the answer is record i of the request.
        return pending.filter((_, i) => answer.Records?.[i]?.ErrorCode);
      }, this.retry);
    }
  }
}

/** The declared event stream's publisher (`stream: 'write'`). */
export const eventPublisherOf = (c: Composition): KinesisEventPublisher =>
  c.once('publisher', () => new KinesisEventPublisher(kinesisOf(c), c.env.value('stream', ENV.eventStream)));
