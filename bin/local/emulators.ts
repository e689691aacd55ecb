/**
 * The AWS-compatible emulators, in-process on 127.0.0.1 with free ports: dynalite (DynamoDB), kinesalite
 * (Kinesis) and s3rver (S3). In memory by default; under `dataDir` their data survives a restart. Resources are
 * provisioned from a LocalDeployment (read from the synthesized templates), idempotently, so a restart over an
 * existing data directory finds its tables, stream and buckets in place.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, IncreaseStreamRetentionPeriodCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsClientsConfig } from '../../lambdas/adapters/clients';
import type { LocalStream, LocalTable } from './schema';

/* The three emulators ship no type declarations; these are the parts used here. */
type ServerFactory = (options: Record<string, unknown>) => Server;
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const dynalite = require('dynalite') as ServerFactory;
/** dynalite's storage module, which the server factory calls `create` on once to build its store. */
const dynaliteDb = require('dynalite/db') as { create: (options: Record<string, unknown>) => DynaliteStore };
const kinesalite = require('kinesalite') as ServerFactory;
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

/**
 * The parts of dynalite's store (`dynalite/db`'s `create`) that writing items straight into its storage needs:
 * the bench's 1M-event seeding (test/bench/dynalite-seed.ts). Nothing on the request path uses it.
 */
export interface DynaliteStore {
  /** The level database under every sub-database: keys `<sub-database>~<key>`, strings. */
  readonly db: { keys(range: { readonly gte: string; readonly lt: string }): { nextv(size: number): Promise<string[]>; close(): Promise<void> } };
  getTable(name: string, callback: (error: Error | null, table?: DynaliteTable) => void): void;
  /** The table's items, keyed by `createKey(item, table)`. */
  getItemDb(table: string): DynaliteSubDb;
  /** A secondary index's entries, keyed by `createIndexKey`; `type` is `Local` or `Global`, as dynalite passes it. */
  getIndexDb(type: string, table: string, index: string): DynaliteSubDb;
}

/** A table as dynalite keeps it: its CreateTable description. */
export interface DynaliteTable {
  readonly TableName: string;
  readonly KeySchema: readonly { readonly AttributeName: string; readonly KeyType: string }[];
  readonly AttributeDefinitions: readonly { readonly AttributeName: string; readonly AttributeType: string }[];
  readonly GlobalSecondaryIndexes?: readonly unknown[];
  readonly LocalSecondaryIndexes?: readonly unknown[];
}

/** One key prefix of dynalite's level database (values JSON-encoded). */
export interface DynaliteSubDb {
  batch(operations: readonly { readonly type: 'put'; readonly key: string; readonly value: unknown }[], callback: (error?: Error | null) => void): void;
  get(key: string, callback: (error: (Error & { name: string }) | null, value?: unknown) => void): void;
}

export type EmulatorClients = AwsClientsConfig & Required<Pick<AwsClientsConfig, 'region' | 'credentials' | 'endpoints'>>;

export interface RunningEmulators {
  /** Ready for `createAwsClients(...)`: endpoints, region and the credentials s3rver insists on. */
  readonly clients: EmulatorClients;
  /** The store behind the DynamoDB endpoint, for writing items directly (see DynaliteStore). */
  readonly dynamoStore: DynaliteStore;
  close(): Promise<void>;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
// s3rver accepts only these; dynalite and kinesalite accept anything.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Starts the three emulators; with `dataDir`, dynalite, kinesalite and s3rver keep their data under it. */
export async function startEmulators(dataDir?: string): Promise<RunningEmulators> {
  const under = (name: string) => {
    if (!dataDir) return undefined;
    const dir = join(dataDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const dynamoPath = under('dynamodb');
  const kinesisPath = under('kinesis');
  // s3rver always needs a directory: a temporary one in memory mode, removed on close.
  const s3Directory = under('s3') ?? (await mkdtemp(join(tmpdir(), 'lumiqo-s3-')));

  const started: (() => Promise<void>)[] = [];
  const close = async () => {
    await Promise.all(started.map((stop) => stop()));
    if (!dataDir) await rm(s3Directory, { recursive: true, force: true });
  };
  try {
    const dynamo = dynaliteWithStore({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dynamoPath ? { path: dynamoPath } : {}) });
    const dynamoServer = await listen(dynamo.server);
    started.push(() => closeServer(dynamoServer));
    const kinesisServer = await listen(kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, ...(kinesisPath ? { path: kinesisPath } : {}) }));
    started.push(() => closeServer(kinesisServer));
    const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Directory });
    const s3Address = await s3.run();
    started.push(() => s3.close());
    return {
      clients: {
        region: LOCAL_REGION,
        credentials: CREDENTIALS,
        forcePathStyle: true,
        endpoints: { dynamodb: urlOf(dynamoServer), kinesis: urlOf(kinesisServer), s3: `http://127.0.0.1:${s3Address.port}` },
      },
      dynamoStore: dynamo.store,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A dynalite server and the store it serves. dynalite keeps its store private: the factory calls
 * `dynalite/db`'s `create` once, synchronously, so that call is observed for the duration of the factory call
 * only, and the store it returns kept.
 */
function dynaliteWithStore(options: Record<string, unknown>): { server: Server; store: DynaliteStore } {
  const create = dynaliteDb.create;
  let store: DynaliteStore | undefined;
  dynaliteDb.create = (storeOptions) => (store = create(storeOptions));
  let server: Server;
  try {
    server = dynalite(options);
  } finally {
    dynaliteDb.create = create;
  }
  if (!store) throw new Error('dynalite built no store through dynalite/db');
  return { server, store };
}

export interface ProvisionRequest {
  readonly tables: readonly LocalTable[];
  readonly streams: readonly LocalStream[];
  readonly buckets: readonly string[];
}

/** Creates what is missing; what exists (a restart over a data directory) is kept as it is. */
export async function provision(clients: EmulatorClients, request: ProvisionRequest): Promise<void> {
  const base = { region: clients.region, credentials: clients.credentials };
  const dynamo = new DynamoDBClient({ ...base, endpoint: clients.endpoints.dynamodb });
  const kinesis = new KinesisClient({ ...base, endpoint: clients.endpoints.kinesis, requestHandler: new NodeHttpHandler() });
  const s3 = new S3Client({ ...base, endpoint: clients.endpoints.s3, forcePathStyle: true });
  try {
    await Promise.all([
      ...request.tables.map((table) => createTable(dynamo, table)),
      ...request.streams.map((stream) => createStream(kinesis, stream)),
      ...request.buckets.map((bucket) => createBucket(s3, bucket)),
    ]);
  } finally {
    dynamo.destroy();
    kinesis.destroy();
    s3.destroy();
  }
}

const isNamed = (error: unknown, name: string) => (error as { name?: string })?.name === name;

async function createTable(dynamo: DynamoDBClient, table: LocalTable): Promise<void> {
  try {
    await dynamo.send(new CreateTableCommand(table.create));
  } catch (error) {
    if (!isNamed(error, 'ResourceInUseException')) throw error;
  }
  // dynalite has no UpdateTimeToLive: the TTL sweeper does what DynamoDB's TTL process would (see ttl-sweeper.ts).
  await until(async () => (await dynamo.send(new DescribeTableCommand({ TableName: table.name }))).Table?.TableStatus === 'ACTIVE');
}

async function createStream(kinesis: KinesisClient, stream: LocalStream): Promise<void> {
  let created = true;
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: stream.name, ShardCount: stream.shardCount }));
  } catch (error) {
    if (!isNamed(error, 'ResourceInUseException')) throw error;
    created = false;
  }
  const summary = async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream.name }))).StreamDescriptionSummary;
  await until(async () => (await summary())?.StreamStatus === 'ACTIVE');
  if (created && stream.retentionHours && stream.retentionHours > 24) {
    await kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: stream.name, RetentionPeriodHours: stream.retentionHours }));
    await until(async () => (await summary())?.StreamStatus === 'ACTIVE');
  }
}

async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Polls until `ready()` holds (emulators flip to ACTIVE on their next tick). */
async function until(ready: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error('Emulator resource did not become ACTIVE in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function closeServer(server: Server): Promise<void> {
  // Idle keep-alive sockets of SDK clients would hold close() open.
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
