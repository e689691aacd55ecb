/** The AI store in memory: unit tests and the benchmark (the Lambda uses DynamoAiStore). */
import type { AiStore, ConversationItem, InsightItem, MessageItem } from '../domain/ai/ports';

export class MemoryAiStore implements AiStore {
  readonly conversations = new Map<string, ConversationItem>();
  readonly messages = new Map<string, MessageItem>();
  readonly usage = new Map<string, { tokens: number; costUsd: number }>();
  readonly rates = new Map<string, number>();
  readonly insights = new Map<string, InsightItem>();
  readonly enrolled = new Set<string>();

  async getConversation(tenantId: string, conversationId: string) {
    return this.conversations.get(`${tenantId}/${conversationId}`);
  }
  async putConversation(item: ConversationItem) {
    this.conversations.set(`${item.tenantId}/${item.conversationId}`, item);
  }
  async listConversations(tenantId: string, limit: number) {
    return [...this.conversations.values()].filter((c) => c.tenantId === tenantId).sort((a, b) => b.conversationId.localeCompare(a.conversationId)).slice(0, limit);
  }
  async putMessage(item: MessageItem) {
    this.messages.set(`${item.tenantId}/${item.conversationId}/${item.messageId}`, item);
  }
  async listMessages(tenantId: string, conversationId: string) {
    return [...this.messages.values()].filter((m) => m.tenantId === tenantId && m.conversationId === conversationId).sort((a, b) => a.messageId.localeCompare(b.messageId));
  }
  async getMessage(tenantId: string, conversationId: string, messageId: string) {
    return this.messages.get(`${tenantId}/${conversationId}/${messageId}`);
  }
  async setFeedback(tenantId: string, conversationId: string, messageId: string, feedback: NonNullable<MessageItem['feedback']>) {
    const key = `${tenantId}/${conversationId}/${messageId}`;
    const message = this.messages.get(key);
    if (!message) throw new Error('ConditionalCheckFailed');
    this.messages.set(key, { ...message, feedback });
  }
  async addUsage(tenantId: string, month: string, tokens: number, costUsd: number) {
    const key = `${tenantId}/${month}`;
    const current = this.usage.get(key) ?? { tokens: 0, costUsd: 0 };
    const next = { tokens: current.tokens + tokens, costUsd: current.costUsd + costUsd };
    this.usage.set(key, next);
    return { tokens: next.tokens };
  }
  async monthUsage(tenantId: string, month: string) {
    return this.usage.get(`${tenantId}/${month}`) ?? { tokens: 0, costUsd: 0 };
  }
  async countRequest(tenantId: string, minute: string) {
    const key = `${tenantId}/${minute}`;
    const n = (this.rates.get(key) ?? 0) + 1;
    this.rates.set(key, n);
    return n;
  }
  async putInsights(items: readonly InsightItem[]) {
    for (const item of items) this.insights.set(`${item.tenantId}/${item.minute}/${item.insightId}`, item);
  }
  async listInsights(tenantId: string, limit: number) {
    return [...this.insights.values()].filter((i) => i.tenantId === tenantId).sort((a, b) => b.minute.localeCompare(a.minute)).slice(0, limit);
  }
  async enrolTenant(tenantId: string) {
    this.enrolled.add(tenantId);
  }
  async enrolledTenants() {
    return [...this.enrolled];
  }
  async eraseSubject(tenantId: string, subjectHash: string) {
    const hit = [...this.conversations.values()].filter((c) => c.tenantId === tenantId && c.subjects?.includes(subjectHash));
    for (const c of hit) {
      this.conversations.delete(`${tenantId}/${c.conversationId}`);
      for (const key of [...this.messages.keys()]) if (key.startsWith(`${tenantId}/${c.conversationId}/`)) this.messages.delete(key);
    }
    return hit.length;
  }
  async purgeTenant(tenantId: string) {
    let n = 0;
    for (const map of [this.conversations, this.messages, this.usage, this.rates, this.insights] as Map<string, unknown>[]) {
      for (const key of [...map.keys()]) if (key.startsWith(`${tenantId}/`)) n += Number(map.delete(key));
    }
    this.enrolled.delete(tenantId);
    return n;
  }
}
