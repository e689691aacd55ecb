/**
 * Consent and objection (R-DSR-4). A data subject may object to processing for a purpose, or withdraw consent to
 * it; the controller may also turn a purpose off for its whole tenant. Two purposes are named:
 * - `analytics`: storing the subject's events and counting them (reads, rollups, dashboards, alerts). Off: the
 *   processor stores nothing of a new event that mentions the subject (no record, no index entry, no rollup); it
 *   is dropped, as an erased subject's late record is. Records stored before the objection stay as they are until
 *   the controller erases them (an erasure request does).
 * - `ai`: anything sent to an AI provider (R-AI-*). Off: events that mention the subject, stored before or after,
 *   are never handed to AI; the AI function filters with `allowsPurpose` over the event's subject hashes, so a
 *   withdrawal also covers records already stored.
 * Flags are kept per tenant and per subject hash in the Control table (`T#<tenant>#CONSENT`), never with the
 * identifier. They take effect within the processor's tenant cache (TENANT_CACHE_MS, 60 s); a subject's change is a
 * `consent` request whose state machine waits out that bound (AwaitPropagation, 90 s) before it completes.
 */
import * as z from './zod';

export const PROCESSING_PURPOSES = ['analytics', 'ai'] as const;
export type ProcessingPurpose = (typeof PROCESSING_PURPOSES)[number];

/** A change of flags: `false` objects / withdraws consent, `true` allows the purpose again; absent: unchanged. */
export type ConsentChange = Readonly<Partial<Record<ProcessingPurpose, boolean>>>;

export const consentChangeSchema = z
  .strictObject({ analytics: z.optional(z.boolean()), ai: z.optional(z.boolean()) })
  .check(z.refine((change) => Object.keys(change).length > 0, `name at least one purpose: ${PROCESSING_PURPOSES.join(', ')}`));

/** The purposes turned off for a tenant, and per subject hash. */
export interface ConsentFlags {
  readonly tenantOff: ReadonlySet<ProcessingPurpose>;
  readonly subjectsOff: ReadonlyMap<string, ReadonlySet<ProcessingPurpose>>;
}

export const NO_OBJECTIONS: ConsentFlags = { tenantOff: new Set(), subjectsOff: new Map() };

/** One stored flag set (tenant-wide when `subjectHash` is absent). */
export interface ConsentEntry {
  readonly tenantId: string;
  readonly subjectHash?: string;
  readonly off: readonly ProcessingPurpose[];
  readonly updatedAt: string;
  /** `api-key:<id>`, `operator:<arn>`, or the request that set it. */
  readonly updatedBy: string;
}

/** The port the processor and the AI function read flags through (the Control table, consistent reads). */
export interface ConsentReader {
  consentFlags(tenantId: string): Promise<ConsentFlags>;
}

/** R-DSR-4: may a record that mentions `subjects` (keyed hashes) be processed for `purpose`? */
export function allowsPurpose(flags: ConsentFlags, purpose: ProcessingPurpose, subjects: readonly string[]): boolean {
  if (flags.tenantOff.has(purpose)) return false;
  return !subjects.some((hash) => flags.subjectsOff.get(hash)?.has(purpose) === true);
}

/** R-DSR-4, R-AI-*: the records that may go to AI (or any purpose): the AI function's one filter. */
export function forPurpose<T extends { readonly subjects: readonly string[]; readonly quarantined?: boolean }>(
  flags: ConsentFlags,
  purpose: ProcessingPurpose,
  records: readonly T[],
): T[] {
  // R-DSR-3: a quarantined record is out of everything sent to AI as well.
  return records.filter((record) => record.quarantined !== true && allowsPurpose(flags, purpose, record.subjects));
}

/** The purposes off after `change` is applied to `off`, in PROCESSING_PURPOSES order. */
export function applyConsentChange(off: Iterable<ProcessingPurpose>, change: ConsentChange): ProcessingPurpose[] {
  const next = new Set(off);
  for (const purpose of PROCESSING_PURPOSES) {
    if (change[purpose] === false) next.add(purpose);
    if (change[purpose] === true) next.delete(purpose);
  }
  return PROCESSING_PURPOSES.filter((purpose) => next.has(purpose));
}

/** Flags from stored entries. */
export function consentFlagsOf(entries: readonly ConsentEntry[]): ConsentFlags {
  const tenant = entries.find((entry) => entry.subjectHash === undefined);
  const subjectsOff = new Map<string, ReadonlySet<ProcessingPurpose>>();
  for (const entry of entries) if (entry.subjectHash !== undefined && entry.off.length > 0) subjectsOff.set(entry.subjectHash, new Set(entry.off));
  return { tenantOff: new Set(tenant?.off ?? []), subjectsOff };
}

/** What the API shows: every purpose with its state, tenant-wide and for each subject with a flag off. */
export interface ConsentView {
  readonly tenant: Readonly<Record<ProcessingPurpose, boolean>>;
  readonly subjects: readonly { readonly subjectHash: string; readonly purposes: Readonly<Record<ProcessingPurpose, boolean>> }[];
}

export function purposesView(off: ReadonlySet<ProcessingPurpose>): Record<ProcessingPurpose, boolean> {
  return Object.fromEntries(PROCESSING_PURPOSES.map((purpose) => [purpose, !off.has(purpose)])) as Record<ProcessingPurpose, boolean>;
}

export function consentViewOf(flags: ConsentFlags): ConsentView {
  return {
    tenant: purposesView(flags.tenantOff),
    subjects: [...flags.subjectsOff].sort(([a], [b]) => a.localeCompare(b)).map(([subjectHash, off]) => ({ subjectHash, purposes: purposesView(off) })),
  };
}

/** R-DSR-4: a change reaches every new event within the processor's cache (60 s) and a margin, as restrictions do. */
export const CONSENT_PROPAGATION_MS = 90_000;
