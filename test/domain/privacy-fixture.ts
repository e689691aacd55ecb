/**
 * The privacy tests' world: the memory twins of every store, the real envelope encryption (local AES keyring in a
 * temporary directory), a real ECDSA P-256 signer, and the real stream processor, so stored events carry the
 * subject hashes the processor computes. `runWorkflow` drives a request's tasks the way its state machine does
 * (lib/constructs/privacy-workflows.ts: loops until `done`, erasure's three verification passes, the Catch into
 * record-failure), without Step Functions.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvelopeTenantCrypto, LocalKeyringProvider, LocalTenantKeyManager } from '../../lambdas/adapters/envelope-crypto';
import {
  MemoryAuditLog,
  MemoryBillingLedger,
  MemoryDocumentStore,
  MemoryEventStore,
  MemoryPayloadStore,
  MemoryPrivacyRequestStore,
  MemoryTenantDirectory,
  RecordingWorkflowStarter,
} from '../../lambdas/adapters/memory';
import { Administration } from '../../lambdas/domain/administration';
import type { PlatformEvent, StreamEnvelope } from '../../lambdas/domain/model';
import type { DocumentSigner } from '../../lambdas/domain/ports';
import type { SubjectWorkflowState } from '../../lambdas/domain/privacy';
import { PrivacyRequests } from '../../lambdas/domain/privacy-requests';
import { StreamProcessing, SUBJECT_KEY_PURPOSE } from '../../lambdas/domain/processing';
import { SubjectRequestTasks } from '../../lambdas/domain/subject-requests';
import { Termination } from '../../lambdas/domain/termination';
import { TerminationTasks, type TerminationTaskDeps } from '../../lambdas/domain/termination-tasks';
import { DEFAULT_BACKUP_FACTS } from '../../lambdas/domain/deletion-records';
import { hashSubject } from '../../lambdas/domain/subjects';
import { DEFAULT_RUNTIME_SETTINGS, type RuntimeSettings } from '../../lambdas/domain/settings';
import { ManualClock } from '../support/manual-clock';

export { ManualClock };

/** The same instant and operator as the handler fixtures (test/handler/fixtures.ts), which pull in every handler. */
export const NOW = new Date('2026-03-02T10:00:00.000Z');
export const OPERATOR_ARN = 'arn:aws:iam::111122223333:user/operator';

/** ECDSA P-256 over SHA-256, DER signatures: what the KMS and local signers produce. */
export class TestDocumentSigner implements DocumentSigner {
  readonly keyId = 'local:test-signer';
  private readonly pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  async sign(message: Uint8Array) {
    const signature = sign('sha256', message, { key: this.pair.privateKey, dsaEncoding: 'der' });
    return { keyId: this.keyId, algorithm: 'ECDSA_SHA_256' as const, signature: signature.toString('base64') };
  }

  async publicKeyPem(): Promise<string> {
    return this.pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
}

export interface PrivacyWorld {
  readonly settings: RuntimeSettings;
  readonly clock: ManualClock;
  readonly directory: MemoryTenantDirectory;
  readonly store: MemoryEventStore;
  readonly payloads: MemoryPayloadStore;
  readonly audit: MemoryAuditLog;
  /** The local keyring's directory (a fresh keyring over it sees exactly the key files that exist). */
  readonly keyDir: string;
  readonly crypto: EnvelopeTenantCrypto;
  readonly keys: LocalTenantKeyManager;
  readonly requests: MemoryPrivacyRequestStore;
  readonly exports: MemoryDocumentStore;
  readonly records: MemoryDocumentStore;
  readonly signer: TestDocumentSigner;
  readonly workflows: RecordingWorkflowStarter;
  readonly processing: StreamProcessing;
  readonly privacy: PrivacyRequests;
  readonly tasks: SubjectRequestTasks;
}

const keyDirectories: string[] = [];

/** Call from `afterAll`. */
export function removePrivacyKeyDirectories(): void {
  for (const dir of keyDirectories.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function privacyWorld(limits: Partial<RuntimeSettings['limits']> = {}): PrivacyWorld {
  const dir = mkdtempSync(join(tmpdir(), 'lumiqo-privacy-'));
  keyDirectories.push(dir);
  const settings: RuntimeSettings = { ...DEFAULT_RUNTIME_SETTINGS, limits: { ...DEFAULT_RUNTIME_SETTINGS.limits, ...limits } };
  const clock = new ManualClock(NOW);
  const base = {
    settings,
    clock,
    keyDir: dir,
    directory: new MemoryTenantDirectory(clock),
    store: new MemoryEventStore(),
    payloads: new MemoryPayloadStore(),
    audit: new MemoryAuditLog(),
    crypto: new EnvelopeTenantCrypto(new LocalKeyringProvider(dir)),
    keys: new LocalTenantKeyManager(dir, () => clock.now()),
    requests: new MemoryPrivacyRequestStore(),
    exports: new MemoryDocumentStore('exports', clock),
    records: new MemoryDocumentStore('records', clock),
    signer: new TestDocumentSigner(),
    workflows: new RecordingWorkflowStarter(),
  };
  return {
    ...base,
    processing: new StreamProcessing(base),
    privacy: new PrivacyRequests(base),
    tasks: new SubjectRequestTasks(base),
  };
}

/** The privacy world with what a termination also touches: the billing ledger, the termination service and its tasks. */
export function terminationWorld(options: {
  readonly limits?: Partial<RuntimeSettings['limits']>;
  readonly batching?: TerminationTaskDeps['batching'];
  readonly backupFacts?: TerminationTaskDeps['backupFacts'];
} = {}) {
  const world = privacyWorld(options.limits);
  const deps: TerminationTaskDeps = {
    ...world,
    ledger: new MemoryBillingLedger(),
    // R-TERM-1: the stream, as the processor would take it: the drain marker is stored at once.
    publisher: {
      // A processor of its own, so the world's processor caches nothing of the frozen tenant.
      publish: async (envelopes) => void (await new StreamProcessing(world).processBatch(envelopes.map((e) => ({ id: e.eventId, data: Buffer.from(JSON.stringify(e)) })))),
    },
    backupFacts: options.backupFacts ?? DEFAULT_BACKUP_FACTS,
    ...(options.batching ? { batching: options.batching } : {}),
  };
  return {
    ...world,
    ledger: deps.ledger as MemoryBillingLedger,
    deps,
    tasks: new TerminationTasks(deps),
    termination: new Termination(world),
    admin: new Administration(world),
  };
}

export async function createTenant(world: PrivacyWorld, tenantId: string, extra: object = {}): Promise<void> {
  await new Administration(world).createTenant(`operator:${OPERATOR_ARN}`, { tenantId, name: `Tenant ${tenantId}`, plan: 'business', ...extra });
}

/** An active API key for the tenant, as the admin function issues it; R-SEC-5: every scope unless named. */
export async function apiKeyFor(world: PrivacyWorld, tenantId: string, scopes: readonly string[] = ['ingest', 'read', 'privacy']): Promise<{ keyId: string; apiKey: string }> {
  return new Administration(world).issueApiKey(`operator:${OPERATOR_ARN}`, tenantId, { scopes });
}

/** Tenants acme and globex, each with an API key of every scope: the privacy handler tests' world. */
export async function twoTenantsWithKeys(world: PrivacyWorld): Promise<{ acmeKey: string; globexKey: string }> {
  await createTenant(world, 'acme');
  await createTenant(world, 'globex');
  return { acmeKey: (await apiKeyFor(world, 'acme')).apiKey, globexKey: (await apiKeyFor(world, 'globex')).apiKey };
}

let sequence = 0;

/** A generic event with these properties (identifiers go where the default subject paths find them). */
export const signup = (properties: Record<string, unknown>, extra: Partial<PlatformEvent> = {}): PlatformEvent =>
  ({ type: 'event', name: 'signup', timestamp: NOW.toISOString(), properties, ...extra }) as PlatformEvent;

/** Stores events through the real processor; returns their ids in order. */
export async function storeEvents(world: PrivacyWorld, tenantId: string, events: readonly PlatformEvent[]): Promise<string[]> {
  const envelopes: StreamEnvelope[] = events.map((event) => ({
    v: 1,
    tenantId,
    eventId: `ev_${String(++sequence).padStart(6, '0')}`,
    receivedAt: world.clock.now().toISOString(),
    event,
  }));
  const outcome = await world.processing.processBatch(envelopes.map((e, i) => ({ id: String(i), data: Buffer.from(JSON.stringify(e)) })));
  if (outcome.retry.length > 0 || outcome.rejected.length > 0) throw new Error(`processing failed: ${JSON.stringify(outcome)}`);
  return envelopes.map((e) => e.eventId);
}

/** The keyed hash the processor stores for an identifier of this tenant. */
export async function subjectHashOf(world: PrivacyWorld, tenantId: string, kind: string, value: string): Promise<string> {
  const tenant = (await world.directory.getTenant(tenantId))!;
  const key = await world.crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
  return hashSubject(key, kind, value);
}

/** Every event item of a tenant, quarantined ones included (what erasure must leave or take). */
export function eventIdsOf(world: PrivacyWorld, tenantId: string): string[] {
  return [...world.store.items.values()]
    .filter((item) => (item.pk as string).startsWith(`T#${tenantId}#EV#`))
    .map((item) => item.eventId as string)
    .sort();
}

/** Subject index entries of one subject. */
export function indexEntriesOf(world: PrivacyWorld, tenantId: string, subjectHash: string): string[] {
  return [...world.store.items.values()]
    .filter((item) => item.pk === `T#${tenantId}#S#${subjectHash}`)
    .map((item) => item.eventId as string)
    .sort();
}

/** The state the request's execution was started with. */
export function startedState(world: PrivacyWorld, requestId: string): SubjectWorkflowState {
  const start = world.workflows.starts.find((s) => s.executionName === requestId);
  if (!start) throw new Error(`no execution started for ${requestId}`);
  return start.input as SubjectWorkflowState;
}

const MAX_ITERATIONS = 10_000;

/**
 * Runs the request's workflow to its end, task by task, as its state machine would (minus Waits and retries).
 * A task error is caught as the Catch does: `$.error` set, then record-failure; the error is rethrown.
 */
export async function runWorkflow(world: PrivacyWorld, requestId: string): Promise<SubjectWorkflowState> {
  const t = world.tasks;
  let state = startedState(world, requestId);
  const loop = async (task: (s: SubjectWorkflowState) => Promise<SubjectWorkflowState>) => {
    for (let i = 0; i < MAX_ITERATIONS; i++) {
      state = await task(state);
      if (state.done) return;
    }
    throw new Error('loop did not finish');
  };
  try {
    switch (state.type) {
      case 'access':
        state = await t.common.locate(state);
        await loop((s) => t.access.exportRecords(s));
        state = await t.access.writeExportManifest(state);
        break;
      case 'erasure':
        for (;;) {
          state = await t.common.locate(state);
          await loop((s) => t.erasure.eraseRecords(s));
          state = await t.erasure.eraseExports(state);
          state = await t.erasure.verifyErasure(state);
          if (state.remaining === 0) break;
          if ((state.pass ?? 0) >= 3) {
            return await t.common.recordFailure({ ...state, error: { Error: 'ErasureIncomplete', Cause: 'records remain after 3 passes' } });
          }
        }
        state = await t.erasure.signDeletionRecord(state);
        break;
      case 'rectification':
        state = await t.common.locate(state);
        await loop((s) => t.rectification.rectifyRecords(s));
        break;
      case 'restriction':
        state = await t.restriction.restrict(state);
        state = await t.common.locate(state);
        await loop((s) => t.restriction.quarantineRecords(s));
        break;
      case 'lift-restriction':
        state = await t.restriction.liftRestriction(state);
        state = await t.common.locate(state);
        await loop((s) => t.restriction.releaseRecords(s));
        break;
      case 'consent':
        state = await t.consent.setConsent(state);
        break;
    }
    return await t.common.complete(state);
  } catch (error) {
    await t.common.recordFailure({ ...state, error: { Error: (error as Error).name, Cause: (error as Error).message } });
    throw error;
  }
}

/** Opens a request through the API path and runs its workflow; returns the request id. */
export async function openAndRun(world: PrivacyWorld, tenantId: string, body: object): Promise<string> {
  const tenant = (await world.directory.getTenant(tenantId))!;
  const { requestId } = await world.privacy.open('api-key:key_test', 'api', tenant, body);
  await runWorkflow(world, requestId);
  return requestId;
}
