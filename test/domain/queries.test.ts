/**
 * The read side for one tenant (R-ING-1, R-ING-3, R-SEC-4): events decrypted with the tenant's own key, rollup
 * windows bounded, and nothing of another tenant reachable through it.
 */
import type { StreamEnvelope } from '../../lambdas/domain/model';
import { StreamProcessing } from '../../lambdas/domain/processing';
import { TenantQueries } from '../../lambdas/domain/queries';
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import { createTenant, NOW, removeKeyDirectories, testPlatform, type TestPlatform } from '../handler/fixtures';

afterAll(removeKeyDirectories);

const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();
const envelope = (tenantId: string, eventId: string, minutes: number, latencyMs = 10): StreamEnvelope => ({
  v: 1,
  tenantId,
  eventId,
  receivedAt: minutesAgo(minutes),
  event: { type: 'api_call', method: 'GET', route: '/a', status: 200, latencyMs, timestamp: minutesAgo(minutes), properties: { note: `${tenantId} only` } },
});

describe('TenantQueries', () => {
  let platform: TestPlatform;
  const queriesFor = async (tenantId: string) => new TenantQueries((await platform.directory.getTenant(tenantId))!, platform);

  beforeAll(async () => {
    platform = testPlatform();
    await createTenant(platform, 'acme');
    await createTenant(platform, 'globex');
    const batch = [envelope('acme', 'ev_a1', 5), envelope('acme', 'ev_a2', 90, 30), envelope('globex', 'ev_g1', 5)];
    await new StreamProcessing(platform).processBatch(batch.map((e, i) => ({ id: String(i), data: Buffer.from(JSON.stringify(e)) })));
  });

  it('R-ING-1: getEvent decrypts the tenant’s own event', async () => {
    const view = await (await queriesFor('acme')).getEvent('ev_a1');

    expect(view).toMatchObject({ eventId: 'ev_a1', kind: 'api_call', name: 'GET /a', event: { properties: { note: 'acme only' } } });
  });

  it('R-ING-7: a name or an id no key can hold is answered 400 / 404 without asking the store (DynamoDB would refuse the key)', async () => {
    const acme = await queriesFor('acme');
    const getEvent = jest.spyOn(platform.store, 'getEvent');
    const queryEvents = jest.spyOn(platform.store, 'queryEvents');

    await expect(acme.listEvents({ kind: 'api_call', name: '€'.repeat(700) })).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    await expect(acme.getEvent(`ev_${'a'.repeat(KEY_BYTE_BOUNDS.eventId)}`)).rejects.toMatchObject({ code: 'not_found', status: 404 });
    expect([getEvent.mock.calls.length, queryEvents.mock.calls.length]).toEqual([0, 0]);
    await expect(acme.listEvents({ kind: 'api_call', name: 'GET /a' })).resolves.toMatchObject({ items: [{ eventId: 'ev_a1' }, { eventId: 'ev_a2' }] });
    getEvent.mockRestore();
    queryEvents.mockRestore();
  });

  it('issue 10, R-SEC-4: a cursor is signed and bound to its query: altered, of another query or of another tenant → 400 before the store is asked; its twin resumes', async () => {
    const acme = await queriesFor('acme');
    const first = await acme.listEvents({ kind: 'api_call', limit: 1 });
    const cursor = first.cursor!;
    expect(cursor).toBeDefined();
    const queryEvents = jest.spyOn(platform.store, 'queryEvents');
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

    for (const [params, queries] of [
      [{ kind: 'api_call', limit: 1, cursor: flip(cursor, 2) }, acme],
      [{ kind: 'api_call', limit: 1, cursor: flip(cursor, cursor.length - 2) }, acme],
      [{ kind: 'api_call', limit: 1, cursor: cursor.slice(0, cursor.lastIndexOf('.')) }, acme],
      [{ kind: 'api_call', limit: 1, from: '2026-01-01T00:00:00Z', cursor }, acme],
      [{ kind: 'api_call', name: 'GET /a', limit: 1, cursor }, acme],
      [{ kind: 'api_call', limit: 1, cursor }, await queriesFor('globex')],
    ] as const) {
      await expect(queries.listEvents(params)).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    }
    expect(queryEvents).not.toHaveBeenCalled();
    queryEvents.mockRestore();

    const next = await acme.listEvents({ kind: 'api_call', limit: 1, cursor });
    expect([...first.items, ...next.items].map((e) => e.eventId)).toEqual(['ev_a1', 'ev_a2']);
  });

  it('R-SEC-4: getEvent of another tenant’s id → not_found, and its "own id" twin works', async () => {
    const globex = await queriesFor('globex');

    await expect(globex.getEvent('ev_a1')).rejects.toMatchObject({ code: 'not_found', status: 404 });
    await expect(globex.getEvent('ev_g1')).resolves.toMatchObject({ eventId: 'ev_g1' });
  });

  it('R-SEC-4: a query object built for tenant A cannot open B’s ciphertext even if handed B’s item', async () => {
    const globexItem = (await platform.store.getEvent('globex', 'ev_g1'))!;
    const acme = await queriesFor('acme');
    // A store bug (or a forged key) hands tenant B's item to a read made for A.
    jest.spyOn(platform.store, 'getEvent').mockResolvedValueOnce(globexItem);

    await expect(acme.getEvent('ev_g1')).rejects.toThrow();
    await expect(acme.getEvent('ev_a1')).resolves.toBeDefined();
  });

  it('R-ING-1: listEvents filters by time and pages with a cursor', async () => {
    const acme = await queriesFor('acme');

    const recent = await acme.listEvents({ from: minutesAgo(60) });
    const first = await acme.listEvents({ limit: '1' });
    const second = await acme.listEvents({ limit: '1', cursor: first.cursor });

    expect(recent.items.map((e) => e.eventId)).toEqual(['ev_a1']);
    expect([...first.items, ...second.items].map((e) => e.eventId)).toEqual(['ev_a1', 'ev_a2']);
    expect(second.cursor).toBeUndefined();
  });

  it('R-ING-3: rollups default to the last hour', async () => {
    const { items } = await (await queriesFor('acme')).rollups({}, NOW);

    expect(items.map((r) => [r.series, r.count])).toEqual([['api:GET /a', 1]]);
  });

  it.each([
    [{ name: 'GET /a' }, 'name needs kind'],
    [{ limit: 101 }, 'limit'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
  ])('listEvents(%j) → invalid_request', async (params, hint) => {
    await expect((await queriesFor('acme')).listEvents(params)).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(new RegExp(hint, 'i')) });
  });

  it('rollups refuse a window that runs backwards or spans more than 7 days', async () => {
    const acme = await queriesFor('acme');

    await expect(acme.rollups({ from: minutesAgo(1), to: minutesAgo(2) }, NOW)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(acme.rollups({ from: '2026-01-01T00:00:00Z', to: '2026-01-09T00:00:00Z' }, NOW)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
