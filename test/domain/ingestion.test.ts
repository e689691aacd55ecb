/**
 * The ingestion service (R-ING-1..4, R-ING-2, R-ING-7) without HTTP: envelopes, ids, and the webhook path's
 * refusals, de-duplication and hand-off.
 */
import { createHmac } from 'node:crypto';
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
  const signed = (id: string, key = secret) => ({
    headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', key).update(body).digest('hex')}`, 'x-github-delivery': id },
    rawBody: body,
  });

  beforeEach(async () => {
    platform = testPlatform({ limits: { maxBodyBytes: 1024 } });
    ingestion = new Ingestion(platform);
    await createTenant(platform, 'acme');
    ({ secret } = await new Administration(platform).createWebhookSource('operator:test', 'acme', { scheme: 'github', sourceId: 'gh' }));
  });

  it('R-ING-2: a verified delivery is published once with a deterministic event id', async () => {
    const outcome = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    expect(outcome).toEqual({ status: 'accepted', eventId: webhookEventId('gh', 'd-1'), deliveryId: 'd-1' });
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

  it('R-ING-7: a publish failure forgets the delivery, so the same delivery is accepted afterwards', async () => {
    const forgotten = jest.spyOn(platform.directory, 'forgetDelivery');
    platform.publisher.failures = 1;

    await expect(ingestion.acceptWebhook('acme', 'gh', signed('d-1'))).rejects.toThrow();
    const retry = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    expect(forgotten).toHaveBeenCalledWith('acme', 'gh', 'd-1');
    expect(retry.status).toBe('accepted');
    expect(platform.publisher.published).toHaveLength(1);
  });

  it('R-ING-7: GitHub has no timestamp: a repeat is a duplicate while the marker lives (beyond twice the tolerance)', async () => {
    await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));
    platform.clock.advance(2 * platform.settings.webhookToleranceSeconds * 1000 + 60_000);

    const repeat = await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));

    expect(repeat.status).toBe('duplicate');
  });

  it('decrypts a source secret once a minute, not on every delivery, and a rotated secret at once', async () => {
    const decrypt = jest.spyOn(platform.crypto, 'decrypt');

    await ingestion.acceptWebhook('acme', 'gh', signed('d-1'));
    await ingestion.acceptWebhook('acme', 'gh', signed('d-2'));
    expect(decrypt).toHaveBeenCalledTimes(1);

    const rotated = await new Administration(platform).rotateWebhookSource('operator:test', 'acme', 'gh', {});
    await ingestion.acceptWebhook('acme', 'gh', signed('d-3', rotated.secret));
    expect(decrypt).toHaveBeenCalledTimes(2);

    platform.clock.advance(61_000);
    await ingestion.acceptWebhook('acme', 'gh', signed('d-4'));
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
  const shopify = (id: string, topic: string, body: object, key = secret) => {
    const raw = Buffer.from(JSON.stringify(body));
    return {
      headers: {
        'x-shopify-hmac-sha256': createHmac('sha256', key).update(raw).digest('base64'),
        'x-shopify-webhook-id': id,
        'x-shopify-topic': topic,
        'x-shopify-shop-domain': 'Example-Shop.myshopify.com',
      },
      rawBody: raw,
    };
  };

  beforeEach(async () => {
    opened.length = 0;
    platform = testPlatform();
    await createTenant(platform, 'acme');
    ({ secret } = await new Administration(platform).createWebhookSource('operator:test', 'acme', { scheme: 'shopify', sourceId: 'shop' }));
  });

  it.each(['customers/data_request', 'customers/redact', 'shop/redact'])('a verified %s opens a privacy request and is not stored as an event', async (topic) => {
    const body = { shop_domain: 'example-shop.myshopify.com', customer: { id: 7, email: 'jo@example.com' } };

    const outcome = await new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-1', topic, body));

    expect(outcome).toEqual({ status: 'privacy-request', requestId: 'dsr_w-1', deliveryId: 'w-1' });
    expect(opened).toEqual([{ topic, deliveryId: 'w-1', payload: body }]);
    expect(platform.publisher.published).toHaveLength(0);
  });

  it('a compliance webhook with a wrong HMAC opens nothing', async () => {
    const ingestion = new Ingestion({ ...platform, privacy: intake });

    await expect(ingestion.acceptWebhook('acme', 'shop', shopify('w-1', 'customers/redact', {}, 'wrong'))).rejects.toMatchObject({ code: 'invalid_signature' });
    expect(opened).toHaveLength(0);
  });

  it('without privacy workflows a compliance topic is refused, never stored as an event', async () => {
    await expect(new Ingestion(platform).acceptWebhook('acme', 'shop', shopify('w-1', 'shop/redact', {}))).rejects.toMatchObject({ code: 'invalid_request' });
    expect(platform.publisher.published).toHaveLength(0);
  });

  it('any other topic is an event that carries the shop domain, lower-cased, for the subject index', async () => {
    await new Ingestion({ ...platform, privacy: intake }).acceptWebhook('acme', 'shop', shopify('w-2', 'orders/create', { id: 1 }));

    expect(opened).toHaveLength(0);
    expect(platform.publisher.published[0].event).toMatchObject({ type: 'webhook', name: 'orders/create', shopDomain: 'example-shop.myshopify.com' });
  });
});
