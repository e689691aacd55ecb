/**
 * R-ING-7: the checking layer (test/support/aws-limits.ts) refuses what AWS refuses and the emulators take, and
 * lets the request at the limit through. Each rule is tried both ways through a real SDK client against dynalite
 * and kinesalite (SQS and Step Functions against a small local stand-in that accepts everything), so the layer
 * can fail: a rule that refused too much or too little would break one of the pair. Where the emulator refuses
 * too (BatchWriteItem of 26, numbers, 501 records), the refusal log shows that it was this layer's.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient, BatchGetItemCommand, BatchWriteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import { Readable } from 'node:stream';
import { awsLimitRefusals, dynamoItemBytes, expressionOperators } from '../support/aws-limits';
import { decodeAwsRequest, type AwsCall } from '../support/aws-wire';
import { acceptingService, sqsBatchAnswer } from '../support/accepting-service';
import { startEmulators, type Emulators } from '../support/emulators';

const KiB = 1024;
const MiB = 1024 * KiB;
let env: Emulators;
let dynamo: DynamoDBClient;
let kinesis: KinesisClient;
let s3: S3Client;

beforeAll(async () => {
  env = await startEmulators('limits');
  dynamo = new DynamoDBClient({ ...env.clients, endpoint: env.clients.endpoints.dynamodb, maxAttempts: 1 });
  kinesis = new KinesisClient({ ...env.clients, endpoint: env.clients.endpoints.kinesis, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
  s3 = new S3Client({ ...env.clients, endpoint: env.clients.endpoints.s3, forcePathStyle: true, maxAttempts: 1 });
});
afterAll(async () => {
  dynamo.destroy();
  kinesis.destroy();
  s3.destroy();
  await env.close();
});

/** Runs `send` and returns the refusal this layer logged for it, if any, and the error the SDK raised. */
async function attempt(send: () => Promise<unknown>): Promise<{ error?: { name: string; message: string }; refusedHere: boolean }> {
  const before = awsLimitRefusals().length;
  try {
    await send();
    return { refusedHere: awsLimitRefusals().length > before };
  } catch (error) {
    return { error: { name: (error as Error).name, message: (error as Error).message }, refusedHere: awsLimitRefusals().length > before };
  }
}

/** `text` padded with 'é' (2 bytes, 1 character) and ASCII to exactly `size` UTF-8 bytes: dynalite counts characters. */
function ofBytes(size: number, prefix = ''): string {
  const rest = size - Buffer.byteLength(prefix);
  return prefix + 'é'.repeat(Math.floor(rest / 2)) + 'a'.repeat(rest % 2);
}

const S = (value: string) => ({ S: value });
const put = (item: Record<string, { S: string } | { N: string }>) => () => dynamo.send(new PutItemCommand({ TableName: env.tables.tenantData, Item: item }));

describe('DynamoDB key sizes in UTF-8 bytes (R-ING-7)', () => {
  it.each([
    ['table partition key', 'pk', 2048],
    ['table sort key', 'sk', 1024],
    ['GSI partition key', 'gsi2pk', 2048],
    ['GSI sort key', 'gsi1sk', 1024],
  ])('the %s: %s bytes pass, one more is refused as AWS refuses it', async (_, attribute, limit) => {
    const item = (size: number) => ({ pk: S('T#limits#EV#1'), sk: S('EV'), gsi1pk: S('T#limits#K#event'), gsi1sk: S('t'), gsi2pk: S('T#limits#N#e'), gsi2sk: S('t'), [attribute]: S(ofBytes(size)) });

    const atLimit = await attempt(put(item(limit)));
    const over = await attempt(put(item(limit + 1)));

    expect(atLimit).toEqual({ refusedHere: false });
    expect(over.refusedHere).toBe(true);
    expect(over.error).toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/hashkey|range keys/) });
  });

  it('checks the keys of GetItem, UpdateItem and BatchGetItem too', async () => {
    const key = { pk: S(ofBytes(2049)), sk: S('EV') };

    const get = await attempt(() => dynamo.send(new GetItemCommand({ TableName: env.tables.tenantData, Key: key })));
    const update = await attempt(() =>
      dynamo.send(new UpdateItemCommand({ TableName: env.tables.tenantData, Key: { pk: S('p'), sk: S(ofBytes(1025)) }, UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': S('x') } })),
    );
    const batchGet = await attempt(() => dynamo.send(new BatchGetItemCommand({ RequestItems: { [env.tables.tenantData]: { Keys: [key] } } })));

    for (const outcome of [get, update, batchGet]) expect(outcome).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
  });
});

describe('DynamoDB item size: 400 KB of names and values in UTF-8 bytes', () => {
  it('an item of 409,600 bytes is stored; 409,601 bytes is refused', async () => {
    const base = { pk: S('T#limits#EV#big'), sk: S('EV') };
    const padFor = (size: number) => ofBytes(size - dynamoItemBytes({ ...base, pad: S('') }));

    const atLimit = await attempt(put({ ...base, pad: S(padFor(409_600)) }));
    const over = await attempt(put({ ...base, pad: S(padFor(409_601)) }));

    expect(atLimit).toEqual({ refusedHere: false });
    expect(over).toMatchObject({ refusedHere: true, error: { name: 'ValidationException', message: 'Item size has exceeded the maximum allowed size' } });
  });

  it('sizes lists, maps, numbers and booleans as DynamoDB documents it', () => {
    // name 1 + S 3; name 1 + list (3 + 2 × (1 + 1)); name 1 + map (3 + 1 + 1 + 1 (BOOL)); name 1 + N 12345 (1 + 3)
    expect(dynamoItemBytes({ a: S('abc'), l: { L: [S('x'), S('y')] }, m: { M: { k: { BOOL: true } } }, n: { N: '12345' } })).toBe(4 + 8 + 7 + 5);
  });
});

describe('DynamoDB expressions: 4 KB, 300 operators, 255-byte placeholders', () => {
  const update = (expression: string, values: Record<string, { S: string } | { N: string }>, names?: Record<string, string>) => () =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: env.tables.tenantData,
        Key: { pk: S('T#limits#ROLLUP'), sk: S('m') },
        UpdateExpression: expression,
        ExpressionAttributeValues: values,
        ...(names ? { ExpressionAttributeNames: names } : {}),
      }),
    );

  it('an update expression of 4,096 bytes is applied; 4,097 bytes is refused', async () => {
    const expression = (size: number) => `SET #a = :a${' '.repeat(size - 'SET #a = :a'.length)}`;

    const atLimit = await attempt(update(expression(4096), { ':a': S('x') }, { '#a': 'a' }));
    const over = await attempt(update(expression(4097), { ':a': S('x') }, { '#a': 'a' }));

    expect(atLimit).toEqual({ refusedHere: false });
    expect(over).toMatchObject({ refusedHere: true, error: { name: 'ValidationException', message: expect.stringContaining('Expression size has exceeded') } });
  });

  it('300 operators in an update expression are applied; 301 are refused', async () => {
    // One `+` per action (DynamoDB adds two operands at a time), each on its own attribute.
    const expression = (operators: number) => `SET ${Array.from({ length: operators }, (_, i) => `n${i}=:o+:o`).join(',')}`;
    expect(expressionOperators('UpdateExpression', expression(300))).toBe(300);

    const atLimit = await attempt(update(expression(300), { ':o': { N: '1' } }));
    const over = await attempt(update(expression(301), { ':o': { N: '1' } }));

    expect(atLimit).toEqual({ refusedHere: false });
    expect(over).toMatchObject({ refusedHere: true, error: { name: 'ValidationException', message: expect.stringContaining('too many operators') } });
  });

  it('counts comparators, logical operators and functions in a condition', () => {
    expect(expressionOperators('ConditionExpression', 'attribute_not_exists(#a) AND NOT (#b = :b OR #c <> :c)')).toBe(6);
    expect(expressionOperators('UpdateExpression', 'SET a = :a, b = if_not_exists(b, :z) + :one ADD c :c')).toBe(2);
  });

  it('a placeholder of 255 bytes is taken; 256 bytes is refused', async () => {
    const name = (size: number) => `#${'n'.repeat(size - 1)}`;

    const atLimit = await attempt(update(`SET ${name(255)} = :a`, { ':a': S('x') }, { [name(255)]: 'a' }));
    const over = await attempt(update(`SET ${name(256)} = :a`, { ':a': S('x') }, { [name(256)]: 'a' }));

    expect(atLimit).toEqual({ refusedHere: false });
    expect(over).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
  });
});

describe('DynamoDB numbers: 38 significant digits, magnitude 1E-130 to below 1E126', () => {
  it.each([
    ['38 digits', '12345678901234567890123456789012345678', '123456789012345678901234567890123456789'],
    ['the largest magnitude', '9.9999999999999999999999999999999999999E+125', '1E126'],
    ['the smallest magnitude', '-1E-130', '1E-131'],
  ])('%s is stored, one past it is refused', async (_, atLimit, over) => {
    const item = (n: string) => ({ pk: S('T#limits#EV#n'), sk: S('EV'), n: { N: n } });

    const accepted = await attempt(put(item(atLimit)));
    const refused = await attempt(put(item(over)));

    expect(accepted).toEqual({ refusedHere: false });
    expect(refused).toMatchObject({ refusedHere: true, error: { name: 'ValidationException', message: expect.stringMatching(/significant digits|overflow|underflow/) } });
  });
});

describe('DynamoDB batches: 25 writes, 100 keys', () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: S(`T#limits#EV#b${i}`), sk: S('EV') }));

  it('BatchWriteItem of 25 requests is written; 26 is refused', async () => {
    const write = (n: number) => () =>
      dynamo.send(new BatchWriteItemCommand({ RequestItems: { [env.tables.tenantData]: keys(n).map((Item) => ({ PutRequest: { Item } })) } }));

    expect(await attempt(write(25))).toEqual({ refusedHere: false });
    expect(await attempt(write(26))).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
  });

  it('BatchGetItem of 100 keys is read; 101 is refused', async () => {
    const read = (n: number) => () => dynamo.send(new BatchGetItemCommand({ RequestItems: { [env.tables.tenantData]: { Keys: keys(n) } } }));

    expect(await attempt(read(100))).toEqual({ refusedHere: false });
    expect(await attempt(read(101))).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
  });
});

describe('Kinesis PutRecords: 500 records, 1 MiB a record with its key, 5 MiB a request', () => {
  const send = (records: { PartitionKey: string; Data: Uint8Array }[]) => () => kinesis.send(new PutRecordsCommand({ StreamName: env.stream, Records: records }));
  const record = (dataBytes: number) => ({ PartitionKey: 'p', Data: new Uint8Array(dataBytes) });

  it('500 records are put; 501 are refused', async () => {
    expect(await attempt(send(Array.from({ length: 500 }, () => record(1))))).toEqual({ refusedHere: false });
    expect(await attempt(send(Array.from({ length: 501 }, () => record(1))))).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
  });

  it('a record of 1 MiB with its partition key is put; one byte more is refused (kinesalite counts the data alone)', async () => {
    expect(await attempt(send([record(MiB - 1)]))).toEqual({ refusedHere: false });
    expect(await attempt(send([record(MiB)]))).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
  });

  it('a request of 5 MiB is put; one byte more is refused', async () => {
    const fiveMiB = Array.from({ length: 5 }, () => record(MiB - 1));

    expect(await attempt(send(fiveMiB))).toEqual({ refusedHere: false });
    expect(await attempt(send([...fiveMiB, record(0)]))).toMatchObject({ refusedHere: true, error: { name: 'InvalidArgumentException' } });
  });
});

describe('S3 object keys: 1,024 bytes', () => {
  it('a key of 1,024 bytes is stored; 1,025 bytes is refused', async () => {
    // Path segments stay short: s3rver keeps objects as files, and a file name stops at 255 bytes.
    const key = (size: number) => `${'k'.repeat(99)}/`.repeat(Math.floor(size / 100)) + 'k'.repeat(size % 100);
    const putObject = (size: number) => () => s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: key(size), Body: 'x' }));

    expect(await attempt(putObject(1024))).toEqual({ refusedHere: false });
    expect(await attempt(putObject(1025))).toMatchObject({ refusedHere: true, error: { name: 'KeyTooLongError' } });
  });
});

const localConfig = (endpoint: string) => ({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });

describe('SQS: 10 messages, 256 KiB a message and a batch', () => {
  it('takes a batch at both limits and refuses each one past them', async () => {
    const service = await acceptingService(sqsBatchAnswer((text) => createHash('md5').update(text).digest('hex')));
    const sqs = new SQSClient(localConfig(service.url));
    const send = (sizes: number[]) => () =>
      sqs.send(new SendMessageBatchCommand({ QueueUrl: `${service.url}/000000000000/dlq`, Entries: sizes.map((size, i) => ({ Id: String(i), MessageBody: 'm'.repeat(size) })) }));
    try {
      const atLimits = [await attempt(send([256 * KiB])), await attempt(send([...Array(9).fill(1), 256 * KiB - 9])), await attempt(send(Array(10).fill(1)))];
      const over = [await attempt(send([256 * KiB + 1])), await attempt(send([128 * KiB, 128 * KiB + 1])), await attempt(send(Array(11).fill(1)))];

      expect(atLimits).toEqual([{ refusedHere: false }, { refusedHere: false }, { refusedHere: false }]);
      expect(service.received).toHaveLength(3);
      expect(over.map((o) => [o.refusedHere, o.error?.name])).toEqual([
        [true, 'InvalidParameterValue'],
        [true, 'BatchRequestTooLong'],
        [true, 'TooManyEntriesInBatchRequest'],
      ]);
    } finally {
      sqs.destroy();
      await service.close();
    }
  });
});

describe('Step Functions: StartExecution input of 256 KiB', () => {
  it('starts with 262,144 bytes of input and refuses one byte more', async () => {
    const service = await acceptingService(() => ({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:e', startDate: 0 }));
    const sfn = new SFNClient(localConfig(service.url));
    const start = (size: number) => () =>
      sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m', name: 'e', input: JSON.stringify({ pad: 'p'.repeat(size - 10) }) }));
    try {
      expect(await attempt(start(256 * KiB))).toEqual({ refusedHere: false });
      expect(await attempt(start(256 * KiB + 1))).toMatchObject({ refusedHere: true, error: { name: 'ValidationException' } });
      expect(service.received).toEqual(['AWSStepFunctions.StartExecution']);
    } finally {
      sfn.destroy();
      await service.close();
    }
  });
});

describe('aws-wire: decodeAwsRequest', () => {
  /** A handler that keeps the decoded call and answers `answer` without any network. */
  function capturing(answer: object | string, contentType = 'application/x-amz-json-1.0') {
    const calls: (AwsCall | undefined)[] = [];
    return {
      calls,
      requestHandler: {
        handle: async (request: HttpRequest) => {
          calls.push(decodeAwsRequest(request));
          return { response: { statusCode: 200, headers: { 'content-type': contentType }, body: Readable.from([Buffer.from(typeof answer === 'string' ? answer : JSON.stringify(answer))]) } };
        },
      },
    };
  }
  const offline = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 's' } };

  it('decodes JSON-protocol calls into service, operation and the wire input, with region and credentials', async () => {
    const http = capturing({});
    const client = new DynamoDBClient({ ...offline, requestHandler: http.requestHandler as never });

    await client.send(new PutItemCommand({ TableName: 't', Item: { pk: S('a'), n: { N: '1.5' } } }));

    expect(http.calls).toEqual([
      expect.objectContaining({ service: 'dynamodb', operation: 'PutItem', input: { TableName: 't', Item: { pk: { S: 'a' }, n: { N: '1.5' } } }, region: 'eu-west-1', accessKeyId: 'AKIDTEST' }),
    ]);
  });

  it('decodes S3 REST calls from method, path and query, and STS query calls from the form', async () => {
    const s3http = capturing('', 'application/xml');
    const stsHttp = capturing(
      '<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>a</AccessKeyId><SecretAccessKey>b</SecretAccessKey><SessionToken>c</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>',
      'text/xml',
    );
    const s3client = new S3Client({ ...offline, forcePathStyle: true, requestHandler: s3http.requestHandler as never });
    const sts = new STSClient({ ...offline, requestHandler: stsHttp.requestHandler as never });

    await s3client.send(new PutObjectCommand({ Bucket: 'b', Key: 'tenants/acme/a b', Body: 'xyz' }));
    await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::1:role/r', RoleSessionName: 's', Tags: [{ Key: 'tenantId', Value: 'acme' }] }));

    expect(s3http.calls).toEqual([expect.objectContaining({ service: 's3', operation: 'PutObject', input: expect.objectContaining({ Bucket: 'b', Key: 'tenants/acme/a b', ContentLength: 3 }) })]);
    expect(stsHttp.calls).toEqual([
      expect.objectContaining({ service: 'sts', operation: 'AssumeRole', input: expect.objectContaining({ RoleArn: 'arn:aws:iam::1:role/r', 'Tags.member.1.Key': 'tenantId' }) }),
    ]);
  });

  it('knows nothing of a request that is not an AWS API call', () => {
    const plain = { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 80, path: '/v1/events', query: {}, headers: {} } as unknown as HttpRequest;
    expect(decodeAwsRequest(plain)).toBeUndefined();
  });
});
