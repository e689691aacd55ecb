/**
 * R-RET-1: how long ingested event data is kept: the plan's default, or the tenant's own setting within the
 * plan's bounds. R-RET-6: the result becomes each item's TTL, so deletion needs no job.
 */
import type { RuntimeSettings } from './settings';
import { DomainError, type PlanName, type Tenant } from './model';

const SECONDS_PER_DAY = 24 * 60 * 60;

/** R-SEC-6: audit entries are kept 12 months (the Audit table's TTL; lib/config.ts auditRetentionDays defaults to it). */
export const AUDIT_RETENTION_DAYS = 365;

/**
 * R-RET-2: account data (a terminated tenant's tombstone and its termination record) is kept 90 days after the
 * termination, then deleted by the Control table's TTL. Certificates and deletion records stay in the records
 * bucket under its own lock and lifecycle (lib/constructs); billing records 7 years (R-RET-3).
 */
export const ACCOUNT_DATA_RETENTION_DAYS = 90;

/** The TTL of a terminated tenant's account data: ACCOUNT_DATA_RETENTION_DAYS after `terminatedAt`. */
export function accountDataExpiresAt(terminatedAt: Date): number {
  return expiresAtEpochSeconds(terminatedAt, ACCOUNT_DATA_RETENTION_DAYS);
}

/**
 * R-RET-1, R-RET-6: an event's body stored in S3 (over the inline limit) expires with its event. S3 lifecycle rules
 * cannot read an item's TTL, so each payload object is tagged with an expiry class (PAYLOAD_EXPIRY_TAG), one
 * lifecycle rule per class (lib/constructs/tenant-data-store.ts): the smallest class at or above the event's
 * retention. Every plan default (30, 90, 365 days), every multiple of 30 days and every whole year is a class, so
 * those payloads expire on their event's day; any other tenant retention is kept at most 29 days longer in S3, as
 * ciphertext no item points at any more (136 rules; S3 allows 1,000).
 */
export const PAYLOAD_EXPIRY_TAG = 'lumiqo-expire-days';
export const PAYLOAD_EXPIRY_CLASSES: readonly number[] = [
  ...new Set([1, 7, 14, ...Array.from({ length: 122 }, (_, i) => 30 * (i + 1)), ...Array.from({ length: 10 }, (_, i) => 365 * (i + 1))]),
].sort((a, b) => a - b);

/** The expiry class of a payload whose event is kept `retentionDays`. */
export function payloadExpiryClass(retentionDays: number): number {
  return PAYLOAD_EXPIRY_CLASSES.find((days) => days >= retentionDays) ?? PAYLOAD_EXPIRY_CLASSES[PAYLOAD_EXPIRY_CLASSES.length - 1];
}

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
