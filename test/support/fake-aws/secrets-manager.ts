/**
 * FakeSecretsManager: AWS Secrets Manager's GetSecretValue and PutSecretValue over the protocol
 * @aws-sdk/client-secrets-manager speaks (AWS JSON 1.1, `x-amz-target: secretsmanager.<Operation>`). Secrets are
 * named by ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>`) or by name, as the service accepts; an
 * unknown one is refused with ResourceNotFoundException.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, jsonEndpoint, listen, requiredString, type Call, type Listening } from './server';

export interface FakeSecretsManagerOptions {
  readonly region?: string;
  readonly account?: string;
}

export class FakeSecretsManager {
  readonly calls: Call[] = [];
  readonly region: string;
  readonly account: string;
  private readonly secrets = new Map<string, { readonly arn: string; value: string; versionId: string }>();
  private server?: Listening;

  private constructor(options: FakeSecretsManagerOptions) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '000000000000';
  }

  static async start(options: FakeSecretsManagerOptions = {}): Promise<FakeSecretsManager> {
    const fake = new FakeSecretsManager(options);
    fake.server = await listen(
      jsonEndpoint({
        signingName: 'secretsmanager',
        region: fake.region,
        target: 'secretsmanager',
        jsonVersion: '1.1',
        record: (call) => fake.calls.push(call),
        operations: {
          GetSecretValue: (input) => {
            const secret = fake.find(requiredString(input, 'SecretId', { min: 1, max: 2048 }));
            return { ARN: secret.arn, Name: secret.arn.split(':secret:')[1], SecretString: secret.value, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] };
          },
          PutSecretValue: (input) => {
            const secret = fake.find(requiredString(input, 'SecretId', { min: 1, max: 2048 }));
            secret.value = requiredString(input, 'SecretString', { min: 1, max: 65_536 });
            secret.versionId = randomUUID();
            return { ARN: secret.arn, Name: secret.arn.split(':secret:')[1], VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] };
          },
        },
      }),
    );
    return fake;
  }

  get url(): string {
    if (!this.server) throw new Error('FakeSecretsManager is not started');
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  /** A secret as a stack would have created it, by its ARN (or a name in this fake's region and account). */
  createSecret(arnOrName: string, value: string): string {
    const arn = arnOrName.startsWith('arn:') ? arnOrName : `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${arnOrName}`;
    this.secrets.set(arn, { arn, value, versionId: randomUUID() });
    return arn;
  }

  private find(secretId: string) {
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.arn.endsWith(`:secret:${secretId}`));
    if (!secret) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }
}
