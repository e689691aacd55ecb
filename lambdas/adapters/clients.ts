/**
 * All four data-path clients at once, for the local runtime and the tests. Functions build only the clients they
 * use, each from its own module (their compositions, lambdas/<name>/composition.ts).
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KMS } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsClientsConfig } from './client-config';
import { createDocumentClient } from './dynamo-client';
import { createKinesisClient } from './kinesis-client';
import { createKmsClient } from './kms-client';
import { createS3Client } from './s3-client';

export type { AwsClientsConfig } from './client-config';
export { createDocumentClient, createKinesisClient, createKmsClient, createS3Client };

export interface AwsClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly kinesis: KinesisClient;
  readonly kms: KMS;
}

export function createAwsClients(config: AwsClientsConfig = {}): AwsClients {
  return {
    dynamo: createDocumentClient(config),
    s3: createS3Client(config),
    kinesis: createKinesisClient(config),
    kms: createKmsClient(config),
  };
}
