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

/** A secret string from Secrets Manager, parsed and cached for CACHE_MS (a rolled value is picked up without a deploy). */
class CachedSecret implements SigningSecretSource {
  private cached?: { value: string; until: number };

  constructor(
    private readonly reader: SecretValueReader,
    protected readonly secretArn: string,
    private readonly parse: (raw: string) => string,
    private readonly now: () => number,
  ) {}

  async secret(): Promise<string> {
    if (this.cached && this.cached.until > this.now()) return this.cached.value;
    const raw = (await this.reader.getSecretString(this.secretArn))?.trim();
    if (!raw) throw new Error(`Secret ${this.secretArn} holds no value`);
    const value = this.parse(raw);
    this.cached = { value, until: this.now() + CACHE_MS };
    return value;
  }
}

/** The value itself, or JSON `{ "<field>": "…" }`, which must start with one of `prefixes`. */
function secretField(secretArn: string, field: string, prefixes: readonly string[], what: string): (raw: string) => string {
  return (raw) => {
    const value = raw.startsWith('{') ? String((JSON.parse(raw) as Record<string, unknown>)[field] ?? '') : raw;
    if (!prefixes.some((prefix) => value.startsWith(prefix))) throw new Error(`Secret ${secretArn} does not hold ${what}`);
    return value;
  };
}

export class SecretsManagerSigningSecret extends CachedSecret {
  constructor(reader: SecretValueReader, secretArn: string, now: () => number = Date.now) {
    // The secret may be the `whsec_…` string itself, or JSON `{ "signingSecret": "whsec_…" }`.
    super(reader, secretArn, secretField(secretArn, 'signingSecret', ['whsec_'], 'a Stripe signing secret (whsec_…)'), now);
  }
}

/** R-BILL-2: the Stripe API key of the usage reporter: a restricted key (`rk_…`) or a secret key (`sk_…`). */
export class SecretsManagerStripeApiKey extends CachedSecret {
  constructor(reader: SecretValueReader, secretArn: string, now: () => number = Date.now) {
    super(reader, secretArn, secretField(secretArn, 'apiKey', ['rk_', 'sk_'], 'a Stripe API key (rk_… or sk_…)'), now);
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
