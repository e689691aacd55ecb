/**
 * R-BILL-1 through the handlers: the plan's monthly event quota on POST /v1/events and on webhook deliveries
 * (429 quota_exceeded, never a 5xx), and its numbers of API keys and webhook sources on the admin routes
 * (409 plan_limit_reached). A plan change applies to the next request.
 */
import { createHmac } from 'node:crypto';
import { MemoryEventCounter } from '../../lambdas/adapters/dynamo-event-counter';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';
import { apiRequest, createTenant, issueKey, postEvents, removeKeyDirectories, testPlatform, type TestPlatform } from './fixtures';

afterAll(removeKeyDirectories);

const { starter, business, enterprise } = DEFAULT_RUNTIME_SETTINGS.plans;
const plans = { starter: { ...starter, monthlyEvents: 3, maxApiKeys: 2, maxWebhookSources: 1 }, business: { ...business, monthlyEvents: 100 }, enterprise };
const event = { type: 'event', name: 'signup', properties: {} };
const errorOf = (answer: { statusCode: number; body: string }) => [answer.statusCode, (JSON.parse(answer.body) as { error?: { code: string; message: string } }).error];

let platform: TestPlatform;
let counter: MemoryEventCounter;
beforeEach(async () => {
  counter = new MemoryEventCounter();
  platform = testPlatform({ plans, eventCounter: counter });
  await createTenant(platform, 'acme', { plan: 'starter' });
});

const upgrade = async () => platform.directory.putTenant({ ...(await platform.directory.getTenant('acme'))!, plan: 'business' });

test('R-BILL-1: POST /v1/events beyond the monthly quota → 429 quota_exceeded naming the plan; after an upgrade it is accepted', async () => {
  const { apiKey } = await issueKey(platform, 'acme', ['ingest']);
  expect((await postEvents(platform, apiKey, { events: [event, event] })).statusCode).toBe(202);
  expect((await postEvents(platform, apiKey, event)).statusCode).toBe(202);
  const refused = await postEvents(platform, apiKey, event);
  expect(errorOf(refused)).toEqual([429, { code: 'quota_exceeded', message: expect.stringContaining("starter plan's quota of 3 events") }]);
  expect(platform.publisher.published).toHaveLength(3);

  await upgrade();
  expect((await postEvents(platform, apiKey, event)).statusCode).toBe(202);
  expect(platform.publisher.published).toHaveLength(4);
});

test('R-BILL-1: events the stream refused (503) do not use up the quota', async () => {
  const { apiKey } = await issueKey(platform, 'acme', ['ingest']);
  platform.publisher.failures = 1;
  expect((await postEvents(platform, apiKey, { events: [event, event, event] })).statusCode).toBeGreaterThanOrEqual(500);
  expect((await postEvents(platform, apiKey, { events: [event, event, event] })).statusCode).toBe(202);
});

test('R-BILL-1: webhook deliveries count against the same quota', async () => {
  const created = await platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources', { pathParameters: { tenantId: 'acme' }, body: { scheme: 'github', sourceId: 'gh' } }));
  const { secret } = JSON.parse(created.body) as { secret: string };
  const deliver = (id: number) => {
    const body = JSON.stringify({ action: 'opened', n: id });
    return platform.ingest(
      apiRequest('POST', '/v1/hooks/{tenantId}/{sourceId}', {
        pathParameters: { tenantId: 'acme', sourceId: 'gh' },
        body,
        operator: null,
        headers: { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`, 'X-GitHub-Delivery': `d-${id}`, 'X-GitHub-Event': 'issues' },
      }),
    );
  };
  for (const id of [1, 2, 3]) expect((await deliver(id)).statusCode).toBe(202);
  expect(errorOf(await deliver(4))).toEqual([429, expect.objectContaining({ code: 'quota_exceeded' })]);
});

test('R-BILL-1: API keys beyond the plan → 409 plan_limit_reached; a revoked key frees its place; an upgrade raises the limit', async () => {
  const issue = () => platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/api-keys', { pathParameters: { tenantId: 'acme' }, body: {} }));
  const first = JSON.parse((await issue()).body) as { keyId: string };
  expect((await issue()).statusCode).toBe(201);
  expect(errorOf(await issue())).toEqual([409, { code: 'plan_limit_reached', message: expect.stringContaining('starter plan allows 2 API keys') }]);

  const revoked = await platform.admin(apiRequest('DELETE', '/v1/admin/tenants/{tenantId}/api-keys/{keyId}', { pathParameters: { tenantId: 'acme', keyId: first.keyId } }));
  expect(revoked.statusCode).toBeLessThan(300);
  expect((await issue()).statusCode).toBe(201);
  expect((await issue()).statusCode).toBe(409);
  await upgrade();
  expect((await issue()).statusCode).toBe(201);
});

test('R-BILL-1: webhook sources beyond the plan → 409 plan_limit_reached; rotating an existing one still works', async () => {
  const create = (sourceId: string) =>
    platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources', { pathParameters: { tenantId: 'acme' }, body: { scheme: 'standard', sourceId } }));
  expect((await create('one')).statusCode).toBe(201);
  expect(errorOf(await create('two'))).toEqual([409, { code: 'plan_limit_reached', message: expect.stringContaining('starter plan allows 1 webhook sources') }]);
  const rotated = await platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources/{sourceId}/rotate', { pathParameters: { tenantId: 'acme', sourceId: 'one' }, body: {} }));
  expect(rotated.statusCode).toBe(200);
  await upgrade();
  expect((await create('two')).statusCode).toBe(201);
  // R-SEC-6: the refusal is audited like any other.
  const trail = await platform.audit.listForTenant('acme', '2026-03');
  expect(trail.some((e) => e.action === 'webhook-source.create' && e.outcome === 'failure' && e.detail?.error === 'plan_limit_reached')).toBe(true);
});
