/**
 * Query function: the tenant's own events and rollups, with its API key (R-ING-1, R-ING-3). Data is read with
 * credentials scoped to the tenant by IAM conditions (R-SEC-4), so a bug here still cannot cross tenants.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DomainError } from '../domain/model';
import type { Clock, TenantDirectory } from '../domain/ports';
import { TenantQueries, type TenantReadDeps } from '../domain/queries';
import { httpHandler, json, lowerCaseHeaders } from '../shared/http';
import { lambdaEntry } from '../shared/composition';
import { scopeOfRoute } from '../shared/routes';
import { ApiKeyAuthenticator } from '../shared/tenant-context';
import { composeQuery } from './composition';

export interface QueryDeps {
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  /** R-SEC-4: adapters whose credentials reach only this tenant's data. */
  tenantScoped(tenant: { readonly tenantId: string }): Promise<TenantReadDeps>;
}

export function createQueryHandler(deps: QueryDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  // The key cache runs on the platform clock, so a revocation's delay is testable and bounded (API_KEY_CACHE_MS).
  const auth = new ApiKeyAuthenticator(deps.directory, () => deps.clock.now().getTime());
  return httpHandler(async (event) => {
    const { tenant } = await auth.authenticate(lowerCaseHeaders(event), scopeOfRoute(event.httpMethod, event.resource));
    const queries = new TenantQueries(tenant, await deps.tenantScoped(tenant));
    const params = event.queryStringParameters ?? {};
    switch (event.resource) {
      case '/v1/events':
        return json(200, await queries.listEvents(params));
      case '/v1/events/{eventId}':
        return json(200, await queries.getEvent(event.pathParameters?.eventId ?? ''));
      case '/v1/rollups':
        return json(200, await queries.rollups(params, deps.clock.now()));
      default:
        throw new DomainError('not_found', 'No such route', 404);
    }
  });
}

export const handler = lambdaEntry<APIGatewayProxyEvent, APIGatewayProxyResult>(() => createQueryHandler(composeQuery(process.env)));
