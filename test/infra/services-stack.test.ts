import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { WORKFLOW_NAMES } from '../../lambdas/domain/privacy';
import { ROUTES } from '../../lambdas/shared/routes';
import { BILLING_ENV, declaredVariables } from '../../lambdas/shared/declarations';
import { FUNCTION_DECLARATIONS, FUNCTION_NAMES } from '../../lambdas/shared/functions';
import { ENV } from '../../lambdas/shared/settings';
import { buildLumiqoApp } from '../../lib/app';
import { stackPrefix, type LumiqoConfig } from '../../lib/config';
import { ACCESS_LOG_FIELDS, resourcePolicy } from '../../lib/constructs/ingestion-api';
import type { LumiqoFunctionName } from '../../lib/constructs/lumiqo-function';
import { TenantKeys } from '../../lib/constructs/tenant-keys';
import { PROCESSOR_MEMORY_MB, ServicesStack } from '../../lib/stacks/services-stack';
import { SINGLE_TENANT, nagFindings, synthDataStack, testApp, testConfig } from './helpers';

function synthServicesStack(config: LumiqoConfig): ServicesStack {
  const app = testApp();
  const data = synthDataStack(config, app);
  return new ServicesStack(app, `${stackPrefix(config)}-Services`, { config, data, env: { account: '111111111111', region: 'eu-west-1' } });
}

const config = testConfig({
  rateLimits: { perIpPer5Min: 1234, perTenantPer5Min: 56789, stageRatePerSecond: 321, stageBurst: 654 },
  processor: { batchSize: 250, maxBatchingWindowSeconds: 2, retryAttempts: 7, maxRecordAgeHours: 12, parallelizationFactor: 3 },
  logRetentionDays: 60,
  alarmEmail: 'ops@example.com',
  backupRetentionDays: 21,
});
const stack = synthServicesStack(config);
const template = Template.fromStack(stack);
const ref = (construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [stack.getLogicalId(construct.node.defaultChild as cdk.CfnElement), 'Arn'] });
const servicesKeyArn = ref(stack.servicesKey);
const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as cdk.CfnElement);
/** The synthesized AWS::Lambda::Function of a Lumiqo function. */
const functionResource = (name: LumiqoFunctionName) => template.toJSON().Resources[logicalIdOf(stack.functions[name].function)];
const variablesOf = (name: LumiqoFunctionName): Record<string, unknown> => functionResource(name).Properties.Environment.Variables;
const ALL_FUNCTIONS: LumiqoFunctionName[] = ['ingest', 'processor', 'query', 'admin', 'privacy', 'privacy-tasks', 'termination-tasks'];
/** Set by LumiqoFunction for every function, whatever it declares. */
const PLATFORM_VARIABLES = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS'];

/** ENV.stateMachines as CloudFormation resolves it: the Fn::Join of JSON text and state machine Refs, parsed. */
function stateMachineMap(value: unknown): Record<string, string> {
  const [delimiter, parts] = (value as { 'Fn::Join': [string, (string | { Ref: string })[]] })['Fn::Join'];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : `ref:${part.Ref}`)).join(delimiter));
}

describe('functions', () => {
  test('every function: Node.js 22 on arm64, active tracing, reserved concurrency, settings in the environment', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(FUNCTION_NAMES.length);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        ReservedConcurrentExecutions: expect.any(Number),
      });
      const variables = fn.Properties.Environment.Variables;
      expect(JSON.parse(variables[ENV.settings])).toMatchObject({ stage: config.stage, tenancy: { mode: 'multi' } });
      expect(variables).toMatchObject({ NODE_OPTIONS: '--enable-source-maps' });
    }
  });

  test.each(ALL_FUNCTIONS)('%s: its environment names exactly what its declaration uses (R-SEC-5)', (name) => {
    const variables = Object.keys(variablesOf(name)).filter((v) => !PLATFORM_VARIABLES.includes(v));
    expect(variables.sort()).toEqual(declaredVariables(FUNCTION_DECLARATIONS[name]).sort());
    // The keyring is KMS wherever a function uses a key; nothing else says so.
    const usesKeys = FUNCTION_DECLARATIONS[name].uses.tenantKeys !== undefined || FUNCTION_DECLARATIONS[name].uses.signingKey !== undefined;
    expect([name, variablesOf(name)[ENV.keyring]]).toEqual([name, usesKeys ? 'kms' : undefined]);
  });

  test('the processor, CPU-bound, gets a full vCPU; the dead-letter queue reaches it as DEAD_LETTER_QUEUE_URL', () => {
    const processor = stack.functions.processor.function.node.defaultChild as cdk.CfnElement;
    const props = template.toJSON().Resources[stack.getLogicalId(processor)].Properties;
    expect(props.MemorySize).toBe(PROCESSOR_MEMORY_MB);
    expect(props.Environment.Variables[ENV.deadLetterQueueUrl]).toBeDefined();
  });

  test('only the query and AI functions know the tenant read role (R-SEC-4, R-AI-2)', () => {
    const withRole = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) => fn.Properties.Environment.Variables[ENV.tenantReadRoleArn]);
    expect(withRole.map((fn) => fn.Metadata['lumiqo:function']).sort()).toEqual(['ai', 'query']);
    for (const fn of withRole) expect(fn.Properties.Environment.Variables[ENV.tenantReadRoleArn]).toEqual(ref(stack.tenantReadRole));
  });

  test('R-RET-5, R-SEC-2: every log group keeps the configured retention under the services CMK', () => {
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(FUNCTION_NAMES.length + 2); // one per function, the API access log, the workflows' execution log
    for (const group of logGroups) {
      expect(group.Properties).toMatchObject({ RetentionInDays: 60, KmsKeyId: servicesKeyArn });
    }
  });

  test('no function uses AWSLambdaBasicExecutionRole (R-SEC-5)', () => {
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain('AWSLambdaBasicExecutionRole');
  });

  test('R-SEC-5: only admin (it creates tenant keys) knows the tenant key policy\'s principals: the account root and its own role', () => {
    const holders = ALL_FUNCTIONS.filter((name) => variablesOf(name)[ENV.tenantKeyPolicy] !== undefined);
    expect(holders).toEqual(['admin']);
    const value = JSON.stringify(variablesOf('admin')[ENV.tenantKeyPolicy]);
    expect(value).toContain(':root');
    expect(value).toContain(JSON.stringify(ref(stack.functions.admin.role)));
  });

  test('R-SEC-5: the services key denies tag changes but by the account root user and CloudFormation\'s execution role', () => {
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(expect.objectContaining({ Sid: 'DenyTagChangesButByKeyAdministrators', Effect: 'Deny', Action: ['kms:TagResource', 'kms:UntagResource'] }));
  });

  test('the services key rotates and lets CloudWatch Logs and alarms use it', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'CloudWatchLogsEncryptsLogGroups' }),
          Match.objectLike({ Sid: 'CloudWatchAlarmsPublishToTopic', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });
});

describe('privacy functions and their environment', () => {
  test('privacy (API, 25 s), privacy-tasks (5 min), termination-tasks (15 min), each with small reserved concurrency', () => {
    expect(functionResource('privacy').Properties).toMatchObject({ Timeout: 25, ReservedConcurrentExecutions: 10 });
    expect(functionResource('privacy-tasks').Properties).toMatchObject({ Timeout: 300, ReservedConcurrentExecutions: 10 });
    expect(functionResource('termination-tasks').Properties).toMatchObject({ Timeout: 900, ReservedConcurrentExecutions: 5 });
  });

  test('reserved concurrency sums to 335, leaving a default account (1,000) room for everything else', () => {
    const total = ALL_FUNCTIONS.reduce((sum, name) => sum + functionResource(name).Properties.ReservedConcurrentExecutions, 0);
    expect(total).toBe(335);
  });

  test('each function bundles lambdas/<name>/handler.ts and names itself in the template metadata (the local runtime maps tasks by it)', () => {
    for (const name of ALL_FUNCTIONS) {
      expect(functionResource(name).Metadata).toMatchObject({ 'lumiqo:function': name });
      expect(variablesOf(name).POWERTOOLS_SERVICE_NAME).toBe(`lumiqo-${name}`);
    }
  });

  test('exports and records buckets reach only the privacy functions; the ledger only termination-tasks, billing and (its usage marks, R-BILL-2) the processor', () => {
    const has = (name: LumiqoFunctionName, variable: string) => variablesOf(name)[variable] !== undefined;
    for (const name of ALL_FUNCTIONS) {
      const privacyFunction = ['privacy', 'privacy-tasks', 'termination-tasks'].includes(name);
      expect([name, has(name, ENV.exportsBucket), has(name, ENV.recordsBucket)]).toEqual([name, privacyFunction, privacyFunction]);
      expect([name, has(name, ENV.ledgerTable)]).toEqual([name, ['termination-tasks', 'billing', 'usage', 'processor'].includes(name)]);
      // R-BILL-2, R-RET-3: the Stripe API key and the statements bucket reach the usage function alone.
      expect([name, has(name, BILLING_ENV.apiKeySecretArn), has(name, BILLING_ENV.statementsBucket)]).toEqual([name, name === 'usage', name === 'usage']);
      expect([name, has(name, ENV.signingKeyId)]).toEqual([name, name === 'privacy-tasks' || name === 'termination-tasks']);
      // Issue 11: privacy-tasks names the remaining copies in deletion records, with their retention.
      expect([name, has(name, ENV.backupFacts)]).toEqual([name, name === 'termination-tasks' || name === 'privacy-tasks']);
    }
    // Cross-stack references to the data stack's resources, never a hard-coded name.
    expect(JSON.stringify(variablesOf('termination-tasks')[ENV.ledgerTable])).toContain('BillingLedger');
    expect(JSON.stringify(variablesOf('privacy-tasks')[ENV.signingKeyId])).toContain('SigningKey');
  });

  test('R-TERM-5: the backup facts a certificate states come from the config and the tenant key waiting period', () => {
    expect(JSON.parse(variablesOf('termination-tasks')[ENV.backupFacts] as string)).toEqual({
      backupRetentionDays: 21,
      keyDeletionWindowDays: TenantKeys.KEY_DELETION_WINDOW_DAYS,
      pitrWindowDays: 35,
      // Issue 11: the stream and dead-letter retention the certificate names as remaining copies.
      streamRetentionHours: 24,
      deadLetterRetentionDays: 14,
    });
  });

  test('the privacy function knows all six state machines; ingest only access and erasure (R-DSR-6); billing only termination (R-TERM-1); no other function any', () => {
    const machineRefs = Object.fromEntries(WORKFLOW_NAMES.map((name) => [name, `ref:${logicalIdOf(stack.workflows.stateMachines[name])}`]));
    expect(stateMachineMap(variablesOf('privacy')[ENV.stateMachines])).toEqual(machineRefs);
    expect(stateMachineMap(variablesOf('ingest')[ENV.stateMachines])).toEqual({ access: machineRefs.access, erasure: machineRefs.erasure });
    expect(stateMachineMap(variablesOf('billing')[ENV.stateMachines])).toEqual({ termination: machineRefs.termination });
    for (const name of ALL_FUNCTIONS.filter((n) => n !== 'privacy' && n !== 'ingest' && n !== 'billing')) {
      expect([name, variablesOf(name)[ENV.stateMachines]]).toEqual([name, undefined]);
    }
  });

  test.each([
    ['R-DSR-5', 'PrivacyDeadlineCheck', 'privacy-tasks', 'check-deadlines'],
    ['R-TERM-1', 'BillingDueTerminations', 'billing', 'start-due-terminations'],
    ['R-TERM-1..5', 'TerminationSweep', 'privacy', 'sweep-terminations'],
    ['R-AI-6', 'AiInsights', 'ai', 'detect-insights'],
  ] as const)('%s: an hourly rule (%s) invokes %s with {task: %s}', (_req, ruleName, fn, task) => {
    const rules = template.findResources('AWS::Events::Rule');
    expect(Object.keys(rules)).toHaveLength(6);
    const [ruleId, rule] = Object.entries(rules).find(([id]) => id.startsWith(ruleName))!;
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual(ref(stack.functions[fn].function));
    expect(JSON.parse(target.Input)).toEqual({ task });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: ref(stack.functions[fn].function),
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });

  test.each([
    ['BillingUsageReport', 'report-usage', 'cron(15 2 * * ? *)'],
    ['BillingUsageReconciliation', 'reconcile-usage', 'cron(15 6 * * ? *)'],
  ] as const)('R-BILL-2: a daily rule (%s) invokes usage with {task: %s}, retried twice', (ruleName, task, schedule) => {
    const [ruleId, rule] = Object.entries(template.findResources('AWS::Events::Rule')).find(([id]) => id.startsWith(ruleName))!;
    expect(rule.Properties).toMatchObject({ ScheduleExpression: schedule, State: 'ENABLED' });
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual(ref(stack.functions.usage.function));
    expect(JSON.parse(target.Input)).toEqual({ task });
    expect(target.RetryPolicy).toMatchObject({ MaximumRetryAttempts: 2 });
    template.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: ref(stack.functions.usage.function), Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] } });
  });

  test('R-BILL-2: the usage alarms watch the usage function\'s daily metrics, tenant-days near the 35-day limit and reconciliation mismatches', () => {
    for (const metricName of ['UsageDaysNearReportLimit', 'UsageMismatches']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Namespace: 'Lumiqo',
        Dimensions: [{ Name: 'service', Value: stack.functions.usage.serviceName }],
        Period: 86_400,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  test('only the two task functions may sign, and only with the signing key (R-DSR-2, R-TERM-5)', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const signers = policies.filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('"kms:Sign"')).map((p) => p.Properties.Roles[0].Ref).sort();
    expect(signers).toEqual([logicalIdOf(stack.functions['privacy-tasks'].role), logicalIdOf(stack.functions['termination-tasks'].role)].sort());
  });
});

describe('stream processor (R-ING-7)', () => {
  test('the event source mapping takes its settings from config, with partial failures, bisect and a DLQ', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: stack.getLogicalId(stack.functions.processor.function.node.defaultChild as cdk.CfnElement) },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      BatchSize: 250,
      MaximumBatchingWindowInSeconds: 2,
      MaximumRetryAttempts: 7,
      MaximumRecordAgeInSeconds: 12 * 3600,
      ParallelizationFactor: 3,
      DestinationConfig: { OnFailure: { Destination: ref(stack.processor.deadLetterQueue) } },
    });
  });

  test('the DLQ is KMS-encrypted, TLS-only and keeps messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: servicesKeyArn, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('API (R-ING-5, R-SEC-1, R-SEC-7)', () => {
  test('REGIONAL REST API with a TLS 1.2+ security policy and strict endpoint access', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_2_PQ_2025_09',
      EndpointAccessMode: 'STRICT',
    });
  });

  test('the stage is named after the stage, throttled, traced and access-logged to the encrypted log group', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: config.stage,
      TracingEnabled: true,
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 321, ThrottlingBurstLimit: 654 })],
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(JSON.stringify(stage.Properties.AccessLogSetting.DestinationArn)).toContain(stack.getLogicalId(stack.api.accessLogGroup.node.defaultChild as cdk.CfnElement));
  });

  test('R-SEC-7: the access-log format holds no source IP and no user agent', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    const format: string = stage.Properties.AccessLogSetting.Format;
    expect(JSON.parse(format)).toEqual(ACCESS_LOG_FIELDS);
    expect(format).toContain('$context.requestId');
    expect(format).not.toMatch(/sourceIp|userAgent|X-Forwarded-For/i);
  });

  test('one method per route; operator routes require SigV4 (AWS_IAM), the others authenticate in the function', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(ROUTES.length);
    const byAuth = (type: string) => methods.filter((m) => m.Properties.AuthorizationType === type).length;
    expect(byAuth('AWS_IAM')).toBe(ROUTES.filter((r) => r.auth === 'iam').length);
    expect(byAuth('NONE')).toBe(ROUTES.filter((r) => r.auth !== 'iam').length);
    for (const method of methods) expect(method.Properties.RequestValidatorId).toBeDefined();
  });

  test('the web ACL has the managed rule groups, SizeRestrictions_BODY counted only', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' } } }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: {
              VendorName: 'AWS',
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
            },
          },
        }),
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } } }),
      ]),
    });
  });

  test('rate-based rules per source IP and per tenant (API key header, webhook path) with the configured limits', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const rate = (name: string) => acl.Properties.Rules.find((r: { Name: string }) => r.Name === name);
    expect(rate('RatePerSourceIp')).toMatchObject({ Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 1234, AggregateKeyType: 'IP' } } });
    expect(rate('RatePerTenantApiKey')).toMatchObject({
      Action: { Block: {} },
      Statement: {
        RateBasedStatement: {
          Limit: 56789,
          AggregateKeyType: 'CUSTOM_KEYS',
          CustomKeys: [{ Header: { Name: 'authorization' } }],
          ScopeDownStatement: { NotStatement: { Statement: { ByteMatchStatement: { SearchString: '/v1/hooks/' } } } },
        },
      },
    });
    // Issue 10: the key in x-api-key (which the functions also accept) has its own bucket, so it cannot escape.
    expect(rate('RatePerTenantApiKeyHeader')).toMatchObject({
      Action: { Block: {} },
      Statement: { RateBasedStatement: { Limit: 56789, AggregateKeyType: 'CUSTOM_KEYS', CustomKeys: [{ Header: { Name: 'x-api-key' } }] } },
    });
    // Issue 10: webhook paths are not authenticated at the WAF, so no bucket is the path alone: a flood of one source's
    // path uses up only its senders' buckets, never the tenant's real deliveries.
    expect(rate('RatePerWebhookSender')).toMatchObject({
      Action: { Block: {} },
      Statement: {
        RateBasedStatement: {
          Limit: 56789,
          AggregateKeyType: 'CUSTOM_KEYS',
          CustomKeys: [{ UriPath: {} }, { IP: {} }],
          ScopeDownStatement: { ByteMatchStatement: { SearchString: '/v1/hooks/' } },
        },
      },
    });
    const rules = acl.Properties.Rules as { Name: string; Statement: { RateBasedStatement?: { CustomKeys?: unknown[] } } }[];
    expect(rules.filter((r) => JSON.stringify(r.Statement.RateBasedStatement?.CustomKeys) === '[{"UriPath":{"TextTransformations":[{"Priority":0,"Type":"NONE"}]}}]')).toEqual([]);
  });

  test('R-SEC-7: no rule and not the web ACL keeps sampled requests (client IPs, Authorization headers); every one keeps its metrics', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const configs = [acl.Properties.VisibilityConfig, ...acl.Properties.Rules.map((rule: { VisibilityConfig: unknown }) => rule.VisibilityConfig)];
    expect(configs).toHaveLength(8); // the web ACL and its seven rules
    for (const visibility of configs) {
      expect(visibility).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: false, MetricName: expect.stringMatching(/^Lumiqo-/) });
    }
  });

  test('the web ACL is associated with the stage', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: { 'Fn::GetAtt': [stack.getLogicalId(stack.api.webAcl), 'Arn'] },
      ResourceArn: {
        'Fn::Join': ['', Match.arrayWith(['/stages/', { Ref: stack.getLogicalId(stack.api.stage.node.defaultChild as cdk.CfnElement) }])],
      },
    });
  });
});

describe('alarms (R-OBS-1)', () => {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
  const topicRef = { Ref: stack.getLogicalId(stack.alarms.topic.node.defaultChild as cdk.CfnElement) };

  test('DLQ depth, iterator age, each function errors and throttles, API 5xx: all notify the topic', () => {
    const metrics = alarms.map((a) => a.Properties.MetricName);
    expect(metrics).toEqual(expect.arrayContaining(['ApproximateNumberOfMessagesVisible', 'IteratorAge', '5XXError']));
    expect(metrics.filter((m) => m === 'Errors')).toHaveLength(FUNCTION_NAMES.length);
    expect(metrics.filter((m) => m === 'Throttles')).toHaveLength(FUNCTION_NAMES.length);
    expect(alarms.find((a) => a.Properties.MetricName === 'IteratorAge')!.Properties.Threshold).toBe(60000);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties.OKActions).toEqual([topicRef]);
    }
  });

  test('every workflow alarms on ExecutionsFailed >= 1', () => {
    const failed = alarms.filter((a) => a.Properties.MetricName === 'ExecutionsFailed');
    expect(failed).toHaveLength(WORKFLOW_NAMES.length);
    const machines = failed.map((a) => a.Properties.Dimensions[0].Value.Ref).sort();
    expect(machines).toEqual(WORKFLOW_NAMES.map((name) => logicalIdOf(stack.workflows.stateMachines[name])).sort());
    for (const alarm of failed) {
      expect(alarm.Properties).toMatchObject({ Namespace: 'AWS/States', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', Statistic: 'Sum' });
    }
  });

  test('R-DSR-5: OverduePrivacyRequests >= 1 alarms, on the metric privacy-tasks emits (namespace Lumiqo, Powertools service dimension)', () => {
    const [overdue] = alarms.filter((a) => a.Properties.MetricName === 'OverduePrivacyRequests');
    expect(overdue.Properties).toMatchObject({
      Namespace: 'Lumiqo',
      Dimensions: [{ Name: 'service', Value: 'lumiqo-privacy-tasks' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Period: 3600,
      Statistic: 'Maximum',
    });
    expect(variablesOf('privacy-tasks')).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'lumiqo-privacy-tasks', POWERTOOLS_METRICS_NAMESPACE: 'Lumiqo' });
  });

  test('the topic is KMS-encrypted, TLS-only, with the configured e-mail subscription', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: servicesKeyArn });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('no subscription without alarmEmail', () => {
    expect(Template.fromStack(synthServicesStack(testConfig())).findResources('AWS::SNS::Subscription')).toEqual({});
  });
});

test('R-SEC-4, R-AI-2: the tenant read role is trusted by the query and AI roles only, with a tenantId session tag, for 1 hour', () => {
  template.hasResourceProperties('AWS::IAM::Role', {
    MaxSessionDuration: 3600,
    AssumeRolePolicyDocument: {
      Statement: [
        {
          Effect: 'Allow',
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Principal: { AWS: [ref(stack.functions.ai.role), ref(stack.functions.query.role)] },
          Condition: { Null: { 'aws:RequestTag/tenantId': 'false' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['tenantId'] } },
        },
      ],
    },
  });
});

describe('R-SEC-5: the operator', () => {
  const operatorRole = () => template.toJSON().Resources[logicalIdOf(stack.operators.role)];
  const apiPolicy = () => Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0].Properties.Policy;

  test('the operator role is assumed by the account (its IAM policies decide who), only with MFA, for at most an hour', () => {
    expect(operatorRole().Properties).toMatchObject({
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }],
      },
    });
    expect(template.findOutputs('OperatorRoleArn').OperatorRoleArn.Value).toEqual(ref(stack.operators.role));
  });

  test('with operator.requireMfa false and trusted principals, those principals assume it without the MFA condition', () => {
    const configured = synthServicesStack(testConfig({ operator: { requireMfa: false, trustedPrincipals: ['arn:aws:iam::111111111111:role/a', 'arn:aws:iam::111111111111:role/b'] } }));
    const role = Template.fromStack(configured).toJSON().Resources[configured.getLogicalId(configured.operators.role.node.defaultChild as cdk.CfnElement)];
    const statements = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(statements.flatMap((st: { Principal: { AWS: string } }) => [st.Principal.AWS].flat())).toEqual(['arn:aws:iam::111111111111:role/a', 'arn:aws:iam::111111111111:role/b']);
    expect(JSON.stringify(statements)).not.toContain('MultiFactorAuthPresent');
  });

  test('the API resource policy opens the public routes to everyone and denies /v1/admin/* to all but the operator role', () => {
    const statements = apiPolicy().Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Sid: 'PublicRoutes', Effect: 'Allow', Principal: { AWS: '*' }, Resource: expect.arrayContaining(['execute-api:/*/POST/v1/events', 'execute-api:/*/POST/v1/hooks/*/*']) }));
    expect(statements).toContainEqual(expect.objectContaining({
      Sid: 'DenyNonOperatorsOperatorRoutes',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Resource: 'execute-api:/*/*/v1/admin/*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': ref(stack.operators.role) } },
    }));
    expect(JSON.stringify(statements.find((st: { Sid: string }) => st.Sid === 'PublicRoutes').Resource)).not.toContain('/v1/admin/');
  });

  test('a changed resource policy redeploys the stage (a policy takes effect only with a new deployment)', () => {
    const deploymentOf = (t: Template) => Object.keys(t.findResources('AWS::ApiGateway::Deployment'))[0];
    const tagged = synthServicesStack(testConfig({ ...config, operator: { admitTaggedPrincipals: true } }));
    expect(deploymentOf(Template.fromStack(tagged))).not.toEqual(deploymentOf(template));
    expect(deploymentOf(Template.fromStack(synthServicesStack(config)))).toEqual(deploymentOf(template));
  });

  test('a route table whose IAM routes are not exactly those under /v1/admin/ fails synth; the real one passes', () => {
    const operators = stack.operators;
    expect(() => resourcePolicy(operators, [{ method: 'POST', path: '/v1/keys', auth: 'iam' }])).toThrow(/IAM-authorized routes are the operator routes/);
    expect(() => resourcePolicy(operators, [{ method: 'GET', path: '/v1/admin/stats', auth: 'api-key' }])).toThrow(/IAM-authorized routes are the operator routes/);
    expect(() => resourcePolicy(operators, ROUTES)).not.toThrow();
  });

  test('the operator role may invoke only the operator routes of this API\'s stage', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles[0].Ref === logicalIdOf(stack.operators.role));
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: { 'Fn::Join': ['', ['arn:aws:execute-api:eu-west-1:111111111111:', { Ref: logicalIdOf(stack.api.api) }, `/${config.stage}/*/v1/admin/*`]] } },
    ]);
  });
});

test('R-DEP-3: outputs locate the API, WAF, DLQ, alarm topic, tenant read role and functions', () => {
  const outputs = Object.keys(template.findOutputs('*'));
  expect(outputs).toEqual(expect.arrayContaining([
    'ApiUrl', 'WebAclArn', 'DlqUrl', 'DlqArn', 'AlarmTopicArn', 'TenantReadRoleArn', 'OperatorRoleArn',
    'IngestFunctionName', 'ProcessorFunctionName', 'QueryFunctionName', 'AdminFunctionName',
    'PrivacyFunctionName', 'PrivacyTasksFunctionName', 'TerminationTasksFunctionName',
    'AccessStateMachineArn', 'ErasureStateMachineArn', 'RectificationStateMachineArn', 'RestrictionStateMachineArn',
    'LiftRestrictionStateMachineArn', 'TerminationStateMachineArn',
  ]));
});

describe('cdk-nag: no unacknowledged finding of AwsSolutions, NIST 800-53 R5, HIPAA, PCI DSS', () => {
  test('multi-tenant', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('single-tenant (R-DEP-2)', () => {
    expect(nagFindings(synthServicesStack(testConfig(SINGLE_TENANT)))).toEqual([]);
  });

  test.each([
    ['query', 'a function role with only the X-Ray statement on "*"', 's3:GetObject'],
    ['admin', 'a role whose grants justify kms:CreateKey on "*"', 'kms:Decrypt'],
    ['termination-tasks', 'a role whose X-Ray and kms:ListAliases statements CDK merges', 'kms:ScheduleKeyDeletion'],
  ] as const)('R-SEC-5: on %s (%s) a new action on "*" is a finding, not silenced; without it there is none', (name, _what, action) => {
    const wildcardFindings = (services: ServicesStack) =>
      nagFindings(services).filter((f) => f.ruleName === 'AwsSolutions-IAM5[Resource::*]' && f.resource.startsWith(`${services.functions[name].role.node.path}/`));
    expect(wildcardFindings(synthServicesStack(config))).toEqual([]);
    const widened = synthServicesStack(config);
    widened.functions[name].role.addToPrincipalPolicy(new cdk.aws_iam.PolicyStatement({ actions: [action], resources: ['*'] }));
    expect(wildcardFindings(widened)).not.toEqual([]);
  });

  test('every acknowledgement of the services stack silences a real finding (removing one would fail the tests above)', () => {
    const acknowledged: { id: string; path: string }[] = [];
    const spy = jest.spyOn(cdk.Validations.prototype, 'acknowledge').mockImplementation(function (this: unknown, ...rules) {
      acknowledged.push(...rules.map((rule) => ({ id: rule.id, path: (this as { scope: { node: { path: string } } }).scope.node.path })));
    });
    try {
      const services = synthServicesStack(config);
      const findings = nagFindings(services);
      const own = acknowledged.filter((ack) => ack.path.startsWith(`${services.stackName}/`) || ack.path === services.stackName);
      expect(own.length).toBeGreaterThan(20);
      // Each acknowledgement names a finding of a resource at or below the construct it was made on.
      const idle = own.filter((ack) => !findings.some((f) => f.ruleName === ack.id && (f.resource === ack.path || f.resource.startsWith(`${ack.path}/`))));
      expect(idle).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the CDK app (lib/app.ts)', () => {
  test('R-DEP-2: names both stacks after the stage and the tenant, and holds them to the packs', () => {
    const app = testApp();
    app.node.setContext('tenant', 'acme');
    const { config: appConfig, data, services } = buildLumiqoApp(app);
    expect(appConfig.tenancy).toBe('single');
    expect([data.stackName, services.stackName]).toEqual(['Lumiqo-dev-acme-Data', 'Lumiqo-dev-acme-Services']);
    // The packs are app plugins: synth runs them (and fails on any finding), so a clean synth is the check.
    expect(() => app.synth()).not.toThrow();
  });
});
