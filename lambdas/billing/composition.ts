/** The billing function's adapters, from its declared environment (function.ts). */
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { DynamoBillingRecords } from '../adapters/dynamo-billing-records';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { workflowStarterOf } from '../adapters/sfn-workflow-starter';
import { dynamoOf } from '../adapters/dynamo-client';
import { DynamoTenantPlans } from '../adapters/dynamo-tenant-plans';
import { stripeEventVerifier } from '../adapters/stripe-webhooks';
import { SecretsManagerSigningSecret, configuredSigningSecret, secretsManagerReader } from '../adapters/stripe-webhook-secret';
import { billingSettingsSchema, type BillingSettings, type TerminationStarter } from '../domain/billing';
import type { DocumentStore } from '../domain/ports';
import { Termination } from '../domain/termination';
import { Composition } from '../shared/composition';
import { BILLING_ENV } from '../shared/declarations';
import type { RuntimeOptions } from '../shared/environment';
import { ENV } from '../shared/settings';
import { BILLING } from './function';
import type { BillingHandlerDeps } from './handler';

/** BILLING_SETTINGS, validated; a bad value stops the cold start naming the key. */
export function billingSettingsFrom(raw: string): BillingSettings {
  const parsed = billingSettingsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${BILLING_ENV.settings}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Starting a termination reads no document (its export and certificate exist only later), so billing is granted
 * neither bucket; a read would be a wiring error and fails loudly.
 */
const NO_DOCUMENTS: DocumentStore = new Proxy({} as DocumentStore, {
  get: (_target, method) => () => Promise.reject(new Error(`billing has no document store (${String(method)})`)),
});

/** R-TERM-1: the termination start of lambdas/domain/termination.ts, as the privacy function's operators use it. */
function terminationStarter(c: Composition): TerminationStarter {
  const directory = tenantDirectoryOf(c);
  const requests = privacyRequestsOf(c);
  const termination = new Termination({ directory, requests, audit: auditLogOf(c), workflows: workflowStarterOf(c), exports: NO_DOCUMENTS, records: NO_DOCUMENTS, clock: c.clock });
  return {
    async isTerminating(tenantId) {
      const [tenant, record] = await Promise.all([directory.getTenant(tenantId), requests.getTermination(tenantId)]);
      return tenant?.status === 'terminated' || (record !== undefined && record.status !== 'failed');
    },
    async start(tenantId) {
      return (await termination.start('system:billing', tenantId, { election: 'export-then-delete' })).terminationId;
    },
  };
}

export function composeBilling(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): BillingHandlerDeps {
  const c = new Composition(BILLING, env, runtime);
  const db = dynamoOf(c);
  const secretArn = c.env.value('stripeWebhook', BILLING_ENV.webhookSecretArn);
  // Local mode and tests: the configured secret; in AWS (where CDK never sets the local variable) Secrets Manager.
  const local = env[BILLING_ENV.localWebhookSecret];
  return {
    records: new DynamoBillingRecords(db, c.env.value('ledger', ENV.ledgerTable), c.clock),
    plans: new DynamoTenantPlans(db, c.env.value('control', ENV.controlTable)),
    settings: billingSettingsFrom(c.env.value('stripeWebhook', BILLING_ENV.settings)),
    clock: c.clock,
    verifier: stripeEventVerifier,
    terminations: terminationStarter(c),
    signingSecret: local
      ? configuredSigningSecret(local)
      : new SecretsManagerSigningSecret(secretsManagerReader(c.clients), secretArn),
  };
}
