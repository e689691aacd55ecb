/**
 * FakeKms: AWS KMS over its real wire protocol (awsJson1_1, `x-amz-target: TrentService.<Operation>`), for the
 * operations the platform calls: the Encryption SDK's KMS keyring (GenerateDataKey, Decrypt, Encrypt),
 * KmsTenantKeyManager (CreateKey, EnableKeyRotation, CreateAlias, DescribeKey, ListAliases, DeleteAlias,
 * ScheduleKeyDeletion), KmsDocumentSigner (Sign, GetPublicKey), plus EnableKey, DisableKey and TagResource.
 *
 * Keys are real: symmetric keys have a random 256-bit master key (kms-crypto.ts describes the ciphertext), ECC
 * keys a P-256 key pair. Key states are enforced as KMS enforces them (Disabled, PendingDeletion), and a key
 * past its DeletionDate is gone, aliases and all. An operation it does not implement answers
 * UnknownOperationException; a key spec it does not implement, UnsupportedOperationException: never a guess.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { seal, open, blobKeyId, signDigest } from './kms-crypto';
import {
  AwsError,
  epochSeconds,
  jsonEndpoint,
  list,
  listen,
  optionalInteger,
  optionalString,
  requiredBlob,
  requiredString,
  stringMap,
  validation,
  type Call,
  type Listening,
  type Operation,
} from './server';

type KeySpec = 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256';
type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY';
type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface StoredKey {
  readonly id: string;
  readonly arn: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly created: Date;
  readonly description: string;
  readonly policy: string;
  readonly tags: Map<string, string>;
  state: KeyState;
  deletionDate?: Date;
  rotation: boolean;
  /** SYMMETRIC_DEFAULT: the master key. */
  readonly secret?: Buffer;
  /** ECC_NIST_P256: the key pair. */
  readonly pair?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
}

interface StoredAlias {
  readonly keyId: string;
  readonly created: Date;
}

/** What a test may inspect about a key. */
export interface FakeKmsKey {
  readonly keyId: string;
  readonly arn: string;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly keyState: KeyState;
  readonly deletionDate?: Date;
  readonly rotationEnabled: boolean;
  readonly description: string;
  readonly policy: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly aliases: readonly string[];
}

export interface FakeKmsOptions {
  /** @default us-east-1 */
  readonly region?: string;
  /** @default 000000000000 */
  readonly account?: string;
  /** Decides when a key pending deletion is deleted. @default the system clock */
  readonly now?: () => Date;
}

/** For a key a test registers itself, as CloudFormation would have created it. */
export interface CreateFakeKeyOptions {
  /** `arn:aws:kms:<region>:<account>:key/<id>` in the fake's region and account. @default a fresh UUID's ARN */
  readonly arn?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly policy?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

export class FakeKms {
  /** Every request that reached an operation, in order, its input as sent (blobs base64). */
  readonly calls: Call[] = [];
  readonly region: string;
  readonly account: string;
  private readonly now: () => Date;
  private readonly keys = new Map<string, StoredKey>();
  private readonly aliases = new Map<string, StoredAlias>();
  private server?: Listening;

  private constructor(options: FakeKmsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '000000000000';
    this.now = options.now ?? (() => new Date());
  }

  static async start(options: FakeKmsOptions = {}): Promise<FakeKms> {
    const kms = new FakeKms(options);
    kms.server = await listen(
      jsonEndpoint({ signingName: 'kms', region: kms.region, target: 'TrentService', jsonVersion: '1.1', operations: kms.operations(), record: (call) => kms.calls.push(call) }),
    );
    return kms;
  }

  /** The `endpoint` for a KMSClient. */
  get url(): string {
    if (!this.server) throw new Error('FakeKms is not started');
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  /** How many requests of `operation` arrived. */
  count(operation: string): number {
    return this.calls.filter((call) => call.operation === operation).length;
  }

  /** A symmetric ENCRYPT_DECRYPT key, as a stack would create it. */
  createKey(options: CreateFakeKeyOptions = {}): FakeKmsKey {
    return this.view(this.addKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', options));
  }

  /** An ECC_NIST_P256 SIGN_VERIFY key: the deployment's document-signing key. */
  createSigningKey(options: CreateFakeKeyOptions = {}): FakeKmsKey {
    return this.view(this.addKey('ECC_NIST_P256', 'SIGN_VERIFY', options));
  }

  /** A key by id, ARN, alias name or alias ARN; undefined if there is none (or it has been deleted). */
  key(ref: string): FakeKmsKey | undefined {
    this.sweep();
    try {
      return this.view(this.resolve(ref, true));
    } catch {
      return undefined;
    }
  }

  private operations(): Record<string, Operation> {
    const ops: Record<string, Operation> = {
      CreateKey: (input) => this.createKeyOperation(input),
      DescribeKey: (input) => ({ KeyMetadata: this.metadata(this.resolve(requiredString(input, 'KeyId', { min: 1, max: 2048 }), true)) }),
      EnableKey: (input) => void (this.notPending(this.keyOf(input)).state = 'Enabled'),
      DisableKey: (input) => void (this.notPending(this.keyOf(input)).state = 'Disabled'),
      EnableKeyRotation: (input) => this.enableKeyRotation(input),
      TagResource: (input) => {
        const key = this.notPending(this.keyOf(input));
        for (const [k, v] of tagList(list(input, 'Tags'))) key.tags.set(k, v);
      },
      CreateAlias: (input) => this.createAlias(input),
      DeleteAlias: (input) => {
        const name = requiredString(input, 'AliasName', { min: 1, max: 256 });
        if (!this.aliases.delete(name)) throw new AwsError('NotFoundException', `Alias ${this.aliasArn(name)} is not found.`);
      },
      ListAliases: (input) => this.listAliases(input),
      ScheduleKeyDeletion: (input) => this.scheduleKeyDeletion(input),
      GenerateDataKey: (input) => this.generateDataKey(input),
      Encrypt: (input) => {
        const key = this.usable(this.resolve(requiredString(input, 'KeyId', { min: 1, max: 2048 }), true), 'ENCRYPT_DECRYPT');
        symmetricAlgorithm(input, key);
        const blob = seal(key.id, key.secret!, requiredBlob(input, 'Plaintext', { min: 1, max: 4096 }), stringMap(input, 'EncryptionContext'));
        return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      },
      Decrypt: (input) => this.decrypt(input),
      Sign: (input) => this.sign(input),
      GetPublicKey: (input) => {
        const key = this.resolve(requiredString(input, 'KeyId', { min: 1, max: 2048 }), true);
        if (!key.pair) throw new AwsError('UnsupportedOperationException', `${key.arn} key spec ${key.spec} does not have a public key.`);
        this.usable(key, 'SIGN_VERIFY');
        const spki = key.pair.publicKey.export({ format: 'der', type: 'spki' });
        return { KeyId: key.arn, PublicKey: spki.toString('base64'), CustomerMasterKeySpec: key.spec, KeySpec: key.spec, KeyUsage: key.usage, SigningAlgorithms: ['ECDSA_SHA_256'] };
      },
    };
    // A key past its deletion date is gone before any operation looks for it.
    const swept = Object.entries(ops).map(([name, run]): [string, Operation] => [
      name,
      (input, caller) => {
        this.sweep();
        return run(input, caller);
      },
    ]);
    return Object.fromEntries(swept);
  }

  private createKeyOperation(input: Record<string, unknown>) {
    const spec = optionalString(input, 'KeySpec') ?? optionalString(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    if (spec !== 'SYMMETRIC_DEFAULT' && spec !== 'ECC_NIST_P256') throw new AwsError('UnsupportedOperationException', `FakeKms does not implement KeySpec ${spec}.`);
    const usage = optionalString(input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    // KMS has no default usage for an asymmetric key: an ECC key created without KeyUsage SIGN_VERIFY is refused.
    if (usage !== (spec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY')) {
      throw new AwsError('ValidationException', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
    }
    if ((optionalString(input, 'Origin') ?? 'AWS_KMS') !== 'AWS_KMS' || input.MultiRegion === true || input.CustomKeyStoreId !== undefined) {
      throw new AwsError('UnsupportedOperationException', 'FakeKms implements single-Region AWS_KMS keys only.');
    }
    const policy = optionalString(input, 'Policy', { min: 1, max: 32_768 });
    if (policy !== undefined && !isJsonObject(policy)) throw new AwsError('MalformedPolicyDocumentException', 'The key policy is not a JSON policy document.');
    const key = this.addKey(spec, usage as KeyUsage, {
      description: optionalString(input, 'Description', { max: 8192 }),
      policy,
      tags: Object.fromEntries(tagList(list(input, 'Tags'))),
    });
    return { KeyMetadata: this.metadata(key) };
  }

  private enableKeyRotation(input: Record<string, unknown>) {
    const key = this.keyOf(input);
    optionalInteger(input, 'RotationPeriodInDays', { min: 90, max: 2560 });
    if (key.spec !== 'SYMMETRIC_DEFAULT') throw new AwsError('UnsupportedOperationException', `${key.arn} key spec ${key.spec} does not support automatic rotation.`);
    this.usable(key, 'ENCRYPT_DECRYPT').rotation = true;
  }

  private createAlias(input: Record<string, unknown>) {
    const name = requiredString(input, 'AliasName', { min: 1, max: 256 });
    if (!/^[a-zA-Z0-9:/_-]+$/.test(name)) throw validation('AliasName', name, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$');
    if (!name.startsWith('alias/') || name === 'alias/') throw new AwsError('InvalidAliasNameException', `Alias must start with the prefix "alias/". Please see the API reference.`);
    if (name.startsWith('alias/aws/')) throw new AwsError('NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys.');
    const key = this.notPending(this.resolve(requiredString(input, 'TargetKeyId', { min: 1, max: 2048 }), false));
    if (this.aliases.has(name)) throw new AwsError('AlreadyExistsException', `An alias with the name ${this.aliasArn(name)} already exists`);
    this.aliases.set(name, { keyId: key.id, created: this.now() });
  }

  private listAliases(input: Record<string, unknown>) {
    const keyRef = optionalString(input, 'KeyId', { min: 1, max: 2048 });
    const only = keyRef === undefined ? undefined : this.resolve(keyRef, false).id;
    const limit = optionalInteger(input, 'Limit', { min: 1, max: 100 }) ?? 50;
    const marker = optionalString(input, 'Marker', { min: 1, max: 1024 });
    const after = marker === undefined ? undefined : Buffer.from(marker, 'base64url').toString('utf8');
    if (after !== undefined && !after.startsWith('alias/')) throw new AwsError('InvalidMarkerException', 'Invalid marker');
    const names = [...this.aliases.keys()].filter((name) => (only === undefined || this.aliases.get(name)!.keyId === only) && (after === undefined || name > after)).sort();
    const page = names.slice(0, limit);
    const truncated = names.length > limit;
    return {
      Aliases: page.map((name) => {
        const alias = this.aliases.get(name)!;
        return { AliasName: name, AliasArn: this.aliasArn(name), TargetKeyId: alias.keyId, CreationDate: epochSeconds(alias.created), LastUpdatedDate: epochSeconds(alias.created) };
      }),
      Truncated: truncated,
      ...(truncated ? { NextMarker: Buffer.from(page[page.length - 1], 'utf8').toString('base64url') } : {}),
    };
  }

  private scheduleKeyDeletion(input: Record<string, unknown>) {
    const key = this.keyOf(input);
    const days = optionalInteger(input, 'PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
    this.notPending(key);
    key.state = 'PendingDeletion';
    key.deletionDate = new Date(this.now().getTime() + days * DAY_MS);
    return { KeyId: key.arn, DeletionDate: epochSeconds(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
  }

  private generateDataKey(input: Record<string, unknown>) {
    const key = this.usable(this.resolve(requiredString(input, 'KeyId', { min: 1, max: 2048 }), true), 'ENCRYPT_DECRYPT');
    const bytes = optionalInteger(input, 'NumberOfBytes', { min: 1, max: 1024 });
    const spec = optionalString(input, 'KeySpec');
    if ((bytes === undefined) === (spec === undefined)) throw new AwsError('ValidationException', 'Please specify either number of bytes or key spec.');
    if (spec !== undefined && spec !== 'AES_128' && spec !== 'AES_256') throw validation('KeySpec', spec, 'Member must satisfy enum value set: [AES_256, AES_128]');
    const plaintext = randomBytes(bytes ?? (spec === 'AES_128' ? 16 : 32));
    const blob = seal(key.id, key.secret!, plaintext, stringMap(input, 'EncryptionContext'));
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), CiphertextBlob: blob.toString('base64') };
  }

  private decrypt(input: Record<string, unknown>) {
    const blob = requiredBlob(input, 'CiphertextBlob', { min: 1, max: 6144 });
    const keyRef = optionalString(input, 'KeyId', { min: 1, max: 2048 });
    const requested = keyRef === undefined ? undefined : this.resolve(keyRef, true);
    const ownerId = blobKeyId(blob);
    if (ownerId === undefined) throw new AwsError('InvalidCiphertextException', 'The ciphertext is invalid.');
    const owner = this.keys.get(ownerId);
    // KeyId is optional; if given, it must name the key the ciphertext was made under.
    if (requested && requested.id !== ownerId) throw new AwsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
    if (!owner) throw new AwsError('AccessDeniedException', 'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.');
    this.usable(owner, 'ENCRYPT_DECRYPT');
    symmetricAlgorithm(input, owner);
    const plaintext = open(blob, owner.secret!, stringMap(input, 'EncryptionContext'));
    if (!plaintext) throw new AwsError('InvalidCiphertextException', 'The ciphertext is invalid for this key and encryption context.');
    return { KeyId: owner.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  private sign(input: Record<string, unknown>) {
    const key = this.usable(this.resolve(requiredString(input, 'KeyId', { min: 1, max: 2048 }), true), 'SIGN_VERIFY');
    const message = requiredBlob(input, 'Message', { min: 1, max: 4096 });
    const type = optionalString(input, 'MessageType') ?? 'RAW';
    const algorithm = requiredString(input, 'SigningAlgorithm');
    if (algorithm !== 'ECDSA_SHA_256') throw new AwsError('InvalidKeyUsageException', `Signing algorithm ${algorithm} is not valid for key ${key.arn} (ECDSA_SHA_256 only).`);
    if (type !== 'RAW' && type !== 'DIGEST') throw validation('MessageType', type, 'Member must satisfy enum value set: [RAW, DIGEST]');
    if (type === 'DIGEST' && message.length !== 32) throw new AwsError('ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_256.');
    const signature = type === 'RAW' ? sign('sha256', message, { key: key.pair!.privateKey, dsaEncoding: 'der' }) : signDigest(key.pair!.privateKey, message);
    return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
  }

  private addKey(spec: KeySpec, usage: KeyUsage, options: CreateFakeKeyOptions): StoredKey {
    const id = options.arn ? this.idOfArn(options.arn) : randomUUID();
    if (this.keys.has(id)) throw new Error(`FakeKms already has key ${id}`);
    const key: StoredKey = {
      id,
      arn: `arn:aws:kms:${this.region}:${this.account}:key/${id}`,
      spec,
      usage,
      created: this.now(),
      description: options.description ?? '',
      policy: options.policy ?? this.defaultPolicy(),
      tags: new Map(Object.entries(options.tags ?? {})),
      state: 'Enabled',
      rotation: false,
      ...(spec === 'SYMMETRIC_DEFAULT' ? { secret: randomBytes(32) } : { pair: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) }),
    };
    this.keys.set(id, key);
    return key;
  }

  private idOfArn(arn: string): string {
    const prefix = `arn:aws:kms:${this.region}:${this.account}:key/`;
    const id = arn.startsWith(prefix) ? arn.slice(prefix.length) : '';
    if (!UUID.test(id)) throw new Error(`Not a key ARN of this fake's region and account (${prefix}<uuid>): '${arn}'`);
    return id;
  }

  /**
   * The key a KeyId names. KMS accepts an alias (name or ARN) only where the operation says so: DescribeKey and
   * the cryptographic operations do; key management (rotation, deletion, tags, alias targets) wants the key itself.
   */
  private resolve(ref: string, aliasesAllowed: boolean): StoredKey {
    const aliasArnPrefix = `arn:aws:kms:${this.region}:${this.account}:alias/`;
    const aliasName = ref.startsWith('alias/') ? ref : ref.startsWith(aliasArnPrefix) ? `alias/${ref.slice(aliasArnPrefix.length)}` : undefined;
    if (aliasName !== undefined) {
      if (!aliasesAllowed) throw new AwsError('NotFoundException', `Invalid keyId '${ref}': this operation takes a key id or key ARN, not an alias.`);
      const alias = this.aliases.get(aliasName);
      const key = alias && this.keys.get(alias.keyId);
      if (!key) throw new AwsError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
      return key;
    }
    const keyArnPrefix = `arn:aws:kms:${this.region}:${this.account}:key/`;
    const id = ref.startsWith(keyArnPrefix) ? ref.slice(keyArnPrefix.length) : ref;
    if (!UUID.test(id)) throw new AwsError('NotFoundException', `Invalid keyId '${ref}'`);
    const key = this.keys.get(id);
    if (!key) throw new AwsError('NotFoundException', `Key '${keyArnPrefix}${id}' does not exist`);
    return key;
  }

  private keyOf(input: Record<string, unknown>): StoredKey {
    return this.resolve(requiredString(input, 'KeyId', { min: 1, max: 2048 }), false);
  }

  /** A key pending deletion refuses every change and every use (KMSInvalidStateException). */
  private notPending(key: StoredKey): StoredKey {
    if (key.state === 'PendingDeletion') throw new AwsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    return key;
  }

  /** The checks of a cryptographic operation: key state first, then key usage. */
  private usable(key: StoredKey, usage: KeyUsage): StoredKey {
    this.notPending(key);
    if (key.state === 'Disabled') throw new AwsError('DisabledException', `${key.arn} is disabled.`);
    if (key.usage !== usage) throw new AwsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.usage} which is not valid for this operation.`);
    return key;
  }

  /** Deletes the keys whose waiting period is over, with their aliases, as KMS does. */
  private sweep(): void {
    const now = this.now().getTime();
    for (const key of this.keys.values()) {
      if (key.state !== 'PendingDeletion' || !key.deletionDate || key.deletionDate.getTime() > now) continue;
      this.keys.delete(key.id);
      for (const [name, alias] of this.aliases) if (alias.keyId === key.id) this.aliases.delete(name);
    }
  }

  private metadata(key: StoredKey) {
    return {
      AWSAccountId: this.account,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: epochSeconds(key.created),
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.usage,
      KeyState: key.state,
      ...(key.deletionDate ? { DeletionDate: epochSeconds(key.deletionDate) } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.spec,
      KeySpec: key.spec,
      ...(key.spec === 'SYMMETRIC_DEFAULT' ? { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] } : { SigningAlgorithms: ['ECDSA_SHA_256'] }),
      MultiRegion: false,
    };
  }

  private view(key: StoredKey): FakeKmsKey {
    return {
      keyId: key.id,
      arn: key.arn,
      keySpec: key.spec,
      keyUsage: key.usage,
      keyState: key.state,
      ...(key.deletionDate ? { deletionDate: key.deletionDate } : {}),
      rotationEnabled: key.rotation,
      description: key.description,
      policy: key.policy,
      tags: Object.fromEntries(key.tags),
      aliases: [...this.aliases].filter(([, alias]) => alias.keyId === key.id).map(([name]) => name).sort(),
    };
  }

  private aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${this.account}:${name}`;
  }

  /** The policy KMS gives a key created without one: the account may do anything, through IAM. */
  private defaultPolicy(): string {
    const statement = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${this.account}:root` }, Action: 'kms:*', Resource: '*' };
    return JSON.stringify({ Version: '2012-10-17', Id: 'key-default-1', Statement: [statement] });
  }
}

/** Tags as KMS checks them (TagException): keys 1-128 characters, not `aws:`, no duplicates; values 0-256. */
function tagList(tags: readonly unknown[]): [string, string][] {
  if (tags.length > 50) throw new AwsError('TagException', 'A key can have at most 50 tags.');
  const seen = new Set<string>();
  return tags.map((tag) => {
    const { TagKey: key, TagValue: value } = (tag ?? {}) as { TagKey?: unknown; TagValue?: unknown };
    if (typeof key !== 'string' || key.length < 1 || key.length > 128) throw new AwsError('TagException', `Tag key must be 1 to 128 characters: '${String(key)}'`);
    if (typeof value !== 'string' || value.length > 256) throw new AwsError('TagException', `Tag value of '${key}' must be 0 to 256 characters`);
    if (key.toLowerCase().startsWith('aws:')) throw new AwsError('TagException', `Tag keys beginning with 'aws:' are reserved: '${key}'`);
    if (seen.has(key)) throw new AwsError('TagException', `Duplicate tag key '${key}'`);
    seen.add(key);
    return [key, value];
  });
}

/** A symmetric key encrypts with SYMMETRIC_DEFAULT only. */
function symmetricAlgorithm(input: Record<string, unknown>, key: StoredKey): void {
  const algorithm = optionalString(input, 'EncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT';
  if (algorithm !== 'SYMMETRIC_DEFAULT') throw new AwsError('InvalidKeyUsageException', `${key.arn} does not support encryption algorithm ${algorithm}.`);
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
