/**
 * runUnsafeSimulation (@cloud-copilot/iam-simulate 0.1.173) loads a resource policy without a name and then reads its
 * name; this gives it one. Evaluation is untouched. In a test file:
 * `jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('../isolation/iam-policy-mock').namedResourcePolicies());`
 */
export function namedResourcePolicies(): Record<string, unknown> {
  const actual = jest.requireActual('@cloud-copilot/iam-policy');
  return { ...actual, loadPolicy: (policy: unknown, metadata?: unknown) => actual.loadPolicy(policy, metadata ?? { name: 'ResourcePolicy' }) };
}
