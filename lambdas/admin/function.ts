import { declareFunction } from '../shared/declarations';

/** R-SEC-3, R-SEC-5, R-SEC-6: tenant administration by operators. */
export const ADMIN = declareFunction({
  name: 'admin',
  description: 'Creates tenants, their keys, API keys and webhook sources; every action audited',
  uses: {
    control: 'read-write',
    audit: 'append',
    // Creates the tenant's KMS key; encrypts webhook secrets and the tenant's subject key.
    tenantKeys: { purposes: ['webhook-secret', 'subject-key'], create: true },
    // … each with an explicit key policy, not the account default (R-SEC-5).
    tenantKeyPolicy: true,
  },
});
