/**
 * R-ING-2: properties of webhook signature verification over arbitrary bodies, secrets and headers.
 * Arbitrary bytes are signed by each scheme's documented method (the reference libraries decode the
 * body as UTF-8 first, which is lossy for arbitrary bytes); unicode text is also signed by the
 * `standardwebhooks` and `stripe` libraries themselves.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { DomainError, type WebhookScheme } from '../../lambdas/domain/model';
import { verifyWebhook, type VerifyOptions, type WebhookRequest } from '../../lambdas/domain/webhook-signatures';

const TOLERANCE_SECONDS = 300;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const SCHEMES: readonly WebhookScheme[] = ['standard', 'stripe', 'shopify', 'github'];

const options = (secrets: readonly string[], now = NOW): VerifyOptions => ({ secrets, toleranceSeconds: TOLERANCE_SECONDS, now });
const unixSeconds = (at: Date) => Math.floor(at.getTime() / 1000);
const hmac = (key: string | Buffer, ...content: (string | Buffer)[]) => {
  const mac = createHmac('sha256', key);
  for (const part of content) mac.update(part);
  return mac.digest();
};

/** 'accepted', or the DomainError code; anything else thrown fails the property. */
function outcome(scheme: WebhookScheme, req: WebhookRequest, opts: VerifyOptions): string {
  try {
    verifyWebhook(scheme, req, opts);
    return 'accepted';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

/** Headers for a delivery, signed as each scheme's documentation describes. */
const signByTheSpec: Record<WebhookScheme, (body: Buffer, secret: string, sentAt: Date, deliveryId: string) => Record<string, string>> = {
  standard: (body, secret, sentAt, deliveryId) => {
    const timestamp = String(unixSeconds(sentAt));
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const signature = hmac(key, `${deliveryId}.${timestamp}.`, body).toString('base64');
    return { 'webhook-id': deliveryId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
  },
  stripe: (body, secret, sentAt) => {
    const timestamp = unixSeconds(sentAt);
    return { 'stripe-signature': `t=${timestamp},v1=${hmac(secret, `${timestamp}.`, body).toString('hex')}` };
  },
  shopify: (body, secret, sentAt, deliveryId) => ({
    'x-shopify-hmac-sha256': hmac(secret, body).toString('base64'),
    'x-shopify-webhook-id': deliveryId,
    'x-shopify-topic': 'orders/create',
    'x-shopify-triggered-at': sentAt.toISOString(),
  }),
  github: (body, secret, _sentAt, deliveryId) => ({
    'x-hub-signature-256': `sha256=${hmac(secret, body).toString('hex')}`,
    'x-github-delivery': deliveryId,
    'x-github-event': 'push',
  }),
};

const keyBytes = (length: { minLength: number; maxLength: number }) => fc.uint8Array(length).map((bytes) => Buffer.from(bytes));
/**
 * Secrets in each scheme's format. Distinct secrets are kept at one length: HMAC pads a short key
 * with zero bytes, so keys that differ only by trailing zeros are the same key by design.
 */
const secretOf: Record<WebhookScheme, (key: Buffer) => string> = {
  standard: (key) => `whsec_${key.toString('base64')}`,
  stripe: (key) => `whsec_${key.toString('hex')}`,
  shopify: (key) => key.toString('hex'),
  github: (key) => key.toString('hex'),
};
const anySecret = (scheme: WebhookScheme) => keyBytes({ minLength: 1, maxLength: 96 }).map(secretOf[scheme]);
const twoDistinctSecrets = (scheme: WebhookScheme) =>
  fc
    .uniqueArray(keyBytes({ minLength: 32, maxLength: 32 }), { minLength: 2, maxLength: 2, selector: (key) => key.toString('hex') })
    .map((keys) => keys.map(secretOf[scheme]) as [string, string]);

const deliveryIdArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const bytesOrText = fc.oneof(
  keyBytes({ minLength: 0, maxLength: 512 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => Buffer.from(text, 'utf8')),
);
/** Stripe always sends a JSON event whose id is the delivery id: arbitrary content goes inside it. */
const stripeEvent = fc.record({
  id: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  type: fc.string({ minLength: 1, maxLength: 40 }),
  data: fc.jsonValue(),
});
const bodyOf = (scheme: WebhookScheme) =>
  scheme === 'stripe' ? stripeEvent.map((event) => Buffer.from(JSON.stringify(event, null, 1), 'utf8')) : bytesOrText;

/** A delivery signed `secondsAgo` before NOW with `secret`. */
const signedRequest = (scheme: WebhookScheme, body: Buffer, secret: string, deliveryId: string, secondsAgo = 30): WebhookRequest => ({
  headers: signByTheSpec[scheme](body, secret, new Date(NOW.getTime() - secondsAgo * 1000), deliveryId),
  rawBody: body,
});

describe.each(SCHEMES)('R-ING-2: %s signature properties', (scheme) => {
  it('verifies every correctly signed body, for any secret', () => {
    fc.assert(
      fc.property(bodyOf(scheme), anySecret(scheme), deliveryIdArb, (body, secret, deliveryId) => {
        const delivery = verifyWebhook(scheme, signedRequest(scheme, body, secret, deliveryId), options([secret]));
        const expectedId = scheme === 'stripe' ? (JSON.parse(body.toString('utf8')) as { id: string }).id : deliveryId;
        expect(delivery.deliveryId).toBe(expectedId);
      }),
    );
  });

  it('never verifies a body with any single byte changed', () => {
    const changed = fc.tuple(bodyOf(scheme).filter((body) => body.length > 0), fc.nat(), fc.integer({ min: 1, max: 255 }));
    fc.assert(
      fc.property(changed, anySecret(scheme), deliveryIdArb, ([body, position, flip], secret, deliveryId) => {
        const req = signedRequest(scheme, body, secret, deliveryId);
        const tampered = Buffer.from(body);
        const index = position % tampered.length;
        tampered[index] = tampered[index]! ^ flip;
        expect(outcome(scheme, { ...req, rawBody: tampered }, options([secret]))).toBe('invalid_signature');
      }),
    );
  });

  it('never verifies a body signed with a different secret', () => {
    fc.assert(
      fc.property(bodyOf(scheme), twoDistinctSecrets(scheme), deliveryIdArb, (body, [signing, active], deliveryId) => {
        expect(outcome(scheme, signedRequest(scheme, body, signing, deliveryId), options([active]))).toBe('invalid_signature');
      }),
    );
  });
});

describe('R-ING-2: timestamp window properties', () => {
  it.each(['standard', 'stripe', 'shopify'] as const)('%s accepts a delivery exactly when it was signed within ±300 s', (scheme) => {
    fc.assert(
      fc.property(fc.integer({ min: -3 * TOLERANCE_SECONDS, max: 3 * TOLERANCE_SECONDS }), anySecret(scheme), (secondsAgo, secret) => {
        const body = Buffer.from('{"id":"evt_1","type":"ping"}');
        const expected = Math.abs(secondsAgo) <= TOLERANCE_SECONDS ? 'accepted' : 'timestamp_out_of_tolerance';
        expect(outcome(scheme, signedRequest(scheme, body, secret, 'dlv_1', secondsAgo), options([secret]))).toBe(expected);
      }),
    );
  });
});

describe('R-ING-2: agreement with the reference libraries on unicode bodies', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 200 });

  it('verifies every body the standardwebhooks library signs', () => {
    fc.assert(
      fc.property(text, keyBytes({ minLength: 1, maxLength: 64 }), deliveryIdArb, (body, key, deliveryId) => {
        const secret = secretOf.standard(key);
        const headers = {
          'webhook-id': deliveryId,
          'webhook-timestamp': String(unixSeconds(NOW)),
          'webhook-signature': new Webhook(secret).sign(deliveryId, NOW, body),
        };
        expect(outcome('standard', { headers, rawBody: Buffer.from(body, 'utf8') }, options([secret]))).toBe('accepted');
      }),
    );
  });

  it('verifies every event the stripe SDK signs', () => {
    fc.assert(
      fc.property(stripeEvent, anySecret('stripe'), (event, secret) => {
        const payload = JSON.stringify(event);
        const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: unixSeconds(NOW) });
        const delivery = verifyWebhook('stripe', { headers: { 'stripe-signature': signature }, rawBody: Buffer.from(payload) }, options([secret]));
        expect(delivery).toEqual({ deliveryId: event.id, timestamp: NOW.toISOString(), eventName: event.type });
      }),
    );
  });
});

describe('R-ING-2: arbitrary headers only ever produce a DomainError', () => {
  const headerNames = [
    'webhook-id', 'webhook-timestamp', 'webhook-signature', 'stripe-signature', 'x-shopify-hmac-sha256',
    'x-shopify-webhook-id', 'x-shopify-event-id', 'x-shopify-triggered-at', 'x-shopify-topic',
    'x-hub-signature-256', 'x-github-delivery', 'x-github-event',
  ];
  /** Free text, plus near-misses of each format, so that parsing goes past its first check. */
  const headerValue = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 120 }),
    fc.array(fc.tuple(fc.constantFrom('t', 'v1', 'v0', 'sha256', ''), fc.string({ maxLength: 70 })), { maxLength: 5 })
      .map((fields) => fields.map(([key, value]) => `${key}=${value}`).join(',')),
    fc.array(fc.tuple(fc.constantFrom('v1', 'v1a', 'v2'), fc.base64String({ maxLength: 48 })), { maxLength: 4 })
      .map((entries) => entries.map(([version, value]) => `${version},${value}`).join(' ')),
    fc.oneof(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.date({ noInvalidDate: false })).map(String),
    fc.constant(undefined),
  );
  const headers = fc.dictionary(fc.constantFrom(...headerNames), headerValue);

  it.each(SCHEMES)('%s', (scheme) => {
    fc.assert(
      fc.property(headers, bytesOrText, fc.array(fc.string(), { maxLength: 3 }), (values, rawBody, secrets) => {
        expect(outcome(scheme, { headers: values, rawBody }, options(secrets))).not.toBe('accepted');
      }),
    );
  });
});
