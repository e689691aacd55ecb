/** The data-subject task function's adapters, from its declared environment (function.ts). */
import { documentSignerOf } from '../adapters/document-signers';
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { DynamoAiStore } from '../adapters/dynamo-ai-store';
import { dynamoOf } from '../adapters/dynamo-client';
import { eventStoreOf } from '../adapters/dynamo-event-store';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf } from '../adapters/envelope-crypto';
import { exportsOf, recordsOf } from '../adapters/s3-document-store';
import { payloadStoreOf } from '../adapters/s3-payload-store';
import { Composition } from '../shared/composition';
import type { BackupFacts } from '../domain/deletion-records';
import type { RuntimeOptions } from '../shared/environment';
import { ENV } from '../shared/settings';
import { PRIVACY_TASKS } from './function';
import type { PrivacyTaskDeps } from './handler';

export function composePrivacyTasks(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): PrivacyTaskDeps {
  const c = new Composition(PRIVACY_TASKS, env, runtime);
  return {
    directory: tenantDirectoryOf(c),
    requests: privacyRequestsOf(c),
    store: eventStoreOf(c),
    payloads: payloadStoreOf(c),
    crypto: tenantCryptoOf(c),
    audit: auditLogOf(c),
    exports: exportsOf(c),
    records: recordsOf(c),
    signer: documentSignerOf(c),
    backupFacts: c.env.json<BackupFacts>('backupFacts', ENV.backupFacts),
    // R-DSR-2: the AI conversations that drew on the subject's records (TenantData, within the erase grant).
    ai: new DynamoAiStore(dynamoOf(c), c.env.value('tenantData', ENV.dataTable)),
    settings: c.settings,
    clock: c.clock,
  };
}
