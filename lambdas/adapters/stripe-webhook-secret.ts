/**
 * R-BILL-3: the Stripe webhook signing secret. In AWS it lives in Secrets Manager (a KMS-encrypted secret the data
 * stack creates; its ARN in STRIPE_WEBHOOK_SECRET_ARN), read once per container and again after CACHE_MS, so a
 * secret rolled in Stripe (and put into the secret) is picked up without a deploy. Locally it comes from config.
 */
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

/**
 * Secrets Manager through the AWS SDK. `@aws-sdk/client-secrets-manager` is declared in package.json but not yet
 * installed on every machine, so it is loaded on first use (the Lambda Node.js 22 runtime ships it; the bundle marks
 * `@aws-sdk/*` external) rather than imported, which keeps the type-check and the tests that do not use it green.
 */
export function secretsManagerReader(config: { region?: string; endpoint?: string }): SecretValueReader {
  let client: { send(command: unknown): Promise<{ SecretString?: string }> } | undefined;
  let Command: (new (input: { SecretId: string }) => unknown) | undefined;
  return {
    async getSecretString(secretId) {
      if (!client || !Command) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const sdk = require('@aws-sdk/client-secrets-manager') as {
          SecretsManagerClient: new (config: object) => NonNullable<typeof client>;
          GetSecretValueCommand: NonNullable<typeof Command>;
        };
        client = new sdk.SecretsManagerClient({ ...(config.region ? { region: config.region } : {}), ...(config.endpoint ? { endpoint: config.endpoint } : {}) });
        Command = sdk.GetSecretValueCommand;
      }
      return (await client.send(new Command({ SecretId: secretId }))).SecretString;
    },
  };
}
