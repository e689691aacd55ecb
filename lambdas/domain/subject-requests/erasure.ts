/**
 * Erasure (R-DSR-2): the subject's records deleted whole, its earlier exports with them, the erasure verified by the
 * query that located them, and a signed deletion record that outlives every purge.
 */
import { objectKeys } from '../keys';
import { DEFAULT_BACKUP_FACTS, signDeletionDocument, subjectRemainingCopies, type SubjectDeletionRecord } from '../deletion-records';
import { PermanentTaskError, type SubjectWorkflowState } from '../privacy';
import type { StoredEvent } from '../model';
import { addCounts, AuditedSubjectTasks, ERASE_BATCH, workArea } from './audited-tasks';

/**
 * R-DSR-2: how long the processor remembers an erasure. A record can reach the processor at most the event source's
 * maximum record age (lib/config.ts, 7 days at most) after it was received; a day is added for clock skew.
 */
export const ERASURE_MARKER_DAYS = 8;

export class ErasureTasks extends AuditedSubjectTasks {
  /**
   * R-DSR-2: a record that mentions the subject is the subject's record and is deleted whole (item, every index
   * entry, payload object with every version); records that no longer mention it keep everything but the
   * subject's stale index entry.
   */
  eraseRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('erase-records', state, async ({ state: s }) => {
      const { ids, next } = await this.batch(s, ERASE_BATCH);
      const found = await this.deps.store.getEvents(s.tenantId, ids);
      const mine = this.mentioning(s, found);
      const others = found.filter((e) => !e.subjects.includes(s.subjectHash));
      const gone = ids.filter((id) => !found.some((e) => e.eventId === id));

      const objects = mine.flatMap((e) => ('objectKey' in e.body ? [e.body.objectKey] : []));
      // Issue 11: crash-safe in any order. The batch's records with every subject they name are journalled first
      // (verification sweeps them), then every index entry goes, then the payloads, and the items last: a retry
      // after a crash anywhere still finds each item that has entries left, with its subject list.
      if (mine.length > 0) await this.journal(s, mine);
      await this.deleteIndexEntries(s.tenantId, mine);
      if (objects.length > 0) await this.deps.payloads.delete(objects);
      if (mine.length > 0) await this.deps.store.deleteEvents(mine.map((e) => ({ tenantId: e.tenantId, eventId: e.eventId, subjects: [] })));
      // An id whose event is gone (expired, erased by an earlier pass), or whose record no longer mentions the subject
      // (a stale entry), still has this subject's index entry to remove; the record itself stays.
      const stale = [...gone, ...others.map((e) => e.eventId)];
      if (stale.length > 0) await this.deps.store.deleteSubjectEntries(s.tenantId, s.subjectHash, stale);

      const batch = {
        events: mine.length,
        subjectIndexEntries: mine.reduce((sum, e) => sum + e.subjects.length, 0) + gone.length + others.length,
        payloadObjects: objects.length,
      };
      return { next: { ...next, counts: addCounts(s.counts, batch) }, detail: batch, step: next.done === true };
    });
  }

  /** Every subject index entry of these records, of every subject they name. */
  private async deleteIndexEntries(tenantId: string, events: readonly StoredEvent[]): Promise<void> {
    const bySubject = new Map<string, string[]>();
    for (const event of events) for (const hash of event.subjects) bySubject.set(hash, [...(bySubject.get(hash) ?? []), event.eventId]);
    for (const [hash, ids] of bySubject) await this.deps.store.deleteSubjectEntries(tenantId, hash, ids);
  }

  /** The erased records and their subjects, per batch, in the work area (deleted with it once the record is signed). */
  private async journal(state: SubjectWorkflowState, events: readonly StoredEvent[]): Promise<void> {
    const entries = events.map((e) => ({ eventId: e.eventId, subjects: e.subjects }));
    const key = `${workArea(state)}erased/pass-${state.pass ?? 0}-at-${state.cursor ?? 0}.json`;
    await this.deps.exports.put(key, Buffer.from(JSON.stringify(entries), 'utf8'), 'application/json');
  }

  /**
   * Every (subject, event) the journals name: the sweep removes any such index entry still there, and any journalled
   * item still there (a crash or a failed delete after its entries went). Returns what it swept, and how many items
   * remain even so (they fail this pass's verification).
   */
  private async sweep(state: SubjectWorkflowState): Promise<{ swept: number; itemsLeft: number }> {
    const bySubject = new Map<string, Set<string>>();
    const erasedIds = new Set<string>();
    for (const key of await this.deps.exports.list(`${workArea(state)}erased/`)) {
      const body = await this.deps.exports.get(key);
      const entries = body ? (JSON.parse(Buffer.from(body).toString('utf8')) as { eventId: string; subjects: string[] }[]) : [];
      for (const { eventId, subjects } of entries) {
        erasedIds.add(eventId);
        for (const hash of subjects) bySubject.set(hash, (bySubject.get(hash) ?? new Set()).add(eventId));
      }
    }
    let swept = 0;
    for (const [hash, erased] of bySubject) {
      const left = (await this.deps.store.subjectEventIds(state.tenantId, hash)).filter((id) => erased.has(id));
      if (left.length > 0) await this.deps.store.deleteSubjectEntries(state.tenantId, hash, left);
      swept += left.length;
    }
    const items = await this.deps.store.getEvents(state.tenantId, [...erasedIds]);
    if (items.length > 0) {
      const objects = items.flatMap((e) => ('objectKey' in e.body ? [e.body.objectKey] : []));
      if (objects.length > 0) await this.deps.payloads.delete(objects);
      await this.deps.store.deleteEvents(items.map((e) => ({ tenantId: e.tenantId, eventId: e.eventId, subjects: [] })));
      swept += items.length;
    }
    const itemsLeft = items.length > 0 ? (await this.deps.store.getEvents(state.tenantId, items.map((e) => e.eventId))).length : 0;
    return { swept, itemsLeft };
  }

  /**
   * R-DSR-2: earlier exports of this subject are its data too, and so are the AI conversations whose tool results
   * drew on the subject's records (R-AI-5).
   */
  eraseExports(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('erase-exports', state, async ({ state: s }) => {
      const exports = await this.deps.exports.deletePrefix(objectKeys.subjectExports(s.tenantId, s.subjectHash));
      const aiConversations = (await this.deps.ai?.eraseSubject(s.tenantId, s.subjectHash)) ?? 0;
      return { next: { ...s, counts: addCounts(s.counts, { exports, aiConversations }) }, detail: { exports, aiConversations } };
    });
  }

  /**
   * R-DSR-2: proof by the same consistent query that located the records. Nothing received up to the request may
   * remain: no record, and no index entry left behind. Records received after the request are new processing by the
   * controller; they are erased when a pass finds them but do not fail the verification (events still in the stream
   * from before the request are dropped by the processor, which honours the erasure marker).
   */
  verifyErasure(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('verify-erasure', state, async ({ state: s }) => {
      // Issue 11: every other subject of the erased records is swept too: no index entry points at an erased event.
      const { swept, itemsLeft } = await this.sweep(s);
      const ids = await this.deps.store.subjectEventIds(s.tenantId, s.subjectHash);
      const events = await this.deps.store.getEvents(s.tenantId, ids);
      const receivedBy = Date.parse(s.receivedAt);
      const later = events.filter((e) => e.subjects.includes(s.subjectHash) && Date.parse(e.receivedAt) > receivedBy).length;
      const remaining = ids.length - later + itemsLeft;
      return {
        next: { ...s, remaining, counts: { ...s.counts, receivedAfterRequest: later, sweptIndexEntries: (s.counts?.sweptIndexEntries ?? 0) + swept } },
        detail: { remaining, receivedAfterRequest: later, pass: s.pass ?? 0, swept },
      };
    });
  }

  /** R-DSR-2: the deletion record, signed, in the records bucket (outside every tenant prefix and purge). */
  signDeletionRecord(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('sign-deletion-record', state, async ({ state: s, request, now }) => {
      if (s.remaining !== 0) throw new PermanentTaskError('The erasure was not verified: no deletion record is signed for it');
      const document: SubjectDeletionRecord = {
        kind: 'lumiqo.subject-erasure.v1',
        tenantId: s.tenantId,
        requestId: s.requestId,
        subjectHash: s.subjectHash,
        receivedAt: s.receivedAt,
        completedAt: now.toISOString(),
        deleted: {
          events: s.counts?.events ?? 0,
          subjectIndexEntries: s.counts?.subjectIndexEntries ?? 0,
          payloadObjects: s.counts?.payloadObjects ?? 0,
          exports: s.counts?.exports ?? 0,
        },
        verification: {
          method: 'consistent read of the subject index partition: no record received up to the request remains',
          remaining: 0,
          receivedAfterRequest: s.counts?.receivedAfterRequest ?? 0,
          verifiedAt: now.toISOString(),
        },
        remainingCopies: subjectRemainingCopies(new Date(s.receivedAt), now, this.deps.backupFacts ?? DEFAULT_BACKUP_FACTS),
      };
      const signed = await signDeletionDocument(document, this.deps.signer);
      const key = objectKeys.deletionRecord(s.tenantId, s.requestId);
      await this.deps.records.put(key, Buffer.from(JSON.stringify(signed, null, 2), 'utf8'), 'application/json');
      await this.deleteWorkArea(s);
      return { next: s, detail: { signedBy: signed.signature.keyId }, patch: { result: { ...request.result, deletionRecordKey: key } } };
    });
  }
}
