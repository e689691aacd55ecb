/**
 * Ports: what the domain needs from the outside world. Adapters in `lambdas/adapters/` implement
 * them over DynamoDB, S3, Kinesis and KMS (or the AWS Encryption SDK's raw AES keyring locally);
 * in-memory versions serve unit tests and the benchmark.
 */
import type { ConsentEntry, ConsentFlags } from './consent';
import type { ApiKeyScope, PlatformEvent, StoredEvent, StreamEnvelope, Tenant, WebhookScheme } from './model';
import type { PrivacyRequestRecord, PrivacyStep, TerminationRecord, WorkflowName } from './privacy';

export interface ApiKeyRecord {
  readonly tenantId: string;
  readonly keyId: string;
  readonly status: 'active' | 'revoked';
  /**
   * R-SEC-5: what the key may do. Keys issued before scopes existed have none stored and read as `ingest` only
   * (scopesOf): the safe reading, since such a key may be shipped inside a client app.
   */
  readonly scopes?: readonly ApiKeyScope[];
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
  /** R-BILL-1: how many webhook sources the tenant has (the plan's maxWebhookSources). */
  countWebhookSources(tenantId: string): Promise<number>;
  /**
   * Records a webhook delivery id with a fingerprint of its signature header (R-ING-7), by a conditional put.
   * 'new': first time seen. 'retry': the id was seen with another signature (the sender re-signed a retry).
   * 'replay': the id was seen with this very signature (a captured request sent again).
   */
  recordDelivery(delivery: DeliveryRecord): Promise<'new' | 'retry' | 'replay'>;
  /** Forgets a recorded delivery when it could not be handed on, so the sender's retry is accepted. */
  forgetDelivery(tenantId: string, sourceId: string, deliveryId: string): Promise<void>;
  /**
   * R-TERM-3: deletes the tenant's API keys (hash lookups included), webhook sources with their secrets and
   * delivery markers. The tenant record stays, as the tombstone that answers "terminated". Returns how many items.
   */
  purgeTenant(tenantId: string): Promise<number>;
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

/**
 * R-ING-7: a write the store refuses for good, e.g. DynamoDB's ValidationException (a key or an item too large, a
 * number it cannot hold). Retrying the same records cannot succeed: the processor sends them to the dead-letter
 * queue with this message, rather than retrying their batch until only a pointer to it reaches the queue.
 */
export class PermanentStoreError extends Error {
  override readonly name = 'PermanentStoreError';
}

/**
 * Counters one rollup update may add. A delta of at most this many is applied atomically, in one update, so the
 * processor (which splits a batch's contributions to fit) can take back exactly the events of a failed one; a
 * larger delta (a release of many quarantined events) is applied in several. 200 keeps DynamoDB's UpdateExpression
 * at about 2.5 KB, under its 4 KB limit (400 buckets in one update made 5,123 bytes; 200 counters make 2,471).
 */
export const ROLLUP_COUNTERS_PER_UPDATE = 200;

/** Tenant data: events, subject index, rollups. */
export interface EventStore {
  /** Which of these event ids are already stored (the idempotency gate). */
  existingEventIds(tenantId: string, eventIds: readonly string[]): Promise<Set<string>>;
  /** Throws PermanentStoreError when the store refuses the write for good. */
  putEvents(events: readonly StoredEvent[], subjects: readonly SubjectIndexEntry[]): Promise<void>;
  /** R-ING-7: whether the event, with its body as given, fits one item of the store (DynamoDB: 400 KB, names included). */
  fitsOneItem(event: StoredEvent): boolean;
  /** Compensation when a later step of the same batch fails, so a retry stores them again. */
  deleteEvents(events: readonly Pick<StoredEvent, 'tenantId' | 'eventId' | 'subjects'>[]): Promise<void>;
  /** Deletes one subject's index entries for these events, leaving the events (a stale entry, R-DSR-2, R-DSR-3). */
  deleteSubjectEntries(tenantId: string, subjectHash: string, eventIds: readonly string[]): Promise<void>;
  /** Adds each delta (one update each when it holds at most ROLLUP_COUNTERS_PER_UPDATE counters); PermanentStoreError as putEvents. */
  applyRollups(deltas: readonly RollupDelta[]): Promise<void>;
  getEvent(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;
  queryEvents(query: EventQuery): Promise<Page<StoredEvent>>;
  queryRollups(tenantId: string, fromMinute: string, toMinute: string, series?: string): Promise<Rollup[]>;
  /**
   * R-DSR-1: the ids of every event the subject index holds for one subject (quarantined ones included), by a
   * strongly consistent query of that subject's partition only: never a scan, so the cost follows the subject.
   */
  subjectEventIds(tenantId: string, subjectHash: string): Promise<string[]>;
  /** Events by id, quarantined ones included (privacy workflows only; reads use getEvent). Missing ids are skipped. */
  getEvents(tenantId: string, eventIds: readonly string[]): Promise<StoredEvent[]>;
  /**
   * Every event of a tenant, quarantined ones included, a page at a time (termination export and purge). Pages
   * through the tenant's GSI1 partitions (one per kind, plus the quarantine partition); `cursor` is opaque.
   */
  tenantEvents(tenantId: string, limit: number, cursor?: string): Promise<Page<StoredEvent>>;
  /** Deletes every rollup item of a tenant; returns how many (termination purge). */
  deleteRollups(tenantId: string): Promise<number>;
}

/** Large payloads, under `tenants/<id>/` (R-SEC-4). */
export interface PayloadStore {
  /** R-RET-1: `expireAfterDays` tags the object with its expiry class (retention.ts payloadExpiryClass). */
  put(key: string, body: Uint8Array, options?: { readonly expireAfterDays?: number }): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Deletes these objects with every version of each (the bucket is versioned): nothing stays recoverable. */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every object and object version under a prefix; returns how many versions were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** How many objects or object versions remain under a prefix (verification after a purge). */
  countPrefix(prefix: string): Promise<number>;
}

/**
 * A bucket of documents the platform writes whole: data-subject exports and work lists (exports bucket, under
 * `tenants/<id>/`), deletion records and certificates (records bucket). SSE-KMS with the deployment's key.
 */
export interface DocumentStore {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under a prefix, in key order. */
  list(prefix: string): Promise<string[]>;
  /** Deletes every object (and version) under a prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** A GET URL for one object that expires after `expiresInSeconds` (R-DSR-1). */
  presign(key: string, expiresInSeconds: number): Promise<string>;
}

/**
 * Envelope encryption with the tenant's own key material (R-SEC-2, R-SEC-3, R-TERM-4). Every ciphertext
 * carries `tenantId` (and the given purpose) in its encryption context; decrypt refuses a ciphertext whose
 * context does not match.
 */
export interface TenantCrypto {
  /**
   * R-SEC-2, R-SEC-4: the ciphertext is bound to the tenant, the purpose and `recordId` (what it is: an event body's
   * event id; none for a tenant-level secret), and decrypt refuses it under any other.
   */
  encrypt(tenant: Pick<Tenant, 'tenantId' | 'keyRef'>, plaintext: Uint8Array, purpose: string, recordId?: string): Promise<Uint8Array>;
  decrypt(tenant: Pick<Tenant, 'tenantId' | 'keyRef'>, ciphertext: Uint8Array, purpose: string, recordId?: string): Promise<Uint8Array>;
}

/** Creates (and later destroys) a tenant's own key material. */
export interface TenantKeyManager {
  createTenantKey(tenantId: string): Promise<string>;
  /**
   * R-TERM-4: destroys the key material (KMS: deletes its alias and schedules deletion after the waiting period,
   * which makes it unusable at once; local: deletes the key file). `unrecoverableAfter`: when no copy can be decrypted any more.
   */
  destroyTenantKey(keyRef: string): Promise<{ readonly unrecoverableAfter: string }>;
  /** Whether the key can still encrypt or decrypt (verification after a shred). */
  isTenantKeyUsable(keyRef: string): Promise<boolean>;
}

/** R-TERM-5, R-DSR-2: signs deletion records and certificates (KMS asymmetric key in AWS, a local key file locally). */
export interface DocumentSigner {
  /** ECDSA P-256 over SHA-256 of `message`; the signature is DER, base64. */
  sign(message: Uint8Array): Promise<{ readonly keyId: string; readonly algorithm: 'ECDSA_SHA_256'; readonly signature: string }>;
  /** The verification key (SubjectPublicKeyInfo, PEM), for auditors. */
  publicKeyPem(): Promise<string>;
}

/** Usage that is billable, flushed to the ledger (R-TERM-1) and kept apart from tenant data (R-TERM-6). */
export interface UsageEntry {
  readonly tenantId: string;
  /** First and last rollup minute the entry covers (inclusive, ISO minutes). */
  readonly fromMinute: string;
  readonly throughMinute: string;
  /** Event counts by kind over those minutes. */
  readonly counts: Readonly<Record<string, number>>;
  readonly recordedAt: string;
  readonly reason: 'termination' | 'periodic';
}

/** R-TERM-6: the billing ledger survives termination; tenant-facing code has no access to it. */
export interface BillingLedger {
  lastEntry(tenantId: string): Promise<UsageEntry | undefined>;
  record(entry: UsageEntry): Promise<void>;
  list(tenantId: string): Promise<UsageEntry[]>;
}

/** Starts a privacy workflow (a Step Functions execution; locally, the synthesized definition run in-process). */
export interface WorkflowStarter {
  /** Idempotent by `executionName`: starting the same name twice starts one execution. */
  start(workflow: WorkflowName, executionName: string, input: object): Promise<{ readonly executionId: string }>;
  /** R-TERM-1..5: whether an execution still runs (DescribeExecution); `NOT_FOUND` for one the service does not know. */
  status(executionId: string): Promise<ExecutionStatus>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | 'NOT_FOUND';

/** What a termination update is bound to (PrivacyRequestStore.updateTermination). */
export interface TerminationBinding {
  readonly terminationId: string;
  readonly executionIds?: readonly string[];
  /** With `executionIds`: a record that names no execution yet qualifies too. */
  readonly unbound?: boolean;
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

/**
 * Data-subject requests, restrictions and terminations, in the control table (R-DSR-5, R-DSR-3, R-TERM-*).
 * Open requests are also listed by due date, so that overdue ones raise an alarm without a scan.
 */
export interface PrivacyRequestStore {
  /** Conditional create: 'exists' when a request with this id is already there (a duplicate delivery). */
  create(record: PrivacyRequestRecord): Promise<'created' | 'exists'>;
  get(tenantId: string, requestId: string): Promise<PrivacyRequestRecord | undefined>;
  /** Appends a step and applies the patch; a final status also takes the request off the open list. */
  update(tenantId: string, requestId: string, step: PrivacyStep, patch?: Partial<Pick<PrivacyRequestRecord, 'status' | 'result' | 'failure' | 'completedAt' | 'executionId'>>): Promise<void>;
  /** Open requests whose due date is before `now` (ISO). */
  overdue(now: string): Promise<{ readonly tenantId: string; readonly requestId: string; readonly dueAt: string }[]>;
  /** Deletes every request of a tenant (termination purge); returns how many items. */
  deleteForTenant(tenantId: string): Promise<number>;

  /** R-DSR-3: marks a subject restricted; the processor quarantines new events that mention it. */
  restrict(tenantId: string, subjectHash: string, requestId: string, at: string): Promise<void>;
  unrestrict(tenantId: string, subjectHash: string): Promise<void>;
  restrictedSubjects(tenantId: string): Promise<Set<string>>;
  /**
   * R-DSR-2: marks a subject erased as of `receivedAt` (the erasure request's receipt), until `expiresAtEpochSeconds`:
   * the processor drops records of the subject received before then that were still in the stream.
   */
  markErased(tenantId: string, subjectHash: string, receivedAt: string, expiresAtEpochSeconds: number): Promise<void>;
  /** Erased subjects of a tenant: subject hash → the erasure's receipt time. */
  erasedSubjects(tenantId: string): Promise<ReadonlyMap<string, string>>;

  /** R-DSR-4: stores the tenant's (no subject hash) or a subject's flags; an entry with nothing off is deleted. */
  setConsent(entry: ConsentEntry): Promise<void>;
  /** R-DSR-4: every flag of the tenant, consistent (the processor's next refresh sees a change written before it). */
  consentFlags(tenantId: string): Promise<ConsentFlags>;

  putTermination(record: TerminationRecord, options?: { readonly mustNotExist?: boolean }): Promise<void>;
  getTermination(tenantId: string): Promise<TerminationRecord | undefined>;
  /**
   * Appends the step (if any) and applies the patch. With a binding the write is conditional (R-TERM-1..5): the
   * record must still be this termination and, if `executionIds` is given, name one of them as its execution (or
   * none, with `unbound`); otherwise nothing is written and TerminationSuperseded is thrown.
   */
  updateTermination(
    tenantId: string,
    step: PrivacyStep | undefined,
    patch?: Partial<Omit<TerminationRecord, 'tenantId' | 'steps'>>,
    binding?: TerminationBinding,
  ): Promise<void>;
  /** R-TERM-1..5: the tenants whose termination is under way, for the sweeper (no scan). */
  openTerminations(): Promise<string[]>;
  /** Puts the tenant on (or takes it off) the list of terminations under way. */
  markTerminationOpen(tenantId: string, open: boolean): Promise<void>;
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
  /** A stable code: `malformed_record`, `unknown_tenant`, `store_refused`. */
  readonly reason: string;
  /** What the store said when it refused the record (R-ING-7), e.g. DynamoDB's ValidationException message. */
  readonly detail?: string;
  /**
   * Where it is: stream ARN, shard, partition key (the tenant id), and when it arrived. R-DSR-2, R-TERM-4: a letter
   * never carries the record's bytes (a copy in the queue would outlive erasure and shredding); the record is read
   * from the stream at this position for the stream's retention (24 h), and the DeadLetters alarm fires at once.
   */
  readonly origin: Readonly<Record<string, string>>;
}

export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}
