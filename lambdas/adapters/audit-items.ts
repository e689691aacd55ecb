/** How audit entries are laid out as Audit table items; shared by the DynamoDB log and its in-memory twin. */
import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '../domain/ports';
import { auditKeys } from '../domain/keys';

let written = 0;
/**
 * An entry's id: a per-process sequence number, then a UUID. Entries of one millisecond (or of a clock that stands
 * still, as in tests) list in the order this process wrote them; entries of different processes stay unique.
 */
export function auditEntryId(): string {
  written += 1;
  return `${written.toString(36).padStart(8, '0')}-${randomUUID()}`;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export function auditItem(entry: AuditEntry, entryId: string, retentionDays: number): Record<string, unknown> {
  const at = Date.parse(entry.at);
  if (Number.isNaN(at)) throw new Error(`Invalid audit time '${entry.at}'`);
  const key = auditKeys.entry(entry.tenantId, entry.at, entryId);
  return {
    ...entry,
    ...key,
    ...(entry.subjectHash ? { gsi1pk: auditKeys.bySubject(entry.tenantId, entry.subjectHash), gsi1sk: key.sk } : {}),
    expiresAt: Math.floor(at / 1000) + retentionDays * 86_400,
  };
}

export function auditEntryFromItem(item: Record<string, unknown>): AuditEntry {
  const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, expiresAt: _expiresAt, ...entry } = item;
  return entry as unknown as AuditEntry;
}

export function assertMonth(month: string): void {
  if (!MONTH.test(month)) throw new Error(`Invalid month '${month}': use YYYY-MM`);
}

