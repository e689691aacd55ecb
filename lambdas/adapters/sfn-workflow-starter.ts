/**
 * WorkflowStarter over Step Functions (Standard workflows). The execution name is the request or termination id,
 * so a request accepted twice (a client retry, a redelivered webhook) runs one execution: Step Functions refuses a
 * second execution of a name, and the first one's ARN is returned instead (R-DSR-5, R-DSR-6). The state carries
 * ids and pointers only (work lists live in S3); an input past Step Functions' 256 KiB is a bug, refused here with a
 * message that says so rather than by the service (R-ING-7).
 */
import { DescribeExecutionCommand, ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionStatus, WorkflowStarter } from '../domain/ports';
import type { WorkflowName } from '../domain/privacy';
import { STEP_FUNCTIONS_LIMITS, utf8Bytes } from '../domain/aws-limits';
import { assertExecutionName } from './execution-names';
import { clientConfig } from './client-config';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';

export class SfnWorkflowStarter implements WorkflowStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly arns: Readonly<Record<WorkflowName, string>>,
  ) {}

  async start(workflow: WorkflowName, executionName: string, input: object): Promise<{ readonly executionId: string }> {
    const stateMachineArn = this.arns[workflow];
    if (!stateMachineArn) throw new Error(`No state machine ARN configured for workflow '${workflow}'`);
    assertExecutionName(executionName);
    const json = JSON.stringify(input);
    if (utf8Bytes(json) > STEP_FUNCTIONS_LIMITS.payloadBytes) {
      throw new Error(`The input of '${workflow}' is ${utf8Bytes(json)} bytes; Step Functions takes at most ${STEP_FUNCTIONS_LIMITS.payloadBytes}`);
    }
    try {
      const answer = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name: executionName, input: json }));
      if (!answer.executionArn) throw new Error(`StartExecution of '${workflow}' returned no execution ARN`);
      return { executionId: answer.executionArn };
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists) && (error as Error).name !== 'ExecutionAlreadyExists') throw error;
      return { executionId: executionArnOf(stateMachineArn, executionName) };
    }
  }

  /** R-TERM-1..5: the sweeper's check that a recorded execution still runs. */
  async status(executionId: string): Promise<ExecutionStatus> {
    try {
      const answer = await this.sfn.send(new DescribeExecutionCommand({ executionArn: executionId }));
      return (answer.status ?? 'NOT_FOUND') as ExecutionStatus;
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return 'NOT_FOUND';
      throw error;
    }
  }
}

/** `arn:<partition>:states:<region>:<account>:stateMachine:<name>` → `…:execution:<name>:<executionName>`. */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[2] !== 'states' || parts[5] !== 'stateMachine') throw new Error(`Not a state machine ARN: '${stateMachineArn}'`);
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}

/** The declared state machines (their ARNs by workflow name), or the runtime's own executions in local mode. */
export const workflowStarterOf = (c: Composition): WorkflowStarter =>
  c.once('workflows', () => {
    if (c.runtime.workflows) return c.runtime.workflows;
    return new SfnWorkflowStarter(new SFNClient(clientConfig(c.clients, 'sfn')), c.env.json('workflows', ENV.stateMachines));
  });
