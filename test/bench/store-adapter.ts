/**
 * Section 9 (issue 12): the processor's whole CPU path as one Lambda invocation runs it: the Lambda handler over
 * Kinesis events (base64 records), StreamProcessing, EnvelopeTenantCrypto, the real DynamoEventStore and the AWS
 * SDK (middleware, signing, serialisation, HTTP) against a stub DynamoDB endpoint that answers every request at
 * once: no event exists yet, every write is processed. The stub runs in a child process, so this process's CPU
 * is the invocation's alone. Baseline, in the same run: JSON.parse plus AES-256-GCM of the same records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createDocumentClient } from '../../lambdas/adapters/dynamo-client';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { MemoryPayloadStore, MemoryPrivacyRequestStore } from '../../lambdas/adapters/memory';
import type { InputRecord } from '../../lambdas/domain/processing';
import { createProcessorHandler } from '../../lambdas/processor/handler';
import { DynamoUsageMarks } from '../../lambdas/adapters/dynamo-usage-ledger';
import { KINESIS_BATCH_SIZE, runBaseline, TENANT_COUNTS } from './processor';
import type { Figure } from './report';
import { chunk, round, timed } from './stats';
import { createTenants, localControlPlane, streamRecords, type ControlPlane } from './workload';

const RECORDS = 10_000;
const REPEATS = 3;
/** Runs of RECORDS before the first measured one (see storeAdapterSection). */
const WARM_UP_RUNS = 5;
/** Issue 12's goal for this section: a tenth of the raw limit. */
const GOAL_RATIO = 0.1;

/** The stub: a keep-alive HTTP server answering each DynamoDB operation with its empty success. */
const STUB_SCRIPT = `
const answers = { BatchGetItem: '{"Responses":{},"UnprocessedKeys":{}}', BatchWriteItem: '{"UnprocessedItems":{}}', UpdateItem: '{}' };
const server = require('node:http').createServer((req, res) => {
  const operation = String(req.headers['x-amz-target'] || '').split('.').pop();
  req.resume();
  req.on('end', () => {
    const body = answers[operation];
    res.writeHead(body ? 200 : 400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'stub' });
    res.end(body || JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message: 'stub: ' + operation }));
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

export async function startStub(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', STUB_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(data.toString('utf8').trim()));
    child.once('error', reject);
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

export function kinesisEvent(records: readonly InputRecord[]): KinesisStreamEvent {
  return {
    Records: records.map((record) => ({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${record.id}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::111122223333:role/bench',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:111122223333:stream/bench',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'bench',
        sequenceNumber: record.id,
        approximateArrivalTimestamp: 0,
        data: Buffer.from(record.data).toString('base64'),
      },
    })),
  };
}

/** One cold processor container over `events`, invocation by invocation. */
export async function runInvocations(plane: ControlPlane, url: string, events: readonly KinesisStreamEvent[]) {
  const db = createDocumentClient({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, endpoints: { dynamodb: url }, maxAttempts: 1 });
  const handler = createProcessorHandler({
    directory: plane.directory,
    store: new DynamoEventStore(db, 'bench-tenant-data'),
    payloads: new MemoryPayloadStore(),
    crypto: plane.freshCrypto(),
    requests: new MemoryPrivacyRequestStore(),
    deadLetters: { send: async () => undefined },
    // R-BILL-2: the marks the deployed processor writes (lambdas/processor/composition.ts), to the same stub.
    usage: new DynamoUsageMarks(db, 'bench-billing-ledger'),
    settings: plane.settings,
    clock: plane.clock,
  });
  const run = await timed(async () => {
    for (const event of events) {
      const answer = await handler(event);
      if (answer.batchItemFailures.length > 0) throw new Error(`store-adapter run: ${answer.batchItemFailures.length} records to retry`);
    }
  });
  db.destroy();
  return run;
}

export async function storeAdapterSection(): Promise<{ figures: Figure[]; details: unknown }> {
  const plane = await localControlPlane();
  const stub = await startStub();
  // The handler's one log line per batch is written to nothing (environment.ts sets LUMIQO_LOG_LEVEL).
  try {
    const tenants = await createTenants(plane, Math.max(...TENANT_COUNTS), 'bench-store');
    // JIT warm-up: the SDK's path reaches its steady state only after ~50,000 records in one process (measured:
    // 1,600 records per CPU-second in the first 10,000, ~3,000 from the fifth 10,000 on); a container under Kinesis
    // load lives far longer than that. Each measured run is still a cold container (new client, caches, keys).
    for (let i = 0; i < WARM_UP_RUNS; i++) await runInvocations(plane, stub.url, chunk(streamRecords(RECORDS, tenants.slice(0, 10)), KINESIS_BATCH_SIZE).map(kinesisEvent));
    const figures: Figure[] = [];
    const details: unknown[] = [];
    for (const tenantCount of TENANT_COUNTS) {
      const records = streamRecords(RECORDS, tenants.slice(0, tenantCount));
      const events = chunk(records, KINESIS_BATCH_SIZE).map(kinesisEvent);
      const baselines = [];
      const runs = [];
      for (let i = 0; i < REPEATS; i++) {
        baselines.push(await runBaseline(records));
        runs.push(await runInvocations(plane, stub.url, events));
      }
      const baseline = baselines.sort((a, b) => a.wallMs - b.wallMs)[Math.floor(REPEATS / 2)];
      const run = runs.sort((a, b) => a.wallMs - b.wallMs)[Math.floor(REPEATS / 2)];
      const rate = RECORDS / (run.wallMs / 1000);
      const baselineRate = RECORDS / (baseline.wallMs / 1000);
      const plural = tenantCount > 1 ? 's' : '';
      figures.push({
        section: '9 store adapter',
        name: `records/s, handler + DynamoEventStore + SDK vs a stub endpoint, ${tenantCount} tenant${plural} (median of ${REPEATS})`,
        value: round(rate),
        unit: 'rec/s',
        baseline: { name: 'node:crypto AES-256-GCM + JSON.parse', value: round(baselineRate) },
        goal: { text: `>= ${GOAL_RATIO}x the baseline`, met: rate >= GOAL_RATIO * baselineRate },
        note: `${round(RECORDS / (run.cpuMs / 1000))} records per CPU-second of this process`,
      });
      details.push({ tenants: tenantCount, records: RECORDS, batchSize: KINESIS_BATCH_SIZE, wallMs: run.wallMs, cpuMs: run.cpuMs, baseline });
    }
    return { figures, details };
  } finally {
    stub.child.kill();
    await plane.close();
  }
}
