/**
 * R-ING-2: verify a webhook sender's signature before anything of the delivery is accepted.
 *
 * Pure domain code (node:crypto only). Every scheme signs the raw body exactly as received, so
 * verification never touches re-serialised JSON; every comparison is constant-time; every failure
 * is a DomainError (401 for signature problems) whose message names neither a secret nor an
 * expected signature. See DESIGN.md "Webhook signatures".
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DomainError, type WebhookScheme } from './model';

export interface WebhookRequest {
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body exactly as received: verification never uses re-serialised JSON. */
  readonly rawBody: Buffer;
}

export interface VerifyOptions {
  /** Every active secret (rotation): a signature made with any of them is accepted. Plain strings as issued by generateWebhookSecret. */
  readonly secrets: readonly string[];
  readonly toleranceSeconds: number;
  readonly now: Date;
}

export interface VerifiedDelivery {
  /** Sender's delivery id, used to de-duplicate (R-ING-7). */
  readonly deliveryId: string;
  /** ISO time the sender signed/sent it (now when the scheme has no timestamp). */
  readonly timestamp: string;
  /** The sender's event type when the scheme carries one, else 'webhook'. */
  readonly eventName: string;
}

export type WebhookVerifier = (req: WebhookRequest, opts: VerifyOptions) => VerifiedDelivery;

/**
 * Per scheme: the header that carries the signature, and whether the signature covers a timestamp. Where it
 * does (Standard Webhooks, Stripe), a sender's retry is re-signed, so the very same signature again is a replay;
 * Shopify and GitHub sign the body only and retry with identical requests.
 */
export const WEBHOOK_SCHEMES: Readonly<Record<WebhookScheme, { readonly signatureHeader: string; readonly signsTimestamp: boolean }>> = {
  standard: { signatureHeader: 'webhook-signature', signsTimestamp: true },
  stripe: { signatureHeader: 'stripe-signature', signsTimestamp: true },
  shopify: { signatureHeader: 'x-shopify-hmac-sha256', signsTimestamp: false },
  github: { signatureHeader: 'x-hub-signature-256', signsTimestamp: false },
};

const STANDARD_SECRET_PREFIX = 'whsec_';
const DEFAULT_EVENT_NAME = 'webhook';
/** An HMAC-SHA256 digest written out: 32 bytes as hex, or as padded standard base64. */
const HEX_DIGEST = /^[0-9a-f]{64}$/i;
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=$/;
/** Unix seconds; bounded so that the number stays exact. */
const UNIX_SECONDS = /^[0-9]{1,15}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` lists `v1,<base64>` entries separated
 * by spaces (the sender's own key rotation); the signed content is `${id}.${timestamp}.${body}` and
 * the key is the base64 part of `whsec_<base64>`.
 */
export function verifyStandardWebhook(req: WebhookRequest, opts: VerifyOptions): VerifiedDelivery {
  const id = header(req, 'webhook-id');
  const sentAt = header(req, 'webhook-timestamp');
  const signatureHeader = header(req, WEBHOOK_SCHEMES.standard.signatureHeader);
  if (id === undefined || sentAt === undefined || signatureHeader === undefined) {
    throw missingSignature('webhook-id, webhook-timestamp and webhook-signature are required');
  }
  if (!UNIX_SECONDS.test(sentAt)) throw missingSignature('webhook-timestamp must be unix seconds');
  const received = signatureHeader
    .split(' ')
    .map((entry) => splitOnce(entry, ','))
    // Other versions (e.g. v1a, asymmetric) are not ours to check: the spec says to skip them.
    .flatMap(([version, value]) => (version === 'v1' ? decodeDigest(value, 'base64') : []));
  if (received.length === 0) throw missingSignature('webhook-signature has no v1 signature');

  requireMatchingSignature(received, opts.secrets, (secret) => {
    const key = Buffer.from(secret.startsWith(STANDARD_SECRET_PREFIX) ? secret.slice(STANDARD_SECRET_PREFIX.length) : secret, 'base64');
    return key.length === 0 ? undefined : hmacSha256(key, `${id}.${sentAt}.`, req.rawBody);
  });
  const timestamp = requireWithinTolerance(Number(sentAt) * 1000, opts);
  const type = jsonBody(req.rawBody)?.['type'];
  return { deliveryId: id, timestamp, eventName: nonEmptyString(type) ?? DEFAULT_EVENT_NAME };
}

/**
 * Stripe: `stripe-signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `${t}.${body}`, keyed with the whole
 * `whsec_…` string. v0 (test-mode legacy) and unknown keys are ignored, as Stripe's own SDK does.
 */
export function verifyStripeSignature(req: WebhookRequest, opts: VerifyOptions): VerifiedDelivery {
  const signatureHeader = header(req, WEBHOOK_SCHEMES.stripe.signatureHeader);
  if (signatureHeader === undefined) throw missingSignature('stripe-signature is required');
  const fields = signatureHeader.split(',').map((field) => splitOnce(field.trim(), '='));
  const times = fields.filter(([key]) => key === 't').map(([, value]) => value);
  const sentAt = times.length === 1 ? times[0] : undefined;
  if (sentAt === undefined || !UNIX_SECONDS.test(sentAt)) {
    throw missingSignature('stripe-signature must carry exactly one t=<unix seconds>');
  }
  const received = fields.flatMap(([key, value]) => (key === 'v1' ? decodeDigest(value, 'hex') : []));
  if (received.length === 0) throw missingSignature('stripe-signature has no v1 signature');

  requireMatchingSignature(received, opts.secrets, (secret) => hmacSha256(secret, `${sentAt}.`, req.rawBody));
  const timestamp = requireWithinTolerance(Number(sentAt) * 1000, opts);
  const event = jsonBody(req.rawBody);
  if (event === undefined) throw new DomainError('malformed_json', 'the Stripe event body is not a JSON object', 400);
  const deliveryId = nonEmptyString(event['id']);
  if (deliveryId === undefined) throw new DomainError('invalid_request', 'the Stripe event has no id', 400);
  return { deliveryId, timestamp, eventName: nonEmptyString(event['type']) ?? DEFAULT_EVENT_NAME };
}

/**
 * Shopify: `x-shopify-hmac-sha256` is the base64 HMAC-SHA256 of the raw body. The body alone is signed,
 * so `x-shopify-triggered-at` is only a freshness check; replay protection rests on the body's digest and the
 * delivery id (R-ING-7, issue 10).
 */
export function verifyShopifyHmac(req: WebhookRequest, opts: VerifyOptions): VerifiedDelivery {
  const signature = header(req, WEBHOOK_SCHEMES.shopify.signatureHeader);
  if (signature === undefined) throw missingSignature('x-shopify-hmac-sha256 is required');
  const received = decodeDigest(signature, 'base64');
  if (received.length === 0) throw missingSignature('x-shopify-hmac-sha256 must be a base64 SHA-256 digest');
  requireMatchingSignature(received, opts.secrets, (secret) => hmacSha256(secret, req.rawBody));

  const deliveryId = header(req, 'x-shopify-webhook-id') ?? header(req, 'x-shopify-event-id');
  if (deliveryId === undefined) throw new DomainError('invalid_request', 'x-shopify-webhook-id is required', 400);
  // Issue 10: required, and within the tolerance (unsigned, so a freshness check only; replays are caught by the
  // body's digest, see ingestion.ts).
  const triggeredAt = header(req, 'x-shopify-triggered-at');
  if (triggeredAt === undefined) throw new DomainError('invalid_request', 'x-shopify-triggered-at is required', 400);
  if (!ISO_TIME.test(triggeredAt)) throw new DomainError('invalid_request', 'x-shopify-triggered-at must be an ISO time', 400);
  const timestamp = requireWithinTolerance(Date.parse(triggeredAt), opts);
  return { deliveryId, timestamp, eventName: header(req, 'x-shopify-topic') ?? DEFAULT_EVENT_NAME };
}

/**
 * GitHub: `x-hub-signature-256: sha256=<hex>` over the raw body. The scheme has no timestamp, so the
 * delivery is dated `now` and replays are refused by de-duplicating on `x-github-delivery` (R-ING-7).
 */
export function verifyGitHubSignature(req: WebhookRequest, opts: VerifyOptions): VerifiedDelivery {
  const signature = header(req, WEBHOOK_SCHEMES.github.signatureHeader);
  if (signature === undefined) throw missingSignature('x-hub-signature-256 is required');
  const [algorithm, value] = splitOnce(signature, '=');
  const received = algorithm === 'sha256' ? decodeDigest(value, 'hex') : [];
  if (received.length === 0) throw missingSignature('x-hub-signature-256 must be sha256=<hex>');
  requireMatchingSignature(received, opts.secrets, (secret) => hmacSha256(secret, req.rawBody));

  const deliveryId = header(req, 'x-github-delivery');
  if (deliveryId === undefined) throw new DomainError('invalid_request', 'x-github-delivery is required', 400);
  return { deliveryId, timestamp: opts.now.toISOString(), eventName: header(req, 'x-github-event') ?? DEFAULT_EVENT_NAME };
}

const verifiers: Readonly<Record<WebhookScheme, WebhookVerifier>> = {
  standard: verifyStandardWebhook,
  stripe: verifyStripeSignature,
  shopify: verifyShopifyHmac,
  github: verifyGitHubSignature,
};

export function verifyWebhook(scheme: WebhookScheme, req: WebhookRequest, opts: VerifyOptions): VerifiedDelivery {
  // The scheme comes from a stored source record: guard against a value the type does not know.
  if (!Object.hasOwn(verifiers, scheme)) throw new DomainError('invalid_request', 'unsupported webhook scheme', 400);
  return verifiers[scheme](req, opts);
}

/**
 * A new high-entropy secret in the format the scheme's senders use. Stripe and Shopify issue their
 * own secrets (the tenant pastes them in); the generated ones have the same shape, for tests and local mode.
 */
export function generateWebhookSecret(scheme: WebhookScheme): string {
  const key = randomBytes(32);
  switch (scheme) {
    case 'standard':
      return STANDARD_SECRET_PREFIX + key.toString('base64');
    case 'stripe':
      return STANDARD_SECRET_PREFIX + key.toString('hex');
    case 'shopify':
    case 'github':
      return key.toString('hex');
  }
}

/** A header's value, or undefined when absent, empty or not a string (adapters are not trusted to type it). */
function header(req: WebhookRequest, name: string): string | undefined {
  const value: unknown = req.headers[name];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** The 32 digest bytes, or none when the text is not a well-formed SHA-256 digest (so lengths always match). */
function decodeDigest(text: string, encoding: 'hex' | 'base64'): Buffer[] {
  const wellFormed = encoding === 'hex' ? HEX_DIGEST : BASE64_DIGEST;
  return wellFormed.test(text) ? [Buffer.from(text, encoding)] : [];
}

function hmacSha256(key: string | Buffer, ...content: readonly (string | Buffer)[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of content) hmac.update(part);
  return hmac.digest();
}

/**
 * Accepts when any received signature equals the signature of any active secret (rotation).
 * Every pair is compared, with no early exit, so timing reveals neither which secret nor which
 * signature matched. A secret that yields no key (empty) is skipped: an empty HMAC key is public.
 */
function requireMatchingSignature(
  received: readonly Buffer[],
  secrets: readonly string[],
  sign: (secret: string) => Buffer | undefined,
): void {
  let matched = false;
  for (const secret of secrets) {
    const expected = secret === '' ? undefined : sign(secret);
    if (expected === undefined) continue;
    for (const signature of received) matched = timingSafeEqual(expected, signature) || matched;
  }
  if (!matched) throw new DomainError('invalid_signature', 'the webhook signature does not match', 401);
}

/** The sender's time as ISO, once it is within ±toleranceSeconds of now (written so NaN is rejected too). */
function requireWithinTolerance(sentAtMs: number, opts: VerifyOptions): string {
  const skewMs = Math.abs(opts.now.getTime() - sentAtMs);
  if (!(skewMs <= opts.toleranceSeconds * 1000)) {
    throw new DomainError('timestamp_out_of_tolerance', `the webhook timestamp is more than ${opts.toleranceSeconds} s from now`, 401);
  }
  return new Date(sentAtMs).toISOString();
}

function jsonBody(rawBody: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(rawBody.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function missingSignature(message: string): DomainError {
  return new DomainError('missing_signature', message, 401);
}
