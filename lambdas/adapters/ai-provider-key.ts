/**
 * R-AI-3: the model provider's API key. In AWS it lives in Secrets Manager (a KMS-encrypted secret the services stack
 * creates; its ARN in AI_API_KEY_SECRET_ARN), read on first use and again after CACHE_MS, so a rotated key is picked
 * up without a deploy. Locally it comes from LUMIQO_OPENAI_API_KEY or the file LUMIQO_OPENAI_API_KEY_FILE. The key is
 * never logged and never part of an error message.
 */
import { readFileSync } from 'node:fs';
import type { SecretValueReader } from './stripe-webhook-secret';

const CACHE_MS = 5 * 60_000;

/** The secret may be the key itself, or JSON `{ "apiKey": "…" }`. */
function keyOf(raw: string | undefined, where: string): string {
  const text = raw?.trim() ?? '';
  const value = text.startsWith('{') ? String((JSON.parse(text) as { apiKey?: unknown }).apiKey ?? '') : text;
  if (!value) throw new Error(`${where} holds no AI provider API key`);
  return value;
}

export function secretsManagerApiKey(reader: SecretValueReader, secretArn: string, now: () => number = Date.now): () => Promise<string> {
  let cached: { value: string; until: number } | undefined;
  return async () => {
    if (!cached || cached.until <= now()) cached = { value: keyOf(await reader.getSecretString(secretArn), `Secret ${secretArn}`), until: now() + CACHE_MS };
    return cached.value;
  };
}

/** Local mode: the key from the environment or a file; a local server without authentication gets a placeholder. */
export function localApiKey(value: string | undefined, file: string | undefined): () => Promise<string> {
  const key = value ? value : file ? keyOf(readFileSync(file, 'utf8'), file) : 'no-key';
  return async () => key;
}
