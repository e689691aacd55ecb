/**
 * Admin function: tenant administration behind IAM-authorised routes (operators), also driven by the operator
 * CLI. Every action is audited (R-SEC-6) with the caller's IAM identity as the actor.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Administration, type AdministrationDeps } from '../domain/administration';
import { DomainError } from '../domain/model';
import { SubjectAudit } from '../domain/subject-audit';
import { httpHandler, json, jsonBody, operatorOf, tenantIdParam } from '../shared/http';
import { lambdaEntry } from '../shared/composition';
import { composeAdmin } from './composition';

export type AdminDeps = AdministrationDeps;

export function createAdminHandler(deps: AdminDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const admin = new Administration(deps);
  const subjectAudit = new SubjectAudit(deps);
  return httpHandler(async (event) => {
    const actor = operatorOf(event);
    const tenantId = tenantIdParam(event);
    const { keyId = '', sourceId = '' } = event.pathParameters ?? {};
    const route = `${event.httpMethod} ${event.resource}`;
    switch (route) {
      case 'POST /v1/admin/tenants':
        return json(201, await admin.createTenant(actor, jsonBody(event)));
      case 'GET /v1/admin/tenants/{tenantId}':
        return json(200, await admin.getTenant(tenantId));
      case 'POST /v1/admin/tenants/{tenantId}/api-keys':
        return json(201, await admin.issueApiKey(actor, tenantId, jsonBody(event)));
      case 'DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}':
        await admin.revokeApiKey(actor, tenantId, keyId);
        return json(200, { revoked: keyId });
      case 'POST /v1/admin/tenants/{tenantId}/webhook-sources':
        return json(201, await admin.createWebhookSource(actor, tenantId, jsonBody(event)));
      case 'POST /v1/admin/tenants/{tenantId}/webhook-sources/{sourceId}/rotate':
        return json(200, await admin.rotateWebhookSource(actor, tenantId, sourceId, jsonBody(event)));
      case 'GET /v1/admin/tenants/{tenantId}/audit': {
        const month = event.queryStringParameters?.month ?? deps.clock.now().toISOString().slice(0, 7);
        return json(200, { items: await admin.auditEntries(tenantId, month) });
      }
      // R-SEC-6: everything done to or about one subject (its hash, or an identifier in the body, never the URL).
      case 'POST /v1/admin/tenants/{tenantId}/audit/subject':
        return json(200, await subjectAudit.entries(actor, tenantId, jsonBody(event)));
      default:
        throw new DomainError('not_found', 'No such route', 404);
    }
  });
}

export const handler = lambdaEntry<APIGatewayProxyEvent, APIGatewayProxyResult>(() => createAdminHandler(composeAdmin(process.env)));
