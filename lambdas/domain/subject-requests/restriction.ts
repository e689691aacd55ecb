/**
 * Restriction and its lifting (R-DSR-3): while a subject is restricted the processor quarantines its new events and
 * its stored records are out of every read, rollup and AI tool; lifting releases them unless another subject they
 * mention is still restricted.
 */
import type { StoredEvent } from '../model';
import type { SubjectWorkflowState } from '../privacy';
import { rollupDeltas } from '../rollups';
import { addCounts, AuditedSubjectTasks, ERASE_BATCH } from './audited-tasks';

export class RestrictionTasks extends AuditedSubjectTasks {
  /** R-DSR-3: from now on the processor quarantines new events that mention the subject. */
  restrict(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('restrict', state, async ({ state: s, now }) => {
      await this.deps.requests.restrict(s.tenantId, s.subjectHash, s.requestId, now.toISOString());
      return { next: s };
    });
  }

  /** R-DSR-3: records already stored are taken out of every read, rollup and AI tool (they were counted already). */
  quarantineRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('quarantine-records', state, async ({ state: s }) => {
      const { ids, next } = await this.batch(s, ERASE_BATCH);
      const events = this.mentioning(s, await this.deps.store.getEvents(s.tenantId, ids)).filter((e) => e.quarantined !== true);
      if (events.length > 0) await this.deps.store.putEvents(events.map((e) => ({ ...e, quarantined: true, rollupPending: false })), []);
      return {
        next: { ...next, counts: addCounts(s.counts, { quarantined: events.length }) },
        detail: { quarantined: events.length },
        step: next.done === true,
      };
    });
  }

  liftRestriction(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('lift-restriction', state, async ({ state: s }) => {
      await this.deps.requests.unrestrict(s.tenantId, s.subjectHash);
      return { next: s };
    });
  }

  /**
   * R-DSR-3: quarantined records come back, unless another subject they mention is still restricted. One that was
   * quarantined on arrival adds its rollup contribution first, so rollups count it exactly once.
   */
  releaseRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('release-records', state, async ({ state: s, tenant }) => {
      const { ids, next } = await this.batch(s, ERASE_BATCH);
      const quarantined = this.mentioning(s, await this.deps.store.getEvents(s.tenantId, ids)).filter((e) => e.quarantined === true);
      const restricted = await this.deps.requests.restrictedSubjects(s.tenantId);
      const held = quarantined.filter((e) => e.subjects.some((h) => h !== s.subjectHash && restricted.has(h)));
      const release = quarantined.filter((e) => !held.includes(e));
      const pending = release.filter((e) => e.rollupPending === true);
      if (pending.length > 0) {
        const items = await Promise.all(pending.map(async (e) => ({ tenantId: s.tenantId, event: await this.decryptEvent(tenant, e), expiresAt: e.expiresAt })));
        await this.deps.store.applyRollups(rollupDeltas(items));
      }
      if (release.length > 0) await this.deps.store.putEvents(release.map(unquarantined), []);
      const batch = { released: release.length, stillRestricted: held.length, rollupsApplied: pending.length };
      return { next: { ...next, counts: addCounts(s.counts, batch) }, detail: batch, step: next.done === true };
    });
  }
}

/** A released record as the processor writes an ordinary one: no quarantine flags. */
function unquarantined(event: StoredEvent): StoredEvent {
  const { quarantined: _q, rollupPending: _r, ...rest } = event;
  return rest;
}
