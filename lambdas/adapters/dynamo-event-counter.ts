/**
 * R-BILL-1: the monthly event counter of a tenant's plan quota (lambdas/domain/plan-limits.ts), one Control-table
 * item per tenant and UTC month (`controlKeys.eventQuota`), in a partition ingest's role may write
 * (INGEST_CONTROL_PARTITIONS). One UpdateItem `ADD` returns the new total: no read, and no lost update between
 * containers. The item expires (TTL) at the start of the month after the next.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys';
import type { EventCounter } from '../domain/plan-limits';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { TABLES } from '../shared/tables';
import { dynamoOf } from './dynamo-client';

export class DynamoEventCounter implements EventCounter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async add(tenantId: string, month: string, count: number, expiresAt: number): Promise<number> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: controlKeys.eventQuota(tenantId, month),
        UpdateExpression: 'ADD #events :count SET #ttl = :ttl',
        ExpressionAttributeNames: { '#events': 'events', '#ttl': TABLES.control.ttlAttribute },
        ExpressionAttributeValues: { ':count': count, ':ttl': expiresAt },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.events ?? 0);
  }
}

/** The same counter in memory (unit tests, the benchmark). */
export class MemoryEventCounter implements EventCounter {
  readonly totals = new Map<string, number>();
  /** How many updates reached the counter. */
  updates = 0;

  async add(tenantId: string, month: string, count: number, _expiresAt?: number): Promise<number> {
    this.updates += 1;
    const key = `${tenantId}/${month}`;
    const total = (this.totals.get(key) ?? 0) + count;
    this.totals.set(key, total);
    return total;
  }
}

export const eventCounterOf = (c: Composition): DynamoEventCounter =>
  c.once('event-counter', () => new DynamoEventCounter(dynamoOf(c), c.env.value('control', ENV.controlTable)));
