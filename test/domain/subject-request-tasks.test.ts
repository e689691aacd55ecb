/**
 * The data-subject workflows end to end over the memory twins, driven task by task as their state machines do
 * (R-DSR-1 access, R-DSR-2 erasure, R-DSR-3 rectification and restriction, R-DSR-5 deadlines, R-SEC-6 audit).
 * Events are stored by the real processor, so they carry the subject hashes it computes.
 */
import { createHash } from 'node:crypto';
import { verifyDeletionDocument, type SignedDeletionDocument, type SubjectDeletionRecord } from '../../lambdas/domain/deletion-records';
import type { PlatformEvent, StoredEvent, Tenant } from '../../lambdas/domain/model';
import { EVENT_PURPOSE } from '../../lambdas/domain/processing';
import { PERMANENT_ERROR, type SubjectWorkflowState } from '../../lambdas/domain/privacy';
import type { ExportLine } from '../../lambdas/domain/export-lines';
import { EXPORT_BATCH, WORKFLOW_ACTOR, type SubjectExportManifest } from '../../lambdas/domain/subject-request-tasks';
import { objectKeys } from '../../lambdas/shared/keys';
import {
  createTenant,
  eventIdsOf,
  indexEntriesOf,
  NOW,
  privacyWorld,
  removePrivacyKeyDirectories,
  runWorkflow,
  signup,
  startedState,
  storeEvents,
  subjectHashOf,
  type PrivacyWorld,
} from './privacy-fixture';

afterAll(removePrivacyKeyDirectories);

const ANN = 'ann@example.com';
const BOB = 'bob@example.com';
const MINUTE = 60_000;
/** Longer than the processor's one-minute restriction cache, as the state machines' AwaitPropagation. */
const PROPAGATION_MS = 90_000;

describe('SubjectRequestTasks', () => {
  let world: PrivacyWorld;
  let acme: Tenant;
  let annHash: string;
  let bobHash: string;

  /** Inline bodies stop at 1 KB here, so a large event's body goes to the payload store. */
  beforeEach(async () => {
    world = privacyWorld({ inlinePayloadBytes: 1024 });
    await createTenant(world, 'acme');
    await createTenant(world, 'globex');
    acme = (await world.directory.getTenant('acme'))!;
    annHash = await subjectHashOf(world, 'acme', 'email', ANN);
    bobHash = await subjectHashOf(world, 'acme', 'email', BOB);
  });

  const open = async (body: object, tenantId = 'acme') =>
    (await world.privacy.open('api-key:key_1', 'api', (await world.directory.getTenant(tenantId))!, body)).requestId;
  const openAndRun = async (body: object) => {
    const requestId = await open(body);
    await runWorkflow(world, requestId);
    return requestId;
  };
  const request = (requestId: string) => world.requests.get('acme', requestId).then((r) => r!);
  const bodyOf = async (stored: StoredEvent, tenant: Tenant = acme): Promise<PlatformEvent> => {
    const ciphertext = 'inline' in stored.body ? Buffer.from(stored.body.inline, 'base64') : (await world.payloads.get(stored.body.objectKey))!;
    return JSON.parse(Buffer.from(await world.crypto.decrypt(tenant, ciphertext, EVENT_PURPOSE)).toString('utf8')) as PlatformEvent;
  };
  const rawEvent = async (eventId: string, tenantId = 'acme') => (await world.store.getEvents(tenantId, [eventId]))[0];
  const document = async (key: string) => JSON.parse(Buffer.from((await world.exports.get(key))!).toString('utf8')) as unknown;
  const exportLines = async (requestId: string): Promise<ExportLine[]> => {
    const { result } = await request(requestId);
    const parts = await Promise.all(result!.exportKeys!.parts.map((key) => world.exports.get(key)));
    return parts.flatMap((body) =>
      Buffer.from(body!)
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as ExportLine),
    );
  };
  const big = (email: string) => signup({ email, notes: 'x'.repeat(3000) });

  /** Ann's records of every shape: plain, shared with Bob, large (body in S3), an API call, and quarantined. */
  async function annsWorld(): Promise<{ ann: string[]; bob: string; globex: string; events: Map<string, PlatformEvent> }> {
    const events = [
      signup({ email: ANN }),
      signup({ email: ANN, friend: { email: BOB } }),
      big(ANN),
      { type: 'api_call', method: 'POST', route: '/orders', status: 201, latencyMs: 12, timestamp: NOW.toISOString(), payload: { customer: { email: ANN } }, properties: {} } as PlatformEvent,
    ];
    const ids = await storeEvents(world, 'acme', events);
    const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
    const [globex] = await storeEvents(world, 'globex', [signup({ email: ANN })]);
    // Restricted: the processor quarantines Ann's next record on arrival.
    await world.requests.restrict('acme', annHash, 'dsr_00000000000000000000000000', NOW.toISOString());
    world.clock.advance(PROPAGATION_MS);
    const quarantinedEvent = signup({ email: ANN, plan: 'pro' });
    const [quarantined] = await storeEvents(world, 'acme', [quarantinedEvent]);
    expect((await rawEvent(quarantined)).quarantined).toBe(true);
    await world.requests.unrestrict('acme', annHash);
    const all = [...ids, quarantined];
    return { ann: all.sort(), bob, globex, events: new Map(all.map((id, i) => [id, [...events, quarantinedEvent][i]])) };
  }

  describe('access (R-DSR-1)', () => {
    it('exports exactly the subject’s records, none missing, none extra, quarantined ones included', async () => {
      // Prepare
      const { ann } = await annsWorld();
      const expected = new Map(await Promise.all(ann.map(async (id) => [id, await bodyOf(await rawEvent(id))] as const)));

      // Act
      const requestId = await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });

      // Assess
      const lines = await exportLines(requestId);
      expect(lines.map((l) => l.eventId).sort()).toEqual(ann);
      for (const line of lines) expect(line.event).toEqual(expected.get(line.eventId));
      expect(lines.filter((l) => l.quarantined)).toHaveLength(1);
      expect(lines.find((l) => l.kind === 'api_call')).toMatchObject({ name: 'POST /orders' });
      expect(await request(requestId)).toMatchObject({ status: 'completed', result: { counts: { events: 5 } } });
    });

    it('writes a manifest whose parts’ sizes and SHA-256 match the objects', async () => {
      await annsWorld();

      const requestId = await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });

      const { result } = await request(requestId);
      const manifest = (await document(result!.exportKeys!.manifest)) as SubjectExportManifest;
      expect(manifest).toMatchObject({ kind: 'lumiqo.subject-export.v1', tenantId: 'acme', requestId, subjectHash: annHash, records: 5 });
      expect(manifest.parts.map((p) => p.key)).toEqual(result!.exportKeys!.parts);
      for (const part of manifest.parts) {
        const body = (await world.exports.get(part.key))!;
        expect(part).toEqual({ key: part.key, records: 5, bytes: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') });
      }
      expect(result!.exportKeys!.manifest).toBe(objectKeys.subjectExport('acme', annHash, requestId, 'manifest.json'));
    });

    it('splits a large export into parts of EXPORT_BATCH records', async () => {
      await storeEvents(world, 'acme', Array.from({ length: EXPORT_BATCH + 10 }, (_, i) => signup({ email: ANN, n: i })));

      const requestId = await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });

      const manifest = (await document((await request(requestId)).result!.exportKeys!.manifest)) as SubjectExportManifest;
      expect(manifest.parts.map((p) => p.records)).toEqual([EXPORT_BATCH, 10]);
      expect(new Set((await exportLines(requestId)).map((l) => l.eventId)).size).toBe(EXPORT_BATCH + 10);
    });

    it('a subject without records gets an empty export, and the request still completes', async () => {
      await storeEvents(world, 'acme', [signup({ email: BOB })]);

      const requestId = await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });

      expect(await request(requestId)).toMatchObject({ status: 'completed', result: { exportKeys: { parts: [] } } });
    });

    it('R-SEC-6, R-DSR-5: each task is audited with the subject hash and recorded as a step', async () => {
      await storeEvents(world, 'acme', [signup({ email: ANN })]);

      const requestId = await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });

      // Entries of one millisecond have no order among them: compared sorted.
      const audit = await world.audit.listForSubject('acme', annHash);
      expect(audit.map((e) => `${e.actor} ${e.action} ${e.target} ${e.outcome}`).sort()).toEqual(
        [
          `api-key:key_1 privacy.request.open ${requestId} success`,
          `${WORKFLOW_ACTOR} privacy.access.locate ${requestId} success`,
          `${WORKFLOW_ACTOR} privacy.access.export-records ${requestId} success`,
          `${WORKFLOW_ACTOR} privacy.access.write-export-manifest ${requestId} success`,
          `${WORKFLOW_ACTOR} privacy.access.complete ${requestId} success`,
        ].sort(),
      );
      expect((await request(requestId)).steps.map((s) => s.name)).toEqual(['received', 'started', 'locate', 'export-records', 'write-export-manifest', 'complete']);
      expect(await world.exports.list('tenants/acme/work/')).toEqual([]);
    });
  });

  describe('erasure (R-DSR-2)', () => {
    it('deletes the subject’s events, index entries, payload objects and earlier exports, and nothing else', async () => {
      // Prepare
      const { ann, bob, globex } = await annsWorld();
      await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });
      const bobBefore = await rawEvent(bob);
      const globexBefore = await rawEvent(globex, 'globex');
      const annObjects = [...world.payloads.objects.keys()];
      expect(annObjects).toHaveLength(1);
      expect(await world.exports.list(objectKeys.subjectExports('acme', annHash))).toHaveLength(2);

      // Act
      const requestId = await openAndRun({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      // Assess
      expect(eventIdsOf(world, 'acme')).toEqual([bob]);
      expect(await world.store.getEvents('acme', ann)).toEqual([]);
      expect(indexEntriesOf(world, 'acme', annHash)).toEqual([]);
      // The shared record was Ann's too: deleted whole, Bob's entry for it with it.
      expect(indexEntriesOf(world, 'acme', bobHash)).toEqual([bob]);
      expect(world.payloads.objects.size).toBe(0);
      expect(await world.exports.list(objectKeys.subjectExports('acme', annHash))).toEqual([]);
      expect(await rawEvent(bob)).toEqual(bobBefore);
      expect(await rawEvent(globex, 'globex')).toEqual(globexBefore);
      expect(await world.store.subjectEventIds('acme', annHash)).toEqual([]);
      expect(await request(requestId)).toMatchObject({
        status: 'completed',
        result: { counts: { events: 5, payloadObjects: 1, exports: 2, subjectIndexEntries: 6 } },
      });
    });

    it('signs a deletion record that verifies, and fails verification once tampered with', async () => {
      await annsWorld();

      const requestId = await openAndRun({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      const { result } = await request(requestId);
      expect(result!.deletionRecordKey).toBe(objectKeys.deletionRecord('acme', requestId));
      const signed = JSON.parse(Buffer.from((await world.records.get(result!.deletionRecordKey!))!).toString('utf8')) as SignedDeletionDocument<SubjectDeletionRecord>;
      expect(signed.document).toEqual({
        kind: 'lumiqo.subject-erasure.v1',
        tenantId: 'acme',
        requestId,
        subjectHash: annHash,
        receivedAt: (await request(requestId)).receivedAt,
        completedAt: world.clock.now().toISOString(),
        deleted: { events: 5, subjectIndexEntries: 6, payloadObjects: 1, exports: 0 },
        verification: expect.objectContaining({ remaining: 0 }),
      });
      const publicKey = await world.signer.publicKeyPem();
      expect(verifyDeletionDocument(signed, publicKey)).toBe(true);
      const tampered = { ...signed, document: { ...signed.document, deleted: { ...signed.document.deleted, events: 4 } } };
      expect(verifyDeletionDocument(tampered, publicKey)).toBe(false);
      expect(JSON.stringify(signed).toLowerCase()).not.toContain('ann@');
    });

    it('records that arrive while it runs are found by the next pass before the record is signed', async () => {
      // Prepare
      await storeEvents(world, 'acme', [signup({ email: ANN })]);
      const eraseExports = world.tasks.eraseExports.bind(world.tasks);
      jest.spyOn(world.tasks, 'eraseExports').mockImplementationOnce(async (state) => {
        await storeEvents(world, 'acme', [signup({ email: ANN, late: true })]);
        return eraseExports(state);
      });

      // Act
      const requestId = await openAndRun({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      // Assess
      expect(eventIdsOf(world, 'acme')).toEqual([]);
      const record = await request(requestId);
      expect(record.steps.filter((s) => s.name === 'verify-erasure').map((s) => s.detail?.remaining)).toEqual([1, 0]);
      expect(record).toMatchObject({ status: 'completed', result: { counts: { events: 2 } } });
    });

    it('a record received after the request is new processing: it does not fail the verification and is reported', async () => {
      await storeEvents(world, 'acme', [signup({ email: ANN })]);
      const eraseExports = world.tasks.eraseExports.bind(world.tasks);
      let later: string[] = [];
      jest.spyOn(world.tasks, 'eraseExports').mockImplementationOnce(async (state) => {
        world.clock.advance(MINUTE);
        later = await storeEvents(world, 'acme', [signup({ email: ANN, after: true })]);
        return eraseExports(state);
      });

      const requestId = await openAndRun({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      expect(eventIdsOf(world, 'acme')).toEqual(later);
      const record = await request(requestId);
      expect(record.status).toBe('completed');
      const signed = JSON.parse(Buffer.from((await world.records.get(record.result!.deletionRecordKey!))!).toString('utf8'));
      expect(signed.document.verification).toMatchObject({ remaining: 0, receivedAfterRequest: 1 });
    });

    it('marks the subject erased as of the request, so the processor drops what the stream still holds', async () => {
      const requestId = await openAndRun({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      const marker = (await world.requests.erasedSubjects('acme')).get(annHash);
      expect(marker).toBe((await request(requestId)).receivedAt);
    });

    it('records that cannot be deleted fail the request after three passes, with no deletion record', async () => {
      await storeEvents(world, 'acme', [signup({ email: ANN })]);
      jest.spyOn(world.store, 'deleteEvents').mockResolvedValue(undefined);

      const requestId = await open({ type: 'erasure', subject: { kind: 'email', value: ANN } });
      const final = await runWorkflow(world, requestId);

      expect(final.pass).toBe(3);
      expect(await request(requestId)).toMatchObject({ status: 'failed', failure: { error: 'ErasureIncomplete' } });
      expect(await world.records.list('deletion-records/')).toEqual([]);
    });

    it('removes this subject’s stale index entry from a record that no longer mentions it, leaving the record', async () => {
      // Prepare: an index entry pointing at Bob's record, as an interrupted rectification could leave.
      const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
      const bobBefore = await rawEvent(bob);
      await world.store.putEvents([], [{ tenantId: 'acme', subjectHash: annHash, eventId: bob, expiresAt: bobBefore.expiresAt }]);

      // Act
      const requestId = await openAndRun({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      // Assess
      expect(await rawEvent(bob)).toEqual(bobBefore);
      expect(indexEntriesOf(world, 'acme', annHash)).toEqual([]);
      expect(indexEntriesOf(world, 'acme', bobHash)).toEqual([bob]);
      expect(await request(requestId)).toMatchObject({ status: 'completed', result: { counts: { events: 0 } } });
    });
  });

  describe('rectification (R-DSR-3)', () => {
    const NEW = 'ann.new@example.com';

    it('corrects the stored records, re-encrypts them and moves the index to the corrected identifier', async () => {
      // Prepare
      const [small, large] = await storeEvents(world, 'acme', [signup({ email: ANN, name: 'Ann' }), big(ANN)]);
      const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
      const before = await rawEvent(small);
      const bobBefore = await rawEvent(bob);
      const largeObject = (await rawEvent(large)).body as { objectKey: string };
      const oldCiphertext = world.payloads.objects.get(largeObject.objectKey);

      // Act
      const requestId = await openAndRun({ type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$..email', value: NEW }] });

      // Assess
      const newHash = await subjectHashOf(world, 'acme', 'email', NEW);
      const after = await rawEvent(small);
      expect(await bodyOf(after)).toEqual(signup({ email: NEW, name: 'Ann' }));
      expect(after.body).not.toEqual(before.body);
      expect(after).toMatchObject({ subjects: [newHash], name: 'signup', timestamp: before.timestamp, expiresAt: before.expiresAt });
      expect(await bodyOf(await rawEvent(large))).toEqual(big(NEW));
      expect(world.payloads.objects.get(largeObject.objectKey)).not.toEqual(oldCiphertext);
      expect(indexEntriesOf(world, 'acme', annHash)).toEqual([]);
      expect(indexEntriesOf(world, 'acme', newHash)).toEqual([small, large].sort());
      expect(await rawEvent(bob)).toEqual(bobBefore);
      expect(await request(requestId)).toMatchObject({ status: 'completed', result: { counts: { rectified: 2, indexEntriesRemoved: 2 } } });
      expect(await world.exports.list('tenants/acme/work/')).toEqual([]);
    });

    it('a correction of a field that is no identifier changes the record and keeps its index entries', async () => {
      const [id] = await storeEvents(world, 'acme', [signup({ email: ANN, address: { city: 'Old Town' } })]);

      await openAndRun({ type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.properties.address.city', value: 'New Town' }] });

      expect(await bodyOf(await rawEvent(id))).toEqual(signup({ email: ANN, address: { city: 'New Town' } }));
      expect(indexEntriesOf(world, 'acme', annHash)).toEqual([id]);
    });

    it('a record that moves to S3 when corrected, or back inline, keeps exactly one body', async () => {
      const [grows, shrinks] = await storeEvents(world, 'acme', [signup({ email: ANN, notes: 'short' }), big(ANN)]);

      await openAndRun({ type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.properties.notes', value: 'y'.repeat(3000) }] });
      const grown = await rawEvent(grows);
      await openAndRun({ type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$.properties.notes', value: 'short' }] });

      expect(grown.body).toEqual({ objectKey: objectKeys.payload('acme', grows) });
      expect((await rawEvent(grows)).body).toHaveProperty('inline');
      expect((await rawEvent(shrinks)).body).toHaveProperty('inline');
      expect(world.payloads.objects.size).toBe(0);
    });

    it('a batch interrupted after its stale entries were deleted is finished from its journal on retry', async () => {
      // Prepare
      const [id] = await storeEvents(world, 'acme', [signup({ email: ANN })]);
      const requestId = await open({ type: 'rectification', subject: { kind: 'email', value: ANN }, corrections: [{ path: '$..email', value: NEW }] });
      const located = await world.tasks.locate(startedState(world, requestId));
      jest.spyOn(world.store, 'putEvents').mockRejectedValueOnce(new Error('connection reset'));

      // Act
      await expect(world.tasks.rectifyRecords(located)).rejects.toThrow('connection reset');
      const lost = await world.store.getEvents('acme', [id]);
      const next = await world.tasks.rectifyRecords(located);

      // Assess
      expect(lost).toEqual([]);
      expect(await bodyOf(await rawEvent(id))).toEqual(signup({ email: NEW }));
      expect(indexEntriesOf(world, 'acme', await subjectHashOf(world, 'acme', 'email', NEW))).toEqual([id]);
      expect(next).toMatchObject({ done: true, counts: { rectified: 1 } });
    });
  });

  describe('restriction (R-DSR-3)', () => {
    const visible = async () => (await world.store.queryEvents({ tenantId: 'acme', limit: 100 })).items.map((e) => e.eventId).sort();
    const signups = async () =>
      (await world.store.queryRollups('acme', '2026-03-02T00:00Z', '2026-03-03T00:00Z', 'event:signup')).reduce((sum, r) => sum + (r.counters.count ?? 0), 0);

    it('quarantines the subject’s existing records and its new ones; lifting releases them and adds pending rollups', async () => {
      // Prepare
      const [annOnly, shared] = await storeEvents(world, 'acme', [signup({ email: ANN }), signup({ email: ANN, friend: { email: BOB } })]);
      const [bob] = await storeEvents(world, 'acme', [signup({ email: BOB })]);
      expect(await signups()).toBe(3);

      // Act: restrict Ann
      const restriction = await openAndRun({ type: 'restriction', subject: { kind: 'email', value: ANN } });
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
      expect(await request(restriction)).toMatchObject({ status: 'completed', result: { counts: { quarantined: 2 } } });
      expect(await signups()).toBe(3);

      // Act: restrict Bob too, then lift Ann's restriction
      await openAndRun({ type: 'restriction', subject: { kind: 'email', value: BOB } });
      const lift = await openAndRun({ type: 'lift-restriction', subject: { kind: 'email', value: ANN } });

      // Assess: the shared record stays out while Bob is restricted; the late one is counted now
      expect(await visible()).toEqual([annOnly, arrived].sort());
      expect((await rawEvent(shared)).quarantined).toBe(true);
      expect(await world.requests.restrictedSubjects('acme')).toEqual(new Set([bobHash]));
      expect(await request(lift)).toMatchObject({ status: 'completed', result: { counts: { released: 2, stillRestricted: 1, rollupsApplied: 1 } } });
      expect(await signups()).toBe(4);
      expect(await rawEvent(arrived)).not.toHaveProperty('rollupPending');
    });
  });

  describe('task errors', () => {
    const state = (over: Partial<SubjectWorkflowState> = {}): SubjectWorkflowState => ({
      tenantId: 'acme',
      requestId: 'dsr_00000000000000000000000000',
      type: 'access',
      subjectHash: annHash,
      receivedAt: NOW.toISOString(),
      ...over,
    });
    const permanent = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.name).toBe(PERMANENT_ERROR);
      return error!;
    };

    it('an unknown request or tenant is a permanent error (retrying cannot help), and is audited', async () => {
      await permanent(world.tasks.locate(state()));
      await permanent(world.tasks.locate(state({ tenantId: 'nobody' })));
      await permanent(world.tasks.locate(state({ tenantId: 'NOT A TENANT' })));

      const audit = await world.audit.listForSubject('acme', annHash);
      expect(audit).toEqual([expect.objectContaining({ action: 'privacy.access.locate', outcome: 'failure', detail: { error: PERMANENT_ERROR } })]);
    });

    it('a state that names another subject or type than its request is refused', async () => {
      const requestId = await open({ type: 'access', subject: { kind: 'email', value: ANN } });

      await permanent(world.tasks.locate(state({ requestId, subjectHash: bobHash })));
      await permanent(world.tasks.locate(state({ requestId, type: 'erasure' })));
    });

    it('a deletion record is never signed for an erasure that was not verified', async () => {
      const requestId = await open({ type: 'erasure', subject: { kind: 'email', value: ANN } });

      const error = await permanent(world.tasks.signDeletionRecord(state({ requestId, type: 'erasure', remaining: 1 })));

      expect(error.message).toMatch(/not verified/);
      expect(await world.records.list('deletion-records/')).toEqual([]);
    });

    it('record-failure fails the request with the error name only, audits it, and keeps it on the open list', async () => {
      // Prepare
      const requestId = await open({ type: 'access', subject: { kind: 'email', value: ANN } });
      const failed = { ...startedState(world, requestId), error: { Error: 'States.TaskFailed', Cause: `could not read ${ANN}` } };

      // Act
      const returned = await world.tasks.recordFailure(failed);

      // Assess
      expect(returned).toEqual(failed);
      expect(await request(requestId)).toMatchObject({ status: 'failed', failure: { error: 'States.TaskFailed', at: NOW.toISOString() } });
      const entries = await world.audit.listForSubject('acme', annHash);
      expect(entries.find((e) => e.action === 'privacy.access.record-failure')).toMatchObject({ outcome: 'failure', detail: { error: 'States.TaskFailed' } });
      expect(JSON.stringify([...world.requests.items.values(), ...world.audit.items])).not.toContain(ANN);
      expect(await world.requests.overdue('2026-04-03T00:00:00.000Z')).toEqual([expect.objectContaining({ requestId })]);
    });
  });

  describe('checkDeadlines (R-DSR-5)', () => {
    it('counts only open requests past their due date', async () => {
      // Prepare: received on 2 March, due 2 April
      const completed = await openAndRun({ type: 'access', subject: { kind: 'email', value: ANN } });
      await open({ type: 'access', subject: { kind: 'email', value: BOB } });
      const failed = await open({ type: 'erasure', subject: { kind: 'email', value: BOB } });
      await world.tasks.recordFailure({ ...startedState(world, failed), error: { Error: 'States.Timeout' } });
      await open({ type: 'access', subject: { kind: 'email', value: ANN } }, 'globex');
      world.clock.advance(20 * 24 * 60 * MINUTE);
      await open({ type: 'erasure', subject: { kind: 'email', value: ANN } }); // due 22 April
      expect((await request(completed)).status).toBe('completed');

      // Act
      const dueNow = await world.tasks.checkDeadlines();
      world.clock.advance(12 * 24 * 60 * MINUTE); // 3 April, 10:00
      const overdue = await world.tasks.checkDeadlines();

      // Assess: received (acme), failed (acme), received (globex); not the completed one, not the one due later
      expect(dueNow).toBe(0);
      expect(overdue).toBe(3);
    });
  });
});
