/** R-BILL-3: the signing secret from Secrets Manager (through its reader port), cached, refused when it is not one. */
import { SecretsManagerSigningSecret, type SecretValueReader } from '../../lambdas/adapters/stripe-webhook-secret';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:StripeWebhookSecret-AbCdEf';

function reader(values: (string | undefined)[]): SecretValueReader & { reads: string[] } {
  const reads: string[] = [];
  return { reads, getSecretString: async (id) => (reads.push(id), values[Math.min(reads.length - 1, values.length - 1)]) };
}

test('reads the whsec_ secret by ARN once, and again after five minutes (a secret rolled in Stripe is picked up)', async () => {
  let now = 0;
  const source = reader(['whsec_first', 'whsec_second']);
  const secret = new SecretsManagerSigningSecret(source, ARN, () => now);
  expect(await secret.secret()).toBe('whsec_first');
  expect(await secret.secret()).toBe('whsec_first');
  now += 5 * 60_000 + 1;
  expect(await secret.secret()).toBe('whsec_second');
  expect(source.reads).toEqual([ARN, ARN]);
});

test('accepts the JSON form { "signingSecret": "whsec_…" }', async () => {
  expect(await new SecretsManagerSigningSecret(reader(['{"signingSecret":"whsec_json"}']), ARN).secret()).toBe('whsec_json');
});

test.each([[undefined], ['  '], ['a-random-placeholder']])('refuses a secret that holds no whsec_ value (%p): the placeholder CDK generated was never replaced', async (value) => {
  await expect(new SecretsManagerSigningSecret(reader([value]), ARN).secret()).rejects.toThrow(ARN);
});
