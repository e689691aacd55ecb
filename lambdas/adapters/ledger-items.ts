/**
 * Billing ledger items (R-TERM-6): one per tenant and covered period, keyed by its last minute. Shared by the
 * DynamoDB ledger and its in-memory twin.
 */
import { BILLING_RETENTION_DAYS } from '../domain/billing';
import type { UsageEntry } from '../domain/ports';
import { expiresAtEpochSeconds } from '../domain/retention';
import { ledgerKeys } from '../domain/keys';

export type Item = Record<string, unknown>;

/** A ledger item as its record: without the keys and the TTL attribute (billing records, usage deliveries). */
export function withoutKeys<T>(item: Item): T {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...rest } = item;
  return rest as T;
}

/** Sort-key prefix of usage entries: lastEntry and list read only these. */
export const USAGE_PREFIX = 'USAGE#';

/** R-RET-3: a usage entry is a billing record, kept 7 years from when it was recorded (the table's TTL). */
export function usageItem(entry: UsageEntry): Item {
  const expiresAt = expiresAtEpochSeconds(new Date(entry.recordedAt), BILLING_RETENTION_DAYS);
  return { ...entry, counts: { ...entry.counts }, ...ledgerKeys.usage(entry.tenantId, entry.throughMinute), expiresAt };
}

export function usageFromItem(item: Item): UsageEntry {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...entry } = item;
  return entry as unknown as UsageEntry;
}

/**
 * The ledger is append-only: an entry is never overwritten. Recording the same period again (a retried flush) is
 * accepted when it says the same thing; anything else is a conflict that must not pass silently.
 */
export function sameUsage(a: UsageEntry, b: UsageEntry): boolean {
  const counts = (entry: UsageEntry) => JSON.stringify(Object.entries(entry.counts).sort(([x], [y]) => (x < y ? -1 : 1)));
  return a.fromMinute === b.fromMinute && a.throughMinute === b.throughMinute && a.reason === b.reason && counts(a) === counts(b);
}

export const conflictingUsage = (entry: UsageEntry) =>
  new Error(`Billing ledger already holds a different entry for tenant '${entry.tenantId}' through ${entry.throughMinute}`);
