/**
 * A restart over a data directory keeps every stored record, the tenants, keys, checkpoints and the demo
 * credentials (issue 3). Driven over HTTP only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { eventually, request } from './http';

const FAST = { port: 0, pollIntervalMs: 20, eventSource: { maxBatchingWindowMs: 50 }, log: () => undefined };
let dataDir: string;
let local: LocalPlatform | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lumiqo-restart-'));
});

afterAll(async () => {
  await local?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

it('keeps every stored record, and the demo credentials, across a restart with a data directory', async () => {
  local = await startLocalPlatform({ ...FAST, dataDir });
  const first = local;
  const apiKey = first.demo!.apiKey;
  const events = Array.from({ length: 25 }, (_, i) => ({ type: 'event', name: 'kept', properties: { i } }));
  const { body } = await request<{ eventIds: string[] }>(`${first.url}/v1/events`, { token: apiKey, body: { events } });
  // R-SEC-5: the demo's ingest key sends, its read key reads.
  const readKey = first.demo!.readApiKey;
  const list = (url: string) => request<{ items: { eventId: string }[] }>(`${url}/v1/events?kind=event&name=kept&limit=100`, { token: readKey });
  await eventually(async () => ((await list(first.url)).body.items.length === 25 ? true : undefined), 'the events stored before the restart');
  await first.stop();
  local = undefined;

  local = await startLocalPlatform({ ...FAST, dataDir });
  expect(local.demo).toEqual(first.demo);
  expect(local.adminToken).toBe(first.adminToken);
  const after = await list(local.url);
  expect(after.body.items.map((e) => e.eventId).sort()).toEqual([...body.eventIds].sort());
  // Nothing was stored or counted twice after the restart.
  const rollups = await request<{ items: { series: string; count: number }[] }>(`${local.url}/v1/rollups?series=event:kept`, { token: readKey });
  expect(rollups.body.items.reduce((sum, r) => sum + r.count, 0)).toBe(25);
});

it('starts in memory with no data directory and keeps nothing', async () => {
  const memory = await startLocalPlatform({ ...FAST, demo: false });
  try {
    expect(memory.dataDir).toBeUndefined();
    expect(memory.demo).toBeUndefined();
    const tenant = await request(`${memory.url}/v1/admin/tenants/demo`, { token: memory.adminToken });
    expect(tenant.status).toBe(404);
  } finally {
    await memory.stop();
  }
});
