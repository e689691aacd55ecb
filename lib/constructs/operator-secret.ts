/**
 * A secret whose value an operator puts in after deploying (a value a third party issues: Stripe's webhook signing
 * secret, a model provider's API key). Created with a random placeholder, KMS-encrypted with `key`, kept when the stack
 * goes. Rotation is the operator's (the issuer alone can create a new value), so the rotation findings are acknowledged
 * with the reason given.
 */
import * as cdk from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag';

const ROTATION_RULES = ['AwsSolutions-SMG4', 'NIST.800.53.R5-SecretsManagerRotationEnabled', 'HIPAA.Security-SecretsManagerRotationEnabled'];

export function operatorSecret(scope: Construct, id: string, props: { description: string; key: kms.IKey; rotationReason: string }): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, {
    description: props.description,
    encryptionKey: props.key,
    removalPolicy: cdk.RemovalPolicy.RETAIN,
  });
  for (const rule of ROTATION_RULES) acknowledge(secret, rule, props.rotationReason);
  return secret;
}
