/**
 * What every task of the data-subject state machines shares (R-SEC-6, R-DSR-5): the wrapper that checks the state
 * against its request, audits the call with the subject's hash and records the request's step; and the work list
 * that `locate` writes and the batch loops read one batch per call, so no call grows with the subject's data.
 */
import type { AiStore } from '../ai/ports';
import { objectKeys, TENANT_ID_PATTERN } from '../keys';
import type { RuntimeSettings } from '../settings';
import type { PlatformEvent, StoredEvent, Tenant } from '../model';
import type { AuditLog, Clock, DocumentSigner, DocumentStore, EventStore, PayloadStore, PrivacyRequestStore, TenantCrypto, TenantDirectory } from '../ports';
import { PermanentTaskError, type PrivacyRequestRecord, type PrivacyStep, type SubjectTask, type SubjectWorkflowState } from '../privacy';
import { decryptStoredEvent } from '../export-lines';
import type { BackupFacts } from '../deletion-records';

/** Events per batch of every task that writes or deletes (one BatchWrite round per 25, a few seconds at most). */
export const ERASE_BATCH = 200;
/** The audit actor of every task (R-SEC-6). */
export const WORKFLOW_ACTOR = 'system:privacy-workflow';

export interface SubjectRequestTasksDeps {
  readonly directory: TenantDirectory;
  readonly requests: PrivacyRequestStore;
  readonly store: EventStore;
  readonly payloads: PayloadStore;
  readonly crypto: TenantCrypto;
  readonly audit: AuditLog;
  /** Exports bucket: export parts and manifests, work lists. */
  readonly exports: DocumentStore;
  /** Records bucket: signed deletion records. */
  readonly records: DocumentStore;
  readonly signer: DocumentSigner;
  /** R-DSR-2: the AI assistant's conversations that drew on a subject's records. */
  readonly ai?: Pick<AiStore, 'eraseSubject'>;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  /** Retention of the copies a deletion record names (R-DSR-2). @default DEFAULT_BACKUP_FACTS */
  readonly backupFacts?: BackupFacts;
}

type Detail = Record<string, string | number | boolean>;
export type Counts = Readonly<Record<string, number>>;

/** What a task's body hands back to the wrapper that audits it and records the request's step. */
export interface TaskOutcome {
  readonly next: SubjectWorkflowState;
  /** Audit detail of this call (counts of this batch). */
  readonly detail?: Detail;
  /** Append a step to the request (loop tasks do so once, when the loop is done). @default true */
  readonly step?: boolean;
  readonly patch?: Parameters<PrivacyRequestStore['update']>[3];
}

export interface TaskContext {
  readonly tenant: Tenant;
  readonly request: PrivacyRequestRecord;
  readonly state: SubjectWorkflowState;
  readonly now: Date;
}

/**
 * The base of each workflow's tasks. A task throws PermanentTaskError when a retry cannot help (unknown request or
 * tenant); every other error is retried by the state machine, then caught and recorded by `record-failure`.
 */
export abstract class AuditedSubjectTasks {
  constructor(protected readonly deps: SubjectRequestTasksDeps) {}

  /** Audits the task (R-SEC-6), appends the request's step, and marks a received request running. */
  protected async run(task: SubjectTask, state: SubjectWorkflowState, work: (ctx: TaskContext) => Promise<TaskOutcome>): Promise<SubjectWorkflowState> {
    const action = `privacy.${state?.type}.${task}`;
    try {
      const ctx = await this.context(state);
      const outcome = await work(ctx);
      const at = this.deps.clock.now().toISOString();
      if (outcome.step !== false || outcome.patch) {
        const step: PrivacyStep = { name: task, at, outcome: 'success', ...(outcome.detail ? { detail: outcome.detail } : {}) };
        const status = ctx.request.status === 'received' ? { status: 'running' as const } : {};
        await this.deps.requests.update(state.tenantId, state.requestId, step, { ...status, ...outcome.patch });
      }
      await this.deps.audit.record({
        tenantId: state.tenantId,
        at,
        actor: WORKFLOW_ACTOR,
        action,
        target: state.requestId,
        subjectHash: state.subjectHash,
        outcome: 'success',
        ...(outcome.detail ? { detail: outcome.detail } : {}),
      });
      return outcome.next;
    } catch (error) {
      await this.deps.audit
        .record({
          tenantId: state.tenantId,
          at: this.deps.clock.now().toISOString(),
          actor: WORKFLOW_ACTOR,
          action,
          target: state.requestId,
          subjectHash: state.subjectHash,
          outcome: 'failure',
          detail: { error: errorName((error as Error)?.name) },
        })
        .catch(() => undefined); // the task's own error is the one to report
      throw error;
    }
  }

  /**
   * The request and tenant behind a state. The state must name the request's own subject and type: a state that
   * disagrees with the stored request is refused rather than acted on.
   */
  private async context(state: SubjectWorkflowState): Promise<TaskContext> {
    if (!isWorkflowState(state)) throw new PermanentTaskError('The state names no request');
    const tenant = await this.deps.directory.getTenant(state.tenantId);
    if (!tenant) throw new PermanentTaskError(`Unknown tenant in request ${state.requestId}`);
    if (tenant.status === 'terminated') throw new PermanentTaskError(`The tenant of request ${state.requestId} is terminated`);
    const request = await this.deps.requests.get(state.tenantId, state.requestId);
    if (!request) throw new PermanentTaskError(`Unknown request ${state.requestId}`);
    if (request.subjectHash !== state.subjectHash || request.type !== state.type) {
      throw new PermanentTaskError(`The state does not match request ${state.requestId}`);
    }
    return { tenant, request, state, now: this.deps.clock.now() };
  }

  /** The next batch of the work list, and the state after it. */
  protected async batch(state: SubjectWorkflowState, size: number): Promise<{ ids: string[]; next: SubjectWorkflowState }> {
    const ids = await this.worklist(state);
    const cursor = Math.min(state.cursor ?? 0, ids.length);
    const end = Math.min(cursor + size, ids.length);
    return { ids: ids.slice(cursor, end), next: { ...state, cursor: end, done: end >= ids.length } };
  }

  private async worklist(state: SubjectWorkflowState): Promise<string[]> {
    if (!state.worklist) throw new PermanentTaskError('The state has no work list: locate must run first');
    const body = await this.deps.exports.get(state.worklist.key);
    if (!body) throw new PermanentTaskError(`The work list of request ${state.requestId} is gone`);
    const ids: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new PermanentTaskError('The work list is not a list of ids');
    return ids;
  }

  /** Only records whose own subject list holds the hash: an index entry left stale must not widen the request. */
  protected mentioning(state: SubjectWorkflowState, events: readonly StoredEvent[]): StoredEvent[] {
    return events.filter((e) => e.subjects.includes(state.subjectHash));
  }

  protected async decryptEvent(tenant: Tenant, stored: StoredEvent): Promise<PlatformEvent> {
    const event = await decryptStoredEvent(this.deps, tenant, stored);
    if (!event) throw new Error(`Payload object missing for event ${stored.eventId}`);
    return event;
  }

  protected async deleteWorkArea(state: SubjectWorkflowState): Promise<void> {
    await this.deps.exports.deletePrefix(workArea(state));
  }
}

export function isWorkflowState(state: SubjectWorkflowState | undefined): state is SubjectWorkflowState {
  return (
    typeof state === 'object' &&
    state !== null &&
    typeof state.tenantId === 'string' &&
    TENANT_ID_PATTERN.test(state.tenantId) &&
    typeof state.requestId === 'string' &&
    typeof state.subjectHash === 'string'
  );
}

/** The folder of the request's work list (objectKeys.worklist), where its journals live too. */
export function workArea(state: Pick<SubjectWorkflowState, 'tenantId' | 'requestId'>): string {
  const worklist = objectKeys.worklist(state.tenantId, state.requestId);
  return worklist.slice(0, worklist.lastIndexOf('/') + 1);
}

export function addCounts(base: Counts | undefined, add: Counts): Counts {
  const sum: Record<string, number> = { ...base };
  for (const [name, n] of Object.entries(add)) sum[name] = (sum[name] ?? 0) + n;
  return sum;
}

/** An error name as Step Functions reports it (`States.TaskFailed`, `PermanentTaskError`…), bounded. */
export function errorName(name: string | undefined): string {
  return typeof name === 'string' && /^[\w.:-]{1,128}$/.test(name) ? name : 'UnknownError';
}
