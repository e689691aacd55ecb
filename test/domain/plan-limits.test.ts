/**
 * R-BILL-1: the plan decides the tenant's limits. The monthly event quota (EventQuota over a counter, as ingest
 * uses it), its accuracy bound across containers, and the plan's numbers of webhook sources and API keys.
 */
import { MemoryEventCounter } from '../../lambdas/adapters/dynamo-event-counter';
import { assertPlanAllows, EventQuota, QUOTA_FLUSH_MS, quotaExpiresAt, type EventCounter } from '../../lambdas/domain/plan-limits';
import { DEFAULT_RUNTIME_SETTINGS, planSchema, runtimeSettingsSchema } from '../../lambdas/domain/settings';
import * as z from '../../lambdas/domain/zod';
import { ManualClock } from '../support/manual-clock';

const START = new Date('2026-03-31T23:59:00.000Z');
const settings = {
  plans: {
    starter: { ...DEFAULT_RUNTIME_SETTINGS.plans.starter, monthlyEvents: 10, maxWebhookSources: 1, maxApiKeys: 2 },
    business: { ...DEFAULT_RUNTIME_SETTINGS.plans.business, monthlyEvents: 100 },
    enterprise: DEFAULT_RUNTIME_SETTINGS.plans.enterprise,
  },
};
const starter = { tenantId: 'acme', plan: 'starter' as const };
const business = { tenantId: 'acme', plan: 'business' as const };

describe('EventQuota (R-BILL-1)', () => {
  let clock: ManualClock;
  let counter: MemoryEventCounter;
  let quota: EventQuota;
  beforeEach(() => {
    clock = new ManualClock(START);
    counter = new MemoryEventCounter();
    quota = new EventQuota({ counter, settings, clock });
  });

  it('admits up to the plan\'s monthly events, then refuses with 429 quota_exceeded naming the plan', async () => {
    await quota.admit(starter, 6);
    await quota.admit(starter, 4);
    await expect(quota.admit(starter, 1)).rejects.toMatchObject({ code: 'quota_exceeded', status: 429, message: expect.stringMatching(/starter plan's quota of 10 events for 2026-03/) });
  });

  it('a batch that would cross the quota is refused whole; a smaller one still fits', async () => {
    await quota.admit(starter, 8);
    await expect(quota.admit(starter, 3)).rejects.toMatchObject({ code: 'quota_exceeded' });
    await expect(quota.admit(starter, 2)).resolves.toBeUndefined();
  });

  it('a plan change applies to the next request: the same month\'s count against the larger plan', async () => {
    await quota.admit(starter, 10);
    await expect(quota.admit(starter, 1)).rejects.toMatchObject({ code: 'quota_exceeded' });
    await expect(quota.admit(business, 1)).resolves.toBeUndefined();
    // And a downgrade refuses at once: 11 counted, above Starter's 10.
    await expect(quota.admit(starter, 1)).rejects.toMatchObject({ message: expect.stringContaining('starter') });
  });

  it('counts in the shared counter at most once per QUOTA_FLUSH_MS per container, and a UTC month starts afresh', async () => {
    for (let i = 0; i < 5; i++) await quota.admit(business, 1);
    expect(counter.updates).toBe(1);
    clock.advance(QUOTA_FLUSH_MS);
    await quota.admit(business, 1);
    expect([counter.updates, counter.totals.get('acme/2026-03')]).toEqual([2, 5]);
    clock.advance(60_000); // 2026-04-01T00:00:01Z
    await quota.admit(starter, 10);
    await expect(quota.admit(starter, 1)).rejects.toMatchObject({ message: expect.stringContaining('2026-04') });
    expect(counter.totals.get('acme/2026-04')).toBe(0);
  });

  it('containers learn each other\'s counts at their next update: together they overshoot by at most what they admit within QUOTA_FLUSH_MS', async () => {
    const other = new EventQuota({ counter, settings, clock });
    await quota.admit(starter, 6);
    await other.admit(starter, 6); // each container alone is within 10
    clock.advance(QUOTA_FLUSH_MS);
    // The first to update has not yet seen the other's 6: it admits one more.
    await expect(quota.admit(starter, 1)).resolves.toBeUndefined();
    await expect(other.admit(starter, 1)).rejects.toMatchObject({ code: 'quota_exceeded' });
    clock.advance(QUOTA_FLUSH_MS);
    await expect(quota.admit(starter, 1)).rejects.toMatchObject({ code: 'quota_exceeded' });
    // 13 admitted against 10: the overshoot is what the two admitted before learning each other's counts.
    expect(counter.totals.get('acme/2026-03')).toBe(13);
  });

  it('released events (the stream refused them) are given back with the next update', async () => {
    await quota.admit(starter, 10);
    quota.release('acme', 10);
    await expect(quota.admit(starter, 10)).resolves.toBeUndefined();
    clock.advance(QUOTA_FLUSH_MS);
    await expect(quota.admit(starter, 1)).rejects.toMatchObject({ code: 'quota_exceeded' });
    expect(counter.totals.get('acme/2026-03')).toBe(10);
  });

  it('a failing counter never fails the request: admitted on local counts, reported, retried with the next update', async () => {
    const errors: unknown[] = [];
    let down = true;
    const flaky: EventCounter = { add: (...args) => (down ? Promise.reject(new Error('ProvisionedThroughputExceededException')) : counter.add(...args)) };
    quota = new EventQuota({ counter: flaky, settings, clock, onCounterError: (e) => errors.push(e) });
    await quota.admit(starter, 4);
    clock.advance(QUOTA_FLUSH_MS);
    await quota.admit(starter, 4);
    expect(errors).toHaveLength(2);
    await expect(quota.admit(starter, 3)).rejects.toMatchObject({ code: 'quota_exceeded' });
    down = false;
    clock.advance(QUOTA_FLUSH_MS);
    await quota.admit(starter, 2);
    expect(counter.totals.get('acme/2026-03')).toBe(8);
  });

  it('the counter item expires at the start of the month after the next', () => {
    expect(new Date(quotaExpiresAt('2026-03') * 1000).toISOString()).toBe('2026-05-01T00:00:00.000Z');
    expect(new Date(quotaExpiresAt('2026-12') * 1000).toISOString()).toBe('2027-02-01T00:00:00.000Z');
  });
});

describe('assertPlanAllows (R-BILL-1)', () => {
  it('refuses one more than the plan allows with 409 plan_limit_reached, naming the plan; below it passes', () => {
    expect(() => assertPlanAllows(starter, settings, 'API keys', 1)).not.toThrow();
    expect(() => assertPlanAllows(starter, settings, 'API keys', 2)).toThrow(expect.objectContaining({ code: 'plan_limit_reached', status: 409, message: expect.stringContaining('starter plan allows 2 API keys') }));
    expect(() => assertPlanAllows(starter, settings, 'webhook sources', 1)).toThrow(expect.objectContaining({ code: 'plan_limit_reached' }));
    expect(() => assertPlanAllows(business, settings, 'webhook sources', 1)).not.toThrow();
  });
});

describe('plan limits in the settings schema (R-BILL-1)', () => {
  it('a plan without limits gets Starter\'s defaults; the defaults grow with the plan', () => {
    expect(z.parse(planSchema, { retentionDays: 30 })).toMatchObject({ monthlyEvents: 1_000_000, maxWebhookSources: 5, maxApiKeys: 5 });
    const { starter: s, business: b, enterprise: e } = DEFAULT_RUNTIME_SETTINGS.plans;
    for (const key of ['monthlyEvents', 'maxWebhookSources', 'maxApiKeys'] as const) expect([s[key] <= b[key], b[key] <= e[key]]).toEqual([true, true]);
    expect(z.safeParse(runtimeSettingsSchema, DEFAULT_RUNTIME_SETTINGS).success).toBe(true);
  });

  it('refuses a quota below 1 or a fractional limit', () => {
    expect(z.safeParse(planSchema, { retentionDays: 30, monthlyEvents: 0 }).success).toBe(false);
    expect(z.safeParse(planSchema, { retentionDays: 30, maxApiKeys: 1.5 }).success).toBe(false);
  });
});
