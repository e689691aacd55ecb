/** The processor's adapters, from its declared environment (function.ts). */
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { eventStoreOf } from '../adapters/dynamo-event-store';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf } from '../adapters/envelope-crypto';
import { payloadStoreOf } from '../adapters/s3-payload-store';
import { deadLetterSinkOf } from '../adapters/sqs-dead-letters';
import { usageMarksOf } from '../adapters/dynamo-usage-ledger';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { PROCESSOR } from './function';
import type { ProcessorDeps } from './handler';

export function composeProcessor(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): ProcessorDeps {
  const c = new Composition(PROCESSOR, env, runtime);
  return {
    directory: tenantDirectoryOf(c),
    store: eventStoreOf(c),
    payloads: payloadStoreOf(c),
    crypto: tenantCryptoOf(c),
    requests: privacyRequestsOf(c),
    deadLetters: deadLetterSinkOf(c),
    usage: usageMarksOf(c),
    settings: c.settings,
    clock: c.clock,
  };
}
