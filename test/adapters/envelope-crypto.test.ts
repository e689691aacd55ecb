import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { createKmsClient } from '../../lambdas/adapters/clients';
import {
  EnvelopeTenantCrypto,
  KmsKeyringProvider,
  KmsTenantKeyManager,
  LocalKeyringProvider,
  LocalTenantKeyManager,
} from '../../lambdas/adapters/envelope-crypto';

const text = (s: string) => new TextEncoder().encode(s);

describe('EnvelopeTenantCrypto with the local keyring', () => {
  let dir: string;
  let keys: LocalTenantKeyManager;
  let crypto: EnvelopeTenantCrypto;
  let acme: { tenantId: string; keyRef: string };
  let globex: { tenantId: string; keyRef: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lumiqo-keys-'));
    keys = new LocalTenantKeyManager(dir);
    crypto = new EnvelopeTenantCrypto(new LocalKeyringProvider(dir));
    acme = { tenantId: 'acme', keyRef: await keys.createTenantKey('acme') };
    globex = { tenantId: 'globex', keyRef: await keys.createTenantKey('globex') };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('R-SEC-2: round-trips, and the ciphertext does not contain the plaintext', async () => {
    const plaintext = text('{"email":"ann@example.com","plan":"pro"}');

    const ciphertext = await crypto.encrypt(acme, plaintext, 'event');

    expect(Buffer.from(ciphertext).includes(Buffer.from('ann@example.com'))).toBe(false);
    expect(await crypto.decrypt(acme, ciphertext, 'event')).toEqual(plaintext);
  });

  it('keeps each tenant key in its own owner-only file, never overwritten: a retried creation gets the same key', async () => {
    expect(acme.keyRef).toBe('local:acme');
    expect((await stat(join(dir, 'acme.key'))).mode & 0o777).toBe(0o600);
    const material = await readFile(join(dir, 'acme.key'));

    expect(await keys.createTenantKey('acme')).toBe('local:acme');

    expect(await readFile(join(dir, 'acme.key'))).toEqual(material);
  });

  it('R-SEC-4: refuses another tenant context, another purpose, and another tenant key', async () => {
    const ciphertext = await crypto.encrypt(acme, text('secret'), 'webhook-secret');

    await expect(crypto.decrypt({ ...globex }, ciphertext, 'webhook-secret')).rejects.toThrow();
    await expect(crypto.decrypt({ tenantId: 'globex', keyRef: acme.keyRef }, ciphertext, 'webhook-secret')).rejects.toThrow();
    await expect(crypto.decrypt(acme, ciphertext, 'event')).rejects.toThrow();
    await expect(crypto.decrypt(acme, ciphertext, 'webhook-secret')).resolves.toEqual(text('secret'));
  });

  it('R-TERM-4: after destroyTenantKey, old ciphertexts cannot be decrypted, cached or not', async () => {
    const doomed = { tenantId: 'doomed', keyRef: await keys.createTenantKey('doomed') };
    const ciphertext = await crypto.encrypt(doomed, text('personal data'), 'event');
    await expect(crypto.decrypt(doomed, ciphertext, 'event')).resolves.toEqual(text('personal data'));

    const { unrecoverableAfter } = await keys.destroyTenantKey(doomed.keyRef);
    crypto.forgetKey(doomed.keyRef);

    expect(Date.parse(unrecoverableAfter)).toBeLessThanOrEqual(Date.now());
    expect(await keys.isTenantKeyUsable(doomed.keyRef)).toBe(false);
    expect(await keys.isTenantKeyUsable(acme.keyRef)).toBe(true);
    await expect(crypto.decrypt(doomed, ciphertext, 'event')).rejects.toThrow('No key material');
    const freshProcess = new EnvelopeTenantCrypto(new LocalKeyringProvider(dir));
    await expect(freshProcess.decrypt(doomed, ciphertext, 'event')).rejects.toThrow('No key material');
    // The other tenants are untouched.
    await expect(crypto.decrypt(acme, await crypto.encrypt(acme, text('x'), 'event'), 'event')).resolves.toEqual(text('x'));
  });
});

describe('EnvelopeTenantCrypto with KMS (mocked)', () => {
  const kmsMock = mockClient(KMSClient);
  const keyArn = (tenantId: string) => `arn:aws:kms:eu-west-1:111122223333:key/${tenantId}`;

  beforeEach(() => {
    kmsMock.reset();
    // A fresh plaintext each call: the Encryption SDK zeroes the buffer it is given.
    kmsMock.on(GenerateDataKeyCommand).callsFake((input: { KeyId: string }) => ({
      KeyId: input.KeyId,
      Plaintext: new Uint8Array(32).fill(7),
      CiphertextBlob: new Uint8Array(64).fill(1),
    }));
    kmsMock.on(DecryptCommand).callsFake((input: { KeyId?: string }) => ({ KeyId: input.KeyId, Plaintext: new Uint8Array(32).fill(7) }));
  });

  const kmsCrypto = () => new EnvelopeTenantCrypto(new KmsKeyringProvider(createKmsClient({ region: 'eu-west-1' })));

  it('R-SEC-3: 1,000 encrypts for one tenant cost one GenerateDataKey', async () => {
    const crypto = kmsCrypto();
    const tenant = { tenantId: 'acme', keyRef: keyArn('acme') };

    for (let i = 0; i < 1_000; i++) await crypto.encrypt(tenant, text(`record ${i}`), 'event');

    expect(kmsMock.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0].args[0].input).toMatchObject({
      KeyId: keyArn('acme'),
      EncryptionContext: { tenantId: 'acme', purpose: 'event' },
    });
  });

  it('R-SEC-3: 10 tenants cost 10 GenerateDataKey calls, each under its own key and context', async () => {
    const crypto = kmsCrypto();
    const tenants = Array.from({ length: 10 }, (_, i) => ({ tenantId: `t-${i}`, keyRef: keyArn(`t-${i}`) }));

    for (let round = 0; round < 20; round++) for (const t of tenants) await crypto.encrypt(t, text(`r${round}`), 'event');

    const calls = kmsMock.commandCalls(GenerateDataKeyCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(10);
    expect(new Set(calls.map((c) => `${c.KeyId}|${c.EncryptionContext?.tenantId}`)).size).toBe(10);
    expect(calls.every((c) => c.KeyId === keyArn(c.EncryptionContext!.tenantId))).toBe(true);
  });

  it('R-SEC-3: a batch encrypted in parallel on a cold cache costs one GenerateDataKey per tenant', async () => {
    const crypto = kmsCrypto();
    const tenants = ['acme', 'globex'].map((tenantId) => ({ tenantId, keyRef: keyArn(tenantId) }));

    await Promise.all(Array.from({ length: 500 }, (_, i) => crypto.encrypt(tenants[i % 2], text(`record ${i}`), 'event')));

    expect(kmsMock.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);
  });

  it('a failed first encryption does not hold back the next ones', async () => {
    const crypto = kmsCrypto();
    const tenant = { tenantId: 'acme', keyRef: keyArn('acme') };
    let calls = 0;
    kmsMock.on(GenerateDataKeyCommand).callsFake((input: { KeyId: string }) => {
      if (calls++ === 0) throw new Error('KMS unavailable');
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(32).fill(7), CiphertextBlob: new Uint8Array(64).fill(1) };
    });

    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => crypto.encrypt(tenant, text(`r${i}`), 'event')));

    expect(results[0].status).toBe('rejected');
    expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
  });

  it('decrypts through KMS once per cache period and round-trips', async () => {
    const tenant = { tenantId: 'acme', keyRef: keyArn('acme') };
    const ciphertexts = await Promise.all(Array.from({ length: 50 }, (_, i) => kmsCrypto().encrypt(tenant, text(`r${i}`), 'event')));
    const reader = kmsCrypto();

    for (const [i, c] of ciphertexts.entries()) expect(await reader.decrypt(tenant, c, 'event')).toEqual(text(`r${i}`));

    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(1);
  });
});

describe('KmsTenantKeyManager (mocked KMS)', () => {
  const kmsMock = mockClient(KMSClient);
  const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234';
  beforeEach(() => kmsMock.reset());

  const noAlias = () => kmsMock.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'Alias is not found', $metadata: {} }));

  it('R-SEC-2: creates a tagged, rotating key per tenant with its alias', async () => {
    noAlias();
    kmsMock.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: '1234', Arn: arn } });
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/lumiqo-prod/tenant/' });

    expect(await manager.createTenantKey('acme')).toBe(arn);

    expect(kmsMock.commandCalls(CreateKeyCommand)[0].args[0].input.Tags).toEqual([
      { TagKey: 'lumiqo:deployment', TagValue: 'prod' },
      { TagKey: 'lumiqo:tenant', TagValue: 'acme' },
    ]);
    expect(kmsMock.commandCalls(EnableKeyRotationCommand)[0].args[0].input).toEqual({ KeyId: arn });
    expect(kmsMock.commandCalls(CreateAliasCommand)[0].args[0].input).toEqual({ AliasName: 'alias/lumiqo-prod/tenant/acme', TargetKeyId: arn });
  });

  it('a retried creation (an earlier attempt made the key, then failed) finds the key by its alias and makes no second key', async () => {
    kmsMock.on(DescribeKeyCommand, { KeyId: 'alias/lumiqo-prod/tenant/acme' }).resolves({ KeyMetadata: { KeyId: '1234', Arn: arn, KeyState: 'Enabled' } });
    kmsMock.on(EnableKeyRotationCommand).resolves({});
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/lumiqo-prod/tenant/' });

    expect(await manager.createTenantKey('acme')).toBe(arn);

    expect(kmsMock.commandCalls(CreateKeyCommand)).toHaveLength(0);
    expect(kmsMock.commandCalls(EnableKeyRotationCommand)[0].args[0].input).toEqual({ KeyId: arn });
  });

  it('a key whose alias cannot be created is scheduled for deletion at once, so no unnamed billable key is left', async () => {
    noAlias();
    kmsMock.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: '1234', Arn: arn } });
    kmsMock.on(CreateAliasCommand).rejects(new AlreadyExistsException({ message: 'alias exists', $metadata: {} }));
    kmsMock.on(ScheduleKeyDeletionCommand).resolves({ KeyId: arn, DeletionDate: new Date() });
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/lumiqo-prod/tenant/' });

    await expect(manager.createTenantKey('acme')).rejects.toThrow('alias exists');

    expect(kmsMock.commandCalls(ScheduleKeyDeletionCommand)[0].args[0].input).toEqual({ KeyId: arn, PendingWindowInDays: 7 });
    expect(kmsMock.commandCalls(EnableKeyRotationCommand)).toHaveLength(0);
  });

  it('R-TERM-4: destroy deletes the tenant alias, schedules deletion after 7 days and reports when the data becomes unrecoverable', async () => {
    kmsMock.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/x/acme', TargetKeyId: '1234' }, { AliasName: 'alias/someone-else', TargetKeyId: '1234' }] });
    kmsMock.on(DeleteAliasCommand).resolves({});
    kmsMock.on(ScheduleKeyDeletionCommand).resolves({ KeyId: arn, DeletionDate: new Date('2026-03-08T00:00:00Z') });
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/x/' });

    expect(await manager.destroyTenantKey(arn)).toEqual({ unrecoverableAfter: '2026-03-08T00:00:00.000Z' });
    expect(kmsMock.commandCalls(ListAliasesCommand)[0].args[0].input).toMatchObject({ KeyId: arn });
    // Only the deployment's own alias; an alias someone else made stays theirs.
    expect(kmsMock.commandCalls(DeleteAliasCommand).map((c) => c.args[0].input)).toEqual([{ AliasName: 'alias/x/acme' }]);
    expect(kmsMock.commandCalls(ScheduleKeyDeletionCommand)[0].args[0].input).toEqual({ KeyId: arn, PendingWindowInDays: 7 });
  });

  it('R-TERM-4: destroying again (a retried task) reports the deletion date already scheduled', async () => {
    kmsMock.on(ListAliasesCommand).resolves({ Aliases: [] });
    kmsMock.on(ScheduleKeyDeletionCommand).rejects(new KMSInvalidStateException({ message: 'pending deletion', $metadata: {} }));
    kmsMock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: '1234', KeyState: 'PendingDeletion', DeletionDate: new Date('2026-03-08T00:00:00Z') } });
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/x/' });

    expect(await manager.destroyTenantKey(arn)).toEqual({ unrecoverableAfter: '2026-03-08T00:00:00.000Z' });
  });

  it('a disabled key is not taken for a scheduled one', async () => {
    kmsMock.on(ListAliasesCommand).resolves({ Aliases: [] });
    kmsMock.on(ScheduleKeyDeletionCommand).rejects(new KMSInvalidStateException({ message: 'odd state', $metadata: {} }));
    kmsMock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: '1234', KeyState: 'Unavailable' } });
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/x/' });

    await expect(manager.destroyTenantKey(arn)).rejects.toThrow('odd state');
  });

  it('R-TERM-4: a key is usable only while Enabled', async () => {
    const manager = new KmsTenantKeyManager(new KMSClient({ region: 'eu-west-1' }), { deployment: 'prod', aliasPrefix: 'alias/x/' });
    const usable = async (answer: Parameters<ReturnType<typeof kmsMock.on>['resolves']>[0] | Error) => {
      kmsMock.reset();
      if (answer instanceof Error) kmsMock.on(DescribeKeyCommand).rejects(answer);
      else kmsMock.on(DescribeKeyCommand).resolves(answer);
      return manager.isTenantKeyUsable(arn);
    };

    expect(await usable({ KeyMetadata: { KeyId: '1234', KeyState: 'Enabled' } })).toBe(true);
    expect(await usable({ KeyMetadata: { KeyId: '1234', KeyState: 'PendingDeletion' } })).toBe(false);
    expect(await usable({ KeyMetadata: { KeyId: '1234', KeyState: 'Disabled' } })).toBe(false);
    expect(await usable(new NotFoundException({ message: 'gone', $metadata: {} }))).toBe(false);
    await expect(usable(new Error('network down'))).rejects.toThrow('network down');
  });

  it('refuses an alias prefix KMS would reject', () => {
    expect(() => new KmsTenantKeyManager(new KMSClient({}), { deployment: 'prod', aliasPrefix: 'lumiqo/' })).toThrow("start with 'alias/'");
  });
});
