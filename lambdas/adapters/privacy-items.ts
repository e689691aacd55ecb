/**
 * How privacy requests, restrictions and terminations are laid out as Control table items (keys in
 * domain/keys.ts `controlKeys`), and how an update changes a record. Shared by the DynamoDB store and its
 * in-memory twin, so both keep the same items and the same update semantics.
 */
import { DomainError } from '../domain/model';
import type { PrivacyRequestRecord, PrivacyStep, RequestStatus, TerminationRecord } from '../domain/privacy';
export { isBoundTo } from '../domain/privacy';
import type { TerminationBinding } from '../domain/ports';
import { controlKeys } from '../domain/keys';
import { accountDataExpiresAt } from '../domain/retention';
import type { ConsentEntry } from '../domain/consent';

export type Item = Record<string, unknown>;

export type RequestPatch = Partial<Pick<PrivacyRequestRecord, 'status' | 'result' | 'failure' | 'completedAt'>>;
export type TerminationPatch = Partial<Omit<TerminationRecord, 'tenantId' | 'steps'>>;

/**
 * R-DSR-5: a request stays on the open list until it is completed. A failed one stays too: it has not been
 * answered, so its deadline still runs and an operator must act.
 */
export const isOpen = (status: RequestStatus): boolean => status !== 'completed' && status !== 'closed';

/** The open-list key; the due date in one ISO form, so that the list sorts by time whatever form was given. */
export function openRequestKey(record: Pick<PrivacyRequestRecord, 'tenantId' | 'requestId' | 'dueAt'>): { pk: string; sk: string } {
  const due = new Date(record.dueAt);
  if (Number.isNaN(due.getTime())) throw new Error(`Invalid dueAt '${record.dueAt}'`);
  return controlKeys.openRequest(due.toISOString(), record.tenantId, record.requestId);
}

/**
 * The open list's partition, and the sort-key bound below which requests are overdue: sort keys start with the due
 * date, so `sk < now` is "due before now" (one due exactly now sorts after it, being longer).
 */
export function overdueBound(now: string): { readonly pk: string; readonly before: string } {
  const at = new Date(now);
  if (Number.isNaN(at.getTime())) throw new Error(`Invalid time '${now}'`);
  // Only the partition is taken from this key; the tenant and id stand in.
  const { pk } = controlKeys.openRequest(at.toISOString(), 'any', '');
  return { pk, before: at.toISOString() };
}

export function requestItem(record: PrivacyRequestRecord): Item {
  return { ...record, ...controlKeys.privacyRequest(record.tenantId, record.requestId) };
}

/** The open-list entry carries what the deadline check reports, so it never reads the request itself. */
export function openRequestItem(record: PrivacyRequestRecord): Item {
  return { ...openRequestKey(record), tenantId: record.tenantId, requestId: record.requestId, dueAt: record.dueAt };
}

export function restrictionItem(tenantId: string, subjectHash: string, requestId: string, at: string): Item {
  return { ...controlKeys.restriction(tenantId, subjectHash), tenantId, subjectHash, requestId, restrictedAt: at };
}

export function erasureItem(tenantId: string, subjectHash: string, receivedAt: string, expiresAt: number): Item {
  return { ...controlKeys.erasure(tenantId, subjectHash), tenantId, subjectHash, receivedAt, expiresAt };
}

export function consentItem(entry: ConsentEntry): Item {
  return { ...controlKeys.consent(entry.tenantId, entry.subjectHash), ...entry };
}

/** R-RET-2: a completed termination's record expires with the tombstone, ACCOUNT_DATA_RETENTION_DAYS after it. */
export function terminationItem(record: TerminationRecord): Item {
  const expiresAt = record.status === 'completed' && record.completedAt ? { expiresAt: accountDataExpiresAt(new Date(record.completedAt)) } : {};
  return { ...record, ...controlKeys.termination(record.tenantId), ...expiresAt };
}

/** The record without its table keys. */
export function recordFromItem<T>(item: Item): T {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
}

/**
 * The request after one task: the step appended, the patch applied. `result` is merged key by key, so a later
 * task that adds `counts` keeps the `exportKeys` an earlier one wrote (an access export stays listed, R-DSR-1).
 */
export function patchedRequest(record: PrivacyRequestRecord, step: PrivacyStep, patch: RequestPatch = {}): PrivacyRequestRecord {
  const { result, ...rest } = withoutUndefined(patch);
  return {
    ...record,
    ...rest,
    ...(result ? { result: { ...record.result, ...withoutUndefined(result) } } : {}),
    steps: [...record.steps, step],
  };
}

export function patchedTermination(record: TerminationRecord, step: PrivacyStep | undefined, patch: TerminationPatch = {}): TerminationRecord {
  return { ...record, ...withoutUndefined(patch), tenantId: record.tenantId, steps: step ? [...record.steps, step] : record.steps };
}

/** The same test as a DynamoDB condition, for the write that follows the read. */
export function bindingCondition(binding: TerminationBinding | undefined): { expression?: string; values: Item } {
  if (!binding) return { values: {} };
  const values: Item = { ':terminationId': binding.terminationId };
  let expression = 'terminationId = :terminationId';
  if (binding.executionIds) {
    const names = binding.executionIds.map((id, i) => ((values[`:execution${i}`] = id), `:execution${i}`));
    const named = names.length > 0 ? `executionId IN (${names.join(', ')})` : undefined;
    const alternatives = [...(named ? [named] : []), ...(binding.unbound ? ['attribute_not_exists(executionId)'] : [])];
    expression += ` AND (${alternatives.length > 0 ? alternatives.join(' OR ') : 'attribute_not_exists(pk)'})`;
  }
  return { expression, values };
}

export const requestNotFound = (tenantId: string, requestId: string) =>
  new DomainError('not_found', `Privacy request '${requestId}' of tenant '${tenantId}' does not exist`, 404);
export const terminationNotFound = (tenantId: string) => new DomainError('not_found', `Tenant '${tenantId}' has no termination`, 404);
export const terminationExists = (tenantId: string) => new DomainError('conflict', `Tenant '${tenantId}' is already being terminated`, 409);

/** A patch field given as `undefined` leaves the record alone, as it would in a DynamoDB item (no undefined there). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
