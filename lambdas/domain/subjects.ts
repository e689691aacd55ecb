/**
 * Data-subject identifiers (R-DSR-1). The processor finds identifiers in an event with JSON paths and stores
 * only a keyed hash of each (HMAC under the tenant's subject key), so the subject index holds no PII and a
 * request for one subject reads only that subject's records.
 */
import { createHmac } from 'node:crypto';
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

/** One step of a path: a member, an array index, every child (`*`), or a search of every descendant (`..`). */
export type PathSegment =
  | { readonly type: 'member'; readonly name: string; readonly descendant: boolean }
  | { readonly type: 'index'; readonly index: number; readonly descendant: boolean }
  | { readonly type: 'wildcard'; readonly descendant: boolean };

export interface CompiledPath {
  readonly source: string;
  readonly segments: readonly PathSegment[];
}

/** A hostile payload cannot make extraction deep, long or large (the processor runs it on every event). */
export const MAX_DEPTH = 32;
const MAX_IDENTIFIERS = 1000;
export const MAX_NODE_VISITS = 1_000_000;

const MEMBER_NAME = /^[A-Za-z_$][\w$-]*/;

function pathError(path: string, at: number, expected: string): Error {
  return new Error(`Invalid subject path '${path}' at position ${at}: expected ${expected}`);
}

/** Reads a bracket selector starting at `path[at] === '['`; returns the segment and the position after `]`. */
function parseBracket(path: string, at: number, descendant: boolean): [PathSegment, number] {
  const rest = path.slice(at);
  const wildcard = /^\[\*\]/.exec(rest);
  if (wildcard) return [{ type: 'wildcard', descendant }, at + wildcard[0].length];
  const index = /^\[(0|[1-9]\d{0,8})\]/.exec(rest);
  if (index) return [{ type: 'index', index: Number(index[1]), descendant }, at + index[0].length];
  // 'quoted name' or "quoted name", with \\ and \' / \" escapes.
  const quoted = /^\[(['"])((?:\\.|(?!\1)[^\\])*)\1\]/.exec(rest);
  if (quoted) {
    const name = quoted[2].replace(/\\(.)/g, '$1');
    if (name.length === 0) throw pathError(path, at, 'a non-empty quoted name');
    return [{ type: 'member', name, descendant }, at + quoted[0].length];
  }
  throw pathError(path, at, `[*], [<index>] or ['<name>']`);
}

/**
 * Compiles the supported JSON path subset: `$.a.b`, `$['a b']`, `$.a[*].b`, `$.a[0]`, `$.*`, `$..name`.
 * Throws an Error naming the position of the first bad character.
 */
export function parseSubjectPath(path: string): CompiledPath {
  if (!path.startsWith('$')) throw pathError(path, 0, `'$'`);
  const segments: PathSegment[] = [];
  let at = 1;
  while (at < path.length) {
    const descendant = path.startsWith('..', at);
    if (descendant || path[at] === '.') {
      at += descendant ? 2 : 1;
      if (path[at] === '[' && descendant) {
        const [segment, next] = parseBracket(path, at, true);
        segments.push(segment);
        at = next;
      } else if (path[at] === '*') {
        segments.push({ type: 'wildcard', descendant });
        at += 1;
      } else {
        const name = MEMBER_NAME.exec(path.slice(at))?.[0];
        if (!name) throw pathError(path, at, 'a member name (letters, digits, _, $, -) or *');
        segments.push({ type: 'member', name, descendant });
        at += name.length;
      }
    } else if (path[at] === '[') {
      const [segment, next] = parseBracket(path, at, false);
      segments.push(segment);
      at = next;
    } else {
      throw pathError(path, at, `'.', '..' or '['`);
    }
  }
  if (segments.length === 0) throw new Error(`Invalid subject path '${path}': it selects the whole document, name a field`);
  return { source: path, segments };
}

/** Tenants configure a handful of paths; compile each once per container, not once per event. */
const compiledPaths = new Map<string, CompiledPath>();
function compiled(path: string): CompiledPath {
  let hit = compiledPaths.get(path);
  if (!hit) {
    if (compiledPaths.size >= 1000) compiledPaths.clear();
    hit = parseSubjectPath(path);
    compiledPaths.set(path, hit);
  }
  return hit;
}

interface Node {
  readonly value: unknown;
  readonly depth: number;
}

/**
 * Counts the node visits of one path. A 1 MB body holds at most ~500k nodes, so one `..` search never runs out;
 * only chained searches over a hostile shape (`$..*..*..*`) do, and they stop here instead of running for minutes.
 */
class VisitBudget {
  private visits = 0;
  spend(): boolean {
    this.visits += 1;
    return this.visits <= MAX_NODE_VISITS;
  }
}

function childrenOf(node: Node): Node[] {
  const { value, depth } = node;
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return [];
  return Object.values(value).map((child) => ({ value: child, depth: depth + 1 }));
}

function select(node: Node, segment: PathSegment): Node[] {
  const { value, depth } = node;
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return [];
  switch (segment.type) {
    case 'wildcard':
      return childrenOf(node);
    case 'index':
      return Array.isArray(value) && segment.index < value.length ? [{ value: value[segment.index], depth: depth + 1 }] : [];
    case 'member':
      return !Array.isArray(value) && Object.hasOwn(value, segment.name)
        ? [{ value: (value as Record<string, unknown>)[segment.name], depth: depth + 1 }]
        : [];
  }
}

/** The node itself and every descendant within MAX_DEPTH, while the budget lasts (iterative: no stack to blow). */
function selfAndDescendants(root: Node, budget: VisitBudget): Node[] {
  const found: Node[] = [];
  const pending = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!budget.spend()) break;
    found.push(node);
    for (const child of childrenOf(node)) pending.push(child); // not push(...): an object may have 100k keys
  }
  return found;
}

function evaluate(path: CompiledPath, root: unknown, budget: VisitBudget): unknown[] {
  let frontier: Node[] = [{ value: root, depth: 0 }];
  for (const segment of path.segments) {
    const origins = segment.descendant ? frontier.flatMap((node) => selfAndDescendants(node, budget)) : frontier;
    frontier = origins.flatMap((node) => (budget.spend() ? select(node, segment) : []));
  }
  return frontier.map((node) => node.value);
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
    for (const leaf of evaluate(compiled(path), value, new VisitBudget())) {
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
