/**
 * Issue 11 (R-DSR-2, R-TERM-4): identifiers never reach clear metadata. Routes are templated segment by segment and
 * names have identifier-shaped parts replaced, in the event's name, index attributes and rollup series, so nothing of
 * a subject survives erasure or shredding in rollups; the encrypted body keeps the route as sent.
 */
import fc from 'fast-check';
import { clearQueryName, clearQuerySeries, templateName, templateRoute, templateSegment } from '../../lambdas/domain/clear-metadata';
import { utf8Bytes } from '../../lambdas/domain/aws-limits';
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import type { PlatformEvent } from '../../lambdas/domain/model';
import { TenantQueries } from '../../lambdas/domain/queries';
import { createTenant, NOW, privacyWorld, removePrivacyKeyDirectories, storeEvents } from './privacy-fixture';

afterAll(removePrivacyKeyDirectories);

describe('templateSegment / templateRoute', () => {
  it.each([
    ['/users/ann@example.com', '/users/:email'],
    ['/users/ann%40example.com/orders', '/users/:email/orders'],
    ['/orders/1234/items/7', '/orders/:id/items/:id'],
    ['/things/3f2b8c1e-9a4d-4e7b-8c1d-2a3b4c5d6e7f', '/things/:id'],
    ['/commits/6113728f27ae82c7b1a177c8d03f9e96e0adf246', '/commits/:id'],
    ['/objects/507f1f77bcf86cd799439011', '/objects/:id'],
    ['/v1/customers/cus_RzQ8xJ3kLm2Np4', '/v1/customers/:id'],
    ['/sessions/01HZX3K8Q9V7M2N4P6R8T0W2Y4', '/sessions/:id'],
    ['/reset/eyJhbGciOiJIUzI1NiJ9abc123', '/reset/:id'],
    ['/callers/+14155550100', '/callers/:phone'],
    ['/search?email=ann@example.com&q=x', '/search'],
    ['/a;jsessionid=ABC123#frag', '/a'],
    ['/users/:id/orders/{orderId}', '/users/:id/orders/{orderId}'],
    ['/v1/api2/oauth2callback/health', '/v1/api2/oauth2callback/health'],
    ['/', '/'],
  ])('%s → %s', (route, expected) => {
    expect(templateRoute(route)).toBe(expected);
  });

  it('never lets an e-mail, a UUID or a number of 2+ digits through, wherever it is planted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 4 }),
        fc.oneof(fc.emailAddress(), fc.uuid(), fc.integer({ min: 10, max: 2 ** 40 }).map(String)),
        fc.nat(4),
        (words, identifier, position) => {
          const segments = [...words];
          segments.splice(Math.min(position, segments.length), 0, encodeURIComponent(identifier));
          const templated = templateRoute(`/${segments.join('/')}`);
          expect(templated).not.toContain(identifier);
          expect(templated.split('/').filter((s) => s.startsWith(':'))).toHaveLength(1);
        },
      ),
    );
  });

  it('stays within the route key bound when templating lengthens a route (`/1` → `/:id`)', () => {
    const route = '/1'.repeat(KEY_BYTE_BOUNDS.route / 2);
    expect(utf8Bytes(route)).toBeLessThanOrEqual(KEY_BYTE_BOUNDS.route);
    expect(utf8Bytes(templateRoute(route, KEY_BYTE_BOUNDS.route))).toBeLessThanOrEqual(KEY_BYTE_BOUNDS.route);
  });

  it('keeps plain words', () => {
    expect(templateSegment('orders')).toBe('orders');
    expect(templateSegment('v2')).toBe('v2');
  });
});

describe('templateName / clearQueryName', () => {
  it('replaces e-mails, UUIDs and long numbers inside free-text names', () => {
    expect(templateName('welcome sent to Ann@Example.com')).toBe('welcome sent to :email');
    expect(templateName('order 12345678 paid')).toBe('order :id paid');
    expect(templateName('job 3f2b8c1e-9a4d-4e7b-8c1d-2a3b4c5d6e7f done')).toBe('job :id done');
    expect(templateName('checkout.completed')).toBe('checkout.completed');
  });

  it('asks for an API call name in its stored form', () => {
    expect(clearQueryName('api_call', 'GET /users/ann@example.com')).toBe('GET /users/:email');
    expect(clearQueryName('event', 'mail to ann@example.com')).toBe('mail to :email');
  });

  it('asks for a rollup series in its stored form; a webhook series (by source id) as asked', () => {
    expect(clearQuerySeries('event:dup-8e791955')).toBe('event:dup-8e:id');
    expect(clearQuerySeries('metric:queue.98765432.depth')).toBe('metric:queue.:id.depth');
    expect(clearQuerySeries('api:GET /users/ann@example.com/orders/98765')).toBe('api:GET /users/:email/orders/:id');
    expect(clearQuerySeries('webhook:stripe-1234567')).toBe('webhook:stripe-1234567');
    expect(clearQuerySeries('event:signup')).toBe('event:signup');
  });
});

describe('the processor keeps identifiers out of every clear attribute, the body keeps the route as sent', () => {
  it('stores the templated name, route and rollup series; the API finds it by either name and shows the original', async () => {
    // Prepare
    const world = privacyWorld();
    await createTenant(world, 'acme');
    const events: PlatformEvent[] = [
      { type: 'api_call', method: 'GET', route: '/users/ann@example.com/orders/98765?token=s3cr3t', status: 200, latencyMs: 5, timestamp: NOW.toISOString(), properties: {} },
      { type: 'event', name: 'invite ann@example.com', timestamp: NOW.toISOString(), properties: {} },
      { type: 'metric', name: 'queue.98765432.depth', value: 3, dimensions: {}, timestamp: NOW.toISOString() },
    ];

    // Act
    const [callId] = await storeEvents(world, 'acme', events);

    // Assess: raw items, every attribute of every item.
    const raw = JSON.stringify([...world.store.items.values()]);
    for (const secret of ['ann@example.com', '98765', 's3cr3t']) expect(raw).not.toContain(secret);
    const series = [...world.store.items.values()].filter((i) => typeof i.series === 'string').map((i) => i.series).sort();
    expect(series).toEqual(['api:GET /users/:email/orders/:id', 'event:invite :email', 'metric:queue.:id.depth']);
    const tenant = (await world.directory.getTenant('acme'))!;
    const reads = new TenantQueries(tenant, world);
    for (const name of ['GET /users/:email/orders/:id', 'GET /users/ann@example.com/orders/98765']) {
      const page = await reads.listEvents({ kind: 'api_call', name });
      expect(page.items.map((i) => [i.eventId, i.name, i.attributes.route, (i.event as { route: string }).route])).toEqual([
        [callId, 'GET /users/:email/orders/:id', '/users/:email/orders/:id', '/users/ann@example.com/orders/98765?token=s3cr3t'],
      ]);
    }
    // The rollups are found by the series as sent, too (the local-platform test once asked for `event:dup-8e791955`).
    for (const [asked, stored] of [
      ['metric:queue.98765432.depth', 'metric:queue.:id.depth'],
      ['api:GET /users/ann@example.com/orders/98765', 'api:GET /users/:email/orders/:id'],
    ]) {
      expect((await reads.rollups({ series: asked, from: new Date(NOW.getTime() - 60_000).toISOString(), to: NOW.toISOString() }, NOW)).items.map((r) => r.series)).toEqual([stored]);
    }
  });
});
