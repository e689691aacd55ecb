/**
 * Every Lumiqo function, with its defaults fixed in one place (like Powertools' FunctionWithLogGroup):
 * Node.js 22 on arm64, bundled by the local esbuild (never Docker), its own KMS-encrypted log group with
 * the configured retention, active tracing, and the runtime settings handed over as `LUMIQO_SETTINGS`.
 */
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { runtimeSettings, type LumiqoConfig } from '../config';
import { ENV } from '../../lambdas/shared/settings';
import type { FunctionName } from '../../lambdas/shared/routes';
import { acknowledge } from '../nag';

/** The repository root: entries, the lock file and the local esbuild live there. */
const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** Route functions (lambdas/shared/routes.ts), the stream processor, and the privacy workflows' task functions. */
export type LumiqoFunctionName = FunctionName | 'processor' | 'privacy-tasks' | 'termination-tasks';

/** Construct ids and output names from kebab-case names: `privacy-tasks` → `PrivacyTasks`. */
export function pascalCase(name: string): string {
  return name.split('-').map((part) => `${part[0].toUpperCase()}${part.slice(1)}`).join('');
}

/** Construct id (and output prefix) of a function: `privacy-tasks` → `PrivacyTasks`. */
export function functionConstructId(name: LumiqoFunctionName): string {
  return pascalCase(name);
}

/** CloudWatch namespace of the platform's own metrics (Powertools Metrics reads it from the environment). */
export const METRICS_NAMESPACE = 'Lumiqo';

/** Template metadata key naming the function on its AWS::Lambda::Function (the local runtime maps tasks by it). */
export const FUNCTION_METADATA_KEY = 'lumiqo:function';

export interface LumiqoFunctionProps {
  readonly config: LumiqoConfig;
  /** Which handler: bundles `lambdas/<name>/handler.ts`. */
  readonly name: LumiqoFunctionName;
  /** Encrypts the function's log group (R-SEC-2). */
  readonly logKey: kms.IKey;
  /**
   * Caps how far one function can scale, so that a flood on one path cannot starve the others
   * (and is what NIST/HIPAA/PCI LambdaConcurrency asks for).
   */
  readonly reservedConcurrentExecutions: number;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: cdk.Duration;
  /** Extra environment, on top of the settings every function gets. @default none */
  readonly environment?: Record<string, string>;
  /** @default the function's name */
  readonly description?: string;
}

export class LumiqoFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  /** The function's own role: grants add to it; it starts with nothing but writing to its log group. */
  public readonly role: iam.Role;
  /** Powertools service name: the `service` dimension of the function's own metrics. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: LumiqoFunctionProps) {
    super(scope, id);
    const { config } = props;
    this.serviceName = `lumiqo-${props.name}`;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // R-RET-5: server logs are kept 90 days (configurable down, never unbounded).
      retention: props.config.logRetentionDays as logs.RetentionDays,
      // R-SEC-2: logs are customer data at rest, under a customer-managed key.
      encryptionKey: props.logKey,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    // R-SEC-5: instead of AWSLambdaBasicExecutionRole (logs:* on every log group), only this log group.
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);
    acknowledge(this.role, 'AwsSolutions-IAM5[Resource::*]',
      'Active tracing grants xray:PutTraceSegments and PutTelemetryRecords, which have no resource-level permissions and only accept "*"');

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      role: this.role,
      entry: path.join(PROJECT_ROOT, 'lambdas', props.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description ?? `Lumiqo ${props.name} (${config.stage})`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? cdk.Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        [ENV.settings]: JSON.stringify(runtimeSettings(config)),
        [ENV.keyring]: 'kms',
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        // The Node.js 22 runtime ships the AWS SDK v3.
        externalModules: ['@aws-sdk/*'],
        // TOOLCHAIN.md: no Docker engine here; the local esbuild package must be used.
        forceDockerBundling: false,
      },
    });
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata(FUNCTION_METADATA_KEY, props.name);
  }
}
