/**
 * Consent and objection (R-DSR-4): flags per tenant and per subject, for the purposes `analytics` and `ai`. An
 * objection to analytics keeps every new event of the subject out of storage; an objection to AI keeps its records,
 * old and new, out of what is sent to AI. A subject's change is a `consent` request (tracked, audited); the tenant's
 * own flags are set through the consent API. Both reach the processor within its cache.
 */
import { allowsPurpose, applyConsentChange, consentViewOf, forPurpose, NO_OBJECTIONS, type ConsentFlags } from '../../lambdas/domain/consent';
import { DomainError } from '../../lambdas/domain/model';
import { TenantConsent } from '../../lambdas/domain/tenant-consent';
import { TENANT_CACHE_MS } from '../../lambdas/domain/processing';
import { WORKFLOW_ACTOR } from '../../lambdas/domain/subject-requests/audited-tasks';
import { createTenant, eventIdsOf, openAndRun, privacyWorld, removePrivacyKeyDirectories, signup, storeEvents, subjectHashOf, type PrivacyWorld } from './privacy-fixture';

afterAll(removePrivacyKeyDirectories);

const ANN = 'ann@example.com';
const BOB = 'bob@example.com';

describe('R-DSR-4: the flags', () => {
  const flags: ConsentFlags = { tenantOff: new Set(['ai']), subjectsOff: new Map([['h-ann', new Set(['analytics'] as const)]]) };

  it('a purpose is allowed unless the tenant or any subject of the record turned it off', () => {
    expect(allowsPurpose(NO_OBJECTIONS, 'ai', ['h-ann'])).toBe(true);
    expect(allowsPurpose(flags, 'ai', [])).toBe(false);
    expect(allowsPurpose(flags, 'analytics', ['h-bob'])).toBe(true);
    expect(allowsPurpose(flags, 'analytics', ['h-bob', 'h-ann'])).toBe(false);
  });

  it('forPurpose keeps only the records that may go to AI, never a quarantined one', () => {
    const subjectFlags: ConsentFlags = { tenantOff: new Set(), subjectsOff: new Map([['h-ann', new Set(['ai'] as const)]]) };
    const records = [{ id: 1, subjects: ['h-ann'] }, { id: 2, subjects: ['h-bob'] }, { id: 3, subjects: [] }, { id: 4, subjects: ['h-bob'], quarantined: true }];
    expect(forPurpose(subjectFlags, 'ai', records).map((r) => r.id)).toEqual([2, 3]);
  });

  it('a change turns purposes off (false) and on again (true), leaving unnamed ones as they were', () => {
    expect(applyConsentChange([], { ai: false })).toEqual(['ai']);
    expect(applyConsentChange(['ai'], { analytics: false })).toEqual(['analytics', 'ai']);
    expect(applyConsentChange(['analytics', 'ai'], { ai: true })).toEqual(['analytics']);
  });

  it('the view names every purpose with its state', () => {
    expect(consentViewOf(flags)).toEqual({ tenant: { analytics: true, ai: false }, subjects: [{ subjectHash: 'h-ann', purposes: { analytics: false, ai: true } }] });
  });
});

describe('R-DSR-4: a subject’s consent request, and the processor honouring it', () => {
  let world: PrivacyWorld;
  let annHash: string;
  beforeEach(async () => {
    world = privacyWorld();
    await createTenant(world, 'acme');
    annHash = await subjectHashOf(world, 'acme', 'email', ANN);
  });
  const consent = (purposes: object, value = ANN) => openAndRun(world, 'acme', { type: 'consent', subject: { kind: 'email', value }, purposes });

  it('an objection to analytics: new events that mention the subject are not stored at all; others are', async () => {
    const [before] = await storeEvents(world, 'acme', [signup({ email: ANN })]);

    const requestId = await consent({ analytics: false });
    world.clock.advance(TENANT_CACHE_MS + 1);
    const outcome = await world.processing.processBatch(
      [signup({ email: ANN }), signup({ user: { email: ANN }, friend: { email: BOB } }), signup({ email: BOB })].map((event, i) => ({
        id: String(i),
        data: Buffer.from(JSON.stringify({ v: 1, tenantId: 'acme', eventId: `ev_obj${i}`, receivedAt: world.clock.now().toISOString(), event })),
      })),
    );

    expect(outcome).toMatchObject({ stored: 1, objected: 2, retry: [], rejected: [] });
    expect(eventIdsOf(world, 'acme')).toEqual([before, 'ev_obj2'].sort());
    // Nothing of the dropped events reached the rollups either: one stored before, one after.
    const rollups = [...world.store.items.values()].filter((item) => item.series === 'event:signup');
    expect(rollups.reduce((sum, item) => sum + (item.count as number), 0)).toBe(2);
    expect(await world.requests.get('acme', requestId)).toMatchObject({ status: 'completed', type: 'consent', consent: { analytics: false } });
    expect((await world.requests.consentFlags('acme')).subjectsOff.get(annHash)).toEqual(new Set(['analytics']));
  });

  it('takes effect within the processor’s cache, not later', async () => {
    await storeEvents(world, 'acme', [signup({ email: BOB })]); // the tenant's material is cached now
    await consent({ analytics: false });

    const [inCache] = await storeEvents(world, 'acme', [signup({ email: ANN })]); // still within the cache: stored
    expect(eventIdsOf(world, 'acme')).toContain(inCache);
    world.clock.advance(TENANT_CACHE_MS + 1);
    const after = await world.processing.processBatch([{ id: '1', data: Buffer.from(JSON.stringify({ v: 1, tenantId: 'acme', eventId: 'ev_late', receivedAt: world.clock.now().toISOString(), event: signup({ email: ANN }) })) }]);

    expect(after).toMatchObject({ stored: 0, objected: 1 });
  });

  it('an objection to AI keeps events stored and counted; consent given again clears the flag', async () => {
    await consent({ ai: false });
    world.clock.advance(TENANT_CACHE_MS + 1);
    const [id] = await storeEvents(world, 'acme', [signup({ email: ANN })]);
    const stored = (await world.store.getEvents('acme', [id]))[0];
    const flags = await world.requests.consentFlags('acme');
    expect(forPurpose(flags, 'ai', [stored])).toEqual([]);
    expect(allowsPurpose(flags, 'analytics', stored.subjects)).toBe(true);

    await consent({ ai: true });

    expect(forPurpose(await world.requests.consentFlags('acme'), 'ai', [stored])).toEqual([stored]);
    expect((await world.requests.consentFlags('acme')).subjectsOff.has(annHash)).toBe(false);
  });

  it('R-SEC-6: the request and its task are audited with the subject hash', async () => {
    const requestId = await consent({ analytics: false, ai: false });

    const audit = await world.audit.listForSubject('acme', annHash);
    expect(audit.map((e) => `${e.actor} ${e.action} ${e.outcome}`).sort()).toEqual(
      [`api-key:key_test privacy.request.open success`, `${WORKFLOW_ACTOR} privacy.consent.set-consent success`, `${WORKFLOW_ACTOR} privacy.consent.complete success`].sort(),
    );
    expect(audit.find((e) => e.action === 'privacy.consent.set-consent')).toMatchObject({ target: requestId, detail: { analytics: false, ai: false } });
  });

  it.each([
    [{ type: 'consent', subject: { kind: 'email', value: ANN } }, 'purposes'],
    [{ type: 'consent', subject: { kind: 'email', value: ANN }, purposes: {} }, 'purposes'],
    [{ type: 'consent', subject: { kind: 'email', value: ANN }, purposes: { marketing: false } }, 'purposes'],
    [{ type: 'access', subject: { kind: 'email', value: ANN }, purposes: { ai: false } }, 'purposes'],
  ])('refuses %j with 400 naming %s', async (body, path) => {
    const tenant = (await world.directory.getTenant('acme'))!;
    const refused = world.privacy.open('api-key:key_test', 'api', tenant, body);
    await expect(refused).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    const error = (await refused.catch((e: DomainError) => e)) as DomainError;
    expect(error.details?.some((d) => d.path.startsWith(path))).toBe(true);
  });
});

describe('R-DSR-4: tenant-wide flags through the consent API', () => {
  let world: PrivacyWorld;
  let consent: TenantConsent;
  beforeEach(async () => {
    world = privacyWorld();
    await createTenant(world, 'acme');
    consent = new TenantConsent(world);
  });

  it('the controller turns analytics off for its tenant: no new event is stored; audited', async () => {
    const tenant = (await world.directory.getTenant('acme'))!;
    const answer = await consent.setForTenant('api-key:key_1', tenant, { purposes: { analytics: false } });
    world.clock.advance(TENANT_CACHE_MS + 1);
    const outcome = await world.processing.processBatch([{ id: '1', data: Buffer.from(JSON.stringify({ v: 1, tenantId: 'acme', eventId: 'ev_t', receivedAt: world.clock.now().toISOString(), event: signup({ n: 1 }) })) }]);

    expect(answer).toMatchObject({ tenant: { analytics: false, ai: true }, subjects: [], effectiveBy: new Date(world.clock.now().getTime() - TENANT_CACHE_MS - 1 + 90_000).toISOString() });
    expect(outcome).toMatchObject({ stored: 0, objected: 1 });
    expect(await consent.view('acme')).toEqual({ tenant: { analytics: false, ai: true }, subjects: [] });
    expect((await world.audit.listForTenant('acme', world.clock.now().toISOString().slice(0, 7))).filter((e) => e.action === 'privacy.consent.tenant')).toEqual([
      expect.objectContaining({ actor: 'api-key:key_1', outcome: 'success', detail: { analytics: false } }),
    ]);
  });

  it('a bad body is a 400, audited as a refusal', async () => {
    const tenant = (await world.directory.getTenant('acme'))!;
    await expect(consent.setForTenant('api-key:key_1', tenant, { purposes: { ai: 'no' } })).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    const entries = (await world.audit.listForTenant('acme', world.clock.now().toISOString().slice(0, 7))).filter((e) => e.action === 'privacy.consent.tenant');
    expect(entries).toEqual([expect.objectContaining({ outcome: 'failure', detail: { error: 'invalid_request' } })]);
  });
});
