/**
 * The consent API (R-DSR-4): the controller reads its flags and turns a purpose off (or on again) for its whole
 * tenant; a subject's own flags are set by a `consent` request (privacy-requests.ts), since they name a subject and
 * are tracked like every data-subject request. Every change and every refusal is audited (R-SEC-6).
 */
import * as z from './zod';
import { applyConsentChange, consentChangeSchema, consentViewOf, CONSENT_PROPAGATION_MS, type ConsentView } from './consent';
import { DomainError, type Tenant } from './model';
import type { AuditLog, Clock, PrivacyRequestStore } from './ports';
import { parse } from './validation';

export interface TenantConsentDeps {
  readonly requests: Pick<PrivacyRequestStore, 'setConsent' | 'consentFlags'>;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

const setTenantConsentSchema = z.strictObject({ purposes: consentChangeSchema });

export type ConsentAnswer = ConsentView & { readonly effectiveBy?: string };

export class TenantConsent {
  constructor(private readonly deps: TenantConsentDeps) {}

  async view(tenantId: string): Promise<ConsentView> {
    return consentViewOf(await this.deps.requests.consentFlags(tenantId));
  }

  /** Sets the tenant-wide flags; in effect for every new event by `effectiveBy`. */
  async setForTenant(actor: string, tenant: Tenant, body: unknown): Promise<ConsentAnswer> {
    const now = this.deps.clock.now();
    const audit = (outcome: 'success' | 'failure', detail: Record<string, string | boolean>) =>
      this.deps.audit.record({ tenantId: tenant.tenantId, at: now.toISOString(), actor, action: 'privacy.consent.tenant', target: tenant.tenantId, outcome, detail });
    try {
      if (tenant.status === 'terminated') throw new DomainError('tenant_frozen', `Tenant ${tenant.tenantId} is terminated`, 403);
      const { purposes } = parse(setTenantConsentSchema, body);
      const flags = await this.deps.requests.consentFlags(tenant.tenantId);
      const off = applyConsentChange(flags.tenantOff, purposes);
      await this.deps.requests.setConsent({ tenantId: tenant.tenantId, off, updatedAt: now.toISOString(), updatedBy: actor });
      await audit('success', { ...purposes });
      return { ...(await this.view(tenant.tenantId)), effectiveBy: new Date(now.getTime() + CONSENT_PROPAGATION_MS).toISOString() };
    } catch (error) {
      if (error instanceof DomainError) await audit('failure', { error: error.code });
      throw error;
    }
  }
}
