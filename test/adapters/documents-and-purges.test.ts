/**
 * DocumentStore (exports and records buckets) and the PayloadStore's purge side, against s3rver and the in-memory
 * twins. s3rver has no versioning: this exercises the ListObjectsV2 fallback; the versioned path is tested with a
 * mocked S3 in privacy-mocks.test.ts.
 */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import { MemoryDocumentStore, MemoryPayloadStore } from '../../lambdas/adapters/memory';
import { S3DocumentStore } from '../../lambdas/adapters/s3-document-store';
import { S3PayloadStore } from '../../lambdas/adapters/s3-payload-store';
import type { DocumentStore, PayloadStore } from '../../lambdas/domain/ports';
import { objectKeys, tenantObjectPrefix } from '../../lambdas/domain/keys';
import { startEmulators, type Emulators } from '../support/emulators';

const text = (s: string) => new TextEncoder().encode(s);
const DOCUMENTS_BUCKET = 'lumiqo-test-exports';

let emulators: Emulators;
let s3: S3Client;
beforeAll(async () => {
  emulators = await startEmulators();
  s3 = createS3Client(emulators.clients);
  await s3.send(new CreateBucketCommand({ Bucket: DOCUMENTS_BUCKET }));
});
afterAll(async () => {
  s3.destroy();
  await emulators.close();
});

const clock = { now: () => new Date('2026-03-01T10:00:00Z') };
const documentStores: [string, () => DocumentStore][] = [
  ['s3rver', () => new S3DocumentStore(s3, DOCUMENTS_BUCKET)],
  ['memory', () => new MemoryDocumentStore(DOCUMENTS_BUCKET, clock)],
];

describe.each(documentStores)('DocumentStore (%s)', (_name, make) => {
  it('R-DSR-1: puts, gets and lists documents under a prefix, in key order', async () => {
    const store = make();
    const part = (n: number) => objectKeys.subjectExport('doc-a', 'h1', 'dsr_1', `part-0000${n}.jsonl`);
    await store.put(part(2), text('{"b":2}\n'), 'application/x-ndjson');
    await store.put(part(1), text('{"a":1}\n'), 'application/x-ndjson');
    await store.put(objectKeys.subjectExport('doc-a', 'h2', 'dsr_2', 'part-00001.jsonl'), text('x'), 'application/x-ndjson');
    await store.put(objectKeys.deletionRecord('doc-a', 'dsr_1'), text('{}'), 'application/json');

    expect(await store.get(part(1))).toEqual(text('{"a":1}\n'));
    expect(await store.get(part(9))).toBeUndefined();
    expect(await store.list(objectKeys.subjectExports('doc-a', 'h1'))).toEqual([part(1), part(2)]);
    expect(await store.list('deletion-records/doc-a/')).toEqual([objectKeys.deletionRecord('doc-a', 'dsr_1')]);
    expect(await store.list(objectKeys.subjectExports('doc-b', 'h1'))).toEqual([]);
  });

  it('R-DSR-2: deletePrefix removes one subject’s exports and nothing beside them', async () => {
    const store = make();
    const mine = [1, 2, 3].map((n) => objectKeys.subjectExport('doc-c', 'h1', `dsr_${n}`, 'manifest.json'));
    const neighbour = objectKeys.subjectExport('doc-c', 'h10', 'dsr_9', 'manifest.json');
    for (const key of [...mine, neighbour]) await store.put(key, text('{}'), 'application/json');

    expect(await store.deletePrefix(objectKeys.subjectExports('doc-c', 'h1'))).toBe(3);

    expect(await store.list(objectKeys.subjectExports('doc-c', 'h1'))).toEqual([]);
    expect(await store.list(tenantObjectPrefix('doc-c'))).toEqual([neighbour]);
    expect(await store.deletePrefix(objectKeys.subjectExports('doc-c', 'h1'))).toBe(0);
  });

  it('refuses a prefix that could reach a whole bucket or a neighbouring key, and odd keys', async () => {
    const store = make();

    for (const prefix of ['', 'tenants', 'tenants/doc-a', '/', 'tenants/../x/']) {
      await expect(store.list(prefix)).rejects.toThrow('Invalid document prefix');
      await expect(store.deletePrefix(prefix)).rejects.toThrow('Invalid document prefix');
    }
    await expect(store.put('tenants/a/../b/x', text('x'), 'text/plain')).rejects.toThrow('Invalid document key');
    await expect(store.presign('tenants/doc-a/x', 0)).rejects.toThrow('presigned URL');
    await expect(store.presign('tenants/doc-a/x', 8 * 24 * 3600)).rejects.toThrow('presigned URL');
  });
});

describe('S3DocumentStore presigned URLs (s3rver)', () => {
  it('R-DSR-1: a presigned URL downloads the document, for the time asked', async () => {
    const store = new S3DocumentStore(s3, DOCUMENTS_BUCKET);
    const key = objectKeys.subjectExport('url-a', 'h1', 'dsr_1', 'manifest.json');
    await store.put(key, text('{"kind":"lumiqo.subject-export.v1"}'), 'application/json');

    const url = new URL(await store.presign(key, 900));

    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.pathname).toBe(`/${DOCUMENTS_BUCKET}/${key}`);
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('{"kind":"lumiqo.subject-export.v1"}');
  });
});

describe('MemoryDocumentStore presigned URLs', () => {
  it('names the bucket, the key and the expiry in epoch seconds', async () => {
    const store = new MemoryDocumentStore('exports', clock);

    expect(await store.presign('tenants/acme/exports/x y.json', 3600)).toBe(
      `memory://exports/tenants/acme/exports/x%20y.json?expires=${Date.parse('2026-03-01T11:00:00Z') / 1000}`,
    );
  });
});

const payloadStores: [string, () => PayloadStore][] = [
  ['s3rver', () => new S3PayloadStore(s3, emulators.bucket)],
  ['memory', () => new MemoryPayloadStore()],
];

describe.each(payloadStores)('PayloadStore purge (%s)', (_name, make) => {
  it('R-TERM-3: deletePrefix deletes every payload of the tenant, countPrefix then finds none; other tenants keep theirs', async () => {
    const store = make();
    const keys = Array.from({ length: 12 }, (_, i) => objectKeys.payload('pl-a', `ev_${i}`));
    for (const key of [...keys, objectKeys.payload('pl-b', 'ev_0'), objectKeys.payload('pl-a2', 'ev_0')]) await store.put(key, new Uint8Array([1, 2, 3]));
    expect(await store.countPrefix(tenantObjectPrefix('pl-a'))).toBe(12);

    expect(await store.deletePrefix(tenantObjectPrefix('pl-a'))).toBe(12);

    expect(await store.countPrefix(tenantObjectPrefix('pl-a'))).toBe(0);
    expect(await store.get(objectKeys.payload('pl-b', 'ev_0'))).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.countPrefix(tenantObjectPrefix('pl-a2'))).toBe(1);
  });

  it('R-DSR-2: delete removes exactly the named payloads, not longer keys that share their start', async () => {
    const store = make();
    for (const id of ['ev_1', 'ev_10', 'ev_2']) await store.put(objectKeys.payload('pl-c', id), new Uint8Array([7]));

    await store.delete([objectKeys.payload('pl-c', 'ev_1'), objectKeys.payload('pl-c', 'ev_missing')]);

    expect(await store.get(objectKeys.payload('pl-c', 'ev_1'))).toBeUndefined();
    expect(await store.get(objectKeys.payload('pl-c', 'ev_10'))).toEqual(new Uint8Array([7]));
    expect(await store.countPrefix(tenantObjectPrefix('pl-c'))).toBe(2);
  });

  it('R-SEC-4: refuses a purge prefix outside one tenant or cut mid-segment', async () => {
    const store = make();

    for (const prefix of ['tenants/', 'tenants/pl-a', 'payloads/', 'tenants/pl-a/payloads/ev_1', 'tenants/pl-a/../pl-b/']) {
      await expect(store.deletePrefix(prefix)).rejects.toThrow('Not a tenant object prefix');
      await expect(store.countPrefix(prefix)).rejects.toThrow('Not a tenant object prefix');
    }
  });
});
