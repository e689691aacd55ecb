/**
 * Rectification (R-DSR-3): the corrections set in each record that mentions the subject, the record re-encrypted,
 * and its index entries moved to the identifiers it now holds. Each batch is journalled before anything is deleted.
 */
import { objectKeys } from '../keys';
import { applyCorrections, CORRECTIONS_PURPOSE, type Correction } from '../corrections';
import type { StoredEvent } from '../model';
import type { SubjectIndexEntry } from '../ports';
import { PermanentTaskError, type SubjectWorkflowState } from '../privacy';
import { EVENT_PURPOSE, eventName, indexAttributes, keepsInline, SUBJECT_KEY_PURPOSE } from '../processing';
import { DEFAULT_SUBJECT_PATHS, extractSubjects, hashSubject } from '../subjects';
import { addCounts, AuditedSubjectTasks, ERASE_BATCH, workArea, type Counts, type TaskContext } from './audited-tasks';

/**
 * A rectified batch, written to the work area before anything is deleted: if the task dies between deleting a
 * record's stale index entries (which takes the event item with them) and writing it back, the retry finds the
 * journal and finishes the write instead of losing the record.
 */
interface RectifyJournal {
  readonly cursor: number;
  readonly entries: readonly {
    readonly event: StoredEvent;
    readonly subjects: readonly SubjectIndexEntry[];
    readonly stale: readonly string[];
    /** The body to put under `event.body.objectKey` (base64), when it goes to S3. */
    readonly objectBody?: string;
    /** The object the old body was in, when the new body is inline (deleted with every version). */
    readonly oldObjectKey?: string;
  }[];
  readonly counts: Counts;
}

export class RectificationTasks extends AuditedSubjectTasks {
  /**
   * R-DSR-3: corrects the batch's records, re-encrypts them, and moves their index entries to the identifiers
   * they now hold (an identifier corrected away no longer finds the record).
   */
  rectifyRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('rectify-records', state, async (ctx) => {
      const s = ctx.state;
      const pending = await this.readJournal(s);
      const journal = pending ?? (await this.rectifiedBatch(ctx));
      if (!pending && journal.entries.length > 0) {
        await this.deps.exports.put(this.journalKey(s), Buffer.from(JSON.stringify(journal), 'utf8'), 'application/json');
      }
      await this.applyJournal(s, journal);
      if (journal.entries.length > 0) await this.deps.exports.deletePrefix(this.journalFolder(s));
      const { next } = await this.batch(s, ERASE_BATCH);
      return { next: { ...next, counts: addCounts(s.counts, journal.counts) }, detail: { ...journal.counts }, step: next.done === true };
    });
  }

  private async rectifiedBatch({ tenant, request, state }: TaskContext): Promise<RectifyJournal> {
    const { crypto, settings, store } = this.deps;
    if (!request.correctionsCiphertext) throw new PermanentTaskError(`Request ${state.requestId} holds no corrections`);
    const corrections = JSON.parse(
      Buffer.from(await crypto.decrypt(tenant, Buffer.from(request.correctionsCiphertext, 'base64'), CORRECTIONS_PURPOSE)).toString('utf8'),
    ) as Correction[];
    const subjectKey = await crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
    const { ids } = await this.batch(state, ERASE_BATCH);
    const events = this.mentioning(state, await store.getEvents(state.tenantId, ids));
    const entries: RectifyJournal['entries'][number][] = [];
    let unchanged = 0;
    for (const stored of events) {
      const original = await this.decryptEvent(tenant, stored);
      const { value: corrected, changed } = applyCorrections(original, corrections);
      if (!changed) {
        unchanged += 1;
        continue;
      }
      const hashes = [
        ...new Set(extractSubjects(corrected, tenant.subjectPaths ?? DEFAULT_SUBJECT_PATHS).map((x) => hashSubject(subjectKey, x.kind, x.value))),
      ];
      const ciphertext = await crypto.encrypt(tenant, Buffer.from(JSON.stringify(corrected), 'utf8'), EVENT_PURPOSE, stored.eventId);
      const objectKey = objectKeys.payload(tenant.tenantId, stored.eventId);
      const rectified = { ...stored, name: eventName(corrected), attributes: indexAttributes(corrected), subjects: hashes };
      const inline: StoredEvent = { ...rectified, body: { inline: Buffer.from(ciphertext).toString('base64') } };
      // R-ING-7: as the processor decides, so a correction that makes the item too large moves its body to S3.
      const toObject = !keepsInline(store, settings, inline, ciphertext);
      const event: StoredEvent = toObject ? { ...rectified, body: { objectKey } } : inline;
      entries.push({
        event,
        subjects: hashes.map((subjectHash) => ({ tenantId: tenant.tenantId, subjectHash, eventId: stored.eventId, expiresAt: stored.expiresAt })),
        stale: stored.subjects.filter((h) => !hashes.includes(h)),
        ...(toObject ? { objectBody: Buffer.from(ciphertext).toString('base64') } : {}),
        ...(!toObject && 'objectKey' in stored.body ? { oldObjectKey: stored.body.objectKey } : {}),
      });
    }
    const counts = {
      rectified: entries.length,
      unchanged,
      indexEntriesRemoved: entries.reduce((sum, e) => sum + e.stale.length, 0),
    };
    return { cursor: state.cursor ?? 0, entries, counts };
  }

  /** Idempotent: replaying a journal that was (partly) applied leaves the same records. */
  private async applyJournal(state: SubjectWorkflowState, journal: RectifyJournal): Promise<void> {
    const { payloads, store } = this.deps;
    if (journal.entries.length === 0) return;
    for (const entry of journal.entries) {
      if (entry.objectBody === undefined || !('objectKey' in entry.event.body)) continue;
      // Every older version goes first: the uncorrected ciphertext must not stay readable behind the new one.
      await payloads.delete([entry.event.body.objectKey]);
      await payloads.put(entry.event.body.objectKey, Buffer.from(entry.objectBody, 'base64'));
    }
    const withStale = journal.entries.filter((e) => e.stale.length > 0);
    if (withStale.length > 0) {
      await store.deleteEvents(withStale.map((e) => ({ tenantId: state.tenantId, eventId: e.event.eventId, subjects: e.stale })));
    }
    await store.putEvents(
      journal.entries.map((e) => e.event),
      journal.entries.flatMap((e) => e.subjects),
    );
    const oldObjects = journal.entries.flatMap((e) => (e.oldObjectKey ? [e.oldObjectKey] : []));
    if (oldObjects.length > 0) await payloads.delete(oldObjects);
  }

  private async readJournal(state: SubjectWorkflowState): Promise<RectifyJournal | undefined> {
    const body = await this.deps.exports.get(this.journalKey(state));
    if (!body) return undefined;
    const journal = JSON.parse(Buffer.from(body).toString('utf8')) as RectifyJournal;
    return journal.cursor === (state.cursor ?? 0) ? journal : undefined;
  }

  /** One folder per batch: a document store deletes by prefix only. */
  private journalFolder(state: SubjectWorkflowState): string {
    return `${workArea(state)}rectify-${String(state.cursor ?? 0).padStart(9, '0')}/`;
  }

  private journalKey(state: SubjectWorkflowState): string {
    return `${this.journalFolder(state)}journal.json`;
  }
}
