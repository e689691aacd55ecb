/**
 * The deployed shape, on this machine: every function built through its Lambda entry (`lambdas/<name>/handler.ts`
 * `handler`) from the environment CDK synthesized for it, in AWS mode (KMS keyring, KMS signing key, Step Functions,
 * SQS, the tenant read role through STS), with only the endpoints pointed here: the npm emulators for DynamoDB,
 * Kinesis and S3, and the wire-protocol fakes for KMS, STS, SQS and Step Functions (test/support/fake-aws). The
 * executions Step Functions is asked to start run the synthesized state machines, their task states invoking the
 * task functions' Lambda entries. Every AWS call made is recorded per function (recorder.ts).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { LOCAL_REGION, provision, startEmulators, type RunningEmulators } from '../../bin/local/emulators';
import { deploymentFromAssembly, readTemplates, synthesizedAssembly, type LocalDeployment } from '../../bin/local/schema';
import { LocalWorkflows } from '../../bin/local/workflows';
import { WORKFLOW_NAMES, type WorkflowName } from '../../lambdas/domain/privacy';
import { AI_ENV, BILLING_ENV, type LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { ENV } from '../../lambdas/shared/settings';
import { startFakeAws, type FakeAws } from '../support/fake-aws';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai';
import { RecordingStripeServer } from '../support/stripe-server';
import { DEFAULT_KEY_POLICY, DeployedPolicies, type KeyFacts, type PolicyDocument } from './iam';
import { asFunction, installCallRecorder } from './recorder';

type Entry = (event: never) => Promise<unknown>;
/** Each function's Lambda entry, loaded as Lambda loads it: the module's `handler` export. */
const ENTRIES: Readonly<Record<LumiqoFunctionName, () => Entry>> = {
  ingest: () => require('../../lambdas/ingest/handler').handler,
  processor: () => require('../../lambdas/processor/handler').handler,
  query: () => require('../../lambdas/query/handler').handler,
  admin: () => require('../../lambdas/admin/handler').handler,
  privacy: () => require('../../lambdas/privacy/handler').handler,
  'privacy-tasks': () => require('../../lambdas/privacy-tasks/handler').handler,
  'termination-tasks': () => require('../../lambdas/termination-tasks/handler').handler,
  billing: () => require('../../lambdas/billing/handler').handler,
  ai: () => require('../../lambdas/ai/handler').handler,
  usage: () => require('../../lambdas/usage/handler').handler,
};

/**
 * R-BILL-3: the Stripe webhook signing secret the billing function verifies with, put into the stack's secret (as an
 * operator does after deploying); the function reads it from Secrets Manager, as in AWS.
 */
export const DEPLOYED_STRIPE_SECRET = 'whsec_deployed_shape_0123456789abcdef';

/** R-AI-3: the model provider's API key, put into the stack's secret (as an operator does); read from Secrets Manager. */
export const DEPLOYED_AI_API_KEY = 'sk-deployed-shape-0123456789abcdef';
/** R-BILL-2: the Stripe API key put into the stack's secret, and the meters the deployment's config names. */
export const DEPLOYED_STRIPE_API_KEY = 'rk_test_deployed_shape_usage';
export const DEPLOYED_METERS = [{ meter: 'events.event', id: 'mtr_deployed_events', eventName: 'lumiqo_events' }] as const;

/** Waits of the state machines, shortened: what each waits for happens at once here. */
const SHORT_WAITS = { AwaitPropagation: 0, AwaitInFlightIngest: 0, AwaitStreamDrain: 20 };

export interface DeployedWorld {
  readonly deployment: LocalDeployment;
  readonly policies: DeployedPolicies;
  readonly emulators: RunningEmulators;
  readonly aws: FakeAws;
  /** R-AI-1: the scripted OpenAI-compatible server the AI function's provider endpoint points at. */
  readonly openai: FakeOpenAi;
  /** R-BILL-2: the recording Stripe server the usage function's real SDK talks to (its base URL, as in local mode). */
  readonly stripe: RecordingStripeServer;
  /** Each function's environment as Lambda gets it: the synthesized one, endpoints aside. */
  environment(fn: LumiqoFunctionName): Readonly<Record<string, string>>;
  /** Invokes a function through its Lambda entry, as `fn`, with its own environment. */
  invoke<R>(fn: LumiqoFunctionName, event: unknown): Promise<R>;
  http(fn: 'ingest' | 'query' | 'admin' | 'privacy' | 'billing' | 'ai', event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult>;
  processor(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse>;
  keyFacts: KeyFacts;
  close(): Promise<void>;
}

export async function startDeployedWorld(): Promise<DeployedWorld> {
  installCallRecorder();
  const assembly = synthesizedAssembly();
  const templates = readTemplates(assembly);
  const deployment = deploymentFromAssembly(assembly);
  const policies = new DeployedPolicies(templates, deployment);

  const emulators = await startEmulators();
  await provision(emulators.clients, deployment);

  // The state machines by their deployed ARN, as the functions' environments name them.
  const machineArns = JSON.parse(deployment.functions.privacy.environment[ENV.stateMachines]) as Record<WorkflowName, string>;
  const workflowOf = new Map(Object.entries(machineArns).map(([workflow, arn]) => [arn, workflow as WorkflowName]));
  let workflows: LocalWorkflows | undefined;
  const aws = await startFakeAws({
    // s3rver accepts only its own credentials; the tenant-scoped sessions are told apart by their session token.
    sts: { credentials: { accessKeyId: emulators.clients.credentials.accessKeyId, secretAccessKey: emulators.clients.credentials.secretAccessKey } },
    sfn: {
      stateMachines: WORKFLOW_NAMES.map((w) => machineArns[w]),
      // RUNNING until the local execution ends, as DescribeExecution would say (R-TERM-1..5, the sweeper).
      onStart: async (arn, name, input) => {
        const { executionId } = await workflows!.start(workflowOf.get(arn)!, name, input as never);
        const execution = workflows!.execution(executionId)!;
        await execution.done;
        if (execution.status === 'FAILED') throw new Error(execution.error?.name ?? 'ExecutionFailed');
        return execution.output;
      },
    },
  });

  // The CloudFormation-made keys KMS holds: the signing key (R-TERM-5), with its synthesized key policy.
  const signingKeyArn = deployment.functions['privacy-tasks'].environment[ENV.signingKeyId];
  aws.kms.createSigningKey({ arn: signingKeyArn, policy: JSON.stringify(policies.templateKeyPolicy(signingKeyArn)) });
  aws.secretsManager.createSecret(deployment.functions.billing.environment[BILLING_ENV.webhookSecretArn], DEPLOYED_STRIPE_SECRET);
  aws.secretsManager.createSecret(deployment.functions.ai.environment[AI_ENV.apiKeySecretArn], DEPLOYED_AI_API_KEY);
  const openai = await startFakeOpenAi();
  aws.secretsManager.createSecret(deployment.functions.usage.environment[BILLING_ENV.apiKeySecretArn], DEPLOYED_STRIPE_API_KEY);
  const stripe = await new RecordingStripeServer({ now: () => new Date() }, DEPLOYED_METERS.map(({ id, eventName }) => ({ id, eventName }))).start();
  const queueUrl = deployment.functions.processor.environment[ENV.deadLetterQueueUrl];
  const fakeQueueUrl = aws.sqs.createQueue(queueUrl.split('/').pop()!);

  // What Lambda gives every function: its region and its role's credentials, which the SDK reads when it first signs.
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: emulators.clients.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulators.clients.credentials.secretAccessKey,
  });
  const endpoints: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.clients.endpoints.dynamodb!,
    AWS_ENDPOINT_URL_S3: emulators.clients.endpoints.s3!,
    AWS_ENDPOINT_URL_KINESIS: emulators.clients.endpoints.kinesis!,
    AWS_ENDPOINT_URL_KMS: aws.endpoints.kms,
    AWS_ENDPOINT_URL_STS: aws.endpoints.sts,
    AWS_ENDPOINT_URL_SQS: aws.endpoints.sqs,
    AWS_ENDPOINT_URL_SFN: aws.endpoints.sfn,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoints.secretsManager,
    [ENV.s3ForcePathStyle]: 'true',
    // Not an AWS endpoint: Stripe's base URL, which only local mode and this tier set (https://api.stripe.com in AWS).
    [BILLING_ENV.apiBaseUrl]: stripe.url,
  };
  const environment = (fn: LumiqoFunctionName): Record<string, string> => {
    const synthesized = { ...deployment.functions[fn].environment };
    // The queue's URL names its host; only the host differs here.
    if (synthesized[ENV.deadLetterQueueUrl]) synthesized[ENV.deadLetterQueueUrl] = fakeQueueUrl;
    // The provider's endpoint: the scripted server, in place of the configured ai.baseUrl (none by default); its key
    // still comes from the stack's secret, as in AWS.
    if (fn === 'ai') synthesized[AI_ENV.localBaseUrl] = openai.baseUrl;
    // The meters an operator configures (billing.meters) once they exist in Stripe.
    if (synthesized[BILLING_ENV.usageSettings]) {
      const meters = Object.fromEntries(DEPLOYED_METERS.map(({ meter, id, eventName }) => [meter, { eventName, meterId: id }]));
      synthesized[BILLING_ENV.usageSettings] = JSON.stringify({ ...JSON.parse(synthesized[BILLING_ENV.usageSettings]), meters });
    }
    return { ...synthesized, ...endpoints };
  };

  const handlers = new Map<LumiqoFunctionName, Entry>();
  async function invoke<R>(fn: LumiqoFunctionName, event: unknown): Promise<R> {
    let handler = handlers.get(fn);
    if (!handler) handlers.set(fn, (handler = ENTRIES[fn]()));
    const entry = handler;
    return asFunction(fn, () => {
      // The entry composes its function from process.env on its first invocation, synchronously: the function's own
      // environment is in place for exactly that call, as it is for the Lambda runtime.
      const saved = process.env;
      process.env = { ...saved, ...environment(fn) };
      try {
        return entry(event as never) as Promise<R>;
      } finally {
        process.env = saved;
      }
    });
  }

  workflows = new LocalWorkflows(
    deployment.stateMachines,
    {
      'privacy-tasks': (payload) => invoke('privacy-tasks', payload),
      'termination-tasks': (payload) => invoke('termination-tasks', payload),
      usage: (payload) => invoke('usage', payload),
    },
    // Executions named as Step Functions names them: the termination record holds that ARN (R-TERM-1..5, Claim).
    { waitOverridesMs: SHORT_WAITS, retryIntervalMs: 0, stateMachineArns: machineArns },
  );

  const keyFacts: KeyFacts = {
    // An alias deleted since (termination deletes the tenant's) still names the key it pointed at when it was used.
    keyArnOf: (ref) =>
      aws.kms.key(ref)?.arn ??
      aws.kms.key(String(aws.kms.calls.find((c) => c.operation === 'CreateAlias' && (c.input.AliasName === ref || ref.endsWith(`:${c.input.AliasName}`)))?.input.TargetKeyId))?.arn,
    tagsOf: (arn) => aws.kms.key(arn)?.tags ?? {},
    policyOf: (arn) => {
      const policy = aws.kms.key(arn)?.policy;
      return policy ? (JSON.parse(policy) as PolicyDocument) : DEFAULT_KEY_POLICY;
    },
  };

  return {
    deployment,
    policies,
    emulators,
    aws,
    openai,
    stripe,
    environment,
    invoke,
    http: (fn, event) => invoke(fn, event),
    processor: (event) => invoke('processor', event),
    keyFacts,
    close: async () => {
      workflows!.close();
      await stripe.close();
      await aws.close();
      await openai.close();
      await emulators.close();
    },
  };
}
