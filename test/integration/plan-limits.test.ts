/**
 * Integration tier, plan limits (R-BILL-1): over the local platform's HTTP API and the emulators, a Starter tenant
 * reaches its plan's monthly event quota (429 quota_exceeded) and its numbers of API keys and webhook sources (409
 * plan_limit_reached); a Stripe subscription to Business, signed by the real SDK and delivered to the billing
 * webhook, lifts them for the next requests. The quota's counter is read back from the Control table, and every AWS
 * call is checked against the synthesized roles.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { controlKeys } from '../../lambdas/domain/keys';
import { quotaMonthOf } from '../../lambdas/domain/plan-limits';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';
import { localCallCheck } from '../deployed/allowed-calls';
import { TEST_PLATFORM } from '../support/local-platform';
import { checkoutCompleted, subscriptionEvent, WEBHOOK_PATH, type StripeEvent } from '../support/stripe-events';
import { request } from './http';

const { starter, business, enterprise } = DEFAULT_RUNTIME_SETTINGS.plans;
const PLANS = { starter: { ...starter, monthlyEvents: 3, maxApiKeys: 2, maxWebhookSources: 1 }, business, enterprise };

let local: LocalPlatform;
let aws: AwsClients;
let apiKey = '';
const calls = localCallCheck();
const admin = (path: string, body: object = {}) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, method: 'POST', body });
const ingest = (events: number) =>
  request(`${local.url}/v1/events`, { token: apiKey, body: { events: Array.from({ length: events }, (_, i) => ({ type: 'event', name: `e${i}`, properties: {} })) } });

beforeAll(async () => {
  local = await startLocalPlatform({ ...TEST_PLATFORM, demo: false, aroundInvocation: calls.aroundInvocation, plans: PLANS, billing: { prices: { price_Business1: 'business' } } });
  aws = createAwsClients(local.clients);
  expect((await admin('/tenants', { tenantId: 'acme', name: 'Acme', plan: 'starter' })).status).toBe(201);
  apiKey = String((await admin('/tenants/acme/api-keys')).body.apiKey);
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

async function deliver(event: StripeEvent) {
  const payload = JSON.stringify(event);
  const response = await fetch(`${local.url}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: local.stripeWebhookSecret }) },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('R-BILL-1: a Starter tenant hits its limits; after a Stripe upgrade to Business through the webhook, the next requests succeed', async () => {
  // The quota: 3 events a month on this Starter.
  expect((await ingest(2)).status).toBe(202);
  expect((await ingest(1)).status).toBe(202);
  const refused = await ingest(1);
  expect([refused.status, refused.body.error]).toEqual([429, { code: 'quota_exceeded', message: expect.stringContaining("starter plan's quota of 3 events") }]);
  // API keys (1 issued in beforeAll) and webhook sources.
  expect((await admin('/tenants/acme/api-keys')).status).toBe(201);
  expect((await admin('/tenants/acme/api-keys')).body.error).toMatchObject({ code: 'plan_limit_reached' });
  expect((await admin('/tenants/acme/webhook-sources', { scheme: 'standard', sourceId: 'one' })).status).toBe(201);
  const sourceRefused = await admin('/tenants/acme/webhook-sources', { scheme: 'standard', sourceId: 'two' });
  expect([sourceRefused.status, sourceRefused.body.error]).toEqual([409, expect.objectContaining({ code: 'plan_limit_reached' })]);

  const now = Math.floor(Date.now() / 1000);
  expect((await deliver(checkoutCompleted('acme', 'cus_Limits1', now))).status).toBe(200);
  expect(await deliver(subscriptionEvent('created', { customer: 'cus_Limits1', price: 'price_Business1', created: now + 1 }))).toMatchObject({ status: 200, body: { plan: 'business' } });

  expect((await ingest(1)).status).toBe(202);
  expect((await admin('/tenants/acme/api-keys')).status).toBe(201);
  expect((await admin('/tenants/acme/webhook-sources', { scheme: 'standard', sourceId: 'two' })).status).toBe(201);
});

test('R-BILL-1: the month\'s counter in the Control table holds the admitted events, with a TTL', async () => {
  // One more request makes the ingest container add what it admitted since its last update (at most QUOTA_FLUSH_MS ago).
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect((await ingest(1)).status).toBe(202);
  const { Item } = await aws.dynamo.send(new GetCommand({ TableName: local.deployment.names.controlTable, Key: controlKeys.eventQuota('acme', quotaMonthOf(new Date())) }));
  expect(Item).toMatchObject({ events: 4 });
  expect(Number(Item!.expiresAt)).toBeGreaterThan(Date.now() / 1000 + 28 * 86_400);
});

test('R-SEC-5: every AWS call the functions made over the local platform is allowed by their synthesized roles', () => {
  expect(calls.functions()).toEqual(expect.arrayContaining(['admin', 'billing', 'ingest']));
  expect(calls.denied()).toEqual([]);
});
