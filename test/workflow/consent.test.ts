/**
 * Consent and objection end to end (R-DSR-4), through the local platform: the `consent` state machine as CDK
 * synthesizes it (SetConsent → AwaitPropagation → Complete) in aws-local-stepfunctions, the processor's tenant cache
 * and the propagation wait scaled down together (500 ms / 1 s for 60 s / 90 s), and the stores read raw. An operator
 * sets flags with the CLI; a tenant with its API key. Events that mention a subject who objected to analytics never
 * reach the table; an objection to AI keeps them stored; the tenant's own switch covers every event.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { runCli } from '../../bin/lumiqo-admin';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { allowsPurpose } from '../../lambdas/domain/consent';
import { dataKeys, INDEX } from '../../lambdas/domain/keys';
import type { PrivacyRequestView } from '../../lambdas/domain/privacy-requests';
import { localCallCheck } from '../deployed/allowed-calls';
import { eventually, request } from '../integration/http';
import { TEST_PLATFORM } from '../support/local-platform';

let local: LocalPlatform;
let aws: AwsClients;
let apiKey: string;
const calls = localCallCheck();
/** Processor invocations finished so far: a batch sent when none is pending is processed once this grows. */
let processorRuns = 0;

async function cli(...argv: string[]): Promise<{ code: number; output: Record<string, unknown> }> {
  const lines: string[] = [];
  const code = await runCli(argv, { out: (line) => lines.push(line), env: { LUMIQO_URL: local.url, LUMIQO_ADMIN_TOKEN: local.adminToken } });
  return { code, output: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}

/** Sends the events, then a marker after them, and waits until the marker is stored: every event before it was processed. */
async function send(events: object[]): Promise<string[]> {
  const marker = { type: 'event', name: 'marker', timestamp: new Date().toISOString(), properties: {} };
  const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKey, body: { events: [...events, marker] } });
  expect(answer.status).toBe(202);
  const ids = answer.body.eventIds;
  await eventually(async () => ((await request(`${local.url}/v1/events/${ids[ids.length - 1]}`, { token: apiKey })).status === 200 ? true : undefined), 'the marker');
  return ids.slice(0, -1);
}

/** The event ids of kind `event` stored for the tenant, read raw from the table's by-kind index. */
async function storedIds(): Promise<string[]> {
  const answer = await aws.dynamo.send(
    new QueryCommand({ TableName: local.deployment.names.dataTable, IndexName: INDEX.byKind, KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': dataKeys.byKind('consenting', 'event') } }),
  );
  return (answer.Items ?? []).map((item) => item.eventId as string);
}

const signup = (email: string) => ({ type: 'event', name: 'signup', timestamp: new Date().toISOString(), properties: { email } });

async function subjectConsent(value: string, ...flags: string[]): Promise<PrivacyRequestView> {
  const opened = await cli('consent', 'consenting', ...flags, '--subject-kind', 'email', '--subject-value', value);
  expect(opened).toMatchObject({ code: 0, output: { type: 'consent', status: 'received' } });
  return eventually(async () => {
    const { output } = await cli('privacy-status', 'consenting', String(opened.output.requestId));
    return output.status === 'completed' ? (output as unknown as PrivacyRequestView) : undefined;
  }, 'the consent request');
}

beforeAll(async () => {
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    demo: false,
    aroundInvocation: (fn, invocation) =>
      calls.aroundInvocation(fn, async () => {
        const result = await invocation();
        if (fn === 'processor') processorRuns += 1;
        return result;
      }),
    processorCacheMs: 500,
    workflows: { waitOverridesMs: { AwaitPropagation: 1_000 }, retryIntervalMs: 0 },
  });
  aws = createAwsClients(local.clients);
  expect((await cli('create-tenant', 'consenting', '--name', 'Consenting Co')).code).toBe(0);
  apiKey = String((await cli('issue-key', 'consenting', '--scopes', 'ingest,read,privacy')).output.apiKey);
}, 90_000);

afterAll(async () => local?.stop());

describe('R-DSR-4: consent and objection through the consent state machine', () => {
  it('an objection to analytics: once the request completed, no new event of the subject is stored; others are', async () => {
    const [before] = await send([signup('ann.objects@example.com')]);

    const done = await subjectConsent('ann.objects@example.com', '--analytics', 'off');
    const [objected, bob] = await send([signup('ann.objects@example.com'), signup('bob.consents@example.com')]);

    expect(done.steps.map((s) => s.name)).toEqual(['received', 'started', 'set-consent', 'complete']);
    const stored = await storedIds();
    expect(stored).toEqual(expect.arrayContaining([before, bob]));
    expect(stored).not.toContain(objected);
    expect((await request(`${local.url}/v1/events/${objected}`, { token: apiKey })).status).toBe(404);
    const { output } = await cli('consent-status', 'consenting');
    expect(output).toMatchObject({ subjects: [{ subjectHash: done.subjectHash, purposes: { analytics: false, ai: true } }] });
    // R-SEC-6: every step is in the subject's audit trail.
    const audit = await local.platform.audit.listForSubject('consenting', done.subjectHash);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['privacy.request.open', 'privacy.consent.set-consent', 'privacy.consent.complete']));
    // … and an operator reads it with the CLI, by identifier or by hash (R-SEC-6).
    for (const by of [['--subject-kind', 'email', '--subject-value', 'ann.objects@example.com'], ['--subject-hash', done.subjectHash]]) {
      const { code, output } = await cli('subject-audit', 'consenting', ...by);
      expect(code).toBe(0);
      expect(output.subjectHash).toBe(done.subjectHash);
      expect((output.items as { action: string }[]).map((e) => e.action)).toEqual(expect.arrayContaining(['privacy.consent.set-consent']));
    }
    // A request that did not fail can be neither retried nor closed (R-DSR-5).
    expect(await cli('privacy-retry', 'consenting', done.requestId)).toMatchObject({ code: 1, output: { error: { code: 'conflict' } } });
    expect(await cli('privacy-close', 'consenting', done.requestId, '--reason', 'duplicate')).toMatchObject({ code: 1, output: { error: { code: 'conflict' } } });

    // Consent given again: stored again.
    await subjectConsent('ann.objects@example.com', '--analytics', 'on');
    const [again] = await send([signup('ann.objects@example.com')]);
    expect(await storedIds()).toContain(again);
  });

  it('an objection to AI: the events are stored, and the AI port refuses them', async () => {
    const done = await subjectConsent('cy.no-ai@example.com', '--ai', 'off');
    const [id] = await send([signup('cy.no-ai@example.com')]);

    const [stored] = await local.platform.store.getEvents('consenting', [id]);
    expect(stored.subjects).toContain(done.subjectHash);
    expect(allowsPurpose(await local.platform.requests.consentFlags('consenting'), 'ai', stored.subjects)).toBe(false);
    expect(allowsPurpose(await local.platform.requests.consentFlags('consenting'), 'analytics', stored.subjects)).toBe(true);
  });

  it('the tenant’s own switch (API key): analytics off stores nothing new; on again stores again', async () => {
    const off = await request(`${local.url}/v1/privacy/consent`, { token: apiKey, body: { purposes: { analytics: false } } });
    expect(off).toMatchObject({ status: 200, body: { tenant: { analytics: false, ai: true } } });
    await new Promise((resolve) => setTimeout(resolve, 600)); // the scaled-down processor cache
    const runs = processorRuns;
    const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKey, body: { events: [signup('dora@example.com')] } });
    expect(answer.status).toBe(202);
    await eventually(async () => (processorRuns > runs ? true : undefined), 'the processor ran over the event');

    expect((await request(`${local.url}/v1/privacy/consent`, { token: apiKey, body: { purposes: { analytics: true } } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const [later] = await send([signup('dora@example.com')]);

    const stored = await storedIds();
    expect(stored).toContain(later);
    expect(stored).not.toContain(answer.body.eventIds[0]);
  });
});

/** R-SEC-5: every AWS call the functions made here is allowed by their synthesized roles (issue 9). */
test('every AWS call the functions made here is allowed by their synthesized roles', () => {
  expect(calls.functions().length).toBeGreaterThan(0);
  expect(calls.denied()).toEqual([]);
});
