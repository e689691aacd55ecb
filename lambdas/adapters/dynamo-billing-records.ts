/**
 * BillingRecords over the BillingLedger table (R-RET-3, R-TERM-6): apart from tenant data, so no purge and no
 * tenant-scoped role reaches them. Append-only, as the ledger's grant allows (GetItem, Query, PutItem): every record
 * is written once by a conditional put and never changed; each carries `expiresAt`, 7 years on, for the table's TTL.
 *
 * Keys (none starts `T#`, so no tenant-scoped `dynamodb:LeadingKeys` pattern can match them):
 * - `STRIPE#EVENT#<eventId>` / `EVENT`: a processed Stripe event (idempotency);
 * - `STRIPE#CUSTOMER#<customerId>` / `TENANT`: the customer's tenant;
 * - `BILLING#<tenantId>` / `SUBSCRIPTION#<subscriptionId>#<order>`: one subscription state per event;
 * - `BILLING#<tenantId>` / `INVOICE#<invoiceId>#<eventId>`: an invoice outcome;
 * - `BILLING#<tenantId>` / `TERMINATION#<terminateAfter>#<eventId>`: a pending termination;
 * - `BILLING#DUE` / `<terminateAfter>#<tenantId>#<eventId>`: the same, listed by date for the scheduled check.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BILLING_RETENTION_DAYS, type BillingRecords, type CustomerLink, type InvoiceRecord, type PendingTermination, type SubscriptionState } from '../domain/billing';
import { SYSTEM_CLOCK, type Clock } from '../domain/ports';
import { expiresAtEpochSeconds } from '../domain/retention';
import { queryAll } from './dynamo-query';
import { withoutKeys } from './ledger-items';

type Item = Record<string, unknown>;

export const billingKeys = {
  event: (eventId: string) => ({ pk: `STRIPE#EVENT#${eventId}`, sk: 'EVENT' }),
  customer: (customerId: string) => ({ pk: `STRIPE#CUSTOMER#${customerId}`, sk: 'TENANT' }),
  tenant: (tenantId: string) => `BILLING#${tenantId}`,
  subscription: (state: Pick<SubscriptionState, 'tenantId' | 'subscriptionId' | 'order'>) => ({
    pk: billingKeys.tenant(state.tenantId),
    sk: `SUBSCRIPTION#${state.subscriptionId}#${state.order}`,
  }),
  invoice: (invoice: Pick<InvoiceRecord, 'tenantId' | 'invoiceId' | 'eventId'>) => ({
    pk: billingKeys.tenant(invoice.tenantId),
    sk: `INVOICE#${invoice.invoiceId}#${invoice.eventId}`,
  }),
  termination: (pending: Pick<PendingTermination, 'tenantId' | 'terminateAfter' | 'eventId'>) => ({
    pk: billingKeys.tenant(pending.tenantId),
    sk: `TERMINATION#${pending.terminateAfter}#${pending.eventId}`,
  }),
  /** Not a tenant id: tenant ids are lower case (TENANT_ID_PATTERN). */
  due: 'BILLING#DUE',
  dueTermination: (pending: Pick<PendingTermination, 'tenantId' | 'terminateAfter' | 'eventId'>) => ({
    pk: billingKeys.due,
    sk: `${pending.terminateAfter}#${pending.tenantId}#${pending.eventId}`,
  }),
} as const;


export class DynamoBillingRecords implements BillingRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async isProcessed(eventId: string): Promise<boolean> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: billingKeys.event(eventId), ConsistentRead: true }));
    return Item !== undefined;
  }

  async markProcessed(event: Parameters<BillingRecords['markProcessed']>[0]): Promise<void> {
    await this.append({ ...event, ...billingKeys.event(event.eventId) });
  }

  async tenantOfCustomer(customerId: string): Promise<string | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: billingKeys.customer(customerId), ConsistentRead: true }));
    return Item ? String(Item.tenantId) : undefined;
  }

  async linkCustomer(link: CustomerLink): Promise<CustomerLink> {
    if (await this.append({ ...link, ...billingKeys.customer(link.customerId) })) return link;
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: billingKeys.customer(link.customerId), ConsistentRead: true }));
    return withoutKeys<CustomerLink>(Item!);
  }

  async recordSubscriptionState(state: SubscriptionState): Promise<void> {
    await this.append({ ...state, priceIds: [...state.priceIds], ...billingKeys.subscription(state) });
  }

  async subscriptionStates(tenantId: string): Promise<SubscriptionState[]> {
    return (await this.tenantItems(tenantId, 'SUBSCRIPTION#')).map((item) => withoutKeys<SubscriptionState>(item));
  }

  async recordInvoice(invoice: InvoiceRecord): Promise<void> {
    await this.append({ ...invoice, ...billingKeys.invoice(invoice) });
  }

  async recordPendingTermination(pending: PendingTermination): Promise<void> {
    await this.append({ ...pending, ...billingKeys.termination(pending) });
    await this.append({ ...pending, ...billingKeys.dueTermination(pending) });
  }

  async dueTerminations(now: string): Promise<PendingTermination[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      // ISO times sort as strings; '~' sorts after every `#<tenant>…` suffix of a date equal to now.
      KeyConditionExpression: 'pk = :due AND sk <= :now',
      ExpressionAttributeValues: { ':due': billingKeys.due, ':now': `${now}~` },
      ConsistentRead: true,
    });
    return items.map((item) => withoutKeys<PendingTermination>(item));
  }

  async pendingTerminations(tenantId: string): Promise<PendingTermination[]> {
    return (await this.tenantItems(tenantId, 'TERMINATION#')).map((item) => withoutKeys<PendingTermination>(item));
  }

  private tenantItems(tenantId: string, prefix: string): Promise<Item[]> {
    return queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': billingKeys.tenant(tenantId), ':prefix': prefix },
      ConsistentRead: true,
    });
  }

  /** Writes the item once; false when it was already there (a retry: the key names the same record). */
  private async append(item: Item): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...item, expiresAt: expiresAtEpochSeconds(this.clock.now(), BILLING_RETENTION_DAYS) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
