/**
 * Restriction and lift-restriction (R-DSR-3): the subject's records are quarantined out of every read and rollup,
 * and released (counted once) when the restriction is lifted.
 */
import { signup, storeEvents, type PrivacyWorld } from '../privacy-fixture';
import { ANN, BOB, PROPAGATION_MS, subjectRequestsWorld, runRequest, requestOf, rawEvent } from './world';

describe('SubjectRequestTasks: restriction (R-DSR-3)', () => {
  let world: PrivacyWorld;
  let annHash: string;
  let bobHash: string;

  beforeEach(async () => ({ world, annHash, bobHash } = await subjectRequestsWorld()));

  const visible = async () => (await world.store.queryEvents({ tenantId: 'acme', limit: 100 })).items.map((e) => e.eventId).sort();
  const signups = async () =>
    (await world.store.queryRollups('acme', '2026-03-02T00:00Z', '2026-03-03T00:00Z', 'event:signup')).reduce((sum, r) => sum + (r.counters.count ?? 0), 0);

  it('quarantines the subject’s existing records and its new ones; lifting releases them and adds pending rollups', async () => {
    // Prepare
    const [annOnly, shared] = await storeEvents(world, 'acme', [signup({ email: ANN }), signup({ email: ANN, friend: { email: BOB } })]);
    const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
    expect(await signups()).toBe(3);

    // Act: restrict Ann
    const restriction = await runRequest(world, { type: 'restriction', subject: { kind: 'email', value: ANN } });
    world.clock.advance(PROPAGATION_MS);
    const [arrived] = await storeEvents(world, 'acme', [signup({ email: ANN, late: true })]);

    // Assess: out of every read, still stored, counted once
    expect(await visible()).toEqual([bob]);
    expect(await world.store.getEvent('acme', annOnly)).toBeUndefined();
    expect((await world.store.getEvents('acme', [annOnly, shared, arrived])).map((e) => [e.quarantined, e.rollupPending ?? false])).toEqual([
      [true, false],
      [true, false],
      [true, true],
    ]);
    expect(await world.requests.restrictedSubjects('acme')).toEqual(new Set([annHash]));
    expect(await requestOf(world, restriction)).toMatchObject({ status: 'completed', result: { counts: { quarantined: 2 } } });
    expect(await signups()).toBe(3);

    // Act: restrict Bob too, then lift Ann's restriction
    await runRequest(world, { type: 'restriction', subject: { kind: 'email', value: BOB } });
    const lift = await runRequest(world, { type: 'lift-restriction', subject: { kind: 'email', value: ANN } });

    // Assess: the shared record stays out while Bob is restricted; the late one is counted now
    expect(await visible()).toEqual([annOnly, arrived].sort());
    expect((await rawEvent(world, shared)).quarantined).toBe(true);
    expect(await world.requests.restrictedSubjects('acme')).toEqual(new Set([bobHash]));
    expect(await requestOf(world, lift)).toMatchObject({ status: 'completed', result: { counts: { released: 2, stillRestricted: 1, rollupsApplied: 1 } } });
    expect(await signups()).toBe(4);
    expect(await rawEvent(world, arrived)).not.toHaveProperty('rollupPending');
  });
});
