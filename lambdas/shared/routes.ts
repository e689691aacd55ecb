/**
 * The one route table. The ingestion API construct creates these API Gateway resources from it and the
 * local runtime serves the same table, so both expose the same API.
 */
import type { ApiKeyScope } from '../domain/model';
import { DomainError } from '../domain/model';

export type FunctionName = 'ingest' | 'query' | 'admin' | 'privacy' | 'billing' | 'ai';
export type RouteAuth = 'api-key' | 'signature' | 'iam';

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway path syntax: `{param}` segments. */
  readonly path: string;
  readonly fn: FunctionName;
  /**
   * api-key: the function verifies `Authorization: Bearer <key>`;
   * signature: the function verifies the webhook scheme's signature;
   * iam: API Gateway requires SigV4 (operators), the local runtime requires the local admin token.
   */
  readonly auth: RouteAuth;
  /** R-SEC-5: the scope an API key needs on this route; every api-key route has one (test/handler/scopes.test.ts). */
  readonly scope?: ApiKeyScope;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/v1/events', fn: 'ingest', auth: 'api-key', scope: 'ingest' },
  { method: 'POST', path: '/v1/hooks/{tenantId}/{sourceId}', fn: 'ingest', auth: 'signature' },
  { method: 'GET', path: '/v1/events', fn: 'query', auth: 'api-key', scope: 'read' },
  { method: 'GET', path: '/v1/events/{eventId}', fn: 'query', auth: 'api-key', scope: 'read' },
  { method: 'GET', path: '/v1/rollups', fn: 'query', auth: 'api-key', scope: 'read' },
  { method: 'POST', path: '/v1/admin/tenants', fn: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}', fn: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/api-keys', fn: 'admin', auth: 'iam' },
  { method: 'DELETE', path: '/v1/admin/tenants/{tenantId}/api-keys/{keyId}', fn: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/webhook-sources', fn: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/webhook-sources/{sourceId}/rotate', fn: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/audit', fn: 'admin', auth: 'iam' },
  // R-SEC-6: one subject's audit trail, by its hash or an identifier in the body.
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/audit/subject', fn: 'admin', auth: 'iam' },
  // Data-subject requests (R-DSR-1..5): by the tenant's API key, or by an operator for any tenant.
  { method: 'POST', path: '/v1/privacy/requests', fn: 'privacy', auth: 'api-key', scope: 'privacy' },
  { method: 'GET', path: '/v1/privacy/requests/{requestId}', fn: 'privacy', auth: 'api-key', scope: 'privacy' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/privacy/requests', fn: 'privacy', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/privacy/requests/{requestId}', fn: 'privacy', auth: 'iam' },
  // R-DSR-5: an operator retries or closes a failed request (audited).
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/privacy/requests/{requestId}/retry', fn: 'privacy', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/privacy/requests/{requestId}/close', fn: 'privacy', auth: 'iam' },
  // Consent and objection (R-DSR-4): the tenant-wide flags and the subjects' flags by hash; a subject's own change is a `consent` request.
  { method: 'GET', path: '/v1/privacy/consent', fn: 'privacy', auth: 'api-key', scope: 'privacy' },
  { method: 'POST', path: '/v1/privacy/consent', fn: 'privacy', auth: 'api-key', scope: 'privacy' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/privacy/consent', fn: 'privacy', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/privacy/consent', fn: 'privacy', auth: 'iam' },
  // Tenant termination (R-TERM-1..5): operators only; the status carries the export links and the certificate.
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/termination', fn: 'privacy', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/termination', fn: 'privacy', auth: 'iam' },
  // R-TERM-1..5: resume a failed or lost termination from its checkpoint, or start it over before the purge.
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/termination/resume', fn: 'privacy', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/termination/reset', fn: 'privacy', auth: 'iam' },
  // R-BILL-1, R-BILL-3: Stripe's webhook, verified by its Stripe-Signature before any effect.
  { method: 'POST', path: '/v1/billing/stripe/webhook', fn: 'billing', auth: 'signature' },
  // R-AI-1..6 (issue 13): the AI assistant over the tenant's own data, with a key of the `ai` scope.
  { method: 'POST', path: '/v1/ai/conversations', fn: 'ai', auth: 'api-key', scope: 'ai' },
  { method: 'GET', path: '/v1/ai/conversations', fn: 'ai', auth: 'api-key', scope: 'ai' },
  { method: 'GET', path: '/v1/ai/conversations/{conversationId}', fn: 'ai', auth: 'api-key', scope: 'ai' },
  { method: 'POST', path: '/v1/ai/conversations/{conversationId}/messages', fn: 'ai', auth: 'api-key', scope: 'ai' },
  { method: 'POST', path: '/v1/ai/conversations/{conversationId}/messages/{messageId}/feedback', fn: 'ai', auth: 'api-key', scope: 'ai' },
  { method: 'GET', path: '/v1/ai/insights', fn: 'ai', auth: 'api-key', scope: 'ai' },
  // The same for an operator, on any tenant (R-SEC-5: IAM), audited as the operator.
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/ai/conversations', fn: 'ai', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/ai/conversations', fn: 'ai', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/ai/conversations/{conversationId}', fn: 'ai', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/ai/conversations/{conversationId}/messages', fn: 'ai', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/tenants/{tenantId}/ai/insights', fn: 'ai', auth: 'iam' },
];

/**
 * R-SEC-5: the scope an API key needs for `method resource` (API Gateway's resource template). A route of an API
 * key without a scope is a programming error: it throws, and the caller answers 500 rather than letting any key in.
 */
export function scopeOfRoute(method: string, resource: string): ApiKeyScope {
  const route = ROUTES.find((r) => r.method === method && r.path === resource && r.auth === 'api-key');
  if (!route) throw new DomainError('not_found', 'No such route', 404);
  if (!route.scope) throw new Error(`Route ${method} ${resource} has no API key scope`);
  return route.scope;
}

/**
 * Matches a concrete path against a route template; returns the path parameters or undefined. Issue 10: a
 * parameter with malformed percent-encoding (`%ZZ`, a cut UTF-8 sequence) is the client's error: 400
 * invalid_request, not an exception.
 */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  const segments = path.split('/').filter(Boolean);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const template = route.path.split('/').filter(Boolean);
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = template.every((part, i) => {
      if (part.startsWith('{') && part.endsWith('}')) {
        params[part.slice(1, -1)] = decodePathSegment(segments[i]);
        return true;
      }
      return part === segments[i];
    });
    if (ok) return { route, params };
  }
  return undefined;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new DomainError('invalid_request', 'The path has malformed percent-encoding', 400);
  }
}
