/** The ingest function's adapters, from its declared environment (function.ts). */
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf } from '../adapters/envelope-crypto';
import { kinesisOf } from '../adapters/kinesis-client';
import { KinesisEventPublisher } from '../adapters/kinesis-event-publisher';
import { workflowStarterOf } from '../adapters/sfn-workflow-starter';
import { PrivacyRequestIntake } from '../domain/privacy-requests';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { ENV } from '../shared/settings';
import { INGEST } from './function';
import type { IngestDeps } from './handler';

export function composeIngest(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): IngestDeps {
  const c = new Composition(INGEST, env, runtime);
  const deps = { directory: tenantDirectoryOf(c), crypto: tenantCryptoOf(c), settings: c.settings, clock: c.clock };
  return {
    ...deps,
    publisher: new KinesisEventPublisher(kinesisOf(c), c.env.value('stream', ENV.eventStream)),
    // R-DSR-6: Shopify's GDPR webhooks open data-subject requests, in Lambda as locally.
    privacy: new PrivacyRequestIntake({ ...deps, requests: privacyRequestsOf(c), audit: auditLogOf(c), workflows: workflowStarterOf(c) }),
  };
}
