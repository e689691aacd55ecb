/**
 * What a function is allowed to use, declared once per function (`lambdas/<name>/function.ts`). The CDK construct
 * (lib/constructs/lumiqo-function.ts) reads a declaration to set the function's environment and its grants
 * together; the function's composition (`lambdas/<name>/composition.ts`) builds exactly the declared adapters from
 * exactly that environment (`declaredEnvironment`). So a function cannot use a resource it has no grant for, nor be
 * granted one it does not use, without a declaration saying so (R-SEC-5).
 *
 * Pure data: the CDK app, the bundles and the tests all import it, so it imports nothing but names.
 */
import type { WorkflowName } from '../domain/privacy';
import { ENV } from './settings';

/** Every Lumiqo function: its folder under lambdas/, its construct id (PascalCase) and its Powertools service. */
export type LumiqoFunctionName = 'ingest' | 'processor' | 'query' | 'admin' | 'privacy' | 'privacy-tasks' | 'termination-tasks' | 'billing' | 'ai' | 'usage';

/** Template metadata key naming the function on its AWS::Lambda::Function (the local runtime finds functions by it). */
export const FUNCTION_METADATA_KEY = 'lumiqo:function';

/** Purposes in a tenant key's encryption context (`purpose`): which kind of secret a ciphertext holds. */
export type KeyPurpose = 'event' | 'webhook-secret' | 'subject-key' | 'privacy-corrections' | 'ai';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['event', 'webhook-secret', 'subject-key', 'privacy-corrections', 'ai'];

/** How a function uses each resource; an absent key is a resource it never touches. */
export interface FunctionUses {
  /**
   * Control table: tenants, key hashes, sources, deliveries, privacy requests. `purge` adds batch deletes (termination);
   * `ingest` reads all of it but writes only delivery markers and privacy requests (R-SEC-5).
   */
  readonly control?: 'read' | 'ingest' | 'billing' | 'read-write' | 'purge';
  /** TenantData table and payload bucket. `erase` adds deleting every object version (R-DSR-2, R-TERM-3). */
  readonly tenantData?: 'write' | 'erase';
  /** R-SEC-4: tenant data read only through the tenant-scoped role (its names, and AssumeRole on that role). */
  readonly tenantRead?: 'assume';
  /** R-SEC-6: the audit log, append-only. */
  readonly audit?: 'append';
  /** The Kinesis event stream. */
  readonly stream?: 'write';
  /** Exports bucket: subject and termination exports, work lists. */
  readonly exports?: 'read' | 'read-write';
  /** Records bucket (object-locked): signed deletion records and certificates. */
  readonly records?: 'read' | 'write';
  /** R-TERM-6: the billing ledger. */
  readonly ledger?: 'read-write';
  /** R-BILL-2: writes usage marks into the billing ledger table, only items of the `MARK` partitions (LeadingKeys). */
  readonly usage?: 'mark';
  /** Per-tenant KMS keys: envelope encryption for `purposes`, creating a tenant's key, shredding it (R-TERM-4). */
  readonly tenantKeys?: { readonly purposes: readonly KeyPurpose[]; readonly create?: true; readonly shred?: true };
  /** R-SEC-5: the explicit key policy a function that creates tenant keys gives each of them (with `tenantKeys.create`). */
  readonly tenantKeyPolicy?: true;
  /** R-TERM-5: the asymmetric key that signs deletion records and certificates. */
  readonly signingKey?: 'sign';
  /** Privacy state machines the function starts. */
  readonly workflows?: readonly WorkflowName[];
  /** R-ING-7: the processor's dead-letter queue. */
  readonly deadLetters?: 'send';
  /** The retention facts a deletion certificate computes its dates from (R-TERM-5). */
  readonly backupFacts?: true;
  /** R-BILL-1, R-BILL-3: the Stripe webhook signing secret (Secrets Manager) and the billing settings (price → plan). */
  readonly stripeWebhook?: 'verify';
  /**
   * R-AI-5, R-AI-6: the AI items of the TenantData table (`T#<tenantId>#AI` partitions and the `AI#TENANTS` list,
   * domain/keys.ts aiKeys), nothing else of it.
   */
  readonly aiData?: 'read-write';
  /** R-AI-1, R-AI-3: the model provider's API key (Secrets Manager) and the AI settings (endpoint, model, prices, bounds). */
  readonly aiProvider?: 'invoke';
  /** R-BILL-2: the Stripe API key (Secrets Manager) and the usage settings (which meter goes to which Stripe meter). */
  readonly stripeApi?: 'meter';
  /** R-RET-3: the statements bucket (Object Lock, compliance mode): writes monthly statements once. */
  readonly statements?: 'write';
}

export type FunctionResource = keyof FunctionUses;

export interface FunctionDeclaration {
  readonly name: LumiqoFunctionName;
  readonly description: string;
  readonly uses: FunctionUses;
}

export function declareFunction<const D extends FunctionDeclaration>(declaration: D): D {
  return declaration;
}

/** Variables of the billing function (R-BILL-1, R-BILL-3). */
export const BILLING_ENV = {
  /** The Secrets Manager secret holding the Stripe webhook signing secret (`whsec_…`). */
  webhookSecretArn: 'STRIPE_WEBHOOK_SECRET_ARN',
  /** JSON of the billing settings (lambdas/domain/billing.ts BillingSettings). */
  settings: 'BILLING_SETTINGS',
  /** Local mode and tests only, never set by CDK: the signing secret itself, in place of Secrets Manager. */
  localWebhookSecret: 'LUMIQO_LOCAL_STRIPE_WEBHOOK_SECRET',
  /** R-BILL-2: the Secrets Manager secret holding the Stripe API key of the usage reporter. */
  apiKeySecretArn: 'STRIPE_API_KEY_SECRET_ARN',
  /** JSON of the usage settings (lambdas/domain/usage.ts UsageSettings). */
  usageSettings: 'USAGE_SETTINGS',
  /** Local mode and tests only, never set by CDK: the Stripe API key itself, in place of Secrets Manager. */
  localApiKey: 'LUMIQO_LOCAL_STRIPE_API_KEY',
  /** Local mode and tests only: the Stripe API's base URL (e.g. a local server), in place of https://api.stripe.com. */
  apiBaseUrl: 'LUMIQO_STRIPE_API_BASE_URL',
  /** R-RET-3: the statements bucket. */
  statementsBucket: 'STATEMENTS_BUCKET',
} as const;

/** Variables of the AI function (R-AI-1, R-AI-3). */
export const AI_ENV = {
  /** The Secrets Manager secret holding the model provider's API key. */
  apiKeySecretArn: 'AI_API_KEY_SECRET_ARN',
  /** JSON of the AI settings (lambdas/domain/ai/settings.ts AiSettings). */
  settings: 'AI_SETTINGS',
  /** Local mode and tests only, never set by CDK: the OpenAI-compatible endpoint, overriding the settings' baseUrl. */
  localBaseUrl: 'LUMIQO_OPENAI_BASE_URL',
  /** Local mode: the API key itself, or a file holding it, in place of Secrets Manager. */
  localApiKey: 'LUMIQO_OPENAI_API_KEY',
  localApiKeyFile: 'LUMIQO_OPENAI_API_KEY_FILE',
  /** Local mode: the model name, overriding the settings' model. */
  localModel: 'LUMIQO_OPENAI_MODEL',
} as const;

/**
 * The environment variables each resource puts in a function's environment. One table, read by CDK (which sets
 * them) and by the runtime (which requires them), so the two cannot drift.
 */
export const RESOURCE_ENVIRONMENT: Readonly<Record<FunctionResource, readonly string[]>> = {
  control: [ENV.controlTable],
  tenantData: [ENV.dataTable, ENV.payloadBucket],
  tenantRead: [ENV.dataTable, ENV.payloadBucket, ENV.tenantReadRoleArn],
  audit: [ENV.auditTable],
  stream: [ENV.eventStream],
  exports: [ENV.exportsBucket],
  records: [ENV.recordsBucket],
  ledger: [ENV.ledgerTable],
  usage: [ENV.ledgerTable],
  tenantKeys: [ENV.keyring, ENV.tenantKeyAliasPrefix, ENV.tenantKeyDeployment],
  tenantKeyPolicy: [ENV.tenantKeyPolicy],
  signingKey: [ENV.keyring, ENV.signingKeyId],
  workflows: [ENV.stateMachines],
  deadLetters: [ENV.deadLetterQueueUrl],
  backupFacts: [ENV.backupFacts],
  stripeWebhook: [BILLING_ENV.webhookSecretArn, BILLING_ENV.settings],
  aiData: [ENV.dataTable],
  aiProvider: [AI_ENV.apiKeySecretArn, AI_ENV.settings],
  stripeApi: [BILLING_ENV.apiKeySecretArn, BILLING_ENV.usageSettings],
  statements: [BILLING_ENV.statementsBucket],
};

/** Variables of the local keyring (raw AES key files, a PEM signing key) that stand in for the KMS ones. */
export const LOCAL_KEYRING_ENVIRONMENT: readonly string[] = [ENV.keyring, ENV.localKeyDir];

/** Variables every function gets, whatever it uses. */
export const COMMON_ENVIRONMENT: readonly string[] = [ENV.settings];

export const declaredResources = (declaration: FunctionDeclaration): FunctionResource[] =>
  (Object.keys(declaration.uses) as FunctionResource[]).filter((resource) => declaration.uses[resource] !== undefined);

/** Every variable the declaration needs (AWS mode), in a stable order. */
export function declaredVariables(declaration: FunctionDeclaration): string[] {
  return [...new Set([...COMMON_ENVIRONMENT, ...declaredResources(declaration).flatMap((resource) => RESOURCE_ENVIRONMENT[resource])])];
}
