/**
 * R-ING-1, R-ING-3, R-ING-4: the POST /v1/events body parser, case by case.
 */
import { MAX_MEASUREMENT, parseIngestBody, type ParsedEvent } from '../../lambdas/domain/events';
import { DomainError } from '../../lambdas/domain/model';
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';

const RECEIVED_AT = new Date('2026-11-23T10:15:30.000Z');
const LIMITS = DEFAULT_RUNTIME_SETTINGS.limits;

function parse(body: unknown, options: { contentType?: string; limits?: typeof LIMITS } = {}): ParsedEvent[] {
  return parseIngestBody({
    rawBody: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    contentType: 'contentType' in options ? options.contentType : 'application/json',
    receivedAt: RECEIVED_AT,
    limits: options.limits ?? LIMITS,
  });
}

function rejection(body: unknown, options?: Parameters<typeof parse>[1]): DomainError {
  try {
    parse(body, options);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the body to be rejected');
}

const apiCall = { type: 'api_call', method: 'GET', route: '/users/:id', status: 200, latencyMs: 12.5 };

describe('R-ING-3: single events and batches', () => {
  it('parses one generic event, defaulting timestamp to receivedAt and properties to {}', () => {
    expect(parse({ type: 'event', name: 'signup' })).toEqual([
      { event: { type: 'event', name: 'signup', timestamp: RECEIVED_AT.toISOString(), properties: {} } },
    ]);
  });

  it('parses a batch in order and keeps each client id', () => {
    const parsed = parse({
      events: [
        { type: 'event', name: 'a', id: 'evt-1' },
        { type: 'metric', name: 'cpu', value: 0.5 },
      ],
    });
    expect(parsed.map((p) => [p.clientId, p.event.type])).toEqual([
      ['evt-1', 'event'],
      [undefined, 'metric'],
    ]);
  });

  it('keeps properties exactly as given, nested values included', () => {
    const properties = { plan: 'pro', nested: { list: [1, 'two', null, true] }, 'key with spaces': 1 };
    expect(parse({ type: 'event', name: 'x', properties })[0].event).toMatchObject({ properties });
  });

  it('refuses an empty batch as invalid_event', () => {
    expect(rejection({ events: [] })).toMatchObject({ code: 'invalid_event', status: 400, details: [{ path: 'events' }] });
  });

  it('refuses a batch over maxBatchEvents with batch_too_large 413', () => {
    const events = Array.from({ length: LIMITS.maxBatchEvents + 1 }, () => ({ type: 'event', name: 'x' }));
    expect(rejection({ events })).toMatchObject({ code: 'batch_too_large', status: 413 });
    expect(parse({ events: events.slice(1) })).toHaveLength(LIMITS.maxBatchEvents);
  });

  it('refuses a body that is neither an event nor a batch', () => {
    for (const body of ['[]', '42', '"text"', 'null']) {
      expect(rejection(body)).toMatchObject({ code: 'invalid_event', status: 400 });
    }
  });

  it('refuses unknown fields next to events in a batch', () => {
    expect(rejection({ events: [{ type: 'event', name: 'x' }], evnts: [] }).details).toEqual([{ path: 'evnts', message: 'unknown field' }]);
  });
});

describe('R-ING-1: API-monitoring records', () => {
  it('parses method, route, status, latency, sizes and payload; upper-cases the method', () => {
    const [{ event }] = parse({ ...apiCall, method: 'post', requestBytes: 10, responseBytes: 2048, payload: [{ id: 1 }] });
    expect(event).toEqual({
      type: 'api_call',
      method: 'POST',
      route: '/users/:id',
      status: 200,
      latencyMs: 12.5,
      requestBytes: 10,
      responseBytes: 2048,
      timestamp: RECEIVED_AT.toISOString(),
      payload: [{ id: 1 }],
      properties: {},
    });
  });

  it('reports a field of the wrong type with its path in the batch', () => {
    const error = rejection({ events: [apiCall, apiCall, apiCall, { ...apiCall, status: '200' }] });
    expect(error).toMatchObject({ code: 'invalid_event', status: 400 });
    expect(error.details).toEqual([{ path: 'events[3].status', message: expect.stringContaining('number') }]);
  });

  it.each([
    ['status below 100', { status: 99 }, 'status'],
    ['status above 599', { status: 600 }, 'status'],
    ['fractional status', { status: 200.5 }, 'status'],
    ['negative latency', { latencyMs: -1 }, 'latencyMs'],
    ['negative size', { requestBytes: -1 }, 'requestBytes'],
    ['fractional size', { responseBytes: 1.5 }, 'responseBytes'],
    ['method that is not a token', { method: 'GET /' }, 'method'],
    ['empty route', { route: '' }, 'route'],
  ])('refuses %s', (_, change, path) => {
    expect(rejection({ ...apiCall, ...change }).details).toEqual([{ path, message: expect.any(String) }]);
  });

  it('refuses a latency that JSON turns into Infinity (1e400)', () => {
    expect(rejection('{"type":"api_call","method":"GET","route":"/","status":200,"latencyMs":1e400}').details?.[0].path).toBe('latencyMs');
  });
});

describe('R-ING-4: metrics', () => {
  it('parses name, value, unit and dimensions', () => {
    const [{ event }] = parse({ type: 'metric', name: 'queue.depth', value: -3, unit: 'Count', dimensions: { region: 'eu-west-1' } });
    expect(event).toEqual({
      type: 'metric',
      name: 'queue.depth',
      value: -3,
      unit: 'Count',
      dimensions: { region: 'eu-west-1' },
      timestamp: RECEIVED_AT.toISOString(),
    });
  });

  it('accepts 30 dimensions and refuses 31', () => {
    const dimensions = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, 'v']));
    expect(parse({ type: 'metric', name: 'm', value: 1, dimensions: dimensions(30) })).toHaveLength(1);
    expect(rejection({ type: 'metric', name: 'm', value: 1, dimensions: dimensions(31) }).details?.[0].path).toBe('dimensions');
  });

  it('refuses a non-string dimension value and a __proto__ dimension name instead of dropping it', () => {
    expect(rejection({ type: 'metric', name: 'm', value: 1, dimensions: { host: 1 } }).details?.[0].path).toBe('dimensions.host');
    expect(rejection('{"type":"metric","name":"m","value":1,"dimensions":{"__proto__":"x"}}').details?.[0].path).toBe('dimensions');
  });
});

describe('event fields common to every type', () => {
  it.each([
    ['ISO with offset', '2026-11-23T12:15:00+02:00', '2026-11-23T10:15:00.000Z'],
    ['ISO with microseconds', '2026-11-23T10:00:00.123456Z', '2026-11-23T10:00:00.123Z'],
    ['epoch milliseconds', Date.UTC(2026, 10, 23, 10, 0), '2026-11-23T10:00:00.000Z'],
    ['4 minutes ahead (clock skew)', RECEIVED_AT.getTime() + 4 * 60_000, '2026-11-23T10:19:30.000Z'],
  ])('normalises a timestamp given as %s', (_, timestamp, expected) => {
    expect(parse({ type: 'event', name: 'x', timestamp })[0].event.timestamp).toBe(expected);
  });

  it.each([
    ['more than 5 minutes ahead', RECEIVED_AT.getTime() + 5 * 60_000 + 1],
    ['before 2000', '1999-12-31T23:59:59Z'],
    ['without a zone', '2026-11-23T10:00:00'],
    ['not a date', 'yesterday'],
    ['beyond the Date range', 1e20],
  ])('refuses a timestamp %s', (_, timestamp) => {
    expect(rejection({ type: 'event', name: 'x', timestamp }).details).toEqual([{ path: 'timestamp', message: expect.any(String) }]);
  });

  it.each([
    ['an empty name', { name: '' }, 'name'],
    ['a 201-character name', { name: 'n'.repeat(201) }, 'name'],
    ['a control character in the name', { name: 'a\u0000b' }, 'name'],
    ['an id with a slash', { id: 'a/b' }, 'id'],
    ['properties that are an array', { properties: [1] }, 'properties'],
  ])('refuses %s', (_, change, path) => {
    expect(rejection({ type: 'event', name: 'x', ...change }).details?.[0].path).toBe(path);
  });

  it('accepts a 200-character name and a 128-character id', () => {
    expect(parse({ type: 'event', name: 'n'.repeat(200), id: 'i'.repeat(128) })[0].clientId).toHaveLength(128);
  });

  it('refuses payloads nested deeper than 64 levels, so later serialisation cannot overflow the stack', () => {
    const deep = (n: number): unknown => (n === 0 ? 'leaf' : { a: deep(n - 1) });
    expect(parse({ ...apiCall, payload: deep(60) })).toHaveLength(1);
    expect(rejection({ ...apiCall, payload: deep(70) }).details?.[0].path).toBe('payload');
  });

  it('names every unknown field, so a typo surfaces', () => {
    expect(rejection({ type: 'event', name: 'x', propertes: {}, timstamp: 1 }).details).toEqual([
      { path: 'propertes', message: 'unknown field' },
      { path: 'timstamp', message: 'unknown field' },
    ]);
  });

  it('refuses an unknown type with unknown_event_type naming the index', () => {
    const error = rejection({ events: [{ type: 'event', name: 'x' }, { type: 'pageview' }] });
    expect(error).toMatchObject({ code: 'unknown_event_type', status: 400, details: [{ path: 'events[1].type' }] });
    expect(error.message).toContain('events[1]');
  });

  it('refuses a missing type as invalid_event', () => {
    expect(rejection({ name: 'x' })).toMatchObject({ code: 'invalid_event', details: [{ path: 'type' }] });
  });

  it('lists at most 20 details however many events are wrong', () => {
    const error = rejection({ events: Array.from({ length: 50 }, () => ({ type: 'event' })) });
    expect(error.details).toHaveLength(20);
    expect(error.message).toContain('first 20 of 50');
  });
});

describe('transport checks', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;Charset="UTF-8"'])('accepts Content-Type %s', (contentType) => {
    expect(parse({ type: 'event', name: 'x' }, { contentType })).toHaveLength(1);
  });

  it.each([undefined, 'text/plain', 'application/jsonx', 'application/json; charset=latin1'])('refuses Content-Type %s with 415', (contentType) => {
    expect(rejection({ type: 'event', name: 'x' }, { contentType })).toMatchObject({ code: 'unsupported_media_type', status: 415 });
  });

  it('refuses a body over maxBodyBytes with 413 before parsing it', () => {
    const limits = { ...LIMITS, maxBodyBytes: 1024 };
    // Not JSON: only the size check can answer 413.
    expect(rejection('x'.repeat(1025), { limits })).toMatchObject({ code: 'body_too_large', status: 413 });
    expect(rejection('x'.repeat(1024), { limits })).toMatchObject({ code: 'malformed_json' });
  });

  it('counts bytes, not characters', () => {
    const limits = { ...LIMITS, maxBodyBytes: 1024 };
    const body = JSON.stringify({ type: 'event', name: 'é'.repeat(200), properties: { pad: 'é'.repeat(300) } });
    expect(body.length).toBeLessThan(1024);
    expect(rejection(body, { limits })).toMatchObject({ code: 'body_too_large' });
  });

  it('refuses text that is not JSON, and bytes that are not UTF-8, with malformed_json', () => {
    expect(rejection('{"type":')).toMatchObject({ code: 'malformed_json', status: 400 });
    expect(rejection(Buffer.from([0x7b, 0xff, 0x7d]))).toMatchObject({ code: 'malformed_json', status: 400 });
  });

  it('parses a Buffer body, with or without a UTF-8 byte-order mark', () => {
    const json = JSON.stringify({ type: 'event', name: 'café' });
    for (const raw of [Buffer.from(json), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)])]) {
      expect(parse(raw)[0].event).toMatchObject({ name: 'café' });
    }
  });
});

describe('R-ING-7: what reaches a storage key is bounded in UTF-8 bytes, numbers kept in clear to what DynamoDB holds', () => {
  const route = (bytes: number, char = 'a') => `/${char.repeat((bytes - 1) / Buffer.byteLength(char))}`;

  it('takes a route of KEY_BYTE_BOUNDS.route bytes and refuses one byte more, counting bytes, not characters', () => {
    const atLimit = `/${'a'.repeat(KEY_BYTE_BOUNDS.route - 1)}`;
    // 700 characters of 3 bytes: shorter than the ASCII route at the limit, and 2,101 bytes.
    const threeByte = route(2101, '€');
    expect(threeByte.length).toBeLessThan(atLimit.length);

    expect(parse({ ...apiCall, route: atLimit })[0].event).toMatchObject({ route: atLimit });
    for (const over of [`${atLimit}a`, threeByte, `/${'a'.repeat(999)}`]) {
      expect(rejection({ ...apiCall, route: over })).toMatchObject({
        code: 'invalid_event',
        status: 400,
        details: [{ path: 'route', message: `must be at most ${KEY_BYTE_BOUNDS.route} bytes of UTF-8 (it is part of a storage key)` }],
      });
    }
  });

  it.each([
    ['a latency of 0', { ...apiCall, latencyMs: 0 }],
    ['the largest latency', { ...apiCall, latencyMs: MAX_MEASUREMENT }],
    ['the smallest magnitude DynamoDB holds', { type: 'metric', name: 'm', value: -1e-130 }],
    ['the largest byte count JavaScript holds exactly', { ...apiCall, requestBytes: Number.MAX_SAFE_INTEGER }],
  ])('takes %s', (_, event) => {
    expect(parse(event)).toHaveLength(1);
  });

  it.each([
    ['a latency over 1e15', { ...apiCall, latencyMs: MAX_MEASUREMENT * 10 }, 'latencyMs'],
    ['a metric value beyond what a rollup sum may hold', { type: 'metric', name: 'm', value: -1e300 }, 'value'],
    ['a metric value below DynamoDB’s smallest magnitude', { type: 'metric', name: 'm', value: 1e-131 }, 'value'],
    ['a byte count past 2^53', { ...apiCall, responseBytes: 2 ** 60 }, 'responseBytes'],
  ])('refuses %s with 400 invalid_event', (_, event, path) => {
    expect(rejection(event)).toMatchObject({ code: 'invalid_event', status: 400, details: [{ path, message: expect.any(String) }] });
  });
});
