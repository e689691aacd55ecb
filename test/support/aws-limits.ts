/**
 * R-ING-7: the limits AWS enforces and the emulators do not, held in every test. Installed for every test file
 * (jest `setupFiles`: test/setup-aws-limits.ts), it wraps `NodeHttpHandler.prototype.handle` of
 * `@smithy/node-http-handler`, the one HTTP layer of every SDK client here (Kinesis included: clients.ts forces
 * it). A request to 127.0.0.1 or localhost (an emulator) that AWS would refuse is answered as AWS answers it: HTTP
 * 400 with the service's JSON error, so the SDK raises the real exception (`ValidationException`, ...) and the
 * code under test sees what it would see in AWS. Everything else goes on to the emulator unchanged. Requests to
 * other hosts are never touched.
 *
 * dynalite measures keys and items in characters, not UTF-8 bytes, checks no GSI key size and no expression
 * length; kinesalite has no 5 MiB request limit; SQS and Step Functions have no emulator. The limits, as AWS
 * documents them:
 * - DynamoDB (developerguide/Constraints.html, ServiceQuotas.html): partition key 2,048 B and sort key 1,024 B
 *   (UTF-8), table and GSI keys alike; item 400 KB (409,600 B: attribute names plus values, UTF-8); any
 *   expression 4 KB; at most 300 operators or functions in one expression, 100 operands of IN; an expression
 *   attribute name or value placeholder at most 255 B, all of them together at most 2 MB; numbers of at most 38
 *   significant digits, magnitude 1E-130 to below 1E126; BatchWriteItem 25 requests, BatchGetItem 100 keys.
 *   (The UpdateItem of an existing item is not sized after the update: that needs the stored item.)
 * - Kinesis (PutRecords API reference): 500 records a request; each record's data plus partition key at most
 *   1 MiB; the whole request, partition keys included, at most 5 MiB.
 * - SQS: a message at most 256 KiB (262,144 B), a SendMessageBatch at most 10 messages and 256 KiB in all. AWS
 *   now allows queues of up to 1 MiB; 256 KiB is the size the platform is built to (any queue takes it).
 * - Step Functions: StartExecution input at most 256 KiB (262,144 B, UTF-8).
 * - S3: an object key at most 1,024 B (UTF-8).
 *
 * The numbers are written here, not imported from lambdas/domain/aws-limits.ts, so a wrong limit in the code
 * under test cannot also make this check agree with it.
 */
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Readable } from 'node:stream';
import { TABLES } from '../../lambdas/shared/tables';
import { decodeAwsRequest, type AwsCall, type AwsService } from './aws-wire';

const KiB = 1024;
export const AWS_LIMITS = {
  dynamodb: {
    partitionKeyBytes: 2048,
    sortKeyBytes: 1024,
    itemBytes: 400 * KiB,
    expressionBytes: 4 * KiB,
    expressionOperators: 300,
    inOperands: 100,
    placeholderBytes: 255,
    substitutionBytes: 2 * KiB * KiB,
    numberDigits: 38,
    /** Decimal exponent of the leading digit: 1E125 is the largest power of ten, 1E-130 the smallest. */
    numberMaxExponent: 125,
    numberMinExponent: -130,
    batchWriteRequests: 25,
    batchGetKeys: 100,
  },
  kinesis: { recordBytes: KiB * KiB, requestBytes: 5 * KiB * KiB, requestRecords: 500 },
  sqs: { messageBytes: 256 * KiB, batchBytes: 256 * KiB, batchEntries: 10 },
  states: { inputBytes: 256 * KiB },
  s3: { keyBytes: 1024 },
} as const;

/** A refusal, as AWS would answer it. */
export interface Refusal {
  readonly service: AwsService;
  readonly operation: string;
  /** The error code: the `__type` the SDK turns into an exception name. */
  readonly code: string;
  readonly message: string;
}

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const base64Bytes = (text: string) => Buffer.from(text, 'base64').byteLength;

// ---------------------------------------------------------------------------------------------------- DynamoDB

interface KeySchema {
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly indexes: readonly { readonly name: string; readonly partitionKey: string; readonly sortKey?: string }[];
}

/**
 * Key schemas by `endpoint/table`: learnt from the CreateTable requests that pass by (the emulators' tables are
 * made through the SDK), else the logical table of lambdas/shared/tables.ts whose name the physical name holds.
 */
const schemas = new Map<string, KeySchema>();

type KeyElement = { AttributeName: string; KeyType: 'HASH' | 'RANGE' };
function schemaOf(elements: readonly KeyElement[]): { partitionKey: string; sortKey?: string } {
  const sortKey = elements.find((e) => e.KeyType === 'RANGE')?.AttributeName;
  return { partitionKey: elements.find((e) => e.KeyType === 'HASH')!.AttributeName, ...(sortKey ? { sortKey } : {}) };
}

function learnSchema(call: AwsCall): void {
  const input = call.input as { TableName?: string; KeySchema?: KeyElement[]; GlobalSecondaryIndexes?: { IndexName: string; KeySchema: KeyElement[] }[] };
  if (!input.TableName || !input.KeySchema) return;
  schemas.set(`${call.endpoint}/${input.TableName}`, {
    ...schemaOf(input.KeySchema),
    indexes: (input.GlobalSecondaryIndexes ?? []).map((index) => ({ name: index.IndexName, ...schemaOf(index.KeySchema) })),
  });
}

function keySchema(endpoint: string, table: string): KeySchema | undefined {
  const learnt = schemas.get(`${endpoint}/${table}`);
  if (learnt) return learnt;
  const shape = Object.values(TABLES).find((t) => table.includes(t.name));
  return shape && { partitionKey: shape.partitionKey, sortKey: shape.sortKey, indexes: shape.indexes };
}

/** The UTF-8 size of a key attribute's value (strings; binary decoded; a number is always small enough). */
function keyValueBytes(value: AttributeValue | undefined): number {
  if (!value) return 0;
  if (typeof value.S === 'string') return bytes(value.S);
  if (typeof value.B === 'string') return base64Bytes(value.B);
  return 0;
}

function keySizeRefusal(item: Item, schema: KeySchema, keyOnly: boolean): string | undefined {
  const { partitionKeyBytes, sortKeyBytes } = AWS_LIMITS.dynamodb;
  if (keyValueBytes(item[schema.partitionKey]) > partitionKeyBytes) {
    return `One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of${partitionKeyBytes} bytes`;
  }
  if (schema.sortKey && keyValueBytes(item[schema.sortKey]) > sortKeyBytes) {
    return `One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of ${sortKeyBytes} bytes`;
  }
  if (keyOnly) return undefined;
  for (const index of schema.indexes) {
    if (keyValueBytes(item[index.partitionKey]) > partitionKeyBytes) {
      return `One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of${partitionKeyBytes} bytes (index key ${index.partitionKey} of ${index.name})`;
    }
    if (index.sortKey && keyValueBytes(item[index.sortKey]) > sortKeyBytes) {
      return `One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of ${sortKeyBytes} bytes (index key ${index.sortKey} of ${index.name})`;
    }
  }
  return undefined;
}

/** A DynamoDB number string: its significant digits and the decimal exponent of its leading digit. */
function numberShape(text: string): { digits: number; exponent: number } | undefined {
  const match = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) return undefined;
  const whole = match[1];
  const fraction = match[2] ?? '';
  const all = whole + fraction;
  const leadingZeros = all.length - all.replace(/^0+/, '').length;
  const significant = all.slice(leadingZeros).replace(/0+$/, '');
  if (significant === '') return { digits: 0, exponent: 0 };
  return { digits: significant.length, exponent: whole.length - leadingZeros - 1 + Number(match[3] ?? 0) };
}

function numberRefusal(text: string): string | undefined {
  const shape = numberShape(text);
  const { numberDigits, numberMaxExponent, numberMinExponent } = AWS_LIMITS.dynamodb;
  if (!shape) return `The parameter cannot be converted to a numeric value: ${text}`;
  if (shape.digits > numberDigits) return `Attempting to store more than ${numberDigits} significant digits in a Number`;
  if (shape.digits > 0 && shape.exponent > numberMaxExponent) return 'Number overflow. Attempting to store a number with magnitude larger than supported range';
  if (shape.digits > 0 && shape.exponent < numberMinExponent) return 'Number underflow. Attempting to store a number with magnitude smaller than supported range';
  return undefined;
}

/** Every number in an attribute value, nested ones included, must be one DynamoDB can store. */
function valueRefusal(value: AttributeValue): string | undefined {
  if (typeof value.N === 'string') return numberRefusal(value.N);
  if (Array.isArray(value.NS)) return value.NS.map((n) => numberRefusal(String(n))).find(Boolean);
  if (Array.isArray(value.L)) return (value.L as AttributeValue[]).map(valueRefusal).find(Boolean);
  if (value.M && typeof value.M === 'object') return Object.values(value.M as Item).map(valueRefusal).find(Boolean);
  return undefined;
}

/** DynamoDB's item size: attribute names plus values, in UTF-8 bytes (developerguide/CapacityUnitCalculations). */
export function dynamoItemBytes(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + bytes(name) + attributeBytes(value), 0);
}

function attributeBytes(value: AttributeValue): number {
  if (typeof value.S === 'string') return bytes(value.S);
  if (typeof value.N === 'string') return numberBytes(value.N);
  if (typeof value.B === 'string') return base64Bytes(value.B);
  if (typeof value.BOOL === 'boolean' || value.NULL !== undefined) return 1;
  if (Array.isArray(value.SS)) return (value.SS as string[]).reduce((sum, s) => sum + bytes(s), 0);
  if (Array.isArray(value.NS)) return (value.NS as string[]).reduce((sum, n) => sum + numberBytes(n), 0);
  if (Array.isArray(value.BS)) return (value.BS as string[]).reduce((sum, b) => sum + base64Bytes(b), 0);
  // A list or map: 3 bytes, plus 1 byte and the size of each element (a map's element names included).
  if (Array.isArray(value.L)) return 3 + (value.L as AttributeValue[]).reduce((sum, v) => sum + 1 + attributeBytes(v), 0);
  if (value.M && typeof value.M === 'object') {
    return 3 + Object.entries(value.M as Item).reduce((sum, [name, v]) => sum + 1 + bytes(name) + attributeBytes(v), 0);
  }
  return 0;
}

/** "Approximately 1 byte per two significant digits, plus 1 byte", and 1 more for a negative number. */
function numberBytes(text: string): number {
  const shape = numberShape(text);
  return 1 + Math.ceil((shape?.digits ?? 1) / 2) + (text.trim().startsWith('-') ? 1 : 0);
}

function itemRefusal(item: Item, schema: KeySchema | undefined): string | undefined {
  return (
    (schema && keySizeRefusal(item, schema, false)) ??
    Object.values(item).map(valueRefusal).find(Boolean) ??
    (dynamoItemBytes(item) > AWS_LIMITS.dynamodb.itemBytes ? 'Item size has exceeded the maximum allowed size' : undefined)
  );
}

const EXPRESSIONS = ['UpdateExpression', 'ConditionExpression', 'KeyConditionExpression', 'FilterExpression', 'ProjectionExpression'] as const;
const FUNCTIONS = /\b(?:attribute_exists|attribute_not_exists|attribute_type|begins_with|contains|size|if_not_exists|list_append)\s*\(/gi;
const LOGICAL = /\b(?:AND|OR|NOT|BETWEEN|IN)\b/gi;
const COMPARATORS = /<>|<=|>=|<|>|=/g;

/**
 * "Operators or functions" in one expression. An update expression's `=` assigns (it is syntax, not a
 * comparison), so there only functions and `+`/`-` count; elsewhere comparators and logical operators do too.
 */
export function expressionOperators(kind: (typeof EXPRESSIONS)[number], expression: string): number {
  const count = (pattern: RegExp) => (expression.match(pattern) ?? []).length;
  if (kind === 'UpdateExpression') return count(FUNCTIONS) + count(/[+-]/g);
  return count(FUNCTIONS) + count(LOGICAL) + count(COMPARATORS);
}

function expressionRefusal(input: Record<string, unknown>): string | undefined {
  const limits = AWS_LIMITS.dynamodb;
  for (const kind of EXPRESSIONS) {
    const expression = input[kind];
    if (typeof expression !== 'string') continue;
    const size = bytes(expression);
    if (size > limits.expressionBytes) return `Invalid ${kind}: Expression size has exceeded the maximum allowed size; expression size: ${size}`;
    const operators = expressionOperators(kind, expression);
    if (operators > limits.expressionOperators) {
      return `Invalid ${kind}: The expression has too many operators; the maximum is ${limits.expressionOperators}, this one has ${operators}`;
    }
    for (const list of expression.matchAll(/\bIN\s*\(([^)]*)\)/gi)) {
      if (list[1].split(',').length > limits.inOperands) return `Invalid ${kind}: The IN operator has more than ${limits.inOperands} operands`;
    }
  }
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Item;
  for (const placeholder of [...Object.keys(names), ...Object.keys(values)]) {
    if (bytes(placeholder) > limits.placeholderBytes) return `ExpressionAttribute placeholder exceeds ${limits.placeholderBytes} bytes: ${placeholder.slice(0, 40)}…`;
  }
  const substitutions =
    Object.entries(names).reduce((sum, [k, v]) => sum + bytes(k) + bytes(v), 0) +
    Object.entries(values).reduce((sum, [k, v]) => sum + bytes(k) + attributeBytes(v), 0);
  if (substitutions > limits.substitutionBytes) return 'Invalid expression: the substitution variables exceed 2 MB';
  return Object.values(values).map(valueRefusal).find(Boolean);
}

/** `SET #a = :v, b = :w` → the attributes the update sets to one value each, so index keys among them are sized. */
function assignedValues(input: Record<string, unknown>): Item {
  const expression = typeof input.UpdateExpression === 'string' ? input.UpdateExpression : '';
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Item;
  const set = /\bSET\b(.*?)(?=\b(?:ADD|REMOVE|DELETE)\b|$)/is.exec(expression)?.[1] ?? '';
  const assigned: Item = {};
  for (const [, path, value] of set.matchAll(/([#\w]+)\s*=\s*(:\w+)\s*(?:,|$)/g)) {
    const name = path.startsWith('#') ? names[path] : path;
    if (name && values[value]) assigned[name] = values[value];
  }
  return assigned;
}

function dynamoRefusal(call: AwsCall): string | undefined {
  const input = call.input as Record<string, unknown> & { TableName?: string; Key?: Item; Item?: Item };
  const schema = (table: string | undefined) => (table ? keySchema(call.endpoint, table) : undefined);
  const limits = AWS_LIMITS.dynamodb;
  switch (call.operation) {
    case 'CreateTable':
      learnSchema(call);
      return undefined;
    case 'PutItem':
      return itemRefusal(input.Item ?? {}, schema(input.TableName)) ?? expressionRefusal(input);
    case 'GetItem':
    case 'DeleteItem': {
      const s = schema(input.TableName);
      return (s && keySizeRefusal(input.Key ?? {}, s, true)) ?? expressionRefusal(input);
    }
    case 'UpdateItem': {
      const s = schema(input.TableName);
      return (s && keySizeRefusal({ ...assignedValues(input), ...input.Key }, s, false)) ?? expressionRefusal(input);
    }
    case 'Query':
    case 'Scan':
      return expressionRefusal(input);
    case 'BatchWriteItem': {
      const tables = Object.entries((input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>);
      const requests = tables.reduce((sum, [, list]) => sum + list.length, 0);
      if (requests > limits.batchWriteRequests) return 'Too many items requested for the BatchWriteItem call';
      for (const [table, list] of tables) {
        for (const request of list) {
          const refusal = request.PutRequest
            ? itemRefusal(request.PutRequest.Item, schema(table))
            : request.DeleteRequest && schema(table) && keySizeRefusal(request.DeleteRequest.Key, schema(table)!, true);
          if (refusal) return refusal;
        }
      }
      return undefined;
    }
    case 'BatchGetItem': {
      const tables = Object.entries((input.RequestItems ?? {}) as Record<string, { Keys: Item[] } & Record<string, unknown>>);
      const keys = tables.reduce((sum, [, request]) => sum + request.Keys.length, 0);
      if (keys > limits.batchGetKeys) return 'Too many items requested for the BatchGetItem call';
      for (const [table, request] of tables) {
        const s = schema(table);
        const refusal = (s && request.Keys.map((key) => keySizeRefusal(key, s, true)).find(Boolean)) ?? expressionRefusal(request);
        if (refusal) return refusal;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

// ----------------------------------------------------------------------------------------------- Other services

function kinesisRefusal(call: AwsCall): Refusal | undefined {
  const { recordBytes, requestBytes, requestRecords } = AWS_LIMITS.kinesis;
  const refuse = (code: string, message: string): Refusal => ({ service: 'kinesis', operation: call.operation, code, message });
  const records =
    call.operation === 'PutRecords'
      ? ((call.input.Records ?? []) as { Data?: string; PartitionKey?: string }[])
      : call.operation === 'PutRecord'
        ? [call.input as { Data?: string; PartitionKey?: string }]
        : undefined;
  if (!records) return undefined;
  if (records.length > requestRecords) {
    return refuse('ValidationException', `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to ${requestRecords}`);
  }
  let total = 0;
  for (const [i, record] of records.entries()) {
    const size = base64Bytes(record.Data ?? '') + bytes(record.PartitionKey ?? '');
    if (size > recordBytes) {
      return refuse('ValidationException', `1 validation error detected: Value at 'records.${i + 1}.member.data' failed to satisfy constraint: Member must have length less than or equal to ${recordBytes}`);
    }
    total += size;
  }
  if (total > requestBytes) return refuse('InvalidArgumentException', `Records size exceeds ${requestBytes / KiB / KiB} MB limit`);
  return undefined;
}

function sqsRefusal(call: AwsCall): Refusal | undefined {
  const { messageBytes, batchBytes, batchEntries } = AWS_LIMITS.sqs;
  const refuse = (code: string, message: string): Refusal => ({ service: 'sqs', operation: call.operation, code, message });
  const entries =
    call.operation === 'SendMessageBatch'
      ? ((call.input.Entries ?? []) as { MessageBody?: string }[])
      : call.operation === 'SendMessage'
        ? [call.input as { MessageBody?: string }]
        : undefined;
  if (!entries) return undefined;
  if (entries.length > batchEntries) return refuse('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${batchEntries}. You have sent ${entries.length}.`);
  const sizes = entries.map((entry) => bytes(entry.MessageBody ?? ''));
  if (sizes.some((size) => size > messageBytes)) {
    return refuse('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${messageBytes} bytes.`);
  }
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total > batchBytes) return refuse('BatchRequestTooLong', `Batch requests cannot be longer than ${batchBytes} bytes. You have sent ${total} bytes.`);
  return undefined;
}

function statesRefusal(call: AwsCall): Refusal | undefined {
  if (call.operation !== 'StartExecution' && call.operation !== 'StartSyncExecution') return undefined;
  const size = bytes(String(call.input.input ?? ''));
  if (size <= AWS_LIMITS.states.inputBytes) return undefined;
  return {
    service: 'states',
    operation: call.operation,
    code: 'ValidationException',
    message: `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${AWS_LIMITS.states.inputBytes}`,
  };
}

function s3Refusal(call: AwsCall): Refusal | undefined {
  const key = call.input.Key;
  if (typeof key !== 'string' || bytes(key) <= AWS_LIMITS.s3.keyBytes) return undefined;
  return { service: 's3', operation: call.operation, code: 'KeyTooLongError', message: 'Your key is too long' };
}

/** What AWS would answer to this call, if it refuses it; undefined when AWS would take it. */
export function checkAwsCall(call: AwsCall): Refusal | undefined {
  switch (call.service) {
    case 'dynamodb': {
      const message = dynamoRefusal(call);
      return message ? { service: 'dynamodb', operation: call.operation, code: 'ValidationException', message } : undefined;
    }
    case 'kinesis':
      return kinesisRefusal(call);
    case 'sqs':
      return sqsRefusal(call);
    case 'states':
      return statesRefusal(call);
    case 's3':
      return s3Refusal(call);
    default:
      return undefined;
  }
}

// --------------------------------------------------------------------------------------------- The HTTP answer

const JSON_CONTENT_TYPE: Partial<Record<AwsService, string>> = {
  dynamodb: 'application/x-amz-json-1.0',
  kinesis: 'application/x-amz-json-1.1',
  sqs: 'application/x-amz-json-1.0',
  states: 'application/x-amz-json-1.0',
};

/** The error answer AWS sends, in the service's protocol (S3: REST XML; the others: JSON with `__type`). */
export function refusalResponse(refusal: Refusal): HttpResponse {
  const requestId = `aws-limits-${Math.random().toString(36).slice(2)}`;
  if (refusal.service === 's3') {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message><RequestId>${requestId}</RequestId></Error>`;
    return { statusCode: 400, reason: 'Bad Request', headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId }, body: Readable.from([Buffer.from(xml)]) };
  }
  const type = refusal.service === 'dynamodb' ? `com.amazon.coral.validate#${refusal.code}` : refusal.service === 'sqs' ? `com.amazonaws.sqs#${refusal.code}` : refusal.code;
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE[refusal.service] ?? 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId };
  // SQS's JSON protocol also names the query-protocol error code, which the SDK prefers.
  if (refusal.service === 'sqs') headers['x-amzn-query-error'] = `${refusal.code};Sender`;
  return {
    statusCode: 400,
    reason: 'Bad Request',
    headers,
    body: Readable.from([Buffer.from(JSON.stringify({ __type: type, message: refusal.message }))]),
  };
}

// ------------------------------------------------------------------------------------------------ Installation

const refusals: Refusal[] = [];
/** Every refusal made in this test file, oldest first: a test can tell this check's refusal from the emulator's. */
export const awsLimitRefusals = (): readonly Refusal[] => [...refusals];

const INSTALLED = Symbol.for('lumiqo.aws-limits');
const isEmulator = (hostname: string) => hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '::1' || hostname === '[::1]';
const exempt = new Set<string>();
/** Lets requests to one local endpoint (`http://host:port`) through unchecked: only for tests of a fake's own rules. */
export function exemptFromAwsLimits(url: string): void {
  exempt.add(new URL(url).host);
}

/** Wraps NodeHttpHandler once; calling it again does nothing. */
export function installAwsLimits(): void {
  const prototype = NodeHttpHandler.prototype as NodeHttpHandler & { [INSTALLED]?: true };
  if (prototype[INSTALLED]) return;
  const handle = prototype.handle;
  prototype.handle = async function (this: NodeHttpHandler, ...args: Parameters<NodeHttpHandler['handle']>) {
    const request: HttpRequest = args[0];
    if (isEmulator(request.hostname) && !exempt.has(`${request.hostname}:${request.port}`)) {
      const call = decodeAwsRequest(request);
      const refusal = call && checkAwsCall(call);
      if (refusal) {
        refusals.push(refusal);
        return { response: refusalResponse(refusal) };
      }
    }
    return handle.apply(this, args);
  };
  prototype[INSTALLED] = true;
}
