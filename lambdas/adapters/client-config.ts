/**
 * How every AWS SDK client of the platform is configured. In Lambda nothing needs passing: region and credentials
 * come from the SDK's default chain, and `AWS_ENDPOINT_URL_<SERVICE>` variables are honoured by SDK v3 itself.
 * Locally (emulators, tests) the caller passes endpoints and static credentials. One factory module per service
 * (dynamo-client.ts, s3-client.ts, …), so that a function's bundle loads only the SDK clients it uses.
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

export type AwsService = 'dynamodb' | 's3' | 'kinesis' | 'kms' | 'sqs' | 'sfn' | 'sts' | 'secretsmanager';

export interface AwsClientsConfig {
  /** @default the SDK's default chain (AWS_REGION in Lambda) */
  readonly region?: string;
  /** @default the SDK's default chain (the function role in Lambda) */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Per-service endpoint override, e.g. an emulator. @default AWS (or AWS_ENDPOINT_URL_<SERVICE>) */
  readonly endpoints?: Partial<Record<AwsService, string>>;
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

const DEFAULT_MAX_ATTEMPTS = 6;

/** The configuration every client of `service` gets. */
export function clientConfig(config: AwsClientsConfig, service: AwsService) {
  const endpoint = config.endpoints?.[service];
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
