/**
 * R-BILL-2, issue 12: the usage marks as DynamoDB holds them (pages of marks, dynamo-usage-ledger.ts) against their
 * twin, one item per source id put and deleted (MemoryUsageMarks): any sequence of writes and take-backs leaves the
 * same day totals. Over dynalite, through the real document client.
 */
import fc from 'fast-check';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoUsageLedger, DynamoUsageMarks, MARKS_PER_PAGE } from '../../lambdas/adapters/dynamo-usage-ledger';
import { itemBytes } from '../../lambdas/adapters/event-items';
import { MemoryUsageMarks } from '../../lambdas/adapters/memory-billing';
import { DYNAMODB_LIMITS } from '../../lambdas/domain/aws-limits';
import { ledgerKeys } from '../../lambdas/domain/keys';
import { eventUsageMark, type UsageMark } from '../../lambdas/domain/usage';
import { startEmulators, type Emulators } from '../support/emulators';
import { createLedgerTable } from './harness';

const TABLE = 'lumiqo-marks-BillingLedger';
const DAYS = ['2026-12-01', '2026-12-02'] as const;

let emulators: Emulators;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  emulators = await startEmulators('lumiqo-marks');
  db = createDocumentClient(emulators.clients);
  await createLedgerTable(db, TABLE);
}, 60_000);
afterAll(async () => {
  db?.destroy();
  await emulators?.close();
});

const partition = async (tenantId: string, day: string) =>
  (await db.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': ledgerKeys.mark(tenantId, day, '').pk } }))).Items ?? [];

const mark = (tenantId: string, day: string, sourceId: string, bytes: number): UsageMark =>
  eventUsageMark({ tenantId, eventId: sourceId, kind: 'event', receivedAt: `${day}T09:00:00.000Z` }, bytes);

let run = 0;

describe('R-BILL-2: usage marks in pages', () => {
  it('any sequence of writes and take-backs, in one call or many, totals as one item per source id would', async () => {
    const operation = fc.record({
      forget: fc.boolean(),
      marks: fc.array(fc.record({ tenant: fc.constantFrom('a', 'b'), day: fc.constantFrom(...DAYS), source: fc.integer({ min: 0, max: 5 }), bytes: fc.integer({ min: 0, max: 1e6 }) }), { minLength: 1, maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 8 }), async (operations) => {
        run += 1;
        const tenant = (t: string) => `marks-${run}-${t}`;
        const twin = new MemoryUsageMarks();
        const pages = new DynamoUsageMarks(db, TABLE);
        const ledger = new DynamoUsageLedger(db, TABLE);
        for (const { forget, marks } of operations) {
          const batch = marks.map((m) => mark(tenant(m.tenant), m.day, `ev_${m.source}`, m.bytes));
          if (forget) await Promise.all([twin.forget(batch), pages.forget(batch)]);
          else await Promise.all([twin.record(batch), pages.record(batch)]);
        }
        for (const t of ['a', 'b']) for (const day of DAYS) expect(await ledger.dayTotals(tenant(t), day)).toEqual(twin.totals(tenant(t), day));
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('writes one item per tenant and day of a call, not one per mark, and a retried call counts once', async () => {
    const marks = new DynamoUsageMarks(db, TABLE);
    const batch = Array.from({ length: 500 }, (_, i) => mark('marks-page', DAYS[0], `ev_${i}`, 100));
    await marks.record(batch);
    await marks.record(batch);
    expect((await partition('marks-page', DAYS[0])).map((item) => String(item.sk).slice(0, 2))).toEqual(['P#', 'P#']);
    expect(await new DynamoUsageLedger(db, TABLE).dayTotals('marks-page', DAYS[0])).toEqual({ 'events.event': 500, bytes_stored: 50_000 });
  });

  it('splits a call past MARKS_PER_PAGE marks, each page within DynamoDB’s 400 KB even with the longest ids', async () => {
    const longest = (i: number) => `ev_${String(i).padStart(157, '0')}`;
    const batch = Array.from({ length: MARKS_PER_PAGE * 2 + 1 }, (_, i) => mark('marks-split', DAYS[0], longest(i), Number.MAX_SAFE_INTEGER));
    await new DynamoUsageMarks(db, TABLE).record(batch);
    const pages = await partition('marks-split', DAYS[0]);
    expect(pages).toHaveLength(3);
    for (const page of pages) expect(itemBytes(page)).toBeLessThanOrEqual(DYNAMODB_LIMITS.itemBytes);
    expect(Object.keys(pages[0].m as object)).toHaveLength(MARKS_PER_PAGE);
    expect((await new DynamoUsageLedger(db, TABLE).dayTotals('marks-split', DAYS[0]))['events.event']).toBe(MARKS_PER_PAGE * 2 + 1);
  });

  it('reads single-mark items (the layout before pages) as older than every page: a take-back undoes them, a later mark counts', async () => {
    const old = mark('marks-old', DAYS[1], 'ev_old', 7);
    const key = ledgerKeys.mark(old.tenantId, old.day, old.sourceId);
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...key, q: { ...old.quantities }, expiresAt: 1 } }));
    const ledger = new DynamoUsageLedger(db, TABLE);
    const marks = new DynamoUsageMarks(db, TABLE);
    await marks.record([mark('marks-old', DAYS[1], 'ev_new', 3)]);
    expect(await ledger.dayTotals('marks-old', DAYS[1])).toEqual({ 'events.event': 2, bytes_stored: 10 });
    await marks.forget([old]);
    expect(await ledger.dayTotals('marks-old', DAYS[1])).toEqual({ 'events.event': 1, bytes_stored: 3 });
    await marks.record([old]);
    expect(await ledger.dayTotals('marks-old', DAYS[1])).toEqual({ 'events.event': 2, bytes_stored: 10 });
  });
});
