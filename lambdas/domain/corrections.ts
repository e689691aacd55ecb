/**
 * Rectification (R-DSR-3): corrections `[{ path, value }]` applied to a stored event. A path is in the JSON path
 * subset of domain/json-paths.ts (the one subject paths use); the value is set at every place the path matches
 * and nowhere else. A correction never creates a field, so it can only correct data the record already held.
 */
import { parseJsonPath, writePath } from './json-paths';

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
  const compiled = parseJsonPath(path);
  const first = compiled.segments[0];
  if (first.type === 'member' && !first.descendant && PROTECTED_FIELDS.includes(first.name)) {
    throw new Error(`Path '${path}' would change the record's ${first.name}, which is not personal data and cannot be corrected`);
  }
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
  const protectedField = (parent: object, key: string | number) => parent === (corrected as unknown) && PROTECTED_FIELDS.includes(String(key));
  let matches = 0;
  for (const { path, value } of corrections) {
    matches += writePath(parseJsonPath(path), corrected, () => structuredClone(value), protectedField);
  }
  return { value: corrected, matches, changed: JSON.stringify(corrected) !== JSON.stringify(event) };
}
