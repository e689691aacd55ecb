/**
 * The stream processor's core (R-ING-7, R-DSR-1, R-SEC-2, R-RET-1, R-ING-3). For one Kinesis batch it:
 * decodes every record (a malformed one is rejected alone, to the DLQ, never blocking the rest); drops events
 * already stored (the event id is the idempotency gate); extracts and hashes data-subject identifiers;
 * envelope-encrypts each event under its tenant's key; writes events and subject index in batches; then adds
 * the batch's rollup contributions, one update per (tenant, minute, series) and at most ROLLUP_COUNTERS_PER_UPDATE
 * counters. A write the store refuses for good (R-ING-7) is narrowed down to the records that cause it, which go
 * to the dead-letter queue alone; the rest of the batch is stored.
 */
import { keyNames, objectKeys } from './keys';
import type { RuntimeSettings } from './settings';
import type { PlatformEvent, StoredEvent, StreamEnvelope, Tenant } from './model';
import {
  PermanentStoreError,
  ROLLUP_COUNTERS_PER_UPDATE,
  type Clock,
  type EventStore,
  type PayloadStore,
  type PrivacyRequestStore,
  type SubjectIndexEntry,
  type TenantCrypto,
  type TenantDirectory,
} from './ports';
import { expiresAtEpochSeconds, payloadExpiryClass, retentionDaysFor } from './retention';
import { clearName, clearRoute } from './clear-metadata';
import { allowsPurpose, NO_OBJECTIONS, type ConsentFlags, type ConsentReader } from './consent';
import { minuteOf, rollupDeltas, seriesOf, splitByCounters } from './rollups';
import { decodeStreamEnvelope } from './stream-envelope';
import { DEFAULT_SUBJECT_PATHS, extractSubjects, subjectHasher } from './subjects';
import { forgetRefusedMarks, markUsage, type UsageMarks } from './usage-marks';

export const EVENT_PURPOSE = 'event';
export const SUBJECT_KEY_PURPOSE = 'subject-key';

export interface ProcessingDeps {
  readonly directory: TenantDirectory;
  readonly store: EventStore;
  readonly payloads: PayloadStore;
  readonly crypto: TenantCrypto;
  /**
   * R-DSR-3: which subjects are restricted (their new events are quarantined); R-DSR-2: which are erased (their
   * records received before the erasure are dropped if they are still in the stream).
   */
  readonly requests: Pick<PrivacyRequestStore, 'restrictedSubjects' | 'erasedSubjects'> & ConsentReader;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  /** R-BILL-2: usage marks, one per stored event (lambdas/domain/usage-marks.ts). @default none counted (tests) */
  readonly usage?: UsageMarks;
  /** How long tenant material (status, subject key, restrictions, erasures) is cached. @default TENANT_CACHE_MS */
  readonly tenantCacheMs?: number;
}

export interface InputRecord {
  /** The Kinesis sequence number: what a partial-batch failure names. */
  readonly id: string;
  readonly data: Uint8Array;
}

export interface BatchOutcome {
  /** Records to retry (transient failures): reported as batchItemFailures. */
  readonly retry: string[];
  /**
   * Records that can never succeed; they go to the dead-letter queue with the reason (a stable code) and, for a
   * store's refusal, its message as detail.
   */
  readonly rejected: { readonly id: string; readonly reason: string; readonly detail?: string }[];
  stored: number;
  duplicates: number;
  /** R-DSR-3: stored, but quarantined because they mention a restricted subject. */
  quarantined: number;
  /** R-DSR-2: received before an erasure of a subject they mention, processed after it: dropped, never stored. */
  erased: number;
  /** R-DSR-4: mention a subject (or a tenant) that objected to `analytics`: dropped, never stored (domain/consent.ts). */
  objected: number;
  /**
   * R-TERM-3: records of a terminated tenant still in the stream. Dropped, not dead-lettered: a copy in the DLQ would
   * outlive the purge, and the tenant's key is gone anyway.
   */
  dropped: number;
}

/**
 * Tenant records, subject keys and restrictions are cached per container; a minute bounds how stale a status or a
 * restriction may be (the restriction workflow waits longer than this before it sweeps, R-DSR-3).
 */
export const TENANT_CACHE_MS = 60_000;

interface TenantMaterial {
  readonly tenant: Tenant;
  /** Absent for a terminated tenant, whose key may be destroyed. */
  readonly subjectKey?: Uint8Array;
  /** hashSubject under subjectKey, remembered for the cache period (issue 12). */
  readonly hashSubject?: (kind: string, value: string) => string;
  readonly restricted: ReadonlySet<string>;
  /** Erased subject hash → when the erasure was received. */
  readonly erased: ReadonlyMap<string, string>;
  /** R-DSR-4: purposes turned off, tenant-wide and per subject. */
  readonly consent: ConsentFlags;
  readonly until: number;
}

interface Prepared {
  readonly recordId: string;
  readonly stored: StoredEvent;
  readonly subjects: SubjectIndexEntry[];
  readonly event: PlatformEvent;
  /** The event's plaintext JSON size, measured once where it is encrypted (the usage mark's bytes stored). */
  readonly plaintextBytes: number;
}

export class StreamProcessing {
  private readonly tenants = new Map<string, TenantMaterial>();

  constructor(private readonly deps: ProcessingDeps) {}

  async processBatch(records: readonly InputRecord[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { retry: [], rejected: [], stored: 0, duplicates: 0, quarantined: 0, erased: 0, objected: 0, dropped: 0 };
    const byTenant = new Map<string, { id: string; envelope: StreamEnvelope }[]>();
    for (const record of records) {
      const envelope = decodeStreamEnvelope(record.data);
      if (!envelope) {
        outcome.rejected.push({ id: record.id, reason: 'malformed_record' });
        continue;
      }
      const list = byTenant.get(envelope.tenantId) ?? [];
      list.push({ id: record.id, envelope });
      byTenant.set(envelope.tenantId, list);
    }
    await Promise.all([...byTenant].map(([tenantId, items]) => this.processTenant(tenantId, items, outcome)));
    return outcome;
  }

  /** Forgets cached tenant material, e.g. after a freeze or a crypto-shred. */
  forgetTenant(tenantId: string): void {
    this.tenants.delete(tenantId);
  }

  private async processTenant(tenantId: string, items: { id: string; envelope: StreamEnvelope }[], outcome: BatchOutcome): Promise<void> {
    let material: TenantMaterial | undefined;
    try {
      material = await this.tenantMaterial(tenantId);
    } catch {
      outcome.retry.push(...items.map((i) => i.id));
      return;
    }
    if (!material) {
      for (const item of items) outcome.rejected.push({ id: item.id, reason: 'unknown_tenant' });
      return;
    }
    if (material.tenant.status === 'terminated') {
      outcome.dropped += items.length;
      return;
    }

    // R-ING-7: a duplicate inside the batch, or one already stored, succeeds without a second copy.
    const firstById = new Map<string, { id: string; envelope: StreamEnvelope }>();
    for (const item of items) {
      if (firstById.has(item.envelope.eventId)) outcome.duplicates++;
      else firstById.set(item.envelope.eventId, item);
    }
    let existing: Set<string>;
    try {
      existing = await this.deps.store.existingEventIds(tenantId, [...firstById.keys()]);
    } catch {
      outcome.retry.push(...items.map((i) => i.id));
      return;
    }
    const fresh = [...firstById.values()].filter((item) => {
      if (!existing.has(item.envelope.eventId)) return true;
      outcome.duplicates++;
      return false;
    });

    const prepared: Prepared[] = [];
    await Promise.all(
      fresh.map(async (item) => {
        try {
          const ready = await this.prepare(material, item.id, item.envelope);
          if (ready === 'erased') outcome.erased++;
          else if (ready === 'objected') outcome.objected++;
          else prepared.push(ready);
        } catch (error) {
          if (error instanceof PermanentStoreError) outcome.rejected.push(refusal(item.id, error));
          else outcome.retry.push(item.id);
        }
      }),
    );
    if (prepared.length === 0) return;

    // R-BILL-2: marked before they are written, so whatever is stored is counted (once: a mark is keyed by event id).
    const marked = await markUsage(this.deps.usage, prepared, outcome);
    const written = await this.writeEvents(marked, outcome);
    // R-DSR-3: a quarantined event is not processed further; its rollup contribution waits for the release.
    const counted = written.filter((p) => !p.stored.quarantined);
    outcome.quarantined += written.length - counted.length;
    const uncounted = await this.applyRollups(tenantId, counted, outcome);
    outcome.stored += written.length - uncounted;
    await forgetRefusedMarks(this.deps.usage, marked, outcome);
  }

  /**
   * Writes the events with their subject index entries; returns those written. R-ING-7: a write can fail after some
   * chunks landed, so a failed group is taken back before it is retried (the retry must not skip its events as
   * already stored and leave their rollup counts out). A group the store refuses for good is halved until the
   * refused records stand alone: one record is enough to refuse a whole batch write.
   */
  private async writeEvents(group: readonly Prepared[], outcome: BatchOutcome): Promise<Prepared[]> {
    try {
      await this.deps.store.putEvents(
        group.map((p) => p.stored),
        group.flatMap((p) => p.subjects),
      );
      return [...group];
    } catch (error) {
      if (error instanceof PermanentStoreError && group.length > 1) {
        const [first, second] = halves(group);
        return [...(await this.writeEvents(first, outcome)), ...(await this.writeEvents(second, outcome))];
      }
      await this.deps.store.deleteEvents(group.map((p) => p.stored)).catch(() => undefined);
      if (error instanceof PermanentStoreError) outcome.rejected.push(refusal(group[0].recordId, error));
      else outcome.retry.push(...group.map((p) => p.recordId));
      return [];
    }
  }

  /**
   * One update per run of a (minute, series), each within ROLLUP_COUNTERS_PER_UPDATE counters and so atomic. A
   * failed update takes back the events that fed it (compensation), so the retry stores and counts them again:
   * nothing lost, nothing counted twice. Returns how many records were not counted (retried or rejected).
   */
  private async applyRollups(tenantId: string, prepared: readonly Prepared[], outcome: BatchOutcome): Promise<number> {
    const groups = new Map<string, Prepared[]>();
    for (const p of prepared) {
      const key = `${minuteOf(p.event.timestamp)}\u0000${seriesOf(p.event)}`;
      const members = groups.get(key);
      if (members) members.push(p);
      else groups.set(key, [p]);
    }
    const runs = [...groups.values()].flatMap((members) => splitByCounters(members, ROLLUP_COUNTERS_PER_UPDATE));
    const uncounted = await Promise.all(runs.map((run) => this.applyRun(tenantId, run, outcome)));
    return uncounted.reduce((sum, n) => sum + n, 0);
  }

  private async applyRun(tenantId: string, run: readonly Prepared[], outcome: BatchOutcome): Promise<number> {
    try {
      await this.deps.store.applyRollups(rollupDeltas(run.map((m) => ({ tenantId, event: m.event, expiresAt: m.stored.expiresAt }))));
      return 0;
    } catch (error) {
      // Refused for good, the update added nothing: its halves are tried on their own, down to the refused record.
      if (error instanceof PermanentStoreError && run.length > 1) {
        const [first, second] = halves(run);
        return (await this.applyRun(tenantId, first, outcome)) + (await this.applyRun(tenantId, second, outcome));
      }
      // If the take-back fails too, the retry finds the events stored and their counts stay out (see README).
      await this.deps.store.deleteEvents(run.map((m) => m.stored)).catch(() => undefined);
      if (error instanceof PermanentStoreError) outcome.rejected.push(refusal(run[0].recordId, error));
      else outcome.retry.push(...run.map((m) => m.recordId));
      return run.length;
    }
  }

  private async prepare(material: TenantMaterial, recordId: string, envelope: StreamEnvelope): Promise<Prepared | 'erased' | 'objected'> {
    const { tenant, hashSubject, restricted, erased, consent } = material;
    if (!hashSubject) throw new Error('No subject key for this tenant');
    const { settings, crypto, payloads } = this.deps;
    const event = envelope.event;
    const expiresAt = expiresAtEpochSeconds(new Date(envelope.receivedAt), retentionDaysFor(tenant, settings));
    const subjectHashes = [
      ...new Set(
        extractSubjects(event, tenant.subjectPaths ?? DEFAULT_SUBJECT_PATHS).map((s) => hashSubject(s.kind, s.value)),
      ),
    ];
    // R-DSR-2: a record the erasure was owed, arriving after it ran (stream lag, retries), is never stored.
    const receivedAt = Date.parse(envelope.receivedAt);
    if (subjectHashes.some((hash) => erased.has(hash) && receivedAt <= Date.parse(erased.get(hash)!))) return 'erased';
    // R-DSR-4: an objection to analytics (the subject's or the tenant's): nothing of the event is stored or counted.
    if (!allowsPurpose(consent, 'analytics', subjectHashes)) return 'objected';
    const plaintext = Buffer.from(JSON.stringify(event), 'utf8');
    const ciphertext = await crypto.encrypt(tenant, plaintext, EVENT_PURPOSE, envelope.eventId);
    const quarantined = subjectHashes.some((hash) => restricted.has(hash));
    const objectKey = objectKeys.payload(tenant.tenantId, envelope.eventId);
    const withBody = (body: StoredEvent['body']): StoredEvent => ({
      tenantId: tenant.tenantId,
      eventId: envelope.eventId,
      kind: event.type,
      name: eventName(event),
      timestamp: event.timestamp,
      receivedAt: envelope.receivedAt,
      attributes: indexAttributes(event),
      body,
      subjects: subjectHashes,
      expiresAt,
      ...(quarantined ? { quarantined: true, rollupPending: true } : {}),
    });
    // With its body in S3 an item stays far below 400 KB: its name and route are bounded by the key schema, its
    // subjects by MAX_IDENTIFIERS (1,000 hashes, 44 KB).
    let stored = withBody(inlineBody(ciphertext));
    if (!keepsInline(this.deps.store, settings, stored, ciphertext)) {
      stored = withBody({ objectKey });
      // R-RET-1: the payload expires with its event (its lifecycle class).
      await payloads.put(objectKey, ciphertext, { expireAfterDays: payloadExpiryClass(retentionDaysFor(tenant, settings)) });
    }
    const subjects = subjectHashes.map((subjectHash) => ({ tenantId: tenant.tenantId, subjectHash, eventId: envelope.eventId, expiresAt }));
    return { recordId, stored, subjects, event, plaintextBytes: plaintext.byteLength };
  }

  private async tenantMaterial(tenantId: string): Promise<TenantMaterial | undefined> {
    const now = this.deps.clock.now().getTime();
    const cached = this.tenants.get(tenantId);
    if (cached && cached.until > now) return cached;
    const tenant = await this.deps.directory.getTenant(tenantId);
    if (!tenant) return undefined;
    if (tenant.status === 'terminated') {
      return { tenant, restricted: new Set(), erased: new Map(), consent: NO_OBJECTIONS, until: now + (this.deps.tenantCacheMs ?? TENANT_CACHE_MS) };
    }
    const [subjectKey, restricted, erased, consent] = await Promise.all([
      this.deps.crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE),
      this.deps.requests.restrictedSubjects(tenantId),
      this.deps.requests.erasedSubjects(tenantId),
      this.deps.requests.consentFlags(tenantId),
    ]);
    const material = { tenant, subjectKey, hashSubject: subjectHasher(subjectKey), restricted, erased, consent, until: now + (this.deps.tenantCacheMs ?? TENANT_CACHE_MS) };
    this.tenants.set(tenantId, material);
    return material;
  }
}

/** The event's name in clear (GSI2): identifiers templated out (issue 11, clear-metadata.ts). */
export function eventName(event: PlatformEvent): string {
  return event.type === 'api_call' ? keyNames.apiCall(event.method, clearRoute(event.route)) : clearName(event.type, event.name);
}

const inlineBody = (ciphertext: Uint8Array): StoredEvent['body'] => ({ inline: Buffer.from(ciphertext).toString('base64') });

/**
 * R-ING-7, R-SEC-2: a ciphertext stays in the item when it is within `inlinePayloadBytes` and the whole item, with
 * the ciphertext as base64 (a third larger) and every other attribute, fits the store's item limit; else it goes to
 * the payload store and the item keeps a pointer.
 */
export function keepsInline(store: Pick<EventStore, 'fitsOneItem'>, settings: RuntimeSettings, inline: StoredEvent, ciphertext: Uint8Array): boolean {
  return ciphertext.byteLength <= settings.limits.inlinePayloadBytes && store.fitsOneItem(inline);
}

/** A dead-letter rejection for a store's refusal: a stable reason, the store's own words as detail. */
function refusal(recordId: string, error: PermanentStoreError): { id: string; reason: string; detail: string } {
  return { id: recordId, reason: 'store_refused', detail: error.message.slice(0, 1000) };
}

function halves<T>(items: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}

/** What stays in clear for filtering and rollups: measurements and routing, never payloads or properties. */
export function indexAttributes(event: PlatformEvent): Record<string, string | number> {
  switch (event.type) {
    case 'api_call':
      return {
        method: event.method,
        route: clearRoute(event.route),
        status: event.status,
        latencyMs: event.latencyMs,
        ...(event.requestBytes !== undefined ? { requestBytes: event.requestBytes } : {}),
        ...(event.responseBytes !== undefined ? { responseBytes: event.responseBytes } : {}),
      };
    case 'metric':
      return { value: event.value, ...(event.unit ? { unit: event.unit } : {}) };
    case 'webhook':
      return { sourceId: event.sourceId, scheme: event.scheme };
    case 'event':
      return {};
  }
}
