/**
 * How events, subject index entries and rollups are laid out as TenantData items, and how an event query (and a
 * termination's walk over a whole tenant) pages through the GSIs. Shared by the DynamoDB store and its in-memory
 * twin, so both page the same way.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DomainError, type EventKind, type StoredEvent } from '../domain/model';
import type { EventQuery, Page, Rollup, RollupDelta, SubjectIndexEntry } from '../domain/ports';
import { DYNAMODB_LIMITS, utf8Bytes } from '../domain/aws-limits';
import { dataKeys, INDEX, tenantPrefix } from '../domain/keys';

export type Item = Record<string, unknown>;
/** A DynamoDB key: the table key plus, for a GSI query, the index key. */
export type ItemKey = Record<string, string>;

/**
 * R-DSR-3: a quarantined event keeps its table key (the processor's idempotency gate still sees it) but sits in
 * the tenant's quarantine partition of GSI1 and in no GSI2 partition, so no read by kind or name can reach it.
 */
export function eventItem(event: StoredEvent): Item {
  const timeSort = dataKeys.timeSort(event.timestamp, event.eventId);
  const indexKeys: Item = event.quarantined
    ? { gsi1pk: dataKeys.quarantine(event.tenantId), gsi1sk: timeSort }
    : {
        gsi1pk: dataKeys.byKind(event.tenantId, event.kind),
        gsi1sk: timeSort,
        gsi2pk: dataKeys.byName(event.tenantId, event.kind, event.name),
        gsi2sk: timeSort,
      };
  return {
    ...dataKeys.event(event.tenantId, event.eventId),
    ...indexKeys,
    tenantId: event.tenantId,
    eventId: event.eventId,
    kind: event.kind,
    name: event.name,
    timestamp: event.timestamp,
    receivedAt: event.receivedAt,
    // Copies, so the item shares nothing with the event it was made from (the in-memory store keeps items as made).
    attributes: { ...event.attributes },
    body: { ...event.body },
    subjects: [...event.subjects],
    expiresAt: event.expiresAt,
    // Written only when set, so an event reads back exactly as it was stored.
    ...(event.quarantined === undefined ? {} : { quarantined: event.quarantined }),
    ...(event.rollupPending === undefined ? {} : { rollupPending: event.rollupPending }),
  };
}

/** An item in DynamoDB's wire format (AttributeValue maps), as the low-level client sends it. */
export type WireItem = Record<string, AttributeValue>;

const wireString = (value: string): AttributeValue => ({ S: value });
/** As lib-dynamodb marshals a number: its JavaScript string form. */
const wireNumber = (value: number): AttributeValue => ({ N: String(value) });

/**
 * Issue 12: eventItem straight in DynamoDB's wire format, one object per attribute and no second pass: what
 * lib-dynamodb's marshall would make of eventItem(event) (test/adapters/event-items-wire.test.ts holds them equal),
 * at a fraction of its cost on the processor's hot path.
 */
export function eventWireItem(event: StoredEvent): WireItem {
  const key = dataKeys.event(event.tenantId, event.eventId);
  const timeSort = wireString(dataKeys.timeSort(event.timestamp, event.eventId));
  const attributes: WireItem = {};
  for (const name in event.attributes) {
    const value = event.attributes[name];
    if (value !== undefined) attributes[name] = typeof value === 'number' ? wireNumber(value) : wireString(value);
  }
  const item: WireItem = { pk: wireString(key.pk), sk: wireString(key.sk) };
  if (event.quarantined) {
    item.gsi1pk = wireString(dataKeys.quarantine(event.tenantId));
    item.gsi1sk = timeSort;
  } else {
    item.gsi1pk = wireString(dataKeys.byKind(event.tenantId, event.kind));
    item.gsi1sk = timeSort;
    item.gsi2pk = wireString(dataKeys.byName(event.tenantId, event.kind, event.name));
    item.gsi2sk = timeSort;
  }
  item.tenantId = wireString(event.tenantId);
  item.eventId = wireString(event.eventId);
  item.kind = wireString(event.kind);
  item.name = wireString(event.name);
  item.timestamp = wireString(event.timestamp);
  item.receivedAt = wireString(event.receivedAt);
  item.attributes = { M: attributes };
  item.body = { M: 'inline' in event.body ? { inline: wireString(event.body.inline) } : { objectKey: wireString(event.body.objectKey) } };
  item.subjects = { L: event.subjects.map(wireString) };
  item.expiresAt = wireNumber(event.expiresAt);
  if (event.quarantined !== undefined) item.quarantined = { BOOL: event.quarantined };
  if (event.rollupPending !== undefined) item.rollupPending = { BOOL: event.rollupPending };
  return item;
}

/** subjectItem in DynamoDB's wire format. */
export function subjectWireItem(entry: SubjectIndexEntry): WireItem {
  const key = dataKeys.subject(entry.tenantId, entry.subjectHash, entry.eventId);
  return {
    pk: wireString(key.pk),
    sk: wireString(key.sk),
    tenantId: wireString(entry.tenantId),
    subjectHash: wireString(entry.subjectHash),
    eventId: wireString(entry.eventId),
    expiresAt: wireNumber(entry.expiresAt),
  };
}

/**
 * DynamoDB's size of an item, before marshalling: attribute names plus values, in UTF-8 bytes; a list or map
 * costs 3 bytes plus 1 per element. A number is counted at its largest (38 digits: 21 bytes), so the estimate is
 * never below what DynamoDB measures.
 */
export function itemBytes(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + (value === undefined ? 0 : utf8Bytes(name) + valueBytes(value)), 0);
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') return 21;
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element) => sum + 1 + valueBytes(element), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value as Item).reduce((sum, [name, v]) => sum + (v === undefined ? 0 : 1 + utf8Bytes(name) + valueBytes(v)), 0);
  }
  return 0;
}

const stringAttribute = (name: string, value: string) => utf8Bytes(name) + utf8Bytes(value);

/**
 * Issue 12: itemBytes(eventItem(event)), counted without building the item (the processor asks once per record):
 * test/adapters/event-items-wire.test.ts holds the two equal.
 */
export function eventItemBytes(event: StoredEvent): number {
  const key = dataKeys.event(event.tenantId, event.eventId);
  const timeSort = dataKeys.timeSort(event.timestamp, event.eventId);
  let bytes = stringAttribute('pk', key.pk) + stringAttribute('sk', key.sk);
  bytes += event.quarantined
    ? stringAttribute('gsi1pk', dataKeys.quarantine(event.tenantId)) + stringAttribute('gsi1sk', timeSort)
    : stringAttribute('gsi1pk', dataKeys.byKind(event.tenantId, event.kind)) + stringAttribute('gsi1sk', timeSort) +
      stringAttribute('gsi2pk', dataKeys.byName(event.tenantId, event.kind, event.name)) + stringAttribute('gsi2sk', timeSort);
  bytes += stringAttribute('tenantId', event.tenantId) + stringAttribute('eventId', event.eventId) + stringAttribute('kind', event.kind);
  bytes += stringAttribute('name', event.name) + stringAttribute('timestamp', event.timestamp) + stringAttribute('receivedAt', event.receivedAt);
  bytes += utf8Bytes('attributes') + valueBytes(event.attributes) + utf8Bytes('body') + valueBytes(event.body);
  bytes += utf8Bytes('subjects') + valueBytes(event.subjects) + utf8Bytes('expiresAt') + valueBytes(event.expiresAt);
  if (event.quarantined !== undefined) bytes += utf8Bytes('quarantined') + 1;
  if (event.rollupPending !== undefined) bytes += utf8Bytes('rollupPending') + 1;
  return bytes;
}

/** R-ING-7: whether the event's item, as eventItem lays it out, is within DynamoDB's 400 KB. */
export const eventFitsOneItem = (event: StoredEvent): boolean => eventItemBytes(event) <= DYNAMODB_LIMITS.itemBytes;

export function storedEventFromItem(item: Item): StoredEvent {
  return {
    tenantId: item.tenantId as string,
    eventId: item.eventId as string,
    kind: item.kind as EventKind,
    name: item.name as string,
    timestamp: item.timestamp as string,
    receivedAt: item.receivedAt as string,
    attributes: item.attributes as StoredEvent['attributes'],
    body: item.body as StoredEvent['body'],
    subjects: item.subjects as string[],
    expiresAt: item.expiresAt as number,
    ...(typeof item.quarantined === 'boolean' ? { quarantined: item.quarantined } : {}),
    ...(typeof item.rollupPending === 'boolean' ? { rollupPending: item.rollupPending } : {}),
  };
}

/** R-DSR-3: what a read may show; a quarantined event is invisible to every read. */
export const isReadable = (item: Item): boolean => item.quarantined !== true;

export function subjectItem(entry: SubjectIndexEntry): Item {
  return {
    ...dataKeys.subject(entry.tenantId, entry.subjectHash, entry.eventId),
    tenantId: entry.tenantId,
    subjectHash: entry.subjectHash,
    eventId: entry.eventId,
    expiresAt: entry.expiresAt,
  };
}

/** Keys of an event item and of the subject index items that point to it. */
export function eventKeys(event: Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>): ItemKey[] {
  return [
    dataKeys.event(event.tenantId, event.eventId),
    ...event.subjects.map((subject) => dataKeys.subject(event.tenantId, subject, event.eventId)),
  ];
}

/** The event id of a subject index entry's sort key `EV#<eventId>`. */
export function eventIdFromSubjectSk(sk: string): string {
  return sk.slice('EV#'.length);
}

/** The event id of an event item's partition key `T#<tenant>#EV#<eventId>`. */
export function eventIdFromPk(tenantId: string, pk: string): string {
  return pk.slice(`${tenantPrefix(tenantId)}EV#`.length);
}

/** Attributes of a rollup item that are not counters. */
const ROLLUP_FIELDS = new Set(['pk', 'sk', 'tenantId', 'minute', 'series', 'expiresAt']);

export function assertCounterNames(delta: RollupDelta): void {
  for (const name of Object.keys(delta.add)) {
    if (ROLLUP_FIELDS.has(name)) throw new Error(`Rollup counter '${name}' collides with an item attribute`);
  }
}

export function rollupFromItem(item: Item): Rollup {
  const counters: Record<string, number> = {};
  for (const [name, value] of Object.entries(item)) if (!ROLLUP_FIELDS.has(name)) counters[name] = value as number;
  return { minute: item.minute as string, series: item.series as string, counters };
}

/** Inclusive bounds of a sort key `<iso time or minute>#…`; `\uffff` sorts after every character we write. */
export function sortKeyRange(from: string | undefined, to: string | undefined): { readonly low: string; readonly high: string } {
  return { low: from ?? '', high: `${to ?? '9999'}\uffff` };
}

const ALL_KINDS: readonly EventKind[] = ['event', 'api_call', 'metric', 'webhook'];

/** One GSI partition that an event query reads, newest first. */
export interface EventStream {
  readonly kind: EventKind;
  readonly index: string;
  readonly partitionKeyName: 'gsi1pk' | 'gsi2pk';
  readonly sortKeyName: 'gsi1sk' | 'gsi2sk';
  readonly partitionKey: string;
}

/** A query by name reads GSI2; by kind, GSI1; with neither, the four kinds' GSI1 partitions, merged by time. */
export function streamsFor(query: EventQuery): EventStream[] {
  if (query.name !== undefined && query.kind === undefined) {
    throw new DomainError('invalid_request', 'A query by name needs a kind', 400);
  }
  if (query.kind !== undefined && !ALL_KINDS.includes(query.kind as EventKind)) {
    throw new DomainError('invalid_request', `Unknown kind '${query.kind}'`, 400);
  }
  const kinds = query.kind ? [query.kind as EventKind] : ALL_KINDS;
  return kinds.map((kind) =>
    query.name !== undefined
      ? { kind, index: INDEX.byName, partitionKeyName: 'gsi2pk', sortKeyName: 'gsi2sk', partitionKey: dataKeys.byName(query.tenantId, kind, query.name) }
      : { kind, index: INDEX.byKind, partitionKeyName: 'gsi1pk', sortKeyName: 'gsi1sk', partitionKey: dataKeys.byKind(query.tenantId, kind) },
  );
}

/** Where each stream resumes: a key, `undefined` to start at the top, `null` when it is exhausted. */
type Positions = Partial<Record<EventKind, ItemKey | null>>;

const inRange = (sortKey: string | undefined, range: { readonly low: string; readonly high: string }) =>
  typeof sortKey === 'string' && sortKey !== '' && sortKey >= range.low && sortKey <= range.high;

const invalidCursor = () => new DomainError('invalid_request', 'Invalid cursor', 400);

export function encodeCursor(positions: Positions): string {
  return Buffer.from(JSON.stringify(positions), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor and checks that every key in it lies in this query's own partitions (R-SEC-4): a cursor
 * forged or copied from another tenant or another query is refused, never used as an ExclusiveStartKey.
 */
export function decodeCursor(
  cursor: string,
  tenantId: string,
  streams: readonly EventStream[],
  range: { readonly low: string; readonly high: string } = sortKeyRange(undefined, undefined),
): Positions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidCursor();
  const positions: Positions = {};
  for (const [kind, key] of Object.entries(parsed)) {
    const stream = streams.find((s) => s.kind === kind);
    if (!stream) throw invalidCursor();
    if (key === null) {
      positions[stream.kind] = null;
      continue;
    }
    const expected = ['pk', 'sk', stream.partitionKeyName, stream.sortKeyName];
    const valid =
      typeof key === 'object' &&
      Object.keys(key).length === expected.length &&
      expected.every((name) => typeof (key as Item)[name] === 'string') &&
      (key as ItemKey)[stream.partitionKeyName] === stream.partitionKey &&
      (key as ItemKey).pk.startsWith(tenantPrefix(tenantId)) &&
      // Issue 10: bound to this query's range, and never an empty key attribute (DynamoDB answers that with a
      // ValidationException, a 500): a cursor of another query, or a forged one, is refused here.
      (key as ItemKey).sk !== '' &&
      inRange((key as ItemKey)[stream.sortKeyName], range);
    if (!valid) throw invalidCursor();
    positions[stream.kind] = key as ItemKey;
  }
  return positions;
}

/** One page of one stream, newest first, within the query's time range. */
export type ReadStream = (
  stream: EventStream,
  range: { readonly low: string; readonly high: string },
  startAfter: ItemKey | undefined,
  limit: number,
) => Promise<{ readonly items: Item[]; readonly lastKey?: ItemKey }>;

/** Reads one page of events: each stream once, merged newest first, with a cursor that resumes every stream. */
export async function pageEvents(query: EventQuery, read: ReadStream): Promise<Page<StoredEvent>> {
  if (!Number.isInteger(query.limit) || query.limit < 1) throw new DomainError('invalid_request', 'limit must be a positive integer', 400);
  const streams = streamsFor(query);
  const range = sortKeyRange(query.from, query.to);
  const positions = query.cursor ? decodeCursor(query.cursor, query.tenantId, streams, range) : {};
  const pages = await Promise.all(
    streams.map(async (stream) => {
      const start = positions[stream.kind];
      return { stream, start, ...(start === null ? { items: [] as Item[] } : await read(stream, range, start, query.limit)) };
    }),
  );
  const candidates = pages.flatMap((page) => page.items.map((item) => ({ page, item })));
  candidates.sort((a, b) => compareDesc(a.item[a.page.stream.sortKeyName] as string, b.item[b.page.stream.sortKeyName] as string));
  const taken = candidates.slice(0, query.limit);

  const next: Positions = {};
  for (const page of pages) {
    const mine = taken.filter((c) => c.page === page);
    const { partitionKeyName, sortKeyName } = page.stream;
    if (mine.length === 0) {
      next[page.stream.kind] = page.items.length === 0 && !page.lastKey ? null : (page.start ?? undefined);
    } else if (mine.length === page.items.length && !page.lastKey) {
      next[page.stream.kind] = null;
    } else {
      const last = mine[mine.length - 1].item;
      next[page.stream.kind] = pickKey(last, ['pk', 'sk', partitionKeyName, sortKeyName]);
    }
  }
  const exhausted = Object.values(next).every((position) => position === null);
  return { items: taken.map((c) => storedEventFromItem(c.item)), ...(exhausted ? {} : { cursor: encodeCursor(next) }) };
}

function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

function pickKey(item: Item, names: readonly string[]): ItemKey {
  return Object.fromEntries(names.map((name) => [name, item[name] as string]));
}

/**
 * The GSI1 partitions that together hold every event of a tenant: one per kind, then the quarantine partition
 * (R-DSR-3). A termination's export and purge walk them in this order (R-TERM-2, R-TERM-3).
 */
export function tenantPartitions(tenantId: string): string[] {
  return [...ALL_KINDS.map((kind) => dataKeys.byKind(tenantId, kind)), dataKeys.quarantine(tenantId)];
}

/** One page of one GSI1 partition, oldest first, after `startAfter`. */
export type ReadPartition = (
  partitionKey: string,
  startAfter: ItemKey | undefined,
  limit: number,
) => Promise<{ readonly items: Item[]; readonly lastKey?: ItemKey }>;

interface TenantCursor {
  /** Index into tenantPartitions(). */
  readonly p: number;
  /** Where that partition resumes; absent: at its start. */
  readonly k?: ItemKey;
}

const TENANT_CURSOR_KEY = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const;

function decodeTenantCursor(cursor: string, tenantId: string, partitions: readonly string[]): TenantCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const { p, k } = (parsed ?? {}) as { p?: unknown; k?: unknown };
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= partitions.length) throw invalidCursor();
  if (k === undefined) return { p };
  // R-SEC-4: a key from another tenant or partition is refused, never used as an ExclusiveStartKey.
  const valid =
    typeof k === 'object' &&
    k !== null &&
    Object.keys(k).length === TENANT_CURSOR_KEY.length &&
    TENANT_CURSOR_KEY.every((name) => typeof (k as Item)[name] === 'string') &&
    (k as ItemKey).gsi1pk === partitions[p] &&
    (k as ItemKey).pk.startsWith(tenantPrefix(tenantId));
  if (!valid) throw invalidCursor();
  return { p, k: k as ItemKey };
}

const encodeTenantCursor = (position: TenantCursor) => Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');

/**
 * Every event of a tenant, a page at a time: the partitions in order, each oldest first. The cursor names the
 * partition and the key to resume after; a page that ends with a partition points at the next one.
 */
export async function pageTenantEvents(tenantId: string, limit: number, cursor: string | undefined, read: ReadPartition): Promise<Page<StoredEvent>> {
  if (!Number.isInteger(limit) || limit < 1) throw new DomainError('invalid_request', 'limit must be a positive integer', 400);
  const partitions = tenantPartitions(tenantId);
  let position: TenantCursor = cursor ? decodeTenantCursor(cursor, tenantId, partitions) : { p: 0 };
  const items: Item[] = [];
  while (items.length < limit) {
    const page = await read(partitions[position.p], position.k, limit - items.length);
    items.push(...page.items);
    if (page.lastKey) {
      position = { p: position.p, k: pickKey(page.lastKey, TENANT_CURSOR_KEY) };
      continue;
    }
    if (position.p + 1 >= partitions.length) return { items: items.map(storedEventFromItem) };
    position = { p: position.p + 1 };
  }
  return { items: items.map(storedEventFromItem), cursor: encodeTenantCursor(position) };
}
