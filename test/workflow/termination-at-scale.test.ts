/**
 * Workflow tier, R-TERM-1..5 at a size no single execution could hold (issue 11): the termination state machine
 * exactly as CDK synthesizes it, run in aws-local-stepfunctions with the real termination tasks over in-memory
 * stores, for a simulated tenant of 100 million events. A Standard execution stops at 25,000 history events; the
 * old single execution looped 7 events per 2,500 records and failed at about 8.8 M (immediate deletion). Here every
 * execution's state transitions are counted: they stay bounded, whatever the tenant's size, and the certificate
 * counts every event exactly once.
 *
 * The store is simulated (100 M events are not stored): it hands out pages of synthetic events and forgets what
 * the purge deletes, as DynamoDB would. Everything else is the deployed code path.
 */
import { localDeployment } from '../../bin/local/schema';
import { LocalWorkflows, type LocalExecution } from '../../bin/local/workflows';
import type { EventStore, Page } from '../../lambdas/domain/ports';
import type { StoredEvent } from '../../lambdas/domain/model';
import { PAGES_PER_CALL, TERMINATION_PAGE, TURNS_PER_EXECUTION } from '../../lambdas/domain/termination-tasks';
import { Termination } from '../../lambdas/domain/termination';
import { createTerminationTaskHandler } from '../../lambdas/termination-tasks/handler';
import { OPERATOR_ARN, terminationWorld } from '../domain/privacy-fixture';

const EVENTS = 100_000_000;
/** What one Standard execution may hold (AWS quota, not adjustable). */
const HISTORY_LIMIT = 25_000;

/**
 * The `n` of a simulated event's id `ev_<n>`, or undefined for any other id. Read digit by digit: `Number(string)`
 * costs ~0.4 µs inside jest's VM context (6× plain Node), and 100 M ids pass through here.
 */
function simulatedNumber(id: string): number | undefined {
  if (!id.startsWith('ev_') || id.length === 3) return undefined;
  let n = 0;
  for (let i = 3; i < id.length; i++) {
    const digit = id.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * A tenant's events, simulated: ids `ev_<n>`, pages from the first not yet deleted. The purge reads each event's id,
 * subjects and body kind only, so every event shares one subject list and one body. 100 M events pass through here:
 * a store that allocated more than it must would be most of the test's time, not the code under test.
 */
class SimulatedTenantStore {
  deleted = 0;
  private static readonly subjects = Object.freeze([]);
  private static readonly body = Object.freeze({ inline: '' });
  /** `real` holds every other event (the drain marker, R-TERM-1, is a real event the world's processor stored). */
  constructor(private readonly tenantId: string, private readonly total: number, private readonly real: Pick<EventStore, 'getEvents'>) {}

  private event(n: number): StoredEvent {
    return { tenantId: this.tenantId, eventId: `ev_${n}`, subjects: SimulatedTenantStore.subjects, body: SimulatedTenantStore.body } as unknown as StoredEvent;
  }

  async tenantEvents(tenantId: string, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    if (tenantId !== this.tenantId) return { items: [] };
    const from = this.deleted + Number(cursor ?? 0);
    const to = Math.min(this.total, from + limit);
    const items: StoredEvent[] = [];
    for (let n = from; n < to; n++) items.push(this.event(n));
    return { items, ...(to < this.total ? { cursor: String(to - this.deleted) } : {}) };
  }

  /** The purge deletes from the first event on: every id below `deleted` is gone. Other ids are read from `real`. */
  async getEvents(tenantId: string, eventIds: readonly string[]): Promise<StoredEvent[]> {
    if (tenantId !== this.tenantId) return this.real.getEvents(tenantId, eventIds);
    const found: StoredEvent[] = [];
    const rest: string[] = [];
    for (const id of eventIds) {
      const n = simulatedNumber(id);
      if (n === undefined) rest.push(id);
      else if (n >= this.deleted) found.push(this.event(n));
    }
    return rest.length > 0 ? [...found, ...(await this.real.getEvents(tenantId, rest))] : found;
  }

  /** Only what `tenantEvents` listed reaches the purge's delete: simulated events, all of them. */
  async deleteEvents(events: readonly unknown[]): Promise<void> {
    this.deleted += events.length;
  }
}

test(`R-TERM-1..5: a ${EVENTS.toLocaleString('en')}-event tenant is purged in executions of bounded history, and the certificate counts every event once`, async () => {
  const w = terminationWorld();
  await w.admin.createTenant(`operator:${OPERATOR_ARN}`, { tenantId: 'huge', name: 'Huge', plan: 'business' });
  const simulated = new SimulatedTenantStore('huge', EVENTS, w.deps.store);
  const store = Object.assign(Object.create(w.deps.store) as object, {
    tenantEvents: simulated.tenantEvents.bind(simulated),
    getEvents: simulated.getEvents.bind(simulated),
    deleteEvents: simulated.deleteEvents.bind(simulated),
  }) as typeof w.deps.store;
  const tasks = createTerminationTaskHandler({ ...w.deps, store });
  // ReportTenantUsage hands the state on unchanged here: the tenant has no Stripe customer, and the usage report
  // itself is proven in privacy-workflows.test.ts; this test is about the history of the termination's executions.
  const usage = async (payload: unknown) => (payload as { state: unknown }).state;
  const workflows = new LocalWorkflows(localDeployment().stateMachines, { 'termination-tasks': (payload) => tasks(payload as never), usage }, {
    waitOverridesMs: { AwaitInFlightIngest: 0, AwaitStreamDrain: 20 },
    retryIntervalMs: 0,
  });
  const termination = new Termination({ ...w, workflows });

  const { terminationId } = await termination.start(`operator:${OPERATOR_ARN}`, 'huge', { election: 'immediate' });
  // Executions start one another; wait until the chain has ended.
  let seen = 0;
  while (workflows.list().length > seen || workflows.list().some((e) => e.status === 'RUNNING')) {
    seen = workflows.list().length;
    await workflows.settled();
  }

  const executions: LocalExecution[] = workflows.list();
  const turns = EVENTS / (TERMINATION_PAGE * PAGES_PER_CALL);
  expect(executions.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  // One execution per TURNS_PER_EXECUTION purge turns (the other phases add one turn each).
  expect(executions.length).toBeGreaterThanOrEqual(Math.ceil(turns / TURNS_PER_EXECUTION));
  expect(executions.length).toBeLessThanOrEqual(Math.ceil(turns / TURNS_PER_EXECUTION) + 1);
  const transitions = executions.map((e) => e.transitions);
  // A turn is a Task and a Choice: every execution stays far below the history limit (each state is >= 2 events).
  expect(Math.max(...transitions)).toBeLessThanOrEqual(2 * TURNS_PER_EXECUTION + 20);
  expect(Math.max(...transitions) * 5).toBeLessThan(HISTORY_LIMIT);
  expect(executions.map((e) => e.name)).toEqual([terminationId, ...executions.slice(1).map((_, i) => `${terminationId}-c${i + 1}`)]);

  const record = (await w.requests.getTermination('huge'))!;
  expect(record.status).toBe('completed');
  expect(simulated.deleted).toBe(EVENTS);
  const certificate = JSON.parse(Buffer.from((await w.records.get(record.certificateKey!))!).toString('utf8')) as { document: { deleted: { events: number } } };
  expect(certificate.document.deleted.events).toBe(EVENTS);
  // The record stays small: no list in it grows with the tenant (400 KB item limit).
  expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(16_000);
}, 600_000);
