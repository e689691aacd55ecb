/**
 * Integration tier, billing (R-BILL-1, R-BILL-3, R-RET-1): over the local platform's HTTP API and the emulators, a
 * Stripe subscription signed by the real SDK with the local signing secret changes the tenant's plan, and records
 * ingested afterwards carry the new plan's retention as their TTL, read back from the TenantData table.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/shared/settings';
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
    port: 0,
    demo: false,
    aroundInvocation: calls.aroundInvocation,
    pollIntervalMs: 20,
    ttlSweepIntervalMs: 3_600_000,
    eventSource: { maxBatchingWindowMs: 50 },
    // Each batch reads the tenant's plan afresh (in AWS the cache bounds the delay to a minute).
    processorCacheMs: 0,
    billing: { prices: { price_Business1: 'business' } },
    log: () => undefined,
  });
  aws = createAwsClients(local.clients);
  const admin = (path: string, body: object = {}) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, method: 'POST', body });
  expect((await admin('/tenants', { tenantId: 'acme', name: 'Acme', plan: 'starter' })).status).toBe(201);
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

test('R-SEC-5: every AWS call the functions made over the local platform is allowed by their synthesized roles', () => {
  expect(calls.functions()).toEqual(expect.arrayContaining(['billing', 'processor', 'ingest']));
  expect(calls.denied()).toEqual([]);
});
