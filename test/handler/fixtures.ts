/**
 * The handler tier's world: every handler wired as in Lambda (`createXHandler(deps)`), over the in-memory
 * adapters and the real envelope encryption (local AES keyring in a temporary directory), with a clock the
 * test moves. Requests are built as API Gateway and Kinesis deliver them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { EnvelopeTenantCrypto, LocalKeyringProvider, LocalTenantKeyManager } from '../../lambdas/adapters/envelope-crypto';
import {
  MemoryAuditLog,
  MemoryEventPublisher,
  MemoryEventStore,
  MemoryPayloadStore,
  MemoryPrivacyRequestStore,
  MemoryTenantDirectory,
} from '../../lambdas/adapters/memory';
import { createAdminHandler } from '../../lambdas/admin/handler';
import { API_KEY_SCOPES, type ErrorCode, type StreamEnvelope } from '../../lambdas/domain/model';
import type { DeadLetter, DeadLetterSink, EventPublisher, EventStore, TenantCrypto } from '../../lambdas/domain/ports';
import { createIngestHandler } from '../../lambdas/ingest/handler';
import { createProcessorHandler } from '../../lambdas/processor/handler';
import { createQueryHandler } from '../../lambdas/query/handler';
import { DEFAULT_RUNTIME_SETTINGS, type RuntimeSettings } from '../../lambdas/domain/settings';
import { EventQuota, type EventCounter } from '../../lambdas/domain/plan-limits';
import { ManualClock } from '../support/manual-clock';

export { ManualClock };

export const NOW = new Date('2026-03-02T10:00:00.000Z');
export const OPERATOR_ARN = 'arn:aws:iam::111122223333:user/operator';

/** Keeps what the processor dead-letters; can be told to be unreachable. */
export class RecordingDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  unreachable = false;
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (this.unreachable) throw Object.assign(new Error('queue unreachable'), { name: 'QueueDoesNotExist' });
    this.letters.push(...letters);
  }
}

/** A publisher whose next `failures` calls throw, as Kinesis does when it keeps refusing records. */
export class FlakyPublisher implements EventPublisher {
  readonly inner = new MemoryEventPublisher();
  failures = 0;
  get published(): StreamEnvelope[] {
    return this.inner.published;
  }
  async publish(envelopes: readonly StreamEnvelope[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('PutRecords: 1 entries still unprocessed after 8 attempts');
    }
    await this.inner.publish(envelopes);
  }
}

export type HttpHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface TestPlatform {
  readonly settings: RuntimeSettings;
  readonly clock: ManualClock;
  readonly directory: MemoryTenantDirectory;
  readonly publisher: FlakyPublisher;
  readonly store: EventStore;
  readonly payloads: MemoryPayloadStore;
  readonly audit: MemoryAuditLog;
  readonly crypto: TenantCrypto;
  readonly keys: LocalTenantKeyManager;
  readonly deadLetters: RecordingDeadLetters;
  /** R-DSR-3: restrictions the processor honours (and privacy requests). */
  readonly requests: MemoryPrivacyRequestStore;
  readonly admin: HttpHandler;
  readonly ingest: HttpHandler;
  readonly query: HttpHandler;
  readonly processor: ReturnType<typeof createProcessorHandler>;
}

const keyDirectories: string[] = [];

/** Call from `afterAll`: removes the key files of every platform this test file built. */
export function removeKeyDirectories(): void {
  for (const dir of keyDirectories.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface PlatformOverrides {
  readonly limits?: Partial<RuntimeSettings['limits']>;
  readonly tenancy?: RuntimeSettings['tenancy'];
  /** Replaces the event store of the processor and the query function (e.g. DynamoEventStore over a mock). */
  readonly store?: EventStore;
  /** Replaces the processor's encryption (e.g. KMS behind a mocked client). */
  readonly processorCrypto?: EnvelopeTenantCrypto;
  /** R-BILL-1: plans in place of the defaults (e.g. small limits). */
  readonly plans?: Partial<RuntimeSettings['plans']>;
  /** R-BILL-1: ingest counts the plan's monthly quota in this counter; none: no quota. */
  readonly eventCounter?: EventCounter;
}

export function testPlatform(overrides: PlatformOverrides = {}): TestPlatform {
  const dir = mkdtempSync(join(tmpdir(), 'lumiqo-handler-'));
  keyDirectories.push(dir);
  const settings: RuntimeSettings = {
    ...DEFAULT_RUNTIME_SETTINGS,
    tenancy: overrides.tenancy ?? DEFAULT_RUNTIME_SETTINGS.tenancy,
    limits: { ...DEFAULT_RUNTIME_SETTINGS.limits, ...overrides.limits },
    plans: { ...DEFAULT_RUNTIME_SETTINGS.plans, ...overrides.plans },
  };
  const clock = new ManualClock(NOW);
  const directory = new MemoryTenantDirectory(clock);
  const store = overrides.store ?? new MemoryEventStore();
  const payloads = new MemoryPayloadStore();
  const crypto = new EnvelopeTenantCrypto(new LocalKeyringProvider(dir));
  const keys = new LocalTenantKeyManager(dir, () => clock.now());
  const audit = new MemoryAuditLog();
  const publisher = new FlakyPublisher();
  const deadLetters = new RecordingDeadLetters();
  const requests = new MemoryPrivacyRequestStore();
  return {
    settings,
    clock,
    directory,
    publisher,
    store,
    payloads,
    audit,
    crypto,
    keys,
    deadLetters,
    requests,
    admin: createAdminHandler({ directory, keys, crypto, audit, settings, clock }),
    ingest: createIngestHandler({
      directory,
      publisher,
      crypto,
      settings,
      clock,
      ...(overrides.eventCounter ? { quota: new EventQuota({ counter: overrides.eventCounter, settings, clock }) } : {}),
    }),
    query: createQueryHandler({ directory, clock, tenantScoped: async () => ({ store, payloads, crypto }) }),
    processor: createProcessorHandler({
      directory,
      store,
      payloads,
      crypto: overrides.processorCrypto ?? crypto,
      requests,
      settings,
      clock,
      deadLetters,
    }),
  };
}

export interface RequestOptions {
  readonly body?: string | object;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** The IAM principal API Gateway verified; `null` for none. @default OPERATOR_ARN */
  readonly operator?: string | null;
  readonly base64?: boolean;
}

/** An API Gateway REST proxy event for one route of lambdas/shared/routes.ts. */
export function apiRequest(method: string, resource: string, options: RequestOptions = {}): APIGatewayProxyEvent {
  const params = options.pathParameters ?? {};
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  const text = options.body === undefined ? null : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const operator = options.operator === undefined ? OPERATOR_ARN : options.operator;
  const event = {
    httpMethod: method,
    resource,
    path,
    body: text !== null && options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text,
    isBase64Encoded: options.base64 ?? false,
    headers: { 'Content-Type': 'application/json', 'User-Agent': 'curl/8.5.0', 'X-Forwarded-For': '203.0.113.77', ...options.headers },
    multiValueHeaders: {},
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      httpMethod: method,
      resourcePath: resource,
      path: `/v1${path}`,
      stage: 'v1',
      identity: { sourceIp: '203.0.113.77', userAgent: 'curl/8.5.0', userArn: operator, caller: null },
    },
  };
  return event as unknown as APIGatewayProxyEvent;
}

export const bearer = (apiKey: string) => ({ Authorization: `Bearer ${apiKey}` });

/** Answers 201 with the created tenant, or fails the test. */
export async function createTenant(platform: TestPlatform, tenantId: string, extra: object = {}): Promise<void> {
  const answer = await platform.admin(apiRequest('POST', '/v1/admin/tenants', { body: { tenantId, name: `Tenant ${tenantId}`, ...extra } }));
  if (answer.statusCode !== 201) throw new Error(`tenant ${tenantId}: ${answer.statusCode} ${answer.body}`);
}

/** R-SEC-5: a key with every scope unless the test names fewer (the platform's own default is ingest only). */
export async function issueKey(platform: TestPlatform, tenantId: string, scopes: readonly string[] = API_KEY_SCOPES): Promise<{ keyId: string; apiKey: string }> {
  const answer = await platform.admin(apiRequest('POST', '/v1/admin/tenants/{tenantId}/api-keys', { pathParameters: { tenantId }, body: { scopes } }));
  if (answer.statusCode !== 201) throw new Error(`api key for ${tenantId}: ${answer.statusCode} ${answer.body}`);
  return JSON.parse(answer.body) as { keyId: string; apiKey: string };
}

/** A tenant with one API key. */
export async function tenantWithKey(platform: TestPlatform, tenantId: string, extra: object = {}): Promise<string> {
  await createTenant(platform, tenantId, extra);
  return (await issueKey(platform, tenantId)).apiKey;
}

export const postEvents = (platform: TestPlatform, apiKey: string, body: string | object, headers: Record<string, string> = {}) =>
  platform.ingest(apiRequest('POST', '/v1/events', { body, headers: { ...bearer(apiKey), ...headers } }));

let sequence = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

/** A Kinesis event as Lambda's event source mapping delivers it; each record gets a fresh sequence number. */
export function kinesisEvent(records: readonly { readonly data: Uint8Array | string; readonly partitionKey: string }[]): KinesisStreamEvent {
  return {
    Records: records.map(({ data, partitionKey }): KinesisStreamRecord => {
      const sequenceNumber = String(sequence++);
      return {
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000000:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::111122223333:role/processor',
        awsRegion: 'eu-west-1',
        eventSourceARN: 'arn:aws:kinesis:eu-west-1:111122223333:stream/lumiqo-events',
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey,
          sequenceNumber,
          data: Buffer.from(data).toString('base64'),
          approximateArrivalTimestamp: NOW.getTime() / 1000,
        },
      };
    }),
  };
}

/**
 * What Lambda sends next after a partial failure: the batch again from the lowest failed sequence number on
 * (the event source mapping checkpoints just before it).
 */
export function redelivery(event: KinesisStreamEvent, response: KinesisStreamBatchResponse): KinesisStreamEvent {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const first = event.Records.findIndex((r) => failed.has(r.kinesis.sequenceNumber));
  return { Records: first < 0 ? [] : event.Records.slice(first) };
}

/** The stream records of what ingest published (partition key = tenant id), as the processor receives them. */
export const recordsOf = (envelopes: readonly StreamEnvelope[]) =>
  envelopes.map((envelope) => ({ data: JSON.stringify(envelope), partitionKey: envelope.tenantId }));

/** Delivers everything published so far (and not yet delivered) to the processor as one batch. */
export async function deliverPublished(platform: TestPlatform) {
  const pending = platform.publisher.published.splice(0);
  return platform.processor(kinesisEvent(recordsOf(pending)));
}

/** Ingests `events` with the key and runs the processor over what was published. */
export async function ingestAndProcess(platform: TestPlatform, apiKey: string, events: readonly object[]): Promise<string[]> {
  const answer = await postEvents(platform, apiKey, { events });
  if (answer.statusCode !== 202) throw new Error(`ingest: ${answer.statusCode} ${answer.body}`);
  const { batchItemFailures } = await deliverPublished(platform);
  if (batchItemFailures.length > 0) throw new Error(`processor: ${batchItemFailures.length} records failed`);
  return (JSON.parse(answer.body) as { eventIds: string[] }).eventIds;
}

/**
 * Issue 2: every error answer is JSON `{ error: { code, message } }` with a stable code and no stack trace.
 * Returns the error object for further checks.
 */
export function expectErrorAnswer(
  answer: APIGatewayProxyResult,
  status: number,
  code: ErrorCode,
): { code: string; message: string; details?: { path: string; message: string }[] } {
  expect({ status: answer.statusCode, body: answer.body }).toEqual({ status, body: expect.any(String) });
  expect(answer.headers?.['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body) as { error: { code: string; message: string; details?: { path: string; message: string }[] } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
  expect(Object.keys(body.error).every((key) => ['code', 'message', 'details'].includes(key))).toBe(true);
  // No stack frame ("    at fn (file.ts:1:2)") and no file path leaks into the answer.
  expect(answer.body).not.toMatch(/\bat .+:\d+:\d+|\.ts\b|node_modules/);
  return body.error;
}

export const bodyOf = <T = Record<string, unknown>>(answer: APIGatewayProxyResult): T => JSON.parse(answer.body) as T;
