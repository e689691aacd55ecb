/**
 * R-BILL-3: the Stripe webhook signing secret. In AWS it lives in Secrets Manager (a KMS-encrypted secret the data
 * stack creates; its ARN in STRIPE_WEBHOOK_SECRET_ARN), read once per container and again after CACHE_MS, so a
 * secret rolled in Stripe (and put into the secret) is picked up without a deploy. Locally it comes from config.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig, type AwsClientsConfig } from './client-config';

export interface SigningSecretSource {
  secret(): Promise<string>;
}

/** The part of the Secrets Manager client the source uses. */
export interface SecretValueReader {
  getSecretString(secretId: string): Promise<string | undefined>;
}

const CACHE_MS = 5 * 60_000;

export class SecretsManagerSigningSecret implements SigningSecretSource {
  private cached?: { value: string; until: number };

  constructor(
    private readonly reader: SecretValueReader,
    private readonly secretArn: string,
    private readonly now: () => number = Date.now,
  ) {}

  async secret(): Promise<string> {
    if (this.cached && this.cached.until > this.now()) return this.cached.value;
    const raw = (await this.reader.getSecretString(this.secretArn))?.trim();
    if (!raw) throw new Error(`Secret ${this.secretArn} holds no Stripe signing secret`);
    // The secret may be the `whsec_…` string itself, or JSON `{ "signingSecret": "whsec_…" }`.
    const value = raw.startsWith('{') ? String((JSON.parse(raw) as { signingSecret?: unknown }).signingSecret ?? '') : raw;
    if (!value.startsWith('whsec_')) throw new Error(`Secret ${this.secretArn} does not hold a Stripe signing secret (whsec_…)`);
    this.cached = { value, until: this.now() + CACHE_MS };
    return value;
  }
}

/** Local mode and tests: the configured secret. */
export const configuredSigningSecret = (value: string): SigningSecretSource => ({ secret: async () => value });

/** Secrets Manager through the AWS SDK: the secret the stack created, encrypted with the data key. */
export function secretsManagerReader(config: AwsClientsConfig): SecretValueReader {
  const client = new SecretsManagerClient(clientConfig(config, 'secretsmanager'));
  return {
    async getSecretString(secretId) {
      return (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    },
  };
}
