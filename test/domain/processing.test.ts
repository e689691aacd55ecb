/**
 * The stream processor's core, record by record (R-ING-7, R-RET-1, R-DSR-1, R-SEC-2): what is stored, what is
 * retried, what is rejected and why.
 */
import type { PlatformEvent, StreamEnvelope } from '../../lambdas/domain/model';
import { PermanentStoreError } from '../../lambdas/domain/ports';
import { StreamProcessing, type InputRecord } from '../../lambdas/domain/processing';
import { rollupDeltas } from '../../lambdas/domain/rollups';
import { createTenant, NOW, removeKeyDirectories, testPlatform, type TestPlatform } from '../handler/fixtures';

afterAll(removeKeyDirectories);

const at = NOW.toISOString();
let sequence = 0;
const record = (envelope: StreamEnvelope | string): InputRecord => ({
  id: String(++sequence),
  data: Buffer.from(typeof envelope === 'string' ? envelope : JSON.stringify(envelope)),
});
const envelope = (tenantId: string, eventId: string, event: Partial<PlatformEvent> = {}): StreamEnvelope => ({
  v: 1,
  tenantId,
  eventId,
  receivedAt: at,
  event: { type: 'event', name: 'signup', timestamp: at, properties: {}, ...event } as PlatformEvent,
});

describe('StreamProcessing.processBatch', () => {
  let platform: TestPlatform;
  let processing: StreamProcessing;
  beforeEach(async () => {
    platform = testPlatform();
    processing = new StreamProcessing(platform);
    await createTenant(platform, 'acme', { plan: 'business', retentionDays: 45 });
  });

  it('R-ING-7, R-TERM-3: counts stored, duplicate, rejected and dropped records, and names each rejection’s reason', async () => {
    // Prepare
    await createTenant(platform, 'gone');
    await platform.directory.setTenantStatus('gone', 'terminated');
    const first = envelope('acme', 'ev_1');
    const records = [
      record(first),
      record(first),
      record('{"v":1}'),
      record(envelope('ghost', 'ev_2')),
      record(envelope('gone', 'ev_3')),
      record(envelope('acme', 'ev_4')),
    ];

    // Act
    const outcome = await processing.processBatch(records);

    // Assess
    expect(outcome).toEqual({
      retry: [],
      rejected: expect.arrayContaining([
        { id: records[2].id, reason: 'malformed_record' },
        { id: records[3].id, reason: 'unknown_tenant' },
      ]),
      stored: 2,
      duplicates: 1,
      quarantined: 0,
      erased: 0,
      objected: 0,
      // A terminated tenant's record is dropped: a dead-letter copy would outlive the purge.
      dropped: 1,
    });
    expect(outcome.rejected).toHaveLength(2);
  });

  it('R-TERM-1: events accepted before a freeze are still stored (only a terminated tenant’s are dropped)', async () => {
    await platform.directory.setTenantStatus('acme', 'frozen');

    const outcome = await processing.processBatch([record(envelope('acme', 'ev_1'))]);

    expect(outcome).toMatchObject({ stored: 1, rejected: [] });
  });

  it('R-RET-1: the stored item expires after the tenant’s own retention', async () => {
    await processing.processBatch([record(envelope('acme', 'ev_1'))]);

    const stored = await platform.store.getEvent('acme', 'ev_1');
    expect(stored!.expiresAt).toBe(NOW.getTime() / 1000 + 45 * 24 * 3600);
  });

  it('R-SEC-7, R-SEC-2: index attributes hold measurements only, never properties or payloads', async () => {
    await processing.processBatch([
      record(envelope('acme', 'ev_1', { properties: { email: 'ann@example.com' } })),
      record(envelope('acme', 'ev_2', { type: 'api_call', method: 'GET', route: '/a', status: 503, latencyMs: 9, payload: { token: 't0p' }, properties: { ip: '10.0.0.1' } } as Partial<PlatformEvent>)),
    ]);

    const [plain, call] = await Promise.all([platform.store.getEvent('acme', 'ev_1'), platform.store.getEvent('acme', 'ev_2')]);
    expect(plain!.attributes).toEqual({});
    expect(call!.attributes).toEqual({ method: 'GET', route: '/a', status: 503, latencyMs: 9 });
    expect(call!.name).toBe('GET /a');
  });

  it('R-DSR-1: the subject index gets one entry per distinct identifier of the event', async () => {
    await processing.processBatch([record(envelope('acme', 'ev_1', { properties: { email: 'Ann@example.com', userId: 'u-1', again: { email: 'ann@example.com' } } }))]);

    const stored = await platform.store.getEvent('acme', 'ev_1');
    expect(stored!.subjects).toHaveLength(2);
  });

  it('R-ING-7: a store that cannot be read → every record of that tenant is retried, none rejected', async () => {
    jest.spyOn(platform.store, 'existingEventIds').mockRejectedValueOnce(new Error('throttled'));
    const records = [record(envelope('acme', 'ev_1')), record(envelope('acme', 'ev_2'))];

    const outcome = await processing.processBatch(records);

    expect(outcome).toMatchObject({ retry: records.map((r) => r.id), rejected: [], stored: 0 });
  });

  it('R-ING-7: a write that fails is taken back (compensation), so the retry stores and counts it', async () => {
    // Prepare
    const realPut = platform.store.putEvents.bind(platform.store);
    jest.spyOn(platform.store, 'putEvents').mockImplementationOnce(async (events, subjects) => {
      await realPut(events, subjects);
      throw new Error('the write landed but its answer was lost');
    });
    const records = [record(envelope('acme', 'ev_1'))];

    // Act
    const failed = await processing.processBatch(records);
    const retried = await processing.processBatch(records);

    // Assess
    expect(failed.retry).toEqual([records[0].id]);
    expect(retried).toMatchObject({ stored: 1, duplicates: 0 });
    const rollups = await platform.store.queryRollups('acme', '2026-03-02T09:00Z', '2026-03-02T11:00Z');
    expect(rollups.map((r) => r.counters.count)).toEqual([1]);
  });

  it('R-DSR-3: an event about a restricted subject is stored quarantined: hidden from reads, left out of rollups', async () => {
    await processing.processBatch([record(envelope('acme', 'ev_1', { properties: { email: 'ann@example.com' } }))]);
    const [annHash] = (await platform.store.getEvent('acme', 'ev_1'))!.subjects;
    await platform.requests.restrict('acme', annHash, 'dsr_1', at);
    // Restrictions are cached with the tenant for at most a minute (the workflow waits longer before it sweeps).
    platform.clock.advance(61_000);

    const outcome = await processing.processBatch([
      record(envelope('acme', 'ev_2', { properties: { email: 'ANN@example.com' } })),
      record(envelope('acme', 'ev_3', { properties: { email: 'bob@example.com' } })),
    ]);

    expect(outcome).toMatchObject({ stored: 2, quarantined: 1 });
    expect(await platform.store.getEvent('acme', 'ev_2')).toBeUndefined();
    const [held] = await platform.store.getEvents('acme', ['ev_2']);
    expect(held).toMatchObject({ quarantined: true, rollupPending: true, subjects: [annHash] });
    expect(await platform.store.subjectEventIds('acme', annHash)).toEqual(expect.arrayContaining(['ev_1', 'ev_2']));
    const minute = at.slice(0, 16) + 'Z';
    const [signups] = await platform.store.queryRollups('acme', minute, minute, 'event:signup');
    // ev_1 and ev_3 only: the quarantined event is not processed into rollups until it is released.
    expect(signups.counters.count).toBe(2);
  });

  it('R-DSR-2: a record received before an erasure of its subject but processed after it is dropped; a later one is kept', async () => {
    await processing.processBatch([record(envelope('acme', 'ev_1', { properties: { email: 'ann@example.com' } }))]);
    const [annHash] = (await platform.store.getEvent('acme', 'ev_1'))!.subjects;
    await platform.requests.markErased('acme', annHash, at, 0);
    processing.forgetTenant('acme');
    const after = new Date(NOW.getTime() + 1_000).toISOString();

    const outcome = await processing.processBatch([
      // Still in the stream when the erasure ran.
      record(envelope('acme', 'ev_2', { properties: { email: 'ann@example.com' } })),
      record({ ...envelope('acme', 'ev_3', { properties: { email: 'ann@example.com' } }), receivedAt: after }),
      record(envelope('acme', 'ev_4', { properties: { email: 'bob@example.com' } })),
    ]);

    expect(outcome).toMatchObject({ stored: 2, erased: 1, retry: [], rejected: [] });
    expect(await platform.store.getEvent('acme', 'ev_2')).toBeUndefined();
    expect(await platform.store.getEvent('acme', 'ev_3')).toBeDefined();
    expect(await platform.store.subjectEventIds('acme', annHash)).not.toContain('ev_2');
  });

  it('caches tenant material for a minute; forgetTenant drops it at once', async () => {
    const reads = jest.spyOn(platform.directory, 'getTenant');
    await processing.processBatch([record(envelope('acme', 'ev_1'))]);
    await processing.processBatch([record(envelope('acme', 'ev_2'))]);
    expect(reads).toHaveBeenCalledTimes(1);

    processing.forgetTenant('acme');
    await processing.processBatch([record(envelope('acme', 'ev_3'))]);

    expect(reads).toHaveBeenCalledTimes(2);
  });
});

describe('R-ING-7: what the store refuses for good goes to the dead-letter queue alone', () => {
  let platform: TestPlatform;
  let processing: StreamProcessing;
  beforeEach(async () => {
    platform = testPlatform();
    processing = new StreamProcessing(platform);
    await createTenant(platform, 'acme');
  });
  const minute = at.slice(0, 16) + 'Z';
  const count = async (series: string) => (await platform.store.queryRollups('acme', minute, minute, series))[0]?.counters.count;
  const refused = new PermanentStoreError('ValidationException: One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes');

  it('a batch write refused because of one record: that record is rejected with the store’s reason, the rest stored and counted', async () => {
    // Prepare: like DynamoDB, the store refuses any write that holds the bad record.
    const realPut = platform.store.putEvents.bind(platform.store);
    jest.spyOn(platform.store, 'putEvents').mockImplementation(async (events, subjects) => {
      if (events.some((e) => e.eventId === 'ev_bad')) throw refused;
      await realPut(events, subjects);
    });
    const records = ['ev_1', 'ev_2', 'ev_bad', 'ev_3', 'ev_4'].map((id) => record(envelope('acme', id)));

    // Act
    const outcome = await processing.processBatch(records);

    // Assess
    expect(outcome).toMatchObject({ retry: [], rejected: [{ id: records[2].id, reason: 'store_refused', detail: refused.message }], stored: 4 });
    expect(await platform.store.getEvent('acme', 'ev_bad')).toBeUndefined();
    expect((await platform.store.getEvents('acme', ['ev_1', 'ev_2', 'ev_3', 'ev_4'])).map((e) => e.eventId)).toEqual(['ev_1', 'ev_2', 'ev_3', 'ev_4']);
    expect(await count('event:signup')).toBe(4);
  });

  it('a rollup update refused because of one record’s contribution: that record is taken back and rejected, the others counted once', async () => {
    const realApply = platform.store.applyRollups.bind(platform.store);
    const badBucket = Object.keys(rollupDeltas([{ tenantId: 'acme', expiresAt: 0, event: { ...envelope('acme', 'x').event, type: 'api_call', route: '/a', latencyMs: 999 } as PlatformEvent }])[0].add).find((c) => c.startsWith('h'))!;
    jest.spyOn(platform.store, 'applyRollups').mockImplementation(async (deltas) => {
      if (deltas.some((d) => badBucket in d.add)) throw refused;
      await realApply(deltas);
    });
    const call = (latencyMs: number) => ({ type: 'api_call', method: 'GET', route: '/a', status: 200, latencyMs }) as Partial<PlatformEvent>;
    const records = [record(envelope('acme', 'ev_1', call(10))), record(envelope('acme', 'ev_bad', call(999))), record(envelope('acme', 'ev_2', call(20)))];

    const outcome = await processing.processBatch(records);

    expect(outcome).toMatchObject({ retry: [], rejected: [{ id: records[1].id, reason: 'store_refused' }], stored: 2 });
    expect(await platform.store.getEvent('acme', 'ev_bad')).toBeUndefined();
    expect(await count('api:GET /a')).toBe(2);
  });

  it('a transient failure is still retried, never dead-lettered', async () => {
    jest.spyOn(platform.store, 'putEvents').mockRejectedValueOnce(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    const records = [record(envelope('acme', 'ev_1')), record(envelope('acme', 'ev_2'))];

    expect(await processing.processBatch(records)).toMatchObject({ retry: records.map((r) => r.id), rejected: [], stored: 0 });
  });
});

describe('R-ING-7, R-SEC-2: the item-size decision counts the whole item', () => {
  it('a ciphertext within inlinePayloadBytes whose item, with its base64 body and 1,000 subjects, would pass 400 KB goes to the payload store', async () => {
    // Prepare: ~280 KB of ciphertext is within a 300 KiB inline limit; as base64 (~373 KB) beside 1,000 subject
    // hashes (~44 KB) the item would be ~417 KB, which DynamoDB refuses.
    const platform = testPlatform({ limits: { inlinePayloadBytes: 300 * 1024 } });
    await createTenant(platform, 'acme');
    const processing = new StreamProcessing(platform);
    const recipients = Array.from({ length: 1000 }, (_, i) => ({ email: `user${i}@example.com` }));

    // Act
    const outcome = await processing.processBatch([record(envelope('acme', 'ev_big', { properties: { recipients, note: 'n'.repeat(250_000) } }))]);

    // Assess
    expect(outcome).toMatchObject({ stored: 1, rejected: [] });
    const [stored] = await platform.store.getEvents('acme', ['ev_big']);
    expect(stored.subjects).toHaveLength(1000);
    expect(stored.body).toEqual({ objectKey: 'tenants/acme/payloads/ev_big' });
    const ciphertext = (await platform.payloads.get('tenants/acme/payloads/ev_big'))!;
    expect(ciphertext.byteLength).toBeLessThanOrEqual(300 * 1024);
    expect(platform.store.fitsOneItem({ ...stored, body: { inline: Buffer.from(ciphertext).toString('base64') } })).toBe(false);
  });
});
