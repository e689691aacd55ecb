/**
 * The query function's adapters, from its declared environment (function.ts). R-SEC-4: tenant data is read only with
 * credentials of the tenant read role, assumed per tenant with a `tenantId` session tag; the function's own role
 * reads the control table and nothing else.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig, type AwsClientsConfig } from '../adapters/client-config';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoEventStore } from '../adapters/dynamo-event-store';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { EnvelopeTenantCrypto, KmsKeyringProvider, LocalKeyringProvider } from '../adapters/envelope-crypto';
import { createKmsClient } from '../adapters/kms-client';
import { createS3Client } from '../adapters/s3-client';
import { S3PayloadStore } from '../adapters/s3-payload-store';
import type { Tenant } from '../domain/model';
import type { TenantReadDeps } from '../domain/queries';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { ENV } from '../shared/settings';
import { QUERY } from './function';
import type { QueryDeps } from './handler';

/** Tenant sessions are renewed this long before they expire. */
const SESSION_RENEW_MS = 5 * 60_000;
/** The shortest session IAM allows; one request at a time uses it. */
const SESSION_SECONDS = 3600;

export function composeQuery(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): QueryDeps {
  const c = new Composition(QUERY, env, runtime);
  const dataTable = c.env.value('tenantRead', ENV.dataTable);
  const payloadBucket = c.env.value('tenantRead', ENV.payloadBucket);
  const readDeps = (clients: AwsClientsConfig, crypto: EnvelopeTenantCrypto): TenantReadDeps => ({
    store: new DynamoEventStore(createDocumentClient(clients), dataTable),
    payloads: new S3PayloadStore(createS3Client(clients), payloadBucket),
    crypto,
  });

  if (c.env.keyring === 'local') {
    // Local mode has no STS: reads use the platform's own credentials (README "Local mode").
    const local = readDeps(c.clients, new EnvelopeTenantCrypto(new LocalKeyringProvider(c.env.localKeyDir)));
    return { directory: tenantDirectoryOf(c), clock: c.clock, tenantScoped: async () => local };
  }

  const roleArn = c.env.value('tenantRead', ENV.tenantReadRoleArn);
  const sts = new STSClient(clientConfig(c.clients, 'sts'));
  const sessions = new Map<string, { deps: TenantReadDeps; renewAt: number }>();
  async function tenantScoped(tenant: Pick<Tenant, 'tenantId'>): Promise<TenantReadDeps> {
    const cached = sessions.get(tenant.tenantId);
    if (cached && cached.renewAt > Date.now()) return cached.deps;
    const session = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: `tenant-${tenant.tenantId}`.slice(0, 64),
        DurationSeconds: SESSION_SECONDS,
        // R-SEC-4: the tag every condition of the role's policies compares against.
        Tags: [{ Key: 'tenantId', Value: tenant.tenantId }],
      }),
    );
    const credentials = session.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.Expiration) throw new Error('AssumeRole returned no credentials');
    const scoped: AwsClientsConfig = {
      ...c.clients,
      credentials: { accessKeyId: credentials.AccessKeyId, secretAccessKey: credentials.SecretAccessKey, sessionToken: credentials.SessionToken },
    };
    const deps = readDeps(scoped, new EnvelopeTenantCrypto(new KmsKeyringProvider(createKmsClient(scoped))));
    sessions.set(tenant.tenantId, { deps, renewAt: credentials.Expiration.getTime() - SESSION_RENEW_MS });
    return deps;
  }
  return { directory: tenantDirectoryOf(c), clock: c.clock, tenantScoped };
}
