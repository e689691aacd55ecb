/**
 * Signed deletion records and certificates (R-DSR-2, R-TERM-5): the signed bytes do not depend on key order, the
 * backup dates follow the deployment's retention facts (R-TERM-4), and any change to a signed document, to its
 * signature or to the key that checks it makes verification fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDocumentSigner } from '../../lambdas/adapters/document-signers';
import {
  backupDates,
  canonicalBytes,
  signDeletionDocument,
  verifyDeletionDocument,
  type SignedDeletionDocument,
  type SubjectDeletionRecord,
  type TenantDeletionCertificate,
} from '../../lambdas/domain/deletion-records';

const DAY_MS = 24 * 3600 * 1000;
const dir = mkdtempSync(join(tmpdir(), 'lumiqo-deletion-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const certificate: TenantDeletionCertificate = {
  kind: 'lumiqo.tenant-deletion.v1',
  tenantId: 'acme',
  terminationId: 'term_01JQ0000000000000000000000',
  election: 'export-then-delete',
  requestedAt: '2026-03-02T10:00:00.000Z',
  purgedAt: '2026-04-01T10:05:00.000Z',
  deleted: { events: 12, subjectIndexEntries: 7, payloadObjects: 2, rollups: 5 },
  keyMaterial: { destroyedAt: '2026-04-01T10:05:00.000Z', unrecoverableAfter: '2026-04-08T10:05:00.000Z' },
  backups: backupDates(new Date('2026-04-01T10:05:00.000Z'), new Date('2026-04-08T10:05:00.000Z'), {
    backupRetentionDays: 35,
    keyDeletionWindowDays: 7,
    pitrWindowDays: 35,
  }),
  retained: ['billing ledger (R-TERM-6)', 'audit log (R-SEC-6)'],
  verification: { method: 'every store empty', remaining: 0, verifiedAt: '2026-04-01T10:06:00.000Z' },
};

const record: SubjectDeletionRecord = {
  kind: 'lumiqo.subject-erasure.v1',
  tenantId: 'acme',
  requestId: 'dsr_01JQ0000000000000000000000',
  subjectHash: 'a'.repeat(64),
  receivedAt: '2026-03-02T10:00:00.000Z',
  completedAt: '2026-03-02T10:30:00.000Z',
  deleted: { events: 3, subjectIndexEntries: 3, payloadObjects: 0, exports: 1 },
  verification: { method: 'subject index partition empty', remaining: 0, receivedAfterRequest: 0, verifiedAt: '2026-03-02T10:29:00.000Z' },
};

/** The same object with every object's keys in reverse order, at every depth. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
  }
  return value;
}

describe('canonicalBytes', () => {
  it('R-TERM-5: does not depend on the order of keys, at any depth', () => {
    const reordered = reversedKeys(certificate) as TenantDeletionCertificate;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(certificate));

    expect(canonicalBytes(reordered).equals(canonicalBytes(certificate))).toBe(true);
  });

  it('R-TERM-5: differs as soon as one value differs', () => {
    const changed = { ...certificate, deleted: { ...certificate.deleted, events: 13 } };

    expect(canonicalBytes(changed).equals(canonicalBytes(certificate))).toBe(false);
  });

  it('R-TERM-5: is RFC 8785 JSON: sorted keys, no whitespace between tokens', () => {
    const text = canonicalBytes(record).toString('utf8');

    expect(text.startsWith('{"completedAt":"2026-03-02T10:30:00.000Z","deleted":{"events":3,"exports":1,')).toBe(true);
    // No whitespace between tokens: re-serialising the parsed text changes nothing.
    expect(JSON.stringify(JSON.parse(text))).toBe(text);
  });
});

describe('backupDates', () => {
  const purgedAt = new Date('2026-04-01T00:00:00.000Z');
  const days = (n: number) => new Date(purgedAt.getTime() + n * DAY_MS).toISOString();

  it('R-TERM-4: copies expire after the longer of the PITR window and the backup retention', () => {
    expect(backupDates(purgedAt, new Date(days(400)), { pitrWindowDays: 35, backupRetentionDays: 90, keyDeletionWindowDays: 30 }).copiesExpireBy).toBe(days(90));
    expect(backupDates(purgedAt, new Date(days(400)), { pitrWindowDays: 35, backupRetentionDays: 7, keyDeletionWindowDays: 30 }).copiesExpireBy).toBe(days(35));
  });

  it('R-TERM-4: every copy is unrecoverable once the key is gone, when that comes before the copies expire', () => {
    const dates = backupDates(purgedAt, new Date(days(7)), { pitrWindowDays: 35, backupRetentionDays: 90, keyDeletionWindowDays: 7 });

    expect(dates).toEqual({
      pitrWindowDays: 35,
      backupRetentionDays: 90,
      keyDeletionWindowDays: 7,
      copiesExpireBy: days(90),
      unrecoverableBy: days(7),
    });
  });

  it('R-TERM-4: when the copies expire before the key is deleted, the expiry is the date', () => {
    const dates = backupDates(purgedAt, new Date(days(60)), { pitrWindowDays: 35, backupRetentionDays: 30, keyDeletionWindowDays: 60 });

    expect(dates.unrecoverableBy).toBe(days(35));
  });

  it('R-TERM-4: a key destroyed at purge time (local key file) makes every copy unrecoverable at once', () => {
    expect(backupDates(purgedAt, purgedAt, { pitrWindowDays: 35, backupRetentionDays: 35, keyDeletionWindowDays: 0 }).unrecoverableBy).toBe(purgedAt.toISOString());
  });
});

describe('signDeletionDocument / verifyDeletionDocument', () => {
  const signer = new LocalDocumentSigner(join(dir, 'signing.pem'));
  const otherSigner = new LocalDocumentSigner(join(dir, 'other.pem'));
  let publicKey: string;
  let signed: SignedDeletionDocument<TenantDeletionCertificate>;
  beforeAll(async () => {
    publicKey = await signer.publicKeyPem();
    signed = await signDeletionDocument(certificate, signer);
  });

  it('R-TERM-5: a signed certificate verifies with the signer’s public key', () => {
    expect(signed.signature).toEqual({ algorithm: 'ECDSA_SHA_256', keyId: expect.stringMatching(/^local:[0-9a-f]{16}$/), value: expect.any(String) });
    expect(verifyDeletionDocument(signed, publicKey)).toBe(true);
  });

  it('R-DSR-2: a signed subject deletion record verifies too', async () => {
    expect(verifyDeletionDocument(await signDeletionDocument(record, signer), publicKey)).toBe(true);
  });

  it('R-TERM-5: it still verifies after a JSON round trip that reorders its keys (as stored and read back)', () => {
    const readBack = JSON.parse(JSON.stringify(reversedKeys(signed))) as SignedDeletionDocument;

    expect(verifyDeletionDocument(readBack, publicKey)).toBe(true);
  });

  const tamperings: [string, (d: TenantDeletionCertificate) => object][] = [
    ['tenant id', (d) => ({ ...d, tenantId: 'other' })],
    ['a deleted count', (d) => ({ ...d, deleted: { ...d.deleted, events: 11 } })],
    ['the backup date', (d) => ({ ...d, backups: { ...d.backups, unrecoverableBy: '2026-04-02T00:00:00.000Z' } })],
    ['the retained list', (d) => ({ ...d, retained: d.retained.slice(1) })],
    ['the verification outcome', (d) => ({ ...d, verification: { ...d.verification, remaining: 1 } })],
    ['an added field', (d) => ({ ...d, note: 'added later' })],
    ['a removed field', ({ purgedAt: _removed, ...rest }) => rest],
  ];
  it.each(tamperings)('R-TERM-5: a document with a changed %s fails verification', (_, tamper) => {
    const tampered = { ...signed, document: tamper(signed.document) } as SignedDeletionDocument;

    expect(verifyDeletionDocument(tampered, publicKey)).toBe(false);
  });

  it('R-TERM-5: a changed signature fails verification', () => {
    const bytes = Buffer.from(signed.signature.value, 'base64');
    bytes[bytes.length - 1] ^= 0x01;
    const flipped = { ...signed, signature: { ...signed.signature, value: bytes.toString('base64') } };
    const truncated = { ...signed, signature: { ...signed.signature, value: signed.signature.value.slice(0, 20) } };
    const relabelled = { ...signed, signature: { ...signed.signature, algorithm: 'RSA_SHA_256' } } as unknown as SignedDeletionDocument;
    const missing = { document: signed.document } as unknown as SignedDeletionDocument;

    expect([flipped, truncated, relabelled, missing].map((s) => verifyDeletionDocument(s, publicKey))).toEqual([false, false, false, false]);
  });

  it('R-TERM-5: another key’s public key does not verify it; that key verifies its own signatures', async () => {
    const otherKey = await otherSigner.publicKeyPem();

    expect(otherKey).not.toBe(publicKey);
    expect(verifyDeletionDocument(signed, otherKey)).toBe(false);
    expect(verifyDeletionDocument(await signDeletionDocument(certificate, otherSigner), otherKey)).toBe(true);
  });

  it('R-TERM-5: a malformed public key fails verification instead of throwing', () => {
    expect(verifyDeletionDocument(signed, '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----')).toBe(false);
  });
});
