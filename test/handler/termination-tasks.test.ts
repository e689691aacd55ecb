/**
 * The termination-tasks function (R-TERM-1..6): `{ task, state }` as the state machine sends it, each task name to
 * its TerminationTasks method, PermanentTaskError (not retried) for what can never succeed, every other error
 * passed on under its own name (retried, then caught), and log lines with ids and counters only (R-SEC-7).
 */
import { verifyDeletionDocument, type SignedDeletionDocument } from '../../lambdas/domain/deletion-records';
import type { StreamEnvelope } from '../../lambdas/domain/model';
import { TERMINATION_TASKS, type TerminationWorkflowState } from '../../lambdas/domain/privacy';
import { TerminationTasks } from '../../lambdas/domain/termination-tasks';
import { logger } from '../../lambdas/shared/logger';
import { createTerminationTaskHandler } from '../../lambdas/termination-tasks/handler';
import { NOW, removePrivacyKeyDirectories, terminationWorld } from '../domain/privacy-fixture';

const OPERATOR = 'operator:arn:aws:iam::111122223333:user/operator';
const EMAIL = 'zoe.private@example.org';

afterAll(removePrivacyKeyDirectories);
// Quiet by default; the R-SEC-7 test lets the logger write and reads what it wrote.
beforeEach(() => {
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

function world() {
  const w = terminationWorld();
  return { ...w, handler: createTerminationTaskHandler(w.deps) };
}
type World = ReturnType<typeof world>;

/** A tenant with two stored events (one mentions an email); returns the termination's initial state. */
async function terminating(w: World, tenantId: string): Promise<TerminationWorkflowState> {
  await w.admin.createTenant(OPERATOR, { tenantId, name: `Tenant ${tenantId}` });
  const envelopes: StreamEnvelope[] = [
    { v: 1, tenantId, eventId: `ev_${tenantId}_1`, receivedAt: NOW.toISOString(), event: { type: 'event', name: 'signup', timestamp: NOW.toISOString(), properties: { email: EMAIL } } },
    { v: 1, tenantId, eventId: `ev_${tenantId}_2`, receivedAt: NOW.toISOString(), event: { type: 'metric', name: 'cpu', value: 1, dimensions: {}, timestamp: NOW.toISOString() } },
  ];
  await w.processing.processBatch(envelopes.map((e) => ({ id: e.eventId, data: Buffer.from(JSON.stringify(e)) })));
  await w.termination.start(OPERATOR, tenantId, { election: 'immediate' });
  return w.workflows.starts[w.workflows.starts.length - 1].input as TerminationWorkflowState;
}

async function captureLogs(work: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const collect = (chunk: unknown) => void lines.push(String(chunk));
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (collect(chunk), true)),
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (collect(chunk), true)),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation((...args: unknown[]) => collect(args.map(String).join(' ')))),
  ];
  try {
    await work();
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
  return lines.join('\n');
}

describe('termination-tasks handler', () => {
  it('R-TERM-3: runs the immediate-deletion path task by task to a verifiable certificate', async () => {
    // Prepare
    const w = world();
    const initial = await terminating(w, 'acme');

    // Act: the state machine's path, each state passed on as returned.
    let state = await w.handler({ task: 'freeze', state: initial });
    w.clock.advance(300_000);
    state = await w.handler({ task: 'flush-usage', state });
    do state = await w.handler({ task: 'purge-tenant-data', state });
    while (!state.done);
    state = await w.handler({ task: 'shred-keys', state });
    state = await w.handler({ task: 'verify-purge', state });
    state = await w.handler({ task: 'issue-certificate', state });

    // Assess
    expect(state).toMatchObject({ tenantId: 'acme', terminationId: initial.terminationId, phase: 'done', counts: { events: 2 } });
    expect((await w.directory.getTenant('acme'))!.status).toBe('terminated');
    const record = (await w.requests.getTermination('acme'))!;
    expect(record.status).toBe('completed');
    const signed = JSON.parse(Buffer.from((await w.records.get(record.certificateKey!))!).toString('utf8')) as SignedDeletionDocument;
    expect(verifyDeletionDocument(signed, await w.signer.publicKeyPem())).toBe(true);
  });

  it('sends each task name to its own method and returns what the method returns', async () => {
    const w = world();
    const initial = await terminating(w, 'acme');
    const methods: Record<string, keyof TerminationTasks> = {
      freeze: 'freeze',
      'flush-usage': 'flushUsage',
      'export-tenant-data': 'exportTenantData',
      'write-tenant-manifest': 'writeTenantManifest',
      'purge-tenant-data': 'purgeTenantData',
      'shred-keys': 'shredKeys',
      'verify-purge': 'verifyPurge',
      'issue-certificate': 'issueCertificate',
      'record-failure': 'recordFailure',
      claim: 'claim',
      'drain-stream': 'drainStream',
    };
    expect(Object.keys(methods).sort()).toEqual([...TERMINATION_TASKS].sort());

    for (const task of TERMINATION_TASKS) {
      const spy = jest.spyOn(TerminationTasks.prototype, methods[task] as 'freeze').mockImplementation(async (s) => ({ ...s, phase: task }));

      await expect(w.handler({ task, state: initial })).resolves.toEqual({ ...initial, phase: task });
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockRestore();
    }
  });

  it.each([
    ['an unknown task', { task: 'drop-tables', state: {} }],
    ['no task', { state: {} }],
    ['no invocation at all', undefined],
  ])('R-TERM-3: %s is a PermanentTaskError (the state machine does not retry it)', async (_, invocation) => {
    const w = world();

    await expect(w.handler(invocation as never)).rejects.toMatchObject({ name: 'PermanentTaskError' });
  });

  it.each([
    ['a malformed tenant id', { tenantId: '../other' }],
    ['no termination id', { terminationId: undefined }],
    ['an unknown election', { election: 'later' }],
  ])('a state with %s is a PermanentTaskError and touches nothing', async (_, change) => {
    const w = world();
    const initial = await terminating(w, 'acme');
    const freeze = jest.spyOn(TerminationTasks.prototype, 'freeze');

    await expect(w.handler({ task: 'freeze', state: { ...initial, ...change } as TerminationWorkflowState })).rejects.toMatchObject({ name: 'PermanentTaskError' });
    expect(freeze).not.toHaveBeenCalled();
    expect((await w.directory.getTenant('acme'))!.status).toBe('active');
  });

  it('keeps the state’s own bookkeeping (cursor, counts, phase) from one task to the next', async () => {
    const w = world();
    const initial = await terminating(w, 'acme');
    const carried = { ...initial, phase: 'rollups', counts: { events: 2, subjectIndexEntries: 1, payloadObjects: 0 } };

    const next = await w.handler({ task: 'purge-tenant-data', state: carried });

    expect(next).toMatchObject({ phase: 'ai', done: false, counts: { events: 2, subjectIndexEntries: 1, payloadObjects: 0, rollups: 2 } });
  });

  it('R-TERM-3: a task’s own failure keeps its name (retried, then caught), and is not a PermanentTaskError', async () => {
    const w = world();
    const initial = await terminating(w, 'acme');

    await expect(w.handler({ task: 'verify-purge', state: initial })).rejects.toMatchObject({ name: 'PurgeIncomplete' });
  });

  it('R-SEC-6: record-failure marks the termination failed', async () => {
    const w = world();
    const initial = await terminating(w, 'acme');

    await w.handler({ task: 'record-failure', state: { ...initial, error: { Error: 'States.Timeout', Cause: 'task timed out' } } });

    expect(await w.requests.getTermination('acme')).toMatchObject({ status: 'failed', failure: { error: 'States.Timeout' } });
  });

  it('R-SEC-7: its log lines carry ids, never event content, on success and on failure', async () => {
    const w = world();
    const initial = await terminating(w, 'acme');
    jest.restoreAllMocks();

    const logs = await captureLogs(async () => {
      await w.handler({ task: 'freeze', state: initial });
      await w.handler({ task: 'verify-purge', state: initial }).catch(() => undefined);
    });

    expect(logs).toContain(initial.terminationId);
    expect(logs).not.toContain(EMAIL);
    expect(logs).not.toContain('PurgeIncomplete: ');
  });
});
