/**
 * The black-box view (issue 11, R-DSR-2, R-TERM-4): after an erasure and after a termination, every store the
 * platform controls is read raw in the emulators (every table and every index by Scan, every object version of every
 * bucket, the whole stream from its trim horizon, the dead-letter queue) and holds nothing of the subject or tenant
 * outside what the signed deletion record or certificate names as remaining, each with its expiry.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import { S3ObjectVersions } from '../../lambdas/adapters/s3-versions';
import type { RemainingCopy, SignedDeletionDocument, SubjectDeletionRecord, TenantDeletionCertificate } from '../../lambdas/domain/deletion-records';
import { dataKeys } from '../../lambdas/domain/keys';
import type { PrivacyRequestView } from '../../lambdas/domain/privacy-requests';
import type { TerminationView } from '../../lambdas/domain/termination';
import { localCallCheck } from '../deployed/allowed-calls';
import { TEST_PLATFORM } from '../support/local-platform';
import { eventually, request } from './http';

let local: LocalPlatform;
let aws: AwsClients;
const calls = localCallCheck();

const ANN = 'ann.blackbox@example.com';
const BOB = 'bob.blackbox@example.com';
const admin = (path: string, body?: object) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, ...(body ? { body } : {}) });

/** Every item of every table, and of every index of it, raw. */
async function allItems(): Promise<{ table: string; index?: string; item: Record<string, unknown> }[]> {
  const found: { table: string; index?: string; item: Record<string, unknown> }[] = [];
  for (const table of local.deployment.tables) {
    const indexes = [undefined, ...(table.create.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName!)];
    for (const index of indexes) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await aws.dynamo.send(new ScanCommand({ TableName: table.name, ...(index ? { IndexName: index } : {}), ...(start ? { ExclusiveStartKey: start } : {}) }));
        for (const item of page.Items ?? []) found.push({ table: table.name, ...(index ? { index } : {}), item });
        start = page.LastEvaluatedKey;
      } while (start);
    }
  }
  return found;
}

/**
 * Every version of every object in every bucket, with its bytes: by the adapters' own lister (ListObjectVersions;
 * s3rver keeps no versions and answers 405, so it lists every object instead).
 */
async function allObjectVersions(): Promise<{ bucket: string; key: string; body: string }[]> {
  const found: { bucket: string; key: string; body: string }[] = [];
  for (const bucket of local.deployment.buckets) {
    for await (const page of new S3ObjectVersions(aws.s3, bucket).pages('')) {
      for (const version of page) {
        const versionId = version.VersionId && version.VersionId !== 'null' ? { VersionId: version.VersionId } : {};
        const object = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: version.Key!, ...versionId })).catch(() => undefined);
        found.push({ bucket, key: version.Key!, body: object?.Body ? Buffer.from(await object.Body.transformToByteArray()).toString('latin1') : '' });
      }
    }
  }
  return found;
}

/** Every record of the event stream from its trim horizon: its arrival and its text. */
async function allStreamRecords(): Promise<{ arrivedAt: Date; text: string }[]> {
  const found: { arrivedAt: Date; text: string }[] = [];
  const { Shards } = await aws.kinesis.send(new ListShardsCommand({ StreamName: local.deployment.names.eventStream }));
  for (const shard of Shards ?? []) {
    let { ShardIterator: iterator } = await aws.kinesis.send(new GetShardIteratorCommand({ StreamName: local.deployment.names.eventStream, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    for (let page = 0; iterator && page < 100; page++) {
      const answer = await aws.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const record of answer.Records ?? []) found.push({ arrivedAt: record.ApproximateArrivalTimestamp!, text: Buffer.from(record.Data!).toString('utf8') });
      if ((answer.Records ?? []).length === 0) break;
      iterator = answer.NextShardIterator;
    }
  }
  return found;
}

const copy = (copies: readonly RemainingCopy[] | undefined, store: string) => copies?.find((c) => c.store === store);

async function seed(tenantId: string): Promise<{ apiKey: string; ann: string[]; bob: string[] }> {
  expect((await admin('/tenants', { tenantId, name: `Tenant ${tenantId}` })).status).toBe(201);
  const apiKey = String((await admin(`/tenants/${tenantId}/api-keys`, { scopes: ['ingest', 'read', 'privacy'] })).body.apiKey);
  const source = await admin(`/tenants/${tenantId}/webhook-sources`, { scheme: 'standard', sourceId: 'crm' });
  const now = new Date().toISOString();
  const events = [
    { type: 'event', name: `welcome ${ANN}`, timestamp: now, properties: { email: ANN } },
    // The route names the subject: it must not survive in any clear attribute or rollup.
    { type: 'api_call', method: 'GET', route: `/users/${ANN}/orders/48151623`, status: 200, latencyMs: 5, timestamp: now, payload: { email: ANN, bio: 'x'.repeat(40_000) }, properties: {} },
    { type: 'event', name: 'signup', timestamp: now, properties: { email: BOB } },
  ];
  const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKey, body: { events } });
  expect(answer.status).toBe(202);
  const payload = JSON.stringify({ type: 'customer.updated', timestamp: now, data: { customer: { email: ANN, phone: '+1 415 555 0100' } } });
  const id = `msg_${randomUUID()}`;
  const hook = await request<{ eventId: string }>(`${local.url}${source.body.path}`, {
    body: payload,
    headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': new Webhook(String(source.body.secret)).sign(id, new Date(), payload) },
  });
  expect(hook.status).toBe(202);
  const ids = [...answer.body.eventIds, hook.body.eventId];
  for (const eventId of ids) {
    await eventually(async () => ((await request(`${local.url}/v1/events/${eventId}`, { token: apiKey })).status === 200 ? true : undefined), `event ${eventId}`);
  }
  return { apiKey, ann: [ids[0], ids[1], ids[3]], bob: [ids[2]] };
}

beforeAll(async () => {
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    demo: false,
    aroundInvocation: calls.aroundInvocation,
    workflows: { waitOverridesMs: { AwaitPropagation: 0, AwaitStreamDrain: 0, ExportWindow: 0 }, retryIntervalMs: 0 },
  });
  aws = createAwsClients(local.clients);
}, 120_000);

afterAll(async () => local?.stop());

it('after an erasure: nothing of the subject anywhere, raw, but the copies its deletion record names, each before its expiry', async () => {
  const { apiKey, ann, bob } = await seed('bbox-erase');
  // A record the processor cannot read, mentioning the subject: it is dead-lettered as a pointer, never as bytes.
  const poison = await aws.kinesis.send(new PutRecordCommand({ StreamName: local.deployment.names.eventStream, PartitionKey: 'bbox-erase', Data: Buffer.from(`not json: ${ANN}`) }));
  await eventually(async () => (local.deadLetters.messages().some((m) => m.body.recordId === poison.SequenceNumber) ? true : undefined), 'the dead letter');

  const opened = await request<PrivacyRequestView>(`${local.url}/v1/privacy/requests`, { token: apiKey, body: { type: 'erasure', subject: { kind: 'email', value: ANN } } });
  expect(opened.status).toBe(202);
  const done = await eventually(async () => {
    const { body } = await request<PrivacyRequestView>(`${local.url}/v1/privacy/requests/${opened.body.requestId}`, { token: apiKey });
    if (body.status === 'failed') throw new Error('erasure failed');
    return body.status === 'completed' ? body : undefined;
  }, 'the erasure', 60_000);
  const record = (done.results!.deletionRecord as SignedDeletionDocument<SubjectDeletionRecord>).document;
  const hash = done.subjectHash;
  const checkedAt = new Date();

  // Tables, every index: no clear identifier anywhere; the erased events and their index entries are gone; the hash
  // only where the record says it stays (the request, its audit entries, the erasure marker).
  const items = await allItems();
  for (const { item } of items) expect(JSON.stringify(item).toLowerCase()).not.toContain('ann.blackbox');
  // The usage ledger keeps a mark per stored event (its id, day, kind and size; no content; in pages) for billing: the record
  // names that copy, and every mark expires by its expiresBy (R-BILL-2, R-TERM-6).
  const marksCopy = copy(record.remainingCopies, 'usage-ledger')!;
  expect(marksCopy).toBeDefined();
  const isMark = (item: Record<string, unknown>) => String(item.pk).startsWith('MARK#bbox-erase#');
  for (const { item } of items.filter(({ item }) => isMark(item))) expect(Number(item.expiresAt) * 1000).toBeLessThanOrEqual(Date.parse(marksCopy.expiresBy));
  expect(items.some(({ item }) => isMark(item) && ann.some((id) => JSON.stringify(item).includes(id)))).toBe(true);
  for (const { item } of items.filter(({ item }) => !isMark(item))) for (const id of ann) expect(JSON.stringify(item)).not.toContain(id);
  const withHash = items.filter(({ item }) => JSON.stringify(item).includes(hash)).map(({ item }) => String(item.pk));
  expect(withHash.length).toBeGreaterThan(0);
  for (const pk of withHash) expect(pk).toMatch(/^T#bbox-erase#(PRIVACY|ERASED|AUDIT#\d{4}-\d{2})$/);
  expect(items.some(({ item }) => JSON.stringify(item).includes(bob[0]))).toBe(true);
  // Rollups hold templated series only.
  const series = items.filter(({ item }) => typeof item.series === 'string').map(({ item }) => String(item.series));
  expect(series).toEqual(expect.arrayContaining(['api:GET /users/:email/orders/:id', 'event:welcome :email']));

  // Buckets, every version: no object of the erased events, no export of the subject, nothing in clear.
  const objects = await allObjectVersions();
  expect(objects.some((o) => o.key === `deletion-records/bbox-erase/${done.requestId}.json`)).toBe(true);
  for (const { key } of objects) for (const id of ann) expect(key).not.toContain(id);
  for (const { key, body } of objects.filter((o) => !o.key.startsWith('deletion-records/'))) {
    expect([key, body.includes(ANN)]).toEqual([key, false]);
    expect(key).not.toContain(hash);
  }

  // The dead-letter queue: pointers only.
  const letters = local.deadLetters.messages();
  for (const { body } of letters) expect(JSON.stringify(body)).not.toContain('ann.blackbox');

  // The stream still holds the subject's records in clear: the deletion record names that copy, and its expiry
  // covers every one of them (accepted before the request, gone by expiresBy).
  const stream = (await allStreamRecords()).filter((r) => r.text.includes(ANN));
  expect(stream.length).toBeGreaterThan(0);
  const streamCopy = copy(record.remainingCopies, 'event-stream')!;
  expect(streamCopy).toBeDefined();
  for (const r of stream) {
    expect(r.arrivedAt.getTime()).toBeLessThanOrEqual(Date.parse(record.receivedAt) + 1000);
    expect(r.arrivedAt.getTime() + 24 * 3600_000).toBeLessThanOrEqual(Date.parse(streamCopy.expiresBy) + 1000);
  }
  for (const store of ['table-pitr', 'table-backups', 'dead-letter-queue']) expect(Date.parse(copy(record.remainingCopies, store)!.expiresBy)).toBeGreaterThan(checkedAt.getTime());
}, 120_000);

it('after a termination: nothing of the tenant anywhere, raw, but its tombstone, audit, ledger and what the certificate names', async () => {
  const { ann } = await seed('bbox-term');
  const started = await admin('/tenants/bbox-term/termination', { election: 'immediate' });
  expect(started.status).toBe(202);
  const status = await eventually(async () => {
    const { body } = await request<TerminationView>(`${local.url}/v1/admin/tenants/bbox-term/termination`, { token: local.adminToken });
    if (body.status === 'failed') throw new Error('termination failed');
    return body.status === 'completed' ? body : undefined;
  }, 'the termination', 90_000);
  const certificate = (status.certificate as SignedDeletionDocument<TenantDeletionCertificate>).document;

  const items = await allItems();
  const ofTenant = items.filter(({ item }) => JSON.stringify(item).includes('bbox-term'));
  // Kept on purpose: the tombstone and the termination record, the audit log, the billing ledger (R-TERM-6).
  // and the usage marks with their day index, named in the certificate with their expiry (R-BILL-2).
  const kept = new Set(ofTenant.map(({ item }) => (item.pk === 'T#bbox-term#TENANT' ? `${String(item.pk)} ${String(item.sk)}` : String(item.pk).replace(/#\d{4}-\d{2}(-\d{2})?$/, ''))));
  for (const entry of kept) expect(entry).toMatch(/^(T#bbox-term#TENANT (TENANT|TERMINATION)|T#bbox-term#AUDIT|LEDGER#bbox-term|MARK#bbox-term|MARKS)$/);
  const marksCopy = copy(certificate.remainingCopies, 'usage-ledger')!;
  const isMark = (item: Record<string, unknown>) => /^MARKS?#/.test(String(item.pk));
  for (const { item } of ofTenant.filter(({ item }) => isMark(item))) expect(Number(item.expiresAt) * 1000).toBeLessThanOrEqual(Date.parse(marksCopy.expiresBy));
  for (const { item } of items) expect(JSON.stringify(item).toLowerCase()).not.toContain('ann.blackbox');
  for (const { item } of items.filter(({ item }) => !isMark(item))) for (const id of ann) expect(JSON.stringify(item)).not.toContain(id);
  // The tombstone and the termination record expire 90 days after the termination (R-RET-2).
  const tombstone = ofTenant.find(({ index, item }) => !index && item.pk === 'T#bbox-term#TENANT' && item.sk === 'TENANT')!.item;
  expect(Number(tombstone.expiresAt)).toBeGreaterThan(Date.now() / 1000 + 89 * 86_400);

  const objects = await allObjectVersions();
  expect(objects.filter((o) => o.key.startsWith('tenants/bbox-term/'))).toEqual([]);

  const stream = (await allStreamRecords()).filter((r) => r.text.includes('"bbox-term"'));
  expect(stream.length).toBeGreaterThan(0);
  const streamCopy = copy(certificate.remainingCopies, 'event-stream')!;
  for (const r of stream) expect(r.arrivedAt.getTime() + 24 * 3600_000).toBeLessThanOrEqual(Date.parse(streamCopy.expiresBy) + 1000);
  expect(copy(certificate.remainingCopies, 'table-pitr')).toMatchObject({ unreadableFrom: certificate.keyMaterial.unrecoverableAfter });
}, 150_000);

it('R-RET-1: an expired event takes its S3 payload with it (local mode: the TTL sweeper, as the lifecycle class does in AWS)', async () => {
  expect((await admin('/tenants', { tenantId: 'bbox-ttl', name: 'TTL' })).status).toBe(201);
  const apiKey = String((await admin('/tenants/bbox-ttl/api-keys', { scopes: ['ingest', 'read'] })).body.apiKey);
  const big = { type: 'event', name: 'upload', timestamp: new Date().toISOString(), properties: { blob: 'y'.repeat(60_000) } };
  const answer = await request<{ eventIds: string[] }>(`${local.url}/v1/events`, { token: apiKey, body: { events: [big] } });
  const [id] = answer.body.eventIds;
  await eventually(async () => ((await request(`${local.url}/v1/events/${id}`, { token: apiKey })).status === 200 ? true : undefined), 'the event');
  expect(await local.platform.payloads.countPrefix('tenants/bbox-ttl/')).toBe(1);

  await aws.dynamo.send(new UpdateCommand({ TableName: local.deployment.names.dataTable, Key: dataKeys.event('bbox-ttl', id), UpdateExpression: 'SET expiresAt = :past', ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 60 } }));
  await local.ttlSweeper.sweepOnce();

  expect((await request(`${local.url}/v1/events/${id}`, { token: apiKey })).status).toBe(404);
  expect(await local.platform.payloads.countPrefix('tenants/bbox-ttl/')).toBe(0);
});

test('every AWS call the functions made here is allowed by their synthesized roles', () => {
  expect(calls.functions().length).toBeGreaterThan(0);
  expect(calls.denied()).toEqual([]);
});
