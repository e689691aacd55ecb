/**
 * R-BILL-1, R-RET-1: the plan Stripe decided, on the tenant's record in the Control table, where ingestion and the
 * processor read it (the processor computes each record's TTL from it: lambdas/domain/retention.ts). The write is
 * versioned (`billingVersion`, the decision's order): a decision older than the one the tenant holds is never applied.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TenantPlans } from '../domain/billing';
import type { PlanName } from '../domain/model';
import { controlKeys } from '../domain/keys';

export class DynamoTenantPlans implements TenantPlans {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async exists(tenantId: string): Promise<boolean> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.tenant(tenantId), ProjectionExpression: 'pk' }));
    return Item !== undefined;
  }

  async setPlan(tenantId: string, plan: PlanName, version: string): Promise<'updated' | 'stale'> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: controlKeys.tenant(tenantId),
          UpdateExpression: 'SET #plan = :plan, billingVersion = :version',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(billingVersion) OR billingVersion < :version)',
          ExpressionAttributeNames: { '#plan': 'plan' },
          ExpressionAttributeValues: { ':plan': plan, ':version': version },
        }),
      );
      return 'updated';
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return 'stale';
      throw error;
    }
  }
}
