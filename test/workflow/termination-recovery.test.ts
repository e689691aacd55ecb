/**
 * Workflow tier, R-TERM-1..5 through failures (issue 11): the synthesized termination machine on the local platform
 * (emulators, real task handlers, tiny batches so every loop continues in new executions), and what used to leave a
 * tenant frozen for good:
 * - an operator stops an execution in the middle of the purge (a task's answer lost with it);
 * - the services stack is replaced inside the 30-day window (its state machine and every execution gone);
 * - the local platform restarts inside the window, and in the middle of the purge.
 * Each time the termination sweeper finds the record, resumes it from its checkpoint or starts the purge when the
 * window has closed, and the certificate counts every event exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startLocalPlatform, type LocalPlatform, type LocalPlatformOptions } from '../../bin/local/platform';
import type { SignedDeletionDocument, TenantDeletionCertificate } from '../../lambdas/domain/deletion-records';
import type { Clock } from '../../lambdas/domain/ports';
import type { TerminationRecord, WorkflowName } from '../../lambdas/domain/privacy';
import { EXPORT_WINDOW_DAYS } from '../../lambdas/domain/privacy';
import { tenantObjectPrefix } from '../../lambdas/domain/keys';
import { TEST_PLATFORM } from '../support/local-platform';
import { localCallCheck } from '../deployed/allowed-calls';
import { eventually, request } from '../integration/http';

const DAY_MS = 24 * 3600 * 1000;

/** Real time, shifted on demand (the export window passes in a test). */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const clock = new ShiftedClock();
const calls = localCallCheck();
/** `<workflow>/<state>` → what to do around the task call (a test stops the execution there). */
const around = new Map<string, (call: () => Promise<unknown>) => Promise<unknown>>();
let dataDir: string;
let local: LocalPlatform | undefined;
const apiKeys: Record<string, string> = {};

const options = (): LocalPlatformOptions => ({
  ...TEST_PLATFORM,
  dataDir,
  demo: false,
  clock,
  aroundInvocation: calls.aroundInvocation,
  // One event per page and call, two loop turns per execution: every loop continues in new executions.
  terminationBatching: { pageSize: 1, pagesPerCall: 1, turnsPerExecution: 2 },
  // The sweep runs at start (re-arming from the records) and then when a test says so.
  terminationSweepIntervalMs: 3_600_000,
  workflows: {
    waitOverridesMs: { AwaitInFlightIngest: 0, AwaitStreamDrain: 20 },
    retryIntervalMs: 0,
    interceptTask: (workflow: WorkflowName, state: string, call: () => Promise<unknown>) => (around.get(`${workflow}/${state}`) ?? ((c) => c()))(call),
  },
});

const platform = (): LocalPlatform => {
  if (!local) throw new Error('The local platform is not running');
  return local;
};

const admin = (path: string, body?: object) => request(`${platform().url}/v1/admin${path}`, { token: platform().adminToken, ...(body ? { body } : {}) });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lumiqo-termination-'));
  local = await startLocalPlatform(options());
}, 90_000);

afterAll(async () => {
  await local?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(() => around.clear());

/** A tenant with `count` stored events; returns its id. */
async function tenantWith(count: number): Promise<string> {
  const tenantId = `t-${randomUUID().slice(0, 8)}`;
  expect((await admin('/tenants', { tenantId, name: `Tenant ${tenantId}` })).status).toBe(201);
  apiKeys[tenantId] = String((await admin(`/tenants/${tenantId}/api-keys`, { scopes: ['ingest', 'read'] })).body.apiKey);
  const events = Array.from({ length: count }, (_, i) => ({ type: 'event', name: 'signup', timestamp: new Date().toISOString(), properties: { i } }));
  const answer = await request<{ eventIds: string[] }>(`${platform().url}/v1/events`, { token: apiKeys[tenantId], body: { events } });
  expect(answer.status).toBe(202);
  for (const id of answer.body.eventIds) {
    await eventually(async () => ((await platform().platform.store.getEvents(tenantId, [id])).length === 1 ? true : undefined), `event ${id}`);
  }
  return tenantId;
}

const record = async (tenantId: string): Promise<TerminationRecord> => (await platform().platform.requests.getTermination(tenantId))!;

/** Waits until no execution of this termination runs any more (continuations included). */
async function quiet(terminationId: string): Promise<void> {
  await eventually(async () => {
    const mine = platform().workflows.list().filter((e) => e.name.startsWith(terminationId));
    if (mine.some((e) => e.status === 'RUNNING')) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    return platform().workflows.list().filter((e) => e.name.startsWith(terminationId)).some((e) => e.status === 'RUNNING') ? undefined : true;
  }, `the executions of ${terminationId} to end`, 60_000);
}

async function completed(tenantId: string): Promise<SignedDeletionDocument<TenantDeletionCertificate>> {
  const done = await eventually(async () => {
    const r = await record(tenantId);
    return r.status === 'completed' ? r : undefined;
  }, `the termination of ${tenantId} to complete`, 60_000);
  const body = await platform().platform.records.get(done.certificateKey!);
  return JSON.parse(Buffer.from(body!).toString('utf8')) as SignedDeletionDocument<TenantDeletionCertificate>;
}

async function terminate(tenantId: string, election: string): Promise<string> {
  const started = await admin(`/tenants/${tenantId}/termination`, { election });
  expect(started.status).toBe(202);
  return String(started.body.terminationId);
}

it('a stopped execution (its last answer lost) is found by the sweeper and resumed from the checkpoint; every event is counted once', async () => {
  const tenantId = await tenantWith(6);
  let purgeCalls = 0;
  around.set('termination/PurgeTenantData', async (call) => {
    const result = await call();
    // The third purge turn's work is done and recorded, then an operator stops the execution: the answer is lost.
    if (++purgeCalls === 3) {
      for (const e of platform().workflows.list()) if (e.status === 'RUNNING' && e.name.startsWith((await record(tenantId)).terminationId)) e.abort();
    }
    return result;
  });

  const terminationId = await terminate(tenantId, 'immediate');
  await quiet(terminationId);
  expect(platform().workflows.list().some((e) => e.name.startsWith(terminationId) && e.status === 'ABORTED')).toBe(true);
  expect((await record(tenantId)).status).toBe('running');

  const sweep = await platform().sweepTerminations();
  expect(sweep.resumed).toEqual([tenantId]);
  const certificate = await completed(tenantId);

  expect(certificate.document.deleted.events).toBe(6);
  const after = await record(tenantId);
  expect(after.resumes).toBe(1);
  expect(after.steps.map((s) => s.name)).toContain('resume');
  const audit = await platform().platform.audit.listForTenant(tenantId, clock.now().toISOString().slice(0, 7));
  expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'tenant.termination.resume', actor: 'system:termination-sweeper', outcome: 'success' })]));
  // R-TERM-1..5: the stopped execution and its successors each stayed within a few turns.
  expect(Math.max(...platform().workflows.list().filter((e) => e.name.startsWith(terminationId)).map((e) => e.transitions))).toBeLessThan(40);
}, 120_000);

it('a services-stack replacement inside the export window loses nothing: the sweeper starts the purge when the window closes', async () => {
  const tenantId = await tenantWith(3);
  const terminationId = await terminate(tenantId, 'export-then-delete');
  await quiet(terminationId);
  const offered = await record(tenantId);
  expect(offered.checkpoint?.stage).toBe('await-window');
  expect(offered.purgeAfter).toBe(offered.export?.availableUntil);

  // The replacement: the state machine and every execution of it are gone (DescribeExecution: not found).
  platform().workflows.forgetAll();
  expect((await platform().sweepTerminations()).purgeStarted).toEqual([]);
  expect(platform().workflows.list()).toEqual([]);

  clock.offsetMs += EXPORT_WINDOW_DAYS * DAY_MS + 60_000;
  const sweep = await platform().sweepTerminations();
  expect(sweep.purgeStarted).toEqual([tenantId]);
  const certificate = await completed(tenantId);
  expect(certificate.document.deleted.events).toBe(3);
  expect(await platform().platform.exports.list(tenantObjectPrefix(tenantId))).toEqual([]);
}, 120_000);

it('a local restart inside the window and another in the middle of the purge: the start re-arms it from the record', async () => {
  const tenantId = await tenantWith(4);
  const terminationId = await terminate(tenantId, 'export-then-delete');
  await quiet(terminationId);
  expect((await record(tenantId)).checkpoint?.stage).toBe('await-window');

  await platform().stop();
  local = undefined;
  clock.offsetMs += EXPORT_WINDOW_DAYS * DAY_MS + 60_000;
  // The second run stops during the purge: its second purge turn never answers.
  let purgeCalls = 0;
  let stopping: Promise<void> | undefined;
  around.set('termination/PurgeTenantData', async (call) => {
    if (++purgeCalls === 2) {
      stopping = platform().stop();
      // Its answer never comes: the turn fails only once that platform is gone (and so ends its timeout timer).
      return stopping.then(() => Promise.reject(new Error('the platform stopped during this purge turn')));
    }
    return call();
  });
  local = await startLocalPlatform(options());
  await eventually(async () => (stopping ? true : undefined), 'the purge to start after the restart', 60_000);
  await stopping;
  local = undefined;
  around.clear();

  local = await startLocalPlatform(options());
  const certificate = await completed(tenantId);
  expect(certificate.document.deleted.events).toBe(4);
  expect((await record(tenantId)).steps.map((s) => s.name)).toEqual(expect.arrayContaining(['purge', 'resume']));
}, 180_000);

/** R-SEC-5: every AWS call the functions made here is allowed by their synthesized roles. */
test('every AWS call the functions made here is allowed by their synthesized roles', () => {
  expect(calls.functions().length).toBeGreaterThan(0);
  expect(calls.denied()).toEqual([]);
});
