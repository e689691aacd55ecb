/**
 * Issue 12: the processor writes event and subject items in DynamoDB's wire format, built by hand; they must be
 * exactly what lib-dynamodb's marshalling made of the same items before (and what reads unmarshal).
 */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { eventItem, eventItemBytes, eventWireItem, itemBytes, storedEventFromItem, subjectItem, subjectWireItem } from '../../lambdas/adapters/event-items';
import type { StoredEvent } from '../../lambdas/domain/model';

const text = fc.string({ maxLength: 40 });
const storedEvent: fc.Arbitrary<StoredEvent> = fc.record(
  {
    tenantId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/),
    eventId: fc.stringMatching(/^ev_[A-Za-z0-9]{1,30}$/),
    kind: fc.constantFrom('event', 'api_call', 'metric', 'webhook'),
    name: fc.string({ unit: 'grapheme', maxLength: 20 }),
    timestamp: fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') }).map((d) => d.toISOString()),
    receivedAt: fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') }).map((d) => d.toISOString()),
    attributes: fc.dictionary(fc.constantFrom('method', 'route', 'status', 'latencyMs', 'value', 'unit', 'sourceId'), fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }).map((x) => (Object.is(x, -0) ? 0 : x)))),
    body: fc.oneof(fc.record({ inline: fc.base64String() }), fc.record({ objectKey: text })),
    subjects: fc.array(fc.base64String({ minLength: 4, maxLength: 44 }), { maxLength: 5 }),
    expiresAt: fc.integer({ min: 0, max: 2 ** 31 }),
    quarantined: fc.boolean(),
    rollupPending: fc.boolean(),
  },
  { requiredKeys: ['tenantId', 'eventId', 'kind', 'name', 'timestamp', 'receivedAt', 'attributes', 'body', 'subjects', 'expiresAt'] },
) as fc.Arbitrary<StoredEvent>;

describe('issue 12: items in the wire format', () => {
  it('an event item is what lib-dynamodb marshals from eventItem, and reads back as the event', () => {
    fc.assert(
      fc.property(storedEvent, (event) => {
        const wire = eventWireItem(event);
        expect(wire).toEqual(marshall(eventItem(event), { removeUndefinedValues: true }));
        expect(storedEventFromItem(unmarshall(wire))).toEqual(event);
        expect(eventItemBytes(event)).toBe(itemBytes(eventItem(event)));
      }),
      { numRuns: 500 },
    );
  });

  it('a subject index item is what lib-dynamodb marshals from subjectItem', () => {
    fc.assert(
      fc.property(fc.record({ tenantId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,10}$/), subjectHash: fc.base64String(), eventId: fc.stringMatching(/^ev_\w{1,20}$/), expiresAt: fc.nat() }), (entry) => {
        expect(subjectWireItem(entry)).toEqual(marshall(subjectItem(entry), { removeUndefinedValues: true }));
      }),
    );
  });
});
