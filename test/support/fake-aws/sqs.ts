/**
 * FakeSqs: Amazon SQS SendMessage and SendMessageBatch over the protocol @aws-sdk/client-sqs 3.11xx speaks:
 * AWS JSON 1.0 (`x-amz-target: AmazonSQS.SendMessageBatch`), with the queue named by `QueueUrl` in the body.
 * The client is query-compatible (`awsQueryCompatible: true`), so an error carries, as SQS sends it, both
 * `__type: com.amazonaws.sqs#<Shape>` and the legacy code in `x-amzn-query-error: <Code>;Sender`; the SDK
 * builds the modelled exception from either.
 *
 * Two facts of the SDK a test tier must know:
 * - It checks MD5OfMessageBody of every message sent, so the fake computes it (and MD5OfMessageAttributes).
 * - With no explicit `endpoint`, it sends to the QueueUrl's host (`useQueueUrlAsEndpoint`), even when
 *   AWS_ENDPOINT_URL_SQS is set. A function configured with an amazonaws.com queue URL reaches AWS, so give it
 *   `queueUrl(name)`, which is on this fake's host.
 *
 * Limits as SQS documents them now (the SDK's SendMessageBatch docs): 10 entries, distinct ids of at most 80
 * alphanumeric, `-` or `_` characters, and 1 MiB (1,048,576 bytes) for a message and for a whole batch (the
 * queue's MaximumMessageSize may be lower). A standard queue; FIFO is not implemented.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsError, jsonEndpoint, list, listen, optionalInteger, requiredString, type Call, type Listening } from './server';

export interface SqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
  readonly delaySeconds: number;
  readonly sentAt: Date;
}

interface MessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  /** base64, as on the wire */
  readonly BinaryValue?: string;
}

export interface FakeSqsOptions {
  readonly region?: string;
  readonly account?: string;
  /** Queues that exist from the start, by name. */
  readonly queues?: readonly string[];
}

const MAX_BATCH_BYTES = 1_048_576;

/** Legacy query error codes, by the JSON shape name: what the SDK's `awsQueryError` traits list. */
const QUERY_CODES: Readonly<Record<string, string>> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong',
};

export class FakeSqs {
  readonly calls: Call[] = [];
  readonly region: string;
  readonly account: string;
  private readonly queues = new Map<string, { readonly maximumMessageSize: number; readonly messages: SqsMessage[] }>();
  private server?: Listening;

  private constructor(options: FakeSqsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '000000000000';
    for (const name of options.queues ?? []) this.addQueue(name, {});
  }

  static async start(options: FakeSqsOptions = {}): Promise<FakeSqs> {
    const sqs = new FakeSqs(options);
    sqs.server = await listen(sqs.endpoint());
    return sqs;
  }

  get url(): string {
    if (!this.server) throw new Error('FakeSqs is not started');
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  /** `<fake url>/<account>/<name>`: a queue URL whose host is this fake. */
  queueUrl(name: string): string {
    return `${this.url}/${this.account}/${name}`;
  }

  /** Creates a queue (as its stack would) and returns its URL. MaximumMessageSize in bytes, default 1 MiB. */
  createQueue(name: string, options: { readonly maximumMessageSize?: number } = {}): string {
    this.addQueue(name, options);
    return this.queueUrl(name);
  }

  /** The messages a queue has received, oldest first. */
  messages(queueUrl: string): readonly SqsMessage[] {
    const queue = this.queues.get(pathOf(queueUrl));
    if (!queue) throw new Error(`FakeSqs has no queue ${queueUrl}`);
    return queue.messages;
  }

  private addQueue(name: string, options: { readonly maximumMessageSize?: number }): void {
    if (!/^[\w-]{1,80}$/.test(name)) throw new Error(`Invalid queue name '${name}' (FakeSqs has standard queues only)`);
    const maximumMessageSize = options.maximumMessageSize ?? MAX_BATCH_BYTES;
    if (maximumMessageSize < 1024 || maximumMessageSize > MAX_BATCH_BYTES) throw new Error(`MaximumMessageSize must be 1024-${MAX_BATCH_BYTES}`);
    if (!this.queues.has(`/${this.account}/${name}`)) this.queues.set(`/${this.account}/${name}`, { maximumMessageSize, messages: [] });
  }

  private endpoint() {
    return jsonEndpoint({
      signingName: 'sqs',
      region: this.region,
      target: 'AmazonSQS',
      jsonVersion: '1.0',
      record: (call) => this.calls.push(call),
      errorShape: (code) => ({ type: `com.amazonaws.sqs#${code}`, headers: { 'x-amzn-query-error': `${QUERY_CODES[code] ?? code};Sender` } }),
      operations: {
        SendMessage: (input) => {
          const queue = this.queueOf(input);
          const entry = entryOf(input, queue.maximumMessageSize);
          if ('failure' in entry) throw new AwsError(entry.failure.Code, entry.failure.Message);
          return this.enqueue(queue.messages, entry);
        },
        SendMessageBatch: (input) => this.sendMessageBatch(input),
      },
    });
  }

  private sendMessageBatch(input: Record<string, unknown>) {
    const queue = this.queueOf(input);
    const entries = list(input, 'Entries') as Record<string, unknown>[];
    // The checks on the request as a whole refuse all of it; a bad message fails only its own entry.
    if (entries.length === 0) throw new AwsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
    if (entries.length > 10) throw new AwsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
    const ids = new Set<string>();
    for (const entry of entries) {
      const id = entry.Id;
      if (typeof id !== 'string' || !/^[\w-]{1,80}$/.test(id)) {
        throw new AwsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
      }
      if (ids.has(id)) throw new AwsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
      ids.add(id);
    }
    const total = entries.reduce((sum, entry) => sum + payloadBytes(entry), 0);
    if (total > MAX_BATCH_BYTES) throw new AwsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`);
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const raw of entries) {
      const entry = entryOf(raw, queue.maximumMessageSize);
      if ('failure' in entry) Failed.push({ Id: raw.Id, SenderFault: true, ...entry.failure });
      else Successful.push({ Id: raw.Id, ...this.enqueue(queue.messages, entry) });
    }
    return { Successful, Failed };
  }

  private queueOf(input: Record<string, unknown>) {
    const queueUrl = requiredString(input, 'QueueUrl', { code: 'MissingParameter' });
    const queue = this.queues.get(pathOf(queueUrl));
    if (!queue) throw new AwsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  private enqueue(messages: SqsMessage[], entry: ValidEntry) {
    const message: SqsMessage = { messageId: randomUUID(), body: entry.body, attributes: entry.attributes, delaySeconds: entry.delaySeconds, sentAt: new Date() };
    messages.push(message);
    const attributesMd5 = Object.keys(entry.attributes).length ? md5OfAttributes(entry.attributes) : undefined;
    return { MessageId: message.messageId, MD5OfMessageBody: md5(Buffer.from(entry.body, 'utf8')), ...(attributesMd5 ? { MD5OfMessageAttributes: attributesMd5 } : {}) };
  }
}

interface ValidEntry {
  readonly body: string;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
  readonly delaySeconds: number;
}

/** Characters SQS accepts in a body: #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF (no lone surrogates). */
const VALID_BODY = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

function entryOf(input: Record<string, unknown>, maximumMessageSize: number): ValidEntry | { failure: { Code: string; Message: string } } {
  const body = input.MessageBody;
  if (typeof body !== 'string' || body.length === 0) return { failure: { Code: 'MissingParameter', Message: 'The request must contain the parameter MessageBody.' } };
  if (!VALID_BODY.test(body)) return { failure: { Code: 'InvalidMessageContents', Message: 'Invalid binary character in the message body.' } };
  const size = payloadBytes(input);
  if (size > maximumMessageSize) {
    return { failure: { Code: 'InvalidParameterValue', Message: `One or more parameters are invalid. Reason: Message must be shorter than ${maximumMessageSize} bytes.` } };
  }
  let delaySeconds: number;
  try {
    delaySeconds = optionalInteger(input, 'DelaySeconds', { min: 0, max: 900, code: 'InvalidParameterValue' }) ?? 0;
  } catch (error) {
    return { failure: { Code: 'InvalidParameterValue', Message: (error as Error).message } };
  }
  const attributes = (input.MessageAttributes ?? {}) as Record<string, MessageAttribute>;
  if (Object.keys(attributes).length > 10) {
    return { failure: { Code: 'InvalidParameterValue', Message: `Number of message attributes [${Object.keys(attributes).length}] exceeds the allowed maximum [10].` } };
  }
  for (const [name, value] of Object.entries(attributes)) {
    const kind = /^(String|Number|Binary)(\..+)?$/.exec(value?.DataType ?? '')?.[1];
    const present = kind === 'Binary' ? value.BinaryValue : value?.StringValue;
    if (!kind || !present) return { failure: { Code: 'InvalidParameterValue', Message: `Message attribute '${name}' must have a valid DataType and a ${kind ?? 'String'}Value.` } };
  }
  return { body, attributes, delaySeconds };
}

/** What counts toward the size limits: the body and every attribute's name, type and value, in bytes. */
function payloadBytes(entry: Record<string, unknown>): number {
  const body = typeof entry.MessageBody === 'string' ? Buffer.byteLength(entry.MessageBody, 'utf8') : 0;
  const attributes = Object.entries((entry.MessageAttributes ?? {}) as Record<string, MessageAttribute>);
  return attributes.reduce((sum, [name, a]) => sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType ?? '') + attributeValue(a).length, body);
}

const attributeValue = (a: MessageAttribute) => (a.BinaryValue !== undefined ? Buffer.from(a.BinaryValue, 'base64') : Buffer.from(a.StringValue ?? '', 'utf8'));

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/** SQS's MD5OfMessageAttributes: per attribute in name order, length-prefixed name, type, transport byte, value. */
function md5OfAttributes(attributes: Readonly<Record<string, MessageAttribute>>): string {
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const parts = Object.keys(attributes)
    .sort()
    .flatMap((name) => {
      const a = attributes[name];
      const transport = Buffer.from([a.DataType.startsWith('Binary') ? 2 : 1]);
      return [lengthPrefixed(Buffer.from(name, 'utf8')), lengthPrefixed(Buffer.from(a.DataType, 'utf8')), transport, lengthPrefixed(attributeValue(a))];
    });
  return md5(Buffer.concat(parts));
}

/** A queue is known by its path, `/<account>/<name>`, whatever host the URL names. */
function pathOf(queueUrl: string): string {
  try {
    return new URL(queueUrl, 'http://queue').pathname;
  } catch {
    return queueUrl;
  }
}
