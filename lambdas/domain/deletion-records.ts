/**
 * Signed deletion records (R-DSR-2) and deletion certificates (R-TERM-5): what an auditor can verify without
 * trusting the platform's storage. The document is serialised with the JSON Canonicalization Scheme (RFC 8785),
 * signed with ECDSA P-256 / SHA-256 (a KMS asymmetric key in AWS, a local key file in local mode), and stored as
 * `{ document, signature }`. Anyone with the public key verifies it with `verifyDeletionDocument` or OpenSSL
 * (README "Deletion certificates").
 */
import { createPublicKey, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { DocumentSigner, DocumentStore } from './ports';
import { USAGE_MARK_RETENTION_DAYS } from './usage';
import { DEAD_LETTER_RETENTION_DAYS, DEFAULT_BACKUP_RETENTION_DAYS, KEY_DELETION_WINDOW_DAYS, PITR_WINDOW_DAYS, STREAM_RETENTION_HOURS } from './privacy';

/** Retention facts of the deployment that decide when backup copies are gone (handed to the tasks by CDK). */
export interface BackupFacts {
  /** AWS Backup retention of the daily table backups (config.backupRetentionDays). */
  readonly backupRetentionDays: number;
  /** KMS key deletion waiting period of tenant keys (TenantKeys). */
  readonly keyDeletionWindowDays: number;
  /** DynamoDB point-in-time recovery window. */
  readonly pitrWindowDays: number;
  /** Kinesis retention of the event stream (config.stream.retentionHours): whole events, under the deployment key. @default STREAM_RETENTION_HOURS */
  readonly streamRetentionHours?: number;
  /** Retention of the processor's dead-letter queue (stream positions only, never record bytes). @default DEAD_LETTER_RETENTION_DAYS */
  readonly deadLetterRetentionDays?: number;
}

/** What a deployment keeps by default (domain/privacy.ts). */
export const DEFAULT_BACKUP_FACTS: BackupFacts = {
  backupRetentionDays: DEFAULT_BACKUP_RETENTION_DAYS,
  keyDeletionWindowDays: KEY_DELETION_WINDOW_DAYS,
  pitrWindowDays: PITR_WINDOW_DAYS,
  streamRetentionHours: STREAM_RETENTION_HOURS,
  deadLetterRetentionDays: DEAD_LETTER_RETENTION_DAYS,
};

/**
 * A copy of the deleted data that the platform cannot delete on demand, and when it is gone (R-DSR-2, R-TERM-4):
 * every deletion record and certificate names each, so that it tells the whole truth.
 */
export interface RemainingCopy {
  /** `event-stream`, `dead-letter-queue`, `table-pitr`, `table-backups`. */
  readonly store: string;
  readonly holds: string;
  /** When the last copy in this store expires. */
  readonly expiresBy: string;
  /** Tenant certificates: from when the copy is unreadable (ciphertext under the shredded key). */
  readonly unreadableFrom?: string;
}

const DAY_MS = 24 * 3600 * 1000;
const plusDays = (at: Date, days: number) => new Date(at.getTime() + days * DAY_MS).toISOString();
const plusHours = (at: Date, hours: number) => new Date(at.getTime() + hours * 3600 * 1000).toISOString();

/**
 * R-BILL-2, R-TERM-6: the billing ledger's usage marks, one per stored event (its id, day, kind and byte count, no
 * content), which billing keeps until Stripe's 35-day window has passed; none is written after `at`.
 */
const usageMarks = (at: Date): RemainingCopy => ({
  store: 'usage-ledger',
  holds: 'usage marks: event ids with their day, kind and size, no content; billing records (R-BILL-2)',
  expiresBy: plusDays(at, USAGE_MARK_RETENTION_DAYS),
});

/**
 * R-DSR-2: what remains of an erased subject. The stream keeps records accepted up to the request for its retention
 * (the processor drops them: erasure marker); point-in-time recovery and the daily backups keep the erased items,
 * their bodies as ciphertext under the tenant key, until they age out. The dead-letter queue holds no record bytes.
 */
export function subjectRemainingCopies(receivedAt: Date, completedAt: Date, facts: BackupFacts): RemainingCopy[] {
  return [
    { store: 'event-stream', holds: 'records of the subject accepted up to the request, whole, under the deployment data key; the processor drops them', expiresBy: plusHours(receivedAt, facts.streamRetentionHours ?? STREAM_RETENTION_HOURS) },
    { store: 'dead-letter-queue', holds: 'stream positions and reasons only, never record bytes', expiresBy: plusDays(completedAt, facts.deadLetterRetentionDays ?? DEAD_LETTER_RETENTION_DAYS) },
    { store: 'table-pitr', holds: 'the erased items as they were, bodies as ciphertext under the tenant key', expiresBy: plusDays(completedAt, facts.pitrWindowDays) },
    { store: 'table-backups', holds: 'the erased items in daily backups, bodies as ciphertext under the tenant key', expiresBy: plusDays(completedAt, facts.backupRetentionDays) },
    usageMarks(completedAt),
  ];
}

/**
 * R-TERM-4: what remains of a terminated tenant. Ingestion closed at the freeze, before the purge, so the stream's
 * last copy of the tenant expires within its retention of the purge; PITR and backups are ciphertext under the
 * shredded key, unreadable once the key is deleted, and gone when they age out.
 */
export function tenantRemainingCopies(purgedAt: Date, keyUnrecoverableAfter: Date, facts: BackupFacts): RemainingCopy[] {
  const unreadableFrom = keyUnrecoverableAfter.toISOString();
  return [
    { store: 'event-stream', holds: 'records accepted before the freeze, whole, under the deployment data key; the processor drops them', expiresBy: plusHours(purgedAt, facts.streamRetentionHours ?? STREAM_RETENTION_HOURS) },
    { store: 'dead-letter-queue', holds: 'stream positions and reasons only, never record bytes', expiresBy: plusDays(purgedAt, facts.deadLetterRetentionDays ?? DEAD_LETTER_RETENTION_DAYS) },
    { store: 'table-pitr', holds: 'the tenant\'s items as they were, bodies as ciphertext under the tenant key', expiresBy: plusDays(purgedAt, facts.pitrWindowDays), unreadableFrom },
    { store: 'table-backups', holds: 'the tenant\'s items in daily backups, bodies as ciphertext under the tenant key', expiresBy: plusDays(purgedAt, facts.backupRetentionDays), unreadableFrom },
    usageMarks(purgedAt),
  ];
}

/** What was deleted, counted by store. */
export type DeletionCounts = Readonly<Record<string, number>>;

export interface SubjectDeletionRecord {
  readonly kind: 'lumiqo.subject-erasure.v1';
  readonly tenantId: string;
  readonly requestId: string;
  /** The keyed hash the subject index used; the identifier itself is never written down. */
  readonly subjectHash: string;
  readonly receivedAt: string;
  readonly completedAt: string;
  readonly deleted: DeletionCounts;
  /**
   * How deletion was verified, and what the last verification found: zero records received up to the request, and
   * how many were received after it (new processing by the controller, not covered by this request).
   */
  readonly verification: { readonly method: string; readonly remaining: number; readonly receivedAfterRequest: number; readonly verifiedAt: string };
  /** Copies the erasure cannot reach, each with when it is gone (absent from records signed before issue 11). */
  readonly remainingCopies?: readonly RemainingCopy[];
}

export interface TenantDeletionCertificate {
  readonly kind: 'lumiqo.tenant-deletion.v1';
  readonly tenantId: string;
  readonly terminationId: string;
  readonly election: string;
  readonly requestedAt: string;
  readonly purgedAt: string;
  readonly deleted: DeletionCounts;
  readonly keyMaterial: { readonly destroyedAt: string; readonly unrecoverableAfter: string };
  /**
   * R-TERM-4: the date by which no backup copy can be read. Backups and PITR copies hold the tenant's data only as
   * ciphertext under its key, so they are unreadable once the key is gone; they also age out of the PITR window
   * and the backup retention. The earlier of the two is when every copy is unrecoverable.
   */
  readonly backups: {
    readonly pitrWindowDays: number;
    readonly backupRetentionDays: number;
    readonly keyDeletionWindowDays: number;
    readonly copiesExpireBy: string;
    readonly unrecoverableBy: string;
  };
  /** Kept on purpose, apart from tenant data (R-TERM-6, R-SEC-6). */
  readonly retained: readonly string[];
  readonly verification: { readonly method: string; readonly remaining: number; readonly verifiedAt: string };
  /** Copies the purge cannot reach, each with when it is unreadable and gone (absent from certificates before issue 11). */
  readonly remainingCopies?: readonly RemainingCopy[];
}

export type DeletionDocument = SubjectDeletionRecord | TenantDeletionCertificate;

export interface SignedDeletionDocument<D extends DeletionDocument = DeletionDocument> {
  readonly document: D;
  readonly signature: {
    readonly algorithm: 'ECDSA_SHA_256';
    /** The signing key: a KMS key ARN, or `local:<fingerprint>`. */
    readonly keyId: string;
    /** DER, base64, over the RFC 8785 canonical form of `document`. */
    readonly value: string;
  };
}

/** The certificate's backup dates, from the purge time, the key's deletion date and the retention facts. */
export function backupDates(
  purgedAt: Date,
  keyUnrecoverableAfter: Date,
  facts: Pick<BackupFacts, 'pitrWindowDays' | 'backupRetentionDays' | 'keyDeletionWindowDays'>,
): TenantDeletionCertificate['backups'] {
  const copiesExpireBy = new Date(purgedAt.getTime() + Math.max(facts.pitrWindowDays, facts.backupRetentionDays) * DAY_MS);
  const unrecoverableBy = new Date(Math.min(copiesExpireBy.getTime(), keyUnrecoverableAfter.getTime()));
  return {
    pitrWindowDays: facts.pitrWindowDays,
    backupRetentionDays: facts.backupRetentionDays,
    keyDeletionWindowDays: facts.keyDeletionWindowDays,
    copiesExpireBy: copiesExpireBy.toISOString(),
    unrecoverableBy: unrecoverableBy.toISOString(),
  };
}

/** The exact bytes that are signed: RFC 8785 canonical JSON, UTF-8. */
export function canonicalBytes(document: DeletionDocument): Buffer {
  const text = canonicalize(document);
  if (text === undefined) throw new Error('Deletion document cannot be canonicalised');
  return Buffer.from(text, 'utf8');
}

export async function signDeletionDocument<D extends DeletionDocument>(document: D, signer: DocumentSigner): Promise<SignedDeletionDocument<D>> {
  const signature = await signer.sign(canonicalBytes(document));
  return { document, signature: { algorithm: signature.algorithm, keyId: signature.keyId, value: signature.signature } };
}

/** A signed record or certificate from the records bucket; undefined when the object is not there. */
export async function readSignedDocument<D extends DeletionDocument>(records: Pick<DocumentStore, 'get'>, key: string): Promise<SignedDeletionDocument<D> | undefined> {
  const body = await records.get(key);
  return body ? (JSON.parse(Buffer.from(body).toString('utf8')) as SignedDeletionDocument<D>) : undefined;
}

/** True only if `signed.signature` is a valid signature of `signed.document` under `publicKeyPem`. */
export function verifyDeletionDocument(signed: SignedDeletionDocument, publicKeyPem: string): boolean {
  if (signed?.signature?.algorithm !== 'ECDSA_SHA_256' || typeof signed.signature.value !== 'string') return false;
  try {
    return verify('sha256', canonicalBytes(signed.document), { key: createPublicKey(publicKeyPem), dsaEncoding: 'der' }, Buffer.from(signed.signature.value, 'base64'));
  } catch {
    return false;
  }
}
