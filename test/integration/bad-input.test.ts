/**
 * Issue 10, "bad input never answers 5xx": each request below answered 500 (or 502 locally) and would page an
 * operator through the Api5xx alarm. Through the local platform (emulators with AWS's limits), each must be a
 * clear 4xx with a stable code.
 */
import { createHmac } from 'node:crypto';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { request } from './http';

let local: LocalPlatform;
let key: string;
let githubSecret: string;

const admin = (method: string, path: string, body?: object) =>
  request<{ error?: { code: string } }>(`${local.url}/v1/admin${path}`, { token: local.adminToken, method, body });
const expect4xx = (answer: { status: number; body: { error?: { code: string } } }, status: number, code: string) =>
  expect({ status: answer.status, code: answer.body.error?.code }).toEqual({ status, code });

beforeAll(async () => {
  local = await startLocalPlatform({ port: 0, demo: false, pollIntervalMs: 20, ttlSweepIntervalMs: 3_600_000, log: () => undefined });
  expect((await admin('POST', '/tenants', { tenantId: 'badin', name: 'Bad input' })).status).toBe(201);
  key = String(((await admin('POST', '/tenants/badin/api-keys', { scopes: ['ingest', 'read'] })).body as { apiKey: string }).apiKey);
  githubSecret = String(((await admin('POST', '/tenants/badin/webhook-sources', { scheme: 'github', sourceId: 'gh' })).body as { secret: string }).secret);
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

describe('issue 10: bad input answers 4xx with a stable code, never 5xx', () => {
  it('R-ING-7: a single event just under 1 MiB whose envelope passes the Kinesis record limit → 413 body_too_large', async () => {
    const big = 'x'.repeat(1024 * 1024 - 200);
    expect4xx(await request(`${local.url}/v1/events`, { token: key, body: { type: 'event', name: 'n', properties: { big } } }), 413, 'body_too_large');
  });

  it('R-SEC-4: a cursor with an empty sort key → 400 invalid_request (Invalid cursor)', async () => {
    const partition = 'T#badin#K#event';
    const forged = Buffer.from(JSON.stringify({ event: { pk: 'T#badin#E#x', sk: 'EVENT', gsi1pk: partition, gsi1sk: '' } })).toString('base64url');
    expect4xx(await request(`${local.url}/v1/events?kind=event&cursor=${forged}`, { token: key }), 400, 'invalid_request');
  });

  it('R-SEC-4: a cursor of another query (outside this query’s range) → 400 invalid_request (Invalid cursor)', async () => {
    const events = Array.from({ length: 3 }, (_, i) => ({ type: 'event', name: 'paged', timestamp: `2026-01-0${i + 1}T00:00:00Z`, properties: {} }));
    expect((await request(`${local.url}/v1/events`, { token: key, body: { events } })).status).toBe(202);
    let page: { status: number; body: { cursor?: string; items?: unknown[] } } = { status: 0, body: {} };
    const deadline = Date.now() + 20_000;
    while (!page.body.cursor && Date.now() < deadline) {
      page = await request(`${local.url}/v1/events?kind=event&limit=1&from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z`, { token: key });
      if (!page.body.cursor) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(page.body.cursor).toBeDefined();
    // The same tenant, another range: the cursor's position lies outside it.
    const other = await request(`${local.url}/v1/events?kind=event&limit=1&from=2026-02-01T00:00:00Z&cursor=${page.body.cursor}`, { token: key });
    expect4xx(other, 400, 'invalid_request');
    // Its twin: the cursor resumes the query it came from.
    const next = await request(`${local.url}/v1/events?kind=event&limit=1&from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z&cursor=${page.body.cursor}`, { token: key });
    expect(next.status).toBe(200);
  });

  it('R-ING-7: an event id of 3,000 characters → 404 not_found', async () => {
    expect4xx(await request(`${local.url}/v1/events/${'e'.repeat(3000)}`, { token: key }), 404, 'not_found');
  });

  it('R-ING-2: a signed webhook id of 1,100 characters → 400 invalid_request', async () => {
    const body = '{"zen":"Keep it logically awesome."}';
    const signature = `sha256=${createHmac('sha256', githubSecret).update(body).digest('hex')}`;
    const answer = await request(`${local.url}/v1/hooks/badin/gh`, {
      body,
      headers: { 'x-hub-signature-256': signature, 'x-github-delivery': 'd'.repeat(1100), 'x-github-event': 'ping' },
    });
    expect4xx(answer, 400, 'invalid_request');
  });

  it('an admin route with an invalid tenant id → 404 not_found, as an unknown tenant (audit, revoke, get, issue-key, termination)', async () => {
    expect4xx(await admin('GET', '/tenants/NOT_VALID!/audit'), 404, 'not_found');
    expect4xx(await admin('DELETE', '/tenants/NOT_VALID!/api-keys/key_x'), 404, 'not_found');
    expect4xx(await admin('GET', '/tenants/NOT_VALID!'), 404, 'not_found');
    expect4xx(await admin('POST', '/tenants/NOT_VALID!/api-keys', {}), 404, 'not_found');
    expect4xx(await admin('GET', '/tenants/NOT_VALID!/termination'), 404, 'not_found');
  });

  it('a key id that no key can have on revoke → 404 not_found', async () => {
    expect4xx(await admin('DELETE', `/tenants/badin/api-keys/${'k'.repeat(1500)}`), 404, 'not_found');
  });

  it('a source id of 1,500 characters on rotate → 404 not_found', async () => {
    expect4xx(await admin('POST', `/tenants/badin/webhook-sources/${'s'.repeat(1500)}/rotate`, {}), 404, 'not_found');
  });

  it('malformed percent-encoding in a path → 400 invalid_request, JSON with a code', async () => {
    for (const path of ['/v1/events/%E0%A4%A', '/v1/hooks/badin/%ZZ', '/v1/admin/tenants/%']) {
      const response = await fetch(`${local.url}${path}`, { method: path.startsWith('/v1/hooks') ? 'POST' : 'GET', headers: { authorization: `Bearer ${key}` } });
      expect({ path, status: response.status, code: ((await response.json()) as { error?: { code: string } }).error?.code }).toEqual({ path, status: 400, code: 'invalid_request' });
    }
  });
});
