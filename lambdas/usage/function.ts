import { declareFunction } from '../shared/declarations';

/**
 * R-BILL-2, R-TERM-1, R-RET-3: reports each tenant's daily usage to Stripe meters, reconciles it against Stripe's
 * meter event summaries, flushes a terminating tenant's open usage, and writes the monthly statements. Not
 * internet-facing (its own function, so the webhook's role holds no Stripe API key), and it starts no workflow (the
 * termination workflow invokes it).
 */
export const USAGE = declareFunction({
  name: 'usage',
  description: 'Reports daily usage to Stripe meters, reconciles it with their event summaries, writes monthly statements',
  uses: {
    // R-TERM-6: the usage marks and day index (read), deliveries and settled days (append), subscription states (read).
    ledger: 'read-write',
    stripeApi: 'meter',
    statements: 'write',
  },
});
