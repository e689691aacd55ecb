/**
 * The key schema, in one place (R-SEC-4). Every partition key of tenant data starts with
 * `T#<tenantId>#`, every S3 key with `tenants/<tenantId>/`. The CDK constructs build their IAM
 * conditions from the same prefixes (`tenantPartitionPattern`), so code and policy cannot drift. The byte bounds
 * of everything ingest lets into a key (`KEY_BYTE_BOUNDS`, R-ING-7) are derived from the same builders.
 */
import { DYNAMODB_LIMITS, utf8Bytes } from './aws-limits';

/** Tenant ids: lower-case slug, no `#` or `/`, so a prefix match can never cross tenants. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
/** Ids chosen by clients (event ids, source ids) stay printable and bounded (ASCII: characters are bytes). */
export const CLIENT_ID_MAX_LENGTH = 128;
export const CLIENT_ID_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${CLIENT_ID_MAX_LENGTH - 1}}$`);
/** A client's `id` becomes the event id `c_<id>` (R-ING-7). */
export const clientEventId = (clientId: string): string => `c_${clientId}`;

export function assertTenantId(tenantId: string): string {
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    throw new Error(`Invalid tenant id '${tenantId}': use 2-63 of a-z, 0-9 and '-', starting with a letter or digit`);
  }
  return tenantId;
}

/** Prefix of every partition key that holds a tenant's data. */
export const tenantPrefix = (tenantId: string): string => `T#${assertTenantId(tenantId)}#`;
/** The IAM `dynamodb:LeadingKeys` pattern for a tenant (a policy variable may stand in for the id). */
export const tenantPartitionPattern = (tenantIdOrVariable: string): string => `T#${tenantIdOrVariable}#*`;
/** The S3 prefix of a tenant's objects. */
export const tenantObjectPrefix = (tenantId: string): string => `tenants/${assertTenantId(tenantId)}/`;
export const tenantObjectPattern = (tenantIdOrVariable: string): string => `tenants/${tenantIdOrVariable}/*`;

/** TenantData table: events, subject index, rollups. */
export const dataKeys = {
  /** One item per event; its key is the idempotency gate (R-ING-7). */
  event: (tenantId: string, eventId: string) => ({ pk: `${tenantPrefix(tenantId)}EV#${eventId}`, sk: 'EV' }),
  /** GSI1: a tenant's events of one kind by time. */
  byKind: (tenantId: string, kind: string) => `${tenantPrefix(tenantId)}K#${kind}`,
  /** GSI2: a tenant's events of one kind and name by time. */
  byName: (tenantId: string, kind: string, name: string) => `${tenantPrefix(tenantId)}N#${kind}#${name}`,
  /** GSI sort key: ISO time then event id, so ranges and pagination are stable. */
  timeSort: (timestamp: string, eventId: string) => `${timestamp}#${eventId}`,
  /** Subject index: keyed hash of an identifier -> the events that mention it (R-DSR-1). */
  subject: (tenantId: string, subjectHash: string, eventId: string) => ({
    pk: `${tenantPrefix(tenantId)}S#${subjectHash}`,
    sk: `EV#${eventId}`,
  }),
  /**
   * GSI1 partition of a tenant's quarantined events (R-DSR-3): outside every kind's partition, so reads never
   * see them, yet a termination still enumerates them.
   */
  quarantine: (tenantId: string) => `${tenantPrefix(tenantId)}Q`,
  /** Rollups: one item per tenant, minute and series (R-ING-3). */
  rollup: (tenantId: string, minute: string, series: string) => ({
    pk: `${tenantPrefix(tenantId)}ROLLUP`,
    sk: `${minute}#${series}`,
  }),
} as const;

/**
 * TenantData table, the AI assistant's items (R-AI-5, R-AI-6): one partition per tenant, `T#<tenantId>#AI`, holding
 * its conversations, messages, usage counters and insights; the AI function's own role may write only partitions of
 * this form (AI_PARTITION_PATTERNS). `AI#TENANTS` lists the tenants that use AI (ids only) for the insight job.
 */
export const aiKeys = {
  partition: (tenantId: string) => `${tenantPrefix(tenantId)}AI`,
  conversation: (tenantId: string, conversationId: string) => ({ pk: aiKeys.partition(tenantId), sk: `CONV#${conversationId}` }),
  message: (tenantId: string, conversationId: string, messageId: string) => ({ pk: aiKeys.partition(tenantId), sk: `MSG#${conversationId}#${messageId}` }),
  usage: (tenantId: string, month: string) => ({ pk: aiKeys.partition(tenantId), sk: `USAGE#${month}` }),
  rate: (tenantId: string, minute: string) => ({ pk: aiKeys.partition(tenantId), sk: `RATE#${minute}` }),
  /** By the flagged bucket, so a re-run of the detector rewrites an insight rather than repeating it. */
  insight: (tenantId: string, minute: string, insightId: string) => ({ pk: aiKeys.partition(tenantId), sk: `INSIGHT#${minute}#${insightId}` }),
  enrolled: (tenantId: string) => ({ pk: 'AI#TENANTS', sk: assertTenantId(tenantId) }),
} as const;

/** The `dynamodb:LeadingKeys` patterns of the AI items (a tenant id has no `#`, so `T#*#AI` is only AI partitions). */
export const AI_PARTITION_PATTERNS: readonly string[] = ['T#*#AI', 'AI#TENANTS'];

/** Control table: tenants, API keys, webhook sources, delivery de-duplication. */
export const controlKeys = {
  tenant: (tenantId: string) => ({ pk: `${tenantPrefix(tenantId)}TENANT`, sk: 'TENANT' }),
  /** Lookup by the SHA-256 of the presented key; only the hash is stored (R-SEC-3). */
  apiKeyByHash: (keyHash: string) => ({ pk: `APIKEY#${keyHash}`, sk: 'APIKEY' }),
  /** The tenant's own list of its keys (no secret material). */
  apiKey: (tenantId: string, keyId: string) => ({ pk: `${tenantPrefix(tenantId)}TENANT`, sk: `KEY#${keyId}` }),
  webhookSource: (tenantId: string, sourceId: string) => ({ pk: `${tenantPrefix(tenantId)}TENANT`, sk: `SOURCE#${sourceId}` }),
  /** Seen webhook deliveries, kept (TTL) at least twice the timestamp tolerance. */
  delivery: (tenantId: string, sourceId: string, deliveryId: string) => ({
    pk: `${tenantPrefix(tenantId)}DELIVERY#${sourceId}`,
    sk: deliveryId,
  }),
  /** R-BILL-1: the tenant's admitted events of a UTC month (`YYYY-MM`), counted by ingest (domain/plan-limits.ts). */
  eventQuota: (tenantId: string, month: string) => ({ pk: `${tenantPrefix(tenantId)}QUOTA`, sk: `EVENTS#${month}` }),
  /** Data-subject requests of a tenant (R-DSR-5). */
  privacyRequest: (tenantId: string, requestId: string) => ({ pk: `${tenantPrefix(tenantId)}PRIVACY`, sk: `REQ#${requestId}` }),
  /**
   * Open requests of every tenant by due date, so the deadline check reads only what is due (R-DSR-5). A
   * control-plane lookup like APIKEY#: the tenant id is in the sort key, and no tenant-facing role reads it.
   */
  openRequest: (dueAt: string, tenantId: string, requestId: string) => ({ pk: 'PRIVACY#OPEN', sk: `${dueAt}#${assertTenantId(tenantId)}#${requestId}` }),
  /**
   * Erased subjects of a tenant (R-DSR-2), with the time the erasure was received: the processor drops a record of
   * the subject received before it (one still in the stream when the erasure ran). Kept as long as a record can be.
   */
  erasure: (tenantId: string, subjectHash: string) => ({ pk: `${tenantPrefix(tenantId)}ERASED`, sk: `S#${subjectHash}` }),
  /** Restricted subjects of a tenant (R-DSR-3). */
  restriction: (tenantId: string, subjectHash: string) => ({ pk: `${tenantPrefix(tenantId)}RESTRICTED`, sk: `S#${subjectHash}` }),
  /** R-DSR-4: purposes turned off, for the whole tenant (`TENANT`) or one subject hash (`S#<hash>`). */
  consent: (tenantId: string, subjectHash?: string) => ({ pk: `${tenantPrefix(tenantId)}CONSENT`, sk: subjectHash === undefined ? 'TENANT' : `S#${subjectHash}` }),
  /** The tenant's termination, next to its tenant record (R-TERM-1..5). */
  termination: (tenantId: string) => ({ pk: `${tenantPrefix(tenantId)}TENANT`, sk: 'TERMINATION' }),
  /**
   * Terminations under way, of every tenant, so the termination sweeper reads them without a scan (R-TERM-1..5).
   * A control-plane list like PRIVACY#OPEN: written by the termination tasks, read by the sweeper.
   */
  openTermination: (tenantId: string) => ({ pk: 'TERMINATION#OPEN', sk: assertTenantId(tenantId) }),
} as const;

/** BillingLedger table (R-TERM-6): apart from tenant data, outside every purge. */
export const ledgerKeys = {
  usage: (tenantId: string, throughMinute: string) => ({ pk: `LEDGER#${assertTenantId(tenantId)}`, sk: `USAGE#${throughMinute}` }),
  /**
   * R-BILL-2: one unit of work's usage (lambdas/domain/usage.ts), by tenant and UTC day. Written by the processor,
   * whose role may only write partitions beginning with `MARK` (dynamodb:LeadingKeys), never a billing record.
   */
  mark: (tenantId: string, day: string, sourceId: string) => ({ pk: `MARK#${assertTenantId(tenantId)}#${day}`, sk: `S#${sourceId}` }),
  /**
   * Issue 12: a page of marks in the same partition, many units of work in one item (dynamo-usage-ledger.ts); page
   * ids sort in the order they were written. Single marks (`mark`) are the layout before pages, still read.
   */
  markPage: (tenantId: string, day: string, pageId: string) => ({ pk: `MARK#${assertTenantId(tenantId)}#${day}`, sk: `P#${pageId}` }),
  /** Which tenants have marks on a day (the reporter's list of work). */
  markDay: (day: string, tenantId: string) => ({ pk: `MARKS#${day}`, sk: assertTenantId(tenantId) }),
  /** A day's total of one meter sent to the billing provider, by revision (append-only). */
  delivery: (tenantId: string, day: string, meter: string, revision: number) => ({
    pk: `LEDGER#${assertTenantId(tenantId)}`,
    sk: `SENT#${day}#${meter}#${revision.toString().padStart(4, '0')}`,
  }),
  /** A settled day: its totals, all delivered, after late records can no longer arrive. */
  settled: (tenantId: string, day: string) => ({ pk: `LEDGER#${assertTenantId(tenantId)}`, sk: `DAY#${day}` }),
} as const;

/** Audit table (R-SEC-6): by tenant and month; GSI1 by data subject. */
export const auditKeys = {
  entry: (tenantId: string, at: string, entryId: string) => ({
    pk: `${tenantPrefix(tenantId)}AUDIT#${at.slice(0, 7)}`,
    sk: `${at}#${entryId}`,
  }),
  bySubject: (tenantId: string, subjectHash: string) => `${tenantPrefix(tenantId)}S#${subjectHash}`,
} as const;

export const objectKeys = {
  payload: (tenantId: string, eventId: string) => `${tenantObjectPrefix(tenantId)}payloads/${eventId}`,
  /** Exports bucket: one subject's exports (R-DSR-1); an erasure deletes the whole prefix (R-DSR-2). */
  subjectExports: (tenantId: string, subjectHash: string) => `${tenantObjectPrefix(tenantId)}exports/subjects/${subjectHash}/`,
  subjectExport: (tenantId: string, subjectHash: string, requestId: string, file: string) =>
    `${objectKeys.subjectExports(tenantId, subjectHash)}${requestId}/${file}`,
  /** Exports bucket: the whole tenant's export of a termination (R-TERM-2). */
  tenantExport: (tenantId: string, terminationId: string, file: string) => `${tenantObjectPrefix(tenantId)}exports/termination/${terminationId}/${file}`,
  /** Exports bucket: a workflow's list of event ids (kept out of the execution state). */
  worklist: (tenantId: string, requestId: string) => `${tenantObjectPrefix(tenantId)}work/${requestId}/worklist.json`,
  /** Records bucket: signed deletion records and certificates, outside `tenants/` so no purge reaches them (R-TERM-5). */
  deletionRecord: (tenantId: string, id: string) => `deletion-records/${assertTenantId(tenantId)}/${id}.json`,
} as const;

/** Event names and rollup series that end up inside keys: built here, so that their byte bounds derive from them. */
export const keyNames = {
  /** An API call's event name (GSI2 partition): `GET /users/:id`. */
  apiCall: (method: string, route: string) => `${method} ${route}`,
  /** Rollup series (rollup sort key): `api:GET /users/:id`, `event:<name>`, `metric:<name>`, `webhook:<sourceId>`. */
  series: {
    api: (method: string, route: string) => `api:${method} ${route}`,
    event: (name: string) => `event:${name}`,
    metric: (name: string) => `metric:${name}`,
    webhook: (sourceId: string) => `webhook:${sourceId}`,
  },
} as const;

/**
 * The widest fixed parts a key can have: the longest tenant id (TENANT_ID_PATTERN), HTTP method (ingest takes
 * at most 20 letters), kind, source id, minute and timestamp (ingest's are ISO, years 2000 to 9999).
 */
const WIDEST = {
  tenantId: 'x'.repeat(63),
  method: 'X'.repeat(20),
  kind: 'api_call',
  sourceId: 'x'.repeat(CLIENT_ID_MAX_LENGTH),
  minute: '2026-11-23T10:15Z',
  timestamp: '2026-11-23T10:15:00.000Z',
} as const;

const { partitionKeyBytes: PK, sortKeyBytes: SK } = DYNAMODB_LIMITS;
/** Bytes left for a variable part in a key built by `key`, within `limit`. */
const room = (limit: number, key: (part: string) => string): number => limit - utf8Bytes(key(''));
const rollupSk = (series: string) => dataKeys.rollup(WIDEST.tenantId, WIDEST.minute, series).sk;

/**
 * R-ING-7: the most UTF-8 bytes that each value ingest takes may have, so that every key it reaches stays within
 * DynamoDB's key limits (partition key 2,048 B, sort key 1,024 B, GSI keys alike). DynamoDB refuses a longer key
 * with a ValidationException, which no retry can cure; ingest refuses the value instead, with a 400.
 */
export const KEY_BYTE_BOUNDS = {
  /** An event id: the event's partition key, the GSI sort keys `<timestamp>#<id>`, the subject index sort key. */
  eventId: Math.min(
    room(PK, (id) => dataKeys.event(WIDEST.tenantId, id).pk),
    room(SK, (id) => dataKeys.timeSort(WIDEST.timestamp, id)),
    room(SK, (id) => dataKeys.subject(WIDEST.tenantId, '', id).sk),
  ),
  /** An API call's route: in its series (rollup sort key) and its name (GSI2 partition key). */
  route: Math.min(
    room(SK, (route) => rollupSk(keyNames.series.api(WIDEST.method, route))),
    room(PK, (route) => dataKeys.byName(WIDEST.tenantId, 'api_call', keyNames.apiCall(WIDEST.method, route))),
  ),
  /** A generic event's or a metric's name: in its series and GSI2. */
  eventName: Math.min(
    room(SK, (name) => rollupSk(keyNames.series.metric(name))),
    room(SK, (name) => rollupSk(keyNames.series.event(name))),
    room(PK, (name) => dataKeys.byName(WIDEST.tenantId, 'metric', name)),
  ),
  /** A webhook's event name (the sender's event type): GSI2 only, its series is its source. */
  webhookName: room(PK, (name) => dataKeys.byName(WIDEST.tenantId, 'webhook', name)),
  /** A name an event query asks for: a GSI2 partition of any kind. */
  queryName: room(PK, (name) => dataKeys.byName(WIDEST.tenantId, WIDEST.kind, name)),
  /** A webhook source id: the source's and its deliveries' keys, and its series. */
  sourceId: Math.min(
    room(SK, (id) => controlKeys.webhookSource(WIDEST.tenantId, id).sk),
    room(PK, (id) => controlKeys.delivery(WIDEST.tenantId, id, '').pk),
    room(SK, (id) => rollupSk(keyNames.series.webhook(id))),
  ),
  /** A webhook delivery id (a sender's header or body field): the delivery marker's sort key. */
  deliveryId: room(SK, (id) => controlKeys.delivery(WIDEST.tenantId, WIDEST.sourceId, id).sk),
} as const;

/** Names of the GSIs, shared by the table definitions (CDK) and the queries (adapters). */
export const INDEX = { byKind: 'gsi1', byName: 'gsi2', auditBySubject: 'gsi1' } as const;
