/**
 * Operator alarms (R-OBS-1), all notifying one encrypted, TLS-only SNS topic: records that reached the
 * DLQ, a processor falling behind the stream, function errors and throttles, API 5xx responses, failed
 * privacy workflow executions and data-subject requests past their deadline (R-DSR-5).
 */
import * as cdk from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { OVERDUE_METRIC } from '../../lambdas/domain/privacy';
import { USAGE_MISMATCH_METRIC, USAGE_NEAR_LIMIT_METRIC } from '../../lambdas/domain/usage';
import { METRICS_NAMESPACE } from './lumiqo-function';

/**
 * R-DSR-5: open requests past their one-month deadline, as the hourly check of the function with Powertools
 * service name `serviceName` emits it (Powertools adds the `service` dimension to every metric).
 */
export function overduePrivacyRequestsMetric(serviceName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: OVERDUE_METRIC,
    dimensionsMap: { service: serviceName },
    period: cdk.Duration.hours(1),
    statistic: 'Maximum',
  });
}

/**
 * R-BILL-2: the billing function's daily usage metrics: tenant-days still undelivered near Stripe's 35-day limit, and
 * reconciliation mismatches (each mismatch's log line names the tenant, the day and the meter: "usage mismatch").
 */
export function billingUsageMetrics(serviceName: string): { readonly nearLimit: cloudwatch.IMetric; readonly mismatches: cloudwatch.IMetric } {
  const metric = (metricName: string) =>
    new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: serviceName }, period: cdk.Duration.days(1), statistic: 'Maximum' });
  return { nearLimit: metric(USAGE_NEAR_LIMIT_METRIC), mismatches: metric(USAGE_MISMATCH_METRIC) };
}

export interface OperationsAlarmsProps {
  /** Encrypts the topic (R-SEC-2); CloudWatch must be allowed to use it (the key policy's job). */
  readonly topicKey: kms.IKey;
  /** E-mail subscription. @default no subscription */
  readonly alarmEmail?: string;
  /** Functions whose errors and throttles raise an alarm, by a short name used in the alarm id. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The stream processor: its iterator age says how far behind the stream it is. */
  readonly processor: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly api: apigw.RestApi;
  /** @default 60 seconds */
  readonly maxIteratorAge?: cdk.Duration;
  /** Workflows whose failed executions raise an alarm, by name. @default none */
  readonly stateMachines?: Readonly<Record<string, sfn.IStateMachine>>;
  /** R-DSR-5: overdue data-subject requests (`overduePrivacyRequestsMetric`). @default no alarm */
  readonly overduePrivacyRequests?: cloudwatch.IMetric;
  /** R-BILL-2: the usage report's and reconciliation's metrics (`billingUsageMetrics`). @default no alarms */
  readonly usage?: { readonly nearLimit: cloudwatch.IMetric; readonly mismatches: cloudwatch.IMetric };
}

export class OperationsAlarms extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { masterKey: props.topicKey, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const period = cdk.Duration.minutes(1);
    // R-ING-7: a record in the DLQ is data that needs an operator, at once.
    this.alarm('DeadLetters', 'Records reached the stream DLQ', 0,
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }));
    // R-ING-3: rollups are fresh within a minute only if the processor keeps up.
    const maxIteratorAge = props.maxIteratorAge ?? cdk.Duration.seconds(60);
    this.alarm('ProcessorIteratorAge', `Processor is more than ${maxIteratorAge.toSeconds()} s behind the stream`,
      maxIteratorAge.toMilliseconds(),
      props.processor.metric('IteratorAge', { period, statistic: 'Maximum' }));
    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(`${name}Errors`, `${name} function errors`, 0, fn.metricErrors({ period, statistic: 'Sum' }));
      this.alarm(`${name}Throttles`, `${name} function throttles`, 0, fn.metricThrottles({ period, statistic: 'Sum' }));
    }
    this.alarm('Api5xx', 'API returned 5xx responses', 0, props.api.metricServerError({ period, statistic: 'Sum' }));
    // A failed execution left a request or termination in status failed: an operator must act (R-SEC-6 has the entry).
    for (const [name, machine] of Object.entries(props.stateMachines ?? {})) {
      this.alarm(`${name}ExecutionsFailed`, `${name} workflow executions failed`, 1,
        machine.metricFailed({ period, statistic: 'Sum' }), cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    }
    if (props.overduePrivacyRequests) {
      this.alarm('OverduePrivacyRequests', 'Data-subject requests are past their one-month deadline (R-DSR-5)', 1,
        props.overduePrivacyRequests, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    }
    if (props.usage) {
      this.alarm('UsageDaysNearReportLimit', 'Tenant-days of usage not yet delivered to Stripe are near its 35-day limit (R-BILL-2; the report\'s log names them)', 1,
        props.usage.nearLimit, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
      this.alarm('UsageMismatches', 'Stripe\'s meter summaries differ from the usage ledger (R-BILL-2; each "usage mismatch" log line names tenant, day and meter)', 1,
        props.usage.mismatches, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    }
  }

  /** Alarms when the metric passes the threshold in one period; notifies on alarm and on recovery. */
  private alarm(
    id: string,
    description: string,
    threshold: number,
    metric: cloudwatch.IMetric,
    comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new actions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}
