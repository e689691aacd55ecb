/**
 * Every identifier is found (issue 11, R-DSR-1, R-DSR-2): the default subject paths index each identifier that the
 * accepted webhook schemes carry, so an access request by any of them exports the delivery and an erasure by one of
 * them removes it with every index entry of the others. Real sample bodies: test/support/provider-samples.ts.
 */
import { DEFAULT_SUBJECT_PATHS, extractSubjects } from '../../../lambdas/domain/subjects';
import { PROVIDER_SAMPLES, webhookEventOf } from '../../support/provider-samples';
import { eventIdsOf, indexEntriesOf, NOW, storeEvents, subjectHashOf, type PrivacyWorld } from '../privacy-fixture';
import { exportLines, requestOf, runRequest, subjectRequestsWorld } from './world';

const cases = PROVIDER_SAMPLES.map((sample) => [`${sample.scheme} ${sample.name}`, sample] as const);

describe('R-DSR-1: the default subject paths find every identifier of every accepted scheme', () => {
  it.each(cases)('%s', (_, sample) => {
    const found = extractSubjects(webhookEventOf(sample, 'd-1', NOW.toISOString()), DEFAULT_SUBJECT_PATHS);
    for (const identifier of sample.identifiers) expect(found).toContainEqual(identifier);
  });

  it('finds nothing in a delivery without a person in it', () => {
    const event = webhookEventOf({ scheme: 'github', name: 'ping', payload: { zen: 'Keep it logically awesome.', hook_id: 42, hook: { type: 'Repository', active: true } }, identifiers: [] }, 'd-2', NOW.toISOString());
    expect(extractSubjects(event, DEFAULT_SUBJECT_PATHS)).toEqual([]);
  });
});

describe('R-DSR-1, R-DSR-2: access and erasure reach a delivery by each of its identifiers', () => {
  let world: PrivacyWorld;
  beforeEach(async () => ({ world } = await subjectRequestsWorld()));

  it.each(cases)('%s', async (_, sample) => {
    const [delivery, unrelated] = await storeEvents(world, 'acme', [
      webhookEventOf(sample, 'd-1', NOW.toISOString()),
      { type: 'event', name: 'signup', timestamp: NOW.toISOString(), properties: { email: 'someone.else@example.com' } },
    ]);

    for (const subject of sample.identifiers) {
      const requestId = await runRequest(world, { type: 'access', subject });
      expect((await exportLines(world, requestId)).map((line) => line.eventId)).toEqual([delivery]);
    }

    const requestId = await runRequest(world, { type: 'erasure', subject: sample.identifiers[0] });
    expect(await requestOf(world, requestId)).toMatchObject({ status: 'completed' });
    expect(eventIdsOf(world, 'acme')).toEqual([unrelated]);
    for (const { kind, value } of sample.identifiers) expect(indexEntriesOf(world, 'acme', await subjectHashOf(world, 'acme', kind, value))).toEqual([]);
  });
});
