import * as cdk from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BILLING_RETENTION_DAYS } from '../../lambdas/domain/billing';
import { STATEMENTS_PREFIX } from '../../lambdas/domain/usage-statements';
import { WRITE_KEY_ACTIONS, allow, allowKeyViaServices } from './grants';
import { operatorSecret } from './operator-secret';
import { secureBucket } from './secure-bucket';

export interface BillingLedgerProps {
  /** Encrypts the table and the webhook signing secret (R-SEC-2). */
  readonly dataKey: kms.IKey;
  /** Where the statements bucket's access logs go. */
  readonly accessLogBucket: s3.IBucket;
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
  /**
   * R-BILL-2: the Stripe API key the usage reporter sends meter events with (a restricted key `rk_…` with write on
   * Billing Meter Events and read on Billing Meters). Created with a placeholder; the operator puts the key in.
   */
  readonly stripeApiKey: secretsmanager.Secret;
  /**
   * R-RET-3, R-TERM-6: monthly usage statements (`statements/<tenant>/<YYYY-MM>.json`), Object Lock in compliance
   * mode for 7 years: nobody, the root user included, can change or delete one before then; the lifecycle deletes it
   * after. Readable and writable only by the roles granted here (billing; termination writes none).
   */
  readonly statementsBucket: s3.Bucket;
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
    this.stripeApiKey = operatorSecret(this, 'StripeApiKey', {
      description: 'Stripe restricted API key (rk_...) of the usage reporter: writes Billing Meter Events, reads Billing Meters (R-BILL-2)',
      key: props.dataKey,
      rotationReason:
        'Stripe issues API keys and only the Stripe Dashboard can roll one (with an expiry for the old key); a Secrets Manager rotation function cannot create one, so rotation is the operator rolling the restricted key in Stripe and putting the new value here',
    });
    const retention = cdk.Duration.days(BILLING_RETENTION_DAYS);
    this.statementsBucket = secureBucket(this, 'StatementsBucket', {
      encryptionKey: props.dataKey,
      accessLogBucket: props.accessLogBucket,
      accessLogPrefix: 'statements/',
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(retention),
      // R-RET-3: deleted when the lock ends; a version an overwrite left behind is locked as long and goes then too.
      lifecycleRules: [{ id: 'ExpireStatements', expiration: cdk.Duration.days(BILLING_RETENTION_DAYS + 1), noncurrentVersionExpiration: cdk.Duration.days(BILLING_RETENTION_DAYS + 1) }],
    });
  }

  /** Appends entries and reads them back (the last entry decides where the next flush starts); no update or delete. */
  grantReadWrite(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'], resources: [this.table.tableArn] });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /**
   * R-BILL-2: the processor's usage marks (lambdas/adapters/dynamo-usage-ledger.ts): puts of items in the
   * `MARK#<tenant>#<day>` and `MARKS#<day>` partitions only, so it can neither read the ledger nor touch a billing
   * record. Mark pages are only ever added (a take-back is a page too), so no DeleteItem; IAM cannot tell a
   * BatchWriteItem's puts from its deletes, so that one stays as broad as the partitions. The Null condition keeps a
   * request without keys (a Scan) out.
   */
  grantWriteUsageMarks(grantee: iam.IGrantable): void {
    allow(grantee, {
      actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
      resources: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['MARK#*', 'MARKS#*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['dynamodb']);
  }

  /** R-BILL-2: reads the Stripe API key; the data key only as Secrets Manager uses it to decrypt the secret. */
  grantReadStripeApiKey(grantee: iam.IGrantable): void {
    this.grantSecretRead(grantee, this.stripeApiKey);
  }

  /**
   * R-RET-3: writes a month's statement once and reads it back (to skip one already written); no delete, no list,
   * no version or retention action: the lock holds whatever the role does.
   */
  grantStatementsWrite(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['s3:PutObject', 's3:GetObject'], resources: [this.statementsBucket.arnForObjects(`${STATEMENTS_PREFIX}*`)] });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['s3']);
  }

  /** R-BILL-3: reads the signing secret; the data key only as Secrets Manager uses it to decrypt the secret. */
  grantReadWebhookSecret(grantee: iam.IGrantable): void {
    this.grantSecretRead(grantee, this.stripeWebhookSecret);
  }

  private grantSecretRead(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
    allow(grantee, { actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] });
    allowKeyViaServices(grantee, this.dataKey, ['kms:Decrypt'], ['secretsmanager']);
  }
}
