/**
 * Consent and objection of one subject (R-DSR-4): the `consent` request's only task sets the subject's flags; its
 * state machine then waits out the processor's cache (AwaitPropagation) before it completes, so a completed request
 * means every new event already sees the change. Semantics of each purpose: domain/consent.ts.
 */
import { applyConsentChange } from '../consent';
import type { SubjectWorkflowState } from '../privacy';
import { PermanentTaskError } from '../privacy';
import { AuditedSubjectTasks } from './audited-tasks';

export class ConsentTasks extends AuditedSubjectTasks {
  setConsent(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('set-consent', state, async ({ state: s, request, now }) => {
      if (!request.consent) throw new PermanentTaskError(`Request ${s.requestId} names no purposes`);
      const current = (await this.deps.requests.consentFlags(s.tenantId)).subjectsOff.get(s.subjectHash) ?? [];
      const off = applyConsentChange(current, request.consent);
      await this.deps.requests.setConsent({ tenantId: s.tenantId, subjectHash: s.subjectHash, off, updatedAt: now.toISOString(), updatedBy: s.requestId });
      const detail = Object.fromEntries(Object.entries(request.consent).map(([purpose, allowed]) => [purpose, allowed === true]));
      return { next: s, detail };
    });
  }
}
