/**
 * R-BILL-2, R-RET-3: the usage ledger over the BillingLedger table (lib/constructs/billing-ledger.ts), apart from
 * tenant data. Marks (`MARK#<tenant>#<day>`, one item per unit of work) are plain puts of a key derived from the
 * work's id, so writing one twice is writing it once; they are kept 40 days, past Stripe's 35-day window. The day
 * index (`MARKS#<day>`) lists the tenants with usage on a day. Deliveries and settled days (`LEDGER#<tenant>`) are
 * billing records: appended once by a conditional put, kept 7 years.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BILLING_RETENTION_DAYS } from '../domain/billing';
import { ledgerKeys } from '../domain/keys';
import { expiresAtEpochSeconds } from '../domain/retention';
import { addQuantities, USAGE_MARK_RETENTION_DAYS, type UsageDelivery, type UsageLedger, type UsageMark, type UsageMarks, type UsageQuantities } from '../domain/usage';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';
import { deleteKeys, putItems, queryAll } from './dynamo-query';
import { withoutKeys } from './ledger-items';
import { SameTurnWrites } from './same-turn';

/** Marks outlive the window in which their day can still be reported (35 days) by a few days. */

const dayExpiry = (day: string) => expiresAtEpochSeconds(new Date(`${day}T00:00:00.000Z`), USAGE_MARK_RETENTION_DAYS);
const recordExpiry = (at: string) => expiresAtEpochSeconds(new Date(at), BILLING_RETENTION_DAYS);

/** The processor's port: writes marks (and, once per container, the day index) and takes refused ones back. */
export class DynamoUsageMarks implements UsageMarks {
  /** Tenant-days whose index item this container has written: the index is written once, not per batch. */
  private readonly indexed = new Set<string>();

  /** Issue 12: the marks of every tenant of a batch, recorded in the same turn, share their requests (same-turn.ts). */
  private readonly writes: SameTurnWrites<Record<string, unknown>>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.writes = new SameTurnWrites((items) => putItems(db, tableName, items));
  }

  async record(marks: readonly UsageMark[]): Promise<void> {
    const items = new Map<string, Record<string, unknown>>();
    const days = new Set<string>();
    for (const mark of marks) {
      const key = ledgerKeys.mark(mark.tenantId, mark.day, mark.sourceId);
      items.set(`${key.pk}\u0000${key.sk}`, { ...key, q: { ...mark.quantities }, expiresAt: dayExpiry(mark.day) });
      const dayKey = `${mark.day}#${mark.tenantId}`;
      if (!this.indexed.has(dayKey)) {
        days.add(dayKey);
        const index = ledgerKeys.markDay(mark.day, mark.tenantId);
        items.set(`${index.pk}\u0000${index.sk}`, { ...index, expiresAt: dayExpiry(mark.day) });
      }
    }
    await this.writes.write(items);
    for (const day of days) this.indexed.add(day);
  }

  async forget(marks: readonly UsageMark[]): Promise<void> {
    const keys = new Map(marks.map((m) => {
      const key = ledgerKeys.mark(m.tenantId, m.day, m.sourceId);
      return [`${key.pk}\u0000${key.sk}`, key];
    }));
    await deleteKeys(this.db, this.tableName, [...keys.values()]);
  }
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
      ProjectionExpression: 'q',
      ConsistentRead: true,
    });
    const totals: UsageQuantities = {};
    for (const item of items) addQuantities(totals, (item.q ?? {}) as UsageQuantities);
    return totals;
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
