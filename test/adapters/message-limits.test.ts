/**
 * R-ING-7: what the platform hands to SQS, Kinesis and Step Functions stays within their limits, checked by the
 * AWS limits layer (SQS and Step Functions through a local stand-in that accepts what reaches it, Kinesis
 * against kinesalite): dead letters of large records are sent as pointers, batches of them split by size; a
 * stream record over 1 MiB and a workflow input over 256 KiB are refused before any call.
 */
import { createHash } from 'node:crypto';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createKinesisClient } from '../../lambdas/adapters/clients';
import { KinesisEventPublisher } from '../../lambdas/adapters/kinesis-event-publisher';
import { SfnWorkflowStarter } from '../../lambdas/adapters/sfn-workflow-starter';
import { SqsDeadLetterSink } from '../../lambdas/adapters/sqs-dead-letters';
import type { StreamEnvelope } from '../../lambdas/domain/model';
import type { DeadLetter } from '../../lambdas/domain/ports';
import type { WorkflowName } from '../../lambdas/domain/privacy';
import { awsLimitRefusals } from '../support/aws-limits';
import { acceptingService, sqsBatchAnswer, type AcceptingService } from '../support/accepting-service';
import { startEmulators, type Emulators } from '../support/emulators';

const KiB = 1024;
const local = (endpoint: string) => ({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });

describe('SqsDeadLetterSink within SQS’s 256 KiB', () => {
  let service: AcceptingService;
  let sqs: SQSClient;
  beforeAll(async () => {
    service = await acceptingService(sqsBatchAnswer((text) => createHash('md5').update(text).digest('hex')));
    sqs = new SQSClient(local(service.url));
  });
  afterAll(async () => {
    sqs.destroy();
    await service.close();
  });

  const letter = (n: number, detail?: string): DeadLetter => ({
    recordId: String(n),
    reason: 'store_refused',
    ...(detail ? { detail } : {}),
    origin: { eventSourceARN: 'arn:aws:kinesis:eu-west-1:111122223333:stream/lumiqo-events', shard: 'shardId-000000000000', partitionKey: 'acme', arrivedAt: '2026-11-23T10:00:00.000Z' },
  });
  const sentBodies = (from: number) =>
    service.bodies.slice(from).flatMap((body) => (body.Entries as { MessageBody: string }[]).map((e) => JSON.parse(e.MessageBody) as Record<string, unknown>));

  it('R-DSR-2, R-TERM-4: a letter is a pointer into the stream, never the record’s bytes; a long detail is cut', async () => {
    const before = service.received.length;

    await new SqsDeadLetterSink(sqs, `${service.url}/111122223333/dlq`).send([letter(1, 'x'.repeat(5000)), letter(2)]);

    const [long, short] = sentBodies(before);
    expect(long).toEqual({ recordId: '1', reason: 'store_refused', detail: 'x'.repeat(1000), origin: letter(1).origin, dataInStream: true });
    expect(short).toEqual({ recordId: '2', reason: 'store_refused', origin: letter(2).origin, dataInStream: true });
    expect(service.received.length - before).toBe(1);
  });

  it('sends 25 letters in batches of at most 10, every one within the limits', async () => {
    const before = { calls: service.received.length, refusals: awsLimitRefusals().length };

    await new SqsDeadLetterSink(sqs, `${service.url}/111122223333/dlq`).send(Array.from({ length: 25 }, (_, i) => letter(i, 'd'.repeat(2000))));

    expect(awsLimitRefusals().length).toBe(before.refusals);
    expect(sentBodies(before.calls).map((b) => b.recordId)).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
    expect(service.received.length - before.calls).toBe(3);
  });

  it('the layer does refuse what the sink would have sent before: ten 150 KB letters in one batch', async () => {
    const body = JSON.stringify({ recordId: '1', data: Buffer.alloc(150 * KiB).toString('base64') });
    const send = sqs.send(new SendMessageBatchCommand({ QueueUrl: `${service.url}/111122223333/dlq`, Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: body })) }));

    await expect(send).rejects.toMatchObject({ name: 'BatchRequestTooLong' });
  });
});

describe('KinesisEventPublisher: a record over 1 MiB is refused before any request (kinesalite)', () => {
  let env: Emulators;
  let kinesis: KinesisClient;
  beforeAll(async () => {
    env = await startEmulators('kinesis-limits');
    kinesis = createKinesisClient(env.clients);
  });
  afterAll(async () => {
    kinesis.destroy();
    await env.close();
  });

  const envelope = (eventId: string, pad: number): StreamEnvelope => ({
    v: 1,
    tenantId: 'acme',
    eventId,
    receivedAt: '2026-03-01T10:00:00.000Z',
    event: { type: 'event', name: 'big', timestamp: '2026-03-01T10:00:00.000Z', properties: { pad: 'p'.repeat(pad) } },
  });

  it('puts a record just under 1 MiB and throws, naming the size, for one just over', async () => {
    const publisher = new KinesisEventPublisher(kinesis, env.stream);
    const overhead = Buffer.byteLength(JSON.stringify(envelope('ev_1', 0))) + 'acme'.length;

    await publisher.publish([envelope('ev_1', 1024 * KiB - overhead)]);
    await expect(publisher.publish([envelope('ev_2', 1024 * KiB - overhead + 1)])).rejects.toThrow(`PutRecords: a record of ${1024 * KiB + 1} bytes exceeds Kinesis's ${1024 * KiB}`);
  });
});

describe('SfnWorkflowStarter: an input over 256 KiB is refused before StartExecution', () => {
  it('starts with an input of 256 KiB and refuses one byte more, naming the workflow', async () => {
    const service = await acceptingService(() => ({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:dsr_1', startDate: 0 }));
    const sfn = new SFNClient(local(service.url));
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:m';
    const starter = new SfnWorkflowStarter(sfn, { access: arn } as Record<WorkflowName, string>);
    const input = (bytes: number) => ({ pad: 'p'.repeat(bytes - JSON.stringify({ pad: '' }).length) });
    try {
      await starter.start('access', 'dsr_1', input(256 * KiB));
      await expect(starter.start('access', 'dsr_2', input(256 * KiB + 1))).rejects.toThrow(`The input of 'access' is ${256 * KiB + 1} bytes`);
      expect(service.received).toEqual(['AWSStepFunctions.StartExecution']);
    } finally {
      sfn.destroy();
      await service.close();
    }
  });
});
