/**
 * AI function (issue 13, R-AI-1..6): a tenant's questions about its own data, answered by a model that can only call
 * typed tools, which read through the tenant-scoped role (R-SEC-4) of the tenant the API key belongs to. Also the
 * scheduled insight job (`{ task: 'detect-insights' }`, an EventBridge rule).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Assistant } from '../domain/ai/assistant';
import { INSIGHT_JOB, runInsightJob, tenantInsights } from '../domain/ai/insights';
import type { AiStore } from '../domain/ai/ports';
import { assertAiAllowed, tenantToolReader } from '../domain/ai/reader';
import type { ConsentReader } from '../domain/consent';
import { DomainError, type Tenant } from '../domain/model';
import { assertTenantActive } from '../domain/tenants';
import type { Clock, TenantDirectory } from '../domain/ports';
import type { TenantReadDeps } from '../domain/queries';
import { parse } from '../domain/validation';
import * as z from '../domain/zod';
import { lambdaEntry } from '../shared/composition';
import { httpHandler, json, jsonBody, lowerCaseHeaders, operatorOf, tenantIdParam } from '../shared/http';
import { scopeOfRoute } from '../shared/routes';
import { ApiKeyAuthenticator } from '../shared/tenant-context';
import { composeAi } from './composition';

export interface AiDeps {
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  readonly store: AiStore;
  readonly assistant: Assistant;
  /** R-DSR-4: the tenant's and its subjects' consent flags (the Control table, consistent reads). */
  readonly consent: ConsentReader;
  /** R-SEC-4: adapters whose credentials reach only this tenant's data. */
  tenantScoped(tenant: { readonly tenantId: string }): Promise<TenantReadDeps>;
  retentionDays(tenant: Tenant): number;
}

/** A question is a few KB; nothing larger is read. */
const MAX_BODY_BYTES = 16 * 1024;
const isoTime = z.iso.datetime({ offset: true });
const insightQuerySchema = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 50),
  /** R-AI-6: replay the detector over a past window (at most 30 days): what it would have flagged, not stored. */
  replayFrom: z.optional(isoTime),
  replayTo: z.optional(isoTime),
});

/** The operator twin of every AI route: `/v1/admin/tenants/{tenantId}/ai/…` for `/v1/ai/…`. */
const OPERATOR_PREFIX = '/v1/admin/tenants/{tenantId}';

export function createAiHandler(deps: AiDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const auth = new ApiKeyAuthenticator(deps.directory, () => deps.clock.now().getTime());
  /** The tenant and the actor: an API key's own tenant, or for an operator (IAM, R-SEC-5) the tenant in the path. */
  async function caller(event: APIGatewayProxyEvent): Promise<{ tenant: Tenant; actor: string }> {
    if (!event.resource.startsWith(`${OPERATOR_PREFIX}/`)) {
      const { tenant, context } = await auth.authenticate(lowerCaseHeaders(event), scopeOfRoute(event.httpMethod, event.resource));
      return { tenant, actor: `api-key:${context.credential.id}` };
    }
    const actor = operatorOf(event);
    const tenant = await deps.directory.getTenant(tenantIdParam(event));
    if (!tenant) throw new DomainError('not_found', 'No such tenant', 404);
    assertTenantActive(tenant);
    return { tenant, actor };
  }
  return httpHandler(async (event) => {
    const { tenant, actor } = await caller(event);
    const path = event.pathParameters ?? {};
    const conversationId = path.conversationId ?? '';
    // R-DSR-4, R-AI-4: flags read per turn, before any provider call: a tenant-wide objection answers 403 ai_objected;
    // a subject's objection keeps its records out of every tool result.
    const turn = async () => {
      const flags = await deps.consent.consentFlags(tenant.tenantId);
      assertAiAllowed(flags);
      const requestId = event.requestContext?.requestId;
      return { tenant, actor, reader: tenantToolReader(tenant, await deps.tenantScoped(tenant), deps.store, flags), ...(requestId ? { requestId } : {}) };
    };
    const resource = event.resource.startsWith(`${OPERATOR_PREFIX}/`) ? `/v1${event.resource.slice(OPERATOR_PREFIX.length)}` : event.resource;
    switch (`${event.httpMethod} ${resource}`) {
      case 'POST /v1/ai/conversations':
        return json(201, await deps.assistant.start(await turn(), jsonBody(event, MAX_BODY_BYTES)));
      case 'POST /v1/ai/conversations/{conversationId}/messages':
        return json(201, await deps.assistant.continue(await turn(), conversationId, jsonBody(event, MAX_BODY_BYTES)));
      case 'GET /v1/ai/conversations':
        return json(200, await deps.assistant.list(tenant));
      case 'GET /v1/ai/conversations/{conversationId}':
        return json(200, await deps.assistant.get(tenant, conversationId));
      case 'POST /v1/ai/conversations/{conversationId}/messages/{messageId}/feedback':
        return json(200, await deps.assistant.feedback({ tenant, actor }, conversationId, path.messageId ?? '', jsonBody(event, MAX_BODY_BYTES)));
      case 'GET /v1/ai/insights':
        return json(200, await insights(deps, tenant, event.queryStringParameters ?? {}));
      default:
        throw new DomainError('not_found', 'No such route', 404);
    }
  });
}

async function insights(deps: AiDeps, tenant: Tenant, params: unknown) {
  const q = parse(insightQuerySchema, params);
  if (q.replayFrom === undefined && q.replayTo === undefined) {
    const items = await deps.store.listInsights(tenant.tenantId, q.limit);
    return { items: items.map(({ tenantId: _t, expiresAt: _e, ...insight }) => insight) };
  }
  const now = deps.clock.now();
  const to = q.replayTo ? new Date(q.replayTo) : now;
  const reportFrom = q.replayFrom ? new Date(q.replayFrom) : new Date(to.getTime() - 24 * 3600_000);
  if (reportFrom >= to || to.getTime() - reportFrom.getTime() > 30 * 24 * 3600_000) {
    throw new DomainError('invalid_request', 'replayFrom must precede replayTo, at most 30 days apart', 400);
  }
  // The detector needs history before the replayed window: the job's lookback.
  const from = new Date(reportFrom.getTime() - INSIGHT_JOB.lookbackDays * 24 * 3600_000);
  const found = await tenantInsights(deps, tenant, { from, to, reportFrom, now });
  return { replay: { from: reportFrom.toISOString(), to: to.toISOString() }, items: found.slice(0, q.limit).map(({ tenantId: _t, expiresAt: _e, ...i }) => i) };
}

export interface InsightTask {
  readonly task: 'detect-insights';
}

export function createInsightTaskHandler(deps: AiDeps): (event: InsightTask) => Promise<{ tenants: number; insights: number; failed: string[] }> {
  return (event) => {
    if (event.task !== 'detect-insights') throw new Error(`Unknown task '${String(event.task)}'`);
    return runInsightJob(deps, deps.clock.now());
  };
}

const isTask = (event: APIGatewayProxyEvent | InsightTask): event is InsightTask => 'task' in event;

export const handler = lambdaEntry<APIGatewayProxyEvent | InsightTask, APIGatewayProxyResult | Awaited<ReturnType<ReturnType<typeof createInsightTaskHandler>>>>(() => {
  const deps = composeAi(process.env);
  const http = createAiHandler(deps);
  const task = createInsightTaskHandler(deps);
  return (event) => (isTask(event) ? task(event) : http(event));
});
