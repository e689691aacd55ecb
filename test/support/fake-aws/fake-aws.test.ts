/**
 * The fakes, driven by the real SDK v3 clients (and by the platform's own adapters where they call these
 * services), over HTTP: every assertion here would hold against AWS, or the fake is wrong.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { DescribeExecutionCommand, ExecutionAlreadyExists, ExecutionDoesNotExist, InvalidExecutionInput, InvalidName, SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  EmptyBatchRequest,
  InvalidBatchEntryId,
  QueueDoesNotExist,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createKmsClient } from '../../../lambdas/adapters/clients';
import { KmsDocumentSigner } from '../../../lambdas/adapters/document-signers';
import { EnvelopeTenantCrypto, KmsKeyringProvider, KmsTenantKeyManager } from '../../../lambdas/adapters/envelope-crypto';
import { SfnWorkflowStarter } from '../../../lambdas/adapters/sfn-workflow-starter';
import { SqsDeadLetterSink } from '../../../lambdas/adapters/sqs-dead-letters';
import { exemptFromAwsLimits } from '../aws-limits';
import { decodeSessionToken, FakeKms, FakeSqs, FakeStepFunctions, FakeSts } from '.';

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const client = (endpoint: string) => ({ region, credentials, endpoint, maxAttempts: 1 });

describe('FakeKms', () => {
  let fake: FakeKms;
  const start = new Date('2030-01-01T00:00:00Z');
  let now = start;
  let kms: ReturnType<typeof createKmsClient>;
  beforeAll(async () => {
    fake = await FakeKms.start({ now: () => now });
    kms = createKmsClient({ region, credentials, endpoints: { kms: fake.url }, maxAttempts: 1 });
  });
  afterEach(() => void (now = start));
  afterAll(() => fake.close());

  it('round-trips an Encryption SDK message, and refuses it once its encryption context is changed', async () => {
    const { arn } = fake.createKey();
    const keyring = new KmsKeyringNode({ generatorKeyId: arn, clientProvider: () => kms });
    const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const encryptionContext = { tenantId: 'tenant-a', purpose: 'event' };
    const { result } = await esdk.encrypt(keyring, Buffer.from('secret record'), { encryptionContext, suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY });
    const { plaintext } = await esdk.decrypt(keyring, result);
    expect(Buffer.from(plaintext).toString()).toBe('secret record');
    expect(fake.calls.filter((c) => c.operation === 'GenerateDataKey').map((c) => c.input)).toEqual([{ KeyId: arn, NumberOfBytes: 32, EncryptionContext: encryptionContext }]);

    // The context travels in the message header; KMS binds the data key to it, so an edited header cannot be opened.
    const edited = Buffer.from(result);
    edited.set(Buffer.from('tenant-b'), edited.indexOf('tenant-a'));
    const decrypts = fake.count('Decrypt');
    await expect(esdk.decrypt(keyring, edited)).rejects.toThrow('InvalidCiphertextException');
    expect(fake.count('Decrypt')).toBe(decrypts + 1);
    expect(fake.calls.at(-1)?.input).toMatchObject({ EncryptionContext: { tenantId: 'tenant-b' } });
  });

  it('serves the platform envelope crypto: one GenerateDataKey for many records of a tenant', async () => {
    const { arn } = fake.createKey({ tags: { 'lumiqo:tenant': 'acme' } });
    const crypto = new EnvelopeTenantCrypto(new KmsKeyringProvider(kms));
    const before = fake.count('GenerateDataKey');
    const tenant = { tenantId: 'acme', keyRef: arn };
    const sealed = await Promise.all(['a', 'b', 'c'].map((text) => crypto.encrypt(tenant, Buffer.from(text), 'event')));
    expect(fake.count('GenerateDataKey')).toBe(before + 1);
    expect(Buffer.from(await crypto.decrypt(tenant, sealed[2], 'event')).toString()).toBe('c');
  });

  it('decrypts only with the context and the key a data key was made with', async () => {
    const { arn } = fake.createKey();
    const other = fake.createKey();
    const context = { tenantId: 'a' };
    const made = await kms.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    const blob = made.CiphertextBlob!;
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }));
    expect(Buffer.from(opened.Plaintext!)).toEqual(Buffer.from(made.Plaintext!));
    expect(opened.KeyId).toBe(arn);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { tenantId: 'b' } }))).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, KeyId: other.arn }))).rejects.toBeInstanceOf(IncorrectKeyException);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a blob'), EncryptionContext: context }))).rejects.toBeInstanceOf(InvalidCiphertextException);

    const encrypted = await kms.send(new EncryptCommand({ KeyId: other.keyId, Plaintext: Buffer.from('small secret'), EncryptionContext: context }));
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context, KeyId: other.arn }));
    expect(Buffer.from(decrypted.Plaintext!).toString()).toBe('small secret');
  });

  it('registers a key under the ARN a deployed template names, in its own region and account only', async () => {
    const arn = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    fake.createKey({ arn, tags: { 'lumiqo:deployment': 'test' } });
    await expect(kms.send(new DescribeKeyCommand({ KeyId: arn }))).resolves.toMatchObject({ KeyMetadata: { Arn: arn, KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' } });
    expect(() => fake.createKey({ arn })).toThrow('already has key');
    expect(() => fake.createKey({ arn: arn.replace('000000000000', '111122223333') })).toThrow("region and account");
  });

  it('runs the tenant key lifecycle of KmsTenantKeyManager: tags, rotation, alias, scheduled deletion', async () => {
    const keys = new KmsTenantKeyManager(kms, { deployment: 'test', aliasPrefix: 'alias/lumiqo-test/tenant/', pendingWindowInDays: 7 });
    const arn = await keys.createTenantKey('globex');
    expect(fake.key('alias/lumiqo-test/tenant/globex')).toMatchObject({
      arn,
      keyState: 'Enabled',
      rotationEnabled: true,
      tags: { 'lumiqo:deployment': 'test', 'lumiqo:tenant': 'globex' },
      aliases: ['alias/lumiqo-test/tenant/globex'],
    });
    await expect(keys.isTenantKeyUsable(arn)).resolves.toBe(true);
    // A retried creation finds the key by its alias and makes no second one.
    const created = fake.count('CreateKey');
    await expect(keys.createTenantKey('globex')).resolves.toBe(arn);
    expect(fake.count('CreateKey')).toBe(created);
    // A second key cannot take an alias that is taken.
    const other = await kms.send(new CreateKeyCommand({}));
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/lumiqo-test/tenant/globex', TargetKeyId: other.KeyMetadata!.KeyId }))).rejects.toBeInstanceOf(AlreadyExistsException);

    const { unrecoverableAfter } = await keys.destroyTenantKey(arn);
    expect(unrecoverableAfter).toBe('2030-01-08T00:00:00.000Z');
    expect(fake.key(arn)).toMatchObject({ keyState: 'PendingDeletion', aliases: [] });
    await expect(keys.isTenantKeyUsable(arn)).resolves.toBe(false);
    await expect(keys.destroyTenantKey(arn)).resolves.toEqual({ unrecoverableAfter }); // a retry: KMSInvalidStateException, then DescribeKey
    await expect(kms.send(new GenerateDataKeyCommand({ KeyId: arn, NumberOfBytes: 32 }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }))).rejects.toBeInstanceOf(KMSInvalidStateException);

    now = new Date('2030-01-08T00:00:00Z'); // the waiting period is over: the key is gone
    await expect(kms.send(new DescribeKeyCommand({ KeyId: arn }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(keys.isTenantKeyUsable(arn)).resolves.toBe(false);
  });

  it('answers alias errors as KMS does', async () => {
    const { arn, keyId } = fake.createKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: keyId }));
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: arn }))).rejects.toBeInstanceOf(AlreadyExistsException);
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/x', TargetKeyId: '00000000-0000-4000-8000-000000000000' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/y', TargetKeyId: 'alias/taken' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new DeleteAliasCommand({ AliasName: 'alias/missing' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'taken', TargetKeyId: arn }))).rejects.toMatchObject({ name: 'InvalidAliasNameException' });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 5 }))).rejects.toMatchObject({ name: 'ValidationException' });

    const byAliasArn = await kms.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:${region}:000000000000:alias/taken` }));
    expect(byAliasArn.KeyMetadata).toMatchObject({ Arn: arn, KeyState: 'Enabled', Enabled: true, KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(byAliasArn.KeyMetadata?.CreationDate).toEqual(new Date('2030-01-01T00:00:00Z'));
  });

  it('pages ListAliases of one key', async () => {
    const { arn } = fake.createKey();
    for (const n of [1, 2, 3]) await kms.send(new CreateAliasCommand({ AliasName: `alias/paged-${n}`, TargetKeyId: arn }));
    const first = await kms.send(new ListAliasesCommand({ KeyId: arn, Limit: 2 }));
    expect(first).toMatchObject({ Truncated: true, Aliases: [{ AliasName: 'alias/paged-1' }, { AliasName: 'alias/paged-2' }] });
    const rest = await kms.send(new ListAliasesCommand({ KeyId: arn, Limit: 2, Marker: first.NextMarker }));
    expect(rest).toMatchObject({ Truncated: false, Aliases: [{ AliasName: 'alias/paged-3', TargetKeyId: fake.key(arn)!.keyId }] });
  });

  it('signs with the ECC key: KmsDocumentSigner signatures verify under the GetPublicKey SPKI, RAW and DIGEST', async () => {
    const { arn } = fake.createSigningKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/signing', TargetKeyId: arn }));
    const signer = new KmsDocumentSigner(kms, 'alias/signing');
    const publicKey = createPublicKey(await signer.publicKeyPem());
    for (const message of [Buffer.from('deletion record'), Buffer.alloc(10_000, 'x')]) {
      const signature = await signer.sign(message);
      expect(signature.keyId).toBe(arn);
      expect(verify('sha256', message, publicKey, Buffer.from(signature.signature, 'base64'))).toBe(true);
      expect(verify('sha256', Buffer.concat([message, Buffer.from('!')]), publicKey, Buffer.from(signature.signature, 'base64'))).toBe(false);
    }
    expect(fake.calls.filter((c) => c.operation === 'Sign').map((c) => c.input.MessageType)).toEqual(['RAW', 'DIGEST']);
    const digest = createHash('sha256').update('x').digest();
    await expect(kms.send(new SignCommand({ KeyId: arn, Message: digest.subarray(1), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))).rejects.toMatchObject({ name: 'ValidationException' });
    const symmetric = fake.createKey();
    await expect(kms.send(new SignCommand({ KeyId: symmetric.arn, Message: digest, SigningAlgorithm: 'ECDSA_SHA_256' }))).rejects.toBeInstanceOf(InvalidKeyUsageException);
  });

  it('refuses a disabled key until it is enabled again', async () => {
    const { arn } = fake.createKey();
    await kms.send(new DisableKeyCommand({ KeyId: arn }));
    await expect(kms.send(new GenerateDataKeyCommand({ KeyId: arn, NumberOfBytes: 32 }))).rejects.toBeInstanceOf(DisabledException);
    await kms.send(new EnableKeyCommand({ KeyId: arn }));
    await expect(kms.send(new GenerateDataKeyCommand({ KeyId: arn, NumberOfBytes: 32 }))).resolves.toMatchObject({ KeyId: arn });
  });

  it('refuses what AWS would: another region, an operation it does not implement', async () => {
    const elsewhere = new KMSClient({ ...client(fake.url), region: 'eu-west-1' });
    await expect(elsewhere.send(new DescribeKeyCommand({ KeyId: fake.createKey().arn }))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    await expect(new KMSClient(client(fake.url)).send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'UnknownOperationException' });
    const unsigned = await fetch(fake.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' }, body: '{}' });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});

describe('FakeSts', () => {
  let fake: FakeSts;
  let sts: STSClient;
  const roleArn = 'arn:aws:iam::000000000000:role/tenant-read';
  beforeAll(async () => {
    fake = await FakeSts.start({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, roles: { [roleArn]: {} } });
    sts = new STSClient(client(fake.url));
  });
  afterAll(() => fake.close());

  it('assumes a role with session tags; the session token tells which role and tenant', async () => {
    const before = Date.now();
    const { Credentials, AssumedRoleUser } = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tenant-acme', DurationSeconds: 3600, Tags: [{ Key: 'tenantId', Value: 'acme' }] }),
    );
    expect(Credentials).toMatchObject({ AccessKeyId: 'S3RVER', SecretAccessKey: 'S3RVER' });
    expect(Credentials!.Expiration!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(Credentials!.Expiration!.getTime()).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(AssumedRoleUser?.Arn).toBe('arn:aws:sts::000000000000:assumed-role/tenant-read/tenant-acme');
    const session = { roleArn, roleSessionName: 'tenant-acme', tags: { tenantId: 'acme' } };
    expect(fake.sessionOf(Credentials!.SessionToken)).toMatchObject(session);
    expect(decodeSessionToken(Credentials!.SessionToken!)).toMatchObject(session);
    expect(fake.calls[0].input).toMatchObject({ Action: 'AssumeRole', 'Tags.member.1.Key': 'tenantId', 'Tags.member.1.Value': 'acme' });
    // A token this fake did not issue names no session, even in the same format.
    const forged = `FakeSTS1.${Buffer.from(JSON.stringify({ ...session, tags: { tenantId: 'globex' } })).toString('base64url')}`;
    expect(fake.sessionOf(forged)).toBeUndefined();
  });

  it('refuses what STS refuses: a longer session than the role allows, a bad session name, an unknown role', async () => {
    await expect(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's1', DurationSeconds: 7200 }))).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'has space' }))).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/other', RoleSessionName: 's1' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const tags = [{ Key: 'tenantId', Value: 'a' }, { Key: 'TenantId', Value: 'b' }];
    await expect(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's1', Tags: tags }))).rejects.toMatchObject({ name: 'ValidationError' });
  });
});

describe('FakeSqs', () => {
  let fake: FakeSqs;
  let sqs: SQSClient;
  let queueUrl: string;
  beforeAll(async () => {
    fake = await FakeSqs.start();
    // These tests are about the fake's own SQS rules, past the limits the checking layer holds the platform to.
    exemptFromAwsLimits(fake.url);
    queueUrl = fake.createQueue('dead-letters');
    sqs = new SQSClient(client(fake.url));
  });
  afterAll(() => fake.close());

  const entry = (Id: string, MessageBody = 'x') => ({ Id, MessageBody });

  it('takes the dead letters of SqsDeadLetterSink, ten to a batch; without an endpoint the SDK sends to the queue URL host', async () => {
    const warnings: string[] = [];
    const logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (message: unknown) => void warnings.push(String(message)) };
    const sink = new SqsDeadLetterSink(new SQSClient({ region, credentials, logger }), queueUrl);
    const letters = Array.from({ length: 12 }, (_, n) => ({ recordId: `seq-${n}`, reason: 'poison', origin: { shard: 'shard-0' }, data: Buffer.from(`record ${n}`) }));
    await sink.send(letters);
    expect(fake.calls.filter((c) => c.operation === 'SendMessageBatch')).toHaveLength(2);
    expect(fake.messages(queueUrl).map((m) => JSON.parse(m.body).recordId)).toEqual(letters.map((l) => l.recordId));
    expect(warnings.join('\n')).toContain('using QueueUrl host as endpoint');
  });

  it('enforces the batch limits with the SQS error codes', async () => {
    const send = (Entries: { Id: string; MessageBody: string }[], url = queueUrl) => sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
    await expect(send([])).rejects.toBeInstanceOf(EmptyBatchRequest);
    await expect(send(Array.from({ length: 11 }, (_, n) => entry(String(n))))).rejects.toBeInstanceOf(TooManyEntriesInBatchRequest);
    await expect(send([entry('a'), entry('a')])).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
    await expect(send([entry('a.b')])).rejects.toBeInstanceOf(InvalidBatchEntryId);
    const big = 'x'.repeat(600 * 1024);
    await expect(send([entry('a', big), entry('b', big)])).rejects.toMatchObject({ name: 'BatchRequestTooLong', Code: 'AWS.SimpleQueueService.BatchRequestTooLong' });
    await expect(send([entry('a', big), entry('b', big)])).rejects.toBeInstanceOf(BatchRequestTooLong);
    await expect(send([entry('a')], fake.queueUrl('no-such-queue'))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('fails only the entry a queue refuses, and the sink reports it', async () => {
    const small = fake.createQueue('small', { maximumMessageSize: 200 * 1024 });
    const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: small, Entries: [entry('ok'), entry('big', 'x'.repeat(300 * 1024)), entry('bad', 'a\u0000b')] }));
    expect(answer.Successful?.map((s) => s.Id)).toEqual(['ok']);
    expect(answer.Failed).toEqual([
      expect.objectContaining({ Id: 'big', Code: 'InvalidParameterValue', SenderFault: true }),
      expect.objectContaining({ Id: 'bad', Code: 'InvalidMessageContents', SenderFault: true }),
    ]);
    expect(fake.messages(small)).toHaveLength(1);
    const sink = new SqsDeadLetterSink(sqs, small);
    await expect(sink.send([{ recordId: '1', reason: 'r', origin: { note: 'y'.repeat(210 * 1024) } }])).rejects.toThrow('refused 1 message');
  });

  it('takes a single message with its MD5 (the SDK checks it)', async () => {
    const answer = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'héllo' }));
    expect(answer.MD5OfMessageBody).toBe(createHash('md5').update('héllo').digest('hex'));
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '\u0001' }))).rejects.toMatchObject({ name: 'InvalidMessageContents' });
  });
});

describe('FakeStepFunctions', () => {
  let fake: FakeStepFunctions;
  let sfn: SFNClient;
  const ran: { name: string; input: unknown }[] = [];
  beforeAll(async () => {
    fake = await FakeStepFunctions.start({
      stateMachines: ['erasure', 'termination'],
      onStart: async (_arn, name, input) => {
        ran.push({ name, input });
        if (name.startsWith('fail')) throw new Error('task failed');
        return { done: true };
      },
    });
    sfn = new SFNClient(client(fake.url));
  });
  afterAll(() => fake.close());
  const erasure = 'arn:aws:states:us-east-1:000000000000:stateMachine:erasure';

  it('starts once per name through SfnWorkflowStarter, and runs the execution through onStart', async () => {
    const starter = new SfnWorkflowStarter(sfn, { erasure } as ConstructorParameters<typeof SfnWorkflowStarter>[1]);
    const first = await starter.start('erasure', 'req-1', { tenantId: 'acme' });
    expect(first.executionId).toBe('arn:aws:states:us-east-1:000000000000:execution:erasure:req-1');
    await fake.settled();
    expect(ran).toEqual([{ name: 'req-1', input: { tenantId: 'acme' } }]);
    expect(fake.executions[0]).toMatchObject({ status: 'SUCCEEDED', output: { done: true } });
    // The execution has closed: a second start of the name is refused, and the starter returns the first one.
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: erasure, name: 'req-1', input: '{"tenantId":"acme"}' }))).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await expect(starter.start('erasure', 'req-1', { tenantId: 'acme' })).resolves.toEqual(first);
    expect(fake.executions).toHaveLength(1);
  });

  it('is idempotent for a running execution with the same input only', async () => {
    const idle = await FakeStepFunctions.start({ stateMachines: ['erasure'] }); // nothing runs: executions stay RUNNING
    const client2 = new SFNClient(client(idle.url));
    try {
      const start = (input: string) => client2.send(new StartExecutionCommand({ stateMachineArn: erasure, name: 'req-2', input }));
      const first = await start('{"a":1}');
      await expect(start('{"a":1}')).resolves.toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
      await expect(start('{"a":2}')).rejects.toBeInstanceOf(ExecutionAlreadyExists);
      expect(idle.executions).toHaveLength(1);
    } finally {
      await idle.close();
    }
  });

  it('validates names, input and the state machine as Step Functions does', async () => {
    const start = (name: string, input = '{}', stateMachineArn = erasure) => sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    await expect(start('has space')).rejects.toBeInstanceOf(InvalidName);
    await expect(start('a/b')).rejects.toBeInstanceOf(InvalidName);
    await expect(start('x'.repeat(81))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(start('ok-name', '{not json')).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(start('ok-name', '{}', erasure.replace('erasure', 'unknown'))).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(start('x'.repeat(80))).resolves.toMatchObject({ executionArn: expect.stringMatching(/:execution:erasure:x{80}$/) });
  });

  it('DescribeExecution: RUNNING until onStart settles, then its end; an unknown execution is ExecutionDoesNotExist (R-TERM-1..5)', async () => {
    let finish!: () => void;
    const slow = await FakeStepFunctions.start({ stateMachines: ['termination'], onStart: () => new Promise<void>((resolve) => (finish = resolve)) });
    const client3 = new SFNClient(client(slow.url));
    const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:termination';
    try {
      const starter = new SfnWorkflowStarter(client3, { termination: machine } as ConstructorParameters<typeof SfnWorkflowStarter>[1]);
      const { executionId } = await starter.start('termination', 'term-1', { tenantId: 'acme' });
      await expect(client3.send(new DescribeExecutionCommand({ executionArn: executionId }))).resolves.toMatchObject({
        executionArn: executionId, stateMachineArn: machine, name: 'term-1', status: 'RUNNING', input: '{"tenantId":"acme"}',
      });
      expect(await starter.status(executionId)).toBe('RUNNING');
      finish();
      await slow.settled();
      expect(await starter.status(executionId)).toBe('SUCCEEDED');
      expect(await starter.status(executionId.replace('term-1', 'term-2'))).toBe('NOT_FOUND');
      await expect(client3.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:termination:none' }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
      await expect(client3.send(new DescribeExecutionCommand({ executionArn: machine }))).rejects.toMatchObject({ name: 'InvalidArn' });
    } finally {
      await slow.close();
    }
  });

  it('records a failed execution when onStart throws', async () => {
    await sfn.send(new StartExecutionCommand({ stateMachineArn: erasure, name: 'fail-1', input: '{}' }));
    await fake.settled();
    expect(fake.executions.find((e) => e.name === 'fail-1')).toMatchObject({ status: 'FAILED', error: expect.objectContaining({ message: 'task failed' }) });
  });
});
