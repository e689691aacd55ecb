/**
 * R-ING-7, issue 9 defect 3: input that DynamoDB or Kinesis refuses, and the emulators take, is never lost. Through
 * the local platform (real HTTP, kinesalite, dynalite, the emulated event source mapping), with the AWS limits
 * layer of test/support/aws-limits.ts answering as AWS would. Each case either answers a clear 4xx at ingest or is
 * stored with exact rollups; a record DynamoDB refuses for good goes to the dead-letter queue alone, with its
 * reason, and the rest of its tenant's batch is stored.
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createAwsClients, type AwsClients } from '../../lambdas/adapters/clients';
import type { StreamEnvelope } from '../../lambdas/domain/model';
import { RELATIVE_ACCURACY } from '../../lambdas/domain/rollups';
import { KEY_BYTE_BOUNDS } from '../../lambdas/domain/keys';
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { TEST_PLATFORM } from '../support/local-platform';
import { eventually, request } from './http';

let local: LocalPlatform;
let aws: AwsClients;
let apiKey: string;
const TENANT = 'limits';

beforeAll(async () => {
  local = await startLocalPlatform({
    ...TEST_PLATFORM,
    demo: false,
    // Few, fast retries: a record that keeps failing reaches its outcome within the test's deadline.
    eventSource: { ...TEST_PLATFORM.eventSource, retryAttempts: 2 },
  });
  aws = createAwsClients(local.clients);
  // R-SEC-5: the tests send and read with one key, so it carries both scopes.
  const admin = (path: string) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, method: 'POST', body: path === '/tenants' ? { tenantId: TENANT, name: 'Limits' } : { scopes: ['ingest', 'read'] } });
  expect((await admin('/tenants')).status).toBe(201);
  apiKey = String((await admin(`/tenants/${TENANT}/api-keys`)).body.apiKey);
}, 60_000);

afterAll(async () => {
  aws?.kinesis.destroy();
  await local?.stop();
});

const ingest = (body: object | string) => request<{ eventIds: string[]; error?: { code: string; message: string } }>(`${local.url}/v1/events`, { token: apiKey, body });
const getEvent = (eventId: string) => request(`${local.url}/v1/events/${eventId}`, { token: apiKey });
const stored = (eventId: string) => eventually(async () => ((await getEvent(eventId)).status === 200 ? true : undefined), `event ${eventId} stored`);
const apiCall = (route: string, latencyMs = 12) => ({ type: 'api_call', method: 'GET', route, status: 200, latencyMs });

/** Envelopes as ingest writes them, put on the stream in one request, so the processor gets them in one batch. */
async function putOnStream(envelopes: readonly StreamEnvelope[]): Promise<string[]> {
  const answer = await aws.kinesis.send(
    new PutRecordsCommand({
      StreamName: local.deployment.names.eventStream,
      Records: envelopes.map((e) => ({ PartitionKey: e.tenantId, Data: Buffer.from(JSON.stringify(e)) })),
    }),
  );
  return (answer.Records ?? []).map((r) => r.SequenceNumber!);
}

let nextId = 0;
function envelope(event: Record<string, unknown>, timestamp = new Date().toISOString()): StreamEnvelope {
  return { v: 1, tenantId: TENANT, eventId: `c_limits-${++nextId}-${Date.now()}`, receivedAt: new Date().toISOString(), event: { timestamp, properties: {}, ...event } as never };
}

describe('R-ING-7: routes whose keys DynamoDB would refuse are refused at ingest with 400 invalid_event', () => {
  it('(a) an api_call with a 1,000-character ASCII route (rollup sort key over 1,024 bytes)', async () => {
    const answer = await ingest(apiCall(`/${'a'.repeat(999)}`));

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_event', message: expect.stringMatching(/^Invalid event: route: .*bytes/) });
  });

  it('(b) a route of 700 three-byte characters (GSI2 partition key over 2,048 bytes)', async () => {
    const route = `/${'€'.repeat(700)}`;
    expect(route.length).toBeLessThan(1000);

    const answer = await ingest(apiCall(route));

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_event', message: expect.stringContaining('route') });
  });

  it('the longest route that fits every key is stored, in bytes, not characters', async () => {
    const route = `/${'€'.repeat(Math.floor((KEY_BYTE_BOUNDS.route - 1) / 3))}`;

    const answer = await ingest(apiCall(route));

    expect(answer.status).toBe(202);
    await stored(answer.body.eventIds[0]);
  });
});

describe('R-ING-3, R-ING-7: rollups of many distinct latency buckets', () => {
  it('(c) 400 distinct latency buckets for one (minute, series) in one batch are stored and counted exactly', async () => {
    // Prepare: latencies one sketch bucket apart (gamma = 1.02 / 0.98), all in one minute and one route.
    const gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
    const latencies = Array.from({ length: 400 }, (_, i) => Number((gamma ** (i + 0.5)).toFixed(3)));
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
    const timestamp = new Date(minute.getTime() + 15_000).toISOString();
    const envelopes = latencies.map((latencyMs) => envelope(apiCall('/buckets/:id', latencyMs), timestamp));

    // Act
    await putOnStream(envelopes);

    // Assess
    const window = `from=${minute.toISOString()}&to=${new Date(minute.getTime() + 59_000).toISOString()}&series=${encodeURIComponent('api:GET /buckets/:id')}`;
    const rollup = await eventually(async () => {
      const { body } = await request<{ items: { count: number; avgLatencyMs: number; p50: number; p99: number }[] }>(`${local.url}/v1/rollups?${window}`, { token: apiKey });
      return body.items[0]?.count === 400 ? body.items[0] : undefined;
    }, 'the rollup of 400 records');
    const sorted = [...latencies].sort((a, b) => a - b);
    const nearestRank = (q: number) => sorted[Math.ceil(q * sorted.length) - 1];
    expect(rollup.avgLatencyMs).toBeCloseTo(latencies.reduce((s, l) => s + l, 0) / 400, 6);
    expect(Math.abs(rollup.p50 - nearestRank(0.5)) / nearestRank(0.5)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(Math.abs(rollup.p99 - nearestRank(0.99)) / nearestRank(0.99)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    await Promise.all(envelopes.slice(0, 5).map((e) => stored(e.eventId)));
  });
});

describe('R-ING-7: a record DynamoDB refuses for good', () => {
  it('(d) goes alone to the dead-letter queue, with its reason; the rest of its tenant group is stored', async () => {
    // Prepare: a record written to the stream before ingest bounded routes (its GSI2 key is 2,101+ bytes),
    // between two good records of the same tenant, in one batch.
    const before = local.deadLetters.messages().length;
    const good = [envelope(apiCall('/orders/:id')), envelope({ type: 'event', name: 'signup' })];
    const refused = envelope(apiCall(`/${'€'.repeat(700)}`));

    // Act
    const [, refusedSequence] = await putOnStream([good[0], refused, good[1]]);

    // Assess
    await Promise.all(good.map((e) => stored(e.eventId)));
    const letters = await eventually(async () => {
      const fresh = local.deadLetters.messages().slice(before);
      return fresh.length > 0 ? fresh : undefined;
    }, 'the dead letter');
    expect(letters.map((m) => m.body)).toEqual([
      expect.objectContaining({ recordId: refusedSequence, reason: 'store_refused', detail: expect.stringContaining('ValidationException'), dataInStream: true }),
    ]);
    // Issue 11 (R-DSR-2, R-TERM-4): a pointer into the stream, never the record's bytes.
    expect(letters[0].body).not.toHaveProperty('data');
    expect((await getEvent(refused.eventId)).status).toBe(404);
  });
});

describe('R-ING-7: a stream record stops at 1 MiB', () => {
  const eventOfBytes = (size: number) => {
    const shell = JSON.stringify({ type: 'event', name: 'big', properties: { pad: '' } });
    return JSON.stringify({ type: 'event', name: 'big', properties: { pad: 'x'.repeat(size - shell.length) } });
  };

  it('(e) a single event of 1 MiB, whose stream record would pass 1 MiB, answers 413 body_too_large, not 500', async () => {
    const body = eventOfBytes(1024 * 1024);
    expect(Buffer.byteLength(body)).toBe(1024 * 1024);

    const answer = await ingest(body);

    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'body_too_large' });
  });

  it('an event 1 KiB smaller is accepted and stored (its body goes to S3)', async () => {
    const answer = await ingest(eventOfBytes(1024 * 1024 - 1024));

    expect(answer.status).toBe(202);
    await stored(answer.body.eventIds[0]);
  });
});
