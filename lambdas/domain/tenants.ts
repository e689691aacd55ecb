/**
 * The checks the domain makes of a tenant before it acts for it or on it: whether it may still ingest and read
 * (R-TERM-1), whether an operator route names a tenant that exists, and whether a credential acts for its own
 * tenant (R-SEC-4). lambdas/shared/tenant-context.ts turns credentials into tenants, and checks them with these.
 */
import { TENANT_ID_PATTERN } from './keys';
import { DomainError, type Tenant } from './model';
import type { TenantDirectory } from './ports';

/** R-TERM-1: a frozen or terminated tenant can neither ingest nor read. */
export function assertTenantActive(tenant: Tenant): void {
  if (tenant.status !== 'active') {
    throw new DomainError('tenant_frozen', `Tenant ${tenant.tenantId} is ${tenant.status}: ingestion and reads are closed`, 403);
  }
}

/** The tenant an operator route names; a malformed or unknown id is not_found (404) alike. */
export async function requireTenant(directory: Pick<TenantDirectory, 'getTenant'>, tenantId: string): Promise<Tenant> {
  const tenant = TENANT_ID_PATTERN.test(tenantId) ? await directory.getTenant(tenantId) : undefined;
  if (!tenant) throw new DomainError('not_found', `No tenant '${tenantId}'`, 404);
  return tenant;
}

