import type { AuditEntry } from '../../lambdas/domain/ports';
import { describeAdapters } from './harness';

const entry = (overrides: Partial<AuditEntry>): AuditEntry => ({
  tenantId: 'aud-a',
  at: '2026-03-05T12:00:00.000Z',
  actor: 'operator:alice',
  action: 'tenant.create',
  outcome: 'success',
  ...overrides,
});

describeAdapters('AuditLog', (ctx) => {

  it('R-SEC-6: lists a tenant month oldest first, and keeps two entries of the same instant', async () => {
    const entries = [
      entry({ at: '2026-03-05T12:00:00.000Z', action: 'api-key.issue', target: 'k1', detail: { keyId: 'k1', first: true } }),
      entry({ at: '2026-03-01T08:00:00.000Z' }),
      entry({ at: '2026-03-05T12:00:00.000Z', action: 'api-key.revoke', outcome: 'failure' }),
      entry({ at: '2026-04-01T00:00:00.000Z' }),
      entry({ tenantId: 'aud-b', at: '2026-03-02T00:00:00.000Z' }),
    ];
    for (const e of entries) await ctx.adapters.audit.record(e);

    const march = await ctx.adapters.audit.listForTenant('aud-a', '2026-03');

    expect(march.map((e) => e.at)).toEqual(['2026-03-01T08:00:00.000Z', '2026-03-05T12:00:00.000Z', '2026-03-05T12:00:00.000Z']);
    expect(march).toEqual(expect.arrayContaining([entries[0], entries[2]]));
    expect(await ctx.adapters.audit.listForTenant('aud-b', '2026-04')).toEqual([]);
    await expect(ctx.adapters.audit.listForTenant('aud-a', '2026-3')).rejects.toThrow('YYYY-MM');
  });

  it('R-SEC-6: is queryable per data subject, within the tenant only', async () => {
    await ctx.adapters.audit.record(entry({ tenantId: 'sub-a', action: 'dsr.export', subjectHash: 'h-1', at: '2026-03-01T00:00:00.000Z' }));
    await ctx.adapters.audit.record(entry({ tenantId: 'sub-a', action: 'dsr.erase', subjectHash: 'h-1', at: '2026-05-01T00:00:00.000Z' }));
    await ctx.adapters.audit.record(entry({ tenantId: 'sub-a', action: 'dsr.export', subjectHash: 'h-2' }));
    await ctx.adapters.audit.record(entry({ tenantId: 'sub-b', action: 'dsr.export', subjectHash: 'h-1' }));

    const forSubject = await ctx.adapters.audit.listForSubject('sub-a', 'h-1');

    expect(forSubject.map((e) => [e.tenantId, e.action])).toEqual([
      ['sub-a', 'dsr.export'],
      ['sub-a', 'dsr.erase'],
    ]);
  });

  it('R-SEC-6: entries expire 365 days after they happened', async () => {
    await ctx.adapters.audit.record(entry({ tenantId: 'ttl-a', at: '2026-03-01T00:00:00.000Z' }));

    const [item] = await ctx.adapters.auditItems('ttl-a', '2026-03');

    expect(item.expiresAt).toBe(Date.parse('2026-03-01T00:00:00.000Z') / 1000 + 365 * 86_400);
  });
});
