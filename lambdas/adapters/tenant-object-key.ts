import { TENANT_ID_PATTERN } from '../domain/keys';

const oddSegment = (segment: string) => segment === '' || segment === '.' || segment === '..';

/** R-SEC-4: a payload key must lie under one tenant's prefix `tenants/<id>/`; refused here before S3 or IAM has to. */
export function assertTenantObjectKey(key: string): string {
  const [root, tenantId, ...rest] = key.split('/');
  // No empty, `.` or `..` segment: a key must not be read as leaving its tenant's prefix anywhere.
  const odd = rest.length === 0 || rest.some(oddSegment);
  if (root !== 'tenants' || !TENANT_ID_PATTERN.test(tenantId ?? '') || odd) {
    throw new Error(`Object key outside a tenant prefix: '${key}'`);
  }
  return key;
}

/**
 * R-SEC-4, R-TERM-3: a prefix that a purge may delete under: `tenants/<id>/` or deeper, ending in `/`. Ending in a
 * whole segment keeps `tenants/ac` from reaching `tenants/acme/`, and `payloads/ev_1` from reaching `ev_10`.
 */
export function assertTenantObjectPrefix(prefix: string): string {
  const [root, tenantId, ...rest] = prefix.split('/');
  const odd = rest.length === 0 || rest[rest.length - 1] !== '' || rest.slice(0, -1).some(oddSegment);
  if (root !== 'tenants' || !TENANT_ID_PATTERN.test(tenantId ?? '') || odd) {
    throw new Error(`Not a tenant object prefix (tenants/<id>/…/): '${prefix}'`);
  }
  return prefix;
}

/** A document key (exports or records bucket): relative, with no empty, `.` or `..` segment. */
export function assertDocumentKey(key: string): string {
  if (key.split('/').some(oddSegment)) throw new Error(`Invalid document key: '${key}'`);
  return key;
}

/** A document prefix: whole segments ending in `/`, never empty, so a mistake cannot list or delete a whole bucket. */
export function assertDocumentPrefix(prefix: string): string {
  const segments = prefix.split('/');
  if (segments.length < 2 || segments[segments.length - 1] !== '' || segments.slice(0, -1).some(oddSegment)) {
    throw new Error(`Invalid document prefix (whole segments ending in '/'): '${prefix}'`);
  }
  return prefix;
}

/** S3 SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export function assertPresignExpiry(expiresInSeconds: number): number {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new Error(`A presigned URL expires after 1 to ${MAX_PRESIGN_SECONDS} seconds, not ${expiresInSeconds}`);
  }
  return expiresInSeconds;
}
