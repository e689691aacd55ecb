/**
 * Access (R-DSR-1): the export holds exactly the subject's records, in parts with a manifest that verifies; every task
 * is audited with the subject hash and recorded as a step (R-SEC-6, R-DSR-5).
 */
import { createHash } from 'node:crypto';
import { EXPORT_BATCH, type SubjectExportManifest } from '../../../lambdas/domain/subject-requests/access';
import { WORKFLOW_ACTOR } from '../../../lambdas/domain/subject-requests/audited-tasks';
import { objectKeys } from '../../../lambdas/domain/keys';
import { signup, storeEvents, type PrivacyWorld } from '../privacy-fixture';
import { ANN, BOB, subjectRequestsWorld, runRequest, requestOf, bodyOf, rawEvent, documentAt, exportLines, annsWorld } from './world';

describe('SubjectRequestTasks: access (R-DSR-1)', () => {
  let world: PrivacyWorld;
  let annHash: string;

  beforeEach(async () => ({ world, annHash } = await subjectRequestsWorld()));

  it('exports exactly the subject’s records, none missing, none extra, quarantined ones included', async () => {
    // Prepare
    const { ann } = await annsWorld(world, annHash);
    const expected = new Map(await Promise.all(ann.map(async (id) => [id, await bodyOf(world, await rawEvent(world, id))] as const)));

    // Act
    const requestId = await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });

    // Assess
    const lines = await exportLines(world, requestId);
    expect(lines.map((l) => l.eventId).sort()).toEqual(ann);
    for (const line of lines) expect(line.event).toEqual(expected.get(line.eventId));
    expect(lines.filter((l) => l.quarantined)).toHaveLength(1);
    expect(lines.find((l) => l.kind === 'api_call')).toMatchObject({ name: 'POST /orders' });
    expect(await requestOf(world, requestId)).toMatchObject({ status: 'completed', result: { counts: { events: 5 } } });
  });

  it('writes a manifest whose parts’ sizes and SHA-256 match the objects', async () => {
    await annsWorld(world, annHash);

    const requestId = await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });

    const { result } = await requestOf(world, requestId);
    const manifest = (await documentAt(world, result!.exportKeys!.manifest)) as SubjectExportManifest;
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

    const requestId = await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });

    const manifest = (await documentAt(world, (await requestOf(world, requestId)).result!.exportKeys!.manifest)) as SubjectExportManifest;
    expect(manifest.parts.map((p) => p.records)).toEqual([EXPORT_BATCH, 10]);
    expect(new Set((await exportLines(world, requestId)).map((l) => l.eventId)).size).toBe(EXPORT_BATCH + 10);
  });

  it('a subject without records gets an empty export, and the request still completes', async () => {
    await storeEvents(world, 'acme', [signup({ email: BOB })]);

    const requestId = await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });

    expect(await requestOf(world, requestId)).toMatchObject({ status: 'completed', result: { exportKeys: { parts: [] } } });
  });

  it('R-SEC-6, R-DSR-5: each task is audited with the subject hash and recorded as a step', async () => {
    await storeEvents(world, 'acme', [signup({ email: ANN })]);

    const requestId = await runRequest(world, { type: 'access', subject: { kind: 'email', value: ANN } });

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
    expect((await requestOf(world, requestId)).steps.map((s) => s.name)).toEqual(['received', 'started', 'locate', 'export-records', 'write-export-manifest', 'complete']);
    expect(await world.exports.list('tenants/acme/work/')).toEqual([]);
  });
});
