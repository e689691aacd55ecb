/**
 * R-ING-7: KEY_BYTE_BOUNDS (lambdas/domain/keys.ts) keeps every key that ingest's values reach within DynamoDB's
 * limits, with the widest fixed parts a key can have: a value at its bound fits every key, one byte more does not.
 * The keys are the ones the store really writes (eventItem, the rollup and control keys), measured in UTF-8 bytes.
 */
import { eventItem } from '../../lambdas/adapters/event-items';
import type { PlatformEvent, StoredEvent } from '../../lambdas/domain/model';
import { eventName } from '../../lambdas/domain/processing';
import { minuteOf, seriesOf } from '../../lambdas/domain/rollups';
import { DYNAMODB_LIMITS } from '../../lambdas/domain/aws-limits';
import { CLIENT_ID_MAX_LENGTH, clientEventId, controlKeys, dataKeys, KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import { TABLES } from '../../lambdas/shared/tables';

const TENANT = 'x'.repeat(63);
const METHOD = 'X'.repeat(20);
const AT = '2026-11-23T10:15:00.000Z';
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** Every key value an event's items carry, with the limit that applies to it (table keys, then each GSI's). */
function keysOf(event: PlatformEvent, eventId = 'ev_1'): { key: string; value: string; limit: number }[] {
  const stored: StoredEvent = {
    tenantId: TENANT,
    eventId,
    kind: event.type,
    name: eventName(event),
    timestamp: event.timestamp,
    receivedAt: AT,
    attributes: {},
    body: { inline: '' },
    subjects: [],
    expiresAt: 0,
  };
  const item = eventItem(stored);
  const shape = TABLES.tenantData;
  const schema = [
    { partitionKey: shape.partitionKey, sortKey: shape.sortKey },
    ...shape.indexes.map((index) => ({ partitionKey: index.partitionKey, sortKey: index.sortKey })),
  ];
  const rollup = dataKeys.rollup(TENANT, minuteOf(event.timestamp), seriesOf(event));
  const subject = dataKeys.subject(TENANT, 'h'.repeat(43), eventId);
  return [
    ...schema.flatMap(({ partitionKey, sortKey }) => [
      { key: partitionKey, value: item[partitionKey] as string, limit: DYNAMODB_LIMITS.partitionKeyBytes },
      { key: sortKey, value: item[sortKey] as string, limit: DYNAMODB_LIMITS.sortKeyBytes },
    ]),
    { key: 'rollup pk', value: rollup.pk, limit: DYNAMODB_LIMITS.partitionKeyBytes },
    { key: 'rollup sk', value: rollup.sk, limit: DYNAMODB_LIMITS.sortKeyBytes },
    { key: 'subject pk', value: subject.pk, limit: DYNAMODB_LIMITS.partitionKeyBytes },
    { key: 'subject sk', value: subject.sk, limit: DYNAMODB_LIMITS.sortKeyBytes },
  ];
}

const overLimit = (keys: ReturnType<typeof keysOf>) => keys.filter(({ value, limit }) => bytes(value) > limit).map(({ key }) => key);
const ofBytes = (size: number, char: string) => char.repeat(Math.floor(size / bytes(char))) + 'a'.repeat(size % bytes(char));

describe('R-ING-7: KEY_BYTE_BOUNDS', () => {
  it.each(['a', 'é', '€', '😀'])('an API call route of the bound fits every key, one byte more does not (in %s)', (char) => {
    const call = (route: string): PlatformEvent => ({ type: 'api_call', method: METHOD, route, status: 200, latencyMs: 1, timestamp: AT, properties: {} });

    expect(overLimit(keysOf(call(ofBytes(KEY_BYTE_BOUNDS.route, char))))).toEqual([]);
    expect(overLimit(keysOf(call(ofBytes(KEY_BYTE_BOUNDS.route + 1, char))))).toEqual(['rollup sk']);
  });

  it('a metric or event name of the bound fits every key, one byte more does not', () => {
    const metric = (name: string): PlatformEvent => ({ type: 'metric', name, value: 1, dimensions: {}, timestamp: AT });

    expect(overLimit(keysOf(metric(ofBytes(KEY_BYTE_BOUNDS.eventName, '€'))))).toEqual([]);
    expect(overLimit(keysOf(metric(ofBytes(KEY_BYTE_BOUNDS.eventName + 1, '€'))))).toEqual(['rollup sk']);
    expect(overLimit(keysOf({ type: 'event', name: ofBytes(KEY_BYTE_BOUNDS.eventName, '€'), timestamp: AT, properties: {} }))).toEqual([]);
  });

  it('a webhook event type of the bound fits GSI2; its series is its source, which the client-id pattern bounds', () => {
    const webhook = (name: string): PlatformEvent => ({
      type: 'webhook',
      name,
      timestamp: AT,
      sourceId: 's'.repeat(CLIENT_ID_MAX_LENGTH),
      scheme: 'standard',
      deliveryId: 'd',
      payload: {},
    });

    expect(overLimit(keysOf(webhook(ofBytes(KEY_BYTE_BOUNDS.webhookName, '€'))))).toEqual([]);
    expect(overLimit(keysOf(webhook(ofBytes(KEY_BYTE_BOUNDS.webhookName + 1, '€'))))).toEqual(['gsi2pk']);
    expect(CLIENT_ID_MAX_LENGTH).toBeLessThanOrEqual(KEY_BYTE_BOUNDS.sourceId);
  });

  it('the longest client id, as an event id, fits the event, index and subject keys with room to spare', () => {
    const event: PlatformEvent = { type: 'event', name: 'e', timestamp: AT, properties: {} };

    expect(bytes(clientEventId('i'.repeat(CLIENT_ID_MAX_LENGTH)))).toBeLessThanOrEqual(KEY_BYTE_BOUNDS.eventId);
    expect(overLimit(keysOf(event, 'i'.repeat(KEY_BYTE_BOUNDS.eventId)))).toEqual([]);
    expect(overLimit(keysOf(event, 'i'.repeat(KEY_BYTE_BOUNDS.eventId + 1)))).toEqual(['gsi1sk', 'gsi2sk']);
  });

  it('a delivery id of the bound fits the delivery marker’s sort key; a source id of the bound fits its keys, one more its series does not', () => {
    const source = 's'.repeat(KEY_BYTE_BOUNDS.sourceId);

    expect(bytes(controlKeys.delivery(TENANT, source, ofBytes(KEY_BYTE_BOUNDS.deliveryId, '€')).sk)).toBeLessThanOrEqual(DYNAMODB_LIMITS.sortKeyBytes);
    expect(bytes(controlKeys.delivery(TENANT, source, 'd').pk)).toBeLessThanOrEqual(DYNAMODB_LIMITS.partitionKeyBytes);
    expect(bytes(controlKeys.webhookSource(TENANT, source).sk)).toBeLessThanOrEqual(DYNAMODB_LIMITS.sortKeyBytes);
    expect(bytes(dataKeys.rollup(TENANT, minuteOf(AT), seriesOf({ type: 'webhook', name: 'w', timestamp: AT, sourceId: `${source}s`, scheme: 'standard', deliveryId: 'd', payload: {} })).sk)).toBe(
      DYNAMODB_LIMITS.sortKeyBytes + 1,
    );
  });
});
