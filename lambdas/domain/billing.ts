/**
 * Billing through Stripe (R-BILL-1, R-BILL-3, R-SEC-10): what a verified Stripe event means for a tenant. Pure: the
 * signature is checked before this (the Stripe SDK, behind `StripeEventVerifier`), the records live behind
 * `BillingRecords` (the BillingLedger table, apart from tenant data: R-RET-3, R-TERM-6), and the plan is written to
 * the tenant through `TenantPlans`, from where the processor's TTL follows it (R-RET-1, lambdas/domain/retention.ts).
 *
 * Only tokenised references are kept: customer, subscription, price, invoice and event ids, statuses, amounts and
 * timestamps. The parsers below pick exactly those fields, so card details, names or addresses a Stripe object may
 * carry never reach a record (R-SEC-10).
 *
 * Out-of-order delivery: Stripe does not order its deliveries. Every subscription state is kept as its own immutable
 * record, ordered by the event's `created` (then a canceled state after a live one of the same second, then the event
 * id); the tenant's plan is decided from the newest state of each subscription, whatever order they came in, and is
 * written only if that decision is newer than the one the tenant holds.
 */
import * as z from './zod';
import { DomainError, type PlanName } from './model';
import type { Clock } from './ports';

export const PLAN_NAMES: readonly PlanName[] = ['starter', 'business', 'enterprise'];

/** R-RET-3: billing records are kept 7 years, then deleted automatically (the ledger table's TTL). */
export const BILLING_RETENTION_DAYS = 7 * 366;

/** What the billing function needs of the deployment's config (lib/config.ts `billing`). */
export interface BillingSettings {
  /** Stripe price id → the plan it buys (R-BILL-1). A subscription whose prices are all unknown changes no plan. */
  readonly prices: Readonly<Record<string, PlanName>>;
  /** Days between a subscription's end and the tenant's termination. */
  readonly terminationGraceDays: number;
  /** `constructEvent` tolerance: a signature older than this is refused (R-BILL-3). */
  readonly toleranceSeconds: number;
}

export const PRICE_ID_PATTERN = /^price_[A-Za-z0-9_]{1,200}$/;

export const billingSettingsSchema = z.object({
  prices: z.record(z.string().check(z.regex(PRICE_ID_PATTERN, 'a Stripe price id (price_…)')), z.enum(['starter', 'business', 'enterprise'])),
  terminationGraceDays: z.number().check(z.int(), z.minimum(0), z.maximum(365)),
  toleranceSeconds: z.number().check(z.int(), z.minimum(30), z.maximum(3600)),
});

export const DEFAULT_BILLING_SETTINGS: BillingSettings = { prices: {}, terminationGraceDays: 14, toleranceSeconds: 300 };

/** The fields of a Stripe event that billing reads; everything else is dropped at parse (R-SEC-10). */
export interface StripeEventEnvelope {
  readonly id: string;
  readonly type: string;
  /** Epoch seconds. */
  readonly created: number;
  readonly object: Record<string, unknown>;
}

/** Tenant ids as the platform writes them (lambdas/shared/keys.ts TENANT_ID_PATTERN, repeated: the domain imports no shared module). */
const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

const id = (prefix: string) => z.string().check(z.regex(new RegExp(`^${prefix}_[A-Za-z0-9_]{1,250}$`), `a Stripe ${prefix}_ id`));
/** Stripe expands some references to objects; billing only keeps the id. */
const ref = (prefix: string) => z.union([id(prefix), z.pipe(z.object({ id: id(prefix) }), z.transform((o) => o.id))]);
const metadata = z.optional(z.nullable(z.record(z.string(), z.string())));

const checkoutSessionSchema = z.object({
  id: id('cs'),
  client_reference_id: z.optional(z.nullable(z.string())),
  customer: z.optional(z.nullable(ref('cus'))),
  subscription: z.optional(z.nullable(ref('sub'))),
  metadata,
});

const subscriptionSchema = z.object({
  id: id('sub'),
  customer: ref('cus'),
  status: z.enum(['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused']),
  items: z.object({ data: z.array(z.object({ price: z.object({ id: z.string() }) })) }),
  metadata,
  ended_at: z.optional(z.nullable(z.number())),
  canceled_at: z.optional(z.nullable(z.number())),
});

const invoiceSchema = z.object({
  id: id('in'),
  customer: ref('cus'),
  status: z.optional(z.nullable(z.string())),
  amount_due: z.optional(z.number()),
  amount_paid: z.optional(z.number()),
  currency: z.optional(z.string()),
  created: z.optional(z.number()),
  /** Before API 2025-03-31.basil. */
  subscription: z.optional(z.nullable(ref('sub'))),
  /** From basil on: the subscription is under `parent.subscription_details`. */
  parent: z.optional(z.nullable(z.object({ subscription_details: z.optional(z.nullable(z.object({ subscription: z.optional(z.nullable(ref('sub'))) }))) }))),
});

/** Subscription statuses under which the tenant keeps its plan. `past_due` too: Stripe is still retrying the payment. */
const LIVE_STATUSES = new Set(['trialing', 'active', 'past_due']);

/** One subscription at one moment, as an event showed it. Immutable once recorded. */
export interface SubscriptionState {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly status: string;
  readonly priceIds: readonly string[];
  /** The event's `created`, epoch seconds. */
  readonly eventCreated: number;
  readonly eventId: string;
  /** Epoch seconds, when the subscription has ended (canceled). */
  readonly endedAt?: number;
  /** `order` of the state: sorts states of one subscription oldest first (see orderOf). */
  readonly order: string;
}

/** An invoice outcome (reference, status, amounts): what an invoice needs, no more (R-SEC-10). */
export interface InvoiceRecord {
  readonly tenantId: string;
  readonly invoiceId: string;
  readonly customerId: string;
  readonly subscriptionId?: string;
  readonly outcome: 'paid' | 'payment_failed';
  readonly status?: string;
  readonly amountDue?: number;
  readonly amountPaid?: number;
  readonly currency?: string;
  readonly invoiceCreated?: number;
  readonly eventId: string;
  readonly eventCreated: number;
}

/** A deleted subscription's consequence: the tenant is terminated once the grace period is over (R-TERM-1). */
export interface PendingTermination {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly endedAt: string;
  readonly terminateAfter: string;
  readonly eventId: string;
}

/** What the tenant's subscriptions decide, from the newest state of each. */
export interface BillingDecision {
  /** The plan to hold, when a live subscription has a mapped price; the best of several. */
  readonly plan?: PlanName;
  /** When no subscription is live any more and one has ended: the termination after the grace period. */
  readonly pendingTermination?: PendingTermination;
  /** The newest state's order: the decision's version, so an older decision never overwrites a newer one. */
  readonly version: string;
}

export interface CustomerLink {
  readonly customerId: string;
  readonly tenantId: string;
  readonly linkedAt: string;
  readonly eventId: string;
}

/** R-BILL-1, R-RET-3: billing records, append-only, in a store no tenant-facing role can read. */
export interface BillingRecords {
  /** Whether this Stripe event has already had its effect (R-BILL-3: idempotent on the event id). */
  isProcessed(eventId: string): Promise<boolean>;
  /** Marks the event done, after its effects: a crash before leaves it to Stripe's retry, whose effects are idempotent. */
  markProcessed(event: { readonly eventId: string; readonly type: string; readonly created: number; readonly tenantId?: string; readonly at: string }): Promise<void>;
  /** The tenant linked to a Stripe customer. */
  tenantOfCustomer(customerId: string): Promise<string | undefined>;
  /** Links a customer to a tenant once; linking it to another tenant afterwards is refused (returns the existing link). */
  linkCustomer(link: CustomerLink): Promise<CustomerLink>;
  /** Records a state (idempotent: the same state again is a no-op). */
  recordSubscriptionState(state: SubscriptionState): Promise<void>;
  /** Every recorded state of the tenant's subscriptions. */
  subscriptionStates(tenantId: string): Promise<SubscriptionState[]>;
  recordInvoice(invoice: InvoiceRecord): Promise<void>;
  /** Records a pending termination, and lists it by its date for the scheduled check. */
  recordPendingTermination(pending: PendingTermination): Promise<void>;
  /** The recorded pending terminations of a tenant (the scheduled check reads them with the newest decision). */
  pendingTerminations(tenantId: string): Promise<PendingTermination[]>;
  /** Every pending termination due at `now` (ISO) or before, of every tenant, by one query of the date list. */
  dueTerminations(now: string): Promise<PendingTermination[]>;
}

/** R-TERM-1: starts a tenant's termination (lambdas/domain/termination.ts), and says whether one is under way. */
export interface TerminationStarter {
  /** Whether the tenant is terminated, or a termination runs or has completed (a failed one does not count). */
  isTerminating(tenantId: string): Promise<boolean>;
  /** Starts the export-then-delete termination; returns its id. */
  start(tenantId: string): Promise<string>;
}

/** The tenant's plan in the Control table, where ingestion and the processor read it (R-RET-1). */
export interface TenantPlans {
  /** Whether the tenant exists. */
  exists(tenantId: string): Promise<boolean>;
  /** Sets the plan if `version` is newer than the one the tenant holds; 'stale' otherwise. */
  setPlan(tenantId: string, plan: PlanName, version: string): Promise<'updated' | 'stale'>;
}

export interface BillingDeps {
  readonly records: BillingRecords;
  readonly plans: TenantPlans;
  readonly settings: BillingSettings;
  readonly clock: Clock;
}

export type WebhookOutcome =
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'applied'; readonly tenantId: string; readonly plan?: PlanName; readonly pendingTermination?: string };

export interface DueTerminationOutcome {
  readonly started: readonly { readonly tenantId: string; readonly terminationId: string }[];
  /** Tenants whose pending termination no longer holds (re-subscribed, or a later end moved it) or already runs. */
  readonly skipped: readonly { readonly tenantId: string; readonly reason: 'subscribed' | 'not-yet-due' | 'already-terminating' }[];
}

/**
 * R-TERM-1, R-BILL-1: the scheduled check (hourly). A tenant whose subscriptions all ended is terminated once its
 * grace period is over, by the export-then-delete election (R-TERM-2, R-TERM-3). The decision is taken again from
 * the subscription states, so a tenant that subscribed again in the meantime is left alone; a tenant already
 * terminating is skipped without a second start (and without an audit entry each hour).
 */
export class DueTerminations {
  constructor(private readonly deps: { readonly records: BillingRecords; readonly terminations: TerminationStarter; readonly settings: BillingSettings; readonly clock: Clock }) {}

  async run(): Promise<DueTerminationOutcome> {
    const now = this.deps.clock.now().toISOString();
    const tenants = [...new Set((await this.deps.records.dueTerminations(now)).map((p) => p.tenantId))];
    const started: { tenantId: string; terminationId: string }[] = [];
    const skipped: DueTerminationOutcome['skipped'][number][] = [];
    for (const tenantId of tenants) {
      const decision = decide(await this.deps.records.subscriptionStates(tenantId), this.deps.settings);
      if (!decision?.pendingTermination) skipped.push({ tenantId, reason: 'subscribed' });
      else if (decision.pendingTermination.terminateAfter > now) skipped.push({ tenantId, reason: 'not-yet-due' });
      else if (await this.deps.terminations.isTerminating(tenantId)) skipped.push({ tenantId, reason: 'already-terminating' });
      else started.push({ tenantId, terminationId: await this.deps.terminations.start(tenantId) });
    }
    return { started, skipped };
  }
}

/** Sort key of a state: event time, then a canceled state after a live one of the same second, then the event id. */
export function orderOf(eventCreated: number, status: string, eventId: string): string {
  return `${String(eventCreated).padStart(12, '0')}#${status === 'canceled' ? 1 : 0}#${eventId}`;
}

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();
const rank = (plan: PlanName) => PLAN_NAMES.indexOf(plan);

/**
 * R-BILL-1: the plan from the newest state of each subscription. A live subscription's mapped prices give the plan
 * (the highest of several); with none live and one ended, termination is due `terminationGraceDays` after the end.
 */
export function decide(states: readonly SubscriptionState[], settings: BillingSettings): BillingDecision | undefined {
  const newest = new Map<string, SubscriptionState>();
  for (const state of states) {
    const known = newest.get(state.subscriptionId);
    if (!known || known.order < state.order) newest.set(state.subscriptionId, state);
  }
  if (newest.size === 0) return undefined;
  const current = [...newest.values()];
  const version = current.map((s) => s.order).sort().at(-1)!;
  const plans = current
    .filter((s) => LIVE_STATUSES.has(s.status))
    .flatMap((s) => s.priceIds.map((price) => settings.prices[price]).filter((p): p is PlanName => p !== undefined));
  if (plans.length > 0) return { plan: plans.reduce((a, b) => (rank(b) > rank(a) ? b : a)), version };
  if (current.some((s) => LIVE_STATUSES.has(s.status))) return { version };
  const ended = current.filter((s) => s.status === 'canceled').sort((a, b) => (a.order < b.order ? -1 : 1)).at(-1);
  if (!ended) return { version };
  const endedAt = ended.endedAt ?? ended.eventCreated;
  return {
    version,
    pendingTermination: {
      tenantId: ended.tenantId,
      subscriptionId: ended.subscriptionId,
      endedAt: iso(endedAt),
      terminateAfter: iso(endedAt + settings.terminationGraceDays * 86_400),
      eventId: ended.eventId,
    },
  };
}

function parse<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DomainError('invalid_request', `the Stripe ${what} is not as expected: ${issue.path.join('.') || '(root)'}: ${issue.message}`, 400);
  }
  return parsed.data;
}

/**
 * Applies verified Stripe events (R-BILL-1). Each effect is idempotent (conditional appends, a versioned plan), and
 * the event is marked processed only after them: a replayed event is answered `duplicate` with no second effect,
 * and a crash half-way is completed by Stripe's retry without doing anything twice.
 */
export class StripeBilling {
  constructor(private readonly deps: BillingDeps) {}

  async handle(event: StripeEventEnvelope): Promise<WebhookOutcome> {
    const { records, clock } = this.deps;
    if (await records.isProcessed(event.id)) return { outcome: 'duplicate' };
    const outcome = await this.apply(event);
    await records.markProcessed({
      eventId: event.id,
      type: event.type,
      created: event.created,
      ...(outcome.outcome === 'applied' ? { tenantId: outcome.tenantId } : {}),
      at: clock.now().toISOString(),
    });
    return outcome;
  }

  private async apply(event: StripeEventEnvelope): Promise<WebhookOutcome> {
    switch (event.type) {
      case 'checkout.session.completed':
        return this.checkoutCompleted(event);
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        return this.subscriptionChanged(event);
      case 'invoice.paid':
      case 'invoice.payment_failed':
        return this.invoiceOutcome(event);
      default:
        // Stripe sends only the types the endpoint subscribes to; anything else is acknowledged and left alone.
        return { outcome: 'ignored', reason: `event type ${event.type} is not handled` };
    }
  }

  /**
   * Links the tenant to its Stripe customer. The tenant id is the session's `client_reference_id` (set by whoever
   * creates the Checkout Session or payment link for the tenant), else its `metadata.tenantId`.
   */
  private async checkoutCompleted(event: StripeEventEnvelope): Promise<WebhookOutcome> {
    const session = parse(checkoutSessionSchema, event.object, 'checkout session');
    const tenantId = session.client_reference_id ?? session.metadata?.tenantId;
    if (!tenantId || !TENANT_ID.test(tenantId)) {
      return { outcome: 'ignored', reason: 'the checkout session names no tenant (client_reference_id)' };
    }
    if (!session.customer) return { outcome: 'ignored', reason: 'the checkout session has no customer' };
    await this.requireTenant(tenantId);
    const link = await this.deps.records.linkCustomer({ customerId: session.customer, tenantId, linkedAt: iso(event.created), eventId: event.id });
    if (link.tenantId !== tenantId) {
      throw new DomainError('conflict', `Stripe customer ${session.customer} is already linked to another tenant`, 409);
    }
    // The subscription's own events may have come first: decide again now that they can be attributed.
    return this.redecide(tenantId);
  }

  private async subscriptionChanged(event: StripeEventEnvelope): Promise<WebhookOutcome> {
    const subscription = parse(subscriptionSchema, event.object, 'subscription');
    const tenantId = await this.tenantOf(subscription.customer, subscription.metadata?.tenantId);
    const status = event.type === 'customer.subscription.deleted' ? 'canceled' : subscription.status;
    const endedAt = subscription.ended_at ?? subscription.canceled_at ?? undefined;
    await this.deps.records.recordSubscriptionState({
      tenantId,
      subscriptionId: subscription.id,
      customerId: subscription.customer,
      status,
      priceIds: subscription.items.data.map((item) => item.price.id),
      eventCreated: event.created,
      eventId: event.id,
      ...(status === 'canceled' && endedAt !== undefined ? { endedAt } : {}),
      order: orderOf(event.created, status, event.id),
    });
    return this.redecide(tenantId);
  }

  private async invoiceOutcome(event: StripeEventEnvelope): Promise<WebhookOutcome> {
    const invoice = parse(invoiceSchema, event.object, 'invoice');
    const tenantId = await this.tenantOf(invoice.customer, undefined);
    const subscriptionId = invoice.subscription ?? invoice.parent?.subscription_details?.subscription ?? undefined;
    await this.deps.records.recordInvoice({
      tenantId,
      invoiceId: invoice.id,
      customerId: invoice.customer,
      ...(subscriptionId ? { subscriptionId } : {}),
      outcome: event.type === 'invoice.paid' ? 'paid' : 'payment_failed',
      ...(invoice.status ? { status: invoice.status } : {}),
      ...(invoice.amount_due !== undefined ? { amountDue: invoice.amount_due } : {}),
      ...(invoice.amount_paid !== undefined ? { amountPaid: invoice.amount_paid } : {}),
      ...(invoice.currency ? { currency: invoice.currency } : {}),
      ...(invoice.created !== undefined ? { invoiceCreated: invoice.created } : {}),
      eventId: event.id,
      eventCreated: event.created,
    });
    // A failed payment changes no plan: Stripe retries it (the subscription goes past_due, then is canceled or
    // unpaid, and those subscription events decide).
    return { outcome: 'applied', tenantId };
  }

  private async redecide(tenantId: string): Promise<WebhookOutcome> {
    const decision = decide(await this.deps.records.subscriptionStates(tenantId), this.deps.settings);
    if (!decision) return { outcome: 'applied', tenantId };
    if (decision.plan) await this.deps.plans.setPlan(tenantId, decision.plan, decision.version);
    if (decision.pendingTermination) await this.deps.records.recordPendingTermination(decision.pendingTermination);
    return {
      outcome: 'applied',
      tenantId,
      ...(decision.plan ? { plan: decision.plan } : {}),
      ...(decision.pendingTermination ? { pendingTermination: decision.pendingTermination.terminateAfter } : {}),
    };
  }

  /**
   * The customer's linked tenant, else the subscription's `metadata.tenantId` (set through Checkout's
   * `subscription_data.metadata`), which also links it. Neither: 404, and Stripe retries, by when checkout's
   * event has usually linked the customer.
   */
  private async tenantOf(customerId: string, metadataTenant: string | undefined): Promise<string> {
    const linked = await this.deps.records.tenantOfCustomer(customerId);
    if (linked) return linked;
    if (metadataTenant && TENANT_ID.test(metadataTenant)) {
      await this.requireTenant(metadataTenant);
      const link = await this.deps.records.linkCustomer({ customerId, tenantId: metadataTenant, linkedAt: this.deps.clock.now().toISOString(), eventId: 'metadata' });
      return link.tenantId;
    }
    throw new DomainError('not_found', `No tenant is linked to Stripe customer ${customerId} yet`, 404);
  }

  private async requireTenant(tenantId: string): Promise<void> {
    if (!(await this.deps.plans.exists(tenantId))) throw new DomainError('not_found', `Tenant '${tenantId}' does not exist`, 404);
  }
}
