/** The usage function's adapters, from its declared environment (function.ts). */
import { monthlyStatementsOf, usageReconciliationOf, usageReporterOf } from '../adapters/usage-reporting';
import { Composition } from '../shared/composition';
import type { RuntimeOptions } from '../shared/environment';
import { USAGE } from './function';
import type { UsageTaskDeps } from './handler';

export function composeUsage(env: NodeJS.ProcessEnv, runtime?: RuntimeOptions): UsageTaskDeps {
  const c = new Composition(USAGE, env, runtime);
  return {
    reporter: usageReporterOf(c, env),
    reconciliation: usageReconciliationOf(c, env),
    statements: monthlyStatementsOf(c, env),
  };
}
