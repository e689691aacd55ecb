/**
 * Retry of the part of a batch call that AWS did not process (UnprocessedItems, UnprocessedKeys, failed
 * PutRecords entries). Whole-request throttling is retried by the SDK clients themselves (see clients.ts);
 * this covers partial success, which the SDK reports as a normal answer.
 */
export interface RetryPolicy {
  /** Calls in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };

/** "Full jitter" exponential backoff, as the AWS architecture blog recommends for contended batch writes. */
export function backoffDelayMs(retry: number, policy: RetryPolicy): number {
  return Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends `pending`, then re-sends whatever `send` returns as not processed, with backoff, until nothing is left.
 * Throws when something is still unprocessed after `policy.attempts` calls, so nothing is silently lost (R-ING-7).
 */
export async function sendUntilProcessed<T>(
  what: string,
  pending: readonly T[],
  send: (pending: readonly T[]) => Promise<readonly T[]>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<void> {
  let remaining = pending;
  for (let attempt = 0; attempt < policy.attempts && remaining.length > 0; attempt++) {
    if (attempt > 0) await wait(backoffDelayMs(attempt - 1, policy));
    remaining = await send(remaining);
  }
  if (remaining.length > 0) {
    throw new Error(`${what}: ${remaining.length} entries still unprocessed after ${policy.attempts} attempts`);
  }
}

/** Splits into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** DynamoDB requests of one caller in flight at once: enough to hide latency, few enough not to provoke throttling. */
export const REQUESTS_IN_FLIGHT = 8;

/** Runs `fn` over every item with at most `limit` calls in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
