/**
 * BillingLedger over its own table (R-TERM-6): apart from tenant data, so no tenant purge and no tenant-scoped
 * role reaches it. Append-only: an entry is written once, by a conditional put.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BillingLedger, UsageEntry } from '../domain/ports';
import { ledgerKeys } from '../domain/keys';
import { queryAll } from './dynamo-query';
import { conflictingUsage, sameUsage, usageFromItem, usageItem, USAGE_PREFIX } from './ledger-items';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';

export class DynamoBillingLedger implements BillingLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The entry with the latest `throughMinute`: sort keys end with it, so the last one in key order. */
  async lastEntry(tenantId: string): Promise<UsageEntry | undefined> {
    const answer = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :usage)',
        ExpressionAttributeValues: { ':pk': ledgerKeys.usage(tenantId, '').pk, ':usage': USAGE_PREFIX },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = answer.Items?.[0];
    return item && usageFromItem(item);
  }

  /** R-TERM-1: a retried flush that records the same period again succeeds; a different one for it throws. */
  async record(entry: UsageEntry): Promise<void> {
    const item = usageItem(entry);
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.usage(entry.tenantId, entry.throughMinute), ConsistentRead: true }));
    if (!Item || !sameUsage(usageFromItem(Item), entry)) throw conflictingUsage(entry);
  }

  async list(tenantId: string): Promise<UsageEntry[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :usage)',
      ExpressionAttributeValues: { ':pk': ledgerKeys.usage(tenantId, '').pk, ':usage': USAGE_PREFIX },
      ConsistentRead: true,
    });
    return items.map(usageFromItem);
  }
}

export const billingLedgerOf = (c: Composition): DynamoBillingLedger =>
  c.once('ledger', () => new DynamoBillingLedger(dynamoOf(c), c.env.value('ledger', ENV.ledgerTable)));
