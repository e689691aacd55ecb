/**
 * The processor handler over Kinesis events built as Lambda builds them (R-ING-7: nothing lost, nothing stored
 * or counted twice; a bad record never blocks its batch). Partial failures are answered as batchItemFailures
 * and redelivered as Lambda does: from the lowest failed sequence number on.
 */
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createKmsClient } from '../../lambdas/adapters/clients';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { EnvelopeTenantCrypto, KmsKeyringProvider } from '../../lambdas/adapters/envelope-crypto';
import type { PlatformEvent, StreamEnvelope } from '../../lambdas/domain/model';
import type { EventStore } from '../../lambdas/domain/ports';
import { EVENT_PURPOSE, SUBJECT_KEY_PURPOSE } from '../../lambdas/domain/processing';
import { FakeDataTable } from './fake-data-table';
import {
  createTenant,
  kinesisEvent,
  NOW,
  recordsOf,
  redelivery,
  removeKeyDirectories,
  testPlatform,
  type TestPlatform,
} from './fixtures';

afterAll(removeKeyDirectories);

const at = NOW.toISOString();
let nextEventId = 0;

function envelope(tenantId: string, event: Partial<PlatformEvent> = {}, eventId = `ev_${String(nextEventId++).padStart(4, '0')}`): StreamEnvelope {
  return {
    v: 1,
    tenantId,
    eventId,
    receivedAt: at,
    event: { type: 'event', name: 'signup', timestamp: at, properties: { email: 'ann@example.com' }, ...event } as PlatformEvent,
  };
}

const apiCall = (latencyMs: number): Partial<PlatformEvent> => ({ type: 'api_call', method: 'GET', route: '/users/:id', status: 200, latencyMs, properties: {} });
const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) => response.batchItemFailures.map((f) => f.itemIdentifier);

/** One delivery, then Lambda's redelivery from the lowest failed record on. */
async function deliverAndRedeliver(platform: TestPlatform, batch: readonly StreamEnvelope[]) {
  const event = kinesisEvent(recordsOf(batch));
  const first = await platform.processor(event);
  const second = await platform.processor(redelivery(event, first));
  return { event, first, second };
}

async function storedIds(store: EventStore, tenantId: string): Promise<string[]> {
  const { items } = await store.queryEvents({ tenantId, limit: 100 });
  return items.map((e) => e.eventId).sort();
}

async function rollupCounts(store: EventStore, tenantId: string): Promise<Record<string, number>> {
  const rollups = await store.queryRollups(tenantId, '2026-03-02T00:00Z', '2026-03-03T00:00Z');
  return Object.fromEntries(rollups.map((r) => [r.series, r.counters.count]));
}

describe('processor over the in-memory store', () => {
  let platform: TestPlatform;
  beforeEach(async () => {
    platform = testPlatform();
    await createTenant(platform, 'acme');
  });

  it('R-ING-7: a poison record goes to the dead-letter sink alone, with its reason, and the rest are stored', async () => {
    // Prepare
    const good = [envelope('acme'), envelope('acme')];
    const event = kinesisEvent([
      recordsOf([good[0]])[0],
      { data: 'not json at all', partitionKey: 'acme' },
      { data: JSON.stringify({ ...good[1], eventId: 'no-prefix' }), partitionKey: 'acme' },
      recordsOf([good[1]])[0],
    ]);

    // Act
    const response = await platform.processor(event);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(platform.deadLetters.letters).toEqual([
      expect.objectContaining({ recordId: event.Records[1].kinesis.sequenceNumber, reason: 'malformed_record' }),
      expect.objectContaining({ recordId: event.Records[2].kinesis.sequenceNumber, reason: 'malformed_record' }),
    ]);
    // R-DSR-2, R-TERM-4: a pointer into the stream (where the record stays 24 h), never the record's bytes.
    expect(platform.deadLetters.letters[0]).not.toHaveProperty('data');
    expect(platform.deadLetters.letters[0].origin).toEqual({ eventSourceARN: event.Records[1].eventSourceARN, partitionKey: 'acme', shard: 'shardId-000000000000', arrivedAt: expect.stringMatching(/^\d{4}-/) });
    expect(await storedIds(platform.store, 'acme')).toEqual(good.map((e) => e.eventId).sort());
  });

  it('R-ING-7: a record of an unknown tenant is rejected to the dead-letter sink; the known tenant’s are stored', async () => {
    const known = envelope('acme');
    const event = kinesisEvent(recordsOf([envelope('ghost'), known]));

    const response = await platform.processor(event);

    expect(response.batchItemFailures).toEqual([]);
    expect(platform.deadLetters.letters.map((l) => [l.recordId, l.reason])).toEqual([[event.Records[0].kinesis.sequenceNumber, 'unknown_tenant']]);
    expect(await storedIds(platform.store, 'acme')).toEqual([known.eventId]);
  });

  it('R-ING-7: when the dead-letter queue cannot be reached, the rejected records are reported for retry', async () => {
    const known = envelope('acme');
    const event = kinesisEvent([{ data: '{]', partitionKey: 'acme' }, ...recordsOf([known])]);
    platform.deadLetters.unreachable = true;

    const response = await platform.processor(event);

    expect(failedIds(response)).toEqual([event.Records[0].kinesis.sequenceNumber]);
    expect(await storedIds(platform.store, 'acme')).toEqual([known.eventId]);
  });

  it('R-ING-7: the same record twice in a batch is stored once and counted once', async () => {
    const once = envelope('acme');
    const other = envelope('acme');

    const response = await platform.processor(kinesisEvent(recordsOf([once, other, once])));

    expect(response.batchItemFailures).toEqual([]);
    expect(await storedIds(platform.store, 'acme')).toEqual([once.eventId, other.eventId].sort());
    expect(await rollupCounts(platform.store, 'acme')).toEqual({ 'event:signup': 2 });
  });

  it('R-ING-7, R-ING-3: a redelivered batch is stored once and its rollup counts are not doubled', async () => {
    // Prepare
    const batch = [envelope('acme'), envelope('acme', apiCall(120)), envelope('acme', apiCall(80))];
    await platform.processor(kinesisEvent(recordsOf(batch)));

    // Act: the stream delivers the same records again (another shard iterator, a retried invocation).
    const response = await platform.processor(kinesisEvent(recordsOf(batch)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await storedIds(platform.store, 'acme')).toHaveLength(3);
    expect(await rollupCounts(platform.store, 'acme')).toEqual({ 'event:signup': 1, 'api:GET /users/:id': 2 });
  });

  it('R-SEC-2: a payload over inlinePayloadBytes goes to the payload store under the tenant prefix and reads back', async () => {
    // Prepare
    const small = testPlatform({ limits: { inlinePayloadBytes: 1024 } });
    await createTenant(small, 'acme');
    const big = envelope('acme', { properties: { note: 'lorem ipsum '.repeat(400), email: 'ann@example.com' } });

    // Act
    await small.processor(kinesisEvent(recordsOf([big])));

    // Assess
    const stored = await small.store.getEvent('acme', big.eventId);
    expect(stored?.body).toEqual({ objectKey: `tenants/acme/payloads/${big.eventId}` });
    const ciphertext = await small.payloads.get(`tenants/acme/payloads/${big.eventId}`);
    const tenant = (await small.directory.getTenant('acme'))!;
    const plaintext = JSON.parse(Buffer.from(await small.crypto.decrypt(tenant, ciphertext!, EVENT_PURPOSE, big.eventId)).toString());
    expect(plaintext).toEqual(big.event);
  });

  it('R-SEC-2, R-SEC-4: the stored item holds ciphertext only, which decrypts for its own tenant and no other', async () => {
    // Prepare
    await createTenant(platform, 'globex');
    const secretNote = 'the launch code is 0000';
    const sent = envelope('acme', { properties: { email: 'ann@example.com', note: secretNote } });

    // Act
    await platform.processor(kinesisEvent(recordsOf([sent])));

    // Assess
    const stored = (await platform.store.getEvent('acme', sent.eventId))!;
    const everything = JSON.stringify(stored);
    for (const plain of ['ann@example.com', secretNote, 'launch']) expect(everything).not.toContain(plain);
    const ciphertext = Buffer.from((stored.body as { inline: string }).inline, 'base64');
    expect(ciphertext.includes(Buffer.from('launch'))).toBe(false);
    const acme = (await platform.directory.getTenant('acme'))!;
    const globex = (await platform.directory.getTenant('globex'))!;
    await expect(platform.crypto.decrypt(globex, ciphertext, EVENT_PURPOSE, sent.eventId)).rejects.toThrow();
    await expect(platform.crypto.decrypt({ tenantId: 'globex', keyRef: acme.keyRef }, ciphertext, EVENT_PURPOSE, sent.eventId)).rejects.toThrow();
    // Issue 12: the body is bound to its event id; another event's id does not open it.
    await expect(platform.crypto.decrypt(acme, ciphertext, EVENT_PURPOSE, `${sent.eventId}x`)).rejects.toThrow();
    const opened = JSON.parse(Buffer.from(await platform.crypto.decrypt(acme, ciphertext, EVENT_PURPOSE, sent.eventId)).toString());
    expect(opened.properties.note).toBe(secretNote);
  });

  it('R-DSR-1, R-SEC-4: the same email hashes alike within a tenant and differently in another tenant', async () => {
    // Prepare
    await createTenant(platform, 'globex');
    const inAcme = [envelope('acme', { properties: { email: 'Ann@Example.com' } }), envelope('acme', { properties: { email: ' ann@example.com' } })];
    const inGlobex = envelope('globex', { properties: { email: 'ann@example.com' } });

    // Act
    await platform.processor(kinesisEvent(recordsOf([...inAcme, inGlobex])));

    // Assess
    const [a1, a2] = await Promise.all(inAcme.map((e) => platform.store.getEvent('acme', e.eventId)));
    const g = await platform.store.getEvent('globex', inGlobex.eventId);
    expect(a1!.subjects).toHaveLength(1);
    expect(a2!.subjects).toEqual(a1!.subjects);
    expect(g!.subjects).toHaveLength(1);
    expect(g!.subjects).not.toEqual(a1!.subjects);
    expect(a1!.subjects[0]).not.toContain('example');
  });
});

describe('processor over DynamoEventStore when DynamoDB throttles (mocked DynamoDBDocumentClient)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterAll(() => ddb.restore());
  let table: FakeDataTable;
  let platform: TestPlatform;

  beforeEach(async () => {
    ddb.reset();
    table = new FakeDataTable('data');
    table.install(ddb);
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    platform = testPlatform({ store: new DynamoEventStore(client, 'data', { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }) });
    await createTenant(platform, 'acme');
  });

  /** Delivers, then redelivers as Lambda would until nothing fails; returns the first answer's failures. */
  async function deliverUntilDone(envelopes: readonly StreamEnvelope[]): Promise<string[]> {
    let event = kinesisEvent(recordsOf(envelopes));
    const first = await platform.processor(event);
    for (let response = first, rounds = 0; response.batchItemFailures.length > 0; rounds++) {
      if (rounds > 3) throw new Error('still failing after 3 redeliveries');
      event = redelivery(event, response);
      response = await platform.processor(event);
    }
    return failedIds(first);
  }

  it('R-ING-7: BatchWriteItem throttled → the whole batch is reported, then stored exactly once with exact rollups', async () => {
    // Prepare
    table.faults.batchWriteThrowsOn.add(0);
    const batch = [envelope('acme'), envelope('acme', apiCall(10)), envelope('acme')];

    // Act
    const failed = await deliverUntilDone(batch);

    // Assess
    expect(failed).toHaveLength(3);
    expect(table.eventIds('acme')).toEqual(batch.map((e) => e.eventId).sort());
    expect(table.rollupCounts('acme')).toEqual({ 'event:signup': 2, 'api:GET /users/:id': 1 });
  });

  it('R-ING-7: throttled after the first chunk of 25 landed → the landed items are taken back; rollups stay exact', async () => {
    // Prepare: 20 events with a subject each are 40 items, two BatchWriteItem calls; the second is refused.
    table.faults.batchWriteThrowsOn.add(1);
    const batch = Array.from({ length: 20 }, () => envelope('acme'));

    // Act
    const firstEvent = kinesisEvent(recordsOf(batch));
    const first = await platform.processor(firstEvent);
    const afterFailure = table.eventIds('acme');
    await platform.processor(redelivery(firstEvent, first));

    // Assess
    expect(failedIds(first)).toHaveLength(20);
    expect(afterFailure).toEqual([]);
    expect(table.eventIds('acme')).toHaveLength(20);
    expect(table.rollupCounts('acme')).toEqual({ 'event:signup': 20 });
  });

  it('R-ING-7: UnprocessedItems are re-sent by the store; nothing fails and nothing is written twice', async () => {
    table.faults.batchWriteUnprocessedOn.add(0);
    const batch = Array.from({ length: 5 }, () => envelope('acme'));

    const failed = await deliverUntilDone(batch);

    expect(failed).toEqual([]);
    // Issue 12: puts go in DynamoDB's wire format, through the low-level command.
    expect(ddb.commandCalls(BatchWriteItemCommand).length).toBe(2);
    expect(table.eventIds('acme')).toHaveLength(5);
    expect(table.rollupCounts('acme')).toEqual({ 'event:signup': 5 });
  });

  it('R-ING-7: UnprocessedItems that outlast the retries → records reported, then stored exactly once', async () => {
    [0, 1, 2].forEach((call) => table.faults.batchWriteUnprocessedOn.add(call));
    const batch = Array.from({ length: 4 }, () => envelope('acme'));

    const failed = await deliverUntilDone(batch);

    expect(failed).toHaveLength(4);
    expect(table.eventIds('acme')).toHaveLength(4);
    expect(table.rollupCounts('acme')).toEqual({ 'event:signup': 4 });
  });

  it('R-ING-7, R-ING-3: an UpdateItem of one rollup failing once → only that series’ records retried; counts exact', async () => {
    // Prepare
    table.faults.updateThrowsOn.add(0);
    const batch = [envelope('acme'), envelope('acme', apiCall(30)), envelope('acme'), envelope('acme', apiCall(50)), envelope('acme')];

    // Act
    const { event, first, second } = await deliverAndRedeliver(platform, batch);

    // Assess: the failed records are exactly one series' (signup: 0, 2, 4; api: 1, 3).
    const failedIndexes = failedIds(first).map((id) => event.Records.findIndex((r) => r.kinesis.sequenceNumber === id));
    expect([[0, 2, 4], [1, 3]]).toContainEqual(failedIndexes.sort());
    expect(second.batchItemFailures).toEqual([]);
    expect(table.eventIds('acme')).toEqual(batch.map((e) => e.eventId).sort());
    expect(table.rollupCounts('acme')).toEqual({ 'event:signup': 3, 'api:GET /users/:id': 2 });
  });
});

describe('processor when KMS throttles (mocked KMSClient behind KmsKeyringProvider)', () => {
  const kms = mockClient(KMSClient);
  afterAll(() => kms.restore());
  const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/acme';
  const throttle = () => new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} });
  let failGenerate: number;
  let failDecrypt: number;
  let platform: TestPlatform;

  beforeEach(async () => {
    kms.reset();
    failGenerate = 0;
    failDecrypt = 0;
    // A fresh plaintext each call: the Encryption SDK zeroes the buffer it is given.
    kms.on(GenerateDataKeyCommand).callsFake((input: { KeyId: string }) => {
      if (failGenerate > 0 && failGenerate--) throw throttle();
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(32).fill(7), CiphertextBlob: new Uint8Array(64).fill(1) };
    });
    kms.on(DecryptCommand).callsFake(() => {
      if (failDecrypt > 0 && failDecrypt--) throw throttle();
      return { KeyId: keyArn, Plaintext: new Uint8Array(32).fill(7) };
    });
    const kmsCrypto = () => new EnvelopeTenantCrypto(new KmsKeyringProvider(createKmsClient({ region: 'eu-west-1' })));
    platform = testPlatform({ processorCrypto: kmsCrypto() });
    const subjectKey = await kmsCrypto().encrypt({ tenantId: 'acme', keyRef: keyArn }, new Uint8Array(32).fill(3), SUBJECT_KEY_PURPOSE);
    await platform.directory.putTenant({
      tenantId: 'acme',
      name: 'Acme',
      plan: 'business',
      status: 'active',
      keyRef: keyArn,
      subjectKeyCiphertext: Buffer.from(subjectKey).toString('base64'),
      createdAt: at,
    });
  });

  it('R-ING-7, R-SEC-2: GenerateDataKey throttled → those records retried, then all stored once, none dead-lettered', async () => {
    // Prepare
    failGenerate = 1;
    const batch = Array.from({ length: 6 }, () => envelope('acme'));

    // Act
    const { first, second } = await deliverAndRedeliver(platform, batch);

    // Assess
    expect(first.batchItemFailures.length).toBeGreaterThan(0);
    expect(second.batchItemFailures).toEqual([]);
    expect(platform.deadLetters.letters).toEqual([]);
    expect(await storedIds(platform.store, 'acme')).toEqual(batch.map((e) => e.eventId).sort());
    expect(await rollupCounts(platform.store, 'acme')).toEqual({ 'event:signup': 6 });
  });

  it('R-ING-7: Decrypt of the tenant’s subject key throttled → the tenant’s records retried, then stored once', async () => {
    failDecrypt = 1;
    const batch = Array.from({ length: 3 }, () => envelope('acme'));

    const { event, first, second } = await deliverAndRedeliver(platform, batch);

    expect(failedIds(first)).toEqual(event.Records.map((r) => r.kinesis.sequenceNumber));
    expect(second.batchItemFailures).toEqual([]);
    expect(await storedIds(platform.store, 'acme')).toHaveLength(3);
    expect(await rollupCounts(platform.store, 'acme')).toEqual({ 'event:signup': 3 });
  });
});
