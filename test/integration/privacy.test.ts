/**
 * End to end through the local platform over HTTP (issue 4): two tenants seeded with records about several
 * subjects, as events, API-call payloads (large enough to live in S3) and signed webhooks; then an access request,
 * an erasure and a termination, each through the public API and its state machine. Stores are inspected raw
 * (DynamoDB, S3 and the keyring), not only through the API.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { verifyDeletionDocument, type SignedDeletionDocument, type TenantDeletionCertificate } from '../../lambdas/domain/deletion-records';
import type { PrivacyRequestView } from '../../lambdas/domain/privacy-requests';
import type { TerminationView } from '../../lambdas/domain/termination';
import { dataKeys, INDEX, tenantObjectPrefix } from '../../lambdas/domain/keys';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { TEST_PLATFORM } from '../support/local-platform';
import { localCallCheck } from '../deployed/allowed-calls';
import { eventually, request } from './http';

let local: LocalPlatform;
let aws: AwsClients;

interface Seeded {
  readonly apiKey: string;
  /** Event ids by subject email. */
  readonly bySubject: Record<string, string[]>;
  /** The event ids whose body went to S3. */
  readonly inS3: string[];
}
const tenants: Record<string, Seeded> = {};
const SUBJECTS = ['xena@example.com', 'yuri@example.com', 'zara@example.com'];

const admin = (path: string, body?: object) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, ...(body ? { body } : {}) });
const readEvent = async (tenantId: string, eventId: string) =>
  request<{ event: unknown }>(`${local.url}/v1/events/${eventId}`, { token: tenants[tenantId].apiKey });

/** Everything the tenant can list, of every kind, following cursors. */
async function listAll(tenantId: string): Promise<{ eventId: string; event: unknown }[]> {
  const items: { eventId: string; event: unknown }[] = [];
  for (const kind of ['event', 'api_call', 'webhook']) {
    let cursor: string | undefined;
    do {
      const page = await request<{ items: { eventId: string; event: unknown }[]; cursor?: string }>(
        `${local.url}/v1/events?kind=${kind}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token: tenants[tenantId].apiKey },
      );
      expect(page.status).toBe(200);
      items.push(...page.body.items);
      cursor = page.body.cursor;
    } while (cursor);
  }
  return items;
}

async function seedTenant(tenantId: string): Promise<void> {
  expect((await admin('/tenants', { tenantId, name: `Tenant ${tenantId}` })).status).toBe(201);
  // R-SEC-5: one key sends, reads and opens requests here, so it carries every scope.
  const apiKey = String((await admin(`/tenants/${tenantId}/api-keys`, { scopes: ['ingest', 'read', 'privacy'] })).body.apiKey);
  const source = await admin(`/tenants/${tenantId}/webhook-sources`, { scheme: 'standard', sourceId: 'crm' });
  const bySubject: Record<string, string[]> = Object.fromEntries(SUBJECTS.map((s) => [s, []]));
  const inS3: string[] = [];
  const now = new Date().toISOString();
  for (const email of SUBJECTS) {
    const events = [
      { type: 'event', name: 'signup', timestamp: now, properties: { email, plan: 'pro' } },
      { type: 'event', name: 'login', timestamp: now, properties: { user: { email } } },
      // An API-call record whose payload is larger than an item may hold inline: its body goes to S3.
      { type: 'api_call', method: 'POST', route: '/profile', status: 200, latencyMs: 12, timestamp: now, payload: { email, bio: 'x'.repeat(40_000) }, properties: {} },
    ];
    const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKey, body: { events } });
    expect(answer.status).toBe(202);
    bySubject[email].push(...answer.body.eventIds);
    inS3.push(answer.body.eventIds[2]);

    const payload = JSON.stringify({ type: 'contact.updated', data: { contact: { email } } });
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const hook = await request<{ eventId: string }>(`${local.url}${source.body.path}`, {
      body: payload,
      headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(String(source.body.secret)).sign(id, at, payload) },
    });
    expect(hook.status).toBe(202);
    bySubject[email].push(hook.body.eventId);
  }
  tenants[tenantId] = { apiKey, bySubject, inS3 };
  // Stored once every record reads back.
  for (const id of Object.values(bySubject).flat()) {
    await eventually(async () => ((await readEvent(tenantId, id)).status === 200 ? true : undefined), `${tenantId} ${id}`);
  }
}

async function privacyRequest(tenantId: string, body: object): Promise<PrivacyRequestView> {
  const opened = await request<PrivacyRequestView>(`${local.url}/v1/privacy/requests`, { token: tenants[tenantId].apiKey, body });
  expect(opened.status).toBe(202);
  expect(opened.body.dueAt > opened.body.receivedAt).toBe(true);
  return eventually(async () => {
    const { body: view } = await request<PrivacyRequestView>(`${local.url}/v1/privacy/requests/${opened.body.requestId}`, { token: tenants[tenantId].apiKey });
    if (view.status === 'failed') throw new Error(`request failed: ${JSON.stringify(view.failure)}`);
    return view.status === 'completed' ? view : undefined;
  }, `privacy request ${opened.body.requestId}`, 60_000);
}

const countQuery = async (input: { IndexName?: string; key: string; value: string }) =>
  (
    await aws.dynamo.send(
      new QueryCommand({
        TableName: local.deployment.names.dataTable,
        ...(input.IndexName ? { IndexName: input.IndexName } : {}),
        KeyConditionExpression: `${input.key} = :v`,
        ExpressionAttributeValues: { ':v': input.value },
        Select: 'COUNT',
      }),
    )
  ).Count ?? 0;

const objectsUnder = async (bucket: string, prefix: string) =>
  (await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents?.map((o) => o.Key!) ?? [];

const calls = localCallCheck();

beforeAll(async () => {
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    demo: false,
    aroundInvocation: calls.aroundInvocation,
    // Shortened: propagation and drain waits; the 30-day export window lasts 4 s so the test can use it.
    workflows: { waitOverridesMs: { AwaitPropagation: 0, AwaitInFlightIngest: 0, AwaitStreamDrain: 20, ExportWindow: 4_000 }, retryIntervalMs: 0 },
  });
  aws = createAwsClients(local.clients);
  await seedTenant('acme');
  await seedTenant('globex');
}, 120_000);

afterAll(async () => {
  await local?.stop();
});

describe('data-subject requests over HTTP (R-DSR-1, R-DSR-2)', () => {
  it('access: the export holds exactly xena’s records in acme, none missing, none extra, decrypted', async () => {
    const done = await privacyRequest('acme', { type: 'access', subject: { kind: 'email', value: 'xena@example.com' } });

    const manifest = (await (await fetch(done.results!.export!.manifestUrl)).json()) as { records: number };
    const lines = (await Promise.all(done.results!.export!.partUrls.map(async (url) => (await fetch(url)).text())))
      .join('\n')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { eventId: string; event: unknown });
    expect(lines.map((l) => l.eventId).sort()).toEqual([...tenants.acme.bySubject['xena@example.com']].sort());
    expect(manifest.records).toBe(lines.length);
    for (const line of lines) expect(JSON.stringify(line.event)).toContain('xena@example.com');
  });

  it('an export link expires: a presigned URL with a tampered expiry is refused', async () => {
    const done = await privacyRequest('acme', { type: 'access', subject: { kind: 'email', value: 'zara@example.com' } });
    const url = new URL(done.results!.export!.manifestUrl);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(3600);
    expect((await fetch(url)).status).toBe(200);
    url.searchParams.set('X-Amz-Expires', '999999');
    // The signature covers the expiry: S3 answers 403, the emulator 400; never the object.
    expect((await fetch(url)).status).toBeGreaterThanOrEqual(400);
  });

  it('erasure: nothing readable of xena remains in acme in any store; everyone and everything else is intact', async () => {
    const xena = tenants.acme.bySubject['xena@example.com'];

    const done = await privacyRequest('acme', { type: 'erasure', subject: { kind: 'email', value: 'xena@example.com' } });

    // Through the API: no record by id, none in any list.
    for (const id of xena) expect((await readEvent('acme', id)).status).toBe(404);
    const listed = await listAll('acme');
    expect(listed.filter((e) => xena.includes(e.eventId) || JSON.stringify(e.event).includes('xena@example.com'))).toEqual([]);
    // In the stores: no event item, no subject index entry, no payload object, no export of the subject.
    for (const id of xena) expect(await countQuery({ key: 'pk', value: dataKeys.event('acme', id).pk })).toBe(0);
    expect(await countQuery({ key: 'pk', value: `T#acme#S#${done.subjectHash}` })).toBe(0);
    const xenaPayload = tenants.acme.inS3.find((id) => xena.includes(id))!;
    expect(await objectsUnder(local.deployment.names.payloadBucket, `${tenantObjectPrefix('acme')}payloads/${xenaPayload}`)).toEqual([]);
    expect(await objectsUnder(local.deployment.names.exportsBucket, `${tenantObjectPrefix('acme')}exports/subjects/${done.subjectHash}/`)).toEqual([]);
    // The deletion record verifies with the signing key, and only with the document as signed.
    const record = done.results!.deletionRecord as SignedDeletionDocument;
    const publicKey = await local.platform.signer.publicKeyPem();
    expect(verifyDeletionDocument(record, publicKey)).toBe(true);
    expect(verifyDeletionDocument({ ...record, document: { ...record.document, deleted: { events: 0 } } } as SignedDeletionDocument, publicKey)).toBe(false);
    expect(record.document.deleted).toMatchObject({ events: xena.length, payloadObjects: 1 });
    // Everything else: acme's other subjects, and globex's xena.
    for (const email of ['yuri@example.com', 'zara@example.com']) {
      for (const id of tenants.acme.bySubject[email]) expect((await readEvent('acme', id)).status).toBe(200);
    }
    for (const id of tenants.globex.bySubject['xena@example.com']) expect((await readEvent('globex', id)).status).toBe(200);
    expect(listed).toHaveLength(2 * 4);
  });

  it('another tenant’s request id is not found; a malformed request is refused with a clear error', async () => {
    const done = await privacyRequest('acme', { type: 'access', subject: { kind: 'email', value: 'yuri@example.com' } });
    const foreign = await request(`${local.url}/v1/privacy/requests/${done.requestId}`, { token: tenants.globex.apiKey });
    expect(foreign.status).toBe(404);
    const bad = await request<{ error: { code: string } }>(`${local.url}/v1/privacy/requests`, { token: tenants.acme.apiKey, body: { type: 'forget-me', subject: {} } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });
});

describe('tenant termination over HTTP (R-TERM-1..6)', () => {
  it('freezes acme, keeps its export for the window, then leaves nothing readable; globex is untouched and works', async () => {
    const before = await listAll('acme');
    const started = await admin('/tenants/acme/termination', { election: 'export-then-delete' });
    expect(started.status).toBe(202);

    // R-TERM-1: frozen: its key reads nothing and ingests nothing.
    await eventually(async () => ((await readEvent('acme', before[0].eventId)).status === 403 ? true : undefined), 'acme frozen');
    const refused = await request<{ error: { code: string } }>(`${local.url}/v1/events`, { token: tenants.acme.apiKey, body: { type: 'event', name: 'late', properties: {} } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('tenant_frozen');

    // R-TERM-2: during the window the export is there, with every record acme had.
    const during = await eventually(async () => {
      const { body } = await admin('/tenants/acme/termination');
      const view = body as unknown as TerminationView;
      return view.export?.manifest ? view : undefined;
    }, 'the termination export', 30_000);
    const exported = (await Promise.all(during.export!.parts!.map(async (url) => (await fetch(url)).text())))
      .join('\n')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { eventId: string }).eventId);
    expect(exported.sort()).toEqual(before.map((e) => e.eventId).sort());

    const finished = await eventually(async () => {
      const view = (await admin('/tenants/acme/termination')).body as unknown as TerminationView;
      if (view.status === 'failed') throw new Error(`termination failed: ${JSON.stringify(view.failure)}`);
      return view.status === 'completed' ? view : undefined;
    }, 'the termination', 60_000);

    // R-TERM-5: a certificate that verifies, with the backup date computed from the retention facts.
    const certificate = finished.certificate as SignedDeletionDocument<TenantDeletionCertificate>;
    expect(verifyDeletionDocument(certificate, await local.platform.signer.publicKeyPem())).toBe(true);
    expect(certificate.document).toMatchObject({ tenantId: 'acme', election: 'export-then-delete', deleted: expect.objectContaining({ events: before.length }) });
    // R-TERM-3, R-TERM-4: nothing of acme in the table, either bucket, or the keyring.
    for (const kind of ['event', 'api_call', 'metric', 'webhook']) {
      expect(await countQuery({ IndexName: INDEX.byKind, key: 'gsi1pk', value: dataKeys.byKind('acme', kind) })).toBe(0);
    }
    expect(await countQuery({ IndexName: INDEX.byKind, key: 'gsi1pk', value: dataKeys.quarantine('acme') })).toBe(0);
    expect(await countQuery({ key: 'pk', value: dataKeys.rollup('acme', '', '').pk })).toBe(0);
    expect(await objectsUnder(local.deployment.names.payloadBucket, tenantObjectPrefix('acme'))).toEqual([]);
    expect(await objectsUnder(local.deployment.names.exportsBucket, tenantObjectPrefix('acme'))).toEqual([]);
    const tombstone = await local.platform.directory.getTenant('acme');
    expect(tombstone?.status).toBe('terminated');
    expect(await local.platform.keys.isTenantKeyUsable(tombstone!.keyRef)).toBe(false);
    // R-TERM-6: billing survives, apart.
    expect((await local.platform.ledger.list('acme')).length).toBeGreaterThan(0);

    // globex: every record still reads, and it still ingests.
    for (const id of Object.values(tenants.globex.bySubject).flat()) expect((await readEvent('globex', id)).status).toBe(200);
    const fresh = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: tenants.globex.apiKey, body: { type: 'event', name: 'after', properties: {} } });
    expect(fresh.status).toBe(202);
    await eventually(async () => ((await readEvent('globex', fresh.body.eventIds[0])).status === 200 ? true : undefined), 'globex after');
  });

  it('a Shopify customers/redact webhook, HMAC-verified, runs an erasure for the tenant that connected the shop (R-DSR-6)', async () => {
    const source = await admin('/tenants/globex/webhook-sources', { scheme: 'shopify', sourceId: 'shop' });
    // Shopify's documented customers/redact payload: the action is taken from this shape (issue 10), not the topic header.
    const payload = JSON.stringify({ shop_id: 954889, shop_domain: 'globex.myshopify.com', customer: { id: 1, email: 'zara@example.com' }, orders_to_redact: [] });
    const post = (secret: string) =>
      request<{ privacyRequestId?: string }>(`${local.url}${source.body.path}`, {
        body: payload,
        headers: {
          'x-shopify-hmac-sha256': createHmac('sha256', secret).update(payload).digest('base64'),
          'x-shopify-webhook-id': 'redact-1',
          'x-shopify-topic': 'customers/redact',
          'x-shopify-shop-domain': 'globex.myshopify.com',
          'x-shopify-triggered-at': new Date().toISOString(),
        },
      });
    expect((await post('not-the-secret')).status).toBe(401);
    const answer = await post(String(source.body.secret));
    expect(answer.status).toBe(200);
    await eventually(async () => {
      const ids = tenants.globex.bySubject['zara@example.com'];
      const statuses = await Promise.all(ids.map(async (id) => (await readEvent('globex', id)).status));
      return statuses.every((s) => s === 404) ? true : undefined;
    }, 'zara erased in globex', 60_000);
    for (const id of tenants.globex.bySubject['yuri@example.com']) expect((await readEvent('globex', id)).status).toBe(200);
    const view = await eventually(async () => {
      const { body } = await admin(`/tenants/globex/privacy/requests/${answer.body.privacyRequestId}`);
      return body.status === 'completed' ? body : undefined;
    }, 'the Shopify request completed');
    expect(view).toMatchObject({ type: 'erasure', origin: 'shopify', subjectKind: 'email' });
  });
});

/** R-SEC-5: the "can" half of least privilege, for every AWS call the functions made in this file (issue 9). */
test('every AWS call the functions made here is allowed by their synthesized roles', () => {
  expect(calls.functions().length).toBeGreaterThan(0);
  expect(calls.denied()).toEqual([]);
});
