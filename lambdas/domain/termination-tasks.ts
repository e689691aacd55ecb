/**
 * The termination state machine's tasks (R-TERM-1..6), one method per task state. Each takes the execution's state
 * and returns the next one; each is safe to run again (Step Functions retries a task whose answer was lost), and
 * each leaves an audit entry (R-SEC-6) and a step on the termination record.
 *
 * Order: freeze → (wait for the stream to drain) → flush billable usage → export (unless deletion was elected
 * immediately) → (30-day window) → purge every store → shred the tenant key → verify nothing is readable →
 * issue the signed certificate.
 */
import { DRAIN_MARKER_EVENT, drainMarkerId } from './drain-marker';
import type { AiStore } from './ai/ports';
import { objectKeys, tenantObjectPrefix } from './keys';
import { backupDates, signDeletionDocument, tenantRemainingCopies, type BackupFacts, type TenantDeletionCertificate } from './deletion-records';
import type { StoredEvent, Tenant } from './model';
import type {
  AuditLog,
  BillingLedger,
  Clock,
  DocumentSigner,
  DocumentStore,
  EventPublisher,
  EventStore,
  PayloadStore,
  PrivacyRequestStore,
  TenantCrypto,
  TenantDirectory,
  TenantKeyManager,
  TerminationBinding,
  UsageEntry,
} from './ports';
import {
  EXPORT_WINDOW_DAYS,
  PermanentTaskError,
  TerminationSuperseded,
  isBoundTo,
  type PrivacyStep,
  type TerminationRecord,
  type TerminationTask,
  type TerminationWorkflowState,
} from './privacy';
import { EARLIEST_TIMESTAMP_MS, MAX_FUTURE_MS } from './events';
import { decryptStoredEvent, exportLine, sha256Hex } from './export-lines';
import { minuteOf } from './rollups';

export const TERMINATION_ACTOR = 'system:termination-workflow';
export { DRAIN_MARKER_EVENT, drainMarkerId } from './drain-marker';
/** Events read per store call, in export and purge. */
export const TERMINATION_PAGE = 250;
/**
 * Pages per task invocation. A Standard execution's history stops at 25,000 events (about 3,000 loop turns), so
 * each turn must cover thousands of events for a large tenant to finish.
 */
export const PAGES_PER_CALL = 10;
/**
 * R-TERM-1..5: loop turns per execution. A Standard execution's history stops at 25,000 events; a turn is 7 (a task
 * state's 5, the loop's Choice 2), 19 with four retries. At the limit the loop goes on in a new execution of the
 * same machine with the same state, so no execution's history depends on the tenant's size.
 */
export const TURNS_PER_EXECUTION = 500;

const DAY_MS = 24 * 3600 * 1000;
const MINUTE_MS = 60_000;
/** Ingestion accepts timestamps from EARLIEST_TIMESTAMP_MS to MAX_FUTURE_MS ahead (domain/events.ts): rollup minutes lie within. */
const EARLIEST_MINUTE = minuteOf(new Date(EARLIEST_TIMESTAMP_MS).toISOString());
const EXPORT_FORMAT = 'application/x-ndjson: one JSON object per line {eventId, kind, name, timestamp, receivedAt, quarantined, event}';
/** The purge's phases, in order (R-TERM-3); the tenant record stays as the tombstone. */
const PURGE_PHASES = ['events', 'rollups', 'ai', 'objects', 'exports', 'requests', 'control', 'done'] as const;
type PurgePhase = (typeof PURGE_PHASES)[number];

/** R-TERM-6, R-SEC-6: what outlives the purge on purpose, as the certificate states it. */
export const RETAINED_AFTER_TERMINATION: readonly string[] = [
  'billing ledger: usage counts by kind and minute range, no event content; kept by law in its own table, out of reach of the service’s tenant-facing code (R-TERM-6)',
  'audit log: who did what and when, ids and counts only, no personal data; kept 12 months (R-SEC-6)',
  'tenant tombstone: tenant id, name, plan, creation date and status terminated; its key reference is destroyed',
  'termination record and this certificate',
];

type Crypto = TenantCrypto & { forgetKey?: (keyRef: string) => void };

export interface TerminationTaskDeps {
  readonly directory: TenantDirectory;
  readonly store: EventStore;
  readonly payloads: PayloadStore;
  /** Exports bucket (the tenant export, R-TERM-2). */
  readonly exports: DocumentStore;
  /** Records bucket (the certificate, R-TERM-5). */
  readonly records: DocumentStore;
  readonly requests: PrivacyRequestStore;
  readonly ledger: BillingLedger;
  /** The event stream: the drain marker goes there (R-TERM-1). */
  readonly publisher: EventPublisher;
  readonly keys: TenantKeyManager;
  /** With `forgetKey` (EnvelopeTenantCrypto), cached data keys of a shredded key are dropped at once. */
  readonly crypto: Crypto;
  readonly signer: DocumentSigner;
  readonly audit: AuditLog;
  /** R-AI-5, R-TERM-3: the AI assistant's conversations, usage and insights of the tenant. */
  readonly ai?: Pick<AiStore, 'purgeTenant'>;
  readonly backupFacts: BackupFacts;
  readonly clock: Clock;
  /** Store page size, pages per invocation, loop turns per execution. @default TERMINATION_PAGE, PAGES_PER_CALL, TURNS_PER_EXECUTION */
  readonly batching?: { readonly pageSize: number; readonly pagesPerCall: number; readonly turnsPerExecution?: number };
  /** R-TERM-2: how long the export stays offered (local runs and tests shorten it). @default EXPORT_WINDOW_DAYS */
  readonly exportWindowMs?: number;
}

type State = TerminationWorkflowState;
type Detail = Record<string, string | number | boolean>;

interface TaskOutcome {
  /** The next state; its `stage` names the task to run next (where a lost execution resumes). */
  readonly next: State;
  /** A loop turn: at the turn limit the loop continues in a new execution. */
  readonly loop?: boolean;
  readonly detail?: Detail;
  /** Loop turns that did not finish their stage leave no step on the record (it would grow with the data). */
  readonly step?: boolean;
  readonly patch?: Partial<Omit<TerminationRecord, 'tenantId' | 'steps'>>;
}

/** One events turn of the purge, written before it deletes anything (purgeEvents). */
interface PendingPurge {
  readonly turn: number;
  readonly ids: readonly string[];
  readonly counts: Readonly<Record<string, number>>;
}

/** Facts of one export part, kept in the exports bucket next to the parts until the manifest is written. */
interface PartFacts {
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
  readonly sha256: string;
}

export class TerminationTasks {
  private readonly pageSize: number;
  private readonly pagesPerCall: number;
  private readonly turnsPerExecution: number;

  constructor(private readonly deps: TerminationTaskDeps) {
    this.pageSize = deps.batching?.pageSize ?? TERMINATION_PAGE;
    this.pagesPerCall = deps.batching?.pagesPerCall ?? PAGES_PER_CALL;
    this.turnsPerExecution = deps.batching?.turnsPerExecution ?? TURNS_PER_EXECUTION;
  }

  /**
   * R-TERM-1..5: the first task of every execution binds the termination record to it. Accepted when the record
   * names this execution, the one that handed over to it (a continuation, a resume), or none yet (the first start);
   * every other execution of this termination is refused from then on. The newer of the input and the record's
   * checkpoint is where the execution starts.
   */
  async claim(state: State): Promise<State> {
    const own = executionOf(state);
    const binding = { terminationId: state.terminationId, executionIds: [own, ...(state.predecessor ? [state.predecessor.id] : [])], unbound: true };
    const record = await this.deps.requests.getTermination(state.tenantId);
    if (!record || !isBoundTo(record, binding)) throw new TerminationSuperseded(state.tenantId);
    await this.deps.requests.markTerminationOpen(state.tenantId, true);
    const from = record.checkpoint && (record.checkpoint.turn ?? 0) > (state.turn ?? 0) ? record.checkpoint : state;
    const { continue: _continue, predecessor: _predecessor, error: _error, turns: _turns, ...rest } = from;
    const next: State = { ...rest, execution: { id: own }, turns: 0 };
    // A continuation leaves no step (there is one per TURNS_PER_EXECUTION turns); a start or a resume does.
    const step: PrivacyStep | undefined = state.continue
      ? undefined
      : { name: 'claim', at: this.deps.clock.now().toISOString(), outcome: 'success', detail: { stage: next.stage ?? 'freeze', segment: next.segment ?? 0 } };
    await this.deps.requests.updateTermination(state.tenantId, step, { executionId: own }, binding);
    return next;
  }

  /** R-TERM-1: ingestion, reads and API keys answer `tenant_frozen` from now on. */
  async freeze(state: State): Promise<State> {
    return this.task('freeze', state, async () => {
      const tenant = await this.requireTenant(state);
      // A redelivered freeze after the certificate must not bring a terminated tenant back to frozen.
      if (tenant.status !== 'terminated') await this.deps.directory.setTenantStatus(tenant.tenantId, 'frozen');
      return { next: { ...state, stage: 'drain' }, detail: { previousStatus: tenant.status } };
    });
  }

  /**
   * R-TERM-1: the stream drain. The first call puts the marker into the stream (the state machine has waited out
   * the ingest function's timeout, so no request that saw the tenant active is still publishing); each later call
   * checks whether the processor has stored it, i.e. passed every record of the tenant accepted before the freeze.
   * No duration is guessed: the loop waits for the processor, however far behind it is.
   */
  async drainStream(state: State): Promise<State> {
    return this.task('drain-stream', state, async () => {
      const tenant = await this.requireTenant(state);
      const markerId = drainMarkerId(state.terminationId);
      if (!state.drain) {
        const at = this.deps.clock.now().toISOString();
        await this.deps.publisher.publish([{
          v: 1,
          tenantId: tenant.tenantId,
          eventId: markerId,
          receivedAt: at,
          event: { type: 'event', name: DRAIN_MARKER_EVENT, timestamp: at, properties: {} },
        }]);
        return { next: { ...state, drain: { markerId, putAt: at }, done: false, stage: 'drain' }, loop: true, step: false };
      }
      const passed = (await this.deps.store.getEvents(tenant.tenantId, [markerId])).length > 0;
      if (!passed) return { next: { ...state, done: false, stage: 'drain' }, loop: true, step: false };
      return { next: { ...state, done: true, stage: 'flush' }, detail: { drained: true, markerPutAt: state.drain.putAt }, loop: true };
    });
  }

  /**
   * R-TERM-1: billable usage not yet in the ledger goes there before anything is deleted. The ledger entry covers
   * the minutes after the last entry; flushing again covers only newer minutes, so nothing is counted twice.
   */
  async flushUsage(state: State): Promise<State> {
    return this.task('flush-usage', state, async () => {
      const tenant = await this.requireTenant(state);
      const { ledger, store, clock } = this.deps;
      const now = clock.now();
      const last = await ledger.lastEntry(tenant.tenantId);
      const from = last ? minuteAfter(last.throughMinute) : EARLIEST_MINUTE;
      // The tenant is frozen: nothing newer can arrive, but accepted events may carry timestamps 5 minutes ahead.
      const through = minuteOf(new Date(now.getTime() + MAX_FUTURE_MS).toISOString());
      const { done: _done, ...drained } = state;
      const next: State = { ...drained, stage: state.election === 'immediate' ? 'purge' : 'export' };
      if (from > through) return { next, detail: { flushed: false } };
      const rollups = await store.queryRollups(tenant.tenantId, from, through);
      const counts: Record<string, number> = { api_call: 0, event: 0, metric: 0, webhook: 0 };
      for (const rollup of rollups) {
        const kind = kindOfSeries(rollup.series);
        // The drain marker is the termination's own record, not the tenant's usage.
        if (kind && rollup.series !== `event:${DRAIN_MARKER_EVENT}`) counts[kind] += rollup.counters.count ?? 0;
      }
      const firstMinute = rollups.reduce((min, r) => (r.minute < min ? r.minute : min), minuteOf(tenant.createdAt));
      const entry: UsageEntry = {
        tenantId: tenant.tenantId,
        fromMinute: last ? from : firstMinute,
        throughMinute: through,
        counts,
        recordedAt: now.toISOString(),
        reason: 'termination',
      };
      await ledger.record(entry);
      return { next, detail: { flushed: true, fromMinute: entry.fromMinute, throughMinute: through, ...prefixed('usage', counts) } };
    });
  }

  /**
   * R-TERM-2: one part of the tenant's export per call, every event decrypted (quarantined ones included: they are
   * the controller's data too). The part's name follows from the state, so a retried call rewrites the same part.
   */
  async exportTenantData(state: State): Promise<State> {
    return this.task('export-tenant-data', state, async () => {
      const tenant = await this.requireTenant(state);
      const counts = state.counts ?? {};
      const partNumber = (counts.exportParts ?? 0) + 1;
      const lines: string[] = [];
      let unreadable = 0;
      let cursor = state.cursor;
      for (let page = 0; page < this.pagesPerCall; page++) {
        const { items, cursor: next } = await this.deps.store.tenantEvents(tenant.tenantId, this.pageSize, cursor);
        for (const stored of items) {
          if (stored.eventId === drainMarkerId(state.terminationId)) continue;
          const event = await decryptStoredEvent(this.deps, tenant, stored);
          if (event === undefined) unreadable++;
          lines.push(JSON.stringify(exportLine(stored, event)));
        }
        cursor = next;
        if (!cursor) break;
      }
      let partCount = counts.exportParts ?? 0;
      if (lines.length > 0) {
        const key = partKey(state, partNumber);
        const body = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
        await this.deps.exports.put(key, body, 'application/x-ndjson');
        await this.recordPartFacts(state, partNumber, { key, records: lines.length, bytes: body.byteLength, sha256: sha256Hex(body) });
        partCount = partNumber;
      }
      const done = cursor === undefined;
      const nextCounts = {
        ...counts,
        exported: (counts.exported ?? 0) + lines.length,
        exportParts: partCount,
        ...(unreadable > 0 ? { exportUnreadable: (counts.exportUnreadable ?? 0) + unreadable } : {}),
      };
      const { cursor: _previous, ...rest } = state;
      return {
        next: { ...rest, ...(cursor ? { cursor } : {}), done, counts: nextCounts, stage: done ? 'manifest' : 'export' },
        detail: { records: lines.length, part: partCount, done },
        step: done,
        loop: true,
      };
    });
  }

  /** R-TERM-2: the manifest lists every part with its size and hash; the export is kept for 30 days. */
  async writeTenantManifest(state: State): Promise<State> {
    return this.task('write-tenant-manifest', state, async () => {
      const { exports, clock } = this.deps;
      const now = clock.now();
      const parts = await this.partFacts(state);
      const availableUntil = new Date(now.getTime() + (this.deps.exportWindowMs ?? EXPORT_WINDOW_DAYS * DAY_MS)).toISOString();
      const manifest = {
        kind: 'lumiqo.tenant-export.v1',
        tenantId: state.tenantId,
        terminationId: state.terminationId,
        generatedAt: now.toISOString(),
        availableUntil,
        records: parts.reduce((sum, p) => sum + p.records, 0),
        parts,
        format: EXPORT_FORMAT,
      };
      const manifestKey = objectKeys.tenantExport(state.tenantId, state.terminationId, 'manifest.json');
      await exports.put(manifestKey, Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'), 'application/json');
      const exported = { manifest: manifestKey, partCount: parts.length, availableUntil };
      const { cursor: _cursor, done: _done, ...rest } = state;
      return {
        // R-TERM-2: the execution ends here; the sweeper starts the purge once the window has closed.
        next: { ...rest, stage: 'await-window' },
        detail: { records: manifest.records, parts: parts.length, availableUntil },
        patch: { export: exported, purgeAfter: availableUntil },
      };
    });
  }

  /**
   * R-TERM-3: deletes the tenant's data store by store (`phase`), events a bounded batch per call. The tenant
   * record stays as the tombstone; the billing ledger and the audit log are not touched (R-TERM-6, R-SEC-6).
   */
  async purgeTenantData(state: State): Promise<State> {
    return this.task('purge-tenant-data', state, async () => {
      const tenantId = state.tenantId;
      const phase = (state.phase ?? 'events') as PurgePhase;
      if (!PURGE_PHASES.includes(phase)) throw new PermanentTaskError(`Unknown purge phase '${phase}'`);
      const counts = { ...(state.counts ?? {}) };
      let finished = true;
      switch (phase) {
        case 'events':
          finished = await this.purgeEvents(state, counts);
          break;
        case 'rollups':
          counts.rollups = (counts.rollups ?? 0) + (await this.deps.store.deleteRollups(tenantId));
          break;
        case 'ai':
          counts.aiItems = (counts.aiItems ?? 0) + ((await this.deps.ai?.purgeTenant(tenantId)) ?? 0);
          break;
        case 'objects':
          counts.payloadObjects = (counts.payloadObjects ?? 0) + (await this.deps.payloads.deletePrefix(tenantObjectPrefix(tenantId)));
          break;
        case 'exports':
          counts.exports = (counts.exports ?? 0) + (await this.deps.exports.deletePrefix(tenantObjectPrefix(tenantId)));
          break;
        case 'requests':
          counts.privacyRequests = (counts.privacyRequests ?? 0) + (await this.deps.requests.deleteForTenant(tenantId));
          break;
        case 'control':
          counts.controlItems = (counts.controlItems ?? 0) + (await this.deps.directory.purgeTenant(tenantId));
          break;
        case 'done':
          break;
      }
      const nextPhase = finished && phase !== 'done' ? PURGE_PHASES[PURGE_PHASES.indexOf(phase) + 1] : phase;
      const done = nextPhase === 'done';
      return {
        next: { ...state, phase: nextPhase, done, counts, stage: done ? 'shred' : 'purge' },
        detail: { phase, finished, ...prefixed('deleted', counts) },
        step: finished,
        loop: true,
      };
    });
  }

  /** R-TERM-4: without the key, every remaining copy (PITR, backups, stray objects) is ciphertext nobody can open. */
  async shredKeys(state: State): Promise<State> {
    return this.task('shred-keys', state, async () => {
      const tenant = await this.requireTenant(state);
      // A retry after the key was destroyed keeps the first dates (KMS refuses to schedule a deletion twice).
      const keyDestroyed =
        state.keyDestroyed ??
        { at: this.deps.clock.now().toISOString(), ...(await this.deps.keys.destroyTenantKey(tenant.keyRef)) };
      this.deps.crypto.forgetKey?.(tenant.keyRef);
      return {
        next: { ...state, stage: 'verify', keyDestroyed: { at: keyDestroyed.at, unrecoverableAfter: keyDestroyed.unrecoverableAfter } },
        detail: { ...keyDestroyed },
      };
    });
  }

  /** R-TERM-3, R-TERM-4: nothing of the tenant can be read any more; otherwise the task fails (and is retried). */
  async verifyPurge(state: State): Promise<State> {
    return this.task('verify-purge', state, async () => {
      await this.assertNothingReadable(await this.requireTenant(state));
      return { next: { ...state, stage: 'certify' }, detail: { remaining: 0 } };
    });
  }

  /**
   * R-TERM-5: the signed certificate, in the records bucket (outside every purge). Verification runs again here, so
   * the certificate states what was true when it was signed.
   */
  async issueCertificate(state: State): Promise<State> {
    return this.task('issue-certificate', state, async () => {
      const tenant = await this.requireTenant(state);
      if (!state.keyDestroyed) throw new PermanentTaskError('No key destruction in the state: the certificate cannot be issued');
      const verifiedAt = this.deps.clock.now().toISOString();
      await this.assertNothingReadable(tenant);
      const certificate: TenantDeletionCertificate = {
        kind: 'lumiqo.tenant-deletion.v1',
        tenantId: state.tenantId,
        terminationId: state.terminationId,
        election: state.election,
        requestedAt: state.requestedAt,
        // The shred ends the purge: from then on no copy made before it can be read, whatever its age.
        purgedAt: state.keyDestroyed.at,
        deleted: deletedCounts(state.counts ?? {}),
        keyMaterial: { destroyedAt: state.keyDestroyed.at, unrecoverableAfter: state.keyDestroyed.unrecoverableAfter },
        backups: backupDates(new Date(state.keyDestroyed.at), new Date(state.keyDestroyed.unrecoverableAfter), this.deps.backupFacts),
        // Issue 11 (R-TERM-4): every copy the purge cannot reach, and when it is unreadable and gone.
        remainingCopies: tenantRemainingCopies(new Date(state.keyDestroyed.at), new Date(state.keyDestroyed.unrecoverableAfter), this.deps.backupFacts),
        retained: RETAINED_AFTER_TERMINATION,
        verification: { method: VERIFICATION_METHOD, remaining: 0, verifiedAt },
      };
      const signed = await signDeletionDocument(certificate, this.deps.signer);
      const certificateKey = objectKeys.deletionRecord(state.tenantId, state.terminationId);
      await this.deps.records.put(certificateKey, Buffer.from(JSON.stringify(signed, null, 2), 'utf8'), 'application/json');
      await this.deps.directory.setTenantStatus(state.tenantId, 'terminated');
      const completedAt = this.deps.clock.now().toISOString();
      await this.deps.requests.markTerminationOpen(state.tenantId, false);
      return {
        next: { ...state, stage: 'done' },
        detail: { certificateKey, keyId: signed.signature.keyId, unrecoverableBy: certificate.backups.unrecoverableBy },
        patch: { status: 'completed', certificateKey, completedAt },
      };
    });
  }

  /** Every Catch ends here: the record says failed (an operator acts; the tenant stays frozen). R-SEC-6. */
  async recordFailure(state: State): Promise<State> {
    const at = this.deps.clock.now().toISOString();
    // The error name only: a Cause may quote data.
    const error = state.error?.Error ?? 'UnknownError';
    const step: PrivacyStep = { name: 'record-failure', at, outcome: 'failure', detail: { error } };
    // A stale execution (superseded by a resume or a newer termination) records nothing on the newer one's record.
    let superseded = false;
    try {
      await this.deps.requests.updateTermination(state.tenantId, step, { status: 'failed', failure: { error, at } }, this.binding(state));
    } catch (failure) {
      if (!(failure instanceof TerminationSuperseded)) throw failure;
      superseded = true;
    }
    await this.deps.audit.record({
      tenantId: state.tenantId,
      at,
      actor: TERMINATION_ACTOR,
      action: 'tenant.termination.record-failure',
      target: state.terminationId,
      outcome: 'failure',
      detail: { error, ...(superseded ? { superseded } : {}) },
    });
    return state;
  }

  /**
   * Up to `pagesPerCall` pages of events, from the top each call (what was deleted no longer shows up). Counted
   * before anything is deleted, and the ids and counts written to the exports bucket first (`purge/pending.json`):
   * a turn that dies half-way (a Lambda timeout) is finished by its retry from that list, with the first count,
   * so the certificate's counts never come out low. Returns whether no event was left to delete.
   */
  private async purgeEvents(state: State, counts: Record<string, number>): Promise<boolean> {
    const tenantId = state.tenantId;
    const turn = (state.turn ?? 0) + 1;
    const pendingFolder = objectKeys.tenantExport(tenantId, state.terminationId, 'purge/');
    const pendingKey = `${pendingFolder}pending.json`;
    const stored = await this.deps.exports.get(pendingKey);
    let pending = stored ? (JSON.parse(Buffer.from(stored).toString('utf8')) as PendingPurge) : undefined;
    // What of the turn's list is still there: read below when the list is made in this call, re-read when a turn
    // that died half-way left it (then some of it may be gone).
    let remaining: StoredEvent[] | undefined;
    if (pending?.turn !== turn) {
      const markerId = drainMarkerId(state.terminationId);
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < this.pagesPerCall; page++) {
        const { items, cursor: next } = await this.deps.store.tenantEvents(tenantId, this.pageSize, cursor);
        ids.push(...items.map((e) => e.eventId));
        if (!next) break;
        cursor = next;
      }
      // The GSI is eventually consistent: count only what the table itself still holds, so counts stay true.
      // The drain marker is deleted with the rest, but it was never the tenant's: it is not counted.
      remaining = await this.deps.store.getEvents(tenantId, ids);
      const live = remaining.filter((e) => e.eventId !== markerId);
      pending = {
        turn,
        ids,
        counts: {
          events: live.length,
          subjectIndexEntries: live.reduce((sum, e) => sum + e.subjects.length, 0),
          payloadObjects: live.filter((e) => 'objectKey' in e.body).length,
        },
      };
      if (ids.length === 0) {
        // The phase is over: its bookkeeping goes (it is no export of the tenant's, nor in the certificate's count).
        await this.deps.exports.deletePrefix(pendingFolder);
        return true;
      }
      await this.deps.exports.put(pendingKey, Buffer.from(JSON.stringify(pending), 'utf8'), 'application/json');
    }
    remaining ??= await this.deps.store.getEvents(tenantId, pending.ids);
    const objectKeysOfTurn = remaining.flatMap((e) => ('objectKey' in e.body ? [e.body.objectKey] : []));
    if (objectKeysOfTurn.length > 0) await this.deps.payloads.delete(objectKeysOfTurn);
    if (remaining.length > 0) await this.deps.store.deleteEvents(remaining);
    for (const [store, n] of Object.entries(pending.counts)) counts[store] = (counts[store] ?? 0) + n;
    return false;
  }

  /** What of the tenant can still be read, by store; throws `PurgeIncomplete` naming the stores (counts only). */
  private async assertNothingReadable(tenant: Tenant): Promise<void> {
    const t = tenant.tenantId;
    const prefix = tenantObjectPrefix(t);
    const [events, rollups, payloadObjects, exports, apiKeys, keyUsable] = await Promise.all([
      this.deps.store.tenantEvents(t, 1).then((p) => p.items.length),
      this.deps.store.queryRollups(t, EARLIEST_MINUTE, '9999').then((r) => r.length),
      this.deps.payloads.countPrefix(prefix),
      this.deps.exports.list(prefix).then((keys) => keys.length),
      this.deps.directory.listApiKeys(t).then((keys) => keys.length),
      this.deps.keys.isTenantKeyUsable(tenant.keyRef),
    ]);
    const remaining: Record<string, number> = { events, rollups, payloadObjects, exports, apiKeys, usableKeys: keyUsable ? 1 : 0 };
    const left = Object.entries(remaining).filter(([, n]) => n > 0);
    if (left.length > 0) {
      const error = new Error(`PurgeIncomplete: ${left.map(([store, n]) => `${store} ${n}`).join(', ')} remain for tenant '${t}'`);
      error.name = 'PurgeIncomplete';
      throw error;
    }
  }

  /**
   * One part's facts, next to the part (a retry rewrites the same object): each turn writes a few hundred bytes,
   * whatever the number of parts before it, and no list grows in the termination record.
   */
  private async recordPartFacts(state: State, n: number, facts: PartFacts): Promise<void> {
    await this.deps.exports.put(partFactsKey(state, n), Buffer.from(JSON.stringify(facts), 'utf8'), 'application/json');
  }

  /** Every part's facts, in part order, read a few at a time. */
  private async partFacts(state: State): Promise<PartFacts[]> {
    const keys = (await this.deps.exports.list(partFactsKey(state, 0).replace(/part-\d+\.json$/, ''))).filter((key) => PART_FACTS.test(key)).sort();
    const facts: PartFacts[] = [];
    for (let i = 0; i < keys.length; i += FACTS_READS_AT_ONCE) {
      const bodies = await Promise.all(keys.slice(i, i + FACTS_READS_AT_ONCE).map((key) => this.deps.exports.get(key)));
      for (const body of bodies) if (body) facts.push(JSON.parse(Buffer.from(body).toString('utf8')) as PartFacts);
    }
    return facts;
  }

  private async requireTenant(state: State): Promise<Tenant> {
    const tenant = await this.deps.directory.getTenant(state.tenantId);
    if (!tenant) throw new PermanentTaskError(`Tenant '${state.tenantId}' does not exist`);
    return tenant;
  }

  /** R-SEC-6: every task leaves an audit entry, success or failure (error name only), and a step on the record. */
  private async task(name: TerminationTask, state: State, work: () => Promise<TaskOutcome>): Promise<State> {
    const audit = (outcome: 'success' | 'failure', detail?: Detail) =>
      this.deps.audit.record({
        tenantId: state.tenantId,
        at: this.deps.clock.now().toISOString(),
        actor: TERMINATION_ACTOR,
        action: `tenant.termination.${name}`,
        target: state.terminationId,
        outcome,
        ...(detail ? { detail } : {}),
      });
    const binding = this.binding(state);
    let outcome: TaskOutcome;
    try {
      const record = await this.deps.requests.getTermination(state.tenantId);
      if (!record || !isBoundTo(record, binding)) throw new TerminationSuperseded(state.tenantId);
      // A retry of a task whose answer was lost: its work is done and its result recorded; hand that back, so
      // nothing is counted twice or missed (the certificate's counts stay exact).
      const committed = record.checkpoint;
      if (committed && (committed.turn ?? 0) > (state.turn ?? 0)) {
        if (committed.turn === (state.turn ?? 0) + 1 && record.checkpointTask === name) return { ...committed, execution: state.execution ?? committed.execution };
        // Behind the record by more than this very task: a state that another execution has overtaken.
        throw new TerminationSuperseded(state.tenantId);
      }
      outcome = await work();
    } catch (error) {
      await audit('failure', { error: (error as Error).name });
      throw error;
    }
    const turns = (state.turns ?? 0) + 1;
    let next: State = { ...outcome.next, turn: (state.turn ?? 0) + 1, turns };
    if (outcome.loop && !next.done && turns >= this.turnsPerExecution) next = { ...next, continue: true, segment: (state.segment ?? 0) + 1 };
    const { error: _error, ...checkpoint } = next;
    const step: PrivacyStep | undefined =
      outcome.step !== false || outcome.patch
        ? { name, at: this.deps.clock.now().toISOString(), outcome: 'success', ...(outcome.detail ? { detail: outcome.detail } : {}) }
        : undefined;
    // One conditional write per task: the step (if any), the patch, and the checkpoint a lost execution resumes from.
    await this.deps.requests.updateTermination(state.tenantId, step, { ...outcome.patch, checkpoint, checkpointTask: name }, binding);
    await audit('success', outcome.detail);
    return next;
  }

  /** Tasks write only while the record is this termination's and, once claimed, this execution's (R-TERM-1..5). */
  private binding(state: State): TerminationBinding {
    return { terminationId: state.terminationId, ...(state.execution ? { executionIds: [state.execution.id] } : {}) };
  }
}

const VERIFICATION_METHOD =
  'no event in any of the tenant’s index partitions (quarantine included), no rollup item, no object or object version under the tenant’s prefix in the payload and exports buckets, no API key, and the tenant key refuses to be used';

/** The billable kind of a rollup series (`api:` → api_call, `event:`, `metric:`, `webhook:`). */
function kindOfSeries(series: string): string | undefined {
  const prefix = series.slice(0, series.indexOf(':'));
  return { api: 'api_call', event: 'event', metric: 'metric', webhook: 'webhook' }[prefix];
}

function minuteAfter(minute: string): string {
  return minuteOf(new Date(Date.parse(minute) + MINUTE_MS).toISOString());
}

/** This execution's id, as the machine's first state put it into the state. */
function executionOf(state: State): string {
  if (!state.execution?.id) throw new PermanentTaskError('The state names no execution ($.execution.id)');
  return state.execution.id;
}

const partKey = (state: State, n: number) => objectKeys.tenantExport(state.tenantId, state.terminationId, `part-${String(n).padStart(5, '0')}.jsonl`);
const partFactsKey = (state: State, n: number) => objectKeys.tenantExport(state.tenantId, state.terminationId, `part-${String(n).padStart(5, '0')}.json`);
const PART_FACTS = /\/part-\d+\.json$/;
const FACTS_READS_AT_ONCE = 16;

/** The certificate's `deleted`: what the purge removed, without the export's bookkeeping counters. */
function deletedCounts(counts: Readonly<Record<string, number>>): Record<string, number> {
  const stores = ['events', 'subjectIndexEntries', 'payloadObjects', 'rollups', 'aiItems', 'exports', 'privacyRequests', 'controlItems'];
  return Object.fromEntries(stores.map((store) => [store, counts[store] ?? 0]));
}

function prefixed(prefix: string, counts: Readonly<Record<string, number>>): Detail {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${prefix}.${k}`, v]));
}
