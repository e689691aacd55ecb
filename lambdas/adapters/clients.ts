/**
 * AWS SDK clients, built one way for every handler. In Lambda nothing needs passing: region and
 * credentials come from the SDK's default chain, and `AWS_ENDPOINT_URL_<SERVICE>` variables are honoured
 * by SDK v3 itself. Locally (emulators, tests) the caller passes endpoints and static credentials.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMS } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsClientsConfig {
  /** @default the SDK's default chain (AWS_REGION in Lambda) */
  readonly region?: string;
  /** @default the SDK's default chain (the function role in Lambda) */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Per-service endpoint override, e.g. an emulator. @default AWS (or AWS_ENDPOINT_URL_<SERVICE>) */
  readonly endpoints?: { readonly dynamodb?: string; readonly s3?: string; readonly kinesis?: string; readonly kms?: string };
  /** Path-style S3 URLs, which emulators need. @default false */
  readonly forcePathStyle?: boolean;
  /**
   * Attempts per call, the first included. Throttling (ProvisionedThroughputExceeded, KMS ThrottlingException)
   * and 5xx answers are retried with backoff by the SDK, so a throttled batch loses and duplicates nothing.
   * @default 6
   */
  readonly maxAttempts?: number;
  /** Replaces the HTTP layer (tests inject faults here, below the SDK's retry middleware). */
  readonly requestHandler?: DynamoDBClientConfig['requestHandler'];
}

export interface AwsClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly kinesis: KinesisClient;
  /** The aggregated client: the Encryption SDK's KMS keyring calls its methods. */
  readonly kms: KMS;
}

const DEFAULT_MAX_ATTEMPTS = 6;

function commonConfig(config: AwsClientsConfig, endpoint: string | undefined) {
  return {
    ...(config.region ? { region: config.region } : {}),
    // A copy: the SDK annotates the credentials object it is given.
    ...(config.credentials ? { credentials: { ...config.credentials } } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(config.requestHandler ? { requestHandler: config.requestHandler } : {}),
    maxAttempts: config.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    // Adaptive mode adds client-side rate limiting on top of exponential backoff once AWS starts throttling.
    retryMode: 'adaptive',
  };
}

export function createDocumentClient(config: AwsClientsConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(commonConfig(config, config.endpoints?.dynamodb)), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createS3Client(config: AwsClientsConfig = {}): S3Client {
  return new S3Client({ ...commonConfig(config, config.endpoints?.s3), forcePathStyle: config.forcePathStyle ?? false });
}

export function createKinesisClient(config: AwsClientsConfig = {}): KinesisClient {
  // The default HTTP/2 handler fails against kinesalite (ERR_HTTP2_ERROR); HTTP/1.1 works everywhere.
  return new KinesisClient({ requestHandler: new NodeHttpHandler(), ...commonConfig(config, config.endpoints?.kinesis) });
}

export function createKmsClient(config: AwsClientsConfig = {}): KMS {
  return new KMS(commonConfig(config, config.endpoints?.kms));
}

export function createAwsClients(config: AwsClientsConfig = {}): AwsClients {
  return {
    dynamo: createDocumentClient(config),
    s3: createS3Client(config),
    kinesis: createKinesisClient(config),
    kms: createKmsClient(config),
  };
}
