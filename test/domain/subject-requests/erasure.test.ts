/**
 * Erasure (R-DSR-2): the subject's records, index entries, payload objects and exports go, records arriving meanwhile
 * are caught by a later pass, and a signed deletion record is written only for a verified erasure.
 */
import { DEFAULT_BACKUP_FACTS, subjectRemainingCopies, verifyDeletionDocument, type SignedDeletionDocument, type SubjectDeletionRecord } from '../../../lambdas/domain/deletion-records';
import { objectKeys } from '../../../lambdas/domain/keys';
import { eventIdsOf, indexEntriesOf, runWorkflow, signup, storeEvents, type PrivacyWorld } from '../privacy-fixture';
import { ANN, BOB, MINUTE, subjectRequestsWorld, openRequest, runRequest, requestOf, rawEvent, annsWorld } from './world';

describe('SubjectRequestTasks: erasure (R-DSR-2)', () => {
  let world: PrivacyWorld;
  let annHash: string;
  let bobHash: string;

  beforeEach(async () => ({ world, annHash, bobHash } = await subjectRequestsWorld()));

  it('deletes the subject’s events, index entries, payload objects and earlier exports, and nothing else', async () => {
    // Prepare
    const { ann, bob, globex } = await annsWorld(world, annHash);
    await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });
    const bobBefore = await rawEvent(world, bob);
    const globexBefore = await rawEvent(world, globex, 'globex');
    const annObjects = [...world.payloads.objects.keys()];
    expect(annObjects).toHaveLength(1);
    expect(await world.exports.list(objectKeys.subjectExports('acme', annHash))).toHaveLength(2);

    // Act
    const requestId = await runRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

    // Assess
    expect(eventIdsOf(world, 'acme')).toEqual([bob]);
    expect(await world.store.getEvents('acme', ann)).toEqual([]);
    expect(indexEntriesOf(world, 'acme', annHash)).toEqual([]);
    // The shared record was Ann's too: deleted whole, Bob's entry for it with it.
    expect(indexEntriesOf(world, 'acme', bobHash)).toEqual([bob]);
    expect(world.payloads.objects.size).toBe(0);
    expect(await world.exports.list(objectKeys.subjectExports('acme', annHash))).toEqual([]);
    expect(await rawEvent(world, bob)).toEqual(bobBefore);
    expect(await rawEvent(world, globex, 'globex')).toEqual(globexBefore);
    expect(await world.store.subjectEventIds('acme', annHash)).toEqual([]);
    expect(await requestOf(world, requestId)).toMatchObject({
      status: 'completed',
      result: { counts: { events: 5, payloadObjects: 1, exports: 2, subjectIndexEntries: 6 } },
    });
  });

  it('signs a deletion record that verifies, and fails verification once tampered with', async () => {
    await annsWorld(world, annHash);

    const requestId = await runRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

    const { result } = await requestOf(world, requestId);
    expect(result!.deletionRecordKey).toBe(objectKeys.deletionRecord('acme', requestId));
    const signed = JSON.parse(Buffer.from((await world.records.get(result!.deletionRecordKey!))!).toString('utf8')) as SignedDeletionDocument<SubjectDeletionRecord>;
    expect(signed.document).toEqual({
      kind: 'lumiqo.subject-erasure.v1',
      tenantId: 'acme',
      requestId,
      subjectHash: annHash,
      receivedAt: (await requestOf(world, requestId)).receivedAt,
      completedAt: world.clock.now().toISOString(),
      deleted: { events: 5, subjectIndexEntries: 6, payloadObjects: 1, exports: 0 },
      verification: expect.objectContaining({ remaining: 0 }),
      // Issue 11: every copy the erasure cannot reach, with its expiry (R-DSR-2).
      remainingCopies: subjectRemainingCopies(new Date((await requestOf(world, requestId)).receivedAt), world.clock.now(), DEFAULT_BACKUP_FACTS),
    });
    expect(signed.document.remainingCopies!.map((c) => [c.store, c.expiresBy])).toEqual([
      ['event-stream', new Date(Date.parse(signed.document.receivedAt) + 24 * 3600_000).toISOString()],
      ['dead-letter-queue', new Date(Date.parse(signed.document.completedAt) + 14 * 86_400_000).toISOString()],
      ['table-pitr', new Date(Date.parse(signed.document.completedAt) + 35 * 86_400_000).toISOString()],
      ['table-backups', new Date(Date.parse(signed.document.completedAt) + 35 * 86_400_000).toISOString()],
      // R-BILL-2: the usage marks (event ids and counts) outlive the erasure for Stripe's window, 40 days.
      ['usage-ledger', new Date(Date.parse(signed.document.completedAt) + 40 * 86_400_000).toISOString()],
    ]);
    const publicKey = await world.signer.publicKeyPem();
    expect(verifyDeletionDocument(signed, publicKey)).toBe(true);
    const tampered = { ...signed, document: { ...signed.document, deleted: { ...signed.document.deleted, events: 4 } } };
    expect(verifyDeletionDocument(tampered, publicKey)).toBe(false);
    expect(JSON.stringify(signed).toLowerCase()).not.toContain('ann@');
  });

  it('records that arrive while it runs are found by the next pass before the record is signed', async () => {
    // Prepare
    await storeEvents(world, 'acme', [signup({ email: ANN })]);
    const eraseExports = world.tasks.erasure.eraseExports.bind(world.tasks.erasure);
    jest.spyOn(world.tasks.erasure, 'eraseExports').mockImplementationOnce(async (state) => {
      await storeEvents(world, 'acme', [signup({ email: ANN, late: true })]);
      return eraseExports(state);
    });

    // Act
    const requestId = await runRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

    // Assess
    expect(eventIdsOf(world, 'acme')).toEqual([]);
    const record = await requestOf(world, requestId);
    expect(record.steps.filter((s) => s.name === 'verify-erasure').map((s) => s.detail?.remaining)).toEqual([1, 0]);
    expect(record).toMatchObject({ status: 'completed', result: { counts: { events: 2 } } });
  });

  it('a record received after the request is new processing: it does not fail the verification and is reported', async () => {
    await storeEvents(world, 'acme', [signup({ email: ANN })]);
    const eraseExports = world.tasks.erasure.eraseExports.bind(world.tasks.erasure);
    let later: string[] = [];
    jest.spyOn(world.tasks.erasure, 'eraseExports').mockImplementationOnce(async (state) => {
      world.clock.advance(MINUTE);
      later = await storeEvents(world, 'acme', [signup({ email: ANN, after: true })]);
      return eraseExports(state);
    });

    const requestId = await runRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

    expect(eventIdsOf(world, 'acme')).toEqual(later);
    const record = await requestOf(world, requestId);
    expect(record.status).toBe('completed');
    const signed = JSON.parse(Buffer.from((await world.records.get(record.result!.deletionRecordKey!))!).toString('utf8'));
    expect(signed.document.verification).toMatchObject({ remaining: 0, receivedAfterRequest: 1 });
  });

  it('marks the subject erased as of the request, so the processor drops what the stream still holds', async () => {
    const requestId = await runRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

    const marker = (await world.requests.erasedSubjects('acme')).get(annHash);
    expect(marker).toBe((await requestOf(world, requestId)).receivedAt);
  });

  it('records that cannot be deleted fail the request after three passes, with no deletion record', async () => {
    await storeEvents(world, 'acme', [signup({ email: ANN })]);
    jest.spyOn(world.store, 'deleteEvents').mockResolvedValue(undefined);

    const requestId = await openRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });
    const final = await runWorkflow(world, requestId);

    expect(final.pass).toBe(3);
    expect(await requestOf(world, requestId)).toMatchObject({ status: 'failed', failure: { error: 'ErasureIncomplete' } });
    expect(await world.records.list('deletion-records/')).toEqual([]);
  });

  it('removes this subject’s stale index entry from a record that no longer mentions it, leaving the record', async () => {
    // Prepare: an index entry pointing at Bob's record, as an interrupted rectification could leave.
    const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
    const bobBefore = await rawEvent(world, bob);
    await world.store.putEvents([], [{ tenantId: 'acme', subjectHash: annHash, eventId: bob, expiresAt: bobBefore.expiresAt }]);

    // Act
    const requestId = await runRequest(world, { type: 'erasure', subject: { kind: 'email', value: ANN } });

    // Assess
    expect(await rawEvent(world, bob)).toEqual(bobBefore);
    expect(indexEntriesOf(world, 'acme', annHash)).toEqual([]);
    expect(indexEntriesOf(world, 'acme', bobHash)).toEqual([bob]);
    expect(await requestOf(world, requestId)).toMatchObject({ status: 'completed', result: { counts: { events: 0 } } });
  });
});
