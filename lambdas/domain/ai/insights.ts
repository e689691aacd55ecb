/**
 * R-AI-6: the scheduled insight job, per tenant. It reads a tenant's rollups of the lookback through its
 * tenant-scoped read adapters, runs the detector (anomalies.ts) over hourly buckets, and stores what it flags in the
 * report window, with its evidence. A replay runs the same detector over a past window and returns what it would have
 * flagged, storing nothing.
 */
import type { Tenant } from '../model';
import type { TenantDirectory } from '../ports';
import type { TenantReadDeps } from '../queries';
import { minuteOf } from '../rollups';
import { detectInsights, type DetectorOptions } from './anomalies';
import type { AiStore, InsightItem } from './ports';

export const INSIGHT_JOB = { lookbackDays: 7, bucketMinutes: 60, reportHours: 2 } as const;

export interface InsightJobDeps {
  readonly directory: Pick<TenantDirectory, 'getTenant'>;
  readonly store: Pick<AiStore, 'enrolledTenants' | 'putInsights'>;
  tenantScoped(tenant: Pick<Tenant, 'tenantId'>): Promise<TenantReadDeps>;
  retentionDays(tenant: Tenant): number;
}

/** One tenant's insights over `from..to`, reporting flags from `reportFrom`. */
export async function tenantInsights(
  deps: Pick<InsightJobDeps, 'tenantScoped' | 'retentionDays'>,
  tenant: Tenant,
  window: { readonly from: Date; readonly to: Date; readonly reportFrom: Date; readonly now: Date },
  options?: Partial<DetectorOptions>,
): Promise<InsightItem[]> {
  const reads = await deps.tenantScoped(tenant);
  const rollups = await reads.store.queryRollups(tenant.tenantId, minuteOf(window.from.toISOString()), minuteOf(window.to.toISOString()));
  return detectInsights({
    tenantId: tenant.tenantId,
    rollups,
    from: window.from,
    to: window.to,
    bucketMinutes: INSIGHT_JOB.bucketMinutes,
    reportFrom: window.reportFrom,
    detectedAt: window.now,
    expiresAt: Math.floor(window.now.getTime() / 1000) + deps.retentionDays(tenant) * 86_400,
    ...(options ? { options } : {}),
  });
}

/** The scheduled run: every tenant that uses AI and is active; one tenant's failure does not stop the others. */
export async function runInsightJob(deps: InsightJobDeps, now: Date): Promise<{ tenants: number; insights: number; failed: string[] }> {
  const hour = 3600_000;
  const to = new Date(Math.floor(now.getTime() / hour) * hour);
  const from = new Date(to.getTime() - INSIGHT_JOB.lookbackDays * 24 * hour);
  const reportFrom = new Date(to.getTime() - INSIGHT_JOB.reportHours * hour);
  let tenants = 0;
  let insights = 0;
  const failed: string[] = [];
  for (const tenantId of await deps.store.enrolledTenants()) {
    const tenant = await deps.directory.getTenant(tenantId);
    if (!tenant || tenant.status !== 'active') continue;
    try {
      const found = await tenantInsights(deps, tenant, { from, to, reportFrom, now });
      await deps.store.putInsights(found);
      tenants++;
      insights += found.length;
    } catch {
      failed.push(tenantId);
    }
  }
  return { tenants, insights, failed };
}
