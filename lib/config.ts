/**
 * The deployment's configuration: one typed object, validated at synth. It is read from an optional JSON
 * file (`-c config=path/to/file.json`, default `lumiqo.config.json` when present) and from cdk context
 * (`-c key=value`, which wins). An unknown or bad value fails synth with a message that names the key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DEFAULT_BACKUP_RETENTION_DAYS, STREAM_RETENTION_HOURS } from '../lambdas/domain/privacy';
import { AUDIT_RETENTION_DAYS } from '../lambdas/domain/retention';
import { DEFAULT_AI_SETTINGS, aiSettingsSchema, type AiSettings } from '../lambdas/domain/ai/settings';
import { DEFAULT_BILLING_SETTINGS, PRICE_ID_PATTERN, type BillingSettings } from '../lambdas/domain/billing';
import { DEFAULT_USAGE_SETTINGS, USAGE_METERS, type UsageSettings } from '../lambdas/domain/usage';
import { DEFAULT_RUNTIME_SETTINGS, deploymentTenantSchema, runtimeSettingsSchema, type RuntimeSettings } from '../lambdas/domain/settings';

const plans = DEFAULT_RUNTIME_SETTINGS.plans;

/** The processor's Kinesis event source (lib/constructs/stream-processor.ts); every default is here, nowhere else. */
const processorSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(10000).default(500),
  maxBatchingWindowSeconds: z.number().int().min(0).max(300).default(1),
  retryAttempts: z.number().int().min(0).max(10000).default(10),
  maxRecordAgeHours: z.number().int().min(1).max(168).default(24),
  parallelizationFactor: z.number().int().min(1).max(10).default(1),
});
export type ProcessorSettings = z.infer<typeof processorSchema>;
/** What a deployment gets for every processor setting it leaves out. */
export const DEFAULT_PROCESSOR_SETTINGS: ProcessorSettings = processorSchema.parse({});

// The runtime part's schemas are zod/mini (they are bundled into every function, issue 9): classic zod composes
// them as they are, through its functional forms (`z._default`, `z.optional`); they have no `.default()` method.
const runtime = runtimeSettingsSchema.shape;
/** An account root, role or user ARN (roles and users may have paths). */
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;

export const configSchema = z.strictObject({
  stage: z._default(runtime.stage, DEFAULT_RUNTIME_SETTINGS.stage),
  /** R-DEP-1 multi-tenant by default; R-DEP-2 `single` with `tenant` for a dedicated deployment. */
  tenancy: z.enum(['multi', 'single']).default('multi'),
  tenant: z.optional(deploymentTenantSchema),
  plans: z._default(runtime.plans, plans),
  limits: z._default(runtime.limits, DEFAULT_RUNTIME_SETTINGS.limits),
  webhookToleranceSeconds: z._default(runtime.webhookToleranceSeconds, DEFAULT_RUNTIME_SETTINGS.webhookToleranceSeconds),
  /** R-ING-5: WAF rate-based rules count requests over a 5-minute window. */
  rateLimits: z
    .strictObject({
      perIpPer5Min: z.number().int().min(10).max(2_000_000_000).default(3000),
      perTenantPer5Min: z.number().int().min(10).max(2_000_000_000).default(30000),
      /** API Gateway stage throttling behind the WAF. */
      stageRatePerSecond: z.number().int().min(1).max(100000).default(2000),
      stageBurst: z.number().int().min(1).max(100000).default(4000),
    })
    .prefault({}),
  /** Alarm notifications; no subscription is created when absent. */
  alarmEmail: z.email('alarmEmail: an e-mail address').optional(),
  stream: z
    .strictObject({
      /**
       * Kinesis retention: must outlast the processor's maximum record age. R-DSR-2, R-TERM-4: the stream holds whole
       * events, beyond the reach of erasure and shredding, so it keeps them no longer than processing needs (24 h,
       * Kinesis's minimum and the processor's maximum record age); deletion records and certificates name it.
       */
      retentionHours: z.number().int().min(24).max(8760).default(STREAM_RETENTION_HOURS),
    })
    .prefault({}),
  processor: processorSchema.prefault({}),
  /** R-RET-5: server and function logs. */
  logRetentionDays: z.literal([1, 3, 5, 7, 14, 30, 60, 90]).default(90),
  /** R-SEC-6: audit entries are kept 12 months. */
  auditRetentionDays: z.number().int().min(365).max(3650).default(AUDIT_RETENTION_DAYS),
  /** R-AV-1/R-AV-2: daily backups kept at most 90 days. */
  backupRetentionDays: z.number().int().min(1).max(90).default(DEFAULT_BACKUP_RETENTION_DAYS),
  /** R-BILL-1: Stripe. Which plan each price buys, and the grace between a subscription's end and termination. */
  billing: z
    .strictObject({
      prices: z.record(z.string().regex(PRICE_ID_PATTERN, 'a Stripe price id (price_…)'), z.enum(['starter', 'business', 'enterprise'])).default({}),
      terminationGraceDays: z.number().int().min(0).max(365).default(DEFAULT_BILLING_SETTINGS.terminationGraceDays),
      /** R-BILL-2: which platform meter is sent to which Stripe meter (event name and id); an absent meter is not billed. */
      meters: z.partialRecord(z.enum(USAGE_METERS), z.strictObject({
        eventName: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
        meterId: z.string().regex(/^mtr_[A-Za-z0-9_]{1,200}$/, 'a Stripe meter id (mtr_…)'),
      })).default({}),
      /** Days after its end a day is settled (the stream keeps records 24 h; retries end before). */
      settleAfterDays: z.number().int().min(1).max(7).default(DEFAULT_USAGE_SETTINGS.settleAfterDays),
      /** Days after its end an undelivered day raises UsageDaysNearReportLimit (Stripe refuses events older than 35 days). */
      usageAlarmAfterDays: z.number().int().min(1).max(34).default(DEFAULT_USAGE_SETTINGS.alarmAfterDays),
    })
    .prefault({}),
  /**
   * R-AI-1, R-AI-3 (issue 13): the AI assistant's OpenAI-compatible endpoint, model, price table, per-plan monthly
   * token budgets and per-turn bounds (lambdas/domain/ai/settings.ts). Without `baseUrl` the AI routes answer
   * ai_not_configured. The provider's API key goes into the stack's secret (output AiApiKeySecretArn), never here.
   */
  ai: z
    .record(z.string(), z.unknown())
    .default({})
    .transform((value, ctx) => {
      const parsed = aiSettingsSchema.safeParse({ ...DEFAULT_AI_SETTINGS, ...value });
      if (parsed.success) return parsed.data as AiSettings;
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      return z.NEVER;
    }),
  /** R-SEC-5: who may call the operator routes (lib/constructs/operator-access.ts). */
  operator: z
    .strictObject({
      /** A person assumes the operator role only with MFA (aws:MultiFactorAuthPresent). */
      requireMfa: z.boolean().default(true),
      /** IAM principals that may assume the operator role; none: the account root, so the account's IAM policies decide. */
      trustedPrincipals: z.array(z.string().regex(IAM_PRINCIPAL_ARN, 'an IAM principal ARN: arn:aws:iam::<account>:root, :role/<name> or :user/<name>')).default([]),
      /** Also admit principals of this account tagged lumiqo:operator=true, without the operator role (and its MFA rule). */
      admitTaggedPrincipals: z.boolean().default(false),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  if (c.tenancy === 'single' && !c.tenant) {
    ctx.addIssue({ code: 'custom', path: ['tenant'], message: "tenancy 'single' needs a tenant id: -c tenant=<id>" });
  }
  if (c.tenancy === 'multi' && c.tenant) {
    ctx.addIssue({ code: 'custom', path: ['tenant'], message: "tenant is only for tenancy 'single'" });
  }
  if (c.processor.maxRecordAgeHours > c.stream.retentionHours) {
    ctx.addIssue({ code: 'custom', path: ['processor', 'maxRecordAgeHours'], message: 'must not exceed stream.retentionHours' });
  }
  for (const [name, plan] of Object.entries(c.plans)) {
    if (plan.retentionDays < plan.minRetentionDays || plan.retentionDays > plan.maxRetentionDays) {
      ctx.addIssue({ code: 'custom', path: ['plans', name, 'retentionDays'], message: 'must lie within minRetentionDays..maxRetentionDays' });
    }
  }
  if (c.plans.starter.retentionDays > c.plans.business.retentionDays || c.plans.business.retentionDays > c.plans.enterprise.retentionDays) {
    ctx.addIssue({ code: 'custom', path: ['plans'], message: 'Business keeps data at least as long as Starter, Enterprise at least as long as Business (R-RET-1)' });
  }
  // R-BILL-1: a larger plan allows at least as much as a smaller one, so an upgrade never lowers a limit.
  for (const limit of ['monthlyEvents', 'maxWebhookSources', 'maxApiKeys'] as const) {
    for (const [smaller, larger] of [['starter', 'business'], ['business', 'enterprise']] as const) {
      if (c.plans[smaller][limit] > c.plans[larger][limit]) {
        ctx.addIssue({ code: 'custom', path: ['plans', larger, limit], message: `must be at least ${smaller}'s ${c.plans[smaller][limit]} (R-BILL-1: an upgrade never lowers a limit)` });
      }
    }
  }
});

export type LumiqoConfig = z.infer<typeof configSchema>;

/** Context keys accepted on the command line, with how to read a string value. */
const CONTEXT_KEYS: Record<string, 'string' | 'number' | 'boolean'> = {
  stage: 'string',
  tenancy: 'string',
  tenant: 'string',
  alarmEmail: 'string',
  webhookToleranceSeconds: 'number',
  'rateLimits.perIpPer5Min': 'number',
  'rateLimits.perTenantPer5Min': 'number',
  'rateLimits.stageRatePerSecond': 'number',
  'rateLimits.stageBurst': 'number',
  'stream.retentionHours': 'number',
  'processor.batchSize': 'number',
  'processor.maxBatchingWindowSeconds': 'number',
  'processor.retryAttempts': 'number',
  'processor.maxRecordAgeHours': 'number',
  'processor.parallelizationFactor': 'number',
  logRetentionDays: 'number',
  auditRetentionDays: 'number',
  backupRetentionDays: 'number',
  'billing.terminationGraceDays': 'number',
  'ai.baseUrl': 'string',
  'ai.model': 'string',
  'billing.settleAfterDays': 'number',
  'billing.usageAlarmAfterDays': 'number',
  'operator.requireMfa': 'boolean',
  'operator.admitTaggedPrincipals': 'boolean',
};

export interface ContextSource {
  tryGetContext(key: string): unknown;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Builds the config from the config file and cdk context; throws ConfigError naming the bad key. */
export function loadConfig(context: ContextSource, cwd = process.cwd()): LumiqoConfig {
  const fileArg = context.tryGetContext('config');
  const file = typeof fileArg === 'string' ? path.resolve(cwd, fileArg) : path.join(cwd, 'lumiqo.config.json');
  let raw: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`Invalid Lumiqo config file ${file}: ${(e as Error).message}`);
    }
  } else if (typeof fileArg === 'string') {
    throw new ConfigError(`Lumiqo config file not found: ${file}`);
  }
  for (const [key, type] of Object.entries(CONTEXT_KEYS)) {
    const value = context.tryGetContext(key);
    if (value === undefined) continue;
    const parsed = type === 'number' && typeof value === 'string' ? (value.trim() === '' ? Number.NaN : Number(value)) : value;
    if (type === 'number' && Number.isNaN(parsed)) throw new ConfigError(`Invalid Lumiqo config: ${key}: expected a number, got '${value}'`);
    setPath(raw, key.split('.'), type === 'boolean' ? booleanOf(key, value) : parsed);
  }
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): LumiqoConfig {
  const result = configSchema.safeParse(withImpliedTenancy(raw));
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid Lumiqo config: ${lines.join('; ')}`);
  }
  return result.data;
}

/** The runtime part handed to every function as LUMIQO_SETTINGS. */
export function runtimeSettings(config: LumiqoConfig): RuntimeSettings {
  return {
    stage: config.stage,
    tenancy: config.tenancy === 'single' ? { mode: 'single', tenantId: config.tenant! } : { mode: 'multi' },
    plans: config.plans,
    limits: config.limits,
    webhookToleranceSeconds: config.webhookToleranceSeconds,
    // R-SEC-6: the audit entries' TTL follows the configured retention, not a constant.
    auditRetentionDays: config.auditRetentionDays,
  };
}

/** What the billing function gets as BILLING_SETTINGS: the Stripe signature tolerance is the webhooks' one. */
export function usageSettings(config: LumiqoConfig): UsageSettings {
  return { meters: config.billing.meters, settleAfterDays: config.billing.settleAfterDays, alarmAfterDays: config.billing.usageAlarmAfterDays };
}

export function billingSettings(config: LumiqoConfig): BillingSettings {
  return { prices: config.billing.prices, terminationGraceDays: config.billing.terminationGraceDays, toleranceSeconds: config.webhookToleranceSeconds };
}

/** Stack names: a single-tenant deployment gets its own (R-DEP-2). */
export function stackPrefix(config: LumiqoConfig): string {
  const base = `Lumiqo-${config.stage}`;
  return config.tenancy === 'single' ? `${base}-${config.tenant}` : base;
}

/** R-DEP-2: `-c tenant=<id>` alone asks for a single-tenant deployment (DESIGN.md); an explicit tenancy still wins. */
function withImpliedTenancy(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const record = raw as Record<string, unknown>;
  return record.tenant !== undefined && record.tenancy === undefined ? { ...record, tenancy: 'single' } : raw;
}

/** `-c key=true|false` arrives as a string; a JSON config file gives a boolean. */
function booleanOf(key: string, value: unknown): unknown {
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value === 'boolean') return value;
  throw new ConfigError(`Invalid Lumiqo config: ${key}: expected true or false, got '${String(value)}'`);
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}
