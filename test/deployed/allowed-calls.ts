/**
 * R-SEC-5, the "can" half of least privilege, wherever functions run in the tests: each recorded AWS call (recorder.ts)
 * turned into the IAM requests AWS would authorize (iam.ts) and evaluated against the synthesized role of the function
 * that made it. The deployed-shape tier uses it over the Lambda entries; the workflow and integration tiers over the
 * local platform, through its `aroundInvocation` hook.
 */
import { localDeployment, readTemplates, synthesizedAssembly } from '../../bin/local/schema';
import type { LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { FUNCTION_DECLARATIONS } from '../../lambdas/shared/functions';
import { DeployedPolicies, decide, iamRequestsOf, principalOf, type IamRequest, type KeyFacts, type Principal } from './iam';
import { asFunction, installCallRecorder, recordedCalls, type RecordedCall } from './recorder';

export interface CallCheck {
  /** Attributes each function's calls to it: pass as LocalPlatformOptions.aroundInvocation. */
  readonly aroundInvocation: <T>(fn: LumiqoFunctionName, invocation: () => Promise<T>) => Promise<T>;
  /** Every distinct refused request so far, described; empty when every call was allowed. */
  denied(): string[];
  /** The functions that made calls so far. */
  functions(): LumiqoFunctionName[];
}

/** Calls AWS refuses before authorization matters: a key that does not exist answers NotFound, allowed or not. */
export const evaluatedCalls = (calls: readonly RecordedCall[]) => calls.filter((c) => !(c.call.service === 'kms' && c.errorCode === 'NotFoundException'));

export const describeRequest = (c: RecordedCall, r: IamRequest, verdict: string) =>
  `${c.fn} ${c.call.service}:${c.call.operation} → ${r.action} on ${r.resource} ${JSON.stringify(r.context)}: ${verdict}`;

/** The refused requests among `calls`, each once. */
export function deniedRequests(
  calls: readonly RecordedCall[],
  policies: DeployedPolicies,
  keys: KeyFacts,
  principalFor: (c: RecordedCall) => Principal,
): string[] {
  const denied = new Set<string>();
  const seen = new Set<string>();
  for (const c of evaluatedCalls(calls)) {
    const principal = principalFor(c);
    for (const request of iamRequestsOf(c.call, policies, keys)) {
      const key = JSON.stringify([principal, request.action, request.resource, request.context]);
      if (seen.has(key)) continue;
      seen.add(key);
      const verdict = decide(policies, principal, request);
      if (verdict !== 'Allowed') denied.add(describeRequest(c, request, verdict));
    }
  }
  return [...denied];
}

const NO_KMS: KeyFacts = {
  keyArnOf: (ref) => {
    throw new Error(`The local platform calls no KMS (local keyring), yet a call named key ${ref}`);
  },
  tagsOf: () => ({}),
  policyOf: () => undefined,
};

/** The tenant a key or object of tenant data belongs to (`T#<id>#…`, `tenants/<id>/…`). */
function tenantOfCall(c: RecordedCall): string | undefined {
  const text = JSON.stringify(c.call.input);
  return /T#([a-z0-9-]+)#/.exec(text)?.[1] ?? /tenants\/([a-z0-9-]+)\//.exec(text)?.[1];
}

/**
 * Over the local platform, whose functions run with the synthesized environment of their deployed twins. One
 * difference: no STS runs locally, so the functions that declare `tenantRead` (query, and the AI function's tools) read
 * tenant data with their own credentials where AWS would use the tenant read role; those reads (of the data table
 * outside the AI partitions, and of the payload bucket) are evaluated as the tenant read role's session for that tenant.
 */
export function localCallCheck(): CallCheck {
  installCallRecorder();
  const assembly = synthesizedAssembly();
  const deployment = localDeployment();
  const policies = new DeployedPolicies(readTemplates(assembly), deployment);
  const readRoleArn = deployment.functions.query.environment.TENANT_READ_ROLE_ARN;
  const { dataTable, payloadBucket } = deployment.names;
  const readsAsTenant = (c: RecordedCall): boolean => {
    if (!FUNCTION_DECLARATIONS[c.fn].uses.tenantRead) return false;
    const text = JSON.stringify(c.call.input);
    return (text.includes(dataTable) || text.includes(payloadBucket)) && !/"T#[a-z0-9-]+#AI"|"AI#TENANTS"/.test(text);
  };
  const principalFor = (c: RecordedCall): Principal => {
    if (readsAsTenant(c)) {
      const tenantId = tenantOfCall(c);
      if (tenantId) return { ...policies.roleByArn(readRoleArn), tags: { tenantId } };
    }
    return principalOf(c, policies, () => undefined);
  };
  return {
    aroundInvocation: asFunction,
    denied: () => deniedRequests(recordedCalls(), policies, NO_KMS, principalFor),
    functions: () => [...new Set(recordedCalls().map((c) => c.fn))],
  };
}
