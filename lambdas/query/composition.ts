/**
 * The query function's adapters, from its declared environment (function.ts). R-SEC-4: tenant data is read only with
 * credentials of the tenant read role, assumed per tenant with a `tenantId` session tag (adapters/tenant-scoped-reads.ts);
 * the function's own role reads the control table and nothing else.
 */
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantScopedReadsOf } from '../adapters/tenant-scoped-reads';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { QUERY } from './function';
import type { QueryDeps } from './handler';

export function composeQuery(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): QueryDeps {
  const c = new Composition(QUERY, env, runtime);
  return { directory: tenantDirectoryOf(c), clock: c.clock, tenantScoped: tenantScopedReadsOf(c) };
}
