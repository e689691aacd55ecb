/**
 * A function's environment, read through its declaration (declarations.ts): the composition asks for a resource by
 * name, and gets its value only if the function declares that resource and the variable is set. A variable the
 * declaration implies but the environment lacks stops the cold start with a message that names it, so a wiring
 * difference between CDK and the runtime fails at once rather than on the first request that needs it.
 */
import type { Clock, DeadLetterSink, WorkflowStarter } from '../domain/ports';
import type { AwsClientsConfig, AwsService } from '../adapters/client-config';
import { LOCAL_KEYRING_ENVIRONMENT, RESOURCE_ENVIRONMENT, declaredVariables, type FunctionDeclaration, type FunctionResource } from './declarations';
import type { RuntimeSettings } from '../domain/settings';
import { ENV, settingsFromEnv } from './settings';

/**
 * What the runtime around a function supplies beyond its environment. In Lambda: nothing. Locally and in tests:
 * emulator endpoints and credentials, a clock, and in local mode the in-process stand-ins for the two services no
 * npm emulator offers (Step Functions executions, the SQS dead-letter queue).
 */
export interface RuntimeOptions {
  /** @default from the environment (AWS_ENDPOINT_URL_<SERVICE>, the SDK's default chain) */
  readonly clients?: AwsClientsConfig;
  readonly clock?: Clock;
  /** Local mode: executions of the synthesized state machines in this process. @default Step Functions */
  readonly workflows?: WorkflowStarter;
  /** Local mode: the local dead-letter file. @default SQS */
  readonly deadLetters?: DeadLetterSink;
}

const ENDPOINT_VARIABLES: Readonly<Record<AwsService, string>> = {
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  s3: 'AWS_ENDPOINT_URL_S3',
  kinesis: 'AWS_ENDPOINT_URL_KINESIS',
  kms: 'AWS_ENDPOINT_URL_KMS',
  sqs: 'AWS_ENDPOINT_URL_SQS',
  sfn: 'AWS_ENDPOINT_URL_SFN',
  sts: 'AWS_ENDPOINT_URL_STS',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
};

/**
 * Client configuration from the standard SDK variables, read from `env` rather than the process (a composition is
 * given its environment). `LUMIQO_S3_FORCE_PATH_STYLE=true` is for S3-compatible endpoints that need path-style URLs.
 */
export function clientsConfigFromEnv(env: NodeJS.ProcessEnv): AwsClientsConfig {
  const endpoints = Object.fromEntries(
    (Object.entries(ENDPOINT_VARIABLES) as [AwsService, string][]).filter(([, name]) => env[name]).map(([service, name]) => [service, env[name]]),
  );
  return {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(Object.keys(endpoints).length > 0 ? { endpoints } : {}),
    ...(env[ENV.s3ForcePathStyle] === 'true' ? { forcePathStyle: true } : {}),
  };
}

export class FunctionEnvironment {
  readonly settings: RuntimeSettings;
  /** `kms` in AWS; `local`: raw AES key files and a PEM signing key in LUMIQO_LOCAL_KEY_DIR. */
  readonly keyring: 'kms' | 'local';

  constructor(
    readonly declaration: FunctionDeclaration,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.settings = settingsFromEnv(env);
    this.keyring = env[ENV.keyring] === 'local' ? 'local' : 'kms';
    const missing = this.requiredVariables().filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`${declaration.name}: environment variable(s) ${missing.join(', ')} not set`);
  }

  /** The value of `variable`, which `resource` brings; only for a declared resource. */
  value(resource: FunctionResource, variable: string): string {
    if (this.declaration.uses[resource] === undefined) throw new Error(`${this.declaration.name} does not declare '${resource}'`);
    if (!RESOURCE_ENVIRONMENT[resource].includes(variable)) throw new Error(`'${resource}' brings no ${variable}`);
    const value = this.env[variable];
    if (!value) throw new Error(`${this.declaration.name}: environment variable ${variable} not set`);
    return value;
  }

  /** A JSON-valued variable of a declared resource. */
  json<T>(resource: FunctionResource, variable: string): T {
    return JSON.parse(this.value(resource, variable)) as T;
  }

  get localKeyDir(): string {
    const dir = this.env[ENV.localKeyDir];
    if (this.keyring !== 'local' || !dir) throw new Error(`${this.declaration.name}: no local keyring (${ENV.localKeyDir})`);
    return dir;
  }

  /**
   * In local mode the KMS variables give way to the local keyring's, and the tenant-scoped role is absent (no STS
   * runs locally; README "Local mode"). Everything else is required in both modes.
   */
  private requiredVariables(): string[] {
    const kmsOnly = new Set<string>([ENV.tenantKeyAliasPrefix, ENV.tenantKeyDeployment, ENV.signingKeyId, ENV.tenantReadRoleArn]);
    // LUMIQO_SETTINGS too: without it a function would run on the defaults rather than the deployment's config.
    const variables = declaredVariables(this.declaration);
    if (this.keyring === 'kms') return variables;
    const usesKeys = this.declaration.uses.tenantKeys !== undefined || this.declaration.uses.signingKey !== undefined;
    return [...new Set([...variables.filter((v) => !kmsOnly.has(v)), ...(usesKeys ? LOCAL_KEYRING_ENVIRONMENT : [])])];
  }
}
