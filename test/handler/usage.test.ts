/**
 * The usage function's handler (R-BILL-2, R-TERM-1): metrics every run (zeros included), a failed tenant-day fails the
 * invocation after the metric, the termination's state comes back as it went, and a state without a tenant is a
 * permanent error (not retried by the state machine).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { PERMANENT_ERROR } from '../../lambdas/domain/privacy';
import type { ReportOutcome } from '../../lambdas/domain/usage';
import { createUsageTaskHandler, type UsageTaskDeps } from '../../lambdas/usage/handler';

const outcome = (overrides: Partial<ReportOutcome> = {}): ReportOutcome => ({
  sent: 0, duplicates: 0, unchanged: 0, settled: 0, nearLimit: [], failed: [], withoutCustomer: [], ...overrides,
});

function setup(report: ReportOutcome = outcome()) {
  const metrics = { added: [] as [string, number][], addMetric(name: string, _unit: string, value: number) { this.added.push([name, value]); }, publishStoredMetrics: jest.fn() };
  const deps: UsageTaskDeps = {
    reporter: { run: jest.fn(async () => report), flushTenant: jest.fn(async () => outcome({ sent: 2 })) },
    reconciliation: { run: jest.fn(async () => ({ mismatches: [{ tenantId: 'acme', day: '2026-11-20', meter: 'events.event' as const, ledger: 5, provider: 9 }], checked: 3, withoutCustomer: [] })) },
    statements: { run: jest.fn(async () => ({ month: '2026-10', written: ['statements/acme/2026-10.json'], skipped: 0 })) },
  };
  return { deps, metrics, handler: createUsageTaskHandler(deps, metrics as unknown as Metrics) };
}

test('report-usage: the near-limit count is emitted (zero too), then last month\'s statements are written', async () => {
  const { handler, metrics, deps } = setup(outcome({ sent: 3, nearLimit: [{ tenantId: 'acme', day: '2026-10-30' }] }));
  expect(await handler({ task: 'report-usage' })).toMatchObject({ sent: 3, nearLimit: [{ tenantId: 'acme', day: '2026-10-30' }], statements: ['statements/acme/2026-10.json'] });
  expect(metrics.added).toEqual([['UsageDaysNearReportLimit', 1]]);
  expect(deps.statements.run).toHaveBeenCalledTimes(1);

  const quiet = setup();
  await quiet.handler({ task: 'report-usage' });
  expect(quiet.metrics.added).toEqual([['UsageDaysNearReportLimit', 0]]);
});

test('report-usage: a failed tenant-day fails the invocation (the Errors alarm, the retry), after the metric and before the statements', async () => {
  const { handler, metrics, deps } = setup(outcome({ failed: [{ tenantId: 'acme', day: '2026-11-20', error: 'StripeConnectionError' }] }));
  await expect(handler({ task: 'report-usage' })).rejects.toThrow(/acme 2026-11-20: StripeConnectionError/);
  expect(metrics.added).toEqual([['UsageDaysNearReportLimit', 0]]);
  expect(deps.statements.run).not.toHaveBeenCalled();
});

test('reconcile-usage: each mismatch is counted into UsageMismatches and returned with tenant, day and meter', async () => {
  const { handler, metrics } = setup();
  expect(await handler({ task: 'reconcile-usage' })).toMatchObject({ checked: 3, mismatches: [{ tenantId: 'acme', day: '2026-11-20', meter: 'events.event' }] });
  expect(metrics.added).toEqual([['UsageMismatches', 1]]);
});

test('R-TERM-1: report-tenant-usage flushes the tenant and returns the workflow state unchanged; without a tenant it is permanent', async () => {
  const { handler, deps } = setup();
  const state = { tenantId: 'acme', terminationId: 'term_1', election: 'immediate' };
  expect(await handler({ task: 'report-tenant-usage', state })).toEqual(state);
  expect(deps.reporter.flushTenant).toHaveBeenCalledWith('acme');
  await expect(handler({ task: 'report-tenant-usage' })).rejects.toMatchObject({ name: PERMANENT_ERROR });
  await expect(handler({ task: 'nope' as never })).rejects.toThrow("Unknown usage task 'nope'");
});
