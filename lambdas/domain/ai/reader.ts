/** The tools' reads for one tenant (R-AI-2): its tenant-scoped read adapters and its own AI items, nothing else. */
import type { Tenant } from '../model';
import type { EventQuery, EventStore } from '../ports';
import { TenantQueries, type TenantReadDeps } from '../queries';
import type { AiStore } from './ports';
import type { TenantToolReader } from './tools';

export function tenantToolReader(tenant: Tenant, reads: TenantReadDeps, store: Pick<AiStore, 'listInsights'>): TenantToolReader {
  // R-DSR-2: the read route's query, with the subject hashes of the records it returns noted on the way.
  const seen = new Set<string>();
  const recording: EventStore = Object.create(reads.store, {
    queryEvents: {
      value: async (query: EventQuery) => {
        const page = await reads.store.queryEvents(query);
        for (const event of page.items) for (const subject of event.subjects) seen.add(subject);
        return page;
      },
    },
  });
  const queries = new TenantQueries(tenant, { ...reads, store: recording });
  return {
    rollups: (fromMinute, toMinute, series) => reads.store.queryRollups(tenant.tenantId, fromMinute, toMinute, series),
    events: async (query) => (await queries.listEvents(query)).items,
    insights: (limit) => store.listInsights(tenant.tenantId, limit),
    subjectsSeen: () => [...seen],
  };
}
