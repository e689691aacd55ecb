/**
 * R-AI-1, R-AI-3: the chat model over any OpenAI-compatible endpoint (OpenAI, Azure OpenAI's v1 API, a self-hosted
 * server), through the official `openai` SDK's Chat Completions API (README "AI assistant" says why not Responses).
 * Every request says `store: false`, so nothing is kept for the dashboard or distillation; the conversation's history
 * is replayed by the platform. The API key is read through `apiKey` (Secrets Manager in AWS) when a request is made;
 * it is never logged, and an error's message never carries it. The SDK (most of the function's bundle) is loaded on
 * the first question (openai-sdk.ts), so a cold start that lists, reads, records feedback or runs the insight job
 * does not pay for it.
 */
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { AiProviderError, type ChatMessage, type ChatModel, type ChatRequest, type ChatResponse } from '../domain/ai/ports';

export interface OpenAiChatOptions {
  readonly baseUrl: string;
  /** The API key, read when needed (a local server may accept any). */
  apiKey(): Promise<string>;
  readonly timeoutMs: number;
}

function toProvider(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant':
      return message.toolCalls && message.toolCalls.length > 0
        ? {
            role: 'assistant',
            content: message.content,
            tool_calls: message.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
          }
        : { role: 'assistant', content: message.content ?? '' };
    default:
      return { role: message.role, content: message.content };
  }
}

type Sdk = typeof import('./openai-sdk');

export class OpenAiChatModel implements ChatModel {
  private loaded?: Promise<{ sdk: Sdk; client: OpenAI }>;

  constructor(private readonly options: OpenAiChatOptions) {}

  private load(): Promise<{ sdk: Sdk; client: OpenAI }> {
    // A require in a function: esbuild runs the bundled module's code only when it is first called.
    return (this.loaded ??= Promise.resolve().then(() => require('./openai-sdk') as Sdk).then((sdk) => ({
      sdk,
      client: new sdk.OpenAI({
        baseURL: this.options.baseUrl,
        apiKey: () => this.options.apiKey(),
        timeout: this.options.timeoutMs,
        // One retry of a connection failure or a 5xx/429; the timeout bounds each attempt.
        maxRetries: 1,
      }),
    })));
  }

  async complete(request: ChatRequest): Promise<ChatResponse> {
    const { sdk, client } = await this.load();
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await client.chat.completions.create({
        model: request.model,
        messages: request.messages.map(toProvider),
        ...(request.tools.length > 0
          ? { tools: request.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: { ...t.parameters }, strict: true } })) }
          : {}),
        // R-AI-3: never stored by the provider (Chat Completions' default, said explicitly).
        store: false,
        max_completion_tokens: request.maxOutputTokens,
      }, { timeout: request.timeoutMs });
    } catch (error) {
      if (error instanceof sdk.APIConnectionTimeoutError) throw new AiProviderError('timeout', 'The provider did not answer in time');
      if (error instanceof sdk.APIConnectionError) throw new AiProviderError('unreachable', 'The provider could not be reached');
      if (error instanceof sdk.APIError) throw new AiProviderError('refused', `The provider answered ${error.status ?? 'an error'}`);
      throw new AiProviderError('malformed', 'The provider call failed');
    }
    const choice = completion.choices?.[0];
    if (!choice?.message) throw new AiProviderError('malformed', 'The provider answered no choice');
    const usage = completion.usage;
    return {
      model: completion.model,
      content: choice.message.content ?? null,
      toolCalls: (choice.message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [])),
      usage: {
        input: usage?.prompt_tokens ?? 0,
        cachedInput: usage?.prompt_tokens_details?.cached_tokens ?? 0,
        output: usage?.completion_tokens ?? 0,
        reasoning: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
      },
    };
  }
}
