/**
 * Domain tier, billing (R-BILL-1, R-SEC-10): the plan decided from subscription states whatever order they arrive
 * in, the grace period of a deleted subscription, and the settings schema.
 */
import fc from 'fast-check';
import { billingSettingsSchema, decide, DueTerminations, orderOf, StripeBilling, type BillingSettings, type SubscriptionState } from '../../lambdas/domain/billing';
import { MemoryBillingRecords, MemoryTenantPlans } from '../../lambdas/adapters/memory-billing';
import { subscriptionEvent } from '../support/stripe-events';

const SETTINGS: BillingSettings = { prices: { price_S: 'starter', price_B: 'business', price_E: 'enterprise' }, terminationGraceDays: 14, toleranceSeconds: 300 };

const state = (subscriptionId: string, status: string, price: string, eventCreated: number, eventId = `evt_${eventCreated}`): SubscriptionState => ({
  tenantId: 'acme',
  subscriptionId,
  customerId: 'cus_1',
  status,
  priceIds: [price],
  eventCreated,
  eventId,
  ...(status === 'canceled' ? { endedAt: eventCreated } : {}),
  order: orderOf(eventCreated, status, eventId),
});

describe('R-BILL-1: decide', () => {
  test('the newest state of a subscription decides, whatever order the states arrive in (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ t: fc.integer({ min: 1, max: 1000 }), price: fc.constantFrom('price_S', 'price_B', 'price_E') }), { minLength: 1, maxLength: 8 }), (updates) => {
        const states = updates.map((u, i) => state('sub_1', 'active', u.price, u.t, `evt_${i}`));
        const newest = [...states].sort((a, b) => (a.order < b.order ? -1 : 1)).at(-1)!;
        const shuffled = [...states].reverse();
        expect(decide(shuffled, SETTINGS)?.plan).toBe(SETTINGS.prices[newest.priceIds[0]]);
        expect(decide(states, SETTINGS)).toEqual(decide(shuffled, SETTINGS));
      }),
    );
  });

  test('a cancellation in the same second as an update wins over it', () => {
    const decision = decide([state('sub_1', 'canceled', 'price_B', 100), state('sub_1', 'active', 'price_B', 100)], SETTINGS);
    expect(decision?.plan).toBeUndefined();
    expect(decision?.pendingTermination?.terminateAfter).toBe(new Date((100 + 14 * 86_400) * 1000).toISOString());
  });

  test('the active twin: an update alone keeps the plan and no termination is pending', () => {
    const decision = decide([state('sub_1', 'active', 'price_B', 100)], SETTINGS);
    expect(decision).toMatchObject({ plan: 'business' });
    expect(decision?.pendingTermination).toBeUndefined();
  });

  test('two live subscriptions: the better plan; one canceled, the other still live: no termination', () => {
    const decision = decide([state('sub_1', 'active', 'price_B', 100), state('sub_2', 'active', 'price_E', 90), state('sub_1', 'canceled', 'price_B', 200)], SETTINGS);
    expect(decision).toMatchObject({ plan: 'enterprise' });
    expect(decision?.pendingTermination).toBeUndefined();
  });

  test('past_due keeps the plan while Stripe retries; an unmapped price changes nothing', () => {
    expect(decide([state('sub_1', 'past_due', 'price_B', 100)], SETTINGS)?.plan).toBe('business');
    expect(decide([state('sub_1', 'active', 'price_Unknown', 100)], SETTINGS)?.plan).toBeUndefined();
  });
});

describe('R-BILL-1: StripeBilling', () => {
  test('an older subscription event applied after a newer one leaves the plan and its version as the newer one set', async () => {
    const records = new MemoryBillingRecords();
    const plans = new MemoryTenantPlans({ acme: 'starter' });
    const billing = new StripeBilling({ records, plans, settings: SETTINGS, clock: { now: () => new Date(0) } });
    const newer = subscriptionEvent('updated', { customer: 'cus_1', price: 'price_E', created: 200, tenantId: 'acme' });
    const older = subscriptionEvent('created', { customer: 'cus_1', price: 'price_B', created: 100, tenantId: 'acme' });
    for (const e of [newer, older]) await billing.handle({ id: e.id, type: e.type, created: e.created, object: e.data.object });
    expect(plans.tenants.get('acme')).toEqual({ plan: 'enterprise', version: orderOf(200, 'active', newer.id) });
    expect(plans.writes).toHaveLength(1);
  });

  test('R-SEC-10: a recorded subscription state holds ids, status and timestamps only', async () => {
    const records = new MemoryBillingRecords();
    const billing = new StripeBilling({ records, plans: new MemoryTenantPlans({ acme: 'starter' }), settings: SETTINGS, clock: { now: () => new Date(0) } });
    const e = subscriptionEvent('created', { customer: 'cus_1', price: 'price_B', created: 100, tenantId: 'acme' });
    await billing.handle({ id: e.id, type: e.type, created: e.created, object: e.data.object });
    const [recorded] = await records.subscriptionStates('acme');
    expect(Object.keys(recorded).sort()).toEqual(['customerId', 'eventCreated', 'eventId', 'order', 'priceIds', 'status', 'subscriptionId', 'tenantId']);
  });
});

describe('billing settings', () => {
  test('a price id that is not one, or a plan that does not exist, is refused; a valid mapping passes', () => {
    expect(billingSettingsSchema.safeParse({ ...SETTINGS, prices: { prod_X: 'business' } }).success).toBe(false);
    expect(billingSettingsSchema.safeParse({ ...SETTINGS, prices: { price_X: 'platinum' } }).success).toBe(false);
    expect(billingSettingsSchema.safeParse(SETTINGS).success).toBe(true);
  });
});

describe('R-TERM-1: DueTerminations, the hourly check', () => {
  async function world(states: SubscriptionState[], now: number, terminating = false) {
    const records = new MemoryBillingRecords();
    for (const s of states) await records.recordSubscriptionState(s);
    const decision = decide(states, SETTINGS);
    if (decision?.pendingTermination) await records.recordPendingTermination(decision.pendingTermination);
    const starts: string[] = [];
    const terminations = { isTerminating: async () => terminating, start: async (tenantId: string) => (starts.push(tenantId), `term_${tenantId}`) };
    return { starts, due: new DueTerminations({ records, terminations, settings: SETTINGS, clock: { now: () => new Date(now * 1000) } }), records };
  }
  const GRACE = 14 * 86_400;

  test('after the grace period the tenant\'s termination is started; before it, not (the twin)', async () => {
    const canceled = [state('sub_1', 'active', 'price_B', 100), state('sub_1', 'canceled', 'price_B', 200)];
    const early = await world(canceled, 200 + GRACE - 1);
    expect(await early.due.run()).toEqual({ started: [], skipped: [] });
    const late = await world(canceled, 200 + GRACE);
    expect(await late.due.run()).toEqual({ started: [{ tenantId: 'acme', terminationId: 'term_acme' }], skipped: [] });
  });

  test('a tenant that subscribed again after the cancellation is not terminated', async () => {
    const w = await world([state('sub_1', 'canceled', 'price_B', 200)], 200 + GRACE);
    await w.records.recordSubscriptionState(state('sub_2', 'active', 'price_B', 300));
    expect(await w.due.run()).toEqual({ started: [], skipped: [{ tenantId: 'acme', reason: 'subscribed' }] });
    expect(w.starts).toEqual([]);
  });

  test('a tenant already terminating is skipped, so a second hourly run starts nothing twice', async () => {
    const w = await world([state('sub_1', 'canceled', 'price_B', 200)], 200 + GRACE, true);
    expect(await w.due.run()).toEqual({ started: [], skipped: [{ tenantId: 'acme', reason: 'already-terminating' }] });
  });
});
