/**
 * Termination-tasks function: the Lambda behind every task state of the termination state machine
 * (lib/constructs/privacy-workflows.ts). Step Functions sends `{ task, state }` and keeps what it returns as the
 * next state. An invocation that can never succeed (unknown task, malformed state) throws PermanentTaskError,
 * which the state machine does not retry (R-TERM-1..6).
 */
import * as z from '../domain/zod';
import { TENANT_ID_PATTERN } from '../domain/keys';
import { lambdaEntry } from '../shared/composition';
import { taskRunner } from '../shared/task-runner';
import type { TaskInvocation, TerminationTask, TerminationWorkflowState } from '../domain/privacy';
import { composeTerminationTasks } from './composition';
import { TerminationTasks, type TerminationTaskDeps } from '../domain/termination-tasks';

/** Enough of the state to know whose termination it is; the rest is the tasks' own bookkeeping. */
const stateSchema = z.looseObject({
  tenantId: z.string().check(z.regex(TENANT_ID_PATTERN)),
  terminationId: z.string().check(z.regex(/^term_[0-9A-Z]{26}$/)),
  election: z.enum(['export-then-delete', 'immediate']),
  requestedAt: z.iso.datetime(),
});

export function createTerminationTaskHandler(
  deps: TerminationTaskDeps,
): (invocation: TaskInvocation<TerminationWorkflowState>) => Promise<TerminationWorkflowState> {
  const tasks = new TerminationTasks(deps);
  return taskRunner<TerminationTask, TerminationWorkflowState>({
    workflow: 'termination',
    // Task name → method: the names are the state machine's contract (TERMINATION_TASKS), the methods the domain's.
    tasks: {
      claim: (s) => tasks.claim(s),
      freeze: (s) => tasks.freeze(s),
      'drain-stream': (s) => tasks.drainStream(s),
      'flush-usage': (s) => tasks.flushUsage(s),
      'export-tenant-data': (s) => tasks.exportTenantData(s),
      'write-tenant-manifest': (s) => tasks.writeTenantManifest(s),
      'purge-tenant-data': (s) => tasks.purgeTenantData(s),
      'shred-keys': (s) => tasks.shredKeys(s),
      'verify-purge': (s) => tasks.verifyPurge(s),
      'issue-certificate': (s) => tasks.issueCertificate(s),
      'record-failure': (s) => tasks.recordFailure(s),
    },
    stateSchema,
    ids: (state) => ({ tenantId: state.tenantId, terminationId: state.terminationId }),
    progress: (next) => ({ phase: next.phase, done: next.done }),
  });
}

export const handler = lambdaEntry<TaskInvocation<TerminationWorkflowState>, TerminationWorkflowState>(() => createTerminationTaskHandler(composeTerminationTasks(process.env)));
