/**
 * Issue 12: decryption of the old record format, AWS Encryption SDK messages (committing suite
 * ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, encryption context { tenantId, purpose }), written before the
 * format of envelope-crypto.ts. Nothing encrypts in this format any more; it is read until retention has aged the
 * last such record out (R-RET-1). envelope-crypto.ts loads this module with a dynamic import on the first old
 * ciphertext it meets, so the Encryption SDK costs no cold-start time and, bundled, is a file of its own
 * (LEGACY_CHUNK in lib/constructs/lumiqo-function.ts) that the hot path never loads.
 */
import {
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
import { DecryptCommand, type DecryptCommandInput, type KMS } from '@aws-sdk/client-kms';

/** What opens a tenant's old messages: its KMS key through a client, or its local key file's bytes. */
export type LegacyKeyring =
  | { readonly kind: 'kms'; readonly kms: Pick<KMS, 'send'> }
  | { readonly kind: 'raw-aes'; readonly keyName: string; readonly key: Uint8Array };

/** The old local keyring's namespace: its raw AES keyring named keys `lumiqo-local` / `<tenantId>`. */
export const LEGACY_LOCAL_KEY_NAMESPACE = 'lumiqo-local';

/** The ESDK keyring for a legacy keyring description; decrypt-only for KMS (no generator). */
export function legacyKeyringNode(keyring: LegacyKeyring, keyRef: string): KeyringNode {
  if (keyring.kind === 'raw-aes') {
    return new RawAesKeyringNode({
      keyNamespace: LEGACY_LOCAL_KEY_NAMESPACE,
      keyName: keyring.keyName,
      unencryptedMasterKey: new Uint8Array(keyring.key),
      wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    });
  }
  const { kms } = keyring;
  // The keyring calls `decrypt(input)` on its client: the one KMS operation an old message needs.
  const client = { decrypt: (input: DecryptCommandInput) => kms.send(new DecryptCommand(input)) };
  return new KmsKeyringNode({ keyIds: [keyRef], clientProvider: () => client as unknown as KMS });
}

export class LegacyEnvelopeDecryptor {
  private readonly client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  private readonly cache = getLocalCryptographicMaterialsCache<NodeAlgorithmSuite>(1_000);
  private readonly managers = new Map<string, { readonly keyRef: string; readonly manager: NodeCachingMaterialsManager }>();
  private generation = 0;

  constructor(private readonly maxAgeMs: number) {}

  /** Opens an old message; R-SEC-4: refused unless its context names this tenant and this purpose. */
  async decrypt(tenant: { tenantId: string; keyRef: string }, keyring: () => Promise<LegacyKeyring>, ciphertext: Uint8Array, purpose: string): Promise<Uint8Array> {
    const { plaintext, messageHeader } = await this.client.decrypt(await this.managerFor(tenant, keyring), ciphertext);
    const context = messageHeader.encryptionContext;
    if (context.tenantId !== tenant.tenantId || context.purpose !== purpose) {
      throw new Error(`Encryption context mismatch: expected tenant '${tenant.tenantId}' and purpose '${purpose}'`);
    }
    return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  }

  /** R-TERM-4: a forgotten key's cached data keys are never served again (a fresh partition per manager). */
  forgetKey(keyRef: string): void {
    for (const [tenantId, entry] of this.managers) if (entry.keyRef === keyRef) this.managers.delete(tenantId);
  }

  private async managerFor(tenant: { tenantId: string; keyRef: string }, keyring: () => Promise<LegacyKeyring>): Promise<NodeCachingMaterialsManager> {
    const known = this.managers.get(tenant.tenantId);
    if (known?.keyRef === tenant.keyRef) return known.manager;
    const manager = new NodeCachingMaterialsManager({
      backingMaterials: legacyKeyringNode(await keyring(), tenant.keyRef),
      cache: this.cache,
      partition: `${tenant.tenantId}#${++this.generation}`,
      maxAge: this.maxAgeMs,
    });
    this.managers.set(tenant.tenantId, { keyRef: tenant.keyRef, manager });
    return manager;
  }
}
