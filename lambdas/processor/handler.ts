/**
 * Processor function: Kinesis batches from the ingest stream (R-ING-7). Transient failures are reported as
 * batchItemFailures (Lambda retries from the lowest one, bisecting); records that can never be stored go to
 * the dead-letter queue with their reason at once, so they neither block the shard nor get lost.
 *
 * Powertools' BatchProcessor handles one record at a time; this handler reports partial failures itself so the
 * domain can batch its DynamoDB writes and rollup updates across the whole batch (benchmark: DynamoDB calls).
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { DeadLetterSink } from '../domain/ports';
import { StreamProcessing, type ProcessingDeps } from '../domain/processing';
import { logger } from '../shared/logger';
import { lambdaEntry } from '../shared/composition';
import { composeProcessor } from './composition';

export type ProcessorDeps = Omit<ProcessingDeps, 'tenantCacheMs'> & { readonly deadLetters: DeadLetterSink };

export function createProcessorHandler(
  deps: ProcessorDeps,
  options: { readonly tenantCacheMs?: number } = {},
): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const processing = new StreamProcessing({ ...deps, ...options });
  return async (event) => {
    const records = event.Records.map((r) => ({ id: r.kinesis.sequenceNumber, data: Buffer.from(r.kinesis.data, 'base64') }));
    const outcome = await processing.processBatch(records);
    const retry = [...outcome.retry];
    if (outcome.rejected.length > 0) {
      const bySequence = new Map(event.Records.map((r) => [r.kinesis.sequenceNumber, r]));
      try {
        await deps.deadLetters.send(
          outcome.rejected.map(({ id, reason, detail }) => {
            const record = bySequence.get(id)!;
            return {
              recordId: id,
              reason,
              ...(detail === undefined ? {} : { detail }),
              // R-DSR-2, R-TERM-4: a pointer into the stream, never the record's bytes (DeadLetter).
              origin: {
                eventSourceARN: record.eventSourceARN,
                shard: record.eventID.split(':')[0],
                partitionKey: record.kinesis.partitionKey,
                ...(Number.isFinite(record.kinesis.approximateArrivalTimestamp)
                  ? { arrivedAt: new Date(record.kinesis.approximateArrivalTimestamp * 1000).toISOString() }
                  : {}),
              },
            };
          }),
        );
      } catch (error) {
        // The DLQ is unreachable: retry them rather than drop them.
        logger.error('dead-letter queue send failed', { errorName: (error as Error).name });
        retry.push(...outcome.rejected.map((r) => r.id));
      }
    }
    // R-SEC-7: counts and reasons only, never record contents.
    logger.info('batch processed', {
      records: records.length,
      stored: outcome.stored,
      duplicates: outcome.duplicates,
      quarantined: outcome.quarantined,
      erased: outcome.erased,
      dropped: outcome.dropped,
      rejected: outcome.rejected.length,
      retry: retry.length,
      reasons: [...new Set(outcome.rejected.map((r) => r.reason))],
    });
    return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

export const handler = lambdaEntry<KinesisStreamEvent, KinesisStreamBatchResponse>(() => createProcessorHandler(composeProcessor(process.env)));
