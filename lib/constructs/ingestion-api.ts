/**
 * The public front door: a REGIONAL REST API built from the one route table (lambdas/shared/routes.ts),
 * behind a WAF web ACL. A REST API, because WAF cannot protect an HTTP API (R-ING-5).
 */
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { ROUTES, type FunctionName, type Route } from '../../lambdas/shared/routes';
import { acknowledge, CONTROL_PACKS } from '../nag';
import { ADMIN_PATH_PREFIX, type OperatorAccess } from './operator-access';

/** Path prefix of the per-tenant webhook endpoints (`/v1/hooks/{tenantId}/{sourceId}`). */
const WEBHOOK_PATH = '/v1/hooks/';

/**
 * R-SEC-1: TLS 1.2 or 1.3 only, on the API's own execute-api endpoint. The RestApi L2 has no property for
 * it in aws-cdk-lib 2.276 (only DomainName does), so it is set on the CfnRestApi. An enhanced policy
 * needs an endpoint access mode; STRICT also rejects requests whose SNI host is not this API.
 */
export const API_SECURITY_POLICY = apigw.SecurityPolicy.TLS13_1_2_PQ_2025_09;
export const API_ENDPOINT_ACCESS_MODE = apigw.EndpointAccessMode.STRICT;

/**
 * Access-log fields. R-SEC-7: no `$context.identity.sourceIp` and no user agent; the tenant is not known to
 * API Gateway (the function authenticates it), so requests are traced by request id.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTimeEpoch',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  protocol: '$context.protocol',
  tlsVersion: '$context.tlsVersion',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integration.status',
  wafStatus: '$context.waf.status',
  errorType: '$context.error.responseType',
  errorMessage: '$context.error.message',
  operator: '$context.identity.userArn',
};

/** A route's resource in the API's resource policy: `execute-api:/<stage>/<METHOD>/<path>`, path parameters as `*`. */
const routeResource = (route: { method: string; path: string }) => `execute-api:/*/${route.method}${route.path.replace(/\{\w+\}/g, '*')}`;

/**
 * R-SEC-5: the API's resource policy. The public routes are open to everyone (they authenticate in the function: an
 * API key or a webhook signature); the operator routes only to operators (OperatorAccess), every other principal is
 * denied them, whatever its IAM policies allow. Operator routes are exactly the IAM-authorized ones, all under
 * ADMIN_PATH_PREFIX, so a route added to the table cannot fall between the two.
 */
export function resourcePolicy(operators: OperatorAccess, routes: readonly Pick<Route, 'method' | 'path' | 'auth'>[] = ROUTES): iam.PolicyDocument {
  for (const route of routes) {
    if ((route.auth === 'iam') !== route.path.startsWith(ADMIN_PATH_PREFIX)) {
      throw new Error(`Route ${route.method} ${route.path}: IAM-authorized routes are the operator routes, and all of them are under ${ADMIN_PATH_PREFIX}`);
    }
  }
  const publicRoutes = routes.filter((route) => route.auth !== 'iam');
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'PublicRoutes',
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [...new Set(publicRoutes.map(routeResource))],
      }),
      ...operators.resourcePolicyStatements(),
    ],
  });
}

export interface RateLimits {
  readonly perIpPer5Min: number;
  readonly perTenantPer5Min: number;
  readonly stageRatePerSecond: number;
  readonly stageBurst: number;
}

export interface IngestionApiProps {
  /** Stage name, e.g. `dev`. */
  readonly stageName: string;
  /** One function per route-table FunctionName. */
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly rateLimits: RateLimits;
  /** Encrypts the access-log group (R-SEC-2). */
  readonly logKey: kms.IKey;
  /** R-RET-5 */
  readonly logRetentionDays: logs.RetentionDays;
  /** Metric and rule names in the web ACL are prefixed with this. @default 'Lumiqo' */
  readonly metricPrefix?: string;
  /** R-SEC-5: who may call the operator routes; the API's resource policy admits no one else to them. */
  readonly operators: OperatorAccess;
}

export class IngestionApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly stage: apigw.Stage;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: IngestionApiProps) {
    super(scope, id);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays,
      encryptionKey: props.logKey,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    const policy = resourcePolicy(props.operators);
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Lumiqo ingestion, query and operator API',
      policy,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // The account-wide API Gateway CloudWatch role is an account singleton; access logs do not need it.
      cloudWatchRole: false,
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.rateLimits.stageRatePerSecond,
        throttlingBurstLimit: props.rateLimits.stageBurst,
        tracingEnabled: true,
        metricsEnabled: true,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const cfnApi = this.api.node.defaultChild as apigw.CfnRestApi;
    cfnApi.securityPolicy = API_SECURITY_POLICY;
    cfnApi.endpointAccessMode = API_ENDPOINT_ACCESS_MODE;
    this.stage = this.api.deploymentStage;

    // A changed resource policy takes effect with the next deployment of the stage: make it one.
    this.api.latestDeployment?.addToLogicalId({ policy: cdk.Stack.of(this).resolve(policy.toJSON()) });

    this.addRoutes(props.functions);
    props.operators.allowOperatorRoutes(this.api, props.stageName);
    this.webAcl = this.addWebAcl(props.rateLimits, props.metricPrefix ?? 'Lumiqo');
    this.acknowledgeFindings();
  }

  /** Findings that are right for this API, each with the reason. */
  private acknowledgeFindings(): void {
    const stageFindings: [string[], string][] = [
      [['AwsSolutions-APIG6', ...CONTROL_PACKS.map((p) => `${p}-APIGWExecutionLoggingEnabled`)],
        'Structured access logs (KMS-encrypted, 90-day retention) record every request; execution logs need the account-wide API Gateway CloudWatch role (an account singleton shared by every deployment) and land in a log group API Gateway creates without our key or retention'],
      [CONTROL_PACKS.map((p) => `${p}-APIGWCacheEnabledAndEncrypted`),
        'Responses are tenant-specific and mostly writes (ingestion is POST); a stage cache keyed without the credential could serve one tenant\'s data to another (R-SEC-4), so no cache is provisioned'],
      [CONTROL_PACKS.map((p) => `${p}-APIGWSSLEnabled`),
        'A client certificate authenticates API Gateway to an HTTP backend; every integration here is a Lambda proxy invoked through the Lambda API with IAM (SigV4 over TLS), so there is no HTTP backend'],
    ];
    for (const [ids, reason] of stageFindings) for (const id of ids) acknowledge(this.stage, id, reason);
    for (const id of CONTROL_PACKS.map((p) => `${p}-WAFv2LoggingEnabled`)) {
      acknowledge(this.webAcl, id,
        'R-SEC-7: server logs hold no IP addresses; WAF logs always contain the client IP (httpRequest.clientIp), so they are off, as are sampled requests (which keep client IPs and headers). Blocked and counted requests are visible as CloudWatch metrics per rule');
    }
    for (const route of ROUTES) {
      const method = this.api.root.resourceForPath(route.path).node.findChild(route.method);
      if (route.auth === 'iam') {
        acknowledge(method, 'AwsSolutions-COG4',
          'Operator routes use IAM (SigV4) authorization and the API resource policy admits only the operator role to them, which a person assumes with MFA (R-SEC-5, OperatorAccess); a Cognito user pool would be a second identity store for the same people');
      } else {
        const reason = route.auth === 'api-key'
          ? 'The function authenticates the tenant API key by its SHA-256 hash in the control table (R-SEC-3); an authorizer would add a second lookup and cache decisions across tenants'
          : 'Webhook senders authenticate with an HMAC signature over the raw body (R-ING-2); an authorizer cannot see the body, so the function verifies the signature';
        acknowledge(method, 'AwsSolutions-APIG4', reason);
        acknowledge(method, 'AwsSolutions-COG4', reason);
      }
    }
  }

  private addRoutes(functions: IngestionApiProps['functions']): void {
    // Request parameters are checked by API Gateway; bodies by the functions (they verify signatures over
    // the raw bytes and enforce limits.maxBodyBytes), so no body model is attached.
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const integrations = new Map<FunctionName, apigw.LambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new apigw.LambdaIntegration(functions[route.fn], { allowTestInvoke: false });
        integrations.set(route.fn, integration);
      }
      const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      this.api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        // api-key and signature routes: the function authenticates (hashed key lookup or HMAC over the raw
        // body); operator routes need SigV4.
        authorizationType: route.auth === 'iam' ? apigw.AuthorizationType.IAM : apigw.AuthorizationType.NONE,
        requestValidator: validator,
        requestParameters: Object.fromEntries(pathParameters.map((p) => [`method.request.path.${p}`, true])),
      });
    }
  }

  /** R-ING-5: managed rule groups, a rate limit per source IP and one per tenant. */
  private addWebAcl(limits: RateLimits, metricPrefix: string): wafv2.CfnWebACL {
    // R-SEC-7: no sampled requests. A sample keeps the whole request for three hours, client IP and headers
    // included, and so live `Authorization: Bearer lq_…` keys, for anyone with wafv2:GetSampledRequests; the
    // CloudWatch metrics of each rule still count what it blocked or counted.
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: false,
      metricName: `${metricPrefix}-${name}`,
    });
    const managedGroup = (
      priority: number,
      name: string,
      ruleActionOverrides?: wafv2.CfnWebACL.RuleActionOverrideProperty[],
    ): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides } },
      visibilityConfig: visibility(name),
    });
    const rateRule = (
      priority: number,
      name: string,
      statement: wafv2.CfnWebACL.RateBasedStatementProperty,
    ): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      action: { block: {} },
      statement: { rateBasedStatement: { evaluationWindowSec: 300, ...statement } },
      visibilityConfig: visibility(name),
    });
    const noTransform = [{ priority: 0, type: 'NONE' }];
    const isWebhookPath: wafv2.CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        // The execute-api path starts with the stage (`/dev/v1/hooks/...`), a custom domain's may not.
        positionalConstraint: 'CONTAINS',
        searchString: WEBHOOK_PATH,
        textTransformations: [{ priority: 0, type: 'URL_DECODE' }],
      },
    };

    const webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('WebAcl'),
      rules: [
        managedGroup(0, 'AWSManagedRulesAmazonIpReputationList'),
        rateRule(1, 'RatePerSourceIp', { limit: limits.perIpPer5Min, aggregateKeyType: 'IP' }),
        // Per credential on API-key routes: the key names one tenant. WAF cannot verify a key, but a bucket is the key
        // itself, so nobody who lacks a tenant's key can use up that tenant's quota. The functions take the key from
        // either header, so each has its rule: a request that names its key in x-api-key alone is counted by the
        // second (WAF skips a request that lacks a custom key's header), and cannot slip past both.
        rateRule(2, 'RatePerTenantApiKey', {
          limit: limits.perTenantPer5Min,
          aggregateKeyType: 'CUSTOM_KEYS',
          customKeys: [{ header: { name: 'authorization', textTransformations: noTransform } }],
          scopeDownStatement: { notStatement: { statement: isWebhookPath } },
        }),
        rateRule(3, 'RatePerTenantApiKeyHeader', {
          limit: limits.perTenantPer5Min,
          aggregateKeyType: 'CUSTOM_KEYS',
          customKeys: [{ header: { name: 'x-api-key', textTransformations: noTransform } }],
          scopeDownStatement: { notStatement: { statement: isWebhookPath } },
        }),
        // Per webhook source and sender address: the path is not authenticated (the signature is checked in the
        // function), so a bucket per path alone would let anyone use up a tenant's quota and block its real
        // deliveries (issue 10). Keyed on path and source IP, a flood uses up only its own senders' buckets; the
        // per-IP rule above and the stage throttling still bound it.
        rateRule(4, 'RatePerWebhookSender', {
          limit: limits.perTenantPer5Min,
          aggregateKeyType: 'CUSTOM_KEYS',
          customKeys: [{ uriPath: { textTransformations: noTransform } }, { ip: {} }],
          scopeDownStatement: isWebhookPath,
        }),
        // SizeRestrictions_BODY blocks bodies over 8 KB, far below limits.maxBodyBytes: count it only and let
        // the functions enforce the configured limit.
        managedGroup(5, 'AWSManagedRulesCommonRuleSet', [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]),
        managedGroup(6, 'AWSManagedRulesKnownBadInputsRuleSet'),
      ],
    });

    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.stage.stageArn,
      webAclArn: webAcl.attrArn,
    });
    return webAcl;
  }
}
