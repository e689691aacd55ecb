/**
 * The world of the data-subject task tests (R-DSR-1..3, R-DSR-5): the memory twins with tenants acme and globex,
 * events stored by the real processor (so they carry the subject hashes it computes), and the reads the tests
 * check them with. Each workflow's tests drive its tasks as its state machine does.
 */
import type { PlatformEvent, StoredEvent, Tenant } from '../../../lambdas/domain/model';
import { EVENT_PURPOSE } from '../../../lambdas/domain/processing';
import type { ExportLine } from '../../../lambdas/domain/export-lines';
import { createTenant, NOW, privacyWorld, removePrivacyKeyDirectories, runWorkflow, signup, storeEvents, subjectHashOf, type PrivacyWorld } from '../privacy-fixture';

// Jest loads this module once per test file that builds the world, so each file removes its own key directories.
afterAll(removePrivacyKeyDirectories);

export const ANN = 'ann@example.com';
export const BOB = 'bob@example.com';
export const MINUTE = 60_000;
/** Longer than the processor's one-minute restriction cache, as the state machines' AwaitPropagation. */
export const PROPAGATION_MS = 90_000;

/** Inline bodies stop at 1 KB here, so a large event's body goes to the payload store. */
export async function subjectRequestsWorld(): Promise<{ world: PrivacyWorld; annHash: string; bobHash: string }> {
  const world = privacyWorld({ inlinePayloadBytes: 1024 });
  await createTenant(world, 'acme');
  await createTenant(world, 'globex');
  return { world, annHash: await subjectHashOf(world, 'acme', 'email', ANN), bobHash: await subjectHashOf(world, 'acme', 'email', BOB) };
}

export const openRequest = async (world: PrivacyWorld, body: object, tenantId = 'acme') =>
  (await world.privacy.open('api-key:key_1', 'api', (await world.directory.getTenant(tenantId))!, body)).requestId;
export const runRequest = async (world: PrivacyWorld, body: object) => {
  const requestId = await openRequest(world, body);
  await runWorkflow(world, requestId);
  return requestId;
};
export const requestOf = (world: PrivacyWorld, requestId: string) => world.requests.get('acme', requestId).then((r) => r!);
export const bodyOf = async (world: PrivacyWorld, stored: StoredEvent, tenant?: Tenant): Promise<PlatformEvent> => {
  const owner = tenant ?? (await world.directory.getTenant('acme'))!;
  const ciphertext = 'inline' in stored.body ? Buffer.from(stored.body.inline, 'base64') : (await world.payloads.get(stored.body.objectKey))!;
  return JSON.parse(Buffer.from(await world.crypto.decrypt(owner, ciphertext, EVENT_PURPOSE, stored.eventId)).toString('utf8')) as PlatformEvent;
};
export const rawEvent = async (world: PrivacyWorld, eventId: string, tenantId = 'acme') => (await world.store.getEvents(tenantId, [eventId]))[0];
export const documentAt = async (world: PrivacyWorld, key: string) => JSON.parse(Buffer.from((await world.exports.get(key))!).toString('utf8')) as unknown;
export const exportLines = async (world: PrivacyWorld, requestId: string): Promise<ExportLine[]> => {
  const { result } = await requestOf(world, requestId);
  const parts = await Promise.all(result!.exportKeys!.parts.map((key) => world.exports.get(key)));
  return parts.flatMap((body) =>
    Buffer.from(body!)
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ExportLine),
  );
};
export const big = (email: string) => signup({ email, notes: 'x'.repeat(3000) });

/** Ann's records of every shape: plain, shared with Bob, large (body in S3), an API call, and quarantined. */
export async function annsWorld(world: PrivacyWorld, annHash: string): Promise<{ ann: string[]; bob: string; globex: string; events: Map<string, PlatformEvent> }> {
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
  expect((await rawEvent(world, quarantined)).quarantined).toBe(true);
  await world.requests.unrestrict('acme', annHash);
  const all = [...ids, quarantined];
  return { ann: all.sort(), bob, globex, events: new Map(all.map((id, i) => [id, [...events, quarantinedEvent][i]])) };
}
