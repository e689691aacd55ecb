/**
 * Issue 12: bench section 8 seeds its 1M-event corpus straight into dynalite (dynalite-seed.ts). What it writes
 * must be what DynamoEventStore.putEvents writes through the API, items and index entries alike.
 */
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { eventWireItem, subjectWireItem } from '../../lambdas/adapters/event-items';
import type { StoredEvent } from '../../lambdas/domain/model';
import type { SubjectIndexEntry } from '../../lambdas/domain/ports';
import { startEmulators, type Emulators } from '../support/emulators';
import { DynaliteSeeder } from './dynalite-seed';

let emulators: Emulators;
let db: ReturnType<typeof createDocumentClient>;
let store: DynamoEventStore;
let seeder: DynaliteSeeder;
beforeAll(async () => {
  emulators = await startEmulators();
  db = createDocumentClient(emulators.clients);
  store = new DynamoEventStore(db, emulators.tables.tenantData);
  seeder = await DynaliteSeeder.open(emulators.dynamoStore, emulators.tables.tenantData);
});
afterAll(async () => {
  db.destroy();
  await emulators.close();
});

const event = (eventId: string, second: number): StoredEvent => ({
  tenantId: 'acme',
  eventId,
  kind: 'webhook',
  name: 'invoice.paid',
  timestamp: `2026-03-01T10:00:${String(second).padStart(2, '0')}.000Z`,
  receivedAt: `2026-03-01T10:00:${String(second).padStart(2, '0')}.500Z`,
  attributes: { source: 'src_1', amount: 4900 },
  body: { inline: 'Y2lwaGVydGV4dA==' },
  subjects: ['hash-a', 'hash-b'],
  expiresAt: 1_900_000_000,
});
const entries = (e: StoredEvent): SubjectIndexEntry[] => e.subjects.map((subjectHash) => ({ tenantId: e.tenantId, subjectHash, eventId: e.eventId, expiresAt: e.expiresAt }));
const items = (e: StoredEvent) => [eventWireItem(e), ...entries(e).map(subjectWireItem)];

describe('DynaliteSeeder (bench section 8)', () => {
  it('lays out an event, its GSI entries and its subject entries exactly as a put through the API does', async () => {
    const put = event('ev_put', 1);
    await store.putEvents([put], entries(put));

    expect(await seeder.sameAsPut(items(put))).toEqual([]);
    // The check can fail: another body, or an event never written, is not what the put left.
    expect(await seeder.sameAsPut(items({ ...put, body: { inline: 'b3RoZXI=' } }))).toHaveLength(1);
    expect(await seeder.sameAsPut(items(event('ev_never', 2)))).toHaveLength(5);
  });

  it('seeds events that read back through DynamoEventStore by id, from both event indexes and from the subject index', async () => {
    const seeded = [event('ev_seed1', 3), event('ev_seed2', 4)];
    await seeder.put(seeded.flatMap(items));

    expect(await store.getEvents('acme', ['ev_seed1', 'ev_seed2'])).toEqual(expect.arrayContaining(seeded));
    const byKind = await store.queryEvents({ tenantId: 'acme', kind: 'webhook', from: seeded[0].timestamp, to: seeded[0].timestamp, limit: 10 });
    expect(byKind.items).toEqual([seeded[0]]);
    const byName = await store.queryEvents({ tenantId: 'acme', kind: 'webhook', name: 'invoice.paid', from: seeded[1].timestamp, to: seeded[1].timestamp, limit: 10 });
    expect(byName.items).toEqual([seeded[1]]);
    expect((await store.subjectEventIds('acme', 'hash-a')).sort()).toEqual(['ev_put', 'ev_seed1', 'ev_seed2']);
  });

  it('counts the table items by partition key from the key space', async () => {
    const counts = await seeder.countItems((pk) => (pk.includes('#EV#') ? 'events' : pk.includes('#S#') ? 'subjects' : 'other'));

    expect(counts).toEqual({ events: 3, subjects: 6 });
  });
});
