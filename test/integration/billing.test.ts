/**
 * Integration tier, billing (R-BILL-1, R-BILL-3, R-RET-1): over the local platform's HTTP API and the emulators, a
 * Stripe subscription signed by the real SDK with the local signing secret changes the tenant's plan, and records
 * ingested afterwards carry the new plan's retention as their TTL, read back from the TenantData table.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { USAGE_MARK_RETENTION_DAYS } from '../../lambdas/domain/usage';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { TEST_PLATFORM } from '../support/local-platform';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';
import { localCallCheck } from '../deployed/allowed-calls';
import { checkoutCompleted, subscriptionEvent, WEBHOOK_PATH, type StripeEvent } from '../support/stripe-events';
import { eventually, request } from './http';

let local: LocalPlatform;
let aws: AwsClients;
let apiKey = '';
const calls = localCallCheck();
const DAY = 86_400;

beforeAll(async () => {
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    demo: false,
    aroundInvocation: calls.aroundInvocation,
    // Each batch reads the tenant's plan afresh (in AWS the cache bounds the delay to a minute).
    processorCacheMs: 0,
    // R-TERM-1: no grace, and the termination's waits shortened, so a deleted subscription terminates within the test.
    billing: { prices: { price_Business1: 'business' }, terminationGraceDays: 0 },
    workflows: { waitOverridesMs: { AwaitPropagation: 0, AwaitInFlightIngest: 0, AwaitStreamDrain: 20, ExportWindow: 0 }, retryIntervalMs: 0 },
  });
  aws = createAwsClients(local.clients);
  const admin = (path: string, body: object = {}) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, method: 'POST', body });
  expect((await admin('/tenants', { tenantId: 'acme', name: 'Acme', plan: 'starter' })).status).toBe(201);
  expect((await admin('/tenants', { tenantId: 'initech', name: 'Initech', plan: 'business' })).status).toBe(201);
  apiKey = String((await admin('/tenants/acme/api-keys')).body.apiKey);
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

async function deliver(event: StripeEvent, secret = local.stripeWebhookSecret) {
  const payload = JSON.stringify(event);
  const response = await fetch(`${local.url}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret }) },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The stored event's TTL attribute and its receipt, once the processor has stored it. */
async function ingestedTtl(name: string): Promise<{ expiresAt: number; receivedAt: number }> {
  const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKey, body: { type: 'event', name, properties: {} } });
  expect(answer.status).toBe(202);
  const eventId = answer.body.eventIds[0];
  return eventually(async () => {
    const { Items = [] } = await aws.dynamo.send(
      new ScanCommand({ TableName: local.deployment.names.dataTable, FilterExpression: 'eventId = :id AND attribute_exists(expiresAt)', ExpressionAttributeValues: { ':id': eventId } }),
    );
    const item = Items.find((i) => typeof i.receivedAt === 'string');
    return item ? { expiresAt: Number(item.expiresAt), receivedAt: Math.floor(Date.parse(String(item.receivedAt)) / 1000) } : undefined;
  }, `event ${eventId} stored`);
}

test('R-BILL-3: a delivery signed with another secret is refused over HTTP and changes nothing', async () => {
  const answer = await deliver(checkoutCompleted('acme', 'cus_Local1', Math.floor(Date.now() / 1000)), 'whsec_not_the_local_one');
  expect([answer.status, (answer.body.error as { code: string }).code]).toEqual([401, 'invalid_signature']);
});

test('R-BILL-1, R-RET-1: after a Stripe subscription to Business, newly ingested records get Business retention (emulator TTL)', async () => {
  const { plans } = DEFAULT_RUNTIME_SETTINGS;
  const before = await ingestedTtl('before-upgrade');
  expect(before.expiresAt - before.receivedAt).toBeGreaterThanOrEqual(plans.starter.retentionDays * DAY - 1);
  expect(before.expiresAt - before.receivedAt).toBeLessThanOrEqual(plans.starter.retentionDays * DAY + 1);

  const now = Math.floor(Date.now() / 1000);
  expect((await deliver(checkoutCompleted('acme', 'cus_Local1', now))).status).toBe(200);
  const upgraded = await deliver(subscriptionEvent('created', { customer: 'cus_Local1', price: 'price_Business1', created: now + 1 }));
  expect(upgraded).toMatchObject({ status: 200, body: { outcome: 'applied', plan: 'business' } });

  const after = await ingestedTtl('after-upgrade');
  expect(after.expiresAt - after.receivedAt).toBeGreaterThanOrEqual(plans.business.retentionDays * DAY - 1);
  expect(after.expiresAt - after.receivedAt).toBeLessThanOrEqual(plans.business.retentionDays * DAY + 1);
});

test('R-TERM-1: a deleted subscription leads to the tenant\'s termination once the grace period (0 here) is over, started once', async () => {
  // The events happened a little while ago (their signatures are fresh): the subscription ended in the past.
  const now = Math.floor(Date.now() / 1000) - 60;
  expect((await deliver(checkoutCompleted('initech', 'cus_Local2', now, 'sub_I1'))).status).toBe(200);
  expect((await deliver(subscriptionEvent('created', { customer: 'cus_Local2', subscription: 'sub_I1', price: 'price_Business1', created: now + 1 }))).status).toBe(200);
  // Before the deletion nothing is due (the twin of what follows).
  expect(await local.startDueTerminations()).toEqual({ started: [], skipped: [] });

  const deleted = await deliver(subscriptionEvent('deleted', { customer: 'cus_Local2', subscription: 'sub_I1', price: 'price_Business1', created: now + 2, endedAt: now + 2 }));
  expect(deleted.body).toMatchObject({ outcome: 'applied', pendingTermination: new Date((now + 2) * 1000).toISOString() });

  const check = await local.startDueTerminations();
  expect(check.started.map((s) => s.tenantId)).toEqual(['initech']);
  const view = await eventually(async () => {
    const { body } = await request(`${local.url}/v1/admin/tenants/initech/termination`, { token: local.adminToken });
    if (body.status === 'failed') throw new Error(`termination failed: ${JSON.stringify(body.failure)}`);
    return body.status === 'completed' ? body : undefined;
  }, 'the termination of initech', 60_000);
  expect(view).toMatchObject({ election: 'export-then-delete', requestedBy: 'system:billing' });

  // The next hourly run starts nothing again; the billing records survive the termination (R-TERM-6).
  expect(await local.startDueTerminations()).toMatchObject({ started: [], skipped: [{ tenantId: 'initech', reason: 'already-terminating' }] });
  expect((await deliver(subscriptionEvent('deleted', { customer: 'cus_Local2', subscription: 'sub_I1', price: 'price_Business1', created: now + 2, endedAt: now + 2 }))).status).toBe(200);
});

test('R-SEC-10, R-RET-3: the ledger holds Stripe references only (no e-mail, name, address or card), each kept 7 years', async () => {
  const { Items = [] } = await aws.dynamo.send(new ScanCommand({ TableName: local.deployment.names.ledgerTable }));
  expect(Items.length).toBeGreaterThan(5);
  expect(JSON.stringify(Items)).not.toMatch(/ann@example\.com|Ann Example|Main St|Springfield|pm_card|customer_details|unit_amount/);
  // Stripe's records, and the usage the termination flushed (LEDGER#…) before initech's purge.
  expect(Items.some((item) => String(item.pk).startsWith('LEDGER#'))).toBe(true);
  // R-BILL-2: usage marks (counts by event id, no content) are working data, kept 40 days past their day, beyond
  // Stripe's 35-day window; what was billed is in the 7-year records (deliveries, settled days, statements).
  const isMark = (item: Record<string, unknown>) => /^MARKS?#/.test(String(item.pk));
  expect(Items.filter(isMark).length).toBeGreaterThan(0);
  for (const item of Items.filter(isMark)) {
    expect([item.pk, Object.keys(item).sort()]).toEqual([item.pk, String(item.pk).startsWith('MARKS#') ? ['expiresAt', 'pk', 'sk'] : ['expiresAt', 'm', 'pk', 'sk']]);
    // A page of marks (issue 12): source ids, each with counts only (or null, taken back).
    for (const entry of Object.values((item.m ?? {}) as Record<string, Record<string, unknown> | null>)) {
      for (const count of Object.values(entry ?? {})) expect([item.pk, typeof count]).toEqual([item.pk, 'number']);
    }
    expect([item.pk, Number(item.expiresAt) <= Date.now() / 1000 + USAGE_MARK_RETENTION_DAYS * DAY]).toEqual([item.pk, true]);
  }
  for (const item of Items.filter((i) => !isMark(i))) expect([item.pk, Number(item.expiresAt) > Date.now() / 1000 + 7 * 365 * DAY]).toEqual([item.pk, true]);
});

test('R-SEC-5: every AWS call the functions made over the local platform is allowed by their synthesized roles', () => {
  expect(calls.functions()).toEqual(expect.arrayContaining(['billing', 'processor', 'ingest', 'termination-tasks']));
  expect(calls.denied()).toEqual([]);
});
