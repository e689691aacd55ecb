/**
 * Every Lumiqo function, with its defaults fixed in one place (like Powertools' FunctionWithLogGroup):
 * Node.js 22 on arm64, bundled by the local esbuild (never Docker), its own KMS-encrypted log group with
 * the configured retention, active tracing, and the runtime settings handed over as `LUMIQO_SETTINGS`.
 *
 * What the function may use comes from its declaration (`lambdas/<name>/function.ts`): `bind` sets the environment
 * variable and makes the grant of each declared resource together, and synth fails if a declared resource was never
 * bound. Nothing else adds to the function's environment or role (R-SEC-5).
 */
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { billingSettings, runtimeSettings, usageSettings, type LumiqoConfig } from '../config';
import type { BackupFacts } from '../../lambdas/domain/deletion-records';
import { AI_ENV, BILLING_ENV, FUNCTION_METADATA_KEY, RESOURCE_ENVIRONMENT, declaredResources, type FunctionDeclaration, type FunctionResource, type LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { ENV } from '../../lambdas/shared/settings';
import { acknowledgeWildcardActions } from '../nag';
import type { AiProvider } from './ai-provider';
import type { BillingLedger } from './billing-ledger';
import { allow } from './grants';
import type { PrivacyDocuments } from './privacy-documents';
import type { PrivacyWorkflows } from './privacy-workflows';
import type { SigningKey } from './signing-key';
import type { TenantDataStore } from './tenant-data-store';
import type { TenantKeys } from './tenant-keys';

/** The repository root: entries, the lock file and the local esbuild live there. */
const PROJECT_ROOT = path.join(__dirname, '..', '..');

export type { LumiqoFunctionName } from '../../lambdas/shared/declarations';

/**
 * Issue 9: @smithy/node-http-handler (the Kinesis client's HTTP/1.1 handler) has no exports map, so esbuild takes
 * its CommonJS build, whose `require('@smithy/core/protocols')` keeps all of that module: 112 KB of the ingest
 * bundle. Its ES module build, the same version, imports the two helpers it uses, and esbuild drops the rest.
 * test/infra/bundles.test.ts bundles with these aliases too.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@smithy/node-http-handler': '@smithy/node-http-handler/dist-es/index.js',
};

/**
 * Issue 12: the Encryption SDK (about 340 KB bundled) only decrypts records written before the current format. It
 * is a file of its own beside the handler, `envelope-legacy.js`, that envelope-crypto.ts requires on the first
 * old-format record it reads: the handler's bundle leaves it external, and a hook after bundling builds it with the
 * same options. test/infra/bundles.test.ts proves a bundle loads it and opens an old record.
 */
export const LEGACY_CHUNK = {
  /** As envelope-crypto.ts requires it: resolved beside the bundle at run time. */
  specifier: './envelope-legacy',
  entry: 'lambdas/adapters/envelope-legacy.ts',
  file: 'envelope-legacy.js',
} as const;

/** The esbuild command that writes the legacy chunk into a function's asset directory. */
export function legacyChunkCommand(outputDir: string): string {
  const esbuild = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'esbuild');
  const aliases = Object.entries(BUNDLE_ALIASES).map(([from, to]) => `--alias:${from}=${to}`);
  return [esbuild, path.join(PROJECT_ROOT, LEGACY_CHUNK.entry), '--bundle', '--platform=node', '--target=node22', '--format=cjs', '--minify',
    '--sourcemap', '--external:@aws-sdk/*', ...aliases, `--outfile=${path.join(outputDir, LEGACY_CHUNK.file)}`, '--log-level=warning']
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(' ');
}

/**
 * What a declared resource binds to. The data stack's resources are there from the start; the state machines, the
 * dead-letter queue and the tenant read role are made after the functions that they need, and bound then.
 */
export interface FunctionBindings {
  readonly store: TenantDataStore;
  readonly eventStream: kinesis.IStream;
  /** The deployment's data key, as Kinesis uses it for the stream's server-side encryption. */
  readonly dataKey: kms.IKey;
  readonly documents: PrivacyDocuments;
  readonly ledger: BillingLedger;
  readonly tenantKeys: TenantKeys;
  readonly signingKey: SigningKey;
  readonly backupFacts: BackupFacts;
  readonly workflows: PrivacyWorkflows;
  readonly deadLetterQueue: sqs.IQueue;
  readonly tenantReadRole: iam.IRole;
  /** R-AI-3: the model provider's API key secret and the AI settings. */
  readonly aiProvider: AiProvider;
}

/** Which bindings each resource needs. */
const RESOURCE_BINDINGS: Readonly<Record<FunctionResource, readonly (keyof FunctionBindings)[]>> = {
  control: ['store'],
  tenantData: ['store'],
  tenantRead: ['store', 'tenantReadRole'],
  audit: ['store'],
  stream: ['eventStream', 'dataKey'],
  exports: ['documents'],
  records: ['documents'],
  ledger: ['ledger'],
  usage: ['ledger'],
  tenantKeys: ['tenantKeys'],
  tenantKeyPolicy: ['tenantKeys'],
  signingKey: ['signingKey'],
  workflows: ['workflows'],
  deadLetters: ['deadLetterQueue'],
  backupFacts: ['backupFacts'],
  stripeWebhook: ['ledger'],
  aiData: ['store'],
  aiProvider: ['aiProvider'],
  stripeApi: ['ledger'],
  statements: ['ledger'],
};

/** Construct ids and output names from kebab-case names: `privacy-tasks` → `PrivacyTasks`. */
export function pascalCase(name: string): string {
  return name.split('-').map((part) => `${part[0].toUpperCase()}${part.slice(1)}`).join('');
}

/** Construct id (and output prefix) of a function: `privacy-tasks` → `PrivacyTasks`. */
export function functionConstructId(name: LumiqoFunctionName): string {
  return pascalCase(name);
}

/** What active tracing grants a function's role, on "*". */
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

/** CloudWatch namespace of the platform's own metrics (Powertools Metrics reads it from the environment). */
export const METRICS_NAMESPACE = 'Lumiqo';

export { FUNCTION_METADATA_KEY } from '../../lambdas/shared/declarations';

export interface LumiqoFunctionProps {
  readonly config: LumiqoConfig;
  /** Which function: bundles `lambdas/<name>/handler.ts`, and may use what its declaration lists. */
  readonly declaration: FunctionDeclaration;
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
}

export class LumiqoFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  /** The function's own role: grants add to it; it starts with nothing but writing to its log group. */
  public readonly role: iam.Role;
  /** Powertools service name: the `service` dimension of the function's own metrics. */
  public readonly serviceName: string;
  public readonly declaration: FunctionDeclaration;
  private readonly config: LumiqoConfig;
  private readonly unbound: Set<FunctionResource>;

  constructor(scope: Construct, id: string, props: LumiqoFunctionProps) {
    super(scope, id);
    const { config, declaration } = props;
    const name = declaration.name;
    this.declaration = declaration;
    this.config = config;
    this.serviceName = `lumiqo-${name}`;
    if (declaration.uses.tenantKeys?.create && !declaration.uses.tenantKeyPolicy) {
      throw new Error(`${name} creates tenant keys: declare tenantKeyPolicy, so each is created with its explicit key policy (R-SEC-5)`);
    }
    this.unbound = new Set(declaredResources(declaration));
    this.node.addValidation({
      validate: () => [...this.unbound].map((resource) => `${name} declares '${resource}' but it was never bound (LumiqoFunction.bind)`),
    });

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
    // R-SEC-5: only the X-Ray actions may name "*" (with those a grant names, e.g. kms:CreateKey); any other fails synth.
    acknowledgeWildcardActions(this.role, XRAY_ACTIONS,
      'Active tracing grants xray:PutTraceSegments and PutTelemetryRecords, which have no resource-level permissions and only accept "*"');

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      role: this.role,
      entry: path.join(PROJECT_ROOT, 'lambdas', name, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: `Lumiqo ${name}: ${declaration.description} (${config.stage})`,
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
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        // The Node.js 22 runtime ships the AWS SDK v3.
        externalModules: ['@aws-sdk/*', LEGACY_CHUNK.specifier],
        // TOOLCHAIN.md: no Docker engine here; the local esbuild package must be used.
        forceDockerBundling: false,
        esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([from, to]) => `${from}=${to}`) },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) => [legacyChunkCommand(outputDir)],
        },
      },
    });
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata(FUNCTION_METADATA_KEY, name);
  }

  /**
   * Binds every declared, still unbound resource whose bindings are given: its environment variables and its grants,
   * as the declaration says it is used. Undeclared resources are never bound, whatever `bindings` holds.
   */
  bind(bindings: Partial<FunctionBindings>): void {
    for (const resource of [...this.unbound]) {
      if (!RESOURCE_BINDINGS[resource].every((b) => bindings[b] !== undefined)) continue;
      const environment = this.grant(resource, bindings as FunctionBindings);
      for (const variable of RESOURCE_ENVIRONMENT[resource]) {
        if (environment[variable] === undefined) throw new Error(`${this.declaration.name}: '${resource}' sets no ${variable}`);
        this.function.addEnvironment(variable, environment[variable]);
      }
      this.unbound.delete(resource);
    }
  }

  /** One resource's grants (R-SEC-5), and the environment variables that name it. */
  private grant(resource: FunctionResource, b: FunctionBindings): Record<string, string> {
    const fn = this.function;
    const uses = this.declaration.uses;
    switch (resource) {
      case 'control': {
        const grants = {
          read: () => b.store.grantControlRead(fn),
          ingest: () => b.store.grantControlIngest(fn),
          billing: () => b.store.grantControlBilling(fn),
          'read-write': () => b.store.grantControlReadWrite(fn),
          purge: () => b.store.grantControlPurge(fn),
        };
        grants[uses.control!]();
        return { [ENV.controlTable]: b.store.controlTable.tableName };
      }
      case 'tenantData':
        b.store.grantDataWrite(fn);
        if (uses.tenantData === 'erase') b.store.grantPayloadErase(fn);
        return { [ENV.dataTable]: b.store.tenantDataTable.tableName, [ENV.payloadBucket]: b.store.payloadBucket.bucketName };
      case 'tenantRead':
        // R-SEC-4: no grant on the data itself; only the role that reads one tenant's data, with its session tag.
        allow(this.role, { actions: ['sts:AssumeRole', 'sts:TagSession'], resources: [b.tenantReadRole.roleArn] });
        return {
          [ENV.dataTable]: b.store.tenantDataTable.tableName,
          [ENV.payloadBucket]: b.store.payloadBucket.bucketName,
          [ENV.tenantReadRoleArn]: b.tenantReadRole.roleArn,
        };
      case 'audit':
        b.store.grantAuditWrite(fn);
        return { [ENV.auditTable]: b.store.auditTable.tableName };
      case 'stream':
        allow(fn, { actions: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary'], resources: [b.eventStream.streamArn] });
        // The data key only as Kinesis uses it for server-side encryption.
        allow(fn, {
          actions: ['kms:GenerateDataKey'],
          resources: [b.dataKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `kinesis.${cdk.Stack.of(this).region}.amazonaws.com` } },
        });
        return { [ENV.eventStream]: b.eventStream.streamName };
      case 'exports':
        if (uses.exports === 'read') b.documents.grantExportsRead(fn);
        else b.documents.grantExportsReadWrite(fn);
        return { [ENV.exportsBucket]: b.documents.exportsBucket.bucketName };
      case 'records':
        if (uses.records === 'read') b.documents.grantRecordsRead(fn);
        else b.documents.grantRecordsWrite(fn);
        return { [ENV.recordsBucket]: b.documents.recordsBucket.bucketName };
      case 'ledger':
        b.ledger.grantReadWrite(fn);
        return { [ENV.ledgerTable]: b.ledger.table.tableName };
      case 'usage':
        // R-BILL-2: usage marks only (the MARK partitions), never a billing record; no read.
        b.ledger.grantWriteUsageMarks(fn);
        return { [ENV.ledgerTable]: b.ledger.table.tableName };
      case 'tenantKeys': {
        const keys = uses.tenantKeys!;
        b.tenantKeys.grantUse(fn, keys.purposes);
        if (keys.create) b.tenantKeys.grantCreate(fn);
        if (keys.shred) b.tenantKeys.grantShred(fn);
        return { [ENV.keyring]: 'kms', [ENV.tenantKeyAliasPrefix]: b.tenantKeys.aliasPrefix, [ENV.tenantKeyDeployment]: b.tenantKeys.deploymentTagValue };
      }
      case 'tenantKeyPolicy':
        // R-SEC-5: no grant, the principals of the policy each tenant key is created with: the account and this role.
        return { [ENV.tenantKeyPolicy]: cdk.Stack.of(this).toJsonString(b.tenantKeys.keyPolicyPrincipals(this.role)) };
      case 'signingKey':
        b.signingKey.grantSign(fn);
        return { [ENV.keyring]: 'kms', [ENV.signingKeyId]: b.signingKey.key.keyArn };
      case 'workflows': {
        const workflows = uses.workflows!;
        b.workflows.grantStart(fn, workflows);
        const arns = Object.fromEntries(workflows.map((w) => [w, b.workflows.stateMachines[w].stateMachineArn]));
        return { [ENV.stateMachines]: cdk.Stack.of(this).toJsonString(arns) };
      }
      case 'deadLetters':
        b.deadLetterQueue.grantSendMessages(fn);
        return { [ENV.deadLetterQueueUrl]: b.deadLetterQueue.queueUrl };
      case 'backupFacts':
        return { [ENV.backupFacts]: JSON.stringify(b.backupFacts) };
      case 'stripeWebhook':
        // R-BILL-3: the signing secret by ARN (read at run time, never in the environment); R-BILL-1: price → plan.
        b.ledger.grantReadWebhookSecret(fn);
        return {
          [BILLING_ENV.webhookSecretArn]: b.ledger.stripeWebhookSecret.secretArn,
          [BILLING_ENV.settings]: JSON.stringify(billingSettings(this.config)),
        };
      case 'aiData':
        // R-AI-5: the AI partitions of the TenantData table only (dynamodb:LeadingKeys).
        b.store.grantAiData(fn);
        return { [ENV.dataTable]: b.store.tenantDataTable.tableName };
      case 'aiProvider':
        // R-AI-3: the provider's API key by ARN (read at run time, never in the environment).
        b.aiProvider.grantReadApiKey(fn);
        return { [AI_ENV.apiKeySecretArn]: b.aiProvider.apiKeySecret.secretArn, [AI_ENV.settings]: JSON.stringify(b.aiProvider.settings) };
      case 'stripeApi':
        // R-BILL-2: the API key by ARN (read at run time, never in the environment); which meter goes where.
        b.ledger.grantReadStripeApiKey(fn);
        return {
          [BILLING_ENV.apiKeySecretArn]: b.ledger.stripeApiKey.secretArn,
          [BILLING_ENV.usageSettings]: JSON.stringify(usageSettings(this.config)),
        };
      case 'statements':
        b.ledger.grantStatementsWrite(fn);
        return { [BILLING_ENV.statementsBucket]: b.ledger.statementsBucket.bucketName };
    }
  }
}
