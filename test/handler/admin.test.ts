/**
 * The admin handler (operators, IAM-authorised routes): tenants, API keys, webhook sources. Every action,
 * success or failure, leaves an audit entry naming the verified operator (R-SEC-6); secrets are answered once
 * and stored only hashed or encrypted (R-SEC-3); a dedicated deployment serves its own tenant only (R-DEP-2).
 */
import { hashApiKey } from '../../lambdas/domain/api-keys';
import type { AuditEntry } from '../../lambdas/domain/ports';
import {
  apiRequest,
  bodyOf,
  createTenant,
  expectErrorAnswer,
  OPERATOR_ARN,
  removeKeyDirectories,
  testPlatform,
  type TestPlatform,
} from './fixtures';

afterAll(removeKeyDirectories);

const createTenantRequest = (body: unknown, operator?: string | null) =>
  apiRequest('POST', '/v1/admin/tenants', { body: body as object, ...(operator === undefined ? {} : { operator }) });

describe('admin handler', () => {
  let platform: TestPlatform;
  const auditOf = (tenantId: string): Promise<AuditEntry[]> => platform.audit.listForTenant(tenantId, '2026-03');
  /** `action:outcome[:error]` of every entry, sorted: entries of one millisecond have no order among them. */
  const auditTrail = async (tenantId: string): Promise<string[]> =>
    (await auditOf(tenantId)).map((e) => [e.action, e.outcome, ...(e.detail?.error ? [e.detail.error] : [])].join(':')).sort();
  beforeEach(() => {
    platform = testPlatform();
  });

  it('R-SEC-3, R-SEC-6: creating a tenant answers 201 without any ciphertext, and is audited', async () => {
    // Act
    const answer = await platform.admin(createTenantRequest({ tenantId: 'acme', name: 'Acme Ltd', plan: 'business' }));

    // Assess
    expect(answer.statusCode).toBe(201);
    const tenant = bodyOf(answer);
    expect(tenant).toMatchObject({ tenantId: 'acme', name: 'Acme Ltd', plan: 'business', status: 'active', keyRef: 'local:acme' });
    expect(tenant).not.toHaveProperty('subjectKeyCiphertext');
    const stored = (await platform.directory.getTenant('acme'))!;
    expect(answer.body).not.toContain(stored.subjectKeyCiphertext);
    expect(await auditOf('acme')).toEqual([
      expect.objectContaining({ actor: `operator:${OPERATOR_ARN}`, action: 'tenant.create', outcome: 'success' }),
    ]);
  });

  it('R-SEC-6: creating a tenant twice → 409 conflict, and the failure is audited too', async () => {
    await createTenant(platform, 'acme');

    const answer = await platform.admin(createTenantRequest({ tenantId: 'acme', name: 'Again' }));

    expectErrorAnswer(answer, 409, 'conflict');
    expect(await auditTrail('acme')).toEqual(['tenant.create:failure:conflict', 'tenant.create:success']);
  });

  it('an invalid body → 400 invalid_request with a detail per bad field', async () => {
    const answer = await platform.admin(createTenantRequest({ tenantId: 'Acme!', name: '', plan: 'gold', extra: 1 }));

    const error = expectErrorAnswer(answer, 400, 'invalid_request');
    expect(error.details?.map((d) => d.path).sort()).toEqual(['', 'name', 'plan', 'tenantId']);
    expect(await platform.directory.getTenant('Acme!')).toBeUndefined();
  });

  it('R-SEC-6: a refused body that names a well-formed tenant id is audited as a failure', async () => {
    const answer = await platform.admin(createTenantRequest({ tenantId: 'acme', name: '', plan: 'gold' }));

    expectErrorAnswer(answer, 400, 'invalid_request');
    expect(await auditTrail('acme')).toEqual(['tenant.create:failure:invalid_request']);
    expect(await platform.directory.getTenant('acme')).toBeUndefined();
  });

  it('a body that is not JSON → 400 malformed_json', async () => {
    expectErrorAnswer(await platform.admin(createTenantRequest('{tenantId:')), 400, 'malformed_json');
  });

  it('R-RET-1: a retention outside the plan’s bounds → 400 invalid_request naming retentionDays, audited as a failure', async () => {
    const answer = await platform.admin(createTenantRequest({ tenantId: 'acme', name: 'Acme', plan: 'starter', retentionDays: 400 }));

    expect(expectErrorAnswer(answer, 400, 'invalid_request').details).toEqual([expect.objectContaining({ path: 'retentionDays' })]);
    expect(await auditTrail('acme')).toEqual(['tenant.create:failure:invalid_request']);
  });

  it('R-DEP-2: a single-tenant deployment refuses another tenant id, and accepts its own', async () => {
    // Prepare
    const dedicated = testPlatform({ tenancy: { mode: 'single', tenantId: 'acme' } });

    // Act
    const other = await dedicated.admin(createTenantRequest({ tenantId: 'globex', name: 'Globex' }));
    const own = await dedicated.admin(createTenantRequest({ tenantId: 'acme', name: 'Acme' }));

    // Assess
    expect(expectErrorAnswer(other, 400, 'invalid_request').message).toContain("dedicated to tenant 'acme'");
    expect(await dedicated.directory.getTenant('globex')).toBeUndefined();
    expect(own.statusCode).toBe(201);
  });

  it('R-SEC-5: no verified operator identity → 403, nothing created', async () => {
    const answer = await platform.admin(createTenantRequest({ tenantId: 'acme', name: 'Acme' }, null));

    expect(expectErrorAnswer(answer, 403, 'invalid_request').message).toContain('operator identity');
    expect(await platform.directory.getTenant('acme')).toBeUndefined();
  });

  it('R-SEC-3, R-SEC-6: issuing an API key answers it once; only its hash is stored; revoking it is audited', async () => {
    // Prepare
    await createTenant(platform, 'acme');

    // Act
    const issued = await platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/api-keys', { pathParameters: { tenantId: 'acme' } }));
    const { keyId, apiKey } = bodyOf<{ keyId: string; apiKey: string }>(issued);
    const revoked = await platform.admin(
      apiRequest('DELETE', '/v1/admin/tenants/{tenantId}/api-keys/{keyId}', { pathParameters: { tenantId: 'acme', keyId } }),
    );
    const again = await platform.admin(
      apiRequest('DELETE', '/v1/admin/tenants/{tenantId}/api-keys/{keyId}', { pathParameters: { tenantId: 'acme', keyId } }),
    );

    // Assess
    expect(issued.statusCode).toBe(201);
    expect(apiKey).toMatch(/^lq_key_/);
    expect(await platform.directory.findApiKeyByHash(hashApiKey(apiKey))).toMatchObject({ keyId, tenantId: 'acme', status: 'revoked' });
    const view = await platform.admin(apiRequest('GET', '/v1/admin/tenants/{tenantId}', { pathParameters: { tenantId: 'acme' } }));
    expect(view.body).not.toContain(apiKey);
    expect(bodyOf<{ apiKeys: { keyId: string; status: string }[] }>(view).apiKeys).toEqual([expect.objectContaining({ keyId, status: 'revoked' })]);
    expect(revoked.statusCode).toBe(200);
    expectErrorAnswer(again, 404, 'not_found');
    expect(await auditTrail('acme')).toEqual([
      'api-key.issue:success',
      'api-key.revoke:failure:not_found',
      'api-key.revoke:success',
      'tenant.create:success',
    ]);
  });

  it('issuing a key for an unknown tenant → 404 not_found', async () => {
    const answer = await platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/api-keys', { pathParameters: { tenantId: 'ghost' } }));

    expectErrorAnswer(answer, 404, 'not_found');
    expect(await auditTrail('ghost')).toEqual(['api-key.issue:failure:not_found']);
  });

  it('R-SEC-3, R-SEC-6: a webhook source is created and rotated; its secrets are stored encrypted; both are audited', async () => {
    // Prepare
    await createTenant(platform, 'acme');
    const sources = '/v1/admin/tenants/{tenantId}/webhook-sources';

    // Act
    const created = await platform.admin(apiRequest('POST', sources, { pathParameters: { tenantId: 'acme' }, body: { scheme: 'standard', sourceId: 'billing' } }));
    const duplicate = await platform.admin(apiRequest('POST', sources, { pathParameters: { tenantId: 'acme' }, body: { scheme: 'standard', sourceId: 'billing' } }));
    const rotated = await platform.admin(
      apiRequest('POST', `${sources}/{sourceId}/rotate`, { pathParameters: { tenantId: 'acme', sourceId: 'billing' } }),
    );
    const badScheme = await platform.admin(apiRequest('POST', sources, { pathParameters: { tenantId: 'acme' }, body: { scheme: 'paypal' } }));

    // Assess
    expect(created.statusCode).toBe(201);
    const { secret, path } = bodyOf<{ secret: string; path: string }>(created);
    expect(path).toBe('/v1/hooks/acme/billing');
    expectErrorAnswer(duplicate, 409, 'conflict');
    expect(rotated.statusCode).toBe(200);
    expect(bodyOf(rotated)).toMatchObject({ sourceId: 'billing', activeSecrets: 2 });
    expectErrorAnswer(badScheme, 400, 'invalid_request');
    const stored = (await platform.directory.getWebhookSource('acme', 'billing'))!;
    expect(stored.secretCiphertexts).toHaveLength(2);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(bodyOf<{ secret: string }>(rotated).secret);
    expect(await auditTrail('acme')).toEqual([
      'tenant.create:success',
      'webhook-source.create:failure:conflict',
      'webhook-source.create:failure:invalid_request',
      'webhook-source.create:success',
      'webhook-source.rotate:success',
    ]);
  });

  it('R-SEC-6: the audit route lists the tenant’s entries for a month; a bad month → 400 invalid_request', async () => {
    await createTenant(platform, 'acme');
    const audit = (query?: Record<string, string>) =>
      platform.admin(apiRequest('GET', '/v1/admin/tenants/{tenantId}/audit', { pathParameters: { tenantId: 'acme' }, ...(query ? { query } : {}) }));

    const listed = await audit();
    const bad = await audit({ month: 'March' });

    expect(bodyOf<{ items: AuditEntry[] }>(listed).items).toEqual([expect.objectContaining({ action: 'tenant.create', actor: `operator:${OPERATOR_ARN}` })]);
    expectErrorAnswer(bad, 400, 'invalid_request');
  });

  it('an unknown route → 404 not_found', async () => {
    expectErrorAnswer(await platform.admin(apiRequest('DELETE', '/v1/admin/tenants/{tenantId}', { pathParameters: { tenantId: 'acme' } })), 404, 'not_found');
  });
});
