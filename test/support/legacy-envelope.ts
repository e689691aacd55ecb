/**
 * Issue 12: ciphertexts in the old record format, made exactly as the platform made them before (AWS Encryption SDK,
 * committing unsigned suite, encryption context { tenantId, purpose }, the tenant's KMS key or its local key file
 * through a raw AES keyring), so that tests prove every record written then still decrypts.
 */
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import type { KeyringProvider } from '../../lambdas/adapters/envelope-crypto';
import { legacyKeyringNode } from '../../lambdas/adapters/envelope-legacy';

const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

export async function legacyEncrypt(
  keyrings: KeyringProvider,
  tenant: { tenantId: string; keyRef: string },
  plaintext: Uint8Array,
  purpose: string,
): Promise<Uint8Array> {
  const described = await keyrings.legacyKeyring(tenant);
  // The old KMS keyring generated with the aggregated client; the raw AES keyring both generates and opens.
  const keyring =
    described.kind === 'kms'
      ? new KmsKeyringNode({ generatorKeyId: tenant.keyRef, clientProvider: () => described.kms as KMS })
      : legacyKeyringNode(described, tenant.keyRef);
  const { result } = await esdk.encrypt(keyring, plaintext, {
    suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
    encryptionContext: { tenantId: tenant.tenantId, purpose },
  });
  return new Uint8Array(result);
}
