/**
 * R-BILL-2, R-TERM-1, R-RET-3: the usage reporter, the reconciliation and the monthly statements as a function's
 * composition builds them (billing: the daily tasks; termination-tasks: the flush), from the `stripeApi` resource.
 * The Stripe API key comes from Secrets Manager in AWS and from LUMIQO_LOCAL_STRIPE_API_KEY locally; the Stripe
 * base URL from LUMIQO_STRIPE_API_BASE_URL locally (never set by CDK: https://api.stripe.com).
 */
import { DynamoBillingRecords } from './dynamo-billing-records';
import { dynamoOf } from './dynamo-client';
import { usageLedgerOf } from './dynamo-usage-ledger';
import { s3Of } from './s3-client';
import { S3DocumentStore } from './s3-document-store';
import { lazyStripe, StripeMeterSink } from './stripe-meters';
import { secretsManagerReader, SecretsManagerStripeApiKey } from './stripe-webhook-secret';
import type { BillingRecords } from '../domain/billing';
import { usageSettingsSchema, UsageReconciliation, UsageReporter, type UsageReportingDeps, type UsageSettings } from '../domain/usage';
import { MonthlyStatements } from '../domain/usage-statements';
import type { Composition } from '../shared/composition';
import { BILLING_ENV } from '../shared/declarations';
import { ENV } from '../shared/settings';

/** USAGE_SETTINGS, validated; a bad value stops the cold start naming the key. */
export function usageSettingsFrom(raw: string): UsageSettings {
  const parsed = usageSettingsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${BILLING_ENV.usageSettings}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data as UsageSettings;
}

/** The tenant's Stripe customer: that of its newest subscription state (tokenised reference, R-SEC-10). */
export function customerOfTenant(records: Pick<BillingRecords, 'subscriptionStates'>): (tenantId: string) => Promise<string | undefined> {
  return async (tenantId) => {
    const states = await records.subscriptionStates(tenantId);
    return [...states].sort((a, b) => (a.order < b.order ? -1 : 1)).pop()?.customerId;
  };
}

/** `processEnv`: the function's raw environment, for the two local-only variables (never set by CDK). */
function reportingDeps(c: Composition, processEnv: NodeJS.ProcessEnv): UsageReportingDeps {
  return c.once('usageReporting', () => {
    const env = c.env;
    const secretArn = env.value('stripeApi', BILLING_ENV.apiKeySecretArn);
    const local = processEnv[BILLING_ENV.localApiKey];
    const apiKey = local ? async () => local : (() => {
      const source = new SecretsManagerStripeApiKey(secretsManagerReader(c.clients), secretArn);
      return () => source.secret();
    })();
    const baseUrl = processEnv[BILLING_ENV.apiBaseUrl];
    return {
      ledger: usageLedgerOf(c),
      sink: new StripeMeterSink(lazyStripe(apiKey, baseUrl ? { baseUrl } : {})),
      customerOf: customerOfTenant(new DynamoBillingRecords(dynamoOf(c), env.value('ledger', ENV.ledgerTable), c.clock)),
      settings: usageSettingsFrom(env.value('stripeApi', BILLING_ENV.usageSettings)),
      clock: c.clock,
    };
  });
}

export const usageReporterOf = (c: Composition, env: NodeJS.ProcessEnv): UsageReporter =>
  c.once('usageReporter', () => new UsageReporter(reportingDeps(c, env)));
export const usageReconciliationOf = (c: Composition, env: NodeJS.ProcessEnv): UsageReconciliation =>
  c.once('usageReconciliation', () => new UsageReconciliation(reportingDeps(c, env)));
export const monthlyStatementsOf = (c: Composition, env: NodeJS.ProcessEnv): MonthlyStatements =>
  c.once('monthlyStatements', () => {
    const deps = reportingDeps(c, env);
    const statements = new S3DocumentStore(s3Of(c), c.env.value('statements', BILLING_ENV.statementsBucket));
    return new MonthlyStatements({ ledger: deps.ledger, statements, settings: deps.settings, clock: c.clock });
  });
