/**
 * The emulated Kinesis event source mapping behaves as Lambda's does (R-ING-7): batch size, partial batch
 * failures retried from the lowest failed sequence number, bisect on function error, bounded retries then
 * the on-failure destination, checkpoints. Real kinesalite stream; the function is a recording fake.
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { provision, startEmulators, type RunningEmulators } from '../../bin/local/emulators';
import { FileCheckpoints, KinesisEventSourceMapping, type StreamFunction } from '../../bin/local/event-source-mapping';
import type { EventSourceSettings } from '../../bin/local/schema';
import { eventually } from './http';

const SETTINGS: EventSourceSettings = {
  batchSize: 10,
  maxBatchingWindowMs: 100,
  bisectOnError: true,
  retryAttempts: 2,
  maxRecordAgeSeconds: -1,
  reportBatchItemFailures: true,
  startingPosition: 'TRIM_HORIZON',
};

let emulators: RunningEmulators;
let aws: AwsClients;
let streamCount = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  aws = createAwsClients(emulators.clients);
});
afterAll(async () => emulators?.close());

async function put(streamName: string, payloads: string[]): Promise<void> {
  if (payloads.length === 0) return;
  await aws.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: payloads.map((p) => ({ PartitionKey: 'p', Data: Buffer.from(p) })) }));
}

/** A fresh one-shard stream holding `records` ('r0'..), and a running mapping over it. */
async function mappingOver(records: number, invoke: StreamFunction, settings: Partial<EventSourceSettings> = {}) {
  const streamName = `esm-test-${++streamCount}`;
  await provision(emulators.clients, { tables: [], buckets: [], streams: [{ name: streamName, shardCount: 1 }] });
  await put(streamName, Array.from({ length: records }, (_, i) => `r${i}`));
  const failures: Record<string, unknown>[] = [];
  const checkpoints = new FileCheckpoints();
  const mapping = new KinesisEventSourceMapping({
    kinesis: aws.kinesis,
    streamName,
    settings: { ...SETTINGS, ...settings },
    invoke,
    onFailure: (record) => void failures.push(record),
    checkpoints,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
    region: 'us-east-1',
    pollIntervalMs: 10,
    retryBackoffMs: 1,
  });
  await mapping.start();
  return { mapping, failures, checkpoints, streamName };
}

const payloads = (event: KinesisStreamEvent) => event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

/** A function that records each invocation's payloads and answers with `answer`. */
function recording(answer: (event: KinesisStreamEvent, call: number) => ReturnType<StreamFunction>) {
  const calls: string[][] = [];
  const fn: StreamFunction = async (event) => {
    calls.push(payloads(event));
    return answer(event, calls.length);
  };
  return { calls, fn };
}

it('delivers real Kinesis events in batches of at most batchSize, in order, and checkpoints the last one', async () => {
  const { calls, fn } = recording(async () => ({ batchItemFailures: [] }));
  const { mapping, checkpoints } = await mappingOver(25, fn);
  try {
    await eventually(async () => (calls.flat().length === 25 ? true : undefined), 'all records delivered');
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(calls.flat()).toEqual(Array.from({ length: 25 }, (_, i) => `r${i}`));
    expect(checkpoints.get('shardId-000000000000')).toBeDefined();
  } finally {
    await mapping.stop();
  }
});

it('retries a partial failure from the lowest failed sequence number, not the records before it', async () => {
  const { calls, fn } = recording(async (event, call) => {
    const failed = call === 1 ? [event.Records[6], event.Records[3]] : [];
    return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
  });
  const { mapping, failures } = await mappingOver(10, fn);
  try {
    await eventually(async () => (calls.length === 2 ? true : undefined), 'the retry');
    expect(calls[1]).toEqual(['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
    expect(failures).toEqual([]);
  } finally {
    await mapping.stop();
  }
});

it('bisects a batch on function error until the failing record is alone, then sends only it to the destination after the retries', async () => {
  const { calls, fn } = recording(async (event) => {
    if (payloads(event).includes('r5')) throw new Error('poison');
    return { batchItemFailures: [] };
  });
  const { mapping, failures } = await mappingOver(8, fn);
  try {
    await eventually(async () => (failures.length === 1 ? true : undefined), 'the on-failure record');
    const delivered = new Set(calls.filter((c) => !c.includes('r5')).flat());
    expect([...delivered].sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r6', 'r7']);
    // One retry budget for the lone record: the first try and retryAttempts (2) retries.
    expect(calls.filter((c) => c.length === 1 && c[0] === 'r5')).toHaveLength(3);
    expect(failures[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      KinesisBatchInfo: { shardId: 'shardId-000000000000', batchSize: 1 },
    });
  } finally {
    await mapping.stop();
  }
});

it('treats an unknown itemIdentifier as a failure of the whole batch, and without bisect gives the batch up after the retries', async () => {
  const { calls, fn } = recording(async () => ({ batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] }));
  const { mapping, failures } = await mappingOver(4, fn, { bisectOnError: false, retryAttempts: 1 });
  try {
    await eventually(async () => (failures.length === 1 ? true : undefined), 'the on-failure record');
    expect(calls).toEqual([['r0', 'r1', 'r2', 'r3'], ['r0', 'r1', 'r2', 'r3']]);
    expect(failures[0]).toMatchObject({ KinesisBatchInfo: { batchSize: 4 } });
  } finally {
    await mapping.stop();
  }
});

it('leaves records in the stream while disabled and delivers them together once enabled', async () => {
  const { calls, fn } = recording(async () => ({ batchItemFailures: [] }));
  const { mapping, streamName } = await mappingOver(0, fn, { maxBatchingWindowMs: 0 });
  mapping.disable();
  try {
    // Two separate puts; without a batching window an enabled mapping would usually deliver them apart.
    await put(streamName, ['early']);
    await put(streamName, ['late']);
    mapping.enable();
    await eventually(async () => (calls.flat().includes('late') ? true : undefined), 'the records after enable');
    expect(calls).toEqual([['early', 'late']]);
  } finally {
    await mapping.stop();
  }
});
