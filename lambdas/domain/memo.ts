/**
 * Issue 12: results of a pure function kept per container, within a bound. The processor meets the same routes,
 * names and subject identifiers record after record, so most are computed once per container; at most `capacity`
 * are kept (the map starts over when full), so hostile variety costs memory only up to that.
 *
 *   cache.get(key) ?? cache.set(key, compute(key))
 */
export class BoundedCache<R> {
  private readonly known = new Map<string, R>();

  constructor(private readonly capacity: number) {}

  get(key: string): R | undefined {
    return this.known.get(key);
  }

  /** Keeps `value` under `key` and returns it. */
  set(key: string, value: R): R {
    if (this.known.size >= this.capacity) this.known.clear();
    this.known.set(key, value);
    return value;
  }
}
