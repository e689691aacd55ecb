/**
 * Issue 12: the processor's decode of a stream record, checked by hand in one pass over the parsed JSON: the same
 * checks as the schema it replaces (test/domain/stream-envelope.test.ts holds them equal), without the copy of every
 * object a schema parse makes. What it returns is the envelope's five fields; the event is the parsed object itself.
 */
import * as z from './zod';
import { CLIENT_ID_PATTERN, TENANT_ID_PATTERN } from './keys';
import type { StreamEnvelope } from './model';

/** zod's own ISO datetime pattern, as `z.iso.datetime()` checks it: UTC (`Z`), seconds, any fraction. */
const DATETIME = z.regexes.datetime({ precision: null, offset: false, local: false });
const EVENT_TYPES: ReadonlySet<unknown> = new Set(['event', 'api_call', 'metric', 'webhook']);
const EVENT_ID_PREFIX = /^[a-z]{1,3}_/;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isDatetime = (value: unknown): value is string => typeof value === 'string' && DATETIME.test(value);

function isEventId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 3 &&
    value.length <= 160 &&
    EVENT_ID_PREFIX.test(value) &&
    CLIENT_ID_PATTERN.test(value.slice(value.indexOf('_') + 1))
  );
}

/** The envelope in a stream record, or undefined when the record is not one (malformed_record). */
export function decodeStreamEnvelope(data: Uint8Array): StreamEnvelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { v, tenantId, eventId, receivedAt, event } = value;
  if (v !== 1 || typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId) || !isEventId(eventId) || !isDatetime(receivedAt)) return undefined;
  if (!isRecord(event) || !EVENT_TYPES.has(event.type) || !isDatetime(event.timestamp)) return undefined;
  return { v, tenantId, eventId, receivedAt, event: event as unknown as StreamEnvelope['event'] };
}
