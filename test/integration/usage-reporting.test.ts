/**
 * R-BILL-2, R-TERM-1: the usage reporter and the reconciliation, over the usage ledger in dynalite and the real
 * `stripe` SDK pointed at the recording Stripe server (test/support/stripe-server.ts). The reporter is crashed where a
 * Lambda can die (after a send and before its ledger write; between two tenants), gets a duplicate answer (a cut
 * connection the SDK retries), and runs again: the server then holds exactly one accepted total per tenant, meter and
 * day, with the ledger's value; later runs send nothing unless the ledger's total changed.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoUsageLedger, DynamoUsageMarks } from '../../lambdas/adapters/dynamo-usage-ledger';
import { lazyStripe, StripeMeterSink } from '../../lambdas/adapters/stripe-meters';
import { createAwsClients } from '../../lambdas/adapters/clients';
import { S3DocumentStore } from '../../lambdas/adapters/s3-document-store';
import { MonthlyStatements, statementKey, type UsageStatement } from '../../lambdas/domain/usage-statements';
import {
  eventUsageMark,
  UsageReconciliation,
  UsageReporter,
  aiUsageMark,
  usageIdentifier,
  type UsageLedger,
  type UsageMeter,
  type UsageSettings,
} from '../../lambdas/domain/usage';
import { startEmulators, type Emulators } from '../support/emulators';
import { ManualClock } from '../support/manual-clock';
import { RecordingStripeServer } from '../support/stripe-server';

const LEDGER = 'lumiqo-usage-BillingLedger';
const DAY_MS = 24 * 3600 * 1000;
const METERS = [
  { id: 'mtr_test_events', eventName: 'lumiqo_events', meter: 'events.event' },
  { id: 'mtr_test_api_calls', eventName: 'lumiqo_api_calls', meter: 'events.api_call' },
  { id: 'mtr_test_bytes', eventName: 'lumiqo_bytes_stored', meter: 'bytes_stored' },
] as const;
const SETTINGS: UsageSettings = {
  meters: Object.fromEntries(METERS.map((m) => [m.meter, { eventName: m.eventName, meterId: m.id }])),
  settleAfterDays: 2,
  alarmAfterDays: 30,
};
const CUSTOMERS: Record<string, string> = { 'tenant-alpha': 'cus_Alpha', 'tenant-beta': 'cus_Beta' };

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let table = 0;

beforeAll(async () => {
  emulators = await startEmulators('lumiqo-usage');
  db = createDocumentClient(emulators.clients);
}, 60_000);
/** Each test's recording server, closed after it. */
const servers: RecordingStripeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  db?.destroy();
  await emulators?.close();
});

/** A fresh ledger table, a clock at `start`, the server and the reporter's parts, per test. */
async function world(start: string, meters: readonly { id: string; eventName: string; meter: UsageMeter }[] = METERS) {
  const settings: UsageSettings = { ...SETTINGS, meters: Object.fromEntries(meters.map((m) => [m.meter, { eventName: m.eventName, meterId: m.id }])) };
  const tableName = `${LEDGER}-${++table}`;
  await db.send(new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
  }));
  const clock = new ManualClock(new Date(start));
  const server = await new RecordingStripeServer(clock, meters).start();
  servers.push(server);
  const ledger = new DynamoUsageLedger(db, tableName);
  const marks = new DynamoUsageMarks(db, tableName);
  const sink = new StripeMeterSink(lazyStripe(async () => 'sk_test_usage', { baseUrl: server.url, maxNetworkRetries: 2 }));
  const customerOf = async (tenantId: string) => CUSTOMERS[tenantId];
  const reporter = (overrides: { ledger?: UsageLedger; customerOf?: (tenantId: string) => Promise<string | undefined> } = {}) =>
    new UsageReporter({ ledger: overrides.ledger ?? ledger, sink, customerOf: overrides.customerOf ?? customerOf, settings, clock });
  return { tableName, clock, server, ledger, marks, sink, customerOf, reporter };
}

let eventSequence = 0;
/** Marks of `count` stored events of `kind`, received on `day`, of `bytes` each. */
const events = (tenantId: string, day: string, kind: string, count: number, bytes = 100) =>
  Array.from({ length: count }, () => eventUsageMark({ tenantId, eventId: `evt_${++eventSequence}`, kind, receivedAt: `${day}T08:00:00.000Z` }, bytes));

/**
 * Fault injection: a crash. From the call `crashes` picks on, every call on `target` hangs for ever, as nothing runs
 * after a Lambda dies; `crashed` resolves when that happened.
 */
function crashing<T extends object>(target: T, crashes: (method: string, args: unknown[]) => boolean): { proxy: T; crashed: Promise<void> } {
  let dead = false;
  let signal!: () => void;
  const crashed = new Promise<void>((resolve) => (signal = resolve));
  const proxy = new Proxy(target, {
    get(object, property) {
      const member = Reflect.get(object, property, object) as unknown;
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        if (!dead && crashes(String(property), args)) {
          dead = true;
          signal();
        }
        return dead ? new Promise(() => undefined) : (member as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return { proxy, crashed };
}

type World = Awaited<ReturnType<typeof world>>;

/** Per tenant, meter and day: the accepted events' values, as the server holds them. */
function acceptedTotals(w: World): Map<string, number[]> {
  const totals = new Map<string, number[]>();
  for (const event of w.server.accepted) {
    const key = `${event.customer}|${event.eventName}|${new Date(event.timestamp * 1000).toISOString().slice(0, 10)}`;
    totals.set(key, [...(totals.get(key) ?? []), event.value]);
  }
  return totals;
}

const meterOf = (meter: UsageMeter) => METERS.find((m) => m.meter === meter)!.eventName;

describe('usage reporter (R-BILL-2)', () => {
  const D1 = '2026-11-20';
  const D2 = '2026-11-21';

  test('R-BILL-2: with an ai_tokens meter configured, the day\'s AI tokens (the AI function\'s marks) are sent once; a retried request adds nothing', async () => {
    const AI_METER = { id: 'mtr_test_ai_tokens', eventName: 'lumiqo_ai_tokens', meter: 'ai_tokens' as const };
    const w = await world('2026-11-22T02:00:00Z', [...METERS, AI_METER]);
    // Two questions on D1, two provider calls each; the first request retried (the same marks again).
    const first = [aiUsageMark('tenant-alpha', `${D1}T09:00:00.000Z`, 'req-a', 1, 1200), aiUsageMark('tenant-alpha', `${D1}T09:00:00.000Z`, 'req-a', 2, 300)];
    await w.marks.record(first);
    await w.marks.record(first);
    await w.marks.record([aiUsageMark('tenant-alpha', `${D1}T10:00:00.000Z`, 'req-b', 1, 500), ...events('tenant-alpha', D1, 'event', 2)]);
    await w.reporter().run();
    expect(acceptedTotals(w).get(`cus_Alpha|lumiqo_ai_tokens|${D1}`)).toEqual([2000]);
    expect(acceptedTotals(w).get(`cus_Alpha|lumiqo_events|${D1}`)).toEqual([2]);
    // can: without the meter configured, the same ledger sends no AI tokens.
    const without = await world('2026-11-22T02:00:00Z');
    await without.marks.record(first);
    await without.reporter().run();
    expect(without.server.accepted.map((e) => e.eventName)).not.toContain('lumiqo_ai_tokens');
  });

  test('crash after the send, crash between tenants, a duplicate answer, then runs again: one accepted total per tenant, meter and day', async () => {
    const w = await world('2026-11-22T02:00:00Z');
    await w.marks.record([...events('tenant-alpha', D1, 'event', 5, 120), ...events('tenant-alpha', D1, 'api_call', 2, 50), ...events('tenant-alpha', D2, 'event', 3, 10)]);
    await w.marks.record([...events('tenant-beta', D1, 'event', 7, 30), ...events('tenant-beta', D2, 'api_call', 4, 40)]);
    // A redelivered batch writes the same marks again: no second count.
    const again = events('tenant-beta', D2, 'event', 1, 1000);
    await w.marks.record(again);
    await w.marks.record(again);

    // 1. Crash after the first send, before its ledger write.
    const first = crashing(w.ledger, (method) => method === 'recordDelivery');
    await Promise.race([w.reporter({ ledger: first.proxy }).run(), first.crashed]);
    expect(w.server.accepted).toHaveLength(1);
    expect(await w.ledger.deliveries('tenant-alpha', D1)).toEqual([]);

    // 2. Runs again and crashes between the tenants (before tenant-beta's first send of D1).
    const second = crashing({ customerOf: w.customerOf }, (_method, args) => args[0] === 'tenant-beta');
    await Promise.race([w.reporter({ customerOf: second.proxy.customerOf }).run(), second.crashed]);
    const alphaD1 = await w.ledger.deliveries('tenant-alpha', D1);
    // The resend of the crashed send met Stripe's duplicate 400: delivered, not counted again.
    expect(alphaD1.map((d) => [d.meter, d.value, d.outcome])).toEqual([
      ['bytes_stored', 700, 'accepted'],
      ['events.api_call', 2, 'accepted'],
      ['events.event', 5, 'duplicate'],
    ]);
    expect(w.server.calls.filter((c) => c.status === 400).map((c) => c.params.identifier)).toEqual([usageIdentifier('events.event', 'tenant-alpha', D1, 5, 0)]);

    // 3. A duplicate answer: the connection is cut after Stripe accepted; the SDK's retry gets the 400.
    w.server.dropConnectionAfterAccept(1);
    const third = await w.reporter().run();
    expect(third.failed).toEqual([]);
    expect(third.duplicates).toBe(1);

    // 4. And again: nothing left to send.
    const postsBefore = w.server.meterEventPosts().length;
    const fourth = await w.reporter().run();
    expect(w.server.meterEventPosts()).toHaveLength(postsBefore);
    expect(fourth.sent).toBe(0);

    // Exactly one accepted total per tenant, meter and day, each the ledger's sum of marks.
    const expected = new Map<string, number>();
    for (const [tenantId, customer] of Object.entries(CUSTOMERS)) {
      for (const day of [D1, D2]) {
        const totals = await w.ledger.dayTotals(tenantId, day);
        for (const { meter, eventName } of METERS) expect(w.server.dayValue(eventName, customer, day) ?? 0).toBe(totals[meter] ?? 0);
        for (const [meter, value] of Object.entries(totals)) expected.set(`${customer}|${meterOf(meter as UsageMeter)}|${day}`, value);
      }
    }
    expect(Object.fromEntries(acceptedTotals(w))).toEqual(Object.fromEntries([...expected].map(([key, value]) => [key, [value]])));
    expect(expected.get(`cus_Beta|lumiqo_events|${D2}`)).toBe(1);
    expect(expected.get(`cus_Beta|lumiqo_bytes_stored|${D2}`)).toBe(4 * 40 + 1000);
  }, 60_000);

  test('a later run changes a closed day only when the ledger total changed (a late record), and a settled day is left alone', async () => {
    const w = await world('2026-11-22T02:00:00Z');
    await w.marks.record(events('tenant-alpha', D2, 'event', 3, 10));
    await w.reporter().run();
    expect(w.server.accepted.map((e) => e.value).sort()).toEqual([3, 30]);

    // The next day, nothing changed: nothing is sent.
    w.clock.advance(3600_000);
    await w.reporter().run();
    expect(w.server.accepted).toHaveLength(2);

    // A late record of D2 (stream retry): the new total replaces the day's value at Stripe.
    await w.marks.record(events('tenant-alpha', D2, 'event', 1, 10));
    const late = await w.reporter().run();
    expect(late.sent).toBe(2);
    expect(w.server.dayValue('lumiqo_events', 'cus_Alpha', D2)).toBe(4);
    expect(w.server.dayValue('lumiqo_bytes_stored', 'cus_Alpha', D2)).toBe(40);
    expect((await w.ledger.deliveries('tenant-alpha', D2)).map((d) => [d.meter, d.revision, d.value])).toEqual([
      ['bytes_stored', 0, 30], ['bytes_stored', 1, 40], ['events.event', 0, 3], ['events.event', 1, 4],
    ]);

    // Past settleAfterDays the day is settled; after that it is not even read again.
    w.clock.advance(2 * DAY_MS);
    const settling = await w.reporter().run();
    expect(settling.settled).toBe(1);
    expect(await w.ledger.isSettled('tenant-alpha', D2)).toBe(true);
    const posts = w.server.meterEventPosts().length;
    expect((await w.reporter().run()).unchanged).toBe(0);
    expect(w.server.meterEventPosts()).toHaveLength(posts);
  }, 60_000);

  test('a day not deliverable for alarmAfterDays (no Stripe customer yet) is reported near the 35-day limit; Stripe refuses older events', async () => {
    const w = await world('2026-12-31T01:00:00Z');
    await w.marks.record(events('tenant-gamma', '2026-11-29', 'event', 2)); // ended 31 days ago
    await w.marks.record(events('tenant-gamma', '2026-12-20', 'event', 2)); // 10 days ago
    await w.marks.record(events('tenant-alpha', '2026-11-28', 'event', 1)); // 32 days ago, deliverable
    const outcome = await w.reporter().run();
    expect(outcome.nearLimit).toEqual([{ tenantId: 'tenant-gamma', day: '2026-11-29' }]);
    expect(outcome.withoutCustomer.map((d) => d.day)).toEqual(['2026-11-29', '2026-12-20']);
    expect(w.server.dayValue('lumiqo_events', 'cus_Alpha', '2026-11-28')).toBe(1);

    const stripe = new Stripe('sk_test_usage', { host: '127.0.0.1', port: Number(new URL(w.server.url).port), protocol: 'http', maxNetworkRetries: 0 });
    await expect(stripe.billing.meterEvents.create({
      event_name: 'lumiqo_events', identifier: 'too-old', timestamp: Date.parse('2026-11-25T00:00:00Z') / 1000,
      payload: { stripe_customer_id: 'cus_Alpha', value: '1' },
    })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('35 calendar days') });
  }, 60_000);

  test('R-TERM-1: the termination flush sends the open day through the same code; the daily run after it sends nothing more', async () => {
    const w = await world('2026-11-22T15:00:00Z');
    await w.marks.record([...events('tenant-alpha', D2, 'event', 2), ...events('tenant-alpha', '2026-11-22', 'event', 6, 10)]);
    const flushed = await w.reporter().flushTenant('tenant-alpha');
    expect(flushed.sent).toBe(4);
    expect(w.server.dayValue('lumiqo_events', 'cus_Alpha', '2026-11-22')).toBe(6);
    expect((await w.ledger.deliveries('tenant-alpha', '2026-11-22')).every((d) => d.reason === 'termination')).toBe(true);
    w.clock.advance(DAY_MS);
    const daily = await w.reporter().run();
    expect(daily.sent).toBe(0);
    expect(w.server.accepted).toHaveLength(4);
  }, 60_000);
});

describe('R-RET-3: monthly statements', () => {
  test('once the month\'s days are settled, one statement per tenant and month: totals and every delivery; never written twice', async () => {
    const w = await world('2026-12-02T04:00:00Z');
    await w.marks.record([...events('tenant-alpha', '2026-11-20', 'event', 4, 25), ...events('tenant-alpha', '2026-11-30', 'api_call', 1, 60)]);
    await w.reporter().run();
    const s3 = createAwsClients(emulators.clients).s3;
    const store = new S3DocumentStore(s3, emulators.bucket);
    const statements = () => new MonthlyStatements({ ledger: w.ledger, statements: store, settings: SETTINGS, clock: w.clock });

    // 2 December: November's last day is not settled yet.
    expect(await statements().run()).toEqual({ month: '2026-11', written: [], skipped: 0 });
    w.clock.advance(DAY_MS);
    const first = await statements().run();
    expect(first.written).toEqual([statementKey('tenant-alpha', '2026-11')]);
    const statement = JSON.parse(Buffer.from((await store.get(first.written[0]))!).toString('utf8')) as UsageStatement;
    expect(statement).toMatchObject({ kind: 'lumiqo.usage-statement.v1', tenantId: 'tenant-alpha', month: '2026-11' });
    expect(statement.days.map((d) => [d.day, d.totals])).toEqual([
      ['2026-11-20', { 'events.event': 4, bytes_stored: 100 }],
      ['2026-11-30', { 'events.api_call': 1, bytes_stored: 60 }],
    ]);
    expect(statement.days[0].deliveries.map((d) => [d.meter, d.value, d.revision, d.outcome])).toEqual([['bytes_stored', 100, 0, 'accepted'], ['events.event', 4, 0, 'accepted']]);
    expect(statement.days[0].deliveries[0].identifier).toBe(usageIdentifier('bytes_stored', 'tenant-alpha', '2026-11-20', 100, 0));
    // A later run finds it written and leaves it alone (the bucket's Object Lock would keep the first anyway).
    expect(await statements().run()).toEqual({ month: '2026-11', written: [], skipped: 1 });
    s3.destroy();
  }, 60_000);
});

describe('usage reconciliation', () => {
  test('quiet when Stripe and the ledger agree; an injected difference names tenant, day and meter', async () => {
    const w = await world('2026-11-22T02:00:00Z');
    await w.marks.record([...events('tenant-alpha', '2026-11-20', 'event', 5), ...events('tenant-beta', '2026-11-21', 'api_call', 2)]);
    await w.reporter().run();
    const reconciliation = new UsageReconciliation({ ledger: w.ledger, sink: w.sink, customerOf: w.customerOf, settings: SETTINGS, clock: w.clock });
    const agreed = await reconciliation.run();
    expect(agreed.mismatches).toEqual([]);
    expect(agreed.checked).toBe(2 * METERS.length);

    // Someone sends a stray event into tenant-beta's day (later, so it is the day's latest).
    const stripe = new Stripe('sk_test_usage', { host: '127.0.0.1', port: Number(new URL(w.server.url).port), protocol: 'http', maxNetworkRetries: 0 });
    await stripe.billing.meterEvents.create({ event_name: 'lumiqo_api_calls', identifier: 'stray-1', timestamp: Date.parse('2026-11-21T00:00:00Z') / 1000, payload: { stripe_customer_id: 'cus_Beta', value: '9' } });
    expect((await reconciliation.run()).mismatches).toEqual([{ tenantId: 'tenant-beta', day: '2026-11-21', meter: 'events.api_call', ledger: 2, provider: 9 }]);
    // A late record the reporter has not sent yet is a difference too, until it runs.
    await w.marks.record(events('tenant-alpha', '2026-11-20', 'event', 1));
    expect((await reconciliation.run()).mismatches.map((m) => [m.tenantId, m.day, m.meter])).toEqual([
      ['tenant-alpha', '2026-11-20', 'events.event'], ['tenant-alpha', '2026-11-20', 'bytes_stored'], ['tenant-beta', '2026-11-21', 'events.api_call'],
    ]);
  }, 60_000);
});
