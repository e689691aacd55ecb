/**
 * The EventStore's privacy side (issue 4), on dynalite and on the in-memory twin: quarantine (R-DSR-3), the
 * subject index (R-DSR-1), whole-tenant paging and purge (R-TERM-2, R-TERM-3).
 */
import type { StoredEvent } from '../../lambdas/domain/model';
import type { EventStore, SubjectIndexEntry } from '../../lambdas/domain/ports';
import { dataKeys } from '../../lambdas/domain/keys';
import { eventSeries, storedEvent } from './fixtures';
import { describeAdapters } from './harness';

const indexEntries = (events: readonly StoredEvent[]): SubjectIndexEntry[] =>
  events.flatMap((e) => e.subjects.map((subjectHash) => ({ tenantId: e.tenantId, subjectHash, eventId: e.eventId, expiresAt: e.expiresAt })));

/** Follows tenantEvents' cursor to the end; every page's ids. */
async function tenantPages(store: EventStore, tenantId: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.tenantEvents(tenantId, limit, cursor);
    pages.push(page.items.map((e) => e.eventId));
    cursor = page.cursor;
  } while (cursor && pages.length < 200);
  return pages;
}

describeAdapters('EventStore privacy operations', (ctx) => {
  it('R-DSR-3: a quarantined event is invisible to getEvent and queryEvents, yet found by the privacy reads', async () => {
    const visible = storedEvent('qa-a', 'ev_visible', { subjects: ['s1'] });
    const quarantined = storedEvent('qa-a', 'ev_quarantined', { subjects: ['s1'], quarantined: true, rollupPending: true });
    await ctx.adapters.store.putEvents([visible, quarantined], indexEntries([visible, quarantined]));

    expect(await ctx.adapters.store.getEvent('qa-a', 'ev_visible')).toEqual(visible);
    expect(await ctx.adapters.store.getEvent('qa-a', 'ev_quarantined')).toBeUndefined();
    for (const query of [{ kind: 'event' }, { kind: 'event', name: 'signup' }, {}]) {
      const page = await ctx.adapters.store.queryEvents({ tenantId: 'qa-a', limit: 10, ...query });
      expect(page.items.map((e) => e.eventId)).toEqual(['ev_visible']);
    }

    expect(await ctx.adapters.store.getEvents('qa-a', ['ev_quarantined'])).toEqual([quarantined]);
    expect((await ctx.adapters.store.tenantEvents('qa-a', 10)).items.map((e) => e.eventId).sort()).toEqual(['ev_quarantined', 'ev_visible']);
    expect((await ctx.adapters.store.subjectEventIds('qa-a', 's1')).sort()).toEqual(['ev_quarantined', 'ev_visible']);
    // The idempotency gate still sees it, so a redelivery is not stored twice (R-ING-7).
    expect(await ctx.adapters.store.existingEventIds('qa-a', ['ev_quarantined'])).toEqual(new Set(['ev_quarantined']));
  });

  it('R-DSR-3: a quarantined event sits in the quarantine partition of GSI1 only', async () => {
    await ctx.adapters.store.putEvents([storedEvent('qa-b', 'ev_1', { quarantined: true, rollupPending: false })], []);

    const [item] = await ctx.adapters.partitionItems('tenantData', dataKeys.event('qa-b', 'ev_1').pk);

    expect(item).toMatchObject({ gsi1pk: dataKeys.quarantine('qa-b'), quarantined: true, rollupPending: false });
    expect(item).not.toHaveProperty('gsi2pk');
    expect(item).not.toHaveProperty('gsi2sk');
  });

  it('R-DSR-3: a released event (written back unquarantined) is readable again, and reads back as written', async () => {
    const event = storedEvent('qa-c', 'ev_1', { quarantined: true, rollupPending: true });
    await ctx.adapters.store.putEvents([event], []);
    const released = { ...event, quarantined: false, rollupPending: false };

    await ctx.adapters.store.putEvents([released], []);

    expect(await ctx.adapters.store.getEvent('qa-c', 'ev_1')).toEqual(released);
    expect((await ctx.adapters.store.queryEvents({ tenantId: 'qa-c', kind: 'event', name: 'signup', limit: 5 })).items).toEqual([released]);
  });

  it('R-DSR-1: subjectEventIds lists every event of one subject, and nothing of other subjects or tenants', async () => {
    const mine = eventSeries('sub-a', 40, { subjects: ['s-mine'] });
    const others = eventSeries('sub-a', 3, { subjects: ['s-other'] }).map((e) => ({ ...e, eventId: `other_${e.eventId}` }));
    await ctx.adapters.store.putEvents([...mine, ...others], indexEntries([...mine, ...others]));
    await ctx.adapters.store.putEvents(eventSeries('sub-b', 2, { subjects: ['s-mine'] }), indexEntries(eventSeries('sub-b', 2, { subjects: ['s-mine'] })));

    const ids = await ctx.adapters.store.subjectEventIds('sub-a', 's-mine');

    expect(ids.sort()).toEqual(mine.map((e) => e.eventId).sort());
    expect(await ctx.adapters.store.subjectEventIds('sub-a', 's-nobody')).toEqual([]);
  });

  it('R-DSR-2: deleteSubjectEntries removes one subject’s entries and leaves the events and other subjects’ entries', async () => {
    const events = eventSeries('stale-a', 3, { subjects: ['s-gone', 's-kept'] });
    await ctx.adapters.store.putEvents(events, indexEntries(events));

    await ctx.adapters.store.deleteSubjectEntries('stale-a', 's-gone', [events[0].eventId, events[1].eventId, 'ev_never_stored']);

    expect(await ctx.adapters.store.subjectEventIds('stale-a', 's-gone')).toEqual([events[2].eventId]);
    expect((await ctx.adapters.store.subjectEventIds('stale-a', 's-kept')).sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(await ctx.adapters.store.getEvents('stale-a', events.map((e) => e.eventId))).toHaveLength(3);
  });

  it('getEvents returns the asked events once each, in the order asked, across BatchGets of 100, skipping missing ids', async () => {
    const events = eventSeries('get-a', 150);
    await ctx.adapters.store.putEvents(events, []);
    const asked = [...events.map((e) => e.eventId).reverse(), 'ev_missing', 'ev_000'];

    const found = await ctx.adapters.store.getEvents('get-a', asked);

    expect(found.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId).reverse());
    expect(found[0]).toEqual(events[149]);
    expect(await ctx.adapters.store.getEvents('get-b', ['ev_000'])).toEqual([]);
  });

  it('R-TERM-2: tenantEvents pages through every kind and the quarantine partition, each event exactly once', async () => {
    const kinds = ['event', 'api_call', 'metric', 'webhook'] as const;
    const events = eventSeries('all-a', 23).map((e, i) => ({ ...e, kind: kinds[i % 4], quarantined: i % 5 === 0 ? true : undefined }));
    await ctx.adapters.store.putEvents([...events, ...eventSeries('all-b', 4)], []);
    await ctx.adapters.store.applyRollups([{ tenantId: 'all-a', minute: '2026-03-01T10:00Z', series: 'event:signup', add: { count: 1 }, expiresAt: 1_900_000_000 }]);

    const pages = await tenantPages(ctx.adapters.store, 'all-a', 4);

    const ids = pages.flat();
    expect(ids.sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.slice(0, -1).every((page) => page.length === 4)).toBe(true);
  });

  it('R-TERM-2: with a large limit, one call spans partitions and ends without a cursor', async () => {
    const events = eventSeries('all-c', 6).map((e, i) => ({ ...e, kind: i < 3 ? ('metric' as const) : ('webhook' as const) }));
    await ctx.adapters.store.putEvents(events, []);

    const page = await ctx.adapters.store.tenantEvents('all-c', 100);

    expect(page.items.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(page.cursor).toBeUndefined();
    expect(await ctx.adapters.store.tenantEvents('all-none', 1)).toEqual({ items: [] });
  });

  it('R-SEC-4: tenantEvents refuses a cursor of another tenant, a forged one and a bad limit', async () => {
    await ctx.adapters.store.putEvents(eventSeries('cur-t-a', 3), []);
    const page = await ctx.adapters.store.tenantEvents('cur-t-a', 1);
    expect(page.cursor).toBeDefined();
    await expect(ctx.adapters.store.tenantEvents('cur-t-a', 1, page.cursor)).resolves.toMatchObject({ items: [expect.anything()] });

    const forged = [
      page.cursor,
      'not-a-cursor',
      Buffer.from(JSON.stringify({ p: 9 })).toString('base64url'),
      Buffer.from(JSON.stringify({ p: 0, k: { pk: 'T#cur-t-a#EV#x', sk: 'EV', gsi1pk: 'T#cur-t-a#K#metric', gsi1sk: 'x' } })).toString('base64url'),
    ];
    for (const cursor of forged) {
      await expect(ctx.adapters.store.tenantEvents('cur-t-b', 1, cursor)).rejects.toMatchObject({ code: 'invalid_request' });
    }
    await expect(ctx.adapters.store.tenantEvents('cur-t-a', 0)).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('R-TERM-3: deleteRollups deletes every rollup of the tenant, and only of that tenant', async () => {
    const rollup = (tenantId: string, minute: string) => ({ tenantId, minute, series: 'api:GET /x', add: { count: 1 }, expiresAt: 1_900_000_000 });
    const minutes = Array.from({ length: 30 }, (_, i) => `2026-03-01T10:${String(i).padStart(2, '0')}Z`);
    await ctx.adapters.store.applyRollups([...minutes.map((m) => rollup('roll-purge-a', m)), rollup('roll-purge-b', minutes[0])]);

    expect(await ctx.adapters.store.deleteRollups('roll-purge-a')).toBe(30);

    expect(await ctx.adapters.store.queryRollups('roll-purge-a', '2026-03-01T00:00Z', '2026-03-02T00:00Z')).toEqual([]);
    expect(await ctx.adapters.store.queryRollups('roll-purge-b', '2026-03-01T00:00Z', '2026-03-02T00:00Z')).toHaveLength(1);
    expect(await ctx.adapters.store.deleteRollups('roll-purge-a')).toBe(0);
  });
});
