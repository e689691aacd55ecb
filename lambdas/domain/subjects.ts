/**
 * Data-subject identifiers (R-DSR-1). The processor finds identifiers in an event with JSON paths and stores
 * only a keyed hash of each (HMAC under the tenant's subject key), so the subject index holds no PII and a
 * request for one subject reads only that subject's records.
 */
import { createHmac } from 'node:crypto';
import { parseJsonPath, readPath, type CompiledPath } from './json-paths';
import type { SubjectPath } from './model';

/** Where identifiers usually are when a tenant has configured nothing. `$..` searches the whole event. */
export const DEFAULT_SUBJECT_PATHS: readonly SubjectPath[] = [
  { kind: 'email', path: '$..email' },
  { kind: 'user_id', path: '$..userId' },
  { kind: 'user_id', path: '$..user_id' },
  { kind: 'customer_id', path: '$..customerId' },
  { kind: 'customer_id', path: '$..customer_id' },
  // R-DSR-6: the shop a Shopify delivery is about, so that `shop/redact` finds every delivery from it.
  { kind: 'shop_domain', path: '$.shopDomain' },
];

/** A hostile payload cannot make one event index more subjects than this (json-paths.ts bounds the walk itself). */
const MAX_IDENTIFIERS = 1000;

/** Tenants configure a handful of paths; compile each once per container, not once per event. */
const compiledPaths = new Map<string, CompiledPath>();
function compiled(path: string): CompiledPath {
  let hit = compiledPaths.get(path);
  if (!hit) {
    if (compiledPaths.size >= 1000) compiledPaths.clear();
    hit = parseJsonPath(path);
    compiledPaths.set(path, hit);
  }
  return hit;
}

/** email: trim + lower-case; other kinds: trim. NFC so that one name typed two ways hashes the same. */
export function normaliseIdentifier(kind: string, value: string): string {
  const trimmed = value.normalize('NFC').trim();
  return kind === 'email' ? trimmed.toLowerCase() : trimmed;
}

/**
 * The identifiers `paths` select in `value` (for the processor: the whole platform event, so `$..email` reaches
 * an api_call's payload and properties and a webhook's payload). Only string and finite-number leaves count;
 * values come back normalised and de-duplicated per (kind, value), at most MAX_IDENTIFIERS of them.
 */
export function extractSubjects(value: unknown, paths: readonly SubjectPath[]): { kind: string; value: string }[] {
  const seen = new Set<string>();
  const subjects: { kind: string; value: string }[] = [];
  for (const { kind, path } of paths) {
    for (const leaf of readPath(compiled(path), value)) {
      const raw = typeof leaf === 'string' ? leaf : typeof leaf === 'number' && Number.isFinite(leaf) ? String(leaf) : undefined;
      if (raw === undefined) continue;
      const normalised = normaliseIdentifier(kind, raw);
      const key = JSON.stringify([kind, normalised]);
      if (normalised === '' || seen.has(key)) continue;
      seen.add(key);
      subjects.push({ kind, value: normalised });
      if (subjects.length >= MAX_IDENTIFIERS) return subjects;
    }
  }
  return subjects;
}

/** R-DSR-1: HMAC-SHA256(tenant subject key, `kind:normalised`), base64url. Without the key it reveals nothing. */
export function hashSubject(key: Uint8Array, kind: string, value: string): string {
  return createHmac('sha256', key).update(`${kind}:${normaliseIdentifier(kind, value)}`).digest('base64url');
}
