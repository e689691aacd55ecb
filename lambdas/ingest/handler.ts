/**
 * Ingest function: POST /v1/events (API key) and POST /v1/hooks/{tenantId}/{sourceId} (webhook signature).
 * Authenticates, validates, assigns ids, puts to Kinesis, answers 202 (R-ING-1..5, R-ING-7).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parseIngestBody } from '../domain/events';
import { idempotencyKeyOf, Ingestion, type IngestionDeps } from '../domain/ingestion';
import { DomainError } from '../domain/model';
import { httpHandler, json, lowerCaseHeaders, rawBody } from '../shared/http';
import { lambdaEntry } from '../shared/composition';
import { scopeOfRoute } from '../shared/routes';
import { ApiKeyAuthenticator } from '../shared/tenant-context';
import { composeIngest } from './composition';

export type IngestDeps = IngestionDeps;

export function createIngestHandler(deps: IngestDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const ingestion = new Ingestion(deps);
  // The key cache runs on the platform clock, so a revocation's delay is testable and bounded (API_KEY_CACHE_MS).
  const auth = new ApiKeyAuthenticator(deps.directory, () => deps.clock.now().getTime());
  return httpHandler(async (event) => {
    const headers = lowerCaseHeaders(event);
    if (event.resource === '/v1/events') {
      const { context, tenant } = await auth.authenticate(headers, scopeOfRoute('POST', '/v1/events'));
      const receivedAt = deps.clock.now();
      const events = parseIngestBody({ rawBody: rawBody(event), contentType: headers['content-type'], receivedAt, limits: deps.settings.limits });
      const { eventIds } = await ingestion.acceptEvents(context, events, receivedAt, idempotencyKeyOf(headers), tenant);
      return json(202, { accepted: eventIds.length, eventIds });
    }
    if (event.resource === '/v1/hooks/{tenantId}/{sourceId}') {
      const { tenantId = '', sourceId = '' } = event.pathParameters ?? {};
      const outcome = await ingestion.acceptWebhook(tenantId, sourceId, { headers, rawBody: rawBody(event) });
      switch (outcome.status) {
        case 'accepted':
          return json(202, { accepted: 1, eventId: outcome.eventId, deliveryId: outcome.deliveryId });
        case 'duplicate':
          return json(200, { accepted: 0, duplicate: true, eventId: outcome.eventId, deliveryId: outcome.deliveryId });
        case 'privacy-request':
          // Shopify wants a 200 for compliance webhooks; the request is tracked like any other (R-DSR-5).
          return json(200, { accepted: 1, privacyRequestId: outcome.requestId, deliveryId: outcome.deliveryId });
      }
    }
    throw new DomainError('not_found', 'No such route', 404);
  });
}

export const handler = lambdaEntry<APIGatewayProxyEvent, APIGatewayProxyResult>(() => createIngestHandler(composeIngest(process.env)));
