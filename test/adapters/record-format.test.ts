/**
 * Issue 12: the record format of envelope-crypto.ts, property by property, against FakeKms over the real KMS wire
 * protocol (keys, encryption contexts and key deletion as KMS enforces them) and against the local key files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import * as fc from 'fast-check';
import { createKmsClient } from '../../lambdas/adapters/clients';
import { EnvelopeTenantCrypto, FORMAT_V1, KmsKeyringProvider, LocalKeyringProvider, LocalTenantKeyManager } from '../../lambdas/adapters/envelope-crypto';
import { FakeKms } from '../support/fake-aws';
import { legacyEncrypt } from '../support/legacy-envelope';

const region = 'us-east-1';
const PURPOSES = ['event', 'subject-key', 'webhook-secret', 'corrections'] as const;
const RUNS = { numRuns: 60 };

const record = fc.record({
  plaintext: fc.uint8Array({ maxLength: 2048 }),
  purpose: fc.constantFrom(...PURPOSES),
  recordId: fc.oneof(fc.constant(''), fc.stringMatching(/^ev_[A-Za-z0-9-]{1,40}$/)),
});

describe('issue 12 record format with KMS data keys (FakeKms)', () => {
  let fake: FakeKms;
  let now = new Date('2030-01-01T00:00:00Z');
  let kms: ReturnType<typeof createKmsClient>;
  let keyrings: KmsKeyringProvider;
  const tenants: { tenantId: string; keyRef: string }[] = [];
  beforeAll(async () => {
    fake = await FakeKms.start({ now: () => now });
    kms = createKmsClient({ region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoints: { kms: fake.url }, maxAttempts: 1 });
    keyrings = new KmsKeyringProvider(kms);
    for (const tenantId of ['acme', 'globex', 'initech']) tenants.push({ tenantId, keyRef: fake.createKey({ tags: { 'lumiqo:tenant': tenantId } }).arn });
  });
  afterAll(() => fake.close());

  it('round-trips any record, and the ciphertext starts with the format version and never contains the plaintext', async () => {
    const crypto = new EnvelopeTenantCrypto(keyrings);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1, 2), record, async (t, { plaintext, purpose, recordId }) => {
        const ciphertext = await crypto.encrypt(tenants[t], plaintext, purpose, recordId);
        expect(ciphertext[0]).toBe(FORMAT_V1);
        if (plaintext.length >= 16) expect(Buffer.from(ciphertext).includes(Buffer.from(plaintext))).toBe(false);
        // A fresh process: nothing cached, the data key comes back from KMS.
        expect(Buffer.from(await new EnvelopeTenantCrypto(keyrings).decrypt(tenants[t], ciphertext, purpose, recordId))).toEqual(Buffer.from(plaintext));
        expect(Buffer.from(await crypto.decrypt(tenants[t], ciphertext, purpose, recordId))).toEqual(Buffer.from(plaintext));
      }),
      RUNS,
    );
  });

  it('R-SEC-4: refuses every bound field changed: tenant, purpose, record id', async () => {
    const crypto = new EnvelopeTenantCrypto(keyrings);
    await fc.assert(
      fc.asyncProperty(record, fc.constantFrom(...PURPOSES), fc.string({ minLength: 1, maxLength: 20 }), async ({ plaintext, purpose, recordId }, otherPurpose, otherId) => {
        const [acme, globex] = tenants;
        const ciphertext = await crypto.encrypt(acme, plaintext, purpose, recordId);
        // Another tenant with its own key, another tenant claiming this key, another purpose, another record.
        await expect(crypto.decrypt(globex, ciphertext, purpose, recordId)).rejects.toThrow();
        await expect(crypto.decrypt({ tenantId: globex.tenantId, keyRef: acme.keyRef }, ciphertext, purpose, recordId)).rejects.toThrow();
        if (otherPurpose !== purpose) await expect(crypto.decrypt(acme, ciphertext, otherPurpose, recordId)).rejects.toThrow();
        if (otherId !== recordId) await expect(crypto.decrypt(acme, ciphertext, purpose, otherId)).rejects.toThrow();
      }),
      RUNS,
    );
  });

  it('refuses a ciphertext with any byte changed (version, wrapped key, commitment, IV, body, tag) or cut short', async () => {
    const crypto = new EnvelopeTenantCrypto(keyrings);
    const [acme] = tenants;
    await fc.assert(
      fc.asyncProperty(record, fc.nat(), fc.integer({ min: 1, max: 255 }), async ({ plaintext, purpose, recordId }, at, flip) => {
        const ciphertext = Buffer.from(await crypto.encrypt(acme, plaintext, purpose, recordId));
        const tampered = Buffer.from(ciphertext);
        tampered[at % tampered.length] ^= flip;
        await expect(crypto.decrypt(acme, tampered, purpose, recordId)).rejects.toThrow();
        await expect(crypto.decrypt(acme, ciphertext.subarray(0, at % ciphertext.length), purpose, recordId)).rejects.toThrow();
      }),
      RUNS,
    );
  });

  it('checks the key commitment before decrypting', async () => {
    const crypto = new EnvelopeTenantCrypto(keyrings);
    const ciphertext = Buffer.from(await crypto.encrypt(tenants[0], Buffer.from('x'), 'event', 'ev_1'));
    const commitmentAt = 3 + ciphertext.readUInt16BE(1);
    ciphertext[commitmentAt] ^= 1;
    await expect(crypto.decrypt(tenants[0], ciphertext, 'event', 'ev_1')).rejects.toThrow('Key commitment mismatch');
  });

  it('never repeats an IV under one data key', async () => {
    const crypto = new EnvelopeTenantCrypto(keyrings);
    const ciphertexts = await Promise.all(Array.from({ length: 5_000 }, () => crypto.encrypt(tenants[1], Buffer.alloc(1), 'event', 'ev_same')));
    const wrapped = new Set(ciphertexts.map((c) => Buffer.from(c.subarray(0, 3 + Buffer.from(c).readUInt16BE(1))).toString('base64')));
    expect(wrapped.size).toBe(1);
    const ivs = new Set(ciphertexts.map((c) => Buffer.from(c.subarray(c.length - 1 - 16 - 12, c.length - 1 - 16)).toString('hex')));
    expect(ivs.size).toBe(ciphertexts.length);
  });

  it('R-SEC-3: KMS sees one GenerateDataKey per tenant and purpose per cache period, bounded by age and by message count', async () => {
    let clock = 0;
    const crypto = new EnvelopeTenantCrypto(keyrings, { maxAgeMs: 1_000, maxMessagesEncrypted: 300, now: () => clock });
    const generated = () => fake.calls.filter((c) => c.operation === 'GenerateDataKey');
    const before = generated().length;
    await Promise.all(Array.from({ length: 200 }, (_, i) => crypto.encrypt(tenants[i % 2], Buffer.from(`r${i}`), 'event', `ev_${i}`)));
    expect(generated().length - before).toBe(2);
    expect(generated().slice(before).map((c) => c.input.EncryptionContext)).toEqual(
      expect.arrayContaining([{ tenantId: 'acme', purpose: 'event' }, { tenantId: 'globex', purpose: 'event' }]),
    );
    // 100 + 201 records for acme: past 300, a new data key.
    for (let i = 0; i < 201; i++) await crypto.encrypt(tenants[0], Buffer.from('r'), 'event', `ev_${i}`);
    expect(generated().length - before).toBe(3);
    clock += 1_001;
    await crypto.encrypt(tenants[1], Buffer.from('r'), 'event', 'ev_late');
    expect(generated().length - before).toBe(4);
  });

  it('R-SEC-3: decrypting many records of one data key costs one KMS Decrypt', async () => {
    const ciphertexts = await Promise.all(Array.from({ length: 100 }, (_, i) => new EnvelopeTenantCrypto(keyrings).encrypt(tenants[2], Buffer.from(`r${i}`), 'event', `ev_${i}`)));
    const writer = new EnvelopeTenantCrypto(keyrings);
    const batch = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.encrypt(tenants[2], Buffer.from(`r${i}`), 'event', `ev_${i}`)));
    const reader = new EnvelopeTenantCrypto(keyrings);
    const before = fake.count('Decrypt');
    await Promise.all(batch.map((c, i) => reader.decrypt(tenants[2], c, 'event', `ev_${i}`)));
    expect(fake.count('Decrypt') - before).toBe(1);
    // 100 writers, 100 data keys: one Decrypt each.
    await Promise.all(ciphertexts.map((c, i) => reader.decrypt(tenants[2], c, 'event', `ev_${i}`)));
    expect(fake.count('Decrypt') - before).toBe(101);
  });

  it('R-TERM-4: once the tenant key is deleted, no record of it decrypts, in a fresh process or after forgetKey, new format and old', async () => {
    const doomed = { tenantId: 'doomed', keyRef: fake.createKey({ tags: { 'lumiqo:tenant': 'doomed' } }).arn };
    const crypto = new EnvelopeTenantCrypto(keyrings);
    const records = await fc.sample(record, 20);
    const sealed = await Promise.all(records.map((r) => crypto.encrypt(doomed, r.plaintext, r.purpose, r.recordId)));
    const old = await legacyEncrypt(keyrings, doomed, Buffer.from('old personal data'), 'event');
    await crypto.decrypt(doomed, sealed[0], records[0].purpose, records[0].recordId);

    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.keyRef, PendingWindowInDays: 7 }));
    crypto.forgetKey(doomed.keyRef);

    for (const [i, c] of sealed.entries()) {
      await expect(crypto.decrypt(doomed, c, records[i].purpose, records[i].recordId)).rejects.toThrow();
      await expect(new EnvelopeTenantCrypto(keyrings).decrypt(doomed, c, records[i].purpose, records[i].recordId)).rejects.toThrow();
    }
    await expect(new EnvelopeTenantCrypto(keyrings).decrypt(doomed, old, 'event')).rejects.toThrow();
    await expect(crypto.encrypt(doomed, Buffer.from('new'), 'event')).rejects.toThrow();
    now = new Date(now.getTime() + 8 * 86_400_000);
    expect(fake.key(doomed.keyRef)).toBeUndefined();
    await expect(new EnvelopeTenantCrypto(keyrings).decrypt(doomed, sealed[0], records[0].purpose, records[0].recordId)).rejects.toThrow();
  });

  it('decrypts old-format (Encryption SDK) records, and still refuses them for another tenant or purpose', async () => {
    const crypto = new EnvelopeTenantCrypto(keyrings);
    await fc.assert(
      fc.asyncProperty(record, async ({ plaintext, purpose }) => {
        const [acme, globex] = tenants;
        const old = await legacyEncrypt(keyrings, acme, plaintext, purpose);
        expect(old[0]).not.toBe(FORMAT_V1);
        expect(Buffer.from(await crypto.decrypt(acme, old, purpose))).toEqual(Buffer.from(plaintext));
        // Old records bind no record id: any id opens them, as before.
        expect(Buffer.from(await crypto.decrypt(acme, old, purpose, 'ev_any'))).toEqual(Buffer.from(plaintext));
        await expect(crypto.decrypt(globex, old, purpose)).rejects.toThrow();
        await expect(crypto.decrypt(acme, old, purpose === 'event' ? 'corrections' : 'event')).rejects.toThrow('Encryption context mismatch');
      }),
      { numRuns: 25 },
    );
  });
});

describe('issue 12 record format with local key files', () => {
  let dir: string;
  let keys: LocalTenantKeyManager;
  let keyrings: LocalKeyringProvider;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lumiqo-format-'));
    keys = new LocalTenantKeyManager(dir);
    keyrings = new LocalKeyringProvider(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('round-trips, refuses tampering and other tenants, opens old records, and a deleted key file shreds both formats', async () => {
    const acme = { tenantId: 'acme', keyRef: await keys.createTenantKey('acme') };
    const globex = { tenantId: 'globex', keyRef: await keys.createTenantKey('globex') };
    const crypto = new EnvelopeTenantCrypto(keyrings);
    await fc.assert(
      fc.asyncProperty(record, fc.nat(), async ({ plaintext, purpose, recordId }, at) => {
        const ciphertext = Buffer.from(await crypto.encrypt(acme, plaintext, purpose, recordId));
        expect(Buffer.from(await new EnvelopeTenantCrypto(keyrings).decrypt(acme, ciphertext, purpose, recordId))).toEqual(Buffer.from(plaintext));
        const tampered = Buffer.from(ciphertext);
        tampered[at % tampered.length] ^= 0x40;
        await expect(crypto.decrypt(acme, tampered, purpose, recordId)).rejects.toThrow();
        await expect(crypto.decrypt(globex, ciphertext, purpose, recordId)).rejects.toThrow();
        await expect(crypto.decrypt({ tenantId: 'globex', keyRef: acme.keyRef }, ciphertext, purpose, recordId)).rejects.toThrow();
      }),
      RUNS,
    );
    const old = await legacyEncrypt(keyrings, acme, Buffer.from('written before issue 12'), 'event');
    expect(Buffer.from(await crypto.decrypt(acme, old, 'event')).toString()).toBe('written before issue 12');
    const fresh = await crypto.encrypt(acme, Buffer.from('new'), 'event', 'ev_1');

    await keys.destroyTenantKey(acme.keyRef);
    crypto.forgetKey(acme.keyRef);

    for (const reader of [crypto, new EnvelopeTenantCrypto(keyrings)]) {
      await expect(reader.decrypt(acme, fresh, 'event', 'ev_1')).rejects.toThrow('No key material');
      await expect(reader.decrypt(acme, old, 'event')).rejects.toThrow('No key material');
    }
  });
});
