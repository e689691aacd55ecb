/**
 * A local OpenAI-compatible HTTP server (Chat Completions) for the AI tests: the real `openai` SDK talks to it over
 * HTTP. Each request is logged as received (headers and parsed body), so a test can check everything that would have
 * left for the provider; each answer comes from a script, which may call tools, answer in text, fail, or stall.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly raw: string;
  readonly body: ChatBody;
}

export interface ChatBody {
  readonly model: string;
  readonly store?: boolean;
  readonly messages: { role: string; content: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[]; tool_call_id?: string }[];
  readonly tools?: { type: string; function: { name: string; strict?: boolean; parameters: Record<string, unknown> } }[];
  readonly [key: string]: unknown;
}

export interface ScriptedUsage {
  readonly input?: number;
  readonly cached?: number;
  readonly output?: number;
  readonly reasoning?: number;
}

/** One answer: tool calls, text, an HTTP error, or no answer within `stallMs`. */
export type ScriptedReply =
  | { readonly toolCalls: readonly { readonly name: string; readonly arguments: unknown }[]; readonly usage?: ScriptedUsage }
  | { readonly content: string; readonly usage?: ScriptedUsage }
  | { readonly status: number; readonly error?: string }
  | { readonly stallMs: number };

/** Decides each answer from the request (and how many requests came before it). */
export type Script = (request: ChatBody, index: number) => ScriptedReply;

export interface FakeOpenAi {
  /** `http://127.0.0.1:<port>/v1`: the SDK's baseURL. */
  readonly baseUrl: string;
  readonly requests: LoggedRequest[];
  /** Everything every request sent, as one string: what a redaction check searches. */
  sentText(): string;
  script(script: Script): void;
  /** Replies in order; past the last, the last again. */
  replies(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

const DEFAULT_USAGE: Required<ScriptedUsage> = { input: 1000, cached: 200, output: 100, reasoning: 20 };

/** The last tool message's content in a request (what the model would read). */
export const lastToolResult = (body: ChatBody): string => [...body.messages].reverse().find((m) => m.role === 'tool')?.content ?? '';

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const requests: LoggedRequest[] = [];
  let current: Script = () => ({ content: 'No script.' });
  const server: Server = createServer((req, res) => {
    readAll(req).then((raw) => {
      const body = JSON.parse(raw || '{}') as ChatBody;
      requests.push({ path: req.url ?? '', headers: req.headers, raw, body });
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const reply = current(body, requests.length - 1);
      if ('stallMs' in reply) {
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), reply.stallMs).unref();
        return;
      }
      if ('status' in reply) {
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: reply.error ?? 'scripted failure', type: 'server_error' } }));
        return;
      }
      const usage = { ...DEFAULT_USAGE, ...reply.usage };
      const message =
        'toolCalls' in reply
          ? {
              role: 'assistant',
              content: null,
              tool_calls: reply.toolCalls.map((c, i) => ({
                id: `call_${requests.length}_${i}`,
                type: 'function',
                function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
              })),
            }
          : { role: 'assistant', content: reply.content };
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, message, finish_reason: 'toolCalls' in reply ? 'tool_calls' : 'stop' }],
          usage: {
            prompt_tokens: usage.input,
            completion_tokens: usage.output,
            total_tokens: usage.input + usage.output,
            prompt_tokens_details: { cached_tokens: usage.cached },
            completion_tokens_details: { reasoning_tokens: usage.reasoning },
          },
        }),
      );
    }, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    sentText: () => requests.map((r) => r.raw).join('\n'),
    script: (script) => {
      current = script;
    },
    replies: (...replies) => {
      const start = requests.length;
      current = (_body, index) => replies[Math.min(index - start, replies.length - 1)];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
