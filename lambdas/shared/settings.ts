/**
 * How a function receives its runtime settings (their schema and defaults are the domain's:
 * lambdas/domain/settings.ts), and the names of every environment variable the CDK constructs set.
 */
import { DEFAULT_RUNTIME_SETTINGS, runtimeSettingsSchema, type RuntimeSettings } from '../domain/settings';

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
