import type { ApiKeyRecord, DeliveryRecord } from '../../lambdas/domain/ports';
import { tenant } from './fixtures';
import { describeAdapters, testClock } from './harness';

const apiKey = (tenantId: string, keyId: string): ApiKeyRecord => ({ tenantId, keyId, status: 'active', createdAt: '2026-03-01T00:00:00.000Z' });
const nowSeconds = () => Math.floor(testClock.now().getTime() / 1000);
const delivery = (deliveryId: string, fingerprint: string): DeliveryRecord => ({
  tenantId: 'dlv-a',
  sourceId: 'stripe',
  deliveryId,
  fingerprint,
  expiresAtEpochSeconds: nowSeconds() + 600,
});

describeAdapters('TenantDirectory', (ctx) => {

  it('stores a tenant, refuses to create it twice, and updates its status', async () => {
    const acme = tenant('acme', { retentionDays: 60, subjectPaths: [{ kind: 'email', path: '$.user.email' }] });
    await ctx.adapters.directory.putTenant(acme, { mustNotExist: true });

    await expect(ctx.adapters.directory.putTenant(acme, { mustNotExist: true })).rejects.toMatchObject({ code: 'conflict' });
    expect(await ctx.adapters.directory.getTenant('acme')).toEqual(acme);

    await ctx.adapters.directory.setTenantStatus('acme', 'frozen');
    expect((await ctx.adapters.directory.getTenant('acme'))?.status).toBe('frozen');
    await expect(ctx.adapters.directory.setTenantStatus('nobody', 'frozen')).rejects.toMatchObject({ code: 'not_found' });
    expect(await ctx.adapters.directory.getTenant('nobody')).toBeUndefined();
  });

  it('R-SEC-3: finds API keys by hash only, lists them per tenant, and revokes them once', async () => {
    await ctx.adapters.directory.putApiKey('hash-1', apiKey('keys-a', 'k1'));
    await ctx.adapters.directory.putApiKey('hash-2', apiKey('keys-a', 'k2'));
    await ctx.adapters.directory.putApiKey('hash-3', apiKey('keys-b', 'k3'));

    expect(await ctx.adapters.directory.findApiKeyByHash('hash-2')).toEqual(apiKey('keys-a', 'k2'));
    expect(await ctx.adapters.directory.findApiKeyByHash('hash-9')).toBeUndefined();
    expect(await ctx.adapters.directory.listApiKeys('keys-a')).toEqual([apiKey('keys-a', 'k1'), apiKey('keys-a', 'k2')]);

    expect(await ctx.adapters.directory.revokeApiKey('keys-b', 'k1', '2026-03-02T00:00:00.000Z')).toBe(false);
    expect(await ctx.adapters.directory.revokeApiKey('keys-a', 'k1', '2026-03-02T00:00:00.000Z')).toBe(true);
    expect(await ctx.adapters.directory.revokeApiKey('keys-a', 'k1', '2026-03-03T00:00:00.000Z')).toBe(false);
    expect(await ctx.adapters.directory.findApiKeyByHash('hash-1')).toMatchObject({ status: 'revoked', revokedAt: '2026-03-02T00:00:00.000Z' });
    expect((await ctx.adapters.directory.listApiKeys('keys-a')).map((k) => k.status)).toEqual(['revoked', 'active']);
  });

  it('stores webhook sources per tenant', async () => {
    const source = { tenantId: 'src-a', sourceId: 'stripe', scheme: 'stripe' as const, secretCiphertexts: ['c2VjcmV0'], createdAt: '2026-03-01T00:00:00.000Z' };
    await ctx.adapters.directory.putWebhookSource(source);

    expect(await ctx.adapters.directory.getWebhookSource('src-a', 'stripe')).toEqual(source);
    expect(await ctx.adapters.directory.getWebhookSource('src-b', 'stripe')).toBeUndefined();
  });

  it('R-ING-7: tells a new delivery from a re-signed retry and from a replay', async () => {
    expect(await ctx.adapters.directory.recordDelivery(delivery('d1', 'sig-a'))).toBe('new');
    expect(await ctx.adapters.directory.recordDelivery(delivery('d1', 'sig-a'))).toBe('replay');
    expect(await ctx.adapters.directory.recordDelivery(delivery('d1', 'sig-b'))).toBe('retry');
    expect(await ctx.adapters.directory.recordDelivery({ ...delivery('d1', 'sig-a'), sourceId: 'github' })).toBe('new');
  });

  it('R-ING-7: a forgotten delivery is new again, so the sender retry is accepted', async () => {
    await ctx.adapters.directory.recordDelivery(delivery('d2', 'sig-a'));

    await ctx.adapters.directory.forgetDelivery('dlv-a', 'stripe', 'd2');

    expect(await ctx.adapters.directory.recordDelivery(delivery('d2', 'sig-a'))).toBe('new');
  });

  it('R-ING-2: an expired delivery marker counts as absent even before TTL removes it', async () => {
    await ctx.adapters.directory.recordDelivery({ ...delivery('d3', 'sig-a'), expiresAtEpochSeconds: nowSeconds() + 10 });
    expect(await ctx.adapters.directory.recordDelivery(delivery('d3', 'sig-a'))).toBe('replay');
    const before = testClock.at;
    testClock.at = new Date(before.getTime() + 11_000);
    try {
      expect(await ctx.adapters.directory.recordDelivery(delivery('d3', 'sig-a'))).toBe('new');
    } finally {
      testClock.at = before;
    }
  });

  it('R-TERM-3: purgeTenant deletes API keys (hash lookups too), sources and their delivery markers, and keeps the tombstone', async () => {
    const seed = async (tenantId: string) => {
      await ctx.adapters.directory.putTenant(tenant(tenantId));
      await ctx.adapters.directory.putApiKey(`${tenantId}-hash-1`, apiKey(tenantId, 'k1'));
      await ctx.adapters.directory.putApiKey(`${tenantId}-hash-2`, apiKey(tenantId, 'k2'));
      const source = { tenantId, sourceId: 'stripe', scheme: 'stripe' as const, secretCiphertexts: ['c2VjcmV0'], createdAt: '2026-03-01T00:00:00.000Z' };
      await ctx.adapters.directory.putWebhookSource(source);
      for (const id of ['d1', 'd2']) {
        await ctx.adapters.directory.recordDelivery({ ...delivery(id, 'sig'), tenantId });
      }
    };
    await seed('purge-a');
    await seed('purge-b');
    await ctx.adapters.requests.putTermination({
      tenantId: 'purge-a',
      terminationId: 'term_1',
      election: 'immediate',
      requestedBy: 'operator:x',
      requestedAt: '2026-03-01T00:00:00.000Z',
      status: 'running',
      steps: [],
    });

    // Two items per API key (list entry, hash lookup), one source, two delivery markers.
    expect(await ctx.adapters.directory.purgeTenant('purge-a')).toBe(7);

    expect(await ctx.adapters.directory.findApiKeyByHash('purge-a-hash-1')).toBeUndefined();
    expect(await ctx.adapters.directory.listApiKeys('purge-a')).toEqual([]);
    expect(await ctx.adapters.directory.getWebhookSource('purge-a', 'stripe')).toBeUndefined();
    expect(await ctx.adapters.directory.recordDelivery({ ...delivery('d1', 'sig'), tenantId: 'purge-a' })).toBe('new');
    expect(await ctx.adapters.directory.getTenant('purge-a')).toEqual(tenant('purge-a'));
    expect(await ctx.adapters.requests.getTermination('purge-a')).toMatchObject({ terminationId: 'term_1' });
    // The twin: the other tenant keeps everything.
    expect(await ctx.adapters.directory.findApiKeyByHash('purge-b-hash-1')).toEqual(apiKey('purge-b', 'k1'));
    expect(await ctx.adapters.directory.listApiKeys('purge-b')).toHaveLength(2);
    expect(await ctx.adapters.directory.getWebhookSource('purge-b', 'stripe')).toBeDefined();
    expect(await ctx.adapters.directory.recordDelivery({ ...delivery('d1', 'sig'), tenantId: 'purge-b' })).toBe('replay');
    // Nothing left to purge: a retried purge succeeds and deletes nothing more.
    expect(await ctx.adapters.directory.purgeTenant('purge-a')).toBe(0);
  });
});
