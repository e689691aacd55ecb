/** Consecutive batches of at most `maxItems` items and `maxBytes` bytes in all, as AWS batch APIs take them. */
export function boundedBatches<T>(items: readonly T[], limits: { readonly maxItems: number; readonly maxBytes: number }, sizeOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length === limits.maxItems || (current.length > 0 && bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
