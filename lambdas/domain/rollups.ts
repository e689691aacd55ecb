/**
 * Per-minute rollups (R-ING-3, R-ING-4) as additive counters, so that DynamoDB `ADD` merges the contributions of
 * any number of batches and retries in any order. Percentiles come from a log-bucket sketch (DDSketch-style,
 * relative accuracy 2%) whose bucket counts are counters too: `h<i>` for bucket i, `hz` for values ≤ 0.
 */
import { clearName, clearRoute } from './clear-metadata';
import { keyNames } from './keys';
import type { PlatformEvent } from './model';
import type { Rollup, RollupDelta } from './ports';

/** Every quantile the sketch returns is within this relative error of the true value. */
export const RELATIVE_ACCURACY = 0.02;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
const ZERO_BUCKET = 'hz';
const BUCKET_COUNTER = /^h(-?\d+)$/;

/** Bucket i holds (gamma^(i-1), gamma^i]; values ≤ 0 go to the zero bucket. */
export function bucketCounterOf(x: number): string {
  return x <= 0 ? ZERO_BUCKET : `h${Math.ceil(Math.log(x) / LOG_GAMMA)}`;
}

/** The value that is within RELATIVE_ACCURACY of everything in bucket i. */
function bucketValue(index: number): number {
  return (2 * GAMMA ** index) / (GAMMA + 1);
}

/** The rollup series an event counts in (identifiers templated out, clear-metadata.ts): `api:GET /users/:id`, `event:<name>`, `metric:<name>`, `webhook:<sourceId>`. */
export function seriesOf(event: PlatformEvent): string {
  switch (event.type) {
    case 'api_call':
      return keyNames.series.api(event.method, clearRoute(event.route));
    case 'event':
      return keyNames.series.event(clearName(event.type, event.name));
    case 'metric':
      return keyNames.series.metric(clearName(event.type, event.name));
    case 'webhook':
      return keyNames.series.webhook(event.sourceId);
  }
}

/**
 * A UTC timestamp whose minute is its first 16 characters, as Date.parse would read it: milliseconds or none, and a
 * day that exists in every month (a 29th to 31st, a 24:00 or a seventh fraction digit goes the long way, where
 * Date.parse decides).
 */
const PLAIN_UTC = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{3})?Z$/;

/** `2026-11-23T10:15Z`: the UTC minute of an ISO timestamp. */
export function minuteOf(isoTimestamp: string): string {
  // Issue 12: what ingest stores (toISOString's form) is cut, not parsed and printed again.
  if (PLAIN_UTC.test(isoTimestamp)) return `${isoTimestamp.slice(0, 16)}Z`;
  const ms = Date.parse(isoTimestamp);
  if (Number.isNaN(ms)) throw new Error(`Not an ISO timestamp: '${isoTimestamp}'`);
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

function add(counters: Record<string, number>, name: string, amount: number): void {
  counters[name] = (counters[name] ?? 0) + amount;
}

/** What one event adds to its rollup. */
function contributionOf(event: PlatformEvent): Record<string, number> {
  const counters: Record<string, number> = { count: 1 };
  if (event.type === 'api_call') {
    counters.errors4xx = event.status >= 400 && event.status < 500 ? 1 : 0;
    counters.errors5xx = event.status >= 500 ? 1 : 0;
    counters.latencySum = event.latencyMs;
    add(counters, bucketCounterOf(event.latencyMs), 1);
  } else if (event.type === 'metric') {
    counters.valueSum = event.value;
    counters.valueCount = 1;
    // The sketch is for positive values only; summariseRollup reports percentiles only when it covers all values.
    if (event.value > 0) add(counters, bucketCounterOf(event.value), 1);
  }
  return counters;
}

/** Counters that sum measurements (the others count events, and are whole numbers). */
const SUMS = ['latencySum', 'valueSum'] as const;

/**
 * R-ING-7: a sum is kept to six decimals. DynamoDB adds exactly, in at most 38 significant digits, and refuses an
 * ADD whose result needs more (1E50 + 1); on a micro grid, with measurements bounded by ingest (±1E15), a sum
 * needs fewer than 38 digits for any number of events. A double's own noise (0.1 + 0.2) never reaches it.
 */
const toMicros = (sum: number): number => Math.round(sum * 1e6) / 1e6;

const byKey = <T>(key: (item: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** One delta per (tenant, minute, series), sorted, so each batch makes one `ADD` per rollup item. */
export function rollupDeltas(
  items: readonly { readonly tenantId: string; readonly event: PlatformEvent; readonly expiresAt: number }[],
): RollupDelta[] {
  const groups = new Map<string, { tenantId: string; minute: string; series: string; add: Record<string, number>; expiresAt: number }>();
  for (const { tenantId, event, expiresAt } of items) {
    const minute = minuteOf(event.timestamp);
    const series = seriesOf(event);
    const key = JSON.stringify([tenantId, minute, series]);
    const group = groups.get(key) ?? { tenantId, minute, series, add: {}, expiresAt };
    for (const [name, amount] of Object.entries(contributionOf(event))) add(group.add, name, amount);
    group.expiresAt = Math.max(group.expiresAt, expiresAt);
    groups.set(key, group);
  }
  for (const group of groups.values()) for (const sum of SUMS) if (sum in group.add) group.add[sum] = toMicros(group.add[sum]);
  return [...groups.values()].sort(byKey((d) => JSON.stringify([d.tenantId, d.minute, d.series])));
}

/**
 * R-ING-7: splits the contributions to one rollup (one minute and series) into runs, in order, whose delta holds at
 * most `maxCounters` counters, so that each run is one update: 400 events in 400 latency buckets are 3 runs of at
 * most 200 counters, not one update over DynamoDB's 4 KB expression limit. An event is never split across runs,
 * so a failed update is undone by taking back exactly its run's events.
 */
export function splitByCounters<T extends { readonly event: PlatformEvent }>(items: readonly T[], maxCounters: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let counters = new Set<string>();
  for (const item of items) {
    const own = Object.keys(contributionOf(item.event));
    const joined = new Set([...counters, ...own]);
    if (run.length > 0 && joined.size > maxCounters) {
      runs.push(run);
      run = [];
      counters = new Set(own);
    } else {
      counters = joined;
    }
    run.push(item);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Sums the counters of rollups with the same (minute, series), e.g. the same minute read from two sources. */
export function mergeRollups(rollups: readonly Rollup[]): Rollup[] {
  const merged = new Map<string, { minute: string; series: string; counters: Record<string, number> }>();
  for (const { minute, series, counters } of rollups) {
    const key = JSON.stringify([minute, series]);
    const target = merged.get(key) ?? { minute, series, counters: {} };
    for (const [name, amount] of Object.entries(counters)) add(target.counters, name, amount);
    merged.set(key, target);
  }
  return [...merged.values()].sort(byKey((r) => JSON.stringify([r.minute, r.series])));
}

/** The sketch's buckets, lowest first: the zero bucket, then by index. */
function bucketsOf(counters: Readonly<Record<string, number>>): { value: number; count: number }[] {
  const buckets: { index: number; value: number; count: number }[] = [];
  for (const [name, count] of Object.entries(counters)) {
    if (count <= 0) continue;
    if (name === ZERO_BUCKET) {
      buckets.push({ index: -Infinity, value: 0, count });
    } else {
      const match = BUCKET_COUNTER.exec(name);
      if (match) buckets.push({ index: Number(match[1]), value: bucketValue(Number(match[1])), count });
    }
  }
  return buckets.sort((a, b) => a.index - b.index);
}

/**
 * The q-quantile (0 ≤ q ≤ 1, nearest rank) of the values the sketch counted, within 2% relative error;
 * undefined when it counted nothing.
 */
export function quantile(counters: Readonly<Record<string, number>>, q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be between 0 and 1, got ${q}`);
  const buckets = bucketsOf(counters);
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bucket of buckets) {
    seen += bucket.count;
    if (seen >= rank) return bucket.value;
  }
  return buckets[buckets.length - 1].value;
}

export interface RollupSummary {
  readonly minute: string;
  readonly series: string;
  readonly count: number;
  /** api series: share of 5xx answers. */
  readonly errorRate?: number;
  /** api series: share of 4xx answers. */
  readonly clientErrorRate?: number;
  readonly avgLatencyMs?: number;
  /** metric series: the sum and mean of the values. */
  readonly valueSum?: number;
  readonly avgValue?: number;
  /** Latency (api) or value (metric) percentiles, within 2%. */
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
}

function sketchTotal(counters: Readonly<Record<string, number>>): number {
  return bucketsOf(counters).reduce((sum, b) => sum + b.count, 0);
}

/** What a dashboard shows for one rollup item. */
export function summariseRollup(r: Rollup): RollupSummary {
  const c = r.counters;
  const count = c.count ?? 0;
  const ratio = (numerator: number | undefined, denominator: number) =>
    numerator === undefined || denominator === 0 ? undefined : numerator / denominator;
  // Percentiles only when the sketch saw every value (a metric's negative values are not in it).
  const sketched = c.valueCount ?? count;
  const percentiles =
    sketched > 0 && sketchTotal(c) === sketched
      ? { p50: quantile(c, 0.5), p95: quantile(c, 0.95), p99: quantile(c, 0.99) }
      : {};
  const summary: RollupSummary = {
    minute: r.minute,
    series: r.series,
    count,
    errorRate: ratio(c.errors5xx, count),
    clientErrorRate: ratio(c.errors4xx, count),
    avgLatencyMs: ratio(c.latencySum, count),
    valueSum: c.valueSum,
    avgValue: ratio(c.valueSum, c.valueCount ?? 0),
    ...percentiles,
  };
  // Leave out what does not apply to the series, so the JSON answer stays small and honest.
  return Object.fromEntries(Object.entries(summary).filter(([, v]) => v !== undefined)) as unknown as RollupSummary;
}
