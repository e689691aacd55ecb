/**
 * R-BILL-2: the processor's part of usage counting, kept apart from the processing pipeline (lambdas/domain/
 * processing.ts calls these two functions and nothing else of billing). One mark per fresh event, written before the
 * event: a mark is named by (tenant, UTC day received, event id), so writing it again on a retry is writing it once,
 * and anything stored has its mark even when a later take-back fails. A mark that cannot be written leaves its events
 * unwritten and retried; a record refused for good (the DLQ) has its mark taken back; redriven, it is marked again
 * under the same name.
 */
import { isDrainMarker } from './drain-marker';
import type { StoredEvent } from './model';
import { eventUsageMark, type UsageMark, type UsageMarks } from './usage';

export type { UsageMarks } from './usage';

interface Markable {
  readonly recordId: string;
  readonly stored: StoredEvent;
  /** The event's plaintext JSON size in bytes (processing.ts measures it once, where it encrypts the event). */
  readonly plaintextBytes: number;
}

/** Bytes stored are the event's plaintext JSON size: what the tenant sent, independent of encryption overhead. */
const markOf = (p: Markable): UsageMark => eventUsageMark(p.stored, p.plaintextBytes);

/** Returns the records that may be written: all of them, or none (retried) when the marks could not be written. */
export async function markUsage<P extends Markable>(usage: UsageMarks | undefined, prepared: readonly P[], outcome: { readonly retry: string[] }): Promise<P[]> {
  if (!usage) return [...prepared];
  try {
    // A termination's drain marker is the platform's own event, not the tenant's usage (R-TERM-1).
    const billable = prepared.filter((p) => !isDrainMarker(p.stored));
    if (billable.length > 0) await usage.record(billable.map(markOf));
    return [...prepared];
  } catch {
    outcome.retry.push(...prepared.map((p) => p.recordId));
    return [];
  }
}

/**
 * Marks of records refused for good are taken back. Best effort: if this fails too, the dead-lettered event stays
 * counted (a redrive stores it under the same mark).
 */
export async function forgetRefusedMarks(usage: UsageMarks | undefined, marked: readonly Markable[], outcome: { readonly rejected: readonly { readonly id: string }[] }): Promise<void> {
  if (!usage || outcome.rejected.length === 0) return;
  const refused = new Set(outcome.rejected.map((r) => r.id));
  const marks = marked.filter((p) => refused.has(p.recordId) && !isDrainMarker(p.stored)).map(markOf);
  if (marks.length > 0) await usage.forget(marks).catch(() => undefined);
}
