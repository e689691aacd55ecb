/** The admin function's adapters, from its declared environment (function.ts). */
import { auditLogOf } from '../adapters/dynamo-audit-log';
import { tenantDirectoryOf } from '../adapters/dynamo-tenant-directory';
import { tenantCryptoOf, tenantKeyManagerOf } from '../adapters/envelope-crypto';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { ADMIN } from './function';
import type { AdminDeps } from './handler';

export function composeAdmin(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): AdminDeps {
  const c = new Composition(ADMIN, env, runtime);
  return {
    directory: tenantDirectoryOf(c),
    keys: tenantKeyManagerOf(c),
    crypto: tenantCryptoOf(c),
    audit: auditLogOf(c),
    settings: c.settings,
    clock: c.clock,
  };
}
