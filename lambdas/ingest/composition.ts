/** The ingest function's adapters, from its declared environment (function.ts). */
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { eventCounterOf } from '../adapters/dynamo-event-counter';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf } from '../adapters/envelope-crypto';
import { kinesisOf } from '../adapters/kinesis-client';
import { KinesisEventPublisher } from '../adapters/kinesis-event-publisher';
import { workflowStarterOf } from '../adapters/sfn-workflow-starter';
import { EventQuota } from '../domain/plan-limits';
import { PrivacyRequestIntake } from '../domain/privacy-requests';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { logger } from '../shared/logger';
import { ENV } from '../shared/settings';
import { INGEST } from './function';
import type { IngestDeps } from './handler';

export function composeIngest(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): IngestDeps {
  const c = new Composition(INGEST, env, runtime);
  const deps = { directory: tenantDirectoryOf(c), crypto: tenantCryptoOf(c), settings: c.settings, clock: c.clock };
  return {
    ...deps,
    publisher: new KinesisEventPublisher(kinesisOf(c), c.env.value('stream', ENV.eventStream)),
    // R-BILL-1: the plan's monthly event quota, counted in the Control table (lambdas/domain/plan-limits.ts).
    quota: new EventQuota({
      counter: eventCounterOf(c),
      settings: c.settings,
      clock: c.clock,
      onCounterError: (error) => logger.warn('event quota counter update failed; admitted on local counts', { errorName: (error as Error)?.name }),
    }),
    // R-DSR-6: Shopify's GDPR webhooks open data-subject requests, in Lambda as locally.
    privacy: new PrivacyRequestIntake({ ...deps, requests: privacyRequestsOf(c), audit: auditLogOf(c), workflows: workflowStarterOf(c) }),
  };
}
