import * as cdk from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
// Type only: the module's runtime imports (canonicalize, ESM) have no place in the CDK app.
import type { BackupFacts } from '../../lambdas/domain/deletion-records';
import { DEAD_LETTER_RETENTION_DAYS, PITR_WINDOW_DAYS, WORKFLOW_NAMES } from '../../lambdas/domain/privacy';
import { FUNCTION_DECLARATIONS } from '../../lambdas/shared/functions';
import { tenantObjectPattern } from '../../lambdas/domain/keys';
import { stackPrefix, type LumiqoConfig } from '../config';
import { AiProvider } from '../constructs/ai-provider';
import { IngestionApi } from '../constructs/ingestion-api';
import { LumiqoFunction, functionConstructId, pascalCase, type LumiqoFunctionName } from '../constructs/lumiqo-function';
import { OperationsAlarms, overduePrivacyRequestsMetric, billingUsageMetrics } from '../constructs/operations-alarms';
import { OperatorAccess } from '../constructs/operator-access';
import { INGEST_TIMEOUT, PrivacyWorkflows } from '../constructs/privacy-workflows';
import { StreamProcessor } from '../constructs/stream-processor';
import { fixKeyTags } from '../constructs/grants';
import { TenantKeys } from '../constructs/tenant-keys';
import { CONTROL_PACKS, acknowledge, acknowledgeWildcardResources } from '../nag';
import type { DataStack } from './data-stack';

export interface ServicesStackProps extends cdk.StackProps {
  readonly config: LumiqoConfig;
  readonly data: DataStack;
}

/**
 * Reserved concurrency per function: a flood on one path (ingest) cannot starve the others, and a bug
 * cannot scale a function without bound. Sum 335, which leaves a default account (1,000) room for others.
 * Ingest: stage limit 2,000 req/s at ~50 ms each is ~100 in flight, doubled for headroom. The privacy
 * functions serve rare requests: a handful of executions at once is plenty, and a runaway loop of task states
 * stays small (throttled tasks are retried by the state machines).
 */
const RESERVED_CONCURRENCY: Readonly<Record<LumiqoFunctionName, number>> = {
  ingest: 200, processor: 50, query: 50, admin: 10, privacy: 10, 'privacy-tasks': 10, 'termination-tasks': 5,
  // Stripe delivers a handful of events per tenant and month; retried deliveries wait for capacity.
  billing: 10,
  // R-AI-1, OWASP LLM10: questions are rate-limited per tenant too; a turn holds a container for seconds.
  ai: 20,
  // R-BILL-2: one daily report, one reconciliation, and the flush of the few tenants terminating at once.
  usage: 2,
};


/** R-DSR-5: the deadline check runs hourly, so an overdue request raises the alarm within the hour. */
const DEADLINE_CHECK_INTERVAL = cdk.Duration.hours(1);

/** The packs that have a LambdaDLQ rule (PCI DSS 3.2.1 has none). */
const DLQ_RULE_PACKS = ['NIST.800.53.R5', 'HIPAA.Security'];

/** The tenant-scoped read role is assumed for one request at a time; an hour is the shortest maximum IAM allows. */
const TENANT_SESSION_MAX = cdk.Duration.hours(1);

/**
 * The stateless half of a deployment: functions, the API with its WAF, the stream processor and the
 * operator alarms. It can be destroyed and redeployed at will; the data stack holds everything that lasts.
 */
/** One full vCPU for the CPU-bound processor (encryption, hashing). */
export const PROCESSOR_MEMORY_MB = 1769;

export class ServicesStack extends cdk.Stack {
  /**
   * Key of this stack's own logs, DLQ and alarm topic. Not the data key: CloudWatch alarms must be allowed to
   * use the topic's key, and that service grant belongs next to the topic rather than in the data key's policy.
   */
  readonly servicesKey: kms.Key;
  readonly functions: Readonly<Record<LumiqoFunctionName, LumiqoFunction>>;
  readonly api: IngestionApi;
  readonly processor: StreamProcessor;
  readonly alarms: OperationsAlarms;
  /** R-SEC-4: the only credentials that read tenant data on behalf of a tenant. */
  readonly tenantReadRole: iam.Role;
  /** R-DSR-1..3, R-TERM-1..5 */
  readonly workflows: PrivacyWorkflows;
  /** R-SEC-5: the operator role and who else may call the operator routes. */
  readonly operators: OperatorAccess;
  /** R-AI-3: the AI function's provider API key secret and settings. */
  readonly aiProvider: AiProvider;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const { store, tenantKeys, documents, signingKey, ledger } = data;

    this.servicesKey = this.createServicesKey(stackPrefix(config));

    const backupFacts: BackupFacts = {
      backupRetentionDays: config.backupRetentionDays,
      keyDeletionWindowDays: TenantKeys.KEY_DELETION_WINDOW_DAYS,
      pitrWindowDays: PITR_WINDOW_DAYS,
      streamRetentionHours: config.stream.retentionHours,
      deadLetterRetentionDays: DEAD_LETTER_RETENTION_DAYS,
    };
    this.aiProvider = new AiProvider(this, 'AiProvider', { key: this.servicesKey, settings: config.ai });
    const bindings = { store, eventStream: data.eventStream, dataKey: data.dataKey, documents, ledger, tenantKeys, signingKey, backupFacts, aiProvider: this.aiProvider };
    const fn = (name: LumiqoFunctionName, timeout: cdk.Duration, memorySize?: number): LumiqoFunction => {
      const f = new LumiqoFunction(this, functionConstructId(name), {
        config,
        declaration: FUNCTION_DECLARATIONS[name],
        logKey: this.servicesKey,
        reservedConcurrentExecutions: RESERVED_CONCURRENCY[name],
        timeout,
        memorySize,
      });
      // Least privilege per function (R-SEC-5): each declared resource of the data stack, as declared.
      f.bind(bindings);
      return f;
    };
    this.functions = {
      // API functions answer within API Gateway's 29 s; the processor gets a batch's worth of time.
      // R-TERM-1: the termination's stream drain waits out this timeout (INGEST_TIMEOUT) before its marker.
      ingest: fn('ingest', INGEST_TIMEOUT),
      // 1,769 MB is one full vCPU: the benchmark's ~3,200 records/s per core keeps up with ~3 saturated shards,
      // where the 512 MB default (~0.29 vCPU) falls behind one (README "Performance").
      processor: fn('processor', cdk.Duration.minutes(2), PROCESSOR_MEMORY_MB),
      query: fn('query', cdk.Duration.seconds(25)),
      admin: fn('admin', cdk.Duration.seconds(25)),
      privacy: fn('privacy', cdk.Duration.seconds(25)),
      // A task handles one batch (250 events) per call, far within these; termination's purge phases are the longest.
      'privacy-tasks': fn('privacy-tasks', cdk.Duration.minutes(5)),
      'termination-tasks': fn('termination-tasks', cdk.Duration.minutes(15)),
      // R-BILL-1: Stripe expects a quick 2xx and retries a delivery that times out; a few table calls take milliseconds.
      billing: fn('billing', cdk.Duration.seconds(15)),
      // R-AI-1: a turn is a few provider calls (each bounded by ai.providerTimeoutMs) within API Gateway's 29 s.
      ai: fn('ai', cdk.Duration.seconds(29)),
      // R-BILL-2: the daily report walks every tenant's open days within Stripe's 35 (a few calls per tenant-day).
      usage: fn('usage', cdk.Duration.minutes(15)),
    };
    const { ingest, processor, query, admin, privacy, billing, ai, usage } = this.mapFunctions((f) => f.function);
    const subjectTasks = this.functions['privacy-tasks'].function;
    const terminationTasks = this.functions['termination-tasks'].function;

    this.tenantReadRole = this.createTenantReadRole([this.functions.query, this.functions.ai], data);

    this.workflows = new PrivacyWorkflows(this, 'PrivacyWorkflows', {
      subjectTasks,
      terminationTasks,
      usageReporter: usage,
      logKey: this.servicesKey,
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });

    // R-DSR-5: hourly, the open requests past their one-month deadline are counted into OverduePrivacyRequests.
    this.hourlyTask('PrivacyDeadlineCheck', 'Counts data-subject requests past their one-month deadline (R-DSR-5)', subjectTasks, 'check-deadlines');
    // R-TERM-1: hourly, tenants whose subscriptions ended more than billing.terminationGraceDays ago are terminated.
    // R-TERM-1..5: hourly, the termination sweeper resumes lost executions and starts purges whose window closed.
    this.hourlyTask('TerminationSweep', 'Resumes lost termination executions and starts the purge once the export window has closed (R-TERM-1..5)',
      this.functions.privacy.function, 'sweep-terminations');
    this.hourlyTask('BillingDueTerminations', 'Starts the termination of tenants whose Stripe subscription ended before the grace period (R-TERM-1)',
      billing, 'start-due-terminations');
    // R-AI-6: hourly, each AI tenant's rollups go through the anomaly detector; what it flags is stored as insights.
    this.hourlyTask('AiInsights', 'Runs the rollup anomaly detector for every tenant that uses AI and stores its insights (R-AI-6)', ai, 'detect-insights');
    // R-BILL-2: daily, after the day closed, the usage report; reconciliation once Stripe has aggregated the report.
    this.scheduledTask('BillingUsageReport', 'Reports each tenant\'s closed days of usage to Stripe meters, then last month\'s statements (R-BILL-2, R-RET-3)',
      usage, 'report-usage', events.Schedule.cron({ minute: '15', hour: '2' }), cdk.Duration.hours(6));
    this.scheduledTask('BillingUsageReconciliation', 'Compares Stripe\'s meter event summaries with the usage ledger per tenant and day (R-BILL-2)',
      usage, 'reconcile-usage', events.Schedule.cron({ minute: '15', hour: '6' }), cdk.Duration.hours(6));

    this.processor = new StreamProcessor(this, 'StreamProcessor', {
      fn: processor,
      stream: data.eventStream,
      queueKey: this.servicesKey,
      settings: config.processor,
    });
    // The resources made after the functions that need them: state machines, the DLQ (R-ING-7: records that can
    // never be stored go to it with their reason, straight from the processor) and the tenant read role (R-SEC-4).
    const late = { ...bindings, workflows: this.workflows, deadLetterQueue: this.processor.deadLetterQueue, tenantReadRole: this.tenantReadRole };
    for (const f of Object.values(this.functions)) f.bind(late);

    // R-SEC-5: the operator, and the API that admits only it to the operator routes.
    this.operators = new OperatorAccess(this, 'Operators', config.operator);
    this.api = new IngestionApi(this, 'IngestionApi', {
      operators: this.operators,
      stageName: config.stage,
      functions: { ingest, query, admin, privacy, billing, ai },
      rateLimits: config.rateLimits,
      logKey: this.servicesKey,
      logRetentionDays: config.logRetentionDays as logs.RetentionDays,
    });

    this.alarms = new OperationsAlarms(this, 'Alarms', {
      topicKey: this.servicesKey,
      alarmEmail: config.alarmEmail,
      functions: this.mapFunctions((f) => f.function),
      processor,
      deadLetterQueue: this.processor.deadLetterQueue,
      api: this.api.api,
      stateMachines: this.workflows.stateMachines,
      overduePrivacyRequests: overduePrivacyRequestsMetric(this.functions['privacy-tasks'].serviceName),
      usage: billingUsageMetrics(this.functions.usage.serviceName),
    });

    this.acknowledgeFindings();
    this.addOutputs();
  }

  /** An EventBridge rule that invokes `fn` with `{ task }` every hour; a missed run is made up by the next one. */
  private hourlyTask(id: string, description: string, fn: lambda.IFunction, task: string): void {
    this.scheduledTask(id, description, fn, task, events.Schedule.rate(DEADLINE_CHECK_INTERVAL), DEADLINE_CHECK_INTERVAL);
  }

  /** An EventBridge rule that invokes `fn` with `{ task }` on `schedule`, retried twice within `maxEventAge`. */
  private scheduledTask(id: string, description: string, fn: lambda.IFunction, task: string, schedule: events.Schedule, maxEventAge: cdk.Duration): void {
    new events.Rule(this, id, {
      description,
      schedule,
      targets: [new targets.LambdaFunction(fn, {
        event: events.RuleTargetInput.fromObject({ task }),
        retryAttempts: 2,
        maxEventAge,
      })],
    });
  }

  private mapFunctions<T>(pick: (f: LumiqoFunction) => T): Record<LumiqoFunctionName, T> {
    const entries = Object.entries(this.functions) as [LumiqoFunctionName, LumiqoFunction][];
    return Object.fromEntries(entries.map(([name, f]) => [name, pick(f)])) as Record<LumiqoFunctionName, T>;
  }

  /** Rotated CMK for this stack's logs (R-SEC-2), DLQ and topic; CloudWatch Logs and alarms may use it. */
  private createServicesKey(deployment: string): kms.Key {
    const key = new kms.Key(this, 'ServicesKey', {
      description: `${deployment}: function and API logs, stream DLQ, alarm topic`,
      enableKeyRotation: true,
      // Log groups outlive the stack (RETAIN); their key must too.
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchLogsEncryptsLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*` } },
    }));
    // R-SEC-5: like the data stack's keys, its tags change only by the stack.
    fixKeyTags(key);
    // Alarms publish to the encrypted topic; SNS uses the key on CloudWatch's behalf.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    return key;
  }

  /**
   * R-SEC-4: the role the query function (read routes) and the AI function (its tools, R-AI-2) assume for one
   * tenant. Its trust policy admits only those functions' roles and only with a `tenantId` session tag (and no other
   * tag); its permissions read only the data of the tenant in that tag.
   */
  private createTenantReadRole(readers: readonly LumiqoFunction[], data: DataStack): iam.Role {
    const role = new iam.Role(this, 'TenantReadRole', {
      description: 'Tenant-scoped read access, assumed by the query and AI functions with a tenantId session tag (R-SEC-4)',
      assumedBy: new iam.SessionTagsPrincipal(new iam.CompositePrincipal(...readers.map((r) => new iam.ArnPrincipal(r.role.roleArn)))).withConditions({
        Null: { 'aws:RequestTag/tenantId': 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['tenantId'] },
      }),
      maxSessionDuration: TENANT_SESSION_MAX,
    });
    data.store.grantTenantRead(role);
    data.tenantKeys.grantTenantDecrypt(role);
    return role;
  }

  /** Findings that are right for this stack, each with the reason. */
  private acknowledgeFindings(): void {
    const stackWide: [string, string][] = [
      ...CONTROL_PACKS.map((pack): [string, string] => [`${pack}-IAMNoInlinePolicy`,
        'Each inline policy is generated by a grant for exactly one role and lives and dies with it; a managed policy would be a reusable attachment point that least privilege does not want']),
      ...CONTROL_PACKS.map((pack): [string, string] => [`${pack}-LambdaInsideVPC`,
        'The functions reach only AWS APIs (DynamoDB, Kinesis, S3, KMS, STS) over TLS with IAM; a VPC would add NAT gateways or per-AZ endpoints to the data path and no data-path protection']),
    ];
    for (const [id, reason] of stackWide) acknowledge(this, id, reason);

    const { ingest, query, admin, processor, privacy, billing, ai, usage } = this.functions;
    const subjectTasks = this.functions['privacy-tasks'];
    const terminationTasks = this.functions['termination-tasks'];
    acknowledge(processor.role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', SQS_DLQ_KEY_REASON);
    acknowledge(processor.role, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', SQS_DLQ_KEY_REASON);
    const noDeadLetters: [LumiqoFunction[], string][] = [
      [[ingest, query, admin],
        'Invoked synchronously by API Gateway, which returns the failure to the caller; a function DLQ only receives failed asynchronous invocations, of which there are none'],
      [[privacy],
        'Invoked synchronously by API Gateway (the failure goes back to the caller) and asynchronously only by the hourly termination sweep, which carries no data and is made up by the next run from the termination records; its errors raise the function\'s Errors alarm'],
      [[processor],
        'Invoked only by the Kinesis event source mapping, whose on-failure destination is the encrypted StreamProcessor DLQ; a function DLQ would never receive anything'],
      [[terminationTasks],
        'Invoked only synchronously by the termination state machine, which retries and then catches every failure into RecordFailure (R-SEC-6); a function DLQ only receives failed asynchronous invocations'],
      [[billing],
        'Invoked synchronously by API Gateway for Stripe\'s webhook (Stripe retries any failure for days) and asynchronously only by the hourly due-termination check, which carries no data and is made up by the next run; its errors raise the function\'s Errors alarm'],
      [[ai],
        'Invoked synchronously by API Gateway (the caller gets the failure) and asynchronously only by the hourly insight job, which carries no data and is made up by the next run; its errors raise the function\'s Errors alarm'],
      [[usage],
        'Invoked synchronously by the termination state machine (ReportUsage: retried, then caught into RecordFailure) and asynchronously only by the daily usage report and reconciliation, which carry no data and are made up by the next run (a resend carries the same identifiers); its errors raise the function\'s Errors alarm'],
      [[subjectTasks],
        'Invoked synchronously by the state machines (retried, then caught into RecordFailure) and asynchronously only by the hourly deadline check, which carries no data and is simply made up by the next run; its errors raise the function\'s Errors alarm'],
    ];
    for (const [functions, reason] of noDeadLetters) {
      for (const f of functions) for (const pack of DLQ_RULE_PACKS) acknowledge(f.function, `${pack}-LambdaDLQ`, reason);
    }
    for (const f of Object.values(this.functions)) {
      acknowledge(f.function, 'AwsSolutions-L1',
        'Node.js 22 is pinned on purpose (TOOLCHAIN.md): the bundles target node22 and the Powertools versions are verified on it; it is supported by Lambda until 2027');
    }
    acknowledgeCrossStackWildcards(processor.role, ['/tenants/*'],
      'The processor writes payloads of any tenant (it serves every tenant\'s stream records), only under the tenants/ prefix of the payload bucket');
    for (const f of [privacy, subjectTasks, terminationTasks]) {
      acknowledgeCrossStackWildcards(f.role, ['/tenants/*'],
        'The privacy functions serve every tenant\'s requests (the domain checks the tenant of each); the wildcard is the object key below the tenants/ prefix of the payload and exports buckets, nothing else of them');
      acknowledgeCrossStackWildcards(f.role, ['/deletion-records/*'],
        'Signed deletion records are written (tasks) or read (API) for any tenant, one object per request or termination, only below deletion-records/ of the object-locked records bucket');
    }
    acknowledgeCrossStackWildcards(usage.role, ['/statements/*'],
      'R-RET-3: the usage function writes one statement per tenant and month, only below statements/ of the object-locked statements bucket (Put and Get, no delete)');
    acknowledgeCrossStackWildcards(this.tenantReadRole, [`/${tenantObjectPattern('<aws:PrincipalTag/tenantId>')}`],
      'R-SEC-4: the wildcard is the object key below the session\'s own tenant prefix tenants/<tenantId>/, fixed by the tenantId session tag');
    acknowledge(this.processor.deadLetterQueue, 'AwsSolutions-SQS3',
      'This queue is itself the dead-letter destination of the stream processor; messages that land here raise an alarm and are handled by an operator');
  }

  /** R-DEP-3: where operators and auditors find the endpoints and controls of this stack. */
  private addOutputs(): void {
    const outputs: Record<string, [string, string]> = {
      ApiUrl: [this.api.api.url, 'Base URL of the ingestion, query and operator API (TLS 1.2+, R-SEC-1)'],
      WebAclArn: [this.api.webAcl.attrArn, 'WAF web ACL protecting the API stage (R-ING-5)'],
      DlqUrl: [this.processor.deadLetterQueue.queueUrl, 'SQS queue of stream records the processor could not handle (R-ING-7)'],
      DlqArn: [this.processor.deadLetterQueue.queueArn, 'ARN of the stream processor DLQ'],
      AlarmTopicArn: [this.alarms.topic.topicArn, 'SNS topic of the operator alarms (R-OBS-1)'],
      AiApiKeySecretArn: [this.aiProvider.apiKeySecret.secretArn, 'Secrets Manager secret of the AI model provider\'s API key: put the key here (R-AI-3)'],
      TenantReadRoleArn: [this.tenantReadRole.roleArn, 'Tenant-scoped read role, assumed with a tenantId session tag (R-SEC-4)'],
      OperatorRoleArn: [this.operators.role.roleArn, 'The operator role: assume it (with MFA unless operator.requireMfa is false) to call the operator routes /v1/admin/* (R-SEC-5)'],
      ServicesKeyArn: [this.servicesKey.keyArn, 'KMS key of the function and API logs, DLQ and alarm topic (R-SEC-2)'],
      ApiAccessLogGroupName: [this.api.accessLogGroup.logGroupName, 'API access logs, without IP addresses or user agents (R-SEC-7)'],
    };
    for (const [name, f] of Object.entries(this.functions) as [LumiqoFunctionName, LumiqoFunction][]) {
      outputs[`${functionConstructId(name)}FunctionName`] = [f.function.functionName, `The ${name} function`];
    }
    for (const name of WORKFLOW_NAMES) {
      outputs[`${pascalCase(name)}StateMachineArn`] = [this.workflows.stateMachines[name].stateMachineArn,
        `Step Functions state machine of the ${name} workflow (${name === 'termination' ? 'R-TERM-1..5' : 'R-DSR-1..3'})`];
    }
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new cdk.CfnOutput(this, id, { value, description });
    }
  }
}

const SQS_DLQ_KEY_REASON =
  'Granted by the event source mapping\'s SqsDlq (queue.grantSendMessages) on the services key only: sending to a KMS-encrypted queue needs data keys of that one key';

/**
 * Acknowledges AwsSolutions-IAM5 for the wildcard resources of `role`'s policies that end with one of
 * `suffixes`: object keys below a prefix of a data-stack bucket (named by the cross-stack reference).
 */
function acknowledgeCrossStackWildcards(role: iam.IRole, suffixes: string[], reason: string): void {
  acknowledgeWildcardResources(role, (resource) => suffixes.some((suffix) => resource.endsWith(suffix)), reason);
}
