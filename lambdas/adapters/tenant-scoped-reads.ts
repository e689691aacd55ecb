/**
 * R-SEC-4: tenant data read only with credentials of the tenant read role, assumed per tenant with a `tenantId`
 * session tag; the calling function's own role reads none of it. The query function's read routes and the AI
 * function's tools both read through here, so they share one read path and one set of IAM conditions.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Tenant } from '../domain/model';
import type { TenantReadDeps } from '../domain/queries';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { clientConfig, type AwsClientsConfig } from './client-config';
import { createDocumentClient } from './dynamo-client';
import { DynamoEventStore } from './dynamo-event-store';
import { EnvelopeTenantCrypto, KmsKeyringProvider, LocalKeyringProvider } from './envelope-crypto';
import { createKmsClient } from './kms-client';
import { createS3Client } from './s3-client';
import { S3PayloadStore } from './s3-payload-store';

/** Tenant sessions are renewed this long before they expire. */
const SESSION_RENEW_MS = 5 * 60_000;
/** The shortest session IAM allows; one request at a time uses it. */
const SESSION_SECONDS = 3600;

export type TenantScopedReads = (tenant: Pick<Tenant, 'tenantId'>) => Promise<TenantReadDeps>;

/** The tenant-scoped read adapters of a function that declares `tenantRead`. */
export function tenantScopedReadsOf(c: Composition): TenantScopedReads {
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
    return async () => local;
  }

  const roleArn = c.env.value('tenantRead', ENV.tenantReadRoleArn);
  const sts = new STSClient(clientConfig(c.clients, 'sts'));
  const sessions = new Map<string, { deps: TenantReadDeps; renewAt: number }>();
  return async (tenant) => {
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
  };
}
