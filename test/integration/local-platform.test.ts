/**
 * End to end, through the local platform (issue 3): real HTTP into the same handlers, real Kinesis, DynamoDB
 * and S3 APIs (emulators), the emulated event source mapping and the raw AES keyring. Outcomes are polled
 * for with a deadline; nothing sleeps a fixed time.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { EnvelopeTenantCrypto, LocalKeyringProvider } from '../../lambdas/adapters/envelope-crypto';
import { controlKeys, dataKeys, objectKeys } from '../../lambdas/domain/keys';
import { banner } from '../../bin/local/banner';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { TEST_PLATFORM } from '../support/local-platform';
import { localCallCheck } from '../deployed/allowed-calls';
import { eventually, request } from './http';

let local: LocalPlatform;
let aws: AwsClients;
const keys: Record<string, string> = {};

interface EventView {
  eventId: string;
  kind: string;
  name: string;
  event: Record<string, unknown>;
}
interface RollupView {
  series: string;
  count: number;
  errorRate?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  valueSum?: number;
  avgValue?: number;
}

const admin = (path: string, body?: object) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, method: 'POST', body: body ?? {} });
const ingest = (tenant: string, body: object) => request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: keys[tenant], body });
const getEvent = (tenant: string, eventId: string) => request<EventView>(`${local.url}/v1/events/${eventId}`, { token: keys[tenant] });
const listEvents = (tenant: string, query: string) => request<{ items: EventView[] }>(`${local.url}/v1/events?${query}`, { token: keys[tenant] });
const rollups = (tenant: string, query = '') => request<{ items: RollupView[] }>(`${local.url}/v1/rollups?${query}`, { token: keys[tenant] });

/** The event, once the processor has stored it. */
const stored = (tenant: string, eventId: string) =>
  eventually(async () => {
    const answer = await getEvent(tenant, eventId);
    return answer.status === 200 ? answer.body : undefined;
  }, `event ${eventId} of ${tenant}`);

async function createTenant(tenantId: string): Promise<void> {
  // Business: the webhook tests below create more sources than Starter's 5 (R-BILL-1, plan limits).
  expect((await admin('/tenants', { tenantId, name: `Tenant ${tenantId}`, plan: 'business' })).status).toBe(201);
  // R-SEC-5: these tests send and read with one key, so it carries every scope.
  const key = await admin(`/tenants/${tenantId}/api-keys`, { scopes: ['ingest', 'read', 'privacy'] });
  keys[tenantId] = String(key.body.apiKey);
}

const calls = localCallCheck();

beforeAll(async () => {
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    aroundInvocation: calls.aroundInvocation,
  });
  aws = createAwsClients(local.clients);
  await Promise.all([createTenant('alpha'), createTenant('bravo')]);
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

describe('first start', () => {
  it('R-SEC-5: creates a demo tenant whose printed ingest key sends and whose read key reads back, not the other way round', async () => {
    expect(local.demo?.tenantId).toBe('demo');
    keys.demo = local.demo!.apiKey;
    const answer = await ingest('demo', { type: 'event', name: 'signup', properties: { plan: 'starter' } });
    expect(answer.status).toBe(202);
    keys.demo = local.demo!.readApiKey;
    expect((await stored('demo', answer.body.eventIds[0])).name).toBe('signup');
    expect((await ingest('demo', { type: 'event', name: 'signup', properties: {} })).status).toBe(403);
    const ingestKeyReads = await request<{ error: { code: string } }>(`${local.url}/v1/events`, { token: local.demo!.apiKey });
    expect([ingestKeyReads.status, ingestKeyReads.body.error.code]).toEqual([403, 'insufficient_scope']);
  });

  it('refuses operator routes without the admin token, as API Gateway refuses unsigned IAM routes', async () => {
    const answer = await request(`${local.url}/v1/admin/tenants`, { body: { tenantId: 'mallory', name: 'x' } });
    expect(answer.status).toBe(403);
    expect((await request(`${local.url}/v1/admin/tenants/mallory`, { token: local.adminToken })).status).toBe(404);
  });
});

describe('ingest through /v1/events and read back (R-ING-1, R-ING-3, R-ING-4)', () => {
  it('stores a single event and serves it by id and in the list', async () => {
    const answer = await ingest('alpha', { type: 'event', name: 'checkout', properties: { cart: 3 } });
    expect(answer.status).toBe(202);
    const [eventId] = answer.body.eventIds;
    expect((await stored('alpha', eventId)).event).toMatchObject({ type: 'event', name: 'checkout', properties: { cart: 3 } });
    const list = await listEvents('alpha', 'kind=event&name=checkout');
    expect(list.body.items.map((e) => e.eventId)).toContain(eventId);
  });

  it('stores a batch of API-call records and metrics; rollup counts, error rate and percentiles match what was sent', async () => {
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
    const timestamp = new Date(minute.getTime() + 30_000).toISOString();
    const latencies = Array.from({ length: 40 }, (_, i) => 5 + i * 7.5);
    const statuses = latencies.map((_, i) => (i % 10 === 0 ? 503 : 200));
    const calls = latencies.map((latencyMs, i) => ({ type: 'api_call', method: 'GET', route: '/orders/:id', status: statuses[i], latencyMs, timestamp }));
    const metrics = [12, 18, 30].map((value) => ({ type: 'metric', name: 'queue.depth', value, dimensions: { queue: 'orders' }, timestamp }));
    const answer = await ingest('alpha', { events: [...calls, ...metrics] });
    expect(answer.status).toBe(202);
    expect(answer.body.eventIds).toHaveLength(43);

    const window = `from=${minute.toISOString()}&to=${new Date(minute.getTime() + 60_000).toISOString()}`;
    const series = (items: RollupView[], name: string) => items.find((r) => r.series === name);
    const summary = await eventually(async () => {
      const { body } = await rollups('alpha', window);
      const api = series(body.items, 'api:GET /orders/:id');
      const metric = series(body.items, 'metric:queue.depth');
      return api?.count === 40 && metric?.count === 3 ? { api, metric } : undefined;
    }, 'rollups of the batch');

    const sorted = [...latencies].sort((a, b) => a - b);
    const nearestRank = (q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
    expect(summary.api.errorRate).toBeCloseTo(4 / 40);
    for (const [q, reported] of [[0.5, summary.api.p50], [0.95, summary.api.p95], [0.99, summary.api.p99]] as const) {
      // The sketch's guarantee: within 2% of the true value (R-ING-3).
      expect(Math.abs(reported! - nearestRank(q)) / nearestRank(q)).toBeLessThanOrEqual(0.02);
    }
    expect(summary.metric.valueSum).toBe(60);
    expect(summary.metric.avgValue).toBe(20);
    const listed = await listEvents('alpha', `kind=api_call&name=${encodeURIComponent('GET /orders/:id')}&limit=100`);
    expect(listed.body.items).toHaveLength(40);
  });
});

describe('webhooks, signed as each provider signs them (R-ING-2)', () => {
  const createSource = async (scheme: string) => {
    const answer = await admin('/tenants/alpha/webhook-sources', { scheme, sourceId: `${scheme}-${randomUUID().slice(0, 8)}` });
    expect(answer.status).toBe(201);
    return { url: `${local.url}${answer.body.path}`, secret: String(answer.body.secret) };
  };
  const post = (url: string, payload: string, headers: Record<string, string>) =>
    request<{ eventId: string; accepted: number }>(url, { body: payload, headers: { 'content-type': 'application/json', ...headers } });

  const signers: Record<string, (secret: string, payload: string) => Record<string, string>> = {
    // The standardwebhooks package: webhook-id, webhook-timestamp, webhook-signature (v1,<base64>).
    standard: (secret, payload) => {
      const id = `msg_${randomUUID()}`;
      const at = new Date();
      return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, at, payload) };
    },
    // The stripe SDK's own test signer: Stripe-Signature t=...,v1=...
    stripe: (secret, payload) => ({ 'stripe-signature': new Stripe('sk_test_unused').webhooks.generateTestHeaderString({ payload, secret }) }),
    // Shopify's documentation: base64 HMAC-SHA256 of the raw body.
    shopify: (secret, payload) => ({
      'x-shopify-hmac-sha256': createHmac('sha256', secret).update(payload).digest('base64'),
      'x-shopify-webhook-id': randomUUID(),
      'x-shopify-topic': 'orders/create',
      'x-shopify-triggered-at': new Date().toISOString(),
    }),
    // GitHub's documentation: sha256=<hex HMAC-SHA256 of the raw body>.
    github: (secret, payload) => ({
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`,
      'x-github-delivery': randomUUID(),
      'x-github-event': 'push',
    }),
  };

  it.each(Object.keys(signers))('accepts a %s delivery and stores it as a webhook event', async (scheme) => {
    const source = await createSource(scheme);
    const payload = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'order.created', data: { amount: 4200 } });
    const answer = await post(source.url, payload, signers[scheme](source.secret, payload));
    expect(answer.status).toBe(202);
    const event = await stored('alpha', answer.body.eventId);
    expect(event.kind).toBe('webhook');
    expect(JSON.stringify(event.event)).toContain('order.created');
  });

  it.each(Object.keys(signers))('rejects a %s delivery signed with another secret', async (scheme) => {
    const source = await createSource(scheme);
    const other = await createSource(scheme);
    const payload = JSON.stringify({ type: 'order.created' });
    const answer = await post(source.url, payload, signers[scheme](other.secret, payload));
    expect(answer.status).toBe(401);
  });

  it('rejects a replayed Standard Webhooks delivery and one signed outside the tolerance, storing the original once', async () => {
    const source = await createSource('standard');
    const payload = JSON.stringify({ type: 'invoice.paid', marker: randomUUID() });
    const headers = signers.standard(source.secret, payload);
    const first = await post(source.url, payload, headers);
    expect(first.status).toBe(202);
    const replay = await post(source.url, payload, headers);
    expect(replay.status).toBe(409);

    const staleAt = new Date(Date.now() - 10 * 60_000);
    const id = `msg_${randomUUID()}`;
    const stale = await post(source.url, payload, {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(staleAt.getTime() / 1000)),
      'webhook-signature': new Webhook(source.secret).sign(id, staleAt, payload),
    });
    expect(stale.status).toBe(401);

    await stored('alpha', first.body.eventId);
    const webhooks = await listEvents('alpha', 'kind=webhook&limit=100');
    expect(webhooks.body.items.filter((e) => JSON.stringify(e.event).includes(JSON.parse(payload).marker))).toHaveLength(1);
  });
});

describe('failure paths (R-ING-7)', () => {
  it('stores a duplicated delivery once and counts it once', async () => {
    const name = `dup-${randomUUID().slice(0, 8)}`;
    const event = { type: 'event', name, id: `order-${randomUUID()}` };
    const [first, second] = [await ingest('alpha', event), await ingest('alpha', event)];
    expect(first.body.eventIds).toEqual(second.body.eventIds);
    // One tenant's records are ordered in one shard: once this later marker is stored, both copies were processed.
    const marker = await ingest('alpha', { type: 'event', name: `${name}-marker` });
    await stored('alpha', marker.body.eventIds[0]);

    expect((await listEvents('alpha', `kind=event&name=${name}`)).body.items).toHaveLength(1);
    // A batch writes its events before its rollups: the count is read once it has been applied at all.
    const counted = await eventually(async () => {
      const sum = (await rollups('alpha', `series=event:${name}`)).body.items.reduce((total, r) => total + r.count, 0);
      return sum > 0 ? sum : undefined;
    }, `the rollup of ${name}`);
    expect(counted).toBe(1);
  });

  it('sends a poison record to the dead-letter queue and stores the rest of its batch', async () => {
    // Disabled, the mapping leaves records in the stream, so the three below arrive in one batch.
    local.eventSourceMapping.disable();
    const poison = `not json ${randomUUID()}`;
    let before: string, after: string, sequenceNumber: string | undefined;
    try {
      before = (await ingest('alpha', { type: 'event', name: 'before-poison' })).body.eventIds[0];
      ({ SequenceNumber: sequenceNumber } = await aws.kinesis.send(new PutRecordCommand({ StreamName: local.deployment.names.eventStream, PartitionKey: 'alpha', Data: Buffer.from(poison) })));
      after = (await ingest('alpha', { type: 'event', name: 'after-poison' })).body.eventIds[0];
    } finally {
      local.eventSourceMapping.enable();
    }
    await Promise.all([stored('alpha', before), stored('alpha', after)]);
    const letter = await eventually(async () => {
      const { body } = await request<{ messages: { body: { recordId?: string; reason?: string; data?: string; origin: { shard: string } } }[] }>(`${local.url}/_local/dead-letters`, { token: local.adminToken });
      return body.messages.find((m) => m.body.recordId === sequenceNumber);
    }, 'the poison record in the DLQ');
    expect(letter.body.reason).toBe('malformed_record');
    // R-DSR-2, R-TERM-4 (issue 11): the letter points into the stream, it carries no bytes; the record is read there.
    expect(letter.body).not.toHaveProperty('data');
    const { ShardIterator } = await aws.kinesis.send(
      new GetShardIteratorCommand({ StreamName: local.deployment.names.eventStream, ShardId: letter.body.origin.shard, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: sequenceNumber }),
    );
    const { Records } = await aws.kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
    expect(Buffer.from(Records![0].Data!).toString()).toBe(poison);
  });

  it('keeps the dead-letter queue behind the admin token', async () => {
    expect((await request(`${local.url}/_local/dead-letters`)).status).toBe(403);
    expect((await request(`${local.url}/_local/dead-letters`, { token: local.adminToken })).status).toBe(200);
  });
});

describe('tenant isolation over HTTP (R-SEC-4)', () => {
  let alphaEvent: string;
  beforeAll(async () => {
    alphaEvent = (await ingest('alpha', { type: 'event', name: 'alpha-only', properties: { secret: 'alpha' } })).body.eventIds[0];
    await stored('alpha', alphaEvent);
  });

  it('tenant A can read its event by id; tenant B cannot', async () => {
    expect((await getEvent('alpha', alphaEvent)).status).toBe(200);
    expect((await getEvent('bravo', alphaEvent)).status).toBe(404);
  });

  it('tenant A can list its events; tenant B never sees them', async () => {
    expect((await listEvents('alpha', 'kind=event&name=alpha-only')).body.items.map((e) => e.eventId)).toContain(alphaEvent);
    for (const query of ['kind=event&name=alpha-only', 'kind=event&limit=100', 'limit=100']) {
      const answer = await listEvents('bravo', query);
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain(alphaEvent);
    }
  });

  it('tenant A can read its rollups; tenant B never sees them', async () => {
    const series = (tenant: string) => rollups(tenant).then((r) => r.body.items.map((i) => i.series));
    expect(await series('alpha')).toContain('event:alpha-only');
    expect(await series('bravo')).not.toContain('event:alpha-only');
  });
});

describe('stored payloads are ciphertext (R-SEC-2, R-SEC-4)', () => {
  const crypto = () => new EnvelopeTenantCrypto(new LocalKeyringProvider(local.keyDir));
  const alpha = { tenantId: 'alpha', keyRef: 'local:alpha' };
  const bravo = { tenantId: 'bravo', keyRef: 'local:bravo' };

  it('an event item in DynamoDB holds only ciphertext, which decrypts with its tenant\'s context only', async () => {
    const marker = `plain-${randomUUID()}`;
    const eventId = (await ingest('alpha', { type: 'event', name: 'enc-check', properties: { email: `${marker}@example.com` } })).body.eventIds[0];
    await stored('alpha', eventId);
    const { Item } = await aws.dynamo.send(new GetCommand({ TableName: local.deployment.names.dataTable, Key: dataKeys.event('alpha', eventId) }));
    expect(JSON.stringify(Item)).not.toContain(marker);
    const ciphertext = Buffer.from((Item!.body as { inline: string }).inline, 'base64');
    expect(Buffer.from(await crypto().decrypt(alpha, ciphertext, 'event', eventId)).toString()).toContain(marker);
    await expect(crypto().decrypt(bravo, ciphertext, 'event', eventId)).rejects.toThrow();
    // The right key under another tenant's name is refused: the data key's context and the AAD name the tenant.
    await expect(crypto().decrypt({ tenantId: 'bravo', keyRef: 'local:alpha' }, ciphertext, 'event', eventId)).rejects.toThrow();
  });

  it('a payload too large for the item is a ciphertext object in S3 under the tenant prefix', async () => {
    const marker = `plain-${randomUUID()}`;
    const big = { type: 'event', name: 'big', properties: { blob: `${marker}${'x'.repeat(40_000)}` } };
    const eventId = (await ingest('alpha', big)).body.eventIds[0];
    expect(((await stored('alpha', eventId)).event.properties as { blob: string }).blob.startsWith(marker)).toBe(true);
    const object = await aws.s3.send(new GetObjectCommand({ Bucket: local.deployment.names.payloadBucket, Key: objectKeys.payload('alpha', eventId) }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.includes(Buffer.from(marker))).toBe(false);
    expect(Buffer.from(await crypto().decrypt(alpha, bytes, 'event', eventId)).toString()).toContain(marker);
    await expect(crypto().decrypt(bravo, bytes, 'event', eventId)).rejects.toThrow();
  });
});

describe('TTL sweeper (what DynamoDB TTL does, R-RET-6)', () => {
  it('deletes expired items and keeps unexpired ones', async () => {
    const table = local.deployment.names.controlTable;
    const now = Math.floor(Date.now() / 1000);
    const expired = controlKeys.delivery('alpha', 'ttl-test', `gone-${createHash('sha1').update(randomUUID()).digest('hex')}`);
    const alive = controlKeys.delivery('alpha', 'ttl-test', `kept-${randomUUID()}`);
    await aws.dynamo.send(new PutCommand({ TableName: table, Item: { ...expired, expiresAt: now - 60 } }));
    await aws.dynamo.send(new PutCommand({ TableName: table, Item: { ...alive, expiresAt: now + 3600 } }));

    expect(await local.ttlSweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
    expect((await aws.dynamo.send(new GetCommand({ TableName: table, Key: expired }))).Item).toBeUndefined();
    expect((await aws.dynamo.send(new GetCommand({ TableName: table, Key: alive }))).Item).toBeDefined();
  });
});

describe('R-AI-1: the AI routes without a configured provider (no LUMIQO_OPENAI_BASE_URL)', () => {
  it('answer 424 ai_not_configured to the demo AI key; the banner says how to configure one; listing still works', async () => {
    const aiKey = local.demo!.aiApiKey!;
    const asked = await request(`${local.url}/v1/ai/conversations`, { token: aiKey, body: { question: 'How many signups?' } });
    expect(asked).toMatchObject({ status: 424, body: { error: { code: 'ai_not_configured' } } });
    expect(await request(`${local.url}/v1/ai/conversations`, { token: aiKey })).toEqual({ status: 200, body: { items: [] } });
    expect(local.ai.baseUrl).toBeUndefined();
    expect(banner(local)).toContain('Set LUMIQO_OPENAI_BASE_URL');
  });
});

/** R-SEC-5: the "can" half of least privilege, for every AWS call the functions made in this file (issue 9). */
test('every AWS call the functions made here is allowed by their synthesized roles', () => {
  expect(calls.functions().length).toBeGreaterThan(0);
  expect(calls.denied()).toEqual([]);
});
