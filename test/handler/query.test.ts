/**
 * GET /v1/events, /v1/events/{eventId} and /v1/rollups through the query handler, over events that went the
 * whole way: ingest handler → stream → processor handler (R-ING-1, R-ING-3, R-SEC-4).
 */
import type { EventView } from '../../lambdas/domain/queries';
import type { RollupSummary } from '../../lambdas/domain/rollups';
import {
  apiRequest,
  bearer,
  bodyOf,
  expectErrorAnswer,
  ingestAndProcess,
  NOW,
  removeKeyDirectories,
  tenantWithKey,
  testPlatform,
  type TestPlatform,
} from './fixtures';

afterAll(removeKeyDirectories);

const minutesAfter = (minutes: number) => new Date(NOW.getTime() - 3_600_000 + minutes * 60_000).toISOString();
const call = (minute: number, latencyMs: number, status = 200) => ({
  type: 'api_call',
  method: 'GET',
  route: '/users/:id',
  status,
  latencyMs,
  timestamp: minutesAfter(minute),
  payload: { email: 'ann@example.com' },
});
const signup = (minute: number) => ({ type: 'event', name: 'signup', timestamp: minutesAfter(minute), properties: { plan: 'pro' } });
const checkout = (minute: number) => ({ type: 'event', name: 'checkout', timestamp: minutesAfter(minute), properties: {} });

type Page = { items: EventView[]; cursor?: string };

describe('query handler', () => {
  let platform: TestPlatform;
  let acmeKey: string;
  let globexKey: string;
  let acmeIds: string[];
  const get = (apiKey: string, resource: string, options: { query?: Record<string, string>; pathParameters?: Record<string, string> } = {}) =>
    platform.query(apiRequest('GET', resource, { ...options, headers: bearer(apiKey) }));

  beforeAll(async () => {
    platform = testPlatform();
    acmeKey = await tenantWithKey(platform, 'acme');
    globexKey = await tenantWithKey(platform, 'globex');
    acmeIds = await ingestAndProcess(platform, acmeKey, [
      signup(1),
      signup(2),
      checkout(3),
      call(10, 100),
      call(10, 200),
      call(10, 300),
      call(10, 400, 500),
      signup(20),
    ]);
    await ingestAndProcess(platform, globexKey, [signup(5)]);
  });

  it('R-ING-3: lists a tenant’s events of one kind and name, newest first, decrypted', async () => {
    const answer = await get(acmeKey, '/v1/events', { query: { kind: 'event', name: 'signup' } });

    expect(answer.statusCode).toBe(200);
    const { items } = bodyOf<Page>(answer);
    expect(items.map((e) => e.timestamp)).toEqual([minutesAfter(20), minutesAfter(2), minutesAfter(1)]);
    expect(items[0].event).toEqual(expect.objectContaining({ type: 'event', name: 'signup', properties: { plan: 'pro' } }));
  });

  it('R-ING-1: lists by kind within a time range', async () => {
    const answer = await get(acmeKey, '/v1/events', { query: { kind: 'event', from: minutesAfter(2), to: minutesAfter(3) } });

    expect(bodyOf<Page>(answer).items.map((e) => e.name)).toEqual(['checkout', 'signup']);
  });

  it('R-ING-1: pages through every event with a cursor, each exactly once', async () => {
    // Act
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await get(acmeKey, '/v1/events', { query: { limit: '3', ...(cursor ? { cursor } : {}) } });
      const page = bodyOf<Page>(answer);
      seen.push(...page.items.map((e) => e.eventId));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 10);

    // Assess
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...acmeIds].sort());
  });

  it('R-ING-1: gets one event by id, with its index attributes', async () => {
    const id = acmeIds[3];

    const answer = await get(acmeKey, '/v1/events/{eventId}', { pathParameters: { eventId: id } });

    expect(answer.statusCode).toBe(200);
    expect(bodyOf<EventView>(answer)).toMatchObject({
      eventId: id,
      kind: 'api_call',
      name: 'GET /users/:id',
      attributes: { status: 200, latencyMs: 100 },
      event: { payload: { email: 'ann@example.com' } },
    });
  });

  it('R-ING-3: rollups give counts, error rates and latency percentiles per minute and series', async () => {
    const answer = await get(acmeKey, '/v1/rollups', { query: { series: 'api:GET /users/:id' } });

    const { items } = bodyOf<{ items: RollupSummary[] }>(answer);
    expect(items).toHaveLength(1);
    const [rollup] = items;
    expect(rollup).toMatchObject({ minute: minutesAfter(10).slice(0, 16) + 'Z', count: 4, errorRate: 0.25, avgLatencyMs: 250 });
    // Nearest rank over 100, 200, 300, 400 within the sketch's 2%.
    expect(rollup.p50).toBeGreaterThan(196);
    expect(rollup.p50).toBeLessThan(204);
    expect(rollup.p99).toBeGreaterThan(392);
    expect(rollup.p99).toBeLessThan(408);
  });

  it('R-SEC-4: tenant B’s key gets 404 for A’s event id', async () => {
    const answer = await get(globexKey, '/v1/events/{eventId}', { pathParameters: { eventId: acmeIds[0] } });

    expectErrorAnswer(answer, 404, 'not_found');
  });

  it('R-SEC-4 twin: tenant A’s key gets its own event', async () => {
    const answer = await get(acmeKey, '/v1/events/{eventId}', { pathParameters: { eventId: acmeIds[0] } });

    expect(answer.statusCode).toBe(200);
  });

  it('R-SEC-4: tenant B’s lists and rollups hold none of A’s events, and A’s hold none of B’s', async () => {
    const globexList = bodyOf<Page>(await get(globexKey, '/v1/events', { query: { limit: '100' } }));
    const acmeList = bodyOf<Page>(await get(acmeKey, '/v1/events', { query: { limit: '100' } }));
    const globexRollups = bodyOf<{ items: RollupSummary[] }>(await get(globexKey, '/v1/rollups'));

    expect(globexList.items).toHaveLength(1);
    expect(globexList.items.map((e) => e.eventId)).not.toEqual(expect.arrayContaining([acmeIds[0]]));
    expect(acmeList.items.map((e) => e.eventId).sort()).toEqual([...acmeIds].sort());
    expect(globexRollups.items.map((r) => [r.series, r.count])).toEqual([['event:signup', 1]]);
  });

  it('R-SEC-4: a cursor taken from tenant A’s pages is refused for tenant B', async () => {
    const { cursor } = bodyOf<Page>(await get(acmeKey, '/v1/events', { query: { kind: 'event', limit: '1' } }));

    const answer = await get(globexKey, '/v1/events', { query: { kind: 'event', limit: '1', cursor: cursor! } });

    expectErrorAnswer(answer, 400, 'invalid_request');
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ kind: 'trace' }, 'kind'],
    [{ from: 'yesterday' }, 'from'],
    [{ tenantId: 'globex' }, ''],
  ])('invalid query parameters %j → 400 invalid_request', async (query, path) => {
    const answer = await get(acmeKey, '/v1/events', { query });

    const error = expectErrorAnswer(answer, 400, 'invalid_request');
    expect(error.details?.[0].path).toBe(path);
  });

  it('a name without a kind, or a rollup window over 7 days → 400 invalid_request', async () => {
    const byName = await get(acmeKey, '/v1/events', { query: { name: 'signup' } });
    const longWindow = await get(acmeKey, '/v1/rollups', { query: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' } });

    expectErrorAnswer(byName, 400, 'invalid_request');
    expectErrorAnswer(longWindow, 400, 'invalid_request');
  });

  it('no API key → 401 missing_api_key; no data is read', async () => {
    const answer = await platform.query(apiRequest('GET', '/v1/events'));

    expectErrorAnswer(answer, 401, 'missing_api_key');
  });
});
