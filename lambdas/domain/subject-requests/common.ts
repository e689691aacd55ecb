/**
 * The tasks every data-subject workflow runs (R-DSR-1, R-DSR-5, R-SEC-6): `locate` writes the subject's work list,
 * `complete` ends the request, `record-failure` is where every Catch leads, and `check-deadlines` counts the
 * requests past their due date for the hourly alarm.
 */
import { objectKeys } from '../keys';
import type { SubjectWorkflowState } from '../privacy';
import { AuditedSubjectTasks, errorName, isWorkflowState, WORKFLOW_ACTOR } from './audited-tasks';
import { ERASURE_MARKER_DAYS } from './erasure';

export class CommonTasks extends AuditedSubjectTasks {
  /** R-DSR-1: the subject's event ids from its index partition, written as the work list of this pass. */
  locate(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('locate', state, async ({ state: s, now }) => {
      if (s.type === 'erasure') {
        // Before the records are located: from here on, the processor drops what the stream still holds of them.
        const expiresAt = Math.ceil(now.getTime() / 1000) + ERASURE_MARKER_DAYS * 24 * 3600;
        await this.deps.requests.markErased(s.tenantId, s.subjectHash, s.receivedAt, expiresAt);
      }
      const ids = [...new Set(await this.deps.store.subjectEventIds(s.tenantId, s.subjectHash))];
      const key = objectKeys.worklist(s.tenantId, s.requestId);
      await this.deps.exports.put(key, Buffer.from(JSON.stringify(ids), 'utf8'), 'application/json');
      const pass = (s.pass ?? 0) + 1;
      return {
        next: { ...s, worklist: { key, count: ids.length }, cursor: 0, done: ids.length === 0, pass },
        detail: { located: ids.length, pass },
      };
    });
  }

  /** R-DSR-5: the request is done; the work list goes (an access request's export stays for the subject). */
  complete(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('complete', state, async ({ state: s, request, now }) => {
      await this.deleteWorkArea(s);
      const counts = s.counts ?? {};
      return {
        next: s,
        detail: { ...counts },
        patch: { status: 'completed', completedAt: now.toISOString(), result: { ...request.result, counts } },
      };
    });
  }

  /**
   * The Catch of every task leads here: the request is failed (and stays on the open list, so the deadline alarm
   * reaches an operator). Only the error's name is kept: a Cause may quote data.
   */
  async recordFailure(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    const { requests, audit, clock } = this.deps;
    // Nothing can be recorded against a state that names no tenant; the execution still ends in its Fail state.
    if (!isWorkflowState(state)) return state;
    const at = clock.now().toISOString();
    const error = errorName(state.error?.Error);
    const request = await requests.get(state.tenantId, state.requestId).catch(() => undefined);
    if (request) {
      await requests.update(state.tenantId, state.requestId, { name: 'record-failure', at, outcome: 'failure', detail: { error } }, { status: 'failed', failure: { error, at } });
    }
    await audit.record({
      tenantId: state.tenantId,
      at,
      actor: WORKFLOW_ACTOR,
      action: `privacy.${state.type}.record-failure`,
      target: state.requestId,
      subjectHash: state.subjectHash,
      outcome: 'failure',
      detail: { error, ...(request ? {} : { requestFound: false }) },
    });
    return state;
  }

  /** R-DSR-5: how many open requests are past their due date (the handler turns it into the alarm's metric). */
  async checkDeadlines(): Promise<number> {
    const overdue = await this.deps.requests.overdue(this.deps.clock.now().toISOString());
    return overdue.length;
  }
}
