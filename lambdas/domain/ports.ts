/**
 * Ports: what the domain needs from the outside world. Adapters in `lambdas/adapters/` implement
 * them over DynamoDB, S3, Kinesis and KMS (or the AWS Encryption SDK's raw AES keyring locally);
 * in-memory versions serve unit tests and the benchmark.
 */
import type { PlatformEvent, StoredEvent, StreamEnvelope, Tenant, WebhookScheme } from './model';

export interface ApiKeyRecord {
  readonly tenantId: string;
  readonly keyId: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface WebhookSource {
  readonly tenantId: string;
  readonly sourceId: string;
  readonly scheme: WebhookScheme;
  /** Active secrets, newest first, each envelope-encrypted under the tenant key (base64) (R-SEC-3). */
  readonly secretCiphertexts: readonly string[];
  readonly createdAt: string;
  readonly rotatedAt?: string;
}

export interface DeliveryRecord {
  readonly tenantId: string;
  readonly sourceId: string;
  readonly deliveryId: string;
  /** SHA-256 of the signature header as received. */
  readonly fingerprint: string;
  readonly expiresAtEpochSeconds: number;
}

/** Control plane: tenants, API keys, webhook sources, delivery de-duplication. */
export interface TenantDirectory {
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  putTenant(tenant: Tenant, options?: { readonly mustNotExist?: boolean }): Promise<void>;
  setTenantStatus(tenantId: string, status: Tenant['status']): Promise<void>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  putApiKey(keyHash: string, record: ApiKeyRecord): Promise<void>;
  listApiKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  revokeApiKey(tenantId: string, keyId: string, at: string): Promise<boolean>;
  getWebhookSource(tenantId: string, sourceId: string): Promise<WebhookSource | undefined>;
  putWebhookSource(source: WebhookSource): Promise<void>;
  /**
   * Records a webhook delivery id with a fingerprint of its signature header (R-ING-7), by a conditional put.
   * 'new': first time seen. 'retry': the id was seen with another signature (the sender re-signed a retry).
   * 'replay': the id was seen with this very signature (a captured request sent again).
   */
  recordDelivery(delivery: DeliveryRecord): Promise<'new' | 'retry' | 'replay'>;
  /** Forgets a recorded delivery when it could not be handed on, so the sender's retry is accepted. */
  forgetDelivery(tenantId: string, sourceId: string, deliveryId: string): Promise<void>;
}

/** The stream between ingest and processor. */
export interface EventPublisher {
  /** Puts every envelope (partition key = tenant id); retries partial failures; throws if any is not accepted. */
  publish(envelopes: readonly StreamEnvelope[]): Promise<void>;
}

export interface SubjectIndexEntry {
  readonly tenantId: string;
  readonly subjectHash: string;
  readonly eventId: string;
  readonly expiresAt: number;
}

/** Additive contribution of a set of events to one rollup item (see domain/rollups). */
export interface RollupDelta {
  readonly tenantId: string;
  /** ISO minute, `2026-11-23T10:15Z`. */
  readonly minute: string;
  /** `api:GET /users/:id`, `event:signup`, `metric:cpu`, `webhook:<sourceId>`. */
  readonly series: string;
  /** Counters to add: `count`, `errors4xx`, `errors5xx`, `latencySum`, `valueSum`, `h<bucket>`… */
  readonly add: Readonly<Record<string, number>>;
  readonly expiresAt: number;
}

export interface Rollup {
  readonly minute: string;
  readonly series: string;
  readonly counters: Readonly<Record<string, number>>;
}

export interface EventQuery {
  readonly tenantId: string;
  readonly kind?: string;
  readonly name?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

/** Tenant data: events, subject index, rollups. */
export interface EventStore {
  /** Which of these event ids are already stored (the idempotency gate). */
  existingEventIds(tenantId: string, eventIds: readonly string[]): Promise<Set<string>>;
  putEvents(events: readonly StoredEvent[], subjects: readonly SubjectIndexEntry[]): Promise<void>;
  /** Compensation when a later step of the same batch fails, so a retry stores them again. */
  deleteEvents(events: readonly Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>[]): Promise<void>;
  applyRollups(deltas: readonly RollupDelta[]): Promise<void>;
  getEvent(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;
  queryEvents(query: EventQuery): Promise<Page<StoredEvent>>;
  queryRollups(tenantId: string, fromMinute: string, toMinute: string, series?: string): Promise<Rollup[]>;
}

/** Large payloads, under `tenants/<id>/` (R-SEC-4). */
export interface PayloadStore {
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  delete(keys: readonly string[]): Promise<void>;
}

/**
 * Envelope encryption with the tenant's own key material (R-SEC-2, R-SEC-3, R-TERM-4). Every ciphertext
 * carries `tenantId` (and the given purpose) in its encryption context; decrypt refuses a ciphertext whose
 * context does not match.
 */
export interface TenantCrypto {
  encrypt(tenant: Pick<Tenant, 'tenantId' | 'keyRef'>, plaintext: Uint8Array, purpose: string): Promise<Uint8Array>;
  decrypt(tenant: Pick<Tenant, 'tenantId' | 'keyRef'>, ciphertext: Uint8Array, purpose: string): Promise<Uint8Array>;
}

/** Creates (and later destroys) a tenant's own key material. */
export interface TenantKeyManager {
  createTenantKey(tenantId: string): Promise<string>;
  destroyTenantKey(keyRef: string): Promise<{ readonly unrecoverableAfter: string }>;
}

export interface AuditEntry {
  readonly tenantId: string;
  readonly at: string;
  /** `operator:<principal>`, `api-key:<keyId>`, `system:<function>`. */
  readonly actor: string;
  /** `tenant.create`, `api-key.issue`, `api-key.revoke`, `webhook-source.create`, … */
  readonly action: string;
  readonly target?: string;
  readonly subjectHash?: string;
  readonly outcome: 'success' | 'failure';
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** R-SEC-6: append-only, kept 12 months, queryable per data subject. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  listForSubject(tenantId: string, subjectHash: string): Promise<AuditEntry[]>;
  listForTenant(tenantId: string, month: string): Promise<AuditEntry[]>;
}

export interface Clock {
  now(): Date;
}

/** The real clock; tests and the benchmark pass their own. */
export const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/** Re-exported for adapters that serialise whole events. */
export type { PlatformEvent };

/** A record the processor can never store, kept with its reason so that nothing is silently lost (R-ING-7). */
export interface DeadLetter {
  /** The Kinesis sequence number. */
  readonly recordId: string;
  readonly reason: string;
  /** Where it came from: stream ARN, shard, partition key. */
  readonly origin: Readonly<Record<string, string>>;
  /** The record's bytes, when they fit in a queue message (else the origin points at it in the stream). */
  readonly data?: Uint8Array;
}

export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}
