/**
 * R-RET-1: how long ingested event data is kept: the plan's default, or the tenant's own setting within the
 * plan's bounds. R-RET-6: the result becomes each item's TTL, so deletion needs no job.
 */
import type { RuntimeSettings } from './settings';
import { DomainError, type PlanName, type Tenant } from './model';

const SECONDS_PER_DAY = 24 * 60 * 60;

/** R-SEC-6: audit entries are kept 12 months (the Audit table's TTL; lib/config.ts auditRetentionDays defaults to it). */
export const AUDIT_RETENTION_DAYS = 365;

/** The retention in days for a tenant's events. An override outside the plan's bounds is clamped to them. */
export function retentionDaysFor(tenant: Pick<Tenant, 'plan' | 'retentionDays'>, settings: RuntimeSettings): number {
  const plan = settings.plans[tenant.plan];
  if (tenant.retentionDays === undefined) return plan.retentionDays;
  return Math.min(plan.maxRetentionDays, Math.max(plan.minRetentionDays, Math.floor(tenant.retentionDays)));
}

/** The TTL attribute value: epoch seconds `days` after `from`. */
export function expiresAtEpochSeconds(from: Date, days: number): number {
  return Math.floor(from.getTime() / 1000) + days * SECONDS_PER_DAY;
}

/** Refuses a tenant retention the plan does not allow, naming the allowed range. */
export function validateRetentionOverride(plan: PlanName, days: number, settings: RuntimeSettings): void {
  const { minRetentionDays, maxRetentionDays } = settings.plans[plan];
  if (!Number.isInteger(days) || days < minRetentionDays || days > maxRetentionDays) {
    throw new DomainError(
      'invalid_request',
      `retentionDays on the ${plan} plan must be a whole number of days from ${minRetentionDays} to ${maxRetentionDays}; got ${days}`,
      400,
      [{ path: 'retentionDays', message: `must be an integer from ${minRetentionDays} to ${maxRetentionDays}` }],
    );
  }
}
