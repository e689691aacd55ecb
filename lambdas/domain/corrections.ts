/**
 * Rectification (R-DSR-3): corrections `[{ path, value }]` applied to a stored event. A path is in the JSON path
 * subset of domain/subjects.ts (compiled by the same parser); the value is set at every place the path matches
 * and nowhere else. A correction never creates a field, so it can only correct data the record already held.
 */
import { MAX_DEPTH, MAX_NODE_VISITS, parseSubjectPath, type CompiledPath, type PathSegment } from './subjects';

/** Encryption purpose of a rectification's corrections (they may hold personal data). */
export const CORRECTIONS_PURPOSE = 'privacy-corrections';

export interface Correction {
  readonly path: string;
  readonly value: unknown;
}

/**
 * A record's kind and time place it in the indexes and rollups (its GSI keys): a correction that changed them
 * would move the record rather than correct it, so they are never set.
 */
export const PROTECTED_FIELDS: readonly string[] = ['type', 'timestamp'];

/** Throws an Error saying what is wrong with a correction path; used to validate a request before it is accepted. */
export function validateCorrectionPath(path: string): void {
  const compiled = parseSubjectPath(path);
  const first = compiled.segments[0];
  if (first.type === 'member' && !first.descendant && PROTECTED_FIELDS.includes(first.name)) {
    throw new Error(`Path '${path}' would change the record's ${first.name}, which is not personal data and cannot be corrected`);
  }
}

/** A matched value and where it sits, so it can be replaced in place. */
interface Located {
  readonly value: unknown;
  readonly depth: number;
  readonly parent?: object;
  readonly key?: string | number;
}

/** Same bound as subject extraction: a hostile shape cannot make one correction run for minutes. */
class VisitBudget {
  private visits = 0;
  spend(): boolean {
    this.visits += 1;
    return this.visits <= MAX_NODE_VISITS;
  }
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function childrenOf(node: Located): Located[] {
  const { value, depth } = node;
  if (!isContainer(value) || depth >= MAX_DEPTH) return [];
  if (Array.isArray(value)) return value.map((child, index) => ({ value: child, depth: depth + 1, parent: value, key: index }));
  return Object.keys(value).map((key) => ({ value: (value as Record<string, unknown>)[key], depth: depth + 1, parent: value, key }));
}

/** The selection rules of domain/subjects.ts `select`, keeping each match's container and key. */
function select(node: Located, segment: PathSegment): Located[] {
  const { value, depth } = node;
  if (!isContainer(value) || depth >= MAX_DEPTH) return [];
  switch (segment.type) {
    case 'wildcard':
      return childrenOf(node);
    case 'index':
      return Array.isArray(value) && segment.index < value.length
        ? [{ value: value[segment.index], depth: depth + 1, parent: value, key: segment.index }]
        : [];
    case 'member':
      return !Array.isArray(value) && Object.hasOwn(value, segment.name)
        ? [{ value: (value as Record<string, unknown>)[segment.name], depth: depth + 1, parent: value, key: segment.name }]
        : [];
  }
}

function selfAndDescendants(root: Located, budget: VisitBudget): Located[] {
  const found: Located[] = [];
  const pending = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!budget.spend()) break;
    found.push(node);
    for (const child of childrenOf(node)) pending.push(child);
  }
  return found;
}

function locate(path: CompiledPath, root: unknown): Located[] {
  const budget = new VisitBudget();
  let frontier: Located[] = [{ value: root, depth: 0 }];
  for (const segment of path.segments) {
    const origins = segment.descendant ? frontier.flatMap((node) => selfAndDescendants(node, budget)) : frontier;
    frontier = origins.flatMap((node) => (budget.spend() ? select(node, segment) : []));
  }
  return frontier;
}

function replace(parent: object, key: string | number, value: unknown): void {
  if (Array.isArray(parent)) {
    parent[key as number] = value;
    return;
  }
  // defineProperty, not assignment: a member named `__proto__` stays an own data property, never a prototype.
  Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true });
}

export interface CorrectionOutcome<T> {
  /** A corrected copy; the input is never modified. */
  readonly value: T;
  /** How many places were set (a value may be set to what it already was). */
  readonly matches: number;
  /** Whether the copy differs from the input. */
  readonly changed: boolean;
}

/**
 * Applies the corrections in order to a copy of `event`. Every match of a path gets its own copy of the value;
 * paths that match nothing change nothing (never create); the top-level PROTECTED_FIELDS are left as they are.
 */
export function applyCorrections<T>(event: T, corrections: readonly Correction[]): CorrectionOutcome<T> {
  const corrected = structuredClone(event);
  let matches = 0;
  for (const { path, value } of corrections) {
    for (const location of locate(parseSubjectPath(path), corrected)) {
      if (location.parent === undefined || location.key === undefined) continue;
      if (location.parent === (corrected as unknown) && PROTECTED_FIELDS.includes(String(location.key))) continue;
      replace(location.parent, location.key, structuredClone(value));
      matches += 1;
    }
  }
  return { value: corrected, matches, changed: JSON.stringify(corrected) !== JSON.stringify(event) };
}
