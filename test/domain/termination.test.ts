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

describe('Termination recovery: the sweeper and the operator actions (R-TERM-1..5)', () => {
  async function underWay(w: ReturnType<typeof world>, stage: string, extra: object = {}) {
    await w.directory.putTenant(tenant('acme'));
    const view = await w.termination.start(OPERATOR, 'acme', {});
    // What the execution's Claim and tasks leave: the open-list entry and a checkpoint.
    await w.requests.markTerminationOpen('acme', true);
    const checkpoint = { tenantId: 'acme', terminationId: view.terminationId, election: view.election, requestedAt: view.requestedAt, stage, turn: 7, counts: { events: 5 } } as const;
    await w.requests.updateTermination('acme', undefined, { checkpoint: checkpoint as never, ...extra });
    return { view, starter: w.workflows as RecordingWorkflowStarter };
  }

  it('leaves a running execution alone; resumes a lost one from its checkpoint, bound through its predecessor, audited', async () => {
    const w = world();
    const { view, starter } = await underWay(w, 'purge');
    expect(await w.termination.sweep()).toMatchObject({ checked: 1, resumed: [], errors: [] });

    starter.statuses.set(view.executionId!, 'ABORTED');
    expect((await w.termination.sweep()).resumed).toEqual(['acme']);

    const resumed = starter.starts.at(-1)!;
    expect(resumed.executionName).toBe(`${view.terminationId}-r1`);
    expect(resumed.input).toMatchObject({ stage: 'purge', turn: 7, counts: { events: 5 }, predecessor: { id: view.executionId } });
    const record = (await w.requests.getTermination('acme'))!;
    expect(record).toMatchObject({ status: 'running', resumes: 1, executionId: expect.stringContaining(`${view.terminationId}-r1`) });
    const audit = await w.audit.listForTenant('acme', NOW.toISOString().slice(0, 7));
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'tenant.termination.resume', actor: 'system:termination-sweeper', target: view.terminationId })]));
    // The new execution runs: the next sweep leaves it alone.
    expect((await w.termination.sweep()).resumed).toEqual([]);
  });

  it('R-TERM-2: an offered export is armed until its window closes; then the purge starts, whatever became of the executions', async () => {
    const w = world();
    const availableUntil = new Date(NOW.getTime() + 30 * DAY_MS).toISOString();
    const { view, starter } = await underWay(w, 'await-window', { purgeAfter: availableUntil });
    starter.statuses.set(view.executionId!, 'NOT_FOUND'); // a replaced stack: the execution is gone
    expect(await w.termination.sweep()).toMatchObject({ purgeStarted: [], resumed: [] });
    expect(starter.starts).toHaveLength(1);

    w.clock.advance(30 * DAY_MS);
    expect((await w.termination.sweep()).purgeStarted).toEqual(['acme']);
    expect(starter.starts.at(-1)!.input).toMatchObject({ stage: 'purge', predecessor: { id: view.executionId } });
  });

  it('a completed termination leaves the list; a failed one waits for an operator', async () => {
    const w = world();
    await underWay(w, 'purge', { status: 'failed', failure: { error: 'States.Timeout', at: NOW.toISOString() } });
    expect(await w.termination.sweep()).toMatchObject({ failed: ['acme'], resumed: [] });
    await w.requests.updateTermination('acme', undefined, { status: 'completed' });
    expect((await w.termination.sweep()).closed).toEqual(['acme']);
    expect(await w.requests.openTerminations()).toEqual([]);
  });

  it('operator resume: refused while the execution runs, resumes a failed termination; audited either way', async () => {
    const w = world();
    const { view, starter } = await underWay(w, 'export', { status: 'failed', failure: { error: 'States.Timeout', at: NOW.toISOString() } });
    await expectDomainError(w.termination.resume(OPERATOR, 'acme'), 'conflict', 409);

    starter.statuses.set(view.executionId!, 'FAILED');
    const resumed = await w.termination.resume(OPERATOR, 'acme');
    expect(resumed).toMatchObject({ status: 'running', executionId: expect.stringContaining('-r1') });
    expect(starter.starts.at(-1)!.input).toMatchObject({ stage: 'export', turn: 7 });
    const audit = await w.audit.listForTenant('acme', NOW.toISOString().slice(0, 7));
    expect(audit.filter((e) => e.action === 'tenant.termination.resume').map((e) => [e.actor, e.outcome])).toEqual([[OPERATOR, 'failure'], [OPERATOR, 'success']]);
    await expectDomainError(w.termination.resume(OPERATOR, 'nobody'), 'not_found', 404);
  });

  it('operator reset: starts over from the freeze before the purge; refused once the purge has begun', async () => {
    const w = world();
    const { view, starter } = await underWay(w, 'await-window');
    starter.statuses.set(view.executionId!, 'SUCCEEDED');
    await w.termination.reset(OPERATOR, 'acme');
    const input = starter.starts.at(-1)!.input as Record<string, unknown>;
    expect(input).toMatchObject({ terminationId: view.terminationId, turn: 8 });
    expect(input).not.toHaveProperty('stage');
    expect(input).not.toHaveProperty('counts');

    const other = world();
    const purging = await underWay(other, 'purge');
    purging.starter.statuses.set(purging.view.executionId!, 'ABORTED');
    await expectDomainError(other.termination.reset(OPERATOR, 'acme'), 'conflict', 409);
  });
});
