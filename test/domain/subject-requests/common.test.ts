/**
 * What every data-subject workflow shares: a task refuses what retrying cannot fix (PermanentTaskError, audited), the
 * Catch's record-failure fails the request with the error name only (R-SEC-6), and the deadline check (R-DSR-5).
 */
import { PERMANENT_ERROR, type SubjectWorkflowState } from '../../../lambdas/domain/privacy';
import { NOW, startedState, type PrivacyWorld } from '../privacy-fixture';
import { ANN, BOB, MINUTE, subjectRequestsWorld, openRequest, runRequest, requestOf } from './world';

describe('SubjectRequestTasks: common tasks', () => {
  let world: PrivacyWorld;
  let annHash: string;
  let bobHash: string;

  beforeEach(async () => ({ world, annHash, bobHash } = await subjectRequestsWorld()));

  describe('task errors', () => {
    const state = (over: Partial<SubjectWorkflowState> = {}): SubjectWorkflowState => ({
      tenantId: 'acme',
      requestId: 'dsr_00000000000000000000000000',
      type: 'access',
      subjectHash: annHash,
      receivedAt: NOW.toISOString(),
      ...over,
    });
    const permanent = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.name).toBe(PERMANENT_ERROR);
      return error!;
    };

    it('an unknown request or tenant is a permanent error (retrying cannot help), and is audited', async () => {
      await permanent(world.tasks.common.locate(state()));
      await permanent(world.tasks.common.locate(state({ tenantId: 'nobody' })));
      await permanent(world.tasks.common.locate(state({ tenantId: 'NOT A TENANT' })));

      const audit = await world.audit.listForSubject('acme', annHash);
      expect(audit).toEqual([expect.objectContaining({ action: 'privacy.access.locate', outcome: 'failure', detail: { error: PERMANENT_ERROR } })]);
    });

    it('a state that names another subject or type than its request is refused', async () => {
      const requestId = await openRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });

      await permanent(world.tasks.common.locate(state({ requestId, subjectHash: bobHash })));
      await permanent(world.tasks.common.locate(state({ requestId, type: 'erasure' })));
    });

    it('a deletion record is never signed for an erasure that was not verified', async () => {
      const requestId = await openRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

      const error = await permanent(world.tasks.erasure.signDeletionRecord(state({ requestId, type: 'erasure', remaining: 1 })));

      expect(error.message).toMatch(/not verified/);
      expect(await world.records.list('deletion-records/')).toEqual([]);
    });

    it('record-failure fails the request with the error name only, audits it, and keeps it on the open list', async () => {
      // Prepare
      const requestId = await openRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });
      const failed = { ...startedState(world, requestId), error: { Error: 'States.TaskFailed', Cause: `could not read ${ANN}` } };

      // Act
      const returned = await world.tasks.common.recordFailure(failed);

      // Assess
      expect(returned).toEqual(failed);
      expect(await requestOf(world, requestId)).toMatchObject({ status: 'failed', failure: { error: 'States.TaskFailed', at: NOW.toISOString() } });
      const entries = await world.audit.listForSubject('acme', annHash);
      expect(entries.find((e) => e.action === 'privacy.access.record-failure')).toMatchObject({ outcome: 'failure', detail: { error: 'States.TaskFailed' } });
      expect(JSON.stringify([...world.requests.items.values(), ...world.audit.items])).not.toContain(ANN);
      expect(await world.requests.overdue('2026-04-03T00:00:00.000Z')).toEqual([expect.objectContaining({ requestId })]);
    });
  });

  describe('checkDeadlines (R-DSR-5)', () => {
    it('counts only open requests past their due date', async () => {
      // Prepare: received on 2 March, due 2 April
      const completed = await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });
      await openRequest(world, { type: 'access', subject: { kind: 'email', value: BOB } });
      const failed = await openRequest(world, { type: 'erasure', subject: { kind: 'email', value: BOB } });
      await world.tasks.common.recordFailure({ ...startedState(world, failed), error: { Error: 'States.Timeout' } });
      await openRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } }, 'globex');
      world.clock.advance(20 * 24 * 60 * MINUTE);
      await openRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } }); // due 22 April
      expect((await requestOf(world, completed)).status).toBe('completed');

      // Act
      const dueNow = await world.tasks.common.checkDeadlines();
      world.clock.advance(12 * 24 * 60 * MINUTE); // 3 April, 10:00
      const overdue = await world.tasks.common.checkDeadlines();

      // Assess: received (acme), failed (acme), received (globex); not the completed one, not the one due later
      expect(dueNow).toBe(0);
      expect(overdue).toBe(3);
    });
  });
});
