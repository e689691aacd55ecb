/**
 * What happens when AWS throttles or half-succeeds (issue: "DynamoDB or KMS throttling mid-batch: retried;
 * nothing lost or duplicated"). Partial success is retried by the adapters (mocked clients); whole-request
 * throttling by the SDK's retry middleware, exercised through a fake HTTP layer beneath it.
 */
import { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { PutRecordsCommand, KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteItemCommand, type WriteRequest as WireWriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createDocumentClient, createKmsClient, type AwsClientsConfig } from '../../lambdas/adapters/clients';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoTenantDirectory } from '../../lambdas/adapters/dynamo-tenant-directory';
import { EnvelopeTenantCrypto, KmsKeyringProvider } from '../../lambdas/adapters/envelope-crypto';
import { KinesisEventPublisher, putRecordsRequests } from '../../lambdas/adapters/kinesis-event-publisher';
import { S3PayloadStore } from '../../lambdas/adapters/s3-payload-store';
import { PermanentStoreError } from '../../lambdas/domain/ports';
import type { StreamEnvelope } from '../../lambdas/domain/model';
import { eventSeries } from './fixtures';

const FAST_RETRY = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
type Item = Record<string, unknown>;
const keyOf = (item: Item) => `${item.pk as string}|${item.sk as string}`;

describe('DynamoEventStore under partial batch success (mocked DynamoDB)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());
  // The mock replaces send() of every document client; the SDK retry tests below need the real one.
  afterAll(() => ddb.restore());
  const store = (retry = FAST_RETRY) => new DynamoEventStore(createDocumentClient({ region: 'eu-west-1' }), 'data', retry);

  it('R-ING-7: re-sends UnprocessedItems until every item is written exactly once', async () => {
    const accepted: string[] = [];
    let calls = 0;
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WireWriteRequest[]> }) => {
      const requests = input.RequestItems.data;
      // Every other call, DynamoDB leaves the second half unprocessed.
      const unprocessed = calls++ % 2 === 0 ? requests.slice(Math.ceil(requests.length / 2)) : [];
      accepted.push(...requests.slice(0, requests.length - unprocessed.length).map((r) => keyOf(unmarshall(r.PutRequest!.Item!))));
      return { UnprocessedItems: unprocessed.length ? { data: unprocessed } : {} };
    });
    const events = eventSeries('acme', 40, { subjects: ['s1'] });
    const subjects = events.map((e) => ({ tenantId: 'acme', subjectHash: 's1', eventId: e.eventId, expiresAt: e.expiresAt }));

    await store().putEvents(events, subjects);

    expect(accepted).toHaveLength(80);
    expect(new Set(accepted).size).toBe(80);
    expect(ddb.commandCalls(BatchWriteItemCommand).every((c) => c.args[0].input.RequestItems!.data.length <= 25)).toBe(true);
  });

  it('R-ING-7: throws, rather than losing items, when they stay unprocessed', async () => {
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WireWriteRequest[]> }) => ({ UnprocessedItems: input.RequestItems }));

    await expect(store().putEvents(eventSeries('acme', 3), [])).rejects.toThrow('BatchWriteItem: 3 entries still unprocessed after 4 attempts');
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(4);
  });

  it('re-asks for UnprocessedKeys of a BatchGet, 100 keys a request', async () => {
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => {
      const [first, ...rest] = input.RequestItems.data.Keys;
      return { Responses: { data: [{ pk: first.pk }] }, UnprocessedKeys: rest.length ? { data: { Keys: rest } } : {} };
    });
    const ids = Array.from({ length: 103 }, (_, i) => `ev_${i}`);

    const found = await store({ ...FAST_RETRY, attempts: 200 }).existingEventIds('acme', ids);

    expect(found).toEqual(new Set(ids));
    expect(ddb.commandCalls(BatchGetCommand)[0].args[0].input.RequestItems!.data.Keys).toHaveLength(100);
  });

  it('issue 12: the existence checks of 100 tenants in one turn share BatchGetItem requests, each tenant answered its own', async () => {
    const stored = new Set<string>();
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => ({
      Responses: { data: input.RequestItems.data.Keys.filter((key) => stored.has(key.pk as string)).map((key) => ({ pk: key.pk })) },
      UnprocessedKeys: {},
    }));
    const tenants = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    // Each tenant has 5 records in the batch; the even ones are stored already.
    for (const tenantId of tenants) for (const n of [0, 2, 4]) stored.add(`T#${tenantId}#EV#ev_${n}`);
    const shared = store();

    const answers = await Promise.all(tenants.map((tenantId) => shared.existingEventIds(tenantId, ['ev_0', 'ev_1', 'ev_2', 'ev_3', 'ev_4'])));

    expect(answers.every((found) => isDeepStrictEqual(found, new Set(['ev_0', 'ev_2', 'ev_4'])))).toBe(true);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(5);
    // A later turn is a new read.
    await shared.existingEventIds('t000', ['ev_1']);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(6);
  });

  it('issue 12: the writes of 100 tenants in one turn share BatchWriteItem requests of 25 items, whatever tenant each holds', async () => {
    const written: string[] = [];
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WireWriteRequest[]> }) => {
      written.push(...input.RequestItems.data.map((r) => keyOf(unmarshall(r.PutRequest!.Item!))));
      return { UnprocessedItems: {} };
    });
    const tenants = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const shared = store();

    await Promise.all(tenants.map((tenantId) => shared.putEvents(eventSeries(tenantId, 2), [])));

    // 200 items: 8 requests, where one per tenant would be 100.
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(8);
    expect(new Set(written).size).toBe(200);
    expect(ddb.commandCalls(BatchWriteItemCommand).every((c) => c.args[0].input.RequestItems!.data.length <= 25)).toBe(true);
  });

  it('issue 12, R-ING-7: a shared write that DynamoDB refuses fails only the callers whose items it held', async () => {
    const refusedTenant = 't003';
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WireWriteRequest[]> }) => {
      const tenantsOfRequest = input.RequestItems.data.map((r) => unmarshall(r.PutRequest!.Item!).tenantId as string);
      if (tenantsOfRequest.includes(refusedTenant)) {
        throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $fault: 'client' });
      }
      return { UnprocessedItems: {} };
    });
    const tenants = Array.from({ length: 10 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const shared = store();

    // 10 items per tenant, in the order the callers joined: t002 and t004 share a request with t003, the rest do not.
    const outcomes = await Promise.allSettled(tenants.map((tenantId) => shared.putEvents(eventSeries(tenantId, 10), [])));

    const failed = tenants.filter((_, i) => outcomes[i].status === 'rejected');
    expect(failed).toEqual(['t002', 't003', 't004']);
    expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(PermanentStoreError);
  });
});

/** An HTTP layer that answers from a script, then counts how often the SDK called it. */
function scriptedHttp(answers: readonly { status: number; body: unknown }[]) {
  let call = 0;
  const handler = {
    calls: () => call,
    handle: async () => {
      const answer = answers[Math.min(call++, answers.length - 1)];
      return {
        response: {
          statusCode: answer.status,
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
        },
      };
    },
  };
  return handler;
}

const offline = (handler: ReturnType<typeof scriptedHttp>): AwsClientsConfig => ({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  requestHandler: handler as unknown as AwsClientsConfig['requestHandler'],
});

describe('SDK retries of throttled requests (client retry config)', () => {
  it('R-ING-7: ProvisionedThroughputExceededException is retried, then the write lands', async () => {
    const http = scriptedHttp([
      { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' } },
      { status: 200, body: {} },
    ]);
    const directory = new DynamoTenantDirectory(createDocumentClient(offline(http)), 'control');

    await directory.putWebhookSource({ tenantId: 'acme', sourceId: 's', scheme: 'standard', secretCiphertexts: [], createdAt: '2026-03-01T00:00:00Z' });

    expect(http.calls()).toBe(2);
  });

  it('R-SEC-3: a KMS ThrottlingException on GenerateDataKey is retried, then encryption succeeds', async () => {
    const keyId = 'arn:aws:kms:eu-west-1:111122223333:key/acme';
    const http = scriptedHttp([
      { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
      {
        status: 200,
        body: { KeyId: keyId, Plaintext: Buffer.alloc(32, 7).toString('base64'), CiphertextBlob: Buffer.alloc(64, 1).toString('base64') },
      },
    ]);
    const crypto = new EnvelopeTenantCrypto(new KmsKeyringProvider(createKmsClient(offline(http))));

    const ciphertext = await crypto.encrypt({ tenantId: 'acme', keyRef: keyId }, new Uint8Array([1, 2, 3]), 'event');

    expect(ciphertext.byteLength).toBeGreaterThan(3);
    expect(http.calls()).toBe(2);
  });

  it('gives up after maxAttempts, so a lasting outage surfaces as an error', async () => {
    const http = scriptedHttp([{ status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'x' } }]);
    const directory = new DynamoTenantDirectory(createDocumentClient({ ...offline(http), maxAttempts: 2 }), 'control');

    await expect(directory.getTenant('acme')).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(http.calls()).toBe(2);
  });
});

describe('KinesisEventPublisher under partial failure (mocked Kinesis)', () => {
  const kinesis = mockClient(KinesisClient);
  beforeEach(() => kinesis.reset());
  const envelopes = (count: number): StreamEnvelope[] =>
    Array.from({ length: count }, (_, i) => ({
      v: 1,
      tenantId: i % 2 ? 'acme' : 'globex',
      eventId: `ev_${i}`,
      receivedAt: '2026-03-01T10:00:00.000Z',
      event: { type: 'event', name: 'signup', timestamp: '2026-03-01T10:00:00.000Z', properties: {} },
    }));
  const idsOf = (records: readonly PutRecordsRequestEntry[]) => records.map((r) => JSON.parse(Buffer.from(r.Data!).toString()).eventId);

  it('R-ING-7: re-sends only the records Kinesis rejected', async () => {
    kinesis
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 2,
        Records: [
          { SequenceNumber: '1', ShardId: 's' },
          { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' },
          { SequenceNumber: '3', ShardId: 's' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: '5' }, { SequenceNumber: '6' }] });

    await new KinesisEventPublisher(new KinesisClient({ region: 'eu-west-1' }), 'events', FAST_RETRY).publish(envelopes(4));

    const calls = kinesis.commandCalls(PutRecordsCommand).map((c) => c.args[0].input.Records!);
    expect(calls.map(idsOf)).toEqual([['ev_0', 'ev_1', 'ev_2', 'ev_3'], ['ev_1', 'ev_3']]);
    expect(calls[1].map((r) => r.PartitionKey)).toEqual(['acme', 'acme']);
  });

  it('R-ING-7: throws when records are still rejected after the retries', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input: { Records: PutRecordsRequestEntry[] }) => ({
      FailedRecordCount: input.Records.length,
      Records: input.Records.map(() => ({ ErrorCode: 'ProvisionedThroughputExceededException' })),
    }));

    await expect(new KinesisEventPublisher(new KinesisClient({ region: 'eu-west-1' }), 'events', FAST_RETRY).publish(envelopes(3))).rejects.toThrow(
      'PutRecords: 3 entries still unprocessed',
    );
  });

  it('splits requests at 500 records and at 5 MB', () => {
    const small = Array.from({ length: 1_200 }, () => ({ Data: new Uint8Array(10), PartitionKey: 'acme' }));
    const large = Array.from({ length: 12 }, () => ({ Data: new Uint8Array(1_000_000), PartitionKey: 'acme' }));

    expect(putRecordsRequests(small).map((r) => r.length)).toEqual([500, 500, 200]);
    expect(putRecordsRequests(large).map((r) => r.length)).toEqual([5, 5, 2]);
  });
});

describe('S3PayloadStore deletes (mocked S3)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `tenants/acme/payloads/ev_${i}`);
  /** A versioned bucket where each key has one version. */
  const oneVersionEach = () =>
    s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => ({ Versions: [{ Key: input.Prefix, VersionId: `v-${input.Prefix}` }] }));

  it('deletes in requests of at most 1,000 keys', async () => {
    oneVersionEach();
    s3.on(DeleteObjectsCommand).resolves({});

    await new S3PayloadStore(new S3Client({ region: 'eu-west-1' }), 'bucket').delete(keys(2_500));

    expect(s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects!.length)).toEqual([1_000, 1_000, 500]);
  });

  it('R-TERM-3: throws when S3 reports keys it did not delete', async () => {
    oneVersionEach();
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'tenants/acme/payloads/ev_1', Code: 'AccessDenied' }] });

    await expect(new S3PayloadStore(new S3Client({ region: 'eu-west-1' }), 'bucket').delete(keys(2))).rejects.toThrow('1 keys not deleted');
  });
});
