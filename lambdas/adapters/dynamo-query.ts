import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { chunk, DEFAULT_RETRY, sendUntilProcessed, type RetryPolicy } from './retry';

/** Every item of a query, following LastEvaluatedKey to the last page (for small, bounded partitions). */
export async function queryAll(db: DynamoDBDocumentClient, input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const answer = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...(answer.Items ?? []));
    startKey = answer.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_ITEMS = 25;

/** Sends write requests, 25 a request, re-sending what DynamoDB leaves unprocessed; throws rather than drop one. */
async function writeAll<R extends object>(db: DynamoDBDocumentClient, tableName: string, requests: readonly R[], retry: RetryPolicy): Promise<void> {
  for (const requestChunk of chunk(requests, BATCH_WRITE_ITEMS)) {
    await sendUntilProcessed<R>('BatchWriteItem', requestChunk, async (pending) => {
      const answer = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] as never } }));
      return (answer.UnprocessedItems?.[tableName] ?? []) as R[];
    }, retry);
  }
}

/**
 * Deletes items by key, 25 a request, re-sending what DynamoDB leaves unprocessed; throws rather than leave an
 * item behind unnoticed (R-TERM-3). Keys must be distinct (BatchWriteItem refuses a key twice).
 */
export async function deleteKeys(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<void> {
  await writeAll(db, tableName, keys.map((Key) => ({ DeleteRequest: { Key } })), retry);
}

/** Puts items, 25 a request, re-sending what DynamoDB leaves unprocessed. Keys must be distinct. */
export async function putItems(db: DynamoDBDocumentClient, tableName: string, items: readonly Record<string, unknown>[], retry: RetryPolicy = DEFAULT_RETRY): Promise<void> {
  await writeAll(db, tableName, items.map((Item) => ({ PutRequest: { Item } })), retry);
}
