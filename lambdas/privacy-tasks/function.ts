import { declareFunction } from '../shared/declarations';

/** R-DSR-1..3, R-DSR-5: the task states of the data-subject workflows, and the hourly deadline check. */
export const PRIVACY_TASKS = declareFunction({
  name: 'privacy-tasks',
  description: 'Task states of the data-subject request workflows',
  uses: {
    control: 'read-write',
    // Every store of a subject's records (R-DSR-2: with every object version).
    tenantData: 'erase',
    audit: 'append',
    tenantKeys: { purposes: ['event', 'subject-key', 'privacy-corrections'] },
    exports: 'read-write',
    records: 'write',
    signingKey: 'sign',
    // What the deletion record names as remaining, until when (R-DSR-2).
    backupFacts: true,
  },
});
