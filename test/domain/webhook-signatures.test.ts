/**
 * R-ING-2: webhook signature verification, example by example. Deliveries are signed the way each
 * sender does it: Standard Webhooks with the `standardwebhooks` package, Stripe with the `stripe` SDK,
 * Shopify and GitHub by their documented method (an HMAC-SHA256 of the raw body).
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { ErrorCode, WebhookScheme } from '../../lambdas/domain/model';
import {
  generateWebhookSecret,
  verifyGitHubSignature,
  verifyShopifyHmac,
  verifyStandardWebhook,
  verifyStripeSignature,
  verifyWebhook,
  type VerifyOptions,
  type WebhookRequest,
} from '../../lambdas/domain/webhook-signatures';

const TOLERANCE_SECONDS = 300;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const SENT_AT = new Date(NOW.getTime() - 30_000);
const DELIVERY_ID = 'dlv_2f6Qm1';
/** Odd spacing and non-ASCII on purpose: only the raw bytes verify, never a re-serialised copy. */
const BODY = '{ "id": "evt_1Nq", "type": "invoice.paid",\n  "data": { "customer": "Zoë Ångström 🚀" } }';

const options = (secrets: readonly string[], now = NOW): VerifyOptions => ({ secrets, toleranceSeconds: TOLERANCE_SECONDS, now });
const request = (headers: Record<string, string | undefined>, body: string | Buffer = BODY): WebhookRequest => ({
  headers,
  rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
});
const domainError = (code: ErrorCode, status = 401) => expect.objectContaining({ name: 'DomainError', code, status });
const unixSeconds = (at: Date) => Math.floor(at.getTime() / 1000);
const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body, 'utf8');

interface SenderFixture {
  readonly scheme: WebhookScheme;
  /** The header that carries the signature. */
  readonly signatureHeader: string;
  /** A value of that header that cannot be parsed. */
  readonly malformedSignature: string;
  readonly hasTimestamp: boolean;
  readonly eventName: string;
  /** The delivery's headers, signed the sender's way. */
  sign(body: string, secret: string, sentAt: Date): Record<string, string>;
}

const senders: readonly SenderFixture[] = [
  {
    scheme: 'standard',
    signatureHeader: 'webhook-signature',
    malformedSignature: 'v1;not-base64!',
    hasTimestamp: true,
    eventName: 'invoice.paid',
    sign: (body, secret, sentAt) => ({
      'webhook-id': DELIVERY_ID,
      'webhook-timestamp': String(unixSeconds(sentAt)),
      'webhook-signature': new Webhook(secret).sign(DELIVERY_ID, sentAt, body),
    }),
  },
  {
    scheme: 'stripe',
    signatureHeader: 'stripe-signature',
    malformedSignature: 't=abc;v1==',
    hasTimestamp: true,
    eventName: 'invoice.paid',
    sign: (body, secret, sentAt) => ({
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: unixSeconds(sentAt) }),
    }),
  },
  {
    scheme: 'shopify',
    signatureHeader: 'x-shopify-hmac-sha256',
    malformedSignature: 'sha256=deadbeef',
    hasTimestamp: true,
    eventName: 'orders/create',
    sign: (body, secret, sentAt) => ({
      'x-shopify-hmac-sha256': hmac(secret, body).digest('base64'),
      'x-shopify-webhook-id': DELIVERY_ID,
      'x-shopify-topic': 'orders/create',
      'x-shopify-triggered-at': sentAt.toISOString(),
    }),
  },
  {
    scheme: 'github',
    signatureHeader: 'x-hub-signature-256',
    malformedSignature: 'sha256=zz',
    hasTimestamp: false,
    eventName: 'push',
    sign: (body, secret) => ({
      'x-hub-signature-256': `sha256=${hmac(secret, body).digest('hex')}`,
      'x-github-delivery': DELIVERY_ID,
      'x-github-event': 'push',
    }),
  },
];
const timestampedSenders = senders.filter((sender) => sender.hasTimestamp);

/** Stripe's delivery id is the event id in the body; the others send it in a header. */
const expectedDeliveryId = (scheme: WebhookScheme) => (scheme === 'stripe' ? 'evt_1Nq' : DELIVERY_ID);

describe.each(senders)('R-ING-2: $scheme signatures', (sender) => {
  const secret = generateWebhookSecret(sender.scheme);
  const otherSecret = generateWebhookSecret(sender.scheme);
  const verify = (headers: Record<string, string | undefined>, body: string | Buffer = BODY, secrets = [secret], now = NOW) =>
    verifyWebhook(sender.scheme, request(headers, body), options(secrets, now));

  it('accepts a correctly signed delivery and reports its id, time and event name', () => {
    const delivery = verify(sender.sign(BODY, secret, SENT_AT));
    expect(delivery).toEqual({
      deliveryId: expectedDeliveryId(sender.scheme),
      timestamp: (sender.hasTimestamp ? SENT_AT : NOW).toISOString(),
      eventName: sender.eventName,
    });
  });

  it('rejects a body changed by one character', () => {
    expect(() => verify(sender.sign(BODY, secret, SENT_AT), BODY.replace('paid', 'pain'))).toThrow(domainError('invalid_signature'));
  });

  it('rejects the same JSON re-serialised: only the raw body is signed', () => {
    const reserialised = JSON.stringify(JSON.parse(BODY));
    expect(() => verify(sender.sign(BODY, secret, SENT_AT), reserialised)).toThrow(domainError('invalid_signature'));
  });

  it('rejects a signature made with another secret, without naming either secret or the signature', () => {
    const headers = sender.sign(BODY, otherSecret, SENT_AT);
    expect(() => verify(headers)).toThrow(domainError('invalid_signature'));
    const leaked = [secret, otherSecret, headers[sender.signatureHeader]];
    expect(() => verify(headers)).toThrow(expect.objectContaining({ message: expect.not.stringMatching(new RegExp(leaked.map(escapeRegExp).join('|'))) }));
  });

  it('accepts a delivery signed with any active secret (rotation), and not once that secret is retired', () => {
    const headers = sender.sign(BODY, otherSecret, SENT_AT);
    expect(verify(headers, BODY, [secret, otherSecret]).deliveryId).toBe(expectedDeliveryId(sender.scheme));
    expect(() => verify(headers, BODY, [secret])).toThrow(domainError('invalid_signature'));
  });

  it('rejects a delivery when no secret is configured', () => {
    expect(() => verify(sender.sign(BODY, secret, SENT_AT), BODY, [])).toThrow(domainError('invalid_signature'));
  });

  it('rejects a delivery without its signature header', () => {
    const headers: Record<string, string | undefined> = { ...sender.sign(BODY, secret, SENT_AT), [sender.signatureHeader]: undefined };
    expect(() => verify(headers)).toThrow(domainError('missing_signature'));
    expect(() => verify({ ...headers, [sender.signatureHeader]: '   ' })).toThrow(domainError('missing_signature'));
  });

  it('rejects an unparsable signature header', () => {
    const headers = { ...sender.sign(BODY, secret, SENT_AT), [sender.signatureHeader]: sender.malformedSignature };
    expect(() => verify(headers)).toThrow(domainError('missing_signature'));
  });
});

describe.each(timestampedSenders)('R-ING-2: $scheme timestamp tolerance (±300 s)', (sender) => {
  const secret = generateWebhookSecret(sender.scheme);
  const sentSecondsFromNow = (seconds: number) => {
    const sentAt = new Date(NOW.getTime() + seconds * 1000);
    return () => verifyWebhook(sender.scheme, request(sender.sign(BODY, secret, sentAt)), options([secret]));
  };

  it('accepts a delivery signed exactly at either edge of the window', () => {
    expect(sentSecondsFromNow(-TOLERANCE_SECONDS)().timestamp).toBe(new Date(NOW.getTime() - TOLERANCE_SECONDS * 1000).toISOString());
    expect(sentSecondsFromNow(TOLERANCE_SECONDS)().timestamp).toBe(new Date(NOW.getTime() + TOLERANCE_SECONDS * 1000).toISOString());
  });

  it('rejects an expired delivery (replay)', () => {
    expect(sentSecondsFromNow(-TOLERANCE_SECONDS - 1)).toThrow(domainError('timestamp_out_of_tolerance'));
  });

  it('rejects a delivery dated in the future', () => {
    expect(sentSecondsFromNow(TOLERANCE_SECONDS + 1)).toThrow(domainError('timestamp_out_of_tolerance'));
  });
});

describe('R-ING-2: Standard Webhooks details', () => {
  const secret = generateWebhookSecret('standard');
  const signed = (body = BODY) => senders[0]!.sign(body, secret, SENT_AT);

  it('verifies the test vector of the Standard Webhooks reference libraries', () => {
    const delivery = verifyStandardWebhook(
      request(
        {
          'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
          'webhook-timestamp': '1614265330',
          'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
        },
        '{"test": 2432232314}',
      ),
      options(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], new Date(1614265330 * 1000)),
    );
    expect(delivery).toEqual({ deliveryId: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: '2021-02-25T15:02:10.000Z', eventName: 'webhook' });
  });

  it('accepts when any v1 entry of the list matches, skipping other versions', () => {
    const headers = signed();
    const valid = headers['webhook-signature']!;
    const wrong = new Webhook(generateWebhookSecret('standard')).sign(DELIVERY_ID, SENT_AT, BODY);
    const list = `v1a,${valid.slice(3)} ${wrong} ${valid}`;
    expect(verifyStandardWebhook(request({ ...headers, 'webhook-signature': list }), options([secret])).deliveryId).toBe(DELIVERY_ID);
  });

  it('treats a header with no v1 signature as missing', () => {
    const headers = signed();
    const otherVersion = headers['webhook-signature']!.replace('v1,', 'v2,');
    expect(() => verifyStandardWebhook(request({ ...headers, 'webhook-signature': otherVersion }), options([secret]))).toThrow(domainError('missing_signature'));
  });

  it('rejects a webhook-id or webhook-timestamp that differs from the signed one', () => {
    const headers = signed();
    expect(() => verifyStandardWebhook(request({ ...headers, 'webhook-id': 'dlv_other' }), options([secret]))).toThrow(domainError('invalid_signature'));
    const timestamp = String(unixSeconds(SENT_AT) + 1);
    expect(() => verifyStandardWebhook(request({ ...headers, 'webhook-timestamp': timestamp }), options([secret]))).toThrow(domainError('invalid_signature'));
  });

  it.each(['', 'soon', '-5', '1.5e9', '99999999999999999999'])('treats webhook-timestamp %j as missing', (timestamp) => {
    expect(() => verifyStandardWebhook(request({ ...signed(), 'webhook-timestamp': timestamp }), options([secret]))).toThrow(domainError('missing_signature'));
  });

  it('names the event "webhook" when the body is not JSON', () => {
    const body = 'plain text, not JSON';
    expect(verifyStandardWebhook(request(signed(body), body), options([secret])).eventName).toBe('webhook');
  });

  it('never uses an empty key, which anyone could sign with', () => {
    const headers = signed();
    const emptyKeySignature = createHmac('sha256', Buffer.alloc(0)).update(`${DELIVERY_ID}.${headers['webhook-timestamp']}.${BODY}`).digest('base64');
    const forged = { ...headers, 'webhook-signature': `v1,${emptyKeySignature}` };
    expect(() => verifyStandardWebhook(request(forged), options(['whsec_', '']))).toThrow(domainError('invalid_signature'));
  });
});

describe('R-ING-2: Stripe details', () => {
  const secret = generateWebhookSecret('stripe');
  const timestamp = unixSeconds(SENT_AT);
  const v1 = (body: string, key = secret) => Stripe.webhooks.generateTestHeaderString({ payload: body, secret: key, timestamp }).split(',')[1]!;
  const verify = (signature: string, body = BODY) => verifyStripeSignature(request({ 'stripe-signature': signature }, body), options([secret]));

  it('ignores v0 and unknown keys, and accepts any matching v1 (Stripe rolling its secret)', () => {
    const otherV1 = v1(BODY, generateWebhookSecret('stripe'));
    const header = `t=${timestamp},v0=${'0'.repeat(64)},${otherV1},scheme=x,${v1(BODY)}`;
    expect(verify(header).deliveryId).toBe('evt_1Nq');
  });

  it.each([
    ['no t', () => v1(BODY)],
    ['two t values', () => `t=${timestamp},t=${timestamp},${v1(BODY)}`],
    ['a non-numeric t', () => `t=now,${v1(BODY)}`],
    ['only a v0 signature', () => `t=${timestamp},v0=${v1(BODY).slice(3)}`],
    ['a v1 that is not 64 hex digits', () => `t=${timestamp},v1=${v1(BODY).slice(4)}`],
  ])('treats a header with %s as missing a signature', (_, header) => {
    expect(() => verify(header())).toThrow(domainError('missing_signature'));
  });

  it('rejects a signed event without an id as a bad request', () => {
    const body = '{"type":"invoice.paid"}';
    expect(() => verify(`t=${timestamp},${v1(body)}`, body)).toThrow(domainError('invalid_request', 400));
  });

  it('rejects a signed body that is not JSON as malformed', () => {
    const body = 'not json';
    expect(() => verify(`t=${timestamp},${v1(body)}`, body)).toThrow(domainError('malformed_json', 400));
  });
});

describe('R-ING-2: Stripe cross-check against stripe.webhooks.constructEvent', () => {
  const secret = generateWebhookSecret('stripe');
  const header = (body: string, sentAt: Date, key = secret) =>
    Stripe.webhooks.generateTestHeaderString({ payload: body, secret: key, timestamp: unixSeconds(sentAt) });
  const oursAccepts = (body: string, signature: string) => {
    try {
      verifyStripeSignature(request({ 'stripe-signature': signature }, body), options([secret]));
      return true;
    } catch {
      return false;
    }
  };
  const stripeAccepts = (body: string, signature: string) => {
    try {
      Stripe.webhooks.constructEvent(Buffer.from(body), signature, secret, TOLERANCE_SECONDS, undefined, NOW.getTime());
      return true;
    } catch {
      return false;
    }
  };
  const secondsAgo = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);

  it.each([
    ['a valid delivery', BODY, () => header(BODY, SENT_AT), true],
    ['another secret', BODY, () => header(BODY, SENT_AT, generateWebhookSecret('stripe')), false],
    ['a tampered body', BODY.replace('paid', 'pain'), () => header(BODY, SENT_AT), false],
    ['an expired timestamp', BODY, () => header(BODY, secondsAgo(TOLERANCE_SECONDS + 1)), false],
    ['the oldest accepted timestamp', BODY, () => header(BODY, secondsAgo(TOLERANCE_SECONDS)), true],
    ['a v0-only header', BODY, () => header(BODY, SENT_AT).replace('v1=', 'v0='), false],
    ['a signature for another timestamp', BODY, () => header(BODY, SENT_AT).replace(/^t=\d+/, `t=${unixSeconds(SENT_AT) + 1}`), false],
  ])('agrees with the SDK on %s', (_, body, signature, accepted) => {
    const value = signature();
    expect(stripeAccepts(body, value)).toBe(accepted);
    expect(oursAccepts(body, value)).toBe(accepted);
  });

  it('is stricter than the SDK on a future timestamp: the SDK only bounds age, we bound both sides', () => {
    const value = header(BODY, new Date(NOW.getTime() + (TOLERANCE_SECONDS + 60) * 1000));
    expect(stripeAccepts(BODY, value)).toBe(true);
    expect(oursAccepts(BODY, value)).toBe(false);
  });
});

describe('R-ING-2: Shopify details', () => {
  const secret = generateWebhookSecret('shopify');
  const signed = () => senders[2]!.sign(BODY, secret, SENT_AT);
  const verify = (headers: Record<string, string | undefined>) => verifyShopifyHmac(request(headers), options([secret]));

  it('falls back to x-shopify-event-id for the delivery id', () => {
    const headers = { ...signed(), 'x-shopify-webhook-id': undefined, 'x-shopify-event-id': 'evt_shop_9' };
    expect(verify(headers).deliveryId).toBe('evt_shop_9');
  });

  it('rejects a signed delivery with no delivery id as a bad request', () => {
    expect(() => verify({ ...signed(), 'x-shopify-webhook-id': undefined })).toThrow(domainError('invalid_request', 400));
  });

  it('issue 10: requires x-shopify-triggered-at (400 invalid_request)', () => {
    expect(() => verify({ ...signed(), 'x-shopify-triggered-at': undefined })).toThrow(domainError('invalid_request', 400));
  });

  it('reads the nanosecond times Shopify sends', () => {
    expect(verify({ ...signed(), 'x-shopify-triggered-at': '2026-03-01T11:59:30.877041743Z' }).timestamp).toBe('2026-03-01T11:59:30.877Z');
  });

  it.each(['yesterday', '1', '2026-03-01'])('rejects x-shopify-triggered-at %j as a bad request', (triggeredAt) => {
    expect(() => verify({ ...signed(), 'x-shopify-triggered-at': triggeredAt })).toThrow(domainError('invalid_request', 400));
  });
});

describe('R-ING-2: GitHub details', () => {
  const secret = generateWebhookSecret('github');
  const signed = () => senders[3]!.sign(BODY, secret, SENT_AT);
  const verify = (headers: Record<string, string | undefined>, now = NOW) => verifyGitHubSignature(request(headers), options([secret], now));

  it("verifies GitHub's documented test vector", () => {
    const headers = {
      'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      'x-github-delivery': DELIVERY_ID,
    };
    const delivery = verifyGitHubSignature(request(headers, 'Hello, World!'), options(["It's a Secret to Everybody"]));
    expect(delivery).toEqual({ deliveryId: DELIVERY_ID, timestamp: NOW.toISOString(), eventName: 'webhook' });
  });

  it('accepts a days-old delivery: the scheme has no timestamp, so replays are stopped by delivery id (R-ING-7)', () => {
    const aWeekLater = new Date(NOW.getTime() + 7 * 24 * 3600 * 1000);
    expect(verify(signed(), aWeekLater)).toEqual({ deliveryId: DELIVERY_ID, timestamp: aWeekLater.toISOString(), eventName: 'push' });
  });

  it('treats the SHA-1 header format as missing a signature', () => {
    const sha1 = `sha1=${createHmac('sha1', secret).update(BODY).digest('hex')}`;
    expect(() => verify({ ...signed(), 'x-hub-signature-256': sha1 })).toThrow(domainError('missing_signature'));
  });

  it('rejects a signed delivery with no x-github-delivery as a bad request', () => {
    expect(() => verify({ ...signed(), 'x-github-delivery': undefined })).toThrow(domainError('invalid_request', 400));
  });
});

describe('R-ING-2: verifyWebhook and generateWebhookSecret', () => {
  it('rejects a scheme it does not know as a bad request', () => {
    const scheme = 'paypal' as WebhookScheme;
    expect(() => verifyWebhook(scheme, request({}), options(['s']))).toThrow(domainError('invalid_request', 400));
  });

  it.each([
    ['standard', /^whsec_[A-Za-z0-9+/]{43}=$/],
    ['stripe', /^whsec_[0-9a-f]{64}$/],
    ['shopify', /^[0-9a-f]{64}$/],
    ['github', /^[0-9a-f]{64}$/],
  ] as const)('issues fresh 32-byte %s secrets', (scheme, format) => {
    const first = generateWebhookSecret(scheme);
    expect(first).toMatch(format);
    expect(generateWebhookSecret(scheme)).not.toBe(first);
  });

  it('issues Standard Webhooks secrets the reference library accepts', () => {
    const secret = generateWebhookSecret('standard');
    const webhook = new Webhook(secret);
    // The library checks against the real clock.
    const sentAt = new Date();
    const headers = {
      'webhook-id': DELIVERY_ID,
      'webhook-timestamp': String(unixSeconds(sentAt)),
      'webhook-signature': webhook.sign(DELIVERY_ID, sentAt, BODY),
    };
    expect(webhook.verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
