/**
 * POST /v1/hooks/{tenantId}/{sourceId} through the ingest handler (R-ING-2, R-ING-7, R-SEC-4). Deliveries are
 * signed as each provider signs them: Standard Webhooks with `standardwebhooks`, Stripe with the `stripe` SDK,
 * Shopify and GitHub by their documented HMAC of the raw body.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { WebhookScheme } from '../../lambdas/domain/model';
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import {
  apiRequest,
  deliverPublished,
  bodyOf,
  createTenant,
  expectErrorAnswer,
  removeKeyDirectories,
  testPlatform,
  type TestPlatform,
} from './fixtures';

afterAll(removeKeyDirectories);

const TOLERANCE_MS = 300_000;
const unixSeconds = (at: Date) => Math.floor(at.getTime() / 1000);

/** A provider: signs a delivery (id, body, time) with a secret, the way its servers do. */
type Sign = (delivery: { id: string; body: string; sentAt: Date }, secret: string) => Record<string, string>;

const SIGNERS: Readonly<Record<WebhookScheme, Sign>> = {
  standard: ({ id, body, sentAt }, secret) => ({
    'webhook-id': id,
    'webhook-timestamp': String(unixSeconds(sentAt)),
    'webhook-signature': new Webhook(secret).sign(id, sentAt, body),
  }),
  // Stripe's delivery id is the event id in the body.
  stripe: ({ body, sentAt }, secret) => ({
    'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: unixSeconds(sentAt) }),
  }),
  shopify: ({ id, body, sentAt }, secret) => ({
    'X-Shopify-Hmac-Sha256': createHmac('sha256', secret).update(body, 'utf8').digest('base64'),
    'X-Shopify-Webhook-Id': id,
    'X-Shopify-Topic': 'orders/create',
    'X-Shopify-Triggered-At': sentAt.toISOString(),
  }),
  github: ({ id, body }, secret) => ({
    'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`,
    'X-GitHub-Delivery': id,
    'X-GitHub-Event': 'push',
  }),
};

const bodyFor = (id: string) => JSON.stringify({ id, type: 'invoice.paid', data: { object: { amount_paid: 4200, customer: 'cus_9' } } });

interface Source {
  readonly tenantId: string;
  readonly sourceId: string;
  readonly scheme: WebhookScheme;
  secret: string;
}

async function createSource(platform: TestPlatform, tenantId: string, scheme: WebhookScheme, sourceId = `${scheme}-src`): Promise<Source> {
  const answer = await platform.admin(
    apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources', { pathParameters: { tenantId }, body: { scheme, sourceId } }),
  );
  expect(answer.statusCode).toBe(201);
  return { tenantId, sourceId, scheme, secret: bodyOf<{ secret: string }>(answer).secret };
}

/** Sends one delivery to `/v1/hooks/{pathTenant}/{source}`, signed with `secret` at `sentAt`. */
function deliver(
  platform: TestPlatform,
  source: Source,
  options: { id?: string; sentAt?: Date; secret?: string; pathTenant?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const id = options.id ?? 'evt_1001';
  const body = options.body ?? bodyFor(id);
  const signed = SIGNERS[source.scheme]({ id, body, sentAt: options.sentAt ?? platform.clock.now() }, options.secret ?? source.secret);
  return platform.ingest(
    apiRequest('POST', '/v1/hooks/{tenantId}/{sourceId}', {
      pathParameters: { tenantId: options.pathTenant ?? source.tenantId, sourceId: source.sourceId },
      body,
      headers: { ...signed, ...options.headers },
      operator: null,
    }),
  );
}

/**
 * Issue 10: a delivery is published before its marker is written, so a repeat can reach the stream again, always
 * under the same event id; the processor's event-id gate stores it once.
 */
async function expectStoredOnce(platform: TestPlatform): Promise<void> {
  expect(new Set(platform.publisher.published.map((e) => e.eventId)).size).toBe(1);
  await deliverPublished(platform);
  expect((await platform.store.queryEvents({ tenantId: 'acme', kind: 'webhook', limit: 10 })).items).toHaveLength(1);
}

const SCHEMES: readonly WebhookScheme[] = ['standard', 'stripe', 'shopify', 'github'];
const TIMESTAMPED: readonly WebhookScheme[] = ['standard', 'stripe'];

describe('webhook deliveries', () => {
  let platform: TestPlatform;
  beforeEach(async () => {
    platform = testPlatform();
    await createTenant(platform, 'acme');
  });

  it.each(SCHEMES)('R-ING-2: a %s delivery signed as the provider signs it is accepted with 202 and published', async (scheme) => {
    // Prepare
    const source = await createSource(platform, 'acme', scheme);

    // Act
    const answer = await deliver(platform, source);

    // Assess
    expect(answer.statusCode).toBe(202);
    expect(bodyOf(answer)).toMatchObject({ accepted: 1, deliveryId: 'evt_1001' });
    expect(platform.publisher.published).toEqual([
      expect.objectContaining({
        tenantId: 'acme',
        event: expect.objectContaining({ type: 'webhook', sourceId: source.sourceId, scheme, deliveryId: 'evt_1001', payload: JSON.parse(bodyFor('evt_1001')) }),
      }),
    ]);
  });

  it.each(SCHEMES)('R-ING-2: a %s delivery without its signature → 401 missing_signature', async (scheme) => {
    const source = await createSource(platform, 'acme', scheme);
    const unsigned = { 'webhook-signature': '', 'Stripe-Signature': '', 'X-Shopify-Hmac-Sha256': '', 'X-Hub-Signature-256': '' };

    const answer = await deliver(platform, source, { headers: unsigned });

    expectErrorAnswer(answer, 401, 'missing_signature');
    expect(platform.publisher.published).toEqual([]);
  });

  it.each(SCHEMES)('R-ING-2: a %s delivery signed with another secret → 401 invalid_signature', async (scheme) => {
    const source = await createSource(platform, 'acme', scheme);
    const other = await createSource(platform, 'acme', scheme, 'other');

    const answer = await deliver(platform, source, { secret: other.secret });

    expectErrorAnswer(answer, 401, 'invalid_signature');
    expect(platform.publisher.published).toEqual([]);
  });

  it('R-ING-2: a body altered after signing → 401 invalid_signature', async () => {
    const source = await createSource(platform, 'acme', 'shopify');
    const signed = SIGNERS.shopify({ id: 'd1', body: bodyFor('d1'), sentAt: platform.clock.now() }, source.secret);

    const answer = await platform.ingest(
      apiRequest('POST', '/v1/hooks/{tenantId}/{sourceId}', {
        pathParameters: { tenantId: 'acme', sourceId: source.sourceId },
        body: bodyFor('d1').replace('4200', '1'),
        headers: signed,
      }),
    );

    expectErrorAnswer(answer, 401, 'invalid_signature');
  });

  it.each(TIMESTAMPED)('R-ING-2: a %s delivery signed more than 5 minutes ago → 401 timestamp_out_of_tolerance', async (scheme) => {
    const source = await createSource(platform, 'acme', scheme);

    const answer = await deliver(platform, source, { sentAt: new Date(platform.clock.now().getTime() - TOLERANCE_MS - 1_000) });

    expectErrorAnswer(answer, 401, 'timestamp_out_of_tolerance');
  });

  it.each(TIMESTAMPED)('R-ING-7: the exact replay of a %s delivery → 409 replayed_delivery, stored once', async (scheme) => {
    // Prepare
    const source = await createSource(platform, 'acme', scheme);
    const sentAt = platform.clock.now();
    expect((await deliver(platform, source, { sentAt })).statusCode).toBe(202);

    // Act
    platform.clock.advance(30_000);
    const replay = await deliver(platform, source, { sentAt });

    // Assess
    expectErrorAnswer(replay, 409, 'replayed_delivery');
    await expectStoredOnce(platform);
  });

  it.each(TIMESTAMPED)('R-ING-7: a re-signed retry of a %s delivery → 200 duplicate, not stored twice', async (scheme) => {
    // Prepare
    const source = await createSource(platform, 'acme', scheme);
    const first = await deliver(platform, source);

    // Act: the provider retries later, signing the same delivery id anew.
    platform.clock.advance(60_000);
    const retry = await deliver(platform, source);

    // Assess
    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({ accepted: 0, duplicate: true, eventId: bodyOf(first).eventId });
    await expectStoredOnce(platform);
  });

  it.each(['shopify', 'github'] as const)('R-ING-7: an identical repeat of a %s delivery → 200 duplicate, stored once', async (scheme) => {
    const source = await createSource(platform, 'acme', scheme);
    const sentAt = platform.clock.now();
    await deliver(platform, source, { sentAt });

    const repeat = await deliver(platform, source, { sentAt });

    expect(repeat.statusCode).toBe(200);
    expect(bodyOf(repeat)).toMatchObject({ duplicate: true });
    await expectStoredOnce(platform);
  });

  it('R-SEC-4, issue 10: tenant B’s id in the path with a valid signature of tenant A’s source → 401 invalid_signature, as a bad signature', async () => {
    // Prepare
    await createTenant(platform, 'globex');
    const source = await createSource(platform, 'acme', 'standard');

    // Act
    const answer = await deliver(platform, source, { pathTenant: 'globex' });

    // Assess
    expectErrorAnswer(answer, 401, 'invalid_signature');
    const badSignature = await deliver(platform, source, { pathTenant: 'acme', secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64') });
    expect(answer.body).toBe(badSignature.body);
    expect(platform.publisher.published).toEqual([]);
  });

  it('R-SEC-4 twin: tenant A’s own path with the same signature is accepted for A', async () => {
    await createTenant(platform, 'globex');
    const source = await createSource(platform, 'acme', 'standard');

    const answer = await deliver(platform, source, { pathTenant: 'acme' });

    expect(answer.statusCode).toBe(202);
    expect(platform.publisher.published.map((e) => e.tenantId)).toEqual(['acme']);
  });

  it('R-SEC-4: B’s source of the same id does not accept A’s signature (401), nor an unknown tenant (401 too, issue 10)', async () => {
    await createTenant(platform, 'globex');
    const source = await createSource(platform, 'acme', 'github', 'shared-id');
    await createSource(platform, 'globex', 'github', 'shared-id');

    const crossTenant = await deliver(platform, source, { pathTenant: 'globex' });
    const noTenant = await deliver(platform, source, { pathTenant: 'initech' });

    expectErrorAnswer(crossTenant, 401, 'invalid_signature');
    expectErrorAnswer(noTenant, 401, 'invalid_signature');
    expect(noTenant.body).toBe(crossTenant.body);
  });

  it('R-ING-2: after a rotation both the old and the new secret are accepted; after the next, the oldest is not', async () => {
    // Prepare
    const source = await createSource(platform, 'acme', 'standard');
    const oldSecret = source.secret;
    const rotate = () =>
      platform.admin(
        apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources/{sourceId}/rotate', {
          pathParameters: { tenantId: 'acme', sourceId: source.sourceId },
        }),
      );
    const newSecret = bodyOf<{ secret: string }>(await rotate()).secret;

    // Act
    const withOld = await deliver(platform, source, { id: 'd-old', secret: oldSecret });
    const withNew = await deliver(platform, source, { id: 'd-new', secret: newSecret });
    await rotate();
    const withRetired = await deliver(platform, source, { id: 'd-retired', secret: oldSecret });

    // Assess
    expect([withOld.statusCode, withNew.statusCode]).toEqual([202, 202]);
    expectErrorAnswer(withRetired, 401, 'invalid_signature');
  });

  it.each(['standard', 'shopify'] as const)(
    'R-ING-7: when publishing a %s delivery fails, the delivery is forgotten and the retry is accepted',
    async (scheme) => {
      // Prepare
      const source = await createSource(platform, 'acme', scheme);
      platform.publisher.failures = 1;
      const sentAt = platform.clock.now();

      // Act: the sender sees a 5xx and retries the very same request.
      const failed = await deliver(platform, source, { sentAt });
      const retry = await deliver(platform, source, { sentAt });

      // Assess
      expectErrorAnswer(failed, 500, 'internal_error');
      expect(retry.statusCode).toBe(202);
      expect(platform.publisher.published).toHaveLength(1);
    },
  );

  it.each(SCHEMES)(
    'issue 10, R-ING-7: a %s delivery whose function dies between the publish attempt and any clean-up: the retry is stored, not answered duplicate',
    async (scheme) => {
      // Prepare: the publish fails once, and nothing after it runs (a timeout or a crash: no clean-up either).
      const source = await createSource(platform, 'acme', scheme);
      platform.publisher.failures = 1;
      jest.spyOn(platform.directory, 'forgetDelivery').mockRejectedValue(new Error('Task timed out after 10.00 seconds'));
      const sentAt = platform.clock.now();

      // Act: the sender sees a 5xx and retries; a timestamped scheme re-signs the retry.
      const failed = await deliver(platform, source, { sentAt });
      platform.clock.advance(1_000);
      const retry = await deliver(platform, source, { sentAt: scheme === 'standard' || scheme === 'stripe' ? platform.clock.now() : sentAt });

      // Assess
      expect(failed.statusCode).toBeGreaterThanOrEqual(500);
      expect(retry.statusCode).toBe(202);
      await expectStoredOnce(platform);
    },
  );

  it('R-TERM-1: a frozen tenant’s source → 403 tenant_frozen', async () => {
    const source = await createSource(platform, 'acme', 'github');
    await platform.directory.setTenantStatus('acme', 'frozen');

    expectErrorAnswer(await deliver(platform, source), 403, 'tenant_frozen');
  });
});

describe('R-ING-7: deliveries whose keys or stream record AWS would refuse', () => {
  let platform: TestPlatform;
  let source: Source;
  beforeEach(async () => {
    platform = testPlatform();
    await createTenant(platform, 'acme');
    source = await createSource(platform, 'acme', 'github');
  });

  it('a delivery id of more than KEY_BYTE_BOUNDS.deliveryId bytes → 400 invalid_request, nothing remembered; one of the bound is accepted', async () => {
    const over = await deliver(platform, source, { id: 'd'.repeat(KEY_BYTE_BOUNDS.deliveryId + 1) });
    const atLimit = await deliver(platform, source, { id: 'd'.repeat(KEY_BYTE_BOUNDS.deliveryId) });

    expect(expectErrorAnswer(over, 400, 'invalid_request').message).toContain(`at most ${KEY_BYTE_BOUNDS.deliveryId} bytes`);
    expect(atLimit.statusCode).toBe(202);
    expect(platform.publisher.published).toHaveLength(1);
  });

  it('issue 10: every header value that is stored is bounded: an event name past KEY_BYTE_BOUNDS.webhookName → 400; a shop domain past a host name is not stored', async () => {
    const longName = await deliver(platform, source, { headers: { 'X-GitHub-Event': 'e'.repeat(KEY_BYTE_BOUNDS.webhookName + 1) } });
    expectErrorAnswer(longName, 400, 'invalid_request');

    const shop = await createSource(platform, 'acme', 'shopify');
    const answer = await deliver(platform, shop, { id: 'shop-1', headers: { 'X-Shopify-Shop-Domain': `${'a'.repeat(1000)}.myshopify.com` } });
    expect(answer.statusCode).toBe(202);
    expect(platform.publisher.published.at(-1)?.event).not.toHaveProperty('shopDomain');
    expect(JSON.stringify(platform.publisher.published.at(-1))).not.toContain('a'.repeat(300));
  });

  it('a delivery within the body limit whose stream record would pass 1 MiB → 413 body_too_large, and no marker stops its smaller retry', async () => {
    const big = JSON.stringify({ id: 'evt_big', pad: 'p'.repeat(platform.settings.limits.maxBodyBytes - 40) });
    expect(Buffer.byteLength(big)).toBeLessThanOrEqual(platform.settings.limits.maxBodyBytes);

    const refused = await deliver(platform, source, { id: 'evt_big', body: big });
    const retried = await deliver(platform, source, { id: 'evt_big' });

    expectErrorAnswer(refused, 413, 'body_too_large');
    expect(retried.statusCode).toBe(202);
    expect(platform.publisher.published).toHaveLength(1);
  });
});

