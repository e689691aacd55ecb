/**
 * Workflow tier (issue 4): the privacy state machines exactly as CDK synthesizes them (read from the template by
 * the local runtime), run in aws-local-stepfunctions, with their Lambda tasks served by the real task handlers over
 * the emulators (DynamoDB, Kinesis, S3) and the local keyring. Waits and retry intervals are shortened; nothing else
 * is replaced. Faults are injected around a task call, as a failing Lambda invocation would look to Step Functions.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { verifyDeletionDocument, type SignedDeletionDocument } from '../../lambdas/domain/deletion-records';
import type { PrivacyRequestView } from '../../lambdas/domain/privacy-requests';
import type { TerminationView } from '../../lambdas/domain/termination';
import { PermanentTaskError, type WorkflowName } from '../../lambdas/domain/privacy';
import { dataKeys, INDEX, tenantObjectPrefix } from '../../lambdas/domain/keys';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { TEST_PLATFORM } from '../support/local-platform';
import { localCallCheck } from '../deployed/allowed-calls';
import type { LocalExecution } from '../../bin/local/workflows';
import { eventually, request } from '../integration/http';
import Stripe from 'stripe';
import { ManualClock } from '../support/manual-clock';
import { RecordingStripeServer } from '../support/stripe-server';
import { checkoutCompleted, subscriptionEvent, WEBHOOK_PATH } from '../support/stripe-events';
import { DynamoUsageLedger } from '../../lambdas/adapters/dynamo-usage-ledger';

let local: LocalPlatform;
let aws: AwsClients;
const apiKeys: Record<string, string> = {};

/** Faults by `<workflow>/<state>`: how many calls still fail, and with what. */
const faults = new Map<string, { remaining: number; error: () => Error }>();

const admin = (path: string, body?: object, method?: string) =>
  request(`${local.url}/v1/admin${path}`, { token: local.adminToken, ...(body ? { body } : {}), ...(method ? { method } : {}) });

async function createTenant(tenantId: string): Promise<void> {
  expect((await admin('/tenants', { tenantId, name: `Tenant ${tenantId}` })).status).toBe(201);
  // R-SEC-5: one key sends, reads and opens requests here, so it carries every scope.
  apiKeys[tenantId] = String((await admin(`/tenants/${tenantId}/api-keys`, { scopes: ['ingest', 'read', 'privacy'] })).body.apiKey);
}

/** Ingests events and waits until the processor has stored each (readable by id). */
async function seed(tenantId: string, events: object[]): Promise<string[]> {
  const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKeys[tenantId], body: { events } });
  expect(answer.status).toBe(202);
  await Promise.all(answer.body.eventIds.map((id) => eventually(async () => ((await readEvent(tenantId, id)) === 200 ? true : undefined), `event ${id}`)));
  return answer.body.eventIds;
}

const readEvent = async (tenantId: string, eventId: string) =>
  (await request(`${local.url}/v1/events/${eventId}`, { token: apiKeys[tenantId] })).status;

const signup = (email: string, extra: object = {}) => ({
  type: 'event',
  name: 'signup',
  timestamp: new Date().toISOString(),
  properties: { email, ...extra },
});

async function openRequest(tenantId: string, body: object): Promise<string> {
  const answer = await request<PrivacyRequestView>(`${local.url}/v1/privacy/requests`, { token: apiKeys[tenantId], body });
  expect(answer.status).toBe(202);
  return answer.body.requestId;
}

async function finished(executionName: string): Promise<LocalExecution> {
  const execution = await eventually(async () => local.workflows.list().find((e) => e.name === executionName), `execution ${executionName}`);
  await execution.done;
  return execution;
}

const view = async (tenantId: string, requestId: string) =>
  (await request<PrivacyRequestView>(`${local.url}/v1/privacy/requests/${requestId}`, { token: apiKeys[tenantId] })).body;

/** Raw event items of a tenant in one GSI1 partition, read from the table (not through the API). */
async function itemsIn(partition: string): Promise<number> {
  const answer = await aws.dynamo.send(
    new QueryCommand({
      TableName: local.deployment.names.dataTable,
      IndexName: INDEX.byKind,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': partition },
      Select: 'COUNT',
    }),
  );
  return answer.Count ?? 0;
}

const calls = localCallCheck();

/** R-BILL-2, R-TERM-1: the Stripe the usage function reports to (the real SDK, at the configured base URL). */
let stripe: RecordingStripeServer;

beforeAll(async () => {
  stripe = await new RecordingStripeServer(new ManualClock(new Date()), [{ id: 'mtr_wf_events', eventName: 'lumiqo_events' }]).start();
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    stripe: { baseUrl: stripe.url, apiKey: 'sk_test_workflow', meters: { 'events.event': { eventName: 'lumiqo_events', meterId: 'mtr_wf_events' } } },
    demo: false,
    aroundInvocation: calls.aroundInvocation,
    // The processor's tenant cache and the workflows' AwaitPropagation, scaled down together (60 s / 90 s in AWS).
    processorCacheMs: 500,
    workflows: {
      // Shortened: the propagation and drain waits, the 30-day export window, and retry backoff.
      waitOverridesMs: { AwaitPropagation: 1_000, AwaitInFlightIngest: 0, AwaitStreamDrain: 20, ExportWindow: 0 },
      retryIntervalMs: 0,
      interceptTask: async (workflow: WorkflowName, state: string, call: () => Promise<unknown>) => {
        const fault = faults.get(`${workflow}/${state}`);
        if (fault && fault.remaining > 0) {
          fault.remaining--;
          throw fault.error();
        }
        return call();
      },
    },
  });
  aws = createAwsClients(local.clients);
  await Promise.all(['alpha', 'bravo'].map(createTenant));
}, 90_000);

afterAll(async () => {
  await local?.stop();
  await stripe?.close();
});

afterEach(() => faults.clear());

describe('access (R-DSR-1)', () => {
  it('runs Locate → ExportRecords → WriteExportManifest → Complete and exports exactly the subject’s records', async () => {
    const ann = await seed('alpha', [signup('ann.access@example.com'), signup('ann.access@example.com', { step: 2 })]);
    await seed('alpha', [signup('other.access@example.com')]);
    await seed('bravo', [signup('ann.access@example.com')]);

    const requestId = await openRequest('alpha', { type: 'access', subject: { kind: 'email', value: 'ann.access@example.com' } });
    const execution = await finished(requestId);

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(['Locate', 'ExportRecords', 'WriteExportManifest', 'Complete']);
    const done = await view('alpha', requestId);
    expect(done.status).toBe('completed');
    const lines = (await Promise.all(done.results!.export!.partUrls.map(async (url) => (await fetch(url)).text())))
      .join('\n')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { eventId: string; event: { properties: { email: string } } });
    expect(lines.map((l) => l.eventId).sort()).toEqual([...ann].sort());
    expect(lines.every((l) => l.event.properties.email === 'ann.access@example.com')).toBe(true);
  });
});

describe('erasure (R-DSR-2)', () => {
  it('deletes the subject everywhere, verifies, and signs a deletion record; other subjects and tenants stay', async () => {
    const ann = await seed('alpha', [signup('ann.erase@example.com'), signup('ann.erase@example.com', { n: 2 })]);
    const [bob] = await seed('alpha', [signup('bob.erase@example.com')]);
    const [bravoAnn] = await seed('bravo', [signup('ann.erase@example.com')]);
    // An earlier export of the subject, which the erasure must delete too.
    await finished(await openRequest('alpha', { type: 'access', subject: { kind: 'email', value: 'ann.erase@example.com' } }));

    const requestId = await openRequest('alpha', { type: 'erasure', subject: { kind: 'email', value: 'ann.erase@example.com' } });
    const execution = await finished(requestId);

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toEqual(['Locate', 'EraseRecords', 'EraseExports', 'VerifyErasure', 'SignDeletionRecord', 'Complete']);
    for (const id of ann) expect(await readEvent('alpha', id)).toBe(404);
    expect(await readEvent('alpha', bob)).toBe(200);
    expect(await readEvent('bravo', bravoAnn)).toBe(200);
    const done = await view('alpha', requestId);
    const record = done.results!.deletionRecord as SignedDeletionDocument;
    expect(record.document).toMatchObject({ kind: 'lumiqo.subject-erasure.v1', requestId, subjectHash: done.subjectHash });
    expect(record.document.deleted).toMatchObject({ events: 2, exports: expect.any(Number) });
    expect((record.document.deleted as Record<string, number>).exports).toBeGreaterThan(0);
    expect(await local.platform.exports.list(`${tenantObjectPrefix('alpha')}exports/subjects/${done.subjectHash}/`)).toEqual([]);
    expect(verifyDeletionDocument(record, await local.platform.signer.publicKeyPem())).toBe(true);
  });

  it('a task that fails once is retried by the state machine and the erasure completes', async () => {
    await seed('alpha', [signup('retry.erase@example.com')]);
    faults.set('erasure/EraseRecords', { remaining: 1, error: () => new Error('ThrottlingException: Rate exceeded') });

    const requestId = await openRequest('alpha', { type: 'erasure', subject: { kind: 'email', value: 'retry.erase@example.com' } });
    const execution = await finished(requestId);

    expect(execution.status).toBe('SUCCEEDED');
    expect(faults.get('erasure/EraseRecords')!.remaining).toBe(0);
    expect((await view('alpha', requestId)).status).toBe('completed');
  });

  it('a task that keeps failing is retried, then caught: the request is failed and the failure is in the audit log (R-SEC-6)', async () => {
    await seed('alpha', [signup('broken.erase@example.com')]);
    faults.set('erasure/EraseRecords', { remaining: 100, error: () => new Error('InternalServerError') });

    const requestId = await openRequest('alpha', { type: 'erasure', subject: { kind: 'email', value: 'broken.erase@example.com' } });
    const execution = await finished(requestId);

    expect(execution.status).toBe('FAILED');
    // The retrier: 1 call and 4 retries, then the Catch.
    expect(100 - faults.get('erasure/EraseRecords')!.remaining).toBe(5);
    expect(execution.states.slice(-1)).toEqual(['RecordFailure']);
    const failed = await view('alpha', requestId);
    expect(failed).toMatchObject({ status: 'failed', failure: { error: 'Error' } });
    const audit = await local.platform.audit.listForSubject('alpha', failed.subjectHash);
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ target: requestId, outcome: 'failure' })]));
  });

  it('a permanent error is not retried: one call, then the failure is recorded', async () => {
    await seed('alpha', [signup('perm.erase@example.com')]);
    faults.set('erasure/Locate', { remaining: 100, error: () => new PermanentTaskError('unknown request') });

    const requestId = await openRequest('alpha', { type: 'erasure', subject: { kind: 'email', value: 'perm.erase@example.com' } });
    const execution = await finished(requestId);

    expect(execution.status).toBe('FAILED');
    expect(100 - faults.get('erasure/Locate')!.remaining).toBe(1);
    expect(await view('alpha', requestId)).toMatchObject({ status: 'failed', failure: { error: 'PermanentTaskError' } });
  });

  it('during ingestion: no record of the subject received up to the request survives; later ones and bystanders stay', async () => {
    const email = 'busy.erase@example.com';
    await seed('alpha', Array.from({ length: 10 }, () => signup(email)));
    const accepted: { id: string; subject: boolean }[] = [];
    let ingesting = true;
    const ingestion = (async () => {
      for (let i = 0; ingesting; i++) {
        const batch = [signup(email, { i }), signup(`bystander${i}@example.com`)];
        const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKeys.alpha, body: { events: batch } });
        accepted.push({ id: answer.body.eventIds[0], subject: true }, { id: answer.body.eventIds[1], subject: false });
      }
    })();
    await eventually(async () => (accepted.length >= 10 ? true : undefined), 'ingestion under way');

    const requestId = await openRequest('alpha', { type: 'erasure', subject: { kind: 'email', value: email } });
    const execution = await finished(requestId);
    ingesting = false;
    await ingestion;

    expect(execution.status).toBe('SUCCEEDED');
    const done = await view('alpha', requestId);
    // Everything accepted has been processed once every bystander reads back (one stream, in order per tenant).
    for (const { id } of accepted.filter((a) => !a.subject)) {
      await eventually(async () => ((await readEvent('alpha', id)) === 200 ? true : undefined), `bystander ${id}`);
    }
    const subjectIds = accepted.filter((a) => a.subject).map((a) => a.id);
    const survivors = await local.platform.store.getEvents('alpha', subjectIds);
    expect(subjectIds.length).toBeGreaterThan(survivors.length);
    for (const event of survivors) expect(Date.parse(event.receivedAt)).toBeGreaterThan(Date.parse(done.receivedAt));
  });
});

describe('rectification and restriction (R-DSR-3)', () => {
  it('rectification corrects the stored record and moves the subject index to the new identifier', async () => {
    const [id] = await seed('alpha', [signup('old.rect@example.com', { name: 'Ann Smith' })]);

    const requestId = await openRequest('alpha', {
      type: 'rectification',
      subject: { kind: 'email', value: 'old.rect@example.com' },
      corrections: [{ path: '$..email', value: 'new.rect@example.com' }, { path: '$.properties.name', value: 'Ann Jones' }],
    });
    const execution = await finished(requestId);

    expect(execution.status).toBe('SUCCEEDED');
    const read = await request<{ event: { properties: Record<string, string> } }>(`${local.url}/v1/events/${id}`, { token: apiKeys.alpha });
    expect(read.body.event.properties).toMatchObject({ email: 'new.rect@example.com', name: 'Ann Jones' });
    const access = await openRequest('alpha', { type: 'access', subject: { kind: 'email', value: 'new.rect@example.com' } });
    await finished(access);
    expect((await view('alpha', access)).results!.counts).toMatchObject({ events: 1 });
  });

  it('restriction quarantines the subject’s records, old and new; lifting releases them', async () => {
    const email = 'held.restrict@example.com';
    const [before] = await seed('alpha', [signup(email)]);

    await finished(await openRequest('alpha', { type: 'restriction', subject: { kind: 'email', value: email } }));
    expect(await readEvent('alpha', before)).toBe(404);
    const during = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKeys.alpha, body: signup(email) });
    const [held] = during.body.eventIds;
    await eventually(async () => ((await local.platform.store.getEvents('alpha', [held])).length === 1 ? true : undefined), 'held event stored');
    // R-DSR-3: held, not processed: unreadable, and in the quarantine partition with the restricted record.
    expect(await readEvent('alpha', held)).toBe(404);
    expect(await itemsIn(dataKeys.quarantine('alpha'))).toBeGreaterThanOrEqual(2);

    const lift = await openRequest('alpha', { type: 'lift-restriction', subject: { kind: 'email', value: email } });
    expect((await finished(lift)).status).toBe('SUCCEEDED');
    expect(await readEvent('alpha', before)).toBe(200);
    expect(await readEvent('alpha', held)).toBe(200);
  });
});

describe('termination (R-TERM-1..6)', () => {
  /**
   * Starts the termination and waits for its certificate. With export first, the first execution ends once the
   * export is offered, and the purge runs in the execution the termination schedule starts at the window's end
   * (shortened here), R-TERM-2.
   */
  async function terminate(tenantId: string, election: string): Promise<{ executions: LocalExecution[]; status: TerminationView }> {
    const started = await admin(`/tenants/${tenantId}/termination`, { election });
    expect(started.status).toBe(202);
    const terminationId = String(started.body.terminationId);
    await finished(terminationId);
    const status = await eventually(async () => {
      const view = (await admin(`/tenants/${tenantId}/termination`)).body as unknown as TerminationView;
      return view.status === 'running' ? undefined : view;
    }, `termination of ${tenantId}`, 60_000);
    const executions = local.workflows.list().filter((e) => e.name.startsWith(terminationId));
    await Promise.all(executions.map((e) => e.done));
    return { executions, status };
  }

  it.each([
    ['immediate', [['Claim', 'Freeze', 'DrainStream', 'FlushUsage', 'ReportTenantUsage', 'PurgeTenantData', 'ShredKeys', 'VerifyPurge', 'IssueCertificate']]],
    ['export-then-delete', [
      ['Claim', 'Freeze', 'DrainStream', 'FlushUsage', 'ReportTenantUsage', 'ExportTenantData', 'WriteTenantManifest'],
      ['Claim', 'PurgeTenantData', 'ShredKeys', 'VerifyPurge', 'IssueCertificate'],
    ]],
  ])('election %s: freeze, drain, purge, shred, verify and a signed certificate; the other tenant keeps working', async (election, paths) => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    await createTenant(tenantId);
    const ids = await seed(tenantId, [signup('zoe@example.com'), signup('yan@example.com')]);

    const { executions, status } = await terminate(tenantId, election as string);

    expect(executions.map((e) => e.status)).toEqual(paths.map(() => 'SUCCEEDED'));
    expect(executions.map((e) => e.states.filter((s, i, all) => all[i - 1] !== s))).toEqual(paths);
    expect(status.status).toBe('completed');
    const certificate = status.certificate!;
    expect(verifyDeletionDocument(certificate, await local.platform.signer.publicKeyPem())).toBe(true);
    expect(certificate.document).toMatchObject({ tenantId, election, deleted: expect.objectContaining({ events: 2 }) });
    expect(Date.parse(certificate.document.backups.unrecoverableBy)).toBeGreaterThanOrEqual(Date.parse(certificate.document.purgedAt));
    // R-TERM-1: its key is refused; nothing of it is left in the table, the buckets or the keyring. Within the key
    // cache's 10 s (API_KEY_CACHE_MS) the key is still known and its tenant is terminated (403); after that the purged
    // key is unknown (401): which one depends on how long the execution took, both refuse.
    expect([401, 403]).toContain((await request(`${local.url}/v1/events/${ids[0]}`, { token: apiKeys[tenantId] })).status);
    for (const kind of ['event', 'api_call', 'metric', 'webhook']) expect(await itemsIn(dataKeys.byKind(tenantId, kind))).toBe(0);
    expect(await local.platform.payloads.countPrefix(tenantObjectPrefix(tenantId))).toBe(0);
    expect(await local.platform.exports.list(tenantObjectPrefix(tenantId))).toEqual([]);
    const tenant = await local.platform.directory.getTenant(tenantId);
    expect(tenant?.status).toBe('terminated');
    expect(await local.platform.keys.isTenantKeyUsable(tenant!.keyRef)).toBe(false);
    // R-TERM-6: the usage is in the billing ledger, which the purge leaves alone.
    const ledger = await local.platform.ledger.list(tenantId);
    expect(ledger.reduce((sum, e) => sum + Object.values(e.counts).reduce((a, b) => a + b, 0), 0)).toBe(2);
    // The other tenant is untouched and still works.
    expect(await seed('bravo', [signup('still.here@example.com')])).toHaveLength(1);
  });
});

describe('R-TERM-1, R-BILL-2: termination reports the open usage to Stripe before the purge', () => {
  async function deliver(event: object) {
    const payload = JSON.stringify(event);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: local.stripeWebhookSecret });
    expect((await request(`${local.url}${WEBHOOK_PATH}`, { body: payload, headers: { 'stripe-signature': signature } })).status).toBe(200);
  }

  it('the usage function sends today\'s total of the stored events; the marks outlive the purge; a fault in the send is retried, never doubled', async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const customer = `cus_wf${randomUUID().slice(0, 8)}`;
    await createTenant(tenantId);
    const now = Math.floor(Date.now() / 1000);
    await deliver(checkoutCompleted(tenantId, customer, now - 10, `sub_wf${tenantId.slice(2)}`));
    await deliver(subscriptionEvent('created', { customer, subscription: `sub_wf${tenantId.slice(2)}`, price: 'price_NotMapped', created: now - 5 }));
    await seed(tenantId, [signup('una@example.com'), signup('ivo@example.com'), signup('eve@example.com')]);
    // The first send is cut after Stripe accepted it: the SDK's retry meets the duplicate 400, which counts as delivered.
    stripe.dropConnectionAfterAccept(1);

    const started = await admin(`/tenants/${tenantId}/termination`, { election: 'immediate' });
    const execution = await finished(String(started.body.terminationId));

    expect(execution.status).toBe('SUCCEEDED');
    const today = new Date().toISOString().slice(0, 10);
    expect(stripe.dayValue('lumiqo_events', customer, today)).toBe(3);
    expect(stripe.accepted.filter((e) => e.customer === customer)).toHaveLength(1);
    const ledger = new DynamoUsageLedger(aws.dynamo, local.deployment.names.ledgerTable);
    expect((await ledger.dayTotals(tenantId, today))['events.event']).toBe(3);
    expect((await ledger.deliveries(tenantId, today)).map((d) => [d.meter, d.value, d.outcome, d.reason])).toEqual([['events.event', 3, 'duplicate', 'termination']]);
  });
});

/** R-SEC-5: the "can" half of least privilege, for every AWS call the functions made in this file (issue 9). */
test('every AWS call the functions made here is allowed by their synthesized roles', () => {
  expect(calls.functions().length).toBeGreaterThan(0);
  expect(calls.denied()).toEqual([]);
});
