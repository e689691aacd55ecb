/**
 * Local stand-ins, over the real wire protocols, for the five AWS services the platform calls that have no npm
 * emulator: KMS, STS, SQS, Step Functions and Secrets Manager. Each is an HTTP server on 127.0.0.1 at a free port; point the real
 * SDK v3 client at it with `endpoint: fake.url` (region us-east-1, any static credentials). DynamoDB, Kinesis and
 * S3 are the npm emulators (test/support/emulators.ts).
 *
 *   const aws = await startFakeAws({ sts: { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } });
 *   new KMSClient({ region: 'us-east-1', credentials, endpoint: aws.kms.url });
 *   await aws.close();
 */
import { FakeKms, type FakeKmsOptions } from './kms';
import { FakeSecretsManager, type FakeSecretsManagerOptions } from './secrets-manager';
import { FakeSqs, type FakeSqsOptions } from './sqs';
import { FakeStepFunctions, type FakeStepFunctionsOptions } from './step-functions';
import { FakeSts, type FakeStsOptions } from './sts';

export { AwsError, type Call, type Caller } from './server';
export { FakeKms, type CreateFakeKeyOptions, type FakeKmsKey, type FakeKmsOptions } from './kms';
export { FakeSts, decodeSessionToken, type FakeStsOptions, type IssuedCredentials, type StsSession } from './sts';
export { FakeSqs, type FakeSqsOptions, type SqsMessage } from './sqs';
export { FakeSecretsManager, type FakeSecretsManagerOptions } from './secrets-manager';
export { FakeStepFunctions, type ExecutionStatus, type FakeStepFunctionsOptions, type OnStart, type SfnExecution } from './step-functions';

export interface FakeAws {
  readonly kms: FakeKms;
  readonly sts: FakeSts;
  readonly sqs: FakeSqs;
  readonly sfn: FakeStepFunctions;
  readonly secretsManager: FakeSecretsManager;
  /** For `AWS_ENDPOINT_URL_<SERVICE>` variables or client `endpoint`s. */
  readonly endpoints: { readonly kms: string; readonly sts: string; readonly sqs: string; readonly sfn: string; readonly secretsManager: string };
  close(): Promise<void>;
}

export interface FakeAwsOptions {
  readonly kms?: FakeKmsOptions;
  readonly sts?: FakeStsOptions;
  readonly sqs?: FakeSqsOptions;
  readonly sfn?: FakeStepFunctionsOptions;
  readonly secretsManager?: FakeSecretsManagerOptions;
}

/** Starts the five fakes; if one fails to start, the others are closed again. */
export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const started = await Promise.allSettled([
    FakeKms.start(options.kms),
    FakeSts.start(options.sts),
    FakeSqs.start(options.sqs),
    FakeStepFunctions.start(options.sfn),
    FakeSecretsManager.start(options.secretsManager),
  ] as const);
  const close = () => Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined))).then(() => undefined);
  const [kms, sts, sqs, sfn, secretsManager] = started;
  if (kms.status === 'rejected' || sts.status === 'rejected' || sqs.status === 'rejected' || sfn.status === 'rejected' || secretsManager.status === 'rejected') {
    await close();
    throw started.find((s): s is PromiseRejectedResult => s.status === 'rejected')!.reason;
  }
  return {
    kms: kms.value,
    sts: sts.value,
    sqs: sqs.value,
    sfn: sfn.value,
    secretsManager: secretsManager.value,
    endpoints: { kms: kms.value.url, sts: sts.value.url, sqs: sqs.value.url, sfn: sfn.value.url, secretsManager: secretsManager.value.url },
    close,
  };
}
