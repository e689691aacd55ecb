/**
 * The domain's vocabulary. Plain TypeScript: no AWS SDK here (see DESIGN.md "Shape of the code").
 */

/**
 * R-SEC-5: what an API key may do. `ingest` sends events (the key often ships inside client apps), `read` reads
 * events and rollups back decrypted (dashboards), `privacy` opens and reads data-subject requests, `ai` asks the AI
 * assistant about the tenant's data (R-AI-1; issue 13). New scopes are added here and to the routes that need them.
 */
export const API_KEY_SCOPES = ['ingest', 'read', 'privacy', 'ai'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export type PlanName = 'starter' | 'business' | 'enterprise';
export type TenantStatus = 'active' | 'frozen' | 'terminated';

/** Who is acting, resolved only from a verified credential (API key, signature, IAM), never from a body. */
export interface TenantContext {
  readonly tenantId: string;
  /** How the caller proved it: the API key id, the webhook source id, or the operator's IAM principal. */
  readonly credential: { readonly type: 'api-key' | 'webhook' | 'operator'; readonly id: string };
}

export interface Tenant {
  readonly tenantId: string;
  readonly name: string;
  readonly plan: PlanName;
  readonly status: TenantStatus;
  /** R-RET-1: the controller may set the tenant's own retention within the plan's bounds. */
  readonly retentionDays?: number;
  /** JSON paths that locate data-subject identifiers; the platform defaults apply when absent. */
  readonly subjectPaths?: readonly SubjectPath[];
  /** R-AI-4: the tenant has enabled special-category (Art. 9) data for the AI assistant; absent: never sent. */
  readonly aiSpecialCategory?: boolean;
  /** Where the tenant's key material lives: a KMS key ARN, or `local:<tenantId>` in local mode. */
  readonly keyRef: string;
  /** The tenant's subject-hashing key, envelope-encrypted under the tenant key (base64). */
  readonly subjectKeyCiphertext: string;
  readonly createdAt: string;
}

export interface SubjectPath {
  /** The identifier kind, e.g. `email`, `user_id`. */
  readonly kind: string;
  /** A JSON path subset: `$.a.b`, `$.a[*].b`, `$..email`. */
  readonly path: string;
  /**
   * Only where the object holding the value has this member equal to this string (Stripe's customer object:
   * `$..id` where `object` is `customer`). Supported on `$..name` paths; the platform defaults use it.
   */
  readonly where?: { readonly member: string; readonly equals: string };
}

export type EventKind = 'event' | 'api_call' | 'metric' | 'webhook';

/** A generic analytics event (R-ING-3). */
export interface GenericEvent {
  readonly type: 'event';
  readonly name: string;
  readonly timestamp: string;
  readonly properties: Record<string, unknown>;
}
/** An API-monitoring record (R-ING-1). */
export interface ApiCallEvent {
  readonly type: 'api_call';
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly requestBytes?: number;
  readonly responseBytes?: number;
  readonly timestamp: string;
  readonly payload?: unknown;
  readonly properties: Record<string, unknown>;
}
/** A metric point (R-ING-4). */
export interface MetricEvent {
  readonly type: 'metric';
  readonly name: string;
  readonly value: number;
  readonly unit?: string;
  readonly dimensions: Record<string, string>;
  readonly timestamp: string;
}
/** A verified webhook delivery (R-ING-2); the body is kept as the sender sent it. */
export interface WebhookEvent {
  readonly type: 'webhook';
  /** The sender's event type when the scheme carries one (Stripe `type`, `X-GitHub-Event`, …). */
  readonly name: string;
  readonly timestamp: string;
  readonly sourceId: string;
  readonly scheme: WebhookScheme;
  readonly deliveryId: string;
  /** Shopify's `X-Shopify-Shop-Domain`: the shop the delivery is about, indexed as subject `shop_domain` (R-DSR-6). */
  readonly shopDomain?: string;
  readonly payload: unknown;
}

export type IngestEvent = GenericEvent | ApiCallEvent | MetricEvent;
export type PlatformEvent = IngestEvent | WebhookEvent;

export type WebhookScheme = 'standard' | 'stripe' | 'shopify' | 'github';

/** What the ingest function puts on the stream (partition key = tenant id), one per event. */
export interface StreamEnvelope {
  readonly v: 1;
  readonly tenantId: string;
  readonly eventId: string;
  readonly receivedAt: string;
  readonly event: PlatformEvent;
}

/** The stream record of an envelope: its JSON, under the tenant id as partition key (the publisher sends this). */
export function streamRecordOf(envelope: StreamEnvelope): { readonly data: Buffer; readonly partitionKey: string } {
  return { data: Buffer.from(JSON.stringify(envelope), 'utf8'), partitionKey: envelope.tenantId };
}

/** An event as the processor stores it: metadata in clear, the body envelope-encrypted. */
export interface StoredEvent {
  readonly tenantId: string;
  readonly eventId: string;
  readonly kind: EventKind;
  readonly name: string;
  readonly timestamp: string;
  readonly receivedAt: string;
  /** Index-safe summary (route, status, latency, value…): never the payload, never PII. */
  readonly attributes: Record<string, string | number>;
  /** Envelope ciphertext of the whole event (base64), or a pointer to it in S3. */
  readonly body: { readonly inline: string } | { readonly objectKey: string };
  /** Keyed hashes of the data subjects the event mentions (R-DSR-1). */
  readonly subjects: readonly string[];
  /** Epoch seconds after which DynamoDB's TTL deletes the item (R-RET-1, R-RET-6). */
  readonly expiresAt: number;
  /**
   * R-DSR-3: the event mentions a restricted subject. It is stored (restriction allows storage) but kept out of
   * every read, rollup and AI tool until the restriction is lifted.
   */
  readonly quarantined?: boolean;
  /** Quarantined on arrival, so its rollup contribution is still to be added when it is released. */
  readonly rollupPending?: boolean;
}

/** Stable error codes: every error answer is `{ error: { code, message } }` (issue 2). */
export type ErrorCode =
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'body_too_large'
  | 'batch_too_large'
  | 'invalid_event'
  | 'unknown_event_type'
  | 'missing_signature'
  | 'invalid_signature'
  | 'timestamp_out_of_tolerance'
  | 'replayed_delivery'
  | 'unknown_source'
  | 'missing_api_key'
  | 'invalid_api_key'
  | 'insufficient_scope'
  | 'tenant_frozen'
  | 'not_found'
  | 'conflict'
  | 'duplicate_delivery'
  | 'invalid_request'
  | 'throttled'
  | 'quota_exceeded'
  | 'plan_limit_reached'
  | 'ai_not_configured'
  | 'ai_provider_error'
  | 'ai_budget_exceeded'
  | 'ai_objected'
  | 'internal_error';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly details?: readonly { readonly path: string; readonly message: string }[],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
