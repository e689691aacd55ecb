import * as cdk from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { WRITE_KEY_ACTIONS, allow, allowKeyViaServices } from './grants';

export interface BillingLedgerProps {
  /** Encrypts the table (R-SEC-2). */
  readonly dataKey: kms.IKey;
}

/**
 * R-TERM-6: billable usage, kept apart from tenant data so that a termination's purge never reaches it and no
 * tenant-facing role can read it (keys `LEDGER#<tenant>` / `USAGE#<throughMinute>`, lambdas/domain/keys.ts
 * ledgerKeys). Only the termination tasks write it (the flush before the purge, R-TERM-1).
 */
export class BillingLedger extends Construct {
  readonly table: dynamodb.Table;
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
      // Records kept by law outlive the stack and survive a mistaken delete.
      deletionProtection: true,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
  }

  /** Appends entries and reads them back (the last entry decides where the next flush starts); no update or delete. */
  grantReadWrite(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'], resources: [this.table.tableArn] });
    allowKeyViaServices(grantee, this.dataKey, WRITE_KEY_ACTIONS, ['dynamodb']);
  }
}
