/**
 * The POST /v1/events body parser (R-ING-1 API calls, R-ING-3 events, R-ING-4 metrics).
 * Pure: bytes in, validated events out, or a DomainError whose code and details tell the sender what to fix.
 */
import * as z from './zod';
import { DYNAMODB_LIMITS, utf8Bytes } from './aws-limits';
import { CLIENT_ID_MAX_LENGTH, CLIENT_ID_PATTERN, KEY_BYTE_BOUNDS } from './keys';
import type { RuntimeSettings } from './settings';
import { DomainError, type IngestEvent } from './model';

export interface ParsedEvent {
  /** The sender's idempotency id (`id`), when it gave one (R-ING-7). */
  readonly clientId?: string;
  readonly event: IngestEvent;
}

export interface IngestBodyInput {
  readonly rawBody: Buffer | string;
  readonly contentType: string | undefined;
  readonly receivedAt: Date;
  readonly limits: RuntimeSettings['limits'];
}

type Detail = { readonly path: string; readonly message: string };

/** Enough to fix a batch, small enough that an error answer stays small. */
const MAX_DETAILS = 20;
/** Clocks drift; further ahead than this is a sender bug, not skew. */
export const MAX_FUTURE_MS = 5 * 60 * 1000;
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
/** Deeper JSON would overflow the stack of whoever serialises it later (processor, exports). */
const MAX_JSON_DEPTH = 64;

/** No control characters, lone surrogates or line separators: names end up in keys, logs and dashboards. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]*$/u;
const printable = (max?: number) =>
  z.string().check(z.minLength(1), ...(max === undefined ? [] : [z.maxLength(max)]), z.regex(PRINTABLE, 'must be printable (no control characters)'));
/**
 * R-ING-7: text that becomes part of a DynamoDB key is bounded in UTF-8 bytes, as DynamoDB measures it (a route
 * of 700 '€' is 700 characters and 2,100 bytes). The bound comes from the key schema (KEY_BYTE_BOUNDS).
 */
const keyText = (maxBytes: number, maxChars?: number) =>
  printable(maxChars).check(z.refine((text) => utf8Bytes(text) <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8 (it is part of a storage key)`));

/**
 * R-ING-7: numbers kept in clear (index attributes, rollup sums) must be numbers DynamoDB can store: 0, or a
 * magnitude from 1E-130 to below 1E126, with at most 38 significant digits (a JSON number read as a double has at
 * most 17). Measurements are bounded further, to ±1E15, so that a rollup's sum of them (kept to six decimals,
 * rollups.ts) never needs more than 38 digits: DynamoDB refuses an ADD whose exact result it cannot hold.
 * Byte counts are integers, which zod holds to 2^53 (what the SDK marshals exactly). Numbers inside properties and
 * payloads are kept in the encrypted body, as JSON, and are not bounded.
 */
export const MAX_MEASUREMENT = 1e15;
const MEASUREMENT_RULE = `must be 0 or of a magnitude between ${DYNAMODB_LIMITS.numberMinMagnitude} and ${MAX_MEASUREMENT}`;
const measurement = (number = z.number()) =>
  number.check(z.refine((n) => n === 0 || (Math.abs(n) >= DYNAMODB_LIMITS.numberMinMagnitude && Math.abs(n) <= MAX_MEASUREMENT), MEASUREMENT_RULE));

const DIMENSION_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/;
const DIMENSION_KEY_RULE = 'dimension names: 1-100 of A-Z, a-z, 0-9, "_", ".", ":", "/", "-", starting with a letter or digit';
const MAX_DIMENSIONS = 30;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function jsonDepthWithin(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  return Object.values(value).every((child) => jsonDepthWithin(child, depth + 1));
}

/** Any JSON value, kept as the sender gave it (not copied, so no key is dropped or reordered). */
const jsonValue = z.custom<unknown>(
  (value) => jsonDepthWithin(value, 0),
  `must not nest deeper than ${MAX_JSON_DEPTH} levels`,
);
const jsonObject = z.custom<Record<string, unknown>>(
  (value) => isObject(value) && jsonDepthWithin(value, 0),
  `must be a JSON object nested at most ${MAX_JSON_DEPTH} levels`,
);

/** ISO 8601 with a zone (a zoneless time is ambiguous), or epoch milliseconds; normalised to `toISOString()`. */
const TIMESTAMP_RULE = 'must be an ISO 8601 date-time with a zone (Z or +hh:mm), or epoch milliseconds';
const timestamp = z.pipe(
  z.union([z.iso.datetime({ offset: true, error: TIMESTAMP_RULE }), z.number()], { error: TIMESTAMP_RULE }),
  z.transform((value: string | number, ctx) => {
    const ms = new Date(value).getTime();
    if (Number.isNaN(ms)) {
      ctx.issues.push({ code: 'custom', message: 'is not a representable date', input: value });
      return z.NEVER;
    }
    return ms;
  }),
);

const clientId = z.string().check(z.regex(CLIENT_ID_PATTERN, `must be 1-${CLIENT_ID_MAX_LENGTH} of A-Z, a-z, 0-9, ".", "_", ":", "-", starting with a letter or digit`));

const genericEventSchema = z.strictObject({
  type: z.literal('event'),
  name: keyText(KEY_BYTE_BOUNDS.eventName, 200),
  timestamp: z.optional(timestamp),
  properties: z.optional(jsonObject),
  id: z.optional(clientId),
});

const apiCallSchema = z.strictObject({
  type: z.literal('api_call'),
  method: z.pipe(
    z.string().check(z.regex(/^[A-Za-z]{1,20}$/, 'must be an HTTP method such as GET or POST')),
    z.transform((method: string) => method.toUpperCase()),
  ),
  route: keyText(KEY_BYTE_BOUNDS.route),
  status: z.int().check(z.minimum(100), z.maximum(599)),
  latencyMs: measurement(z.number().check(z.minimum(0))),
  requestBytes: z.optional(z.int().check(z.minimum(0))),
  responseBytes: z.optional(z.int().check(z.minimum(0))),
  timestamp: z.optional(timestamp),
  payload: z.optional(jsonValue),
  properties: z.optional(jsonObject),
  id: z.optional(clientId),
});

const metricSchema = z.strictObject({
  type: z.literal('metric'),
  name: keyText(KEY_BYTE_BOUNDS.eventName, 200),
  value: measurement(),
  unit: z.optional(printable(50)),
  dimensions: z.optional(
    z
      .pipe(
        // zod's record silently drops a `__proto__` key; refuse it here so no dimension is lost quietly.
        z.custom<unknown>((value) => !isObject(value) || !Object.hasOwn(value, '__proto__'), DIMENSION_KEY_RULE),
        z.record(z.string().check(z.regex(DIMENSION_KEY, DIMENSION_KEY_RULE)), printable(200)),
      )
      .check(z.refine((dimensions) => Object.keys(dimensions).length <= MAX_DIMENSIONS, `at most ${MAX_DIMENSIONS} dimensions`)),
  ),
  timestamp: z.optional(timestamp),
  id: z.optional(clientId),
});

const schemaByType = { event: genericEventSchema, api_call: apiCallSchema, metric: metricSchema } as const;
type EventType = keyof typeof schemaByType;
const EVENT_TYPES = Object.keys(schemaByType) as EventType[];
type ParsedFields = z.output<(typeof schemaByType)[EventType]>;

/** `events[3].properties['a b']`: the same path the sender would write to reach the field. */
function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = String(segment);
      if (/^[A-Za-z_$][\w$]*$/.test(key)) return i === 0 ? key : `.${key}`;
      return `[${JSON.stringify(key)}]`;
    })
    .join('');
}

function issuesToDetails(prefix: readonly PropertyKey[], issues: readonly z.core.$ZodIssue[]): Detail[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...prefix, ...issue.path, key]), message: 'unknown field' }))
      : [{ path: formatPath([...prefix, ...issue.path]) || '(body)', message: issue.message }],
  );
}

function assertJsonContentType(contentType: string | undefined): void {
  const [mediaType = '', ...parameters] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new DomainError('unsupported_media_type', 'Content-Type must be application/json (UTF-8)', 415);
  }
}

function decodeJson(rawBody: Buffer | string): unknown {
  try {
    // fatal: invalid UTF-8 is a malformed body, not a body with U+FFFD in it.
    const text = typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
    return JSON.parse(text);
  } catch {
    throw new DomainError('malformed_json', 'The body is not valid JSON', 400);
  }
}

/** The body's events, each with the path prefix its errors are reported under. */
function splitBatch(body: unknown, maxBatchEvents: number): { prefix: PropertyKey[]; raw: unknown }[] {
  if (!isObject(body)) {
    throw invalid([{ path: '(body)', message: 'must be an event object or { "events": [ ... ] }' }]);
  }
  if (!Object.hasOwn(body, 'events')) return [{ prefix: [], raw: body }];

  const extra = Object.keys(body).filter((key) => key !== 'events');
  if (extra.length > 0) throw invalid(extra.map((key) => ({ path: formatPath([key]), message: 'unknown field' })));
  const events = body.events;
  if (!Array.isArray(events) || events.length === 0) {
    throw invalid([{ path: 'events', message: 'must be a non-empty array of events' }]);
  }
  if (events.length > maxBatchEvents) {
    throw new DomainError('batch_too_large', `A batch holds at most ${maxBatchEvents} events; this one has ${events.length}`, 413);
  }
  return events.map((raw, index) => ({ prefix: ['events', index], raw }));
}

function invalid(details: readonly Detail[]): DomainError {
  const shown = details.slice(0, MAX_DETAILS);
  const more = details.length > shown.length ? ` (first ${shown.length} of ${details.length} shown)` : '';
  return new DomainError('invalid_event', `Invalid event: ${shown[0]?.path}: ${shown[0]?.message}${more}`, 400, shown);
}

function toIngestEvent(fields: ParsedFields, timestampIso: string): IngestEvent {
  switch (fields.type) {
    case 'event':
      return { type: 'event', name: fields.name, timestamp: timestampIso, properties: fields.properties ?? {} };
    case 'api_call':
      return {
        type: 'api_call',
        method: fields.method,
        route: fields.route,
        status: fields.status,
        latencyMs: fields.latencyMs,
        ...(fields.requestBytes === undefined ? {} : { requestBytes: fields.requestBytes }),
        ...(fields.responseBytes === undefined ? {} : { responseBytes: fields.responseBytes }),
        timestamp: timestampIso,
        ...(fields.payload === undefined ? {} : { payload: fields.payload }),
        properties: fields.properties ?? {},
      };
    case 'metric':
      return {
        type: 'metric',
        name: fields.name,
        value: fields.value,
        ...(fields.unit === undefined ? {} : { unit: fields.unit }),
        dimensions: fields.dimensions ?? {},
        timestamp: timestampIso,
      };
  }
}

/**
 * Parses a POST /v1/events body: one event, or `{ "events": [ ... ] }`.
 * Every failure is a DomainError (415, 413, 400) with a stable code; nothing else is thrown.
 */
export function parseIngestBody(input: IngestBodyInput): ParsedEvent[] {
  const { rawBody, contentType, receivedAt, limits } = input;
  assertJsonContentType(contentType);
  // Size first, so an oversized body is never parsed.
  const size = typeof rawBody === 'string' ? Buffer.byteLength(rawBody, 'utf8') : rawBody.byteLength;
  if (size > limits.maxBodyBytes) {
    throw new DomainError('body_too_large', `The body is ${size} bytes; the limit is ${limits.maxBodyBytes}`, 413);
  }
  const entries = splitBatch(decodeJson(rawBody), limits.maxBatchEvents);

  const unknownTypes = entries.flatMap(({ prefix, raw }) => {
    const type = isObject(raw) ? raw.type : undefined;
    return typeof type === 'string' && !Object.hasOwn(schemaByType, type)
      ? [{ path: formatPath([...prefix, 'type']), message: `unknown event type '${type}' (expected ${EVENT_TYPES.join(', ')})` }]
      : [];
  });
  if (unknownTypes.length > 0) {
    const first = unknownTypes[0];
    throw new DomainError('unknown_event_type', `${first.path}: ${first.message}`, 400, unknownTypes.slice(0, MAX_DETAILS));
  }

  const details: Detail[] = [];
  const parsed: ParsedEvent[] = [];
  const latestMs = receivedAt.getTime() + MAX_FUTURE_MS;
  for (const { prefix, raw } of entries) {
    const type = isObject(raw) ? raw.type : undefined;
    if (typeof type !== 'string') {
      details.push({ path: formatPath([...prefix, 'type']), message: `required: one of ${EVENT_TYPES.join(', ')}` });
      continue;
    }
    const result = schemaByType[type as EventType].safeParse(raw);
    if (!result.success) {
      details.push(...issuesToDetails(prefix, result.error.issues));
      continue;
    }
    const ms = result.data.timestamp ?? receivedAt.getTime();
    if (ms > latestMs || ms < EARLIEST_TIMESTAMP_MS) {
      details.push({ path: formatPath([...prefix, 'timestamp']), message: 'must be after 2000-01-01 and at most 5 minutes in the future' });
      continue;
    }
    const event = toIngestEvent(result.data, new Date(ms).toISOString());
    parsed.push(result.data.id === undefined ? { event } : { clientId: result.data.id, event });
  }
  if (details.length > 0) throw invalid(details);
  return parsed;
}
