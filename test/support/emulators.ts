/**
 * Local AWS-compatible services for tests, in-process on 127.0.0.1 with free ports: dynalite (DynamoDB,
 * in memory), kinesalite (Kinesis, in memory) and s3rver (S3, in a temporary directory). Tables come from
 * `TABLES` (the shapes CDK deploys), plus one stream and one bucket.
 *
 *   const env = await startEmulators();            // in beforeAll
 *   const clients = createAwsClients(env.clients); // lambdas/adapters/clients.ts
 *   new DynamoEventStore(clients.dynamo, env.tables.tenantData);
 *   await env.close();                             // in afterAll
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsClientsConfig } from '../../lambdas/adapters/clients';
import { TABLES, type TableShape } from '../../lambdas/shared/tables';

/* The three emulators ship no type declarations; these are the parts used here. */
type ServerFactory = (options: Record<string, number>) => Server;
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const dynalite = require('dynalite') as ServerFactory;
const kinesalite = require('kinesalite') as ServerFactory;
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

export interface Emulators {
  /** Ready for `createAwsClients(...)`: endpoints, region and the credentials s3rver insists on. */
  readonly clients: AwsClientsConfig & Required<Pick<AwsClientsConfig, 'region' | 'credentials' | 'endpoints'>>;
  /** Physical table names, by the keys of `TABLES`. */
  readonly tables: { readonly [K in keyof typeof TABLES]: string };
  readonly stream: string;
  readonly bucket: string;
  /** Stops the three servers and removes the S3 directory. */
  close(): Promise<void>;
}

const REGION = 'us-east-1';
// s3rver accepts only these; dynalite and kinesalite accept anything.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startEmulators(prefix = 'lumiqo-test'): Promise<Emulators> {
  const tables = { control: `${prefix}-Control`, tenantData: `${prefix}-TenantData`, audit: `${prefix}-Audit` };
  const stream = `${prefix}-events`;
  const bucket = `${prefix}-payloads`;

  const dynamoServer = await listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
  const kinesisServer = await listen(kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 }));
  const s3Directory = await mkdtemp(join(tmpdir(), 'lumiqo-s3-'));
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Directory, configureBuckets: [{ name: bucket }] });
  const s3Address = await s3.run();

  const clients = {
    region: REGION,
    credentials: CREDENTIALS,
    forcePathStyle: true,
    endpoints: { dynamodb: urlOf(dynamoServer), kinesis: urlOf(kinesisServer), s3: `http://127.0.0.1:${s3Address.port}` },
  };
  const close = async () => {
    await Promise.all([closeServer(dynamoServer), closeServer(kinesisServer), s3.close()]);
    await rm(s3Directory, { recursive: true, force: true });
  };
  try {
    const dynamo = new DynamoDBClient({ region: REGION, credentials: CREDENTIALS, endpoint: clients.endpoints.dynamodb });
    await Promise.all(Object.entries(TABLES).map(([key, shape]) => createTable(dynamo, tables[key as keyof typeof TABLES], shape)));
    const kinesis = new KinesisClient({
      region: REGION,
      credentials: CREDENTIALS,
      endpoint: clients.endpoints.kinesis,
      requestHandler: new NodeHttpHandler(),
    });
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await until(async () => {
      const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
    });
    dynamo.destroy();
    kinesis.destroy();
  } catch (error) {
    await close();
    throw error;
  }
  return { clients, tables, stream, bucket, close };
}

async function createTable(dynamo: DynamoDBClient, name: string, shape: TableShape): Promise<void> {
  const attributes = new Set([shape.partitionKey, shape.sortKey, ...shape.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: shape.partitionKey, KeyType: 'HASH' },
        { AttributeName: shape.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes:
        shape.indexes.length === 0
          ? undefined
          : shape.indexes.map((index) => ({
              IndexName: index.name,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' },
                { AttributeName: index.sortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            })),
    }),
  );
  await until(async () => (await dynamo.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus === 'ACTIVE');
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
