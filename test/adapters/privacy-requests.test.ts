/**
 * PrivacyRequestStore on dynalite and in memory: requests and their deadline list (R-DSR-5), restrictions
 * (R-DSR-3), terminations (R-TERM-*); and the BillingLedger (R-TERM-1, R-TERM-6).
 */
import type { PrivacyRequestRecord, PrivacyStep, TerminationRecord } from '../../lambdas/domain/privacy';
import type { UsageEntry } from '../../lambdas/domain/ports';
import { controlKeys } from '../../lambdas/domain/keys';
import { describeAdapters } from './harness';

const step = (name: string, at = '2026-03-02T00:00:00.000Z'): PrivacyStep => ({ name, at, outcome: 'success' });

function request(tenantId: string, requestId: string, overrides: Partial<PrivacyRequestRecord> = {}): PrivacyRequestRecord {
  return {
    tenantId,
    requestId,
    type: 'erasure',
    subjectHash: 'h-subject',
    subjectKind: 'email',
    origin: 'api',
    actor: 'api-key:k1',
    receivedAt: '2026-03-01T10:00:00.000Z',
    dueAt: '2026-04-01T10:00:00.000Z',
    status: 'received',
    steps: [step('received', '2026-03-01T10:00:00.000Z')],
    ...overrides,
  };
}

function termination(tenantId: string, overrides: Partial<TerminationRecord> = {}): TerminationRecord {
  return {
    tenantId,
    terminationId: 'term_01',
    election: 'export-then-delete',
    requestedBy: 'operator:arn:aws:iam::111122223333:role/ops',
    requestedAt: '2026-03-01T10:00:00.000Z',
    status: 'running',
    steps: [],
    ...overrides,
  };
}

describeAdapters('PrivacyRequestStore', (ctx) => {
  const overdueIds = async (now: string, tenantPrefix: string) =>
    (await ctx.adapters.requests.overdue(now)).filter((o) => o.tenantId.startsWith(tenantPrefix)).map((o) => `${o.tenantId}/${o.requestId}`);

  it('R-DSR-5: creates a request once; a duplicate delivery is told apart', async () => {
    const record = request('req-a', 'dsr_1');

    expect(await ctx.adapters.requests.create(record)).toBe('created');
    expect(await ctx.adapters.requests.create({ ...record, status: 'running' })).toBe('exists');

    expect(await ctx.adapters.requests.get('req-a', 'dsr_1')).toEqual(record);
    expect(await ctx.adapters.requests.get('req-b', 'dsr_1')).toBeUndefined();
  });

  it('R-DSR-5: overdue lists only open requests due before now, of every tenant', async () => {
    await ctx.adapters.requests.create(request('due-a', 'dsr_early', { dueAt: '2026-04-01T09:59:59.999Z' }));
    await ctx.adapters.requests.create(request('due-a', 'dsr_exact', { dueAt: '2026-04-01T10:00:00.000Z' }));
    await ctx.adapters.requests.create(request('due-a', 'dsr_later', { dueAt: '2026-04-02T00:00:00.000Z' }));
    await ctx.adapters.requests.create(request('due-b', 'dsr_done', { dueAt: '2026-03-15T00:00:00.000Z' }));
    await ctx.adapters.requests.create(request('due-b', 'dsr_failed', { dueAt: '2026-03-16T00:00:00.000Z' }));
    await ctx.adapters.requests.update('due-b', 'dsr_done', step('complete'), { status: 'completed', completedAt: '2026-03-10T00:00:00.000Z' });
    await ctx.adapters.requests.update('due-b', 'dsr_failed', step('record-failure'), { status: 'failed', failure: { error: 'ErasureIncomplete', at: '2026-03-10T00:00:00.000Z' } });

    const overdue = await overdueIds('2026-04-01T10:00:00.000Z', 'due-');

    // A failed request was not answered: it stays listed until someone completes it.
    expect(overdue).toEqual(['due-b/dsr_failed', 'due-a/dsr_early']);
    expect(await ctx.adapters.requests.overdue('2026-04-01T10:00:00.000Z')).toContainEqual({ tenantId: 'due-a', requestId: 'dsr_early', dueAt: '2026-04-01T09:59:59.999Z' });
    expect(await overdueIds('2026-03-01T00:00:00.000Z', 'due-')).toEqual([]);
  });

  it('R-DSR-5: a redelivered request with another due date leaves no second deadline entry', async () => {
    await ctx.adapters.requests.create(request('dup-a', 'dsr_shopify', { dueAt: '2026-04-01T10:00:00.000Z' }));

    expect(await ctx.adapters.requests.create(request('dup-a', 'dsr_shopify', { dueAt: '2026-04-03T10:00:00.000Z' }))).toBe('exists');

    expect(await overdueIds('2027-01-01T00:00:00.000Z', 'dup-')).toEqual(['dup-a/dsr_shopify']);
    expect((await ctx.adapters.requests.overdue('2027-01-01T00:00:00.000Z')).find((o) => o.tenantId === 'dup-a')?.dueAt).toBe('2026-04-01T10:00:00.000Z');
  });

  it('update appends the step, applies the patch and merges result, so an export stays listed', async () => {
    await ctx.adapters.requests.create(request('upd-a', 'dsr_1', { type: 'access' }));
    const exportKeys = { manifest: 'tenants/upd-a/exports/subjects/h/dsr_1/manifest.json', parts: ['tenants/upd-a/exports/subjects/h/dsr_1/part-00001.jsonl'] };

    await ctx.adapters.requests.update('upd-a', 'dsr_1', step('locate'), { status: 'running' });
    await ctx.adapters.requests.update('upd-a', 'dsr_1', step('write-export-manifest'), { result: { exportKeys } });
    await ctx.adapters.requests.update('upd-a', 'dsr_1', step('complete'), { status: 'completed', completedAt: '2026-03-03T00:00:00.000Z', result: { counts: { events: 3 } } });

    const stored = await ctx.adapters.requests.get('upd-a', 'dsr_1');
    expect(stored).toMatchObject({ status: 'completed', completedAt: '2026-03-03T00:00:00.000Z', result: { exportKeys, counts: { events: 3 } } });
    expect(stored?.steps.map((s) => s.name)).toEqual(['received', 'locate', 'write-export-manifest', 'complete']);
    await expect(ctx.adapters.requests.update('upd-a', 'dsr_none', step('locate'))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('R-DSR-3: restricts and lifts restrictions per tenant', async () => {
    await ctx.adapters.requests.restrict('rst-a', 'h1', 'dsr_1', '2026-03-01T00:00:00.000Z');
    await ctx.adapters.requests.restrict('rst-a', 'h2', 'dsr_2', '2026-03-01T00:00:00.000Z');
    await ctx.adapters.requests.restrict('rst-b', 'h3', 'dsr_3', '2026-03-01T00:00:00.000Z');

    await ctx.adapters.requests.unrestrict('rst-a', 'h1');

    expect(await ctx.adapters.requests.restrictedSubjects('rst-a')).toEqual(new Set(['h2']));
    expect(await ctx.adapters.requests.restrictedSubjects('rst-b')).toEqual(new Set(['h3']));
    expect(await ctx.adapters.requests.restrictedSubjects('rst-c')).toEqual(new Set());
  });

  it('R-TERM-3: deleteForTenant removes requests, their deadline entries and restrictions of one tenant only', async () => {
    for (const tenantId of ['del-a', 'del-b']) {
      await ctx.adapters.requests.create(request(tenantId, 'dsr_open'));
      await ctx.adapters.requests.create(request(tenantId, 'dsr_done'));
      await ctx.adapters.requests.update(tenantId, 'dsr_done', step('complete'), { status: 'completed' });
      await ctx.adapters.requests.restrict(tenantId, 'h1', 'dsr_open', '2026-03-01T00:00:00.000Z');
      await ctx.adapters.requests.putTermination(termination(tenantId));
    }

    // Two requests, one deadline entry (the open one), one restriction.
    expect(await ctx.adapters.requests.deleteForTenant('del-a')).toBe(4);

    expect(await ctx.adapters.requests.get('del-a', 'dsr_open')).toBeUndefined();
    expect(await ctx.adapters.requests.restrictedSubjects('del-a')).toEqual(new Set());
    expect(await overdueIds('2027-01-01T00:00:00.000Z', 'del-')).toEqual(['del-b/dsr_open']);
    expect(await ctx.adapters.requests.getTermination('del-a')).toEqual(termination('del-a'));
    expect(await ctx.adapters.requests.get('del-b', 'dsr_done')).toBeDefined();
    expect(await ctx.adapters.requests.deleteForTenant('del-a')).toBe(0);
  });

  it('R-TERM-1: a termination is created once, read back and updated step by step', async () => {
    await ctx.adapters.requests.putTermination(termination('term-a'), { mustNotExist: true });
    await expect(ctx.adapters.requests.putTermination(termination('term-a'), { mustNotExist: true })).rejects.toMatchObject({ code: 'conflict' });
    const exported = { manifest: 'tenants/term-a/exports/termination/term_01/manifest.json', partCount: 0, availableUntil: '2026-04-01T00:00:00.000Z' };

    await ctx.adapters.requests.updateTermination('term-a', step('freeze'));
    await ctx.adapters.requests.updateTermination('term-a', step('write-tenant-manifest'), { export: exported, executionId: 'arn:exec' });

    expect(await ctx.adapters.requests.getTermination('term-a')).toEqual({
      ...termination('term-a'),
      export: exported,
      executionId: 'arn:exec',
      steps: [step('freeze'), step('write-tenant-manifest')],
    });
    expect(await ctx.adapters.requests.getTermination('term-b')).toBeUndefined();
    await expect(ctx.adapters.requests.updateTermination('term-b', step('freeze'))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stores the termination next to the tenant record, as purgeTenant expects', async () => {
    await ctx.adapters.requests.putTermination(termination('term-key-a'));

    const items = await ctx.adapters.partitionItems('control', controlKeys.termination('term-key-a').pk);

    expect(items.map((item) => item.sk)).toContain('TERMINATION');
  });
});

describeAdapters('BillingLedger', (ctx) => {
  const entry = (tenantId: string, throughMinute: string, count: number): UsageEntry => ({
    tenantId,
    fromMinute: '2026-03-01T00:00Z',
    throughMinute,
    counts: { event: count, api_call: 1 },
    recordedAt: '2026-03-05T00:00:00.000Z',
    reason: 'termination',
  });

  it('R-TERM-6: records entries per tenant and reads the latest back', async () => {
    await ctx.adapters.ledger.record(entry('led-a', '2026-03-02T00:00Z', 5));
    await ctx.adapters.ledger.record(entry('led-a', '2026-03-04T10:00Z', 7));
    await ctx.adapters.ledger.record(entry('led-a', '2026-03-03T00:00Z', 6));
    await ctx.adapters.ledger.record(entry('led-b', '2026-03-09T00:00Z', 1));

    expect(await ctx.adapters.ledger.lastEntry('led-a')).toEqual(entry('led-a', '2026-03-04T10:00Z', 7));
    expect((await ctx.adapters.ledger.list('led-a')).map((e) => e.throughMinute)).toEqual(['2026-03-02T00:00Z', '2026-03-03T00:00Z', '2026-03-04T10:00Z']);
    expect(await ctx.adapters.ledger.lastEntry('led-c')).toBeUndefined();
  });

  it('R-TERM-1: recording the same period again is a no-op; a different entry for it is refused', async () => {
    await ctx.adapters.ledger.record(entry('led-d', '2026-03-02T00:00Z', 5));

    await ctx.adapters.ledger.record({ ...entry('led-d', '2026-03-02T00:00Z', 5), recordedAt: '2026-03-06T00:00:00.000Z' });
    await expect(ctx.adapters.ledger.record(entry('led-d', '2026-03-02T00:00Z', 6))).rejects.toThrow('different entry');

    expect(await ctx.adapters.ledger.list('led-d')).toEqual([entry('led-d', '2026-03-02T00:00Z', 5)]);
  });
});
