import { createHash, randomBytes } from 'node:crypto';
import { API_KEY_SCOPES, DomainError, type ApiKeyScope } from './model';
import type { ApiKeyRecord } from './ports';
import * as z from './zod';
import { newId } from './ids';

/**
 * Tenant API keys (R-SEC-3): `lq_<keyId>_<secret>`, shown once at creation. Only the SHA-256 of the whole key
 * is stored. The secret carries 256 random bits, so a fast hash is enough: no dictionary can reach it.
 */
const API_KEY_PATTERN = /^lq_(key_[0-9A-Z]{26})_([A-Za-z0-9_-]{43})$/;
/** The id part of a key, as revoke takes it. */
export const API_KEY_ID_PATTERN = /^key_[0-9A-Z]{26}$/;

export interface IssuedApiKey {
  readonly keyId: string;
  /** The full key: returned to the caller once, never stored or logged. */
  readonly apiKey: string;
  readonly keyHash: string;
}

export function issueApiKey(now: Date): IssuedApiKey {
  const keyId = newId('key', now);
  const apiKey = `lq_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, apiKey, keyHash: hashApiKey(apiKey) };
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** Reads `Authorization: Bearer <key>` (or `x-api-key`); a malformed key is rejected before any lookup. */
export function apiKeyFromHeaders(headers: Readonly<Record<string, string | undefined>>): string {
  const authorization = headers['authorization'];
  const presented = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? headers['x-api-key']?.trim();
  if (!presented) throw new DomainError('missing_api_key', 'Send the API key as "Authorization: Bearer <key>"', 401);
  if (!API_KEY_PATTERN.test(presented)) throw new DomainError('invalid_api_key', 'Unknown or revoked API key', 401);
  return presented;
}

/** R-SEC-5: a key is issued for ingestion only unless the operator asks for more. */
export const DEFAULT_API_KEY_SCOPES: readonly ApiKeyScope[] = ['ingest'];

/** `POST /v1/admin/tenants/{tenantId}/api-keys` body: `{ "scopes": [...] }`, each scope once. */
export const issueKeySchema = z.strictObject({
  scopes: z.optional(
    z
      .array(z.enum(API_KEY_SCOPES))
      .check(
        z.minLength(1),
        z.maxLength(API_KEY_SCOPES.length),
        z.refine((scopes) => new Set(scopes).size === scopes.length, 'scopes: each scope once'),
      ),
  ),
});

/** R-SEC-5: a record stored before scopes existed reads as ingest-only. */
export function scopesOf(record: Pick<ApiKeyRecord, 'scopes'>): readonly ApiKeyScope[] {
  return record.scopes ?? DEFAULT_API_KEY_SCOPES;
}

/** R-SEC-5: 403 insufficient_scope unless the key carries the scope the route needs. */
export function assertScope(record: Pick<ApiKeyRecord, 'scopes'>, needed: ApiKeyScope): void {
  if (!scopesOf(record).includes(needed)) {
    throw new DomainError('insufficient_scope', `This API key lacks the '${needed}' scope this route needs`, 403);
  }
}
