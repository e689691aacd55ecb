/**
 * POST /v1/events through the ingest handler (issue 2's bad inputs; R-ING-1, R-ING-3, R-ING-4, R-ING-7,
 * R-TERM-1): every refusal is `{ error: { code, message } }` with a stable code, and nothing is published.
 */
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import { API_KEY_CACHE_MS } from '../../lambdas/shared/tenant-context';
import {
  apiRequest,
  bodyOf,
  deliverPublished,
  expectErrorAnswer,
  postEvents,
  removeKeyDirectories,
  tenantWithKey,
  testPlatform,
  type TestPlatform,
} from './fixtures';

afterAll(removeKeyDirectories);

const signup = { type: 'event', name: 'signup', properties: { plan: 'pro' } };
const apiCall = { type: 'api_call', method: 'get', route: '/users/:id', status: 200, latencyMs: 42 };
const metric = { type: 'metric', name: 'cpu', value: 0.73, unit: 'ratio', dimensions: { host: 'web-1' } };

describe('POST /v1/events: accepted events', () => {
  let platform: TestPlatform;
  let apiKey: string;
  beforeEach(async () => {
    platform = testPlatform();
    apiKey = await tenantWithKey(platform, 'acme');
  });

  it('R-ING-3: a single event is accepted with 202 and published under the key’s tenant', async () => {
    // Act
    const answer = await postEvents(platform, apiKey, signup);

    // Assess
    expect(answer.statusCode).toBe(202);
    const { accepted, eventIds } = bodyOf<{ accepted: number; eventIds: string[] }>(answer);
    expect(accepted).toBe(1);
    expect(platform.publisher.published).toEqual([
      expect.objectContaining({ tenantId: 'acme', eventId: eventIds[0], event: expect.objectContaining({ type: 'event', name: 'signup' }) }),
    ]);
  });

  it('R-ING-3, R-ING-1, R-ING-4: a batch of event, api_call and metric is accepted with 202, one envelope each', async () => {
    // Act
    const answer = await postEvents(platform, apiKey, { events: [signup, apiCall, metric] });

    // Assess
    expect(answer.statusCode).toBe(202);
    expect(bodyOf(answer)).toMatchObject({ accepted: 3 });
    expect(platform.publisher.published.map((e) => e.event)).toEqual([
      expect.objectContaining({ type: 'event', name: 'signup' }),
      expect.objectContaining({ type: 'api_call', method: 'GET', route: '/users/:id', status: 200, latencyMs: 42 }),
      expect.objectContaining({ type: 'metric', name: 'cpu', value: 0.73, dimensions: { host: 'web-1' } }),
    ]);
    expect(new Set(platform.publisher.published.map((e) => e.eventId)).size).toBe(3);
  });

  it('R-ING-7: a client `id` makes the same request twice produce the same event ids', async () => {
    // Prepare
    const body = { events: [{ ...signup, id: 'order-17' }, { ...apiCall, id: 'req:9f2' }] };

    // Act
    const first = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, body));
    const second = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, body));

    // Assess
    expect(second.eventIds).toEqual(first.eventIds);
    expect(first.eventIds).toEqual(['c_order-17', 'c_req:9f2']);
  });

  it('R-ING-7: without a client id, two identical requests are two events', async () => {
    const first = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, signup));
    const second = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, signup));

    expect(first.eventIds[0]).not.toBe(second.eventIds[0]);
  });

  it('R-ING-7: an Idempotency-Key header makes a retried request without ids produce the same event ids, and store them once', async () => {
    // Prepare
    const headers = { 'Idempotency-Key': 'retry-7f3a' };
    const body = { events: [signup, apiCall, { ...metric, id: 'own-id' }] };

    // Act
    const first = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, body, headers));
    const second = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, body, headers));
    const otherKey = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, body, { 'Idempotency-Key': 'retry-other' }));
    await deliverPublished(platform);

    // Assess
    expect(second.eventIds).toEqual(first.eventIds);
    expect(new Set(first.eventIds).size).toBe(3);
    expect(first.eventIds[2]).toBe('c_own-id');
    expect(otherKey.eventIds.slice(0, 2)).not.toEqual(first.eventIds.slice(0, 2));
    const stored = await platform.store.queryEvents({ tenantId: 'acme', limit: 100 });
    expect(stored.items).toHaveLength(5);
  });

  it('R-ING-7: the same Idempotency-Key under another tenant derives other ids', async () => {
    const globexKey = await tenantWithKey(platform, 'globex');
    const headers = { 'Idempotency-Key': 'shared-key' };

    const acme = bodyOf<{ eventIds: string[] }>(await postEvents(platform, apiKey, signup, headers));
    const globex = bodyOf<{ eventIds: string[] }>(await postEvents(platform, globexKey, signup, headers));

    expect(acme.eventIds[0]).not.toBe(globex.eventIds[0]);
  });

  it.each([['a'.repeat(256)], ['with space'], ['nön-ascii']])('R-ING-7: a malformed Idempotency-Key (%s) → 400 invalid_request, nothing published', async (key) => {
    expectErrorAnswer(await postEvents(platform, apiKey, signup, { 'Idempotency-Key': key }), 400, 'invalid_request');
    expect(platform.publisher.published).toEqual([]);
  });

  it('accepts a base64-encoded body, as API Gateway passes binary media types', async () => {
    const answer = await platform.ingest(apiRequest('POST', '/v1/events', { body: signup, base64: true, headers: { Authorization: `Bearer ${apiKey}` } }));

    expect(answer.statusCode).toBe(202);
  });
});

describe('POST /v1/events: refused bodies (issue 2)', () => {
  let platform: TestPlatform;
  let apiKey: string;
  beforeEach(async () => {
    platform = testPlatform({ limits: { maxBodyBytes: 2048, maxBatchEvents: 3 } });
    apiKey = await tenantWithKey(platform, 'acme');
  });
  afterEach(() => expect(platform.publisher.published).toEqual([]));

  it('malformed JSON → 400 malformed_json', async () => {
    const answer = await postEvents(platform, apiKey, '{"type":"event","name":');

    expectErrorAnswer(answer, 400, 'malformed_json');
  });

  it('a body that is not UTF-8 → 400 malformed_json', async () => {
    // Prepare: raw bytes reach the handler base64-encoded, as API Gateway passes them.
    const request = { ...apiRequest('POST', '/v1/events', { headers: { Authorization: `Bearer ${apiKey}` } }) };
    request.body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64');
    request.isBase64Encoded = true;

    // Act
    const answer = await platform.ingest(request);

    // Assess
    expectErrorAnswer(answer, 400, 'malformed_json');
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1']])(
    'wrong content type %s → 415 unsupported_media_type',
    async (contentType) => {
      const answer = await postEvents(platform, apiKey, signup, { 'Content-Type': contentType });

      expectErrorAnswer(answer, 415, 'unsupported_media_type');
    },
  );

  it('a body over the limit → 413 body_too_large', async () => {
    const answer = await postEvents(platform, apiKey, { ...signup, properties: { note: 'x'.repeat(2100) } });

    expectErrorAnswer(answer, 413, 'body_too_large');
  });

  it('a batch over the limit → 413 batch_too_large', async () => {
    const answer = await postEvents(platform, apiKey, { events: [signup, signup, signup, signup] });

    expect(expectErrorAnswer(answer, 413, 'batch_too_large').message).toContain('at most 3');
  });

  it('an unknown event type → 400 unknown_event_type naming the field', async () => {
    const answer = await postEvents(platform, apiKey, { events: [signup, { type: 'trace', name: 'x' }] });

    const error = expectErrorAnswer(answer, 400, 'unknown_event_type');
    expect(error.details).toEqual([expect.objectContaining({ path: 'events[1].type' })]);
  });

  it('a field of the wrong type → 400 invalid_event with its path, and the whole batch is refused', async () => {
    const answer = await postEvents(platform, apiKey, { events: [signup, { ...apiCall, status: '500' }] });

    const error = expectErrorAnswer(answer, 400, 'invalid_event');
    expect(error.details).toEqual([expect.objectContaining({ path: 'events[1].status' })]);
  });

  it('an unknown field → 400 invalid_event', async () => {
    const answer = await postEvents(platform, apiKey, { ...signup, tenantId: 'globex' });

    expect(expectErrorAnswer(answer, 400, 'invalid_event').details).toEqual([{ path: 'tenantId', message: 'unknown field' }]);
  });
});

describe('POST /v1/events: API keys (R-SEC-3, R-SEC-4)', () => {
  let platform: TestPlatform;
  let apiKey: string;
  beforeEach(async () => {
    platform = testPlatform();
    apiKey = await tenantWithKey(platform, 'acme');
  });

  it('a missing API key → 401 missing_api_key', async () => {
    const answer = await platform.ingest(apiRequest('POST', '/v1/events', { body: signup }));

    expectErrorAnswer(answer, 401, 'missing_api_key');
  });

  it.each([
    ['Bearer nope', 'invalid_api_key'],
    ['Bearer lq_key_01ARZ3NDEKTSV4RRFFQ69G5FAV_tooShort', 'invalid_api_key'],
    ['Basic dXNlcjpwYXNz', 'missing_api_key'],
  ] as const)('a malformed API key (%s) → 401 %s', async (authorization, code) => {
    const answer = await platform.ingest(apiRequest('POST', '/v1/events', { body: signup, headers: { Authorization: authorization } }));

    expectErrorAnswer(answer, 401, code);
  });

  it('a well-formed but unknown API key → 401 invalid_api_key', async () => {
    const unknown = apiKey.replace(/.{6}$/, 'AAAAAA');

    const answer = await postEvents(platform, unknown, signup);

    expectErrorAnswer(answer, 401, 'invalid_api_key');
  });

  it('a revoked API key → 401 invalid_api_key once the key cache period has passed', async () => {
    // Prepare: the key works and is cached.
    const { keyId } = await platform.directory.listApiKeys('acme').then(([key]) => key);
    expect((await postEvents(platform, apiKey, signup)).statusCode).toBe(202);

    // Act
    const revoke = await platform.admin(
      apiRequest('DELETE', '/v1/admin/tenants/{tenantId}/api-keys/{keyId}', { pathParameters: { tenantId: 'acme', keyId } }),
    );
    platform.clock.advance(API_KEY_CACHE_MS + 1);
    const answer = await postEvents(platform, apiKey, signup);

    // Assess
    expect(revoke.statusCode).toBe(200);
    expectErrorAnswer(answer, 401, 'invalid_api_key');
  });

  it('a frozen tenant → 403 tenant_frozen (R-TERM-1), and its "active" twin is accepted', async () => {
    // Prepare
    const otherKey = await tenantWithKey(platform, 'globex');
    await platform.directory.setTenantStatus('acme', 'frozen');

    // Act
    const frozen = await postEvents(platform, apiKey, signup);
    const active = await postEvents(platform, otherKey, signup);

    // Assess
    expectErrorAnswer(frozen, 403, 'tenant_frozen');
    expect(active.statusCode).toBe(202);
    expect(platform.publisher.published.map((e) => e.tenantId)).toEqual(['globex']);
  });
});

describe('R-ING-7: POST /v1/events refuses what DynamoDB or Kinesis would refuse later', () => {
  let platform: TestPlatform;
  let apiKey: string;
  beforeEach(async () => {
    platform = testPlatform();
    apiKey = await tenantWithKey(platform, 'acme');
  });
  afterEach(() => expect(platform.publisher.published).toEqual([]));

  it('an api_call with a 1,000-character route → 400 invalid_event naming the route and its byte limit', async () => {
    const answer = await postEvents(platform, apiKey, { type: 'api_call', method: 'GET', route: `/${'a'.repeat(999)}`, status: 200, latencyMs: 5 });

    const error = expectErrorAnswer(answer, 400, 'invalid_event');
    expect(error.details).toEqual([{ path: 'route', message: `must be at most ${KEY_BYTE_BOUNDS.route} bytes of UTF-8 (it is part of a storage key)` }]);
  });

  it('one event of 1 MiB, within the body limit, whose stream record would pass 1 MiB → 413 body_too_large, not 500', async () => {
    const shell = JSON.stringify({ type: 'event', name: 'big', properties: { pad: '' } });
    const body = JSON.stringify({ type: 'event', name: 'big', properties: { pad: 'x'.repeat(platform.settings.limits.maxBodyBytes - shell.length) } });

    const answer = await postEvents(platform, apiKey, body);

    expect(expectErrorAnswer(answer, 413, 'body_too_large').message).toMatch(/stream record holds at most 1048576/);
  });
});

