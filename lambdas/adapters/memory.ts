/**
 * In-memory adapters for handler unit tests and the benchmark. They keep the real adapters' semantics:
 * the same item layout and paging (event-items.ts), conditional writes, the same errors. Values are
 * copied in and out, as a round trip through a real store would.
 */
import { DomainError, type StoredEvent, type StreamEnvelope, type Tenant } from '../domain/model';
import type {
  ApiKeyRecord,
  AuditEntry,
  AuditLog,
  BillingLedger,
  Clock,
  DeliveryRecord,
  DocumentStore,
  EventPublisher,
  EventQuery,
  EventStore,
  ExecutionStatus,
  Page,
  PayloadStore,
  PrivacyRequestStore,
  Rollup,
  RollupDelta,
  SubjectIndexEntry,
  TenantDirectory,
  TerminationBinding,
  UsageEntry,
  WebhookSource,
  WorkflowStarter,
} from '../domain/ports';
import { SYSTEM_CLOCK } from '../domain/ports';
import { TerminationSuperseded, type PrivacyRequestRecord, type PrivacyStep, type TerminationRecord, type WorkflowName } from '../domain/privacy';
import { auditKeys, controlKeys, dataKeys, ledgerKeys } from '../domain/keys';
import { consentFlagsOf, type ConsentEntry, type ConsentFlags } from '../domain/consent';
import { accountDataExpiresAt, AUDIT_RETENTION_DAYS } from '../domain/retention';
import { assertMonth, auditEntryFromItem, auditEntryId, auditItem } from './audit-items';
import {
  assertCounterNames,
  eventIdFromSubjectSk,
  eventFitsOneItem,
  eventItem,
  eventKeys,
  isReadable,
  pageEvents,
  pageTenantEvents,
  rollupFromItem,
  sortKeyRange,
  storedEventFromItem,
  subjectItem,
  type Item,
  type ReadPartition,
  type ReadStream,
} from './event-items';
import { assertExecutionName } from './execution-names';
import { conflictingUsage, sameUsage, usageFromItem, usageItem, USAGE_PREFIX } from './ledger-items';
import {
  isBoundTo,
  isOpen,
  openRequestItem,
  openRequestKey,
  overdueBound,
  patchedRequest,
  patchedTermination,
  recordFromItem,
  requestItem,
  requestNotFound,
  restrictionItem,
  erasureItem,
  consentItem,
  terminationExists,
  terminationItem,
  terminationNotFound,
  type RequestPatch,
  type TerminationPatch,
} from './privacy-items';
import { assertDocumentKey, assertDocumentPrefix, assertPresignExpiry, assertTenantObjectKey, assertTenantObjectPrefix } from './tenant-object-key';

const copy = <T>(value: T): T => structuredClone(value);
const keyOf = (key: Item) => `${key.pk as string}\u0000${key.sk as string}`;
const byKey = (a: Item, b: Item) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
/** Items of one partition in sort-key order, as a DynamoDB query returns them. */
const partition = (items: Iterable<Item>, pk: string) => [...items].filter((item) => item.pk === pk).sort(byKey);

export class MemoryTenantDirectory implements TenantDirectory {
  readonly tenants = new Map<string, Tenant>();
  /** R-RET-2: the tenant item's TTL (epoch seconds), set when it is terminated. */
  readonly expiries = new Map<string, number>();
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
    // R-RET-2: as the Control table keeps it, the tombstone's TTL.
    if (status === 'terminated') this.expiries.set(tenantId, accountDataExpiresAt(this.clock.now()));
    else this.expiries.delete(tenantId);
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

  async countWebhookSources(tenantId: string): Promise<number> {
    return [...this.sources.values()].filter((source) => source.tenantId === tenantId).length;
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

  /**
   * R-TERM-3: counts items as the Control table holds them: two per API key (the tenant's list entry and the
   * hash lookup), one per webhook source, one per delivery marker of a source. The tenant record stays.
   */
  async purgeTenant(tenantId: string): Promise<number> {
    let deleted = 0;
    const sourceIds = [...this.sources.values()].filter((source) => source.tenantId === tenantId).map((source) => source.sourceId);
    for (const [key, delivery] of this.deliveries) {
      if (delivery.tenantId === tenantId && sourceIds.includes(delivery.sourceId)) deleted += Number(this.deliveries.delete(key));
    }
    const { pk } = controlKeys.tenant(tenantId);
    for (const [listKey, keyHash] of this.keyHashes) {
      if (!listKey.startsWith(`${pk}\u0000`)) continue;
      deleted += Number(this.keysByHash.delete(keyHash)) + Number(this.keyHashes.delete(listKey));
    }
    for (const sourceId of sourceIds) deleted += Number(this.sources.delete(keyOf(controlKeys.webhookSource(tenantId, sourceId))));
    return deleted;
  }
}

/** Holds TenantData items exactly as DynamoDB would, and reads its GSIs by filtering and sorting. */
export class MemoryEventStore implements EventStore {
  readonly items = new Map<string, Item>();

  async existingEventIds(tenantId: string, eventIds: readonly string[]): Promise<Set<string>> {
    return new Set(eventIds.filter((eventId) => this.items.has(keyOf(dataKeys.event(tenantId, eventId)))));
  }

  async putEvents(events: readonly StoredEvent[], subjects: readonly SubjectIndexEntry[]): Promise<void> {
    // eventItem and subjectItem make fresh items that share nothing with the caller's objects: kept as they are
    // (a deep copy of each was a fifth of the processor benchmark's CPU).
    for (const item of [...events.map(eventItem), ...subjects.map(subjectItem)]) this.items.set(keyOf(item), item);
  }

  fitsOneItem(event: StoredEvent): boolean {
    return eventFitsOneItem(event);
  }

  async deleteEvents(events: readonly Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>[]): Promise<void> {
    for (const key of events.flatMap(eventKeys)) this.items.delete(keyOf(key));
  }

  async deleteSubjectEntries(tenantId: string, subjectHash: string, eventIds: readonly string[]): Promise<void> {
    for (const eventId of eventIds) this.items.delete(keyOf(dataKeys.subject(tenantId, subjectHash, eventId)));
  }

  async applyRollups(deltas: readonly RollupDelta[]): Promise<void> {
    deltas.forEach(assertCounterNames);
    for (const delta of deltas) {
      const key = dataKeys.rollup(delta.tenantId, delta.minute, delta.series);
      const at = keyOf(key);
      // A new object each time, as an update's new image: a reader's earlier copy never changes under it.
      const item: Item = { ...(this.items.get(at) ?? key), tenantId: delta.tenantId, minute: delta.minute, series: delta.series, expiresAt: delta.expiresAt };
      for (const name in delta.add) item[name] = ((item[name] as number | undefined) ?? 0) + delta.add[name];
      this.items.set(at, item);
    }
  }

  async getEvent(tenantId: string, eventId: string): Promise<StoredEvent | undefined> {
    const item = this.items.get(keyOf(dataKeys.event(tenantId, eventId)));
    return item && isReadable(item) ? storedEventFromItem(copy(item)) : undefined;
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

  async subjectEventIds(tenantId: string, subjectHash: string): Promise<string[]> {
    const { pk } = dataKeys.subject(tenantId, subjectHash, '');
    return partition(this.items.values(), pk).map((item) => eventIdFromSubjectSk(item.sk as string));
  }

  async getEvents(tenantId: string, eventIds: readonly string[]): Promise<StoredEvent[]> {
    return [...new Set(eventIds)]
      .flatMap((eventId): Item[] => {
        const item = this.items.get(keyOf(dataKeys.event(tenantId, eventId)));
        return item ? [item] : [];
      })
      .map((item) => storedEventFromItem(copy(item)));
  }

  async tenantEvents(tenantId: string, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    const read: ReadPartition = async (partitionKey, startAfter, pageLimit) => {
      const matching = [...this.items.values()]
        .filter((item) => item.gsi1pk === partitionKey && (!startAfter || (item.gsi1sk as string) > startAfter.gsi1sk))
        .sort((a, b) => ((a.gsi1sk as string) < (b.gsi1sk as string) ? -1 : 1));
      const items = matching.slice(0, pageLimit).map(copy);
      const last = items[items.length - 1];
      const lastKey =
        matching.length > pageLimit ? { pk: last.pk as string, sk: last.sk as string, gsi1pk: partitionKey, gsi1sk: last.gsi1sk as string } : undefined;
      return { items, lastKey };
    };
    return pageTenantEvents(tenantId, limit, cursor, read);
  }

  async deleteRollups(tenantId: string): Promise<number> {
    const { pk } = dataKeys.rollup(tenantId, '', '');
    const keys = partition(this.items.values(), pk).map(keyOf);
    for (const key of keys) this.items.delete(key);
    return keys.length;
  }
}

export class MemoryPayloadStore implements PayloadStore {
  readonly objects = new Map<string, Uint8Array>();
  /** R-RET-1: each object's expiry class, as its S3 tag. */
  readonly expiryClasses = new Map<string, number>();

  async put(key: string, body: Uint8Array, options: { readonly expireAfterDays?: number } = {}): Promise<void> {
    this.objects.set(assertTenantObjectKey(key), new Uint8Array(body));
    if (options.expireAfterDays !== undefined) this.expiryClasses.set(key, options.expireAfterDays);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const body = this.objects.get(assertTenantObjectKey(key));
    return body && new Uint8Array(body);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(assertTenantObjectKey(key));
  }

  /** An unversioned store: each object is its only version. */
  async deletePrefix(prefix: string): Promise<number> {
    const keys = this.keysUnder(prefix);
    for (const key of keys) this.objects.delete(key);
    return keys.length;
  }

  async countPrefix(prefix: string): Promise<number> {
    return this.keysUnder(prefix).length;
  }

  private keysUnder(prefix: string): string[] {
    assertTenantObjectPrefix(prefix);
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix));
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly items: Item[] = [];

  constructor(private readonly retentionDays: number = AUDIT_RETENTION_DAYS) {}

  async record(entry: AuditEntry): Promise<void> {
    this.items.push(copy(auditItem(entry, auditEntryId(), this.retentionDays)));
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

/**
 * Control-table items of privacy requests, restrictions and terminations, kept as DynamoDB would keep them
 * (privacy-items.ts), so counts and the open list behave as the real store's.
 */
export class MemoryPrivacyRequestStore implements PrivacyRequestStore {
  readonly items = new Map<string, Item>();

  async create(record: PrivacyRequestRecord): Promise<'created' | 'exists'> {
    const item = requestItem(record);
    if (this.items.has(keyOf(item))) return 'exists';
    this.items.set(keyOf(item), copy(item));
    if (isOpen(record.status)) this.put(openRequestItem(record));
    return 'created';
  }

  async get(tenantId: string, requestId: string): Promise<PrivacyRequestRecord | undefined> {
    const item = this.items.get(keyOf(controlKeys.privacyRequest(tenantId, requestId)));
    return item && recordFromItem<PrivacyRequestRecord>(copy(item));
  }

  async update(tenantId: string, requestId: string, step: PrivacyStep, patch?: RequestPatch): Promise<void> {
    const record = await this.get(tenantId, requestId);
    if (!record) throw requestNotFound(tenantId, requestId);
    const next = patchedRequest(record, step, patch);
    this.put(requestItem(next));
    if (!isOpen(next.status)) this.items.delete(keyOf(openRequestKey(next)));
  }

  async overdue(now: string): Promise<{ readonly tenantId: string; readonly requestId: string; readonly dueAt: string }[]> {
    const { pk, before } = overdueBound(now);
    return partition(this.items.values(), pk)
      .filter((item) => (item.sk as string) < before)
      .map((item) => ({ tenantId: item.tenantId as string, requestId: item.requestId as string, dueAt: item.dueAt as string }));
  }

  /** Requests with their open-list entries, and the tenant's restrictions (they name subjects). */
  async deleteForTenant(tenantId: string): Promise<number> {
    const requests = partition(this.items.values(), controlKeys.privacyRequest(tenantId, '').pk);
    const restrictions = [
      ...partition(this.items.values(), controlKeys.restriction(tenantId, '').pk),
      ...partition(this.items.values(), controlKeys.erasure(tenantId, '').pk),
      ...partition(this.items.values(), controlKeys.consent(tenantId).pk),
    ];
    let deleted = 0;
    for (const item of requests) {
      deleted += Number(this.items.delete(keyOf(openRequestKey(recordFromItem<PrivacyRequestRecord>(item)))));
    }
    for (const item of [...requests, ...restrictions]) deleted += Number(this.items.delete(keyOf(item)));
    return deleted;
  }

  async restrict(tenantId: string, subjectHash: string, requestId: string, at: string): Promise<void> {
    this.put(restrictionItem(tenantId, subjectHash, requestId, at));
  }

  async unrestrict(tenantId: string, subjectHash: string): Promise<void> {
    this.items.delete(keyOf(controlKeys.restriction(tenantId, subjectHash)));
  }

  async restrictedSubjects(tenantId: string): Promise<Set<string>> {
    return new Set(partition(this.items.values(), controlKeys.restriction(tenantId, '').pk).map((item) => item.subjectHash as string));
  }

  async markErased(tenantId: string, subjectHash: string, receivedAt: string, expiresAtEpochSeconds: number): Promise<void> {
    this.put(erasureItem(tenantId, subjectHash, receivedAt, expiresAtEpochSeconds));
  }

  async erasedSubjects(tenantId: string): Promise<ReadonlyMap<string, string>> {
    const items = partition(this.items.values(), controlKeys.erasure(tenantId, '').pk);
    return new Map(items.map((item) => [item.subjectHash as string, item.receivedAt as string]));
  }

  async setConsent(entry: ConsentEntry): Promise<void> {
    if (entry.off.length > 0) this.put(consentItem(entry));
    else this.items.delete(keyOf(controlKeys.consent(entry.tenantId, entry.subjectHash)));
  }

  async consentFlags(tenantId: string): Promise<ConsentFlags> {
    return consentFlagsOf(partition(this.items.values(), controlKeys.consent(tenantId).pk).map((item) => recordFromItem<ConsentEntry>(item)));
  }

  async putTermination(record: TerminationRecord, options: { readonly mustNotExist?: boolean } = {}): Promise<void> {
    const item = terminationItem(record);
    if (options.mustNotExist && this.items.has(keyOf(item))) throw terminationExists(record.tenantId);
    this.put(item);
  }

  async getTermination(tenantId: string): Promise<TerminationRecord | undefined> {
    const item = this.items.get(keyOf(controlKeys.termination(tenantId)));
    return item && recordFromItem<TerminationRecord>(copy(item));
  }

  async updateTermination(tenantId: string, step: PrivacyStep | undefined, patch?: TerminationPatch, binding?: TerminationBinding): Promise<void> {
    const record = await this.getTermination(tenantId);
    if (!record) throw terminationNotFound(tenantId);
    if (!isBoundTo(record, binding)) throw new TerminationSuperseded(tenantId);
    this.put(terminationItem(patchedTermination(record, step, patch)));
  }

  async openTerminations(): Promise<string[]> {
    return partition(this.items.values(), controlKeys.openTermination('any').pk).map((item) => item.sk as string);
  }

  async markTerminationOpen(tenantId: string, open: boolean): Promise<void> {
    if (open) this.put({ ...controlKeys.openTermination(tenantId), tenantId });
    else this.items.delete(keyOf(controlKeys.openTermination(tenantId)));
  }

  private put(item: Item): void {
    this.items.set(keyOf(item), copy(item));
  }
}

/**
 * A bucket of documents. Presigned URLs read `memory://<bucket>/<key>?expires=<epoch seconds>`: nothing can fetch
 * them, but a test sees which object and until when.
 */
export class MemoryDocumentStore implements DocumentStore {
  readonly objects = new Map<string, { readonly body: Uint8Array; readonly contentType: string }>();

  constructor(
    readonly bucket = 'documents',
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    this.objects.set(assertDocumentKey(key), { body: new Uint8Array(body), contentType });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const object = this.objects.get(assertDocumentKey(key));
    return object && new Uint8Array(object.body);
  }

  async list(prefix: string): Promise<string[]> {
    assertDocumentPrefix(prefix);
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    for (const key of keys) this.objects.delete(key);
    return keys.length;
  }

  async presign(key: string, expiresInSeconds: number): Promise<string> {
    assertDocumentKey(key);
    assertPresignExpiry(expiresInSeconds);
    const expires = Math.floor(this.clock.now().getTime() / 1000) + expiresInSeconds;
    return `memory://${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}?expires=${expires}`;
  }
}

/** R-TERM-6: the ledger's items, append-only as in the real table. */
export class MemoryBillingLedger implements BillingLedger {
  readonly items = new Map<string, Item>();

  async lastEntry(tenantId: string): Promise<UsageEntry | undefined> {
    return (await this.list(tenantId)).pop();
  }

  async record(entry: UsageEntry): Promise<void> {
    const item = usageItem(entry);
    const existing = this.items.get(keyOf(item));
    if (existing && !sameUsage(usageFromItem(existing), entry)) throw conflictingUsage(entry);
    if (!existing) this.items.set(keyOf(item), copy(item));
  }

  async list(tenantId: string): Promise<UsageEntry[]> {
    const { pk } = ledgerKeys.usage(tenantId, '');
    return partition(this.items.values(), pk)
      .filter((item) => (item.sk as string).startsWith(USAGE_PREFIX))
      .map((item) => usageFromItem(copy(item)));
  }
}

export interface RecordedStart {
  readonly workflow: WorkflowName;
  readonly executionName: string;
  readonly input: object;
}

/** Records the executions it is asked to start; like Step Functions, one execution per workflow and name. */
export class RecordingWorkflowStarter implements WorkflowStarter {
  readonly starts: RecordedStart[] = [];
  /** Execution ARN → status (DescribeExecution); a recorded start without one is RUNNING. */
  readonly statuses = new Map<string, ExecutionStatus>();

  async status(executionId: string): Promise<ExecutionStatus> {
    const known = this.starts.some((s) => executionId.endsWith(`:lumiqo-${s.workflow}:${s.executionName}`));
    return this.statuses.get(executionId) ?? (known ? 'RUNNING' : 'NOT_FOUND');
  }

  async start(workflow: WorkflowName, executionName: string, input: object): Promise<{ readonly executionId: string }> {
    assertExecutionName(executionName);
    const executionId = `arn:aws:states:local:000000000000:execution:lumiqo-${workflow}:${executionName}`;
    if (!this.starts.some((s) => s.workflow === workflow && s.executionName === executionName)) {
      this.starts.push({ workflow, executionName, input: copy(input) });
    }
    return { executionId };
  }
}
