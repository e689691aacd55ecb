/**
 * Step Functions, locally: the privacy state machines run from the definitions CDK synthesizes (schema.ts reads
 * them from the template; nothing here restates a state), in aws-local-stepfunctions. Each Lambda task state calls
 * the same task handler the deployed function runs, in-process. Waits and retry intervals keep their synthesized
 * values unless overridden (tests shorten them; `npm start` keeps a 30-day export window as 30 days).
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { ExecutionStatus, WorkflowStarter } from '../../lambdas/domain/ports';
import type { WorkflowName } from '../../lambdas/domain/privacy';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './emulators';

// aws-local-stepfunctions needs Promise.withResolvers (Node 22); Node 20 lacks it (TOOLCHAIN.md).
const promiseStatics = Promise as unknown as { withResolvers?: <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } };
promiseStatics.withResolvers ??= <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** One synthesized state machine: its definition and, per Lambda task state, the function it invokes. */
export interface LocalStateMachine {
  readonly workflow: WorkflowName;
  readonly definition: StateMachineDefinition;
  /** Task state name → local function name (`privacy-tasks`, `termination-tasks`). */
  readonly taskFunctions: Readonly<Record<string, string>>;
  /** Task states that start an execution of a state machine (`states:startExecution`). */
  readonly executionStarts: readonly string[];
}

type JsonValue = Parameters<StateMachine['run']>[0];

/** A function's handler as Step Functions' LambdaInvoke calls it: the Payload in, the function's result out. */
export type TaskFunction = (payload: unknown) => Promise<unknown>;

export interface LocalWorkflowOptions {
  /** Wait state name → milliseconds, for every machine (e.g. `{ ExportWindow: 0 }`). @default the synthesized waits */
  readonly waitOverridesMs?: Readonly<Record<string, number>>;
  /** Milliseconds between retries of any task state. @default the synthesized backoff */
  readonly retryIntervalMs?: number;
  /** Wraps every task call, e.g. to inject a fault. @default none */
  readonly interceptTask?: (workflow: WorkflowName, stateName: string, call: () => Promise<unknown>) => Promise<unknown>;
  /** A failed or crashed execution (the failure is also in the request record, via the machine's Catch). */
  readonly onExecutionError?: (executionArn: string, error: unknown) => void;
  /**
   * The state machines' ARNs, where executions must carry the deployed names (the deployed tier: the record names
   * the ARN Step Functions answered). @default `arn:aws:states:<local region>:<local account>:stateMachine:<workflow>`
   */
  readonly stateMachineArns?: Readonly<Partial<Record<WorkflowName, string>>>;
  /** Any execution that has ended (succeeded, failed or stopped). */
  readonly onExecutionEnd?: (execution: LocalExecution) => void;
}

export interface LocalExecution {
  readonly executionArn: string;
  readonly workflow: WorkflowName;
  readonly name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** The final state (SUCCEEDED) or the error (FAILED). */
  output?: unknown;
  error?: { readonly name: string; readonly message: string };
  /** Task states entered, in order. */
  readonly states: string[];
  /** Every state entered (Task, Choice, Pass, Wait, Succeed…): the execution's state transitions. */
  transitions: number;
  readonly done: Promise<void>;
  abort(): void;
}

export class LocalWorkflows implements WorkflowStarter {
  private readonly executions = new Map<string, LocalExecution>();
  private closed = false;

  constructor(
    private readonly machines: Readonly<Record<WorkflowName, LocalStateMachine>>,
    private readonly functions: Readonly<Record<string, TaskFunction>>,
    private readonly options: LocalWorkflowOptions = {},
  ) {}

  async start(workflow: WorkflowName, executionName: string, input: object): Promise<{ readonly executionId: string }> {
    if (this.closed) throw new Error(`The local workflows are stopped: no execution of ${workflow} starts`);
    const executionArn = `${this.stateMachineArn(workflow).replace(':stateMachine:', ':execution:')}:${executionName}`;
    // StartExecution is idempotent by name (for the same input): one execution, whatever the number of starts.
    if (this.executions.has(executionArn)) return { executionId: executionArn };
    const machine = this.machines[workflow];
    if (!machine) throw new Error(`No local state machine for workflow '${workflow}'`);

    const states: string[] = [];
    // aws-local-stepfunctions 3.0 stops between states on abort, but a state's Retry loop goes on calling its task:
    // an aborted execution (StopExecution in AWS) calls nothing more, as in AWS.
    let aborted = false;
    const enter = (stateName: string) => {
      if (aborted) throw new Error(`Execution ${executionName} was aborted`);
      states.push(stateName);
    };
    const taskResourceLocalHandlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const [stateName, functionName] of Object.entries(machine.taskFunctions)) {
      const fn = this.functions[functionName];
      if (!fn) throw new Error(`State ${stateName} of ${workflow} invokes ${functionName}, which is not running locally`);
      taskResourceLocalHandlers[stateName] = async (request) => {
        enter(stateName);
        // LambdaInvoke hands the function `{ FunctionName, Payload }`; CDK's OutputPath `$.Payload` reads the result.
        const payload = (request as { Payload?: unknown }).Payload;
        const call = () => fn(JSON.parse(JSON.stringify(payload ?? null)));
        const result = this.options.interceptTask ? await this.options.interceptTask(workflow, stateName, call) : await call();
        return { Payload: JSON.parse(JSON.stringify(result ?? null)) as JsonValue };
      };
    }
    // states:startExecution (R-TERM-1..5): the named machine's execution starts here too, and runs on its own.
    for (const stateName of machine.executionStarts) {
      taskResourceLocalHandlers[stateName] = async (request) => {
        enter(stateName);
        const { StateMachineArn, Name, Input } = request as { StateMachineArn: string; Name: string; Input: object };
        const target = this.workflowOf(StateMachineArn);
        const { executionId } = await this.start(target, Name, typeof Input === 'string' ? (JSON.parse(Input) as object) : Input);
        return { ExecutionArn: executionId, StartDate: new Date().toISOString() };
      };
    }
    const stateMachine = new StateMachine(machine.definition, { validationOptions: { checkArn: false } });
    const retryIntervalOverrides =
      this.options.retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(Object.keys(machine.taskFunctions).map((name) => [name, this.options.retryIntervalMs!]));
    const run = stateMachine.run(JSON.parse(JSON.stringify(input)), {
      overrides: {
        taskResourceLocalHandlers,
        ...(this.options.waitOverridesMs ? { waitTimeOverrides: { ...this.options.waitOverridesMs } } : {}),
        ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}),
      },
      noThrowOnAbort: true,
      context: { Execution: { Id: executionArn, Name: executionName }, StateMachine: { Id: this.stateMachineArn(workflow), Name: workflow } } as never,
    });

    const execution: LocalExecution = {
      executionArn,
      workflow,
      name: executionName,
      status: 'RUNNING',
      states,
      transitions: 0,
      abort: () => {
        aborted = true;
        run.abort();
      },
      done: run.result.then(
        (output) => {
          execution.status = output === null ? 'ABORTED' : 'SUCCEEDED';
          execution.output = output;
        },
        (error: Error) => {
          execution.status = 'FAILED';
          execution.error = { name: error.name, message: error.message };
          this.options.onExecutionError?.(executionArn, error);
        },
      ).then(() => this.options.onExecutionEnd?.(execution)),
    };
    this.executions.set(executionArn, execution);
    void (async () => {
      for await (const event of run.eventLogs) if (event.type === 'StateEntered') execution.transitions++;
    })().catch(() => undefined);
    return { executionId: executionArn };
  }

  /** DescribeExecution: an execution this runtime does not know (a restart, a replaced machine) is NOT_FOUND. */
  async status(executionId: string): Promise<ExecutionStatus> {
    return this.executions.get(executionId)?.status ?? 'NOT_FOUND';
  }

  /**
   * What a replaced state machine does to its executions (a services-stack replacement) and what a local restart
   * does: every running execution stops, and none of them is known any more.
   */
  forgetAll(): void {
    this.abortAll();
    this.executions.clear();
  }

  private stateMachineArn(workflow: WorkflowName): string {
    return this.options.stateMachineArns?.[workflow] ?? `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${workflow}`;
  }

  private workflowOf(stateMachineArn: string): WorkflowName {
    const workflow = Object.keys(this.machines).find((name) => this.stateMachineArn(name as WorkflowName) === stateMachineArn);
    if (!workflow) throw new Error(`No local state machine '${stateMachineArn}'`);
    return workflow as WorkflowName;
  }

  execution(executionArn: string): LocalExecution | undefined {
    return this.executions.get(executionArn);
  }

  list(): LocalExecution[] {
    return [...this.executions.values()];
  }

  /** Resolves when every execution started so far has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.executions.values()].map((e) => e.done));
  }

  /** Stops every running execution. */
  abortAll(): void {
    for (const execution of this.executions.values()) if (execution.status === 'RUNNING') execution.abort();
  }

  /** Local shutdown (a deployed execution would go on): every execution stops, and none starts any more. */
  close(): void {
    this.closed = true;
    this.abortAll();
  }
}
