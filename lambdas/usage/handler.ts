/**
 * Usage function (R-BILL-2, R-TERM-1, R-RET-3): `{ task: 'report-usage' }` and `{ task: 'reconcile-usage' }` from the
 * daily EventBridge rules (lib/stacks/services-stack.ts), `{ task: 'report-tenant-usage', state }` from the
 * termination workflow's ReportTenantUsage state (lib/constructs/privacy-workflows.ts), which gets the state back as it came.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PermanentTaskError } from '../domain/privacy';
import { USAGE_MISMATCH_MESSAGE, USAGE_MISMATCH_METRIC, USAGE_NEAR_LIMIT_METRIC, type UsageReconciliation, type UsageReporter } from '../domain/usage';
import type { MonthlyStatements } from '../domain/usage-statements';
import { lambdaEntry } from '../shared/composition';
import { logger } from '../shared/logger';
import { composeUsage } from './composition';

/** lib/constructs/lumiqo-function.ts METRICS_NAMESPACE (the alarms read the metrics there). */
const METRICS_NAMESPACE = 'Lumiqo';

export interface UsageTaskDeps {
  readonly reporter: Pick<UsageReporter, 'run' | 'flushTenant'>;
  readonly reconciliation: Pick<UsageReconciliation, 'run'>;
  readonly statements: Pick<MonthlyStatements, 'run'>;
}

export interface UsageTask {
  readonly task: 'report-usage' | 'reconcile-usage' | 'report-tenant-usage';
  /** `report-tenant-usage` only: the termination workflow's state, returned as it came. */
  readonly state?: { readonly tenantId: string };
}

export interface UsageTaskResult {
  readonly [field: string]: unknown;
}

/**
 * R-BILL-2: the daily report (every closed day within Stripe's 35 days, then last month's statements, R-RET-3) and
 * the reconciliation. Metrics every run, zeros included, so the alarms see data: UsageDaysNearReportLimit (tenant-days
 * undelivered `alarmAfterDays` after they ended) and UsageMismatches (one structured log line per mismatch names the
 * tenant, the day and the meter). A tenant-day that failed fails the invocation (the Errors alarm; the async retry
 * and the next day's run resend it under the same identifier).
 */
export function createUsageTaskHandler(
  deps: UsageTaskDeps,
  metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'usage' }),
): (event: UsageTask) => Promise<UsageTaskResult> {
  return async (event) => {
    if (event.task === 'report-usage') {
      const outcome = await deps.reporter.run();
      metrics.addMetric(USAGE_NEAR_LIMIT_METRIC, MetricUnit.Count, outcome.nearLimit.length);
      metrics.publishStoredMetrics();
      for (const late of outcome.nearLimit) logger.error('usage day near the report limit', { tenantId: late.tenantId, day: late.day });
      const { sent, duplicates, unchanged, settled } = outcome;
      logger.info('usage reported', { sent, duplicates, unchanged, settled, failed: outcome.failed.length, withoutCustomer: outcome.withoutCustomer.length, nearLimit: outcome.nearLimit.length });
      if (outcome.failed.length > 0) {
        throw new Error(`Usage report failed for ${outcome.failed.length} tenant-day(s), first ${outcome.failed[0].tenantId} ${outcome.failed[0].day}: ${outcome.failed[0].error}`);
      }
      const statements = await deps.statements.run();
      logger.info('usage statements', { month: statements.month, written: statements.written.length, skipped: statements.skipped });
      return { task: event.task, sent, duplicates, unchanged, settled, nearLimit: outcome.nearLimit, withoutCustomer: outcome.withoutCustomer.length, statements: statements.written };
    }
    if (event.task === 'reconcile-usage') {
      const { mismatches, checked, withoutCustomer } = await deps.reconciliation.run();
      metrics.addMetric(USAGE_MISMATCH_METRIC, MetricUnit.Count, mismatches.length);
      metrics.publishStoredMetrics();
      for (const mismatch of mismatches) logger.error(USAGE_MISMATCH_MESSAGE, { ...mismatch });
      logger.info('usage reconciled', { checked, mismatches: mismatches.length, withoutCustomer: withoutCustomer.length });
      return { task: event.task, checked, mismatches };
    }
    if (event.task === 'report-tenant-usage') {
      // R-TERM-1: the termination's ReportTenantUsage state; a failure is retried by the state machine, then recorded.
      const tenantId = event.state?.tenantId;
      if (typeof tenantId !== 'string') throw new PermanentTaskError('report-tenant-usage needs the workflow state with its tenantId');
      const outcome = await deps.reporter.flushTenant(tenantId);
      logger.info('usage flushed', { tenantId, sent: outcome.sent, duplicates: outcome.duplicates, unchanged: outcome.unchanged, withoutCustomer: outcome.withoutCustomer.length });
      return event.state!;
    }
    throw new Error(`Unknown usage task '${String(event.task)}'`);
  };
}

export const handler = lambdaEntry<UsageTask, UsageTaskResult>(() => createUsageTaskHandler(composeUsage(process.env)));
