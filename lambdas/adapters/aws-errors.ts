/**
 * R-ING-7: which AWS errors no retry can cure. A ValidationException (DynamoDB: a key or item too large, "Item size
 * has exceeded the maximum allowed size", a number it cannot hold, an expression too long) refuses the request
 * itself: the same request fails the same way every time. Throttling, 5xx answers and network errors are
 * transient (the SDK retries them; what is left is retried by the caller).
 */
import { PermanentStoreError } from '../domain/ports';

const PERMANENT_ERRORS: ReadonlySet<string> = new Set(['ValidationException', 'SerializationException', 'ItemCollectionSizeLimitExceededException']);

export function isPermanentAwsError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && PERMANENT_ERRORS.has(name);
}

/** Runs a store call; a permanent AWS error comes out as PermanentStoreError (with the error's own message). */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isPermanentAwsError(error)) throw error;
    const { name, message } = error as Error;
    throw new PermanentStoreError(`${name}: ${message}`, { cause: error });
  }
}
