/** The termination task function's adapters, from its declared environment (function.ts). */
import { documentSignerOf } from '../adapters/document-signers';
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { DynamoAiStore } from '../adapters/dynamo-ai-store';
import { dynamoOf } from '../adapters/dynamo-client';
import { billingLedgerOf } from '../adapters/dynamo-billing-ledger';
import { eventStoreOf } from '../adapters/dynamo-event-store';
import { privacyRequestsOf } from '../adapters/dynamo-privacy-requests';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf, tenantKeyManagerOf } from '../adapters/envelope-crypto';
import { exportsOf, recordsOf } from '../adapters/s3-document-store';
import { payloadStoreOf } from '../adapters/s3-payload-store';
import { eventPublisherOf } from '../adapters/kinesis-event-publisher';
import type { BackupFacts } from '../domain/deletion-records';
import type { TerminationTaskDeps } from '../domain/termination-tasks';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { ENV } from '../shared/settings';
import { TERMINATION_TASKS } from './function';

export function composeTerminationTasks(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): TerminationTaskDeps {
  const c = new Composition(TERMINATION_TASKS, env, runtime);
  return {
    directory: tenantDirectoryOf(c),
    store: eventStoreOf(c),
    payloads: payloadStoreOf(c),
    exports: exportsOf(c),
    records: recordsOf(c),
    requests: privacyRequestsOf(c),
    ledger: billingLedgerOf(c),
    publisher: eventPublisherOf(c),
    keys: tenantKeyManagerOf(c),
    crypto: tenantCryptoOf(c),
    signer: documentSignerOf(c),
    audit: auditLogOf(c),
    // R-TERM-3: the AI items are tenant data in the TenantData table (the purge's own grant covers them).
    ai: new DynamoAiStore(dynamoOf(c), c.env.value('tenantData', ENV.dataTable)),
    backupFacts: c.env.json<BackupFacts>('backupFacts', ENV.backupFacts),
    clock: c.clock,
  };
}
