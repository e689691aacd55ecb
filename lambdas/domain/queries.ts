/**
 * Read side for one tenant (R-ING-1, R-ING-3, R-SEC-4). Built over tenant-scoped adapters: in AWS their
 * credentials come from a role session tagged with the tenant, so IAM refuses any other tenant's keys even if
 * this code asked for them.
 */
import { clearQueryName, clearQuerySeries } from './clear-metadata';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as z from './zod';
import { utf8Bytes } from './aws-limits';
import { KEY_BYTE_BOUNDS } from './keys';
import { DomainError, type PlatformEvent, type StoredEvent, type Tenant } from './model';
import { decryptStoredEvent } from './export-lines';
import type { EventStore, PayloadStore, TenantCrypto } from './ports';
import { minuteOf, summariseRollup, type RollupSummary } from './rollups';
import { parse } from './validation';

export interface TenantReadDeps {
  readonly store: EventStore;
  readonly payloads: PayloadStore;
  readonly crypto: TenantCrypto;
}

export interface EventView {
  readonly eventId: string;
  readonly kind: string;
  readonly name: string;
  readonly timestamp: string;
  readonly receivedAt: string;
  readonly attributes: Record<string, string | number>;
  readonly event: PlatformEvent;
}

const isoTime = z.iso.datetime({ offset: true });

export const listEventsSchema = z.strictObject({
  kind: z.optional(z.enum(['event', 'api_call', 'metric', 'webhook'])),
  // R-ING-7: the name is part of the GSI2 key the query reads; DynamoDB would refuse a longer one (a 500).
  name: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.refine((name) => utf8Bytes(name) <= KEY_BYTE_BOUNDS.queryName, `must be at most ${KEY_BYTE_BOUNDS.queryName} bytes of UTF-8`),
      ),
  ),
  from: z.optional(isoTime),
  to: z.optional(isoTime),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 50),
  cursor: z.optional(z.string().check(z.maxLength(4096))),
});

export const rollupQuerySchema = z.strictObject({
  from: z.optional(isoTime),
  to: z.optional(isoTime),
  series: z.optional(z.string().check(z.minLength(1), z.maxLength(1200))),
});

/**
 * Issue 10, R-SEC-4: a cursor is bound to its query (kind, name, from, to) and signed, so a cursor of another
 * query, another tenant, or a forged one is refused (400 invalid_request) before the store sees it. The HMAC key
 * derives from the tenant's subject-key ciphertext: tenant key material the query function already holds (no KMS
 * call), never shown to the tenant (no view carries it), and different for every tenant and deployment.
 */
type CursorQuery = { readonly kind?: string; readonly name?: string; readonly from?: string; readonly to?: string };

function cursorMac(tenant: Pick<Tenant, 'tenantId' | 'subjectKeyCiphertext'>, query: CursorQuery, position: string): Buffer {
  const key = createHash('sha256').update(`lumiqo-cursor\0${tenant.tenantId}\0${tenant.subjectKeyCiphertext}`).digest();
  const bound = JSON.stringify([query.kind ?? null, query.name ?? null, query.from ?? null, query.to ?? null, position]);
  return createHmac('sha256', key).update(bound).digest();
}

export function sealCursor(tenant: Pick<Tenant, 'tenantId' | 'subjectKeyCiphertext'>, query: CursorQuery, position: string): string {
  return `${position}.${cursorMac(tenant, query, position).toString('base64url')}`;
}

export function openCursor(tenant: Pick<Tenant, 'tenantId' | 'subjectKeyCiphertext'>, query: CursorQuery, cursor: string): string {
  const at = cursor.lastIndexOf('.');
  const position = at > 0 ? cursor.slice(0, at) : '';
  const mac = Buffer.from(at > 0 ? cursor.slice(at + 1) : '', 'base64url');
  const expected = cursorMac(tenant, query, position);
  if (position === '' || mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    throw new DomainError('invalid_request', 'Invalid cursor: it belongs to another query, or was altered', 400);
  }
  return position;
}

/** Longest rollup window one request may read. */
const MAX_ROLLUP_WINDOW_MS = 7 * 24 * 3600 * 1000;

export class TenantQueries {
  constructor(
    private readonly tenant: Pick<Tenant, 'tenantId' | 'keyRef' | 'subjectKeyCiphertext'>,
    private readonly deps: TenantReadDeps,
  ) {}

  async listEvents(params: unknown): Promise<{ items: EventView[]; cursor?: string }> {
    const q = parse(listEventsSchema, params);
    if (q.name && !q.kind) throw new DomainError('invalid_request', 'name needs kind', 400);
    const query = { kind: q.kind, name: q.name, from: q.from && new Date(q.from).toISOString(), to: q.to && new Date(q.to).toISOString() };
    const cursor = q.cursor === undefined ? undefined : openCursor(this.tenant, query, q.cursor);
    const page = await this.deps.store.queryEvents({
      tenantId: this.tenant.tenantId,
      ...(q.kind ? { kind: q.kind } : {}),
      // Issue 11: names are stored with identifiers templated out; the query asks for the same form.
      ...(q.name && q.kind ? { name: clearQueryName(q.kind, q.name) } : {}),
      ...(q.from ? { from: new Date(q.from).toISOString() } : {}),
      ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
      limit: q.limit,
      ...(cursor ? { cursor } : {}),
    });
    const items = await Promise.all(page.items.map((e) => this.view(e)));
    return { items, ...(page.cursor ? { cursor: sealCursor(this.tenant, query, page.cursor) } : {}) };
  }

  async getEvent(eventId: string): Promise<EventView> {
    // R-ING-7: no stored event has a longer id, and DynamoDB would refuse the key (a 500) rather than miss it.
    const stored = utf8Bytes(eventId) <= KEY_BYTE_BOUNDS.eventId ? await this.deps.store.getEvent(this.tenant.tenantId, eventId) : undefined;
    if (!stored) throw new DomainError('not_found', `No event '${eventId}'`, 404);
    return this.view(stored);
  }

  /** Per-minute rollups with counts, error rates and latency percentiles (R-ING-3); default: the last hour. */
  async rollups(params: unknown, now: Date): Promise<{ items: RollupSummary[] }> {
    const q = parse(rollupQuerySchema, params);
    const to = q.to ? new Date(q.to) : now;
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3600_000);
    if (from > to || to.getTime() - from.getTime() > MAX_ROLLUP_WINDOW_MS) {
      throw new DomainError('invalid_request', 'from must precede to, at most 7 days apart', 400);
    }
    // Issue 11: the series as stored, identifier-shaped parts templated (clear-metadata.ts).
    const series = q.series === undefined ? undefined : clearQuerySeries(q.series);
    const rollups = await this.deps.store.queryRollups(this.tenant.tenantId, minuteOf(from.toISOString()), minuteOf(to.toISOString()), series);
    return { items: rollups.map(summariseRollup) };
  }

  private async view(stored: StoredEvent): Promise<EventView> {
    const event = await decryptStoredEvent(this.deps, this.tenant, stored);
    if (!event) throw new Error(`Payload object missing for event ${stored.eventId}`);
    return {
      eventId: stored.eventId,
      kind: stored.kind,
      name: stored.name,
      timestamp: stored.timestamp,
      receivedAt: stored.receivedAt,
      attributes: stored.attributes,
      event,
    };
  }
}
