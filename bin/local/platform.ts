/**
 * The whole platform on one machine (issue 3): emulators provisioned from the synthesized templates, the same
 * handlers behind a local API Gateway, the processor behind an emulated Kinesis event source mapping, a local
 * dead-letter queue, a TTL sweeper, and per-tenant raw AES key files instead of KMS (the local keyring).
 * Every function is built through its own composition (`lambdas/<name>/composition.ts`) from the environment CDK
 * synthesized for it, its names resolved to the local resources: the Lambda wiring, with the keyring, the
 * executions and the dead-letter queue swapped for their local stand-ins. `npm start` (bin/local.ts), the
 * end-to-end tests and the benchmark all start it through here.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAwsClients } from '../../lambdas/adapters/clients';
import { randomBytes } from 'node:crypto';
import { composeAdmin } from '../../lambdas/admin/composition';
import { composeBilling } from '../../lambdas/billing/composition';
import { createBillingHandler, createDueTerminationsHandler } from '../../lambdas/billing/handler';
import { createAdminHandler } from '../../lambdas/admin/handler';
import type { BillingSettings, DueTerminationOutcome } from '../../lambdas/domain/billing';
import type { Clock } from '../../lambdas/domain/ports';
import type { TerminationTaskDeps } from '../../lambdas/domain/termination-tasks';
import { composeIngest } from '../../lambdas/ingest/composition';
import { createIngestHandler } from '../../lambdas/ingest/handler';
import { composePrivacy } from '../../lambdas/privacy/composition';
import { createPrivacyHandler } from '../../lambdas/privacy/handler';
import { composePrivacyTasks } from '../../lambdas/privacy-tasks/composition';
import { createPrivacyTaskHandler } from '../../lambdas/privacy-tasks/handler';
import { composeProcessor } from '../../lambdas/processor/composition';
import { createProcessorHandler } from '../../lambdas/processor/handler';
import { composeQuery } from '../../lambdas/query/composition';
import { createQueryHandler } from '../../lambdas/query/handler';
import { BILLING_ENV, type LumiqoFunctionName } from '../../lambdas/shared/declarations';
import type { RuntimeOptions } from '../../lambdas/shared/environment';
import { ENV } from '../../lambdas/shared/settings';
import { composeTerminationTasks } from '../../lambdas/termination-tasks/composition';
import { createTerminationTaskHandler } from '../../lambdas/termination-tasks/handler';
import { LocalDeadLetterQueue } from './dead-letters';
import { createDemo, loadState, saveState, type DemoCredentials } from './demo';
import { LOCAL_ACCOUNT, LOCAL_REGION, provision, startEmulators, type EmulatorClients } from './emulators';
import { FileCheckpoints, KinesisEventSourceMapping } from './event-source-mapping';
import { startGateway } from './http-gateway';
import { localDeployment, type EventSourceSettings, type LocalDeployment } from './schema';
import { TtlSweeper } from './ttl-sweeper';
import { LocalWorkflows, type LocalWorkflowOptions } from './workflows';

export interface LocalPlatformOptions {
  /** Port of the API on 127.0.0.1; 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Keeps data, keys, checkpoints, the DLQ and the demo credentials between runs. @default in memory */
  readonly dataDir?: string;
  /** Create the demo tenant, API key and webhook source on first start. @default true */
  readonly demo?: boolean;
  /** Overrides of the synthesized event source mapping (e.g. a shorter batching window for tests). */
  readonly eventSource?: Partial<EventSourceSettings>;
  /** Wait between empty GetRecords calls per shard. @default 200 ms */
  readonly pollIntervalMs?: number;
  /** How often expired items are deleted. @default 60 s */
  readonly ttlSweepIntervalMs?: number;
  /** Where the synthesized assembly is cached. @default <repo>/cdk.out/local */
  readonly cacheDir?: string;
  readonly clock?: Clock;
  /**
   * How long the processor caches tenant status, restrictions and erasures (tests shorten it together with the
   * workflows' AwaitPropagation wait, as 60 s and 90 s relate in AWS). @default 60 s
   */
  readonly processorCacheMs?: number;
  /** Shortened waits, retry intervals or injected faults for the privacy state machines. @default as synthesized */
  readonly workflows?: LocalWorkflowOptions;
  /**
   * Wraps every invocation of a function, e.g. so a test can tell which function made which AWS call
   * (test/deployed/recorder.ts). @default none
   */
  readonly aroundInvocation?: <T>(fn: LumiqoFunctionName, invocation: () => Promise<T>) => Promise<T>;
  /**
   * Which plan each Stripe price buys, and the grace period, in place of the synthesized `billing` config (tests).
   * @default as synthesized from the config
   */
  readonly billing?: Partial<Pick<BillingSettings, 'prices' | 'terminationGraceDays'>>;
  /** Operational messages (errors of background loops). @default console.error */
  readonly log?: (message: string, error?: unknown) => void;
}

export interface LocalPlatform {
  /** Base URL of the API, e.g. http://127.0.0.1:8787 */
  readonly url: string;
  /** Bearer token of the operator routes (in AWS: SigV4). */
  readonly adminToken: string;
  /** R-BILL-3: the Stripe webhook signing secret of POST /v1/billing/stripe/webhook (in AWS: Secrets Manager). */
  readonly stripeWebhookSecret: string;
  readonly demo?: DemoCredentials;
  readonly dataDir?: string;
  /** Directory of the per-tenant key files (raw AES keyring). */
  readonly keyDir: string;
  readonly deployment: LocalDeployment;
  /** Endpoints and credentials of the emulators, for reading raw data. */
  readonly clients: EmulatorClients;
  /**
   * The termination tasks' adapters, which reach every store of the platform (tests read and check through them).
   * Built through that function's composition, like every other function.
   */
  readonly platform: TerminationTaskDeps;
  readonly deadLetters: LocalDeadLetterQueue;
  readonly eventSourceMapping: KinesisEventSourceMapping;
  readonly ttlSweeper: TtlSweeper;
  /** The privacy state machines' executions (R-DSR-*, R-TERM-*). */
  readonly workflows: LocalWorkflows;
  /** R-TERM-1: runs the hourly due-termination check now (billing). */
  startDueTerminations(): Promise<DueTerminationOutcome>;
  /** Milliseconds from the call to a serving platform. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

export const DEFAULT_PORT = 8787;

/** The billing function's local environment: the local signing secret, and any billing settings the caller overrides. */
function billingEnvironment(env: NodeJS.ProcessEnv, secret: string, billing: LocalPlatformOptions['billing']): NodeJS.ProcessEnv {
  const settings = { ...(JSON.parse(env[BILLING_ENV.settings] ?? '{}') as BillingSettings), ...billing };
  return { ...env, [BILLING_ENV.localWebhookSecret]: secret, [BILLING_ENV.settings]: JSON.stringify(settings) };
}

export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const started = Date.now();
  const log = options.log ?? ((message, error) => console.error(`[lumiqo-local] ${message}`, error ?? ''));
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // R-TERM-4 locally: one key file per tenant; deleting it shreds the tenant's data.
  const keyDir = dataDir ? join(dataDir, 'keys') : mkdtempSync(join(tmpdir(), 'lumiqo-keys-'));
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });

  const deployment = localDeployment(options.cacheDir);
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  // Last started, first stopped: the gateway, then the loops that use the emulators, then the emulators.
  const stop = () =>
    (stopped ??= (async () => {
      for (const step of [...stops].reverse()) await step();
      if (!dataDir) rmSync(keyDir, { recursive: true, force: true });
    })());
  try {
    const emulators = await startEmulators(dataDir);
    stops.push(() => emulators.close());
    await provision(emulators.clients, deployment);

    let state = loadState(dataDir);
    if (!state.stripeWebhookSecret) {
      state = { ...state, stripeWebhookSecret: `whsec_${randomBytes(24).toString('base64')}` };
      saveState(dataDir, state);
    }
    const stripeWebhookSecret = state.stripeWebhookSecret!;
    const deadLetters = new LocalDeadLetterQueue(dataDir && join(dataDir, 'dead-letters.jsonl'));
    // Functions start executions through `workflows`, whose tasks run over the same emulators.
    let workflows: LocalWorkflows | undefined;
    const runtime: RuntimeOptions = {
      clients: emulators.clients,
      workflows: { start: (workflow, name, input) => workflows!.start(workflow, name, input) },
      deadLetters,
      ...(options.clock ? { clock: options.clock } : {}),
    };
    // R-TERM-4, R-TERM-5 locally: tenant keys are raw AES key files and deletion records are signed with a local
    // ECDSA key, created on first use, both in keyDir. No STS runs locally: reads use the platform's credentials.
    const environment = (name: LumiqoFunctionName): NodeJS.ProcessEnv => {
      const { [ENV.tenantReadRoleArn]: _noSts, ...synthesized } = deployment.functions[name].environment;
      return { ...synthesized, [ENV.keyring]: 'local', [ENV.localKeyDir]: keyDir };
    };
    const around = options.aroundInvocation;
    const invoked = <E, R>(fn: LumiqoFunctionName, handler: (event: E) => Promise<R>) =>
      around ? (event: E) => around(fn, () => handler(event)) : handler;
    const platform = composeTerminationTasks(environment('termination-tasks'), runtime);
    const privacyTasks = invoked('privacy-tasks', createPrivacyTaskHandler(composePrivacyTasks(environment('privacy-tasks'), runtime)));
    const terminationTasks = invoked('termination-tasks', createTerminationTaskHandler(platform));
    workflows = new LocalWorkflows(
      deployment.stateMachines,
      { 'privacy-tasks': (payload) => privacyTasks(payload as never), 'termination-tasks': (payload) => terminationTasks(payload as never) },
      { onExecutionError: (arn, error) => log(`workflow ${arn} failed`, error), ...options.workflows },
    );
    stops.push(async () => workflows!.abortAll());
    // R-DSR-5: the hourly deadline check the EventBridge rule runs in AWS (the metric goes to stdout as EMF).
    const deadlines = setInterval(() => {
      privacyTasks({ task: 'check-deadlines' }).catch((error) => log('deadline check', error));
    }, 3_600_000);
    deadlines.unref();
    stops.push(async () => clearInterval(deadlines));
    const billingDeps = composeBilling(billingEnvironment(environment('billing'), stripeWebhookSecret, options.billing), runtime);
    const handlers = {
      ingest: invoked('ingest', createIngestHandler(composeIngest(environment('ingest'), runtime))),
      query: invoked('query', createQueryHandler(composeQuery(environment('query'), runtime))),
      admin: invoked('admin', createAdminHandler(composeAdmin(environment('admin'), runtime))),
      privacy: invoked('privacy', createPrivacyHandler(composePrivacy(environment('privacy'), runtime))),
      // R-BILL-3 locally: the signing secret from the local state, in place of Secrets Manager.
      billing: invoked('billing', createBillingHandler(billingDeps)),
    };
    // R-TERM-1: the hourly due-termination check the EventBridge rule runs in AWS.
    const startDueTerminations = invoked('billing', createDueTerminationsHandler(billingDeps));
    const dueCheck = setInterval(() => {
      startDueTerminations({ task: 'start-due-terminations' }).catch((error) => log('due-termination check', error));
    }, 3_600_000);
    dueCheck.unref();
    stops.push(async () => clearInterval(dueCheck));

    const aws = createAwsClients(emulators.clients);
    const functionArn = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${deployment.processorFunction}`;
    const eventSourceMapping = new KinesisEventSourceMapping({
      kinesis: aws.kinesis,
      streamName: deployment.names.eventStream,
      settings: { ...deployment.eventSource, ...options.eventSource },
      invoke: invoked(
        'processor',
        createProcessorHandler(
          composeProcessor(environment('processor'), runtime),
          options.processorCacheMs === undefined ? {} : { tenantCacheMs: options.processorCacheMs },
        ),
      ),
      onFailure: (record) => deadLetters.append(record),
      checkpoints: new FileCheckpoints(dataDir && join(dataDir, 'checkpoints.json')),
      functionArn,
      region: LOCAL_REGION,
      pollIntervalMs: options.pollIntervalMs,
      onError: (error) => log('event source mapping', error),
    });
    await eventSourceMapping.start();
    stops.push(() => eventSourceMapping.stop());

    // R-RET-1: an expired event's S3 payload goes with it (in AWS: the payload bucket's lifecycle rule of its class).
    const ttlSweeper = new TtlSweeper(aws.dynamo, deployment.tables, platform.clock, async (table, item) => {
      const objectKey = (item.body as { objectKey?: unknown } | undefined)?.objectKey;
      if (table.name === deployment.names.dataTable && typeof objectKey === 'string') await platform.payloads.delete([objectKey]);
    });
    ttlSweeper.start(options.ttlSweepIntervalMs ?? 60_000, (error) => log('TTL sweeper', error));
    stops.push(() => ttlSweeper.stop());

    const gateway = await startGateway(
      {
        handlers,
        adminToken: state.adminToken,
        stage: deployment.settings.stage,
        localRoutes: { 'dead-letters': () => ({ messages: deadLetters.messages() }) },
        onError: (error) => log('gateway', error),
      },
      options.port ?? DEFAULT_PORT,
    );
    stops.push(() => gateway.close());

    let demo = state.demo;
    if (!demo && options.demo !== false) {
      demo = await createDemo(gateway.url, state.adminToken);
      saveState(dataDir, { ...state, demo });
    }
    return {
      url: gateway.url,
      adminToken: state.adminToken,
      stripeWebhookSecret,
      ...(demo ? { demo } : {}),
      ...(dataDir ? { dataDir } : {}),
      keyDir,
      deployment,
      clients: emulators.clients,
      platform,
      deadLetters,
      eventSourceMapping,
      ttlSweeper,
      workflows,
      startDueTerminations: () => startDueTerminations({ task: 'start-due-terminations' }),
      startupMs: Date.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
