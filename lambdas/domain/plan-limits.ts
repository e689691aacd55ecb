/**
 * R-BILL-1: the plan decides the tenant's limits, not only its retention. Each plan (lambdas/domain/settings.ts
 * `planSchema`) sets a monthly ingested-event quota, and how many webhook sources and active API keys the tenant may
 * have. The plan is read from the tenant record, which ingest and admin read on every request anyway, so a plan
 * changed by the billing webhook (lambdas/domain/billing.ts) applies to the next request.
 *
 * The monthly quota is counted by ingest itself, per tenant and UTC month, in one Control-table item updated with an
 * atomic `ADD` (`EventCounter`). Not per request: each container keeps what it admitted since its last update and
 * adds it at most every QUOTA_FLUSH_MS (or once QUOTA_FLUSH_EVENTS are pending), learning the month's total from the
 * answer. A request over the quota is refused from that knowledge, with no call at all. Accuracy:
 * - one container alone is exact (the total it learnt, plus what it admitted since);
 * - several containers may together admit up to QUOTA_FLUSH_MS of the tenant's traffic beyond the quota (each one
 *   learns the others' counts at its next update);
 * - a container that ends before its next update loses its pending count (at most QUOTA_FLUSH_MS of its traffic),
 *   and a failed update is retried at the next one: the quota then errs towards the tenant, never into a 5xx.
 * - a retried request is counted again (the counter counts admitted requests; billing counts stored events, exactly,
 *   from the usage marks: lambdas/domain/usage-marks.ts).
 */
import { DomainError, type PlanName, type Tenant } from './model';
import type { Clock } from './ports';
import type { RuntimeSettings } from './settings';

/** A container adds what it admitted to the month's counter at least this often (while it is invoked). */
export const QUOTA_FLUSH_MS = 1_000;
/** … or as soon as this many events are pending, whichever comes first. */
export const QUOTA_FLUSH_EVENTS = 1_000;
/** Tenants whose counts one container keeps; beyond, it starts afresh (their pending counts are lost, see above). */
const QUOTA_TENANTS = 10_000;

export type PlanLimits = Pick<RuntimeSettings['plans']['starter'], 'monthlyEvents' | 'maxWebhookSources' | 'maxApiKeys'>;

export function planLimitsOf(settings: Pick<RuntimeSettings, 'plans'>, plan: PlanName): PlanLimits {
  return settings.plans[plan];
}

/** The UTC month of a moment, `YYYY-MM`: the quota's period. */
export const quotaMonthOf = (at: Date): string => at.toISOString().slice(0, 7);

/** The counter item of a month expires at the start of the month after the next (Control-table TTL). */
export function quotaExpiresAt(month: string): number {
  const [year, monthIndex] = month.split('-').map(Number) as [number, number];
  return Date.UTC(year, monthIndex + 1, 1) / 1000;
}

/** The per-tenant, per-month counter of admitted events (DynamoEventCounter: one Control-table item, `ADD`). */
export interface EventCounter {
  /** Atomically adds `count` (0 to learn the total; negative to give some back) and returns the month's new total. */
  add(tenantId: string, month: string, count: number, expiresAt: number): Promise<number>;
}

export interface EventQuotaDeps {
  readonly counter: EventCounter;
  readonly settings: Pick<RuntimeSettings, 'plans'>;
  readonly clock: Clock;
  /** A failed counter update (the request is admitted nonetheless; the update is retried with the next). */
  readonly onCounterError?: (error: unknown) => void;
}

interface MonthCount {
  readonly month: string;
  /** The month's total as the counter last answered. */
  known: number;
  /** Admitted by this container since, not yet added to the counter. */
  pending: number;
  /** When this container last updated the counter (ms); -Infinity: not yet this month. */
  updatedAt: number;
}

export class EventQuota {
  private readonly counts = new Map<string, MonthCount>();

  constructor(private readonly deps: EventQuotaDeps) {}

  /**
   * Admits `count` events of the tenant into this month's quota, or refuses them with 429 quota_exceeded, naming the
   * plan. Call release() with the same count if they were admitted and then not accepted after all.
   */
  async admit(tenant: Pick<Tenant, 'tenantId' | 'plan'>, count: number): Promise<void> {
    const now = this.deps.clock.now();
    const { monthlyEvents } = planLimitsOf(this.deps.settings, tenant.plan);
    const state = this.stateOf(tenant.tenantId, quotaMonthOf(now));
    if (now.getTime() - state.updatedAt >= QUOTA_FLUSH_MS || state.pending + count >= QUOTA_FLUSH_EVENTS) {
      await this.update(tenant.tenantId, state, now.getTime());
    }
    if (state.known + state.pending + count > monthlyEvents) {
      throw new DomainError(
        'quota_exceeded',
        `The ${tenant.plan} plan's quota of ${monthlyEvents} events for ${state.month} (UTC) is used up; a larger plan raises it, or it renews next month`,
        429,
      );
    }
    state.pending += count;
  }

  /** Gives back events admitted but not accepted (e.g. the stream refused them), with the next counter update. */
  release(tenantId: string, count: number): void {
    const state = this.counts.get(tenantId);
    if (state) state.pending -= count;
  }

  private stateOf(tenantId: string, month: string): MonthCount {
    const current = this.counts.get(tenantId);
    if (current?.month === month) return current;
    // A new month starts at zero; the old month's pending count is dropped (its quota no longer matters).
    if (this.counts.size >= QUOTA_TENANTS) this.counts.clear();
    const fresh: MonthCount = { month, known: 0, pending: 0, updatedAt: -Infinity };
    this.counts.set(tenantId, fresh);
    return fresh;
  }

  private async update(tenantId: string, state: MonthCount, nowMs: number): Promise<void> {
    const adding = state.pending;
    state.updatedAt = nowMs;
    try {
      const total = await this.deps.counter.add(tenantId, state.month, adding, quotaExpiresAt(state.month));
      // Requests admitted while the update was under way stay pending.
      state.pending -= adding;
      state.known = total;
    } catch (error) {
      this.deps.onCounterError?.(error);
    }
  }
}

/**
 * R-BILL-1: refuses a new webhook source or API key beyond the plan's number (409 plan_limit_reached, naming the
 * plan). `current` is how many the tenant has (active API keys; webhook sources). What a tenant already has beyond a
 * smaller plan's number keeps working after a downgrade; only new ones are refused.
 */
export function assertPlanAllows(tenant: Pick<Tenant, 'tenantId' | 'plan'>, settings: Pick<RuntimeSettings, 'plans'>, what: 'webhook sources' | 'API keys', current: number): void {
  const limits = planLimitsOf(settings, tenant.plan);
  const max = what === 'API keys' ? limits.maxApiKeys : limits.maxWebhookSources;
  if (current >= max) {
    throw new DomainError('plan_limit_reached', `The ${tenant.plan} plan allows ${max} ${what}; tenant ${tenant.tenantId} has ${current}. A larger plan raises the limit`, 409);
  }
}
