/**
 * Privacy-tasks function: every Lambda task state of the data-subject state machines (`{ task, state }` → the next
 * state), and the hourly deadline check (`{ task: 'check-deadlines' }`) whose metric `OverduePrivacyRequests`
 * raises the R-DSR-5 alarm. A task that can never succeed throws PermanentTaskError, which the state machines do
 * not retry.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SubjectRequestTasks } from '../domain/subject-requests';
import type { SubjectRequestTasksDeps } from '../domain/subject-requests/audited-tasks';
import { OVERDUE_METRIC, type SubjectTask, type SubjectWorkflowState, type TaskInvocation } from '../domain/privacy';
import { lambdaEntry } from '../shared/composition';
import { logger } from '../shared/logger';
import { taskRunner } from '../shared/task-runner';
import { composePrivacyTasks } from './composition';

export type PrivacyTaskDeps = SubjectRequestTasksDeps;

export const DEADLINE_TASK = 'check-deadlines';
export const METRICS_NAMESPACE = 'Lumiqo';

export type PrivacyTaskEvent = TaskInvocation<SubjectWorkflowState> | { readonly task: typeof DEADLINE_TASK };
export type PrivacyTaskResult = SubjectWorkflowState | { readonly overdue: number };

export function createPrivacyTaskHandler(
  deps: PrivacyTaskDeps,
  metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'privacy-tasks' }),
): (event: PrivacyTaskEvent) => Promise<PrivacyTaskResult> {
  const tasks = new SubjectRequestTasks(deps);
  const run = taskRunner<SubjectTask, SubjectWorkflowState>({
    workflow: 'privacy',
    // Task name → method: the names are the state machines' contract (SUBJECT_TASKS), the methods the domain's.
    tasks: {
      locate: (s) => tasks.common.locate(s),
      'export-records': (s) => tasks.access.exportRecords(s),
      'write-export-manifest': (s) => tasks.access.writeExportManifest(s),
      'erase-records': (s) => tasks.erasure.eraseRecords(s),
      'erase-exports': (s) => tasks.erasure.eraseExports(s),
      'verify-erasure': (s) => tasks.erasure.verifyErasure(s),
      'sign-deletion-record': (s) => tasks.erasure.signDeletionRecord(s),
      'rectify-records': (s) => tasks.rectification.rectifyRecords(s),
      restrict: (s) => tasks.restriction.restrict(s),
      'quarantine-records': (s) => tasks.restriction.quarantineRecords(s),
      'lift-restriction': (s) => tasks.restriction.liftRestriction(s),
      'release-records': (s) => tasks.restriction.releaseRecords(s),
      'set-consent': (s) => tasks.consent.setConsent(s),
      complete: (s) => tasks.common.complete(s),
      'record-failure': (s) => tasks.common.recordFailure(s),
    },
    // No schema here: the tasks check the state against its stored request, and audit a refusal (R-SEC-6).
    ids: (state) => ({ requestId: state?.requestId }),
    progress: (next) => ({ cursor: next.cursor, done: next.done }),
  });
  return async (event) => {
    if (event?.task === DEADLINE_TASK) {
      const overdue = await tasks.common.checkDeadlines();
      // R-DSR-5: emitted every hour, zero included, so the alarm sees data rather than a missing metric.
      metrics.addMetric(OVERDUE_METRIC, MetricUnit.Count, overdue);
      metrics.publishStoredMetrics();
      logger.info('privacy deadlines checked', { overdue });
      return { overdue };
    }
    return run(event as TaskInvocation<SubjectWorkflowState>);
  };
}

export const handler = lambdaEntry<PrivacyTaskEvent, PrivacyTaskResult>(() => createPrivacyTaskHandler(composePrivacyTasks(process.env)));
