/**
 * FakeStepFunctions: AWS Step Functions StartExecution and DescribeExecution (Standard workflows) over their real
 * wire protocol, awsJson1_0 with `x-amz-target: AWSStepFunctions.<Operation>`.
 *
 * DescribeExecution, as the API reference states it: the execution's ARN, state machine, name, status (RUNNING,
 * SUCCEEDED, FAILED…), start date and input (and stop date once closed); an ARN that is no execution of this
 * account and region is InvalidArn, one it does not know ExecutionDoesNotExist.
 *
 * StartExecution's idempotency, as the API reference states it: the same name and the same input as an execution
 * that is still RUNNING returns that execution again (same ARN and startDate); the same name with another input,
 * or once that execution has closed, is ExecutionAlreadyExists. Names are unique per state machine.
 *
 * The fake runs nothing itself: `onStart` (say, the project's local Step Functions runner) runs the execution,
 * and the execution is RUNNING until what it returns settles (SUCCEEDED, or FAILED if it throws). Like the real
 * service, StartExecution answers at once; `settled()` waits for the executions started so far.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, epochSeconds, jsonEndpoint, listen, optionalString, requiredString, validation, type Call, type Listening } from './server';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface SfnExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  /** The input as sent: a JSON text. */
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: unknown;
  error?: unknown;
}

/** Runs an execution; `input` is the parsed JSON input. Its result (or its promise's) is the execution's output. */
export type OnStart = (stateMachineArn: string, name: string, input: unknown) => unknown;

export interface FakeStepFunctionsOptions {
  readonly region?: string;
  readonly account?: string;
  /** State machines that exist from the start: names or ARNs in the fake's region and account. */
  readonly stateMachines?: readonly string[];
  readonly onStart?: OnStart;
}

/* The name rule of StartExecution (the SDK's docs): 1-80 characters, none of whitespace, `< > { } [ ] ? * " # % \ ^
   | ~ ` $ & , ; : /`, control characters (U+0000-001F, U+007F-009F), U+FFFE-FFFF or unpaired surrogates. */
const FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MAX_INPUT_BYTES = 262_144;

export class FakeStepFunctions {
  readonly calls: Call[] = [];
  /** Every execution started, in order. */
  readonly executions: SfnExecution[] = [];
  readonly region: string;
  readonly account: string;
  private readonly stateMachines = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private server?: Listening;

  private constructor(private readonly options: FakeStepFunctionsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '000000000000';
    for (const machine of options.stateMachines ?? []) this.createStateMachine(machine);
  }

  static async start(options: FakeStepFunctionsOptions = {}): Promise<FakeStepFunctions> {
    const sfn = new FakeStepFunctions(options);
    sfn.server = await listen(
      jsonEndpoint({
        signingName: 'states',
        region: sfn.region,
        target: 'AWSStepFunctions',
        jsonVersion: '1.0',
        record: (call) => sfn.calls.push(call),
        operations: { StartExecution: (input) => sfn.startExecution(input), DescribeExecution: (input) => sfn.describeExecution(input) },
      }),
    );
    return sfn;
  }

  get url(): string {
    if (!this.server) throw new Error('FakeStepFunctions is not started');
    return this.server.url;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  /** Registers a state machine (as its stack would) by name or ARN; returns its ARN. */
  createStateMachine(nameOrArn: string): string {
    const arn = nameOrArn.startsWith('arn:') ? nameOrArn : `arn:aws:states:${this.region}:${this.account}:stateMachine:${nameOrArn}`;
    if (!/^arn:aws:states:[^:]+:\d{12}:stateMachine:[^:\s]{1,80}$/.test(arn) || !arn.startsWith(`arn:aws:states:${this.region}:${this.account}:`)) {
      throw new Error(`Not a state machine ARN of this fake's region and account: '${arn}'`);
    }
    this.stateMachines.add(arn);
    return arn;
  }

  /** Resolves when every execution started so far has settled. */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  private startExecution(input: Record<string, unknown>) {
    const stateMachineArn = requiredString(input, 'stateMachineArn', { min: 1, max: 256 });
    const parts = /^arn:aws:states:[^:]+:\d{12}:stateMachine:([^:]+)(:.*)?$/.exec(stateMachineArn);
    if (!parts) throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${stateMachineArn}'`);
    if (!this.stateMachines.has(stateMachineArn)) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);

    const name = optionalString(input, 'name', { min: 1, max: 80 }) ?? randomUUID();
    if (FORBIDDEN.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
    const text = optionalString(input, 'input') ?? '{}';
    if (Buffer.byteLength(text, 'utf8') > MAX_INPUT_BYTES) throw validation('input', '[input]', `Member must have length less than or equal to ${MAX_INPUT_BYTES}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }

    const executionArn = `arn:aws:states:${this.region}:${this.account}:execution:${parts[1]}:${name}`;
    const existing = this.executions.find((execution) => execution.executionArn === executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === text) return { executionArn, startDate: epochSeconds(existing.startDate) };
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution: SfnExecution = { executionArn, stateMachineArn, name, input: text, startDate: new Date(), status: 'RUNNING' };
    this.executions.push(execution);
    this.run(execution, parsed);
    return { executionArn, startDate: epochSeconds(execution.startDate) };
  }

  private describeExecution(input: Record<string, unknown>) {
    const executionArn = requiredString(input, 'executionArn', { min: 1, max: 256 });
    if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(executionArn)) {
      throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${executionArn}'`);
    }
    const execution = this.executions.find((e) => e.executionArn === executionArn);
    if (!execution) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return {
      executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: epochSeconds(execution.startDate),
      input: execution.input,
      ...(execution.stopDate ? { stopDate: epochSeconds(execution.stopDate) } : {}),
    };
  }

  private run(execution: SfnExecution, input: unknown): void {
    const { onStart } = this.options;
    if (!onStart) return; // nothing runs it: it stays RUNNING, as an execution waiting on a task would
    const done: Promise<void> = Promise.resolve()
      .then(() => onStart(execution.stateMachineArn, execution.name, input))
      .then(
        (output) => Object.assign(execution, { status: 'SUCCEEDED', output, stopDate: new Date() }),
        (error: unknown) => Object.assign(execution, { status: 'FAILED', error, stopDate: new Date() }),
      )
      .then(() => void this.running.delete(done));
    this.running.add(done);
  }
}
