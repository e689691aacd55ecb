/**
 * Issue 12: the processor's hand-checked decode accepts and refuses exactly what the schema it replaced did
 * (the schema is kept here as the oracle), and returns the same envelope.
 */
import fc from 'fast-check';
import * as z from '../../lambdas/domain/zod';
import { CLIENT_ID_PATTERN, TENANT_ID_PATTERN } from '../../lambdas/domain/keys';
import { decodeStreamEnvelope } from '../../lambdas/domain/stream-envelope';

const oracle = z.object({
  v: z.literal(1),
  tenantId: z.string().check(z.regex(TENANT_ID_PATTERN)),
  eventId: z
    .string()
    .check(z.minLength(3), z.maxLength(160), z.regex(/^[a-z]{1,3}_/), z.refine((id) => CLIENT_ID_PATTERN.test(id.slice(id.indexOf('_') + 1)))),
  receivedAt: z.iso.datetime(),
  event: z.looseObject({ type: z.enum(['event', 'api_call', 'metric', 'webhook']), timestamp: z.iso.datetime() }),
});

function viaOracle(data: Uint8Array): unknown {
  try {
    const parsed = oracle.safeParse(JSON.parse(Buffer.from(data).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const datetimes = fc.oneof(
  fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-02-29T00:00:00Z', '2028-02-29T10:00:00.1Z', '2026-01-01T00:00Z', '2026-01-01T00:00:00+01:00', '2026-01-01 00:00:00Z', '2026-13-01T00:00:00Z', ''),
);
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: fc.oneof(fc.constant(undefined), fc.integer(), fc.string(), fc.constant(null)) });
const envelope = fc.record({
  v: field(fc.constant(1)),
  tenantId: field(fc.oneof(fc.constantFrom('acme', 'a', 'Acme', '-acme', 'a'.repeat(63), 'a'.repeat(64)), fc.stringMatching(/^[a-z0-9-]{0,70}$/))),
  eventId: field(fc.oneof(fc.stringMatching(/^[a-z]{0,4}_[A-Za-z0-9._:-]{0,170}$/), fc.constantFrom('ev_', 'ev_a', 'abcd_x', 'ev_.x', '_x'))),
  receivedAt: field(datetimes),
  extra: fc.option(fc.string(), { nil: undefined }),
  event: field(
    fc.record({
      type: field(fc.constantFrom('event', 'api_call', 'metric', 'webhook', 'other')),
      timestamp: field(datetimes),
      name: fc.option(fc.string(), { nil: undefined }),
      payload: fc.option(fc.jsonValue(), { nil: undefined }),
    }),
  ),
});

describe('issue 12: decodeStreamEnvelope', () => {
  it('agrees with the schema on any envelope, valid or not', () => {
    fc.assert(
      fc.property(envelope, (value) => {
        const data = Buffer.from(JSON.stringify(value), 'utf8');
        expect(decodeStreamEnvelope(data)).toEqual(viaOracle(data));
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses what is not a JSON object', () => {
    for (const text of ['', 'null', '[]', '"x"', '{', '1', '{"v":1}']) expect(decodeStreamEnvelope(Buffer.from(text))).toBeUndefined();
  });

  it('accepts a valid envelope (so the agreement above is not only about refusals)', () => {
    const value = { v: 1, tenantId: 'acme', eventId: 'ev_1', receivedAt: '2026-01-01T00:00:00.000Z', event: { type: 'event', timestamp: '2026-01-01T00:00:00Z', name: 'x' } };
    expect(decodeStreamEnvelope(Buffer.from(JSON.stringify(value)))).toEqual(value);
  });
});
