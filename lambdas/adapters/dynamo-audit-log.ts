/**
 * AuditLog over the Audit table (R-SEC-6): one item per entry under the tenant's month, never overwritten,
 * expired by TTL after the retention period; entries about a data subject are also indexed by subject (GSI1).
 */
import { PutCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry, AuditLog } from '../domain/ports';
import { auditKeys, INDEX } from '../domain/keys';
import { AUDIT_RETENTION_DAYS } from '../domain/retention';
import { assertMonth, auditEntryFromItem, auditEntryId, auditItem } from './audit-items';
import { queryAll } from './dynamo-query';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { dynamoOf } from './dynamo-client';

export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number = AUDIT_RETENTION_DAYS,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: auditItem(entry, auditEntryId(), this.retentionDays),
        // Append-only: an entry is never replaced.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async listForSubject(tenantId: string, subjectHash: string): Promise<AuditEntry[]> {
    return this.query({
      IndexName: INDEX.auditBySubject,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': auditKeys.bySubject(tenantId, subjectHash) },
    });
  }

  async listForTenant(tenantId: string, month: string): Promise<AuditEntry[]> {
    assertMonth(month);
    return this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': auditKeys.entry(tenantId, `${month}-01T00:00:00Z`, '').pk },
    });
  }

  /** Oldest first, every page. */
  private async query(input: Omit<QueryCommandInput, 'TableName'>): Promise<AuditEntry[]> {
    return (await queryAll(this.db, { ...input, TableName: this.tableName })).map(auditEntryFromItem);
  }
}

/** R-SEC-6: entries kept for the deployment's auditRetentionDays (LUMIQO_SETTINGS). */
export const auditLogOf = (c: Composition): DynamoAuditLog =>
  c.once('audit', () => new DynamoAuditLog(dynamoOf(c), c.env.value('audit', ENV.auditTable), c.settings.auditRetentionDays ?? AUDIT_RETENTION_DAYS));
