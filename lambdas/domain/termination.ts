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
import type { PrivacyStep, TerminationElection, TerminationRecord, TerminationWorkflowState } from './privacy';
import { parse } from './validation';

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
        );
        throw error;
      }
      const started: PrivacyStep = { name: 'workflow-start', at: this.deps.clock.now().toISOString(), outcome: 'success' };
      await this.deps.requests.updateTermination(tenantId, started, { executionId });
      return this.view({ ...record, executionId, steps: [...record.steps, started] });
    });
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

  /** R-TERM-2: links only while the window is open; after it the objects are gone or about to be. */
  private async exportView(exported: NonNullable<TerminationRecord['export']>): Promise<NonNullable<TerminationView['export']>> {
    const expired = this.deps.clock.now().getTime() >= Date.parse(exported.availableUntil);
    if (expired) return { availableUntil: exported.availableUntil, expired };
    return { availableUntil: exported.availableUntil, expired, ...(await presignExport(this.deps.exports, exported)), linksExpireInSeconds: EXPORT_LINK_SECONDS };
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

/** One termination per tenant: a second start while one runs, or after it finished, is refused. */
function refuseIfTerminating(tenant: Tenant, existing: TerminationRecord | undefined): void {
  if (tenant.status === 'terminated' || (existing && existing.status !== 'failed')) {
    const state = existing && existing.status !== 'failed' ? `terminating (${existing.terminationId}, ${existing.status})` : 'terminated';
    throw new DomainError('conflict', `Tenant '${tenant.tenantId}' is already ${state}`, 409);
  }
}
