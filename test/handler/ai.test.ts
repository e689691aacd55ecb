/**
 * The AI handler (issue 13) over the handler tier's in-memory platform, with the real openai SDK (adapters/openai-chat.ts)
 * against the scripted local server: routes, status codes and error codes (never a 5xx for bad input), scopes,
 * feedback and insights, the insight task.
 */
import { OpenAiChatModel } from '../../lambdas/adapters/openai-chat';
import { MemoryAiStore } from '../../lambdas/adapters/memory-ai-store';
import { MemoryUsageMarks } from '../../lambdas/adapters/memory-billing';
import { createAiHandler, createInsightTaskHandler, type AiDeps } from '../../lambdas/ai/handler';
import { Assistant } from '../../lambdas/domain/ai/assistant';
import { DEFAULT_AI_SETTINGS } from '../../lambdas/domain/ai/settings';
import { rollupDeltas } from '../../lambdas/domain/rollups';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai';
import { apiRequest, bearer, createTenant, ingestAndProcess, issueKey, NOW, removeKeyDirectories, tenantWithKey, testPlatform, type TestPlatform } from './fixtures';

let fake: FakeOpenAi;
beforeAll(async () => {
  fake = await startFakeOpenAi();
});
afterAll(async () => {
  removeKeyDirectories();
  await fake.close();
});

function aiWorld(configured = true) {
  const platform = testPlatform();
  const store = new MemoryAiStore();
  const usage = new MemoryUsageMarks();
  const settings = { ...DEFAULT_AI_SETTINGS, providerTimeoutMs: 5000, ...(configured ? { baseUrl: fake.baseUrl } : {}) };
  const assistant = new Assistant({
    store,
    crypto: platform.crypto,
    ...(configured ? { model: new OpenAiChatModel({ baseUrl: fake.baseUrl, apiKey: async () => 'sk-handler-secret', timeoutMs: 5000 }) } : {}),
    settings,
    clock: platform.clock,
    audit: platform.audit,
    retentionDays: () => 30,
    usage,
  });
  const deps: AiDeps = {
    directory: platform.directory,
    clock: platform.clock,
    store,
    assistant,
    consent: platform.requests,
    tenantScoped: async () => ({ store: platform.store, payloads: platform.payloads, crypto: platform.crypto }),
    retentionDays: () => 30,
  };
  return { platform, store, usage, http: createAiHandler(deps), task: createInsightTaskHandler(deps) };
}

async function keysOf(platform: TestPlatform, tenantId: string) {
  await createTenant(platform, tenantId);
  return { ai: (await issueKey(platform, tenantId, ['ai'])).apiKey, read: (await issueKey(platform, tenantId, ['read'])).apiKey };
}

const json = (answer: { body: string }) => JSON.parse(answer.body);

describe('routes and codes', () => {
  test('start, continue, list, get, feedback; another tenant and unknown ids are 404s', async () => {
    const { platform, http } = aiWorld();
    const acme = await keysOf(platform, 'acme');
    const globex = await keysOf(platform, 'globex');
    fake.replies({ content: 'Nothing yet.' });
    const started = await http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(acme.ai), body: { question: 'How are checkouts?' } }));
    expect(started.statusCode).toBe(201);
    const { conversationId, message } = json(started);
    const next = await http(apiRequest('POST', '/v1/ai/conversations/{conversationId}/messages', { headers: bearer(acme.ai), pathParameters: { conversationId }, body: { question: 'And now?' } }));
    expect(next.statusCode).toBe(201);
    const listed = json(await http(apiRequest('GET', '/v1/ai/conversations', { headers: bearer(acme.ai) })));
    expect(listed.items).toEqual([expect.objectContaining({ conversationId, title: 'How are checkouts?', turns: 2 })]);
    const got = json(await http(apiRequest('GET', '/v1/ai/conversations/{conversationId}', { headers: bearer(acme.ai), pathParameters: { conversationId } })));
    expect(got.messages.map((m: { question: string }) => m.question)).toEqual(['How are checkouts?', 'And now?']);

    const feedback = (key: string, messageId: string, body: unknown) =>
      http(apiRequest('POST', '/v1/ai/conversations/{conversationId}/messages/{messageId}/feedback', { headers: bearer(key), pathParameters: { conversationId, messageId }, body: body as object }));
    expect((await feedback(acme.ai, message.messageId, { rating: 'down', reason: 'too vague' })).statusCode).toBe(200);
    expect((await feedback(globex.ai, message.messageId, { rating: 'up' })).statusCode).toBe(404);
    expect((await feedback(acme.ai, 'msg_0000', { rating: 'up' })).statusCode).toBe(404);
    expect((await feedback(acme.ai, `msg_${'X'.repeat(5000)}`, { rating: 'up' })).statusCode).toBe(404);
    expect((await http(apiRequest('GET', '/v1/ai/conversations/{conversationId}', { headers: bearer(globex.ai), pathParameters: { conversationId } }))).statusCode).toBe(404);
    expect((await http(apiRequest('GET', '/v1/ai/conversations/{conversationId}', { headers: bearer(acme.ai), pathParameters: { conversationId: '../../T#globex' } }))).statusCode).toBe(404);
    expect(platform.audit.items.map((i) => i.action).filter((a) => String(a).startsWith('ai.'))).toEqual(['ai.conversation.start', 'ai.conversation.message', 'ai.feedback']);
  });

  test('bad input answers 4xx with a stable code, never 5xx; a key without the ai scope 403', async () => {
    const { platform, http } = aiWorld();
    const acme = await keysOf(platform, 'acme');
    const post = (body: string | object, key = acme.ai) => http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(key), body }));
    expect(json(await post('{not json')).error.code).toBe('malformed_json');
    expect((await post({ question: 'x'.repeat(20_000) })).statusCode).toBe(413);
    expect(json(await post({ question: 42 })).error.code).toBe('invalid_request');
    expect(json(await post({ question: 'hi' }, acme.read))).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect((await post({ question: 'hi' }, 'lq_not_a_key')).statusCode).toBe(401);
    expect((await http(apiRequest('GET', '/v1/ai/insights', { headers: bearer(acme.ai), query: { limit: 'many' } }))).statusCode).toBe(400);
    expect((await http(apiRequest('GET', '/v1/ai/insights', { headers: bearer(acme.ai), query: { replayFrom: '2026-03-02T00:00:00Z', replayTo: '2026-01-01T00:00:00Z' } }))).statusCode).toBe(400);
  });

  test('a provider failure answers 424 ai_provider_error naming no key and no provider text; unconfigured answers 424 ai_not_configured', async () => {
    const { platform, http } = aiWorld();
    const acme = await keysOf(platform, 'acme');
    fake.replies({ status: 401, error: 'Incorrect API key provided: sk-handler-secret' });
    const failed = await http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(acme.ai), body: { question: 'hi' } }));
    expect(failed.statusCode).toBe(424);
    expect(json(failed).error.code).toBe('ai_provider_error');
    expect(failed.body).not.toContain('sk-handler-secret');

    const unconfigured = aiWorld(false);
    const key = (await keysOf(unconfigured.platform, 'acme')).ai;
    const answer = await unconfigured.http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(key), body: { question: 'hi' } }));
    expect([answer.statusCode, json(answer).error.code]).toEqual([424, 'ai_not_configured']);
  });
});

describe('R-DSR-4, R-AI-4: consent flags that exclude AI', () => {
  const ANN = 'ann.objects@acme.example';
  const BOB = 'bob.allows@acme.example';
  const sampleAll = { toolCalls: [{ name: 'sample_events', arguments: { kind: 'event', name: 'signup', status_class: null, from: null, to: null, limit: 5 } }] };
  const off = (platform: TestPlatform, subjectHash: string | undefined) =>
    platform.requests.setConsent({ tenantId: 'acme', ...(subjectHash ? { subjectHash } : {}), off: ['ai'], updatedAt: NOW.toISOString(), updatedBy: 'test' });

  async function signups(platform: TestPlatform, key: string) {
    const [annId, bobId] = await ingestAndProcess(platform, key, [
      { type: 'event', name: 'signup', timestamp: NOW.toISOString(), properties: { email: ANN, marker: 'ANN-RECORD' } },
      { type: 'event', name: 'signup', timestamp: NOW.toISOString(), properties: { email: BOB, marker: 'BOB-RECORD' } },
    ]);
    const stored = (await platform.store.queryEvents({ tenantId: 'acme', limit: 10 })).items;
    return { annId, bobId, annHash: stored.find((e) => e.eventId === annId)!.subjects[0] };
  }

  test('a subject that objected to ai: its record never reaches the provider, a tool result or the conversation; another subject\'s does', async () => {
    const { platform, http, store } = aiWorld();
    const key = await tenantWithKey(platform, 'acme');
    const { annId, bobId, annHash } = await signups(platform, key);
    await off(platform, annHash);
    const before = fake.requests.length;
    fake.replies(sampleAll, { content: 'One signup.' });
    const answer = await http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(key), body: { question: 'Show me signups' } }));
    expect(answer.statusCode).toBe(201);
    const sent = fake.requests.slice(before).map((r) => r.raw).join('\n');
    // can: the other subject's record is sent (redacted); the objecting subject's record is not, in any form.
    expect(sent).toContain('BOB-RECORD');
    expect(sent).toContain(bobId);
    expect(sent).not.toContain('ANN-RECORD');
    expect(sent).not.toContain(annId);
    expect(json(answer).message.sources).toEqual([`event:${bobId}`]);
    expect([...store.conversations.values()].flatMap((c) => c.subjects ?? [])).not.toContain(annHash);
  });

  test('a tenant-wide ai objection answers 403 ai_objected before any provider call; reading conversations still works; allowed again, it asks', async () => {
    const { platform, http } = aiWorld();
    const key = await tenantWithKey(platform, 'acme');
    await off(platform, undefined);
    const before = fake.requests.length;
    const refused = await http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(key), body: { question: 'hi' } }));
    expect([refused.statusCode, json(refused).error.code]).toEqual([403, 'ai_objected']);
    expect(fake.requests.length).toBe(before);
    expect((await http(apiRequest('GET', '/v1/ai/conversations', { headers: bearer(key) }))).statusCode).toBe(200);
    await platform.requests.setConsent({ tenantId: 'acme', off: [], updatedAt: NOW.toISOString(), updatedBy: 'test' });
    fake.replies({ content: 'Hello.' });
    expect((await http(apiRequest('POST', '/v1/ai/conversations', { headers: bearer(key), body: { question: 'hi' } }))).statusCode).toBe(201);
    expect(fake.requests.length).toBe(before + 1);
  });
});

describe('R-BILL-2: ai_tokens usage marks', () => {
  test('one mark per provider call keyed by the API Gateway request id: the same request again is counted once, another request on its own', async () => {
    const { platform, http, usage } = aiWorld();
    const key = await tenantWithKey(platform, 'acme');
    const ask = (requestId: string) => {
      const event = apiRequest('POST', '/v1/ai/conversations', { headers: bearer(key), body: { question: 'How many signups?' } });
      return http({ ...event, requestContext: { ...event.requestContext, requestId } });
    };
    const usageOf = { usage: { input: 700, cached: 300, output: 50, reasoning: 20 } };
    fake.replies({ toolCalls: [{ name: 'list_series', arguments: { hours_back: 1 } }], ...usageOf }, { content: 'None.', ...usageOf });
    expect((await ask('8f0c2b1e-0000-4000-8000-000000000001')).statusCode).toBe(201);
    const day = NOW.toISOString().slice(0, 10);
    expect([...usage.marks.values()].map((m) => [m.sourceId, m.quantities])).toEqual([
      ['ai#8f0c2b1e-0000-4000-8000-000000000001#1', { ai_tokens: 750 }],
      ['ai#8f0c2b1e-0000-4000-8000-000000000001#2', { ai_tokens: 750 }],
    ]);
    fake.replies({ toolCalls: [{ name: 'list_series', arguments: { hours_back: 1 } }], ...usageOf }, { content: 'None.', ...usageOf });
    expect((await ask('8f0c2b1e-0000-4000-8000-000000000001')).statusCode).toBe(201);
    expect(usage.totals('acme', day)).toEqual({ ai_tokens: 1500 });
    fake.replies({ content: 'None.', ...usageOf });
    expect((await ask('8f0c2b1e-0000-4000-8000-000000000002')).statusCode).toBe(201);
    expect(usage.totals('acme', day)).toEqual({ ai_tokens: 2250 });
  });
});

describe('R-AI-6: the insight task and GET /v1/ai/insights', () => {
  test('the task detects a volume drop for enrolled tenants only, stores it with evidence; the route lists it and a replay shows it without storing', async () => {
    const { platform, http, task, store } = aiWorld();
    const acme = await keysOf(platform, 'acme');
    await keysOf(platform, 'globex');
    const hour = 3600_000;
    const top = Math.floor(NOW.getTime() / hour) * hour;
    const events = [];
    for (let h = 96; h >= 1; h--) {
      const n = h === 1 ? 3 : 60;
      for (let i = 0; i < n; i++) events.push({ type: 'event' as const, name: 'signup', timestamp: new Date(top - h * hour + i * 1000).toISOString(), properties: {} });
    }
    for (const tenantId of ['acme', 'globex']) await platform.store.applyRollups(rollupDeltas(events.map((event) => ({ tenantId, event, expiresAt: 1e10 }))));
    await store.enrolTenant('acme');

    expect(await task({ task: 'detect-insights' })).toEqual({ tenants: 1, insights: 1, failed: [] });
    const listed = json(await http(apiRequest('GET', '/v1/ai/insights', { headers: bearer(acme.ai) })));
    expect(listed.items).toEqual([expect.objectContaining({ series: 'event:signup', metric: 'volume', direction: 'down', value: 3, baseline: 60 })]);
    expect(listed.items[0].evidence.length).toBeGreaterThan(0);
    expect(listed.items[0]).not.toHaveProperty('tenantId');
    // Re-running rewrites rather than repeats.
    await task({ task: 'detect-insights' });
    expect(store.insights.size).toBe(1);
    // Replay: the same flag over a past window, not stored for globex (never enrolled).
    const replay = json(await http(apiRequest('GET', '/v1/ai/insights', { headers: bearer((await issueKey(platform, 'globex', ['ai'])).apiKey), query: { replayFrom: new Date(top - 3 * hour).toISOString(), replayTo: new Date(top).toISOString() } })));
    expect(replay.items).toEqual([expect.objectContaining({ series: 'event:signup', metric: 'volume' })]);
    expect([...store.insights.values()].map((i) => i.tenantId)).toEqual(['acme']);
  });
});

describe('R-SEC-5: the operator routes', () => {
  test('an operator asks and reads for the tenant in the path, audited as the operator; an unknown or malformed tenant is a 404', async () => {
    const { platform, http } = aiWorld();
    await keysOf(platform, 'acme');
    fake.replies({ content: 'For the operator.' });
    const asked = await http(apiRequest('POST', '/v1/admin/tenants/{tenantId}/ai/conversations', { pathParameters: { tenantId: 'acme' }, body: { question: 'How are things?' } }));
    expect(asked.statusCode).toBe(201);
    const { conversationId } = json(asked);
    const listed = json(await http(apiRequest('GET', '/v1/admin/tenants/{tenantId}/ai/conversations', { pathParameters: { tenantId: 'acme' } })));
    expect(listed.items.map((c: { conversationId: string }) => c.conversationId)).toEqual([conversationId]);
    expect((await http(apiRequest('GET', '/v1/admin/tenants/{tenantId}/ai/conversations/{conversationId}', { pathParameters: { tenantId: 'acme', conversationId } }))).statusCode).toBe(200);
    expect((await http(apiRequest('GET', '/v1/admin/tenants/{tenantId}/ai/insights', { pathParameters: { tenantId: 'acme' } }))).statusCode).toBe(200);
    expect(platform.audit.items.find((i) => i.action === 'ai.conversation.start')).toMatchObject({ actor: expect.stringMatching(/^operator:arn:aws:iam::/) });
    expect((await http(apiRequest('GET', '/v1/admin/tenants/{tenantId}/ai/conversations', { pathParameters: { tenantId: 'nobody' } }))).statusCode).toBe(404);
    expect((await http(apiRequest('GET', '/v1/admin/tenants/{tenantId}/ai/conversations', { pathParameters: { tenantId: 'T#x' } }))).statusCode).toBe(404);
    // Without a verified operator identity (API Gateway would not let it through): 403.
    expect((await http(apiRequest('GET', '/v1/admin/tenants/{tenantId}/ai/conversations', { pathParameters: { tenantId: 'acme' }, operator: null }))).statusCode).toBe(403);
  });
});
