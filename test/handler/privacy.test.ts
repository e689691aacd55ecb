/**
 * The privacy handler (API Gateway proxy events, as the routes in lambdas/shared/routes.ts deliver them): a tenant
 * files and reads its data-subject requests with its API key, for itself only (R-SEC-4); operators file and read
 * them for any tenant, and start and follow a tenant's termination (R-TERM-1..5). Requests are accepted with 202
 * and a Location (R-DSR-5).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { Administration } from '../../lambdas/domain/administration';
import type { PrivacyRequestView } from '../../lambdas/domain/privacy-requests';
import { createPrivacyHandler, MAX_PRIVACY_BODY_BYTES } from '../../lambdas/privacy/handler';
import {
  apiKeyFor,
  NOW,
  OPERATOR_ARN,
  privacyWorld,
  removePrivacyKeyDirectories,
  subjectHashOf,
  twoTenantsWithKeys,
  type PrivacyWorld,
} from '../domain/privacy-fixture';
import { apiRequest, bearer, bodyOf, expectErrorAnswer } from './fixtures';

afterAll(removePrivacyKeyDirectories);

const ANN = { kind: 'email', value: 'ann@example.com' };

describe('privacy handler', () => {
  let world: PrivacyWorld;
  let handler: ReturnType<typeof createPrivacyHandler>;
  let acmeKey: string;
  let globexKey: string;

  beforeEach(async () => {
    world = privacyWorld();
    handler = createPrivacyHandler(world);
    ({ acmeKey, globexKey } = await twoTenantsWithKeys(world));
  });

  const post = (apiKey: string, body: unknown) => handler(apiRequest('POST', '/v1/privacy/requests', { body: body as object, headers: bearer(apiKey) }));
  const get = (apiKey: string, requestId: string) =>
    handler(apiRequest('GET', '/v1/privacy/requests/{requestId}', { pathParameters: { requestId }, headers: bearer(apiKey) }));
  const adminPost = (tenantId: string, body: unknown, operator?: string | null) =>
    handler(apiRequest('POST', '/v1/admin/tenants/{tenantId}/privacy/requests', { pathParameters: { tenantId }, body: body as object, operator }));
  const adminGet = (tenantId: string, requestId: string, operator?: string | null) =>
    handler(apiRequest('GET', '/v1/admin/tenants/{tenantId}/privacy/requests/{requestId}', { pathParameters: { tenantId, requestId }, operator }));
  const view = (answer: APIGatewayProxyResult) => bodyOf<PrivacyRequestView>(answer);

  describe('tenant routes (API key)', () => {
    it('R-DSR-1, R-DSR-5: POST answers 202 with the request and where to follow it', async () => {
      // Act
      const answer = await post(acmeKey, { type: 'access', subject: ANN });

      // Assess
      expect(answer.statusCode).toBe(202);
      const body = view(answer);
      expect(body).toMatchObject({ type: 'access', status: 'received', origin: 'api', receivedAt: NOW.toISOString(), dueAt: '2026-04-02T10:00:00.000Z' });
      expect(answer.headers?.location).toBe(`/v1/privacy/requests/${body.requestId}`);
      expect(world.workflows.starts).toEqual([expect.objectContaining({ workflow: 'access', executionName: body.requestId })]);
      const record = (await world.requests.get('acme', body.requestId))!;
      expect(record.actor).toMatch(/^api-key:key_/);
      expect(answer.body).not.toContain('ann@example.com');
    });

    it('R-SEC-4: the request belongs to the key’s tenant; a tenant id in the body is refused', async () => {
      const answer = await post(acmeKey, { type: 'erasure', subject: ANN, tenantId: 'globex' });

      expectErrorAnswer(answer, 400, 'invalid_request');
      expect(world.requests.items.size).toBe(0);
    });

    it('R-DSR-5: GET shows the request’s status to its own tenant', async () => {
      const { requestId } = view(await post(acmeKey, { type: 'erasure', subject: ANN }));

      const answer = await get(acmeKey, requestId);

      expect(answer.statusCode).toBe(200);
      expect(view(answer)).toMatchObject({ requestId, type: 'erasure', subjectHash: await subjectHashOf(world, 'acme', 'email', ANN.value) });
    });

    it('R-SEC-4: another tenant’s request id → 404, as an unknown one', async () => {
      const { requestId } = view(await post(acmeKey, { type: 'erasure', subject: ANN }));

      expectErrorAnswer(await get(globexKey, requestId), 404, 'not_found');
      expectErrorAnswer(await get(acmeKey, 'dsr_00000000000000000000000000'), 404, 'not_found');
    });

    it.each([
      ['an unknown type', { type: 'forget-me', subject: ANN }],
      ['a rectification without corrections', { type: 'rectification', subject: ANN }],
      ['corrections on an access request', { type: 'access', subject: ANN, corrections: [{ path: '$..email', value: 'x@example.com' }] }],
      ['a subject without a value', { type: 'access', subject: { kind: 'email' } }],
      ['a JSON array', [{ type: 'access', subject: ANN }]],
    ])('%s → 400 invalid_request with details', async (_case, body) => {
      const error = expectErrorAnswer(await post(acmeKey, body), 400, 'invalid_request');

      expect(error.details?.length).toBeGreaterThan(0);
      expect(world.workflows.starts).toEqual([]);
    });

    it('malformed JSON → 400 malformed_json', async () => {
      expectErrorAnswer(await post(acmeKey, '{"type":"access",'), 400, 'malformed_json');
    });

    it('a body over the limit → 413 body_too_large, before anything is parsed', async () => {
      const body = JSON.stringify({ type: 'rectification', subject: ANN, corrections: [{ path: '$..note', value: 'x'.repeat(MAX_PRIVACY_BODY_BYTES) }] });

      expectErrorAnswer(await post(acmeKey, body), 413, 'body_too_large');
      expect(world.requests.items.size).toBe(0);
    });

    it('no API key → 401; a revoked one → 401', async () => {
      const revoked = await apiKeyFor(world, 'acme');
      await new Administration(world).revokeApiKey(`operator:${OPERATOR_ARN}`, 'acme', revoked.keyId);

      expectErrorAnswer(await handler(apiRequest('POST', '/v1/privacy/requests', { body: { type: 'access', subject: ANN } })), 401, 'missing_api_key');
      expectErrorAnswer(await post(revoked.apiKey, { type: 'access', subject: ANN }), 401, 'invalid_api_key');
      expect(world.requests.items.size).toBe(0);
    });

    it('R-TERM-1: a frozen tenant’s key files nothing', async () => {
      await world.directory.setTenantStatus('acme', 'frozen');

      expectErrorAnswer(await post(acmeKey, { type: 'access', subject: ANN }), 403, 'tenant_frozen');
    });
  });

  describe('operator routes (IAM)', () => {
    it('R-DSR-1: an operator files a request for a tenant: 202, the operator as actor, an admin Location', async () => {
      const answer = await adminPost('acme', { type: 'restriction', subject: ANN });

      expect(answer.statusCode).toBe(202);
      const { requestId, origin } = view(answer);
      expect(origin).toBe('operator');
      expect(answer.headers?.location).toBe(`/v1/admin/tenants/acme/privacy/requests/${requestId}`);
      expect((await world.requests.get('acme', requestId))!.actor).toBe(`operator:${OPERATOR_ARN}`);
      expect(view(await adminGet('acme', requestId))).toMatchObject({ requestId, type: 'restriction' });
    });

    it('an operator reading a request under the wrong tenant gets 404', async () => {
      const { requestId } = view(await adminPost('acme', { type: 'access', subject: ANN }));

      expectErrorAnswer(await adminGet('globex', requestId), 404, 'not_found');
    });

    it('without a verified operator identity → 403, nothing filed', async () => {
      expectErrorAnswer(await adminPost('acme', { type: 'access', subject: ANN }, null), 403, 'invalid_request');
      expect(world.requests.items.size).toBe(0);
    });

    it('an unknown tenant → 404', async () => {
      expectErrorAnswer(await adminPost('initech', { type: 'access', subject: ANN }), 404, 'not_found');
      expectErrorAnswer(await adminPost('Not_A_Tenant', { type: 'access', subject: ANN }), 404, 'not_found');
    });

    it('R-TERM-1..3: POST termination answers 202 and starts its workflow; GET follows it; a second start → 409', async () => {
      // Act
      const started = await handler(apiRequest('POST', '/v1/admin/tenants/{tenantId}/termination', { pathParameters: { tenantId: 'acme' }, body: { election: 'immediate' } }));
      const status = await handler(apiRequest('GET', '/v1/admin/tenants/{tenantId}/termination', { pathParameters: { tenantId: 'acme' } }));
      const again = await handler(apiRequest('POST', '/v1/admin/tenants/{tenantId}/termination', { pathParameters: { tenantId: 'acme' }, body: {} }));

      // Assess
      expect(started.statusCode).toBe(202);
      expect(started.headers?.location).toBe('/v1/admin/tenants/acme/termination');
      const { terminationId } = bodyOf<{ terminationId: string }>(started);
      expect(world.workflows.starts).toEqual([expect.objectContaining({ workflow: 'termination', executionName: terminationId })]);
      expect(status.statusCode).toBe(200);
      expect(bodyOf(status)).toMatchObject({ tenantId: 'acme', terminationId, election: 'immediate', status: 'running' });
      expectErrorAnswer(again, 409, 'conflict');
    });

    it('termination routes need an operator too', async () => {
      const answer = await handler(apiRequest('POST', '/v1/admin/tenants/{tenantId}/termination', { pathParameters: { tenantId: 'acme' }, body: {}, operator: null }));

      expectErrorAnswer(answer, 403, 'invalid_request');
      expect(world.workflows.starts).toEqual([]);
    });
  });

  it('an unknown route → 404', async () => {
    expectErrorAnswer(await handler(apiRequest('DELETE', '/v1/privacy/requests/{requestId}', { pathParameters: { requestId: 'x' }, headers: bearer(acmeKey) })), 404, 'not_found');
  });
});
