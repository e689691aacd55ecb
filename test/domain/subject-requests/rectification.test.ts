/**
 * Rectification (R-DSR-3): stored records corrected, re-encrypted and re-indexed, and finished from the journal when
 * a batch is interrupted.
 */
import { objectKeys } from '../../../lambdas/domain/keys';
import { indexEntriesOf, signup, startedState, storeEvents, subjectHashOf, type PrivacyWorld } from '../privacy-fixture';
import { ANN, BOB, subjectRequestsWorld, openRequest, runRequest, requestOf, bodyOf, rawEvent, big } from './world';

describe('SubjectRequestTasks: rectification (R-DSR-3)', () => {
  let world: PrivacyWorld;
  let annHash: string;

  beforeEach(async () => ({ world, annHash } = await subjectRequestsWorld()));

  const NEW = 'ann.new@example.com';

  it('corrects the stored records, re-encrypts them and moves the index to the corrected identifier', async () => {
    // Prepare
    const [small, large] = await storeEvents(world, 'acme', [signup({ email: ANN, name: 'Ann' }), big(ANN)]);
    const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
    const before = await rawEvent(world, small);
    const bobBefore = await rawEvent(world, bob);
    const largeObject = (await rawEvent(world, large)).body as { objectKey: string };
    const oldCiphertext = world.payloads.objects.get(largeObject.objectKey);

    // Act
    const requestId = await runRequest(world, { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$..email', value: NEW }] });

    // Assess
    const newHash = await subjectHashOf(world, 'acme', 'email', NEW);
    const after = await rawEvent(world, small);
    expect(await bodyOf(world, after)).toEqual(signup({ email: NEW, name: 'Ann' }));
    expect(after.body).not.toEqual(before.body);
    expect(after).toMatchObject({ subjects: [newHash], name: 'signup', timestamp: before.timestamp, expiresAt: before.expiresAt });
    expect(await bodyOf(world, await rawEvent(world, large))).toEqual(big(NEW));
    expect(world.payloads.objects.get(largeObject.objectKey)).not.toEqual(oldCiphertext);
    expect(indexEntriesOf(world, 'acme', annHash)).toEqual([]);
    expect(indexEntriesOf(world, 'acme', newHash)).toEqual([small, large].sort());
    expect(await rawEvent(world, bob)).toEqual(bobBefore);
    expect(await requestOf(world, requestId)).toMatchObject({ status: 'completed', result: { counts: { rectified: 2, indexEntriesRemoved: 2 } } });
    expect(await world.exports.list('tenants/acme/work/')).toEqual([]);
  });

  it('a correction of a field that is no identifier changes the record and keeps its index entries', async () => {
    const [id] = await storeEvents(world, 'acme', [signup({ email: ANN, address: { city: 'Old Town' } })]);

    await runRequest(world, { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.properties.address.city', value: 'New Town' }] });

    expect(await bodyOf(world, await rawEvent(world, id))).toEqual(signup({ email: ANN, address: { city: 'New Town' } }));
    expect(indexEntriesOf(world, 'acme', annHash)).toEqual([id]);
  });

  it('a record that moves to S3 when corrected, or back inline, keeps exactly one body', async () => {
    const [grows, shrinks] = await storeEvents(world, 'acme', [signup({ email: ANN, notes: 'short' }), big(ANN)]);

    await runRequest(world, { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.properties.notes', value: 'y'.repeat(3000) }] });
    const grown = await rawEvent(world, grows);
    await runRequest(world, { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.properties.notes', value: 'short' }] });

    expect(grown.body).toEqual({ objectKey: objectKeys.payload('acme', grows) });
    expect((await rawEvent(world, grows)).body).toHaveProperty('inline');
    expect((await rawEvent(world, shrinks)).body).toHaveProperty('inline');
    expect(world.payloads.objects.size).toBe(0);
  });

  it('a batch interrupted after its stale entries were deleted is finished from its journal on retry', async () => {
    // Prepare
    const [id] = await storeEvents(world, 'acme', [signup({ email: ANN })]);
    const requestId = await openRequest(world, { type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$..email', value: NEW }] });
    const located = await world.tasks.common.locate(startedState(world, requestId));
    jest.spyOn(world.store, 'putEvents').mockRejectedValueOnce(new Error('connection reset'));

    // Act
    await expect(world.tasks.rectification.rectifyRecords(located)).rejects.toThrow('connection reset');
    const lost = await world.store.getEvents('acme', [id]);
    const next = await world.tasks.rectification.rectifyRecords(located);

    // Assess
    expect(lost).toEqual([]);
    expect(await bodyOf(world, await rawEvent(world, id))).toEqual(signup({ email: NEW }));
    expect(indexEntriesOf(world, 'acme', await subjectHashOf(world, 'acme', 'email', NEW))).toEqual([id]);
    expect(next).toMatchObject({ done: true, counts: { rectified: 1 } });
  });
});
