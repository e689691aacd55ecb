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
 *
 * Issue 12: the corpus reaches 1M events. The filler is written straight into dynalite's storage
 * (dynalite-seed.ts), as the store's own wire items (`eventWireItem`, `subjectWireItem`, what
 * `DynamoEventStore.putEvents` sends) laid out as dynalite's PutItem lays them out, GSI entries included; through
 * the API it went at ~200–1,500 events/s. Checks fail the section if the direct seeding is not faithful: the first
 * filler event goes through `putEvents` and every key the seeder would write for it must hold what the seeder would
 * write; after each size, sample filler events read back through DynamoEventStore (by id, from both event indexes,
 * from the subject index) must be exactly the events meant, and the table's items counted in dynalite's key space
 * must be what the Scan baseline read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BuildMiddleware } from '@smithy/types';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { LocalDocumentSigner } from '../../lambdas/adapters/document-signers';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { MemoryDocumentStore, MemoryPayloadStore, MemoryPrivacyRequestStore, RecordingWorkflowStarter } from '../../lambdas/adapters/memory';
import { eventWireItem, subjectWireItem, type WireItem } from '../../lambdas/adapters/event-items';
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
import { DynaliteSeeder } from './dynalite-seed';
import { KINESIS_BATCH_SIZE } from './processor';
import type { Figure } from './report';
import { chunk, median, round, timed } from './stats';
import { apiCallEvent, createTenants, localControlPlane, streamRecords, stripeInvoicePaid, WEBHOOK_SOURCE, type ControlPlane } from './workload';

const SECTION = '8 data-subject requests';
/** Events in the tenant at each measurement; the corpus grows from one size to the next. */
const SIZES = [10_000, 100_000, 1_000_000] as const;
/** Memory asked of the machine before a size is seeded, over what the previous size's growth says it takes. */
const MEMORY_MARGIN = 1.25;
/**
 * Seeding a size for longer than this is reported as a caveat (the figures stand): 100k to 1M took 308–352 s on 2
 * loaded cores, and the whole section should stay under 10 minutes.
 */
const SLOW_SEEDING_S = 450;
/** Subject X's records: the same at every size. */
const SUBJECT_RECORDS = 25;
/** Records of other subjects that go through the real processor (500 customers of the workload). */
const PROCESSED_OTHERS = 2_000;
/** Filler events per direct write: five level puts each (the event, its two GSI entries, two subject entries). */
const FILLER_GROUP = 2_000;
/** Distinct filler customers: each filler event names one by email and by user id. */
const FILLER_CUSTOMERS = 10_000;
/** Measured request runs per size, after one warm-up; the wall time is their median (the items read must be the same each time). */
const REQUEST_RUNS = 5;
const MAX_LOOP = 10_000;

/** A phase of the section, on stderr: at 1M it runs for minutes. */
const progress = (message: string) => {
  const { heapUsed, rss } = process.memoryUsage();
  process.stderr.write(`  [8] ${new Date().toISOString().slice(11, 19)} ${message} (heap ${Math.round(heapUsed / 2 ** 20)} MiB, rss ${Math.round(rss / 2 ** 20)} MiB)\n`);
};

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

/** The filler written so far: its template, where it goes, and what the read-back check expects. */
interface Filler {
  readonly template: StoredEvent;
  readonly seeder: DynaliteSeeder;
  /** Filler events per filler customer (each has its two subject hashes). */
  readonly perCustomer: Map<number, number>;
  readonly hashes: Map<number, readonly string[]>;
}

/** Filler event n: a clone of the template with a fresh id, naming filler customer n mod FILLER_CUSTOMERS. */
function fillerEvent(world: World, filler: Filler, n: number): { event: StoredEvent; entries: SubjectIndexEntry[] } {
  const customer = n % FILLER_CUSTOMERS;
  let subjects = filler.hashes.get(customer);
  if (!subjects) {
    subjects = [hashSubject(world.subjectKey, 'email', `filler${customer}@example.com`), hashSubject(world.subjectKey, 'user_id', `usr_filler_${customer}`)];
    filler.hashes.set(customer, subjects);
  }
  filler.perCustomer.set(customer, (filler.perCustomer.get(customer) ?? 0) + 1);
  const { template } = filler;
  const at = new Date(Date.parse(template.timestamp) - (n + 1) * 1_000);
  const eventId = newId('ev', at);
  const event: StoredEvent = { ...template, eventId, timestamp: at.toISOString(), receivedAt: at.toISOString(), subjects: [...subjects] };
  return { event, entries: subjects.map((subjectHash) => ({ tenantId: template.tenantId, subjectHash, eventId, expiresAt: template.expiresAt })) };
}

/** What DynamoEventStore.putEvents sends for the events and entries. */
const wireItems = (events: readonly StoredEvent[], entries: readonly SubjectIndexEntry[]): WireItem[] => [...events.map(eventWireItem), ...entries.map(subjectWireItem)];

/**
 * The first filler event, through DynamoEventStore.putEvents (SDK, HTTP, dynalite's PutItem); then every key the
 * seeder would write for it must hold exactly what the seeder would write there. Fails the section otherwise.
 */
async function checkSeederLayout(world: World, filler: Filler, n: number): Promise<void> {
  const { event, entries } = fillerEvent(world, filler, n);
  await world.store.putEvents([event], entries);
  const differing = await filler.seeder.sameAsPut(wireItems([event], entries));
  if (differing.length > 0) throw new Error(`direct seeding: ${differing.length} of the keys a put wrote hold something else than the seeder writes (${differing.join(', ')})`);
}

/** Filler events [offset, offset + count), written straight into dynalite; returns the samples to read back. */
async function addFiller(world: World, filler: Filler, count: number, offset: number): Promise<StoredEvent[]> {
  const sampleAt = new Set([offset, offset + Math.floor(count / 2), offset + count - 1]);
  const samples: StoredEvent[] = [];
  for (let from = offset; from < offset + count; from += FILLER_GROUP) {
    const events: StoredEvent[] = [];
    const entries: SubjectIndexEntry[] = [];
    for (let n = from; n < Math.min(from + FILLER_GROUP, offset + count); n++) {
      const made = fillerEvent(world, filler, n);
      events.push(made.event);
      entries.push(...made.entries);
      if (sampleAt.has(n)) samples.push(made.event);
    }
    await filler.seeder.put(wireItems(events, entries));
  }
  return samples;
}

/**
 * The seeded filler, read back through DynamoEventStore as the API reads: each sample by id, from the by-kind and
 * by-name indexes (bodies fetched by key), and its subjects' index entries, which must count every filler event of
 * its customer so far. Returns the checks made; throws at the first that fails.
 */
async function checkSeeded(world: World, filler: Filler, samples: readonly StoredEvent[]): Promise<number> {
  const tenantId = world.tenant.tenantId;
  const fail = (what: string, sample: StoredEvent) => new Error(`direct seeding: filler event ${sample.eventId} ${what}`);
  let checks = 0;
  const byId = new Map((await world.store.getEvents(tenantId, samples.map((e) => e.eventId))).map((e) => [e.eventId, e]));
  for (const sample of samples) {
    if (!isDeepStrictEqual(byId.get(sample.eventId), sample)) throw fail('does not read back by id as written', sample);
    checks++;
    for (const query of [{ kind: sample.kind }, { kind: sample.kind, name: sample.name }]) {
      const page = await world.store.queryEvents({ tenantId, ...query, from: sample.timestamp, to: sample.timestamp, limit: 25 });
      if (!isDeepStrictEqual(page.items.find((e) => e.eventId === sample.eventId), sample)) throw fail(`is not found as written by ${Object.keys(query).join(' and ')}`, sample);
      checks++;
    }
    const customer = [...filler.hashes].find(([, hashes]) => hashes[0] === sample.subjects[0])?.[0];
    const expected = customer === undefined ? undefined : filler.perCustomer.get(customer);
    for (const subjectHash of sample.subjects) {
      const ids = await world.store.subjectEventIds(tenantId, subjectHash);
      if (!ids.includes(sample.eventId) || ids.length !== expected) throw fail(`has ${ids.length} subject index entries for its subject, not ${String(expected)}`, sample);
      checks++;
    }
  }
  return checks;
}

/**
 * The one tenant's items in the table, by kind of item: what the Scan baseline has to read through. Counted from
 * dynalite's key space (a second full Scan took as long as the baseline at 1M); measureSize holds the total equal
 * to the Scan's ScannedCount.
 */
async function tableComposition(seeder: DynaliteSeeder): Promise<Record<string, number>> {
  return seeder.countItems((pk) => {
    const kind = /#(EV|S|ROLLUP)#?/.exec(pk)?.[1] ?? 'other';
    return { EV: 'events', S: 'subjectIndexEntries', ROLLUP: 'rollups' }[kind] ?? 'other';
  });
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

async function measureSize(world: World, seeder: DynaliteSeeder, events: number, seedingSeconds: number, subjectHash: string, expected: ReadonlyMap<string, PlatformEvent>): Promise<SizeResult> {
  const runs: RequestRun[] = [];
  // One more run than measured: the first warms the JIT and the connection, and its wall time is left out.
  for (let i = 0; i <= REQUEST_RUNS; i++) runs.push(await accessRequest(world, expected, `${events}-${i}`));
  const first = runs[0].counts;
  if (runs.some((r) => r.counts.itemsRead !== first.itemsRead || sumRequests(r.counts) !== sumRequests(first))) {
    throw new Error(`the access request read different amounts on repeated runs: ${runs.map((r) => r.counts.itemsRead).join(', ')}`);
  }
  progress(`access request: ${first.itemsRead} items read; full-table Scan`);
  const scan = await scanForSubject(world, subjectHash, expected, String(events));
  progress(`Scan: ${scan.counts.itemsRead} items in ${round(scan.wallMs / 1000, 1)} s`);
  const table = await tableComposition(seeder);
  const items = Object.values(table).reduce((sum, n) => sum + n, 0);
  if (items !== scan.counts.itemsRead) throw new Error(`the Scan read ${scan.counts.itemsRead} items, but the table holds ${items}`);
  const wallMs = runs.slice(1).map((r) => round(r.wallMs, 1));
  return {
    events,
    seedingSeconds: round(seedingSeconds, 1),
    table,
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
    const filler: Filler = { template, seeder: await DynaliteSeeder.open(emulators.dynamoStore, world.table), perCustomer: new Map(), hashes: new Map() };
    let stored = SUBJECT_RECORDS + PROCESSED_OTHERS;
    await checkSeederLayout(world, filler, stored);
    stored += 1;
    let seedingChecks = 0;
    let bytesPerEvent: number | undefined;
    for (let s = 0; s < SIZES.length; s++) {
      const size = SIZES[s];
      // dynalite holds the corpus in this process's memory (~8 KB an event here): a size the machine cannot hold is left out.
      const needed = bytesPerEvent === undefined ? 0 : bytesPerEvent * (size - stored) * MEMORY_MARGIN;
      if (needed > freemem()) {
        caveats.push(`${label(size)} events not tried: seeding would need ~${round(needed / 2 ** 30, 1)} GiB more memory at the ${round((bytesPerEvent ?? 0) / 1024, 1)} KiB an event measured, ${round(freemem() / 2 ** 30, 1)} GiB free`);
        break;
      }
      progress(`seeding filler up to ${label(size)} events`);
      const rssBefore = process.memoryUsage().rss;
      const { result: samples, wallMs } = await timed(() => addFiller(world, filler, size - stored, stored));
      bytesPerEvent = Math.max(0, process.memoryUsage().rss - rssBefore) / (size - stored);
      const fillerPerSecond = (size - stored) / (wallMs / 1000);
      const seedingSeconds = s === 0 ? (Date.now() - seedStarted) / 1000 : wallMs / 1000;
      stored = size;
      seedingChecks += await checkSeeded(world, filler, samples);
      const grew = s === 0 ? `seeding ${label(size)} events (the processed records included)` : `growing the corpus from ${label(SIZES[s - 1])} to ${label(size)} events`;
      notes.push(`${grew} took ${round(seedingSeconds, 1)} s, filler written straight into dynalite at ${round(fillerPerSecond)} events/s`);
      if (seedingSeconds > SLOW_SEEDING_S) caveats.push(`${grew} took ${round(seedingSeconds)} s: over ${SLOW_SEEDING_S} s, kept anyway`);
      progress(`seeded in ${round(wallMs / 1000, 1)} s (${round(fillerPerSecond)} filler events/s); measuring`);
      results.push(await measureSize(world, filler.seeder, size, seedingSeconds, subjectHash, expected));
    }
    notes.push(`direct seeding checked: every key a put of the first filler event wrote (its item, GSI entries and subject entries) holds what the seeder writes; ${seedingChecks} read-backs through DynamoEventStore of sample filler events (first, middle, last of each size) matched`);

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
