/**
 * A tiny stand-in for AWS KMS, behind the real SDK client (aws-sdk-client-mock): enough for the Encryption
 * SDK's KMS keyring and the tenant key manager, and it counts the calls that KMS would bill.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyCommand,
  KMS,
  KMSClient,
  NotFoundException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';

const ACCOUNT_ARN = 'arn:aws:kms:us-east-1:111122223333';

export class FakeKms {
  /** The aggregated client the KMS keyring calls; it is also a KMSClient for the key manager. */
  readonly client = new KMS({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  private readonly mock = mockClient(KMSClient);
  /** Wrapped data keys by ciphertext blob: what KMS would keep inside its HSMs. */
  private readonly wrapped = new Map<string, { readonly keyId: string; readonly plaintext: Buffer }>();

  constructor() {
    this.mock.on(CreateKeyCommand).callsFake(() => ({ KeyMetadata: { KeyId: randomUUID(), Arn: `${ACCOUNT_ARN}:key/${randomUUID()}` } }));
    // No tenant's alias exists before its key is created.
    this.mock.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'Alias is not found', $metadata: {} }));
    this.mock.on(EnableKeyRotationCommand).resolves({});
    this.mock.on(CreateAliasCommand).resolves({});
    this.mock.on(GenerateDataKeyCommand).callsFake((input: { KeyId?: string; NumberOfBytes?: number }) => {
      const plaintext = randomBytes(input.NumberOfBytes ?? 32);
      const blob = randomBytes(48);
      this.wrapped.set(blob.toString('base64'), { keyId: input.KeyId ?? '', plaintext });
      // A fresh copy each time: the Encryption SDK zeroes the plaintext it is given (TOOLCHAIN.md).
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
    });
    this.mock.on(DecryptCommand).callsFake((input: { KeyId?: string; CiphertextBlob?: Uint8Array }) => {
      const entry = this.wrapped.get(Buffer.from(input.CiphertextBlob ?? []).toString('base64'));
      if (!entry || (input.KeyId !== undefined && input.KeyId !== entry.keyId)) throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
      return { KeyId: entry.keyId, Plaintext: new Uint8Array(entry.plaintext) };
    });
  }

  /** The billed cryptographic calls since the last reset. */
  counts(): { readonly generateDataKey: number; readonly decrypt: number } {
    return { generateDataKey: this.mock.commandCalls(GenerateDataKeyCommand).length, decrypt: this.mock.commandCalls(DecryptCommand).length };
  }

  resetCounts(): void {
    this.mock.resetHistory();
  }

  restore(): void {
    this.mock.restore();
  }
}
