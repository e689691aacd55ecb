/**
 * The AWS service limits the platform's data has to fit (R-ING-7): input beyond them is refused at ingest with a
 * 4xx, or split, or sent elsewhere (S3), never handed to a service that refuses it with a ValidationException the
 * processor would retry until the record is lost. DynamoDB measures in UTF-8 bytes (`utf8Bytes`), never characters.
 * Sources: DynamoDB developer guide "Constraints" and "Service quotas"; Kinesis PutRecords API reference; SQS
 * developer guide "Quotas"; Step Functions "Quotas".
 */

const KiB = 1024;
const MiB = 1024 * KiB;

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

export const DYNAMODB_LIMITS = {
  /** A partition key value, table or GSI. */
  partitionKeyBytes: 2048,
  /** A sort key value, table or GSI. */
  sortKeyBytes: 1024,
  /** An item: attribute names plus values. */
  itemBytes: 400 * KiB,
  /** Any expression string (update, condition, key condition, filter, projection). */
  expressionBytes: 4 * KiB,
  /** Operators or functions in one expression. */
  expressionOperators: 300,
  /** Numbers: significant digits and the range of magnitudes (1E-130 up to, not including, 1E126). */
  numberDigits: 38,
  numberMinMagnitude: 1e-130,
  numberMaxMagnitude: 1e126,
  batchWriteRequests: 25,
  batchGetKeys: 100,
} as const;

export const KINESIS_LIMITS = {
  /** One record: its data plus its partition key. */
  recordBytes: MiB,
  /** One PutRecords request, partition keys included. */
  requestBytes: 5 * MiB,
  requestRecords: 500,
} as const;

export const SQS_LIMITS = {
  /**
   * One message, and all messages of one SendMessageBatch together. SQS now allows up to 1 MiB per queue; 256 KiB
   * is what any queue takes, whatever its MaximumMessageSize.
   */
  messageBytes: 256 * KiB,
  batchBytes: 256 * KiB,
  batchEntries: 10,
} as const;

export const STEP_FUNCTIONS_LIMITS = {
  /** Execution input, and any state's input or output. */
  payloadBytes: 256 * KiB,
} as const;
