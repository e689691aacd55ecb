/**
 * Tenant administration without HTTP (R-SEC-3, R-SEC-6, R-RET-1, R-DSR-1): what is stored, what is answered,
 * what is audited.
 */
import { Administration } from '../../lambdas/domain/administration';
import { hashApiKey } from '../../lambdas/domain/api-keys';
import { WEBHOOK_SECRET_PURPOSE } from '../../lambdas/domain/ingestion';
import { SUBJECT_KEY_PURPOSE } from '../../lambdas/domain/processing';
import { removeKeyDirectories, testPlatform, type TestPlatform } from '../handler/fixtures';

afterAll(removeKeyDirectories);

const ACTOR = 'operator:arn:aws:iam::111122223333:user/ops';

describe('Administration', () => {
  let platform: TestPlatform;
  let admin: Administration;
  const trail = async (tenantId: string) =>
    (await platform.audit.listForTenant(tenantId, '2026-03')).map((e) => `${e.action}:${e.outcome}${e.detail?.error ? `:${e.detail.error}` : ''}`).sort();
  beforeEach(() => {
    platform = testPlatform();
    admin = new Administration(platform);
  });

  it('R-SEC-3: a new tenant gets its own key and a subject key stored only encrypted under it', async () => {
    // Act
    const view = await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });

    // Assess
    expect(view).toMatchObject({ tenantId: 'acme', plan: 'starter', status: 'active', keyRef: 'local:acme' });
    expect(view).not.toHaveProperty('subjectKeyCiphertext');
    const stored = (await platform.directory.getTenant('acme'))!;
    const subjectKey = await platform.crypto.decrypt(stored, Buffer.from(stored.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
    expect(subjectKey).toHaveLength(32);
  });

  it('R-DSR-1: subject paths are checked when the tenant is created; a bad one → invalid_request, audited', async () => {
    await expect(admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme', subjectPaths: [{ kind: 'email', path: 'email' }] })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('subjectPaths'),
    });
    await expect(admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme', subjectPaths: [{ kind: 'email', path: '$.contact.email' }] })).resolves.toMatchObject({
      subjectPaths: [{ kind: 'email', path: '$.contact.email' }],
    });
    expect(await trail('acme')).toEqual(['tenant.create:failure:invalid_request', 'tenant.create:success']);
  });

  it('R-RET-1: a retention within the plan’s bounds is kept; outside them it is refused', async () => {
    await expect(admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme', plan: 'business', retentionDays: 200 })).resolves.toMatchObject({ retentionDays: 200 });
    await expect(admin.createTenant(ACTOR, { tenantId: 'globex', name: 'Globex', plan: 'business', retentionDays: 400 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('R-SEC-3: an issued key is answered once and stored as its hash; getTenant lists it without secret', async () => {
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });

    const { keyId, apiKey } = await admin.issueApiKey(ACTOR, 'acme');

    expect(await platform.directory.findApiKeyByHash(hashApiKey(apiKey))).toMatchObject({ keyId, status: 'active' });
    const view = await admin.getTenant('acme');
    expect(view.apiKeys).toEqual([expect.objectContaining({ keyId, tenantId: 'acme', status: 'active' })]);
    expect(JSON.stringify(view)).not.toContain(apiKey);
  });

  it('R-SEC-4: a key id of another tenant cannot be revoked through this tenant → not_found', async () => {
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });
    await admin.createTenant(ACTOR, { tenantId: 'globex', name: 'Globex' });
    const { keyId } = await admin.issueApiKey(ACTOR, 'globex');

    await expect(admin.revokeApiKey(ACTOR, 'acme', keyId)).rejects.toMatchObject({ code: 'not_found' });
    await expect(admin.revokeApiKey(ACTOR, 'globex', keyId)).resolves.toBeUndefined();
  });

  it('R-SEC-3: webhook secrets are stored encrypted under the tenant key; rotation keeps the newest two', async () => {
    // Prepare
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });
    const pasted = 'shpss_0123456789abcdef0123';

    // Act
    const created = await admin.createWebhookSource(ACTOR, 'acme', { scheme: 'shopify', sourceId: 'shop', secret: pasted });
    const second = await admin.rotateWebhookSource(ACTOR, 'acme', 'shop', {});
    const third = await admin.rotateWebhookSource(ACTOR, 'acme', 'shop', undefined);

    // Assess
    expect(created.secret).toBe(pasted);
    const source = (await platform.directory.getWebhookSource('acme', 'shop'))!;
    const tenant = (await platform.directory.getTenant('acme'))!;
    const secrets = await Promise.all(
      source.secretCiphertexts.map(async (c) => Buffer.from(await platform.crypto.decrypt(tenant, Buffer.from(c, 'base64'), WEBHOOK_SECRET_PURPOSE)).toString()),
    );
    expect(secrets).toEqual([third.secret, second.secret]);
    expect(third.activeSecrets).toBe(2);
  });

  it.each([
    ['standard', 'whsec_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!', 'non-base64 characters (zero key bytes)'],
    ['standard', `whsec_${Buffer.alloc(16, 1).toString('base64')}`, '16 bytes'],
    ['standard', Buffer.alloc(32, 1).toString('base64'), 'no whsec_ prefix'],
    ['stripe', 'whsec_short', 'a short Stripe secret'],
    ['github', 'abcabcabcabcabcabcabcabc', 'a repeated few characters'],
    ['shopify', 'shpss_0123456789', 'under 24 characters'],
  ] as const)('issue 10: a weak %s secret (%s: %s) → 400 invalid_request, on create and on rotate', async (scheme, secret, _why) => {
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });
    await expect(admin.createWebhookSource(ACTOR, 'acme', { scheme, sourceId: 'weak', secret })).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    await admin.createWebhookSource(ACTOR, 'acme', { scheme, sourceId: 'strong' });
    await expect(admin.rotateWebhookSource(ACTOR, 'acme', 'strong', { secret })).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
  });

  it('issue 10 twin: strong secrets of each scheme are accepted', async () => {
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });
    const strong = { standard: `whsec_${Buffer.alloc(24, 9).toString('base64')}`, stripe: 'whsec_0123456789abcdefghijklmn', shopify: 'shpss_0123456789abcdef0123', github: '0123456789abcdef01234567' };
    for (const [scheme, secret] of Object.entries(strong)) {
      await expect(admin.createWebhookSource(ACTOR, 'acme', { scheme, sourceId: scheme, secret })).resolves.toMatchObject({ secret });
    }
  });

  it('issue 10: a rotation with revokePrevious leaves only the new secret valid', async () => {
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });
    await admin.createWebhookSource(ACTOR, 'acme', { scheme: 'github', sourceId: 'gh' });

    const kept = await admin.rotateWebhookSource(ACTOR, 'acme', 'gh', {});
    const revoked = await admin.rotateWebhookSource(ACTOR, 'acme', 'gh', { revokePrevious: true });

    expect(kept.activeSecrets).toBe(2);
    expect(revoked.activeSecrets).toBe(1);
    const source = (await platform.directory.getWebhookSource('acme', 'gh'))!;
    const tenant = (await platform.directory.getTenant('acme'))!;
    const [only] = source.secretCiphertexts;
    expect(source.secretCiphertexts).toHaveLength(1);
    expect(Buffer.from(await platform.crypto.decrypt(tenant, Buffer.from(only, 'base64'), WEBHOOK_SECRET_PURPOSE)).toString()).toBe(revoked.secret);
  });

  it('R-SEC-6: a refused request is audited, with the error code, under the tenant it named', async () => {
    await admin.createTenant(ACTOR, { tenantId: 'acme', name: 'Acme' });

    await expect(admin.createWebhookSource(ACTOR, 'acme', { scheme: 'paypal' })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(admin.rotateWebhookSource(ACTOR, 'acme', 'nope', {})).rejects.toMatchObject({ code: 'not_found' });

    expect(await trail('acme')).toEqual([
      'tenant.create:success',
      'webhook-source.create:failure:invalid_request',
      'webhook-source.rotate:failure:not_found',
    ]);
    const [entry] = await platform.audit.listForTenant('acme', '2026-03');
    expect(entry.actor).toBe(ACTOR);
  });

  it('auditEntries refuses a month that is not YYYY-MM', async () => {
    await expect(admin.auditEntries('acme', '2026-3')).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
