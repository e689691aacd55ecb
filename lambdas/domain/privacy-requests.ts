/**
 * Data-subject requests (R-DSR-1..3, R-DSR-5, R-DSR-6): a request is validated, its subject reduced to the keyed
 * hash the subject index uses (the identifier itself is never stored), recorded with its one-month due date,
 * audited (R-SEC-6), and handed to its state machine. Its status, steps and results are read back by id, only
 * within the tenant that made it (R-SEC-4).
 */
import { createHash } from 'node:crypto';
import * as z from './zod';
import { TENANT_ID_PATTERN } from './keys';
import type { RuntimeSettings } from './settings';
import { consentChangeSchema, type ConsentChange } from './consent';
import { CORRECTIONS_PURPOSE, validateCorrectionPath } from './corrections';
import { readSignedDocument, type SignedDeletionDocument } from './deletion-records';
import { EXPORT_LINK_SECONDS, presignExport } from './export-lines';
import { newId } from './ids';
import { DomainError, type Tenant } from './model';
import type { AuditLog, Clock, DocumentStore, PrivacyRequestStore, TenantCrypto, TenantDirectory, WorkflowStarter } from './ports';
import {
  SHOPIFY_TOPICS,
  SUBJECT_REQUEST_TYPES,
  type PrivacyRequestRecord,
  type PrivacyStep,
  type RequestOrigin,
  type RequestStatus,
  type SubjectRequestType,
  type SubjectWorkflowState,
} from './privacy';
import { SUBJECT_KEY_PURPOSE } from './processing';
import { DEFAULT_SUBJECT_PATHS, hashSubject, normaliseIdentifier } from './subjects';
import { parse } from './validation';

/** Corrections are small facts (an address, a name), not documents. */
export const MAX_CORRECTIONS = 50;
export const MAX_CORRECTIONS_BYTES = 32 * 1024;

const SUBJECT_KIND = /^[a-z][a-z0-9_]{0,39}$/;
const REQUEST_ID = /^dsr_[0-9A-Z]{26}$/;

const correctionSchema = z.strictObject({ path: z.string().check(z.minLength(2), z.maxLength(200)), value: z.json() });

export const openRequestSchema = z
  .strictObject({
    type: z.enum(SUBJECT_REQUEST_TYPES),
    subject: z.strictObject({
      kind: z.string().check(z.regex(SUBJECT_KIND, 'kind: an identifier kind such as email or user_id')),
      // zod 4 numbers are finite already.
      value: z.union([z.string().check(z.minLength(1), z.maxLength(512)), z.number()]),
    }),
    corrections: z.optional(z.array(correctionSchema).check(z.minLength(1), z.maxLength(MAX_CORRECTIONS))),
    /** R-DSR-4: a consent request's purposes: `false` objects or withdraws consent, `true` allows again. */
    purposes: z.optional(consentChangeSchema),
  })
  .check(z.superRefine((request, ctx) => {
    // R-DSR-3: corrections are what a rectification is; on any other request they would be silently ignored.
    if (request.type === 'rectification' && request.corrections === undefined) {
      ctx.addIssue({ code: 'custom', path: ['corrections'], message: 'required for a rectification' });
    }
    if (request.type !== 'rectification' && request.corrections !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['corrections'], message: 'only a rectification takes corrections' });
    }
    // R-DSR-4: purposes are what a consent request is, and nothing else takes them.
    if ((request.type === 'consent') !== (request.purposes !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['purposes'], message: request.type === 'consent' ? 'required for a consent request' : 'only a consent request takes purposes' });
    }
    request.corrections?.forEach((correction, index) => {
      try {
        validateCorrectionPath(correction.path);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['corrections', index, 'path'], message: (error as Error).message });
      }
    });
    if (request.corrections && Buffer.byteLength(JSON.stringify(request.corrections)) > MAX_CORRECTIONS_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['corrections'], message: `at most ${MAX_CORRECTIONS_BYTES} bytes of corrections` });
    }
    if (normaliseIdentifier(request.subject.kind, String(request.subject.value)) === '') {
      ctx.addIssue({ code: 'custom', path: ['subject', 'value'], message: 'must not be blank' });
    }
  }));

export interface PrivacyRequestsDeps {
  readonly directory: TenantDirectory;
  readonly requests: PrivacyRequestStore;
  readonly crypto: TenantCrypto;
  readonly audit: AuditLog;
  readonly workflows: WorkflowStarter;
  /** Exports bucket: an access request's manifest and parts. */
  readonly exports: DocumentStore;
  /** Records bucket: an erasure's signed deletion record. */
  readonly records: DocumentStore;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
}

/** What the tenant (or operator) sees of a request: never the identifier, never the corrections. */
export interface PrivacyRequestView {
  readonly requestId: string;
  readonly type: SubjectRequestType;
  readonly status: RequestStatus;
  readonly origin: RequestOrigin;
  readonly subjectKind: string;
  /** The keyed hash: what the audit log is queried by (R-SEC-6). */
  readonly subjectHash: string;
  readonly receivedAt: string;
  readonly dueAt: string;
  /** R-DSR-5: not completed and past its due date. */
  readonly overdue: boolean;
  readonly completedAt?: string;
  readonly steps: readonly PrivacyStep[];
  readonly failure?: { readonly error: string; readonly at: string };
  readonly results?: {
    /** Access (R-DSR-1): links to the manifest and the parts, valid for EXPORT_LINK_SECONDS. */
    readonly export?: { readonly manifestUrl: string; readonly partUrls: readonly string[]; readonly urlsExpireAt: string };
    /** Erasure (R-DSR-2): the signed deletion record. */
    readonly deletionRecord?: SignedDeletionDocument;
    readonly counts?: Readonly<Record<string, number>>;
  };
}

/** R-DSR-5 (GDPR Art. 12(3)): one calendar month after receipt, same time of day; a day the month lacks clamps to its last. */
export function dueDateFor(receivedAt: Date): Date {
  const year = receivedAt.getUTCFullYear();
  const month = receivedAt.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(receivedAt.getUTCDate(), lastDay),
      receivedAt.getUTCHours(),
      receivedAt.getUTCMinutes(),
      receivedAt.getUTCSeconds(),
      receivedAt.getUTCMilliseconds(),
    ),
  );
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** R-DSR-6: the same delivery always names the same request, so a redelivery cannot open a second one. */
export function shopifyRequestId(tenantId: string, sourceId: string, deliveryId: string): string {
  const digest = createHash('sha256').update(`shopify\u0000${tenantId}\u0000${sourceId}\u0000${deliveryId}`).digest();
  let id = '';
  for (let i = 0; i < 26; i++) id += CROCKFORD[digest[i] % 32];
  return `dsr_${id}`;
}

/** The step that records the state machine's execution. */
const STARTED = 'started';

/** What opening a request needs: not the documents a request's results are read from. */
export type PrivacyIntakeDeps = Omit<PrivacyRequestsDeps, 'exports' | 'records'>;

/**
 * Opens requests: records, audits and starts them. The ingest function uses this part alone for Shopify's GDPR
 * webhooks (R-DSR-6), so it needs no access to exports or signed records.
 */
export class PrivacyRequestIntake {
  constructor(protected readonly deps: PrivacyIntakeDeps) {}

  /**
   * R-DSR-6: Shopify's GDPR webhooks, already HMAC-verified by ingestion, mapped onto the same workflows. The
   * request id comes from the delivery, so a redelivery answers with the request the first delivery opened.
   */
  async openFromShopify(tenant: Tenant, sourceId: string, deliveryId: string, topic: string, payload: unknown): Promise<PrivacyRequestRecord> {
    const type = Object.hasOwn(SHOPIFY_TOPICS, topic) ? SHOPIFY_TOPICS[topic] : undefined;
    if (!type) throw new DomainError('invalid_request', `Not a Shopify GDPR topic: '${topic}'`, 400);
    assertTenantServes(tenant);
    const subject = shopifySubject(topic, payload);
    const subjectHash = await this.subjectHash(tenant, subject.kind, subject.value);
    const record = this.record(
      tenant,
      shopifyRequestId(tenant.tenantId, sourceId, deliveryId),
      type,
      subject.kind,
      subjectHash,
      'shopify',
      `webhook:${sourceId}`,
      this.deps.clock.now(),
    );
    return this.submit(record);
  }

  protected record(
    tenant: Tenant,
    requestId: string,
    type: SubjectRequestType,
    subjectKind: string,
    subjectHash: string,
    origin: RequestOrigin,
    actor: string,
    now: Date,
    correctionsCiphertext?: string,
    consent?: ConsentChange,
  ): PrivacyRequestRecord {
    const receivedAt = now.toISOString();
    return {
      tenantId: tenant.tenantId,
      requestId,
      type,
      subjectHash,
      subjectKind,
      origin,
      actor,
      receivedAt,
      dueAt: dueDateFor(now).toISOString(),
      status: 'received',
      steps: [{ name: 'received', at: receivedAt, outcome: 'success', detail: { origin } }],
      ...(correctionsCiphertext ? { correctionsCiphertext } : {}),
      ...(consent ? { consent } : {}),
    };
  }

  /** Records, audits and starts a request; a request that exists already is answered as it stands. */
  protected async submit(record: PrivacyRequestRecord): Promise<PrivacyRequestRecord> {
    const { requests, audit } = this.deps;
    if ((await requests.create(record)) === 'exists') {
      const existing = await requests.get(record.tenantId, record.requestId);
      if (!existing) throw new Error(`Request ${record.requestId} exists but cannot be read`);
      // A first delivery whose start failed is started by the redelivery (the starter is idempotent by name).
      if (!isStarted(existing)) await this.start(existing);
      return (await requests.get(record.tenantId, record.requestId)) ?? existing;
    }
    await audit.record({
      tenantId: record.tenantId,
      at: record.receivedAt,
      actor: record.actor,
      action: 'privacy.request.open',
      target: record.requestId,
      subjectHash: record.subjectHash,
      outcome: 'success',
      detail: { type: record.type, origin: record.origin, subjectKind: record.subjectKind },
    });
    await this.start(record);
    return (await requests.get(record.tenantId, record.requestId)) ?? record;
  }

  private async start(record: PrivacyRequestRecord): Promise<void> {
    const state: SubjectWorkflowState = {
      tenantId: record.tenantId,
      requestId: record.requestId,
      type: record.type,
      subjectHash: record.subjectHash,
      receivedAt: record.receivedAt,
    };
    const at = () => this.deps.clock.now().toISOString();
    let executionId: string;
    try {
      ({ executionId } = await this.deps.workflows.start(record.type, record.requestId, state));
    } catch (error) {
      // The request stays received and open (the deadline alarm sees it); a retry of the same id starts it.
      await this.deps.requests
        .update(record.tenantId, record.requestId, { name: STARTED, at: at(), outcome: 'failure', detail: { error: (error as Error).name } })
        .catch(() => undefined);
      throw error;
    }
    await this.deps.requests.update(record.tenantId, record.requestId, { name: STARTED, at: at(), outcome: 'success', detail: { executionId } });
  }

  protected async subjectHash(tenant: Tenant, kind: string, value: string): Promise<string> {
    const key = await this.deps.crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
    return hashSubject(key, kind, value);
  }

  /** R-SEC-6: a refused request is audited too (its code only; the body may hold the identifier). */
  protected async auditRefusal(tenantId: string, actor: string, error: DomainError, subjectHash: string | undefined): Promise<void> {
    await this.deps.audit.record({
      tenantId,
      at: this.deps.clock.now().toISOString(),
      actor,
      action: 'privacy.request.open',
      outcome: 'failure',
      ...(subjectHash ? { subjectHash } : {}),
      detail: { error: error.code },
    });
  }
}

/** Requests opened through the privacy API, and their views with results: export links, deletion records. */
export class PrivacyRequests extends PrivacyRequestIntake {
  constructor(protected override readonly deps: PrivacyRequestsDeps) {
    super(deps);
  }

  /** R-DSR-1..3: a request from the tenant's API (`api`) or an operator (`operator`). */
  async open(actor: string, origin: RequestOrigin, tenant: Tenant, body: unknown): Promise<PrivacyRequestView> {
    let subjectHash: string | undefined;
    try {
      const input = parse(openRequestSchema, body);
      assertTenantServes(tenant);
      const kinds = new Set((tenant.subjectPaths ?? DEFAULT_SUBJECT_PATHS).map((p) => p.kind));
      if (!kinds.has(input.subject.kind)) {
        // A kind the processor never indexes would find nothing and report it as if the subject had no data.
        throw new DomainError('invalid_request', `subject.kind: this tenant indexes ${[...kinds].join(', ')}`, 400, [
          { path: 'subject.kind', message: 'not an identifier kind this tenant indexes' },
        ]);
      }
      subjectHash = await this.subjectHash(tenant, input.subject.kind, String(input.subject.value));
      const correctionsCiphertext = input.corrections
        ? Buffer.from(await this.deps.crypto.encrypt(tenant, Buffer.from(JSON.stringify(input.corrections), 'utf8'), CORRECTIONS_PURPOSE)).toString('base64')
        : undefined;
      const now = this.deps.clock.now();
      const record = await this.submit(
        this.record(tenant, newId('dsr', now), input.type, input.subject.kind, subjectHash, origin, actor, now, correctionsCiphertext, input.purposes),
      );
      return await this.viewOf(record);
    } catch (error) {
      if (error instanceof DomainError) await this.auditRefusal(tenant.tenantId, actor, error, subjectHash);
      throw error;
    }
  }

  /** R-DSR-5, R-SEC-4: a request of another tenant is simply not found (the store is keyed by tenant). */
  async view(tenantId: string, requestId: string): Promise<PrivacyRequestView> {
    const record = TENANT_ID_PATTERN.test(tenantId) && REQUEST_ID.test(requestId) ? await this.deps.requests.get(tenantId, requestId) : undefined;
    if (!record || record.tenantId !== tenantId) throw new DomainError('not_found', `No privacy request '${requestId}'`, 404);
    return this.viewOf(record);
  }

  private async viewOf(record: PrivacyRequestRecord): Promise<PrivacyRequestView> {
    const now = this.deps.clock.now();
    const results = await this.results(record, now);
    return {
      requestId: record.requestId,
      type: record.type,
      status: record.status,
      origin: record.origin,
      subjectKind: record.subjectKind,
      subjectHash: record.subjectHash,
      receivedAt: record.receivedAt,
      dueAt: record.dueAt,
      overdue: record.status !== 'completed' && record.status !== 'closed' && now.getTime() > Date.parse(record.dueAt),
      ...(record.completedAt ? { completedAt: record.completedAt } : {}),
      // The execution ARN names the platform's account: an operator's detail, not the tenant's.
      steps: record.steps.map(({ detail, ...step }) => {
        const { executionId: _hidden, ...shown } = detail ?? {};
        return Object.keys(shown).length > 0 ? { ...step, detail: shown } : step;
      }),
      ...(record.failure ? { failure: record.failure } : {}),
      ...(results ? { results } : {}),
    };
  }

  private async results(record: PrivacyRequestRecord, now: Date): Promise<PrivacyRequestView['results']> {
    const { result } = record;
    if (!result) return undefined;
    const out: { -readonly [K in keyof NonNullable<PrivacyRequestView['results']>]: NonNullable<PrivacyRequestView['results']>[K] } = {};
    if (result.exportKeys && record.status === 'completed') {
      const links = await presignExport(this.deps.exports, result.exportKeys);
      out.export = { manifestUrl: links.manifest, partUrls: links.parts, urlsExpireAt: new Date(now.getTime() + EXPORT_LINK_SECONDS * 1000).toISOString() };
    }
    if (result.deletionRecordKey) {
      const deletionRecord = await readSignedDocument(this.deps.records, result.deletionRecordKey);
      if (deletionRecord) out.deletionRecord = deletionRecord;
    }
    if (result.counts) out.counts = result.counts;
    return Object.keys(out).length > 0 ? out : undefined;
  }
}

function isStarted(record: PrivacyRequestRecord): boolean {
  return record.executionId !== undefined || record.steps.some((s) => s.name === STARTED && s.outcome === 'success');
}

/** A terminated tenant's keys are gone: nothing of it can be found, exported or erased any more. */
function assertTenantServes(tenant: Tenant): void {
  if (tenant.status === 'terminated') {
    throw new DomainError('tenant_frozen', `Tenant ${tenant.tenantId} is terminated: its data is deleted`, 403);
  }
}

const shopifyCustomerSchema = z.looseObject({
  customer: z.looseObject({
    email: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
    id: z.optional(z.union([z.int(), z.string().check(z.minLength(1), z.maxLength(64))])),
  }),
});
const shopifyShopSchema = z.looseObject({ shop_domain: z.string().check(z.minLength(1), z.maxLength(255)) });

/** R-DSR-6: the customer by email when Shopify sends one, else by customer id; a shop by its domain. */
function shopifySubject(topic: string, payload: unknown): { kind: string; value: string } {
  if (topic === 'shop/redact') return { kind: 'shop_domain', value: parse(shopifyShopSchema, payload).shop_domain };
  const { customer } = parse(shopifyCustomerSchema, payload);
  if (customer.email !== undefined && normaliseIdentifier('email', customer.email) !== '') return { kind: 'email', value: customer.email };
  // `customer_id`, the kind `$..customer.id` indexes on every order and customer delivery (DEFAULT_SUBJECT_PATHS).
  if (customer.id !== undefined) return { kind: 'customer_id', value: String(customer.id) };
  throw new DomainError('invalid_request', 'customer: an email or an id is required', 400, [{ path: 'customer', message: 'an email or an id is required' }]);
}
