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
import { composeUsage } from '../../lambdas/usage/composition';
import { createUsageTaskHandler, type UsageTaskResult } from '../../lambdas/usage/handler';
import { createAdminHandler } from '../../lambdas/admin/handler';
import { composeAi } from '../../lambdas/ai/composition';
import { createAiHandler, createInsightTaskHandler } from '../../lambdas/ai/handler';
import { DEFAULT_AI_SETTINGS, type AiSettings } from '../../lambdas/domain/ai/settings';
import type { BillingSettings, DueTerminationOutcome } from '../../lambdas/domain/billing';
import type { Clock } from '../../lambdas/domain/ports';
import type { TerminationTaskDeps } from '../../lambdas/domain/termination-tasks';
import { composeIngest } from '../../lambdas/ingest/composition';
import { createIngestHandler } from '../../lambdas/ingest/handler';
import { composePrivacy } from '../../lambdas/privacy/composition';
import { createPrivacyHandler, createTerminationSweepHandler } from '../../lambdas/privacy/handler';
import type { SweepOutcome } from '../../lambdas/domain/termination';
import { composePrivacyTasks } from '../../lambdas/privacy-tasks/composition';
import { createPrivacyTaskHandler } from '../../lambdas/privacy-tasks/handler';
import { composeProcessor } from '../../lambdas/processor/composition';
import { createProcessorHandler } from '../../lambdas/processor/handler';
import { composeQuery } from '../../lambdas/query/composition';
import { createQueryHandler } from '../../lambdas/query/handler';
import { AI_ENV, BILLING_ENV, type LumiqoFunctionName } from '../../lambdas/shared/declarations';
import type { RuntimeOptions } from '../../lambdas/shared/environment';
import type { RuntimeSettings } from '../../lambdas/domain/settings';
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
  /** Page size, pages per call and loop turns per execution of the termination tasks (tests). @default as deployed */
  readonly terminationBatching?: TerminationTaskDeps['batching'];
  /** Milliseconds between termination sweeps; 0: none, not even at start (a test runs them). @default 60 s */
  readonly terminationSweepIntervalMs?: number;
  /**
   * R-AI-1 locally: the OpenAI-compatible server the AI routes use (`npm start` takes LUMIQO_OPENAI_BASE_URL,
   * LUMIQO_OPENAI_API_KEY or LUMIQO_OPENAI_API_KEY_FILE, LUMIQO_OPENAI_MODEL), and settings tests override.
   * @default none: the AI routes answer ai_not_configured
   */
  readonly ai?: LocalAiOptions;
  /**
   * R-BILL-2 locally: the Stripe API the usage reporter and the reconciliation talk to (a Stripe-compatible server,
   * e.g. stripe-mock or a recording server), its API key, and the meters in place of the synthesized `billing.meters`.
   * @default LUMIQO_STRIPE_API_BASE_URL and LUMIQO_LOCAL_STRIPE_API_KEY of the process; no meters unless configured
   */
  readonly stripe?: { readonly baseUrl?: string; readonly apiKey?: string; readonly meters?: Readonly<Record<string, { eventName: string; meterId: string }>> };
  /** R-BILL-1: the plans (retention and limits) in place of the synthesized ones, for every function (tests). @default as synthesized */
  readonly plans?: RuntimeSettings['plans'];
  /** Operational messages (errors of background loops). @default console.error */
  readonly log?: (message: string, error?: unknown) => void;
}

export interface LocalAiOptions {
  readonly baseUrl?: string;
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  readonly model?: string;
  readonly settings?: Partial<Omit<AiSettings, 'baseUrl' | 'model'>>;
}

/** The AI options of `npm start`, from its environment. */
export function localAiOptionsFromEnv(env: NodeJS.ProcessEnv): LocalAiOptions {
  const pick = (name: string) => (env[name] ? env[name] : undefined);
  return Object.fromEntries(
    Object.entries({ baseUrl: pick(AI_ENV.localBaseUrl), apiKey: pick(AI_ENV.localApiKey), apiKeyFile: pick(AI_ENV.localApiKeyFile), model: pick(AI_ENV.localModel) })
      .filter(([, v]) => v !== undefined),
  );
}

/** The AI function's local environment: the local provider, and any settings the caller overrides. */
function aiEnvironment(env: NodeJS.ProcessEnv, ai: LocalAiOptions = {}): NodeJS.ProcessEnv {
  const settings = { ...(JSON.parse(env[AI_ENV.settings] ?? JSON.stringify(DEFAULT_AI_SETTINGS)) as AiSettings), ...ai.settings };
  const local: Record<string, string | undefined> = {
    [AI_ENV.localBaseUrl]: ai.baseUrl,
    [AI_ENV.localApiKey]: ai.apiKey,
    [AI_ENV.localApiKeyFile]: ai.apiKeyFile,
    [AI_ENV.localModel]: ai.model,
  };
  return { ...env, ...Object.fromEntries(Object.entries(local).filter(([, v]) => v)), [AI_ENV.settings]: JSON.stringify(settings) };
}

export interface LocalPlatform {
  /** Base URL of the API, e.g. http://127.0.0.1:8787 */
  readonly url: string;
  /** Bearer token of the operator routes (in AWS: SigV4). */
  readonly adminToken: string;
  /** R-BILL-3: the Stripe webhook signing secret of POST /v1/billing/stripe/webhook (in AWS: Secrets Manager). */
  readonly stripeWebhookSecret: string;
  /** R-BILL-2: where the usage function sends meter events and reads their summaries (https://api.stripe.com if unset). */
  readonly stripeApiBaseUrl?: string;
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
  /** R-TERM-1..5: runs the termination sweeper now (privacy). */
  sweepTerminations(): Promise<SweepOutcome>;
  /** R-AI-6: runs the hourly insight job now. */
  detectInsights(): Promise<{ tenants: number; insights: number; failed: string[] }>;
  /** R-AI-1: the OpenAI-compatible server the AI routes use, when one is configured. */
  readonly ai: { readonly baseUrl?: string; readonly model: string };
  /** R-BILL-2: runs the daily usage report or reconciliation now (usage). */
  runUsageTask(task: 'report-usage' | 'reconcile-usage'): Promise<UsageTaskResult>;
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

/** R-BILL-2: the usage function's local environment: the Stripe API key and base URL from config, and any meters. */
function usageEnvironment(env: NodeJS.ProcessEnv, stripe: LocalPlatformOptions['stripe'] = {}): NodeJS.ProcessEnv {
  const usage = { ...(JSON.parse(env[BILLING_ENV.usageSettings] ?? '{}') as object), ...(stripe.meters ? { meters: stripe.meters } : {}) };
  const baseUrl = stripe.baseUrl ?? process.env[BILLING_ENV.apiBaseUrl];
  return {
    ...env,
    [BILLING_ENV.usageSettings]: JSON.stringify(usage),
    // In place of Secrets Manager; Stripe at the configured base URL (https://api.stripe.com without one).
    [BILLING_ENV.localApiKey]: stripe.apiKey ?? process.env[BILLING_ENV.localApiKey] ?? 'sk_test_local',
    ...(baseUrl ? { [BILLING_ENV.apiBaseUrl]: baseUrl } : {}),
  };
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
    // Every function invocation under way, and what the timers started, ends before the emulators close under it
    // (dynalite rejects an operation on its closed database where nobody awaits it).
    const running = new Set<Promise<unknown>>();
    const tracked = <R>(work: Promise<R>): Promise<R> => {
      const settled = work.then(
        () => undefined,
        () => undefined,
      );
      running.add(settled);
      void settled.then(() => running.delete(settled));
      return work;
    };
    const background = (what: string, run: () => Promise<unknown>) => void tracked(run()).catch((error) => log(what, error));
    stops.push(async () => {
      while (running.size > 0) await Promise.all(running);
    });
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
    let armPurges: () => Promise<void> = async () => undefined;
    const runtime: RuntimeOptions = {
      clients: emulators.clients,
      workflows: { start: (workflow, name, input) => workflows!.start(workflow, name, input), status: (id) => workflows!.status(id) },
      deadLetters,
      ...(options.clock ? { clock: options.clock } : {}),
    };
    // R-TERM-4, R-TERM-5 locally: tenant keys are raw AES key files and deletion records are signed with a local
    // ECDSA key, created on first use, both in keyDir. No STS runs locally: reads use the platform's credentials.
    const environment = (name: LumiqoFunctionName): NodeJS.ProcessEnv => {
      const { [ENV.tenantReadRoleArn]: _noSts, ...synthesized } = deployment.functions[name].environment;
      const plans = options.plans && synthesized[ENV.settings] ? { [ENV.settings]: JSON.stringify({ ...JSON.parse(synthesized[ENV.settings]), plans: options.plans }) } : {};
      return { ...synthesized, ...plans, [ENV.keyring]: 'local', [ENV.localKeyDir]: keyDir };
    };
    const around = options.aroundInvocation;
    const invoked =
      <E, R>(fn: LumiqoFunctionName, handler: (event: E) => Promise<R>) =>
      (event: E): Promise<R> =>
        tracked(around ? around(fn, () => handler(event)) : handler(event));
    const platform = composeTerminationTasks(environment('termination-tasks'), runtime);
    const privacyTasks = invoked('privacy-tasks', createPrivacyTaskHandler(composePrivacyTasks(environment('privacy-tasks'), runtime)));
    // R-TERM-2: a shortened ExportWindow (tests) is the export window's length; the purge then starts at its end.
    const exportWindowMs = options.workflows?.waitOverridesMs?.ExportWindow;
    const terminationTasks = invoked(
      'termination-tasks',
      createTerminationTaskHandler({
        ...platform,
        ...(options.terminationBatching ? { batching: options.terminationBatching } : {}),
        ...(exportWindowMs === undefined ? {} : { exportWindowMs }),
      }),
    );
    // R-BILL-2: the daily usage tasks and the termination's ReportUsage state (R-TERM-1).
    const usageEnv = usageEnvironment(environment('usage'), options.stripe);
    const stripeApiBaseUrl = usageEnv[BILLING_ENV.apiBaseUrl];
    const usageTasks = invoked('usage', createUsageTaskHandler(composeUsage(usageEnv, runtime)));
    workflows = new LocalWorkflows(
      deployment.stateMachines,
      {
        'privacy-tasks': (payload) => privacyTasks(payload as never),
        'termination-tasks': (payload) => terminationTasks(payload as never),
        usage: (payload) => usageTasks(payload as never),
      },
      {
        onExecutionError: (arn, error) => log(`workflow ${arn} failed`, error),
        ...options.workflows,
        // R-TERM-2: a termination execution that ends with its export offered arms the purge for the window's end.
        onExecutionEnd: (execution) => {
          options.workflows?.onExecutionEnd?.(execution);
          if (execution.workflow === 'termination') background('termination schedule', () => armPurges());
        },
      },
    );
    stops.push(async () => workflows!.close());
    /** What a scheduled EventBridge rule runs in AWS, every `ms` here from start; stopped with the platform. */
    const every = (ms: number, what: string, run: () => Promise<unknown>) => {
      const timer = setInterval(() => background(what, run), ms);
      timer.unref();
      stops.push(async () => clearInterval(timer));
    };
    const hourly = (what: string, run: () => Promise<unknown>) => every(3_600_000, what, run);
    // R-DSR-5: the hourly deadline check (the metric goes to stdout as EMF).
    hourly('deadline check', () => privacyTasks({ task: 'check-deadlines' }));
    const privacyDeps = composePrivacy(environment('privacy'), runtime);
    const billingDeps = composeBilling(billingEnvironment(environment('billing'), stripeWebhookSecret, options.billing), runtime);
    const aiDeps = composeAi(aiEnvironment(environment('ai'), options.ai), runtime);
    const detectInsights = invoked('ai', createInsightTaskHandler(aiDeps));
    // R-AI-6: the hourly insight job.
    hourly('insight job', () => detectInsights({ task: 'detect-insights' }));
    const handlers = {
      ingest: invoked('ingest', createIngestHandler(composeIngest(environment('ingest'), runtime))),
      query: invoked('query', createQueryHandler(composeQuery(environment('query'), runtime))),
      admin: invoked('admin', createAdminHandler(composeAdmin(environment('admin'), runtime))),
      privacy: invoked('privacy', createPrivacyHandler(privacyDeps)),
      // R-BILL-3 locally: the signing secret from the local state, in place of Secrets Manager.
      billing: invoked('billing', createBillingHandler(billingDeps)),
      // R-AI-1 locally: the OpenAI-compatible server of options.ai, else ai_not_configured.
      ai: invoked('ai', createAiHandler(aiDeps)),
    };
    // R-TERM-1: the hourly due-termination check.
    const startDueTerminations = invoked('billing', createDueTerminationsHandler(billingDeps));
    hourly('due-termination check', () => startDueTerminations({ task: 'start-due-terminations' }));
    // R-BILL-2: the daily usage report and reconciliation the EventBridge rules run in AWS, here every 24 h from start.
    every(24 * 3_600_000, 'usage report', () => usageTasks({ task: 'report-usage' }).then(() => usageTasks({ task: 'reconcile-usage' })));

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

    // R-TERM-1..5: the termination sweeper the EventBridge rule runs in AWS; on start it re-arms every termination
    // from its record (executions of an earlier run are gone), then it runs periodically.
    const sweepTerminations = invoked('privacy', createTerminationSweepHandler(privacyDeps));
    const sweep = () => sweepTerminations({ task: 'sweep-terminations' });
    // The local one-time schedules: a timer per termination waiting for its export window, set from the records.
    const schedules = new Map<string, NodeJS.Timeout>();
    stops.push(async () => {
      for (const timer of schedules.values()) clearTimeout(timer);
      schedules.clear();
    });
    armPurges = async () => {
      for (const tenantId of await platform.requests.openTerminations()) {
        const record = await platform.requests.getTermination(tenantId);
        if (record?.status !== 'running' || record.checkpoint?.stage !== 'await-window' || !record.purgeAfter || schedules.has(record.terminationId)) continue;
        // Timers last at most an hour (Node's limit is 24.8 days): each one sweeps, then arms the next.
        const timer = setTimeout(() => {
          schedules.delete(record.terminationId);
          background('termination sweep', () => sweep().then(() => armPurges()));
        }, Math.min(3_600_000, Math.max(0, Date.parse(record.purgeAfter) - platform.clock.now().getTime())));
        timer.unref();
        schedules.set(record.terminationId, timer);
      }
    };
    if (options.terminationSweepIntervalMs !== 0) {
      await sweep().catch((error) => log('termination sweep', error));
      await armPurges().catch((error) => log('termination schedule', error));
      const sweeper = setInterval(() => background('termination sweep', sweep), options.terminationSweepIntervalMs ?? 60_000);
      sweeper.unref();
      stops.push(async () => clearInterval(sweeper));
    }

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
      ...(stripeApiBaseUrl ? { stripeApiBaseUrl } : {}),
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
      sweepTerminations: sweep,
      detectInsights: () => detectInsights({ task: 'detect-insights' }),
      ai: { ...(aiDeps.assistant.providerBaseUrl ? { baseUrl: aiDeps.assistant.providerBaseUrl } : {}), model: aiDeps.assistant.modelName },
      runUsageTask: (task) => usageTasks({ task }),
      startupMs: Date.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
