import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import { createKinesisClient, createS3Client } from '../../lambdas/adapters/clients';
import { KinesisEventPublisher } from '../../lambdas/adapters/kinesis-event-publisher';
import { S3PayloadStore } from '../../lambdas/adapters/s3-payload-store';
import type { StreamEnvelope } from '../../lambdas/domain/model';
import { objectKeys } from '../../lambdas/domain/keys';
import { startEmulators, type Emulators } from '../support/emulators';

let emulators: Emulators;
let s3: S3Client;
let kinesis: KinesisClient;
beforeAll(async () => {
  emulators = await startEmulators();
  s3 = createS3Client(emulators.clients);
  kinesis = createKinesisClient(emulators.clients);
});
afterAll(async () => {
  s3.destroy();
  kinesis.destroy();
  await emulators.close();
});

describe('S3PayloadStore (s3rver)', () => {
  it('puts, gets and deletes payloads under the tenant prefix', async () => {
    const store = new S3PayloadStore(s3, emulators.bucket);
    const body = new Uint8Array([0, 1, 2, 250, 255]);
    const keys = ['ev_1', 'ev_2', 'ev_3'].map((id) => objectKeys.payload('acme', id));
    for (const key of keys) await store.put(key, body);

    expect(await store.get(keys[0])).toEqual(body);
    await store.delete(keys.slice(0, 2));

    expect(await store.get(keys[0])).toBeUndefined();
    expect(await store.get(keys[1])).toBeUndefined();
    expect(await store.get(keys[2])).toEqual(body);
  });

  it('R-SEC-4: refuses keys outside a tenant prefix', async () => {
    const store = new S3PayloadStore(s3, emulators.bucket);

    await expect(store.put('payloads/ev_1', new Uint8Array([1]))).rejects.toThrow('outside a tenant prefix');
    await expect(store.get('tenants/../ev_1')).rejects.toThrow('outside a tenant prefix');
    await expect(store.get('tenants/acme/../globex/ev_1')).rejects.toThrow('outside a tenant prefix');
    await expect(store.delete(['tenants/acme'])).rejects.toThrow('outside a tenant prefix');
  });
});

describe('KinesisEventPublisher (kinesalite)', () => {
  const envelope = (tenantId: string, eventId: string): StreamEnvelope => ({
    v: 1,
    tenantId,
    eventId,
    receivedAt: '2026-03-01T10:00:00.000Z',
    event: { type: 'event', name: 'signup', timestamp: '2026-03-01T10:00:00.000Z', properties: { n: eventId } },
  });

  it('R-ING-7: puts every envelope on the stream, with the tenant as partition key', async () => {
    const envelopes = [envelope('acme', 'ev_1'), envelope('globex', 'ev_2'), envelope('acme', 'ev_3')];

    await new KinesisEventPublisher(kinesis, emulators.stream).publish(envelopes);

    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: emulators.stream }));
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: emulators.stream, ShardId: Shards![0].ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    const received = (Records ?? []).map((r) => ({ partitionKey: r.PartitionKey, envelope: JSON.parse(Buffer.from(r.Data!).toString('utf8')) }));
    expect(received).toEqual(envelopes.map((e) => ({ partitionKey: e.tenantId, envelope: e })));
  });
});
