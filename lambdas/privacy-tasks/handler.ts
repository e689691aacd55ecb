/**
 * Privacy-tasks function: every Lambda task state of the data-subject state machines (`{ task, state }` → the next
 * state), and the hourly deadline check (`{ task: 'check-deadlines' }`) whose metric `OverduePrivacyRequests`
 * raises the R-DSR-5 alarm. A task that can never succeed throws PermanentTaskError, which the state machines do
 * not retry.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SubjectRequestTasks } from '../domain/subject-requests';
import { PermanentTaskError, SUBJECT_TASKS, type SubjectTask, type SubjectWorkflowState, type TaskInvocation } from '../domain/privacy';
import { logger } from '../shared/logger';
import { platformFromEnv, type Platform } from '../shared/platform';

export type PrivacyTaskDeps = Pick<
  Platform,
  'requests' | 'exports' | 'records' | 'signer' | 'workflows' | 'store' | 'payloads' | 'crypto' | 'audit' | 'directory' | 'settings' | 'clock'
>;

export const DEADLINE_TASK = 'check-deadlines';
export const METRICS_NAMESPACE = 'Lumiqo';
export const OVERDUE_METRIC = 'OverduePrivacyRequests';

export type PrivacyTaskEvent = TaskInvocation<SubjectWorkflowState> | { readonly task: typeof DEADLINE_TASK };
export type PrivacyTaskResult = SubjectWorkflowState | { readonly overdue: number };

type TaskMethod = (tasks: SubjectRequestTasks, state: SubjectWorkflowState) => Promise<SubjectWorkflowState>;

/** Task name → method: the names are the state machines' contract (SUBJECT_TASKS), the methods the domain's. */
const TASKS: Readonly<Record<SubjectTask, TaskMethod>> = {
  locate: (t, s) => t.common.locate(s),
  'export-records': (t, s) => t.access.exportRecords(s),
  'write-export-manifest': (t, s) => t.access.writeExportManifest(s),
  'erase-records': (t, s) => t.erasure.eraseRecords(s),
  'erase-exports': (t, s) => t.erasure.eraseExports(s),
  'verify-erasure': (t, s) => t.erasure.verifyErasure(s),
  'sign-deletion-record': (t, s) => t.erasure.signDeletionRecord(s),
  'rectify-records': (t, s) => t.rectification.rectifyRecords(s),
  restrict: (t, s) => t.restriction.restrict(s),
  'quarantine-records': (t, s) => t.restriction.quarantineRecords(s),
  'lift-restriction': (t, s) => t.restriction.liftRestriction(s),
  'release-records': (t, s) => t.restriction.releaseRecords(s),
  complete: (t, s) => t.common.complete(s),
  'record-failure': (t, s) => t.common.recordFailure(s),
};

const isSubjectTask = (task: unknown): task is SubjectTask => typeof task === 'string' && (SUBJECT_TASKS as readonly string[]).includes(task);

export function createPrivacyTaskHandler(
  deps: PrivacyTaskDeps,
  metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'privacy-tasks' }),
): (event: PrivacyTaskEvent) => Promise<PrivacyTaskResult> {
  const tasks = new SubjectRequestTasks(deps);
  return async (event) => {
    const task = event?.task;
    if (task === DEADLINE_TASK) {
      const overdue = await tasks.common.checkDeadlines();
      // R-DSR-5: emitted every hour, zero included, so the alarm sees data rather than a missing metric.
      metrics.addMetric(OVERDUE_METRIC, MetricUnit.Count, overdue);
      metrics.publishStoredMetrics();
      logger.info('privacy deadlines checked', { overdue });
      return { overdue };
    }
    if (!isSubjectTask(task)) throw new PermanentTaskError(`Unknown privacy task '${String(task)}'`);
    const state = (event as TaskInvocation<SubjectWorkflowState>).state;
    const started = Date.now();
    try {
      const next = await TASKS[task](tasks, state);
      // R-SEC-7: ids and counts, never identifiers.
      logger.info('privacy task done', { task, requestId: state.requestId, cursor: next.cursor, done: next.done, ms: Date.now() - started });
      return next;
    } catch (error) {
      logger.warn('privacy task failed', { task, requestId: state?.requestId, errorName: (error as Error)?.name });
      throw error;
    }
  };
}

let cached: ReturnType<typeof createPrivacyTaskHandler> | undefined;
export const handler = (event: PrivacyTaskEvent): Promise<PrivacyTaskResult> => {
  cached ??= createPrivacyTaskHandler(platformFromEnv());
  return cached(event);
};
