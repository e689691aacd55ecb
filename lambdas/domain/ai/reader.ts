/** The tools' reads for one tenant (R-AI-2): its tenant-scoped read adapters and its own AI items, nothing else. */
import type { Tenant } from '../model';
import { TenantQueries, type TenantReadDeps } from '../queries';
import type { AiStore } from './ports';
import type { TenantToolReader } from './tools';

export function tenantToolReader(tenant: Tenant, reads: TenantReadDeps, store: Pick<AiStore, 'listInsights'>): TenantToolReader {
  const queries = new TenantQueries(tenant, reads);
  return {
    rollups: (fromMinute, toMinute, series) => reads.store.queryRollups(tenant.tenantId, fromMinute, toMinute, series),
    events: async (query) => (await queries.listEvents(query)).items,
    insights: (limit) => store.listInsights(tenant.tenantId, limit),
  };
}
