/**
 * R-ING-3, R-ING-4: per-minute rollups as additive counters, with percentiles from a log-bucket sketch.
 */
import fc from 'fast-check';
import type { ApiCallEvent, MetricEvent, PlatformEvent } from '../../lambdas/domain/model';
import type { Rollup, RollupDelta } from '../../lambdas/domain/ports';
import { bucketCounterOf, mergeRollups, minuteOf, quantile, RELATIVE_ACCURACY, rollupDeltas, seriesOf, splitByCounters, summariseRollup } from '../../lambdas/domain/rollups';

const T = '2026-11-23T10:15:';
const api = (status: number, latencyMs: number, second = 0, route = '/users/:id'): ApiCallEvent => ({
  type: 'api_call',
  method: 'GET',
  route,
  status,
  latencyMs,
  timestamp: `${T}${String(second).padStart(2, '0')}.000Z`,
  properties: {},
});
const metric = (value: number, timestamp = `${T}00.000Z`): MetricEvent => ({ type: 'metric', name: 'cpu', value, dimensions: {}, timestamp });
const item = (event: PlatformEvent, tenantId = 'acme', expiresAt = 1000) => ({ tenantId, event, expiresAt });
const asRollup = (d: RollupDelta): Rollup => ({ minute: d.minute, series: d.series, counters: d.add });

/** The exact nearest-rank percentile the sketch approximates. */
function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

/** Counters of a sketch over `values`, built the way rollupDeltas builds them. */
const sketchOf = (values: readonly number[]) => rollupDeltas(values.map((v) => item(api(200, v))))[0].add;

describe('R-ING-3: series and minutes', () => {
  it('names the series of every event kind', () => {
    expect(seriesOf(api(200, 1))).toBe('api:GET /users/:id');
    expect(seriesOf({ type: 'event', name: 'signup', timestamp: `${T}00Z`, properties: {} })).toBe('event:signup');
    expect(seriesOf(metric(1))).toBe('metric:cpu');
    expect(
      seriesOf({ type: 'webhook', name: 'invoice.paid', timestamp: `${T}00Z`, sourceId: 'stripe-main', scheme: 'stripe', deliveryId: 'evt_1', payload: {} }),
    ).toBe('webhook:stripe-main');
  });

  it('truncates a timestamp to its UTC minute', () => {
    expect(minuteOf('2026-11-23T10:15:59.999Z')).toBe('2026-11-23T10:15Z');
    expect(minuteOf('2026-11-23T12:15:00+02:00')).toBe('2026-11-23T10:15Z');
    expect(() => minuteOf('soon')).toThrow('Not an ISO timestamp');
  });

  /** The minute as Date.parse reads it: minuteOf's answer for every string, fast path or not. */
  const parsedMinute = (text: string): string | 'invalid' => {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? 'invalid' : `${new Date(ms).toISOString().slice(0, 16)}Z`;
  };
  const minuteOrInvalid = (text: string): string => {
    try {
      return minuteOf(text);
    } catch {
      return 'invalid';
    }
  };

  it('issue 12: cuts the minute out of what Date.parse would read, for any date and any ISO-shaped string', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const shaped = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.constantFrom('', '.5', '.123', '.9999', '.123456789'), fc.constantFrom('Z', '+02:00', ''))
      .map(([y, mo, d, h, mi, s, fraction, zone]) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction}${zone}`);
    const dates = fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString());
    fc.assert(fc.property(fc.oneof(shaped, dates), (text) => void expect(minuteOrInvalid(text)).toBe(parsedMinute(text))), { numRuns: 2_000 });
    for (const edge of ['2026-02-29T10:15:00Z', '2024-02-29T23:59:59.999Z', '2026-04-31T00:00:00Z', '2026-01-01T24:00:00Z', '2026-12-31T23:59:60Z']) {
      expect(minuteOrInvalid(edge)).toBe(parsedMinute(edge));
    }
  });
});

describe('R-ING-3: rollupDeltas', () => {
  it('counts requests, 4xx and 5xx, and sums latency per (tenant, minute, series)', () => {
    const [delta] = rollupDeltas([item(api(200, 10)), item(api(404, 20, 5)), item(api(503, 30, 59)), item(api(500, 40, 1))]);
    expect(delta).toMatchObject({ tenantId: 'acme', minute: '2026-11-23T10:15Z', series: 'api:GET /users/:id', expiresAt: 1000 });
    expect(delta.add).toMatchObject({ count: 4, errors4xx: 1, errors5xx: 2, latencySum: 100 });
  });

  it('keeps tenants, minutes and series apart, in a deterministic order', () => {
    const items = [
      item(api(200, 1), 'zeta'),
      item(api(200, 1, 0, '/b')),
      item({ ...api(200, 1), timestamp: '2026-11-23T10:16:00.000Z' }),
      item(api(200, 1)),
      item(metric(2)),
    ];
    const keys = (ds: RollupDelta[]) => ds.map((d) => `${d.tenantId} ${d.minute} ${d.series} ${d.add.count}`);
    expect(keys(rollupDeltas(items))).toEqual([
      'acme 2026-11-23T10:15Z api:GET /b 1',
      'acme 2026-11-23T10:15Z api:GET /users/:id 1',
      'acme 2026-11-23T10:15Z metric:cpu 1',
      'acme 2026-11-23T10:16Z api:GET /users/:id 1',
      'zeta 2026-11-23T10:15Z api:GET /users/:id 1',
    ]);
    expect(keys(rollupDeltas([...items].reverse()))).toEqual(keys(rollupDeltas(items)));
  });

  it('takes the latest expiresAt of the items it combines', () => {
    const [delta] = rollupDeltas([item(api(200, 1), 'acme', 50), item(api(200, 1), 'acme', 90), item(api(200, 1), 'acme', 70)]);
    expect(delta.expiresAt).toBe(90);
  });

  it('R-ING-4: sums metric values and sketches only the positive ones', () => {
    const [delta] = rollupDeltas([item(metric(4)), item(metric(-2)), item(metric(0))]);
    expect(delta.add).toEqual({ count: 3, valueSum: 2, valueCount: 3, [bucketCounterOf(4)]: 1 });
  });

  it('counts a plain event or webhook once, with no other counter', () => {
    const [delta] = rollupDeltas([item({ type: 'event', name: 'signup', timestamp: `${T}00Z`, properties: {} })]);
    expect(delta.add).toEqual({ count: 1 });
  });

  it('names buckets h<i> (negative below 1) and puts latencies ≤ 0 in the zero bucket', () => {
    expect(bucketCounterOf(1)).toBe('h0');
    expect(bucketCounterOf(100)).toBe('h116'); // gamma^115 ≈ 99.5 < 100 ≤ gamma^116 ≈ 103.6
    expect(bucketCounterOf(0.1)).toBe('h-57');
    expect(bucketCounterOf(0)).toBe('hz');
    expect(sketchOf([0, 0, 5])).toMatchObject({ hz: 2, [bucketCounterOf(5)]: 1 });
  });

  it('puts x in bucket i where gamma^(i-1) < x ≤ gamma^i, gamma = 1.02 / 0.98', () => {
    const gamma = 1.02 / 0.98;
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), (x) => {
        const i = Number(bucketCounterOf(x).slice(1));
        expect(gamma ** (i - 1)).toBeLessThan(x * (1 + 1e-12));
        expect(x).toBeLessThanOrEqual(gamma ** i * (1 + 1e-12));
      }),
    );
  });
});

describe('R-ING-3: latency percentiles', () => {
  const latency = fc.oneof(fc.constant(0), fc.double({ min: 1e-3, max: 1e6, noNaN: true }));

  it('stay within 2% of the exact nearest-rank percentile', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const exact = nearestRank(values, q);
        const estimate = quantile(sketchOf(values), q);
        expect(Math.abs((estimate as number) - exact)).toBeLessThanOrEqual(0.02 * exact + 1e-9);
      }),
    );
  });

  it('are undefined for an empty sketch and refuse q outside [0, 1]', () => {
    expect(quantile({ count: 3 }, 0.5)).toBeUndefined();
    expect(() => quantile({ h1: 1 }, 1.5)).toThrow(RangeError);
    expect(() => quantile({ h1: 1 }, Number.NaN)).toThrow(RangeError);
  });

  it('give the minimum at q = 0 and the maximum at q = 1', () => {
    const counters = sketchOf([1, 10, 100, 1000]);
    expect(quantile(counters, 0)).toBeCloseTo(1, 1);
    expect(quantile(counters, 1)! / 1000).toBeCloseTo(1, 1);
  });
});

describe('R-ING-3: merging is the same as computing over the union', () => {
  const event = fc.record({
    status: fc.integer({ min: 100, max: 599 }),
    latencyMs: fc.integer({ min: 0, max: 60_000 }),
    second: fc.integer({ min: 0, max: 59 }),
    route: fc.constantFrom('/a', '/b'),
  });

  it('for any split of the events into batches, in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(event, { maxLength: 20 }), { minLength: 1, maxLength: 5 }), (batches) => {
        const toItems = (es: typeof batches[number]) => es.map((e) => item(api(e.status, e.latencyMs, e.second, e.route)));
        const union = rollupDeltas(batches.flatMap(toItems)).map(asRollup);
        const merged = mergeRollups(batches.flatMap((b) => rollupDeltas(toItems(b))).reverse().map(asRollup));
        expect(merged).toEqual(union);
        expect(merged.map(summariseRollup)).toEqual(union.map(summariseRollup));
      }),
    );
  });

  it('merging is associative', () => {
    const r = (counters: Record<string, number>, series = 's'): Rollup => ({ minute: '2026-11-23T10:15Z', series, counters });
    const [a, b, c] = [r({ count: 1, h3: 1 }), r({ count: 2, h3: 1, h4: 1 }), r({ count: 1, errors5xx: 1 }, 't')];
    const left = mergeRollups([...mergeRollups([a, b]), c]);
    const right = mergeRollups([a, ...mergeRollups([b, c])]);
    expect(left).toEqual(right);
    expect(left).toEqual([r({ count: 3, h3: 2, h4: 1 }), r({ count: 1, errors5xx: 1 }, 't')]);
  });
});

describe('R-ING-3: summariseRollup', () => {
  it('reports count, error rates, average latency and percentiles of an api series', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    const events = latencies.map((ms, i) => item(api(i < 5 ? 503 : i < 15 ? 404 : 200, ms)));
    const summary = summariseRollup(asRollup(rollupDeltas(events)[0]));
    expect(summary).toMatchObject({ minute: '2026-11-23T10:15Z', series: 'api:GET /users/:id', count: 100, errorRate: 0.05, clientErrorRate: 0.1, avgLatencyMs: 50.5 });
    expect(summary.p50! / 50).toBeCloseTo(1, 1);
    expect(summary.p95! / 95).toBeCloseTo(1, 1);
    expect(summary.p99! / 99).toBeCloseTo(1, 1);
  });

  it('R-ING-4: reports sum, mean and percentiles of a metric series whose values are all positive', () => {
    const summary = summariseRollup(asRollup(rollupDeltas([item(metric(2)), item(metric(4))])[0]));
    expect(summary).toMatchObject({ count: 2, valueSum: 6, avgValue: 3 });
    expect(summary.p99! / 4).toBeCloseTo(1, 1);
    expect(summary).not.toHaveProperty('errorRate');
  });

  it('R-ING-4: leaves percentiles out when some metric values are not positive (the sketch did not see them)', () => {
    const summary = summariseRollup(asRollup(rollupDeltas([item(metric(2)), item(metric(-4))])[0]));
    expect(summary).toEqual({ minute: '2026-11-23T10:15Z', series: 'metric:cpu', count: 2, valueSum: -2, avgValue: -1 });
  });

  it('reports only the count of a plain event series', () => {
    expect(summariseRollup({ minute: 'm', series: 'event:signup', counters: { count: 7 } })).toEqual({ minute: 'm', series: 'event:signup', count: 7 });
  });
});

describe('R-ING-7: rollup updates within DynamoDB’s limits', () => {
  const gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
  /** 400 API calls of one minute and route, each in a sketch bucket of its own. */
  const distinct = Array.from({ length: 400 }, (_, i) => item(api(200, gamma ** (i + 0.5))));

  it('splits 400 distinct buckets of one (minute, series) into runs of at most 200 counters, which add up to the whole', () => {
    const runs = splitByCounters(distinct, 200);

    expect(runs.map((run) => run.length)).toEqual([196, 196, 8]);
    const deltas = runs.map((run) => rollupDeltas(run));
    expect(deltas.every((d) => d.length === 1 && Object.keys(d[0].add).length <= 200)).toBe(true);
    const [whole] = rollupDeltas(distinct);
    expect(Object.keys(whole.add)).toHaveLength(404);
    const [merged] = mergeRollups(deltas.map((d) => asRollup(d[0])));
    // Each run's sum is kept to six decimals, so the runs' sums agree with the whole's to a few micro-units.
    const { latencySum, ...counts } = merged.counters;
    const { latencySum: wholeSum, ...wholeCounts } = whole.add;
    expect(counts).toEqual(wholeCounts);
    expect(Math.abs(latencySum - wholeSum)).toBeLessThanOrEqual(runs.length * 1e-6);
    expect(runs.flat()).toEqual(distinct);
  });

  it('keeps events that share their counters in one run', () => {
    expect(splitByCounters(Array.from({ length: 1000 }, () => item(api(200, 10))), 200)).toHaveLength(1);
  });

  it('keeps sums to six decimals, so DynamoDB’s exact 38-digit sum of them never overflows', () => {
    const [delta] = rollupDeltas([item(metric(0.1)), item(metric(0.2)), item(metric(1e-9))]);
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(delta.add.valueSum).toBe(0.3);
  });
});
