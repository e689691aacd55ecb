/**
 * EventStore over the TenantData table (layout in event-items.ts). Reads and writes go in batches
 * (BatchGetItem of 100 keys, BatchWriteItem of 25 items), and whatever DynamoDB leaves unprocessed is
 * re-sent with backoff, so a throttled batch is neither lost nor duplicated (R-ING-7).
 */
import { BatchWriteItemCommand, QueryCommand as RawQueryCommand, UpdateItemCommand, type AttributeValue, type WriteRequest as WireWriteRequest } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { StoredEvent } from '../domain/model';
import { ROLLUP_COUNTERS_PER_UPDATE, type EventQuery, type EventStore, type Page, type Rollup, type RollupDelta, type SubjectIndexEntry } from '../domain/ports';
import { DYNAMODB_LIMITS, utf8Bytes } from '../domain/aws-limits';
import { dataKeys, INDEX } from '../domain/keys';
import { storeCall } from './aws-errors';
import {
  assertCounterNames,
  eventIdFromPk,
  eventFitsOneItem,
  eventIdFromSubjectSk,
  eventKeys,
  eventWireItem,
  isReadable,
  pageEvents,
  pageTenantEvents,
  rollupFromItem,
  sortKeyRange,
  storedEventFromItem,
  subjectWireItem,
  type Item,
  type ItemKey,
  type ReadPartition,
  type ReadStream,
  type WireItem,
} from './event-items';
import { deleteKeys, queryAll } from './dynamo-query';
import { chunk, DEFAULT_RETRY, forEachLimited, REQUESTS_IN_FLIGHT, sendUntilProcessed, type RetryPolicy } from './retry';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';
import { SameTurn, SameTurnWrites } from './same-turn';

/** DynamoDB's per-request limits. */
const { batchGetKeys: BATCH_GET_KEYS, batchWriteRequests: BATCH_WRITE_ITEMS } = DYNAMODB_LIMITS;

type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: ItemKey } };

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  async existingEventIds(tenantId: string, eventIds: readonly string[]): Promise<Set<string>> {
    const keys = [...new Set(eventIds)].map((eventId) => dataKeys.event(tenantId, eventId));
    const found = await this.existence.join(keys);
    return new Set(keys.filter((key) => found.has(key.pk)).map((key) => eventIdFromPk(tenantId, key.pk)));
  }

  /**
   * Issue 12: the processor asks once per tenant of a batch, all in the same turn of the event loop; the keys asked
   * for in one turn are read together (same-turn.ts), so a batch of 100 tenants costs 5 requests, not 100. A failed
   * read fails every caller of that turn (each retries its records).
   */
  private readonly existence = new SameTurn<ItemKey, ReadonlySet<string>>((keys) => this.readExisting(keys));

  /**
   * Issue 12: the events and subject entries of every tenant of a batch, written in the same turn, share their
   * BatchWriteItem requests (same-turn.ts); a failed request fails only the callers it carried.
   */
  private readonly eventWrites = new SameTurnWrites<WireItem>(
    (items) =>
      storeCall(() =>
        sendUntilProcessed<WireWriteRequest>('BatchWriteItem', items.map((Item) => ({ PutRequest: { Item } })), async (pending) => {
          const answer = await this.db.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: [...pending] } }));
          return answer.UnprocessedItems?.[this.tableName] ?? [];
        }, this.retry),
      ),
  );

  /** The partition keys of those of `keys` that exist (one key once). */
  private async readExisting(requested: readonly ItemKey[]): Promise<ReadonlySet<string>> {
    const found = new Set<string>();
    const keys = [...new Map(requested.map((key) => [key.pk, key])).values()];
    for (const keysChunk of chunk(keys, BATCH_GET_KEYS)) {
      await sendUntilProcessed<Item>('BatchGetItem', keysChunk, async (pending) => {
        const answer = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: [...pending], ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': 'pk' } } },
          }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) found.add(item.pk as string);
        return answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }, this.retry);
    }
    return found;
  }

  /** Issue 12: items built in DynamoDB's wire format and sent by the low-level client, without lib-dynamodb's marshalling. */
  async putEvents(events: readonly StoredEvent[], subjects: readonly SubjectIndexEntry[]): Promise<void> {
    const byKey = new Map<string, WireItem>();
    for (const item of [...events.map(eventWireItem), ...subjects.map(subjectWireItem)]) byKey.set(`${item.pk.S!}\u0000${item.sk.S!}`, item);
    await this.eventWrites.write(byKey);
  }

  fitsOneItem(event: StoredEvent): boolean {
    return eventFitsOneItem(event);
  }

  async deleteEvents(events: readonly Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>[]): Promise<void> {
    const keys = uniqueByKey(events.flatMap(eventKeys));
    await this.write(keys.map((key) => ({ DeleteRequest: { Key: key } })));
  }

  async deleteSubjectEntries(tenantId: string, subjectHash: string, eventIds: readonly string[]): Promise<void> {
    const keys = [...new Set(eventIds)].map((eventId) => dataKeys.subject(tenantId, subjectHash, eventId));
    await this.write(keys.map((key) => ({ DeleteRequest: { Key: key } })));
  }

  /**
   * One UpdateItem per ROLLUP_COUNTERS_PER_UPDATE counters of a delta, each an `ADD` (so any order and any number of
   * updates sum up alike), each under DynamoDB's 4 KB expression limit (R-ING-7). Sent unmarshalled, with every
   * number as DynamoDB reads it: the document client refuses numbers beyond 2^53, which a sum may pass.
   */
  async applyRollups(deltas: readonly RollupDelta[]): Promise<void> {
    deltas.forEach(assertCounterNames);
    const updates = deltas.flatMap((delta) => chunk(Object.entries(delta.add), ROLLUP_COUNTERS_PER_UPDATE).map((counters) => rollupUpdate(this.tableName, delta, counters)));
    await forEachLimited(updates, REQUESTS_IN_FLIGHT, (update) => storeCall(async () => void (await this.db.send(new UpdateItemCommand(update)))));
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
      // R-DSR-3: an event quarantined since the index answered is not shown.
      return { items: (await this.withBodies(answer.Items ?? [])).filter(isReadable), lastKey: answer.LastEvaluatedKey as ItemKey | undefined };
    };
    return pageEvents(query, read);
  }

  /**
   * Issue 12: the event indexes hold list attributes, not bodies (tables.ts): each page's full items are read from
   * the table by key, in one BatchGetItem per 100. The index entry's own attributes win (its keys are what a cursor
   * resumes from); an event deleted since the index answered is left out.
   */
  private async withBodies(entries: readonly Item[]): Promise<Item[]> {
    if (entries.length === 0) return [];
    const found = new Map<string, Item>();
    for (const keysChunk of chunk(entries.map((entry) => ({ pk: entry.pk as string, sk: entry.sk as string })), BATCH_GET_KEYS)) {
      await sendUntilProcessed<ItemKey>('BatchGetItem', keysChunk, async (pending) => {
        const answer = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: [...pending] } } }));
        for (const item of answer.Responses?.[this.tableName] ?? []) found.set(item.pk as string, item);
        return (answer.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as ItemKey[];
      }, this.retry);
    }
    return entries.flatMap((entry) => {
      const full = found.get(entry.pk as string);
      return full ? [{ ...full, ...entry }] : [];
    });
  }

  /** Read unmarshalled, like applyRollups writes: a sum past 2^53 is read as the nearest double, not refused. */
  async queryRollups(tenantId: string, fromMinute: string, toMinute: string, series?: string): Promise<Rollup[]> {
    const range = sortKeyRange(fromMinute, toMinute);
    const rollups: Rollup[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const answer = await this.db.send(
        new RawQueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
          FilterExpression: series === undefined ? undefined : '#series = :series',
          ExpressionAttributeNames: series === undefined ? undefined : { '#series': 'series' },
          ExpressionAttributeValues: {
            ':pk': { S: dataKeys.rollup(tenantId, fromMinute, '').pk },
            ':low': { S: range.low },
            ':high': { S: range.high },
            ...(series === undefined ? {} : { ':series': { S: series } }),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      rollups.push(...(answer.Items ?? []).map(rollupOfAttributes));
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return rollups;
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
      return { items: await this.withBodies(answer.Items ?? []), lastKey: answer.LastEvaluatedKey as ItemKey | undefined };
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

/** The UpdateItem of some of a delta's counters: the item's fields are set by each, the counters added. */
function rollupUpdate(tableName: string, delta: RollupDelta, counters: readonly (readonly [string, number])[]) {
  // Counter names come from the domain (`h<bucket>`…); names stand in for them and for reserved words (MINUTE).
  const add = counters.length > 0 ? ` ADD ${counters.map((_, i) => `#c${i} :c${i}`).join(', ')}` : '';
  const update = {
    TableName: tableName,
    Key: Object.fromEntries(Object.entries(dataKeys.rollup(delta.tenantId, delta.minute, delta.series)).map(([k, v]) => [k, { S: v }])),
    UpdateExpression: `SET #tenantId = :tenantId, #minute = :minute, #series = :series, #expiresAt = :expiresAt${add}`,
    ExpressionAttributeNames: {
      ...Object.fromEntries(counters.map(([name], i) => [`#c${i}`, name])),
      '#tenantId': 'tenantId',
      '#minute': 'minute',
      '#series': 'series',
      '#expiresAt': 'expiresAt',
    },
    ExpressionAttributeValues: {
      ...Object.fromEntries(counters.map(([, value], i) => [`:c${i}`, { N: dynamoNumber(value) }])),
      ':tenantId': { S: delta.tenantId },
      ':minute': { S: delta.minute },
      ':series': { S: delta.series },
      ':expiresAt': { N: dynamoNumber(delta.expiresAt) },
    },
  };
  // ROLLUP_COUNTERS_PER_UPDATE is chosen so that this holds; a change that breaks it fails here, not in DynamoDB.
  if (utf8Bytes(update.UpdateExpression) > DYNAMODB_LIMITS.expressionBytes) throw new Error(`Rollup UpdateExpression of ${utf8Bytes(update.UpdateExpression)} bytes`);
  return update;
}

/** A finite double as a DynamoDB number: JavaScript's shortest form (`1e+21`, `1.5e-7`) is one DynamoDB reads. */
function dynamoNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`Not a number DynamoDB can hold: ${value}`);
  return String(value);
}

/** A rollup item as DynamoDB returns it: strings and numbers only (see rollupUpdate). */
function rollupOfAttributes(item: Record<string, AttributeValue>): Rollup {
  const plain = Object.fromEntries(Object.entries(item).map(([name, value]) => [name, value.N !== undefined ? Number(value.N) : value.S]));
  return rollupFromItem(plain);
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
