/**
 * PrivacyRequestStore over the Control table (items in privacy-items.ts): requests with their open-list entries
 * (R-DSR-5), restrictions (R-DSR-3) and the termination record (R-TERM-*).
 *
 * No transactions (the local DynamoDB emulator has none): writes that belong together are ordered so that a
 * failure half-way errs on the safe side (an open-list entry too many raises an alarm; one too few would hide a
 * deadline), and updates are read-modify-write guarded by the record's step count (optimistic locking).
 */
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PrivacyRequestStore, TerminationBinding } from '../domain/ports';
import { TerminationSuperseded, type PrivacyRequestRecord, type PrivacyStep, type TerminationRecord } from '../domain/privacy';
import { controlKeys } from '../domain/keys';
import { consentFlagsOf, type ConsentEntry, type ConsentFlags } from '../domain/consent';
import { deleteKeys, queryAll } from './dynamo-query';
import {
  bindingCondition,
  isBoundTo,
  isOpen,
  openRequestItem,
  openRequestKey,
  overdueBound,
  patchedRequest,
  patchedTermination,
  recordFromItem,
  requestItem,
  requestNotFound,
  restrictionItem,
  erasureItem,
  consentItem,
  terminationExists,
  terminationItem,
  terminationNotFound,
  type Item,
  type RequestPatch,
  type TerminationPatch,
} from './privacy-items';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';

/** Attempts of an update that lost a race to another writer of the same record. */
const UPDATE_ATTEMPTS = 5;

const isConditionFailure = (error: unknown) => (error as Error).name === 'ConditionalCheckFailedException';
const sameKey = (a: Item, b: Item) => a.pk === b.pk && a.sk === b.sk;

export class DynamoPrivacyRequestStore implements PrivacyRequestStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * The open-list entry first, then the request by a conditional put. A duplicate (same id, e.g. a redelivered
   * Shopify webhook) computes its own due date: its entry is taken back unless it is the existing request's own.
   */
  async create(record: PrivacyRequestRecord): Promise<'created' | 'exists'> {
    const open = isOpen(record.status) ? openRequestItem(record) : undefined;
    if (open) await this.put(open);
    try {
      await this.put(requestItem(record), 'attribute_not_exists(pk)');
      return 'created';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.get(record.tenantId, record.requestId);
    const existingOpen = existing && isOpen(existing.status) ? openRequestItem(existing) : undefined;
    if (open && !(existingOpen && sameKey(open, existingOpen))) await this.delete(openRequestKey(record));
    // Repairs an entry lost to an earlier create that failed half-way.
    if (existingOpen) await this.put(existingOpen);
    return 'exists';
  }

  async get(tenantId: string, requestId: string): Promise<PrivacyRequestRecord | undefined> {
    const item = await this.getItem(controlKeys.privacyRequest(tenantId, requestId));
    return item && recordFromItem<PrivacyRequestRecord>(item);
  }

  /** A completed request leaves the open list after its record says so: a failure in between keeps it listed. */
  async update(tenantId: string, requestId: string, step: PrivacyStep, patch?: RequestPatch): Promise<void> {
    const next = await this.readModifyWrite(
      () => this.get(tenantId, requestId),
      (record) => patchedRequest(record, step, patch),
      requestItem,
      () => requestNotFound(tenantId, requestId),
    );
    if (!isOpen(next.status)) await this.delete(openRequestKey(next));
  }

  /** R-DSR-5: reads only the entries due before `now`, never a scan. */
  async overdue(now: string): Promise<{ readonly tenantId: string; readonly requestId: string; readonly dueAt: string }[]> {
    const { pk, before } = overdueBound(now);
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk < :before',
      ExpressionAttributeValues: { ':pk': pk, ':before': before },
      ConsistentRead: true,
    });
    return items.map((item) => ({ tenantId: item.tenantId as string, requestId: item.requestId as string, dueAt: item.dueAt as string }));
  }

  /**
   * R-TERM-3: the requests with their open-list entries (entries first: a retry finds them again through the
   * requests), and the tenant's restrictions, which name subjects. The termination record stays (R-TERM-5).
   */
  async deleteForTenant(tenantId: string): Promise<number> {
    const requests = await this.partition(controlKeys.privacyRequest(tenantId, '').pk);
    const restrictions = [
      ...(await this.partition(controlKeys.restriction(tenantId, '').pk)),
      ...(await this.partition(controlKeys.erasure(tenantId, '').pk)),
      ...(await this.partition(controlKeys.consent(tenantId).pk)),
    ];
    const records = requests.map((item) => recordFromItem<PrivacyRequestRecord>(item));
    // Every request's entry is deleted (deleting an absent item is a no-op); only open ones had one to count.
    await deleteKeys(this.db, this.tableName, records.map(openRequestKey));
    const keys = [...requests, ...restrictions].map((item) => ({ pk: item.pk, sk: item.sk }));
    await deleteKeys(this.db, this.tableName, keys);
    return records.filter((record) => isOpen(record.status)).length + keys.length;
  }

  async restrict(tenantId: string, subjectHash: string, requestId: string, at: string): Promise<void> {
    await this.put(restrictionItem(tenantId, subjectHash, requestId, at));
  }

  async unrestrict(tenantId: string, subjectHash: string): Promise<void> {
    await this.delete(controlKeys.restriction(tenantId, subjectHash));
  }

  /** Consistent, so a restriction is seen by the next processor cache refresh after it was written (R-DSR-3). */
  async restrictedSubjects(tenantId: string): Promise<Set<string>> {
    const items = await this.partition(controlKeys.restriction(tenantId, '').pk);
    return new Set(items.map((item) => item.subjectHash as string));
  }

  async markErased(tenantId: string, subjectHash: string, receivedAt: string, expiresAtEpochSeconds: number): Promise<void> {
    await this.put(erasureItem(tenantId, subjectHash, receivedAt, expiresAtEpochSeconds));
  }

  /** Consistent, like the restrictions: the processor's next refresh sees a marker written before it (R-DSR-2). */
  async erasedSubjects(tenantId: string): Promise<ReadonlyMap<string, string>> {
    const items = await this.partition(controlKeys.erasure(tenantId, '').pk);
    return new Map(items.map((item) => [item.subjectHash as string, item.receivedAt as string]));
  }

  async setConsent(entry: ConsentEntry): Promise<void> {
    if (entry.off.length > 0) await this.put(consentItem(entry));
    else await this.delete(controlKeys.consent(entry.tenantId, entry.subjectHash));
  }

  /** Consistent, like the restrictions (R-DSR-4). */
  async consentFlags(tenantId: string): Promise<ConsentFlags> {
    return consentFlagsOf((await this.partition(controlKeys.consent(tenantId).pk)).map((item) => recordFromItem<ConsentEntry>(item)));
  }

  async putTermination(record: TerminationRecord, options: { readonly mustNotExist?: boolean } = {}): Promise<void> {
    try {
      await this.put(terminationItem(record), options.mustNotExist ? 'attribute_not_exists(pk)' : undefined);
    } catch (error) {
      if (isConditionFailure(error)) throw terminationExists(record.tenantId);
      throw error;
    }
  }

  async getTermination(tenantId: string): Promise<TerminationRecord | undefined> {
    const item = await this.getItem(controlKeys.termination(tenantId));
    return item && recordFromItem<TerminationRecord>(item);
  }

  async updateTermination(tenantId: string, step: PrivacyStep | undefined, patch?: TerminationPatch, binding?: TerminationBinding): Promise<void> {
    const condition = bindingCondition(binding);
    try {
      await this.readModifyWrite(
        () => this.getTermination(tenantId),
        (record) => {
          if (!isBoundTo(record, binding)) throw new TerminationSuperseded(tenantId);
          return patchedTermination(record, step, patch);
        },
        terminationItem,
        () => terminationNotFound(tenantId),
        condition,
      );
    } catch (error) {
      // The condition failed on every attempt: another writer keeps changing it, or it is bound elsewhere now.
      if (binding && isConditionFailure(error)) {
        const record = await this.getTermination(tenantId);
        if (record && !isBoundTo(record, binding)) throw new TerminationSuperseded(tenantId);
      }
      throw error;
    }
  }

  async openTerminations(): Promise<string[]> {
    const items = await this.partition(controlKeys.openTermination('any').pk);
    return items.map((item) => item.sk as string);
  }

  async markTerminationOpen(tenantId: string, open: boolean): Promise<void> {
    if (open) await this.put({ ...controlKeys.openTermination(tenantId), tenantId });
    else await this.delete(controlKeys.openTermination(tenantId));
  }

  /** Writes the changed record only if no other writer appended a step since it was read; otherwise reads again. */
  private async readModifyWrite<R extends { readonly steps: readonly PrivacyStep[] }>(
    read: () => Promise<R | undefined>,
    change: (record: R) => R,
    toItem: (record: R) => Item,
    notFound: () => Error,
    extra: { expression?: string; values: Item } = { values: {} },
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const record = await read();
      if (!record) throw notFound();
      const next = change(record);
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: toItem(next),
            ConditionExpression: `attribute_exists(pk) AND size(#steps) = :steps${extra.expression ? ` AND ${extra.expression}` : ''}`,
            ExpressionAttributeNames: { '#steps': 'steps' },
            ExpressionAttributeValues: { ':steps': record.steps.length, ...extra.values },
          }),
        );
        return next;
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  private async partition(pk: string): Promise<Item[]> {
    return queryAll(this.db, { TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true });
  }

  private async getItem(key: Item): Promise<Item | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return Item;
  }

  private async put(item: Item, condition?: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: condition }));
  }

  private async delete(key: Item): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
  }
}

/** Privacy requests, restrictions, erasures and terminations in the function's control table. */
export const privacyRequestsOf = (c: Composition): DynamoPrivacyRequestStore =>
  c.once('requests', () => new DynamoPrivacyRequestStore(dynamoOf(c), c.env.value('control', ENV.controlTable)));
