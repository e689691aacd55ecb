/**
 * What the AI domain needs from outside: a chat model (any OpenAI-compatible endpoint, adapters/openai-chat.ts) and
 * a per-tenant store of conversations, usage counters and insights (adapters/dynamo-ai-store.ts).
 */
import type { TokenUsage } from './settings';

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** JSON text as the model wrote it: parsed and validated by the tool, never trusted. */
  readonly arguments: string;
}

/** A message in the provider's shape, as replayed to it: tool results and questions already redacted. */
export type ChatMessage =
  | { readonly role: 'system' | 'user'; readonly content: string }
  | { readonly role: 'assistant'; readonly content: string | null; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly content: string };

export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  /** A strict JSON schema: `additionalProperties: false`, every property required. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  /** Empty: the model must answer in text. */
  readonly tools: readonly ToolDefinition[];
  readonly maxOutputTokens: number;
  /** This call's timeout per attempt. */
  readonly timeoutMs: number;
}

export interface ChatResponse {
  readonly model: string;
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: TokenUsage;
}

/** Why a provider call failed: the handler answers ai_provider_error, naming only this. */
export class AiProviderError extends Error {
  override readonly name = 'AiProviderError';
  constructor(
    readonly reason: 'timeout' | 'unreachable' | 'refused' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

export interface ChatModel {
  /** Throws AiProviderError. */
  complete(request: ChatRequest): Promise<ChatResponse>;
}

/** A conversation's item: metadata in clear (no personal data), the rest sealed under the tenant key. */
export interface ConversationItem {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly turns: number;
  /** Tenant-key ciphertext (base64) of ConversationState. */
  readonly sealed: string;
  /**
   * R-DSR-2: the keyed subject hashes (as in the subject index, no personal data) of the records its tool results
   * drew on, so that a subject's erasure also erases the conversations that saw the subject's records.
   */
  readonly subjects?: readonly string[];
  readonly expiresAt: number;
}

/** One turn: the question and its answer, metadata in clear, texts sealed. */
export interface MessageItem {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly messageId: string;
  /** 1 for the first turn of the conversation: the order of its messages (ids of one millisecond do not sort). */
  readonly turn: number;
  readonly createdAt: string;
  readonly model: string;
  readonly usage: TokenUsage;
  readonly costUsd: number;
  readonly toolCallCount: number;
  /** Tenant-key ciphertext (base64) of MessageContent. */
  readonly sealed: string;
  readonly feedback?: { readonly rating: 'up' | 'down'; readonly at: string; readonly sealedReason?: string };
  readonly expiresAt: number;
}

export interface InsightItem {
  readonly tenantId: string;
  readonly insightId: string;
  readonly detectedAt: string;
  readonly series: string;
  readonly metric: 'error_rate' | 'p95_latency_ms' | 'volume';
  /** The flagged window's first minute. */
  readonly minute: string;
  readonly value: number;
  readonly baseline: number;
  readonly score: number;
  readonly direction: 'up' | 'down';
  /** The rollup keys (series#minute) the detector drew on. */
  readonly evidence: readonly string[];
  readonly expiresAt: number;
}

export interface AiStore {
  getConversation(tenantId: string, conversationId: string): Promise<ConversationItem | undefined>;
  putConversation(item: ConversationItem): Promise<void>;
  listConversations(tenantId: string, limit: number): Promise<ConversationItem[]>;
  putMessage(item: MessageItem): Promise<void>;
  listMessages(tenantId: string, conversationId: string): Promise<MessageItem[]>;
  getMessage(tenantId: string, conversationId: string, messageId: string): Promise<MessageItem | undefined>;
  setFeedback(tenantId: string, conversationId: string, messageId: string, feedback: NonNullable<MessageItem['feedback']>): Promise<void>;
  /** Adds tokens and cost to the tenant's month; returns the month's totals. */
  addUsage(tenantId: string, month: string, tokens: number, costUsd: number, expiresAt: number): Promise<{ tokens: number }>;
  monthUsage(tenantId: string, month: string): Promise<{ tokens: number; costUsd: number }>;
  /** Counts one request in the tenant's minute; returns the minute's count so far. */
  countRequest(tenantId: string, minute: string, expiresAt: number): Promise<number>;
  putInsights(items: readonly InsightItem[]): Promise<void>;
  listInsights(tenantId: string, limit: number): Promise<InsightItem[]>;
  /** Tenants that use AI (enrolled on first use): the scheduled insight job's list. */
  enrolTenant(tenantId: string): Promise<void>;
  enrolledTenants(): Promise<string[]>;
  /** R-DSR-2: deletes every conversation (with its messages) that drew on the subject's records; returns how many. */
  eraseSubject(tenantId: string, subjectHash: string): Promise<number>;
  /** R-TERM-3: every AI item of the tenant; returns how many. */
  purgeTenant(tenantId: string): Promise<number>;
}
