/**
 * The privacy workflows (R-DSR-1..3, R-TERM-1..5): one Standard state machine per data-subject request type and
 * one for tenant termination. Every state has a comment; every task is a Lambda invocation `{ task, state }` that
 * returns the next state, retried with backoff unless it failed permanently, and caught into RecordFailure, which
 * records the failure in the request and the audit log (R-SEC-6). States carry pointers and counters only
 * (lambdas/domain/privacy.ts): the work lists themselves live in the exports bucket.
 *
 * State names are part of the contract: the local runtime and the tests read the synthesized definitions
 * (lib/workflow-definitions.ts) and address states by name.
 */
import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  EXPORT_WINDOW_DAYS,
  PERMANENT_ERROR,
  SUBJECT_TASKS,
  TERMINATION_TASKS,
  WORKFLOW_NAMES,
  type SubjectTask,
  type TerminationStage,
  type TerminationTask,
  type WorkflowName,
} from '../../lambdas/domain/privacy';
import { TENANT_CACHE_MS } from '../../lambdas/domain/processing';
import { acknowledgeWildcardActions, acknowledgeWildcardResources, nagResourceName } from '../nag';
import { pascalCase } from './lumiqo-function';

/** R-TERM-2: the tenant's export stays available for EXPORT_WINDOW_DAYS (30 days, 2,592,000 s) before the purge. */
export const EXPORT_WINDOW = cdk.Duration.days(EXPORT_WINDOW_DAYS);
/**
 * R-TERM-1: the ingest function's timeout (lib/stacks/services-stack.ts uses it): once the freeze is this old, no
 * request that saw the tenant active is still publishing, and the drain marker goes behind every record accepted.
 */
export const INGEST_TIMEOUT = cdk.Duration.seconds(10);
/** R-TERM-1: how often the drain checks whether the processor has stored the marker (no fixed drain time). */
export const STREAM_DRAIN_POLL = cdk.Duration.seconds(10);
/** R-DSR-2, R-DSR-3: how long the processor caches restrictions and erasures (TENANT_CACHE_MS, 60 s). */
const PROCESSOR_CACHE_SECONDS = TENANT_CACHE_MS / 1000;
/** R-DSR-2, R-DSR-3: past the processor's cache by 30 s (90 s in all), every new event sees the change. */
export const RESTRICTION_PROPAGATION = cdk.Duration.seconds(PROCESSOR_CACHE_SECONDS + 30);
/** R-DSR-2: locate/erase/verify passes before an erasure that still finds records is recorded as failed. */
export const MAX_ERASURE_PASSES = 3;

/** Transient failures (throttling, timeouts, a store briefly unavailable): 2, 4, 8, 16 s. */
const RETRY: sfn.RetryProps = { errors: ['States.ALL'], interval: cdk.Duration.seconds(2), backoffRate: 2, maxAttempts: 4 };
/** Template metadata key naming the workflow on its AWS::StepFunctions::StateMachine. */
export const WORKFLOW_METADATA_KEY = 'lumiqo:workflow';

/** What CDK grants a state machine's role on "*" for execution logging and X-Ray tracing: nothing else may be (R-SEC-5). */
const STATE_MACHINE_STAR_ACTIONS = [
  'logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'logs:DescribeLogGroups', 'logs:DescribeResourcePolicies', 'logs:GetLogDelivery',
  'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:UpdateLogDelivery',
  'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
];

export interface PrivacyWorkflowsProps {
  /** `privacy-tasks`: every task of the five data-subject machines. */
  readonly subjectTasks: lambda.IFunction;
  /** `termination-tasks`: every task of the termination machine. */
  readonly terminationTasks: lambda.IFunction;
  /**
   * R-TERM-1, R-BILL-2: `billing`, whose usage reporter sends the tenant's open usage to Stripe in the termination's
   * ReportTenantUsage state (`{ task: 'report-tenant-usage', state }`), through the daily report's code.
   */
  readonly usageReporter: lambda.IFunction;
  /** Encrypts the execution log group (R-SEC-2). */
  readonly logKey: kms.IKey;
  /** R-RET-5 */
  readonly logRetention: logs.RetentionDays;
}

export class PrivacyWorkflows extends Construct {
  public readonly stateMachines: Readonly<Record<WorkflowName, sfn.StateMachine>>;
  /** Execution events of all six machines (no execution data: states hold no personal data, but errors may quote it). */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PrivacyWorkflowsProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetention,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    const subject = (name: WorkflowName, build: (b: WorkflowBuilder<SubjectTask>) => sfn.IChainable) =>
      this.stateMachine(name, build(new WorkflowBuilder(this.workflowScope(name), props.subjectTasks, SUBJECT_TASKS)));
    const machines: Record<WorkflowName, sfn.StateMachine> = {
      access: subject('access', accessDefinition),
      erasure: subject('erasure', erasureDefinition),
      rectification: subject('rectification', rectificationDefinition),
      restriction: subject('restriction', restrictionDefinition),
      'lift-restriction': subject('lift-restriction', liftRestrictionDefinition),
      consent: subject('consent', consentDefinition),
      termination: this.stateMachine('termination',
        terminationDefinition(new WorkflowBuilder(this.workflowScope('termination'), props.terminationTasks, TERMINATION_TASKS), props.usageReporter)),
    };
    this.stateMachines = machines;
    this.grantContinuation(machines.termination);
    for (const name of WORKFLOW_NAMES) {
      this.acknowledgeInvokeGrant(machines[name], name === 'termination' ? props.terminationTasks : props.subjectTasks);
    }
    this.acknowledgeInvokeGrant(machines.termination, props.usageReporter);
  }

  /**
   * R-TERM-1..5: the termination machine starts its own continuation (ContinueInNewExecution): states:StartExecution
   * on itself only. A policy of its own: the machine's default policy is created before the machine, which this
   * statement names.
   */
  private grantContinuation(machine: sfn.StateMachine): void {
    new iam.Policy(machine, 'ContinuationPolicy', {
      roles: [machine.role],
      statements: [new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [machine.stateMachineArn] })],
    });
  }

  /**
   * states:StartExecution on the named workflows (all six by default), nothing else; with the termination,
   * states:DescribeExecution on its executions too (the sweeper's "does it still run", R-TERM-1..5).
   */
  grantStart(grantee: iam.IGrantable, workflows: readonly WorkflowName[] = WORKFLOW_NAMES): void {
    for (const name of workflows) this.stateMachines[name].grantStartExecution(grantee);
    if (!workflows.includes('termination')) return;
    const machine = this.stateMachines.termination;
    // Executions are named at run time (`<terminationId>…`): the machine's own executions, none of any other machine.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:DescribeExecution'],
      resourceArns: [cdk.Stack.of(this).formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${machine.stateMachineName}:*`,
        arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
      })],
    });
    acknowledgeWildcardResources(grantee.grantPrincipal as unknown as Construct, (resource) => resource.includes(':execution:') && resource.endsWith(':*'),
      'states:DescribeExecution only, on the executions of the termination state machine (named per termination at run time): the sweeper checks that a recorded execution still runs (R-TERM-1..5)');
  }

  private workflowScope(name: WorkflowName): Construct {
    return new Construct(this, pascalCase(name));
  }

  private stateMachine(name: WorkflowName, definition: sfn.IChainable): sfn.StateMachine {
    const scope = this.node.findChild(pascalCase(name));
    const machine = new sfn.StateMachine(scope, 'StateMachine', {
      comment: `Lumiqo ${name} workflow`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      // R-SEC-7: execution events without their input and output.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    (machine.node.defaultChild as sfn.CfnStateMachine).addMetadata(WORKFLOW_METADATA_KEY, name);
    acknowledgeWildcardActions(machine.role, STATE_MACHINE_STAR_ACTIONS,
      'Granted by CDK for execution logging (logs:*LogDelivery*, DescribeLogGroups, DescribeResourcePolicies, PutResourcePolicy) and X-Ray tracing (PutTraceSegments, PutTelemetryRecords, GetSampling*): these actions have no resource-level permissions and only accept "*"');
    return machine;
  }

  /** The task function's `:*` (its versions and aliases) is how CDK's LambdaInvoke grants invoke; nothing else of it. */
  private acknowledgeInvokeGrant(machine: sfn.StateMachine, fn: lambda.IFunction): void {
    acknowledgeWildcardResources(machine.role, (resource) => resource === `${nagResourceName(this, fn.functionArn)}:*`,
      'LambdaInvoke grants lambda:InvokeFunction on the task function and its qualified ARNs (versions and aliases, the :* suffix) only; no other function is reachable');
  }
}

/**
 * The states every workflow shares: Lambda task states with the retry and catch policy, RecordFailure → Failed,
 * Done, and batch loops. One builder per state machine, so state names are unique within it.
 */
class WorkflowBuilder<T extends string> {
  /** Records the failure (request or termination status `failed`, audit entry), then fails the execution. */
  readonly recordFailure: tasks.LambdaInvoke;
  readonly done: sfn.Succeed;

  constructor(
    readonly scope: Construct,
    private readonly fn: lambda.IFunction,
    private readonly taskNames: readonly T[],
  ) {
    this.recordFailure = this.invoke('RecordFailure', 'record-failure' as T,
      'Marks the request failed with the error name (never its cause text) and audits the failure (R-SEC-6)');
    this.recordFailure.next(new sfn.Fail(scope, 'Failed', { comment: 'The workflow failed; the request shows status failed until an operator acts' }));
    this.done = new sfn.Succeed(scope, 'Done', { comment: 'The workflow finished; the request shows status completed' });
  }

  /** A task state: retried unless the error is permanent, then caught into RecordFailure with the error at $.error. */
  task(stateName: string, task: T, comment: string): tasks.LambdaInvoke {
    const state = this.invoke(stateName, task, comment);
    state.addCatch(this.recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    return state;
  }

  /**
   * A batch loop's test: `$.done` true leaves the loop; `$.continue` true (the turn limit of one execution,
   * R-TERM-1..5) goes to `continueLater`; anything else runs the batch task again.
   */
  loop(stateName: string, comment: string, batch: sfn.IChainable, exit: sfn.IChainable, continueLater?: sfn.IChainable): sfn.Choice {
    const choice = new sfn.Choice(this.scope, stateName, { comment })
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.done'), sfn.Condition.booleanEquals('$.done', true)), exit);
    if (continueLater) choice.when(sfn.Condition.and(sfn.Condition.isPresent('$.continue'), sfn.Condition.booleanEquals('$.continue', true)), continueLater);
    return choice.otherwise(batch);
  }

  /**
   * R-TERM-1..5: hands the state to a new execution of this very machine (`$$.StateMachine.Id`), named
   * `<terminationId>-c<segment>`, and ends this one: the loop goes on with a fresh history. The new execution's
   * Claim accepts it as the record's next holder through `$.predecessor`. StartExecution is idempotent for the same
   * name and input, so the retry of a start whose answer was lost starts nothing twice.
   */
  continueInNewExecution(): sfn.IChainable {
    const start = new sfn.CustomState(this.scope, 'ContinueInNewExecution', {
      stateJson: {
        Type: 'Task',
        Comment: 'Starts a new execution of this state machine with the current state, so no execution\'s history grows with the tenant',
        Resource: `arn:${cdk.Aws.PARTITION}:states:::states:startExecution`,
        Parameters: {
          'StateMachineArn.$': '$$.StateMachine.Id',
          'Name.$': "States.Format('{}-c{}', $.terminationId, $.segment)",
          'Input.$': '$',
        },
        ResultPath: null,
      },
    });
    start.addRetry(RETRY);
    start.addCatch(this.recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    return this.pass('Handover', {
      comment: 'Names this execution as the predecessor the next one may take the record over from',
      parameters: { 'id.$': '$.execution.id' },
      resultPath: '$.predecessor',
    })
      .next(start)
      .next(new sfn.Succeed(this.scope, 'Continued', { comment: 'The termination goes on in the execution just started' }));
  }

  wait(stateName: string, duration: cdk.Duration, comment: string): sfn.Wait {
    return new sfn.Wait(this.scope, stateName, { comment, time: sfn.WaitTime.duration(duration) });
  }

  choice(stateName: string, comment: string): sfn.Choice {
    return new sfn.Choice(this.scope, stateName, { comment });
  }

  pass(stateName: string, props: sfn.PassProps): sfn.Pass {
    return new sfn.Pass(this.scope, stateName, props);
  }

  /** A task state of another function (`fn` gets `{ task, state }` and returns the state), retried and caught alike. */
  otherTask(stateName: string, fn: lambda.IFunction, task: string, comment: string): tasks.LambdaInvoke {
    const state = this.invoke(stateName, task, comment, fn);
    state.addCatch(this.recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    return state;
  }

  private invoke(stateName: string, task: string, comment: string, fn?: lambda.IFunction): tasks.LambdaInvoke {
    if (!fn && !this.taskNames.includes(task as T)) throw new Error(`Task '${task}' of state ${stateName} is not one of ${this.taskNames.join(', ')}`);
    const state = new tasks.LambdaInvoke(this.scope, stateName, {
      comment,
      lambdaFunction: fn ?? this.fn,
      // The task gets its name and the whole state, and returns the next state (lambdas/domain/privacy.ts TaskInvocation).
      payload: sfn.TaskInput.fromObject({ task, state: sfn.JsonPath.entirePayload }),
      outputPath: '$.Payload',
      // The retriers below cover Lambda's own errors too, with one policy for every failure.
      retryOnServiceExceptions: false,
    });
    // Retriers are tried in order: a permanent error is not retried, every other error is (States.ALL comes last).
    state.addRetry({ errors: [PERMANENT_ERROR], maxAttempts: 0 });
    state.addRetry(RETRY);
    return state;
  }
}

/** R-DSR-1: every record of the subject, exported as JSON lines with a manifest. */
function accessDefinition(b: WorkflowBuilder<SubjectTask>): sfn.IChainable {
  const locate = b.task('Locate', 'locate', 'Finds the subject\'s event ids and writes them as a work list to the exports bucket');
  const exportRecords = b.task('ExportRecords', 'export-records', 'Decrypts the next batch of the work list into a JSON-lines export part');
  const finish = b.task('WriteExportManifest', 'write-export-manifest', 'Writes manifest.json naming every part with its SHA-256')
    .next(b.task('Complete', 'complete', 'Marks the request completed; the export stays for the controller to fetch'))
    .next(b.done);
  return locate
    .next(exportRecords)
    .next(b.loop('MoreToExport?', 'Exports the next batch until the work list is done', exportRecords, finish));
}

/** R-DSR-2: every record of the subject deleted from every store, verified, and a signed deletion record. */
function erasureDefinition(b: WorkflowBuilder<SubjectTask>): sfn.IChainable {
  const locate = b.task('Locate', 'locate', 'Finds the subject\'s event ids (again on a later pass) and writes the work list');
  const eraseRecords = b.task('EraseRecords', 'erase-records', 'Deletes the next batch: payload objects with all versions, events, subject index entries');
  const sign = b.task('SignDeletionRecord', 'sign-deletion-record', 'Signs the deletion record (ECDSA P-256 in KMS) and stores it in the records bucket')
    .next(b.task('Complete', 'complete', 'Marks the request completed and deletes the work list'))
    .next(b.done);
  const incomplete = b.pass('ErasureIncomplete', {
    comment: `Records still found after ${MAX_ERASURE_PASSES} passes: recorded as a failure for an operator`,
    result: sfn.Result.fromObject({ Error: 'ErasureIncomplete', Cause: `records remain after ${MAX_ERASURE_PASSES} passes` }),
    resultPath: '$.error',
  }).next(b.recordFailure);
  const erased = b.choice('Erased?', 'Nothing remains: sign; records remain (events that arrived meanwhile): another pass, up to the limit')
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.remaining'), sfn.Condition.numberEquals('$.remaining', 0)), sign)
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.pass'), sfn.Condition.numberLessThan('$.pass', MAX_ERASURE_PASSES)), locate)
    .otherwise(incomplete);
  const verify = b.task('EraseExports', 'erase-exports', 'Deletes every export of the subject from the exports bucket')
    .next(b.wait('AwaitPropagation', RESTRICTION_PROPAGATION,
      `R-DSR-2: waits out the processor's ${PROCESSOR_CACHE_SECONDS} s cache: from then on it drops the subject\'s records received before the request, and any it stored meanwhile is found by the verification`))
    .next(b.task('VerifyErasure', 'verify-erasure', 'Counts the records received up to the request that the subject index still finds'))
    .next(erased);
  return locate
    .next(eraseRecords)
    .next(b.loop('MoreToErase?', 'Erases the next batch until the work list is done', eraseRecords, verify));
}

/**
 * Locate, then one batch task over the work list until it is done, then Complete: the shape of rectification,
 * restriction and its lifting.
 */
function batchesOverWorkList(b: WorkflowBuilder<SubjectTask>, batch: sfn.TaskStateBase, loopState: string, loopComment: string): sfn.IChainable {
  const finish = b.task('Complete', 'complete', 'Marks the request completed and deletes the work list').next(b.done);
  return b.task('Locate', 'locate', 'Finds the subject\'s event ids and writes them as a work list')
    .next(batch)
    .next(b.loop(loopState, loopComment, batch, finish));
}

/** R-DSR-3: corrections applied to every record of the subject. */
function rectificationDefinition(b: WorkflowBuilder<SubjectTask>): sfn.IChainable {
  const rectify = b.task('RectifyRecords', 'rectify-records', 'Applies the corrections to the next batch, re-indexes and re-encrypts each record');
  return batchesOverWorkList(b, rectify, 'MoreToRectify?', 'Rectifies the next batch until the work list is done');
}

/** R-DSR-3: the subject's new events are quarantined from now on, existing ones once the restriction has propagated. */
function restrictionDefinition(b: WorkflowBuilder<SubjectTask>): sfn.IChainable {
  const quarantine = b.task('QuarantineRecords', 'quarantine-records', 'Moves the next batch out of every read index into the quarantine partition');
  return b.task('Restrict', 'restrict', 'Records the restriction: from now on the processor quarantines the subject\'s new events')
    .next(b.wait('AwaitPropagation', RESTRICTION_PROPAGATION, `R-DSR-3: waits out the processor's ${PROCESSOR_CACHE_SECONDS} s restriction cache, so no event slips between locate and the cache`))
    .next(batchesOverWorkList(b, quarantine, 'MoreToQuarantine?', 'Quarantines the next batch until the work list is done'));
}

/** R-DSR-3: the restriction lifted, quarantined records released where no other subject of theirs is restricted. */
function liftRestrictionDefinition(b: WorkflowBuilder<SubjectTask>): sfn.IChainable {
  const release = b.task('ReleaseRecords', 'release-records', 'Releases the next batch back into the read indexes, applying rollups they missed');
  return b.task('LiftRestriction', 'lift-restriction', 'Removes the restriction: new events of the subject are processed again')
    .next(b.wait('AwaitPropagation', RESTRICTION_PROPAGATION, `R-DSR-3: waits out the processor's ${PROCESSOR_CACHE_SECONDS} s restriction cache before releasing records`))
    .next(batchesOverWorkList(b, release, 'MoreToRelease?', 'Releases the next batch until the work list is done'));
}

/** R-DSR-4: the subject's flags set, then complete once every new event sees them. */
function consentDefinition(b: WorkflowBuilder<SubjectTask>): sfn.IChainable {
  return b.task('SetConsent', 'set-consent', 'Records the subject\'s objection or consent per purpose (analytics, ai)')
    .next(b.wait('AwaitPropagation', RESTRICTION_PROPAGATION, `R-DSR-4: waits out the processor's ${PROCESSOR_CACHE_SECONDS} s cache, so the request completes only once the flags are in effect`))
    .next(b.task('Complete', 'complete', 'Marks the request completed').next(b.done));
}

/**
 * R-TERM-1..5: freeze, flush usage, export (unless deletion was elected), purge, shred, verify, certify, in
 * executions whose history never depends on the tenant's size:
 * - every execution starts by claiming the termination record (Claim): from then on only it may write there;
 * - Resume? jumps to the stage the state names, so a continued or resumed execution goes on where the last stopped;
 * - a loop that reaches TURNS_PER_EXECUTION turns hands its state to a new execution of this machine
 *   (ContinueInNewExecution) and ends;
 * - no execution waits out the 30-day export window: it ends after the manifest, and the termination sweeper
 *   (privacy function, hourly) starts the purge from the record once the window has closed.
 */
function terminationDefinition(b: WorkflowBuilder<TerminationTask>, usageReporter: lambda.IFunction): sfn.IChainable {
  const continueLater = b.continueInNewExecution();
  const certify = b.task('IssueCertificate', 'issue-certificate', 'R-TERM-5: signs the deletion certificate, stores it, marks the tenant terminated');
  certify.next(b.done);
  const verify = b.task('VerifyPurge', 'verify-purge', 'Checks that no store still holds anything readable of the tenant');
  verify.next(certify);
  const shred = b.task('ShredKeys', 'shred-keys', 'R-TERM-4: schedules deletion of the tenant\'s KMS key, so backups turn unreadable too');
  shred.next(verify);
  const purge = b.task('PurgeTenantData', 'purge-tenant-data', 'Deletes the next part of the tenant: events, rollups, objects, exports, requests, control items');
  purge.next(b.loop('MoreToPurge?', 'Purges the next part until every store is empty', purge, shred, continueLater));

  const manifest = b.task('WriteTenantManifest', 'write-tenant-manifest', 'Writes the manifest and the export\'s availability date on the termination record');
  manifest.next(new sfn.Succeed(b.scope, 'ExportOffered', {
    comment: `R-TERM-2: the export stays available for ${EXPORT_WINDOW_DAYS} days; the termination sweeper starts the purge from the record once they have passed`,
  }));
  const exportData = b.task('ExportTenantData', 'export-tenant-data', 'Decrypts the next page of the tenant\'s events into a JSON-lines export part');
  exportData.next(b.loop('MoreToExport?', 'Exports the next page until every event is exported', exportData, manifest, continueLater));

  const flush = b.task('FlushUsage', 'flush-usage', 'R-TERM-1, R-TERM-6: writes the usage not yet billed to the billing ledger');
  const report = b.otherTask('ReportTenantUsage', usageReporter, 'report-tenant-usage',
    'R-TERM-1, R-BILL-2: billing reports the tenant\'s open usage (its days, today included) to Stripe before anything is deleted');
  flush.next(report);
  report.next(b.choice('Election?', 'R-TERM-3: the controller elected immediate deletion, or export first (the default)')
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.election'), sfn.Condition.stringEquals('$.election', 'immediate')), purge)
    .otherwise(exportData));
  const drain = b.task('DrainStream', 'drain-stream',
    'R-TERM-1: puts the drain marker into the stream behind the tenant\'s records, then checks whether the processor has stored it');
  const poll = b.wait('AwaitStreamDrain', STREAM_DRAIN_POLL, 'R-TERM-1: gives the processor time before the drain is checked again');
  poll.next(drain);
  drain.next(b.loop('Drained?', 'R-TERM-1: usage is flushed once the processor has passed every record accepted before the freeze', poll, flush, continueLater));
  const freeze = b.task('Freeze', 'freeze', 'R-TERM-1: freezes the tenant: ingestion, reads and API keys answer tenant_frozen');
  freeze.next(b.wait('AwaitInFlightIngest', INGEST_TIMEOUT,
    `R-TERM-1: a request that saw the tenant active before the freeze is done publishing within the ingest function's ${INGEST_TIMEOUT.toSeconds()} s timeout`))
    .next(drain);

  const stages: [TerminationStage, sfn.IChainable][] = [
    ['drain', drain], ['flush', flush], ['export', exportData], ['manifest', manifest], ['purge', purge], ['shred', shred], ['verify', verify], ['certify', certify],
  ];
  const resume = b.choice('Resume?', 'Goes on at the stage the state names (a continued or resumed execution); from the freeze otherwise');
  for (const [stage, state] of stages) resume.when(sfn.Condition.and(sfn.Condition.isPresent('$.stage'), sfn.Condition.stringEquals('$.stage', stage)), state);
  resume.otherwise(freeze);

  return b.pass('ExecutionContext', {
    comment: 'Puts this execution\'s id into the state ($.execution.id): the tasks bind the termination record to it',
    parameters: { 'id.$': '$$.Execution.Id' },
    resultPath: '$.execution',
  })
    .next(b.task('Claim', 'claim', 'Binds the termination record to this execution (a stale one is refused from now on) and starts from the newest checkpoint'))
    .next(resume);
}
