/**
 * TenantDirectory over the Control table (keys in domain/keys.ts `controlKeys`). Items hold the port's
 * records as they are, plus their key attributes.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DomainError, type Tenant } from '../domain/model';
import { SYSTEM_CLOCK, type ApiKeyRecord, type Clock, type DeliveryRecord, type TenantDirectory, type WebhookSource } from '../domain/ports';
import { controlKeys } from '../domain/keys';
import { accountDataExpiresAt } from '../domain/retention';
import { TABLES } from '../shared/tables';

const TTL_ATTRIBUTE = TABLES.control.ttlAttribute;
import { deleteKeys, queryAll } from './dynamo-query';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';

type Item = Record<string, unknown>;

/** Items of the tenant's own partition that a purge keeps: the tombstone and the termination record (R-TERM-5). */
const KEPT_ON_PURGE = new Set(['TENANT', 'TERMINATION']);

/** The record without its table keys (and, for API keys, without the hash that the tenant's list keeps). */
function record<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, keyHash: _keyHash, expiresAt: _expiresAt, ...rest } = item;
  return rest as T;
}

const isConditionFailure = (error: unknown) => (error as Error).name === 'ConditionalCheckFailedException';

export class DynamoTenantDirectory implements TenantDirectory {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return record<Tenant>(await this.get(controlKeys.tenant(tenantId)));
  }

  async putTenant(tenant: Tenant, options: { readonly mustNotExist?: boolean } = {}): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...tenant, ...controlKeys.tenant(tenant.tenantId) },
          ConditionExpression: options.mustNotExist ? 'attribute_not_exists(pk)' : undefined,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new DomainError('conflict', `Tenant '${tenant.tenantId}' already exists`, 409);
      throw error;
    }
  }

  async setTenantStatus(tenantId: string, status: Tenant['status']): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: controlKeys.tenant(tenantId),
          // R-RET-2: a terminated tenant's tombstone expires ACCOUNT_DATA_RETENTION_DAYS after its termination.
          UpdateExpression: status === 'terminated' ? 'SET #status = :status, #ttl = :ttl' : 'SET #status = :status REMOVE #ttl',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':status': status, ...(status === 'terminated' ? { ':ttl': accountDataExpiresAt(this.clock.now()) } : {}) },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new DomainError('not_found', `Tenant '${tenantId}' does not exist`, 404);
      throw error;
    }
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return record<ApiKeyRecord>(await this.get(controlKeys.apiKeyByHash(keyHash)));
  }

  /** The tenant's list entry first: a key that exists by hash is then always listed, so it can be revoked. */
  async putApiKey(keyHash: string, apiKey: ApiKeyRecord): Promise<void> {
    await this.put({ ...apiKey, keyHash, ...controlKeys.apiKey(apiKey.tenantId, apiKey.keyId) });
    await this.put({ ...apiKey, ...controlKeys.apiKeyByHash(keyHash) });
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const { pk } = controlKeys.apiKey(tenantId, '');
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': 'KEY#' },
    });
    return items.map((item) => record<ApiKeyRecord>(item)!);
  }

  /** Revokes the key by hash (what authentication reads) before the list entry; false if not active. */
  async revokeApiKey(tenantId: string, keyId: string, at: string): Promise<boolean> {
    const listed = await this.get(controlKeys.apiKey(tenantId, keyId));
    if (!listed || listed.status !== 'active') return false;
    try {
      for (const key of [controlKeys.apiKeyByHash(listed.keyHash as string), controlKeys.apiKey(tenantId, keyId)]) {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET #status = :revoked, revokedAt = :at',
            ConditionExpression: 'attribute_exists(pk) AND tenantId = :tenantId',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':revoked': 'revoked', ':at': at, ':tenantId': tenantId },
          }),
        );
      }
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    return true;
  }

  async getWebhookSource(tenantId: string, sourceId: string): Promise<WebhookSource | undefined> {
    return record<WebhookSource>(await this.get(controlKeys.webhookSource(tenantId, sourceId)));
  }

  async putWebhookSource(source: WebhookSource): Promise<void> {
    await this.put({ ...source, ...controlKeys.webhookSource(source.tenantId, source.sourceId) });
  }

  /**
   * R-ING-7: a conditional put decides, so two concurrent deliveries of one id cannot both be 'new'. A marker
   * past its expiry counts as absent: DynamoDB's TTL deletes expired items only eventually.
   */
  async recordDelivery(delivery: DeliveryRecord): Promise<'new' | 'retry' | 'replay'> {
    const key = controlKeys.delivery(delivery.tenantId, delivery.sourceId, delivery.deliveryId);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...key,
            tenantId: delivery.tenantId,
            sourceId: delivery.sourceId,
            deliveryId: delivery.deliveryId,
            fingerprint: delivery.fingerprint,
            expiresAt: delivery.expiresAtEpochSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': Math.floor(this.clock.now().getTime() / 1000) },
        }),
      );
      return 'new';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const seen = await this.get(key);
    // Forgotten in between (its first delivery failed to publish): this one is then the first again.
    if (!seen) return this.recordDelivery(delivery);
    return seen.fingerprint === delivery.fingerprint ? 'replay' : 'retry';
  }

  async countWebhookSources(tenantId: string): Promise<number> {
    const { pk } = controlKeys.webhookSource(tenantId, '');
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': 'SOURCE#' },
      ProjectionExpression: 'sk',
    });
    return items.length;
  }

  async forgetDelivery(tenantId: string, sourceId: string, deliveryId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: controlKeys.delivery(tenantId, sourceId, deliveryId) }));
  }

  /**
   * R-TERM-3: delivery markers first, then API key hash lookups, then the tenant's list entries and sources: the
   * list entries are what lead to the rest, so a purge that fails half-way finds everything again when retried.
   */
  async purgeTenant(tenantId: string): Promise<number> {
    const { pk } = controlKeys.tenant(tenantId);
    const owned = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    });
    const sources = owned.filter((item) => (item.sk as string).startsWith('SOURCE#'));
    const deliveries: Item[] = [];
    for (const source of sources) {
      const { pk: deliveryPk } = controlKeys.delivery(tenantId, source.sourceId as string, '');
      deliveries.push(
        ...(await queryAll(this.db, {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': deliveryPk },
          ProjectionExpression: 'pk, sk',
          ConsistentRead: true,
        })),
      );
    }
    // R-BILL-1: the plan quota's monthly event counters (numbers only; DynamoEventCounter) go with the tenant.
    const quota = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': controlKeys.eventQuota(tenantId, '').pk },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
    const lookups = owned
      .filter((item) => (item.sk as string).startsWith('KEY#') && typeof item.keyHash === 'string')
      .map((item) => controlKeys.apiKeyByHash(item.keyHash as string));
    const listed = owned.filter((item) => !KEPT_ON_PURGE.has(item.sk as string)).map((item) => ({ pk: item.pk, sk: item.sk }));
    const keys = [...[...deliveries, ...quota].map((item) => ({ pk: item.pk, sk: item.sk })), ...lookups, ...listed];
    await deleteKeys(this.db, this.tableName, keys);
    return keys.length;
  }

  private async get(key: Item): Promise<Item | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return Item;
  }

  private async put(item: Item): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }
}

/** Tenants, API keys, sources and deliveries in the function's control table. */
export const tenantDirectoryOf = (c: Composition): DynamoTenantDirectory =>
  c.once('directory', () => new DynamoTenantDirectory(dynamoOf(c), c.env.value('control', ENV.controlTable), c.clock));
