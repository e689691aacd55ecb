/**
 * Lambda's Kinesis event source mapping, emulated over the Kinesis API (R-ING-7). One poller per shard reads
 * with GetShardIterator/GetRecords from its checkpoint and invokes the processor with real KinesisStreamEvents:
 * - batches of at most `batchSize`, gathered for up to `maxBatchingWindowMs` after the first record;
 * - ReportBatchItemFailures: the batch is retried from the lowest failed sequence number, the records before it
 *   are done (an unknown or empty itemIdentifier fails the whole batch, as in Lambda);
 * - a function error bisects the batch (when enabled); halves do not count as retries;
 * - after `retryAttempts` retries, or once records are older than `maxRecordAgeSeconds`, an on-failure record
 *   (a pointer to the records, the shape Lambda sends to an SQS destination) goes to the DLQ and the shard moves on.
 * The checkpoint (last finished sequence number per shard) is kept by a CheckpointStore, on disk in a data directory.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type _Record,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { EventSourceSettings } from './schema';

export interface CheckpointStore {
  get(shardId: string): string | undefined;
  set(shardId: string, sequenceNumber: string): void;
}

/** Checkpoints in memory, or in a JSON file (written aside and renamed, so a crash never leaves half a file). */
export class FileCheckpoints implements CheckpointStore {
  private readonly checkpoints: Record<string, string>;

  constructor(private readonly file?: string) {
    this.checkpoints = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  }

  get(shardId: string): string | undefined {
    return this.checkpoints[shardId];
  }

  set(shardId: string, sequenceNumber: string): void {
    this.checkpoints[shardId] = sequenceNumber;
    if (!this.file) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.checkpoints, null, 2));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

export type StreamFunction = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;

export interface EventSourceMappingOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly settings: EventSourceSettings;
  readonly invoke: StreamFunction;
  /** Receives Lambda's on-failure record (the DLQ destination). */
  readonly onFailure: (record: Record<string, unknown>) => Promise<void> | void;
  readonly checkpoints: CheckpointStore;
  readonly functionArn: string;
  readonly region: string;
  /** Wait between empty GetRecords calls. @default 200 ms */
  readonly pollIntervalMs?: number;
  /** First wait between retries of a failed batch, doubled each time up to 1 s. @default 50 ms */
  readonly retryBackoffMs?: number;
  readonly onError?: (error: unknown) => void;
}

type Batch = { readonly records: readonly _Record[]; readonly retries: number };

const MAX_RETRY_BACKOFF_MS = 1_000;

export class KinesisEventSourceMapping {
  private running = false;
  private enabled = true;
  private readonly loops: Promise<void>[] = [];
  private streamArn = '';
  private readonly wakeups = new Set<() => void>();

  constructor(private readonly options: EventSourceMappingOptions) {}

  async start(): Promise<void> {
    const { kinesis, streamName } = this.options;
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    this.streamArn = summary.StreamDescriptionSummary?.StreamARN ?? '';
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    this.running = true;
    for (const shard of Shards) this.loops.push(this.pollShard(shard.ShardId!));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeAll();
    await Promise.all(this.loops);
  }

  /** Like setting the mapping's `Enabled` to false: records wait in the stream until enabled again. */
  disable(): void {
    this.enabled = false;
  }

  enable(): void {
    this.enabled = true;
    this.wakeAll();
  }

  private async pollShard(shardId: string): Promise<void> {
    const { checkpoints, settings } = this.options;
    const poll = this.options.pollIntervalMs ?? 200;
    let iterator: string | undefined;
    let buffer: _Record[] = [];
    let windowStart: number | undefined;
    while (this.running) {
      try {
        if (!this.enabled) {
          await this.sleep(poll);
          continue;
        }
        iterator ??= await this.iteratorAfter(shardId, buffer.at(-1)?.SequenceNumber ?? checkpoints.get(shardId));
        const answer = await this.options.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: settings.batchSize }));
        iterator = answer.NextShardIterator;
        buffer.push(...(answer.Records ?? []));
        // Disabled while reading: keep what was read, invoke nothing until enabled.
        if (!this.enabled) continue;
        if (buffer.length === 0) {
          await this.sleep(poll);
          continue;
        }
        windowStart ??= Date.now();
        const waited = Date.now() - windowStart;
        if (buffer.length < settings.batchSize && waited < settings.maxBatchingWindowMs) {
          await this.sleep(Math.min(poll, settings.maxBatchingWindowMs - waited));
          continue;
        }
        const records = buffer.slice(0, settings.batchSize);
        buffer = buffer.slice(records.length);
        // Stopped half-way: no checkpoint, the next start reads the batch again (the processor is idempotent).
        if (!(await this.deliver(shardId, records))) break;
        checkpoints.set(shardId, records.at(-1)!.SequenceNumber!);
        windowStart = buffer.length > 0 ? Date.now() : undefined;
      } catch (error) {
        // The emulator or the network failed: read again from the checkpoint (the processor is idempotent).
        this.options.onError?.(error);
        iterator = undefined;
        buffer = [];
        windowStart = undefined;
        await this.sleep(poll);
      }
    }
  }

  private async iteratorAfter(shardId: string, sequenceNumber: string | undefined): Promise<string> {
    const { ShardIterator } = await this.options.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: shardId,
        ...(sequenceNumber
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: sequenceNumber }
          : { ShardIteratorType: this.options.settings.startingPosition }),
      }),
    );
    if (!ShardIterator) throw new Error(`No shard iterator for ${shardId}`);
    return ShardIterator;
  }

  /** Runs one batch to completion (stored, or handed to the on-failure destination); false if stopped first. */
  private async deliver(shardId: string, records: readonly _Record[]): Promise<boolean> {
    const { settings } = this.options;
    const pending: Batch[] = [{ records, retries: 0 }];
    while (pending.length > 0 && this.running) {
      const batch = pending.shift()!;
      const fresh = await this.dropExpired(shardId, batch.records);
      if (fresh.length === 0) continue;
      const outcome = await this.invoke(shardId, fresh);
      if (outcome.kind === 'success') continue;
      if (outcome.kind === 'partial') {
        // Records before the lowest failure are done; the rest is retried (a bisect at the failure, in Lambda's terms).
        const remaining = fresh.slice(outcome.firstFailed);
        pending.unshift(...(await this.retryOrGiveUp(shardId, { records: remaining, retries: batch.retries })));
        continue;
      }
      if (settings.bisectOnError && fresh.length > 1) {
        const half = Math.ceil(fresh.length / 2);
        pending.unshift({ records: fresh.slice(0, half), retries: batch.retries }, { records: fresh.slice(half), retries: batch.retries });
        continue;
      }
      pending.unshift(...(await this.retryOrGiveUp(shardId, { records: fresh, retries: batch.retries })));
    }
    return pending.length === 0;
  }

  private async retryOrGiveUp(shardId: string, batch: Batch): Promise<Batch[]> {
    const { retryAttempts } = this.options.settings;
    if (retryAttempts >= 0 && batch.retries >= retryAttempts) {
      await this.sendToFailureDestination(shardId, batch.records, 'RetryAttemptsExhausted', batch.retries + 1);
      return [];
    }
    const backoff = Math.min(MAX_RETRY_BACKOFF_MS, (this.options.retryBackoffMs ?? 50) * 2 ** batch.retries);
    await this.sleep(backoff);
    return [{ records: batch.records, retries: batch.retries + 1 }];
  }

  /** Records older than MaximumRecordAgeInSeconds are not processed; they go to the destination. */
  private async dropExpired(shardId: string, records: readonly _Record[]): Promise<readonly _Record[]> {
    const maxAge = this.options.settings.maxRecordAgeSeconds;
    if (maxAge < 0) return records;
    const oldest = Date.now() - maxAge * 1000;
    const expired = records.filter((r) => (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) < oldest);
    if (expired.length > 0) await this.sendToFailureDestination(shardId, expired, 'RecordAgeExceeded', 0);
    return records.filter((r) => !expired.includes(r));
  }

  private async invoke(shardId: string, records: readonly _Record[]): Promise<{ kind: 'success' } | { kind: 'partial'; firstFailed: number } | { kind: 'error' }> {
    let response: KinesisStreamBatchResponse | void;
    try {
      response = await this.options.invoke({ Records: records.map((r) => this.eventRecord(shardId, r)) });
    } catch (error) {
      this.options.onError?.(error);
      return { kind: 'error' };
    }
    const failures = this.options.settings.reportBatchItemFailures ? (response?.batchItemFailures ?? []) : [];
    if (failures.length === 0) return { kind: 'success' };
    const positions = failures.map((f) => records.findIndex((r) => r.SequenceNumber === f.itemIdentifier));
    // Lambda treats an empty or unknown itemIdentifier as a failure of the whole batch.
    if (positions.some((p) => p < 0)) return { kind: 'error' };
    return { kind: 'partial', firstFailed: Math.min(...positions) };
  }

  private eventRecord(shardId: string, record: _Record): KinesisStreamRecord {
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.PartitionKey ?? '',
        sequenceNumber: record.SequenceNumber ?? '',
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${record.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: this.options.functionArn,
      awsRegion: this.options.region,
      eventSourceARN: this.streamArn,
    };
  }

  /** The record Lambda sends to an on-failure destination for a stream source: a pointer, not the data. */
  private async sendToFailureDestination(shardId: string, records: readonly _Record[], condition: string, invokeCount: number): Promise<void> {
    const arrival = (r: _Record) => (r.ApproximateArrivalTimestamp ?? new Date()).toISOString();
    await this.options.onFailure({
      requestContext: { requestId: randomUUID(), functionArn: this.options.functionArn, condition, approximateInvokeCount: invokeCount },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId,
        startSequenceNumber: records[0].SequenceNumber,
        endSequenceNumber: records.at(-1)!.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(records[0]),
        approximateArrivalOfLastRecord: arrival(records.at(-1)!),
        batchSize: records.length,
        streamArn: this.streamArn,
      },
    });
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeups.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakeups]) wake();
  }
}
