/**
 * The termination tasks (R-TERM-1..6), run in the state machine's order over the in-memory stores, the real
 * envelope encryption (local key files) and a local signing key. Two tenants each time: the terminated one ends
 * with nothing readable, the other one is untouched (every "A cannot" has its "B can").
 */
import { createHash } from 'node:crypto';
import { EnvelopeTenantCrypto, LocalKeyringProvider } from '../../lambdas/adapters/envelope-crypto';
import { backupDates, verifyDeletionDocument, type BackupFacts, type SignedDeletionDocument, type TenantDeletionCertificate } from '../../lambdas/domain/deletion-records';
import type { PlatformEvent, StoredEvent, StreamEnvelope, Tenant } from '../../lambdas/domain/model';
import type { AuditEntry } from '../../lambdas/domain/ports';
import { TerminationSuperseded, type TerminationElection, type TerminationWorkflowState } from '../../lambdas/domain/privacy';
import { EVENT_PURPOSE, StreamProcessing, SUBJECT_KEY_PURPOSE } from '../../lambdas/domain/processing';
import { hashSubject } from '../../lambdas/domain/subjects';
import { DRAIN_MARKER_EVENT, drainMarkerId, TerminationTasks, TERMINATION_ACTOR, type TerminationTaskDeps } from '../../lambdas/domain/termination-tasks';
import { objectKeys, tenantObjectPrefix } from '../../lambdas/domain/keys';
import { NOW, removePrivacyKeyDirectories, terminationWorld } from './privacy-fixture';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;
const OPERATOR = 'operator:arn:aws:iam::111122223333:user/operator';
const FACTS: BackupFacts = { backupRetentionDays: 90, keyDeletionWindowDays: 7, pitrWindowDays: 35 };

afterAll(removePrivacyKeyDirectories);

/** Everything the tasks touch, plus the processor and administration that fill it honestly. */
const world = (batching?: TerminationTaskDeps['batching']) => terminationWorld({ limits: { inlinePayloadBytes: 1024 }, batching, backupFacts: FACTS });
type World = ReturnType<typeof world>;

let sequence = 0;
const minutesAgo = (n: number) => new Date(NOW.getTime() - n * MINUTE_MS).toISOString();

/** Each tenant's events: every kind, an S3-sized body, a subject that gets restricted, a backfilled timestamp. */
function eventsOf(tenantId: string): PlatformEvent[] {
  return [
    { type: 'event', name: 'signup', timestamp: minutesAgo(3), properties: { email: `ann@${tenantId}.example`, plan: 'pro' } },
    { type: 'event', name: 'signup', timestamp: minutesAgo(3), properties: { email: `bob@${tenantId}.example` } },
    // A backfilled event from long before the tenant existed is billable too (R-TERM-1).
    { type: 'event', name: 'import', timestamp: new Date(NOW.getTime() - 400 * DAY_MS).toISOString(), properties: { userId: 'u-7' } },
    { type: 'event', name: 'upload', timestamp: minutesAgo(2), properties: { blob: 'x'.repeat(4000), userId: 'u-1' } },
    { type: 'api_call', method: 'GET', route: '/users/:id', status: 200, latencyMs: 42, timestamp: minutesAgo(2), properties: {} },
    { type: 'metric', name: 'cpu', value: 0.7, dimensions: { host: 'a' }, timestamp: minutesAgo(1) },
    { type: 'webhook', name: 'charge.succeeded', timestamp: minutesAgo(1), sourceId: 'stripe-main', scheme: 'stripe', deliveryId: `evt_${tenantId}`, payload: { amount: 1200 } },
    { type: 'event', name: 'login', timestamp: minutesAgo(1), properties: { email: `restricted@${tenantId}.example` } },
  ];
}

async function ingest(w: World, tenantId: string, events: readonly PlatformEvent[]): Promise<StreamEnvelope[]> {
  const envelopes = events.map((event): StreamEnvelope => ({ v: 1, tenantId, eventId: `ev_${++sequence}`, receivedAt: NOW.toISOString(), event }));
  const outcome = await w.processing.processBatch(envelopes.map((e) => ({ id: e.eventId, data: Buffer.from(JSON.stringify(e)) })));
  if (outcome.stored !== envelopes.length) throw new Error(`stored ${outcome.stored} of ${envelopes.length}: ${JSON.stringify(outcome)}`);
  return envelopes;
}

async function subjectHash(w: World, tenantId: string, kind: string, value: string): Promise<string> {
  const tenant = (await w.directory.getTenant(tenantId))!;
  const key = await w.crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
  return hashSubject(key, kind, value);
}

/** A tenant with an API key, a webhook source, a privacy request, a quarantined event and the usual events. */
async function populatedTenant(w: World, tenantId: string): Promise<StreamEnvelope[]> {
  await w.admin.createTenant(OPERATOR, { tenantId, name: `Tenant ${tenantId}`, plan: 'business' });
  await w.admin.issueApiKey(OPERATOR, tenantId);
  await w.admin.createWebhookSource(OPERATOR, tenantId, { sourceId: 'stripe-main', scheme: 'stripe' });
  // R-DSR-3: the processor quarantines this subject's events; a termination must still export and delete them.
  await w.requests.restrict(tenantId, await subjectHash(w, tenantId, 'email', `restricted@${tenantId}.example`), 'dsr_1', NOW.toISOString());
  return ingest(w, tenantId, eventsOf(tenantId));
}

async function allEvents(w: World, tenantId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await w.store.tenantEvents(tenantId, 100, cursor);
    events.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return events;
}

async function decryptStored(w: World, crypto: EnvelopeTenantCrypto, tenant: Tenant, stored: StoredEvent): Promise<PlatformEvent> {
  const ciphertext = 'inline' in stored.body ? Buffer.from(stored.body.inline, 'base64') : await w.payloads.get(stored.body.objectKey);
  if (!ciphertext) throw new Error(`no body for ${stored.eventId}`);
  return JSON.parse(Buffer.from(await crypto.decrypt(tenant, ciphertext, EVENT_PURPOSE, stored.eventId)).toString('utf8')) as PlatformEvent;
}

async function startTermination(w: World, tenantId: string, election: TerminationElection): Promise<TerminationWorkflowState> {
  await w.termination.start(OPERATOR, tenantId, { election });
  return w.workflows.starts[w.workflows.starts.length - 1].input as TerminationWorkflowState;
}

/** The termination state machine's path (lib/constructs/privacy-workflows.ts), its Waits moving the clock. */
async function runTermination(w: World, initial: TerminationWorkflowState, beforePurge?: () => Promise<void>): Promise<TerminationWorkflowState> {
  let state = await w.tasks.freeze(initial);
  w.clock.advance(10_000); // AwaitInFlightIngest
  do {
    state = await w.tasks.drainStream(state); // R-TERM-1: until the processor has stored the marker
    w.clock.advance(60_000); // AwaitStreamDrain polls, here past the processor's 60 s tenant cache
  } while (!state.done);
  state = await w.tasks.flushUsage(state);
  if (state.election !== 'immediate') {
    do state = await w.tasks.exportTenantData(state);
    while (!state.done);
    state = await w.tasks.writeTenantManifest(state);
    await beforePurge?.();
    w.clock.advance(30 * DAY_MS); // ExportWindow
  } else {
    await beforePurge?.();
  }
  do state = await w.tasks.purgeTenantData(state);
  while (!state.done);
  state = await w.tasks.shredKeys(state);
  state = await w.tasks.verifyPurge(state);
  return w.tasks.issueCertificate(state);
}

async function auditOf(w: World, tenantId: string): Promise<AuditEntry[]> {
  const months = ['2026-03', '2026-04'];
  return (await Promise.all(months.map((m) => w.audit.listForTenant(tenantId, m)))).flat();
}

/** Ingested events that count in rollups: the quarantined one waits for its release (R-DSR-3). */
function billableCounts(envelopes: readonly StreamEnvelope[]): Record<string, number> {
  const counts: Record<string, number> = { api_call: 0, event: 0, metric: 0, webhook: 0 };
  for (const { event } of envelopes) if (!JSON.stringify(event).includes('restricted@')) counts[event.type]++;
  return counts;
}

describe.each<TerminationElection>(['export-then-delete', 'immediate'])('termination, election %s', (election) => {
  let w: World;
  let ingestedA: StreamEnvelope[];
  let ingestedB: StreamEnvelope[];
  let tenantA: Tenant;
  let tenantB: Tenant;
  let storedA: StoredEvent[];
  let storedB: StoredEvent[];
  let exportedFiles: Map<string, Buffer>;
  let final: TerminationWorkflowState;

  beforeAll(async () => {
    w = world();
    ingestedA = await populatedTenant(w, 'acme');
    ingestedB = await populatedTenant(w, 'globex');
    tenantA = (await w.directory.getTenant('acme'))!;
    tenantB = (await w.directory.getTenant('globex'))!;
    storedA = await allEvents(w, 'acme');
    storedB = await allEvents(w, 'globex');
    await w.requests.create({
      tenantId: 'acme', requestId: 'dsr_open', type: 'access', subjectHash: 'h', subjectKind: 'email', origin: 'api', actor: 'api-key:k',
      receivedAt: NOW.toISOString(), dueAt: '2026-04-02T10:00:00.000Z', status: 'received', steps: [],
    });
    // A body whose event write failed after the upload (the processor retries under the same key): no event points at it.
    await w.payloads.put(objectKeys.payload('acme', 'ev_orphan'), new Uint8Array([1, 2, 3]));
    exportedFiles = new Map();
    const state = await startTermination(w, 'acme', election);
    final = await runTermination(w, state, async () => {
      for (const key of await w.exports.list(tenantObjectPrefix('acme'))) exportedFiles.set(key, Buffer.from((await w.exports.get(key))!));
    });
  });

  it('R-TERM-3: tenant A ends with no event, rollup, payload object, export, API key or webhook source', async () => {
    expect(storedA.some((e) => 'objectKey' in e.body)).toBe(true);
    expect(storedA.some((e) => e.quarantined)).toBe(true);

    expect(await w.store.tenantEvents('acme', 100)).toEqual({ items: [] });
    expect(await w.store.getEvents('acme', storedA.map((e) => e.eventId))).toEqual([]);
    expect(await w.store.queryRollups('acme', '2000-01-01T00:00Z', '9999')).toEqual([]);
    for (const e of storedA.filter((s) => s.subjects.length > 0)) expect(await w.store.subjectEventIds('acme', e.subjects[0])).toEqual([]);
    expect(await w.payloads.countPrefix(tenantObjectPrefix('acme'))).toBe(0);
    expect(await w.exports.list(tenantObjectPrefix('acme'))).toEqual([]);
    expect(await w.directory.listApiKeys('acme')).toEqual([]);
    expect(await w.directory.getWebhookSource('acme', 'stripe-main')).toBeUndefined();
    expect(await w.requests.get('acme', 'dsr_open')).toBeUndefined();
    expect(await w.requests.restrictedSubjects('acme')).toEqual(new Set());
  });

  it('R-TERM-4: A’s key is destroyed: an old ciphertext no longer decrypts, in this process or a fresh one', async () => {
    const inline = storedA.find((e) => 'inline' in e.body)!;
    const ciphertext = Buffer.from((inline.body as { inline: string }).inline, 'base64');

    expect(await w.keys.isTenantKeyUsable(tenantA.keyRef)).toBe(false);
    await expect(w.crypto.decrypt(tenantA, ciphertext, EVENT_PURPOSE, inline.eventId)).rejects.toThrow('No key material');
    await expect(new EnvelopeTenantCrypto(new LocalKeyringProvider(w.keyDir)).decrypt(tenantA, ciphertext, EVENT_PURPOSE, inline.eventId)).rejects.toThrow('No key material');
  });

  it('R-TERM-3: A stays as a terminated tombstone; its records still in the stream are dropped', async () => {
    expect((await w.directory.getTenant('acme'))!.status).toBe('terminated');
    const late = await w.processing.processBatch([
      { id: 'late', data: Buffer.from(JSON.stringify({ v: 1, tenantId: 'acme', eventId: 'ev_late', receivedAt: NOW.toISOString(), event: eventsOf('acme')[0] })) },
    ]);
    expect(late).toMatchObject({ stored: 0, dropped: 1, rejected: [] });
  });

  it('tenant B is untouched and readable: every event decrypts, rollups, payloads, keys and its key remain', async () => {
    const now = await allEvents(w, 'globex');
    expect(now.map((e) => e.eventId).sort()).toEqual(storedB.map((e) => e.eventId).sort());
    const fresh = new EnvelopeTenantCrypto(new LocalKeyringProvider(w.keyDir));
    const events = await Promise.all(now.map((e) => decryptStored(w, fresh, tenantB, e)));
    expect(events).toEqual(expect.arrayContaining(ingestedB.map((e) => e.event)));
    expect(await w.store.queryRollups('globex', '2000-01-01T00:00Z', '9999')).not.toHaveLength(0);
    expect(await w.payloads.countPrefix(tenantObjectPrefix('globex'))).toBe(storedB.filter((e) => 'objectKey' in e.body).length);
    expect(await w.directory.listApiKeys('globex')).toHaveLength(1);
    expect(await w.keys.isTenantKeyUsable(tenantB.keyRef)).toBe(true);
    expect((await w.directory.getTenant('globex'))!.status).toBe('active');
  });

  it('R-TERM-6, R-TERM-1: the billing ledger keeps A’s usage, equal to what was ingested and counted', async () => {
    const entries = await w.ledger.list('acme');

    expect(entries).toEqual([
      expect.objectContaining({ tenantId: 'acme', reason: 'termination', counts: billableCounts(ingestedA) }),
    ]);
    // The backfilled event's minute is covered, although it is older than the tenant.
    expect(entries[0].fromMinute <= `${ingestedA[2].event.timestamp.slice(0, 16)}Z`).toBe(true);
    expect(await w.ledger.list('globex')).toEqual([]);
  });

  it('R-TERM-5: the certificate verifies, states what was deleted and dates that follow the facts', async () => {
    const record = (await w.requests.getTermination('acme'))!;
    const signed = JSON.parse(Buffer.from((await w.records.get(record.certificateKey!))!).toString('utf8')) as SignedDeletionDocument<TenantDeletionCertificate>;
    const doc = signed.document;

    expect(record.certificateKey).toBe(objectKeys.deletionRecord('acme', final.terminationId));
    expect(verifyDeletionDocument(signed, await w.signer.publicKeyPem())).toBe(true);
    expect(doc).toMatchObject({
      kind: 'lumiqo.tenant-deletion.v1',
      tenantId: 'acme',
      terminationId: final.terminationId,
      election,
      purgedAt: final.keyDestroyed!.at,
      keyMaterial: { destroyedAt: final.keyDestroyed!.at, unrecoverableAfter: final.keyDestroyed!.unrecoverableAfter },
      verification: { remaining: 0 },
    });
    expect(doc.deleted).toMatchObject({
      events: storedA.length,
      subjectIndexEntries: storedA.reduce((n, e) => n + e.subjects.length, 0),
      payloadObjects: storedA.filter((e) => 'objectKey' in e.body).length + 1,
      exports: election === 'immediate' ? 0 : exportedFiles.size,
    });
    expect(doc.deleted.rollups).toBeGreaterThan(0);
    const purgedAt = Date.parse(doc.purgedAt);
    expect(doc.backups).toEqual(backupDates(new Date(purgedAt), new Date(doc.keyMaterial.unrecoverableAfter), FACTS));
    expect(doc.backups.copiesExpireBy).toBe(new Date(purgedAt + 90 * DAY_MS).toISOString());
    // The local key file is deleted at once, so every backup copy is unreadable from the purge on.
    expect(doc.backups.unrecoverableBy).toBe(doc.purgedAt);
    expect(doc.retained.join(' ')).toMatch(/billing ledger.*R-TERM-6/);
    expect(doc.retained.join(' ')).toMatch(/audit log.*R-SEC-6/);
  });

  it('R-SEC-6: every task is audited by the workflow and leaves a step; the record is completed', async () => {
    const record = (await w.requests.getTermination('acme'))!;
    const tasks = ['freeze', 'drain-stream', 'flush-usage', ...(election === 'immediate' ? [] : ['export-tenant-data', 'write-tenant-manifest']), 'purge-tenant-data', 'shred-keys', 'verify-purge', 'issue-certificate'];
    const audited = (await auditOf(w, 'acme')).filter((e) => e.actor === TERMINATION_ACTOR);

    expect(record).toMatchObject({ status: 'completed', election, completedAt: expect.any(String) });
    expect([...new Set(record.steps.map((s) => s.name))]).toEqual(['received', 'workflow-start', ...tasks]);
    // Entries of the same instant are listed in no particular order: compare the sets.
    expect([...new Set(audited.map((e) => e.action))].sort()).toEqual(tasks.map((t) => `tenant.termination.${t}`).sort());
    expect(audited.every((e) => e.outcome === 'success' && e.target === final.terminationId)).toBe(true);
    // R-SEC-7: the audit trail holds ids and counts, never an identifier or a payload.
    expect(JSON.stringify(audited)).not.toMatch(/@acme\.example|charge\.succeeded|xxxx/);
  });

  if (election === 'export-then-delete') {
    it('R-TERM-2: the export parts hold exactly A’s records, decrypted, and the manifest describes them', async () => {
      const manifestKey = objectKeys.tenantExport('acme', final.terminationId, 'manifest.json');
      const manifest = JSON.parse(exportedFiles.get(manifestKey)!.toString('utf8')) as {
        records: number; availableUntil: string; parts: { key: string; records: number; bytes: number; sha256: string }[];
      };
      const lines = manifest.parts.flatMap((p) => exportedFiles.get(p.key)!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; quarantined: boolean; event: PlatformEvent }));

      expect(lines.map((l) => l.eventId).sort()).toEqual(ingestedA.map((e) => e.eventId).sort());
      for (const envelope of ingestedA) expect(lines.find((l) => l.eventId === envelope.eventId)!.event).toEqual(envelope.event);
      expect(lines.filter((l) => l.quarantined).map((l) => l.event.timestamp)).toEqual([ingestedA[7].event.timestamp]);
      expect(manifest.records).toBe(ingestedA.length);
      for (const part of manifest.parts) {
        const body = exportedFiles.get(part.key)!;
        expect(part).toEqual({ key: part.key, records: body.toString('utf8').trim().split('\n').length, bytes: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') });
      }
      expect(Date.parse(manifest.availableUntil) - Date.parse(final.requestedAt)).toBeGreaterThanOrEqual(30 * DAY_MS);
    });
  }
});

describe('TerminationTasks, one task at a time', () => {
  let w: World;
  let ingested: StreamEnvelope[];
  let state: TerminationWorkflowState;
  beforeEach(async () => {
    w = world({ pageSize: 2, pagesPerCall: 2 });
    ingested = await populatedTenant(w, 'acme');
    await populatedTenant(w, 'globex');
    state = await startTermination(w, 'acme', 'export-then-delete');
  });

  it('R-TERM-1: freeze makes the tenant frozen, and never revives a terminated one', async () => {
    await w.tasks.freeze(state);
    expect((await w.directory.getTenant('acme'))!.status).toBe('frozen');

    await w.directory.setTenantStatus('acme', 'terminated');
    await w.tasks.freeze(state);
    expect((await w.directory.getTenant('acme'))!.status).toBe('terminated');
  });

  it('R-TERM-1: the drain waits until the processor has stored its marker, however long that takes; the marker is in no count, export or usage', async () => {
    const queued: StreamEnvelope[] = [];
    const tasks = new TerminationTasks({ ...w.deps, publisher: { publish: async (envelopes) => void queued.push(...envelopes) } });
    let s = await tasks.freeze(state);
    s = await tasks.drainStream(s);
    expect(queued).toEqual([expect.objectContaining({ tenantId: 'acme', eventId: drainMarkerId(state.terminationId), event: expect.objectContaining({ name: DRAIN_MARKER_EVENT }) })]);
    // The processor is hours behind: the drain goes on waiting, and puts no second marker.
    for (let i = 0; i < 3; i++) {
      w.clock.advance(3_600_000);
      s = await tasks.drainStream(s);
      expect(s).toMatchObject({ done: false, stage: 'drain' });
    }
    expect(queued).toHaveLength(1);
    await new StreamProcessing(w).processBatch(queued.map((e) => ({ id: e.eventId, data: Buffer.from(JSON.stringify(e)) })));
    s = await tasks.drainStream(s);
    expect(s).toMatchObject({ done: true, stage: 'flush' });

    s = await tasks.flushUsage(s);
    const entries = await w.ledger.list('acme');
    const total = (kind: string) => entries.reduce((n, e) => n + (e.counts[kind] ?? 0), 0);
    expect(Object.fromEntries(['api_call', 'event', 'metric', 'webhook'].map((k) => [k, total(k)]))).toEqual(billableCounts(ingested));
    do s = await tasks.exportTenantData(s);
    while (!s.done);
    expect(s.counts?.exported).toBe(ingested.length);
    s = await tasks.writeTenantManifest(s);
    do s = await tasks.purgeTenantData(s);
    while (!s.done);
    expect(s.counts?.events).toBe(ingested.length);
  });

  it('R-TERM-1..5: a retried task whose answer was lost returns what it recorded; a stale or other execution is refused', async () => {
    let s = await w.tasks.freeze(state);
    s = await w.tasks.flushUsage(s);
    const first = await w.tasks.exportTenantData(s);
    // The answer is lost: Step Functions sends the same state again. Nothing is exported twice, the counts stay.
    const again = await w.tasks.exportTenantData(s);
    expect(again).toEqual(first);
    // A state from before the last two tasks belongs to an execution that was overtaken.
    await expect(w.tasks.exportTenantData(state)).rejects.toBeInstanceOf(TerminationSuperseded);
    // Claimed by one execution, the record refuses every other one, and RecordFailure of a stale one writes nothing.
    const recorded = (await w.requests.getTermination('acme'))!.executionId!;
    const claimed = await w.tasks.claim({ ...first, execution: { id: 'arn:exec:one' }, predecessor: { id: recorded } });
    await expect(w.tasks.exportTenantData({ ...claimed, execution: { id: 'arn:exec:two' } })).rejects.toBeInstanceOf(TerminationSuperseded);
    await expect(w.tasks.claim({ ...first, execution: { id: 'arn:exec:two' } })).rejects.toBeInstanceOf(TerminationSuperseded);
    await w.tasks.recordFailure({ ...claimed, execution: { id: 'arn:exec:two' }, error: { Error: 'States.Timeout' } });
    expect(await w.requests.getTermination('acme')).toMatchObject({ status: 'running', executionId: 'arn:exec:one' });
    // A newer termination of the tenant (another id) is out of reach of this one's tasks.
    await expect(w.tasks.exportTenantData({ ...claimed, terminationId: 'term_01ARZ3NDEKTSV4RRFFQ69G5FAV' })).rejects.toBeInstanceOf(TerminationSuperseded);
  });

  it('R-TERM-3: a purge turn that dies half-way (a Lambda timeout) is finished by its retry; no event is missed in the counts', async () => {
    const deleteEvents = w.deps.store.deleteEvents.bind(w.deps.store);
    let calls = 0;
    // This world's store only (a new world per test): the second delete dies after the first event of its batch.
    w.deps.store.deleteEvents = async (events) => {
      if (calls++ === 1) {
        await deleteEvents(events.slice(0, 1));
        throw Object.assign(new Error('Task timed out'), { name: 'States.Timeout' });
      }
      return deleteEvents(events);
    };
    let s = state;
    let failures = 0;
    for (let turn = 0; turn < 100 && !s.done; turn++) {
      try {
        s = await w.tasks.purgeTenantData(s);
      } catch {
        failures++; // Step Functions retries the task with the same state
      }
    }
    expect(failures).toBe(1);
    expect(s.counts?.events).toBe(ingested.length);
    expect(await w.store.tenantEvents('acme', 10)).toMatchObject({ items: [] });
  });

  it('R-TERM-3: a purge turn reads what it lists by key once (the retry of a turn that died re-reads, as above)', async () => {
    const getEvents = w.deps.store.getEvents.bind(w.deps.store);
    const reads: number[] = [];
    w.deps.store.getEvents = async (tenantId, ids) => {
      reads.push(ids.length);
      return getEvents(tenantId, ids);
    };
    const s = await w.tasks.purgeTenantData(state);
    expect(s.counts?.events).toBeGreaterThan(0);
    expect(reads).toEqual([s.counts!.events]);
  });

  it('R-TERM-1, R-TERM-6: flushing twice does not count anything twice', async () => {
    await w.tasks.flushUsage(state);
    await w.tasks.flushUsage(state);
    w.clock.advance(10 * MINUTE_MS);
    await w.tasks.flushUsage(state);

    const entries = await w.ledger.list('acme');
    const total = (kind: string) => entries.reduce((n, e) => n + (e.counts[kind] ?? 0), 0);
    expect(entries.length).toBeGreaterThanOrEqual(1);
    expect(Object.fromEntries(['api_call', 'event', 'metric', 'webhook'].map((k) => [k, total(k)]))).toEqual(billableCounts(ingested));
  });

  it('R-TERM-1: after an earlier ledger entry, the flush covers only the minutes after it', async () => {
    const through = minutesAgo(3).slice(0, 16) + 'Z';
    await w.ledger.record({ tenantId: 'acme', fromMinute: '2020-01-01T00:00Z', throughMinute: through, counts: { event: 3 }, recordedAt: NOW.toISOString(), reason: 'periodic' });

    await w.tasks.flushUsage(state);

    const last = (await w.ledger.lastEntry('acme'))!;
    // Minutes 2 and 1 ago: the upload, the API call, the metric and the webhook (the restricted login is quarantined).
    expect(last).toMatchObject({ reason: 'termination', fromMinute: minutesAgo(2).slice(0, 16) + 'Z', counts: { event: 1, api_call: 1, metric: 1, webhook: 1 } });
  });

  it('R-TERM-2: export parts are bounded; a retried turn rewrites the same part and the manifest counts it once', async () => {
    const first = await w.tasks.exportTenantData(state);
    const again = await w.tasks.exportTenantData(state);
    expect(again).toEqual(first);
    let s = first;
    while (!s.done) s = await w.tasks.exportTenantData(s);
    s = await w.tasks.writeTenantManifest(s);

    const record = (await w.requests.getTermination('acme'))!;
    const manifest = JSON.parse(Buffer.from((await w.exports.get(record.export!.manifest))!).toString('utf8')) as { records: number; parts: { key: string; records: number }[] };
    expect(manifest.records).toBe(ingested.length);
    expect(manifest.parts.every((p) => p.records <= 4)).toBe(true);
    expect(new Set(manifest.parts.map((p) => p.key)).size).toBe(Math.ceil(ingested.length / 4));
    // The record holds the number of parts only: the list is the manifest's (the 400 KB item limit, R-TERM-2).
    expect(record.export).toEqual({ manifest: record.export!.manifest, partCount: manifest.parts.length, availableUntil: new Date(NOW.getTime() + 30 * DAY_MS).toISOString() });
    expect(record.purgeAfter).toBe(record.export!.availableUntil);
    expect(s).not.toHaveProperty('cursor');
  });

  it('R-TERM-2: an event whose S3 body is missing is listed as unavailable instead of stopping the export', async () => {
    const [big] = (await allEvents(w, 'acme')).filter((e) => 'objectKey' in e.body);
    await w.payloads.delete([(big.body as { objectKey: string }).objectKey]);

    let s = state;
    do s = await w.tasks.exportTenantData(s);
    while (!s.done);

    expect(s.counts).toMatchObject({ exported: ingested.length, exportUnreadable: 1 });
    const parts = (await w.exports.list(objectKeys.tenantExport('acme', state.terminationId, ''))).filter((k) => k.includes('/part-'));
    const lines = (await Promise.all(parts.map(async (k) => Buffer.from((await w.exports.get(k))!).toString('utf8')))).join('');
    expect(lines).toContain(`"eventId":"${big.eventId}","kind":"event","name":"upload"`);
    expect(lines).toContain('"unavailable":"payload_missing"');
  });

  it('R-TERM-3: verify-purge fails, naming the stores, while events, a stray object or a usable key remain', async () => {
    await expect(w.tasks.verifyPurge(state)).rejects.toMatchObject({ name: 'PurgeIncomplete', message: expect.stringMatching(/events \d+.*usableKeys 1/) });

    let s = state;
    do s = await w.tasks.purgeTenantData(s);
    while (!s.done);
    await expect(w.tasks.verifyPurge(s)).rejects.toMatchObject({ name: 'PurgeIncomplete', message: expect.stringMatching(/^PurgeIncomplete: usableKeys 1 remain/) });

    s = await w.tasks.shredKeys(s);
    await w.payloads.put(objectKeys.payload('acme', 'ev_stray'), new Uint8Array([1, 2, 3]));
    await expect(w.tasks.verifyPurge(s)).rejects.toMatchObject({ name: 'PurgeIncomplete', message: expect.stringMatching(/^PurgeIncomplete: payloadObjects 1 remain/) });

    await w.payloads.deletePrefix(tenantObjectPrefix('acme'));
    await expect(w.tasks.verifyPurge(s)).resolves.toMatchObject({ stage: 'certify', turn: (s.turn ?? 0) + 1 });
    const failures = (await auditOf(w, 'acme')).filter((e) => e.action === 'tenant.termination.verify-purge' && e.outcome === 'failure');
    expect(failures).toHaveLength(3);
    expect(failures[0].detail).toEqual({ error: 'PurgeIncomplete' });
  });

  it('R-TERM-3: the purge goes store by store and leaves tenant B alone', async () => {
    const phases: string[] = [];
    let s = state;
    do {
      s = await w.tasks.purgeTenantData(s);
      phases.push(s.phase!);
    } while (!s.done);

    expect([...new Set(phases)]).toEqual(['events', 'rollups', 'ai', 'objects', 'exports', 'requests', 'control', 'done']);
    expect((await allEvents(w, 'globex')).length).toBe(eventsOf('globex').length);
    expect(await w.requests.restrictedSubjects('globex')).toHaveProperty('size', 1);
  });

  it('R-TERM-4: a retried shred keeps the first destruction dates', async () => {
    const shredded = await w.tasks.shredKeys(state);
    w.clock.advance(MINUTE_MS);

    expect((await w.tasks.shredKeys(shredded)).keyDestroyed).toEqual(shredded.keyDestroyed);
    expect(shredded.keyDestroyed).toEqual({ at: NOW.toISOString(), unrecoverableAfter: NOW.toISOString() });
  });

  it('R-TERM-5: no certificate without a key destruction in the state (a permanent error)', async () => {
    await expect(w.tasks.issueCertificate(state)).rejects.toMatchObject({ name: 'PermanentTaskError' });
    expect(await w.records.list('deletion-records/')).toEqual([]);
  });

  it('R-SEC-6: record-failure marks the termination failed with the error name only, and audits it', async () => {
    const failed = { ...state, error: { Error: 'PurgeIncomplete', Cause: 'events 3 remain for ann@acme.example' } };

    expect(await w.tasks.recordFailure(failed)).toEqual(failed);

    const record = (await w.requests.getTermination('acme'))!;
    expect(record).toMatchObject({ status: 'failed', failure: { error: 'PurgeIncomplete', at: NOW.toISOString() } });
    const entry = (await auditOf(w, 'acme')).find((e) => e.action === 'tenant.termination.record-failure')!;
    expect(entry).toMatchObject({ actor: TERMINATION_ACTOR, outcome: 'failure', detail: { error: 'PurgeIncomplete' } });
    expect(JSON.stringify([record, entry])).not.toContain('ann@');
  });
});
