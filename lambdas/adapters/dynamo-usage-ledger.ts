/**
 * R-BILL-2, R-RET-3: the usage ledger over the BillingLedger table (lib/constructs/billing-ledger.ts), apart from
 * tenant data. Marks live in `MARK#<tenant>#<day>` partitions, kept 40 days, past Stripe's 35-day window. The day
 * index (`MARKS#<day>`) lists the tenants with usage on a day. Deliveries and settled days (`LEDGER#<tenant>`) are
 * billing records: appended once by a conditional put, kept 7 years.
 *
 * Issue 12: marks are written in pages, not one item per unit of work: each call writes, per tenant and day, one
 * item `P#<pageId>` whose map `m` holds its marks by source id (a taken-back mark: null). Pages are only ever added
 * (plain puts, shared across the tenants of a batch), and a reader takes, per source id, the entry of the last page
 * that names it (page ids sort in writing order: time, then a per-container sequence). So a mark written twice
 * counts once, a take-back undoes every earlier write of it, and a later mark (a redrive) counts again: what one
 * item per source id, put and deleted, gave (MemoryUsageMarks, the twin, is that item per source id; the adapter
 * tests hold the two equal), at a fraction of its write units: 500 marks in one ~30 KB page cost ~30 WRU, not 500.
 * Single-mark items (`S#<sourceId>`, the layout before pages) are still read, as older than every page.
 */
import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BILLING_RETENTION_DAYS } from '../domain/billing';
import { ledgerKeys } from '../domain/keys';
import { expiresAtEpochSeconds } from '../domain/retention';
import { addQuantities, USAGE_MARK_RETENTION_DAYS, type UsageDelivery, type UsageLedger, type UsageMark, type UsageMarks, type UsageQuantities } from '../domain/usage';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';
import { putItems, queryAll } from './dynamo-query';
import { withoutKeys } from './ledger-items';
import { chunk } from './retry';
import { SameTurnWrites } from './same-turn';

/** Marks outlive the window in which their day can still be reported (35 days) by a few days. */

const dayExpiry = (day: string) => expiresAtEpochSeconds(new Date(`${day}T00:00:00.000Z`), USAGE_MARK_RETENTION_DAYS);
const recordExpiry = (at: string) => expiresAtEpochSeconds(new Date(at), BILLING_RETENTION_DAYS);

/**
 * Marks per page. An entry is a source id (an event id: at most 160 bytes, ingest's bound) and its quantities (two
 * meters: ~60 bytes), so a page of 1,000 stays under ~230 KB, within DynamoDB's 400 KB item (test/adapters/
 * usage-marks.test.ts fills one with the longest ids).
 */
export const MARKS_PER_PAGE = 1_000;

/** A page's entries: a mark's quantities, or null where it was taken back. */
type PageEntries = Record<string, UsageQuantities | null>;

/** The processor's and the AI function's port: writes mark pages (and, once per container, the day index). */
export class DynamoUsageMarks implements UsageMarks {
  /** Tenant-days whose index item this container has written: the index is written once, not per batch. */
  private readonly indexed = new Set<string>();

  /** Issue 12: the pages of every tenant of a batch, written in the same turn, share their requests (same-turn.ts). */
  private readonly writes: SameTurnWrites<Record<string, unknown>>;

  /** Page ids: this container's clock (never going back), a sequence within a millisecond, and a random tail. */
  private readonly container = randomBytes(4).toString('hex');
  private lastMs = 0;
  private sequence = 0;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.writes = new SameTurnWrites((items) => putItems(db, tableName, items));
  }

  async record(marks: readonly UsageMark[]): Promise<void> {
    const items = this.pages(marks, (mark) => ({ ...mark.quantities }));
    const days = new Set<string>();
    for (const mark of marks) {
      const dayKey = `${mark.day}#${mark.tenantId}`;
      if (this.indexed.has(dayKey) || days.has(dayKey)) continue;
      days.add(dayKey);
      const index = ledgerKeys.markDay(mark.day, mark.tenantId);
      items.set(`${index.pk}\u0000${index.sk}`, { ...index, expiresAt: dayExpiry(mark.day) });
    }
    await this.writes.write(items);
    for (const day of days) this.indexed.add(day);
  }

  /** A page of take-backs: later than every page that marked them, so they count no more (until marked again). */
  async forget(marks: readonly UsageMark[]): Promise<void> {
    await this.writes.write(this.pages(marks, () => null));
  }

  /** One page per tenant and day (more past MARKS_PER_PAGE), keyed as SameTurnWrites takes them. */
  private pages(marks: readonly UsageMark[], entry: (mark: UsageMark) => UsageQuantities | null): Map<string, Record<string, unknown>> {
    const byPartition = new Map<string, { tenantId: string; day: string; entries: Map<string, UsageQuantities | null> }>();
    for (const mark of marks) {
      const partition = `${mark.tenantId}#${mark.day}`;
      let page = byPartition.get(partition);
      if (!page) byPartition.set(partition, (page = { tenantId: mark.tenantId, day: mark.day, entries: new Map() }));
      // A source named twice in one call: its last entry, as a second put of one item would leave it.
      page.entries.set(mark.sourceId, entry(mark));
    }
    const items = new Map<string, Record<string, unknown>>();
    for (const { tenantId, day, entries } of byPartition.values()) {
      for (const part of chunk([...entries], MARKS_PER_PAGE)) {
        const key = ledgerKeys.markPage(tenantId, day, this.nextPageId());
        const m: PageEntries = Object.fromEntries(part);
        items.set(`${key.pk}\u0000${key.sk}`, { ...key, m, expiresAt: dayExpiry(day) });
      }
    }
    return items;
  }

  private nextPageId(): string {
    const now = Math.max(Date.now(), this.lastMs);
    this.sequence = now === this.lastMs ? this.sequence + 1 : 0;
    this.lastMs = now;
    return `${now.toString(36).padStart(9, '0')}${this.sequence.toString(36).padStart(4, '0')}${this.container}`;
  }
}

/** The day's totals from its mark items: per source id, the last entry written (see the module comment). */
function totalsOfMarkItems(items: readonly Record<string, unknown>[]): UsageQuantities {
  const latest = new Map<string, UsageQuantities | null>();
  const sk = (item: Record<string, unknown>) => String(item.sk);
  // Single marks (the layout before pages) first: every page was written after them. Pages in page-id order.
  for (const item of items) if (sk(item).startsWith('S#')) latest.set(sk(item).slice('S#'.length), (item.q ?? {}) as UsageQuantities);
  const pages = items.filter((item) => sk(item).startsWith('P#')).sort((a, b) => (sk(a) < sk(b) ? -1 : sk(a) > sk(b) ? 1 : 0));
  for (const page of pages) for (const [sourceId, entry] of Object.entries((page.m ?? {}) as PageEntries)) latest.set(sourceId, entry);
  const totals: UsageQuantities = {};
  for (const quantities of latest.values()) if (quantities) addQuantities(totals, quantities);
  return totals;
}

/** The reporter's and the reconciliation's port. */
export class DynamoUsageLedger implements UsageLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async tenantsWithUsage(day: string): Promise<string[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `MARKS#${day}` },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    });
    return items.map((item) => item.sk as string);
  }

  async hasUsage(tenantId: string, day: string): Promise<boolean> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.markDay(day, tenantId), ConsistentRead: true }));
    return Item !== undefined;
  }

  async dayTotals(tenantId: string, day: string): Promise<UsageQuantities> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': ledgerKeys.mark(tenantId, day, '').pk },
      ProjectionExpression: '#sk, #q, #m',
      ExpressionAttributeNames: { '#sk': 'sk', '#q': 'q', '#m': 'm' },
      ConsistentRead: true,
    });
    return totalsOfMarkItems(items);
  }

  async deliveries(tenantId: string, day: string): Promise<UsageDelivery[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': ledgerKeys.settled(tenantId, day).pk, ':prefix': `SENT#${day}#` },
      ConsistentRead: true,
    });
    return items.map((item) => withoutKeys<UsageDelivery>(item));
  }

  async recordDelivery(delivery: UsageDelivery): Promise<void> {
    const key = ledgerKeys.delivery(delivery.tenantId, delivery.day, delivery.meter, delivery.revision);
    if (await this.append({ ...delivery, ...key, expiresAt: recordExpiry(delivery.deliveredAt) })) return;
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    if (Item?.identifier !== delivery.identifier) {
      throw new Error(`Usage ledger already holds another delivery for '${delivery.tenantId}' ${delivery.day} ${delivery.meter} revision ${delivery.revision}`);
    }
  }

  async isSettled(tenantId: string, day: string): Promise<boolean> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.settled(tenantId, day), ConsistentRead: true }));
    return Item !== undefined;
  }

  async settle(tenantId: string, day: string, totals: UsageQuantities, at: string): Promise<void> {
    await this.append({ ...ledgerKeys.settled(tenantId, day), tenantId, day, totals: { ...totals }, settledAt: at, expiresAt: recordExpiry(at) });
  }

  /** Append-only: false when the item exists already. */
  private async append(item: Record<string, unknown>): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}

export const usageMarksOf = (c: Composition): DynamoUsageMarks =>
  c.once('usageMarks', () => new DynamoUsageMarks(dynamoOf(c), c.env.value('usage', ENV.ledgerTable)));
export const usageLedgerOf = (c: Composition): DynamoUsageLedger =>
  c.once('usageLedger', () => new DynamoUsageLedger(dynamoOf(c), c.env.value('ledger', ENV.ledgerTable)));
