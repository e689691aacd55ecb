/**
 * Local AWS-compatible services for tests, in-process on 127.0.0.1 with free ports: dynalite (DynamoDB,
 * in memory), kinesalite (Kinesis, in memory) and s3rver (S3, in a temporary directory). The tables (keys,
 * indexes) are those of the template CDK synthesizes, as in the local runtime (bin/local/schema.ts), named
 * `<prefix>-<table>`; plus one stream and one bucket.
 *
 *   const env = await startEmulators();            // in beforeAll
 *   const clients = createAwsClients(env.clients); // lambdas/adapters/clients.ts
 *   new DynamoEventStore(clients.dynamo, env.tables.tenantData);
 *   await env.close();                             // in afterAll
 */
import type { AwsClientsConfig } from '../../lambdas/adapters/clients';
import { TABLES } from '../../lambdas/shared/tables';
import { provision, startEmulators as startLocalEmulators, type DynaliteStore } from '../../bin/local/emulators';
import { localDeployment, type LocalTable } from '../../bin/local/schema';

export interface Emulators {
  /** Ready for `createAwsClients(...)`: endpoints, region and the credentials s3rver insists on. */
  readonly clients: AwsClientsConfig & Required<Pick<AwsClientsConfig, 'region' | 'credentials' | 'endpoints'>>;
  /** Physical table names, by the keys of `TABLES`. */
  readonly tables: { readonly [K in keyof typeof TABLES]: string };
  readonly stream: string;
  readonly bucket: string;
  /** dynalite's store, for writing items straight into it (the bench's 1M-event seeding only). */
  readonly dynamoStore: DynaliteStore;
  /** Stops the three servers and removes the S3 directory. */
  close(): Promise<void>;
}

/** Which physical table of the deployment each key of TABLES is (the functions' environment says). */
const DEPLOYED_NAME = { control: 'controlTable', tenantData: 'dataTable', audit: 'auditTable' } as const;

export async function startEmulators(prefix = 'lumiqo-test'): Promise<Emulators> {
  const deployment = localDeployment();
  const tables = { control: `${prefix}-Control`, tenantData: `${prefix}-TenantData`, audit: `${prefix}-Audit` };
  const stream = `${prefix}-events`;
  const bucket = `${prefix}-payloads`;
  const renamed: LocalTable[] = (Object.keys(tables) as (keyof typeof TABLES)[]).map((key) => {
    const synthesized = deployment.tables.find((t) => t.name === deployment.names[DEPLOYED_NAME[key]]);
    if (!synthesized) throw new Error(`The synthesized template has no ${key} table`);
    return { ...synthesized, name: tables[key], create: { ...synthesized.create, TableName: tables[key] } };
  });

  const emulators = await startLocalEmulators();
  try {
    await provision(emulators.clients, { tables: renamed, streams: [{ name: stream, shardCount: 1 }], buckets: [bucket] });
  } catch (error) {
    await emulators.close();
    throw error;
  }
  return { clients: emulators.clients, tables, stream, bucket, dynamoStore: emulators.dynamoStore, close: () => emulators.close() };
}
