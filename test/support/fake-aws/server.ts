/**
 * The HTTP side the fakes share: one node:http server on 127.0.0.1 with a free port, the SigV4 credential scope
 * check every AWS endpoint makes before it looks at a request, the AWS JSON protocol (awsJson1_0 / awsJson1_1) as
 * SDK v3 speaks it, and the field checks that turn a bad input into the ValidationException AWS would send.
 *
 * JSON protocol, as @aws-sdk/core's AwsJsonRpcProtocol writes and reads it: POST /, `content-type:
 * application/x-amz-json-1.x`, `x-amz-target: <ServiceTarget>.<Operation>`, the input as a JSON object (blobs
 * base64, timestamps epoch seconds). An error is any status >= 300 with `{"__type": "<Code>", "message": "..."}`;
 * the SDK takes the code from `__type` (after any `namespace#`) and builds the modelled exception of that name.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the way AWS reports it: a code the SDK maps to an exception class, a message, an HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** Who signed a request: the access key id of its SigV4 credential and the session token, if any. */
export interface Caller {
  readonly accessKeyId: string;
  readonly sessionToken?: string;
}

/** One request as a fake received it: the operation, its input as sent on the wire, and who signed it. */
export interface Call {
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly caller: Caller;
}

export interface WireRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface WireReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface Listening {
  /** `http://127.0.0.1:<port>`: the `endpoint` for an SDK client. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `handle` on 127.0.0.1 at a free port. An exception escaping `handle` is a 500, as a crash would be. */
export async function listen(handle: (request: WireRequest) => Promise<WireReply>): Promise<Listening> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle({ method: req.method ?? 'GET', headers: req.headers, body: Buffer.concat(chunks) })
        .catch((error: unknown): WireReply => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: String(error) }))
        .then((reply) => res.writeHead(reply.status, { 'x-amzn-requestid': randomUUID(), ...reply.headers }).end(reply.body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // The SDK keeps connections alive; without this, close() would wait for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * The credential scope of a SigV4 `Authorization` header. AWS refuses an unsigned request, and one signed for
 * another region or service, before anything else: a client built with the wrong region fails here as it would
 * in AWS. The signature itself is not verified (the fakes do not know the secret keys).
 */
export function callerOf(headers: IncomingHttpHeaders, service: string, region: string): Caller | Refusal {
  const auth = headers.authorization;
  const scope = auth?.match(/^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/);
  if (!scope) return { refused: 'unsigned', message: auth ? 'Authorization header is not a SigV4 signature.' : 'Missing Authentication Token' };
  const [, accessKeyId, scopeRegion, scopeService] = scope;
  if (scopeRegion !== region) return { refused: 'scope', message: `Credential should be scoped to a valid region, not '${scopeRegion}'.` };
  if (scopeService !== service) return { refused: 'scope', message: `Credential should be scoped to correct service: '${service}'.` };
  const token = headers['x-amz-security-token'];
  return typeof token === 'string' ? { accessKeyId, sessionToken: token } : { accessKeyId };
}

export interface Refusal {
  readonly refused: 'unsigned' | 'scope';
  readonly message: string;
}

export type Operation = (input: Record<string, unknown>, caller: Caller) => unknown;

export interface JsonService {
  /** SigV4 signing name: `kms`, `sqs`, `states`. */
  readonly signingName: string;
  readonly region: string;
  /** The `x-amz-target` prefix: `TrentService`, `AmazonSQS`, `AWSStepFunctions`. */
  readonly target: string;
  readonly jsonVersion: '1.0' | '1.1';
  readonly operations: Readonly<Record<string, Operation>>;
  /** Every request, known operation or not, before it runs. */
  readonly record: (call: Call) => void;
  /** The wire form of an error: `__type` as the service spells it, plus any headers (SQS's query-compat code). */
  readonly errorShape?: (code: string) => { readonly type: string; readonly headers?: Record<string, string> };
}

/** An awsJson1_0 / awsJson1_1 endpoint over `service.operations`. */
export function jsonEndpoint(service: JsonService): (request: WireRequest) => Promise<WireReply> {
  const contentType = `application/x-amz-json-${service.jsonVersion}`;
  const reply = (status: number, body: unknown, headers: Record<string, string> = {}): WireReply => ({
    status,
    headers: { 'content-type': contentType, ...headers },
    body: JSON.stringify(body),
  });
  const fail = (error: AwsError) => {
    const shape = service.errorShape?.(error.code) ?? { type: error.code };
    // AWS names the error in `x-amzn-ErrorType` too, so a reader of the response need not consume its body.
    return reply(error.status, { __type: shape.type, message: error.message }, { 'x-amzn-errortype': `${error.code}:`, ...shape.headers });
  };
  return async ({ method, headers, body }) => {
    const target = headers['x-amz-target'];
    const operation = typeof target === 'string' && target.startsWith(`${service.target}.`) ? target.slice(service.target.length + 1) : undefined;
    if (method !== 'POST' || !operation) return fail(new AwsError('UnknownOperationException', `Unknown operation ${String(target)}`));
    const caller = callerOf(headers, service.signingName, service.region);
    if ('refused' in caller) {
      return fail(caller.refused === 'unsigned' ? new AwsError('MissingAuthenticationTokenException', caller.message, 403) : new AwsError('InvalidSignatureException', caller.message));
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return fail(new AwsError('SerializationException', 'The request body is not a JSON object.'));
    }
    service.record({ operation, input, caller });
    const run = service.operations[operation];
    if (!run) return fail(new AwsError('UnknownOperationException', `The fake does not implement ${operation}.`));
    try {
      return reply(200, (await run(input, caller)) ?? {});
    } catch (error) {
      if (error instanceof AwsError) return fail(error);
      throw error;
    }
  };
}

/* Field checks. AWS reports a constraint violation as `1 validation error detected: Value '...' at '<member>'
   failed to satisfy constraint: ...`, with the member name in lower camel case. */

const memberName = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

export function validation(name: string, value: unknown, constraint: string, code = 'ValidationException'): AwsError {
  const shown = value === undefined ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return new AwsError(code, `1 validation error detected: Value ${shown} at '${memberName(name)}' failed to satisfy constraint: ${constraint}`);
}

interface Limits {
  readonly min?: number;
  readonly max?: number;
  /** The error code for a violation; ValidationException unless the service says otherwise. */
  readonly code?: string;
}

export function optionalString(input: Record<string, unknown>, name: string, limits: Limits = {}): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('SerializationException', `${name} must be a string`);
  if (limits.min !== undefined && value.length < limits.min) throw validation(name, value, `Member must have length greater than or equal to ${limits.min}`, limits.code);
  if (limits.max !== undefined && value.length > limits.max) throw validation(name, value, `Member must have length less than or equal to ${limits.max}`, limits.code);
  return value;
}

export function requiredString(input: Record<string, unknown>, name: string, limits: Limits = {}): string {
  const value = optionalString(input, name, limits);
  if (value === undefined) throw validation(name, undefined, 'Member must not be null', limits.code);
  return value;
}

export function optionalInteger(input: Record<string, unknown>, name: string, limits: Limits = {}): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new AwsError('SerializationException', `${name} must be an integer`);
  if (limits.min !== undefined && value < limits.min) throw validation(name, value, `Member must have value greater than or equal to ${limits.min}`, limits.code);
  if (limits.max !== undefined && value > limits.max) throw validation(name, value, `Member must have value less than or equal to ${limits.max}`, limits.code);
  return value;
}

/** A blob member: base64 on the wire. */
export function optionalBlob(input: Record<string, unknown>, name: string, limits: Limits = {}): Buffer | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('SerializationException', `${name} must be base64 text`);
  const bytes = Buffer.from(value, 'base64');
  if (limits.min !== undefined && bytes.length < limits.min) throw validation(name, '[blob]', `Member must have length greater than or equal to ${limits.min}`, limits.code);
  if (limits.max !== undefined && bytes.length > limits.max) throw validation(name, '[blob]', `Member must have length less than or equal to ${limits.max}`, limits.code);
  return bytes;
}

export function requiredBlob(input: Record<string, unknown>, name: string, limits: Limits = {}): Buffer {
  const value = optionalBlob(input, name, limits);
  if (value === undefined) throw validation(name, undefined, 'Member must not be null', limits.code);
  return value;
}

/** A string-to-string map member (an encryption context): every value must be a string. */
export function stringMap(input: Record<string, unknown>, name: string): Readonly<Record<string, string>> {
  const value = input[name] ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new AwsError('SerializationException', `${name} must be a map of strings`);
  }
  return value as Record<string, string>;
}

export function list(input: Record<string, unknown>, name: string): readonly unknown[] {
  const value = input[name] ?? [];
  if (!Array.isArray(value)) throw new AwsError('SerializationException', `${name} must be a list`);
  return value;
}

/** A timestamp member in the JSON protocols: epoch seconds, fractions allowed. */
export const epochSeconds = (date: Date) => date.getTime() / 1000;
