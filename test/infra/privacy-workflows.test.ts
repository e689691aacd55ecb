/**
 * The privacy state machines as synthesized (R-DSR-1..3, R-TERM-1..5): their definitions are read from the
 * template (DefinitionString's Fn::Join resolved, never compared as a string), checked state by state against the
 * layouts of the design, then run with aws-local-stepfunctions and scripted task functions to check the flows
 * that matter: batch loops, erasure passes, the termination election, retries and failure recording.
 */
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { PERMANENT_ERROR, SUBJECT_TASKS, TERMINATION_TASKS, WORKFLOW_NAMES, type WorkflowName } from '../../lambdas/domain/privacy';
import { stackPrefix } from '../../lib/config';
import { EXPORT_WINDOW, INGEST_TIMEOUT, MAX_ERASURE_PASSES, RESTRICTION_PROPAGATION, STREAM_DRAIN_POLL } from '../../lib/constructs/privacy-workflows';
import { ServicesStack } from '../../lib/stacks/services-stack';
import { synthesizedWorkflows, type AslDefinition, type AslState, type SynthesizedWorkflow } from '../../lib/workflow-definitions';
import { synthDataStack, testApp, testConfig } from './helpers';

// TOOLCHAIN.md: aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const config = testConfig({ logRetentionDays: 30 });
const app = testApp();
const data = synthDataStack(config, app);
const stack = new ServicesStack(app, `${stackPrefix(config)}-Services`, { config, data, env: { account: '111111111111', region: 'eu-west-1' } });
const template = Template.fromStack(stack).toJSON();
const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as cdk.CfnElement);
const workflows = synthesizedWorkflows({ Resources: template.Resources }) as Record<WorkflowName, SynthesizedWorkflow>;

/** Task states run task `kebab(StateName)`: `WriteExportManifest` → `write-export-manifest`. */
const taskOf = (stateName: string) => stateName.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
const statesOf = (name: WorkflowName) => Object.entries(workflows[name].definition.States);
const tasksOf = (name: WorkflowName) => statesOf(name).filter(([stateName, state]) => state.Type === 'Task' && !workflows[name].executionStarts.includes(stateName));

/** The transitions of a state other than its Catch: Next, each choice's Next, Default. */
function successors(state: AslState): string[] {
  return [state.Next, ...(state.Choices ?? []).map((choice) => choice.Next), state.Default].filter((s): s is string => s !== undefined);
}

/** Each Choice rule's comparisons, with `And` flattened. */
function comparisons(rule: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(rule.And) ? (rule.And as Record<string, unknown>[]).flatMap(comparisons) : [rule];
}

/**
 * The layouts of the design (shared design doc, "State machines"), as transitions other than Catch. Every
 * machine also has RecordFailure → Failed and reaches RecordFailure through the Catch of every task.
 */
const LAYOUTS: Record<WorkflowName, Record<string, string[]>> = {
  access: {
    Locate: ['ExportRecords'],
    ExportRecords: ['MoreToExport?'],
    'MoreToExport?': ['WriteExportManifest', 'ExportRecords'],
    WriteExportManifest: ['Complete'],
    Complete: ['Done'],
  },
  erasure: {
    Locate: ['EraseRecords'],
    EraseRecords: ['MoreToErase?'],
    'MoreToErase?': ['EraseExports', 'EraseRecords'],
    EraseExports: ['AwaitPropagation'],
    AwaitPropagation: ['VerifyErasure'],
    VerifyErasure: ['Erased?'],
    'Erased?': ['SignDeletionRecord', 'Locate', 'ErasureIncomplete'],
    ErasureIncomplete: ['RecordFailure'],
    SignDeletionRecord: ['Complete'],
    Complete: ['Done'],
  },
  rectification: {
    Locate: ['RectifyRecords'],
    RectifyRecords: ['MoreToRectify?'],
    'MoreToRectify?': ['Complete', 'RectifyRecords'],
    Complete: ['Done'],
  },
  restriction: {
    Restrict: ['AwaitPropagation'],
    AwaitPropagation: ['Locate'],
    Locate: ['QuarantineRecords'],
    QuarantineRecords: ['MoreToQuarantine?'],
    'MoreToQuarantine?': ['Complete', 'QuarantineRecords'],
    Complete: ['Done'],
  },
  'lift-restriction': {
    LiftRestriction: ['AwaitPropagation'],
    AwaitPropagation: ['Locate'],
    Locate: ['ReleaseRecords'],
    ReleaseRecords: ['MoreToRelease?'],
    'MoreToRelease?': ['Complete', 'ReleaseRecords'],
    Complete: ['Done'],
  },
  // R-DSR-4
  consent: {
    SetConsent: ['AwaitPropagation'],
    AwaitPropagation: ['Complete'],
    Complete: ['Done'],
  },
  // R-TERM-1..5: every execution claims the record, then resumes at the state's stage; loops continue in a new
  // execution at the turn limit; no execution waits out the export window (the sweeper starts the purge).
  termination: {
    ExecutionContext: ['Claim'],
    Claim: ['Resume?'],
    'Resume?': ['Freeze', 'DrainStream', 'FlushUsage', 'ExportTenantData', 'WriteTenantManifest', 'PurgeTenantData', 'ShredKeys', 'VerifyPurge', 'IssueCertificate'],
    Freeze: ['AwaitInFlightIngest'],
    AwaitInFlightIngest: ['DrainStream'],
    DrainStream: ['Drained?'],
    'Drained?': ['FlushUsage', 'AwaitStreamDrain', 'Handover'],
    AwaitStreamDrain: ['DrainStream'],
    FlushUsage: ['ReportTenantUsage'],
    // R-TERM-1, R-BILL-2: the usage function sends the tenant's open usage to Stripe before anything is deleted.
    ReportTenantUsage: ['Election?'],
    'Election?': ['PurgeTenantData', 'ExportTenantData'],
    ExportTenantData: ['MoreToExport?'],
    'MoreToExport?': ['WriteTenantManifest', 'ExportTenantData', 'Handover'],
    WriteTenantManifest: ['ExportOffered'],
    ExportOffered: [],
    PurgeTenantData: ['MoreToPurge?'],
    'MoreToPurge?': ['ShredKeys', 'PurgeTenantData', 'Handover'],
    Handover: ['ContinueInNewExecution'],
    ContinueInNewExecution: ['Continued'],
    Continued: [],
    ShredKeys: ['VerifyPurge'],
    VerifyPurge: ['IssueCertificate'],
    IssueCertificate: ['Done'],
  },
};
const START: Record<WorkflowName, string> = {
  access: 'Locate', erasure: 'Locate', rectification: 'Locate', restriction: 'Restrict', 'lift-restriction': 'LiftRestriction', consent: 'SetConsent', termination: 'ExecutionContext',
};

describe('the six state machines', () => {
  const machines = Object.entries(template.Resources as Record<string, { Type: string; Properties: Record<string, any> }>)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');

  test('one per workflow, found by its metadata, each the construct\'s own', () => {
    expect(machines).toHaveLength(WORKFLOW_NAMES.length);
    expect(Object.keys(workflows).sort()).toEqual([...WORKFLOW_NAMES].sort());
    for (const name of WORKFLOW_NAMES) expect(workflows[name].logicalId).toBe(logicalIdOf(stack.workflows.stateMachines[name]));
  });

  test.each(WORKFLOW_NAMES)('%s: STANDARD (executions of up to a year: the 30-day export window), X-Ray tracing on', (name) => {
    const machine = template.Resources[workflows[name].logicalId].Properties;
    expect(machine.StateMachineType).toBe('STANDARD');
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
  });

  test.each(WORKFLOW_NAMES)('%s: logs every event, without execution data (R-SEC-7), to the KMS-encrypted execution log group', (name) => {
    const machine = template.Resources[workflows[name].logicalId].Properties;
    expect(machine.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: false,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalIdOf(stack.workflows.logGroup), 'Arn'] } } }],
    });
    expect(template.Resources[logicalIdOf(stack.workflows.logGroup)].Properties).toEqual({
      KmsKeyId: { 'Fn::GetAtt': [logicalIdOf(stack.servicesKey), 'Arn'] },
      RetentionInDays: 30,
    });
  });

  test.each(WORKFLOW_NAMES)('%s: the state machine role invokes its task function only', (name) => {
    const taskFunction = name === 'termination' ? 'termination-tasks' : 'privacy-tasks';
    const roleId = logicalIdOf(stack.workflows.stateMachines[name].role);
    const policies = Object.values(template.Resources as Record<string, { Type: string; Properties: any }>)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId));
    const invoke = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: { Action: string }) => s.Action === 'lambda:InvokeFunction');
    expect(invoke).toHaveLength(1);
    // R-TERM-1: the termination machine also invokes the usage function (its ReportTenantUsage state).
    const invoked = name === 'termination' ? [taskFunction, 'usage'] as const : [taskFunction] as const;
    expect(JSON.stringify(invoke[0].Resource).match(/"[A-Za-z0-9]+Function[A-Z0-9]+"/g)?.map((id) => id.slice(1, -1)).sort()).toEqual(
      invoked.flatMap((f) => [logicalIdOf(stack.functions[f].function), logicalIdOf(stack.functions[f].function)]).sort(),
    );
  });
});

describe.each(WORKFLOW_NAMES)('%s: the definition, state by state', (name) => {
  const { definition, taskFunctions, executionStarts } = workflows[name];
  const lambdaTasks = () => Object.entries(definition.States).filter(([stateName, s]) => s.Type === 'Task' && !executionStarts.includes(stateName));
  const states = definition.States;

  test('the layout of the design: start state and every transition other than Catch', () => {
    expect(definition.StartAt).toBe(START[name]);
    const layout = { ...LAYOUTS[name], RecordFailure: ['Failed'], Failed: [], Done: [] };
    expect(Object.keys(states).sort()).toEqual(Object.keys(layout).sort());
    for (const [stateName, next] of Object.entries(layout)) {
      expect([stateName, successors(states[stateName]).sort()]).toEqual([stateName, [...next].sort()]);
    }
    expect(states.Done.Type).toBe('Succeed');
    expect(states.Failed.Type).toBe('Fail');
  });

  test('every state has a comment', () => {
    for (const [stateName, state] of Object.entries(states)) {
      expect([stateName, typeof state.Comment === 'string' && state.Comment.length >= 20]).toEqual([stateName, true]);
    }
  });

  test('every Task invokes its task function with exactly {task, state: $} and takes the returned state', () => {
    const taskFunction = name === 'termination' ? 'termination-tasks' : 'privacy-tasks';
    const known: readonly string[] = name === 'termination' ? TERMINATION_TASKS : SUBJECT_TASKS;
    for (const [stateName, state] of lambdaTasks()) {
      if (name === 'termination' && stateName === 'ReportTenantUsage') {
        expect(taskFunctions[stateName]).toBe('usage');
        expect(state.Parameters!.Payload).toEqual({ task: 'report-tenant-usage', 'state.$': '$' });
        expect(state.OutputPath).toBe('$.Payload');
        continue;
      }
      expect([stateName, taskFunctions[stateName]]).toEqual([stateName, taskFunction]);
      expect(state.Resource).toBe('arn:aws:states:::lambda:invoke');
      expect(Object.keys(state.Parameters ?? {}).sort()).toEqual(['FunctionName', 'Payload']);
      expect(state.Parameters!.Payload).toEqual({ task: taskOf(stateName), 'state.$': '$' });
      expect(known).toContain(taskOf(stateName));
      expect(state.OutputPath).toBe('$.Payload');
    }
  });

  test('every Task retries all errors but PermanentTaskError (2 s, backoff 2, 4 attempts)', () => {
    for (const [stateName, state] of lambdaTasks()) {
      expect([stateName, state.Retry]).toEqual([stateName, [
        { ErrorEquals: [PERMANENT_ERROR], MaxAttempts: 0 },
        { ErrorEquals: ['States.ALL'], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 4 },
      ]]);
    }
  });

  test('every Task but RecordFailure catches everything into RecordFailure with the error at $.error; RecordFailure catches nothing', () => {
    for (const [stateName, state] of Object.entries(states).filter(([n, s]) => s.Type === 'Task' && n !== 'RecordFailure')) {
      expect([stateName, state.Catch]).toEqual([stateName, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]]);
    }
    expect(states.RecordFailure).toMatchObject({ Type: 'Task', Next: 'Failed' });
    expect(states.RecordFailure.Catch).toBeUndefined();
  });

  test('no state passes a list: no Map or Parallel, no ItemsPath, no selector or result that builds one', () => {
    for (const [stateName, state] of Object.entries(states)) {
      expect([stateName, ['Map', 'Parallel'].includes(state.Type)]).toEqual([stateName, false]);
      const fields = state as unknown as Record<string, unknown>;
      for (const field of ['ItemsPath', 'ItemSelector', 'ResultSelector', 'InputPath']) expect([stateName, fields[field]]).toEqual([stateName, undefined]);
      expect(JSON.stringify(state.Result ?? null)).not.toContain('[');
    }
  });

  test('every batch loop leaves on $.done == true (checked present first) and otherwise runs its batch again', () => {
    for (const [stateName, state] of Object.entries(states).filter(([n]) => n.startsWith('MoreTo'))) {
      expect(state.Type).toBe('Choice');
      expect(state.Choices).toHaveLength(name === 'termination' ? 2 : 1);
      expect(comparisons(state.Choices![0])).toEqual([{ Variable: '$.done', IsPresent: true }, { Variable: '$.done', BooleanEquals: true }]);
      // R-TERM-1..5: at the turn limit of one execution, the loop goes on in a new one.
      if (name === 'termination') {
        expect(comparisons(state.Choices![1])).toEqual([{ Variable: '$.continue', IsPresent: true }, { Variable: '$.continue', BooleanEquals: true }]);
        expect(state.Choices![1].Next).toBe('Handover');
      }
      expect([stateName, state.Default]).toEqual([stateName, LAYOUTS[name][stateName][1]]);
    }
  });
});

describe('termination: continued in a new execution (R-TERM-1..5)', () => {
  const states = workflows.termination.definition.States;

  test('ContinueInNewExecution starts this very machine with the whole state, named <terminationId>-c<segment>, retried and caught', () => {
    expect(workflows.termination.executionStarts).toEqual(['ContinueInNewExecution']);
    const start = states.ContinueInNewExecution;
    expect(start).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::states:startExecution',
      Parameters: { 'StateMachineArn.$': '$$.StateMachine.Id', 'Name.$': "States.Format('{}-c{}', $.terminationId, $.segment)", 'Input.$': '$' },
      ResultPath: null,
    });
    expect(start.Retry).toEqual([{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 4 }]);
    expect(start.Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: 'RecordFailure', ResultPath: '$.error' }]);
    expect(states.Handover).toMatchObject({ Type: 'Pass', Parameters: { 'id.$': '$.execution.id' }, ResultPath: '$.predecessor' });
    expect(states.ExecutionContext).toMatchObject({ Type: 'Pass', Parameters: { 'id.$': '$$.Execution.Id' }, ResultPath: '$.execution' });
  });

  test('its role may start this machine, and no other', () => {
    const template = Template.fromStack(stack);
    const machineId = logicalIdOf(stack.workflows.stateMachines.termination);
    const starts = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement)
      .filter((st) => [st.Action].flat().includes('states:StartExecution') && JSON.stringify(st.Resource).includes(machineId));
    expect(starts.length).toBeGreaterThanOrEqual(1);
  });
});

describe('waits and decisions', () => {
  const states = (name: WorkflowName) => workflows[name].definition.States;

  test.each(['erasure', 'restriction', 'lift-restriction'] as const)('%s: AwaitPropagation waits 90 s, past the processor\'s 60 s restriction and erasure cache (R-DSR-2, R-DSR-3)', (name) => {
    expect(states(name).AwaitPropagation).toMatchObject({ Type: 'Wait', Seconds: 90 });
    expect(RESTRICTION_PROPAGATION.toSeconds()).toBe(90);
  });

  test('termination: the drain waits for the ingest timeout, then polls every 10 s (R-TERM-1); no execution waits out the 30-day export window (R-TERM-2)', () => {
    expect(states('termination').AwaitInFlightIngest).toMatchObject({ Type: 'Wait', Seconds: 10 });
    expect(states('termination').AwaitStreamDrain).toMatchObject({ Type: 'Wait', Seconds: 10 });
    const waits = Object.values(states('termination')).filter((state) => state.Type === 'Wait');
    expect(waits.map((state) => state.Seconds).sort()).toEqual([10, 10]);
    expect([INGEST_TIMEOUT.toSeconds(), STREAM_DRAIN_POLL.toSeconds(), EXPORT_WINDOW.toSeconds()]).toEqual([10, 10, 2_592_000]);
    // The ingest function's timeout is the one the drain waits out.
    const ingest = Object.values(template.Resources).find((r) => (r as { Metadata?: Record<string, unknown> }).Metadata?.['lumiqo:function'] === 'ingest') as { Properties: { Timeout: number } } | undefined;
    if (ingest) expect(ingest.Properties.Timeout).toBe(INGEST_TIMEOUT.toSeconds());
  });

  test('termination: Election? purges at once when the controller elected immediate deletion, else exports first (R-TERM-3)', () => {
    const election = states('termination')['Election?'];
    expect(election.Choices).toHaveLength(1);
    expect(comparisons(election.Choices![0])).toEqual([
      { Variable: '$.election', IsPresent: true },
      { Variable: '$.election', StringEquals: 'immediate' },
    ]);
    expect(election.Choices![0].Next).toBe('PurgeTenantData');
    expect(election.Default).toBe('ExportTenantData');
  });

  test('erasure: Erased? signs when nothing remains, runs another pass below the limit, else ErasureIncomplete (R-DSR-2)', () => {
    const erased = states('erasure')['Erased?'];
    expect(erased.Choices!.map((c) => [comparisons(c), c.Next])).toEqual([
      [[{ Variable: '$.remaining', IsPresent: true }, { Variable: '$.remaining', NumericEquals: 0 }], 'SignDeletionRecord'],
      [[{ Variable: '$.pass', IsPresent: true }, { Variable: '$.pass', NumericLessThan: MAX_ERASURE_PASSES }], 'Locate'],
    ]);
    expect(erased.Default).toBe('ErasureIncomplete');
    expect(states('erasure').ErasureIncomplete).toMatchObject({
      Type: 'Pass',
      Result: { Error: 'ErasureIncomplete', Cause: 'records remain after 3 passes' },
      ResultPath: '$.error',
      Next: 'RecordFailure',
    });
  });

  test('every task of the contract is used by some state machine, and only those', () => {
    const used = (names: WorkflowName[]) => new Set(names.flatMap((n) => tasksOf(n).map(([stateName]) => taskOf(stateName))));
    expect([...used(['access', 'erasure', 'rectification', 'restriction', 'lift-restriction', 'consent'])].sort()).toEqual([...SUBJECT_TASKS].sort());
    // ReportTenantUsage is the usage function's task (R-TERM-1, R-BILL-2), not the termination tasks'.
    expect([...used(['termination'])].sort()).toEqual([...TERMINATION_TASKS, 'report-tenant-usage'].sort());
  });
});

/** A scripted task function: records each call, answers by task name. */
type Script = Record<string, (state: Record<string, unknown>, call: number) => Record<string, unknown>>;

interface Run {
  readonly calls: string[];
  readonly result?: unknown;
  readonly failure?: string;
  readonly recordedError?: unknown;
}

/** Runs a synthesized definition locally; tasks without a script return the state unchanged. No real waits or retry intervals. */
async function execute(definition: AslDefinition, input: Record<string, unknown>, script: Script): Promise<Run> {
  const calls: string[] = [];
  let recordedError: unknown;
  const handlers: Record<string, (input: unknown) => unknown> = {};
  const noDelay: Record<string, number> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait') noDelay[stateName] = 0;
    if (state.Type !== 'Task') continue;
    if (state.Resource?.endsWith(':states:startExecution')) {
      handlers[stateName] = () => (calls.push('start-execution'), { ExecutionArn: 'arn:aws:states:local:000000000000:execution:termination:next' });
      continue;
    }
    handlers[stateName] = (invocation) => {
      const { Payload } = invocation as { Payload: { task: string; state: Record<string, unknown> } };
      calls.push(Payload.task);
      if (Payload.task === 'record-failure') recordedError = Payload.state.error;
      const count = calls.filter((c) => c === Payload.task).length;
      return { Payload: (script[Payload.task] ?? ((s) => s))(Payload.state, count) };
    };
  }
  const retryIntervals = Object.fromEntries(Object.keys(handlers).map((stateName) => [stateName, 0]));
  const machine = new StateMachine(definition as never);
  const run = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: noDelay, retryIntervalOverrides: retryIntervals },
    context: { Execution: { Id: 'arn:aws:states:local:000000000000:execution:m:e1', Name: 'e1' }, StateMachine: { Id: 'arn:aws:states:local:000000000000:stateMachine:m', Name: 'm' } } as never,
  });
  try {
    return { calls, result: await run.result, recordedError };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    return { calls, failure: error.message, recordedError };
  }
}

const permanent = (message: string): Error => Object.assign(new Error(message), { name: PERMANENT_ERROR });
const SUBJECT = { tenantId: 'acme', requestId: 'dsr_1', subjectHash: 'h1', receivedAt: '2026-01-31T10:00:00.000Z' };
/** A batch loop of `batches` calls: `done` only on the last. */
const batches = (count: number) => (state: Record<string, unknown>, call: number) => ({ ...state, done: call >= count });

describe('the synthesized definitions, run (aws-local-stepfunctions)', () => {
  test('access: locate, export batches until done, manifest, complete (R-DSR-1)', async () => {
    const run = await execute(workflows.access.definition, { ...SUBJECT, type: 'access' }, { 'export-records': batches(3) });
    expect(run.failure).toBeUndefined();
    expect(run.calls).toEqual(['locate', 'export-records', 'export-records', 'export-records', 'write-export-manifest', 'complete']);
  });

  test('erasure: a second pass finds nothing left, then the deletion record is signed (R-DSR-2)', async () => {
    const run = await execute(workflows.erasure.definition, { ...SUBJECT, type: 'erasure' }, {
      locate: (s) => ({ ...s, pass: ((s.pass as number | undefined) ?? 0) + 1, done: false }),
      'erase-records': batches(1),
      'verify-erasure': (s, call) => ({ ...s, remaining: call === 1 ? 2 : 0 }),
    });
    expect(run.failure).toBeUndefined();
    expect(run.calls).toEqual([
      'locate', 'erase-records', 'erase-exports', 'verify-erasure',
      'locate', 'erase-records', 'erase-exports', 'verify-erasure',
      'sign-deletion-record', 'complete',
    ]);
  });

  test('erasure: records still there after 3 passes are recorded as ErasureIncomplete and the execution fails', async () => {
    const run = await execute(workflows.erasure.definition, { ...SUBJECT, type: 'erasure' }, {
      locate: (s) => ({ ...s, pass: ((s.pass as number | undefined) ?? 0) + 1, done: false }),
      'erase-records': batches(1),
      'verify-erasure': (s) => ({ ...s, remaining: 1 }),
    });
    expect(run.failure).toBeDefined();
    expect(run.calls.filter((c) => c === 'locate')).toHaveLength(MAX_ERASURE_PASSES);
    expect(run.calls).not.toContain('sign-deletion-record');
    expect(run.calls.at(-1)).toBe('record-failure');
    expect(run.recordedError).toEqual({ Error: 'ErasureIncomplete', Cause: 'records remain after 3 passes' });
  });

  test('restriction and lift-restriction: the restriction changes before locate, records move in batches (R-DSR-3)', async () => {
    const restrict = await execute(workflows.restriction.definition, { ...SUBJECT, type: 'restriction' }, { 'quarantine-records': batches(2) });
    expect(restrict.calls).toEqual(['restrict', 'locate', 'quarantine-records', 'quarantine-records', 'complete']);
    const lift = await execute(workflows['lift-restriction'].definition, { ...SUBJECT, type: 'lift-restriction' }, { 'release-records': batches(1) });
    expect(lift.calls).toEqual(['lift-restriction', 'locate', 'release-records', 'complete']);
  });

  test('rectification: locate, rectify batches, complete (R-DSR-3)', async () => {
    const run = await execute(workflows.rectification.definition, { ...SUBJECT, type: 'rectification' }, { 'rectify-records': batches(2) });
    expect(run.calls).toEqual(['locate', 'rectify-records', 'rectify-records', 'complete']);
  });

  const TERMINATION = { tenantId: 'acme', terminationId: 'term_1', requestedAt: '2026-01-31T10:00:00.000Z' };

  test('termination (export-then-delete): freeze, flush, export, the window, purge, shred, verify, certificate (R-TERM-1..5)', async () => {
    const run = await execute(workflows.termination.definition, { ...TERMINATION, election: 'export-then-delete' }, {
      'drain-stream': batches(2),
      'export-tenant-data': batches(2),
      'purge-tenant-data': batches(2),
    });
    expect(run.failure).toBeUndefined();
    // R-TERM-2: the execution ends once the export is offered; the sweeper starts the purge at stage 'purge'.
    expect(run.calls).toEqual(['claim', 'freeze', 'drain-stream', 'drain-stream', 'flush-usage', 'report-tenant-usage', 'export-tenant-data', 'export-tenant-data', 'write-tenant-manifest']);
    const purge = await execute(workflows.termination.definition, { ...TERMINATION, election: 'export-then-delete', stage: 'purge' }, { 'purge-tenant-data': batches(2) });
    expect(purge.calls).toEqual(['claim', 'purge-tenant-data', 'purge-tenant-data', 'shred-keys', 'verify-purge', 'issue-certificate']);
  });

  test('termination (immediate): no export and no window, straight to the purge (R-TERM-3)', async () => {
    const run = await execute(workflows.termination.definition, { ...TERMINATION, election: 'immediate' }, { 'drain-stream': batches(1), 'purge-tenant-data': batches(1) });
    expect(run.calls).toEqual(['claim', 'freeze', 'drain-stream', 'flush-usage', 'report-tenant-usage', 'purge-tenant-data', 'shred-keys', 'verify-purge', 'issue-certificate']);
  });

  test('a PermanentTaskError is not retried: recorded at once, the execution fails (R-SEC-6)', async () => {
    const run = await execute(workflows.access.definition, { ...SUBJECT, type: 'access' }, {
      'export-records': () => { throw permanent('tenant unknown'); },
    });
    expect(run.calls).toEqual(['locate', 'export-records', 'record-failure']);
    expect(run.recordedError).toMatchObject({ Error: PERMANENT_ERROR });
    expect(run.failure).toBeDefined();
  });

  test('any other error is retried 4 times before it is recorded; a retry that succeeds carries on', async () => {
    const failing = await execute(workflows.termination.definition, { ...TERMINATION, election: 'immediate' }, {
      'drain-stream': batches(1),
      'purge-tenant-data': batches(1),
      'verify-purge': () => { throw new Error('PurgeIncomplete: objects remain'); },
    });
    expect(failing.calls.filter((c) => c === 'verify-purge')).toHaveLength(5);
    expect(failing.calls.at(-1)).toBe('record-failure');
    expect(failing.recordedError).toMatchObject({ Error: 'Error' });
    expect(failing.calls).not.toContain('issue-certificate');

    const flaky = await execute(workflows.termination.definition, { ...TERMINATION, election: 'immediate' }, {
      'drain-stream': batches(1),
      'purge-tenant-data': batches(1),
      'verify-purge': (s, call) => { if (call < 3) throw new Error('throttled'); return s; },
    });
    expect(flaky.failure).toBeUndefined();
    expect(flaky.calls.slice(-2)).toEqual(['verify-purge', 'issue-certificate']);
  });
});
