/**
 * R-SEC-5: the key policy of tenant keys (lambdas/adapters/tenant-key-policy.ts), as data. How it decides is
 * evaluated in the IAM simulator by test/isolation/function-roles.test.ts and, over the deployed shape, by
 * test/deployed/functions.test.ts (every call made under a key created with it is allowed).
 */
import { TAG_CHANGE_ACTIONS, denyTagChanges, tenantKeyPolicy, tenantKeyPolicyPrincipals } from '../../lambdas/adapters/tenant-key-policy';

const ROOT = 'arn:aws:iam::111111111111:root';
const ADMIN = 'arn:aws:iam::111111111111:role/Lumiqo-dev-Services-AdminRole';

test('the account decides through IAM (KMS lockout safety), and only the root user and the key creator change tags', () => {
  expect(tenantKeyPolicy({ accountRootArn: ROOT, keyCreatorArns: [ADMIN] })).toEqual({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AccountDecidesThroughIam', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'DenyTagChangesButByKeyAdministrators',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: [...TAG_CHANGE_ACTIONS],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROOT, ADMIN] } },
      },
    ],
  });
});

test('a policy without the account root, or naming nobody who may create keys, is refused; with both it is built', () => {
  expect(() => tenantKeyPolicy({ accountRootArn: ADMIN, keyCreatorArns: [ADMIN] })).toThrow(/accountRootArn must be/);
  expect(() => tenantKeyPolicy({ accountRootArn: ROOT, keyCreatorArns: [] })).toThrow(/keyCreatorArns/);
  expect(() => denyTagChanges([])).toThrow(/at least the account root/);
  expect(() => tenantKeyPolicy({ accountRootArn: ROOT, keyCreatorArns: [ADMIN] })).not.toThrow();
});

test('TENANT_KEY_POLICY is checked at cold start: a malformed value names its shape, a good one is read', () => {
  expect(() => tenantKeyPolicyPrincipals({ accountRootArn: ROOT })).toThrow(/TENANT_KEY_POLICY: expected/);
  expect(() => tenantKeyPolicyPrincipals(null)).toThrow(/TENANT_KEY_POLICY: expected/);
  expect(tenantKeyPolicyPrincipals({ accountRootArn: ROOT, keyCreatorArns: [ADMIN] })).toEqual({ accountRootArn: ROOT, keyCreatorArns: [ADMIN] });
});
