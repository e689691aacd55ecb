/**
 * R-AI-2 tools over rollups: a name or series as the model asks for it finds the series as the processor stored it,
 * identifier-shaped parts templated (issue 11, lambdas/domain/clear-metadata.ts).
 */
import type { Rollup } from '../../../lambdas/domain/ports';
import { runTool, type TenantToolReader } from '../../../lambdas/domain/ai/tools';

const NOW = new Date('2026-12-02T10:30:00.000Z');
const rollup = (series: string, count: number): Rollup => ({ minute: '2026-12-02T10:00', series, counters: { count } });

function reader(stored: readonly Rollup[]): TenantToolReader & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    rollups: async (_from, _to, series) => {
      asked.push(series);
      return stored.filter((r) => series === undefined || r.series === series);
    },
    events: async () => [],
    insights: async () => [],
  };
}

describe('rollup tools find the stored series of a name asked with its identifiers', () => {
  const stored = [rollup('event:order-:id', 3), rollup('api:GET /users/:id', 5), rollup('event:signup', 7)];

  it('count_events by a name holding a long number counts the templated series', async () => {
    const outcome = await runTool('count_events', JSON.stringify({ kind: 'event', name: 'order-1234567', status_class: null, from: null, to: null }), reader(stored), NOW);
    expect(outcome.ok).toBe(true);
    expect((outcome.result as { total: number }).total).toBe(3);
  });

  it('aggregate_rollups by a raw API series reads the templated one', async () => {
    const tenant = reader(stored);
    const outcome = await runTool(
      'aggregate_rollups',
      JSON.stringify({ series: 'api:GET /users/42', bucket_minutes: 60, from: null, to: null }),
      tenant,
      NOW,
    );
    expect(outcome.ok).toBe(true);
    expect(tenant.asked).toEqual(['api:GET /users/:id']);
  });

  it('can: a plain name is asked as it is', async () => {
    const outcome = await runTool('count_events', JSON.stringify({ kind: 'event', name: 'signup', status_class: null, from: null, to: null }), reader(stored), NOW);
    expect((outcome.result as { total: number }).total).toBe(7);
  });
});
