/**
 * What a first start creates, so that a new user has something to send data with: the local admin token, a
 * demo tenant with scoped API keys (R-SEC-5: an ingest key for senders, a read key for dashboards, a privacy key), and a Standard Webhooks source with its secret. All of it is created through
 * the operator routes, as an operator would, and kept in `<dataDir>/local-state.json` so a restart prints the
 * same credentials (the secrets exist nowhere else in clear: only their hash or ciphertext is stored).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoCredentials {
  readonly tenantId: string;
  /** R-SEC-5: the sender's key, `ingest` only: the one to ship inside a client app. */
  readonly apiKey: string;
  readonly keyId: string;
  /** R-SEC-5: the dashboard's key, `read` only: reads events and rollups back, cannot send. */
  readonly readApiKey: string;
  /** R-SEC-5: the back office's key, `privacy` only: opens and follows data-subject requests. */
  readonly privacyApiKey: string;
  /** R-AI-1: the assistant's key, `ai` only (absent in a state file from before the AI routes). */
  readonly aiApiKey?: string;
  readonly sourceId: string;
  readonly sourceScheme: string;
  readonly webhookSecret: string;
  readonly webhookPath: string;
}

export interface LocalState {
  readonly adminToken: string;
  readonly demo?: DemoCredentials;
  /** R-BILL-3 locally: the signing secret of POST /v1/billing/stripe/webhook (in AWS: Secrets Manager). */
  readonly stripeWebhookSecret?: string;
}

export const DEMO_TENANT = 'demo';
const DEMO_SOURCE = 'demo-hooks';
const STATE_FILE = 'local-state.json';

export function loadState(dataDir: string | undefined): LocalState {
  const file = dataDir && join(dataDir, STATE_FILE);
  if (file && existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as LocalState;
    // R-SEC-5: a state file from before scoped keys has one all-purpose demo key; create the scoped ones anew.
    return stored.demo && !stored.demo.readApiKey ? { adminToken: stored.adminToken } : stored;
  }
  const state = { adminToken: randomBytes(24).toString('base64url') };
  saveState(dataDir, state);
  return state;
}

export function saveState(dataDir: string | undefined, state: LocalState): void {
  if (dataDir) writeFileSync(join(dataDir, STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** Reads the admin token of a local data directory (the operator CLI uses it). */
export function adminTokenOf(dataDir: string): string | undefined {
  const file = join(dataDir, STATE_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalState).adminToken : undefined;
}

/**
 * Creates the demo tenant, key and source over the operator API. Idempotent: over a data directory whose state
 * file was lost, an existing tenant gets a new key and its source a new (rotated) secret.
 */
export async function createDemo(baseUrl: string, adminToken: string): Promise<DemoCredentials> {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 400 && response.status !== 409) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return { status: response.status, json };
  };
  await call('POST', '/v1/admin/tenants', { tenantId: DEMO_TENANT, name: 'Demo tenant', plan: 'starter' });
  const issue = async (scope: string) => (await call('POST', `/v1/admin/tenants/${DEMO_TENANT}/api-keys`, { scopes: [scope] })).json;
  const key = await issue('ingest');
  const readKey = await issue('read');
  const privacyKey = await issue('privacy');
  const aiKey = await issue('ai');
  let source = await call('POST', `/v1/admin/tenants/${DEMO_TENANT}/webhook-sources`, { sourceId: DEMO_SOURCE, scheme: 'standard' });
  if (source.status === 409) source = await call('POST', `/v1/admin/tenants/${DEMO_TENANT}/webhook-sources/${DEMO_SOURCE}/rotate`, {});
  return {
    tenantId: DEMO_TENANT,
    apiKey: String(key.apiKey),
    keyId: String(key.keyId),
    readApiKey: String(readKey.apiKey),
    privacyApiKey: String(privacyKey.apiKey),
    aiApiKey: String(aiKey.apiKey),
    sourceId: DEMO_SOURCE,
    sourceScheme: 'standard',
    webhookSecret: String(source.json.secret),
    webhookPath: `/v1/hooks/${DEMO_TENANT}/${DEMO_SOURCE}`,
  };
}
