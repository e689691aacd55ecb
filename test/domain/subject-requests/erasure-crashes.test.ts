/**
 * Issue 11 (R-DSR-2): erasure is idempotent in any order of crash and retry. A crash at each step of a batch (the
 * journal, the index entries of the first and a later subject, the payloads, the items) is retried as the state
 * machine retries a task; the erasure then completes with no record of the subject left and no index entry of any
 * subject pointing at an erased record. Verification sweeps every subject of the erased records.
 */
import type { EventStore, PayloadStore } from '../../../lambdas/domain/ports';
import type { SubjectWorkflowState } from '../../../lambdas/domain/privacy';
import { signup, startedState, storeEvents, type PrivacyWorld } from '../privacy-fixture';
import { ANN, BOB, big, openRequest, requestOf, subjectRequestsWorld } from './world';

type Crash = [string, (world: PrivacyWorld) => jest.SpyInstance];
const crashOnce = <T extends object>(target: T, method: keyof T, nth = 1) => {
  const real = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
  let calls = 0;
  return jest.spyOn(target, method as never).mockImplementation((async (...args: unknown[]) => {
    calls += 1;
    if (calls === nth) throw Object.assign(new Error('crash'), { name: 'ServiceUnavailable' });
    return real(...args);
  }) as never);
};

const CRASHES: Crash[] = [
  ['writing the journal', (w) => crashOnce(w.exports, 'put', 1)],
  ['deleting the first subject’s index entries', (w) => crashOnce<EventStore>(w.store, 'deleteSubjectEntries', 1)],
  ['deleting a later subject’s index entries', (w) => crashOnce<EventStore>(w.store, 'deleteSubjectEntries', 2)],
  ['deleting the payload objects', (w) => crashOnce<PayloadStore>(w.payloads, 'delete', 1)],
  ['deleting the items', (w) => crashOnce<EventStore>(w.store, 'deleteEvents', 1)],
];

describe('R-DSR-2: erasure survives a crash anywhere in a batch', () => {
  it.each(CRASHES)('a crash while %s, retried, leaves nothing of the subject and no dangling index entry', async (_, crash) => {
    // Prepare: Ann's records, one shared with Bob, one large (its body in S3); Bob's own record.
    const { world, annHash, bobHash } = await subjectRequestsWorld();
    const ann = await storeEvents(world, 'acme', [signup({ email: ANN }), signup({ email: ANN, friend: { email: BOB } }), big(ANN)]);
    const [bobs] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
    const requestId = await openRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });
    const t = world.tasks.erasure;
    let state: SubjectWorkflowState = await world.tasks.common.locate(startedState(world, requestId));

    // Act: the batch crashes once; the state machine retries the task with the same state.
    const spy = crash(world);
    await expect(t.eraseRecords(state)).rejects.toThrow('crash');
    spy.mockRestore();
    state = await t.eraseRecords(state);
    state = await t.eraseExports(state);
    state = await t.verifyErasure(state);
    state = await t.signDeletionRecord(state);
    await world.tasks.common.complete(state);

    // Assess
    expect(state.remaining).toBe(0);
    expect((await requestOf(world, requestId)).status).toBe('completed');
    const items = [...world.store.items.values()];
    expect(items.filter((i) => ann.includes(i.eventId as string))).toEqual([]);
    expect(items.filter((i) => String(i.pk).includes(`#S#${annHash}`))).toEqual([]);
    expect(items.filter((i) => i.pk === `T#acme#S#${bobHash}`).map((i) => i.eventId)).toEqual([bobs]);
    expect([...world.payloads.objects.keys()].filter((k) => ann.some((id) => k.endsWith(id)))).toEqual([]);
  });

  it('verification deletes a journalled record whose delete was lost before it counts what remains', async () => {
    const { world } = await subjectRequestsWorld();
    const [id] = await storeEvents(world, 'acme', [signup({ email: ANN })]);
    const requestId = await openRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });
    const t = world.tasks.erasure;
    let state = await world.tasks.common.locate(startedState(world, requestId));
    // The items' delete is lost once (answered, not done): the entries are gone, the item stays.
    jest.spyOn(world.store, 'deleteEvents').mockResolvedValueOnce(undefined);
    state = await t.eraseRecords(state);
    expect((await world.store.getEvents('acme', [id])).length).toBe(1);

    state = await t.verifyErasure(state);

    expect(state.remaining).toBe(0);
    expect(await world.store.getEvents('acme', [id])).toEqual([]);
    expect(state.counts).toMatchObject({ sweptIndexEntries: 1 });
  });
});
