/**
 * Data-subject identifiers (R-DSR-1). The processor finds identifiers in an event with JSON paths and stores
 * only a keyed hash of each (HMAC under the tenant's subject key), so the subject index holds no PII and a
 * request for one subject reads only that subject's records.
 */
import { createHmac } from 'node:crypto';
import { MAX_DEPTH, MAX_NODE_VISITS, parseJsonPath, readPath, readPathFrom, type CompiledPath, type PathSegment, type Reached } from './json-paths';
import { BoundedCache } from './memo';
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

/** email: trim + lower-case; phone: digits and a leading `+` only; other kinds: trim. NFC so that one name typed two ways hashes the same. */
export function normaliseIdentifier(kind: string, value: string): string {
  const trimmed = value.normalize('NFC').trim();
  if (kind === 'email') return trimmed.toLowerCase();
  // "+1 (555) 010-2000" and "+15550102000" are one subject; a value with letters is kept as typed.
  if (kind === 'phone' && /^\+?[\d\s().-]+$/.test(trimmed)) return trimmed.replace(/[\s().-]/g, '');
  return trimmed;
}

/**
 * Issue 12: a tenant's paths, compiled once into one plan (pass the same array each time: a tenant's, or
 * DEFAULT_SUBJECT_PATHS). Every path that starts with `$..name` is served by one shared walk over the event that
 * records, at each object, the members any of them name; what follows the name (`$..customer.id`) is read on from
 * the nodes found. Only the other paths (`$.shopDomain`, a tenant's `$.a[*].b`) are read one by one. The walk
 * visits nodes in the order json-paths.ts's descendant search does and within its bounds (MAX_DEPTH, and
 * MAX_NODE_VISITS counting a visit and a member look-up per node, as that search spends them), so each path selects
 * what readPath would select.
 */
interface SubjectPlan {
  readonly paths: readonly {
    readonly kind: string;
    readonly compiled: CompiledPath;
    /** Served by the shared walk: the path starts with `$..name`. */
    readonly search: boolean;
    /** What follows that `$..name` (`$..customer.id`: `.id`), read on from each node the walk found; empty for most. */
    readonly rest: readonly PathSegment[];
    readonly where?: SubjectPath['where'];
  }[];
  /** Member name → the indices of the paths that start with `$..name`. */
  readonly searches: ReadonlyMap<string, readonly number[]>;
}

const plans = new WeakMap<readonly SubjectPath[], SubjectPlan>();

function planFor(paths: readonly SubjectPath[]): SubjectPlan {
  let plan = plans.get(paths);
  if (!plan) {
    const searches = new Map<string, number[]>();
    const compiledPaths = paths.map(({ kind, path, where }, index) => {
      const compiled = parseJsonPath(path);
      const [first, ...rest] = compiled.segments;
      const search = first.type === 'member' && first.descendant;
      if (search) searches.set(first.name, [...(searches.get(first.name) ?? []), index]);
      return { kind, compiled, search, rest, where };
    });
    plan = { paths: compiledPaths, searches };
    plans.set(paths, plan);
  }
  return plan;
}

/**
 * The one walk: for each path index of `searches`, the values its member takes, in descendant-search order.
 * Returns the visits it spent.
 */
function searchAll(root: unknown, plan: SubjectPlan, found: (Reached[] | undefined)[]): number {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  let visits = 0;
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    // A visit and a member look-up per node, as json-paths.ts spends its budget.
    visits += 2;
    if (visits > MAX_NODE_VISITS) return visits;
    if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) continue;
    const object = !Array.isArray(value);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      values.push(child);
      depths.push(depth + 1);
      const indices = object ? plan.searches.get(key) : undefined;
      if (indices === undefined) continue;
      for (const index of indices) {
        const where = plan.paths[index].where;
        if (!where || (value as Record<string, unknown>)[where.member] === where.equals) (found[index] ??= []).push({ value: child, depth: depth + 1 });
      }
    }
  }
  return visits;
}

/**
 * The identifiers `paths` select in `value` (for the processor: the whole platform event, so `$..email` reaches
 * an api_call's payload and properties and a webhook's payload). Only string and finite-number leaves count;
 * values come back normalised and de-duplicated per (kind, value), in the order of `paths`, at most
 * MAX_IDENTIFIERS of them.
 */
export function extractSubjects(value: unknown, paths: readonly SubjectPath[]): { kind: string; value: string }[] {
  const plan = planFor(paths);
  // Filled as the walk finds something: most paths find nothing in most events.
  const found: (Reached[] | undefined)[] = new Array(plan.paths.length);
  const visits = plan.searches.size > 0 ? searchAll(value, plan, found) : 0;
  const seen = new Set<string>();
  const subjects: { kind: string; value: string }[] = [];
  for (const [index, { kind, compiled, search, rest, where }] of plan.paths.entries()) {
    // A `where` on any other path shape than `$..name` selects nothing (the admin API accepts no `where`; only
    // defaults carry one).
    const leaves =
      where && (!search || rest.length > 0)
        ? []
        : !search
          ? readPath(compiled, value)
          : rest.length === 0
            ? (found[index] ?? []).map((node) => node.value)
            : readPathFrom(rest, found[index] ?? [], visits);
    for (const leaf of leaves) {
      const raw = typeof leaf === 'string' ? leaf : typeof leaf === 'number' && Number.isFinite(leaf) ? String(leaf) : undefined;
      if (raw === undefined) continue;
      const normalised = normaliseIdentifier(kind, raw);
      const key = `${kind}\u0000${normalised}`;
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

/**
 * Issue 12: hashSubject under one key, remembered: a tenant's customers recur from record to record, so most
 * identifiers are hashed once per cache period instead of once per record. At most `capacity` are kept per tenant
 * (1,000: ~150 KB), so a container serving hundreds of tenants keeps its memory.
 */
export function subjectHasher(key: Uint8Array, capacity = 1_000): (kind: string, value: string) => string {
  const known = new BoundedCache<string>(capacity);
  return (kind, value) => {
    const memo = `${kind}\u0000${value}`;
    return known.get(memo) ?? known.set(memo, hashSubject(key, kind, value));
  };
}
