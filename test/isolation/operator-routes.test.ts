/**
 * R-SEC-5: a defined operator. The API's resource policy, as synthesized, and the operator role's trust policy,
 * evaluated by an IAM policy simulator: execute-api:Invoke on `*` (a PowerUser or CI role) no longer makes an
 * operator; the operator role does, assumed with MFA. Every "cannot" has its "can" twin.
 */
import { ROUTES } from '../../lambdas/shared/routes';
import type { LumiqoConfig } from '../../lib/config';
import { OPERATOR_TAG } from '../../lib/constructs/operator-access';
import { testConfig } from '../infra/helpers';
import { ACCOUNT, executeApiArn, logicalIdIn, simulate, synthesizedDeployment, type Context, type PolicyDocument } from './synthesized-policies';

/** runUnsafeSimulation needs its resource policies named (iam-policy-mock.ts). */
jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('./iam-policy-mock').namedResourcePolicies());


/** A deployment with `config`: how its API and operator role decide. */
function deployment(config: LumiqoConfig) {
  const { services, policies } = synthesizedDeployment(config);
  const apiId = logicalIdIn(services, services.api.api);
  const apiPolicy = policies.restApiPolicy(apiId);
  const operatorRoleId = logicalIdIn(services, services.operators.role);
  const stage = config.stage;
  /** One call of `route` (`METHOD /path`, path parameters filled in) by `principalArn` with its identity policies. */
  const invoke = (identity: { name: string; policy: PolicyDocument }[], principalArn: string, method: string, path: string, context: Context = {}) =>
    simulate(identity, principalArn, { action: 'execute-api:Invoke', resource: executeApiArn(apiId, `${stage}/${method}${path}`), resourcePolicy: apiPolicy, context });
  return {
    policies,
    operatorRoleId,
    operatorRoleArn: policies.roleArn(operatorRoleId),
    trustPolicy: policies.trustPolicy(operatorRoleId),
    /** The operator role's own session. */
    asOperator: (method: string, path: string) => invoke(policies.identityPolicies(operatorRoleId), policies.roleArn(operatorRoleId), method, path),
    invoke,
  };
}

/** What PowerUser and many CI roles have: execute-api:Invoke on everything. */
const INVOKE_ANYTHING = [{ name: 'invoke-anything', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }] } }];
const POWER_USER = `arn:aws:iam::${ACCOUNT}:role/PowerUser`;
const OTHER_ACCOUNT_ROLE = 'arn:aws:iam::222222222222:role/PowerUser';
/** A route's path with its parameters filled in, as a request names it. */
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'tenantId' ? 'acme' : `${name}-1`));
const operatorRoutes = ROUTES.filter((r) => r.auth === 'iam');
const publicRoutes = ROUTES.filter((r) => r.auth !== 'iam');

describe('R-SEC-5: the operator routes admit only the operator role (default config)', () => {
  const d = deployment(testConfig());

  test('the route table has operator and public routes to check (guards the tests below)', () => {
    expect(operatorRoutes.length).toBeGreaterThan(5);
    expect(publicRoutes.length).toBeGreaterThan(3);
  });

  test.each(operatorRoutes.map((r) => [r.method, r.path]))('the operator role can %s %s', (method, path) => {
    expect(d.asOperator(method, concrete(path))).toBe('Allowed');
  });

  test.each(operatorRoutes.map((r) => [r.method, r.path]))(
    'a non-operator with execute-api:Invoke on * cannot %s %s (explicitly denied); the operator role can',
    (method, path) => {
      expect(d.invoke(INVOKE_ANYTHING, POWER_USER, method, concrete(path))).toBe('ExplicitlyDenied');
      expect(d.asOperator(method, concrete(path))).toBe('Allowed');
    },
  );

  test.each(publicRoutes.map((r) => [r.method, r.path]))('a non-operator can still %s %s (the function authenticates it)', (method, path) => {
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, method, concrete(path))).toBe('Allowed');
  });

  test('a principal tagged lumiqo:operator=true is no operator unless the config admits tagged principals; the operator role is', () => {
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, 'POST', '/v1/admin/tenants', { [`aws:PrincipalTag/${OPERATOR_TAG}`]: 'true' })).toBe('ExplicitlyDenied');
    expect(d.asOperator('POST', '/v1/admin/tenants')).toBe('Allowed');
  });

  test("another account's principal cannot call an operator route, even with Invoke on *; the operator role can", () => {
    expect(d.invoke(INVOKE_ANYTHING, OTHER_ACCOUNT_ROLE, 'POST', '/v1/admin/tenants/acme/api-keys')).not.toBe('Allowed');
    expect(d.asOperator('POST', '/v1/admin/tenants/acme/api-keys')).toBe('Allowed');
  });

  test('the operator role reaches the operator routes and nothing else of the API by its own policy', () => {
    const own = d.policies.identityPolicies(d.operatorRoleId);
    expect(JSON.stringify(own)).not.toContain('"Resource":"*"');
    expect(simulate(own, d.operatorRoleArn, { action: 'execute-api:Invoke', resource: executeApiArn('OtherApi', 'dev/POST/v1/admin/tenants') })).not.toBe('Allowed');
  });

  describe('its trust policy: any principal of the account its IAM policies allow, with MFA', () => {
    const ASSUME_ANY = [{ name: 'assume', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] } }];
    const assume = (principal: string, mfa?: 'true' | 'false') =>
      simulate(ASSUME_ANY, principal, {
        action: 'sts:AssumeRole',
        resource: d.operatorRoleArn,
        resourcePolicy: d.trustPolicy,
        context: mfa ? { 'aws:MultiFactorAuthPresent': mfa } : {},
      });

    test('a person signed in with MFA can assume it', () => {
      expect(assume(`arn:aws:iam::${ACCOUNT}:user/ada`, 'true')).toBe('Allowed');
    });

    test('without MFA, or from a session that has none (a role, CI), it cannot; with MFA it can', () => {
      expect(assume(`arn:aws:iam::${ACCOUNT}:user/ada`, 'false')).not.toBe('Allowed');
      expect(assume(`arn:aws:iam::${ACCOUNT}:role/ci`)).not.toBe('Allowed');
      expect(assume(`arn:aws:iam::${ACCOUNT}:user/ada`, 'true')).toBe('Allowed');
    });

    test("another account's principal cannot, even with MFA; this account's can", () => {
      expect(assume('arn:aws:iam::222222222222:user/eve', 'true')).not.toBe('Allowed');
      expect(assume(`arn:aws:iam::${ACCOUNT}:user/ada`, 'true')).toBe('Allowed');
    });
  });
});

describe('R-SEC-5: configured operators (operator.requireMfa false, trusted principals, tagged principals admitted)', () => {
  const d = deployment(testConfig({
    operator: { requireMfa: false, trustedPrincipals: [`arn:aws:iam::${ACCOUNT}:role/ops-automation`], admitTaggedPrincipals: true },
  }));
  const tagged: Context = { [`aws:PrincipalTag/${OPERATOR_TAG}`]: 'true' };

  test('a principal of this account tagged lumiqo:operator=true can call an operator route; untagged it cannot', () => {
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, 'POST', '/v1/admin/tenants', tagged)).toBe('Allowed');
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, 'POST', '/v1/admin/tenants')).toBe('ExplicitlyDenied');
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, 'POST', '/v1/admin/tenants', { [`aws:PrincipalTag/${OPERATOR_TAG}`]: 'yes' })).toBe('ExplicitlyDenied');
  });

  test("another account's principal tagged as an operator cannot; this account's can", () => {
    expect(d.invoke(INVOKE_ANYTHING, OTHER_ACCOUNT_ROLE, 'POST', '/v1/admin/tenants', tagged)).not.toBe('Allowed');
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, 'POST', '/v1/admin/tenants', tagged)).toBe('Allowed');
  });

  test('the operator role still can, and public routes stay open', () => {
    expect(d.asOperator('DELETE', '/v1/admin/tenants/acme/api-keys/key-1')).toBe('Allowed');
    expect(d.invoke(INVOKE_ANYTHING, POWER_USER, 'POST', '/v1/events')).toBe('Allowed');
  });

  test('only the trusted principal may assume the role, without MFA; another role of the account cannot', () => {
    const ASSUME_ANY = [{ name: 'assume', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] } }];
    const assume = (principal: string) => simulate(ASSUME_ANY, principal, { action: 'sts:AssumeRole', resource: d.operatorRoleArn, resourcePolicy: d.trustPolicy });
    expect(assume(`arn:aws:iam::${ACCOUNT}:role/ops-automation`)).toBe('Allowed');
    expect(assume(`arn:aws:iam::${ACCOUNT}:role/ci`)).not.toBe('Allowed');
  });
});
