/**
 * The TenantData table behind `mockClient(DynamoDBDocumentClient)`: answers the three calls the processor's
 * DynamoEventStore makes (BatchGetItem, BatchWriteItem, UpdateItem with SET/ADD) as DynamoDB would, so a test
 * (puts arrive in DynamoDB's wire format, issue 12; deletions through the document client)
 * can make any one of them throttle or half-succeed and then check what the table really holds. The rollup
 * UpdateItem is sent unmarshalled (numbers as DynamoDB strings), as the store sends it.
 */
import { BatchWriteItemCommand, ProvisionedThroughputExceededException, UpdateItemCommand, type AttributeValue, type WriteRequest as WireWriteRequest } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

type Item = Record<string, unknown>;
type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };
type Stub = AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;

const keyOf = (item: Item) => `${item.pk as string}\u0000${item.sk as string}`;

export const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded', $metadata: {} });

export class FakeDataTable {
  readonly items = new Map<string, Item>();
  /** Faults to inject, by call number of each command (0-based, counted since the table was made). */
  readonly faults = {
    /** BatchWriteItem calls refused with ProvisionedThroughputExceededException. */
    batchWriteThrowsOn: new Set<number>(),
    /** BatchWriteItem calls (by number) whose later half comes back as UnprocessedItems. */
    batchWriteUnprocessedOn: new Set<number>(),
    /** UpdateItem calls (by number) that fail. */
    updateThrowsOn: new Set<number>(),
  };
  private batchWrites = 0;
  private updates = 0;

  constructor(private readonly tableName: string) {}

  /** Routes the document client's commands to this table. */
  install(ddb: Stub): void {
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => ({
      Responses: { [this.tableName]: input.RequestItems[this.tableName].Keys.flatMap((key) => this.items.get(keyOf(key)) ?? []) },
      UnprocessedKeys: {},
    }));
    ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, WriteRequest[]> }) => this.batchWrite(input.RequestItems[this.tableName]));
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WireWriteRequest[]> }) => {
      const wire = input.RequestItems[this.tableName];
      const requests = wire.map((r) => (r.PutRequest ? { PutRequest: { Item: unmarshall(r.PutRequest.Item!) } } : { DeleteRequest: { Key: unmarshall(r.DeleteRequest!.Key!) } }));
      return this.batchWrite(requests, wire);
    });
    ddb.on(UpdateItemCommand).callsFake((input: RawUpdateInput) =>
      this.update({
        Key: plain(input.Key),
        UpdateExpression: input.UpdateExpression,
        ExpressionAttributeNames: input.ExpressionAttributeNames,
        ExpressionAttributeValues: plain(input.ExpressionAttributeValues),
      }),
    );
  }

  /** Event items only (not subject index entries or rollups). */
  eventIds(tenantId: string): string[] {
    return [...this.items.values()].filter((i) => i.sk === 'EV' && i.tenantId === tenantId).map((i) => i.eventId as string).sort();
  }

  /** `count` per series, summed over minutes. */
  rollupCounts(tenantId: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const item of this.items.values()) {
      if (item.pk !== `T#${tenantId}#ROLLUP`) continue;
      counts[item.series as string] = (counts[item.series as string] ?? 0) + (item.count as number);
    }
    return counts;
  }

  /** `original`: the requests as they came (UnprocessedItems answers with those). */
  private batchWrite(requests: WriteRequest[], original: readonly unknown[] = requests) {
    const call = this.batchWrites++;
    if (this.faults.batchWriteThrowsOn.has(call)) throw throttled();
    const unprocessed = this.faults.batchWriteUnprocessedOn.has(call) ? original.slice(Math.ceil(requests.length / 2)) : [];
    for (const request of requests.slice(0, requests.length - unprocessed.length)) {
      if (request.PutRequest) this.items.set(keyOf(request.PutRequest.Item), structuredClone(request.PutRequest.Item));
      if (request.DeleteRequest) this.items.delete(keyOf(request.DeleteRequest.Key));
    }
    return { UnprocessedItems: unprocessed.length > 0 ? { [this.tableName]: unprocessed } : {} };
  }

  /** `SET #a = :a, … ADD #c0 :c0, …`, the only update shape the store writes. */
  private update(input: UpdateInput) {
    const call = this.updates++;
    if (this.faults.updateThrowsOn.has(call)) throw throttled();
    const [, setPart = '', addPart = ''] = /^SET (.*?)(?: ADD (.*))?$/.exec(input.UpdateExpression) ?? [];
    const name = (token: string) => input.ExpressionAttributeNames[token.trim()];
    const value = (token: string) => input.ExpressionAttributeValues[token.trim()];
    const item: Item = { ...(this.items.get(keyOf(input.Key)) ?? input.Key) };
    for (const assignment of setPart.split(',').filter(Boolean)) {
      const [target, source] = assignment.split('=');
      item[name(target)] = value(source);
    }
    for (const addition of addPart.split(',').filter(Boolean)) {
      const [target, source] = addition.trim().split(/\s+/);
      item[name(target)] = ((item[name(target)] as number | undefined) ?? 0) + (value(source) as number);
    }
    this.items.set(keyOf(input.Key), item);
    return {};
  }
}

/** `{ S: 'x' }` → 'x', `{ N: '1.5' }` → 1.5: the only types a rollup update holds. */
const plain = (values: Record<string, AttributeValue>): Item =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, value.N !== undefined ? Number(value.N) : value.S]));

interface RawUpdateInput {
  readonly Key: Record<string, AttributeValue>;
  readonly UpdateExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, AttributeValue>;
}

interface UpdateInput {
  readonly Key: Item;
  readonly UpdateExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}
