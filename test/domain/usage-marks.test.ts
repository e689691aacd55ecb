/**
 * R-BILL-2: the processor counts usage where it does the work, one mark per stored event, exactly once under the
 * retries and partial failures it survives (a lost answer, a failed mark write, a refused rollup, a redelivery).
 */
import { MemoryUsageMarks } from '../../lambdas/adapters/memory-billing';
import type { PlatformEvent, StreamEnvelope } from '../../lambdas/domain/model';
import { PermanentStoreError } from '../../lambdas/domain/ports';
import { StreamProcessing, type InputRecord } from '../../lambdas/domain/processing';
import { rollupDeltas } from '../../lambdas/domain/rollups';
import { DRAIN_MARKER_EVENT, drainMarkerId } from '../../lambdas/domain/drain-marker';
import { createTenant, NOW, removeKeyDirectories, testPlatform, type TestPlatform } from '../handler/fixtures';

afterAll(removeKeyDirectories);

const at = NOW.toISOString();
const day = at.slice(0, 10);
let sequence = 0;
const record = (envelope: StreamEnvelope): InputRecord => ({ id: String(++sequence), data: Buffer.from(JSON.stringify(envelope)) });
const envelope = (eventId: string, event: Partial<PlatformEvent> = {}): StreamEnvelope => ({
  v: 1,
  tenantId: 'acme',
  eventId,
  receivedAt: at,
  event: { type: 'event', name: 'signup', timestamp: at, properties: {}, ...event } as PlatformEvent,
});
const bytesOf = (e: StreamEnvelope) => Buffer.byteLength(JSON.stringify(e.event), 'utf8');

let platform: TestPlatform;
let usage: MemoryUsageMarks;
let processing: StreamProcessing;
beforeEach(async () => {
  platform = testPlatform();
  usage = new MemoryUsageMarks();
  processing = new StreamProcessing({ ...platform, usage });
  await createTenant(platform, 'acme');
});

test('one mark per stored event, by kind and plaintext bytes, on the UTC day it was received; duplicates and redeliveries add nothing', async () => {
  const call = envelope('ev_2', { type: 'api_call', method: 'GET', route: '/a', status: 200, latencyMs: 5 } as Partial<PlatformEvent>);
  const records = [record(envelope('ev_1')), record(envelope('ev_1')), record(call)];

  await processing.processBatch(records);
  await processing.processBatch(records);

  expect(usage.totals('acme', day)).toEqual({ 'events.event': 1, 'events.api_call': 1, bytes_stored: bytesOf(envelope('ev_1')) + bytesOf(call) });
});

test('a write whose answer was lost is taken back and retried: the retry marks the same event under the same key', async () => {
  const realPut = platform.store.putEvents.bind(platform.store);
  jest.spyOn(platform.store, 'putEvents').mockImplementationOnce(async (events, subjects) => {
    await realPut(events, subjects);
    throw new Error('the write landed but its answer was lost');
  });
  const records = [record(envelope('ev_1')), record(envelope('ev_2'))];

  expect((await processing.processBatch(records)).retry).toHaveLength(2);
  expect(await processing.processBatch(records)).toMatchObject({ stored: 2 });

  expect(usage.totals('acme', day)['events.event']).toBe(2);
  expect(usage.marks.size).toBe(2);
});

test('marks that cannot be written: nothing is stored, every record is retried, and the retry counts each once', async () => {
  jest.spyOn(usage, 'record').mockRejectedValueOnce(new Error('throttled'));
  const records = [record(envelope('ev_1')), record(envelope('ev_2'))];

  expect(await processing.processBatch(records)).toMatchObject({ retry: records.map((r) => r.id), stored: 0 });
  expect(await platform.store.getEvents('acme', ['ev_1', 'ev_2'])).toEqual([]);
  expect(await processing.processBatch(records)).toMatchObject({ stored: 2, retry: [] });
  expect(usage.totals('acme', day)['events.event']).toBe(2);
});

test('a failed take-back still leaves every stored event counted once (the mark was written before the event)', async () => {
  jest.spyOn(platform.store, 'applyRollups').mockRejectedValueOnce(new Error('throttled'));
  jest.spyOn(platform.store, 'deleteEvents').mockRejectedValueOnce(new Error('throttled too'));
  const records = [record(envelope('ev_1'))];

  await processing.processBatch(records);
  const retried = await processing.processBatch(records);

  // The retry finds the event stored (its rollup count is lost, as the README says); its usage is not.
  expect(retried.duplicates).toBe(1);
  expect(usage.totals('acme', day)['events.event']).toBe(1);
});

test('a record refused for good (to the DLQ) has its mark taken back; the others stay counted', async () => {
  const refused = new PermanentStoreError('ValidationException: item too large');
  const realApply = platform.store.applyRollups.bind(platform.store);
  const call = (latencyMs: number) => ({ type: 'api_call', method: 'GET', route: '/a', status: 200, latencyMs }) as Partial<PlatformEvent>;
  const badBucket = Object.keys(rollupDeltas([{ tenantId: 'acme', expiresAt: 0, event: envelope('x', call(999)).event }])[0].add).find((c) => c.startsWith('h'))!;
  jest.spyOn(platform.store, 'applyRollups').mockImplementation(async (deltas) => {
    if (deltas.some((d) => badBucket in d.add)) throw refused;
    await realApply(deltas);
  });

  const outcome = await processing.processBatch([record(envelope('ev_1', call(10))), record(envelope('ev_bad', call(999))), record(envelope('ev_2', call(20)))]);

  expect(outcome).toMatchObject({ stored: 2, rejected: [{ reason: 'store_refused' }] });
  expect([...usage.marks.values()].map((m) => m.sourceId).sort()).toEqual(['ev_1', 'ev_2']);
});

test('R-DSR-2: an erased record is not counted: it is never stored', async () => {
  await processing.processBatch([record(envelope('ev_1', { properties: { email: 'ann@example.com' } }))]);
  const [annHash] = (await platform.store.getEvent('acme', 'ev_1'))!.subjects;
  await platform.requests.markErased('acme', annHash, at, 0);
  await platform.requests.restrict('acme', 'x'.repeat(43), 'dsr_2', at);
  processing.forgetTenant('acme');

  const outcome = await processing.processBatch([record(envelope('ev_2', { properties: { email: 'ann@example.com' } }))]);

  expect(outcome.erased).toBe(1);
  expect([...usage.marks.values()].map((m) => m.sourceId)).toEqual(['ev_1']);
});

test("R-TERM-1: a termination's drain marker is stored but never counted; a tenant's event of the same name is", async () => {
  const marker = envelope(drainMarkerId('term_01ABC'), { name: DRAIN_MARKER_EVENT });
  const lookalike = envelope('ev_3', { name: DRAIN_MARKER_EVENT });

  expect(await processing.processBatch([record(marker), record(lookalike)])).toMatchObject({ stored: 2 });

  expect(usage.totals('acme', day)).toEqual({ 'events.event': 1, bytes_stored: bytesOf(lookalike) });
});
