/**
 * Envelope encryption per tenant (R-SEC-2, R-SEC-3, R-SEC-4, R-TERM-4), issue 12's record format, node:crypto only.
 *
 * - Data keys: 256-bit, from the tenant's own key (KMS GenerateDataKey with the encryption context
 *   { tenantId, purpose }; locally, random and wrapped with AES-256-GCM under the tenant's key file). A process keeps
 *   one per (tenant, purpose) for at most `maxAgeMs` and `maxMessagesEncrypted` records, in memory only; at rest a
 *   data key exists wrapped only, inline in every record it protects (self-contained: no key store that would have
 *   to outlive the records and be shredded with the tenant).
 * - Per record: AES-256-GCM under HKDF-SHA512(data key, "…/key"), a 96-bit IV that is a random 32-bit field per
 *   data key followed by a 64-bit counter (NIST SP 800-38D's deterministic construction: unique by construction,
 *   at most MAX_MESSAGES_PER_DATA_KEY records per key), a 128-bit tag.
 * - Bound as additional authenticated data and checked on decrypt: the whole header (version, wrapped key,
 *   commitment, IV) and the tenant id, the purpose and the record id. The wrapped key is bound by KMS to the tenant
 *   and the purpose as well.
 * - Key commitment: HKDF-SHA512(data key, "…/commit"), 256 bits, stored in the header and compared (constant time)
 *   before decrypting, as the ESDK's committing suite does: a ciphertext opens under one data key only.
 * - Format version: the first byte, FORMAT_V1. The old format (ESDK messages, first byte 1 or 2) still decrypts
 *   through envelope-legacy.ts, loaded on first use.
 *
 * Crypto-shredding: every data key is wrapped under the tenant's key, so destroying that key makes every record
 * unreadable, backups included; `forgetKey` drops this process's cached data keys at once, other processes lose
 * theirs within `maxAgeMs`.
 *
 * Record layout: [0x81][wrapped length u16 BE][wrapped data key][commitment 32][IV 12][ciphertext][tag 16].
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyCommand,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  type KMS,
  type KMSClient,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { assertTenantId } from '../domain/keys';
import type { Tenant } from '../domain/model';
import type { TenantCrypto, TenantKeyManager } from '../domain/ports';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import type { LegacyEnvelopeDecryptor, LegacyKeyring } from './envelope-legacy';
import { kmsOf } from './kms-client';
import { tenantKeyPolicy, tenantKeyPolicyPrincipals } from './tenant-key-policy';
import { KEY_DELETION_WINDOW_DAYS } from '../domain/privacy';

type TenantKey = Pick<Tenant, 'tenantId' | 'keyRef'>;

/** The first byte of every record written in this format. ESDK messages begin with 1 or 2. */
export const FORMAT_V1 = 0x81;
/** Byte lengths of the format's parts. */
const DATA_KEY_BYTES = 32, COMMITMENT_BYTES = 32, IV_BYTES = 12, TAG_BYTES = 16;
/** HKDF (node:crypto) with these infos turns a data key into the record key and the commitment. */
const HKDF = { hash: 'sha512', key: 'lumiqo/record/v1/key', commit: 'lumiqo/record/v1/commit' } as const;
/**
 * The stated bound on records per data key. The counter IV allows 2^64; NIST's limit on invocations of one GCM
 * key is 2^32. The cache renews keys far sooner (`maxMessagesEncrypted`, 100,000 by default).
 */
export const MAX_MESSAGES_PER_DATA_KEY = 2 ** 32;

/** A data key in the clear, and the same key wrapped under the tenant's key. */
export interface DataKey {
  readonly plaintext: Uint8Array;
  readonly wrapped: Uint8Array;
}

/** Makes and unwraps a tenant's data keys; `legacyKeyring` opens its old ESDK messages. */
export interface KeyringProvider {
  generateDataKey(tenant: TenantKey, purpose: string): Promise<DataKey>;
  decryptDataKey(tenant: TenantKey, purpose: string, wrapped: Uint8Array): Promise<Uint8Array>;
  legacyKeyring(tenant: TenantKey): Promise<LegacyKeyring>;
}

/** KMS's encryption context for a data key: what IAM conditions check (lib/constructs/tenant-keys.ts). */
const keyContext = (tenant: TenantKey, purpose: string) => ({ tenantId: tenant.tenantId, purpose });

/** AWS: keyRef is the tenant's KMS key ARN. */
export class KmsKeyringProvider implements KeyringProvider {
  constructor(private readonly kms: Pick<KMS, 'send'>) {}

  async generateDataKey(tenant: TenantKey, purpose: string): Promise<DataKey> {
    const made = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: tenant.keyRef, NumberOfBytes: DATA_KEY_BYTES, EncryptionContext: keyContext(tenant, purpose) }),
    );
    if (made.Plaintext?.byteLength !== DATA_KEY_BYTES || !made.CiphertextBlob) throw new Error('GenerateDataKey returned no 256-bit data key');
    return { plaintext: made.Plaintext, wrapped: made.CiphertextBlob };
  }

  async decryptDataKey(tenant: TenantKey, purpose: string, wrapped: Uint8Array): Promise<Uint8Array> {
    // KeyId pins the tenant's own key: a blob made under another key is refused, not decrypted with that key.
    const opened = await this.kms.send(new DecryptCommand({ KeyId: tenant.keyRef, CiphertextBlob: wrapped, EncryptionContext: keyContext(tenant, purpose) }));
    if (opened.Plaintext?.byteLength !== DATA_KEY_BYTES) throw new Error('Decrypt returned no 256-bit data key');
    return opened.Plaintext;
  }

  async legacyKeyring(): Promise<LegacyKeyring> {
    return { kind: 'kms', kms: this.kms };
  }
}

const LOCAL_KEY_PREFIX = 'local:';

/** The tenant id in a `local:<tenantId>` keyRef; validated, so it is safe as a file name. */
function localKeyTenant(keyRef: string): string {
  if (!keyRef.startsWith(LOCAL_KEY_PREFIX)) throw new Error(`Not a local key reference: '${keyRef}'`);
  return assertTenantId(keyRef.slice(LOCAL_KEY_PREFIX.length));
}

const localKeyFile = (dir: string, tenantId: string) => join(dir, `${tenantId}.key`);

/** The AAD of a local wrap: what KMS's encryption context is to a KMS data key. */
const localWrapContext = (tenant: TenantKey, purpose: string) => Buffer.from(JSON.stringify(['lumiqo-local-wrap/v1', tenant.tenantId, purpose]), 'utf8');

/**
 * Local mode: keyRef `local:<tenantId>`, the key is `<dir>/<tenantId>.key` (256 bits). Data keys are random and
 * wrapped with AES-256-GCM under it ([IV 12][wrapped key 32][tag 16]), the tenant and the purpose as AAD.
 */
export class LocalKeyringProvider implements KeyringProvider {
  constructor(private readonly dir: string) {}

  async generateDataKey(tenant: TenantKey, purpose: string): Promise<DataKey> {
    const master = await this.masterKey(tenant);
    const plaintext = randomBytes(DATA_KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(localWrapContext(tenant, purpose));
    const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { plaintext, wrapped: sealed };
  }

  async decryptDataKey(tenant: TenantKey, purpose: string, wrapped: Uint8Array): Promise<Uint8Array> {
    const master = await this.masterKey(tenant);
    if (wrapped.byteLength !== IV_BYTES + DATA_KEY_BYTES + TAG_BYTES) throw new Error('Not a local wrapped data key');
    const blob = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
    const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, IV_BYTES)).setAAD(localWrapContext(tenant, purpose));
    decipher.setAuthTag(blob.subarray(IV_BYTES + DATA_KEY_BYTES));
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES, IV_BYTES + DATA_KEY_BYTES)), decipher.final()]);
  }

  async legacyKeyring(tenant: TenantKey): Promise<LegacyKeyring> {
    return { kind: 'raw-aes', keyName: tenant.tenantId, key: await this.masterKey(tenant) };
  }

  private async masterKey(tenant: TenantKey): Promise<Buffer> {
    const tenantId = localKeyTenant(tenant.keyRef);
    if (tenantId !== tenant.tenantId) throw new Error(`Key '${tenant.keyRef}' does not belong to tenant '${tenant.tenantId}'`);
    try {
      return await readFile(localKeyFile(this.dir, tenantId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`No key material for tenant '${tenantId}' (destroyed or never created)`);
      throw error;
    }
  }
}

export interface DataKeyCacheOptions {
  /** How long one data key is used (encrypting) or kept (decrypting). @default 5 minutes */
  readonly maxAgeMs?: number;
  /** Records one data key may encrypt before a new one is made. @default 100,000 */
  readonly maxMessagesEncrypted?: number;
  /** Unwrapped data keys kept for decrypting. @default 1,000 */
  readonly capacity?: number;
  /** The clock the cache ages by. @default Date.now */
  readonly now?: () => number;
}

const DEFAULT_MAX_AGE_MS = 5 * 60_000;
const DEFAULT_MAX_MESSAGES = 100_000;
const DEFAULT_CAPACITY = 1_000;

/** What a data key gives, derived once per key: the record key and the commitment (HKDF-SHA512). */
interface DerivedKey {
  readonly key: KeyObject;
  readonly commitment: Buffer;
}

function derive(dataKey: Uint8Array): DerivedKey {
  const key = createSecretKey(Buffer.from(hkdfSync(HKDF.hash, dataKey, Buffer.alloc(0), HKDF.key, 32)));
  const commitment = Buffer.from(hkdfSync(HKDF.hash, dataKey, Buffer.alloc(0), HKDF.commit, COMMITMENT_BYTES));
  // The data key itself is not kept: only what is derived from it.
  if (dataKey instanceof Uint8Array) dataKey.fill(0);
  return { key, commitment };
}

/** One data key in use for encrypting: its derived key, the record header prefix, the IV state. */
interface Sealer extends DerivedKey {
  readonly prefix: Buffer;
  readonly ivField: Buffer;
  counter: bigint;
  remaining: number;
  readonly until: number;
}

/** The AAD that binds a record to its tenant, purpose and id (length-prefixed, so no two contexts encode alike). */
function recordContext(tenantId: string, purpose: string, recordId: string): Buffer {
  const parts = [tenantId, purpose, recordId].map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 2 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    at = out.writeUInt16BE(p.length, at);
    at += p.copy(out, at);
  }
  return out;
}

export class EnvelopeTenantCrypto implements TenantCrypto {
  private readonly sealers = new Map<string, Promise<Sealer>>();
  private readonly openers = new Map<string, { readonly ready: Promise<DerivedKey>; readonly until: number; readonly keyRef: string }>();
  private legacy?: Promise<LegacyEnvelopeDecryptor>;
  private readonly maxAgeMs: number;
  private readonly maxMessages: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(
    private readonly keyrings: KeyringProvider,
    options: DataKeyCacheOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.maxMessages = Math.max(1, Math.min(options.maxMessagesEncrypted ?? DEFAULT_MAX_MESSAGES, MAX_MESSAGES_PER_DATA_KEY));
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.now = options.now ?? Date.now;
  }

  /**
   * R-SEC-2. `recordId` names what the ciphertext is (the event id of an event body); decrypt must name it again.
   * Concurrent encryptions on a cold cache wait for one data key: one GenerateDataKey per tenant and purpose per
   * cache period (R-SEC-3).
   */
  async encrypt(tenant: TenantKey, plaintext: Uint8Array, purpose: string, recordId = ''): Promise<Uint8Array> {
    const sealer = await this.sealerFor(tenant, purpose);
    const iv = Buffer.allocUnsafe(IV_BYTES);
    sealer.ivField.copy(iv, 0);
    iv.writeBigUInt64BE(sealer.counter++, 4);
    const cipher = createCipheriv('aes-256-gcm', sealer.key, iv);
    cipher.setAAD(sealer.prefix);
    cipher.setAAD(iv);
    cipher.setAAD(recordContext(tenant.tenantId, purpose, recordId));
    const body = cipher.update(plaintext);
    const final = cipher.final();
    const out = Buffer.allocUnsafe(sealer.prefix.length + IV_BYTES + body.length + final.length + TAG_BYTES);
    let at = sealer.prefix.copy(out, 0);
    at += iv.copy(out, at);
    at += body.copy(out, at);
    at += final.copy(out, at);
    cipher.getAuthTag().copy(out, at);
    return out;
  }

  /** R-SEC-4: refused unless made for this tenant, this purpose and this record id (old-format records: no id). */
  async decrypt(tenant: TenantKey, ciphertext: Uint8Array, purpose: string, recordId = ''): Promise<Uint8Array> {
    if (ciphertext[0] !== FORMAT_V1) return (await this.legacyDecryptor()).decrypt(tenant, () => this.keyrings.legacyKeyring(tenant), ciphertext, purpose);
    const blob = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
    if (blob.length < 3) throw new Error('Ciphertext is truncated');
    const wrappedEnd = 3 + blob.readUInt16BE(1);
    const ivStart = wrappedEnd + COMMITMENT_BYTES;
    const bodyStart = ivStart + IV_BYTES;
    if (blob.length < bodyStart + TAG_BYTES) throw new Error('Ciphertext is truncated');
    const opener = await this.openerFor(tenant, purpose, blob.subarray(3, wrappedEnd));
    if (!timingSafeEqual(opener.commitment, blob.subarray(wrappedEnd, ivStart))) throw new Error('Key commitment mismatch');
    const decipher = createDecipheriv('aes-256-gcm', opener.key, blob.subarray(ivStart, bodyStart));
    decipher.setAAD(blob.subarray(0, bodyStart));
    decipher.setAAD(recordContext(tenant.tenantId, purpose, recordId));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(blob.subarray(bodyStart, blob.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Error(`Ciphertext does not authenticate for tenant '${tenant.tenantId}', purpose '${purpose}' and this record`);
    }
  }

  /**
   * R-TERM-4: stops using cached data keys made under `keyRef`, so a shredded tenant's data is unreadable in this
   * process at once (other processes stop within maxAgeMs).
   */
  forgetKey(keyRef: string): void {
    for (const cacheKey of this.sealers.keys()) if (cacheKey.split('\u0000')[1] === keyRef) this.sealers.delete(cacheKey);
    for (const [cacheKey, entry] of this.openers) if (entry.keyRef === keyRef) this.openers.delete(cacheKey);
    void this.legacy?.then((legacy) => legacy.forgetKey(keyRef));
  }

  private async sealerFor(tenant: TenantKey, purpose: string): Promise<Sealer> {
    const cacheKey = `${tenant.tenantId}\u0000${tenant.keyRef}\u0000${purpose}`;
    const cached = this.sealers.get(cacheKey);
    if (cached) {
      // A failed generation fails the caller that started it; those that waited for it try again.
      const sealer = await cached.catch(() => undefined);
      if (sealer && sealer.remaining > 0 && sealer.until > this.now() && this.sealers.get(cacheKey) === cached) {
        sealer.remaining -= 1;
        return sealer;
      }
      if (this.sealers.get(cacheKey) === cached) this.sealers.delete(cacheKey);
      return this.sealerFor(tenant, purpose);
    }
    const made = this.newSealer(tenant, purpose);
    this.sealers.set(cacheKey, made);
    made.catch(() => {
      if (this.sealers.get(cacheKey) === made) this.sealers.delete(cacheKey);
    });
    const sealer = await made;
    sealer.remaining -= 1;
    return sealer;
  }

  private async newSealer(tenant: TenantKey, purpose: string): Promise<Sealer> {
    const { plaintext, wrapped } = await this.keyrings.generateDataKey(tenant, purpose);
    if (wrapped.byteLength > 0xffff) throw new Error('Wrapped data key too long');
    const derived = derive(plaintext);
    const prefix = Buffer.allocUnsafe(3 + wrapped.byteLength + COMMITMENT_BYTES);
    prefix[0] = FORMAT_V1;
    prefix.writeUInt16BE(wrapped.byteLength, 1);
    prefix.set(wrapped, 3);
    derived.commitment.copy(prefix, 3 + wrapped.byteLength);
    return { ...derived, prefix, ivField: randomBytes(4), counter: 0n, remaining: this.maxMessages, until: this.now() + this.maxAgeMs };
  }

  private openerFor(tenant: TenantKey, purpose: string, wrapped: Buffer): Promise<DerivedKey> {
    const cacheKey = `${tenant.tenantId}\u0000${tenant.keyRef}\u0000${purpose}\u0000${wrapped.toString('base64')}`;
    const cached = this.openers.get(cacheKey);
    if (cached && cached.until > this.now()) return cached.ready;
    const ready = this.keyrings.decryptDataKey(tenant, purpose, wrapped).then(derive);
    ready.catch(() => {
      if (this.openers.get(cacheKey)?.ready === ready) this.openers.delete(cacheKey);
    });
    this.openers.delete(cacheKey);
    // Oldest first out: Map keeps insertion order.
    if (this.openers.size >= this.capacity) this.openers.delete(this.openers.keys().next().value!);
    this.openers.set(cacheKey, { ready, until: this.now() + this.maxAgeMs, keyRef: tenant.keyRef });
    return ready;
  }

  private legacyDecryptor(): Promise<LegacyEnvelopeDecryptor> {
    // A separate chunk in the bundles (LEGACY_CHUNK): loaded when the first old-format record is read.
    this.legacy ??= Promise.resolve().then(() => {
      const legacy = require('./envelope-legacy') as typeof import('./envelope-legacy');
      return new legacy.LegacyEnvelopeDecryptor(this.maxAgeMs);
    });
    return this.legacy;
  }
}

/** Local mode: one random 256-bit key file per tenant, readable by the owner only. */
export class LocalTenantKeyManager implements TenantKeyManager {
  constructor(
    private readonly dir: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Safe to retry: a key file left by a failed creation (no tenant record yet) is that tenant's key. */
  async createTenantKey(tenantId: string): Promise<string> {
    try {
      // 'wx': never overwrite an existing key, which would shred that tenant's data by accident.
      await writeFile(localKeyFile(this.dir, assertTenantId(tenantId)), randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return `${LOCAL_KEY_PREFIX}${tenantId}`;
  }

  /** R-TERM-4: deleting the only copy of the key makes every ciphertext under it unreadable, at once. */
  async destroyTenantKey(keyRef: string): Promise<{ readonly unrecoverableAfter: string }> {
    await rm(localKeyFile(this.dir, localKeyTenant(keyRef)), { force: true });
    return { unrecoverableAfter: this.clock().toISOString() };
  }

  /** The key file is the only copy of the key: usable exactly while it exists. */
  async isTenantKeyUsable(keyRef: string): Promise<boolean> {
    try {
      await access(localKeyFile(this.dir, localKeyTenant(keyRef)));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}

export interface KmsTenantKeyOptions {
  /** Value of the `lumiqo:deployment` tag, so IAM and operators can tell deployments apart. */
  readonly deployment: string;
  /** e.g. `alias/lumiqo-prod/tenant/`; the tenant id is appended. */
  readonly aliasPrefix: string;
  /** Key policy JSON. @default the account's default key policy */
  readonly policy?: string;
  /** Days KMS waits before deleting a key (7-30). @default KEY_DELETION_WINDOW_DAYS (domain/privacy.ts) */
  readonly pendingWindowInDays?: number;
}

/** AWS: one customer-managed KMS key per tenant (R-SEC-2), scheduled for deletion on termination (R-TERM-4). */
export class KmsTenantKeyManager implements TenantKeyManager {
  constructor(
    private readonly kms: KMSClient,
    private readonly options: KmsTenantKeyOptions,
  ) {
    if (!options.aliasPrefix.startsWith('alias/')) throw new Error(`aliasPrefix must start with 'alias/', got '${options.aliasPrefix}'`);
  }

  /**
   * Safe to retry: a tenant whose creation failed after its key was made (no tenant record yet) finds that key
   * again by its alias. The alias is created straight after the key, and a key whose alias cannot be created is
   * scheduled for deletion at once, so a failed attempt leaves no billable key that nothing names.
   */
  async createTenantKey(tenantId: string): Promise<string> {
    assertTenantId(tenantId);
    const aliasName = `${this.options.aliasPrefix}${tenantId}`;
    const existing = await this.describe(aliasName);
    if (existing?.Arn && existing.KeyState === 'Enabled') {
      await this.kms.send(new EnableKeyRotationCommand({ KeyId: existing.Arn }));
      return existing.Arn;
    }
    const created = await this.kms.send(
      new CreateKeyCommand({
        Description: `Lumiqo tenant ${tenantId} (${this.options.deployment})`,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Policy: this.options.policy,
        Tags: [
          { TagKey: 'lumiqo:deployment', TagValue: this.options.deployment },
          { TagKey: 'lumiqo:tenant', TagValue: tenantId },
        ],
      }),
    );
    const arn = created.KeyMetadata?.Arn;
    if (!arn) throw new Error(`CreateKey for tenant '${tenantId}' returned no key ARN`);
    try {
      await this.kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: arn }));
    } catch (error) {
      await this.kms
        .send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: this.options.pendingWindowInDays ?? KEY_DELETION_WINDOW_DAYS }))
        .catch(() => undefined);
      throw error;
    }
    // R-SEC-2: yearly rotation of the key material; idempotent, so a retry repeats it harmlessly.
    await this.kms.send(new EnableKeyRotationCommand({ KeyId: arn }));
    return arn;
  }

  /**
   * R-TERM-4: deletes the tenant's alias, then schedules the key's deletion. After the pending window KMS deletes
   * the key material for good: that date is when data becomes unrecoverable.
   *
   * No DisableKey first: a key pending deletion already refuses every cryptographic operation, so disabling adds
   * nothing, and one call fewer leaves no half-way state (disabled, not scheduled) to reason about. The alias goes
   * first so that nothing resolves the tenant's name to a doomed key. Safe to retry: the alias is already gone, and a
   * key already pending deletion reports its existing deletion date.
   */
  async destroyTenantKey(keyRef: string): Promise<{ readonly unrecoverableAfter: string }> {
    await this.deleteAliases(keyRef);
    try {
      const scheduled = await this.kms.send(
        new ScheduleKeyDeletionCommand({ KeyId: keyRef, PendingWindowInDays: this.options.pendingWindowInDays ?? KEY_DELETION_WINDOW_DAYS }),
      );
      if (!scheduled.DeletionDate) throw new Error(`ScheduleKeyDeletion for '${keyRef}' returned no deletion date`);
      return { unrecoverableAfter: scheduled.DeletionDate.toISOString() };
    } catch (error) {
      if ((error as Error).name !== 'KMSInvalidStateException') throw error;
      const metadata = await this.describe(keyRef);
      if (metadata?.KeyState !== 'PendingDeletion' || !metadata.DeletionDate) throw error;
      return { unrecoverableAfter: metadata.DeletionDate.toISOString() };
    }
  }

  /** Only an Enabled key encrypts and decrypts; Disabled, PendingDeletion or gone is not usable. */
  async isTenantKeyUsable(keyRef: string): Promise<boolean> {
    return (await this.describe(keyRef))?.KeyState === 'Enabled';
  }

  private async describe(keyRef: string): Promise<KeyMetadata | undefined> {
    try {
      return (await this.kms.send(new DescribeKeyCommand({ KeyId: keyRef }))).KeyMetadata;
    } catch (error) {
      if ((error as Error).name === 'NotFoundException') return undefined;
      throw error;
    }
  }

  /** The deployment's aliases of this key (the tenant's `<aliasPrefix><tenantId>`); others are not ours to remove. */
  private async deleteAliases(keyRef: string): Promise<void> {
    let marker: string | undefined;
    do {
      const page = await this.kms.send(new ListAliasesCommand({ KeyId: keyRef, Marker: marker }));
      for (const alias of page.Aliases ?? []) {
        if (alias.AliasName?.startsWith(this.options.aliasPrefix)) await this.kms.send(new DeleteAliasCommand({ AliasName: alias.AliasName }));
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
  }
}

/** Envelope encryption under the tenants' KMS keys (AWS) or the local key files, one instance per function. */
export const tenantCryptoOf = (c: Composition): EnvelopeTenantCrypto =>
  c.once('crypto', () =>
    new EnvelopeTenantCrypto(c.env.keyring === 'kms' ? new KmsKeyringProvider(kmsOf(c)) : new LocalKeyringProvider(c.env.localKeyDir)));

/**
 * Creates (admin) and shreds (termination) tenant keys. A function that creates them gives each the explicit key
 * policy (R-SEC-5), so it must declare `tenantKeyPolicy`: without it the cold start fails, naming it.
 */
export const tenantKeyManagerOf = (c: Composition): TenantKeyManager =>
  c.once('keys', () =>
    c.env.keyring === 'kms'
      ? new KmsTenantKeyManager(kmsOf(c), {
          aliasPrefix: c.env.value('tenantKeys', ENV.tenantKeyAliasPrefix),
          deployment: c.env.value('tenantKeys', ENV.tenantKeyDeployment),
          ...(c.env.declaration.uses.tenantKeys?.create
            ? { policy: JSON.stringify(tenantKeyPolicy(tenantKeyPolicyPrincipals(c.env.json('tenantKeyPolicy', ENV.tenantKeyPolicy)))) }
            : {}),
        })
      : new LocalTenantKeyManager(c.env.localKeyDir, () => c.clock.now()));
