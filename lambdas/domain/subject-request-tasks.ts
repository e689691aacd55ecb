/**
 * The task states of the data-subject state machines (R-DSR-1..3, R-DSR-5): one method per task of SUBJECT_TASKS.
 * Each takes the execution's state and returns the next one; loops handle one batch per call, so no call grows
 * with the subject's data. Every task writes an audit entry with the subject's hash (R-SEC-6). A task throws
 * PermanentTaskError when a retry cannot help (unknown request or tenant); every other error is retried by the
 * state machine, then caught and recorded by `record-failure`.
 */
import { objectKeys, TENANT_ID_PATTERN } from '../shared/keys';
import type { RuntimeSettings } from '../shared/settings';
import { applyCorrections, CORRECTIONS_PURPOSE, type Correction } from './corrections';
import { signDeletionDocument, type SubjectDeletionRecord } from './deletion-records';
import type { PlatformEvent, StoredEvent, Tenant } from './model';
import type {
  AuditLog,
  Clock,
  DocumentSigner,
  DocumentStore,
  EventStore,
  PayloadStore,
  PrivacyRequestStore,
  SubjectIndexEntry,
  TenantCrypto,
  TenantDirectory,
} from './ports';
import { PermanentTaskError, type PrivacyRequestRecord, type PrivacyStep, type SubjectTask, type SubjectWorkflowState } from './privacy';
import { decryptStoredEvent, exportLine, sha256Hex } from './export-lines';
import { EVENT_PURPOSE, eventName, indexAttributes, keepsInline, SUBJECT_KEY_PURPOSE } from './processing';
import { rollupDeltas } from './rollups';
import { DEFAULT_SUBJECT_PATHS, extractSubjects, hashSubject } from './subjects';

/** Events per export part: one part is built in memory, then written whole. */
export const EXPORT_BATCH = 250;
/** Events per batch of every task that writes or deletes (one BatchWrite round per 25, a few seconds at most). */
export const ERASE_BATCH = 200;
/** The audit actor of every task (R-SEC-6). */
export const WORKFLOW_ACTOR = 'system:privacy-workflow';

export interface SubjectRequestTasksDeps {
  readonly directory: TenantDirectory;
  readonly requests: PrivacyRequestStore;
  readonly store: EventStore;
  readonly payloads: PayloadStore;
  readonly crypto: TenantCrypto;
  readonly audit: AuditLog;
  /** Exports bucket: export parts and manifests, work lists. */
  readonly exports: DocumentStore;
  /** Records bucket: signed deletion records. */
  readonly records: DocumentStore;
  readonly signer: DocumentSigner;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
}

/** One line of a subject export (JSON Lines): the record's metadata and the whole event as it was received. */
export interface SubjectExportManifest {
  readonly kind: 'lumiqo.subject-export.v1';
  readonly tenantId: string;
  readonly requestId: string;
  readonly subjectHash: string;
  readonly generatedAt: string;
  readonly records: number;
  readonly parts: readonly { readonly key: string; readonly records: number; readonly bytes: number; readonly sha256: string }[];
  readonly format: string;
}

export const EXPORT_FORMAT =
  'JSON Lines (UTF-8): one object per record: {eventId, kind, name, timestamp, receivedAt, quarantined, event}, event being the record as received';

type Detail = Record<string, string | number | boolean>;
type Counts = Readonly<Record<string, number>>;

/** What a task's body hands back to the wrapper that audits it and records the request's step. */
interface TaskOutcome {
  readonly next: SubjectWorkflowState;
  /** Audit detail of this call (counts of this batch). */
  readonly detail?: Detail;
  /** Append a step to the request (loop tasks do so once, when the loop is done). @default true */
  readonly step?: boolean;
  readonly patch?: Parameters<PrivacyRequestStore['update']>[3];
}

interface TaskContext {
  readonly tenant: Tenant;
  readonly request: PrivacyRequestRecord;
  readonly state: SubjectWorkflowState;
  readonly now: Date;
}

/**
 * A rectified batch, written to the work area before anything is deleted: if the task dies between deleting a
 * record's stale index entries (which takes the event item with them) and writing it back, the retry finds the
 * journal and finishes the write instead of losing the record.
 */
interface RectifyJournal {
  readonly cursor: number;
  readonly entries: readonly {
    readonly event: StoredEvent;
    readonly subjects: readonly SubjectIndexEntry[];
    readonly stale: readonly string[];
    /** The body to put under `event.body.objectKey` (base64), when it goes to S3. */
    readonly objectBody?: string;
    /** The object the old body was in, when the new body is inline (deleted with every version). */
    readonly oldObjectKey?: string;
  }[];
  readonly counts: Counts;
}

/**
 * R-DSR-2: how long the processor remembers an erasure. A record can reach the processor at most the event source's
 * maximum record age (lib/config.ts, 7 days at most) after it was received; a day is added for clock skew.
 */
export const ERASURE_MARKER_DAYS = 8;

export class SubjectRequestTasks {
  constructor(private readonly deps: SubjectRequestTasksDeps) {}

  /** R-DSR-1: the subject's event ids from its index partition, written as the work list of this pass. */
  locate(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('locate', state, async ({ state: s, now }) => {
      if (s.type === 'erasure') {
        // Before the records are located: from here on, the processor drops what the stream still holds of them.
        const expiresAt = Math.ceil(now.getTime() / 1000) + ERASURE_MARKER_DAYS * 24 * 3600;
        await this.deps.requests.markErased(s.tenantId, s.subjectHash, s.receivedAt, expiresAt);
      }
      const ids = [...new Set(await this.deps.store.subjectEventIds(s.tenantId, s.subjectHash))];
      const key = objectKeys.worklist(s.tenantId, s.requestId);
      await this.deps.exports.put(key, Buffer.from(JSON.stringify(ids), 'utf8'), 'application/json');
      const pass = (s.pass ?? 0) + 1;
      return {
        next: { ...s, worklist: { key, count: ids.length }, cursor: 0, done: ids.length === 0, pass },
        detail: { located: ids.length, pass },
      };
    });
  }

  /** R-DSR-1: one part of the export: the batch's records decrypted, quarantined ones included. */
  exportRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('export-records', state, async (ctx) => {
      const { ids, next } = await this.batch(ctx.state, EXPORT_BATCH);
      const events = this.mentioning(ctx.state, await this.deps.store.getEvents(ctx.state.tenantId, ids));
      const lines = await Promise.all(events.map(async (stored) => JSON.stringify(exportLine(stored, await this.decryptEvent(ctx.tenant, stored)))));
      const parts = [...(ctx.state.parts ?? [])];
      if (lines.length > 0) {
        const file = `part-${String(parts.length + 1).padStart(5, '0')}.jsonl`;
        const key = objectKeys.subjectExport(ctx.state.tenantId, ctx.state.subjectHash, ctx.state.requestId, file);
        await this.deps.exports.put(key, Buffer.from(`${lines.join('\n')}\n`, 'utf8'), 'application/x-ndjson');
        parts.push(key);
      }
      return {
        next: { ...next, parts, counts: addCounts(ctx.state.counts, { events: lines.length }) },
        detail: { exported: lines.length, parts: parts.length },
        step: next.done === true,
      };
    });
  }

  /** R-DSR-1: the manifest that lists every part with its size and SHA-256, so the subject can check the export. */
  writeExportManifest(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('write-export-manifest', state, async ({ state: s, request, now }) => {
      const parts: SubjectExportManifest['parts'][number][] = [];
      for (const key of s.parts ?? []) {
        const body = await this.deps.exports.get(key);
        if (!body) throw new Error(`Export part missing: ${key}`);
        const text = Buffer.from(body).toString('utf8');
        parts.push({ key, records: text.split('\n').filter((line) => line !== '').length, bytes: body.byteLength, sha256: sha256Hex(body) });
      }
      const manifest: SubjectExportManifest = {
        kind: 'lumiqo.subject-export.v1',
        tenantId: s.tenantId,
        requestId: s.requestId,
        subjectHash: s.subjectHash,
        generatedAt: now.toISOString(),
        records: parts.reduce((sum, p) => sum + p.records, 0),
        parts,
        format: EXPORT_FORMAT,
      };
      const key = objectKeys.subjectExport(s.tenantId, s.subjectHash, s.requestId, 'manifest.json');
      await this.deps.exports.put(key, Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'), 'application/json');
      const exportKeys = { manifest: key, parts: parts.map((p) => p.key) };
      return { next: s, detail: { records: manifest.records, parts: parts.length }, patch: { result: { ...request.result, exportKeys } } };
    });
  }

  /**
   * R-DSR-2: a record that mentions the subject is the subject's record and is deleted whole (item, every index
   * entry, payload object with every version); records that no longer mention it keep everything but the
   * subject's stale index entry.
   */
  eraseRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('erase-records', state, async ({ state: s }) => {
      const { ids, next } = await this.batch(s, ERASE_BATCH);
      const found = await this.deps.store.getEvents(s.tenantId, ids);
      const mine = this.mentioning(s, found);
      const others = found.filter((e) => !e.subjects.includes(s.subjectHash));
      const gone = ids.filter((id) => !found.some((e) => e.eventId === id));

      const objects = mine.flatMap((e) => ('objectKey' in e.body ? [e.body.objectKey] : []));
      if (objects.length > 0) await this.deps.payloads.delete(objects);
      if (mine.length > 0) await this.deps.store.deleteEvents(mine);
      // An id whose event is gone (expired, erased by an earlier pass), or whose record no longer mentions the subject
      // (a stale entry), still has this subject's index entry to remove; the record itself stays.
      const stale = [...gone, ...others.map((e) => e.eventId)];
      if (stale.length > 0) await this.deps.store.deleteSubjectEntries(s.tenantId, s.subjectHash, stale);

      const batch = {
        events: mine.length,
        subjectIndexEntries: mine.reduce((sum, e) => sum + e.subjects.length, 0) + gone.length + others.length,
        payloadObjects: objects.length,
      };
      return { next: { ...next, counts: addCounts(s.counts, batch) }, detail: batch, step: next.done === true };
    });
  }

  /** R-DSR-2: earlier exports of this subject are its data too. */
  eraseExports(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('erase-exports', state, async ({ state: s }) => {
      const exports = await this.deps.exports.deletePrefix(objectKeys.subjectExports(s.tenantId, s.subjectHash));
      return { next: { ...s, counts: addCounts(s.counts, { exports }) }, detail: { exports } };
    });
  }

  /**
   * R-DSR-2: proof by the same consistent query that located the records. Nothing received up to the request may
   * remain: no record, and no index entry left behind. Records received after the request are new processing by the
   * controller; they are erased when a pass finds them but do not fail the verification (events still in the stream
   * from before the request are dropped by the processor, which honours the erasure marker).
   */
  verifyErasure(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('verify-erasure', state, async ({ state: s }) => {
      const ids = await this.deps.store.subjectEventIds(s.tenantId, s.subjectHash);
      const events = await this.deps.store.getEvents(s.tenantId, ids);
      const receivedBy = Date.parse(s.receivedAt);
      const later = events.filter((e) => e.subjects.includes(s.subjectHash) && Date.parse(e.receivedAt) > receivedBy).length;
      const remaining = ids.length - later;
      return { next: { ...s, remaining, counts: { ...s.counts, receivedAfterRequest: later } }, detail: { remaining, receivedAfterRequest: later, pass: s.pass ?? 0 } };
    });
  }

  /** R-DSR-2: the deletion record, signed, in the records bucket (outside every tenant prefix and purge). */
  signDeletionRecord(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('sign-deletion-record', state, async ({ state: s, request, now }) => {
      if (s.remaining !== 0) throw new PermanentTaskError('The erasure was not verified: no deletion record is signed for it');
      const document: SubjectDeletionRecord = {
        kind: 'lumiqo.subject-erasure.v1',
        tenantId: s.tenantId,
        requestId: s.requestId,
        subjectHash: s.subjectHash,
        receivedAt: s.receivedAt,
        completedAt: now.toISOString(),
        deleted: {
          events: s.counts?.events ?? 0,
          subjectIndexEntries: s.counts?.subjectIndexEntries ?? 0,
          payloadObjects: s.counts?.payloadObjects ?? 0,
          exports: s.counts?.exports ?? 0,
        },
        verification: {
          method: 'consistent read of the subject index partition: no record received up to the request remains',
          remaining: 0,
          receivedAfterRequest: s.counts?.receivedAfterRequest ?? 0,
          verifiedAt: now.toISOString(),
        },
      };
      const signed = await signDeletionDocument(document, this.deps.signer);
      const key = objectKeys.deletionRecord(s.tenantId, s.requestId);
      await this.deps.records.put(key, Buffer.from(JSON.stringify(signed, null, 2), 'utf8'), 'application/json');
      await this.deleteWorkArea(s);
      return { next: s, detail: { signedBy: signed.signature.keyId }, patch: { result: { ...request.result, deletionRecordKey: key } } };
    });
  }

  /**
   * R-DSR-3: corrects the batch's records, re-encrypts them, and moves their index entries to the identifiers
   * they now hold (an identifier corrected away no longer finds the record).
   */
  rectifyRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('rectify-records', state, async (ctx) => {
      const s = ctx.state;
      const pending = await this.readJournal(s);
      const journal = pending ?? (await this.rectifiedBatch(ctx));
      if (!pending && journal.entries.length > 0) {
        await this.deps.exports.put(this.journalKey(s), Buffer.from(JSON.stringify(journal), 'utf8'), 'application/json');
      }
      await this.applyJournal(s, journal);
      if (journal.entries.length > 0) await this.deps.exports.deletePrefix(this.journalFolder(s));
      const { next } = await this.batch(s, ERASE_BATCH);
      return { next: { ...next, counts: addCounts(s.counts, journal.counts) }, detail: { ...journal.counts }, step: next.done === true };
    });
  }

  /** R-DSR-3: from now on the processor quarantines new events that mention the subject. */
  restrict(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('restrict', state, async ({ state: s, now }) => {
      await this.deps.requests.restrict(s.tenantId, s.subjectHash, s.requestId, now.toISOString());
      return { next: s };
    });
  }

  /** R-DSR-3: records already stored are taken out of every read, rollup and AI tool (they were counted already). */
  quarantineRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('quarantine-records', state, async ({ state: s }) => {
      const { ids, next } = await this.batch(s, ERASE_BATCH);
      const events = this.mentioning(s, await this.deps.store.getEvents(s.tenantId, ids)).filter((e) => e.quarantined !== true);
      if (events.length > 0) await this.deps.store.putEvents(events.map((e) => ({ ...e, quarantined: true, rollupPending: false })), []);
      return {
        next: { ...next, counts: addCounts(s.counts, { quarantined: events.length }) },
        detail: { quarantined: events.length },
        step: next.done === true,
      };
    });
  }

  liftRestriction(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('lift-restriction', state, async ({ state: s }) => {
      await this.deps.requests.unrestrict(s.tenantId, s.subjectHash);
      return { next: s };
    });
  }

  /**
   * R-DSR-3: quarantined records come back, unless another subject they mention is still restricted. One that was
   * quarantined on arrival adds its rollup contribution first, so rollups count it exactly once.
   */
  releaseRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('release-records', state, async ({ state: s, tenant }) => {
      const { ids, next } = await this.batch(s, ERASE_BATCH);
      const quarantined = this.mentioning(s, await this.deps.store.getEvents(s.tenantId, ids)).filter((e) => e.quarantined === true);
      const restricted = await this.deps.requests.restrictedSubjects(s.tenantId);
      const held = quarantined.filter((e) => e.subjects.some((h) => h !== s.subjectHash && restricted.has(h)));
      const release = quarantined.filter((e) => !held.includes(e));
      const pending = release.filter((e) => e.rollupPending === true);
      if (pending.length > 0) {
        const items = await Promise.all(pending.map(async (e) => ({ tenantId: s.tenantId, event: await this.decryptEvent(tenant, e), expiresAt: e.expiresAt })));
        await this.deps.store.applyRollups(rollupDeltas(items));
      }
      if (release.length > 0) await this.deps.store.putEvents(release.map(unquarantined), []);
      const batch = { released: release.length, stillRestricted: held.length, rollupsApplied: pending.length };
      return { next: { ...next, counts: addCounts(s.counts, batch) }, detail: batch, step: next.done === true };
    });
  }

  /** R-DSR-5: the request is done; the work list goes (an access request's export stays for the subject). */
  complete(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('complete', state, async ({ state: s, request, now }) => {
      await this.deleteWorkArea(s);
      const counts = s.counts ?? {};
      return {
        next: s,
        detail: { ...counts },
        patch: { status: 'completed', completedAt: now.toISOString(), result: { ...request.result, counts } },
      };
    });
  }

  /**
   * The Catch of every task leads here: the request is failed (and stays on the open list, so the deadline alarm
   * reaches an operator). Only the error's name is kept: a Cause may quote data.
   */
  async recordFailure(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    const { requests, audit, clock } = this.deps;
    // Nothing can be recorded against a state that names no tenant; the execution still ends in its Fail state.
    if (!isWorkflowState(state)) return state;
    const at = clock.now().toISOString();
    const error = errorName(state.error?.Error);
    const request = await requests.get(state.tenantId, state.requestId).catch(() => undefined);
    if (request) {
      await requests.update(state.tenantId, state.requestId, { name: 'record-failure', at, outcome: 'failure', detail: { error } }, { status: 'failed', failure: { error, at } });
    }
    await audit.record({
      tenantId: state.tenantId,
      at,
      actor: WORKFLOW_ACTOR,
      action: `privacy.${state.type}.record-failure`,
      target: state.requestId,
      subjectHash: state.subjectHash,
      outcome: 'failure',
      detail: { error, ...(request ? {} : { requestFound: false }) },
    });
    return state;
  }

  /** R-DSR-5: how many open requests are past their due date (the handler turns it into the alarm's metric). */
  async checkDeadlines(): Promise<number> {
    const overdue = await this.deps.requests.overdue(this.deps.clock.now().toISOString());
    return overdue.length;
  }

  /** Audits the task (R-SEC-6), appends the request's step, and marks a received request running. */
  private async run(task: SubjectTask, state: SubjectWorkflowState, work: (ctx: TaskContext) => Promise<TaskOutcome>): Promise<SubjectWorkflowState> {
    const action = `privacy.${state?.type}.${task}`;
    try {
      const ctx = await this.context(state);
      const outcome = await work(ctx);
      const at = this.deps.clock.now().toISOString();
      if (outcome.step !== false || outcome.patch) {
        const step: PrivacyStep = { name: task, at, outcome: 'success', ...(outcome.detail ? { detail: outcome.detail } : {}) };
        const status = ctx.request.status === 'received' ? { status: 'running' as const } : {};
        await this.deps.requests.update(state.tenantId, state.requestId, step, { ...status, ...outcome.patch });
      }
      await this.deps.audit.record({
        tenantId: state.tenantId,
        at,
        actor: WORKFLOW_ACTOR,
        action,
        target: state.requestId,
        subjectHash: state.subjectHash,
        outcome: 'success',
        ...(outcome.detail ? { detail: outcome.detail } : {}),
      });
      return outcome.next;
    } catch (error) {
      await this.deps.audit
        .record({
          tenantId: state.tenantId,
          at: this.deps.clock.now().toISOString(),
          actor: WORKFLOW_ACTOR,
          action,
          target: state.requestId,
          subjectHash: state.subjectHash,
          outcome: 'failure',
          detail: { error: errorName((error as Error)?.name) },
        })
        .catch(() => undefined); // the task's own error is the one to report
      throw error;
    }
  }

  /**
   * The request and tenant behind a state. The state must name the request's own subject and type: a state that
   * disagrees with the stored request is refused rather than acted on.
   */
  private async context(state: SubjectWorkflowState): Promise<TaskContext> {
    if (!isWorkflowState(state)) throw new PermanentTaskError('The state names no request');
    const tenant = await this.deps.directory.getTenant(state.tenantId);
    if (!tenant) throw new PermanentTaskError(`Unknown tenant in request ${state.requestId}`);
    if (tenant.status === 'terminated') throw new PermanentTaskError(`The tenant of request ${state.requestId} is terminated`);
    const request = await this.deps.requests.get(state.tenantId, state.requestId);
    if (!request) throw new PermanentTaskError(`Unknown request ${state.requestId}`);
    if (request.subjectHash !== state.subjectHash || request.type !== state.type) {
      throw new PermanentTaskError(`The state does not match request ${state.requestId}`);
    }
    return { tenant, request, state, now: this.deps.clock.now() };
  }

  /** The next batch of the work list, and the state after it. */
  private async batch(state: SubjectWorkflowState, size: number): Promise<{ ids: string[]; next: SubjectWorkflowState }> {
    const ids = await this.worklist(state);
    const cursor = Math.min(state.cursor ?? 0, ids.length);
    const end = Math.min(cursor + size, ids.length);
    return { ids: ids.slice(cursor, end), next: { ...state, cursor: end, done: end >= ids.length } };
  }

  private async worklist(state: SubjectWorkflowState): Promise<string[]> {
    if (!state.worklist) throw new PermanentTaskError('The state has no work list: locate must run first');
    const body = await this.deps.exports.get(state.worklist.key);
    if (!body) throw new PermanentTaskError(`The work list of request ${state.requestId} is gone`);
    const ids: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new PermanentTaskError('The work list is not a list of ids');
    return ids;
  }

  /** Only records whose own subject list holds the hash: an index entry left stale must not widen the request. */
  private mentioning(state: SubjectWorkflowState, events: readonly StoredEvent[]): StoredEvent[] {
    return events.filter((e) => e.subjects.includes(state.subjectHash));
  }

  private async decryptEvent(tenant: Tenant, stored: StoredEvent): Promise<PlatformEvent> {
    const event = await decryptStoredEvent(this.deps, tenant, stored);
    if (!event) throw new Error(`Payload object missing for event ${stored.eventId}`);
    return event;
  }

  private async rectifiedBatch({ tenant, request, state }: TaskContext): Promise<RectifyJournal> {
    const { crypto, settings, store } = this.deps;
    if (!request.correctionsCiphertext) throw new PermanentTaskError(`Request ${state.requestId} holds no corrections`);
    const corrections = JSON.parse(
      Buffer.from(await crypto.decrypt(tenant, Buffer.from(request.correctionsCiphertext, 'base64'), CORRECTIONS_PURPOSE)).toString('utf8'),
    ) as Correction[];
    const subjectKey = await crypto.decrypt(tenant, Buffer.from(tenant.subjectKeyCiphertext, 'base64'), SUBJECT_KEY_PURPOSE);
    const { ids } = await this.batch(state, ERASE_BATCH);
    const events = this.mentioning(state, await store.getEvents(state.tenantId, ids));
    const entries: RectifyJournal['entries'][number][] = [];
    let unchanged = 0;
    for (const stored of events) {
      const original = await this.decryptEvent(tenant, stored);
      const { value: corrected, changed } = applyCorrections(original, corrections);
      if (!changed) {
        unchanged += 1;
        continue;
      }
      const hashes = [
        ...new Set(extractSubjects(corrected, tenant.subjectPaths ?? DEFAULT_SUBJECT_PATHS).map((x) => hashSubject(subjectKey, x.kind, x.value))),
      ];
      const ciphertext = await crypto.encrypt(tenant, Buffer.from(JSON.stringify(corrected), 'utf8'), EVENT_PURPOSE);
      const objectKey = objectKeys.payload(tenant.tenantId, stored.eventId);
      const rectified = { ...stored, name: eventName(corrected), attributes: indexAttributes(corrected), subjects: hashes };
      const inline: StoredEvent = { ...rectified, body: { inline: Buffer.from(ciphertext).toString('base64') } };
      // R-ING-7: as the processor decides, so a correction that makes the item too large moves its body to S3.
      const toObject = !keepsInline(store, settings, inline, ciphertext);
      const event: StoredEvent = toObject ? { ...rectified, body: { objectKey } } : inline;
      entries.push({
        event,
        subjects: hashes.map((subjectHash) => ({ tenantId: tenant.tenantId, subjectHash, eventId: stored.eventId, expiresAt: stored.expiresAt })),
        stale: stored.subjects.filter((h) => !hashes.includes(h)),
        ...(toObject ? { objectBody: Buffer.from(ciphertext).toString('base64') } : {}),
        ...(!toObject && 'objectKey' in stored.body ? { oldObjectKey: stored.body.objectKey } : {}),
      });
    }
    const counts = {
      rectified: entries.length,
      unchanged,
      indexEntriesRemoved: entries.reduce((sum, e) => sum + e.stale.length, 0),
    };
    return { cursor: state.cursor ?? 0, entries, counts };
  }

  /** Idempotent: replaying a journal that was (partly) applied leaves the same records. */
  private async applyJournal(state: SubjectWorkflowState, journal: RectifyJournal): Promise<void> {
    const { payloads, store } = this.deps;
    if (journal.entries.length === 0) return;
    for (const entry of journal.entries) {
      if (entry.objectBody === undefined || !('objectKey' in entry.event.body)) continue;
      // Every older version goes first: the uncorrected ciphertext must not stay readable behind the new one.
      await payloads.delete([entry.event.body.objectKey]);
      await payloads.put(entry.event.body.objectKey, Buffer.from(entry.objectBody, 'base64'));
    }
    const withStale = journal.entries.filter((e) => e.stale.length > 0);
    if (withStale.length > 0) {
      await store.deleteEvents(withStale.map((e) => ({ tenantId: state.tenantId, eventId: e.event.eventId, subjects: e.stale })));
    }
    await store.putEvents(
      journal.entries.map((e) => e.event),
      journal.entries.flatMap((e) => e.subjects),
    );
    const oldObjects = journal.entries.flatMap((e) => (e.oldObjectKey ? [e.oldObjectKey] : []));
    if (oldObjects.length > 0) await payloads.delete(oldObjects);
  }

  private async readJournal(state: SubjectWorkflowState): Promise<RectifyJournal | undefined> {
    const body = await this.deps.exports.get(this.journalKey(state));
    if (!body) return undefined;
    const journal = JSON.parse(Buffer.from(body).toString('utf8')) as RectifyJournal;
    return journal.cursor === (state.cursor ?? 0) ? journal : undefined;
  }

  /** One folder per batch: a document store deletes by prefix only. */
  private journalFolder(state: SubjectWorkflowState): string {
    return `${workArea(state)}rectify-${String(state.cursor ?? 0).padStart(9, '0')}/`;
  }

  private journalKey(state: SubjectWorkflowState): string {
    return `${this.journalFolder(state)}journal.json`;
  }

  private async deleteWorkArea(state: SubjectWorkflowState): Promise<void> {
    await this.deps.exports.deletePrefix(workArea(state));
  }
}

function isWorkflowState(state: SubjectWorkflowState | undefined): state is SubjectWorkflowState {
  return (
    typeof state === 'object' &&
    state !== null &&
    typeof state.tenantId === 'string' &&
    TENANT_ID_PATTERN.test(state.tenantId) &&
    typeof state.requestId === 'string' &&
    typeof state.subjectHash === 'string'
  );
}

/** The folder of the request's work list (objectKeys.worklist), where its journals live too. */
function workArea(state: Pick<SubjectWorkflowState, 'tenantId' | 'requestId'>): string {
  const worklist = objectKeys.worklist(state.tenantId, state.requestId);
  return worklist.slice(0, worklist.lastIndexOf('/') + 1);
}

/** A released record as the processor writes an ordinary one: no quarantine flags. */
function unquarantined(event: StoredEvent): StoredEvent {
  const { quarantined: _q, rollupPending: _r, ...rest } = event;
  return rest;
}

function addCounts(base: Counts | undefined, add: Counts): Counts {
  const sum: Record<string, number> = { ...base };
  for (const [name, n] of Object.entries(add)) sum[name] = (sum[name] ?? 0) + n;
  return sum;
}

/** An error name as Step Functions reports it (`States.TaskFailed`, `PermanentTaskError`…), bounded. */
function errorName(name: string | undefined): string {
  return typeof name === 'string' && /^[\w.:-]{1,128}$/.test(name) ? name : 'UnknownError';
}
