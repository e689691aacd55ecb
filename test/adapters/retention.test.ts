/**
 * Retention written by the adapters, as the tables keep it (issue 11): R-RET-2, a terminated tenant's tombstone and
 * its completed termination record carry the Control table's TTL, 90 days after the termination; R-RET-1, a payload
 * object carries its expiry class (the lifecycle rules that act on it: test/infra/retention-classes.test.ts).
 */
import { ACCOUNT_DATA_RETENTION_DAYS } from '../../lambdas/domain/retention';
import { MemoryTenantDirectory } from '../../lambdas/adapters/memory';
import { createTenant, privacyWorld, removePrivacyKeyDirectories, signup, storeEvents } from '../domain/privacy-fixture';
import { controlKeys } from '../../lambdas/domain/keys';
import { tenant } from './fixtures';
import { describeAdapters, testClock } from './harness';

const DAY_S = 86_400;
const epoch = (iso: string | Date) => Math.floor(new Date(iso).getTime() / 1000);

describeAdapters('R-RET-2: account data expires 90 days after termination', (ctx) => {
  it('the completed termination record carries expiresAt = completion + 90 days; a running one none', async () => {
    const base = { tenantId: 'ret-a', terminationId: 'term_01', election: 'immediate' as const, requestedBy: 'operator:x', requestedAt: '2026-03-01T10:00:00.000Z', steps: [] };
    await ctx.adapters.requests.putTermination({ ...base, status: 'running' });
    const [running] = await ctx.adapters.partitionItems('control', controlKeys.termination('ret-a').pk);
    expect(running).not.toHaveProperty('expiresAt');

    await ctx.adapters.requests.updateTermination('ret-a', { name: 'issue-certificate', at: '2026-03-02T10:00:00.000Z', outcome: 'success' }, { status: 'completed', completedAt: '2026-03-02T10:00:00.000Z' });

    const items = await ctx.adapters.partitionItems('control', controlKeys.termination('ret-a').pk);
    const record = items.find((item) => item.sk === controlKeys.termination('ret-a').sk)!;
    expect(record.expiresAt).toBe(epoch('2026-03-02T10:00:00.000Z') + ACCOUNT_DATA_RETENTION_DAYS * DAY_S);
    expect(await ctx.adapters.requests.getTermination('ret-a')).toMatchObject({ status: 'completed' });
  });

  it('the tombstone carries expiresAt = termination + 90 days once terminated, none while active or frozen', async () => {
    await ctx.adapters.directory.putTenant(tenant('ret-b'));
    await ctx.adapters.directory.setTenantStatus('ret-b', 'frozen');
    const ttl = async () => {
      if (ctx.adapters.directory instanceof MemoryTenantDirectory) return ctx.adapters.directory.expiries.get('ret-b');
      const items = await ctx.adapters.partitionItems('control', controlKeys.tenant('ret-b').pk);
      return items.find((item) => item.sk === controlKeys.tenant('ret-b').sk)?.expiresAt;
    };
    expect(await ttl()).toBeUndefined();

    await ctx.adapters.directory.setTenantStatus('ret-b', 'terminated');

    expect(await ttl()).toBe(epoch(testClock.now()) + ACCOUNT_DATA_RETENTION_DAYS * DAY_S);
    expect((await ctx.adapters.directory.getTenant('ret-b'))?.status).toBe('terminated');
  });
});

describe('R-RET-1: the processor tags a payload with the expiry class of its tenant’s retention', () => {
  afterAll(removePrivacyKeyDirectories);

  it.each([
    ['business', undefined, 90],
    ['business', 45, 60],
  ])('%s plan, retention %p → class %i', async (plan, retentionDays, expected) => {
    const world = privacyWorld({ inlinePayloadBytes: 1024 });
    await createTenant(world, 'acme', { plan, ...(retentionDays ? { retentionDays } : {}) });

    const [id] = await storeEvents(world, 'acme', [signup({ email: 'ann@example.com', notes: 'x'.repeat(5000) })]);

    expect([...world.payloads.expiryClasses]).toEqual([[`tenants/acme/payloads/${id}`, expected]]);
  });
});
