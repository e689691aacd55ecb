/**
 * Runs one contract suite against the DynamoDB adapters (over dynalite) and the in-memory ones, so the
 * in-memory twins that handler tests rely on are held to the real adapters' behaviour.
 */
import { CreateTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoAuditLog } from '../../lambdas/adapters/dynamo-audit-log';
import { DynamoBillingLedger } from '../../lambdas/adapters/dynamo-billing-ledger';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoPrivacyRequestStore } from '../../lambdas/adapters/dynamo-privacy-requests';
import { DynamoTenantDirectory } from '../../lambdas/adapters/dynamo-tenant-directory';
import { MemoryAuditLog, MemoryBillingLedger, MemoryEventStore, MemoryPrivacyRequestStore, MemoryTenantDirectory } from '../../lambdas/adapters/memory';
import type { AuditLog, BillingLedger, Clock, EventStore, PrivacyRequestStore, TenantDirectory } from '../../lambdas/domain/ports';
import { dataKeys, tenantPrefix } from '../../lambdas/domain/keys';
import { startEmulators, type Emulators } from '../support/emulators';

export interface Adapters {
  readonly store: EventStore;
  readonly directory: TenantDirectory;
  readonly audit: AuditLog;
  /** Privacy requests, restrictions, terminations: the same Control table as `directory`. */
  readonly requests: PrivacyRequestStore;
  readonly ledger: BillingLedger;
  /** Whether the subject index holds `eventId` under `subjectHash` (not visible through the port). */
  subjectIndexed(tenantId: string, subjectHash: string, eventId: string): Promise<boolean>;
  /** The stored audit items of a tenant's month, as written (to check TTL attributes). */
  auditItems(tenantId: string, month: string): Promise<Record<string, unknown>[]>;
  /** Every stored item of one table partition (Control or TenantData), in sort-key order. */
  partitionItems(table: 'control' | 'tenantData', pk: string): Promise<Record<string, unknown>[]>;
}

/**
 * The billing ledger's table (pk, sk strings, R-TERM-6). Made here, as the synthesized template that the emulators
 * are provisioned from may not hold it yet.
 */
export async function createLedgerTable(db: DynamoDBDocumentClient, tableName: string): Promise<void> {
  try {
    await db.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

/** A clock the test moves; both directories read it for delivery expiry. */
export const testClock = { at: new Date('2026-03-01T10:00:00Z'), now() { return this.at; } } satisfies Clock & { at: Date };

export const IMPLEMENTATIONS = ['dynamo', 'memory'] as const;
export type Implementation = (typeof IMPLEMENTATIONS)[number];

/** Starts what `kind` needs; call in beforeAll, and `close` in afterAll. */
export async function startAdapters(kind: Implementation): Promise<{ adapters: Adapters; close(): Promise<void> }> {
  if (kind === 'memory') {
    const store = new MemoryEventStore();
    const audit = new MemoryAuditLog();
    const requests = new MemoryPrivacyRequestStore();
    return {
      adapters: {
        store,
        directory: new MemoryTenantDirectory(testClock),
        audit,
        requests,
        ledger: new MemoryBillingLedger(),
        subjectIndexed: async (tenantId, subjectHash, eventId) => {
          const key = dataKeys.subject(tenantId, subjectHash, eventId);
          return [...store.items.values()].some((item) => item.pk === key.pk && item.sk === key.sk);
        },
        auditItems: async (tenantId, month) => audit.items.filter((item) => item.pk === `${tenantPrefix(tenantId)}AUDIT#${month}`),
        // The memory directory keeps records, not items: only the request store's items are comparable.
        partitionItems: async (table, pk) =>
          [...(table === 'control' ? requests.items : store.items).values()]
            .filter((item) => item.pk === pk)
            .sort((a, b) => ((a.sk as string) < (b.sk as string) ? -1 : 1)),
      },
      close: async () => undefined,
    };
  }
  const emulators: Emulators = await startEmulators();
  const db = createDocumentClient(emulators.clients);
  const ledgerTable = 'lumiqo-test-BillingLedger';
  await createLedgerTable(db, ledgerTable);
  return {
    adapters: {
      store: new DynamoEventStore(db, emulators.tables.tenantData, { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 }),
      directory: new DynamoTenantDirectory(db, emulators.tables.control, testClock),
      audit: new DynamoAuditLog(db, emulators.tables.audit),
      requests: new DynamoPrivacyRequestStore(db, emulators.tables.control),
      ledger: new DynamoBillingLedger(db, ledgerTable),
      subjectIndexed: async (tenantId, subjectHash, eventId) => {
        const answer = await db.send(new GetCommand({ TableName: emulators.tables.tenantData, Key: dataKeys.subject(tenantId, subjectHash, eventId) }));
        return answer.Item !== undefined;
      },
      auditItems: async (tenantId, month) => {
        const answer = await db.send(
          new QueryCommand({
            TableName: emulators.tables.audit,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `${tenantPrefix(tenantId)}AUDIT#${month}` },
          }),
        );
        return answer.Items ?? [];
      },
      partitionItems: async (table, pk) => {
        const answer = await db.send(
          new QueryCommand({ TableName: emulators.tables[table], KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }),
        );
        return answer.Items ?? [];
      },
    },
    close: async () => {
      db.destroy();
      await emulators.close();
    },
  };
}

/** `describe` once per implementation; `ctx.adapters` is ready inside each test. */
export function describeAdapters(title: string, tests: (ctx: { adapters: Adapters }) => void): void {
  describe.each(IMPLEMENTATIONS)(`${title} (%s)`, (kind) => {
    const ctx = {} as { adapters: Adapters };
    let close: () => Promise<void> = async () => undefined;
    beforeAll(async () => ({ adapters: ctx.adapters, close } = await startAdapters(kind)));
    afterAll(() => close());
    tests(ctx);
  });
}
