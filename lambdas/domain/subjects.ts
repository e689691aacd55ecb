/**
 * Data-subject identifiers (R-DSR-1). The processor finds identifiers in an event with JSON paths and stores
 * only a keyed hash of each (HMAC under the tenant's subject key), so the subject index holds no PII and a
 * request for one subject reads only that subject's records.
 */
import { createHmac } from 'node:crypto';
import { MAX_DEPTH, MAX_NODE_VISITS, parseJsonPath, readPath, type CompiledPath } from './json-paths';
import type { SubjectPath } from './model';

/**
 * Where identifiers usually are when a tenant has configured nothing. `$..` searches the whole event, so each name
 * below is found in a generic event's properties, an API call's payload and every webhook body alike. The names are
 * the documented identifier fields of every scheme ingest accepts (see test/domain/subject-paths.test.ts, which runs
 * real sample payloads of each):
 * - Stripe: `customer` (a `cus_…` id on charges, invoices, subscriptions, payment intents, checkout sessions),
 *   `customer_email`, `receipt_email`, `customer_phone`, `billing_details` / `customer_details` / `shipping`
 *   (`email`, `phone`), and the customer object itself (`object: "customer"`, its `id`);
 * - Shopify: `email`, `contact_email`, `phone`, `customer.id` (the id `customers/redact` names, as `customer_id`),
 *   addresses' `phone`, and the shop domain of every delivery;
 * - GitHub: `login` (sender, pusher's account, user, owner, assignee, reviewer, member), `pusher.name`, commit
 *   authors' and committers' `email` and `username`;
 * - Standard Webhooks (`{ type, timestamp, data }`): `email`, `email_address`, `phone_number`, `username`,
 *   `user_id`, `customer_id` at any depth, and `data.to` recipients.
 */
export const DEFAULT_SUBJECT_PATHS: readonly SubjectPath[] = [
  { kind: 'email', path: '$..email' },
  { kind: 'email', path: '$..customer_email' },
  { kind: 'email', path: '$..customerEmail' },
  { kind: 'email', path: '$..receipt_email' },
  { kind: 'email', path: '$..contact_email' },
  { kind: 'email', path: '$..email_address' },
  { kind: 'email', path: '$..emailAddress' },
  { kind: 'email', path: '$.payload.data.to' },
  { kind: 'email', path: '$.payload.data.to[*]' },
  { kind: 'user_id', path: '$..userId' },
  { kind: 'user_id', path: '$..user_id' },
  { kind: 'customer_id', path: '$..customerId' },
  { kind: 'customer_id', path: '$..customer_id' },
  { kind: 'customer_id', path: '$..customer' },
  { kind: 'customer_id', path: '$..customer.id' },
  { kind: 'customer_id', path: '$..id', where: { member: 'object', equals: 'customer' } },
  { kind: 'phone', path: '$..phone' },
  { kind: 'phone', path: '$..phone_number' },
  { kind: 'phone', path: '$..phoneNumber' },
  { kind: 'phone', path: '$..customer_phone' },
  { kind: 'username', path: '$..login' },
  { kind: 'username', path: '$..username' },
  { kind: 'username', path: '$.payload.pusher.name' },
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

/** email: trim + lower-case; phone: digits and a leading `+` only; other kinds: trim. NFC so that one name typed two ways hashes the same. */
export function normaliseIdentifier(kind: string, value: string): string {
  const trimmed = value.normalize('NFC').trim();
  if (kind === 'email') return trimmed.toLowerCase();
  // "+1 (555) 010-2000" and "+15550102000" are one subject; a value with letters is kept as typed.
  if (kind === 'phone' && /^\+?[\d\s().-]+$/.test(trimmed)) return trimmed.replace(/[\s().-]/g, '');
  return trimmed;
}

/** `$..name`: the one path shape that every default uses, searched for all names in a single walk. */
function descendantMember(path: CompiledPath): string | undefined {
  const [only, ...rest] = path.segments;
  return rest.length === 0 && only.type === 'member' && only.descendant ? only.name : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The values of every `$..name` path in one walk over `root`, bucketed by path index: the same nodes, the same
 * depth bound and the same visit budget as one json-paths walk, instead of one walk per path (the defaults name
 * more than twenty fields; the processor runs this on every event).
 */
function searchMembers(root: unknown, byName: ReadonlyMap<string, readonly number[]>, paths: readonly SubjectPath[], buckets: unknown[][]): void {
  let visits = 0;
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    visits += 1;
    if (visits > MAX_NODE_VISITS) return;
    const { value, depth } = node;
    if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) continue;
    const object = isObject(value);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      pending.push({ value: child, depth: depth + 1 });
      const indexes = object ? byName.get(key) : undefined;
      for (const index of indexes ?? []) {
        const where = paths[index].where;
        if (!where || (value as Record<string, unknown>)[where.member] === where.equals) buckets[index].push(child);
      }
    }
  }
}

/**
 * The identifiers `paths` select in `value` (for the processor: the whole platform event, so `$..email` reaches
 * an api_call's payload and properties and a webhook's payload). Only string and finite-number leaves count;
 * values come back normalised and de-duplicated per (kind, value), in the order of `paths`, at most
 * MAX_IDENTIFIERS of them.
 */
export function extractSubjects(value: unknown, paths: readonly SubjectPath[]): { kind: string; value: string }[] {
  const buckets: unknown[][] = paths.map(() => []);
  const byName = new Map<string, number[]>();
  paths.forEach((subjectPath, index) => {
    const path = compiled(subjectPath.path);
    const name = descendantMember(path);
    if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), index]);
    else if (!subjectPath.where) buckets[index] = readPath(path, value);
    // A `where` on any other path shape selects nothing (the admin API accepts no `where`; only defaults carry one).
  });
  if (byName.size > 0) searchMembers(value, byName, paths, buckets);
  const seen = new Set<string>();
  const subjects: { kind: string; value: string }[] = [];
  for (const [index, { kind }] of paths.entries()) {
    for (const leaf of buckets[index]) {
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
