/**
 * The conversation loop (R-AI-1..5, OWASP LLM01/02/06/10) over the in-memory AI store, the real envelope encryption
 * (local keyring) and a scripted in-process model: redaction of everything sent, tokens restored in what is shown,
 * tokens and cost stored (cached and reasoning counted once), the tool-call cap, unknown tools and arguments answered
 * as errors, the rate and the budget checked before any provider call, provider failures as ai_provider_error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvelopeTenantCrypto, LocalKeyringProvider, LocalTenantKeyManager } from '../../../lambdas/adapters/envelope-crypto';
import { MemoryAuditLog } from '../../../lambdas/adapters/memory';
import { MemoryAiStore } from '../../../lambdas/adapters/memory-ai-store';
import { MemoryUsageMarks } from '../../../lambdas/adapters/memory-billing';
import { Assistant, type AssistantDeps } from '../../../lambdas/domain/ai/assistant';
import { AiProviderError, type ChatModel, type ChatRequest, type ChatResponse } from '../../../lambdas/domain/ai/ports';
import { DEFAULT_AI_SETTINGS, costUsd, type AiSettings } from '../../../lambdas/domain/ai/settings';
import type { TenantToolReader } from '../../../lambdas/domain/ai/tools';
import { DomainError, type Tenant } from '../../../lambdas/domain/model';
import { ManualClock } from '../../support/manual-clock';

const NOW = new Date('2026-12-01T12:00:00.000Z');
let dir: string;
let tenant: Tenant;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ai-assistant-'));
  const keyRef = await new LocalTenantKeyManager(dir).createTenantKey('acme');
  tenant = { tenantId: 'acme', name: 'Acme', plan: 'business', status: 'active', keyRef, subjectKeyCiphertext: 'x', createdAt: NOW.toISOString() };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Reply = Omit<ChatResponse, 'model' | 'usage'> & { usage?: ChatResponse['usage'] };
/** A model that answers from a script and keeps every request. */
class ScriptedModel implements ChatModel {
  readonly requests: ChatRequest[] = [];
  constructor(private readonly script: (request: ChatRequest, i: number) => Reply | Error) {}
  async complete(request: ChatRequest): Promise<ChatResponse> {
    this.requests.push(JSON.parse(JSON.stringify(request)));
    const reply = this.script(request, this.requests.length - 1);
    if (reply instanceof Error) throw reply;
    return { model: request.model, usage: { input: 1000, cachedInput: 400, output: 200, reasoning: 50 }, ...reply };
  }
  sent(): string {
    return JSON.stringify(this.requests);
  }
}

const tool = (name: string, args: unknown) => ({ content: null, toolCalls: [{ id: `c_${name}`, name, arguments: JSON.stringify(args) }] });
const answer = (content: string) => ({ content, toolCalls: [] });

/** A reader with one failing checkout by a customer whose e-mail and IP are in the payload. */
function reader() {
  const calls: string[] = [];
  const r: TenantToolReader = {
    async rollups(from, to, series) {
      calls.push(`rollups ${from} ${to} ${series ?? ''}`);
      return [{ minute: '2026-12-01T11:00Z', series: 'api:POST /checkout', counters: { count: 40, errors5xx: 12 } }];
    },
    async events(query) {
      calls.push(`events ${JSON.stringify(query)}`);
      return [{
        eventId: 'e_1', kind: 'api_call', name: 'POST /checkout', timestamp: '2026-12-01T11:05:00.000Z', receivedAt: '2026-12-01T11:05:01.000Z',
        attributes: { status: 502, latencyMs: 812 },
        event: { type: 'api_call', method: 'POST', route: '/checkout', status: 502, latencyMs: 812, timestamp: '2026-12-01T11:05:00.000Z', properties: { email: 'ann@example.com', ip: '203.0.113.9', note: 'card 4111 1111 1111 1111' } },
      }];
    },
    async insights() {
      calls.push('insights');
      return [];
    },
  };
  return { reader: r, calls };
}

function world(model: ChatModel | undefined, settings: Partial<AiSettings> = {}) {
  const store = new MemoryAiStore();
  const usage = new MemoryUsageMarks();
  const audit = new MemoryAuditLog();
  const clock = new ManualClock(NOW);
  const deps: AssistantDeps = {
    store,
    crypto: new EnvelopeTenantCrypto(new LocalKeyringProvider(dir)),
    ...(model ? { model } : {}),
    settings: { ...DEFAULT_AI_SETTINGS, baseUrl: 'http://127.0.0.1:1/v1', ...settings },
    clock,
    audit,
    retentionDays: () => 90,
    usage,
  };
  return { assistant: new Assistant(deps), store, audit, clock, usage };
}

const codeOf = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: unknown) => (e instanceof DomainError ? `${e.status} ${e.code}` : String(e)));

describe('a turn with tool calls', () => {
  test('question and tool results go out redacted; the answer comes back with the values; stored with tokens, cost, tool calls and sources', async () => {
    const model = new ScriptedModel((request, i) => {
      if (i === 0) return tool('count_events', { kind: 'api_call', name: 'POST /checkout', status_class: '5xx', from: null, to: null });
      if (i === 1) return tool('sample_events', { kind: 'api_call', name: 'POST /checkout', status_class: '5xx', from: null, to: null, limit: 2 });
      // The model refers to the customer by the token it saw in the tool result.
      const token = /⟨email_\d+⟩/.exec(String(request.messages.filter((m) => m.role === 'tool').at(-1)?.content))?.[0];
      return answer(`12 of 40 checkouts failed; one was by ${token}.`);
    });
    const { assistant, store, audit } = world(model);
    const { reader: r, calls } = reader();

    const { conversationId, message } = await assistant.start({ tenant, actor: 'api-key:k1', reader: r }, { question: 'Why did checkout fail for bob@example.org?' });

    // R-AI-4: nothing personal in anything sent; the tokens are.
    const sent = model.sent();
    for (const value of ['bob@example.org', 'ann@example.com', '203.0.113.9', '4111 1111 1111 1111']) expect(sent).not.toContain(value);
    expect(sent).toContain('⟨email_1⟩'); // bob, in the question
    expect(sent).toContain('⟨email_2⟩'); // ann, in the payload
    expect(sent).toContain('⟨ip_1⟩');
    // The answer as shown: values back.
    expect(message.answer).toBe('12 of 40 checkouts failed; one was by ann@example.com.');
    expect(message.question).toBe('Why did checkout fail for bob@example.org?');
    expect(calls).toHaveLength(2);
    // R-AI-5: three provider calls' tokens; cached and reasoning are subsets, counted once in the cost.
    expect(message.usage).toEqual({ input: 3000, cachedInput: 1200, output: 600, reasoning: 150 });
    const price = DEFAULT_AI_SETTINGS.prices[DEFAULT_AI_SETTINGS.model];
    expect(message.costUsd).toBeCloseTo((1800 * price.inputPerMTok + 1200 * price.cachedInputPerMTok + 600 * price.outputPerMTok) / 1e6, 10);
    expect(message.toolCalls.map((c) => [c.name, c.ok])).toEqual([['count_events', true], ['sample_events', true]]);
    expect(message.sources).toEqual(expect.arrayContaining(['event:e_1', expect.stringMatching(/^rollup:api:POST \/checkout@/)]));
    // Stored sealed: the raw items hold neither the question nor the e-mails.
    const raw = JSON.stringify([...store.conversations.values(), ...store.messages.values()]);
    for (const value of ['bob@example.org', 'ann@example.com', 'checkout fail']) expect(raw).not.toContain(value);
    expect((await store.monthUsage('acme', '2026-12')).tokens).toBe(3600);
    expect(audit.items).toHaveLength(1);
    // A second turn replays the first (store is false upstream) and keeps the tokens stable.
    model.requests.length = 0;
    const again = new ScriptedModel(() => answer('Still ⟨email_1⟩.'));
    const second = world(again);
    for (const [k, v] of store.conversations) second.store.conversations.set(k, v);
    const next = await second.assistant.continue({ tenant, actor: 'api-key:k1', reader: r }, conversationId, { question: 'And bob@example.org again?' });
    expect(next.message.answer).toBe('Still bob@example.org.');
    expect(JSON.stringify(again.requests[0].messages)).toContain('12 of 40 checkouts failed');
    expect(again.sent()).not.toContain('bob@example.org');
  });

  test('OWASP LLM06: past maxToolCallsPerTurn the model gets no tools and must answer; extra calls are refused unrun', async () => {
    const model = new ScriptedModel((request) =>
      request.tools.length > 0 ? { content: null, toolCalls: [1, 2, 3].map((n) => ({ id: `c${n}`, name: 'list_series', arguments: '{"hours_back":1}' })) } : answer('done'),
    );
    const { assistant } = world(model, { maxToolCallsPerTurn: 4 });
    const { reader: r, calls } = reader();
    const { message } = await assistant.start({ tenant, actor: 'api-key:k1', reader: r }, { question: 'loop forever' });
    expect(message.answer).toBe('done');
    expect(calls).toHaveLength(4);
    expect(message.toolCalls.filter((c) => !c.ok)).toHaveLength(2);
    expect(model.requests.at(-1)!.tools).toEqual([]);
    expect(model.requests).toHaveLength(3);
  });

  test('OWASP LLM01: a tool call naming a tenant, an unknown tool or malformed arguments is answered as an error and never run', async () => {
    const model = new ScriptedModel((_request, i) =>
      [
        tool('count_events', { kind: 'api_call', name: null, status_class: null, from: null, to: null, tenant_id: 'globex' }),
        tool('read_tenant', { tenantId: 'globex' }),
        { content: null, toolCalls: [{ id: 'bad', name: 'list_series', arguments: '{not json' }] },
        answer('nothing'),
      ][i] ?? answer('nothing'),
    );
    const { assistant } = world(model);
    const { reader: r, calls } = reader();
    const { message } = await assistant.start({ tenant, actor: 'api-key:k1', reader: r }, { question: 'show globex' });
    expect(calls).toEqual([]);
    expect(message.toolCalls.map((c) => c.ok)).toEqual([false, false, false]);
    const toolResults = model.requests.at(-1)!.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content as string).error);
    expect(toolResults).toEqual(['invalid_arguments', 'unknown_tool', 'invalid_arguments']);
  });

  test('can: the same count_events call without the extra argument runs for the tenant', async () => {
    const model = new ScriptedModel((_r, i) => (i === 0 ? tool('count_events', { kind: 'api_call', name: null, status_class: null, from: null, to: null }) : answer('ok')));
    const { assistant } = world(model);
    const { reader: r, calls } = reader();
    const { message } = await assistant.start({ tenant, actor: 'api-key:k1', reader: r }, { question: 'count' });
    expect(calls).toHaveLength(1);
    expect(message.toolCalls[0].ok).toBe(true);
  });
});

describe('OWASP LLM10: rate and budget before any provider call', () => {
  test('a question past requestsPerMinute answers 429 throttled without calling the provider; the next minute works', async () => {
    const model = new ScriptedModel(() => answer('hi'));
    const { assistant, clock } = world(model, { requestsPerMinute: 2 });
    const ctx = { tenant, actor: 'api-key:k1', reader: reader().reader };
    await assistant.start(ctx, { question: 'a' });
    await assistant.start(ctx, { question: 'b' });
    expect(await codeOf(assistant.start(ctx, { question: 'c' }))).toBe('429 throttled');
    expect(model.requests).toHaveLength(2);
    clock.advance(60_000);
    expect(await codeOf(assistant.start(ctx, { question: 'd' }))).toBe('resolved');
  });

  test('a used-up monthly budget answers 429 ai_budget_exceeded before the provider is called; a budget crossed mid-turn stops the next call', async () => {
    const model = new ScriptedModel((_r, i) => (i === 0 ? tool('list_series', { hours_back: 1 }) : answer('x')));
    const { assistant, store } = world(model, { monthlyTokenBudget: { starter: 1, business: 1000, enterprise: 1 } });
    const ctx = { tenant, actor: 'api-key:k1', reader: reader().reader };
    // 1,200 tokens in the first call cross the 1,000 budget: the second call is not made.
    expect(await codeOf(assistant.start(ctx, { question: 'a' }))).toBe('429 ai_budget_exceeded');
    expect(model.requests).toHaveLength(1);
    expect(await codeOf(assistant.start(ctx, { question: 'b' }))).toBe('429 ai_budget_exceeded');
    expect(model.requests).toHaveLength(1);
    expect(store.messages.size).toBe(0);
  });

  test('can: within the budget the same turn completes', async () => {
    const model = new ScriptedModel((_r, i) => (i === 0 ? tool('list_series', { hours_back: 1 }) : answer('x')));
    const { assistant } = world(model, { monthlyTokenBudget: { starter: 1, business: 10_000, enterprise: 1 } });
    expect(await codeOf(assistant.start({ tenant, actor: 'api-key:k1', reader: reader().reader }, { question: 'a' }))).toBe('resolved');
  });
});

describe('R-BILL-2: the ai_tokens usage meter', () => {
  test('one mark per provider call with input + output tokens (cached and reasoning counted once, inside them); a retried request writes the same marks', async () => {
    const model = new ScriptedModel((_r, i) => (i % 2 === 0 ? tool('list_series', { hours_back: 1 }) : answer('x')));
    const { assistant, usage } = world(model);
    const ctx = { tenant, actor: 'api-key:k1', reader: reader().reader, requestId: 'req-1' };
    await assistant.start(ctx, { question: 'a' });
    // Each call reports input 1,000 (cached 400 inside), output 200 (reasoning 50 inside): 1,200 tokens a call.
    expect([...usage.marks.values()]).toEqual([
      { tenantId: 'acme', day: '2026-12-01', sourceId: 'ai#req-1#1', quantities: { ai_tokens: 1200 } },
      { tenantId: 'acme', day: '2026-12-01', sourceId: 'ai#req-1#2', quantities: { ai_tokens: 1200 } },
    ]);
    // The same request again (a retried invocation): the same keys, so the day's total does not change.
    await assistant.start(ctx, { question: 'a' });
    expect(usage.totals('acme', '2026-12-01')).toEqual({ ai_tokens: 2400 });
    // can: another request is counted on its own.
    await assistant.start({ ...ctx, requestId: 'req-2' }, { question: 'b' });
    expect(usage.totals('acme', '2026-12-01')).toEqual({ ai_tokens: 4800 });
  });

  test('tokens spent before a turn fails stay counted (the budget crossed mid-turn); a refused turn before any call writes no mark', async () => {
    const model = new ScriptedModel((_r, i) => (i === 0 ? tool('list_series', { hours_back: 1 }) : answer('x')));
    const { assistant, usage } = world(model, { monthlyTokenBudget: { starter: 1, business: 1000, enterprise: 1 } });
    const ctx = { tenant, actor: 'api-key:k1', reader: reader().reader };
    expect(await codeOf(assistant.start(ctx, { question: 'a' }))).toBe('429 ai_budget_exceeded');
    expect(usage.totals('acme', '2026-12-01')).toEqual({ ai_tokens: 1200 });
    expect(await codeOf(assistant.start(ctx, { question: 'b' }))).toBe('429 ai_budget_exceeded');
    expect(usage.marks.size).toBe(1);
  });
});

describe('provider failures and configuration', () => {
  test.each(['timeout', 'unreachable', 'refused', 'malformed'] as const)('a provider %s answers 424 ai_provider_error; nothing is stored', async (reason) => {
    const model = new ScriptedModel(() => new AiProviderError(reason, 'x'));
    const { assistant, store } = world(model);
    expect(await codeOf(assistant.start({ tenant, actor: 'api-key:k1', reader: reader().reader }, { question: 'a' }))).toBe('424 ai_provider_error');
    expect(store.messages.size + store.conversations.size).toBe(0);
  });

  test('a turn stops within turnTimeoutMs: each call gets half of what is left, and none starts with too little; nothing is stored', async () => {
    let advance = () => undefined as void;
    const model = new ScriptedModel(() => {
      advance();
      return tool('list_series', { hours_back: 1 });
    });
    const { assistant, clock, store } = world(model, { turnTimeoutMs: 10_000, providerTimeoutMs: 20_000, maxToolCallsPerTurn: 20 });
    advance = () => clock.advance(4_000);
    expect(await codeOf(assistant.start({ tenant, actor: 'api-key:k1', reader: reader().reader }, { question: 'slow' }))).toBe('424 ai_provider_error');
    expect(model.requests.map((r) => r.timeoutMs)).toEqual([5_000, 3_000, 1_000]);
    expect(store.messages.size).toBe(0);
  });

  test('without a provider every question answers 424 ai_not_configured', async () => {
    const { assistant } = world(undefined);
    expect(await codeOf(assistant.start({ tenant, actor: 'api-key:k1', reader: reader().reader }, { question: 'a' }))).toBe('424 ai_not_configured');
  });

  test('a question that is empty, too long or has extra fields is a 400', async () => {
    const { assistant } = world(new ScriptedModel(() => answer('x')));
    const ctx = { tenant, actor: 'api-key:k1', reader: reader().reader };
    for (const body of [{}, { question: '' }, { question: 'x'.repeat(4001) }, { question: 'a', tenantId: 'globex' }]) {
      expect(await codeOf(assistant.start(ctx, body))).toBe('400 invalid_request');
    }
  });
});

describe('R-AI-5: feedback', () => {
  test('thumbs up or down with a reason is stored (the reason sealed) and audited; an unknown message is a 404', async () => {
    const { assistant, store, audit } = world(new ScriptedModel(() => answer('x')));
    const ctx = { tenant, actor: 'api-key:k1', reader: reader().reader };
    const { conversationId, message } = await assistant.start(ctx, { question: 'a' });
    expect(await assistant.feedback(ctx, conversationId, message.messageId, { rating: 'down', reason: 'wrong route, ask ann@example.com' })).toEqual({ messageId: message.messageId, rating: 'down' });
    const stored = [...store.messages.values()][0];
    expect(stored.feedback).toMatchObject({ rating: 'down', at: NOW.toISOString() });
    expect(JSON.stringify(stored)).not.toContain('wrong route');
    expect((await assistant.get(tenant, conversationId)).messages[0].feedback).toEqual({ rating: 'down', at: NOW.toISOString() });
    expect(audit.items.map((i) => i.action)).toEqual(['ai.conversation.start', 'ai.feedback']);
    expect(await codeOf(assistant.feedback(ctx, conversationId, 'msg_NOPE', { rating: 'up' }))).toBe('404 not_found');
    expect(await codeOf(assistant.feedback(ctx, conversationId, message.messageId, { rating: 'meh' }))).toBe('400 invalid_request');
  });
});

test('R-AI-5: cost counts cached tokens at the cached rate instead of the input rate, reasoning tokens as output only', () => {
  const prices = { prices: { m: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 } }, defaultPrice: { inputPerMTok: 100, cachedInputPerMTok: 100, outputPerMTok: 100 } };
  expect(costUsd(prices, 'm', { input: 1_000_000, cachedInput: 400_000, output: 1_000_000, reasoning: 600_000 })).toBeCloseTo(1.2 + 0.2 + 8, 10);
  expect(costUsd(prices, 'other', { input: 1_000_000, cachedInput: 0, output: 0, reasoning: 0 })).toBe(100);
});
