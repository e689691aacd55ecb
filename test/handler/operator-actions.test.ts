/**
 * Operator actions of issue 11: one subject's audit trail (R-SEC-6), and the retry or close of a failed
 * data-subject request (R-DSR-5), each audited, each an IAM (operator) route.
 */
import { createAdminHandler } from '../../lambdas/admin/handler';
import type { AuditEntry } from '../../lambdas/domain/ports';
import type { PrivacyRequestView } from '../../lambdas/domain/privacy-requests';
import { createPrivacyHandler } from '../../lambdas/privacy/handler';
import { createTenant, OPERATOR_ARN, privacyWorld, removePrivacyKeyDirectories, runWorkflow, subjectHashOf, type PrivacyWorld } from '../domain/privacy-fixture';
import { apiRequest, bodyOf, expectErrorAnswer } from './fixtures';

afterAll(removePrivacyKeyDirectories);

const ANN = { kind: 'email', value: 'ann@example.com' };
const ACTOR = `operator:${OPERATOR_ARN}`;

describe('operator actions', () => {
  let world: PrivacyWorld;
  let privacy: ReturnType<typeof createPrivacyHandler>;
  let admin: ReturnType<typeof createAdminHandler>;
  beforeEach(async () => {
    world = privacyWorld();
    privacy = createPrivacyHandler(world);
    admin = createAdminHandler(world);
    await createTenant(world, 'acme');
    await createTenant(world, 'globex');
  });

  const open = async (tenantId: string, body: object) =>
    bodyOf<PrivacyRequestView>(await privacy(apiRequest('POST', '/v1/admin/tenants/{tenantId}/privacy/requests', { pathParameters: { tenantId }, body }))).requestId;
  const act = (action: 'retry' | 'close', tenantId: string, requestId: string, body: object = {}, operator?: string | null) =>
    privacy(apiRequest('POST', `/v1/admin/tenants/{tenantId}/privacy/requests/{requestId}/${action}`, { pathParameters: { tenantId, requestId }, body, operator }));
  const subjectAudit = (tenantId: string, body: object, operator?: string | null) =>
    admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/audit/subject', { pathParameters: { tenantId }, body, operator }));
  /** A request whose workflow failed, as RecordFailure leaves it. */
  async function failedRequest(): Promise<string> {
    const requestId = await open('acme', { type: 'access', subject: ANN });
    jest.spyOn(world.tasks.common, 'locate').mockRejectedValueOnce(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    await expect(runWorkflow(world, requestId)).rejects.toThrow('boom');
    expect((await world.requests.get('acme', requestId))?.status).toBe('failed');
    return requestId;
  }

  describe('R-SEC-6: one subject’s audit trail', () => {
    it('by identifier or by hash: everything about the subject in this tenant, nothing of others; the read is audited', async () => {
      const requestId = await open('acme', { type: 'access', subject: ANN });
      await open('acme', { type: 'access', subject: { kind: 'email', value: 'bob@example.com' } });
      await open('globex', { type: 'access', subject: ANN });
      const annHash = await subjectHashOf(world, 'acme', 'email', ANN.value);

      const byValue = await subjectAudit('acme', { subject: ANN });
      const byHash = await subjectAudit('acme', { subjectHash: annHash });

      expect(byValue.statusCode).toBe(200);
      const { subjectHash, items } = bodyOf<{ subjectHash: string; items: AuditEntry[] }>(byValue);
      expect(subjectHash).toBe(annHash);
      expect(items.map((e) => [e.action, e.target])).toEqual([['privacy.request.open', requestId]]);
      expect(items.every((e) => e.tenantId === 'acme' && e.subjectHash === annHash)).toBe(true);
      expect(bodyOf<{ items: AuditEntry[] }>(byHash).items.map((e) => e.action)).toEqual(['privacy.request.open', 'audit.subject.read']);
      expect(JSON.stringify(world.audit)).not.toContain('ann@example.com');
    });

    it('bad input → 400; unknown tenant → 404; no operator → 403', async () => {
      expectErrorAnswer(await subjectAudit('acme', {}), 400, 'invalid_request');
      expectErrorAnswer(await subjectAudit('acme', { subjectHash: 'short' }), 400, 'invalid_request');
      expectErrorAnswer(await subjectAudit('acme', { subject: { kind: 'email', value: '  ' } }), 400, 'invalid_request');
      expectErrorAnswer(await subjectAudit('initech', { subject: ANN }), 404, 'not_found');
      expectErrorAnswer(await subjectAudit('acme', { subject: ANN }, null), 403, 'invalid_request');
    });
  });

  describe('R-DSR-5: retry or close a failed request', () => {
    it('retry starts a new execution of the same state, which runs again; audited with the subject hash', async () => {
      const requestId = await failedRequest();

      const answer = await act('retry', 'acme', requestId);

      expect(answer.statusCode).toBe(202);
      expect(bodyOf<PrivacyRequestView>(answer)).toMatchObject({ status: 'received' });
      expect(world.workflows.starts.map((s) => s.executionName)).toEqual([requestId, `${requestId}-retry-1`]);
      // The same state as the first start: the state machine runs from its first state, every task idempotent.
      expect(world.workflows.starts[1].input).toEqual(world.workflows.starts[0].input);
      const state = await world.tasks.common.locate(world.workflows.starts[1].input as never);
      expect((await world.requests.get('acme', requestId))?.status).toBe('running');
      expect(state.requestId).toBe(requestId);
      const annHash = await subjectHashOf(world, 'acme', 'email', ANN.value);
      const audit = await world.audit.listForSubject('acme', annHash);
      expect(audit.find((e) => e.action === 'privacy.request.retry')).toMatchObject({ actor: ACTOR, outcome: 'success', target: requestId });
    });

    it('close takes it off the open list with a stated reason; it is no longer overdue', async () => {
      const requestId = await failedRequest();

      const answer = await act('close', 'acme', requestId, { reason: 'answered-outside-platform' });

      expect(answer.statusCode).toBe(200);
      expect(bodyOf<PrivacyRequestView>(answer)).toMatchObject({ status: 'closed', overdue: false });
      world.clock.advance(40 * 86_400_000);
      expect(await world.requests.overdue(world.clock.now().toISOString())).toEqual([]);
      const audit = await world.audit.listForSubject('acme', await subjectHashOf(world, 'acme', 'email', ANN.value));
      expect(audit.find((e) => e.action === 'privacy.request.close')).toMatchObject({ actor: ACTOR, detail: { reason: 'answered-outside-platform' } });
    });

    it('only a failed request: a running or closed one → 409 (audited); bad reason → 400; unknown → 404; no operator → 403', async () => {
      const running = await open('acme', { type: 'access', subject: ANN });
      expectErrorAnswer(await act('retry', 'acme', running), 409, 'conflict');
      expectErrorAnswer(await act('close', 'acme', running, { reason: 'duplicate' }), 409, 'conflict');
      const failed = await failedRequest();
      expectErrorAnswer(await act('close', 'acme', failed, { reason: 'because' }), 400, 'invalid_request');
      expectErrorAnswer(await act('close', 'acme', failed, { reason: 'duplicate', note: 'ann@example.com' }), 400, 'invalid_request');
      expectErrorAnswer(await act('retry', 'globex', failed), 404, 'not_found');
      expectErrorAnswer(await act('retry', 'acme', failed, {}, null), 403, 'invalid_request');
      expect((await act('close', 'acme', failed, { reason: 'duplicate' })).statusCode).toBe(200);
      expectErrorAnswer(await act('retry', 'acme', failed), 409, 'conflict');
      const audit = await world.audit.listForSubject('acme', await subjectHashOf(world, 'acme', 'email', ANN.value));
      expect(audit.filter((e) => e.action === 'privacy.request.retry' && e.outcome === 'failure').length).toBeGreaterThanOrEqual(2);
    });
  });
});
