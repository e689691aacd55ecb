/** The privacy function's adapters, from its declared environment (function.ts). */
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf } from '../adapters/envelope-crypto';
import { exportsOf, recordsOf } from '../adapters/s3-document-store';
import { workflowStarterOf } from '../adapters/sfn-workflow-starter';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { PRIVACY } from './function';
import type { PrivacyDeps } from './handler';

export function composePrivacy(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): PrivacyDeps {
  const c = new Composition(PRIVACY, env, runtime);
  return {
    directory: tenantDirectoryOf(c),
    requests: privacyRequestsOf(c),
    crypto: tenantCryptoOf(c),
    audit: auditLogOf(c),
    workflows: workflowStarterOf(c),
    exports: exportsOf(c),
    records: recordsOf(c),
    settings: c.settings,
    clock: c.clock,
  };
}
