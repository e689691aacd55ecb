/**
 * Handler tier, billing (R-BILL-1, R-BILL-3, R-SEC-10): the webhook through createBillingHandler with the real Stripe
 * SDK's verification and signatures from its generateTestHeaderString, over the in-memory billing twins.
 */
import { createBillingHandler, type BillingHandlerDeps } from '../../lambdas/billing/handler';
import { MemoryBillingRecords, MemoryTenantPlans } from '../../lambdas/adapters/memory-billing';
import { stripeEventVerifier } from '../../lambdas/adapters/stripe-webhooks';
import { configuredSigningSecret } from '../../lambdas/adapters/stripe-webhook-secret';
import type { BillingSettings } from '../../lambdas/domain/billing';
import { bodyOf } from './fixtures';
import { checkoutCompleted, invoiceEvent, signedWebhook, subscriptionEvent } from '../support/stripe-events';

const SECRET = 'whsec_handler_test_0123456789';
const NOW = 1_796_000_000;
const SETTINGS: BillingSettings = { prices: { price_Business1: 'business', price_Enterprise1: 'enterprise' }, terminationGraceDays: 14, toleranceSeconds: 300 };

function world() {
  const records = new MemoryBillingRecords();
  const plans = new MemoryTenantPlans({ acme: 'starter' });
  const deps: BillingHandlerDeps = {
    records,
    plans,
    settings: SETTINGS,
    clock: { now: () => new Date(NOW * 1000) },
    verifier: stripeEventVerifier,
    signingSecret: configuredSigningSecret(SECRET),
    terminations: { isTerminating: async () => false, start: async (tenantId: string) => `term_${tenantId}` },
  };
  return { records, plans, handler: createBillingHandler(deps) };
}

const errorCode = (answer: { statusCode: number; body: string }) => (bodyOf(answer).error as { code: string }).code;

describe('R-BILL-3: verified by the Stripe signature before any effect', () => {
  test('a signature made by generateTestHeaderString is accepted and the event has its effect', async () => {
    const { handler, records } = world();
    const answer = await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    expect(answer.statusCode).toBe(200);
    expect(bodyOf(answer)).toMatchObject({ received: true, outcome: 'applied', tenantId: 'acme' });
    expect(await records.tenantOfCustomer('cus_A1')).toBe('acme');
  });

  test('a base64 body as API Gateway may hand it is verified over its bytes', async () => {
    const { handler } = world();
    const answer = await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET, { base64: true }));
    expect(answer.statusCode).toBe(200);
  });

  test.each([
    ['a wrong secret', { secret: 'whsec_someone_else' }, 401, 'invalid_signature'],
    ['an expired timestamp', { timestamp: Math.floor(Date.now() / 1000) - 301 }, 401, 'timestamp_out_of_tolerance'],
    ['a body changed by one byte', { mutate: true }, 401, 'invalid_signature'],
    ['a missing Stripe-Signature header', { header: null }, 401, 'missing_signature'],
    ['a garbled header', { header: 't=abc' }, 401, 'invalid_signature'],
  ] as const)('%s is refused with a clear 4xx and no effect', async (_name, change, status, code) => {
    const { handler, records, plans } = world();
    const event = subscriptionEvent('created', { customer: 'cus_A1', price: 'price_Business1', created: NOW, tenantId: 'acme' });
    const payload = JSON.stringify(event);
    const secret = 'secret' in change ? change.secret : SECRET;
    const request = signedWebhook(payload, secret, {
      ...('timestamp' in change ? { timestamp: change.timestamp } : {}),
      ...('header' in change ? { header: change.header } : {}),
      ...('mutate' in change ? { body: payload.replace('"price_Business1"', '"price_Business2"') } : {}),
    });
    const answer = await handler(request);
    expect([answer.statusCode, errorCode(answer)]).toEqual([status, code]);
    expect(records.events.size + records.states.size + records.customers.size).toBe(0);
    expect(plans.writes).toEqual([]);
  });

  test('the same request correctly signed is accepted (the twin of the refusals above)', async () => {
    const { handler, plans } = world();
    const event = subscriptionEvent('created', { customer: 'cus_A1', price: 'price_Business1', created: NOW, tenantId: 'acme' });
    expect((await handler(signedWebhook(JSON.stringify(event), SECRET))).statusCode).toBe(200);
    expect(plans.tenants.get('acme')?.plan).toBe('business');
  });
});

describe('R-BILL-1: idempotent on the Stripe event id, and ordered by the events\' own times', () => {
  test('a replayed event has no second effect', async () => {
    const { handler, records, plans } = world();
    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    const created = subscriptionEvent('created', { customer: 'cus_A1', price: 'price_Business1', created: NOW + 1 });
    const first = await handler(signedWebhook(created, SECRET));
    expect(bodyOf(first)).toMatchObject({ outcome: 'applied', plan: 'business' });
    const states = records.states.size;

    const replay = await handler(signedWebhook(created, SECRET));

    expect(replay.statusCode).toBe(200);
    expect(bodyOf(replay)).toMatchObject({ outcome: 'duplicate' });
    expect(records.states.size).toBe(states);
    expect(plans.writes).toHaveLength(1);
  });

  test('an older update delivered after a newer one does not overwrite the newer plan', async () => {
    const { handler, plans } = world();
    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    const upgrade = subscriptionEvent('updated', { customer: 'cus_A1', price: 'price_Enterprise1', created: NOW + 20 });
    const older = subscriptionEvent('created', { customer: 'cus_A1', price: 'price_Business1', created: NOW + 10 });

    await handler(signedWebhook(upgrade, SECRET));
    const late = await handler(signedWebhook(older, SECRET));

    expect(late.statusCode).toBe(200);
    expect(plans.tenants.get('acme')?.plan).toBe('enterprise');
  });

  test('in order, the newer update wins (the twin)', async () => {
    const { handler, plans } = world();
    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    await handler(signedWebhook(subscriptionEvent('updated', { customer: 'cus_A1', price: 'price_Enterprise1', created: NOW + 10 }), SECRET));
    await handler(signedWebhook(subscriptionEvent('updated', { customer: 'cus_A1', price: 'price_Business1', created: NOW + 20 }), SECRET));
    expect(plans.tenants.get('acme')?.plan).toBe('business');
  });

  test('a subscription event before the checkout that links its customer is refused (404) and succeeds on Stripe\'s retry', async () => {
    const { handler, plans } = world();
    const created = subscriptionEvent('created', { customer: 'cus_A1', price: 'price_Business1', created: NOW + 1 });
    const early = await handler(signedWebhook(created, SECRET));
    expect([early.statusCode, errorCode(early)]).toEqual([404, 'not_found']);

    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    const retry = await handler(signedWebhook(created, SECRET));
    expect(bodyOf(retry)).toMatchObject({ outcome: 'applied', plan: 'business' });
    expect(plans.tenants.get('acme')?.plan).toBe('business');
  });

  test('a deleted subscription records a pending termination after the grace period; the plan stays until then', async () => {
    const { handler, records, plans } = world();
    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    await handler(signedWebhook(subscriptionEvent('created', { customer: 'cus_A1', price: 'price_Business1', created: NOW + 1 }), SECRET));
    const deleted = await handler(signedWebhook(subscriptionEvent('deleted', { customer: 'cus_A1', price: 'price_Business1', created: NOW + 100, endedAt: NOW + 90 }), SECRET));

    const terminateAfter = new Date((NOW + 90 + 14 * 86_400) * 1000).toISOString();
    expect(bodyOf(deleted)).toMatchObject({ outcome: 'applied', pendingTermination: terminateAfter });
    expect(await records.pendingTerminations('acme')).toEqual([expect.objectContaining({ subscriptionId: 'sub_A1', terminateAfter })]);
    expect(plans.tenants.get('acme')?.plan).toBe('business');
  });

  test('invoice.paid and invoice.payment_failed are recorded as references, statuses and amounts only (R-SEC-10)', async () => {
    const { handler, records } = world();
    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    expect((await handler(signedWebhook(invoiceEvent('payment_failed', 'cus_A1', NOW + 5), SECRET))).statusCode).toBe(200);
    expect((await handler(signedWebhook(invoiceEvent('paid', 'cus_A1', NOW + 6), SECRET))).statusCode).toBe(200);

    const invoices = [...records.invoices.values()];
    expect(invoices.map((i) => i.outcome).sort()).toEqual(['paid', 'payment_failed']);
    expect(invoices[0]).toMatchObject({ invoiceId: 'in_test1', customerId: 'cus_A1', subscriptionId: 'sub_A1', currency: 'eur' });
    const everything = JSON.stringify([...records.events.values(), ...records.customers.values(), ...records.states.values(), ...invoices]);
    expect(everything).not.toMatch(/ann@example\.com|Main St|Springfield|pm_card|customer_details|customer_address/);
  });

  test('a checkout naming another tenant for a customer already linked is refused (409) and links nothing new', async () => {
    const { handler, records, plans } = world();
    plans.tenants.set('globex', { plan: 'starter' });
    await handler(signedWebhook(checkoutCompleted('acme', 'cus_A1', NOW), SECRET));
    const other = await handler(signedWebhook(checkoutCompleted('globex', 'cus_A1', NOW + 1), SECRET));
    expect([other.statusCode, errorCode(other)]).toEqual([409, 'conflict']);
    expect(await records.tenantOfCustomer('cus_A1')).toBe('acme');
  });

  test('a checkout for a tenant that does not exist is refused (404), so Stripe retries once the operator created it', async () => {
    const { handler, records } = world();
    const answer = await handler(signedWebhook(checkoutCompleted('nobody', 'cus_A9', NOW), SECRET));
    expect([answer.statusCode, errorCode(answer)]).toEqual([404, 'not_found']);
    expect(records.events.size).toBe(0);
  });

  test('an event type billing does not handle is acknowledged and left alone', async () => {
    const { handler, plans } = world();
    const answer = await handler(signedWebhook({ ...checkoutCompleted('acme', 'cus_A1', NOW), type: 'customer.created' }, SECRET));
    expect(bodyOf(answer)).toMatchObject({ outcome: 'ignored' });
    expect(plans.writes).toEqual([]);
  });
});
