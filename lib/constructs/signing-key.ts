import * as cdk from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { allow, fixKeyTags } from './grants';

/** The one algorithm deletion documents are signed with (lambdas/adapters/document-signers.ts). */
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';

export interface SigningKeyProps {
  /** Shown in the KMS console next to the key. */
  readonly description: string;
}

/**
 * R-DSR-2, R-TERM-5: the asymmetric KMS key (ECDSA P-256) that signs deletion records and certificates. The
 * private half never leaves KMS; anyone with the public key (GetPublicKey, or the README's OpenSSL recipe)
 * verifies a document without trusting the platform. Retained: certificates must stay verifiable after the
 * stack is gone. Its tags change only by the stack (R-SEC-5, fixKeyTags).
 */
export class SigningKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    fixKeyTags(this.key);
    // No rotation: KMS rotates only symmetric encryption keys (cdk-nag's rotation rules skip asymmetric ones), and a
    // new signing key would leave auditors holding a public key that verifies none of the later documents.
  }

  /** Signs raw messages with ECDSA_SHA_256 only, and reads the public key (to put its id in the document). */
  grantSign(grantee: iam.IGrantable): void {
    allow(grantee, {
      actions: ['kms:Sign'],
      resources: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM, 'kms:MessageType': 'RAW' } },
    });
    allow(grantee, { actions: ['kms:GetPublicKey'], resources: [this.key.keyArn] });
  }

  /** Verifies signatures through KMS, and reads the public key to verify offline. */
  grantVerify(grantee: iam.IGrantable): void {
    allow(grantee, {
      actions: ['kms:Verify'],
      resources: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM, 'kms:MessageType': 'RAW' } },
    });
    allow(grantee, { actions: ['kms:GetPublicKey'], resources: [this.key.keyArn] });
  }
}
