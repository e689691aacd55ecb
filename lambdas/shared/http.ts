/**
 * API Gateway proxy plumbing shared by the HTTP handlers: raw body, headers, JSON answers, and the mapping of
 * every failure to `{ error: { code, message } }` with a stable code and no stack trace (issue 2).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { TENANT_ID_PATTERN } from '../domain/keys';
import { DomainError } from '../domain/model';
import { logger } from './logger';

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Header names lower-cased, as the signature schemes expect them. */
export function lowerCaseHeaders(event: Pick<APIGatewayProxyEvent, 'headers'>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) out[name.toLowerCase()] = value ?? undefined;
  return out;
}

/** The body exactly as sent: signatures are verified over these bytes, never over re-serialised JSON. */
export function rawBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): Buffer {
  if (event.body == null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** AWS throttling that outlived the SDK's retries: the caller may retry, nothing was half-done. */
const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
  'SlowDown',
]);

/** A JSON request body; empty is `{}`. Above `maxBytes` → body_too_large (413), unparsable → malformed_json (400). */
export function jsonBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>, maxBytes = Number.POSITIVE_INFINITY): unknown {
  const body = rawBody(event);
  if (body.byteLength > maxBytes) throw new DomainError('body_too_large', `The body exceeds ${maxBytes} bytes`, 413);
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError('malformed_json', 'The body is not valid JSON', 400);
  }
}

/** The IAM principal API Gateway verified (SigV4) on an operator route; the local runtime sets its own operator identity. */
export function operatorOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): string {
  const principal = event.requestContext?.identity?.userArn ?? event.requestContext?.identity?.caller;
  if (!principal) throw new DomainError('invalid_request', 'No verified operator identity on this request', 403);
  return `operator:${principal}`;
}

/**
 * Issue 10: the `{tenantId}` path parameter of an operator route, checked before any key is built from it (a
 * malformed id made the key builders throw, a 500). No tenant can have such an id: 404 not_found, as for an
 * unknown tenant. Absent → ''.
 */
export function tenantIdParam(event: Pick<APIGatewayProxyEvent, 'pathParameters'>): string {
  const tenantId = event.pathParameters?.tenantId;
  if (tenantId === undefined) return '';
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new DomainError('not_found', 'No such tenant (a tenant id is 2-63 of a-z, 0-9 and -)', 404);
  return tenantId;
}

export function errorResponse(error: unknown): APIGatewayProxyResult {
  if (error instanceof DomainError) {
    const body = { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
    return json(error.status, body);
  }
  const name = (error as { name?: string })?.name ?? 'Error';
  if (THROTTLING.has(name)) {
    logger.warn('throttled by AWS after retries', { errorName: name });
    return json(503, { error: { code: 'throttled', message: 'The service is busy; retry shortly' } }, { 'retry-after': '1' });
  }
  // R-SEC-7, issue 10: the error's name and code only. Messages echo request strings (ids, keys, values), so
  // they are never logged; the caller sees no internals.
  const code = (error as { code?: unknown })?.code;
  logger.error('unhandled error', { errorName: name, ...(typeof code === 'string' || typeof code === 'number' ? { errorCode: String(code) } : {}) });
  return json(500, { error: { code: 'internal_error', message: 'Internal error' } });
}

/** Wraps an HTTP handler so that no exception escapes as a Lambda error or a stack trace. */
export function httpHandler(
  fn: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    try {
      return await fn(event);
    } catch (error) {
      return errorResponse(error);
    }
  };
}
