import type { LocalPlatformOptions } from '../../bin/local/platform';

/**
 * What the workflow and integration tests start the local platform with: any free port, quick polling of the stream,
 * a short batching window, no TTL sweep during a test, quiet logs. Each file adds what it is about.
 */
export const TEST_PLATFORM = {
  port: 0,
  pollIntervalMs: 20,
  ttlSweepIntervalMs: 3_600_000,
  eventSource: { maxBatchingWindowMs: 50 },
  log: () => undefined,
} as const satisfies LocalPlatformOptions;
