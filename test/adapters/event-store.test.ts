import { DomainError, type StoredEvent } from '../../lambdas/domain/model';
import type { EventQuery, EventStore } from '../../lambdas/domain/ports';
import { eventSeries, storedEvent } from './fixtures';
import { describeAdapters } from './harness';

/** Follows cursors to the end, collecting every page's event ids. */
async function allPages(store: EventStore, query: EventQuery): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.queryEvents({ ...query, cursor });
    pages.push(page.items.map((e) => e.eventId));
    cursor = page.cursor;
  } while (cursor && pages.length < 100);
  return pages;
}

const idsNewestFirst = (events: readonly StoredEvent[]) =>
  [...events].sort((a, b) => (a.timestamp < b.timestamp ? 1 : -1)).map((e) => e.eventId);

describeAdapters('EventStore', (ctx) => {

  it('stores events and reads them back, inline or by object key', async () => {
    const inline = storedEvent('rt-a', 'ev_1', { attributes: { route: 'GET /x', status: 200 }, subjects: ['h1'] });
    const pointer = storedEvent('rt-a', 'ev_2', { body: { objectKey: 'tenants/rt-a/payloads/ev_2' } });
    await ctx.adapters.store.putEvents([inline, pointer], []);

    expect(await ctx.adapters.store.getEvent('rt-a', 'ev_1')).toEqual(inline);
    expect(await ctx.adapters.store.getEvent('rt-a', 'ev_2')).toEqual(pointer);
    expect(await ctx.adapters.store.getEvent('rt-a', 'ev_3')).toBeUndefined();
  });

  it('issue 12: a list page and a tenant walk give whole events, bodies and subjects included (the indexes hold neither)', async () => {
    const events = eventSeries('body-a', 4, { subjects: ['h1', 'h2'] }).map((e, i) => (i === 1 ? { ...e, body: { objectKey: `tenants/body-a/payloads/${e.eventId}` } } : e));
    const quarantined = storedEvent('body-a', 'ev_q', { quarantined: true, rollupPending: true });
    await ctx.adapters.store.putEvents([...events, quarantined], []);

    const page = await ctx.adapters.store.queryEvents({ tenantId: 'body-a', kind: 'event', limit: 10 });
    const byName = await ctx.adapters.store.queryEvents({ tenantId: 'body-a', kind: 'event', name: 'signup', limit: 10 });
    const walk = await ctx.adapters.store.tenantEvents('body-a', 10);

    const newestFirst = [...events].reverse();
    expect(page.items).toEqual(newestFirst);
    expect(byName.items).toEqual(newestFirst);
    expect([...walk.items].sort((a, b) => a.eventId.localeCompare(b.eventId))).toEqual([...events, quarantined]);
  });

  it('keeps what was put: changing the event object afterwards changes nothing stored', async () => {
    const event = storedEvent('iso-m', 'ev_1', { attributes: { plan: 'pro' }, subjects: ['h1'] });
    const original = structuredClone(event);
    await ctx.adapters.store.putEvents([event], []);

    (event.attributes as Record<string, string>).plan = 'changed';
    (event.body as { inline: string }).inline = 'changed';
    (event.subjects as string[]).push('h2');

    expect(await ctx.adapters.store.getEvent('iso-m', 'ev_1')).toEqual(original);
  });

  it('R-SEC-4: an event is found under its own tenant only', async () => {
    await ctx.adapters.store.putEvents([storedEvent('iso-a', 'ev_1')], []);

    expect(await ctx.adapters.store.getEvent('iso-a', 'ev_1')).toBeDefined();
    expect(await ctx.adapters.store.getEvent('iso-b', 'ev_1')).toBeUndefined();
  });

  it('R-ING-7: existingEventIds finds exactly the stored ids, across more than one BatchGet (100 keys)', async () => {
    const stored = eventSeries('gate-a', 130);
    await ctx.adapters.store.putEvents(stored, []);
    const asked = [...stored.map((e) => e.eventId), ...Array.from({ length: 90 }, (_, i) => `new_${i}`), 'ev_000'];

    const existing = await ctx.adapters.store.existingEventIds('gate-a', asked);

    expect([...existing].sort()).toEqual(stored.map((e) => e.eventId).sort());
    expect(await ctx.adapters.store.existingEventIds('gate-b', ['ev_000'])).toEqual(new Set());
  });

  it('R-DSR-1: writes subject index entries with the events, and deleteEvents removes both', async () => {
    const events = eventSeries('del-a', 30, { subjects: ['s1', 's2'] });
    const subjects = events.flatMap((e) => e.subjects.map((subjectHash) => ({ tenantId: 'del-a', subjectHash, eventId: e.eventId, expiresAt: e.expiresAt })));
    await ctx.adapters.store.putEvents(events, subjects);
    expect(await ctx.adapters.subjectIndexed('del-a', 's2', 'ev_029')).toBe(true);

    await ctx.adapters.store.deleteEvents(events.slice(0, 20));

    expect((await ctx.adapters.store.existingEventIds('del-a', events.map((e) => e.eventId))).size).toBe(10);
    expect(await ctx.adapters.subjectIndexed('del-a', 's2', 'ev_019')).toBe(false);
    expect(await ctx.adapters.subjectIndexed('del-a', 's2', 'ev_020')).toBe(true);
  });

  it('pages a kind newest first, every event exactly once', async () => {
    const events = eventSeries('page-a', 7, { kind: 'metric', name: 'cpu' });
    await ctx.adapters.store.putEvents([...events, ...eventSeries('page-b', 3, { kind: 'metric', name: 'cpu' })], []);

    const pages = await allPages(ctx.adapters.store, { tenantId: 'page-a', kind: 'metric', limit: 3 });

    expect(pages.flat()).toEqual(idsNewestFirst(events));
    expect(pages[0]).toHaveLength(3);
  });

  it('filters by name (GSI2) and by an inclusive time range', async () => {
    const signups = eventSeries('name-a', 5, { name: 'signup' });
    const logins = eventSeries('name-a', 2, { name: 'login' }).map((e) => ({ ...e, eventId: `l${e.eventId}` }));
    await ctx.adapters.store.putEvents([...signups, ...logins], []);

    const byName = await ctx.adapters.store.queryEvents({ tenantId: 'name-a', kind: 'event', name: 'signup', limit: 10 });
    const inRange = await ctx.adapters.store.queryEvents({
      tenantId: 'name-a',
      kind: 'event',
      name: 'signup',
      from: signups[1].timestamp,
      to: signups[3].timestamp,
      limit: 10,
    });

    expect(byName.items.map((e) => e.eventId)).toEqual(idsNewestFirst(signups));
    expect(inRange.items.map((e) => e.eventId)).toEqual(['ev_003', 'ev_002', 'ev_001']);
  });

  it('without a kind, merges all kinds newest first across pages', async () => {
    const kinds = ['event', 'api_call', 'metric', 'webhook'] as const;
    const events = eventSeries('mix-a', 10).map((e, i) => ({ ...e, kind: kinds[i % 4] }));
    await ctx.adapters.store.putEvents(events, []);

    const pages = await allPages(ctx.adapters.store, { tenantId: 'mix-a', limit: 4 });

    expect(pages.flat()).toEqual(idsNewestFirst(events));
  });

  it('R-SEC-4: refuses a cursor taken from another tenant, and a forged one', async () => {
    await ctx.adapters.store.putEvents(eventSeries('cur-a', 3), []);
    const page = await ctx.adapters.store.queryEvents({ tenantId: 'cur-a', kind: 'event', limit: 1 });
    expect(page.cursor).toBeDefined();

    // The twin: the cursor works for its own tenant.
    await expect(ctx.adapters.store.queryEvents({ tenantId: 'cur-a', kind: 'event', limit: 1, cursor: page.cursor })).resolves.toBeDefined();
    for (const cursor of [page.cursor, 'not-a-cursor', Buffer.from('{"event":{"pk":"x"}}').toString('base64url')]) {
      const query = ctx.adapters.store.queryEvents({ tenantId: 'cur-b', kind: 'event', limit: 1, cursor });
      await expect(query).rejects.toBeInstanceOf(DomainError);
      await expect(query).rejects.toMatchObject({ code: 'invalid_request' });
    }
  });

  it('refuses a name without a kind', async () => {
    await expect(ctx.adapters.store.queryEvents({ tenantId: 'q-a', name: 'x', limit: 1 })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('R-ING-3: rollup deltas add up per minute and series, and are read back by range and series', async () => {
    const base = { tenantId: 'roll-a', expiresAt: 1_900_000_000 };
    await ctx.adapters.store.applyRollups([
      { ...base, minute: '2026-03-01T10:00Z', series: 'api:GET /x', add: { count: 2, latencySum: 30, h100: 2 } },
      { ...base, minute: '2026-03-01T10:01Z', series: 'api:GET /x', add: { count: 1 } },
      { ...base, minute: '2026-03-01T10:01Z', series: 'event:signup', add: { count: 5 } },
      { ...base, minute: '2026-03-01T10:05Z', series: 'api:GET /x', add: { count: 9 } },
    ]);
    await ctx.adapters.store.applyRollups([{ ...base, minute: '2026-03-01T10:00Z', series: 'api:GET /x', add: { count: 3, errors5xx: 1 } }]);

    const rollups = await ctx.adapters.store.queryRollups('roll-a', '2026-03-01T10:00Z', '2026-03-01T10:01Z');
    const filtered = await ctx.adapters.store.queryRollups('roll-a', '2026-03-01T10:00Z', '2026-03-01T10:05Z', 'api:GET /x');

    expect(rollups).toEqual([
      { minute: '2026-03-01T10:00Z', series: 'api:GET /x', counters: { count: 5, latencySum: 30, h100: 2, errors5xx: 1 } },
      { minute: '2026-03-01T10:01Z', series: 'api:GET /x', counters: { count: 1 } },
      { minute: '2026-03-01T10:01Z', series: 'event:signup', counters: { count: 5 } },
    ]);
    expect(filtered.map((r) => r.counters.count)).toEqual([5, 1, 9]);
    expect(await ctx.adapters.store.queryRollups('roll-b', '2026-03-01T10:00Z', '2026-03-01T10:05Z')).toEqual([]);
  });
});
