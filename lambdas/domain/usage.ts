/**
 * Metered usage (R-BILL-2, R-TERM-1, R-RET-3): counted where the work is done, reported to the billing provider once
 * per tenant, meter and UTC day, and reconciled against what the provider holds.
 *
 * Counting. The code that does the work writes one *mark* per unit of work (a stored event, an AI request), keyed by
 * the tenant, the UTC day and the work's own id (the event id). Writing a mark again writes the same item, so a
 * retry, a redelivered batch or a compensation-and-retry of the processor never counts twice, and the day's total is
 * the sum over its marks, never an `ADD` that an SDK retry can double, nor a rollup read back. A new meter (AI tokens)
 * is one more key in a mark's `quantities`: nothing else changes.
 *
 * Reporting. For each tenant and each closed day the reporter sends the day's *absolute* total per meter with a
 * deterministic identifier (meter, tenant, day, value, revision). Stripe's `event_time_window: day` meters keep the
 * latest event of a day, so a resend replaces the day's value with itself; within 24 hours Stripe refuses the same
 * identifier as a duplicate, which counts as delivered. Each outcome is written to the ledger after the send: a crash
 * in between resends the same identifier, never a second total. A day whose total changed later (a late record) gets
 * a new revision, which replaces the day's value at the provider.
 */
import { createHash } from 'node:crypto';
import * as z from './zod';
import type { Clock } from './ports';

/** Every meter the platform counts. `ai_tokens` is counted by the AI function (its marks carry only that key). */
export const USAGE_METERS = ['events.event', 'events.api_call', 'events.metric', 'events.webhook', 'bytes_stored', 'ai_tokens'] as const;
export type UsageMeter = (typeof USAGE_METERS)[number];
export type UsageQuantities = Partial<Record<UsageMeter, number>>;

/** One unit of work's usage: idempotent by (tenant, day, sourceId). */
export interface UsageMark {
  readonly tenantId: string;
  /** UTC day, `YYYY-MM-DD`, of when the work was received (deterministic under retries). */
  readonly day: string;
  /** The work's own id (event id, AI request id): a second mark with it is the same mark. */
  readonly sourceId: string;
  readonly quantities: UsageQuantities;
}

/** Where the processor (and later the AI function) writes marks. Writing a mark twice is writing it once. */
export interface UsageMarks {
  record(marks: readonly UsageMark[]): Promise<void>;
  /** Takes marks back (their work was refused for good after the marks were written). */
  forget(marks: readonly UsageMark[]): Promise<void>;
}

/** One send of a day's total to the provider, as the ledger keeps it (R-RET-3: 7 years). Append-only. */
export interface UsageDelivery {
  readonly tenantId: string;
  readonly day: string;
  readonly meter: UsageMeter;
  readonly value: number;
  /** 0 for the first total of the day and meter, then 1, 2, … each time the ledger's total changed. */
  readonly revision: number;
  readonly identifier: string;
  readonly outcome: 'accepted' | 'duplicate';
  readonly deliveredAt: string;
  readonly reason: 'daily' | 'termination';
}

/** The ledger the reporter and the reconciliation read and write (the BillingLedger table, R-TERM-6). */
export interface UsageLedger {
  /** Tenants with at least one mark on `day`. */
  tenantsWithUsage(day: string): Promise<string[]>;
  /** Whether the tenant has at least one mark on `day` (one key read, for one tenant's flush). */
  hasUsage(tenantId: string, day: string): Promise<boolean>;
  /** The day's totals, summed over its marks. */
  dayTotals(tenantId: string, day: string): Promise<UsageQuantities>;
  /** Deliveries of the day, every meter, oldest revision first. */
  deliveries(tenantId: string, day: string): Promise<UsageDelivery[]>;
  /** Appends a delivery; the same (day, meter, revision) recorded again with the same identifier is accepted. */
  recordDelivery(delivery: UsageDelivery): Promise<void>;
  /** A settled day: reported, and past the time any late record can arrive; the reporter skips it. */
  isSettled(tenantId: string, day: string): Promise<boolean>;
  settle(tenantId: string, day: string, totals: UsageQuantities, at: string): Promise<void>;
}

/** The billing provider's meters (Stripe Billing Meters; swappable, e.g. for Metronome). */
export interface MeterSink {
  /** 'duplicate': the provider already holds an event with this identifier (Stripe's 400, never retried). */
  send(event: MeterEventRequest): Promise<'accepted' | 'duplicate'>;
  /** The provider's value per UTC day for one customer and meter, days `fromDay` through `toDay` inclusive. */
  dailyValues(meter: MeterConfig, customerId: string, fromDay: string, toDay: string): Promise<Map<string, number>>;
}

export interface MeterEventRequest {
  readonly eventName: string;
  readonly customerId: string;
  readonly value: number;
  readonly identifier: string;
  /** Epoch seconds: the day's first second, so the event lands in that day's window. */
  readonly timestamp: number;
}

export interface MeterConfig {
  /** The meter's `event_name` (what meter events carry). */
  readonly eventName: string;
  /** The meter's id (`mtr_…`), for its event summaries. */
  readonly meterId: string;
}

export interface UsageSettings {
  /** Which platform meters are billed, and the Stripe meter each is sent to. An absent meter is not billed. */
  readonly meters: Readonly<Partial<Record<UsageMeter, MeterConfig>>>;
  /** A day is settled this many days after it ends (no late record arrives later: the stream keeps 24 h). */
  readonly settleAfterDays: number;
  /** A day not yet delivered this many days after it ended raises the alarm (Stripe refuses events older than 35 days). */
  readonly alarmAfterDays: number;
}

export const METER_EVENT_MAX_AGE_DAYS = 35;
/** Usage marks are kept past Stripe's window, then expire (the ledger table's TTL). */
export const USAGE_MARK_RETENTION_DAYS = METER_EVENT_MAX_AGE_DAYS + 5;
export const METER_IDENTIFIER_MAX = 100;

export const meterConfigSchema = z.object({
  eventName: z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,100}$/)),
  meterId: z.string().check(z.regex(/^mtr_[A-Za-z0-9_]{1,200}$/, 'a Stripe meter id (mtr_…)')),
});

export const usageSettingsSchema = z.object({
  meters: z.partialRecord(z.enum(USAGE_METERS), meterConfigSchema),
  settleAfterDays: z.number().check(z.int(), z.minimum(1), z.maximum(7)),
  alarmAfterDays: z.number().check(z.int(), z.minimum(1), z.maximum(METER_EVENT_MAX_AGE_DAYS - 1)),
});

export const DEFAULT_USAGE_SETTINGS: UsageSettings = { meters: {}, settleAfterDays: 2, alarmAfterDays: 30 };

/** Metric: tenant-days not delivered `alarmAfterDays` after they ended (R-BILL-2). */
export const USAGE_NEAR_LIMIT_METRIC = 'UsageDaysNearReportLimit';
/** Metric: tenant-day-meters whose provider value differs from the ledger (reconciliation). */
export const USAGE_MISMATCH_METRIC = 'UsageMismatches';
/** The structured log line a mismatch writes (a metric filter counts it; the line names tenant, day and meter). */
export const USAGE_MISMATCH_MESSAGE = 'usage mismatch';

const DAY_MS = 24 * 3600 * 1000;

export const usageDayOf = (iso: string): string => new Date(Date.parse(iso)).toISOString().slice(0, 10);
export const dayStartSeconds = (day: string): number => Date.parse(`${day}T00:00:00.000Z`) / 1000;
const addDays = (day: string, days: number): string => new Date(Date.parse(`${day}T00:00:00.000Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** Days `from` through `to`, inclusive, oldest first. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/**
 * R-BILL-2: the same meter, tenant, day, value and revision always give the same identifier (≤ 100 characters), so
 * a resend is recognised by the provider; a changed total gets a new one.
 */
export function usageIdentifier(meter: UsageMeter, tenantId: string, day: string, value: number, revision: number): string {
  const digest = createHash('sha256').update(`${meter}\u0000${tenantId}\u0000${day}\u0000${value}\u0000${revision}`).digest('hex');
  return `lq_${day.replaceAll('-', '')}_${digest.slice(0, 48)}`;
}

/** A stored event's marks: one event of its kind and its plaintext size in bytes, on the UTC day it was received. */
/**
 * R-BILL-2: the AI function's mark of one provider call: its billable tokens (input + output; cached and reasoning
 * are inside them), keyed by the API request and the call's place in the turn, so a retried request is counted once.
 */
export function aiUsageMark(tenantId: string, at: string, requestId: string, call: number, tokens: number): UsageMark {
  return { tenantId, day: usageDayOf(at), sourceId: `ai#${requestId}#${call}`, quantities: { ai_tokens: tokens } };
}

export function eventUsageMark(event: { tenantId: string; eventId: string; kind: string; receivedAt: string }, bytes: number): UsageMark {
  return {
    tenantId: event.tenantId,
    day: usageDayOf(event.receivedAt),
    sourceId: event.eventId,
    quantities: { [`events.${event.kind}`]: 1, bytes_stored: bytes } as UsageQuantities,
  };
}

export function addQuantities(into: Partial<Record<UsageMeter, number>>, quantities: UsageQuantities): void {
  for (const [meter, value] of Object.entries(quantities) as [UsageMeter, number][]) into[meter] = (into[meter] ?? 0) + value;
}

export interface ReportOutcome {
  /** Meter totals the provider accepted, or had already (a duplicate answer counts as delivered). */
  sent: number;
  duplicates: number;
  /** Meter totals already delivered with this value. */
  unchanged: number;
  settled: number;
  /** Tenant-days not yet deliverable (no Stripe customer yet, or a failed send), `alarmAfterDays` old or older. */
  readonly nearLimit: { readonly tenantId: string; readonly day: string }[];
  /** Tenant-days that could not be reported in this run (retried next run); the run reports the rest first. */
  readonly failed: { readonly tenantId: string; readonly day: string; readonly error: string }[];
  /** Tenant-days without a Stripe customer: kept and sent once one exists. */
  readonly withoutCustomer: { readonly tenantId: string; readonly day: string }[];
}

export interface UsageReportingDeps {
  readonly ledger: UsageLedger;
  readonly sink: MeterSink;
  /** The tenant's Stripe customer (from its subscription records), if it has one. */
  readonly customerOf: (tenantId: string) => Promise<string | undefined>;
  readonly settings: UsageSettings;
  readonly clock: Clock;
}

const emptyOutcome = (): ReportOutcome => ({ sent: 0, duplicates: 0, unchanged: 0, settled: 0, nearLimit: [], failed: [], withoutCustomer: [] });

/** R-BILL-2: the daily reporter; R-TERM-1: the termination flush (`flushTenant`) runs the same per-day code. */
export class UsageReporter {
  constructor(private readonly deps: UsageReportingDeps) {}

  /** Every closed day within Stripe's 35-day window, every tenant with usage on it. */
  async run(): Promise<ReportOutcome> {
    const outcome = emptyOutcome();
    const today = usageDayOf(this.deps.clock.now().toISOString());
    for (const day of daysBetween(addDays(today, -(METER_EVENT_MAX_AGE_DAYS - 1)), addDays(today, -1))) {
      for (const tenantId of await this.deps.ledger.tenantsWithUsage(day)) {
        await this.reportDay(tenantId, day, 'daily', outcome);
      }
    }
    return outcome;
  }

  /**
   * R-TERM-1: the tenant's open usage (today included) goes out before anything of it is deleted. A later daily run
   * finds the same totals delivered and sends nothing more.
   */
  async flushTenant(tenantId: string): Promise<ReportOutcome> {
    const outcome = emptyOutcome();
    const today = usageDayOf(this.deps.clock.now().toISOString());
    for (const day of daysBetween(addDays(today, -(METER_EVENT_MAX_AGE_DAYS - 1)), today)) {
      if (await this.deps.ledger.hasUsage(tenantId, day)) await this.reportDay(tenantId, day, 'termination', outcome);
    }
    if (outcome.failed.length > 0) throw new Error(`Usage flush of '${tenantId}' failed for ${outcome.failed.map((f) => f.day).join(', ')}: ${outcome.failed[0].error}`);
    return outcome;
  }

  private async reportDay(tenantId: string, day: string, reason: UsageDelivery['reason'], outcome: ReportOutcome): Promise<void> {
    const { ledger, sink, settings, clock } = this.deps;
    const now = clock.now();
    const ageDays = Math.floor((now.getTime() - Date.parse(`${addDays(day, 1)}T00:00:00.000Z`)) / DAY_MS);
    const nearLimit = ageDays >= settings.alarmAfterDays;
    try {
      if (await ledger.isSettled(tenantId, day)) return;
      const [totals, deliveries] = await Promise.all([ledger.dayTotals(tenantId, day), ledger.deliveries(tenantId, day)]);
      const latest = new Map<UsageMeter, UsageDelivery>();
      for (const delivery of deliveries) latest.set(delivery.meter, delivery);
      const pending = (Object.keys(settings.meters) as UsageMeter[]).filter((meter) => (latest.get(meter)?.value ?? 0) !== (totals[meter] ?? 0));
      outcome.unchanged += Object.keys(settings.meters).length - pending.length;
      if (pending.length > 0) {
        const customerId = await this.deps.customerOf(tenantId);
        if (!customerId) {
          outcome.withoutCustomer.push({ tenantId, day });
          if (nearLimit) outcome.nearLimit.push({ tenantId, day });
          return;
        }
        for (const meter of pending) {
          const value = totals[meter] ?? 0;
          const revision = deliveries.filter((d) => d.meter === meter).length;
          const identifier = usageIdentifier(meter, tenantId, day, value, revision);
          const answer = await sink.send({ eventName: settings.meters[meter]!.eventName, customerId, value, identifier, timestamp: dayStartSeconds(day) });
          await ledger.recordDelivery({ tenantId, day, meter, value, revision, identifier, outcome: answer, deliveredAt: clock.now().toISOString(), reason });
          outcome.sent++;
          if (answer === 'duplicate') outcome.duplicates++;
        }
      }
      if (ageDays >= settings.settleAfterDays) {
        await ledger.settle(tenantId, day, totals, now.toISOString());
        outcome.settled++;
      }
    } catch (error) {
      outcome.failed.push({ tenantId, day, error: (error as Error).name });
      if (nearLimit) outcome.nearLimit.push({ tenantId, day });
    }
  }
}

export interface UsageMismatch {
  readonly tenantId: string;
  readonly day: string;
  readonly meter: UsageMeter;
  readonly ledger: number;
  readonly provider: number;
}

/**
 * Reconciliation: what the provider holds per tenant, meter and closed day (Stripe's meter event summaries) against
 * the ledger's totals. A difference is a mismatch naming tenant, day and meter; equal sides yield none.
 */
export class UsageReconciliation {
  constructor(private readonly deps: Omit<UsageReportingDeps, 'clock'> & { readonly clock: Clock }) {}

  async run(): Promise<{ readonly mismatches: UsageMismatch[]; readonly checked: number; readonly withoutCustomer: string[] }> {
    const { ledger, sink, settings, clock } = this.deps;
    const today = usageDayOf(clock.now().toISOString());
    const from = addDays(today, -(METER_EVENT_MAX_AGE_DAYS - 1));
    const to = addDays(today, -1);
    const daysOf = new Map<string, string[]>();
    for (const day of daysBetween(from, to)) {
      for (const tenantId of await ledger.tenantsWithUsage(day)) daysOf.set(tenantId, [...(daysOf.get(tenantId) ?? []), day]);
    }
    const mismatches: UsageMismatch[] = [];
    const withoutCustomer: string[] = [];
    let checked = 0;
    for (const [tenantId, days] of daysOf) {
      const customerId = await this.deps.customerOf(tenantId);
      if (!customerId) {
        withoutCustomer.push(tenantId);
        continue;
      }
      const totals = new Map(await Promise.all(days.map(async (day) => [day, await ledger.dayTotals(tenantId, day)] as const)));
      for (const [meter, config] of Object.entries(settings.meters) as [UsageMeter, MeterConfig][]) {
        const provider = await sink.dailyValues(config, customerId, from, to);
        for (const day of days) {
          checked++;
          const expected = totals.get(day)?.[meter] ?? 0;
          const held = provider.get(day) ?? 0;
          if (expected !== held) mismatches.push({ tenantId, day, meter, ledger: expected, provider: held });
        }
      }
    }
    return { mismatches, checked, withoutCustomer };
  }
}
