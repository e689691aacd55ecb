/**
 * Opening and reading data-subject requests (R-DSR-1..3, R-DSR-5, R-DSR-6, R-SEC-4, R-SEC-6): what is validated,
 * what is stored (a keyed hash, never the identifier; corrections only encrypted), when a request is due, which
 * workflow starts, and what the status shows.
 */
import { CORRECTIONS_PURPOSE } from '../../lambdas/domain/corrections';
import { verifyDeletionDocument, type SignedDeletionDocument } from '../../lambdas/domain/deletion-records';
import { DomainError, type Tenant } from '../../lambdas/domain/model';
import { dueDateFor, shopifyRequestId } from '../../lambdas/domain/privacy-requests';
import {
  createTenant,
  NOW,
  privacyWorld,
  removePrivacyKeyDirectories,
  runWorkflow,
  signup,
  startedState,
  storeEvents,
  subjectHashOf,
  type PrivacyWorld,
} from './privacy-fixture';

afterAll(removePrivacyKeyDirectories);

const ANN = 'ann@example.com';

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe('dueDateFor (R-DSR-5: one calendar month, GDPR Art. 12(3))', () => {
  it.each([
    ['2026-03-02T10:00:00.000Z', '2026-04-02T10:00:00.000Z'],
    ['2026-01-31T23:59:59.999Z', '2026-02-28T23:59:59.999Z'],
    ['2028-01-31T08:30:00.000Z', '2028-02-29T08:30:00.000Z'],
    ['2026-03-31T12:00:00.000Z', '2026-04-30T12:00:00.000Z'],
    ['2026-12-15T00:00:00.000Z', '2027-01-15T00:00:00.000Z'],
    ['2026-02-28T06:00:00.000Z', '2026-03-28T06:00:00.000Z'],
  ])('received %s → due %s', (received, due) => {
    expect(dueDateFor(new Date(received)).toISOString()).toBe(due);
  });
});

describe('PrivacyRequests', () => {
  let world: PrivacyWorld;
  let acme: Tenant;
  const open = (body: unknown, tenant: Tenant = acme) => world.privacy.open('api-key:key_1', 'api', tenant, body);

  beforeEach(async () => {
    world = privacyWorld();
    await createTenant(world, 'acme');
    await createTenant(world, 'globex');
    acme = (await world.directory.getTenant('acme'))!;
  });

  describe('open', () => {
    it('R-DSR-1, R-DSR-5: records the request under the subject’s keyed hash, due in one month, and starts its workflow', async () => {
      // Act
      const view = await open({ type: 'access', subject: { kind: 'email', value: ' Ann@Example.com ' } });

      // Assess
      const hash = await subjectHashOf(world, 'acme', 'email', ANN);
      expect(view).toMatchObject({
        type: 'access',
        status: 'received',
        origin: 'api',
        subjectKind: 'email',
        subjectHash: hash,
        receivedAt: NOW.toISOString(),
        dueAt: '2026-04-02T10:00:00.000Z',
        overdue: false,
      });
      expect(view.requestId).toMatch(/^dsr_[0-9A-Z]{26}$/);
      expect(world.workflows.starts).toEqual([
        {
          workflow: 'access',
          executionName: view.requestId,
          input: { tenantId: 'acme', requestId: view.requestId, type: 'access', subjectHash: hash, receivedAt: NOW.toISOString() },
        },
      ]);
      expect(view.steps.map((s) => `${s.name}:${s.outcome}`)).toEqual(['received:success', 'started:success']);
    });

    it('R-DSR-1: the identifier itself is stored nowhere, and the view shows no execution ARN', async () => {
      const view = await open({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      const stored = JSON.stringify([...world.requests.items.values()]);
      expect(stored.toLowerCase()).not.toContain('ann@');
      expect(JSON.stringify(view)).not.toContain('arn:aws:states');
    });

    it('R-SEC-6: the opening is audited with actor, request and subject hash', async () => {
      const view = await open({ type: 'erasure', subject: { kind: 'user_id', value: 'u-1' } });

      const entries = await world.audit.listForSubject('acme', view.subjectHash);
      expect(entries).toEqual([
        expect.objectContaining({ actor: 'api-key:key_1', action: 'privacy.request.open', target: view.requestId, outcome: 'success' }),
      ]);
    });

    it('R-DSR-3: a rectification’s corrections are stored only encrypted under the tenant key', async () => {
      const corrections = [{ path: '$..email', value: 'ann.new@example.com' }];

      const view = await open({ type: 'rectification', subject: { kind: 'email', value: ANN }, corrections });

      const record = (await world.requests.get('acme', view.requestId))!;
      expect(JSON.stringify(record)).not.toContain('ann.new@example.com');
      const plain = await world.crypto.decrypt(acme, Buffer.from(record.correctionsCiphertext!, 'base64'), CORRECTIONS_PURPOSE);
      expect(JSON.parse(Buffer.from(plain).toString('utf8'))).toEqual(corrections);
      await expect(world.crypto.decrypt(acme, Buffer.from(record.correctionsCiphertext!, 'base64'), 'event')).rejects.toThrow();
    });

    it.each([
      ['an unknown type', { type: 'objection', subject: { kind: 'email', value: ANN } }, 'type'],
      ['a rectification without corrections', { type: 'rectification', subject: { kind: 'email', value: ANN } }, 'corrections'],
      ['corrections on an access request', { type: 'access', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$..email', value: 'x' }] }, 'corrections'],
      ['no corrections at all', { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [] }, 'corrections'],
      ['51 corrections', { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: Array.from({ length: 51 }, () => ({ path: '$..email', value: 'x' })) }, 'corrections'],
      ['a malformed correction path', { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: 'properties.email', value: 'x' }] }, 'corrections.0.path'],
      ['a correction of the record’s type', { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.type', value: 'metric' }] }, 'corrections.0.path'],
      ['a blank identifier', { type: 'access', subject: { kind: 'email', value: '   ' } }, 'subject.value'],
      ['a kind the tenant does not index', { type: 'access', subject: { kind: 'passport', value: 'X1' } }, 'subject.kind'],
      ['a tenant id in the body', { type: 'access', subject: { kind: 'email', value: ANN }, tenantId: 'globex' }, ''],
      ['no body', undefined, ''],
    ])('refuses %s → invalid_request, nothing started', async (_case, body, path) => {
      const error = await refusal(open(body));

      expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
      expect(error.details?.map((d) => d.path)).toContain(path);
      expect(world.workflows.starts).toEqual([]);
      expect(world.requests.items.size).toBe(0);
    });

    it('R-SEC-6: a refused request is audited with its error code only', async () => {
      await refusal(open({ type: 'objection', subject: { kind: 'email', value: ANN } }));

      const entries = await world.audit.listForTenant('acme', '2026-03');
      const refused = entries.filter((e) => e.action === 'privacy.request.open');
      expect(refused).toEqual([expect.objectContaining({ outcome: 'failure', detail: { error: 'invalid_request' } })]);
      expect(JSON.stringify(refused)).not.toContain('ann@');
    });

    it('R-TERM-3: a terminated tenant’s subjects can no longer be looked up', async () => {
      await world.directory.setTenantStatus('acme', 'terminated');

      const error = await refusal(open({ type: 'access', subject: { kind: 'email', value: ANN } }, (await world.directory.getTenant('acme'))!));

      expect(error.code).toBe('tenant_frozen');
    });

    it('a workflow that cannot start leaves the request received (still on the open list) and fails the call', async () => {
      jest.spyOn(world.workflows, 'start').mockRejectedValueOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

      await expect(open({ type: 'access', subject: { kind: 'email', value: ANN } })).rejects.toThrow('throttled');

      const [item] = [...world.requests.items.values()].filter((i) => (i.sk as string).startsWith('REQ#'));
      expect(item).toMatchObject({ status: 'received' });
      expect(await world.requests.overdue('2026-05-01T00:00:00.000Z')).toHaveLength(1);
    });
  });

  describe('view', () => {
    it('R-SEC-4: another tenant’s request id is not found, exactly like an unknown one', async () => {
      const { requestId } = await open({ type: 'access', subject: { kind: 'email', value: ANN } });

      const foreign = await refusal(world.privacy.view('globex', requestId));
      const unknown = await refusal(world.privacy.view('acme', 'dsr_00000000000000000000000000'));
      const malformed = await refusal(world.privacy.view('acme', '../REQ#x'));

      for (const error of [foreign, unknown, malformed]) expect(error).toMatchObject({ code: 'not_found', status: 404 });
      await expect(world.privacy.view('acme', requestId)).resolves.toMatchObject({ requestId });
    });

    it('R-DSR-5: a request not completed by its due date shows as overdue', async () => {
      const { requestId } = await open({ type: 'access', subject: { kind: 'email', value: ANN } });

      world.clock.advance(31 * 24 * 3600 * 1000 + 1);

      await expect(world.privacy.view('acme', requestId)).resolves.toMatchObject({ overdue: true, status: 'received' });
    });

    it('R-DSR-1: a completed access request links its manifest and every part, for an hour', async () => {
      // Prepare
      await storeEvents(world, 'acme', [signup({ email: ANN }), signup({ email: ANN })]);
      const { requestId } = await open({ type: 'access', subject: { kind: 'email', value: ANN } });
      await runWorkflow(world, requestId);

      // Act
      const view = await world.privacy.view('acme', requestId);

      // Assess
      const record = (await world.requests.get('acme', requestId))!;
      const expires = NOW.getTime() / 1000 + 3600;
      expect(view.status).toBe('completed');
      expect(view.results?.export).toEqual({
        manifestUrl: expect.stringMatching(new RegExp(`^memory://exports/.*manifest\\.json\\?expires=${expires}$`)),
        partUrls: [expect.stringMatching(/part-00001\.jsonl\?expires=/)],
        urlsExpireAt: new Date(expires * 1000).toISOString(),
      });
      expect(record.result?.exportKeys?.parts).toHaveLength(1);
      expect(view.results?.counts).toMatchObject({ events: 2 });
    });

    it('R-DSR-2: a completed erasure shows its signed deletion record', async () => {
      await storeEvents(world, 'acme', [signup({ email: ANN })]);
      const { requestId } = await open({ type: 'erasure', subject: { kind: 'email', value: ANN } });
      await runWorkflow(world, requestId);

      const view = await world.privacy.view('acme', requestId);

      const signed = view.results?.deletionRecord as SignedDeletionDocument;
      expect(signed.document).toMatchObject({ kind: 'lumiqo.subject-erasure.v1', requestId, deleted: expect.objectContaining({ events: 1 }) });
      expect(verifyDeletionDocument(signed, await world.signer.publicKeyPem())).toBe(true);
    });
  });

  describe('openFromShopify (R-DSR-6)', () => {
    const shopify = (topic: string, payload: unknown, deliveryId = 'delivery-1') =>
      world.privacy.openFromShopify(acme, 'shop', deliveryId, topic, payload);

    it.each([
      ['customers/data_request', 'access', 'email', ANN, { customer: { id: 42, email: 'Ann@Example.com' } }],
      ['customers/redact', 'erasure', 'email', ANN, { customer: { id: 42, email: ANN } }],
      ['customers/redact', 'erasure', 'customer_id', '42', { customer: { id: 42 } }],
      ['shop/redact', 'erasure', 'shop_domain', 'acme.myshopify.com', { shop_id: 7, shop_domain: 'acme.myshopify.com' }],
    ])('%s → %s of the subject by %s', async (topic, type, kind, value, payload) => {
      const view = await shopify(topic, payload);

      expect(view).toMatchObject({ type, origin: 'shopify', subjectKind: kind, subjectHash: await subjectHashOf(world, 'acme', kind, value) });
      expect(view.requestId).toBe(shopifyRequestId('acme', 'shop', 'delivery-1'));
      expect(startedState(world, view.requestId)).toMatchObject({ type, subjectHash: view.subjectHash });
      expect((await world.requests.get('acme', view.requestId))!.actor).toBe('webhook:shop');
    });

    it('a redelivery is the same request: one record, one execution', async () => {
      const payload = { customer: { id: 42, email: ANN } };

      const first = await shopify('customers/redact', payload);
      const again = await shopify('customers/redact', payload);

      expect(again.requestId).toBe(first.requestId);
      expect(world.workflows.starts).toHaveLength(1);
      expect([...world.requests.items.values()].filter((i) => (i.sk as string).startsWith('REQ#'))).toHaveLength(1);
    });

    it('a redelivery starts the workflow the first delivery failed to start', async () => {
      jest.spyOn(world.workflows, 'start').mockRejectedValueOnce(new Error('unavailable'));
      const payload = { customer: { id: 42, email: ANN } };
      await expect(shopify('customers/redact', payload)).rejects.toThrow('unavailable');

      const again = await shopify('customers/redact', payload);

      expect(world.workflows.starts.map((s) => s.executionName)).toEqual([again.requestId]);
    });

    it('another delivery is another request', async () => {
      const a = await shopify('customers/redact', { customer: { id: 1 } }, 'delivery-1');
      const b = await shopify('customers/redact', { customer: { id: 1 } }, 'delivery-2');

      expect(a.requestId).not.toBe(b.requestId);
    });

    it.each([
      ['an unknown topic', 'orders/create', { customer: { id: 1 } }],
      ['a customer without email or id', 'customers/redact', { customer: {} }],
      ['a shop/redact without a domain', 'shop/redact', { shop_id: 7 }],
      ['a payload that is not an object', 'customers/data_request', 'nope'],
    ])('refuses %s → invalid_request', async (_case, topic, payload) => {
      const error = await refusal(shopify(topic, payload));

      expect(error.code).toBe('invalid_request');
      expect(world.workflows.starts).toEqual([]);
    });
  });
});
