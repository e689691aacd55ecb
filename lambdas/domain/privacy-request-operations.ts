/**
 * What an operator does with a failed data-subject request (R-DSR-5, R-SEC-6): retry it (a new execution of its
 * state machine, from its first state: every task is idempotent), or close it with a stated reason (answered outside
 * the platform, withdrawn, a duplicate, manifestly unfounded: GDPR Art. 12(5)). A closed request leaves the open list,
 * so its deadline no longer alarms. Both are audited with the subject hash, and recorded as a step.
 */
import * as z from './zod';
import { DomainError } from './model';
import type { AuditLog, Clock, PrivacyRequestStore, WorkflowStarter } from './ports';
import type { PrivacyRequestRecord, SubjectWorkflowState } from './privacy';
import { parse } from './validation';

export const CLOSE_REASONS = ['answered-outside-platform', 'withdrawn-by-subject', 'duplicate', 'manifestly-unfounded'] as const;
const closeSchema = z.strictObject({ reason: z.enum(CLOSE_REASONS) });

export const RETRY_STEP = 'operator-retry';
export const CLOSE_STEP = 'operator-close';

export interface PrivacyRequestOperationsDeps {
  readonly requests: PrivacyRequestStore;
  readonly workflows: WorkflowStarter;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

export class PrivacyRequestOperations {
  constructor(private readonly deps: PrivacyRequestOperationsDeps) {}

  /** A failed request runs again under a new execution name (`<requestId>-retry-<n>`); anything else → 409. */
  async retry(actor: string, tenantId: string, requestId: string): Promise<PrivacyRequestRecord> {
    return this.operate(actor, 'retry', tenantId, requestId, async (record, at) => {
      const attempt = record.steps.filter((s) => s.name === RETRY_STEP).length + 1;
      const state: SubjectWorkflowState = { tenantId, requestId, type: record.type, subjectHash: record.subjectHash, receivedAt: record.receivedAt };
      await this.deps.requests.update(tenantId, requestId, { name: RETRY_STEP, at, outcome: 'success', detail: { attempt } }, { status: 'received' });
      const { executionId } = await this.deps.workflows.start(record.type, `${requestId}-retry-${attempt}`, state);
      await this.deps.requests.update(tenantId, requestId, { name: 'started', at, outcome: 'success', detail: { executionId } }, { executionId });
      return { attempt };
    });
  }

  /** A failed request is closed with a reason: off the open list, never completed. */
  async close(actor: string, tenantId: string, requestId: string, body: unknown): Promise<PrivacyRequestRecord> {
    const { reason } = parse(closeSchema, body);
    return this.operate(actor, 'close', tenantId, requestId, async (_record, at) => {
      await this.deps.requests.update(tenantId, requestId, { name: CLOSE_STEP, at, outcome: 'success', detail: { reason } }, { status: 'closed', completedAt: at });
      return { reason };
    });
  }

  private async operate(
    actor: string,
    operation: 'retry' | 'close',
    tenantId: string,
    requestId: string,
    work: (record: PrivacyRequestRecord, at: string) => Promise<Record<string, string | number>>,
  ): Promise<PrivacyRequestRecord> {
    const record = await this.deps.requests.get(tenantId, requestId).catch(() => undefined);
    if (!record) throw new DomainError('not_found', `No privacy request '${requestId}'`, 404);
    const at = this.deps.clock.now().toISOString();
    const audit = (outcome: 'success' | 'failure', detail: Record<string, string | number>) =>
      this.deps.audit.record({ tenantId, at, actor, action: `privacy.request.${operation}`, target: requestId, subjectHash: record.subjectHash, outcome, detail });
    if (record.status !== 'failed') {
      await audit('failure', { error: 'conflict', status: record.status });
      throw new DomainError('conflict', `Request ${requestId} is ${record.status}: only a failed request can be retried or closed`, 409);
    }
    const detail = await work(record, at);
    await audit('success', detail);
    return (await this.deps.requests.get(tenantId, requestId))!;
  }
}
