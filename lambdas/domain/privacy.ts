import type { ConsentChange } from './consent';

/**
 * The privacy workflows' contract (R-DSR-1..6, R-TERM-1..6): request records, and the state that the Step
 * Functions state machines (lib/constructs/privacy-workflows.ts) carry between task states. A state holds
 * pointers and counters only: never an identifier in clear (the subject is a keyed hash) and never a list that
 * grows with the data (work lists live in the exports bucket).
 */

export const SUBJECT_REQUEST_TYPES = ['access', 'erasure', 'rectification', 'restriction', 'lift-restriction', 'consent'] as const;
export type SubjectRequestType = (typeof SUBJECT_REQUEST_TYPES)[number];
/**
 * Shopify's mandatory GDPR topics (R-DSR-6) and the request each one is: ingestion opens that request instead of
 * storing the delivery as an event.
 */
export const SHOPIFY_TOPICS: Readonly<Record<string, SubjectRequestType>> = {
  'customers/data_request': 'access',
  'customers/redact': 'erasure',
  'shop/redact': 'erasure',
};

/** One state machine per request type, plus tenant termination. */
export type WorkflowName = SubjectRequestType | 'termination';
export const WORKFLOW_NAMES: readonly WorkflowName[] = [...SUBJECT_REQUEST_TYPES, 'termination'];

/** `closed`: a failed request an operator closed with a reason (privacy-request-operations.ts); off the open list. */
export type RequestStatus = 'received' | 'running' | 'completed' | 'failed' | 'closed';
/** Where a request came from: the tenant's API key, an operator, or a Shopify GDPR webhook (R-DSR-6). */
export type RequestOrigin = 'api' | 'operator' | 'shopify';

export interface PrivacyStep {
  /** The task (`locate`, `erase-records`, …) or `received`. */
  readonly name: string;
  readonly at: string;
  readonly outcome: 'success' | 'failure';
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** What a finished request produced. */
export interface RequestResult {
  /** Access: the export's manifest and parts in the exports bucket. */
  readonly exportKeys?: { readonly manifest: string; readonly parts: readonly string[] };
  /** Erasure: the signed deletion record in the records bucket. */
  readonly deletionRecordKey?: string;
  readonly counts?: Readonly<Record<string, number>>;
}

export interface PrivacyRequestRecord {
  readonly tenantId: string;
  /** `dsr_<ulid>`, or derived from the delivery id for a Shopify webhook (so a redelivery is the same request). */
  readonly requestId: string;
  readonly type: SubjectRequestType;
  /** Keyed hash of the subject's identifier (domain/subjects hashSubject); the identifier itself is never stored. */
  readonly subjectHash: string;
  /** The identifier kind (`email`, `user_id`…), not its value. */
  readonly subjectKind: string;
  readonly origin: RequestOrigin;
  /** `api-key:<keyId>`, `operator:<arn>`, `webhook:<sourceId>`. */
  readonly actor: string;
  readonly receivedAt: string;
  /** R-DSR-5: one month after receipt (GDPR Art. 12(3)). */
  readonly dueAt: string;
  readonly status: RequestStatus;
  readonly steps: readonly PrivacyStep[];
  /** Rectification: the corrections, envelope-encrypted under the tenant key (they may hold personal data). */
  readonly correctionsCiphertext?: string;
  /** Consent (R-DSR-4): the purposes the request turns off (`false`) or on again (`true`); no personal data. */
  readonly consent?: ConsentChange;
  readonly executionId?: string;
  readonly result?: RequestResult;
  readonly failure?: { readonly error: string; readonly at: string };
  readonly completedAt?: string;
}

/**
 * R-TERM-2: a termination's export stays downloadable this long before the purge. The state machine's ExportWindow
 * wait and the exports bucket's lifecycle (lib/constructs) are built from it, the manifest's availableUntil too.
 */
export const EXPORT_WINDOW_DAYS = 30;

/*
 * The retention facts a termination certificate states (R-TERM-4, R-TERM-5), each in one place: CDK builds the
 * tenant key policy and the backup plan from them, the functions date the certificate with them.
 */
/** DynamoDB point-in-time recovery keeps 35 days, fixed by AWS. */
export const PITR_WINDOW_DAYS = 35;
/** Days KMS waits before deleting a shredded tenant key: the shortest KMS allows, so backups turn unreadable soonest. */
export const KEY_DELETION_WINDOW_DAYS = 7;
/** R-DSR-2, R-TERM-4: the event stream's retention by default (lib/config.ts stream.retentionHours). */
export const STREAM_RETENTION_HOURS = 24;
/** The processor's dead-letter queue keeps letters this long (lib/constructs/stream-processor.ts). */
export const DEAD_LETTER_RETENTION_DAYS = 14;
/** Daily table backups are kept this long unless the config says otherwise (lib/config.ts backupRetentionDays). */
export const DEFAULT_BACKUP_RETENTION_DAYS = 35;

/** R-TERM-3: the controller elects the 30-day export window (default) or immediate deletion. */
export type TerminationElection = 'export-then-delete' | 'immediate';

export interface TerminationRecord {
  readonly tenantId: string;
  /** `term_<ulid>`: also the execution name. */
  readonly terminationId: string;
  readonly election: TerminationElection;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly status: 'running' | 'completed' | 'failed';
  readonly steps: readonly PrivacyStep[];
  /** The one execution bound to the termination: every task of any other execution is refused (TerminationSuperseded). */
  readonly executionId?: string;
  /**
   * The 30-day export (R-TERM-2): the manifest in the exports bucket lists every part (the record stays far below
   * DynamoDB's 400 KB item limit whatever the tenant's size), and until when they are kept.
   */
  readonly export?: { readonly manifest: string; readonly partCount: number; readonly availableUntil: string };
  /**
   * R-TERM-1..5: the state after the last completed task, written with it (bound to this termination and its
   * execution). A lost execution resumes from here; a task whose answer was lost returns it instead of redoing work.
   */
  readonly checkpoint?: TerminationWorkflowState;
  /** The task that wrote the checkpoint (a retry of that very task gets it back). */
  readonly checkpointTask?: string;
  /** R-TERM-2: the export window's end: the sweeper starts the purge then (no execution waits 30 days). */
  readonly purgeAfter?: string;
  /** How many times a lost or stopped execution was resumed (by the sweeper or an operator). */
  readonly resumes?: number;
  /** The signed deletion certificate in the records bucket (R-TERM-5). */
  readonly certificateKey?: string;
  readonly failure?: { readonly error: string; readonly at: string };
  readonly completedAt?: string;
}

/** The error a task state saw, as Step Functions puts it at `$.error` for the Catch handler. */
export interface TaskError {
  readonly Error: string;
  readonly Cause?: string;
}

/** State of a data-subject request's execution. */
export interface SubjectWorkflowState {
  readonly tenantId: string;
  readonly requestId: string;
  readonly type: SubjectRequestType;
  readonly subjectHash: string;
  readonly receivedAt: string;
  /** The located event ids, as a JSON array in the exports bucket. */
  readonly worklist?: { readonly key: string; readonly count: number };
  /** Index in the work list of the next batch. */
  readonly cursor?: number;
  /** The batch loop is finished. */
  readonly done?: boolean;
  /** Erasure: how many locate/erase/verify passes ran (events may still arrive while it runs). */
  readonly pass?: number;
  /** Erasure: records the last verification still found. */
  readonly remaining?: number;
  /** Export parts written so far (keys in the exports bucket). */
  readonly parts?: readonly string[];
  /** Running totals: events, subjectIndexEntries, payloadObjects, exports, quarantined, released, rectified… */
  readonly counts?: Readonly<Record<string, number>>;
  readonly error?: TaskError;
}

/**
 * R-TERM-1..5: where a termination resumes: the next task to run. `drain` is the stream drain after the freeze;
 * `await-window` is the export window (no execution runs while it is open); `done` follows the certificate.
 */
export const TERMINATION_STAGES = ['freeze', 'drain', 'flush', 'export', 'manifest', 'await-window', 'purge', 'shred', 'verify', 'certify', 'done'] as const;
export type TerminationStage = (typeof TERMINATION_STAGES)[number];

/** State of a termination execution. */
export interface TerminationWorkflowState {
  readonly tenantId: string;
  readonly terminationId: string;
  readonly election: TerminationElection;
  readonly requestedAt: string;
  /** The next task to run (absent: from the start). */
  readonly stage?: TerminationStage;
  /** Tasks completed by the whole termination, across executions: a checkpoint with a higher turn is newer. */
  readonly turn?: number;
  /** Loop turns of this execution; at the limit the loop goes on in a new execution (history stays bounded). */
  readonly turns?: number;
  /** Executions of this termination so far (the continuation's name). */
  readonly segment?: number;
  /** The loop reached the turn limit: the next turn runs in a new execution. */
  readonly continue?: boolean;
  /** This execution (`$$.Execution.Id`, set by the machine's first state). */
  readonly execution?: { readonly id: string };
  /** The execution that started this one, which held the record until now. */
  readonly predecessor?: { readonly id: string };
  readonly cursor?: string;
  readonly done?: boolean;
  readonly parts?: readonly string[];
  /** R-TERM-1: the drain marker put into the stream after the freeze, and when. */
  readonly drain?: { readonly markerId: string; readonly putAt: string };
  /** Purge phase: `events`, then `rollups`, `ai`, `objects`, `exports`, `requests`, `control`, then done. */
  readonly phase?: string;
  readonly counts?: Readonly<Record<string, number>>;
  readonly keyDestroyed?: { readonly at: string; readonly unrecoverableAfter: string };
  readonly error?: TaskError;
}

/** What each Lambda task state sends: the task's name and the whole state; the task returns the next state. */
export interface TaskInvocation<S> {
  readonly task: string;
  readonly state: S;
}

/** R-DSR-5: the metric the hourly deadline check emits and the operators' alarm watches (lib/constructs/operations-alarms.ts). */
export const OVERDUE_METRIC = 'OverduePrivacyRequests';

/** Task names of the data-subject state machines (lambdas/privacy-tasks). */
export const SUBJECT_TASKS = [
  'locate',
  'export-records',
  'write-export-manifest',
  'erase-records',
  'erase-exports',
  'verify-erasure',
  'sign-deletion-record',
  'rectify-records',
  'restrict',
  'quarantine-records',
  'lift-restriction',
  'release-records',
  'set-consent',
  'complete',
  'record-failure',
] as const;
export type SubjectTask = (typeof SUBJECT_TASKS)[number];

/** Task names of the termination state machine (lambdas/termination-tasks). */
export const TERMINATION_TASKS = [
  'claim',
  'freeze',
  'drain-stream',
  'flush-usage',
  'export-tenant-data',
  'write-tenant-manifest',
  'purge-tenant-data',
  'shred-keys',
  'verify-purge',
  'issue-certificate',
  'record-failure',
] as const;
export type TerminationTask = (typeof TERMINATION_TASKS)[number];

/**
 * Error names a task throws when retrying cannot help (the state machines do not retry them). Every other error
 * is retried with backoff, then caught and recorded (R-SEC-6).
 */
export const PERMANENT_ERROR = 'PermanentTaskError';
export class PermanentTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = PERMANENT_ERROR;
  }
}

/**
 * R-TERM-1..5: the termination record belongs to another termination or execution: a stale execution stops here,
 * writing nothing (a permanent error: retrying cannot help).
 */
/** R-TERM-1..5: whether the record is still the one the binding names (its termination, one of its executions). */
export function isBoundTo(
  record: Pick<TerminationRecord, 'terminationId' | 'executionId'>,
  binding: { readonly terminationId: string; readonly executionIds?: readonly string[]; readonly unbound?: boolean } | undefined,
): boolean {
  if (!binding) return true;
  if (record.terminationId !== binding.terminationId) return false;
  if (!binding.executionIds) return true;
  return record.executionId === undefined ? binding.unbound === true : binding.executionIds.includes(record.executionId);
}

export class TerminationSuperseded extends PermanentTaskError {
  readonly superseded = true;
  constructor(tenantId: string) {
    super(`The termination record of tenant '${tenantId}' is bound to another termination or execution`);
  }
}
