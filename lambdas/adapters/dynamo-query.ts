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
  type DeleteRequest = { DeleteRequest: { Key: Record<string, unknown> } };
  for (const keysChunk of chunk(keys, BATCH_WRITE_ITEMS)) {
    const requests: DeleteRequest[] = keysChunk.map((Key) => ({ DeleteRequest: { Key } }));
    await sendUntilProcessed<DeleteRequest>('BatchWriteItem', requests, async (pending) => {
      const answer = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] } }));
      return (answer.UnprocessedItems?.[tableName] ?? []) as DeleteRequest[];
    }, retry);
  }
}
