/** The billing function's adapters, from its declared environment (function.ts). */
import { DynamoBillingRecords } from '../adapters/dynamo-billing-records';
import { dynamoOf } from '../adapters/dynamo-client';
import { DynamoTenantPlans } from '../adapters/dynamo-tenant-plans';
import { stripeEventVerifier } from '../adapters/stripe-webhooks';
import { SecretsManagerSigningSecret, configuredSigningSecret, secretsManagerReader } from '../adapters/stripe-webhook-secret';
import { billingSettingsSchema, type BillingSettings } from '../domain/billing';
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
    signingSecret: local
      ? configuredSigningSecret(local)
      : new SecretsManagerSigningSecret(secretsManagerReader({ region: c.clients.region, endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER }), secretArn),
  };
}
