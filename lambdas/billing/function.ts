import { declareFunction } from '../shared/declarations';

/** R-BILL-1, R-BILL-3, R-SEC-10: Stripe's verified webhook decides the tenant's plan; billing records kept apart (R-RET-3). */
export const BILLING = declareFunction({
  name: 'billing',
  description: 'Verifies Stripe webhooks and applies subscriptions to tenant plans; billing records apart from tenant data',
  uses: {
    // The tenant's plan (UpdateItem, versioned), whether the tenant exists, and its termination record: the tenant's
    // own partition only, never an API key hash (R-SEC-5).
    control: 'billing',
    // R-RET-3, R-TERM-6: processed events, customer links, subscription states, invoices, pending terminations (append-only).
    ledger: 'read-write',
    stripeWebhook: 'verify',
    // R-TERM-1: the hourly check starts the termination of a tenant whose grace period is over, audited (R-SEC-6).
    audit: 'append',
    workflows: ['termination'],
  },
});
