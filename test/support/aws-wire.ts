/**
 * Decodes an AWS SDK v3 HTTP request (what `NodeHttpHandler.handle` receives, after signing) into the call it
 * makes: `{ service, operation, input }`. For test support that needs to see every AWS call as AWS would: the
 * limit checks of aws-limits.ts, and a recorder of calls for IAM simulation.
 *
 *   import { decodeAwsRequest } from '../support/aws-wire';
 *   const call = decodeAwsRequest(request);   // undefined: not an AWS API request this module knows
 *   if (call) console.log(`${call.service}:${call.operation}`, call.input);
 *
 * Protocols covered, with what `input` holds:
 * - JSON 1.0 / 1.1 (DynamoDB, Kinesis, KMS, Step Functions, SQS): the parsed request body, as on the wire.
 *   DynamoDB values stay in the wire format (`{ S: 'x' }`, `{ N: '1.5' }`); Kinesis and KMS blobs stay base64.
 * - AWS query (STS): the form parameters, `{ Action, Version, RoleArn, ... }`, nested lists flattened as sent
 *   (`Tags.member.1.Key`).
 * - S3 REST: `{ Bucket, Key?, ...query, ContentLength? }` from the path (path-style or virtual-hosted) and the
 *   query string; the body is never read (it may be a stream) and is not in `input`.
 *
 * `service` is the SigV4 signing name, which is also the IAM action prefix (`dynamodb`, `kinesis`, `kms`,
 * `states`, `sqs`, `s3`, `sts`), so `${service}:${operation}` names the IAM action for every service here except
 * S3, whose IAM actions differ from its operation names (ListObjectsV2 is `s3:ListBucket`, HeadObject is
 * `s3:GetObject`...): map those yourself.
 */
import type { HttpRequest } from '@smithy/types';

export type AwsService = 'dynamodb' | 'kinesis' | 'kms' | 'states' | 'sqs' | 's3' | 'sts' | 'secretsmanager';

export interface AwsCall {
  /** The SigV4 signing name, also the IAM action prefix. */
  readonly service: AwsService;
  /** The API operation, e.g. `PutItem`, `PutRecords`, `GenerateDataKey`, `StartExecution`, `PutObject`. */
  readonly operation: string;
  /** The request's parameters, as described in the module comment. */
  readonly input: Record<string, unknown>;
  /** From the SigV4 credential scope, when the request is signed. */
  readonly region?: string;
  readonly accessKeyId?: string;
  /** `host:port` the request goes to. */
  readonly endpoint: string;
  /** The body as sent, when it is bytes or a string (not a stream); its length is what AWS measures. */
  readonly body?: Uint8Array;
}

/** `x-amz-target` prefixes of the JSON protocols. */
const TARGET_SERVICES: Readonly<Record<string, AwsService>> = {
  DynamoDB_20120810: 'dynamodb',
  Kinesis_20131202: 'kinesis',
  TrentService: 'kms',
  AWSStepFunctions: 'states',
  AmazonSQS: 'sqs',
  secretsmanager: 'secretsmanager',
};

/** The request body as bytes, when it is in memory (a string, a Buffer or any typed array). */
export function bodyBytes(request: Pick<HttpRequest, 'body'>): Uint8Array | undefined {
  const body: unknown = request.body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20260301/us-east-1/dynamodb/aws4_request, ...` → its parts. */
function credentialScope(headers: HttpRequest['headers']): { accessKeyId: string; region: string; service: string } | undefined {
  const authorization = headerValue(headers, 'authorization');
  const match = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return match ? { accessKeyId: match[1], region: match[2], service: match[3] } : undefined;
}

function headerValue(headers: HttpRequest['headers'], name: string): string | undefined {
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return found?.[1];
}

function parseJson(body: Uint8Array | undefined): Record<string, unknown> {
  if (!body || body.byteLength === 0) return {};
  const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

/** Decodes a request made by an AWS SDK v3 client; undefined for anything else (a plain HTTP call, an unknown API). */
export function decodeAwsRequest(request: HttpRequest): AwsCall | undefined {
  const body = bodyBytes(request);
  const scope = credentialScope(request.headers);
  const endpoint = `${request.hostname}${request.port ? `:${request.port}` : ''}`;
  const signed = { endpoint, ...(scope ? { region: scope.region, accessKeyId: scope.accessKeyId } : {}), ...(body ? { body } : {}) };

  const target = headerValue(request.headers, 'x-amz-target');
  if (target) {
    const [prefix, operation] = target.split('.');
    const service = TARGET_SERVICES[prefix];
    if (!service || !operation) return undefined;
    return { service, operation, input: parseJson(body), ...signed };
  }
  if (scope?.service === 'sts') return decodeQuery('sts', body, signed);
  if (scope?.service === 's3') return decodeS3(request, signed);
  return undefined;
}

function decodeQuery(service: AwsService, body: Uint8Array | undefined, signed: Omit<AwsCall, 'service' | 'operation' | 'input'>): AwsCall | undefined {
  const params = Object.fromEntries(new URLSearchParams(body ? Buffer.from(body).toString('utf8') : ''));
  if (!params.Action) return undefined;
  return { service, operation: params.Action, input: params, ...signed };
}

/**
 * S3 REST: the operation follows from the method, whether there is a key, and the sub-resource in the query.
 * The SDK names most object operations itself in `x-id`; the rest are told apart here.
 */
function decodeS3(request: HttpRequest, signed: Omit<AwsCall, 'service' | 'operation' | 'input'>): AwsCall {
  const query = Object.fromEntries(Object.entries(request.query ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
  const segments = request.path.split('/').slice(1);
  // Virtual-hosted style names the bucket in the host (`bucket.s3.eu-west-1.amazonaws.com`).
  const hostBucket = /^(.+)\.s3[.-]/.exec(request.hostname)?.[1];
  const bucket = hostBucket ?? decodeURIComponent(segments.shift() ?? '');
  const key = segments.length > 0 && segments.join('/') !== '' ? decodeURIComponent(segments.join('/')) : undefined;
  const contentLength = headerValue(request.headers, 'content-length');
  const input: Record<string, unknown> = {
    Bucket: bucket,
    ...(key === undefined ? {} : { Key: key }),
    ...query,
    ...(contentLength === undefined ? {} : { ContentLength: Number(contentLength) }),
  };
  return { service: 's3', operation: s3Operation(request.method, key !== undefined, query, request.headers), input, ...signed };
}

function s3Operation(method: string, hasKey: boolean, query: Record<string, string>, headers: HttpRequest['headers']): string {
  if (query['x-id']) return query['x-id'];
  const has = (name: string) => Object.hasOwn(query, name);
  if (hasKey) {
    if (method === 'POST' && has('uploads')) return 'CreateMultipartUpload';
    if (method === 'POST' && has('uploadId')) return 'CompleteMultipartUpload';
    if (method === 'PUT' && has('partNumber')) return 'UploadPart';
    if (method === 'DELETE' && has('uploadId')) return 'AbortMultipartUpload';
    if (method === 'PUT' && headerValue(headers, 'x-amz-copy-source')) return 'CopyObject';
    return { GET: 'GetObject', PUT: 'PutObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[method] ?? `${method}Object`;
  }
  if (method === 'POST' && has('delete')) return 'DeleteObjects';
  if (method === 'GET' && has('versions')) return 'ListObjectVersions';
  if (method === 'GET' && query['list-type'] === '2') return 'ListObjectsV2';
  return { GET: 'ListObjects', PUT: 'CreateBucket', HEAD: 'HeadBucket', DELETE: 'DeleteBucket' }[method] ?? `${method}Bucket`;
}
