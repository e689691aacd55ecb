import { declareFunction } from '../shared/declarations';

/** R-ING-3, R-ING-7, R-DSR-1..3: stores every tenant's stream records. */
export const PROCESSOR = declareFunction({
  name: 'processor',
  description: 'Stores stream records per tenant: envelope encryption, subject index, rollups',
  uses: {
    // Tenant status, restrictions and erasures (R-DSR-2, R-DSR-3).
    control: 'read',
    tenantData: 'write',
    // Event bodies; the tenant's subject-hashing key.
    tenantKeys: { purposes: ['event', 'subject-key'] },
    deadLetters: 'send',
    // R-BILL-2: one usage mark per stored event, in the billing ledger's MARK partitions only (no read).
    usage: 'mark',
  },
});
