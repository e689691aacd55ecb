/**
 * Section 8 (issue 4): a data-subject request reads the subject's own records, not the corpus (R-DSR-1). One
 * tenant's corpus grows in dynalite (10k, then 100k events); subject X keeps the same 25 records throughout. At
 * each size an access request runs through the real tasks (`locate`, `export-records` until done,
 * `write-export-manifest`) over the real DynamoEventStore, and a middleware on the document client counts the
 * requests and the items they read. The baseline, in the same run: finding X's records without the subject index,
 * by a full Scan of the data table filtered on the `subjects` attribute.
 *
 * X's records and a few thousand others go through the real processor, so their subject hashes are the ones it
 * computes. The bulk is filler: clones of one processed event (one valid ciphertext, reused) with fresh ids, each
 * mentioning two other subjects hashed under the tenant's subject key, index entries included, so the subject index
 * grows with the corpus as it would in production.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BuildMiddleware } from '@smithy/types';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { LocalDocumentSigner } from '../../lambdas/adapters/document-signers';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { MemoryDocumentStore, MemoryPayloadStore, MemoryPrivacyRequestStore, RecordingWorkflowStarter } from '../../lambdas/adapters/memory';
import { forEachLimited } from '../../lambdas/adapters/retry';
import { webhookEventId } from '../../lambdas/domain/ingestion';
import { newId } from '../../lambdas/domain/ids';
import type { PlatformEvent, StoredEvent, StreamEnvelope, Tenant, WebhookEvent } from '../../lambdas/domain/model';
import type { SubjectIndexEntry } from '../../lambdas/domain/ports';
import type { SubjectWorkflowState } from '../../lambdas/domain/privacy';
import { PrivacyRequests } from '../../lambdas/domain/privacy-requests';
import { SUBJECT_KEY_PURPOSE, StreamProcessing, type InputRecord } from '../../lambdas/domain/processing';
import type { ExportLine } from '../../lambdas/domain/export-lines';
import { SubjectRequestTasks } from '../../lambdas/domain/subject-requests';
import type { SubjectExportManifest } from '../../lambdas/domain/subject-requests/access';
import { hashSubject } from '../../lambdas/domain/subjects';
import { startEmulators } from '../support/emulators';
import { KINESIS_BATCH_SIZE } from './processor';
import type { Figure } from './report';
import { chunk, median, round, timed } from './stats';
import { apiCallEvent, createTenants, localControlPlane, streamRecords, stripeInvoicePaid, WEBHOOK_SOURCE, type ControlPlane } from './workload';

const SECTION = '8 data-subject requests';
/** Events in the tenant at each measurement; the corpus grows from one size to the next. */
const SIZES = [10_000, 100_000] as const;
/**
 * Tried when the seeding rate measured so far says it fits in this many seconds. Issue 12: 10 minutes, so that a
 * machine that writes ~1,500 filler events a second to dynalite (items written directly, not through the API) gets
 * to 1M; the event indexes' smaller entries (tables.ts) make each write cheaper too.
 */
const OPTIONAL_SIZE = 1_000_000;
const OPTIONAL_SIZE_BUDGET_S = 600;
/** Seeding the 100k corpus for longer than this is reported as a caveat (the figures stand). */
const SLOW_SEEDING_S = 120;
/** Subject X's records: the same at every size. */
const SUBJECT_RECORDS = 25;
/** Records of other subjects that go through the real processor (500 customers of the workload). */
const PROCESSED_OTHERS = 2_000;
/** Filler events per putEvents call, and calls in flight (dynalite runs in this process: more does not help). */
const FILLER_GROUP = 250;
const FILLER_CONCURRENCY = 8;
/** Distinct filler customers: each filler event names one by email and by user id. */
const FILLER_CUSTOMERS = 10_000;
/** Measured request runs per size, after one warm-up; the wall time is their median (the items read must be the same each time). */
const REQUEST_RUNS = 5;
const MAX_LOOP = 10_000;

const SUBJECT_EMAIL = 'subject-x@example.com';
const SUBJECT_USER = 'usr_subject_x';

/** What one measured piece of work sent to DynamoDB and read from it. */
interface ReadCounts {
  readonly requests: Record<string, number>;
  /** Items DynamoDB read: Query/Scan ScannedCount, BatchGetItem keys, GetItem keys. */
  itemsRead: number;
  /** Items DynamoDB returned (after filters). */
  itemsReturned: number;
}

const newCounts = (): ReadCounts => ({ requests: {}, itemsRead: 0, itemsReturned: 0 });

interface WireReadBody {
  RequestItems?: Record<string, { Keys?: unknown[] }>;
}
interface ReadOutput {
  Count?: number;
  ScannedCount?: number;
  Item?: unknown;
  Responses?: Record<string, unknown[]>;
}

function readCountingMiddleware<Input extends object, Output extends object>(counts: ReadCounts): BuildMiddleware<Input, Output> {
  return (next) => async (args) => {
    const request = args.request as { headers: Record<string, string>; body?: string | Uint8Array };
    const operation = (request.headers['x-amz-target'] ?? 'unknown').split('.').pop() ?? 'unknown';
    counts.requests[operation] = (counts.requests[operation] ?? 0) + 1;
    const result = await next(args);
    const output = result.output as ReadOutput;
    if (operation === 'Query' || operation === 'Scan') {
      counts.itemsRead += output.ScannedCount ?? 0;
      counts.itemsReturned += output.Count ?? 0;
    } else if (operation === 'BatchGetItem') {
      const raw = request.body ?? '{}';
      const body = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw)) as WireReadBody;
      for (const table of Object.values(body.RequestItems ?? {})) counts.itemsRead += table.Keys?.length ?? 0;
      for (const items of Object.values(output.Responses ?? {})) counts.itemsReturned += items.length;
    } else if (operation === 'GetItem') {
      counts.itemsRead += 1;
      counts.itemsReturned += output.Item ? 1 : 0;
    }
    return result;
  };
}

/** Counts what `work` sends through the document client. */
async function counted<T>(db: DynamoDBDocumentClient, name: string, work: () => Promise<T>): Promise<{ result: T; counts: ReadCounts; wallMs: number }> {
  const counts = newCounts();
  db.middlewareStack.add(readCountingMiddleware(counts), { step: 'build', name });
  try {
    const { result, wallMs } = await timed(work);
    return { result, counts, wallMs };
  } finally {
    db.middlewareStack.remove(name);
  }
}

const sumRequests = (counts: ReadCounts) => Object.values(counts.requests).reduce((sum, n) => sum + n, 0);

interface World {
  readonly plane: ControlPlane;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly store: DynamoEventStore;
  readonly payloads: MemoryPayloadStore;
  readonly tenant: Tenant;
  readonly subjectKey: Uint8Array;
  readonly signerFile: string;
}

/** X's records: API calls whose response names X, and Stripe checkout deliveries that name X's email. */
function subjectRecords(tenantId: string, start: Date): { envelopes: StreamEnvelope[]; records: InputRecord[] } {
  const envelopes = Array.from({ length: SUBJECT_RECORDS }, (_, i): StreamEnvelope => {
    const at = new Date(start.getTime() + i * 1_000);
    const timestamp = at.toISOString();
    if (i % 2 === 0) {
      const call = apiCallEvent(900_000 + i, timestamp);
      const order = (call.payload as { order: Record<string, unknown> }).order;
      const event = { ...call, payload: { order: { ...order, customer: { userId: SUBJECT_USER, email: SUBJECT_EMAIL, segment: 'returning', locale: 'de-DE' } } } };
      return { v: 1, tenantId, eventId: newId('ev', at), receivedAt: timestamp, event };
    }
    // A Stripe checkout session: the customer's email is under customer_details, where `$..email` finds it.
    const invoice = stripeInvoicePaid(900_000 + i, Math.floor(at.getTime() / 1000));
    const deliveryId = `${invoice.id as string}_x`;
    const session = {
      id: `cs_${deliveryId}`,
      object: 'checkout.session',
      amount_total: 4900,
      currency: 'eur',
      mode: 'subscription',
      payment_status: 'paid',
      status: 'complete',
      customer_details: { email: SUBJECT_EMAIL, name: null, address: { country: 'DE', postal_code: '10115' } },
    };
    const delivery = { ...invoice, id: deliveryId, type: 'checkout.session.completed', data: { object: session } };
    const event: WebhookEvent = { type: 'webhook', name: 'checkout.session.completed', timestamp, sourceId: WEBHOOK_SOURCE, scheme: 'stripe', deliveryId, payload: delivery };
    return { v: 1, tenantId, eventId: webhookEventId(WEBHOOK_SOURCE, deliveryId), receivedAt: timestamp, event };
  });
  const records = envelopes.map((e, i) => ({ id: `x${String(i).padStart(19, '0')}`, data: Buffer.from(JSON.stringify(e), 'utf8') }));
  return { envelopes, records };
}

async function processAll(world: World, records: readonly InputRecord[]): Promise<void> {
  const { plane } = world;
  const processing = new StreamProcessing({
    directory: plane.directory,
    store: world.store,
    payloads: world.payloads,
    crypto: plane.crypto,
    requests: new MemoryPrivacyRequestStore(),
    settings: plane.settings,
    clock: plane.clock,
  });
  for (const batch of chunk(records, KINESIS_BATCH_SIZE)) {
    const outcome = await processing.processBatch(batch);
    if (outcome.rejected.length + outcome.retry.length > 0 || outcome.stored !== batch.length) {
      throw new Error(`seeding: the processor did not store every record: ${JSON.stringify(outcome)}`);
    }
  }
}

/** Filler: clones of a processed event (its ciphertext reused) naming filler customers, with their index entries. */
async function addFiller(world: World, template: StoredEvent, count: number, offset: number): Promise<void> {
  const hashes = new Map<number, readonly string[]>();
  const subjectsOf = (customer: number) => {
    let found = hashes.get(customer);
    if (!found) {
      found = [hashSubject(world.subjectKey, 'email', `filler${customer}@example.com`), hashSubject(world.subjectKey, 'user_id', `usr_filler_${customer}`)];
      hashes.set(customer, found);
    }
    return found;
  };
  const base = Date.parse(template.timestamp);
  const groups = chunk(
    Array.from({ length: count }, (_, i) => offset + i),
    FILLER_GROUP,
  );
  await forEachLimited(groups, FILLER_CONCURRENCY, async (group) => {
    const events: StoredEvent[] = [];
    const entries: SubjectIndexEntry[] = [];
    for (const n of group) {
      const at = new Date(base - (n + 1) * 1_000);
      const eventId = newId('ev', at);
      const subjects = subjectsOf(n % FILLER_CUSTOMERS);
      events.push({ ...template, eventId, timestamp: at.toISOString(), receivedAt: at.toISOString(), subjects: [...subjects] });
      for (const subjectHash of subjects) entries.push({ tenantId: template.tenantId, subjectHash, eventId, expiresAt: template.expiresAt });
    }
    await world.store.putEvents(events, entries);
  });
}

/** The one tenant's items in the table, by kind of item (what the Scan baseline has to read through). */
async function tableComposition(world: World): Promise<Record<string, number>> {
  const composition: Record<string, number> = {};
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await world.db.send(new ScanCommand({ TableName: world.table, ProjectionExpression: 'pk', ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) {
      const kind = /#(EV|S|ROLLUP)#?/.exec(item.pk as string)?.[1] ?? 'other';
      const label = { EV: 'events', S: 'subjectIndexEntries', ROLLUP: 'rollups' }[kind] ?? 'other';
      composition[label] = (composition[label] ?? 0) + 1;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return composition;
}

interface RequestRun {
  readonly counts: ReadCounts;
  readonly wallMs: number;
  readonly exported: number;
}

/** One access request, opened as the API opens it, run task by task as its state machine does. */
async function accessRequest(world: World, expected: ReadonlyMap<string, PlatformEvent>, run: string): Promise<RequestRun> {
  const { plane } = world;
  const requests = new MemoryPrivacyRequestStore();
  const exports = new MemoryDocumentStore('exports', plane.clock);
  const records = new MemoryDocumentStore('records', plane.clock);
  const workflows = new RecordingWorkflowStarter();
  const common = { directory: plane.directory, requests, audit: plane.audit, exports, records, settings: plane.settings, clock: plane.clock };
  // A cold envelope-crypto cache, as a fresh task container has.
  const crypto = plane.freshCrypto();
  const privacy = new PrivacyRequests({ ...common, crypto, workflows });
  const tasks = new SubjectRequestTasks({ ...common, crypto, store: world.store, payloads: world.payloads, signer: new LocalDocumentSigner(world.signerFile) });

  const { requestId } = await privacy.open('api-key:key_bench', 'api', world.tenant, { type: 'access', subject: { kind: 'email', value: SUBJECT_EMAIL } });
  const start = workflows.starts.find((s) => s.executionName === requestId);
  if (!start) throw new Error('the access request started no workflow');
  let state = start.input as SubjectWorkflowState;

  const measured = await counted(world.db, `benchSubjectRequest${run}`, async () => {
    state = await tasks.common.locate(state);
    for (let i = 0; !state.done; i++) {
      if (i >= MAX_LOOP) throw new Error('export-records did not finish');
      state = await tasks.access.exportRecords(state);
    }
    state = await tasks.access.writeExportManifest(state);
  });
  const exported = await checkExport(exports, requests, world.tenant.tenantId, requestId, expected);
  return { counts: measured.counts, wallMs: measured.wallMs, exported };
}

/** R-DSR-1: the export holds X's records, each exactly as received, and nothing else; anything else fails the section. */
async function checkExport(
  exports: MemoryDocumentStore,
  requests: MemoryPrivacyRequestStore,
  tenantId: string,
  requestId: string,
  expected: ReadonlyMap<string, PlatformEvent>,
): Promise<number> {
  const request = await requests.get(tenantId, requestId);
  const keys = request?.result?.exportKeys;
  if (!keys) throw new Error('the access request recorded no export');
  const manifestBody = await exports.get(keys.manifest);
  if (!manifestBody) throw new Error('the export has no manifest');
  const manifest = JSON.parse(Buffer.from(manifestBody).toString('utf8')) as SubjectExportManifest;
  const lines: ExportLine[] = [];
  for (const key of keys.parts) {
    const body = await exports.get(key);
    if (!body) throw new Error(`export part missing: ${key}`);
    for (const line of Buffer.from(body).toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as ExportLine);
  }
  const ids = lines.map((l) => l.eventId);
  const unexpected = ids.filter((id) => !expected.has(id));
  const missing = [...expected.keys()].filter((id) => !ids.includes(id));
  if (unexpected.length > 0 || missing.length > 0 || ids.length !== new Set(ids).size) {
    throw new Error(`the export is not exactly X's records: ${lines.length} lines, ${missing.length} missing, ${unexpected.length} not X's`);
  }
  const altered = lines.filter((l) => !isDeepStrictEqual(l.event, expected.get(l.eventId)));
  if (altered.length > 0) throw new Error(`${altered.length} exported records differ from what was received`);
  if (manifest.records !== expected.size) throw new Error(`the manifest counts ${manifest.records} records, not ${expected.size}`);
  return lines.length;
}

interface ScanRun {
  readonly counts: ReadCounts;
  readonly wallMs: number;
}

/** The baseline: X's records found without the subject index, by reading the whole table. */
async function scanForSubject(world: World, subjectHash: string, expected: ReadonlyMap<string, PlatformEvent>, run: string): Promise<ScanRun> {
  const measured = await counted(world.db, `benchSubjectScan${run}`, async () => {
    const found: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await world.db.send(
        new ScanCommand({
          TableName: world.table,
          FilterExpression: 'contains(#subjects, :hash)',
          ExpressionAttributeNames: { '#subjects': 'subjects' },
          ExpressionAttributeValues: { ':hash': subjectHash },
          ProjectionExpression: 'eventId',
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(page.Items ?? []).map((item) => item.eventId as string));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  });
  const found = measured.result;
  if (found.length !== expected.size || !found.every((id) => expected.has(id))) {
    throw new Error(`the Scan baseline found ${found.length} records, not X's ${expected.size}`);
  }
  return { counts: measured.counts, wallMs: measured.wallMs };
}

interface SizeResult {
  readonly events: number;
  readonly seedingSeconds: number;
  readonly table: Record<string, number>;
  readonly request: { readonly itemsRead: number; readonly itemsReturned: number; readonly requests: Record<string, number>; readonly wallMs: number[]; readonly medianWallMs: number };
  readonly scan: { readonly itemsRead: number; readonly itemsReturned: number; readonly requests: Record<string, number>; readonly wallMs: number };
}

async function measureSize(world: World, events: number, seedingSeconds: number, subjectHash: string, expected: ReadonlyMap<string, PlatformEvent>): Promise<SizeResult> {
  const runs: RequestRun[] = [];
  // One more run than measured: the first warms the JIT and the connection, and its wall time is left out.
  for (let i = 0; i <= REQUEST_RUNS; i++) runs.push(await accessRequest(world, expected, `${events}-${i}`));
  const first = runs[0].counts;
  if (runs.some((r) => r.counts.itemsRead !== first.itemsRead || sumRequests(r.counts) !== sumRequests(first))) {
    throw new Error(`the access request read different amounts on repeated runs: ${runs.map((r) => r.counts.itemsRead).join(', ')}`);
  }
  const scan = await scanForSubject(world, subjectHash, expected, String(events));
  const wallMs = runs.slice(1).map((r) => round(r.wallMs, 1));
  return {
    events,
    seedingSeconds: round(seedingSeconds, 1),
    table: await tableComposition(world),
    request: { itemsRead: first.itemsRead, itemsReturned: first.itemsReturned, requests: first.requests, wallMs, medianWallMs: median(wallMs) },
    scan: { itemsRead: scan.counts.itemsRead, itemsReturned: scan.counts.itemsReturned, requests: scan.counts.requests, wallMs: round(scan.wallMs, 1) },
  };
}

const label = (events: number) => (events >= 1_000_000 ? `${events / 1_000_000}M` : `${events / 1_000}k`);
const byOperation = (requests: Record<string, number>) =>
  Object.entries(requests)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');

function figuresOf(results: readonly SizeResult[]): Figure[] {
  const small = results[0];
  const figures: Figure[] = [];
  for (const large of results.slice(1)) {
    const same = large.request.itemsRead === small.request.itemsRead;
    figures.push({
      section: SECTION,
      name: `items an access request reads, ${SUBJECT_RECORDS}-record subject, ${label(large.events)} events (${byOperation(large.request.requests)})`,
      value: large.request.itemsRead,
      unit: 'items',
      baseline: { name: `same request, ${label(small.events)} events`, value: small.request.itemsRead },
      goal: { text: 'independent of corpus size (1.0x)', met: same },
    });
    figures.push({
      section: SECTION,
      name: `items a full-table Scan reads to find the subject without the index, ${label(large.events)} events`,
      value: large.scan.itemsRead,
      unit: 'items',
      baseline: { name: `same Scan, ${label(small.events)} events`, value: small.scan.itemsRead },
      note: 'grows with the corpus',
    });
    figures.push({
      section: SECTION,
      name: `access request wall time, ${label(large.events)} events (median of ${REQUEST_RUNS})`,
      value: large.request.medianWallMs,
      unit: 'ms',
      baseline: { name: `same request, ${label(small.events)} events`, value: small.request.medianWallMs },
    });
  }
  for (const size of results) {
    figures.push({
      section: SECTION,
      name: `items read: access request vs Scan baseline, ${label(size.events)} events`,
      value: size.request.itemsRead,
      unit: 'items',
      baseline: { name: 'full-table Scan', value: size.scan.itemsRead },
    });
    figures.push({
      section: SECTION,
      name: `wall time: access request (locate, export, manifest) vs Scan that only finds the records, ${label(size.events)} events`,
      value: size.request.medianWallMs,
      unit: 'ms',
      baseline: { name: 'full-table Scan', value: size.scan.wallMs },
    });
  }
  return figures;
}

/** X's records and a few thousand others, through the real processor; the filler's template is one of the others. */
async function seedProcessed(world: World, subjectHash: string): Promise<{ expected: ReadonlyMap<string, PlatformEvent>; template: StoredEvent }> {
  const tenantId = world.tenant.tenantId;
  const x = subjectRecords(tenantId, new Date());
  await processAll(world, x.records);
  const others = streamRecords(PROCESSED_OTHERS, [tenantId]);
  await processAll(world, others);
  const templateId = (JSON.parse(Buffer.from(others[0].data).toString('utf8')) as StreamEnvelope).eventId;
  const [template] = await world.store.getEvents(tenantId, [templateId]);
  if (!template || !('inline' in template.body)) throw new Error('the filler template is not a processed event with an inline body');
  const indexed = (await world.store.subjectEventIds(tenantId, subjectHash)).length;
  if (indexed !== SUBJECT_RECORDS) throw new Error(`X's records were not indexed as expected: ${indexed} of ${SUBJECT_RECORDS}`);
  return { expected: new Map(x.envelopes.map((e) => [e.eventId, e.event])), template };
}

async function openWorld(plane: ControlPlane, db: DynamoDBDocumentClient, table: string, signerFile: string): Promise<World> {
  const [tenantId] = await createTenants(plane, 1, 'bench-dsr');
  const tenant = await plane.directory.getTenant(tenantId);
  if (!tenant) throw new Error('the benchmark tenant was not created');
  const subjectKey = await plane.crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
  return { plane, db, table, store: new DynamoEventStore(db, table), payloads: new MemoryPayloadStore(), tenant, subjectKey, signerFile };
}

export async function subjectRequestSection(): Promise<{ figures: Figure[]; details: unknown; implications: string[] }> {
  const emulators = await startEmulators('lumiqo-bench-dsr');
  const plane = await localControlPlane();
  const signerDir = await mkdtemp(join(tmpdir(), 'lumiqo-bench-signer-'));
  try {
    const db = createDocumentClient(emulators.clients);
    const world = await openWorld(plane, db, emulators.tables.tenantData, join(signerDir, 'signer.pem'));
    const subjectHash = hashSubject(world.subjectKey, 'email', SUBJECT_EMAIL);
    const seedStarted = Date.now();
    const { expected, template } = await seedProcessed(world, subjectHash);

    const results: SizeResult[] = [];
    /** Seeding times, for the details; the caveats qualify the figures, so they go to the implications too. */
    const notes: string[] = [];
    const caveats: string[] = [];
    let stored = SUBJECT_RECORDS + PROCESSED_OTHERS;
    const sizes: number[] = [...SIZES];
    for (let s = 0; s < sizes.length; s++) {
      const size = sizes[s];
      const { wallMs } = await timed(() => addFiller(world, template, size - stored, stored));
      const fillerPerSecond = (size - stored) / (wallMs / 1000);
      const seedingSeconds = s === 0 ? (Date.now() - seedStarted) / 1000 : wallMs / 1000;
      stored = size;
      const grew = s === 0 ? `seeding ${label(size)} events` : `growing the corpus from ${label(sizes[s - 1])} to ${label(size)} events`;
      notes.push(`${grew} took ${round(seedingSeconds)} s in dynalite (${round(fillerPerSecond)} filler events/s)`);
      if (size === 100_000 && seedingSeconds > SLOW_SEEDING_S) caveats.push(`${grew} took ${round(seedingSeconds)} s in dynalite: over ${SLOW_SEEDING_S} s, kept anyway`);
      results.push(await measureSize(world, size, seedingSeconds, subjectHash, expected));
      if (s === sizes.length - 1 && size < OPTIONAL_SIZE) {
        const estimate = (OPTIONAL_SIZE - size) / fillerPerSecond;
        if (estimate < OPTIONAL_SIZE_BUDGET_S) sizes.push(OPTIONAL_SIZE);
        else caveats.push(`1M events not tried: seeding would take ~${round(estimate)} s at the rate measured (${round(fillerPerSecond)} events/s), over the ${OPTIONAL_SIZE_BUDGET_S} s budget`);
      }
    }

    const details = {
      subjectRecords: SUBJECT_RECORDS,
      processedRecords: SUBJECT_RECORDS + PROCESSED_OTHERS,
      fillerSubjectsPerEvent: 2,
      fillerCustomers: FILLER_CUSTOMERS,
      requestRuns: REQUEST_RUNS,
      sizes: results,
      notes: [...notes, ...caveats],
    };
    const small = results[0];
    const large = results[results.length - 1];
    const implications = [
      `An access request for a subject with ${SUBJECT_RECORDS} records read ${large.request.itemsRead} items at ${label(large.events)} events and ${small.request.itemsRead} at ${label(small.events)}; ` +
        `finding the same records without the subject index reads the whole table (${large.scan.itemsRead.toLocaleString('en-US')} items at ${label(large.events)}).`,
      ...caveats,
    ];
    return { figures: figuresOf(results), details, implications };
  } finally {
    await rm(signerDir, { recursive: true, force: true });
    await plane.close();
    await emulators.close();
  }
}
