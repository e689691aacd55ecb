/**
 * Starting a termination and reading its status (R-TERM-1..5, R-SEC-6): one termination per tenant, the workflow
 * started with the record's id as execution name, export links only while the 30-day window is open, and the
 * signed certificate once issued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDocumentSigner } from '../../lambdas/adapters/document-signers';
import { MemoryAuditLog, MemoryDocumentStore, MemoryPrivacyRequestStore, MemoryTenantDirectory, RecordingWorkflowStarter } from '../../lambdas/adapters/memory';
import { backupDates, signDeletionDocument, verifyDeletionDocument, type TenantDeletionCertificate } from '../../lambdas/domain/deletion-records';
import { DomainError, type Tenant } from '../../lambdas/domain/model';
import type { WorkflowStarter } from '../../lambdas/domain/ports';
import { EXPORT_LINK_SECONDS } from '../../lambdas/domain/export-lines';
import { Termination } from '../../lambdas/domain/termination';
import { objectKeys } from '../../lambdas/domain/keys';
import { ManualClock } from '../support/manual-clock';

const NOW = new Date('2026-03-02T10:00:00.000Z');

const OPERATOR = 'operator:arn:aws:iam::111122223333:user/operator';
const DAY_MS = 24 * 3600 * 1000;
const dir = mkdtempSync(join(tmpdir(), 'lumiqo-termination-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tenant = (tenantId: string, status: Tenant['status'] = 'active'): Tenant => ({
  tenantId,
  name: `Tenant ${tenantId}`,
  plan: 'business',
  status,
  keyRef: `local:${tenantId}`,
  subjectKeyCiphertext: 'AAAA',
  createdAt: NOW.toISOString(),
});

function world(workflows: WorkflowStarter = new RecordingWorkflowStarter()) {
  const clock = new ManualClock(NOW);
  const directory = new MemoryTenantDirectory(clock);
  const requests = new MemoryPrivacyRequestStore();
  const audit = new MemoryAuditLog();
  const exports = new MemoryDocumentStore('exports', clock);
  const records = new MemoryDocumentStore('records', clock);
  return { clock, directory, requests, audit, exports, records, workflows, termination: new Termination({ directory, requests, audit, workflows, exports, records, clock }) };
}

async function expectDomainError(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ code, status });
}

describe('Termination.start', () => {
  it('R-TERM-3: records the termination (export window by default) and starts its workflow once', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));

    const view = await w.termination.start(OPERATOR, 'acme', undefined);

    expect(view).toMatchObject({
      tenantId: 'acme',
      terminationId: expect.stringMatching(/^term_[0-9A-Z]{26}$/),
      status: 'running',
      election: 'export-then-delete',
      requestedBy: OPERATOR,
      requestedAt: NOW.toISOString(),
      executionId: expect.stringContaining(view.terminationId),
    });
    expect(view.steps.map((s) => s.name)).toEqual(['received', 'workflow-start']);
    expect((w.workflows as RecordingWorkflowStarter).starts).toEqual([
      {
        workflow: 'termination',
        executionName: view.terminationId,
        input: { tenantId: 'acme', terminationId: view.terminationId, election: 'export-then-delete', requestedAt: NOW.toISOString() },
      },
    ]);
    expect(await w.requests.getTermination('acme')).toMatchObject({ terminationId: view.terminationId, status: 'running', executionId: view.executionId });
  });

  it('R-TERM-3: the controller may elect immediate deletion', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));

    const view = await w.termination.start(OPERATOR, 'acme', { election: 'immediate' });

    expect(view.election).toBe('immediate');
    expect((w.workflows as RecordingWorkflowStarter).starts[0].input).toMatchObject({ election: 'immediate' });
  });

  it('R-SEC-6: an accepted start is audited with the operator and the termination id', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));

    const view = await w.termination.start(OPERATOR, 'acme', {});

    expect(await w.audit.listForTenant('acme', '2026-03')).toEqual([
      expect.objectContaining({ actor: OPERATOR, action: 'tenant.terminate', target: view.terminationId, outcome: 'success', detail: { election: 'export-then-delete' } }),
    ]);
  });

  it.each([
    ['an unknown election', { election: 'later' }],
    ['an unknown field', { election: 'immediate', force: true }],
    ['a body that is not an object', 'immediate'],
  ])('rejects %s as invalid_request, starts nothing and audits the refusal', async (_, body) => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));

    await expectDomainError(w.termination.start(OPERATOR, 'acme', body), 'invalid_request', 400);

    expect((w.workflows as RecordingWorkflowStarter).starts).toEqual([]);
    expect(await w.requests.getTermination('acme')).toBeUndefined();
    expect(await w.audit.listForTenant('acme', '2026-03')).toEqual([
      expect.objectContaining({ action: 'tenant.terminate', outcome: 'failure', detail: { error: 'invalid_request' } }),
    ]);
  });

  it('answers not_found for a tenant that does not exist', async () => {
    const w = world();

    await expectDomainError(w.termination.start(OPERATOR, 'ghost', {}), 'not_found', 404);
    await expectDomainError(w.termination.start(OPERATOR, '../Bad', {}), 'not_found', 404);
    expect((w.workflows as RecordingWorkflowStarter).starts).toEqual([]);
  });

  it('R-TERM-3: a second start conflicts (409) and starts no second workflow', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));
    const first = await w.termination.start(OPERATOR, 'acme', {});

    await expectDomainError(w.termination.start(OPERATOR, 'acme', { election: 'immediate' }), 'conflict', 409);

    expect((w.workflows as RecordingWorkflowStarter).starts).toHaveLength(1);
    expect(await w.requests.getTermination('acme')).toMatchObject({ terminationId: first.terminationId, election: 'export-then-delete' });
  });

  it('R-TERM-3: a terminated tenant cannot be terminated again; another tenant can', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme', 'terminated'));
    await w.directory.putTenant(tenant('globex'));

    await expectDomainError(w.termination.start(OPERATOR, 'acme', {}), 'conflict', 409);
    await expect(w.termination.start(OPERATOR, 'globex', {})).resolves.toMatchObject({ status: 'running' });
  });

  it('a termination that failed may be started again, under a new id', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));
    const first = await w.termination.start(OPERATOR, 'acme', {});
    await w.requests.updateTermination('acme', { name: 'record-failure', at: NOW.toISOString(), outcome: 'failure' }, { status: 'failed', failure: { error: 'PurgeIncomplete', at: NOW.toISOString() } });
    w.clock.advance(1000);

    const second = await w.termination.start(OPERATOR, 'acme', {});

    expect(second.terminationId).not.toBe(first.terminationId);
    expect((w.workflows as RecordingWorkflowStarter).starts.map((s) => s.executionName)).toEqual([first.terminationId, second.terminationId]);
  });

  it('a workflow that cannot be started leaves the record failed, so the operator can start again', async () => {
    const starter = new RecordingWorkflowStarter();
    const failing: WorkflowStarter = { status: (id) => starter.status(id), start: jest.fn().mockRejectedValueOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })).mockImplementation((...args: Parameters<WorkflowStarter['start']>) => starter.start(...args)) };
    const w = world(failing);
    await w.directory.putTenant(tenant('acme'));

    await expect(w.termination.start(OPERATOR, 'acme', {})).rejects.toThrow('throttled');
    expect(await w.requests.getTermination('acme')).toMatchObject({ status: 'failed', failure: { error: 'ThrottlingException' } });

    await expect(w.termination.start(OPERATOR, 'acme', {})).resolves.toMatchObject({ status: 'running' });
    expect(starter.starts).toHaveLength(1);
  });
});

describe('Termination.status', () => {
  it('answers not_found before any termination', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));

    await expectDomainError(w.termination.status('acme'), 'not_found', 404);
  });

  it('R-TERM-2: export links last an hour and are offered only until the window closes', async () => {
    const w = world();
    await w.directory.putTenant(tenant('acme'));
    const { terminationId } = await w.termination.start(OPERATOR, 'acme', {});
    const manifest = objectKeys.tenantExport('acme', terminationId, 'manifest.json');
    const part = objectKeys.tenantExport('acme', terminationId, 'part-00001.jsonl');
    await w.exports.put(manifest, Buffer.from(JSON.stringify({ parts: [{ key: part }] })), 'application/json');
    await w.exports.put(part, Buffer.from('{}\n'), 'application/x-ndjson');
    const availableUntil = new Date(NOW.getTime() + 30 * DAY_MS).toISOString();
    await w.requests.updateTermination('acme', { name: 'write-tenant-manifest', at: NOW.toISOString(), outcome: 'success' }, { export: { manifest, partCount: 1, availableUntil } });

    const open = await w.termination.status('acme');
    const expires = NOW.getTime() / 1000 + EXPORT_LINK_SECONDS;
    expect(open.export).toEqual({
      availableUntil,
      expired: false,
      manifest: expect.stringMatching(new RegExp(`^memory://exports/tenants/acme/.*manifest\\.json\\?expires=${expires}$`)),
      parts: [expect.stringMatching(new RegExp(`part-00001\\.jsonl\\?expires=${expires}$`))],
      partCount: 1,
      linksExpireInSeconds: 3600,
    });

    w.clock.advance(30 * DAY_MS);
    const closed = await w.termination.status('acme');
    expect(closed.export).toEqual({ availableUntil, expired: true, partCount: 1 });
    expect(JSON.stringify(closed)).not.toContain('memory://');
  });

  it('R-TERM-5: once issued, the signed certificate is part of the status, and it verifies', async () => {
    const w = world();
    const signer = new LocalDocumentSigner(join(dir, 'signing.pem'));
    await w.directory.putTenant(tenant('acme'));
    const { terminationId } = await w.termination.start(OPERATOR, 'acme', { election: 'immediate' });
    const at = NOW.toISOString();
    const certificate: TenantDeletionCertificate = {
      kind: 'lumiqo.tenant-deletion.v1', tenantId: 'acme', terminationId, election: 'immediate', requestedAt: at, purgedAt: at,
      deleted: { events: 1 }, keyMaterial: { destroyedAt: at, unrecoverableAfter: at },
      backups: backupDates(NOW, NOW, { backupRetentionDays: 35, keyDeletionWindowDays: 7, pitrWindowDays: 35 }),
      retained: ['billing ledger'], verification: { method: 'test', remaining: 0, verifiedAt: at },
    };
    const certificateKey = objectKeys.deletionRecord('acme', terminationId);
    await w.records.put(certificateKey, Buffer.from(JSON.stringify(await signDeletionDocument(certificate, signer))), 'application/json');

    expect(await w.termination.status('acme')).not.toHaveProperty('certificate');
    await w.requests.updateTermination('acme', { name: 'issue-certificate', at, outcome: 'success' }, { status: 'completed', certificateKey, completedAt: at });

    const view = await w.termination.status('acme');
    expect(view).toMatchObject({ status: 'completed', completedAt: at, certificate: { document: certificate } });
    expect(verifyDeletionDocument(view.certificate!, await signer.publicKeyPem())).toBe(true);
  });
});
