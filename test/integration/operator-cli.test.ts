/**
 * The operator CLI (bin/lumiqo-admin.ts) against the local runtime over HTTP, and its SigV4 signing for a
 * deployed API, checked against the AWS Signature Version 4 test suite (R-SEC-5: operator routes are IAM-authorised).
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, regionOf, runCli, signedHeaders } from '../../bin/lumiqo-admin';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { eventually } from './http';

let local: LocalPlatform;

beforeAll(async () => {
  local = await startLocalPlatform({
    port: 0,
    demo: false,
    log: () => undefined,
    eventSource: { maxBatchingWindowMs: 50 },
    pollIntervalMs: 20,
    workflows: { waitOverridesMs: { AwaitPropagation: 0, AwaitInFlightIngest: 0, AwaitStreamDrain: 20, ExportWindow: 0 }, retryIntervalMs: 0 },
  });
});
afterAll(async () => local?.stop());

async function cli(...argv: string[]): Promise<{ code: number; output: unknown }> {
  const lines: string[] = [];
  const code = await runCli(argv, { out: (line) => lines.push(line), env: { LUMIQO_URL: local.url, LUMIQO_ADMIN_TOKEN: local.adminToken } });
  const text = lines.join('\n');
  try {
    return { code, output: JSON.parse(text) };
  } catch {
    return { code, output: text };
  }
}

it('creates a tenant, issues and revokes a key, creates and rotates a source, and reads the audit log', async () => {
  expect(await cli('create-tenant', 'cli-co', '--name', 'CLI Co', '--plan', 'business')).toMatchObject({ code: 0, output: { tenantId: 'cli-co', plan: 'business' } });
  // R-SEC-5: --scopes chooses what the key may do (a read key for this dashboard check); the default is ingest only.
  const issue = async () => (await cli('issue-key', 'cli-co', '--scopes', 'read')).output as { keyId: string; apiKey: string; scopes: string[] };
  const [kept, revoked] = [await issue(), await issue()];
  const status = async (apiKey: string) => (await fetch(`${local.url}/v1/events`, { headers: { authorization: `Bearer ${apiKey}` } })).status;
  expect(await cli('revoke-key', 'cli-co', revoked.keyId)).toMatchObject({ code: 0, output: { revoked: revoked.keyId } });
  // (A key used before its revocation keeps working for up to API_KEY_CACHE_MS, as in Lambda; this one was never used.)
  expect(await status(revoked.apiKey)).toBe(401);
  expect(await status(kept.apiKey)).toBe(200);
  expect(kept.scopes).toEqual(['read']);
  const ingestOnly = (await cli('issue-key', 'cli-co')).output as { apiKey: string; scopes: string[] };
  expect(ingestOnly.scopes).toEqual(['ingest']);
  expect(await status(ingestOnly.apiKey)).toBe(403);

  expect(await cli('create-source', 'cli-co', '--scheme', 'github', '--source-id', 'gh')).toMatchObject({ code: 0, output: { sourceId: 'gh', scheme: 'github' } });
  expect(await cli('rotate-source', 'cli-co', 'gh')).toMatchObject({ code: 0, output: { sourceId: 'gh', activeSecrets: 2 } });

  const audit = await cli('audit', 'cli-co');
  const actions = (audit.output as { items: { action: string }[] }).items.map((i) => i.action);
  expect(actions).toEqual(expect.arrayContaining(['tenant.create', 'api-key.issue', 'api-key.revoke', 'webhook-source.create', 'webhook-source.rotate']));
});

it('fails with the API error and a non-zero code when the tenant does not exist', async () => {
  const { code, output } = await cli('issue-key', 'nobody');
  expect(code).toBe(1);
  expect(output).toMatchObject({ error: { code: 'not_found' } });
});

it('R-DSR-1, R-TERM-3, R-TERM-5: opens a privacy request, terminates a tenant, and verifies its certificate offline', async () => {
  await cli('create-tenant', 'cli-gone', '--name', 'Gone Co');
  const opened = await cli('privacy-request', 'cli-gone', '--type', 'access', '--subject-kind', 'email', '--subject-value', 'amy@example.com');
  expect(opened).toMatchObject({ code: 0, output: { type: 'access', origin: 'operator' } });
  const requestId = (opened.output as { requestId: string }).requestId;
  await eventually(async () => {
    const { output } = await cli('privacy-status', 'cli-gone', requestId);
    return (output as { status: string }).status === 'completed' ? true : undefined;
  }, 'the access request');

  expect(await cli('terminate', 'cli-gone', '--immediate')).toMatchObject({ code: 0, output: { election: 'immediate' } });
  const status = await eventually(async () => {
    const { output } = await cli('termination-status', 'cli-gone');
    return (output as { status: string }).status === 'completed' ? output : undefined;
  }, 'the termination');

  const dir = mkdtempSync(join(tmpdir(), 'lumiqo-cli-'));
  try {
    const certificate = join(dir, 'status.json');
    const publicKey = join(dir, 'signing.pem');
    writeFileSync(certificate, JSON.stringify(status));
    writeFileSync(publicKey, await local.platform.signer.publicKeyPem());
    expect(await cli('verify-certificate', certificate, '--public-key', publicKey)).toMatchObject({ code: 0, output: { valid: true, kind: 'lumiqo.tenant-deletion.v1' } });
    const tampered = status as { certificate: { document: { tenantId: string } } };
    tampered.certificate.document.tenantId = 'someone-else';
    writeFileSync(certificate, JSON.stringify(tampered));
    expect(await cli('verify-certificate', certificate, '--public-key', publicKey)).toMatchObject({ code: 1, output: { valid: false } });
    expect(await cli('verify-certificate', certificate)).toMatchObject({ code: 2, output: expect.stringContaining('--public-key') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('answers usage errors with code 2 and the usage text', async () => {
  expect(await cli('create-tenant', 'x')).toMatchObject({ code: 2, output: expect.stringContaining('--name is required') });
  expect(await cli('frobnicate')).toMatchObject({ code: 2, output: expect.stringContaining('Usage') });
});

describe('SigV4 for the deployed API', () => {
  // The "get-vanilla" case of the AWS Signature Version 4 test suite.
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const signingDate = new Date('2015-08-30T12:36:00Z');

  it('computes the AWS test suite signature with its SHA-256', async () => {
    const signer = new SignatureV4({ service: 'service', region: 'us-east-1', credentials, sha256: NodeSha256, applyChecksum: false });
    const signed = await signer.sign(
      { method: 'GET', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query: {}, headers: { host: 'example.amazonaws.com' } },
      { signingDate },
    );
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('signs operator requests for execute-api in the region of the API URL', async () => {
    const url = new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/admin/tenants');
    expect(regionOf(url)).toBe('eu-west-1');
    const headers = await signedHeaders(url, 'POST', '{"tenantId":"acme","name":"Acme"}', 'eu-west-1', { ...credentials, sessionToken: 'token' }, signingDate);
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
    expect(headers['x-amz-security-token']).toBe('token');
  });
});
