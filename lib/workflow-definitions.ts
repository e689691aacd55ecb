/**
 * The privacy workflows as synthesized: each AWS::StepFunctions::StateMachine of a CloudFormation template,
 * its Amazon States Language definition parsed (the `Fn::Join` of DefinitionString resolved, TOOLCHAIN.md), and
 * which Lumiqo function each Task state invokes. The infrastructure tests check the definitions with it and the
 * local runtime runs them (aws-local-stepfunctions), so both read what CloudFormation would deploy.
 *
 * Plain JSON in, plain JSON out: no aws-cdk-lib import, so a cached local start does not load CDK.
 */
import { FUNCTION_METADATA_KEY } from '../lambdas/shared/declarations';

/** Must match lib/constructs/privacy-workflows.ts WORKFLOW_METADATA_KEY. */
const WORKFLOW_METADATA = 'lumiqo:workflow';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
}

export interface CloudFormationTemplate {
  readonly Resources: Record<string, TemplateResource>;
}

/** One state of an Amazon States Language definition (the fields the workflows use). */
export interface AslState {
  readonly Type: 'Task' | 'Choice' | 'Wait' | 'Pass' | 'Succeed' | 'Fail' | 'Parallel' | 'Map';
  readonly Comment?: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly OutputPath?: string;
  readonly ResultPath?: string;
  readonly Result?: unknown;
  readonly Seconds?: number;
  readonly Choices?: readonly (Record<string, unknown> & { readonly Next: string })[];
  readonly Default?: string;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[]; readonly IntervalSeconds?: number; readonly MaxAttempts?: number; readonly BackoffRate?: number }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string; readonly ResultPath?: string }[];
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly Comment?: string;
  readonly States: Readonly<Record<string, AslState>>;
}

export interface SynthesizedWorkflow {
  /** The workflow (`access`, `erasure`, …, `termination`), from the state machine's metadata. */
  readonly workflow: string;
  readonly logicalId: string;
  readonly definition: AslDefinition;
  /** Task state name → the Lumiqo function it invokes (`privacy-tasks`, `termination-tasks`). */
  readonly taskFunctions: Readonly<Record<string, string>>;
  /** Task states that start an execution of a state machine (`states:startExecution`), R-TERM-1..5. */
  readonly executionStarts: readonly string[];
}

/** The Step Functions service integration that starts an execution (fire and forget). */
export const START_EXECUTION_RESOURCE = /^arn:[a-z-]+:states:::states:startExecution$/;

export interface ResolveOptions {
  /**
   * The ARN a `Fn::GetAtt [logicalId, 'Arn']` stands for.
   * @default `arn:aws:lambda:local:000000000000:function:<logicalId>`
   */
  readonly arnOf?: (logicalId: string) => string;
}

/** Every state machine of the template that carries the workflow metadata, by workflow name. */
export function synthesizedWorkflows(template: CloudFormationTemplate, options: ResolveOptions = {}): Record<string, SynthesizedWorkflow> {
  const arnOf = options.arnOf ?? ((logicalId: string) => `arn:aws:lambda:local:000000000000:function:${logicalId}`);
  const functionsByArn = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const name = resource.Metadata?.[FUNCTION_METADATA_KEY];
    if (resource.Type === 'AWS::Lambda::Function' && typeof name === 'string') functionsByArn.set(arnOf(logicalId), name);
  }
  const workflows: Record<string, SynthesizedWorkflow> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const workflow = resource.Metadata?.[WORKFLOW_METADATA];
    if (resource.Type !== 'AWS::StepFunctions::StateMachine' || typeof workflow !== 'string') continue;
    const definitionString = resolveString(resource.Properties?.DefinitionString, arnOf);
    const definition = JSON.parse(definitionString) as AslDefinition;
    const taskFunctions: Record<string, string> = {};
    const executionStarts: string[] = [];
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      if (START_EXECUTION_RESOURCE.test(state.Resource ?? '')) {
        executionStarts.push(stateName);
        continue;
      }
      const fn = functionsByArn.get(String(state.Parameters?.FunctionName));
      if (!fn) throw new Error(`State machine ${logicalId}, state ${stateName}: invokes no Lumiqo function of this template`);
      taskFunctions[stateName] = fn;
    }
    workflows[workflow] = { workflow, logicalId, definition, taskFunctions, executionStarts };
  }
  return workflows;
}

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'local',
  'AWS::AccountId': '000000000000',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Resolves the intrinsics CDK puts into a DefinitionString: Fn::Join, pseudo-parameter Refs, Fn::GetAtt Arn. */
function resolveString(value: Json | undefined, arnOf: (logicalId: string) => string): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part) => resolveString(part, arnOf)).join(join[0]);
    }
    const ref = value.Ref;
    if (typeof ref === 'string' && PSEUDO_PARAMETERS[ref]) return PSEUDO_PARAMETERS[ref];
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && getAtt[1] === 'Arn') return arnOf(getAtt[0]);
  }
  throw new Error(`Cannot resolve ${JSON.stringify(value)} in a state machine definition`);
}
