import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import { tenantObjectPattern } from '../../lambdas/shared/keys';
import { ENV } from '../../lambdas/shared/settings';
import { stackPrefix, type LumiqoConfig } from '../config';
import { allow } from '../constructs/grants';
import { IngestionApi } from '../constructs/ingestion-api';
import { LumiqoFunction, type LumiqoFunctionName } from '../constructs/lumiqo-function';
import { OperationsAlarms } from '../constructs/operations-alarms';
import { StreamProcessor } from '../constructs/stream-processor';
import { acknowledge } from '../nag';
import type { DataStack } from './data-stack';

export interface ServicesStackProps extends cdk.StackProps {
  readonly config: LumiqoConfig;
  readonly data: DataStack;
}

/**
 * Reserved concurrency per function: a flood on one path (ingest) cannot starve the others, and a bug
 * cannot scale a function without bound. Sum 330, which leaves a default account (1,000) room for others.
 * Ingest: stage limit 2,000 req/s at ~50 ms each is ~100 in flight, doubled for headroom.
 */
const RESERVED_CONCURRENCY: Readonly<Record<LumiqoFunctionName, number>> = { ingest: 200, processor: 50, query: 50, admin: 10 };

/** The three packs whose rule ids share a suffix (AwsSolutions names its rules differently). */
const CONTROL_PACKS = ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'];

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

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const { store, tenantKeys } = data;

    this.servicesKey = this.createServicesKey(stackPrefix(config));

    const resourceEnvironment: Record<string, string> = {
      [ENV.controlTable]: store.controlTable.tableName,
      [ENV.dataTable]: store.tenantDataTable.tableName,
      [ENV.auditTable]: store.auditTable.tableName,
      [ENV.payloadBucket]: store.payloadBucket.bucketName,
      [ENV.eventStream]: data.eventStream.streamName,
      [ENV.tenantKeyAliasPrefix]: tenantKeys.aliasPrefix,
      [ENV.tenantKeyDeployment]: tenantKeys.deploymentTagValue,
    };
    const fn = (name: LumiqoFunctionName, timeout: cdk.Duration, memorySize?: number): LumiqoFunction =>
      new LumiqoFunction(this, `${name[0].toUpperCase()}${name.slice(1)}`, {
        config,
        name,
        logKey: this.servicesKey,
        reservedConcurrentExecutions: RESERVED_CONCURRENCY[name],
        timeout,
        memorySize,
        environment: resourceEnvironment,
      });
    this.functions = {
      // API functions answer within API Gateway's 29 s; the processor gets a batch's worth of time.
      ingest: fn('ingest', cdk.Duration.seconds(10)),
      // 1,769 MB is one full vCPU: the benchmark's ~3,200 records/s per core keeps up with ~3 saturated shards,
      // where the 512 MB default (~0.29 vCPU) falls behind one (README "Performance").
      processor: fn('processor', cdk.Duration.minutes(2), PROCESSOR_MEMORY_MB),
      query: fn('query', cdk.Duration.seconds(25)),
      admin: fn('admin', cdk.Duration.seconds(25)),
    };
    const { ingest, processor, query, admin } = this.mapFunctions((f) => f.function);

    // Least privilege per function (R-SEC-5).
    store.grantControlReadWrite(ingest); // API keys, webhook sources, delivery de-duplication
    this.grantStreamWrite(ingest, data);
    tenantKeys.grantUse(ingest, ['webhook-secret']);

    store.grantControlRead(processor);
    store.grantDataWrite(processor);
    tenantKeys.grantUse(processor);

    store.grantControlRead(query);
    this.tenantReadRole = this.createTenantReadRole(this.functions.query, data);
    query.addEnvironment(ENV.tenantReadRoleArn, this.tenantReadRole.roleArn);

    store.grantControlReadWrite(admin);
    store.grantAuditWrite(admin);
    tenantKeys.grantCreate(admin);
    tenantKeys.grantUse(admin);

    this.processor = new StreamProcessor(this, 'StreamProcessor', {
      fn: processor,
      stream: data.eventStream,
      queueKey: this.servicesKey,
      settings: config.processor,
    });
    // R-ING-7: records that can never be stored go to the DLQ with their reason, straight from the processor.
    processor.addEnvironment(ENV.deadLetterQueueUrl, this.processor.deadLetterQueue.queueUrl);
    this.processor.deadLetterQueue.grantSendMessages(processor);

    this.api = new IngestionApi(this, 'IngestionApi', {
      stageName: config.stage,
      functions: { ingest, query, admin },
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
    });

    this.acknowledgeFindings();
    this.addOutputs();
  }

  private mapFunctions<T>(pick: (f: LumiqoFunction) => T): Record<LumiqoFunctionName, T> {
    const { ingest, processor, query, admin } = this.functions;
    return { ingest: pick(ingest), processor: pick(processor), query: pick(query), admin: pick(admin) };
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
    // Alarms publish to the encrypted topic; SNS uses the key on CloudWatch's behalf.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    return key;
  }

  /** PutRecord(s) on the event stream, and the data key only as Kinesis uses it for server-side encryption. */
  private grantStreamWrite(grantee: iam.IGrantable, data: DataStack): void {
    allow(grantee, { actions: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary'], resources: [data.eventStream.streamArn] });
    allow(grantee, {
      actions: ['kms:GenerateDataKey'],
      resources: [data.dataKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `kinesis.${this.region}.amazonaws.com` } },
    });
  }

  /**
   * R-SEC-4: the role the query function assumes for one tenant. Its trust policy admits only the query
   * function's role and only with a `tenantId` session tag (and no other tag); its permissions read only
   * the data of the tenant in that tag.
   */
  private createTenantReadRole(query: LumiqoFunction, data: DataStack): iam.Role {
    const role = new iam.Role(this, 'TenantReadRole', {
      description: 'Tenant-scoped read access, assumed by the query function with a tenantId session tag (R-SEC-4)',
      assumedBy: new iam.SessionTagsPrincipal(new iam.ArnPrincipal(query.role.roleArn)).withConditions({
        Null: { 'aws:RequestTag/tenantId': 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['tenantId'] },
      }),
      maxSessionDuration: TENANT_SESSION_MAX,
    });
    data.store.grantTenantRead(role);
    data.tenantKeys.grantTenantDecrypt(role);
    allow(query.role, { actions: ['sts:AssumeRole', 'sts:TagSession'], resources: [role.roleArn] });
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

    const { ingest, query, admin, processor } = this.functions;
    acknowledge(processor.role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', SQS_DLQ_KEY_REASON);
    acknowledge(processor.role, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', SQS_DLQ_KEY_REASON);
    for (const f of [ingest, query, admin]) {
      for (const pack of CONTROL_PACKS) {
        acknowledge(f.function, `${pack}-LambdaDLQ`,
          'Invoked synchronously by API Gateway, which returns the failure to the caller; a function DLQ only receives failed asynchronous invocations, of which there are none');
      }
    }
    for (const pack of CONTROL_PACKS) {
      acknowledge(processor.function, `${pack}-LambdaDLQ`,
        'Invoked only by the Kinesis event source mapping, whose on-failure destination is the encrypted StreamProcessor DLQ; a function DLQ would never receive anything');
    }
    for (const f of Object.values(this.functions)) {
      acknowledge(f.function, 'AwsSolutions-L1',
        'Node.js 22 is pinned on purpose (TOOLCHAIN.md): the bundles target node22 and the middy/Powertools versions are verified on it; it is supported by Lambda until 2027');
    }
    acknowledgeCrossStackWildcards(processor.role, ['/tenants/*'],
      'The processor writes payloads of any tenant (it serves every tenant\'s stream records), only under the tenants/ prefix of the payload bucket');
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
      TenantReadRoleArn: [this.tenantReadRole.roleArn, 'Tenant-scoped read role, assumed with a tenantId session tag (R-SEC-4)'],
      ServicesKeyArn: [this.servicesKey.keyArn, 'KMS key of the function and API logs, DLQ and alarm topic (R-SEC-2)'],
      ApiAccessLogGroupName: [this.api.accessLogGroup.logGroupName, 'API access logs, without IP addresses or user agents (R-SEC-7)'],
    };
    for (const [name, f] of Object.entries(this.functions)) {
      outputs[`${name[0].toUpperCase()}${name.slice(1)}FunctionName`] = [f.function.functionName, `The ${name} function`];
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
 * `suffixes`. These resources are ARNs of the data stack: cdk-nag names them by the cross-stack reference
 * (`Fn::GetStackOutput`), which exists only once CDK resolves references, so the finding ids are computed
 * in a validation hook (after that step, before the policy-validation plugins run) with cdk-nag's own naming.
 */
function acknowledgeCrossStackWildcards(role: iam.IRole, suffixes: string[], reason: string): void {
  role.node.addValidation({
    validate: () => {
      for (const policy of role.node.findAll().filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)) {
        const document = cdk.Stack.of(policy).resolve(policy.policyDocument) as { Statement: { Resource: unknown }[] };
        for (const statement of document.Statement) {
          for (const resource of [statement.Resource].flat().map(flattenCfnReference)) {
            if (suffixes.some((suffix) => resource.endsWith(suffix))) acknowledge(role, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
          }
        }
      }
      return [];
    },
  });
}
