/**
 * R-ING-7: the event store within DynamoDB's limits, over dynalite with the AWS limits layer on (and the
 * in-memory twin, held to the same contract): rollup deltas of any number of counters, sums past 2^53, the item
 * size the processor decides by, and refusals surfaced as PermanentStoreError rather than as a retryable error.
 */
import { eventItem, itemBytes } from '../../lambdas/adapters/event-items';
import { PermanentStoreError, ROLLUP_COUNTERS_PER_UPDATE, type EventStore } from '../../lambdas/domain/ports';
import { DYNAMODB_LIMITS } from '../../lambdas/domain/aws-limits';
import { awsLimitRefusals } from '../support/aws-limits';
import { storedEvent } from './fixtures';
import { describeAdapters, startAdapters } from './harness';

const MINUTE = '2026-03-01T10:00Z';
const base = { expiresAt: 1_900_000_000, minute: MINUTE, series: 'api:GET /buckets' };

describeAdapters('EventStore rollups within DynamoDB’s limits', (ctx) => {
  it('a delta of 450 counters (over 4 KB as one UpdateExpression) is added in full, and again on a second delta', async () => {
    const add = Object.fromEntries(Array.from({ length: 450 }, (_, i) => [`h${i - 100}`, i + 1]));
    expect(Object.keys(add).length).toBeGreaterThan(ROLLUP_COUNTERS_PER_UPDATE * 2);

    await ctx.adapters.store.applyRollups([{ ...base, tenantId: 'wide-a', add: { count: 450, ...add } }]);
    await ctx.adapters.store.applyRollups([{ ...base, tenantId: 'wide-a', add: { count: 450, ...add } }]);

    const [rollup] = await ctx.adapters.store.queryRollups('wide-a', MINUTE, MINUTE);
    expect(rollup.counters).toEqual({ count: 900, ...Object.fromEntries(Object.entries(add).map(([name, n]) => [name, 2 * n])) });
  });

  it('a sum past 2^53 is added and read back as the nearest double (the document client refuses such numbers)', async () => {
    const big = 6e15 + 0.25;

    await ctx.adapters.store.applyRollups([{ ...base, tenantId: 'big-a', add: { count: 1, valueSum: big } }]);
    await ctx.adapters.store.applyRollups([{ ...base, tenantId: 'big-a', add: { count: 1, valueSum: big } }]);

    const [rollup] = await ctx.adapters.store.queryRollups('big-a', MINUTE, MINUTE);
    expect(rollup.counters.valueSum).toBe(2 * big);
    expect(2 * big).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
  });
});

describe('DynamoEventStore against what DynamoDB refuses (dynalite and the AWS limits layer)', () => {
  let store: EventStore;
  let close: () => Promise<void>;
  beforeAll(async () => ({ adapters: { store }, close } = await startAdapters('dynamo')));
  afterAll(() => close());

  /** An event whose item, as the store measures it, is `size` bytes. */
  function eventOfItemBytes(eventId: string, size: number) {
    const empty = storedEvent('size-a', eventId, { body: { inline: '' } });
    return storedEvent('size-a', eventId, { body: { inline: 'A'.repeat(size - itemBytes(eventItem(empty))) } });
  }

  it('an item the store says fits is taken by DynamoDB; one past 400 KB is refused for good', async () => {
    const fits = eventOfItemBytes('ev_fits', DYNAMODB_LIMITS.itemBytes);
    const tooLarge = eventOfItemBytes('ev_large', DYNAMODB_LIMITS.itemBytes + 200);
    expect([store.fitsOneItem(fits), store.fitsOneItem(tooLarge)]).toEqual([true, false]);

    await store.putEvents([fits], []);
    const refusal = await store.putEvents([tooLarge], []).catch((error: unknown) => error);

    expect(await store.getEvent('size-a', 'ev_fits')).toEqual(fits);
    expect(refusal).toBeInstanceOf(PermanentStoreError);
    expect(refusal).toMatchObject({ message: 'ValidationException: Item size has exceeded the maximum allowed size' });
  });

  it('a GSI key past 2,048 bytes (700 three-byte characters) is refused for good, the batch with it', async () => {
    const good = storedEvent('keys-a', 'ev_good');
    const bad = storedEvent('keys-a', 'ev_bad', { kind: 'api_call', name: `GET /${'€'.repeat(700)}` });
    const before = awsLimitRefusals().length;

    await expect(store.putEvents([good, bad], [])).rejects.toThrow(/^ValidationException: .*hashkey/);
    expect(awsLimitRefusals().slice(before)).toEqual([expect.objectContaining({ operation: 'BatchWriteItem', code: 'ValidationException' })]);
    expect(await store.getEvent('keys-a', 'ev_good')).toBeUndefined();
  });

  it('an update refused for good comes out as PermanentStoreError', async () => {
    // A series whose rollup sort key passes 1,024 bytes: a record from before ingest bounded routes.
    const refusal = store.applyRollups([{ ...base, tenantId: 'keys-a', series: `api:GET /${'a'.repeat(1010)}`, add: { count: 1 } }]);

    await expect(refusal).rejects.toBeInstanceOf(PermanentStoreError);
  });
});
