/**
 * Tenant administration (operators): tenants, API keys, webhook sources. Every action, success or failure,
 * writes an audit entry (R-SEC-6). Secrets are returned once and stored only hashed (API keys) or
 * envelope-encrypted under the tenant's own key (webhook secrets, the subject-hashing key) (R-SEC-3).
 */
import { randomBytes } from 'node:crypto';
import * as z from './zod';
import { CLIENT_ID_PATTERN, TENANT_ID_PATTERN } from './keys';
import type { RuntimeSettings } from './settings';
import { requireTenant } from './tenants';
import { API_KEY_ID_PATTERN, DEFAULT_API_KEY_SCOPES, issueApiKey, issueKeySchema } from './api-keys';
import { newId } from './ids';
import { parseJsonPath } from './json-paths';
import { assertPlanAllows } from './plan-limits';
import { WEBHOOK_SECRET_PURPOSE } from './ingestion';
import { DomainError, type ApiKeyScope, type Tenant } from './model';
import type { ApiKeyRecord, AuditLog, Clock, TenantCrypto, TenantDirectory, TenantKeyManager, WebhookSource } from './ports';
import { SUBJECT_KEY_PURPOSE } from './processing';
import { validateRetentionOverride } from './retention';
import { parse } from './validation';
import { generateWebhookSecret } from './webhook-signatures';

export const createTenantSchema = z.strictObject({
  tenantId: z.string().check(z.regex(TENANT_ID_PATTERN, 'tenantId: 2-63 of a-z, 0-9 and -')),
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  plan: z._default(z.enum(['starter', 'business', 'enterprise']), 'starter'),
  retentionDays: z.optional(z.int().check(z.positive())),
  subjectPaths: z.optional(
    z
      .array(z.strictObject({ kind: z.string().check(z.regex(/^[a-z][a-z0-9_]{0,39}$/)), path: z.string().check(z.minLength(2), z.maxLength(200)) }))
      .check(z.maxLength(20)),
  ),
  /** R-AI-4: special-category (Art. 9) fields may go to the AI provider for this tenant. @default false */
  aiSpecialCategory: z.optional(z.boolean()),
});

/** A webhook secret the tenant brings (Stripe's, Shopify's) or rotates to; its strength is checked per scheme (assertSecretStrength). */
const webhookSecret = z.string().check(z.minLength(1), z.maxLength(512));

export const createSourceSchema = z.strictObject({
  sourceId: z.optional(z.string().check(z.regex(CLIENT_ID_PATTERN, 'sourceId: letters, digits and . _ : -'))),
  scheme: z.enum(['standard', 'stripe', 'shopify', 'github']),
  /** Stripe and Shopify issue their own signing secrets: the tenant pastes it here. Generated when absent. */
  secret: z.optional(webhookSecret),
});

export const rotateSourceSchema = z.strictObject({
  secret: z.optional(webhookSecret),
  /** Issue 10: a leaked secret is revoked at once: only the new one stays valid. @default false */
  revokePrevious: z.optional(z.boolean()),
});

/** A tenant as operators see it: no ciphertexts. */
export type TenantView = Omit<Tenant, 'subjectKeyCiphertext'>;

export interface AdministrationDeps {
  readonly directory: TenantDirectory;
  readonly keys: TenantKeyManager;
  readonly crypto: TenantCrypto;
  readonly audit: AuditLog;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
}

/** Rotation keeps the newest secret and the one before it, so senders can switch without losing deliveries. */
const ACTIVE_SECRETS = 2;

export class Administration {
  constructor(private readonly deps: AdministrationDeps) {}

  async createTenant(actor: string, input: unknown): Promise<TenantView> {
    const { settings, directory } = this.deps;
    // R-SEC-6: a refused request is audited too, under the tenant id it named (when that id is well-formed).
    const namedTenant = typeof input === 'object' && input !== null ? (input as { tenantId?: unknown }).tenantId : undefined;
    return this.audited(actor, 'tenant.create', typeof namedTenant === 'string' ? namedTenant : '', async () => {
      const request = parse(createTenantSchema, input);
      if (settings.tenancy.mode === 'single' && settings.tenancy.tenantId !== request.tenantId) {
        // R-DEP-2: a dedicated deployment serves exactly its own tenant.
        throw new DomainError('invalid_request', `This deployment is dedicated to tenant '${settings.tenancy.tenantId}'`, 400);
      }
      if (request.retentionDays !== undefined) validateRetentionOverride(request.plan, request.retentionDays, settings);
      for (const { path } of request.subjectPaths ?? []) {
        try {
          parseJsonPath(path);
        } catch (e) {
          throw new DomainError('invalid_request', `subjectPaths: ${(e as Error).message}`, 400);
        }
      }
      if (await directory.getTenant(request.tenantId)) {
        throw new DomainError('conflict', `Tenant '${request.tenantId}' already exists`, 409);
      }
      const keyRef = await this.deps.keys.createTenantKey(request.tenantId);
      const subjectKey = await this.deps.crypto.encrypt({ tenantId: request.tenantId, keyRef }, randomBytes(32), SUBJECT_KEY_PURPOSE);
      const tenant: Tenant = {
        tenantId: request.tenantId,
        name: request.name,
        plan: request.plan,
        status: 'active',
        ...(request.retentionDays !== undefined ? { retentionDays: request.retentionDays } : {}),
        ...(request.subjectPaths ? { subjectPaths: request.subjectPaths } : {}),
        ...(request.aiSpecialCategory ? { aiSpecialCategory: true } : {}),
        keyRef,
        subjectKeyCiphertext: Buffer.from(subjectKey).toString('base64'),
        createdAt: this.deps.clock.now().toISOString(),
      };
      await directory.putTenant(tenant, { mustNotExist: true });
      return view(tenant);
    });
  }

  async getTenant(tenantId: string): Promise<TenantView & { apiKeys: ApiKeyRecord[] }> {
    const tenant = await requireTenant(this.deps.directory, tenantId);
    return { ...view(tenant), apiKeys: await this.deps.directory.listApiKeys(tenantId) };
  }

  /**
   * The key is in the answer once; only its SHA-256 is stored. R-SEC-5: `{ scopes }` chooses what it may do,
   * `ingest` only by default.
   */
  async issueApiKey(actor: string, tenantId: string, input: unknown = {}): Promise<{ keyId: string; apiKey: string; scopes: readonly ApiKeyScope[] }> {
    return this.audited(actor, 'api-key.issue', tenantId, async () => {
      const request = parse(issueKeySchema, input ?? {});
      const scopes = request.scopes ?? DEFAULT_API_KEY_SCOPES;
      const tenant = await requireTenant(this.deps.directory, tenantId);
      // R-BILL-1: the plan's number of active keys (revoked ones do not count).
      const active = (await this.deps.directory.listApiKeys(tenantId)).filter((key) => key.status === 'active').length;
      assertPlanAllows(tenant, this.deps.settings, 'API keys', active);
      const now = this.deps.clock.now();
      const issued = issueApiKey(now);
      await this.deps.directory.putApiKey(issued.keyHash, { tenantId, keyId: issued.keyId, status: 'active', scopes, createdAt: now.toISOString() });
      return { keyId: issued.keyId, apiKey: issued.apiKey, scopes };
    });
  }

  async revokeApiKey(actor: string, tenantId: string, keyId: string): Promise<void> {
    await this.audited(actor, 'api-key.revoke', tenantId, async () => {
      // Issue 10: an id no key can have is not looked up (DynamoDB refuses an oversized key with a 500).
      const revoked = API_KEY_ID_PATTERN.test(keyId) && (await this.deps.directory.revokeApiKey(tenantId, keyId, this.deps.clock.now().toISOString()));
      if (!revoked) throw new DomainError('not_found', 'No such API key for this tenant', 404);
    }, { keyId });
  }

  async createWebhookSource(actor: string, tenantId: string, input: unknown): Promise<{ sourceId: string; scheme: string; secret: string; path: string }> {
    return this.audited(actor, 'webhook-source.create', tenantId, async () => {
      const request = parse(createSourceSchema, input);
      const tenant = await requireTenant(this.deps.directory, tenantId);
      const sourceId = request.sourceId ?? newId('src', this.deps.clock.now()).toLowerCase();
      if (await this.deps.directory.getWebhookSource(tenantId, sourceId)) {
        throw new DomainError('conflict', `Webhook source '${sourceId}' already exists`, 409);
      }
      // R-BILL-1: the plan's number of webhook sources.
      assertPlanAllows(tenant, this.deps.settings, 'webhook sources', await this.deps.directory.countWebhookSources(tenantId));
      if (request.secret !== undefined) assertSecretStrength(request.scheme, request.secret);
      const secret = request.secret ?? generateWebhookSecret(request.scheme);
      const source: WebhookSource = {
        tenantId,
        sourceId,
        scheme: request.scheme,
        secretCiphertexts: [await this.encryptSecret(tenant, secret)],
        createdAt: this.deps.clock.now().toISOString(),
      };
      await this.deps.directory.putWebhookSource(source);
      return { sourceId, scheme: request.scheme, secret, path: `/v1/hooks/${tenantId}/${sourceId}` };
    });
  }

  /** The new secret signs from now on; the previous one stays valid until the next rotation, unless `revokePrevious`. */
  async rotateWebhookSource(actor: string, tenantId: string, sourceId: string, input: unknown): Promise<{ sourceId: string; secret: string; activeSecrets: number }> {
    return this.audited(actor, 'webhook-source.rotate', tenantId, async () => {
      const request = parse(rotateSourceSchema, input ?? {});
      const tenant = await requireTenant(this.deps.directory, tenantId);
      // Issue 10: an id no source can have is not looked up (DynamoDB refuses an oversized key with a 500).
      const source = CLIENT_ID_PATTERN.test(sourceId) ? await this.deps.directory.getWebhookSource(tenantId, sourceId) : undefined;
      if (!source) throw new DomainError('not_found', 'No such webhook source', 404);
      if (request.secret !== undefined) assertSecretStrength(source.scheme, request.secret);
      const secret = request.secret ?? generateWebhookSecret(source.scheme);
      const kept = request.revokePrevious ? [] : source.secretCiphertexts;
      const secretCiphertexts = [await this.encryptSecret(tenant, secret), ...kept].slice(0, ACTIVE_SECRETS);
      await this.deps.directory.putWebhookSource({ ...source, secretCiphertexts, rotatedAt: this.deps.clock.now().toISOString() });
      return { sourceId, secret, activeSecrets: secretCiphertexts.length };
    }, { sourceId });
  }

  async auditEntries(tenantId: string, month: string) {
    if (!/^\d{4}-\d{2}$/.test(month)) throw new DomainError('invalid_request', 'month: YYYY-MM', 400);
    return this.deps.audit.listForTenant(tenantId, month);
  }

  private async encryptSecret(tenant: Tenant, secret: string): Promise<string> {
    return Buffer.from(await this.deps.crypto.encrypt(tenant, Buffer.from(secret, 'utf8'), WEBHOOK_SECRET_PURPOSE)).toString('base64');
  }

  /** R-SEC-6: who did what to which tenant, whether it worked or not. */
  private async audited<T>(actor: string, action: string, tenantId: string, work: () => Promise<T>, detail?: Record<string, string>): Promise<T> {
    const record = (outcome: 'success' | 'failure', extra?: Record<string, string>) =>
      TENANT_ID_PATTERN.test(tenantId)
        ? this.deps.audit.record({ tenantId, at: this.deps.clock.now().toISOString(), actor, action, outcome, detail: { ...detail, ...extra } })
        : Promise.resolve();
    try {
      const result = await work();
      await record('success');
      return result;
    } catch (error) {
      await record('failure', { error: error instanceof DomainError ? error.code : 'internal_error' });
      throw error;
    }
  }
}

/** Issue 10: every secret carries at least 24 bytes (192 bits) of key material. */
export const MIN_SECRET_BYTES = 24;
const STANDARD_SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * Issue 10: a Standard Webhooks secret is `whsec_` + base64 of at least 24 bytes (one of non-base64 characters
 * decoded to zero bytes, an empty HMAC key); Stripe's is `whsec_` + at least 24 characters; Shopify's and GitHub's
 * at least 24 characters. A weak secret → 400 invalid_request.
 */
export function assertSecretStrength(scheme: WebhookSource['scheme'], secret: string): void {
  const weak = (rule: string) => new DomainError('invalid_request', `secret: ${rule}`, 400);
  switch (scheme) {
    case 'standard': {
      const base64 = STANDARD_SECRET.exec(secret)?.[1];
      if (!base64 || base64.length % 4 !== 0 || Buffer.from(base64, 'base64').length < MIN_SECRET_BYTES) {
        throw weak(`whsec_ followed by the base64 of at least ${MIN_SECRET_BYTES} random bytes`);
      }
      return;
    }
    case 'stripe':
      if (!secret.startsWith('whsec_') || secret.length - 'whsec_'.length < MIN_SECRET_BYTES) throw weak(`whsec_ followed by at least ${MIN_SECRET_BYTES} characters`);
      return;
    case 'shopify':
    case 'github':
      if (secret.length < MIN_SECRET_BYTES || new Set(secret).size < 8) throw weak(`at least ${MIN_SECRET_BYTES} characters, not a repeated few`);
      return;
  }
}

function view(tenant: Tenant): TenantView {
  const { subjectKeyCiphertext: _omitted, ...rest } = tenant;
  return rest;
}
