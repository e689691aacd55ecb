import { TENANT_ID_PATTERN } from '../shared/keys';

/** R-SEC-4: a payload key must lie under one tenant's prefix `tenants/<id>/`; refused here before S3 or IAM has to. */
export function assertTenantObjectKey(key: string): string {
  const [root, tenantId, ...rest] = key.split('/');
  // No empty, `.` or `..` segment: a key must not be read as leaving its tenant's prefix anywhere.
  const odd = rest.length === 0 || rest.some((segment) => segment === '' || segment === '.' || segment === '..');
  if (root !== 'tenants' || !TENANT_ID_PATTERN.test(tenantId ?? '') || odd) {
    throw new Error(`Object key outside a tenant prefix: '${key}'`);
  }
  return key;
}
