/**
 * Adapter tier, billing (R-BILL-1, R-RET-3, R-SEC-10): DynamoBillingRecords over dynalite and its in-memory twin hold
 * the same contract, so the handler tests that use the twin say what the deployed adapter does; DynamoTenantPlans'
 * versioned plan write.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoBillingRecords } from '../../lambdas/adapters/dynamo-billing-records';
import { DynamoTenantPlans } from '../../lambdas/adapters/dynamo-tenant-plans';
import { MemoryBillingRecords } from '../../lambdas/adapters/memory-billing';
import { BILLING_RETENTION_DAYS, orderOf, type BillingRecords, type PendingTermination, type SubscriptionState } from '../../lambdas/domain/billing';
import { controlKeys } from '../../lambdas/domain/keys';
import { startEmulators, type Emulators } from '../support/emulators';

const LEDGER = 'lumiqo-test-billing-BillingLedger';
const NOW = new Date('2026-12-01T10:00:00Z');
let emulators: Emulators;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  emulators = await startEmulators('lumiqo-billing');
  db = createDocumentClient(emulators.clients);
  await db.send(
    new CreateTableCommand({
      TableName: LEDGER,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    }),
  );
}, 60_000);
afterAll(async () => {
  db?.destroy();
  await emulators?.close();
});

const state = (tenantId: string, eventCreated: number, eventId: string, status = 'active'): SubscriptionState => ({
  tenantId, subscriptionId: 'sub_1', customerId: 'cus_1', status, priceIds: ['price_B'], eventCreated, eventId, order: orderOf(eventCreated, status, eventId),
});
const pending = (tenantId: string, terminateAfter: string, eventId: string): PendingTermination => ({
  tenantId, subscriptionId: 'sub_1', endedAt: '2026-11-01T00:00:00.000Z', terminateAfter, eventId,
});

describe.each(['dynamo', 'memory'] as const)('BillingRecords (%s)', (kind) => {
  let records: BillingRecords;
  const tenant = (name: string) => `${kind}-${name}`;
  beforeAll(() => {
    records = kind === 'dynamo' ? new DynamoBillingRecords(db, LEDGER, { now: () => NOW }) : new MemoryBillingRecords();
  });

  test('an event is processed once marked, and marking it again changes nothing', async () => {
    const eventId = `evt_${kind}1`;
    expect(await records.isProcessed(eventId)).toBe(false);
    await records.markProcessed({ eventId, type: 'invoice.paid', created: 1, at: NOW.toISOString() });
    await records.markProcessed({ eventId, type: 'invoice.paid', created: 1, at: NOW.toISOString() });
    expect(await records.isProcessed(eventId)).toBe(true);
  });

  test('a customer is linked to one tenant for good: a second link to another tenant returns the first', async () => {
    const customerId = `cus_${kind}Link`;
    const first = { customerId, tenantId: tenant('a'), linkedAt: NOW.toISOString(), eventId: 'evt_1' };
    expect(await records.linkCustomer(first)).toEqual(first);
    expect(await records.linkCustomer({ ...first, tenantId: tenant('b'), eventId: 'evt_2' })).toEqual(first);
    expect(await records.tenantOfCustomer(customerId)).toBe(tenant('a'));
    expect(await records.tenantOfCustomer(`cus_${kind}Nobody`)).toBeUndefined();
  });

  test('subscription states are kept, each once, per tenant', async () => {
    const states = [state(tenant('s'), 20, 'evt_b'), state(tenant('s'), 10, 'evt_a'), state(tenant('s'), 10, 'evt_a')];
    for (const s of states) await records.recordSubscriptionState(s);
    await records.recordSubscriptionState(state(tenant('other'), 30, 'evt_c'));
    expect((await records.subscriptionStates(tenant('s'))).map((s) => s.eventId).sort()).toEqual(['evt_a', 'evt_b']);
  });

  test('R-TERM-1: due terminations are those due at or before now, of every tenant; later ones are not (the twin)', async () => {
    await records.recordPendingTermination(pending(tenant('d1'), '2026-11-15T00:00:00.000Z', 'evt_d1'));
    await records.recordPendingTermination(pending(tenant('d2'), '2026-12-01T10:00:00.000Z', 'evt_d2'));
    await records.recordPendingTermination(pending(tenant('d3'), '2026-12-01T10:00:00.001Z', 'evt_d3'));
    const due = (await records.dueTerminations('2026-12-01T10:00:00.000Z')).filter((p) => p.tenantId.startsWith(kind));
    expect(due.map((p) => p.tenantId).sort()).toEqual([tenant('d1'), tenant('d2')]);
    expect(await records.pendingTerminations(tenant('d3'))).toEqual([pending(tenant('d3'), '2026-12-01T10:00:00.001Z', 'evt_d3')]);
  });
});

describe('DynamoBillingRecords items (R-RET-3, R-SEC-10)', () => {
  test('every item is kept 7 years (expiresAt) under a key no tenant-scoped pattern (T#…) matches', async () => {
    const records = new DynamoBillingRecords(db, LEDGER, { now: () => NOW });
    await records.recordInvoice({ tenantId: 'acme', invoiceId: 'in_1', customerId: 'cus_1', outcome: 'paid', amountPaid: 4900, currency: 'eur', eventId: 'evt_i1', eventCreated: 1 });
    const { Items = [] } = await db.send(new QueryCommand({ TableName: LEDGER, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'BILLING#acme' } }));
    expect(Items).toHaveLength(1);
    expect(Items[0].expiresAt).toBe(Math.floor(NOW.getTime() / 1000) + BILLING_RETENTION_DAYS * 86_400);
    expect(String(Items[0].pk).startsWith('T#')).toBe(false);
  });
});

describe('DynamoTenantPlans (R-BILL-1, R-RET-1)', () => {
  test('a newer version sets the plan; an older or equal one is stale; an unknown tenant is neither written nor created', async () => {
    const plans = new DynamoTenantPlans(db, emulators.tables.control);
    await db.send(new PutCommand({ TableName: emulators.tables.control, Item: { ...controlKeys.tenant('acme'), tenantId: 'acme', plan: 'starter', status: 'active' } }));
    expect(await plans.exists('acme')).toBe(true);
    expect(await plans.exists('nobody')).toBe(false);
    expect(await plans.setPlan('acme', 'enterprise', '000000000020#0#evt_b')).toBe('updated');
    expect(await plans.setPlan('acme', 'business', '000000000010#0#evt_a')).toBe('stale');
    expect(await plans.setPlan('acme', 'business', '000000000020#0#evt_b')).toBe('stale');
    expect(await plans.setPlan('nobody', 'business', '000000000030#0#evt_c')).toBe('stale');
    expect(await plans.exists('nobody')).toBe(false);
    const { Items = [] } = await db.send(new QueryCommand({ TableName: emulators.tables.control, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': controlKeys.tenant('acme').pk } }));
    expect(Items[0]).toMatchObject({ plan: 'enterprise', billingVersion: '000000000020#0#evt_b' });
  });
});
