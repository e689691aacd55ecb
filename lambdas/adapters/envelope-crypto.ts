/**
 * Envelope encryption per tenant with the AWS Encryption SDK (R-SEC-2, R-SEC-3, R-TERM-4).
 *
 * Each tenant has its own key material: a KMS key in AWS, a 256-bit key file locally. Data keys are cached per
 * tenant (a caching materials manager per tenant), so KMS sees about one GenerateDataKey per tenant per cache
 * period instead of one per record. Destroying a tenant's key (crypto-shredding) makes every ciphertext made
 * under it unreadable, backups included.
 */
import { randomBytes } from 'node:crypto';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  type KeyringNode,
  type NodeAlgorithmSuite,
} from '@aws-crypto/client-node';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
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
import { kmsOf } from './kms-client';
import { tenantKeyPolicy, tenantKeyPolicyPrincipals } from './tenant-key-policy';
import { KEY_DELETION_WINDOW_DAYS } from '../domain/privacy';

type TenantKey = Pick<Tenant, 'tenantId' | 'keyRef'>;

/** Turns a tenant's keyRef into the keyring that wraps and unwraps its data keys. */
export interface KeyringProvider {
  keyringFor(tenant: TenantKey): Promise<KeyringNode>;
}

/** AWS: keyRef is the tenant's KMS key ARN. */
export class KmsKeyringProvider implements KeyringProvider {
  constructor(private readonly kms: KMS) {}

  async keyringFor(tenant: TenantKey): Promise<KeyringNode> {
    return new KmsKeyringNode({ generatorKeyId: tenant.keyRef, clientProvider: () => this.kms });
  }
}

const LOCAL_KEY_PREFIX = 'local:';
const LOCAL_KEY_NAMESPACE = 'lumiqo-local';

/** The tenant id in a `local:<tenantId>` keyRef; validated, so it is safe as a file name. */
function localKeyTenant(keyRef: string): string {
  if (!keyRef.startsWith(LOCAL_KEY_PREFIX)) throw new Error(`Not a local key reference: '${keyRef}'`);
  return assertTenantId(keyRef.slice(LOCAL_KEY_PREFIX.length));
}

const localKeyFile = (dir: string, tenantId: string) => join(dir, `${tenantId}.key`);

/** Local mode: a raw AES-256 keyring over `<dir>/<tenantId>.key`, keyRef `local:<tenantId>`. */
export class LocalKeyringProvider implements KeyringProvider {
  constructor(private readonly dir: string) {}

  async keyringFor(tenant: TenantKey): Promise<KeyringNode> {
    const tenantId = localKeyTenant(tenant.keyRef);
    if (tenantId !== tenant.tenantId) throw new Error(`Key '${tenant.keyRef}' does not belong to tenant '${tenant.tenantId}'`);
    let key: Buffer;
    try {
      key = await readFile(localKeyFile(this.dir, tenantId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`No key material for tenant '${tenantId}' (destroyed or never created)`);
      throw error;
    }
    return new RawAesKeyringNode({
      keyNamespace: LOCAL_KEY_NAMESPACE,
      keyName: tenantId,
      unencryptedMasterKey: new Uint8Array(key),
      wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    });
  }
}

export interface DataKeyCacheOptions {
  /** How long one data key is reused. @default 5 minutes */
  readonly maxAgeMs?: number;
  /** Messages one data key may encrypt before a new one is made. @default 100,000 */
  readonly maxMessagesEncrypted?: number;
  /** Entries in the process-wide materials cache. @default 1,000 */
  readonly capacity?: number;
}

interface TenantMaterials {
  readonly keyRef: string;
  readonly manager: NodeCachingMaterialsManager;
}

/**
 * Committing, unsigned suite: the signed default suite costs ~10x the throughput (TOOLCHAIN.md), and a
 * signature adds nothing here since writer and reader are the same service.
 */
const DEFAULT_MAX_AGE_MS = 5 * 60_000;

const SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

export class EnvelopeTenantCrypto implements TenantCrypto {
  private readonly client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  private readonly cache;
  private readonly tenants = new Map<string, TenantMaterials>();
  private readonly warm = new Map<string, { readonly ready: Promise<void>; readonly until: number }>();
  private generation = 0;

  constructor(
    private readonly keyrings: KeyringProvider,
    private readonly options: DataKeyCacheOptions = {},
  ) {
    this.cache = getLocalCryptographicMaterialsCache<NodeAlgorithmSuite>(options.capacity ?? 1_000);
  }

  async encrypt(tenant: TenantKey, plaintext: Uint8Array, purpose: string): Promise<Uint8Array> {
    // A batch encrypts many records at once: without this, every one of them would miss the still-empty
    // cache and ask KMS for its own data key. The first encryption of a cache period fills the cache; the
    // rest wait for it, so KMS sees one GenerateDataKey per tenant and purpose per period (R-SEC-3).
    const warmKey = `${tenant.tenantId}\u0000${tenant.keyRef}\u0000${purpose}`;
    const warm = this.warm.get(warmKey);
    if (warm && warm.until > Date.now()) {
      await warm.ready;
      return this.encryptNow(tenant, plaintext, purpose);
    }
    const first = this.encryptNow(tenant, plaintext, purpose);
    const ready = first.then(
      () => undefined,
      () => void this.warm.delete(warmKey),
    );
    this.warm.set(warmKey, { ready, until: Date.now() + (this.options.maxAgeMs ?? DEFAULT_MAX_AGE_MS) });
    return first;
  }

  private async encryptNow(tenant: TenantKey, plaintext: Uint8Array, purpose: string): Promise<Uint8Array> {
    const { result } = await this.client.encrypt(await this.managerFor(tenant), plaintext, {
      suiteId: SUITE,
      encryptionContext: { tenantId: tenant.tenantId, purpose },
    });
    return new Uint8Array(result.buffer, result.byteOffset, result.byteLength);
  }

  async decrypt(tenant: TenantKey, ciphertext: Uint8Array, purpose: string): Promise<Uint8Array> {
    const { plaintext, messageHeader } = await this.client.decrypt(await this.managerFor(tenant), ciphertext);
    const context = messageHeader.encryptionContext;
    // R-SEC-4: a ciphertext made for another tenant or another use is refused, even if the key could open it.
    if (context.tenantId !== tenant.tenantId || context.purpose !== purpose) {
      throw new Error(`Encryption context mismatch: expected tenant '${tenant.tenantId}' and purpose '${purpose}'`);
    }
    return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  }

  /**
   * R-TERM-4: stops serving cached data keys made under `keyRef`, so a shredded tenant's data is unreadable
   * in this process at once (other processes stop within the cache's maxAge).
   */
  forgetKey(keyRef: string): void {
    for (const [tenantId, materials] of this.tenants) if (materials.keyRef === keyRef) this.tenants.delete(tenantId);
    for (const warmKey of this.warm.keys()) if (warmKey.split('\u0000')[1] === keyRef) this.warm.delete(warmKey);
  }

  private async managerFor(tenant: TenantKey): Promise<NodeCachingMaterialsManager> {
    const known = this.tenants.get(tenant.tenantId);
    if (known?.keyRef === tenant.keyRef) return known.manager;
    const manager = new NodeCachingMaterialsManager({
      backingMaterials: await this.keyrings.keyringFor(tenant),
      cache: this.cache,
      // A fresh partition per manager: entries of a forgotten key can never be found again.
      partition: `${tenant.tenantId}#${++this.generation}`,
      maxAge: this.options.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
      maxMessagesEncrypted: this.options.maxMessagesEncrypted ?? 100_000,
    });
    this.tenants.set(tenant.tenantId, { keyRef: tenant.keyRef, manager });
    return manager;
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
