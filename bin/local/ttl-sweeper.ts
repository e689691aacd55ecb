/**
 * dynalite never expires items: this sweeper does what DynamoDB's TTL process does (R-RET-1, R-RET-6, R-SEC-6).
 * It deletes items whose TTL attribute (a number, epoch seconds) lies in the past. Like DynamoDB it ignores
 * items without a numeric TTL and items whose TTL is more than five years in the past, and it deletes only if
 * the item is still expired when deleted (an update may have extended it meanwhile).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../../lambdas/domain/ports';
import type { LocalTable } from './schema';

const FIVE_YEARS_SECONDS = 5 * 365 * 86_400;

export class TtlSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  /**
   * @param onExpired called with each item deleted (R-RET-1: local mode deletes an expired event's S3 payload with it,
   *   as the payload bucket's lifecycle rule of its expiry class does in AWS; s3rver has no lifecycle).
   */
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tables: readonly LocalTable[],
    private readonly clock: Clock,
    private readonly onExpired?: (table: LocalTable, item: Record<string, unknown>) => Promise<void>,
  ) {}

  /** Sweeps every `intervalMs` until stopped. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweepOnce()
        .catch(onError)
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every table with a TTL attribute; returns how many items it deleted. */
  async sweepOnce(): Promise<number> {
    let deleted = 0;
    for (const table of this.tables) if (table.ttlAttribute) deleted += await this.sweepTable(table, table.ttlAttribute);
    return deleted;
  }

  private async sweepTable(table: LocalTable, attribute: string): Promise<number> {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    let deleted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({
          TableName: table.name,
          FilterExpression: '#ttl < :now AND #ttl > :oldest',
          // With onExpired the whole item is read (it may need more than the key).
          ExpressionAttributeNames: { '#ttl': attribute, ...(this.onExpired ? {} : Object.fromEntries(table.keyAttributes.map((k, i) => [`#k${i}`, k]))) },
          ExpressionAttributeValues: { ':now': now, ':oldest': now - FIVE_YEARS_SECONDS },
          ...(this.onExpired ? {} : { ProjectionExpression: table.keyAttributes.map((_, i) => `#k${i}`).join(', ') }),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const key = Object.fromEntries(table.keyAttributes.map((k) => [k, item[k]]));
        try {
          await this.dynamo.send(
            new DeleteCommand({
              TableName: table.name,
              Key: key,
              ConditionExpression: '#ttl < :now',
              ExpressionAttributeNames: { '#ttl': attribute },
              ExpressionAttributeValues: { ':now': now },
            }),
          );
          deleted++;
          await this.onExpired?.(table, item);
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }
}
