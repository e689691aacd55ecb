/**
 * The one place that turns a credential into a TenantContext (R-SEC-4). The tenant id comes only from a
 * verified credential (API key hash, webhook signature, operator IAM identity), never from a body or a query
 * string: no route of an API key takes a tenant id at all.
 */
import { apiKeyFromHeaders, assertScope, hashApiKey } from '../domain/api-keys';
import { DomainError, type ApiKeyScope, type Tenant, type TenantContext } from '../domain/model';
import type { ApiKeyRecord, TenantDirectory } from '../domain/ports';
import { assertTenantActive } from '../domain/tenants';

export interface AuthenticatedTenant {
  readonly context: TenantContext;
  readonly tenant: Tenant;
}

/**
 * Positive API-key lookups are cached briefly per container so a burst of requests costs one read;
 * a revoked key stops working within this many milliseconds.
 */
export const API_KEY_CACHE_MS = 10_000;

export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { record: ApiKeyRecord; until: number }>();

  constructor(
    private readonly directory: TenantDirectory,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * R-SEC-5: `scope` is what the route needs (its `scope` in lambdas/shared/routes.ts); a valid key without it
   * answers 403 insufficient_scope, before the tenant is even read.
   */
  async authenticate(headers: Readonly<Record<string, string | undefined>>, scope: ApiKeyScope): Promise<AuthenticatedTenant> {
    const keyHash = hashApiKey(apiKeyFromHeaders(headers));
    const record = await this.lookup(keyHash);
    if (!record || record.status !== 'active') throw new DomainError('invalid_api_key', 'Unknown or revoked API key', 401);
    assertScope(record, scope);
    const tenant = await this.directory.getTenant(record.tenantId);
    if (!tenant) throw new DomainError('invalid_api_key', 'Unknown or revoked API key', 401);
    assertTenantActive(tenant);
    return { tenant, context: { tenantId: tenant.tenantId, credential: { type: 'api-key', id: record.keyId } } };
  }

  private async lookup(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const cached = this.cache.get(keyHash);
    if (cached && cached.until > this.now()) return cached.record;
    const record = await this.directory.findApiKeyByHash(keyHash);
    if (record?.status === 'active') this.cache.set(keyHash, { record, until: this.now() + API_KEY_CACHE_MS });
    else this.cache.delete(keyHash);
    return record;
  }
}
