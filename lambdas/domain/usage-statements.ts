/**
 * R-RET-3, R-TERM-6: monthly usage statements, one per tenant and month, written once into the statements bucket
 * (Object Lock, compliance mode, 7 years: lib/constructs/billing-ledger.ts). A statement says, per day and meter,
 * the ledger's total and every total delivered to Stripe (value, revision, identifier, outcome): what was billed and
 * why. Written after the month's days are settled; a statement already written is never written again.
 */
import type { DocumentStore, Clock } from './ports';
import { daysBetween, usageDayOf, type UsageDelivery, type UsageLedger, type UsageQuantities, type UsageSettings } from './usage';

export const STATEMENTS_PREFIX = 'statements/';
export const statementKey = (tenantId: string, month: string) => `${STATEMENTS_PREFIX}${tenantId}/${month}.json`;

export interface UsageStatement {
  readonly kind: 'lumiqo.usage-statement.v1';
  readonly tenantId: string;
  /** `YYYY-MM`, UTC. */
  readonly month: string;
  readonly generatedAt: string;
  readonly days: readonly {
    readonly day: string;
    readonly totals: UsageQuantities;
    readonly deliveries: readonly Pick<UsageDelivery, 'meter' | 'value' | 'revision' | 'identifier' | 'outcome' | 'deliveredAt' | 'reason'>[];
  }[];
}

export interface StatementDeps {
  readonly ledger: UsageLedger;
  readonly statements: Pick<DocumentStore, 'get' | 'put'>;
  readonly settings: Pick<UsageSettings, 'settleAfterDays'>;
  readonly clock: Clock;
}

const previousMonth = (day: string): string => {
  const date = new Date(`${day.slice(0, 7)}-01T00:00:00.000Z`);
  date.setUTCMonth(date.getUTCMonth() - 1);
  return date.toISOString().slice(0, 7);
};

const lastDayOf = (month: string): string => {
  const date = new Date(`${month}-01T00:00:00.000Z`);
  date.setUTCMonth(date.getUTCMonth() + 1);
  date.setUTCDate(0);
  return date.toISOString().slice(0, 10);
};

export class MonthlyStatements {
  constructor(private readonly deps: StatementDeps) {}

  /** The previous month's statements, once its last day is settled (and while its marks are kept). */
  async run(): Promise<{ readonly month: string; readonly written: string[]; readonly skipped: number }> {
    const { ledger, statements, clock, settings } = this.deps;
    const today = usageDayOf(clock.now().toISOString());
    const month = previousMonth(today);
    const written: string[] = [];
    if (Number(today.slice(8, 10)) <= settings.settleAfterDays) return { month, written, skipped: 0 };
    const days = daysBetween(`${month}-01`, lastDayOf(month));
    const daysOf = new Map<string, string[]>();
    for (const day of days) for (const tenantId of await ledger.tenantsWithUsage(day)) daysOf.set(tenantId, [...(daysOf.get(tenantId) ?? []), day]);
    let skipped = 0;
    for (const [tenantId, tenantDays] of daysOf) {
      const key = statementKey(tenantId, month);
      if (await statements.get(key)) {
        skipped++;
        continue;
      }
      const statement: UsageStatement = {
        kind: 'lumiqo.usage-statement.v1',
        tenantId,
        month,
        generatedAt: clock.now().toISOString(),
        days: await Promise.all(tenantDays.map(async (day) => ({
          day,
          totals: await ledger.dayTotals(tenantId, day),
          deliveries: (await ledger.deliveries(tenantId, day)).map(({ meter, value, revision, identifier, outcome, deliveredAt, reason }) => ({ meter, value, revision, identifier, outcome, deliveredAt, reason })),
        }))),
      };
      await statements.put(key, Buffer.from(JSON.stringify(statement, null, 2), 'utf8'), 'application/json');
      written.push(key);
    }
    return { month, written, skipped };
  }
}
