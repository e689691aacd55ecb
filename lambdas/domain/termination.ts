/**
 * Tenant termination, operator side (R-TERM-1..5): starts the termination workflow and reports where it stands.
 * The work itself is done by the termination state machine's tasks (termination-tasks.ts). Every start, accepted
 * or refused, is audited (R-SEC-6).
 */
import * as z from './zod';
import { TENANT_ID_PATTERN } from './keys';
import { requireTenant } from './tenants';
import { readSignedDocument, type SignedDeletionDocument, type TenantDeletionCertificate } from './deletion-records';
import { EXPORT_LINK_SECONDS, presignExport } from './export-lines';
import { newId } from './ids';
import { DomainError, type Tenant } from './model';
import type { AuditLog, Clock, DocumentStore, PrivacyRequestStore, TenantDirectory, WorkflowStarter } from './ports';
import type { PrivacyStep, TerminationElection, TerminationRecord, TerminationStage, TerminationWorkflowState } from './privacy';
import { parse } from './validation';

/** The termination page shows links to at most this many export parts; the manifest lists every part. */
export const EXPORT_VIEW_PARTS = 100;
/** A record that names no execution this long after the request is taken as a start that crashed half-way. */
export const UNCLAIMED_GRACE_MS = 15 * 60_000;
export const SWEEPER_ACTOR = 'system:termination-sweeper';
/** Stages from which a reset may start over: nothing has been deleted yet (R-TERM-3). */
const RESETTABLE: readonly (TerminationStage | undefined)[] = [undefined, 'freeze', 'drain', 'flush', 'export', 'manifest', 'await-window'];

/** What one sweep found and did, by tenant id. */
export interface SweepOutcome {
  readonly checked: number;
  readonly resumed: string[];
  readonly purgeStarted: string[];
  readonly closed: string[];
  /** Failed terminations wait for an operator (resume or reset); they are counted, not retried. */
  readonly failed: string[];
  readonly errors: string[];
}

export const startTerminationSchema = z.strictObject({
  // R-TERM-3: the controller may elect deletion without the export window.
  election: z._default(z.enum(['export-then-delete', 'immediate']), 'export-then-delete'),
});

export interface TerminationDeps {
  readonly directory: TenantDirectory;
  readonly requests: PrivacyRequestStore;
  readonly audit: AuditLog;
  readonly workflows: WorkflowStarter;
  readonly exports: DocumentStore;
  readonly records: DocumentStore;
  readonly clock: Clock;
}

export interface TerminationView {
  readonly tenantId: string;
  readonly terminationId: string;
  readonly status: TerminationRecord['status'];
  readonly election: TerminationElection;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly executionId?: string;
  readonly steps: readonly PrivacyStep[];
  /** R-TERM-2: download links while the export window is open; after it, only the date it closed. */
  readonly export?: {
    readonly availableUntil: string;
    readonly expired: boolean;
    readonly partCount: number;
    readonly manifest?: string;
    readonly parts?: readonly string[];
    readonly linksExpireInSeconds?: number;
  };
  /** R-TERM-5: the signed deletion certificate, once issued. */
  readonly certificate?: SignedDeletionDocument<TenantDeletionCertificate>;
  readonly failure?: { readonly error: string; readonly at: string };
  readonly completedAt?: string;
}

export class Termination {
  constructor(private readonly deps: TerminationDeps) {}

  async start(actor: string, tenantId: string, body: unknown): Promise<TerminationView> {
    return this.audited(actor, tenantId, async () => {
      const { election } = parse(startTerminationSchema, body ?? {});
      const tenant = await requireTenant(this.deps.directory, tenantId);
      const previous = await this.deps.requests.getTermination(tenantId);
      refuseIfTerminating(tenant, previous);
      const now = this.deps.clock.now();
      const terminationId = newId('term', now);
      const requestedAt = now.toISOString();
      const record: TerminationRecord = {
        tenantId,
        terminationId,
        election,
        requestedBy: actor,
        requestedAt,
        status: 'running',
        steps: [{ name: 'received', at: requestedAt, outcome: 'success', detail: { election } }],
      };
      // A record of an earlier, failed termination is replaced: the operator starts over (every task is idempotent).
      await this.deps.requests.putTermination(record, { mustNotExist: previous === undefined });
      const state: TerminationWorkflowState = { tenantId, terminationId, election, requestedAt };
      let executionId: string;
      try {
        ({ executionId } = await this.deps.workflows.start('termination', terminationId, state));
      } catch (error) {
        // Without an execution nothing would ever finish it: mark it failed so that a new start is accepted.
        await this.deps.requests.updateTermination(
          tenantId,
          { name: 'workflow-start', at: this.deps.clock.now().toISOString(), outcome: 'failure' },
          { status: 'failed', failure: { error: (error as Error).name, at: this.deps.clock.now().toISOString() } },
          { terminationId },
        );
        throw error;
      }
      const started: PrivacyStep = { name: 'workflow-start', at: this.deps.clock.now().toISOString(), outcome: 'success' };
      // Bound to this termination; the execution may have claimed the record already (it names itself there too).
      await this.deps.requests.updateTermination(tenantId, started, { executionId }, { terminationId, executionIds: [executionId], unbound: true });
      return this.view({ ...record, executionId, steps: [...record.steps, started] });
    });
  }

  /**
   * R-TERM-1..5, the periodic sweeper: every termination under way either has a running execution, waits for its
   * export window (the record holds when it closes: a redeploy or a restart loses nothing), or is resumed from
   * its last checkpoint in a new execution. Once the window has closed, the purge starts here.
   */
  async sweep(): Promise<SweepOutcome> {
    const outcome: SweepOutcome = { checked: 0, resumed: [], purgeStarted: [], closed: [], failed: [], errors: [] };
    for (const tenantId of await this.deps.requests.openTerminations()) {
      (outcome as { checked: number }).checked++;
      try {
        const action = await this.sweepOne(tenantId);
        if (action === 'resumed') outcome.resumed.push(tenantId);
        else if (action === 'purge-started') outcome.purgeStarted.push(tenantId);
        else if (action === 'closed') outcome.closed.push(tenantId);
        else if (action === 'failed') outcome.failed.push(tenantId);
      } catch {
        // One tenant's trouble does not stop the sweep; the next run tries again (the count goes to the log).
        outcome.errors.push(tenantId);
      }
    }
    return outcome;
  }

  /** R-TERM-1..5, operator: resumes a failed or lost termination from its last checkpoint (audited). */
  async resume(actor: string, tenantId: string): Promise<TerminationView> {
    return this.operatorAction(actor, tenantId, 'tenant.termination.resume', async (record) => {
      await this.refuseIfRunning(record);
      return this.restart(record, actor, 'resume', record.checkpoint);
    });
  }

  /**
   * R-TERM-1..5, operator: starts a termination over from the freeze (audited), while nothing has been deleted yet;
   * after that only a resume keeps the certificate's counts whole.
   */
  async reset(actor: string, tenantId: string): Promise<TerminationView> {
    return this.operatorAction(actor, tenantId, 'tenant.termination.reset', async (record) => {
      await this.refuseIfRunning(record);
      if (!RESETTABLE.includes(record.checkpoint?.stage)) {
        throw new DomainError('conflict', `The purge of tenant '${tenantId}' has begun: resume it instead of starting over`, 409);
      }
      const fresh: TerminationWorkflowState = { ...initialState(record), turn: (record.checkpoint?.turn ?? 0) + 1 };
      return this.restart(record, actor, 'reset', fresh);
    });
  }

  private async sweepOne(tenantId: string): Promise<'running' | 'armed' | 'resumed' | 'purge-started' | 'closed' | 'failed'> {
    const record = await this.deps.requests.getTermination(tenantId);
    if (!record || record.status === 'completed') {
      await this.deps.requests.markTerminationOpen(tenantId, false);
      return 'closed';
    }
    if (record.status === 'failed') return 'failed';
    if (await this.hasLiveExecution(record)) return 'running';
    const checkpoint = record.checkpoint;
    if (checkpoint?.stage === 'await-window') {
      if (this.deps.clock.now().getTime() < Date.parse(record.purgeAfter ?? record.export?.availableUntil ?? '')) return 'armed';
      await this.restart(record, SWEEPER_ACTOR, 'purge', { ...checkpoint, stage: 'purge' });
      return 'purge-started';
    }
    await this.restart(record, SWEEPER_ACTOR, 'resume', checkpoint);
    return 'resumed';
  }

  /**
   * Whether an execution holds the termination: the recorded one runs, its continuation runs (started, not yet
   * claimed), or the record is young and names none yet (its first start is under way).
   */
  private async hasLiveExecution(record: TerminationRecord): Promise<boolean> {
    if (!record.executionId) return this.deps.clock.now().getTime() - Date.parse(record.requestedAt) < UNCLAIMED_GRACE_MS;
    if ((await this.deps.workflows.status(record.executionId)) === 'RUNNING') return true;
    const checkpoint = record.checkpoint;
    if (!checkpoint?.continue) return false;
    const successor = siblingExecution(record.executionId, continuationName(record.terminationId, checkpoint.segment ?? 0));
    return (await this.deps.workflows.status(successor)) === 'RUNNING';
  }

  private async refuseIfRunning(record: TerminationRecord): Promise<void> {
    if (record.status === 'completed') throw new DomainError('conflict', `The termination of tenant '${record.tenantId}' is completed`, 409);
    if (record.executionId && (await this.hasLiveExecution(record))) {
      throw new DomainError('conflict', `The termination of tenant '${record.tenantId}' has a running execution`, 409);
    }
  }

  /**
   * A new execution from `from` (the checkpoint, or the first state), named `<terminationId>-r<n>`: the record is
   * bound to it through its predecessor, so the lost one can never write again. Audited (R-SEC-6).
   */
  private async restart(record: TerminationRecord, actor: string, kind: 'resume' | 'reset' | 'purge', from: TerminationWorkflowState | undefined): Promise<TerminationRecord> {
    const resumes = (record.resumes ?? 0) + 1;
    const at = this.deps.clock.now().toISOString();
    const { continue: _c, execution: _e, predecessor: _p, error: _error, ...state } = from ?? initialState(record);
    const input: TerminationWorkflowState = { ...state, ...(record.executionId ? { predecessor: { id: record.executionId } } : {}) };
    const binding = { terminationId: record.terminationId, executionIds: record.executionId ? [record.executionId] : [], unbound: true };
    const step: PrivacyStep = { name: kind, at, outcome: 'success', detail: { actor, stage: input.stage ?? 'freeze', resumes } };
    await this.deps.requests.updateTermination(record.tenantId, step, { status: 'running', resumes, ...(kind === 'reset' ? { checkpoint: input } : {}) }, binding);
    const { executionId } = await this.deps.workflows.start('termination', `${record.terminationId}-r${resumes}`, input);
    // The new execution may have claimed the record already (then it names itself there): either is fine.
    await this.deps.requests.updateTermination(record.tenantId, undefined, { executionId }, { ...binding, executionIds: [...binding.executionIds, executionId] });
    await this.deps.audit.record({
      tenantId: record.tenantId,
      at,
      actor,
      action: `tenant.termination.${kind}`,
      target: record.terminationId,
      outcome: 'success',
      detail: { stage: input.stage ?? 'freeze', resumes },
    });
    return { ...record, status: 'running', resumes, executionId };
  }

  private async operatorAction(
    actor: string,
    tenantId: string,
    action: string,
    work: (record: TerminationRecord) => Promise<TerminationRecord>,
  ): Promise<TerminationView> {
    const at = () => this.deps.clock.now().toISOString();
    try {
      const record = TENANT_ID_PATTERN.test(tenantId) ? await this.deps.requests.getTermination(tenantId) : undefined;
      if (!record) throw new DomainError('not_found', `No termination for tenant '${tenantId}'`, 404);
      const view = await this.view(await work(record));
      return view;
    } catch (error) {
      if (TENANT_ID_PATTERN.test(tenantId)) {
        await this.deps.audit.record({ tenantId, at: at(), actor, action, outcome: 'failure', detail: { error: error instanceof DomainError ? error.code : 'internal_error' } });
      }
      throw error;
    }
  }

  async status(tenantId: string): Promise<TerminationView> {
    const record = TENANT_ID_PATTERN.test(tenantId) ? await this.deps.requests.getTermination(tenantId) : undefined;
    if (!record) throw new DomainError('not_found', `No termination for tenant '${tenantId}'`, 404);
    return this.view(record);
  }

  private async view(record: TerminationRecord): Promise<TerminationView> {
    return {
      tenantId: record.tenantId,
      terminationId: record.terminationId,
      status: record.status,
      election: record.election,
      requestedBy: record.requestedBy,
      requestedAt: record.requestedAt,
      ...(record.executionId ? { executionId: record.executionId } : {}),
      steps: record.steps,
      ...(record.export ? { export: await this.exportView(record.export) } : {}),
      ...(record.certificateKey ? { certificate: await this.certificate(record.certificateKey) } : {}),
      ...(record.failure ? { failure: record.failure } : {}),
      ...(record.completedAt ? { completedAt: record.completedAt } : {}),
    };
  }

  /**
   * R-TERM-2: links only while the window is open; after it the objects are gone or about to be. The parts come from
   * the manifest (the record holds only their number); past EXPORT_VIEW_PARTS, the manifest's link lists them all.
   */
  private async exportView(exported: NonNullable<TerminationRecord['export']>): Promise<NonNullable<TerminationView['export']>> {
    const expired = this.deps.clock.now().getTime() >= Date.parse(exported.availableUntil);
    const base = { availableUntil: exported.availableUntil, expired, partCount: exported.partCount };
    if (expired) return base;
    const manifest = await this.deps.exports.get(exported.manifest);
    const parts = manifest ? (JSON.parse(Buffer.from(manifest).toString('utf8')) as { parts: { key: string }[] }).parts.map((p) => p.key) : [];
    const links = await presignExport(this.deps.exports, { manifest: exported.manifest, parts: parts.slice(0, EXPORT_VIEW_PARTS) });
    return { ...base, ...links, linksExpireInSeconds: EXPORT_LINK_SECONDS };
  }

  private async certificate(key: string): Promise<SignedDeletionDocument<TenantDeletionCertificate>> {
    const certificate = await readSignedDocument<TenantDeletionCertificate>(this.deps.records, key);
    if (!certificate) throw new Error(`Deletion certificate '${key}' is missing from the records bucket`);
    return certificate;
  }

  /** R-SEC-6: who asked to terminate which tenant, and whether it was accepted. */
  private async audited<T extends TerminationView>(actor: string, tenantId: string, work: () => Promise<T>): Promise<T> {
    const record = (outcome: 'success' | 'failure', target?: string, detail?: Record<string, string>) =>
      TENANT_ID_PATTERN.test(tenantId)
        ? this.deps.audit.record({
            tenantId,
            at: this.deps.clock.now().toISOString(),
            actor,
            action: 'tenant.terminate',
            ...(target ? { target } : {}),
            outcome,
            ...(detail ? { detail } : {}),
          })
        : Promise.resolve();
    try {
      const view = await work();
      await record('success', view.terminationId, { election: view.election });
      return view;
    } catch (error) {
      await record('failure', undefined, { error: error instanceof DomainError ? error.code : 'internal_error' });
      throw error;
    }
  }
}

/** The first state of a termination's executions. */
function initialState(record: TerminationRecord): TerminationWorkflowState {
  return { tenantId: record.tenantId, terminationId: record.terminationId, election: record.election, requestedAt: record.requestedAt };
}

/** The name of the execution a turn-limited loop continues in (the state machine's ContinueInNewExecution). */
export const continuationName = (terminationId: string, segment: number): string => `${terminationId}-c${segment}`;

/** `…:execution:<machine>:<name>` → the same machine's execution of another name. */
function siblingExecution(executionArn: string, name: string): string {
  return `${executionArn.slice(0, executionArn.lastIndexOf(':'))}:${name}`;
}

/** One termination per tenant: a second start while one runs, or after it finished, is refused. */
function refuseIfTerminating(tenant: Tenant, existing: TerminationRecord | undefined): void {
  if (tenant.status === 'terminated' || (existing && existing.status !== 'failed')) {
    const state = existing && existing.status !== 'failed' ? `terminating (${existing.terminationId}, ${existing.status})` : 'terminated';
    throw new DomainError('conflict', `Tenant '${tenant.tenantId}' is already ${state}`, 409);
  }
}
