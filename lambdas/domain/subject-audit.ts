/**
 * R-SEC-6: everything done to or about one data subject, from the audit log's per-subject index. An operator names
 * the subject by its keyed hash (as every request view shows it) or by an identifier, which is hashed with the
 * tenant's subject key at once and never stored or logged (it travels in the body, not the URL). The read itself is
 * audited under the same hash.
 */
import * as z from './zod';
import { DomainError, type Tenant } from './model';
import type { AuditEntry, AuditLog, Clock, TenantCrypto, TenantDirectory } from './ports';
import { SUBJECT_KEY_PURPOSE } from './processing';
import { hashSubject, normaliseIdentifier } from './subjects';
import { requireTenant } from './tenants';
import { parse } from './validation';

export interface SubjectAuditDeps {
  readonly directory: Pick<TenantDirectory, 'getTenant'>;
  readonly crypto: TenantCrypto;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

const subjectAuditSchema = z.union([
  z.strictObject({
    subject: z.strictObject({
      kind: z.string().check(z.regex(/^[a-z][a-z0-9_]{0,39}$/, 'kind: an identifier kind such as email or user_id')),
      value: z.union([z.string().check(z.minLength(1), z.maxLength(512)), z.number()]),
    }),
  }),
  z.strictObject({ subjectHash: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'subjectHash: the 43-character keyed hash a request view shows')) }),
]);

export class SubjectAudit {
  constructor(private readonly deps: SubjectAuditDeps) {}

  async entries(actor: string, tenantId: string, body: unknown): Promise<{ readonly subjectHash: string; readonly items: AuditEntry[] }> {
    const tenant = await requireTenant(this.deps.directory, tenantId);
    const input = parse(subjectAuditSchema, body);
    const subjectHash = 'subjectHash' in input ? input.subjectHash : await this.hash(tenant, input.subject.kind, String(input.subject.value));
    const items = await this.deps.audit.listForSubject(tenant.tenantId, subjectHash);
    await this.deps.audit.record({
      tenantId: tenant.tenantId,
      at: this.deps.clock.now().toISOString(),
      actor,
      action: 'audit.subject.read',
      target: tenant.tenantId,
      subjectHash,
      outcome: 'success',
      detail: { entries: items.length },
    });
    return { subjectHash, items };
  }

  private async hash(tenant: Tenant, kind: string, value: string): Promise<string> {
    if (normaliseIdentifier(kind, value) === '') throw new DomainError('invalid_request', 'subject.value must not be blank', 400, [{ path: 'subject.value', message: 'must not be blank' }]);
    const key = await this.deps.crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
    return hashSubject(key, kind, value);
  }
}
