/**
 * Runtime settings: the part of the deployment config that the functions need. CDK validates the whole
 * config (lib/config.ts) and hands this part to every function as JSON in `LUMIQO_SETTINGS` (read by
 * lambdas/shared/settings.ts); the local runtime builds it from the same schema. One schema, so synth and runtime
 * cannot disagree. The domain's rules take these settings (limits, plans, tenancy), so the schema is the domain's.
 */
import * as z from './zod';
import { TENANT_ID_PATTERN } from './keys';

/** An integer from `min` to `max`. */
const integer = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const retentionDays = integer(1, 3650);

export const planSchema = z.strictObject({
  /** R-RET-1: how long ingested event data is kept. */
  retentionDays,
  /** Bounds within which the controller may set a tenant's own retention. */
  minRetentionDays: z._default(retentionDays, 1),
  maxRetentionDays: z._default(retentionDays, 3650),
  /**
   * R-BILL-1 (lambdas/domain/plan-limits.ts): events the tenant may ingest per UTC month, API-key events and webhook
   * deliveries together (429 quota_exceeded beyond). A plan that leaves a limit out gets Starter's default.
   */
  monthlyEvents: z._default(integer(1, 1_000_000_000_000), 1_000_000),
  /** R-BILL-1: webhook sources the tenant may have (409 plan_limit_reached beyond). */
  maxWebhookSources: z._default(integer(0, 100_000), 5),
  /** R-BILL-1: active API keys the tenant may have (409 plan_limit_reached beyond). */
  maxApiKeys: z._default(integer(1, 100_000), 5),
});

/** A single-tenant deployment's tenant; lib/config.ts takes it as its `tenant` key. */
export const deploymentTenantSchema = z.string().check(z.regex(TENANT_ID_PATTERN, 'tenant: a tenant id (a-z, 0-9, -)'));

export const runtimeSettingsSchema = z.strictObject({
  stage: z.string().check(z.regex(/^[a-z][a-z0-9-]{0,19}$/, 'stage: 1-20 of a-z, 0-9 and -, starting with a letter')),
  tenancy: z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('multi') }),
    z.strictObject({ mode: z.literal('single'), tenantId: deploymentTenantSchema }),
  ]),
  plans: z.strictObject({ starter: planSchema, business: planSchema, enterprise: planSchema }),
  limits: z.strictObject({
    /** Largest request body accepted on an ingestion route. */
    maxBodyBytes: integer(1024, 6 * 1024 * 1024),
    /** Most events in one batch request. */
    maxBatchEvents: integer(1, 500),
    /** Ciphertexts larger than this go to S3, the item keeps a pointer (DynamoDB items stop at 400 KB). */
    inlinePayloadBytes: integer(1024, 300 * 1024),
  }),
  /** Webhook timestamp tolerance; deliveries are de-duplicated for twice this (R-ING-2). */
  webhookToleranceSeconds: integer(30, 3600),
  /** R-SEC-6: how long audit entries are kept (lib/config.ts auditRetentionDays). @default AUDIT_RETENTION_DAYS (365) */
  auditRetentionDays: z.optional(integer(365, 3650)),
});

export type RuntimeSettings = z.infer<typeof runtimeSettingsSchema>;

export const DEFAULT_RUNTIME_SETTINGS: RuntimeSettings = {
  stage: 'dev',
  tenancy: { mode: 'multi' },
  plans: {
    starter: { retentionDays: 30, minRetentionDays: 1, maxRetentionDays: 30, monthlyEvents: 1_000_000, maxWebhookSources: 5, maxApiKeys: 5 },
    business: { retentionDays: 90, minRetentionDays: 1, maxRetentionDays: 365, monthlyEvents: 50_000_000, maxWebhookSources: 50, maxApiKeys: 50 },
    enterprise: { retentionDays: 365, minRetentionDays: 1, maxRetentionDays: 3650, monthlyEvents: 1_000_000_000, maxWebhookSources: 500, maxApiKeys: 500 },
  },
  limits: { maxBodyBytes: 1024 * 1024, maxBatchEvents: 100, inlinePayloadBytes: 32 * 1024 },
  webhookToleranceSeconds: 300,
};
