/**
 * The Lumiqo CDK app: one validated config, a stateful data stack and a stateless services stack, named
 * after the stage (and the tenant, for a single-tenant deployment: R-DEP-2), held to the four cdk-nag packs.
 */
import * as cdk from 'aws-cdk-lib';
import { loadConfig, stackPrefix, type LumiqoConfig } from './config';
import { addCompliancePacks } from './nag';
import { DataStack } from './stacks/data-stack';
import { ServicesStack } from './stacks/services-stack';

export interface LumiqoApp {
  readonly config: LumiqoConfig;
  readonly data: DataStack;
  readonly services: ServicesStack;
}

export function buildLumiqoApp(app: cdk.App): LumiqoApp {
  const config = loadConfig(app.node);
  const prefix = stackPrefix(config);
  // Environment-agnostic unless the CLI knows the target account (R-DEP-1: the operator's own account).
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const env = account || region ? { account, region } : undefined;

  const data = new DataStack(app, `${prefix}-Data`, { config, env, description: `Lumiqo ${prefix}: stateful data (retained)` });
  const services = new ServicesStack(app, `${prefix}-Services`, { config, data, env, description: `Lumiqo ${prefix}: API, functions, alarms` });
  addCompliancePacks(app);
  return { config, data, services };
}
