/** Builders for adapter tests: plausible records with only what a test cares about spelled out. */
import type { EventKind, StoredEvent, Tenant } from '../../lambdas/domain/model';

export function storedEvent(tenantId: string, eventId: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    tenantId,
    eventId,
    kind: 'event' as EventKind,
    name: 'signup',
    timestamp: '2026-03-01T10:00:00.000Z',
    receivedAt: '2026-03-01T10:00:01.000Z',
    attributes: { plan: 'pro' },
    body: { inline: Buffer.from(`ciphertext of ${eventId}`).toString('base64') },
    subjects: [],
    expiresAt: 1_900_000_000,
    ...overrides,
  };
}

/** Events `ev_000`… one second apart from 10:00:00, so their time order is their number order. */
export function eventSeries(tenantId: string, count: number, overrides: Partial<StoredEvent> = {}): StoredEvent[] {
  return Array.from({ length: count }, (_, i) =>
    storedEvent(tenantId, `ev_${String(i).padStart(3, '0')}`, {
      timestamp: new Date(Date.UTC(2026, 2, 1, 10, 0, i)).toISOString(),
      ...overrides,
    }),
  );
}

export function tenant(tenantId: string, overrides: Partial<Tenant> = {}): Tenant {
  return {
    tenantId,
    name: `Tenant ${tenantId}`,
    plan: 'business',
    status: 'active',
    keyRef: `local:${tenantId}`,
    subjectKeyCiphertext: 'c3ViamVjdC1rZXk=',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}
