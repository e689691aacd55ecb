/**
 * Termination-tasks function: the Lambda behind every task state of the termination state machine
 * (lib/constructs/privacy-workflows.ts). Step Functions sends `{ task, state }` and keeps what it returns as the
 * next state. An invocation that can never succeed (unknown task, malformed state) throws PermanentTaskError,
 * which the state machine does not retry (R-TERM-1..6).
 */
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../shared/keys';
import { logger } from '../shared/logger';
import { lambdaEntry } from '../shared/composition';
import { composeTerminationTasks } from './composition';
import {
  PermanentTaskError,
  TERMINATION_TASKS,
  type TaskInvocation,
  type TerminationTask,
  type TerminationWorkflowState,
} from '../domain/privacy';
import { TerminationTasks, type TerminationTaskDeps } from '../domain/termination-tasks';

/** Enough of the state to know whose termination it is; the rest is the tasks' own bookkeeping. */
const stateSchema = z.looseObject({
  tenantId: z.string().regex(TENANT_ID_PATTERN),
  terminationId: z.string().regex(/^term_[0-9A-Z]{26}$/),
  election: z.enum(['export-then-delete', 'immediate']),
  requestedAt: z.iso.datetime(),
});

export function createTerminationTaskHandler(
  deps: TerminationTaskDeps,
): (invocation: TaskInvocation<TerminationWorkflowState>) => Promise<TerminationWorkflowState> {
  const tasks = new TerminationTasks(deps);
  const byName: Record<TerminationTask, (state: TerminationWorkflowState) => Promise<TerminationWorkflowState>> = {
    freeze: (s) => tasks.freeze(s),
    'flush-usage': (s) => tasks.flushUsage(s),
    'export-tenant-data': (s) => tasks.exportTenantData(s),
    'write-tenant-manifest': (s) => tasks.writeTenantManifest(s),
    'purge-tenant-data': (s) => tasks.purgeTenantData(s),
    'shred-keys': (s) => tasks.shredKeys(s),
    'verify-purge': (s) => tasks.verifyPurge(s),
    'issue-certificate': (s) => tasks.issueCertificate(s),
    'record-failure': (s) => tasks.recordFailure(s),
  };
  return async (invocation) => {
    const task = invocation?.task;
    if (typeof task !== 'string' || !(TERMINATION_TASKS as readonly string[]).includes(task)) {
      throw new PermanentTaskError(`Unknown termination task '${String(task).slice(0, 64)}'`);
    }
    const parsed = stateSchema.safeParse(invocation.state);
    if (!parsed.success) throw new PermanentTaskError(`Malformed termination state for task '${task}'`);
    const state = parsed.data as unknown as TerminationWorkflowState;
    try {
      const next = await byName[task as TerminationTask](state);
      // R-SEC-7: ids and counters only.
      logger.info('termination task done', { task, tenantId: state.tenantId, terminationId: state.terminationId, phase: next.phase, done: next.done });
      return next;
    } catch (error) {
      logger.error('termination task failed', { task, tenantId: state.tenantId, terminationId: state.terminationId, errorName: (error as Error).name });
      throw error;
    }
  };
}

export const handler = lambdaEntry<TaskInvocation<TerminationWorkflowState>, TerminationWorkflowState>(() => createTerminationTaskHandler(composeTerminationTasks(process.env)));
