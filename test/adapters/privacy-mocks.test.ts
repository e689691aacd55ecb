/**
 * Privacy adapters against mocked AWS clients (aws-sdk-client-mock), where no emulator exists (KMS signing, Step
 * Functions) or where the emulator lacks the behaviour (S3 versioning), plus faults DynamoDB can produce.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { DeleteObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createDocumentClient, type AwsClientsConfig } from '../../lambdas/adapters/clients';
import { KmsDocumentSigner, LocalDocumentSigner } from '../../lambdas/adapters/document-signers';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoPrivacyRequestStore } from '../../lambdas/adapters/dynamo-privacy-requests';
import { eventItem } from '../../lambdas/adapters/event-items';
import { RecordingWorkflowStarter } from '../../lambdas/adapters/memory';
import { S3DocumentStore } from '../../lambdas/adapters/s3-document-store';
import { S3PayloadStore } from '../../lambdas/adapters/s3-payload-store';
import { SfnWorkflowStarter } from '../../lambdas/adapters/sfn-workflow-starter';
import { signDeletionDocument, verifyDeletionDocument, type SubjectDeletionRecord } from '../../lambdas/domain/deletion-records';
import type { PrivacyRequestRecord, WorkflowName } from '../../lambdas/domain/privacy';
import { WORKFLOW_NAMES } from '../../lambdas/domain/privacy';
import { storedEvent } from './fixtures';

const record: SubjectDeletionRecord = {
  kind: 'lumiqo.subject-erasure.v1',
  tenantId: 'acme',
  requestId: 'dsr_01',
  subjectHash: 'h-subject',
  receivedAt: '2026-03-01T10:00:00.000Z',
  completedAt: '2026-03-01T11:00:00.000Z',
  deleted: { events: 3, subjectIndexEntries: 4, payloadObjects: 1, exports: 0 },
  verification: { method: 'subject-index-consistent-query', remaining: 0, receivedAfterRequest: 0, verifiedAt: '2026-03-01T11:00:00.000Z' },
};

describe('KmsDocumentSigner (mocked KMS)', () => {
  const kms = mockClient(KMSClient);
  const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/signing';
  // Stands in for the key inside KMS: the mock signs with it as KMS would.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spkiDer = publicKey.export({ format: 'der', type: 'spki' });
  /** Messages by their SHA-256, so the mock can answer a DIGEST request as KMS would. */
  const byDigest = new Map<string, Buffer>();

  beforeEach(() => {
    kms.reset();
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array; MessageType: string }) => {
      const message = input.MessageType === 'DIGEST' ? byDigest.get(Buffer.from(input.Message).toString('hex'))! : Buffer.from(input.Message);
      return { KeyId: keyArn, SigningAlgorithm: 'ECDSA_SHA_256', Signature: new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'der' })) };
    });
    kms.on(GetPublicKeyCommand).resolves({ KeyId: keyArn, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: new Uint8Array(spkiDer) });
  });
  afterAll(() => kms.restore());

  it('R-DSR-2: signs the canonical bytes with ECDSA_SHA_256 over the RAW message; the record verifies with the published key', async () => {
    const signer = new KmsDocumentSigner(new KMSClient({ region: 'eu-west-1' }), 'alias/lumiqo-signing');

    const signed = await signDeletionDocument(record, signer);

    expect(kms.commandCalls(SignCommand)[0].args[0].input).toMatchObject({ KeyId: 'alias/lumiqo-signing', MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
    // The key that signed, not the alias that named it.
    expect(signed.signature).toMatchObject({ algorithm: 'ECDSA_SHA_256', keyId: keyArn });
    const pem = await signer.publicKeyPem();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(verifyDeletionDocument(signed, pem)).toBe(true);
    expect(verifyDeletionDocument({ ...signed, document: { ...record, deleted: { events: 2 } } }, pem)).toBe(false);
  });

  it('signs a message above KMS’s 4 KB RAW limit as its SHA-256 digest, with the same verifiable result', async () => {
    const signer = new KmsDocumentSigner(new KMSClient({ region: 'eu-west-1' }), keyArn);
    const message = Buffer.alloc(10_000, 'a');
    const digest = createHash('sha256').update(message).digest();
    byDigest.set(digest.toString('hex'), message);

    const { signature } = await signer.sign(message);

    expect(kms.commandCalls(SignCommand)[0].args[0].input).toMatchObject({ MessageType: 'DIGEST', Message: new Uint8Array(digest) });
    expect(verify('sha256', message, { key: createPublicKey(await signer.publicKeyPem()), dsaEncoding: 'der' }, Buffer.from(signature, 'base64'))).toBe(true);
  });

  it('fetches the public key once, and refuses a key that is not ECC_NIST_P256', async () => {
    const signer = new KmsDocumentSigner(new KMSClient({ region: 'eu-west-1' }), keyArn);
    await signer.publicKeyPem();
    await signer.publicKeyPem();
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);

    kms.on(GetPublicKeyCommand).resolves({ KeyId: keyArn, KeySpec: 'RSA_2048', PublicKey: new Uint8Array(spkiDer) });
    await expect(new KmsDocumentSigner(new KMSClient({ region: 'eu-west-1' }), keyArn).publicKeyPem()).rejects.toThrow('ECC_NIST_P256');
  });
});

describe('LocalDocumentSigner', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'lumiqo-signer-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('R-TERM-5: creates an owner-only P-256 key on first use; its signatures verify with node:crypto and verifyDeletionDocument', async () => {
    const file = join(dir, 'nested', 'signing.pem');
    const signer = new LocalDocumentSigner(file);

    const signed = await signDeletionDocument(record, signer);
    const pem = await signer.publicKeyPem();

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const spki = createPublicKey(pem).export({ format: 'der', type: 'spki' });
    expect(signed.signature.keyId).toBe(`local:${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`);
    expect(createPublicKey(pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const message = Buffer.from(JSON.stringify(record, Object.keys(record).sort()));
    const raw = await signer.sign(message);
    expect(verify('sha256', message, { key: createPublicKey(pem), dsaEncoding: 'der' }, Buffer.from(raw.signature, 'base64'))).toBe(true);
    expect(verifyDeletionDocument(signed, pem)).toBe(true);
    expect(verifyDeletionDocument({ ...signed, document: { ...record, subjectHash: 'h-other' } }, pem)).toBe(false);
  });

  it('keeps using the key in the file: another instance (a restarted process) has the same key id and public key', async () => {
    const file = join(dir, 'restart.pem');
    const first = new LocalDocumentSigner(file);
    const signed = await signDeletionDocument(record, first);

    const second = new LocalDocumentSigner(file);

    expect((await second.sign(new Uint8Array([1]))).keyId).toBe(signed.signature.keyId);
    expect(await second.publicKeyPem()).toBe(await first.publicKeyPem());
    expect(verifyDeletionDocument(signed, await second.publicKeyPem())).toBe(true);
  });

  it('two signers starting at once end up with one key', async () => {
    const file = join(dir, 'race.pem');

    const [a, b] = await Promise.all([new LocalDocumentSigner(file).publicKeyPem(), new LocalDocumentSigner(file).publicKeyPem()]);

    expect(a).toBe(b);
  });

  it('refuses a key file that is not an ECDSA P-256 key', async () => {
    const file = join(dir, 'rsa.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }));

    await expect(new LocalDocumentSigner(file).sign(new Uint8Array([1]))).rejects.toThrow('ECDSA P-256');
  });
});

describe('SfnWorkflowStarter (mocked Step Functions)', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());
  afterAll(() => sfn.restore());
  const arns = Object.fromEntries(
    WORKFLOW_NAMES.map((name) => [name, `arn:aws:states:eu-west-1:111122223333:stateMachine:lumiqo-prod-${name}`]),
  ) as Record<WorkflowName, string>;
  const starter = () => new SfnWorkflowStarter(new SFNClient({ region: 'eu-west-1' }), arns);

  it('R-DSR-5: starts the workflow’s state machine with the request id as execution name and the state as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:lumiqo-prod-erasure:dsr_01', startDate: new Date() });

    const { executionId } = await starter().start('erasure', 'dsr_01', { tenantId: 'acme', requestId: 'dsr_01' });

    expect(executionId).toBe('arn:aws:states:eu-west-1:111122223333:execution:lumiqo-prod-erasure:dsr_01');
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input).toEqual({
      stateMachineArn: arns.erasure,
      name: 'dsr_01',
      input: JSON.stringify({ tenantId: 'acme', requestId: 'dsr_01' }),
    });
  });

  it('R-DSR-6: a second start of the same name (a redelivered request) returns the existing execution', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    const { executionId } = await starter().start('termination', 'term_01', {});

    expect(executionId).toBe('arn:aws:states:eu-west-1:111122223333:execution:lumiqo-prod-termination:term_01');
  });

  it('passes other errors on, and refuses what Step Functions would refuse before calling it', async () => {
    sfn.on(StartExecutionCommand).rejects(new Error('AccessDenied'));
    await expect(starter().start('access', 'dsr_02', {})).rejects.toThrow('AccessDenied');

    sfn.reset();
    await expect(starter().start('access', 'shopify:delivery:1', {})).rejects.toThrow('Invalid Step Functions execution name');
    await expect(new SfnWorkflowStarter(new SFNClient({ region: 'eu-west-1' }), {} as Record<WorkflowName, string>).start('access', 'dsr_03', {})).rejects.toThrow(
      "No state machine ARN configured for workflow 'access'",
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

describe('RecordingWorkflowStarter', () => {
  it('records each start once per workflow and name, with a copy of the input', async () => {
    const starter = new RecordingWorkflowStarter();
    const input = { requestId: 'dsr_01', counts: { events: 1 } };

    const first = await starter.start('erasure', 'dsr_01', input);
    input.counts.events = 99;
    const again = await starter.start('erasure', 'dsr_01', { other: true });
    await starter.start('access', 'dsr_01', {});

    expect(again).toEqual(first);
    expect(starter.starts).toEqual([
      { workflow: 'erasure', executionName: 'dsr_01', input: { requestId: 'dsr_01', counts: { events: 1 } } },
      { workflow: 'access', executionName: 'dsr_01', input: {} },
    ]);
    await expect(starter.start('access', 'has space', {})).rejects.toThrow('Invalid Step Functions execution name');
  });
});

describe('S3 deletes in a versioned bucket (mocked S3)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  afterAll(() => s3.restore());
  const client = () => new S3Client({ region: 'eu-west-1' });
  const deleted = () => s3.commandCalls(DeleteObjectsCommand).flatMap((c) => c.args[0].input.Delete!.Objects!);

  it('R-TERM-3: deletePrefix deletes every version and delete marker, page after page', async () => {
    s3.on(ListObjectVersionsCommand)
      .resolvesOnce({
        IsTruncated: true,
        NextKeyMarker: 'tenants/acme/payloads/ev_2',
        NextVersionIdMarker: 'v2a',
        Versions: [
          { Key: 'tenants/acme/payloads/ev_1', VersionId: 'v1b', IsLatest: true },
          { Key: 'tenants/acme/payloads/ev_1', VersionId: 'v1a', IsLatest: false },
          { Key: 'tenants/acme/payloads/ev_2', VersionId: 'v2a', IsLatest: false },
        ],
        DeleteMarkers: [{ Key: 'tenants/acme/payloads/ev_2', VersionId: 'dm2', IsLatest: true }],
      })
      .resolves({ IsTruncated: false, Versions: [{ Key: 'tenants/acme/payloads/ev_3', VersionId: 'v3a' }] });
    s3.on(DeleteObjectsCommand).resolves({});

    expect(await new S3PayloadStore(client(), 'payloads').deletePrefix('tenants/acme/')).toBe(5);

    expect(deleted()).toEqual([
      { Key: 'tenants/acme/payloads/ev_1', VersionId: 'v1b' },
      { Key: 'tenants/acme/payloads/ev_1', VersionId: 'v1a' },
      { Key: 'tenants/acme/payloads/ev_2', VersionId: 'v2a' },
      { Key: 'tenants/acme/payloads/ev_2', VersionId: 'dm2' },
      { Key: 'tenants/acme/payloads/ev_3', VersionId: 'v3a' },
    ]);
    const listings = s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
    expect(listings[1]).toMatchObject({ Bucket: 'payloads', Prefix: 'tenants/acme/', KeyMarker: 'tenants/acme/payloads/ev_2', VersionIdMarker: 'v2a' });
  });

  it('R-DSR-2: delete removes every version of exactly the named keys', async () => {
    s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => ({
      Versions: [
        { Key: input.Prefix, VersionId: 'old' },
        { Key: input.Prefix, VersionId: 'new' },
        { Key: `${input.Prefix}0`, VersionId: 'neighbour' },
      ],
    }));
    s3.on(DeleteObjectsCommand).resolves({});

    await new S3PayloadStore(client(), 'payloads').delete(['tenants/acme/payloads/ev_1']);

    expect(deleted()).toEqual([
      { Key: 'tenants/acme/payloads/ev_1', VersionId: 'old' },
      { Key: 'tenants/acme/payloads/ev_1', VersionId: 'new' },
    ]);
  });

  it('R-TERM-3: countPrefix counts noncurrent versions and delete markers too, so verification sees them', async () => {
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'tenants/acme/exports/x', VersionId: 'v1', IsLatest: false }], DeleteMarkers: [{ Key: 'tenants/acme/exports/x', VersionId: 'dm' }] });
    s3.on(DeleteObjectsCommand).resolves({});

    expect(await new S3PayloadStore(client(), 'payloads').countPrefix('tenants/acme/')).toBe(2);
    expect(await new S3DocumentStore(client(), 'exports').deletePrefix('tenants/acme/')).toBe(2);
  });

  it('falls back to plain listings where versions are not implemented (an emulator), and only there', async () => {
    const notImplemented = new S3ServiceException({ name: 'NotImplemented', $fault: 'server', $metadata: { httpStatusCode: 501 }, message: 'not implemented' });
    s3.on(ListObjectVersionsCommand).rejects(notImplemented);
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'tenants/acme/payloads/ev_1' }] });
    s3.on(DeleteObjectsCommand).resolves({});
    const store = new S3PayloadStore(client(), 'payloads');

    expect(await store.deletePrefix('tenants/acme/')).toBe(1);
    expect(await store.deletePrefix('tenants/acme/')).toBe(1);

    expect(deleted()).toEqual([{ Key: 'tenants/acme/payloads/ev_1' }, { Key: 'tenants/acme/payloads/ev_1' }]);
    // Learnt once: the second purge does not ask for versions again.
    expect(s3.commandCalls(ListObjectVersionsCommand)).toHaveLength(1);

    s3.reset();
    s3.on(ListObjectVersionsCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }));
    await expect(new S3PayloadStore(client(), 'payloads').deletePrefix('tenants/acme/')).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(0);
  });
});

describe('DynamoDB faults on the privacy reads (mocked DynamoDB)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());
  afterAll(() => ddb.restore());
  const FAST_RETRY = { attempts: 20, baseDelayMs: 1, maxDelayMs: 2 };
  const store = () => new DynamoEventStore(createDocumentClient({ region: 'eu-west-1' }), 'data', FAST_RETRY);

  it('R-DSR-2: getEvents re-asks for UnprocessedKeys, consistently, until every event is read once', async () => {
    const events = Array.from({ length: 130 }, (_, i) => storedEvent('acme', `ev_${i}`));
    const items = new Map(events.map((e) => [`${e.eventId}`, eventItem(e)]));
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[]; ConsistentRead?: boolean }> }) => {
      const { Keys } = input.RequestItems.data;
      // DynamoDB answers a third of the keys and leaves the rest unprocessed.
      const answered = Keys.slice(0, Math.ceil(Keys.length / 3));
      return {
        Responses: { data: answered.map((key) => items.get(key.pk.split('#EV#')[1])!) },
        UnprocessedKeys: Keys.length > answered.length ? { data: { Keys: Keys.slice(answered.length) } } : {},
      };
    });

    const found = await store().getEvents('acme', events.map((e) => e.eventId));

    expect(found).toEqual(events);
    const requests = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.data);
    expect(requests.every((r) => r.ConsistentRead === true && r.Keys!.length <= 100)).toBe(true);
  });

  it('R-DSR-2: getEvents throws, rather than answer short, when keys stay unprocessed', async () => {
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: unknown[] }> }) => ({ Responses: { data: [] }, UnprocessedKeys: input.RequestItems }));

    await expect(new DynamoEventStore(createDocumentClient({ region: 'eu-west-1' }), 'data', { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 }).getEvents('acme', ['ev_1'])).rejects.toThrow(
      'BatchGetItem: 1 entries still unprocessed after 3 attempts',
    );
  });

  it('R-DSR-1: subjectEventIds follows every page of the subject partition with consistent reads', async () => {
    ddb.on(QueryCommand)
      .resolvesOnce({ Items: [{ sk: 'EV#ev_1' }, { sk: 'EV#ev_2' }], LastEvaluatedKey: { pk: 'T#acme#S#h', sk: 'EV#ev_2' } })
      .resolves({ Items: [{ sk: 'EV#ev_3' }] });

    expect(await store().subjectEventIds('acme', 'h')).toEqual(['ev_1', 'ev_2', 'ev_3']);

    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries[0]).toMatchObject({ ConsistentRead: true, ExpressionAttributeValues: { ':pk': 'T#acme#S#h' } });
    expect(queries[1].ExclusiveStartKey).toEqual({ pk: 'T#acme#S#h', sk: 'EV#ev_2' });
  });

  it('R-DSR-5: a request update that loses a race reads again and appends after the other writer', async () => {
    const base: PrivacyRequestRecord = {
      tenantId: 'acme',
      requestId: 'dsr_01',
      type: 'erasure',
      subjectHash: 'h',
      subjectKind: 'email',
      origin: 'api',
      actor: 'api-key:k1',
      receivedAt: '2026-03-01T10:00:00.000Z',
      dueAt: '2026-04-01T10:00:00.000Z',
      status: 'running',
      steps: [{ name: 'received', at: '2026-03-01T10:00:00.000Z', outcome: 'success' }],
    };
    const other = { name: 'locate', at: '2026-03-01T10:01:00.000Z', outcome: 'success' as const };
    ddb.on(GetCommand)
      .resolvesOnce({ Item: { ...base } })
      .resolves({ Item: { ...base, steps: [...base.steps, other] } });
    ddb.on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'steps changed', $metadata: {} }))
      .resolves({});
    const mine = { name: 'erase-records', at: '2026-03-01T10:02:00.000Z', outcome: 'success' as const };

    await new DynamoPrivacyRequestStore(createDocumentClient({ region: 'eu-west-1' }), 'control').update('acme', 'dsr_01', mine);

    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts[1].ExpressionAttributeValues).toEqual({ ':steps': 2 });
    expect((puts[1].Item as PrivacyRequestRecord).steps).toEqual([...base.steps, other, mine]);
  });
});

/** An HTTP layer beneath the SDK (its retry middleware included) that answers from a script. */
function scriptedHttp(answers: readonly { status: number; body: unknown }[]) {
  let call = 0;
  return {
    calls: () => call,
    handle: async () => {
      const answer = answers[Math.min(call++, answers.length - 1)];
      return {
        response: {
          statusCode: answer.status,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
        },
      };
    },
  };
}

describe('getEvents under whole-request throttling (SDK retries)', () => {
  it('R-DSR-2: a throttled BatchGetItem is retried by the SDK, then answers', async () => {
    const http = scriptedHttp([
      { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' } },
      {
        status: 200,
        body: {
          Responses: {
            data: [{ tenantId: { S: 'acme' }, eventId: { S: 'ev_1' }, kind: { S: 'event' }, name: { S: 'signup' }, quarantined: { BOOL: true } }],
          },
          UnprocessedKeys: {},
        },
      },
    ]);
    const config: AwsClientsConfig = {
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestHandler: http as unknown as AwsClientsConfig['requestHandler'],
    };

    const found = await new DynamoEventStore(createDocumentClient(config), 'data').getEvents('acme', ['ev_1']);

    expect(found).toMatchObject([{ eventId: 'ev_1', quarantined: true }]);
    expect(http.calls()).toBe(2);
  });
});
