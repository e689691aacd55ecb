/**
 * The ingestion service (R-ING-1..4, R-ING-2, R-ING-7) without HTTP: envelopes, ids, and the webhook path's
 * refusals, de-duplication and hand-off.
 */
import { createHash, createHmac } from 'node:crypto';
import { Ingestion, webhookEventId } from '../../lambdas/domain/ingestion';
import type { TenantContext } from '../../lambdas/domain/model';
import { Administration } from '../../lambdas/domain/administration';
import { createTenant, NOW, removeKeyDirectories, testPlatform, type TestPlatform } from '../handler/fixtures';

afterAll(removeKeyDirectories);

const acme: TenantContext = { tenantId: 'acme', credential: { type: 'api-key', id: 'key_1' } };
const signup = { type: 'event' as const, name: 'signup', timestamp: NOW.toISOString(), properties: {} };

describe('Ingestion.acceptEvents', () => {
  let platform: TestPlatform;
  let ingestion: Ingestion;
  beforeEach(() => {
    platform = testPlatform();
    ingestion = new Ingestion(platform);
  });

  it('R-ING-3, R-SEC-4: one envelope per event, under the credential’s tenant, stamped with the receive time', async () => {
    const { eventIds } = await ingestion.acceptEvents(acme, [{ event: signup }, { event: signup }], NOW);

    expect(platform.publisher.published).toEqual(
      eventIds.map((eventId) => ({ v: 1, tenantId: 'acme', eventId, receivedAt: NOW.toISOString(), event: signup })),
    );
    expect(eventIds[0]).toMatch(/^ev_[0-9A-Z]{26}$/);
    expect(new Set(eventIds).size).toBe(2);
  });

  it('R-ING-7: a client id becomes the event id, so a retried request yields the same ids', async () => {
    const first = await ingestion.acceptEvents(acme, [{ clientId: 'order-1', event: signup }], NOW);
    const again = await ingestion.acceptEvents(acme, [{ clientId: 'order-1', event: signup }], new Date(NOW.getTime() + 5_000));

    expect(first.eventIds).toEqual(['c_order-1']);
    expect(again.eventIds).toEqual(first.eventIds);
  });

  it('R-ING-7: when the stream refuses the events, the caller gets the error, not ids', async () => {
    platform.publisher.failures = 1;

    await expect(ingestion.acceptEvents(acme, [{ event: signup }], NOW)).rejects.toThrow('PutRecords');
  });
});

describe('Ingestion.acceptWebhook', () => {
  let platform: TestPlatform;
  let ingestion: Ingestion;
  let secret: string;
  const body = Buffer.from('{"action":"opened"}');
  const signed = (id: string, key = secret, rawBody = body) => ({
    headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', key).update(rawBody).digest('hex')}`, 'x-github-delivery': id },
    rawBody,
  });
  /** Issue 10: a body-only scheme's event id derives from the body's digest, not from the unsigned delivery id. */
  const bodyEventId = (raw: Buffer) => webhookEventId('gh', `body:${createHash('sha256').update(raw).digest('base64url')}`);

  beforeEach(async () => {
    platform = testPlatform({ limits: { maxBodyBytes: 1024 } });
    ingestion = new Ingestion(platform);
    await createTenant(platform, 'acme');
    ({ secret } = await new Administration(platform).createWebhookSource('operator:test', 'acme', { scheme: 'github', sourceId: 'gh' }));
  });

  it('R-ING-2: a verified delivery is published once with a deterministic event id', async () => {
    const outcome = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    expect(outcome).toEqual({ status: 'accepted', eventId: bodyEventId(body), deliveryId: 'd-1' });
    expect(platform.publisher.published[0].event).toMatchObject({ type: 'webhook', sourceId: 'gh', scheme: 'github', payload: { action: 'opened' } });
  });

  it('R-ING-7: the event id depends on source and delivery id only', () => {
    expect(webhookEventId('gh', 'd-1')).toBe(webhookEventId('gh', 'd-1'));
    expect(webhookEventId('gh', 'd-1')).not.toBe(webhookEventId('gh2', 'd-1'));
    expect(webhookEventId('gh', 'd-1')).toMatch(/^wh_[0-9a-f]{40}$/);
  });

  it.each([
    ['an unknown tenant', 'initech', 'gh'],
    ['an unknown source', 'acme', 'nope'],
    ['a malformed tenant id', 'ACME/..', 'gh'],
    ['a malformed source id', 'acme', '../gh'],
  ])('R-SEC-4, issue 10: %s → the answer of a bad signature (401 invalid_signature), so tenants and sources cannot be enumerated', async (_, tenantId, sourceId) => {
    const badSignature = await ingestion.acceptWebhook('acme', 'gh', { ...signed('d-1'), rawBody: Buffer.from('{"tampered":true}') }).catch((error: unknown) => error);
    const unknown = await ingestion.acceptWebhook(tenantId, sourceId, signed('d-1')).catch((error: unknown) => error);

    expect(badSignature).toMatchObject({ code: 'invalid_signature', status: 401 });
    expect(unknown).toMatchObject({ code: 'invalid_signature', status: 401, message: (badSignature as Error).message });
  });

  it('a body over the limit → body_too_large (413) before any lookup', async () => {
    const lookups = jest.spyOn(platform.directory, 'getTenant');

    await expect(ingestion.acceptWebhook('acme', 'gh', { headers: {}, rawBody: Buffer.alloc(2048) })).rejects.toMatchObject({ code: 'body_too_large' });
    expect(lookups).not.toHaveBeenCalled();
  });

  it('R-ING-2: a bad signature is refused before the delivery is recorded', async () => {
    const recorded = jest.spyOn(platform.directory, 'recordDelivery');

    await expect(ingestion.acceptWebhook('acme', 'gh', signed('d-1', 'not-the-secret'))).rejects.toMatchObject({ code: 'invalid_signature' });
    expect(recorded).not.toHaveBeenCalled();
  });

  it('issue 10, R-ING-7: the delivery is published before any marker is written: a failed publish leaves none, so the same delivery is accepted afterwards', async () => {
    const recorded = jest.spyOn(platform.directory, 'recordDelivery');
    platform.publisher.failures = 1;

    await expect(ingestion.acceptWebhook('acme', 'gh', signed('d-1'))).rejects.toThrow();
    expect(recorded).not.toHaveBeenCalled();
    const retry = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    expect(retry.status).toBe('accepted');
    expect(platform.publisher.published).toHaveLength(1);
  });

  it('issue 10, R-ING-7: a captured body-only delivery replayed under a fresh delivery id → 409 replayed_delivery, one event id', async () => {
    const first = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    const replay = ingestion.acceptWebhook('acme', 'gh', signed('d-999'));

    await expect(replay).rejects.toMatchObject({ code: 'replayed_delivery', status: 409 });
    expect(new Set(platform.publisher.published.map((e) => e.eventId))).toEqual(new Set([(first as { eventId: string }).eventId]));
  });

  it('issue 10 twin: another body under another delivery id is accepted, under its own event id', async () => {
    const first = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));
    const other = Buffer.from('{"action":"closed"}');

    const second = await ingestion.acceptWebhook('acme', 'gh', signed('d-2', secret, other));

    expect(second).toEqual({ status: 'accepted', eventId: bodyEventId(other), deliveryId: 'd-2' });
    expect(second).not.toMatchObject({ eventId: (first as { eventId: string }).eventId });
  });

  it('R-ING-7: GitHub has no timestamp: a repeat is a duplicate while the marker lives (beyond twice the tolerance)', async () => {
    await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));
    platform.clock.advance(2 * platform.settings.webhookToleranceSeconds * 1000 + 60_000);

    const repeat = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    expect(repeat.status).toBe('duplicate');
  });

  it('decrypts a source secret once a minute, not on every delivery, and a rotated secret at once', async () => {
    const decrypt = jest.spyOn(platform.crypto, 'decrypt');

    const bodyOf = (n: number) => Buffer.from(`{"n":${n}}`);
    await ingestion.acceptWebhook('acme', 'gh', signed('d-1', secret, bodyOf(1)));
    await ingestion.acceptWebhook('acme', 'gh', signed('d-2', secret, bodyOf(2)));
    expect(decrypt).toHaveBeenCalledTimes(1);

    const rotated = await new Administration(platform).rotateWebhookSource('operator:test', 'acme', 'gh', {});
    await ingestion.acceptWebhook('acme', 'gh', signed('d-3', rotated.secret, bodyOf(3)));
    expect(decrypt).toHaveBeenCalledTimes(2);

    platform.clock.advance(61_000);
    await ingestion.acceptWebhook('acme', 'gh', signed('d-4', secret, bodyOf(4)));
    expect(decrypt).toHaveBeenCalledTimes(4);
  });
});

describe('Ingestion.acceptWebhook: Shopify (R-DSR-6)', () => {
  let platform: TestPlatform;
  let secret: string;
  const opened: { topic: string; deliveryId: string; payload: unknown }[] = [];
  const intake = {
    openFromShopify: async (_tenant: unknown, _sourceId: string, deliveryId: string, topic: string, payload: unknown) => {
      opened.push({ topic, deliveryId, payload });
      return { requestId: `dsr_${deliveryId}` };
    },
  };
  const shopify = (id: string, topic: string, body: object, key = secret, triggeredAt: string | null = platform.clock.now().toISOString()) => {
    const raw = Buffer.from(JSON.stringify(body));
    return {
      headers: {
        'x-shopify-hmac-sha256': createHmac('sha256', key).update(raw).digest('base64'),
        'x-shopify-webhook-id': id,
        'x-shopify-topic': topic,
        'x-shopify-shop-domain': 'Example-Shop.myshopify.com',
        'x-shopify-triggered-at': triggeredAt ?? undefined,
      },
      rawBody: raw,
    };
  };
  // Shopify's documented payloads of the mandatory compliance webhooks (shopify.dev, "Privacy law compliance").
  const SHOP = { shop_id: 954889, shop_domain: 'example-shop.myshopify.com' };
  const CUSTOMER = { id: 191167, email: 'jo@example.com', phone: '555-625-1199' };
  const PAYLOADS: Record<string, object> = {
    'customers/data_request': { ...SHOP, orders_requested: [299938], customer: CUSTOMER, data_request: { id: 9999 } },
    'customers/redact': { ...SHOP, customer: CUSTOMER, orders_to_redact: [299938, 280263] },
    'shop/redact': SHOP,
  };
  const requestIdOf = (payload: object) => `dsr_body:${createHash('sha256').update(JSON.stringify(payload)).digest('base64url')}`;

  beforeEach(async () => {
    opened.length = 0;
    platform = testPlatform();
    await createTenant(platform, 'acme');
    ({ secret } = await new Administration(platform).createWebhookSource('operator:test', 'acme', { scheme: 'shopify', sourceId: 'shop' }));
  });

  it.each(['customers/data_request', 'customers/redact', 'shop/redact'])('a verified %s opens a privacy request and is not stored as an event', async (topic) => {
    const body = PAYLOADS[topic];

    const outcome = await new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-1', topic, body));

    expect(outcome).toEqual({ status: 'privacy-request', requestId: requestIdOf(body), deliveryId: 'w-1' });
    expect(opened).toEqual([{ topic, deliveryId: requestIdOf(body).slice('dsr_'.length), payload: body }]);
    expect(platform.publisher.published).toHaveLength(0);
  });

  it.each(['customers/data_request', 'customers/redact', 'shop/redact'])('issue 10: the action is the signed body’s (%s), whatever x-shopify-topic says', async (topic) => {
    await new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-1', 'orders/create', PAYLOADS[topic]));

    expect(opened.map((o) => o.topic)).toEqual([topic]);
  });

  it.each(['customers/redact', 'shop/redact'])('issue 10: x-shopify-topic rewritten to %s on an ordinary signed body opens no erasure → 400 invalid_request', async (topic) => {
    const outcome = new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-1', topic, { id: 1, shop_domain: 'example-shop.myshopify.com', email: 'jo@example.com' }));

    await expect(outcome).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    expect(opened).toHaveLength(0);
    expect(platform.publisher.published).toHaveLength(0);
  });

  it('issue 10: a customers/data_request rewritten to customers/redact stays an access request', async () => {
    await new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-1', 'customers/redact', PAYLOADS['customers/data_request']));

    expect(opened.map((o) => o.topic)).toEqual(['customers/data_request']);
  });

  it('issue 10: a compliance body replayed under a fresh delivery id is the same request', async () => {
    const ingestion = new Ingestion({ ...platform, privacy: intake });
    const first = await ingestion.acceptWebhook('acme', 'shop', shopify('w-1', 'customers/redact', PAYLOADS['customers/redact']));
    const replay = await ingestion.acceptWebhook('acme', 'shop', shopify('w-2', 'customers/redact', PAYLOADS['customers/redact']));

    expect(replay).toMatchObject({ requestId: (first as { requestId: string }).requestId });
  });

  it('issue 10: x-shopify-triggered-at is required (400), and outside the tolerance → 401 timestamp_out_of_tolerance', async () => {
    const ingestion = new Ingestion({ ...platform, privacy: intake });
    const stale = new Date(platform.clock.now().getTime() - (platform.settings.webhookToleranceSeconds + 1) * 1000).toISOString();

    await expect(ingestion.acceptWebhook('acme', 'shop', shopify('w-1', 'orders/create', { id: 1 }, secret, null))).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    await expect(ingestion.acceptWebhook('acme', 'shop', shopify('w-1', 'orders/create', { id: 1 }, secret, stale))).rejects.toMatchObject({ code: 'timestamp_out_of_tolerance', status: 401 });
    expect(platform.publisher.published).toHaveLength(0);
  });

  it('a compliance webhook with a wrong HMAC opens nothing', async () => {
    const ingestion = new Ingestion({ ...platform, privacy: intake });

    await expect(ingestion.acceptWebhook('acme', 'shop', shopify('w-1', 'customers/redact', {}, 'wrong'))).rejects.toMatchObject({ code: 'invalid_signature' });
    expect(opened).toHaveLength(0);
  });

  it('without privacy workflows a compliance topic is refused, never stored as an event', async () => {
    await expect(new Ingestion(platform).acceptWebhook('acme', 'shop', shopify('w-1', 'shop/redact', PAYLOADS['shop/redact']))).rejects.toMatchObject({ code: 'invalid_request' });
    expect(platform.publisher.published).toHaveLength(0);
  });

  it('any other topic is an event that carries the shop domain, lower-cased, for the subject index', async () => {
    await new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-2', 'orders/create', { id: 1 }));

    expect(opened).toHaveLength(0);
    expect(platform.publisher.published[0].event).toMatchObject({ type: 'webhook', name: 'orders/create', shopDomain: 'example-shop.myshopify.com' });
  });
});
