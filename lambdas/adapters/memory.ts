/**
 * In-memory adapters for handler unit tests and the benchmark. They keep the real adapters' semantics:
 * the same item layout and paging (event-items.ts), conditional writes, the same errors. Values are
 * copied in and out, as a round trip through a real store would.
 */
import { randomUUID } from 'node:crypto';
import { DomainError, type StoredEvent, type StreamEnvelope, type Tenant } from '../domain/model';
import type {
  ApiKeyRecord,
  AuditEntry,
  AuditLog,
  Clock,
  DeliveryRecord,
  EventPublisher,
  EventQuery,
  EventStore,
  Page,
  PayloadStore,
  Rollup,
  RollupDelta,
  SubjectIndexEntry,
  TenantDirectory,
  WebhookSource,
} from '../domain/ports';
import { SYSTEM_CLOCK } from '../domain/ports';
import { auditKeys, controlKeys, dataKeys } from '../shared/keys';
import { assertMonth, AUDIT_RETENTION_DAYS, auditEntryFromItem, auditItem } from './audit-items';
import {
  assertCounterNames,
  eventItem,
  eventKeys,
  pageEvents,
  rollupFromItem,
  sortKeyRange,
  storedEventFromItem,
  subjectItem,
  type Item,
  type ReadStream,
} from './event-items';
import { assertTenantObjectKey } from './tenant-object-key';

const copy = <T>(value: T): T => structuredClone(value);
const keyOf = (key: Item) => `${key.pk as string}\u0000${key.sk as string}`;

export class MemoryTenantDirectory implements TenantDirectory {
  readonly tenants = new Map<string, Tenant>();
  private readonly keysByHash = new Map<string, ApiKeyRecord>();
  /** The tenant's own list: keyId -> hash, as the Control table's list entries keep it. */
  private readonly keyHashes = new Map<string, string>();
  private readonly sources = new Map<string, WebhookSource>();
  private readonly deliveries = new Map<string, DeliveryRecord>();

  constructor(private readonly clock: Clock = SYSTEM_CLOCK) {}

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return copy(this.tenants.get(tenantId));
  }

  async putTenant(tenant: Tenant, options: { readonly mustNotExist?: boolean } = {}): Promise<void> {
    if (options.mustNotExist && this.tenants.has(tenant.tenantId)) {
      throw new DomainError('conflict', `Tenant '${tenant.tenantId}' already exists`, 409);
    }
    this.tenants.set(tenant.tenantId, copy(tenant));
  }

  async setTenantStatus(tenantId: string, status: Tenant['status']): Promise<void> {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) throw new DomainError('not_found', `Tenant '${tenantId}' does not exist`, 404);
    this.tenants.set(tenantId, { ...tenant, status });
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return copy(this.keysByHash.get(keyHash));
  }

  async putApiKey(keyHash: string, record: ApiKeyRecord): Promise<void> {
    this.keyHashes.set(keyOf(controlKeys.apiKey(record.tenantId, record.keyId)), keyHash);
    this.keysByHash.set(keyHash, copy(record));
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return [...this.keysByHash.values()]
      .filter((record) => record.tenantId === tenantId)
      .sort((a, b) => (a.keyId < b.keyId ? -1 : 1))
      .map(copy);
  }

  async revokeApiKey(tenantId: string, keyId: string, at: string): Promise<boolean> {
    const keyHash = this.keyHashes.get(keyOf(controlKeys.apiKey(tenantId, keyId)));
    const record = keyHash === undefined ? undefined : this.keysByHash.get(keyHash);
    if (keyHash === undefined || !record || record.status !== 'active') return false;
    this.keysByHash.set(keyHash, { ...record, status: 'revoked', revokedAt: at });
    return true;
  }

  async getWebhookSource(tenantId: string, sourceId: string): Promise<WebhookSource | undefined> {
    return copy(this.sources.get(keyOf(controlKeys.webhookSource(tenantId, sourceId))));
  }

  async putWebhookSource(source: WebhookSource): Promise<void> {
    this.sources.set(keyOf(controlKeys.webhookSource(source.tenantId, source.sourceId)), copy(source));
  }

  async recordDelivery(delivery: DeliveryRecord): Promise<'new' | 'retry' | 'replay'> {
    const key = keyOf(controlKeys.delivery(delivery.tenantId, delivery.sourceId, delivery.deliveryId));
    const seen = this.deliveries.get(key);
    // As the conditional put: an expired marker (not yet removed by TTL) counts as absent.
    if (!seen || seen.expiresAtEpochSeconds < this.clock.now().getTime() / 1000) {
      this.deliveries.set(key, copy(delivery));
      return 'new';
    }
    return seen.fingerprint === delivery.fingerprint ? 'replay' : 'retry';
  }

  async forgetDelivery(tenantId: string, sourceId: string, deliveryId: string): Promise<void> {
    this.deliveries.delete(keyOf(controlKeys.delivery(tenantId, sourceId, deliveryId)));
  }
}

/** Holds TenantData items exactly as DynamoDB would, and reads its GSIs by filtering and sorting. */
export class MemoryEventStore implements EventStore {
  readonly items = new Map<string, Item>();

  async existingEventIds(tenantId: string, eventIds: readonly string[]): Promise<Set<string>> {
    return new Set(eventIds.filter((eventId) => this.items.has(keyOf(dataKeys.event(tenantId, eventId)))));
  }

  async putEvents(events: readonly StoredEvent[], subjects: readonly SubjectIndexEntry[]): Promise<void> {
    for (const item of [...events.map(eventItem), ...subjects.map(subjectItem)]) this.items.set(keyOf(item), copy(item));
  }

  async deleteEvents(events: readonly Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>[]): Promise<void> {
    for (const key of events.flatMap(eventKeys)) this.items.delete(keyOf(key));
  }

  async applyRollups(deltas: readonly RollupDelta[]): Promise<void> {
    deltas.forEach(assertCounterNames);
    for (const delta of deltas) {
      const key = dataKeys.rollup(delta.tenantId, delta.minute, delta.series);
      const item: Item = { ...(this.items.get(keyOf(key)) ?? key) };
      for (const [name, value] of Object.entries(delta.add)) item[name] = ((item[name] as number | undefined) ?? 0) + value;
      this.items.set(keyOf(key), { ...item, tenantId: delta.tenantId, minute: delta.minute, series: delta.series, expiresAt: delta.expiresAt });
    }
  }

  async getEvent(tenantId: string, eventId: string): Promise<StoredEvent | undefined> {
    const item = this.items.get(keyOf(dataKeys.event(tenantId, eventId)));
    return item ? storedEventFromItem(copy(item)) : undefined;
  }

  async queryEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const read: ReadStream = async (stream, range, startAfter, limit) => {
      const sortKey = (item: Item) => item[stream.sortKeyName] as string;
      const matching = [...this.items.values()]
        .filter((item) => item[stream.partitionKeyName] === stream.partitionKey)
        .filter((item) => sortKey(item) >= range.low && sortKey(item) <= range.high)
        .filter((item) => !startAfter || sortKey(item) < startAfter[stream.sortKeyName])
        .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));
      const items = matching.slice(0, limit).map(copy);
      const last = items[items.length - 1];
      const lastKey =
        matching.length > limit
          ? { pk: last.pk as string, sk: last.sk as string, [stream.partitionKeyName]: stream.partitionKey, [stream.sortKeyName]: sortKey(last) }
          : undefined;
      return { items, lastKey };
    };
    return pageEvents(query, read);
  }

  async queryRollups(tenantId: string, fromMinute: string, toMinute: string, series?: string): Promise<Rollup[]> {
    const { pk } = dataKeys.rollup(tenantId, fromMinute, '');
    const range = sortKeyRange(fromMinute, toMinute);
    return [...this.items.values()]
      .filter((item) => item.pk === pk && (item.sk as string) >= range.low && (item.sk as string) <= range.high)
      .filter((item) => series === undefined || item.series === series)
      .sort((a, b) => ((a.sk as string) < (b.sk as string) ? -1 : 1))
      .map((item) => rollupFromItem(copy(item)));
  }
}

export class MemoryPayloadStore implements PayloadStore {
  readonly objects = new Map<string, Uint8Array>();

  async put(key: string, body: Uint8Array): Promise<void> {
    this.objects.set(assertTenantObjectKey(key), new Uint8Array(body));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const body = this.objects.get(assertTenantObjectKey(key));
    return body && new Uint8Array(body);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(assertTenantObjectKey(key));
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly items: Item[] = [];

  constructor(private readonly retentionDays: number = AUDIT_RETENTION_DAYS) {}

  async record(entry: AuditEntry): Promise<void> {
    this.items.push(copy(auditItem(entry, randomUUID(), this.retentionDays)));
  }

  async listForSubject(tenantId: string, subjectHash: string): Promise<AuditEntry[]> {
    return this.list((item) => item.gsi1pk === auditKeys.bySubject(tenantId, subjectHash));
  }

  async listForTenant(tenantId: string, month: string): Promise<AuditEntry[]> {
    assertMonth(month);
    const { pk } = auditKeys.entry(tenantId, `${month}-01T00:00:00Z`, '');
    return this.list((item) => item.pk === pk);
  }

  private list(matches: (item: Item) => boolean): AuditEntry[] {
    return this.items
      .filter(matches)
      .sort((a, b) => ((a.sk as string) < (b.sk as string) ? -1 : 1))
      .map((item) => auditEntryFromItem(copy(item)));
  }
}

/** Records what was published, in order. */
export class MemoryEventPublisher implements EventPublisher {
  readonly published: StreamEnvelope[] = [];

  async publish(envelopes: readonly StreamEnvelope[]): Promise<void> {
    this.published.push(...envelopes.map(copy));
  }
}
