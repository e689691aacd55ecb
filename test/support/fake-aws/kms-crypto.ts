/**
 * The cryptography behind FakeKms, real rather than pretended, so that a test can fail the way it would in AWS.
 *
 * Ciphertext blob (Encrypt, GenerateDataKey; read by Decrypt):
 *
 *   0x01 | keyId length (1 byte) | keyId (UTF-8) | IV (12) | GCM tag (16) | AES-256-GCM ciphertext
 *
 * encrypted under the key's own 256-bit master key, with AAD = everything before the IV followed by the
 * canonical encryption context. So a blob opens only under the key that made it and with the very context it
 * was made with; anything else fails authentication (InvalidCiphertextException, as in KMS). Like a real KMS
 * blob, it names its key, which is how Decrypt works without a KeyId.
 */
import { createCipheriv, createDecipheriv, createECDH, randomBytes, type KeyObject } from 'node:crypto';

const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The context as sorted [key, value] pairs: the same map gives the same bytes whatever its insertion order. */
export function canonicalContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(pairs), 'utf8');
}

function header(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  return Buffer.concat([Buffer.from([VERSION, id.length]), id]);
}

export function seal(keyId: string, masterKey: Buffer, plaintext: Buffer, context: Readonly<Record<string, string>>): Buffer {
  const head = header(keyId);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv).setAAD(Buffer.concat([head, canonicalContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), body]);
}

/** The key id a blob names, or undefined if it is not a blob of this format. */
export function blobKeyId(blob: Buffer): string | undefined {
  if (blob.length < 2 || blob[0] !== VERSION) return undefined;
  const end = 2 + blob[1];
  if (blob.length < end + IV_BYTES + TAG_BYTES) return undefined;
  return blob.subarray(2, end).toString('utf8');
}

/** The plaintext, or undefined if the blob was not made under this key with this context (or was altered). */
export function open(blob: Buffer, masterKey: Buffer, context: Readonly<Record<string, string>>): Buffer | undefined {
  const keyId = blobKeyId(blob);
  if (keyId === undefined) return undefined;
  const ivAt = 2 + blob[1];
  const decipher = createDecipheriv('aes-256-gcm', masterKey, blob.subarray(ivAt, ivAt + IV_BYTES))
    .setAAD(Buffer.concat([blob.subarray(0, ivAt), canonicalContext(context)]))
    .setAuthTag(blob.subarray(ivAt + IV_BYTES, ivAt + IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(blob.subarray(ivAt + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/* ECDSA P-256 over a digest the caller already computed (Sign with MessageType DIGEST). node:crypto's sign()
   always hashes its input, so the signature equation is done here, with the curve arithmetic (k·G) left to
   node:crypto's ECDH. The result verifies with verify('sha256', message, publicKey, signature). */

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const toBig = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex') || '0'}`);
const mod = (a: bigint) => ((a % N) + N) % N;

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  for (let b = mod(base), e = exponent; e > 0n; e >>= 1n, b = mod(b * b)) if (e & 1n) result = mod(result * b);
  return result;
}

/** A DER INTEGER: big-endian, minimal, with a leading zero byte when the top bit is set. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

export function signDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const d = toBig(Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url'));
  const e = toBig(digest);
  for (;;) {
    const k = mod(toBig(randomBytes(32)));
    if (k === 0n) continue;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(64, '0'), 'hex'));
    const r = mod(toBig(ecdh.getPublicKey().subarray(1, 33))); // x of k·G (uncompressed point: 04 | x | y)
    const s = mod(power(k, N - 2n) * (e + r * d)); // k⁻¹ (e + r·d) mod n
    if (r === 0n || s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }
}
