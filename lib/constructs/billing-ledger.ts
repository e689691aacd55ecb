import * as cdk from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { WRITE_KEY_ACTIONS, allow, allowKeyViaServices } from './grants';
import { operatorSecret } from './operator-secret';

export interface BillingLedgerProps {
  /** Encrypts the table and the webhook signing secret (R-SEC-2). */
  readonly dataKey: kms.IKey;
}

/**
 * R-TERM-6: billable usage, kept apart from tenant data so that a termination's purge never reaches it and no
 * tenant-facing role can read it (keys `LEDGER#<tenant>` / `USAGE#<throughMinute>`, lambdas/domain/keys.ts
 * ledgerKeys). The termination tasks write usage (the flush before the purge, R-TERM-1); the billing function writes
 * Stripe's records (R-BILL-1: processed events, customer links, subscription states, invoices, pending terminations;
 * lambdas/adapters/dynamo-billing-records.ts). R-RET-3: every billing record carries `expiresAt`, 7 years on, and the
 * table's TTL deletes it then.
 */
export class BillingLedger extends Construct {
  readonly table: dynamodb.Table;
  /**
   * R-BILL-3: the Stripe webhook signing secret (`whsec_…`). Created with a random placeholder; the operator puts
   * the endpoint's secret from Stripe into it (README "Billing").
   */
  readonly stripeWebhookSecret: secretsmanager.Secret;
  private readonly dataKey: kms.IKey;

  constructor(scope: Construct, id: string, props: BillingLedgerProps) {
    super(scope, id);
    this.dataKey = props.dataKey;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.dataKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true }, // R-AV-1
      // R-RET-3: billing records are deleted 7 years on (their `expiresAt`).
      timeToLiveAttribute: 'expiresAt',
      // Records kept by law outlive the stack and survive a mistaken delete.
      deletionProtection: true,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    this.stripeWebhookSecret = operatorSecret(this, 'StripeWebhookSecret', {
      description: 'Stripe webhook signing secret (whsec_...) of POST /v1/billing/stripe/webhook (R-BILL-3)',
      key: props.dataKey,
      rotationReason:
        'Stripe issues the webhook signing secret and is the only party that can roll it (Dashboard or API, with an overlap during which both secrets sign); a Secrets Manager rotation function cannot create one, so rotation is the operator rolling it in Stripe and putting the new value here',
    });
  }

  /** Appends entries and reads them back (the last entry decides where the next flush starts); no update or delete. */
  grantReadWrite(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'], resources: [this.table.tableArn] });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /**
   * R-BILL-2: the processor's usage marks (lambdas/adapters/dynamo-usage-ledger.ts): puts and take-backs of items in
   * the `MARK#<tenant>#<day>` and `MARKS#<day>` partitions only, so it can neither read the ledger nor touch a
   * billing record. The Null condition keeps a request without keys (a Scan) out.
   */
  grantWriteUsageMarks(grantee: iam.IGrantable): void {
    allow(grantee, {
      actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['MARK#*', 'MARKS#*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /** R-BILL-3: reads the signing secret; the data key only as Secrets Manager uses it to decrypt the secret. */
  grantReadWebhookSecret(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['secretsmanager:GetSecretValue'], resources: [this.stripeWebhookSecret.secretArn] });
    allow(grantee, {
      actions: ['kms:Decrypt'],
      resources: [this.dataKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${cdk.Stack.of(this).region}.amazonaws.com` } },
    });
  }
}
