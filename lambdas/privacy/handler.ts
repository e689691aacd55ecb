/**
 * Privacy function: data-subject requests (R-DSR-1..3, R-DSR-5) by the tenant's API key or by an operator, and
 * tenant termination (R-TERM-1..5) by operators. A request is accepted with 202 and carried out by its state
 * machine; its status is read back at the Location the answer names. A tenant's API key acts for its own tenant
 * only: the tenant never comes from a body (R-SEC-4).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DomainError } from '../domain/model';
import { PrivacyRequests, type PrivacyRequestsDeps, type PrivacyRequestView } from '../domain/privacy-requests';
import { Termination, type SweepOutcome, type TerminationDeps } from '../domain/termination';
import { TenantConsent } from '../domain/tenant-consent';
import { logger } from '../shared/logger';
import { PrivacyRequestOperations } from '../domain/privacy-request-operations';
import { httpHandler, json, jsonBody as parseJsonBody, lowerCaseHeaders, operatorOf, tenantIdParam } from '../shared/http';
import { lambdaEntry } from '../shared/composition';
import { requireTenant } from '../domain/tenants';
import { scopeOfRoute } from '../shared/routes';
import { ApiKeyAuthenticator } from '../shared/tenant-context';
import { composePrivacy } from './composition';

export type PrivacyDeps = PrivacyRequestsDeps & TerminationDeps;

/** A request names a subject and a few corrections: far below the ingestion limit. */
export const MAX_PRIVACY_BODY_BYTES = 64 * 1024;

export function createPrivacyHandler(deps: PrivacyDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const auth = new ApiKeyAuthenticator(deps.directory, () => deps.clock.now().getTime());
  const privacy = new PrivacyRequests(deps);
  const termination = new Termination(deps);
  const consent = new TenantConsent(deps);
  const operations = new PrivacyRequestOperations(deps);

  const accepted = (view: PrivacyRequestView, location: string) => json(202, view, { location });

  return httpHandler(async (event) => {
    const tenantId = tenantIdParam(event);
    const { requestId = '' } = event.pathParameters ?? {};
    switch (`${event.httpMethod} ${event.resource}`) {
      case 'POST /v1/privacy/requests': {
        // R-SEC-4, R-TERM-1: the key's own tenant, and only while it is active.
        const { tenant, context } = await auth.authenticate(lowerCaseHeaders(event), scopeOfRoute('POST', '/v1/privacy/requests'));
        const view = await privacy.open(`api-key:${context.credential.id}`, 'api', tenant, jsonBody(event));
        return accepted(view, `/v1/privacy/requests/${view.requestId}`);
      }
      case 'GET /v1/privacy/requests/{requestId}': {
        const { tenant } = await auth.authenticate(lowerCaseHeaders(event), scopeOfRoute('GET', '/v1/privacy/requests/{requestId}'));
        return json(200, await privacy.view(tenant.tenantId, requestId));
      }
      case 'POST /v1/admin/tenants/{tenantId}/privacy/requests': {
        const actor = operatorOf(event);
        const tenant = await requireTenant(deps.directory, tenantId);
        const view = await privacy.open(actor, 'operator', tenant, jsonBody(event));
        return accepted(view, `/v1/admin/tenants/${tenant.tenantId}/privacy/requests/${view.requestId}`);
      }
      case 'GET /v1/admin/tenants/{tenantId}/privacy/requests/{requestId}':
        operatorOf(event);
        return json(200, await privacy.view(tenantId, requestId));
      // R-DSR-5: a failed request retried or closed by an operator.
      case 'POST /v1/admin/tenants/{tenantId}/privacy/requests/{requestId}/retry':
        await operations.retry(operatorOf(event), tenantId, requestId);
        return json(202, await privacy.view(tenantId, requestId));
      case 'POST /v1/admin/tenants/{tenantId}/privacy/requests/{requestId}/close':
        await operations.close(operatorOf(event), tenantId, requestId, jsonBody(event));
        return json(200, await privacy.view(tenantId, requestId));
      // R-DSR-4: consent flags, tenant-wide (set here) and per subject (set by a `consent` request).
      case 'GET /v1/privacy/consent': {
        const { tenant } = await auth.authenticate(lowerCaseHeaders(event), scopeOfRoute('GET', '/v1/privacy/consent'));
        return json(200, await consent.view(tenant.tenantId));
      }
      case 'POST /v1/privacy/consent': {
        const { tenant, context } = await auth.authenticate(lowerCaseHeaders(event), scopeOfRoute('POST', '/v1/privacy/consent'));
        return json(200, await consent.setForTenant(`api-key:${context.credential.id}`, tenant, jsonBody(event)));
      }
      case 'GET /v1/admin/tenants/{tenantId}/privacy/consent':
        operatorOf(event);
        return json(200, await consent.view((await requireTenant(deps.directory, tenantId)).tenantId));
      case 'POST /v1/admin/tenants/{tenantId}/privacy/consent': {
        const actor = operatorOf(event);
        return json(200, await consent.setForTenant(actor, await requireTenant(deps.directory, tenantId), jsonBody(event)));
      }
      case 'POST /v1/admin/tenants/{tenantId}/termination': {
        const view = await termination.start(operatorOf(event), tenantId, jsonBody(event));
        return json(202, view, { location: `/v1/admin/tenants/${tenantId}/termination` });
      }
      case 'GET /v1/admin/tenants/{tenantId}/termination':
        operatorOf(event);
        return json(200, await termination.status(tenantId));
      // R-TERM-1..5: an operator resumes a failed or lost termination, or starts it over (audited).
      case 'POST /v1/admin/tenants/{tenantId}/termination/resume':
        return json(202, await termination.resume(operatorOf(event), tenantId));
      case 'POST /v1/admin/tenants/{tenantId}/termination/reset':
        return json(202, await termination.reset(operatorOf(event), tenantId));
      default:
        throw new DomainError('not_found', 'No such route', 404);
    }
  });
}

/** R-DSR-1: a request names a subject and a few corrections, far below the ingestion limit. */
const jsonBody = (event: APIGatewayProxyEvent) => parseJsonBody(event, MAX_PRIVACY_BODY_BYTES);

/** The periodic EventBridge rule's input (lib/stacks/services-stack.ts). */
export interface PrivacyTask {
  readonly task: 'sweep-terminations';
}

/**
 * R-TERM-1..5: the termination sweeper (every TERMINATION_SWEEP_INTERVAL): resumes lost executions, starts purges
 * whose export window has closed. A failure is a Lambda error (the Errors alarm); the next run makes it up.
 */
export function createTerminationSweepHandler(deps: PrivacyDeps): (event: PrivacyTask) => Promise<SweepOutcome> {
  const termination = new Termination(deps);
  return async (event) => {
    if (event.task !== 'sweep-terminations') throw new Error(`Unknown privacy task '${String(event.task)}'`);
    const outcome = await termination.sweep();
    logger.info('termination sweep', {
      checked: outcome.checked,
      resumed: outcome.resumed.length,
      purgeStarted: outcome.purgeStarted.length,
      failed: outcome.failed.length,
      errors: outcome.errors.length,
    });
    if (outcome.errors.length > 0) throw new Error(`The termination sweep failed for ${outcome.errors.length} tenant(s)`);
    return outcome;
  };
}

const isTask = (event: APIGatewayProxyEvent | PrivacyTask): event is PrivacyTask => (event as PrivacyTask).task !== undefined;

export const handler = lambdaEntry<APIGatewayProxyEvent | PrivacyTask, APIGatewayProxyResult | SweepOutcome>(() => {
  const deps = composePrivacy(process.env);
  const http = createPrivacyHandler(deps);
  const sweep = createTerminationSweepHandler(deps);
  return (event) => (isTask(event) ? sweep(event) : http(event));
});
