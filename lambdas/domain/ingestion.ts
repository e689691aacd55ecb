/**
 * Ingestion (R-ING-1..4, R-ING-2): turns authenticated requests into stream envelopes. Answers within
 * milliseconds: the expensive work (subjects, encryption, storage, rollups) is the processor's.
 */
import { createHash } from 'node:crypto';
import type { RuntimeSettings } from './settings';
import { KINESIS_LIMITS, utf8Bytes } from './aws-limits';
import { CLIENT_ID_PATTERN, clientEventId, KEY_BYTE_BOUNDS, TENANT_ID_PATTERN } from './keys';
import { assertTenantActive } from './tenants';
import type { ParsedEvent } from './events';
import { newId } from './ids';
import { DomainError, streamRecordOf, type StreamEnvelope, type Tenant, type TenantContext, type WebhookEvent, type WebhookScheme } from './model';
import type { Clock, EventPublisher, TenantCrypto, TenantDirectory } from './ports';
import type { EventQuota } from './plan-limits';
import { SHOPIFY_TOPICS } from './privacy';
import { verifyWebhook, WEBHOOK_SCHEMES, type WebhookRequest } from './webhook-signatures';

/** R-DSR-6: where Shopify's mandatory GDPR webhooks go instead of the stream (domain/privacy-requests). */
export interface ShopifyPrivacyIntake {
  openFromShopify(tenant: Tenant, sourceId: string, deliveryId: string, topic: string, payload: unknown): Promise<{ readonly requestId: string }>;
}

export interface IngestionDeps {
  readonly directory: TenantDirectory;
  readonly publisher: EventPublisher;
  readonly crypto: TenantCrypto;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  /** Absent where no privacy workflows are deployed: GDPR topics are then refused rather than stored as events. */
  readonly privacy?: ShopifyPrivacyIntake;
  /** R-BILL-1: the plan's monthly event quota; absent (unit tests, the benchmark): no quota. */
  readonly quota?: EventQuota;
}

export type WebhookOutcome =
  | { readonly status: 'accepted'; readonly eventId: string; readonly deliveryId: string }
  | { readonly status: 'duplicate'; readonly eventId: string; readonly deliveryId: string }
  | { readonly status: 'privacy-request'; readonly requestId: string; readonly deliveryId: string };

/** `<shop>.myshopify.com` and custom domains: a bounded host name, nothing else. */
const SHOP_DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

export const WEBHOOK_SECRET_PURPOSE = 'webhook-secret';

const SECRET_CACHE_MS = 60_000;
const SECRET_CACHE_ENTRIES = 10_000;

export class Ingestion {
  private readonly secrets = new Map<string, { readonly secret: string; readonly until: number }>();

  constructor(private readonly deps: IngestionDeps) {}

  /**
   * POST /v1/events: one envelope per event. A client-chosen `id` makes retries of the request idempotent (R-ING-7);
   * so does an `Idempotency-Key` header: the ids of the events without their own `id` then derive from the
   * tenant, the key and the event's position, so a retried request carries the same ids and is stored once.
   */
  async acceptEvents(
    context: TenantContext,
    events: readonly ParsedEvent[],
    receivedAt: Date,
    idempotencyKey?: string,
    /** R-BILL-1: the authenticated tenant, whose plan's quota admits the events (with `quota`). */
    tenant?: Pick<Tenant, 'tenantId' | 'plan'>,
  ): Promise<{ eventIds: string[] }> {
    const envelopes: StreamEnvelope[] = events.map(({ clientId, event }, i) => ({
      v: 1,
      tenantId: context.tenantId,
      eventId: clientId ? clientEventId(clientId) : idempotencyKey !== undefined ? idempotentEventId(context.tenantId, idempotencyKey, i) : newId('ev', receivedAt),
      receivedAt: receivedAt.toISOString(),
      event,
    }));
    envelopes.forEach((envelope, i) => assertFitsStreamRecord(envelope, events.length > 1 ? `events[${i}]` : 'The event'));
    await this.publishWithinQuota(tenant, envelopes);
    return { eventIds: envelopes.map((e) => e.eventId) };
  }

  /**
   * POST /v1/hooks/{tenantId}/{sourceId}: verify the sender's signature over the raw body with any active secret,
   * reject stale timestamps and exact replays, acknowledge a re-signed retry without storing it again.
   */
  async acceptWebhook(tenantId: string, sourceId: string, request: WebhookRequest): Promise<WebhookOutcome> {
    const { directory, settings, clock } = this.deps;
    // Issue 10: an unknown tenant or source answers exactly as a bad signature does (status, code, body), so the
    // route can be used to enumerate neither tenants nor sources.
    const unknown = new DomainError('invalid_signature', 'the webhook signature does not match', 401);
    if (!TENANT_ID_PATTERN.test(tenantId) || !CLIENT_ID_PATTERN.test(sourceId)) throw unknown;
    if (request.rawBody.length > settings.limits.maxBodyBytes) {
      throw new DomainError('body_too_large', `Body exceeds ${settings.limits.maxBodyBytes} bytes`, 413);
    }
    const [tenant, source] = await Promise.all([directory.getTenant(tenantId), directory.getWebhookSource(tenantId, sourceId)]);
    if (!tenant || !source) throw unknown;
    assertTenantActive(tenant);

    const secrets = await this.webhookSecrets(tenant, source.secretCiphertexts);
    const now = clock.now();
    const verified = verifyWebhook(source.scheme, request, { secrets, toleranceSeconds: settings.webhookToleranceSeconds, now });
    assertFitsKeys(verified);
    // Issue 10: Shopify and GitHub sign the body only; their delivery-id header is not signed. What identifies such
    // a delivery is the digest of its body: the event id (and a Shopify request id) derive from it, so a captured
    // delivery replayed under fresh delivery ids is the same event, stored once, and is refused below.
    const bodyOnly = !WEBHOOK_SCHEMES[source.scheme].signsTimestamp;
    const bodyMarker = `body:${createHash('sha256').update(request.rawBody).digest('base64url')}`;
    const eventId = webhookEventId(sourceId, bodyOnly ? bodyMarker : verified.deliveryId);
    const payload = parsePayload(request.rawBody);

    if (source.scheme === 'shopify') {
      // Issue 10, R-DSR-6: the compliance action comes from the signed body's shape, never from `x-shopify-topic`.
      const topic = shopifyComplianceTopic(payload);
      if (topic === undefined && Object.hasOwn(SHOPIFY_TOPICS, verified.eventName)) {
        throw new DomainError('invalid_request', 'x-shopify-topic names a compliance topic the signed body does not have', 400);
      }
      if (topic !== undefined) {
        if (!this.deps.privacy) throw new DomainError('invalid_request', 'Privacy requests are not available on this deployment', 400);
        // The request id derives from the body digest: a redelivery, or a replay under a fresh id, is the same request.
        const { requestId } = await this.deps.privacy.openFromShopify(tenant, sourceId, bodyMarker, topic, payload);
        return { status: 'privacy-request', requestId, deliveryId: verified.deliveryId };
      }
    }

    const event: WebhookEvent = {
      type: 'webhook',
      name: verified.eventName,
      timestamp: verified.timestamp,
      sourceId,
      scheme: source.scheme,
      deliveryId: verified.deliveryId,
      ...shopDomainOf(source.scheme, payload, request.headers),
      payload,
    };
    const envelope: StreamEnvelope = { v: 1, tenantId, eventId, receivedAt: now.toISOString(), event };
    assertFitsStreamRecord(envelope, 'The delivery');

    // Issue 10: published before any marker is written. The event id is deterministic, so publishing a retry or a
    // replay again stores nothing twice (the processor's event-id gate), while a crash between the publish and the
    // marker leaves the sender's retry accepted and stored, never answered `duplicate` for an event that is lost.
    await this.publishWithinQuota(tenant, [envelope]);

    // R-ING-2: remembered for twice the tolerance, so a replay cannot outlive its marker and still pass the clock.
    const expiresAtEpochSeconds = Math.ceil(now.getTime() / 1000) + 2 * settings.webhookToleranceSeconds + DELIVERY_MEMORY_EXTRA_SECONDS;
    const seen = await directory.recordDelivery({
      tenantId,
      sourceId,
      deliveryId: verified.deliveryId,
      fingerprint: signatureFingerprint(source.scheme, request.headers),
      expiresAtEpochSeconds,
    });
    if (bodyOnly) {
      // The body's marker remembers which delivery id first brought it: the same id again is the sender's retry
      // (duplicate); another id with the same signed body is a captured delivery replayed (409).
      const body = await directory.recordDelivery({
        tenantId,
        sourceId,
        deliveryId: bodyMarker,
        fingerprint: createHash('sha256').update(verified.deliveryId).digest('base64url'),
        expiresAtEpochSeconds,
      });
      if (body === 'retry') throw new DomainError('replayed_delivery', 'This signed body was already received under another delivery id; it is not accepted twice', 409);
      return body === 'new' && seen === 'new' ? { status: 'accepted', eventId, deliveryId: verified.deliveryId } : { status: 'duplicate', eventId, deliveryId: verified.deliveryId };
    }
    if (seen === 'replay') throw new DomainError('replayed_delivery', 'This signed delivery was already received; it is not accepted twice', 409);
    if (seen === 'retry') return { status: 'duplicate', eventId, deliveryId: verified.deliveryId };
    return { status: 'accepted', eventId, deliveryId: verified.deliveryId };
  }

  /** R-BILL-1: admitted into the plan's monthly quota (429 quota_exceeded beyond), given back if the stream refuses them. */
  private async publishWithinQuota(tenant: Pick<Tenant, 'tenantId' | 'plan'> | undefined, envelopes: readonly StreamEnvelope[]): Promise<void> {
    const { quota, publisher } = this.deps;
    if (!quota || !tenant) return publisher.publish(envelopes);
    await quota.admit(tenant, envelopes.length);
    try {
      await publisher.publish(envelopes);
    } catch (error) {
      quota.release(tenant.tenantId, envelopes.length);
      throw error;
    }
  }

  /**
   * Decrypted secrets are kept for a minute per container: decrypting on every delivery made webhook ingest ~10x
   * the cost of an API-key request (benchmark). A rotation writes new ciphertexts, which miss this cache at once.
   */
  private async webhookSecrets(tenant: Tenant, ciphertexts: readonly string[]): Promise<string[]> {
    const now = this.deps.clock.now().getTime();
    return Promise.all(
      ciphertexts.map(async (c) => {
        const cached = this.secrets.get(c);
        if (cached && cached.until > now) return cached.secret;
        const secret = Buffer.from(await this.deps.crypto.decrypt(tenant, Buffer.from(c, 'base64'), WEBHOOK_SECRET_PURPOSE)).toString('utf8');
        if (this.secrets.size >= SECRET_CACHE_ENTRIES) this.secrets.clear();
        this.secrets.set(c, { secret, until: now + SECRET_CACHE_MS });
        return secret;
      }),
    );
  }
}

/**
 * R-ING-7: Kinesis takes a record of at most 1 MiB, data and partition key together. An event within the body
 * limit can still pass it once wrapped in its envelope (ids, times, JSON escapes): refused here with a 413, as the
 * body would be, rather than failing the PutRecords call with a 500.
 */
function assertFitsStreamRecord(envelope: StreamEnvelope, what: string): void {
  const { data, partitionKey } = streamRecordOf(envelope);
  const size = data.byteLength + utf8Bytes(partitionKey);
  if (size > KINESIS_LIMITS.recordBytes) {
    throw new DomainError('body_too_large', `${what} takes ${size} bytes on the stream; a stream record holds at most ${KINESIS_LIMITS.recordBytes}`, 413);
  }
}

/**
 * R-ING-7: the delivery id is a key of the delivery marker, the event name part of a GSI2 key; a sender's value
 * beyond DynamoDB's key limits is refused (400) before anything is remembered or published.
 */
function assertFitsKeys(verified: { readonly deliveryId: string; readonly eventName: string }): void {
  if (utf8Bytes(verified.deliveryId) > KEY_BYTE_BOUNDS.deliveryId) {
    throw new DomainError('invalid_request', `The delivery id must be at most ${KEY_BYTE_BOUNDS.deliveryId} bytes of UTF-8`, 400);
  }
  if (utf8Bytes(verified.eventName) > KEY_BYTE_BOUNDS.webhookName) {
    throw new DomainError('invalid_request', `The event type must be at most ${KEY_BYTE_BOUNDS.webhookName} bytes of UTF-8`, 400);
  }
}

/**
 * GitHub's scheme has no timestamp: its replay protection is the delivery marker alone, so markers outlive the
 * tolerance window by a day; the processor's event-id gate catches anything older.
 */
const DELIVERY_MEMORY_EXTRA_SECONDS = 24 * 3600;

/** Deterministic, so a delivery that reaches the stream twice is still stored once (R-ING-7). */
export function webhookEventId(sourceId: string, deliveryId: string): string {
  return `wh_${createHash('sha256').update(`${sourceId}\u0000${deliveryId}`).digest('hex').slice(0, 40)}`;
}

/** A fingerprint of the signature header as received: tells a replay from a re-signed retry. */
function signatureFingerprint(scheme: WebhookScheme, headers: WebhookRequest['headers']): string {
  return createHash('sha256').update(headers[WEBHOOK_SCHEMES[scheme].signatureHeader] ?? '').digest('base64url');
}

/**
 * R-DSR-6: the shop a Shopify delivery is about, indexed as a subject so `shop/redact` can find it. Issue 10: the
 * signed body's `shop_domain` when it has one; else the header (ordinary topics carry the shop only there), bounded
 * to a host name, and harmless to forge: a replayed body is refused, and its event id is the original's.
 */
function shopDomainOf(scheme: WebhookScheme, payload: unknown, headers: WebhookRequest['headers']): { shopDomain?: string } {
  if (scheme !== 'shopify') return {};
  const signed = isObject(payload) && typeof payload['shop_domain'] === 'string' ? payload['shop_domain'] : undefined;
  const domain = (signed ?? headers['x-shopify-shop-domain'])?.trim().toLowerCase();
  return domain && domain.length <= 253 && SHOP_DOMAIN.test(domain) ? { shopDomain: domain } : {};
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Issue 10, R-DSR-6: which mandatory compliance webhook a signed Shopify body is, by its documented shape (never
 * by the unsigned `x-shopify-topic`):
 * - customers/data_request: `shop_id`, `shop_domain`, `customer`, `data_request` (and `orders_requested`);
 * - customers/redact: `shop_id`, `shop_domain`, `customer`, `orders_to_redact`;
 * - shop/redact: `shop_id` and `shop_domain` only.
 */
export function shopifyComplianceTopic(payload: unknown): keyof typeof SHOPIFY_TOPICS | undefined {
  if (!isObject(payload) || !('shop_id' in payload) || typeof payload['shop_domain'] !== 'string') return undefined;
  const keys = Object.keys(payload);
  if (isObject(payload['customer']) && isObject(payload['data_request'])) return 'customers/data_request';
  if (isObject(payload['customer']) && Array.isArray(payload['orders_to_redact'])) return 'customers/redact';
  if (keys.length === 2) return 'shop/redact';
  return undefined;
}

function parsePayload(rawBody: Buffer): unknown {
  const text = rawBody.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** R-ING-7: `Idempotency-Key` as Stripe's API takes it: 1-255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header of POST /v1/events, checked; absent → undefined, malformed → 400 invalid_request. */
export function idempotencyKeyOf(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const key = headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) throw new DomainError('invalid_request', 'Idempotency-Key: 1-255 printable ASCII characters, no spaces', 400);
  return key;
}

/** R-ING-7: `ik_` + 128 bits of SHA-256 over tenant, key and position: the same request → the same ids, per tenant. */
export function idempotentEventId(tenantId: string, idempotencyKey: string, index: number): string {
  const digest = createHash('sha256').update(`${tenantId}\0${idempotencyKey}\0${index}`, 'utf8').digest('hex');
  return `ik_${digest.slice(0, 32)}`;
}
