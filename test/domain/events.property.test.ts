/**
 * R-ING-1, R-ING-3, R-ING-4: properties of the POST /v1/events parser over generated bodies.
 * Whatever arrives, the parser answers with events or a DomainError; every valid event survives the trip
 * through JSON with every field intact.
 */
import fc from 'fast-check';
import { MAX_MEASUREMENT, parseIngestBody, type ParsedEvent } from '../../lambdas/domain/events';
import { DomainError } from '../../lambdas/domain/model';
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';

const RECEIVED_AT = new Date('2026-11-23T10:15:30.000Z');
const LIMITS = DEFAULT_RUNTIME_SETTINGS.limits;

const parse = (rawBody: Buffer | string, contentType = 'application/json'): ParsedEvent[] =>
  parseIngestBody({ rawBody, contentType, receivedAt: RECEIVED_AT, limits: LIMITS });

/** Runs the parser; a DomainError is an answer, anything else thrown fails the property. */
function answers(rawBody: Buffer | string, contentType?: string): boolean {
  try {
    parse(rawBody, contentType);
    return true;
  } catch (error) {
    if (error instanceof DomainError) return true;
    throw error;
  }
}

const printable = (maxLength: number) =>
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength })
    .filter((s) => s.length <= maxLength && /^[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]+$/u.test(s));
/** R-ING-7: a number DynamoDB holds, within what a rollup sum may add up (events.ts MAX_MEASUREMENT). */
const measurement = fc
  .double({ min: -MAX_MEASUREMENT, max: MAX_MEASUREMENT, noNaN: true })
  .filter((n) => n === 0 || Math.abs(n) >= 1e-130);
const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 });
const clientId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/);
const when = fc.date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date(RECEIVED_AT.getTime() + 5 * 60_000), noInvalidDate: true });
/** A timestamp in either accepted form, with the ISO string the parser must turn it into. */
const timestamp = fc.tuple(when, fc.boolean()).map(([date, asIso]) => ({ wire: asIso ? date.toISOString() : date.getTime(), iso: date.toISOString() }));

const genericEvent = fc.record(
  { type: fc.constant('event'), name: printable(200), properties: jsonObject, id: clientId },
  { requiredKeys: ['type', 'name'] },
);
const apiCallEvent = fc.record(
  {
    type: fc.constant('api_call'),
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'),
    // R-ING-7: a route is bounded in UTF-8 bytes by the keys it reaches.
    route: printable(300).filter((route) => Buffer.byteLength(route) <= KEY_BYTE_BOUNDS.route),
    status: fc.integer({ min: 100, max: 599 }),
    latencyMs: measurement.map(Math.abs),
    requestBytes: fc.nat(),
    responseBytes: fc.nat(),
    payload: fc.jsonValue({ maxDepth: 4 }),
    properties: jsonObject,
    id: clientId,
  },
  { requiredKeys: ['type', 'method', 'route', 'status', 'latencyMs'] },
);
const metricEvent = fc.record(
  {
    type: fc.constant('metric'),
    name: printable(200),
    value: measurement,
    unit: printable(50),
    dimensions: fc.dictionary(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/), printable(200), { maxKeys: 30 }),
    id: clientId,
  },
  { requiredKeys: ['type', 'name', 'value'] },
);
const validEvent = fc
  .tuple(fc.oneof(genericEvent, apiCallEvent, metricEvent), fc.option(timestamp, { nil: undefined }))
  .map(([fields, at]) => ({ wire: at === undefined ? fields : { ...fields, timestamp: at.wire }, iso: at?.iso ?? RECEIVED_AT.toISOString() }));

/** What the parser must return for an event sent on the wire: JSON's view of it, id split off, defaults filled. */
function expectedOf(wire: Record<string, unknown>, iso: string): ParsedEvent {
  const { id, ...fields } = JSON.parse(JSON.stringify(wire)) as Record<string, unknown>;
  const defaults = wire.type === 'metric' ? { dimensions: {} } : { properties: {} };
  const event = { ...defaults, ...fields, timestamp: iso } as unknown as ParsedEvent['event'];
  return id === undefined ? { event } : { clientId: id as string, event };
}

describe('R-ING-3: the parser answers every input with events or a DomainError', () => {
  it('for arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => answers(text)));
  });

  it('for arbitrary bytes and content types', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.string(), { nil: undefined }), (bytes, type) => answers(Buffer.from(bytes), type)));
  });

  it('for arbitrary JSON values, alone or as a batch', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, asBatch) => answers(JSON.stringify(asBatch ? { events: [value] } : value))),
    );
  });

  it('for valid events with one field replaced by an arbitrary JSON value', () => {
    fc.assert(
      fc.property(validEvent, fc.string({ maxLength: 15 }), fc.jsonValue({ maxDepth: 3 }), ({ wire }, field, value) =>
        answers(JSON.stringify({ events: [{ ...wire, [field]: value }] })),
      ),
    );
  });
});

describe('R-ING-1, R-ING-3, R-ING-4: valid events round-trip', () => {
  it('parse(JSON.stringify(event)) keeps every field, alone and in a batch', () => {
    fc.assert(
      fc.property(fc.array(validEvent, { minLength: 1, maxLength: 5 }), (events) => {
        const expected = events.map(({ wire, iso }) => expectedOf(wire, iso));
        expect(parse(JSON.stringify({ events: events.map((e) => e.wire) }))).toEqual(expected);
        expect(parse(JSON.stringify(events[0].wire))).toEqual([expected[0]]);
      }),
    );
  });
});
