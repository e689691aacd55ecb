/** In-memory twins of the billing ports, for the domain and handler tests (the same append-only semantics). */
import type { BillingRecords, CustomerLink, InvoiceRecord, PendingTermination, SubscriptionState, TenantPlans } from '../domain/billing';
import type { PlanName } from '../domain/model';
import { addQuantities, type UsageMark, type UsageMarks, type UsageQuantities } from '../domain/usage';

export class MemoryBillingRecords implements BillingRecords {
  readonly events = new Map<string, Parameters<BillingRecords['markProcessed']>[0]>();
  readonly customers = new Map<string, CustomerLink>();
  readonly states = new Map<string, SubscriptionState>();
  readonly invoices = new Map<string, InvoiceRecord>();
  readonly terminations = new Map<string, PendingTermination>();

  async isProcessed(eventId: string) {
    return this.events.has(eventId);
  }
  async markProcessed(event: Parameters<BillingRecords['markProcessed']>[0]) {
    if (!this.events.has(event.eventId)) this.events.set(event.eventId, event);
  }
  async tenantOfCustomer(customerId: string) {
    return this.customers.get(customerId)?.tenantId;
  }
  async linkCustomer(link: CustomerLink) {
    if (!this.customers.has(link.customerId)) this.customers.set(link.customerId, link);
    return this.customers.get(link.customerId)!;
  }
  async recordSubscriptionState(state: SubscriptionState) {
    const key = `${state.tenantId}#${state.subscriptionId}#${state.order}`;
    if (!this.states.has(key)) this.states.set(key, state);
  }
  async subscriptionStates(tenantId: string) {
    return [...this.states.values()].filter((s) => s.tenantId === tenantId);
  }
  async recordInvoice(invoice: InvoiceRecord) {
    const key = `${invoice.tenantId}#${invoice.invoiceId}#${invoice.eventId}`;
    if (!this.invoices.has(key)) this.invoices.set(key, invoice);
  }
  async recordPendingTermination(pending: PendingTermination) {
    const key = `${pending.tenantId}#${pending.terminateAfter}#${pending.eventId}`;
    if (!this.terminations.has(key)) this.terminations.set(key, pending);
  }
  async pendingTerminations(tenantId: string) {
    return [...this.terminations.values()].filter((p) => p.tenantId === tenantId);
  }
  async dueTerminations(now: string) {
    return [...this.terminations.values()].filter((p) => p.terminateAfter <= now).sort((a, b) => (a.terminateAfter < b.terminateAfter ? -1 : 1));
  }
}

export class MemoryTenantPlans implements TenantPlans {
  readonly tenants = new Map<string, { plan: PlanName; version?: string }>();
  /** Every plan write that was applied, in order. */
  readonly writes: { tenantId: string; plan: PlanName; version: string }[] = [];

  constructor(tenants: Record<string, PlanName> = {}) {
    for (const [tenantId, plan] of Object.entries(tenants)) this.tenants.set(tenantId, { plan });
  }
  async exists(tenantId: string) {
    return this.tenants.has(tenantId);
  }
  async setPlan(tenantId: string, plan: PlanName, version: string) {
    const tenant = this.tenants.get(tenantId);
    if (!tenant || (tenant.version !== undefined && tenant.version >= version)) return 'stale' as const;
    this.tenants.set(tenantId, { plan, version });
    this.writes.push({ tenantId, plan, version });
    return 'updated' as const;
  }
}

/**
 * In-memory twin of the processor's usage marks (DynamoUsageMarks): one mark per tenant, day and source, put again on
 * a retry and deleted on a take-back; the pages DynamoUsageMarks writes total as this does
 * (test/adapters/usage-marks.test.ts).
 */
export class MemoryUsageMarks implements UsageMarks {
  readonly marks = new Map<string, UsageMark>();
  async record(marks: readonly UsageMark[]) {
    for (const mark of marks) this.marks.set(`${mark.tenantId}#${mark.day}#${mark.sourceId}`, mark);
  }
  async forget(marks: readonly UsageMark[]) {
    for (const mark of marks) this.marks.delete(`${mark.tenantId}#${mark.day}#${mark.sourceId}`);
  }
  /** The day's totals, as DynamoUsageLedger.dayTotals sums them. */
  totals(tenantId: string, day: string): UsageQuantities {
    const totals: UsageQuantities = {};
    for (const mark of this.marks.values()) if (mark.tenantId === tenantId && mark.day === day) addQuantities(totals, mark.quantities);
    return totals;
  }
}
