/** The tools' reads for one tenant (R-AI-2): its tenant-scoped read adapters and its own AI items, nothing else. */
import { allowsPurpose, forPurpose, NO_OBJECTIONS, type ConsentFlags } from '../consent';
import { DomainError, type Tenant } from '../model';
import type { EventQuery, EventStore } from '../ports';
import { TenantQueries, type TenantReadDeps } from '../queries';
import type { AiStore } from './ports';
import type { TenantToolReader } from './tools';

/**
 * R-DSR-4, R-AI-4: a tenant that turned the `ai` purpose off for itself is answered 403 `ai_objected` before any
 * provider call (conversations can still be read, listed and erased).
 */
export function assertAiAllowed(flags: ConsentFlags): void {
  if (!allowsPurpose(flags, 'ai', [])) {
    throw new DomainError('ai_objected', 'This tenant has objected to AI processing (consent flag ai: false); nothing is sent to the AI provider', 403);
  }
}

export function tenantToolReader(tenant: Tenant, reads: TenantReadDeps, store: Pick<AiStore, 'listInsights'>, flags: ConsentFlags = NO_OBJECTIONS): TenantToolReader {
  // R-DSR-2: the read route's query, with the subject hashes of the records it returns noted on the way.
  // R-DSR-4, R-AI-4, R-DSR-3: records of a subject that objected to `ai` (and quarantined ones) are dropped here,
  // before any tool sees them: they never reach a tool result, the provider, or the conversation's subjects.
  const seen = new Set<string>();
  const recording: EventStore = Object.create(reads.store, {
    queryEvents: {
      value: async (query: EventQuery) => {
        const page = await reads.store.queryEvents(query);
        const items = forPurpose(flags, 'ai', page.items);
        for (const event of items) for (const subject of event.subjects) seen.add(subject);
        return { ...page, items };
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
