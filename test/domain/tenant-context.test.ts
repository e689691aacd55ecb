/**
 * The one place that turns a credential into a TenantContext (R-SEC-4): the tenant comes from the key's record,
 * a revoked key stops working within API_KEY_CACHE_MS, a frozen tenant can neither ingest nor read (R-TERM-1).
 */
import { MemoryTenantDirectory } from '../../lambdas/adapters/memory';
import { issueApiKey } from '../../lambdas/domain/api-keys';
import type { Tenant } from '../../lambdas/domain/model';
import { assertTenantActive } from '../../lambdas/domain/tenants';
import { API_KEY_CACHE_MS, ApiKeyAuthenticator } from '../../lambdas/shared/tenant-context';

const NOW = new Date('2026-03-02T10:00:00.000Z');

const tenant = (tenantId: string, status: Tenant['status'] = 'active'): Tenant => ({
  tenantId,
  name: tenantId,
  plan: 'starter',
  status,
  keyRef: `local:${tenantId}`,
  subjectKeyCiphertext: 'eA==',
  createdAt: NOW.toISOString(),
});

describe('ApiKeyAuthenticator', () => {
  let directory: MemoryTenantDirectory;
  let now: number;
  let auth: ApiKeyAuthenticator;
  const withKey = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });

  async function keyFor(tenantId: string): Promise<{ keyId: string; apiKey: string }> {
    const issued = issueApiKey(NOW);
    await directory.putApiKey(issued.keyHash, { tenantId, keyId: issued.keyId, status: 'active', createdAt: NOW.toISOString() });
    return issued;
  }

  beforeEach(async () => {
    directory = new MemoryTenantDirectory();
    await directory.putTenant(tenant('acme'));
    await directory.putTenant(tenant('globex'));
    now = NOW.getTime();
    auth = new ApiKeyAuthenticator(directory, () => now);
  });

  it('R-SEC-4: the context’s tenant is the key record’s tenant, with the key id as credential', async () => {
    const { keyId, apiKey } = await keyFor('globex');

    const { context, tenant: resolved } = await auth.authenticate(withKey(apiKey), 'ingest');

    expect(context).toEqual({ tenantId: 'globex', credential: { type: 'api-key', id: keyId } });
    expect(resolved.tenantId).toBe('globex');
  });

  it('R-SEC-5: a key stored before scopes existed reads as ingest-only: it ingests, and reading answers 403 insufficient_scope', async () => {
    const { apiKey } = await keyFor('acme');

    await expect(auth.authenticate(withKey(apiKey), 'ingest')).resolves.toMatchObject({ context: { tenantId: 'acme' } });
    await expect(auth.authenticate(withKey(apiKey), 'read')).rejects.toMatchObject({ code: 'insufficient_scope', status: 403 });
    await expect(auth.authenticate(withKey(apiKey), 'privacy')).rejects.toMatchObject({ code: 'insufficient_scope', status: 403 });
  });

  it('R-SEC-5: a read key reads and cannot ingest', async () => {
    const issued = issueApiKey(NOW);
    await directory.putApiKey(issued.keyHash, { tenantId: 'acme', keyId: issued.keyId, status: 'active', scopes: ['read'], createdAt: NOW.toISOString() });

    await expect(auth.authenticate(withKey(issued.apiKey), 'read')).resolves.toMatchObject({ context: { tenantId: 'acme' } });
    await expect(auth.authenticate(withKey(issued.apiKey), 'ingest')).rejects.toMatchObject({ code: 'insufficient_scope', status: 403 });
  });

  it('R-SEC-4: a well-formed key that was never issued → invalid_api_key', async () => {
    const { apiKey } = issueApiKey(NOW);

    await expect(auth.authenticate(withKey(apiKey), 'ingest')).rejects.toMatchObject({ code: 'invalid_api_key', status: 401 });
  });

  it('caches a positive lookup: a burst of requests costs one directory read', async () => {
    const { apiKey } = await keyFor('acme');
    const reads = jest.spyOn(directory, 'findApiKeyByHash');

    for (let i = 0; i < 5; i++) await auth.authenticate(withKey(apiKey), 'ingest');

    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('R-SEC-3: a revoked key keeps working at most API_KEY_CACHE_MS, then is refused', async () => {
    // Prepare
    const { keyId, apiKey } = await keyFor('acme');
    await auth.authenticate(withKey(apiKey), 'ingest');
    await directory.revokeApiKey('acme', keyId, NOW.toISOString());

    // Act
    now += API_KEY_CACHE_MS - 1;
    const withinCache = await auth.authenticate(withKey(apiKey), 'ingest');
    now += 2;
    const afterCache = auth.authenticate(withKey(apiKey), 'ingest');

    // Assess
    expect(withinCache.context.tenantId).toBe('acme');
    await expect(afterCache).rejects.toMatchObject({ code: 'invalid_api_key' });
  });

  it('does not cache a miss: a key issued just after a failed attempt works at once', async () => {
    const issued = issueApiKey(NOW);
    await expect(auth.authenticate(withKey(issued.apiKey), 'ingest')).rejects.toMatchObject({ code: 'invalid_api_key' });

    await directory.putApiKey(issued.keyHash, { tenantId: 'acme', keyId: issued.keyId, status: 'active', createdAt: NOW.toISOString() });

    await expect(auth.authenticate(withKey(issued.apiKey), 'ingest')).resolves.toMatchObject({ context: { tenantId: 'acme' } });
  });

  it('R-TERM-1: a frozen tenant’s key → tenant_frozen (403), at once, even while the key is cached', async () => {
    const { apiKey } = await keyFor('acme');
    await auth.authenticate(withKey(apiKey), 'ingest');

    await directory.setTenantStatus('acme', 'frozen');

    await expect(auth.authenticate(withKey(apiKey), 'ingest')).rejects.toMatchObject({ code: 'tenant_frozen', status: 403 });
  });

  it('a key whose tenant no longer exists → invalid_api_key', async () => {
    const issued = issueApiKey(NOW);
    await directory.putApiKey(issued.keyHash, { tenantId: 'initech', keyId: issued.keyId, status: 'active', createdAt: NOW.toISOString() });

    await expect(auth.authenticate(withKey(issued.apiKey), 'ingest')).rejects.toMatchObject({ code: 'invalid_api_key' });
  });
});

describe('assertTenantActive', () => {
  it.each(['frozen', 'terminated'] as const)('R-TERM-1: a %s tenant → tenant_frozen; an active one passes', (status) => {
    expect(() => assertTenantActive(tenant('acme', status))).toThrow(expect.objectContaining({ code: 'tenant_frozen' }));
    expect(() => assertTenantActive(tenant('acme'))).not.toThrow();
  });
});
