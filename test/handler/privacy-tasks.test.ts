/**
 * The privacy-tasks function as the state machines invoke it (`{ task, state }` → next state) and as the hourly
 * rule does (`{ task: 'check-deadlines' }` → the R-DSR-5 metric). Every task name of the contract reaches its
 * domain method; a name outside it is a permanent error, which the state machines do not retry.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from '../../lambdas/shared/logger';
import { OVERDUE_METRIC, PERMANENT_ERROR, SUBJECT_TASKS, type SubjectWorkflowState } from '../../lambdas/domain/privacy';
import { createPrivacyTaskHandler, METRICS_NAMESPACE, type PrivacyTaskEvent } from '../../lambdas/privacy-tasks/handler';
import {
  createTenant,
  NOW,
  privacyWorld,
  removePrivacyKeyDirectories,
  signup,
  startedState,
  storeEvents,
  type PrivacyWorld,
} from '../domain/privacy-fixture';

// R-SEC-7: everything the task handler logs is checked, so this suite logs at the most verbose level.
beforeAll(() => logger.setLogLevel('DEBUG'));
afterAll(removePrivacyKeyDirectories);

const ANN = { kind: 'email', value: 'ann@example.com' };

describe('privacy-tasks handler', () => {
  let world: PrivacyWorld;
  let metrics: Metrics;
  let emitted: ReturnType<Metrics['serializeMetrics']>[];
  let handler: ReturnType<typeof createPrivacyTaskHandler>;

  beforeEach(async () => {
    world = privacyWorld();
    metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'privacy-tasks' });
    emitted = [];
    // What would be written to the log as EMF, captured instead of printed.
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
      emitted.push(metrics.serializeMetrics());
      metrics.clearMetrics();
      return metrics;
    });
    handler = createPrivacyTaskHandler(world, metrics);
    await createTenant(world, 'acme');
  });

  const open = async (type: string) => {
    const tenant = (await world.directory.getTenant('acme'))!;
    return (await world.privacy.open('api-key:key_1', 'api', tenant, { type, subject: ANN })).requestId;
  };
  const invoke = (event: unknown) => handler(event as PrivacyTaskEvent);

  it('runs an access request to completion through `{ task, state }` invocations, each returning the next state', async () => {
    // Prepare
    await storeEvents(world, 'acme', [signup({ email: ANN.value }), signup({ email: ANN.value })]);
    const requestId = await open('access');

    // Act
    let state = (await invoke({ task: 'locate', state: startedState(world, requestId) })) as SubjectWorkflowState;
    const located = state;
    state = (await invoke({ task: 'export-records', state })) as SubjectWorkflowState;
    state = (await invoke({ task: 'write-export-manifest', state })) as SubjectWorkflowState;
    state = (await invoke({ task: 'complete', state })) as SubjectWorkflowState;

    // Assess
    expect(located).toMatchObject({ requestId, worklist: { count: 2 }, cursor: 0, done: false, pass: 1 });
    expect(state).toMatchObject({ requestId, done: true, counts: { events: 2 }, parts: [expect.stringContaining('part-00001.jsonl')] });
    expect(await world.requests.get('acme', requestId)).toMatchObject({ status: 'completed' });
  });

  it('every task of the contract reaches its method (an unknown request is a permanent error, not a missing method)', async () => {
    const state: SubjectWorkflowState = { tenantId: 'acme', requestId: 'dsr_00000000000000000000000000', type: 'access', subjectHash: 'h', receivedAt: NOW.toISOString() };

    for (const task of SUBJECT_TASKS.filter((t) => t !== 'record-failure')) {
      await expect(invoke({ task, state })).rejects.toMatchObject({ name: PERMANENT_ERROR, message: expect.stringContaining('Unknown request') });
    }
    await expect(invoke({ task: 'record-failure', state: { ...state, error: { Error: 'States.TaskFailed' } } })).resolves.toMatchObject({ requestId: state.requestId });
  });

  it.each([['delete-everything'], [undefined], ['toString'], ['constructor']])('task %s → PermanentTaskError', async (task) => {
    const requestId = await open('access');

    await expect(invoke({ task, state: startedState(world, requestId) })).rejects.toMatchObject({ name: PERMANENT_ERROR });
    expect((await world.requests.get('acme', requestId))!.status).toBe('received');
  });

  it('R-SEC-7: the task log names tasks, requests and counts; never the identifier', async () => {
    // Prepare
    await storeEvents(world, 'acme', [signup({ email: ANN.value })]);
    const requestId = await open('erasure');
    const lines: string[] = [];
    const collect = (chunk: unknown) => lines.push(String(chunk)) > 0;
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(collect), jest.spyOn(process.stderr, 'write').mockImplementation(collect)];

    // Act
    try {
      let state = startedState(world, requestId);
      for (const task of ['locate', 'erase-records', 'erase-exports', 'verify-erasure', 'sign-deletion-record', 'complete']) {
        state = (await invoke({ task, state })) as SubjectWorkflowState;
      }
      await invoke({ task: 'locate', state: { ...state, requestId: 'dsr_00000000000000000000000000' } }).catch(() => undefined);
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }

    // Assess
    expect(lines.join('\n')).toContain(requestId);
    expect(lines.join('\n').toLowerCase()).not.toContain('ann@');
    expect(await world.requests.get('acme', requestId)).toMatchObject({ status: 'completed' });
  });

  it('R-DSR-5: check-deadlines emits OverduePrivacyRequests in the Lumiqo namespace, zero included', async () => {
    // Prepare
    await open('access');
    await open('erasure');

    // Act
    const before = await invoke({ task: 'check-deadlines' });
    world.clock.advance(32 * 24 * 3600 * 1000);
    const after = await invoke({ task: 'check-deadlines' });

    // Assess
    expect([before, after]).toEqual([{ overdue: 0 }, { overdue: 2 }]);
    expect(emitted).toHaveLength(2);
    for (const [i, value] of [0, 2].entries()) {
      const emf = emitted[i];
      expect(emf._aws.CloudWatchMetrics).toEqual([expect.objectContaining({ Namespace: 'Lumiqo', Metrics: [expect.objectContaining({ Name: OVERDUE_METRIC, Unit: 'Count' })] })]);
      expect((emf as unknown as Record<string, unknown>)[OVERDUE_METRIC]).toBe(value);
    }
  });
});
