import { declareFunction } from '../shared/declarations';

/** R-ING-1, R-ING-3, R-SEC-4: the tenant's own events and rollups. */
export const QUERY = declareFunction({
  name: 'query',
  description: 'Reads a tenant\'s events and rollups with tenant-scoped credentials',
  uses: {
    // API key lookup.
    control: 'read',
    // Tenant data only through the tenant-scoped role; the function's own role reads none of it.
    tenantRead: 'assume',
  },
});
