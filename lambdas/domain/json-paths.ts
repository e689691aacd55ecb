/**
 * The JSON path subset of the platform: where a tenant's subject identifiers are (R-DSR-1, domain/subjects.ts) and
 * where a rectification sets its corrections (R-DSR-3, domain/corrections.ts). One parser, one bounded walker, and
 * reading and writing on top of it, so both features select exactly the same places.
 */

/** One step of a path: a member, an array index, every child (`*`), or a search of every descendant (`..`). */
export type PathSegment =
  | { readonly type: 'member'; readonly name: string; readonly descendant: boolean }
  | { readonly type: 'index'; readonly index: number; readonly descendant: boolean }
  | { readonly type: 'wildcard'; readonly descendant: boolean };

export interface CompiledPath {
  readonly source: string;
  readonly segments: readonly PathSegment[];
}

/** A hostile payload cannot make a walk deep, long or large (the processor runs one on every event). */
export const MAX_DEPTH = 32;
export const MAX_NODE_VISITS = 1_000_000;

const MEMBER_NAME = /^[A-Za-z_$][\w$-]*/;

// Tenants see these messages in invalid_request answers, for subject paths and correction paths alike.
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
export function parseJsonPath(path: string): CompiledPath {
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

/** A value a walk reached, at its depth (the root's is 0). */
export interface Reached {
  readonly value: unknown;
  readonly depth: number;
}

/** A value a path reached, and the container and key it sits at (absent for the root), so it can be replaced. */
interface Located extends Reached {
  readonly parent?: object;
  readonly key?: string | number;
}

/**
 * Counts the node visits of one walk. A 1 MB body holds at most ~500k nodes, so one `..` search never runs out;
 * only chained searches over a hostile shape (`$..*..*..*`) do, and they stop here instead of running for minutes.
 */
class VisitBudget {
  constructor(private visits = 0) {}
  spend(): boolean {
    this.visits += 1;
    return this.visits <= MAX_NODE_VISITS;
  }
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** Pushes the node's children onto `out` (in key order), none at MAX_DEPTH. */
function pushChildren(node: Located, out: Located[]): void {
  const { value, depth } = node;
  if (!isContainer(value) || depth >= MAX_DEPTH) return;
  const array = Array.isArray(value);
  // One at a time, not push(...): an object may have 100k keys.
  for (const key of Object.keys(value)) out.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, parent: value, key: array ? Number(key) : key });
}

/** Pushes what `segment` selects from the node onto `out`. */
function select(node: Located, segment: PathSegment, out: Located[]): void {
  const { value, depth } = node;
  if (!isContainer(value) || depth >= MAX_DEPTH) return;
  switch (segment.type) {
    case 'wildcard':
      pushChildren(node, out);
      return;
    case 'index':
      if (Array.isArray(value) && segment.index < value.length) out.push({ value: value[segment.index], depth: depth + 1, parent: value, key: segment.index });
      return;
    case 'member':
      if (!Array.isArray(value) && Object.hasOwn(value, segment.name)) {
        out.push({ value: (value as Record<string, unknown>)[segment.name], depth: depth + 1, parent: value, key: segment.name });
      }
  }
}

/** Pushes the node itself and every descendant within MAX_DEPTH onto `out`, while the budget lasts (iterative: no stack to blow). */
function selfAndDescendants(root: Located, budget: VisitBudget, out: Located[]): void {
  const pending = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!budget.spend()) break;
    out.push(node);
    pushChildren(node, pending);
  }
}

/** Every place `segments` match from `frontier`, within `budget`. */
function locateFrom(segments: readonly PathSegment[], start: readonly Located[], budget: VisitBudget): readonly Located[] {
  let frontier = start;
  for (const segment of segments) {
    let origins = frontier;
    if (segment.descendant) {
      const descendants: Located[] = [];
      for (const node of frontier) selfAndDescendants(node, budget, descendants);
      origins = descendants;
    }
    const next: Located[] = [];
    for (const node of origins) if (budget.spend()) select(node, segment, next);
    frontier = next;
  }
  return frontier;
}

/** Every place `path` matches in `root`, within one visit budget. */
function locate(path: CompiledPath, root: unknown): readonly Located[] {
  return locateFrom(path.segments, [{ value: root, depth: 0 }], new VisitBudget());
}

/** The values `path` selects in `root`, in the order the walk reaches them. */
export function readPath(path: CompiledPath, root: unknown): unknown[] {
  return locate(path, root).map((node) => node.value);
}

/**
 * Issue 12: the values the rest of a path selects from the nodes its first segment reached (at their depths), as
 * readPath would go on from there: subjects.ts serves the first `..name` of many paths with one shared walk, which
 * has spent `spent` visits of the path's budget.
 */
export function readPathFrom(segments: readonly PathSegment[], starts: readonly Reached[], spent: number): unknown[] {
  return locateFrom(segments, starts, new VisitBudget(spent)).map((node) => node.value);
}

/**
 * Sets a value from `next()` at every place `path` matches in `root`, in place, and returns how many it set. A
 * path that matches nothing sets nothing: a member is never created. `keep(parent, key)` leaves a match as it is.
 */
export function writePath(
  path: CompiledPath,
  root: unknown,
  next: () => unknown,
  keep: (parent: object, key: string | number) => boolean = () => false,
): number {
  let written = 0;
  for (const { parent, key } of locate(path, root)) {
    if (parent === undefined || key === undefined || keep(parent, key)) continue;
    replace(parent, key, next());
    written += 1;
  }
  return written;
}

function replace(parent: object, key: string | number, value: unknown): void {
  if (Array.isArray(parent)) {
    parent[key as number] = value;
    return;
  }
  // defineProperty, not assignment: a member named `__proto__` stays an own data property, never a prototype.
  Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true });
}
