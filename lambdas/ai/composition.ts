/**
 * The AI function's adapters, from its declared environment (function.ts). Tools read through the tenant-scoped role
 * (R-SEC-4, adapters/tenant-scoped-reads.ts); conversations go to the AI partitions, sealed under the tenant key.
 * The provider: AI_SETTINGS' baseUrl and model (locally LUMIQO_OPENAI_BASE_URL and LUMIQO_OPENAI_MODEL win), its key
 * from Secrets Manager, or locally from LUMIQO_OPENAI_API_KEY / LUMIQO_OPENAI_API_KEY_FILE. No base URL: every
 * question answers ai_not_configured.
 */
import { localApiKey, secretsManagerApiKey } from '../adapters/ai-provider-key';
import { aiStoreOf } from '../adapters/dynamo-ai-store';
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { usageMarksOf } from '../adapters/dynamo-usage-ledger';
import { tenantCryptoOf } from '../adapters/envelope-crypto';
import { OpenAiChatModel } from '../adapters/openai-chat';
import { secretsManagerReader } from '../adapters/stripe-webhook-secret';
import { tenantScopedReadsOf } from '../adapters/tenant-scoped-reads';
import { Assistant } from '../domain/ai/assistant';
import { aiSettingsSchema, type AiSettings } from '../domain/ai/settings';
import type { Tenant } from '../domain/model';
import { retentionDaysFor } from '../domain/retention';
import { Composition } from '../shared/composition';
import { AI_ENV } from '../shared/declarations';
import type { RuntimeOptions } from '../shared/environment';
import { AI } from './function';
import type { AiDeps } from './handler';

/** AI_SETTINGS, validated, with the local overrides; a bad value stops the cold start naming the key. */
export function aiSettingsFrom(raw: string, env: NodeJS.ProcessEnv): AiSettings {
  const parsed = aiSettingsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${AI_ENV.settings}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const baseUrl = env[AI_ENV.localBaseUrl] || parsed.data.baseUrl;
  const model = env[AI_ENV.localModel] || parsed.data.model;
  return { ...parsed.data, model, ...(baseUrl ? { baseUrl } : {}) };
}

export function composeAi(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): AiDeps {
  const c = new Composition(AI, env, runtime);
  const settings = aiSettingsFrom(c.env.value('aiProvider', AI_ENV.settings), env);
  const secretArn = c.env.value('aiProvider', AI_ENV.apiKeySecretArn);
  const localKey = env[AI_ENV.localApiKey] || env[AI_ENV.localApiKeyFile];
  // Local mode has no Secrets Manager; in AWS the key is the stack's secret unless one is given for a local server.
  const apiKey = localKey || c.env.keyring === 'local'
    ? localApiKey(env[AI_ENV.localApiKey], env[AI_ENV.localApiKeyFile])
    : secretsManagerApiKey(secretsManagerReader(c.clients), secretArn);
  const store = aiStoreOf(c);
  const retentionDays = (tenant: Tenant) => retentionDaysFor(tenant, c.settings);
  const assistant = new Assistant({
    store,
    crypto: tenantCryptoOf(c),
    ...(settings.baseUrl ? { model: new OpenAiChatModel({ baseUrl: settings.baseUrl, apiKey, timeoutMs: settings.providerTimeoutMs }) } : {}),
    settings,
    clock: c.clock,
    audit: auditLogOf(c),
    retentionDays,
    // R-AI-4: only where the tenant has enabled it (at creation: aiSpecialCategory).
    allowSpecialCategory: (tenant) => tenant.aiSpecialCategory === true,
    // R-BILL-2: the ai_tokens meter, one mark per provider call.
    usage: usageMarksOf(c),
  });
  return { directory: tenantDirectoryOf(c), clock: c.clock, store, assistant, consent: privacyRequestsOf(c), tenantScoped: tenantScopedReadsOf(c), retentionDays };
}
