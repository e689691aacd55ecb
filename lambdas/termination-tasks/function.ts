import { declareFunction } from '../shared/declarations';

/** R-TERM-1..6: the task states of the termination workflow. */
export const TERMINATION_TASKS = declareFunction({
  name: 'termination-tasks',
  description: 'Task states of the tenant termination workflow',
  uses: {
    control: 'purge',
    tenantData: 'erase',
    audit: 'append',
    // Exports decrypt event bodies; shredding the key is crypto-shredding (R-TERM-4).
    tenantKeys: { purposes: ['event'], shred: true },
    exports: 'read-write',
    records: 'write',
    ledger: 'read-write',
    signingKey: 'sign',
    // R-TERM-1: the stream drain's marker.
    stream: 'write',
    backupFacts: true,
  },
});
