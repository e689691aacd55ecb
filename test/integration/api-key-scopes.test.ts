/**
 * R-SEC-5: API keys carry scopes and every API-key route of the one route table needs one. Walks EVERY route of
 * ROUTES against a key of EVERY scope through the local platform (real HTTP into the same handlers): a key without
 * the route's scope answers 403 insufficient_scope, a key with it gets past authentication. A new API-key route
 * added without a scope fails here.
 */
import { startLocalPlatform, type LocalPlatform } from '../../bin/local/platform';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../lambdas/domain/model';
import { ROUTES, type Route } from '../../lambdas/shared/routes';
import { request } from './http';

let local: LocalPlatform;
const keys = {} as Record<ApiKeyScope, string>;
let defaultKey: { apiKey: string; scopes: string[] };

const admin = (path: string, body: object) => request(`${local.url}/v1/admin${path}`, { token: local.adminToken, method: 'POST', body });

beforeAll(async () => {
  local = await startLocalPlatform({ port: 0, demo: false, pollIntervalMs: 20, ttlSweepIntervalMs: 3_600_000, log: () => undefined });
  expect((await admin('/tenants', { tenantId: 'scoped', name: 'Scoped' })).status).toBe(201);
  for (const scope of API_KEY_SCOPES) {
    const issued = await admin('/tenants/scoped/api-keys', { scopes: [scope] });
    expect(issued.status).toBe(201);
    keys[scope] = String(issued.body.apiKey);
  }
  defaultKey = (await admin('/tenants/scoped/api-keys', {})).body as unknown as typeof defaultKey;
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

const apiKeyRoutes = ROUTES.filter((route) => route.auth === 'api-key');

/** A concrete path and a harmless body for a route: the scope check comes before either is looked at. */
function call(route: Route, apiKey: string) {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => `unknown-${name}`);
  const body = route.method === 'POST' ? { type: 'event', name: 'scope-walk', properties: {} } : undefined;
  return request<{ error?: { code: string } }>(`${local.url}${path}`, { method: route.method, token: apiKey, body });
}

describe('R-SEC-5: API key scopes on every route', () => {
  it('every API-key route names a known scope, and every scope guards at least one route', () => {
    expect(apiKeyRoutes.length).toBeGreaterThan(0);
    for (const route of apiKeyRoutes) expect({ route: `${route.method} ${route.path}`, known: API_KEY_SCOPES.includes(route.scope!) }).toEqual({ route: `${route.method} ${route.path}`, known: true });
    for (const scope of API_KEY_SCOPES) expect(apiKeyRoutes.some((route) => route.scope === scope)).toBe(true);
  });

  it.each(apiKeyRoutes.flatMap((route) => API_KEY_SCOPES.map((scope) => [`${route.method} ${route.path}`, scope, route] as const)))(
    'R-SEC-5: %s with a %s key',
    async (_name, scope, route) => {
      const answer = await call(route, keys[scope]);
      if (route.scope === scope) {
        expect([401, 403]).not.toContain(answer.status);
        expect(answer.status).toBeLessThan(500);
      } else {
        expect(answer.status).toBe(403);
        expect(answer.body.error?.code).toBe('insufficient_scope');
      }
    },
  );

  it('R-SEC-5: issue-key defaults to ingest only: that key ingests, and gets 403 on every read and privacy route', async () => {
    expect(defaultKey.scopes).toEqual(['ingest']);
    for (const route of apiKeyRoutes) {
      const answer = await call(route, defaultKey.apiKey);
      if (route.scope === 'ingest') expect(answer.status).toBe(202);
      else expect({ route: route.path, status: answer.status, code: answer.body.error?.code }).toEqual({ route: route.path, status: 403, code: 'insufficient_scope' });
    }
  });

  it('R-SEC-5: unknown or repeated scopes are refused when a key is issued', async () => {
    expect((await admin('/tenants/scoped/api-keys', { scopes: ['admin'] })).status).toBe(400);
    expect((await admin('/tenants/scoped/api-keys', { scopes: ['read', 'read'] })).status).toBe(400);
    expect((await admin('/tenants/scoped/api-keys', { scopes: [] })).status).toBe(400);
  });
});
