/**
 * The consent routes of the privacy handler (R-DSR-4): a tenant reads and sets its own flags with its API key
 * (scope `privacy`), never another tenant's (R-SEC-4); operators do it for any tenant. A subject's flags are set by
 * a `consent` request on the requests route, which starts its state machine.
 */
import { createPrivacyHandler } from '../../lambdas/privacy/handler';
import type { ConsentAnswer } from '../../lambdas/domain/tenant-consent';
import { apiKeyFor, OPERATOR_ARN, privacyWorld, removePrivacyKeyDirectories, subjectHashOf, twoTenantsWithKeys, type PrivacyWorld } from '../domain/privacy-fixture';
import { apiRequest, bearer, bodyOf, expectErrorAnswer } from './fixtures';

afterAll(removePrivacyKeyDirectories);

describe('privacy handler: consent (R-DSR-4)', () => {
  let world: PrivacyWorld;
  let handler: ReturnType<typeof createPrivacyHandler>;
  let acmeKey: string;
  let globexKey: string;

  beforeEach(async () => {
    world = privacyWorld();
    handler = createPrivacyHandler(world);
    ({ acmeKey, globexKey } = await twoTenantsWithKeys(world));
  });

  const set = (apiKey: string, body: unknown) => handler(apiRequest('POST', '/v1/privacy/consent', { body: body as object, headers: bearer(apiKey) }));
  const read = (apiKey: string) => handler(apiRequest('GET', '/v1/privacy/consent', { headers: bearer(apiKey) }));
  const adminSet = (tenantId: string, body: unknown, operator?: string | null) =>
    handler(apiRequest('POST', '/v1/admin/tenants/{tenantId}/privacy/consent', { pathParameters: { tenantId }, body: body as object, operator }));
  const adminRead = (tenantId: string, operator?: string | null) =>
    handler(apiRequest('GET', '/v1/admin/tenants/{tenantId}/privacy/consent', { pathParameters: { tenantId }, operator }));

  it('a tenant turns AI off for itself: 200 with every purpose and when it is in effect; only its own flags change', async () => {
    const answer = await set(acmeKey, { purposes: { ai: false } });

    expect(answer.statusCode).toBe(200);
    expect(bodyOf<ConsentAnswer>(answer)).toMatchObject({ tenant: { analytics: true, ai: false }, subjects: [], effectiveBy: expect.any(String) });
    expect(bodyOf(await read(acmeKey))).toEqual({ tenant: { analytics: true, ai: false }, subjects: [] });
    expect(bodyOf(await read(globexKey))).toEqual({ tenant: { analytics: true, ai: true }, subjects: [] });
  });

  it('R-SEC-4: the tenant comes from the key, never from the body', async () => {
    expectErrorAnswer(await set(acmeKey, { tenantId: 'globex', purposes: { ai: false } }), 400, 'invalid_request');
    expect(bodyOf(await read(globexKey))).toEqual({ tenant: { analytics: true, ai: true }, subjects: [] });
  });

  it('a subject’s consent request shows in the flags by its hash, once its task ran', async () => {
    const opened = await handler(apiRequest('POST', '/v1/privacy/requests', { body: { type: 'consent', subject: { kind: 'email', value: 'ann@example.com' }, purposes: { analytics: false } }, headers: bearer(acmeKey) }));
    expect(opened.statusCode).toBe(202);
    expect(world.workflows.starts).toEqual([expect.objectContaining({ workflow: 'consent' })]);
    await world.tasks.consent.setConsent(world.workflows.starts[0].input as never);

    const annHash = await subjectHashOf(world, 'acme', 'email', 'ann@example.com');
    expect(bodyOf(await read(acmeKey))).toEqual({ tenant: { analytics: true, ai: true }, subjects: [{ subjectHash: annHash, purposes: { analytics: false, ai: true } }] });
    expect(bodyOf(await read(globexKey))).toEqual({ tenant: { analytics: true, ai: true }, subjects: [] });
  });

  it('R-SEC-5: a key without the privacy scope is refused; no key → 401', async () => {
    const ingestOnly = (await apiKeyFor(world, 'acme', ['ingest'])).apiKey;
    expectErrorAnswer(await set(ingestOnly, { purposes: { ai: false } }), 403, 'insufficient_scope');
    expectErrorAnswer(await read(ingestOnly), 403, 'insufficient_scope');
    expectErrorAnswer(await handler(apiRequest('GET', '/v1/privacy/consent', {})), 401, 'missing_api_key');
  });

  it('bad input → 400 invalid_request, never a 5xx', async () => {
    for (const body of [{}, { purposes: {} }, { purposes: { ai: 'off' } }, { purposes: { marketing: false } }, [], '"x"']) {
      expectErrorAnswer(await set(acmeKey, body), 400, 'invalid_request');
    }
    expectErrorAnswer(await set(acmeKey, '{"purposes":'), 400, 'malformed_json');
  });

  it('operators read and set any tenant’s flags; the actor is the operator; unknown tenant → 404; no identity → 403', async () => {
    const answer = await adminSet('globex', { purposes: { analytics: false } });
    expect(answer.statusCode).toBe(200);
    expect(bodyOf(await adminRead('globex'))).toEqual({ tenant: { analytics: false, ai: true }, subjects: [] });
    const month = world.clock.now().toISOString().slice(0, 7);
    expect((await world.audit.listForTenant('globex', month)).find((e) => e.action === 'privacy.consent.tenant')).toMatchObject({ actor: `operator:${OPERATOR_ARN}`, outcome: 'success' });

    expectErrorAnswer(await adminSet('initech', { purposes: { ai: false } }), 404, 'not_found');
    expectErrorAnswer(await adminRead('initech'), 404, 'not_found');
    expectErrorAnswer(await adminSet('acme', { purposes: { ai: false } }, null), 403, 'invalid_request');
    expectErrorAnswer(await adminRead('acme', null), 403, 'invalid_request');
    expect(bodyOf(await adminRead('acme'))).toEqual({ tenant: { analytics: true, ai: true }, subjects: [] });
  });
});
