/**
 * EventStore over the TenantData table (layout in event-items.ts). Reads and writes go in batches
 * (BatchGetItem of 100 keys, BatchWriteItem of 25 items), and whatever DynamoDB leaves unprocessed is
 * re-sent with backoff, so a throttled batch is neither lost nor duplicated (R-ING-7).
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { StoredEvent } from '../domain/model';
import type { EventQuery, EventStore, Page, Rollup, RollupDelta, SubjectIndexEntry } from '../domain/ports';
import { dataKeys, INDEX } from '../shared/keys';
import {
  assertCounterNames,
  eventIdFromPk,
  eventIdFromSubjectSk,
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
  type ItemKey,
  type ReadPartition,
  type ReadStream,
} from './event-items';
import { deleteKeys, queryAll } from './dynamo-query';
import { chunk, DEFAULT_RETRY, forEachLimited, sendUntilProcessed, type RetryPolicy } from './retry';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';

/** DynamoDB's per-request limits. */
const BATCH_GET_KEYS = 100;
const BATCH_WRITE_ITEMS = 25;
/** Rollup updates in flight at once: enough to hide latency, few enough not to provoke throttling. */
const ROLLUP_CONCURRENCY = 8;

type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: ItemKey } };

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  async existingEventIds(tenantId: string, eventIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const keys = [...new Set(eventIds)].map((eventId) => dataKeys.event(tenantId, eventId));
    for (const keysChunk of chunk(keys, BATCH_GET_KEYS)) {
      await sendUntilProcessed<Item>('BatchGetItem', keysChunk, async (pending) => {
        const answer = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: [...pending], ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': 'pk' } } },
          }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) found.add(eventIdFromPk(tenantId, item.pk as string));
        return answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }, this.retry);
    }
    return found;
  }

  async putEvents(events: readonly StoredEvent[], subjects: readonly SubjectIndexEntry[]): Promise<void> {
    const items = [...events.map(eventItem), ...subjects.map(subjectItem)];
    await this.write(uniqueByKey(items).map((item) => ({ PutRequest: { Item: item } })));
  }

  async deleteEvents(events: readonly Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>[]): Promise<void> {
    const keys = uniqueByKey(events.flatMap(eventKeys));
    await this.write(keys.map((key) => ({ DeleteRequest: { Key: key } })));
  }

  async deleteSubjectEntries(tenantId: string, subjectHash: string, eventIds: readonly string[]): Promise<void> {
    const keys = [...new Set(eventIds)].map((eventId) => dataKeys.subject(tenantId, subjectHash, eventId));
    await this.write(keys.map((key) => ({ DeleteRequest: { Key: key } })));
  }

  async applyRollups(deltas: readonly RollupDelta[]): Promise<void> {
    deltas.forEach(assertCounterNames);
    await forEachLimited(deltas, ROLLUP_CONCURRENCY, async (delta) => {
      const counters = Object.entries(delta.add);
      // Counter names come from the domain (`h<bucket>`…); names stand in for them and for reserved words (MINUTE).
      const names = Object.fromEntries(counters.map(([name], i) => [`#c${i}`, name]));
      const values = Object.fromEntries(counters.map(([, value], i) => [`:c${i}`, value]));
      const add = counters.length > 0 ? ` ADD ${counters.map((_, i) => `#c${i} :c${i}`).join(', ')}` : '';
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: dataKeys.rollup(delta.tenantId, delta.minute, delta.series),
          UpdateExpression: `SET #tenantId = :tenantId, #minute = :minute, #series = :series, #expiresAt = :expiresAt${add}`,
          ExpressionAttributeNames: { ...names, '#tenantId': 'tenantId', '#minute': 'minute', '#series': 'series', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: {
            ...values,
            ':tenantId': delta.tenantId,
            ':minute': delta.minute,
            ':series': delta.series,
            ':expiresAt': delta.expiresAt,
          },
        }),
      );
    });
  }

  async getEvent(tenantId: string, eventId: string): Promise<StoredEvent | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: dataKeys.event(tenantId, eventId) }));
    return Item && isReadable(Item) ? storedEventFromItem(Item) : undefined;
  }

  async queryEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const read: ReadStream = async (stream, range, startAfter, limit) => {
      const answer = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: stream.index,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
          ExpressionAttributeNames: { '#pk': stream.partitionKeyName, '#sk': stream.sortKeyName },
          ExpressionAttributeValues: { ':pk': stream.partitionKey, ':low': range.low, ':high': range.high },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: startAfter,
        }),
      );
      return { items: answer.Items ?? [], lastKey: answer.LastEvaluatedKey as ItemKey | undefined };
    };
    return pageEvents(query, read);
  }

  async queryRollups(tenantId: string, fromMinute: string, toMinute: string, series?: string): Promise<Rollup[]> {
    const range = sortKeyRange(fromMinute, toMinute);
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
      FilterExpression: series === undefined ? undefined : '#series = :series',
      ExpressionAttributeNames: series === undefined ? undefined : { '#series': 'series' },
      ExpressionAttributeValues: {
        ':pk': dataKeys.rollup(tenantId, fromMinute, '').pk,
        ':low': range.low,
        ':high': range.high,
        ...(series === undefined ? {} : { ':series': series }),
      },
    });
    return items.map(rollupFromItem);
  }

  /** Strongly consistent: an erasure's verification must see the deletions it just made (R-DSR-2). */
  async subjectEventIds(tenantId: string, subjectHash: string): Promise<string[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': dataKeys.subject(tenantId, subjectHash, '').pk },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    });
    return items.map((item) => eventIdFromSubjectSk(item.sk as string));
  }

  /** In the order asked, each id once; consistent reads, so a workflow sees what it wrote a moment ago. */
  async getEvents(tenantId: string, eventIds: readonly string[]): Promise<StoredEvent[]> {
    const unique = [...new Set(eventIds)];
    const found = new Map<string, Item>();
    for (const idsChunk of chunk(unique, BATCH_GET_KEYS)) {
      const keys = idsChunk.map((eventId) => dataKeys.event(tenantId, eventId));
      await sendUntilProcessed<ItemKey>('BatchGetItem', keys, async (pending) => {
        const answer = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: [...pending], ConsistentRead: true } } }));
        for (const item of answer.Responses?.[this.tableName] ?? []) found.set(item.eventId as string, item);
        return (answer.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as ItemKey[];
      }, this.retry);
    }
    return unique.flatMap((eventId) => {
      const item = found.get(eventId);
      return item ? [storedEventFromItem(item)] : [];
    });
  }

  async tenantEvents(tenantId: string, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    const read: ReadPartition = async (partitionKey, startAfter, pageLimit) => {
      const answer = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.byKind,
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': partitionKey },
          Limit: pageLimit,
          ExclusiveStartKey: startAfter,
        }),
      );
      return { items: answer.Items ?? [], lastKey: answer.LastEvaluatedKey as ItemKey | undefined };
    };
    return pageTenantEvents(tenantId, limit, cursor, read);
  }

  /** Page by page (a tenant may hold many minutes × series), each page deleted before the next is read. */
  async deleteRollups(tenantId: string): Promise<number> {
    let deleted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const answer = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': dataKeys.rollup(tenantId, '', '').pk },
          ProjectionExpression: 'pk, sk',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      const keys = answer.Items ?? [];
      await deleteKeys(this.db, this.tableName, keys, this.retry);
      deleted += keys.length;
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }

  private async write(requests: readonly WriteRequest[]): Promise<void> {
    for (const requestChunk of chunk(requests, BATCH_WRITE_ITEMS)) {
      await sendUntilProcessed<WriteRequest>('BatchWriteItem', requestChunk, async (pending) => {
        const answer = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: [...pending] } }));
        return (answer.UnprocessedItems?.[this.tableName] ?? []) as WriteRequest[];
      }, this.retry);
    }
  }
}

/** BatchWriteItem refuses two requests for one key; the last one wins, as it would in sequence. */
function uniqueByKey<T extends Item>(values: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const value of values) byKey.set(`${value.pk as string}\u0000${value.sk as string}`, value);
  return [...byKey.values()];
}

/** Events, subject index and rollups in the TenantData table, with the function's own credentials. */
export const eventStoreOf = (c: Composition): DynamoEventStore =>
  c.once('store', () => new DynamoEventStore(dynamoOf(c), c.env.value('tenantData', ENV.dataTable)));
