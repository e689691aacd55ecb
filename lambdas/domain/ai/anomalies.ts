/**
 * R-AI-6: anomaly detection over rollups, by robust z-scores: each bucket's value against the median and the median
 * absolute deviation (MAD) of a reference set, which is the same phase of earlier seasons (the same hour on earlier
 * days) where history allows, otherwise the trailing window. Median and MAD ignore the outliers they look for, unlike
 * the mean and standard deviation. The detector decides; the model only explains what it found (list_insights).
 */
import { createHash } from 'node:crypto';
import type { Rollup } from '../ports';
import { mergeRollups, minuteOf, summariseRollup } from '../rollups';
import type { InsightItem } from './ports';

export interface DetectorOptions {
  /** Trailing buckets compared against when there is too little seasonal history. */
  readonly window: number;
  /** Buckets per season (24 for hourly buckets: daily seasonality); 0: none. */
  readonly seasonPeriod: number;
  /** Earlier seasons needed before the seasonal reference is used. */
  readonly minSeasons: number;
  /** Robust z-score from which a bucket is flagged. */
  readonly threshold: number;
  /** Buckets of history needed before anything is flagged. */
  readonly minHistory: number;
  /** The smallest deviation that counts, relative to the baseline (a flat series still varies a little). */
  readonly relativeFloor: number;
  /** The smallest deviation that counts, absolute. */
  readonly absoluteFloor: number;
}

export const DEFAULT_DETECTOR: DetectorOptions = {
  window: 24,
  seasonPeriod: 24,
  minSeasons: 3,
  threshold: 4,
  minHistory: 12,
  relativeFloor: 0.1,
  absoluteFloor: 0,
};

export interface Flag {
  readonly index: number;
  readonly value: number;
  readonly baseline: number;
  readonly score: number;
  readonly direction: 'up' | 'down';
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** 1.4826 · MAD estimates the standard deviation of normal data. */
const MAD_SCALE = 1.4826;

/** The reference values of bucket `i`: earlier seasons' same phase when there are enough, else the trailing window. */
function referenceOf(values: readonly (number | undefined)[], i: number, o: DetectorOptions): number[] | undefined {
  if (o.seasonPeriod > 0) {
    const seasonal: number[] = [];
    for (let j = i - o.seasonPeriod; j >= 0; j -= o.seasonPeriod) {
      const v = values[j];
      if (v !== undefined) seasonal.push(v);
    }
    if (seasonal.length >= o.minSeasons) return seasonal;
  }
  const trailing = values.slice(Math.max(0, i - o.window), i).filter((v): v is number => v !== undefined);
  return trailing.length >= Math.min(o.minHistory, o.window) ? trailing : undefined;
}

/** Flags every bucket (undefined: no data) whose robust z-score against its reference reaches the threshold. */
export function detect(values: readonly (number | undefined)[], options: Partial<DetectorOptions> = {}): Flag[] {
  const o = { ...DEFAULT_DETECTOR, ...options };
  const flags: Flag[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === undefined) continue;
    const reference = referenceOf(values, i, o);
    if (!reference) continue;
    const baseline = median(reference);
    const mad = median(reference.map((v) => Math.abs(v - baseline)));
    const scale = Math.max(MAD_SCALE * mad, o.relativeFloor * Math.abs(baseline), o.absoluteFloor, Number.EPSILON);
    const score = (value - baseline) / scale;
    if (Math.abs(score) >= o.threshold) flags.push({ index: i, value, baseline, score, direction: score > 0 ? 'up' : 'down' });
  }
  return flags;
}

export type InsightMetric = InsightItem['metric'];

/** Per metric: how to read it from one bucket's summary, and its floors. */
const METRICS: readonly { metric: InsightMetric; applies: (series: string) => boolean; read: (s: ReturnType<typeof summariseRollup>) => number | undefined; options: Partial<DetectorOptions> }[] = [
  // An error rate needs some calls to mean anything; a rise of less than 2 points is noise whatever the MAD.
  { metric: 'error_rate', applies: (s) => s.startsWith('api:'), read: (s) => (s.count >= 20 ? (s.errorRate ?? 0) : undefined), options: { absoluteFloor: 0.02, relativeFloor: 0 } },
  { metric: 'p95_latency_ms', applies: (s) => s.startsWith('api:'), read: (s) => (s.count >= 20 ? s.p95 : undefined), options: { absoluteFloor: 5 } },
  { metric: 'volume', applies: () => true, read: (s) => s.count, options: { absoluteFloor: 5 } },
];

export interface DetectionInput {
  readonly tenantId: string;
  readonly rollups: readonly Rollup[];
  /** First bucket and the bucket after the last (ISO). */
  readonly from: Date;
  readonly to: Date;
  readonly bucketMinutes: number;
  /** Flags before this are history only (a scheduled run reports only its recent buckets; a replay reports all). */
  readonly reportFrom: Date;
  readonly detectedAt: Date;
  readonly expiresAt: number;
  readonly options?: Partial<DetectorOptions>;
}

/**
 * Insights over a tenant's rollups: bucketed per series, each metric run through the detector, every flag in the
 * report window stored with its evidence (the rollup keys of the bucket). Ids are deterministic (series, metric,
 * bucket), so a re-run rewrites rather than repeats an insight.
 */
export function detectInsights(input: DetectionInput): InsightItem[] {
  const bucketMs = input.bucketMinutes * 60_000;
  const start = Math.floor(input.from.getTime() / bucketMs) * bucketMs;
  const buckets = Math.max(0, Math.ceil((input.to.getTime() - start) / bucketMs));
  const bucketOf = (minute: string) => Math.floor((Date.parse(minute) - start) / bucketMs);
  const bySeries = new Map<string, Rollup[]>();
  for (const r of input.rollups) bySeries.set(r.series, [...(bySeries.get(r.series) ?? []), r]);

  const insights: InsightItem[] = [];
  for (const [series, rollups] of bySeries) {
    const merged = mergeRollups(rollups.map((r) => ({ ...r, minute: minuteOf(new Date(start + bucketOf(r.minute) * bucketMs).toISOString()) })));
    const summaries = new Map(merged.map((r) => [bucketOf(r.minute), summariseRollup(r)]));
    // Before its first rollup a series did not exist: no data, rather than a volume of zero.
    const first = Math.min(...summaries.keys());
    for (const { metric, applies, read, options } of METRICS) {
      if (!applies(series)) continue;
      const values = Array.from({ length: buckets }, (_, i) => {
        const summary = summaries.get(i);
        return summary ? read(summary) : metric === 'volume' && i > first ? 0 : undefined;
      });
      for (const flag of detect(values, { ...options, ...input.options })) {
        const bucketStart = new Date(start + flag.index * bucketMs);
        if (bucketStart < input.reportFrom) continue;
        const minute = minuteOf(bucketStart.toISOString());
        const evidence = rollups.filter((r) => bucketOf(r.minute) === flag.index).map((r) => `rollup:${r.series}#${r.minute}`).slice(0, 60);
        insights.push({
          tenantId: input.tenantId,
          insightId: `ins_${createHash('sha256').update(JSON.stringify([series, metric, minute])).digest('hex').slice(0, 24)}`,
          detectedAt: input.detectedAt.toISOString(),
          series,
          metric,
          minute,
          value: round(flag.value),
          baseline: round(flag.baseline),
          score: round(flag.score),
          direction: flag.direction,
          evidence,
          expiresAt: input.expiresAt,
        });
      }
    }
  }
  return insights;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
