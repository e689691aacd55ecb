/**
 * DocumentSigner adapters (R-DSR-2, R-TERM-5): ECDSA P-256 over SHA-256, signatures DER and base64, so that
 * `verifyDeletionDocument` (domain/deletion-records.ts) and OpenSSL verify either one with the public key.
 * In AWS the private key never leaves KMS (an asymmetric ECC_NIST_P256 key); locally it is a PEM file.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DocumentSigner } from '../domain/ports';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { kmsOf } from './kms-client';

type Signature = Awaited<ReturnType<DocumentSigner['sign']>>;

/** KMS signs a RAW message of at most 4,096 bytes; a longer one is signed as its SHA-256 digest (same signature). */
const KMS_RAW_MESSAGE_LIMIT = 4_096;

const toPem = (spkiDer: Uint8Array) => createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();

export class KmsDocumentSigner implements DocumentSigner {
  private publicKey?: Promise<string>;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async sign(message: Uint8Array): Promise<Signature> {
    const raw = message.byteLength <= KMS_RAW_MESSAGE_LIMIT;
    const answer = await this.kms.send(
      new SignCommand({
        KeyId: this.keyId,
        Message: raw ? message : createHash('sha256').update(message).digest(),
        MessageType: raw ? 'RAW' : 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    if (!answer.Signature) throw new Error(`KMS Sign with '${this.keyId}' returned no signature`);
    // The key's ARN, even when configured by alias: an auditor needs the key that signed, not a name that may move.
    return { keyId: answer.KeyId ?? this.keyId, algorithm: 'ECDSA_SHA_256', signature: Buffer.from(answer.Signature).toString('base64') };
  }

  async publicKeyPem(): Promise<string> {
    this.publicKey ??= this.fetchPublicKey().catch((error: unknown) => {
      this.publicKey = undefined;
      throw error;
    });
    return this.publicKey;
  }

  private async fetchPublicKey(): Promise<string> {
    const answer = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    // Fail early on a misconfigured key rather than publish a key that verifies nothing we sign.
    if (answer.KeySpec !== 'ECC_NIST_P256' || !answer.PublicKey) {
      throw new Error(`Signing key '${this.keyId}' must be an ECC_NIST_P256 KMS key (got ${answer.KeySpec ?? 'no public key'})`);
    }
    return toPem(answer.PublicKey);
  }
}

interface LocalKey {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;
}

/**
 * Local mode: a P-256 private key in a PEM file, created (owner-only, 0600) on first use and never overwritten.
 * keyId `local:<first 16 hex of the SHA-256 of the public key (SPKI DER)>`, so a record names the key it needs.
 */
export class LocalDocumentSigner implements DocumentSigner {
  private key?: Promise<LocalKey>;

  constructor(private readonly pemFile: string) {}

  async sign(message: Uint8Array): Promise<Signature> {
    const { privateKey, keyId } = await this.load();
    return { keyId, algorithm: 'ECDSA_SHA_256', signature: sign('sha256', message, { key: privateKey, dsaEncoding: 'der' }).toString('base64') };
  }

  async publicKeyPem(): Promise<string> {
    return (await this.load()).publicKeyPem;
  }

  private load(): Promise<LocalKey> {
    this.key ??= loadOrCreateKey(this.pemFile).catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }
}

async function loadOrCreateKey(file: string): Promise<LocalKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    pem = await createKeyFile(file);
  }
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`Signing key file '${file}' must hold an ECDSA P-256 private key`);
  }
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: `local:${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`,
  };
}

/** 'wx': two processes starting at once must not each write a key, one signing with a key the file no longer holds. */
async function createKeyFile(file: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
    return pem;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFile(file, 'utf8');
    throw error;
  }
}

/** R-TERM-5: the KMS signing key in AWS; locally a PEM file beside the tenant keys, created on first use. */
export const documentSignerOf = (c: Composition): DocumentSigner =>
  c.once('signer', () =>
    c.env.keyring === 'kms'
      ? new KmsDocumentSigner(kmsOf(c), c.env.value('signingKey', ENV.signingKeyId))
      : new LocalDocumentSigner(join(c.env.localKeyDir, 'signing.pem')));
