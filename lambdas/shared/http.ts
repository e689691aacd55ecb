/**
 * API Gateway proxy plumbing shared by the HTTP handlers: raw body, headers, JSON answers, and the mapping of
 * every failure to `{ error: { code, message } }` with a stable code and no stack trace (issue 2).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
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
  // R-SEC-7: the error's name and message only, no request data; the caller sees no internals.
  logger.error('unhandled error', { errorName: name, errorMessage: (error as Error)?.message });
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
