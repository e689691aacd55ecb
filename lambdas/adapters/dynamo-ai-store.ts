/**
 * The AI assistant's items in the TenantData table (R-AI-5, R-AI-6), under `T#<tenantId>#AI` (domain/keys.ts aiKeys):
 * conversations and messages (texts sealed under the tenant key by the domain; tokens, cost and times in clear),
 * usage counters per month and minute, insights. Every item carries `expiresAt` (R-RET-1: the tenant's retention).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AiStore, ConversationItem, InsightItem, MessageItem } from '../domain/ai/ports';
import { aiKeys } from '../domain/keys';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';
import { deleteKeys, queryAll } from './dynamo-query';

const strip = <T>(item: Record<string, unknown> | undefined): T | undefined => {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
};

export class DynamoAiStore implements AiStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getConversation(tenantId: string, conversationId: string): Promise<ConversationItem | undefined> {
    const answer = await this.db.send(new GetCommand({ TableName: this.tableName, Key: aiKeys.conversation(tenantId, conversationId), ConsistentRead: true }));
    return strip<ConversationItem>(answer.Item);
  }

  async putConversation(item: ConversationItem): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...aiKeys.conversation(item.tenantId, item.conversationId), ...item } }));
  }

  async listConversations(tenantId: string, limit: number): Promise<ConversationItem[]> {
    return (await this.queryPrefix(tenantId, 'CONV#', limit)).map((i) => strip<ConversationItem>(i)!);
  }

  async putMessage(item: MessageItem): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...aiKeys.message(item.tenantId, item.conversationId, item.messageId), ...item } }));
  }

  async listMessages(tenantId: string, conversationId: string): Promise<MessageItem[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': aiKeys.partition(tenantId), ':prefix': `MSG#${conversationId}#` },
    });
    return items.map((i) => strip<MessageItem>(i)!);
  }

  async getMessage(tenantId: string, conversationId: string, messageId: string): Promise<MessageItem | undefined> {
    const answer = await this.db.send(new GetCommand({ TableName: this.tableName, Key: aiKeys.message(tenantId, conversationId, messageId), ConsistentRead: true }));
    return strip<MessageItem>(answer.Item);
  }

  async setFeedback(tenantId: string, conversationId: string, messageId: string, feedback: NonNullable<MessageItem['feedback']>): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: aiKeys.message(tenantId, conversationId, messageId),
        UpdateExpression: 'SET feedback = :feedback',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':feedback': feedback },
      }),
    );
  }

  async addUsage(tenantId: string, month: string, tokens: number, costUsd: number, expiresAt: number): Promise<{ tokens: number }> {
    const answer = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: aiKeys.usage(tenantId, month),
        UpdateExpression: 'ADD tokens :tokens, costMicroUsd :cost SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeValues: { ':tokens': tokens, ':cost': Math.round(costUsd * 1e6), ':expiresAt': expiresAt },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return { tokens: Number(answer.Attributes?.tokens ?? tokens) };
  }

  async monthUsage(tenantId: string, month: string): Promise<{ tokens: number; costUsd: number }> {
    const answer = await this.db.send(new GetCommand({ TableName: this.tableName, Key: aiKeys.usage(tenantId, month), ConsistentRead: true }));
    return { tokens: Number(answer.Item?.tokens ?? 0), costUsd: Number(answer.Item?.costMicroUsd ?? 0) / 1e6 };
  }

  async countRequest(tenantId: string, minute: string, expiresAt: number): Promise<number> {
    const answer = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: aiKeys.rate(tenantId, minute),
        UpdateExpression: 'ADD requests :one SET expiresAt = :expiresAt',
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': expiresAt },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(answer.Attributes?.requests ?? 1);
  }

  async putInsights(items: readonly InsightItem[]): Promise<void> {
    for (const item of items) {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...aiKeys.insight(item.tenantId, item.minute, item.insightId), ...item } }));
    }
  }

  async listInsights(tenantId: string, limit: number): Promise<InsightItem[]> {
    return (await this.queryPrefix(tenantId, 'INSIGHT#', limit)).map((i) => strip<InsightItem>(i)!);
  }

  async enrolTenant(tenantId: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...aiKeys.enrolled(tenantId), tenantId } }));
  }

  async enrolledTenants(): Promise<string[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': aiKeys.enrolled('xx').pk },
      ProjectionExpression: 'sk',
    });
    return items.map((i) => String(i.sk));
  }

  async eraseSubject(tenantId: string, subjectHash: string): Promise<number> {
    const conversations = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: 'contains(subjects, :subject)',
      ExpressionAttributeValues: { ':pk': aiKeys.partition(tenantId), ':prefix': 'CONV#', ':subject': subjectHash },
      ProjectionExpression: 'pk, sk, conversationId',
      ConsistentRead: true,
    });
    for (const conversation of conversations) {
      const messages = await queryAll(this.db, {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': aiKeys.partition(tenantId), ':prefix': `MSG#${String(conversation.conversationId)}#` },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
      });
      await deleteKeys(this.db, this.tableName, [...messages, { pk: conversation.pk, sk: conversation.sk }]);
    }
    return conversations.length;
  }

  async purgeTenant(tenantId: string): Promise<number> {
    const keys = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': aiKeys.partition(tenantId) },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
    await deleteKeys(this.db, this.tableName, keys);
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: aiKeys.enrolled(tenantId) }));
    return keys.length;
  }

  private async queryPrefix(tenantId: string, prefix: string, limit: number): Promise<Record<string, unknown>[]> {
    const answer = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': aiKeys.partition(tenantId), ':prefix': prefix },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return answer.Items ?? [];
  }
}

/** The AI items of the TenantData table (the `aiData` resource). */
export const aiStoreOf = (c: Composition): DynamoAiStore => c.once('ai-store', () => new DynamoAiStore(dynamoOf(c), c.env.value('aiData', ENV.dataTable)));
