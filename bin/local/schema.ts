/**
 * What the local runtime provisions, read from the CloudFormation templates that CDK synthesizes from lib/
 * (no hand-written copy of the schema): DynamoDB tables with their indexes and TTL attribute, Kinesis streams,
 * S3 buckets, the processor's event source mapping, and the environment CDK hands the functions (resource
 * names and LUMIQO_SETTINGS). The synthesized assembly is cached under `cdk.out/local/` and synthesized again
 * when lib/, lambdas/shared/, cdk.json, lumiqo.config.json or the aws-cdk-lib version changed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { FUNCTION_METADATA_KEY, type LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { FUNCTION_NAMES } from '../../lambdas/shared/functions';
import type { RuntimeSettings } from '../../lambdas/domain/settings';
import { ENV, settingsFromEnv } from '../../lambdas/shared/settings';
import { WORKFLOW_NAMES, type WorkflowName } from '../../lambdas/domain/privacy';
import type { LocalStateMachine } from './workflows';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './emulators';
import { synthesizedWorkflows, type CloudFormationTemplate, type SynthesizedWorkflow } from '../../lib/workflow-definitions';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface LocalTable {
  readonly name: string;
  readonly create: CreateTableCommandInput;
  readonly keyAttributes: readonly string[];
  /** From TimeToLiveSpecification; the TTL sweeper deletes expired items by it. */
  readonly ttlAttribute?: string;
}

export interface LocalStream {
  readonly name: string;
  readonly shardCount: number;
  readonly retentionHours?: number;
}

/** The processor's AWS::Lambda::EventSourceMapping, as Lambda would apply it. */
export interface EventSourceSettings {
  readonly batchSize: number;
  readonly maxBatchingWindowMs: number;
  readonly bisectOnError: boolean;
  /** -1: retry until the records expire (Lambda's default). */
  readonly retryAttempts: number;
  /** -1: no age limit. */
  readonly maxRecordAgeSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export interface LocalDeployment {
  readonly tables: readonly LocalTable[];
  readonly streams: readonly LocalStream[];
  readonly buckets: readonly string[];
  /** Physical names the functions get through their environment. */
  readonly names: LocalNames;
  /**
   * Each function's environment as CDK synthesized it, its names resolved to the local resources: the local runtime
   * composes every function from exactly this (bin/local/platform.ts), as Lambda does from the deployed one.
   */
  readonly functions: Readonly<Record<LumiqoFunctionName, { readonly name: string; readonly environment: Readonly<Record<string, string>> }>>;
  readonly settings: RuntimeSettings;
  readonly eventSource: EventSourceSettings;
  /** The processor function's name, for the on-failure records of the event source mapping. */
  readonly processorFunction: string;
  /** The privacy state machines as synthesized, with the local function each task state invokes. */
  readonly stateMachines: Readonly<Record<WorkflowName, LocalStateMachine>>;
}

export interface LocalNames {
  readonly controlTable: string;
  readonly dataTable: string;
  readonly auditTable: string;
  readonly payloadBucket: string;
  readonly eventStream: string;
  readonly exportsBucket: string;
  readonly recordsBucket: string;
  readonly ledgerTable: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
}
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: Json }>;
}
export type Templates = ReadonlyMap<string, CfnTemplate>;

/** Lambda's initial shard count for an on-demand stream. */
const ON_DEMAND_SHARDS = 4;

/** Files whose change can change the synthesized templates. */
function sourceFingerprint(cwd: string): string {
  const hash = createHash('sha256');
  const add = (file: string) => {
    if (!existsSync(file)) return;
    const stat = statSync(file);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(file).sort()) add(join(file, entry));
    } else {
      hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  };
  // lambdas/domain too: the config's schemas and defaults (settings.ts, billing.ts, ai/settings.ts) and the key schema
  // the grants are built from live there, and a change of theirs changes the templates.
  for (const path of ['lib', join('lambdas', 'shared'), join('lambdas', 'domain'), 'cdk.json', join('node_modules', 'aws-cdk-lib', 'package.json')]) add(join(REPO_ROOT, path));
  add(join(cwd, 'lumiqo.config.json'));
  return hash.digest('hex').slice(0, 16);
}

/** Synthesizes the app in-process (asset bundling skipped: the local runtime needs no bundle). */
function synthesize(outdir: string): void {
  // Loaded here, not at import: a cached start never pays for loading aws-cdk-lib.
  const cdk = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { buildLumiqoApp } = require('../../lib/app') as typeof import('../../lib/app');
  const flags = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')).context ?? {};
  const app = new cdk.App({ outdir, context: { ...flags, 'aws:cdk:bundling-stacks': [] } });
  buildLumiqoApp(app);
  app.synth();
}

/** The cached assembly for the current sources, synthesized first when missing or stale. */
export function synthesizedAssembly(cacheDir = join(REPO_ROOT, 'cdk.out', 'local'), cwd = process.cwd()): string {
  const assembly = join(cacheDir, `synth-${sourceFingerprint(cwd)}`);
  if (existsSync(join(assembly, 'manifest.json'))) return assembly;
  mkdirSync(cacheDir, { recursive: true });
  // Synthesized aside and renamed into place, so concurrent starts (parallel test files) never read half a cache.
  const scratch = join(cacheDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    synthesize(scratch);
    renameSync(scratch, assembly);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(assembly, 'manifest.json'))) throw error;
  }
  for (const stale of readdirSync(cacheDir).filter((entry) => entry.startsWith('synth-') && join(cacheDir, entry) !== assembly)) {
    rmSync(join(cacheDir, stale), { recursive: true, force: true });
  }
  return assembly;
}

export function readTemplates(assembly: string): Templates {
  const manifest = JSON.parse(readFileSync(join(assembly, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const templates = new Map<string, CfnTemplate>();
  for (const [stackName, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    templates.set(stackName, JSON.parse(readFileSync(join(assembly, artifact.properties.templateFile), 'utf8')));
  }
  return templates;
}

/** The local physical name of a resource: CloudFormation's `<stack>-<logicalId>`, lower case where S3 wants it. */
export function physicalName(stackName: string, logicalId: string, type: string): string {
  const name = `${stackName}-${logicalId}`;
  return type === 'AWS::S3::Bucket' ? name.toLowerCase().slice(0, 63) : name;
}

/** A UUID (version-4 layout) that is always the same for the same name. */
function stableUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The local ARN of a resource (`Fn::GetAtt X.Arn`, a state machine's Ref), in the format AWS gives that type. */
export function localArn(stackName: string, logicalId: string, type: string): string {
  const name = physicalName(stackName, logicalId, type);
  const regional = (service: string, resource: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
  switch (type) {
    case 'AWS::DynamoDB::Table':
      return regional('dynamodb', `table/${name}`);
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    case 'AWS::KMS::Key':
      // KMS names keys by UUID; a stable one from the physical name.
      return regional('kms', `key/${stableUuid(name)}`);
    case 'AWS::Kinesis::Stream':
      return regional('kinesis', `stream/${name}`);
    case 'AWS::SQS::Queue':
      return regional('sqs', name);
    case 'AWS::StepFunctions::StateMachine':
      return regional('states', `stateMachine:${name}`);
    case 'AWS::Lambda::Function':
      return regional('lambda', `function:${name}`);
    case 'AWS::Logs::LogGroup':
      return regional('logs', `log-group:${name}:*`);
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}`;
    case 'AWS::SecretsManager::Secret':
      return regional('secretsmanager', `secret:${name}`);
    case 'AWS::SNS::Topic':
      return regional('sns', name);
    default:
      return regional(type.split('::')[1].toLowerCase(), name);
  }
}

/**
 * Resolves the intrinsics the templates use in names and environments: Ref, Fn::GetAtt (Arn, Name), Fn::Join and weak
 * cross-stack Fn::GetStackOutput.
 */
export function resolveName(templates: Templates, stackName: string, value: Json | undefined): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const ref = value.Ref;
    if (typeof ref === 'string') {
      const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': LOCAL_REGION, 'AWS::AccountId': LOCAL_ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
      if (pseudo[ref]) return pseudo[ref];
      const resource = templates.get(stackName)?.Resources[ref];
      if (!resource) throw new Error(`Template ${stackName}: Ref to unknown resource ${ref}`);
      // A queue's Ref is its URL, a state machine's its ARN.
      if (resource.Type === 'AWS::SQS::Queue') return `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${physicalName(stackName, ref, resource.Type)}`;
      if (resource.Type === 'AWS::StepFunctions::StateMachine' || resource.Type === 'AWS::SecretsManager::Secret') return localArn(stackName, ref, resource.Type);
      return physicalName(stackName, ref, resource.Type);
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string') {
      const resource = templates.get(stackName)?.Resources[getAtt[0]];
      if (!resource) throw new Error(`Template ${stackName}: Fn::GetAtt of unknown resource ${getAtt[0]}`);
      return localArn(stackName, getAtt[0], resource.Type);
    }
    // A state machine's Name (the policies name its executions by it, R-TERM-1..5).
    if (Array.isArray(getAtt) && getAtt[1] === 'Name' && typeof getAtt[0] === 'string') {
      const resource = templates.get(stackName)?.Resources[getAtt[0]];
      if (!resource) throw new Error(`Template ${stackName}: Fn::GetAtt of unknown resource ${getAtt[0]}`);
      return physicalName(stackName, getAtt[0], resource.Type);
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part) => resolveName(templates, stackName, part)).join(join[0]);
    }
    const output = value['Fn::GetStackOutput'] as { StackName?: string; OutputName?: string } | undefined;
    if (output?.StackName && output.OutputName) {
      const producer = templates.get(output.StackName)?.Outputs?.[output.OutputName];
      if (!producer) throw new Error(`Template ${output.StackName}: no output ${output.OutputName}`);
      return resolveName(templates, output.StackName, producer.Value);
    }
  }
  throw new Error(`Cannot resolve a local name from ${JSON.stringify(value)}`);
}

function resourcesOf(
  templates: Templates,
  type: string,
): { stackName: string; logicalId: string; properties: Record<string, Json>; metadata: Record<string, Json> }[] {
  return [...templates].flatMap(([stackName, template]) =>
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId, resource]) => ({ stackName, logicalId, properties: resource.Properties ?? {}, metadata: resource.Metadata ?? {} })),
  );
}

type KeyElement = { AttributeName: string; KeyType: 'HASH' | 'RANGE' };

function tableOf(stackName: string, logicalId: string, p: Record<string, Json>): LocalTable {
  const keySchema = p.KeySchema as unknown as KeyElement[];
  const indexes = (p.GlobalSecondaryIndexes ?? []) as unknown as { IndexName: string; KeySchema: KeyElement[]; Projection: { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] } }[];
  const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  const name = physicalName(stackName, logicalId, 'AWS::DynamoDB::Table');
  return {
    name,
    keyAttributes: keySchema.map((k) => k.AttributeName),
    ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
    create: {
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: p.AttributeDefinitions as unknown as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: keySchema,
      ...(indexes.length > 0
        ? { GlobalSecondaryIndexes: indexes.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection })) }
        : {}),
    },
  };
}

function eventSourceOf(templates: Templates): { settings: EventSourceSettings; functionRef: Json; stackName: string } {
  const mappings = resourcesOf(templates, 'AWS::Lambda::EventSourceMapping');
  if (mappings.length !== 1) throw new Error(`Expected one Kinesis event source mapping in the templates, found ${mappings.length}`);
  const { properties: p, stackName } = mappings[0];
  const number = (value: Json | undefined, fallback: number) => (typeof value === 'number' ? value : fallback);
  return {
    stackName,
    functionRef: p.FunctionName,
    // Fallbacks are Lambda's own defaults for a Kinesis source.
    settings: {
      batchSize: number(p.BatchSize, 100),
      maxBatchingWindowMs: number(p.MaximumBatchingWindowInSeconds, 0) * 1000,
      bisectOnError: p.BisectBatchOnFunctionError === true,
      retryAttempts: number(p.MaximumRetryAttempts, -1),
      maxRecordAgeSeconds: number(p.MaximumRecordAgeInSeconds, -1),
      reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
    },
  };
}

/** Reads what to provision from a synthesized assembly directory. */
export function deploymentFromAssembly(assembly: string): LocalDeployment {
  const templates = readTemplates(assembly);
  const tables = resourcesOf(templates, 'AWS::DynamoDB::Table').map((t) => tableOf(t.stackName, t.logicalId, t.properties));
  const streams = resourcesOf(templates, 'AWS::Kinesis::Stream').map(({ stackName, logicalId, properties: p }) => {
    const mode = (p.StreamModeDetails as { StreamMode?: string } | undefined)?.StreamMode;
    return {
      name: physicalName(stackName, logicalId, 'AWS::Kinesis::Stream'),
      shardCount: typeof p.ShardCount === 'number' ? p.ShardCount : mode === 'ON_DEMAND' || !mode ? ON_DEMAND_SHARDS : 1,
      ...(typeof p.RetentionPeriodHours === 'number' ? { retentionHours: p.RetentionPeriodHours } : {}),
    };
  });
  const buckets = resourcesOf(templates, 'AWS::S3::Bucket').map((b) => physicalName(b.stackName, b.logicalId, 'AWS::S3::Bucket'));

  const eventSource = eventSourceOf(templates);
  const functionRef = eventSource.functionRef as { Ref?: string };
  const processor = functionRef.Ref ? templates.get(eventSource.stackName)?.Resources[functionRef.Ref] : undefined;
  if (!processor) throw new Error('The event source mapping names no function of its stack');
  const functions = functionsOf(templates);
  // A name any function is given (the processor does not get the privacy stores, the privacy functions do).
  const env = (name: string) => {
    const holder = Object.values(functions).find((f) => f.environment[name] !== undefined);
    if (!holder) throw new Error(`No function of the templates is given ${name}`);
    return holder.environment[name];
  };
  return {
    tables,
    streams,
    buckets,
    names: {
      controlTable: env(ENV.controlTable),
      dataTable: env(ENV.dataTable),
      auditTable: env(ENV.auditTable),
      payloadBucket: env(ENV.payloadBucket),
      eventStream: env(ENV.eventStream),
      exportsBucket: env(ENV.exportsBucket),
      recordsBucket: env(ENV.recordsBucket),
      ledgerTable: env(ENV.ledgerTable),
    },
    settings: settingsFromEnv({ [ENV.settings]: env(ENV.settings) }),
    eventSource: eventSource.settings,
    functions,
    processorFunction: physicalName(eventSource.stackName, functionRef.Ref!, 'AWS::Lambda::Function'),
    stateMachines: stateMachinesOf(templates),
  };
}

/** Every Lumiqo function (by its `lumiqo:function` metadata) with its synthesized environment, resolved locally. */
function functionsOf(templates: Templates): LocalDeployment['functions'] {
  const found = new Map<string, { name: string; environment: Record<string, string> }>();
  for (const { stackName, logicalId, properties, metadata } of resourcesOf(templates, 'AWS::Lambda::Function')) {
    const fn = metadata[FUNCTION_METADATA_KEY];
    if (typeof fn !== 'string') continue;
    const variables = (properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
    found.set(fn, {
      name: physicalName(stackName, logicalId, 'AWS::Lambda::Function'),
      environment: Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, resolveName(templates, stackName, value)])),
    });
  }
  const missing = FUNCTION_NAMES.filter((name) => !found.has(name));
  if (missing.length > 0) throw new Error(`The templates hold no function ${missing.join(', ')}`);
  return Object.fromEntries(found) as LocalDeployment['functions'];
}

/** The privacy state machines of the templates (lib/workflow-definitions.ts resolves them), one per workflow. */
function stateMachinesOf(templates: Templates): Record<WorkflowName, LocalStateMachine> {
  const found: Record<string, SynthesizedWorkflow> = {};
  for (const template of templates.values()) Object.assign(found, synthesizedWorkflows(template as unknown as CloudFormationTemplate));
  const machines = {} as Record<WorkflowName, LocalStateMachine>;
  for (const workflow of WORKFLOW_NAMES) {
    const machine = found[workflow];
    if (!machine) throw new Error(`The templates hold no state machine for workflow '${workflow}'`);
    machines[workflow] = { workflow, definition: machine.definition as unknown as LocalStateMachine['definition'], taskFunctions: machine.taskFunctions, executionStarts: machine.executionStarts };
  }
  return machines;
}

/** The deployment of the current sources: from the cached assembly, synthesized first if needed. */
export function localDeployment(cacheDir?: string): LocalDeployment {
  return deploymentFromAssembly(synthesizedAssembly(cacheDir));
}
