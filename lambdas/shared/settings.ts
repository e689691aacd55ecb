/**
 * Runtime settings: the part of the deployment config that the functions need. CDK validates the whole
 * config (lib/config.ts) and hands this part to every function as JSON in `LUMIQO_SETTINGS`; the local
 * runtime builds it from the same schema. One schema, so synth and runtime cannot disagree.
 */
import { z } from 'zod';
import { TENANT_ID_PATTERN } from './keys';

export const planSchema = z.strictObject({
  /** R-RET-1: how long ingested event data is kept. */
  retentionDays: z.number().int().min(1).max(3650),
  /** Bounds within which the controller may set a tenant's own retention. */
  minRetentionDays: z.number().int().min(1).max(3650).default(1),
  maxRetentionDays: z.number().int().min(1).max(3650).default(3650),
});

export const runtimeSettingsSchema = z.strictObject({
  stage: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, 'stage: 1-20 of a-z, 0-9 and -, starting with a letter'),
  tenancy: z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('multi') }),
    z.strictObject({ mode: z.literal('single'), tenantId: z.string().regex(TENANT_ID_PATTERN, 'tenant: a tenant id (a-z, 0-9, -)') }),
  ]),
  plans: z.strictObject({ starter: planSchema, business: planSchema, enterprise: planSchema }),
  limits: z.strictObject({
    /** Largest request body accepted on an ingestion route. */
    maxBodyBytes: z.number().int().min(1024).max(6 * 1024 * 1024),
    /** Most events in one batch request. */
    maxBatchEvents: z.number().int().min(1).max(500),
    /** Ciphertexts larger than this go to S3, the item keeps a pointer (DynamoDB items stop at 400 KB). */
    inlinePayloadBytes: z.number().int().min(1024).max(300 * 1024),
  }),
  /** Webhook timestamp tolerance; deliveries are de-duplicated for twice this (R-ING-2). */
  webhookToleranceSeconds: z.number().int().min(30).max(3600),
});

export type RuntimeSettings = z.infer<typeof runtimeSettingsSchema>;

export const DEFAULT_RUNTIME_SETTINGS: RuntimeSettings = {
  stage: 'dev',
  tenancy: { mode: 'multi' },
  plans: {
    starter: { retentionDays: 30, minRetentionDays: 1, maxRetentionDays: 30 },
    business: { retentionDays: 90, minRetentionDays: 1, maxRetentionDays: 365 },
    enterprise: { retentionDays: 365, minRetentionDays: 1, maxRetentionDays: 3650 },
  },
  limits: { maxBodyBytes: 1024 * 1024, maxBatchEvents: 100, inlinePayloadBytes: 32 * 1024 },
  webhookToleranceSeconds: 300,
};

/** Reads `LUMIQO_SETTINGS`; a bad value stops the cold start with a message naming the key. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const raw = env[ENV.settings];
  if (!raw) return DEFAULT_RUNTIME_SETTINGS;
  const parsed = runtimeSettingsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${ENV.settings}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** Environment variable names: the contract between the CDK constructs and the handlers. */
export const ENV = {
  settings: 'LUMIQO_SETTINGS',
  controlTable: 'CONTROL_TABLE',
  dataTable: 'TENANT_DATA_TABLE',
  auditTable: 'AUDIT_TABLE',
  payloadBucket: 'PAYLOAD_BUCKET',
  eventStream: 'EVENT_STREAM',
  /** Role that read routes assume with a `tenantId` session tag (R-SEC-4). */
  tenantReadRoleArn: 'TENANT_READ_ROLE_ARN',
  /** `kms` in AWS; `local` uses the raw AES keyring over files in LUMIQO_LOCAL_KEY_DIR. */
  keyring: 'LUMIQO_KEYRING',
  localKeyDir: 'LUMIQO_LOCAL_KEY_DIR',
  /** Tag key and alias prefix for tenant KMS keys created at runtime. */
  tenantKeyAliasPrefix: 'TENANT_KEY_ALIAS_PREFIX',
  /** Value of the `lumiqo:deployment` tag on tenant keys (the stack prefix). */
  tenantKeyDeployment: 'TENANT_KEY_DEPLOYMENT',
  /** R-SEC-5: the principals of the key policy tenant keys are created with (JSON, adapters/tenant-key-policy.ts). */
  tenantKeyPolicy: 'TENANT_KEY_POLICY',
  /** The processor's dead-letter queue, for records that can never be stored (R-ING-7). */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Exports bucket: data-subject and termination exports, work lists (R-DSR-1, R-TERM-2). */
  exportsBucket: 'EXPORTS_BUCKET',
  /** Records bucket: signed deletion records and certificates (R-DSR-2, R-TERM-5). */
  recordsBucket: 'RECORDS_BUCKET',
  /** Billing ledger table (R-TERM-6). */
  ledgerTable: 'BILLING_LEDGER_TABLE',
  /** KMS asymmetric key that signs deletion records and certificates. */
  signingKeyId: 'SIGNING_KEY_ID',
  /** JSON map of workflow name to state machine ARN (privacy function). */
  stateMachines: 'STATE_MACHINE_ARNS',
  /** `true` for S3-compatible endpoints that need path-style URLs (emulators). */
  s3ForcePathStyle: 'LUMIQO_S3_FORCE_PATH_STYLE',
  /** JSON of the retention facts a certificate computes its dates from (termination tasks). */
  backupFacts: 'BACKUP_FACTS',
} as const;
