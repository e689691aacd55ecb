/**
 * Issue 12: work asked for in one turn of the event loop, done together. The processor handles the tenants of a
 * batch concurrently, so their store calls arrive in the same turn; joined, a batch of 100 tenants costs a few
 * requests (BatchGetItem of 100 keys, BatchWriteItem of 25 items, whatever tenant each belongs to) instead of one
 * or more per tenant. Each table's items carry their own keys, so nothing is lost by mixing tenants in a request.
 */
import { DYNAMODB_LIMITS } from '../domain/aws-limits';
import { chunk, forEachLimited, REQUESTS_IN_FLIGHT } from './retry';

/** Collects the items of one turn and runs `work` once over all of them, at the start of the next turn. */
export class SameTurn<T, R> {
  private turn?: { readonly items: T[]; readonly done: Promise<R> };

  constructor(private readonly work: (items: readonly T[]) => Promise<R>) {}

  /** Adds `items` to this turn's work; resolves (or rejects) with the outcome of the whole turn's work. */
  join(items: readonly T[]): Promise<R> {
    let turn = this.turn;
    if (!turn) {
      const collected: T[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.turn = undefined;
        return this.work(collected);
      });
      turn = this.turn = { items: collected, done };
    }
    turn.items.push(...items);
    return turn.done;
  }
}

/**
 * Writes of one turn, a BatchWriteItem's 25 items a request and REQUESTS_IN_FLIGHT requests in flight. A caller
 * fails only with a request that held one of its items (the first such error), so a refused or throttled request
 * costs only the callers it carried: each takes its own items back and retries them, or narrows a refusal down
 * (processing.ts).
 */
export class SameTurnWrites<I> {
  private readonly writes: SameTurn<readonly [string, I], ReadonlyMap<string, unknown>>;

  constructor(send: (items: readonly I[]) => Promise<void>) {
    this.writes = new SameTurn(async (entries) => {
      const failed = new Map<string, unknown>();
      // One request per key: a caller's last item for a key wins, as within one call.
      const unique = [...new Map(entries)];
      await forEachLimited(chunk(unique, DYNAMODB_LIMITS.batchWriteRequests), REQUESTS_IN_FLIGHT, async (part) => {
        try {
          await send(part.map(([, item]) => item));
        } catch (error) {
          for (const [key] of part) failed.set(key, error);
        }
      });
      return failed;
    });
  }

  /** Writes `items` (by a key unique in the table) with everything else written in this turn. */
  async write(items: ReadonlyMap<string, I>): Promise<void> {
    if (items.size === 0) return;
    const failed = await this.writes.join([...items]);
    for (const key of items.keys()) if (failed.has(key)) throw failed.get(key);
  }
}
